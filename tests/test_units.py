"""Unit words, names mid-sentence, number formats and the comparison's declared words."""

from __future__ import annotations

import pytest

from pipeline.measuring.settings import load_settings
from pipeline.registry.units import in_words, places, unit_words, village_in_sentence
from pipeline.writing.narrative import (
    gap_word,
    lower_first,
    names_in_sentence,
    with_unit,
)


@pytest.mark.parametrize(
    ("kind", "names", "declared", "expected"),
    [
        ("Xã", ["Bịch Đông", "Hoàng Xá"], [], "thôn"),
        ("Thị trấn", ["Khu 1"], ["Tổ dân phố"], "tổ dân phố"),
        ("Phường", ["A", "B"], [], "tổ dân phố"),
        ("Xã", ["Bản Mòng", "Bản Pá"], [], "bản"),
        ("Xã", ["Tổ dân phố số 1", "Thôn Đông"], [], "thôn, tổ dân phố"),
        ("Xã", ["Tô Hiệu"], [], "thôn"),  # a name, not a 'tổ'
        ("Xã", ["A"], ["TDP"], "tổ dân phố"),
    ],
)
def test_village_words_come_from_the_data(kind, names, declared, expected) -> None:
    assert unit_words(kind, names, declared).village == expected


def test_catalogue_texts_in_the_communes_words() -> None:
    town = unit_words("Thị trấn", ["Tổ dân phố số 1"])
    assert in_words("Tổ CNSCĐ cấp xã", town) == "Tổ CNSCĐ cấp thị trấn"
    assert (
        in_words("Tổ trưởng tổ thôn từ 60 tuổi", town) == "Tổ trưởng tổ cấp tổ dân phố từ 60 tuổi"
    )
    assert in_words("thiếu bảng 'Thôn'", town) == "thiếu bảng 'Thôn'"
    village = unit_words("Xã", ["Bịch Đông"])
    assert places(["Bịch Đông"], village) == "thôn Bịch Đông"
    assert places(["Bịch Đông", "Hoàng Xá"], village) == "các thôn Bịch Đông, Hoàng Xá"
    assert places(["Tổ dân phố số 2"], town) == "Tổ dân phố số 2"
    # Nghị định 30, Phụ lục II: the kind in lower case before a name, capitalised before a number.
    assert places(["Tổ dân phố số 1", "Tổ dân phố số 4"], town) == (
        "Tổ dân phố số 1, Tổ dân phố số 4"
    )
    bans = unit_words("Xã", ["Bản Nà Tăm 1"])
    assert places(["Bản Nà Tăm 1"], bans) == "bản Nà Tăm 1"
    assert places(["Bản Nà Tăm 1", "Bản  Nà Tăm 2"], bans) == "các bản Nà Tăm 1, Nà Tăm 2"
    assert village_in_sentence("Bản Hua Pầu") == "bản Hua Pầu"
    assert village_in_sentence("Tổ dân phố số 3") == "Tổ dân phố số 3"
    assert village_in_sentence("Mân Quang") == "Mân Quang"
    # A phường's "Tổ 12" is one of its tổ dân phố, not a kind of its own.
    ward = unit_words("Phường", ["Tổ 12", "Tổ dân phố số 3", "Mân Quang"])
    assert ward.villages == ("tổ dân phố",)
    assert places(["Mân Quang"], ward) == "tổ dân phố Mân Quang"
    assert places(["Tổ 12", "Mân Quang"], ward) == "Tổ 12, tổ dân phố Mân Quang"
    # A kind written in some names only is never doubled ("các thôn Thôn Mới").
    plain = unit_words("Xã", ["Thôn Mới", "Bịch Đông"])
    assert places(["Thôn Mới", "Bịch Đông"], plain) == "các thôn Mới, Bịch Đông"
    assert unit_words("Xã", ["Tổ 5", "Thôn Mới"]).villages == ("thôn", "tổ")
    both = unit_words("Xã", ["Bản Mòng", "Thôn Mới", "Khu 5"])
    assert places(["Bản Mòng", "Thôn Mới", "Khu 5"], both) == "bản Mòng, thôn Mới, Khu 5"


def test_names_and_numbers_as_a_sentence_writes_them() -> None:
    assert (
        names_in_sentence("Phòng Văn hóa và Thông tin Thành phố Hải Dương")
        == "Phòng Văn hóa và Thông tin thành phố Hải Dương"
    )
    assert names_in_sentence("Ban Thường vụ Tỉnh ủy") == "Ban Thường vụ Tỉnh ủy"
    assert names_in_sentence("Huyện Nam Sách") == "Huyện Nam Sách"
    assert lower_first("Nhóm Zalo") == "nhóm Zalo" and lower_first("VNeID mức 2") == "VNeID mức 2"
    assert with_unit(96.3, "%") == "96,3%" and with_unit(12, "lượt") == "12 lượt"


def test_comparison_words_follow_the_declared_rule() -> None:
    settings = load_settings()
    assert gap_word(96.3, 98.6, "%", settings) == "thấp hơn"  # 2.3 points
    assert gap_word(40.0, 98.6, "%", settings) == "thấp hơn nhiều"
    assert gap_word(18, 39, "người", settings) == "thấp hơn nhiều"  # over half the median
    assert gap_word(45, 39, "người", settings) == "cao hơn"
    settings["comparison"]["much_points"] = 2
    assert gap_word(96.3, 98.6, "%", settings) == "thấp hơn nhiều"
