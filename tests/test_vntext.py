import itertools
import unicodedata

import pytest

from pipeline.core.vntext import (
    decode_vni,
    detect_encoding,
    is_vietnamese_syllable,
    match_key,
    repair,
    repair_with_kind,
    slugify,
)
from pipeline.sample import (
    FAMILY,
    GIVEN_FEMALE,
    GIVEN_MALE,
    MIDDLE_FEMALE,
    MIDDLE_MALE,
    VILLAGE_NAMES,
    encode_tcvn3,
)

# The first lines of the real report in shared/seed, as the legacy .VnTime font left them.
SEED_LINES = {
    "Uû ban nh©n d©n": "Uỷ ban nhân dân",
    "X· nam chÝnh": "Xã nam chính",
    "Céng hoµ x· héi chñ nghÜa viÖt nam": "Cộng hoà xã hội chủ nghĩa việt nam",
}

ORDINARY = [
    "Có",
    "Không",
    "Đồng Lạc",
    "Nam Chính",
    "Bịch Đông",
    "Hoàng Xá",
    "An Thượng",
    "Tổ công nghệ số cộng đồng",
    "Ủy ban nhân dân xã Nam Chính",
    "Thanh toán không dùng tiền mặt",
    "Cổng dịch vụ công",
    "Zalo",
    "4G",
    "QĐ-UBND",
    "Trần Văn Xuyến",
    "Hội Phụ nữ",
    "Trực tuyến",
    "café",
    "Hà Nội",
    "Hải Dương",
    "Cú",
    "Đà Nẵng",
]


@pytest.mark.parametrize(("legacy", "expected"), SEED_LINES.items())
def test_seed_header_lines_are_decoded(legacy: str, expected: str) -> None:
    assert detect_encoding(legacy) == "tcvn3"
    assert repair(legacy) == expected


def test_upper_case_font_header_reads_as_the_seed_shows() -> None:
    assert repair("X· nam chÝnh").upper() == "XÃ NAM CHÍNH"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_vietnamese_is_left_untouched(text: str) -> None:
    assert repair_with_kind(text) == (text, None)


def _encodable(texts) -> list[str]:
    # .VnTime cannot set upper-case toned letters (that is .VnTimeH's job): those are left out.
    return [t for t in texts if encode_tcvn3(t) not in (None, t)]


def test_tcvn3_round_trip_of_full_names() -> None:
    names = _encodable(
        f"{f} {m} {g}"
        for f, m, g in itertools.product(
            FAMILY, MIDDLE_MALE + MIDDLE_FEMALE, GIVEN_MALE + GIVEN_FEMALE
        )
    )
    repaired = sum(repair(encode_tcvn3(name)) == name for name in names)
    # A few names read as other real syllables in every word ("Vũ ... Dũng" -> "Vò ... Dòng"):
    # value by value they cannot be told apart, and a wrong repair is worse than none.
    assert len(names) > 3000
    assert repaired / len(names) >= 0.98


@pytest.mark.parametrize(
    "text",
    _encodable(
        [
            *(v for v in VILLAGE_NAMES if v != "Phú Lộc"),
            "Hướng dẫn nộp hồ sơ trực tuyến trên Cổng dịch vụ công",
            "Tổ công nghệ số cộng đồng thôn Bịch Đông",
        ]
    ),
)
def test_tcvn3_round_trip(text: str) -> None:
    assert repair(encode_tcvn3(text)) == text


def test_ambiguous_legacy_word_is_kept_rather_than_guessed() -> None:
    # "Phú Lộc" in .VnTime is "Phó Léc", which is also plausible Unicode: keep it as written.
    assert repair("Phó Léc") == "Phó Léc"


def test_vni_is_decoded_longest_match_first() -> None:
    assert decode_vni("Toå coâng ngheä soá") == "Tổ công nghệ số"
    assert repair("UÛy ban nhaân daân xaõ") == "Ủy ban nhân dân xã"
    assert repair("ñöôøng") == "đường"


def test_decomposed_unicode_is_composed() -> None:
    nfd = unicodedata.normalize("NFD", "Sổ sức khỏe điện tử")
    assert repair_with_kind(nfd) == ("Sổ sức khỏe điện tử", "nfc")


def test_whitespace_and_lookalikes_are_folded() -> None:
    assert repair("  Thôn\u00a0 Bịch   Đông ") == "Thôn Bịch Đông"
    assert repair("Độc lập \u2013 Tự do") == "Độc lập - Tự do"


def test_syllables() -> None:
    assert is_vietnamese_syllable("nghiêng")
    assert is_vietnamese_syllable("Xuyến")
    assert not is_vietnamese_syllable("chÝnh")
    assert not is_vietnamese_syllable("nh©n")


def test_keys_and_slugs() -> None:
    assert slugify("Xã Nam Chính") == "xa-nam-chinh"
    assert slugify("Đồng Lạc") == "dong-lac"
    assert match_key("  THÔN Bịch  Đông") == match_key("thon bich dong") == "thon bich dong"
