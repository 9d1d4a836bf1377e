"""Vietnamese text repair: legacy TCVN3 (ABC) and VNI encodings to Unicode NFC.

Legacy files show their text as Latin-1 look-alikes ("Uû ban nh©n d©n" for "Uỷ ban nhân dân").
A value is converted only when the conversion turns implausible Vietnamese syllables into
plausible ones, so ordinary Vietnamese ("Có", "Đồng Lạc") and foreign words stay untouched.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# TCVN3 (TCVN 5712:1993, the .VnTime fonts): one byte per letter, read here as Latin-1.
_TCVN3_LOWER = (
    "µà ¸á ¶ả ·ã ¹ạ ¨ă »ằ ¾ắ ¼ẳ ½ẵ Æặ ©â Çầ Êấ Èẩ Éẫ Ëậ ®đ "
    "Ìè Ðé Îẻ Ïẽ Ñẹ ªê Òề Õế Óể Ôễ Öệ ×ì Ýí Øỉ Üĩ Þị "
    "ßò ãó áỏ âõ äọ «ô åồ èố æổ çỗ éộ ¬ơ êờ íớ ëở ìỡ îợ "
    "ïù óú ñủ òũ ôụ \u00adư õừ øứ öử ÷ữ ùự úỳ ýý ûỷ üỹ þỵ"
)
_TCVN3_UPPER = "¡Ă ¢Â £Ê ¤Ô ¥Ơ ¦Ư §Đ"
TCVN3_TO_UNICODE: dict[str, str] = {
    pair[0]: pair[1] for pair in (_TCVN3_LOWER + " " + _TCVN3_UPPER).split(" ")
}

# VNI Windows: a base letter followed by a mark character; a few letters are one byte.
_VNI_TONES_LOWER = {"ø": "\u0300", "ù": "\u0301", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_TONES_UPPER = {"Ø": "\u0300", "Ù": "\u0301", "Û": "\u0309", "Õ": "\u0303", "Ï": "\u0323"}
_VNI_HAT_LOWER = {
    "â": "",
    "á": "\u0301",
    "à": "\u0300",
    "å": "\u0309",
    "ã": "\u0303",
    "ä": "\u0323",
}
_VNI_HAT_UPPER = {
    "Â": "",
    "Á": "\u0301",
    "À": "\u0300",
    "Å": "\u0309",
    "Ã": "\u0303",
    "Ä": "\u0323",
}
_VNI_BREVE_LOWER = {
    "ê": "",
    "é": "\u0301",
    "è": "\u0300",
    "ú": "\u0309",
    "ü": "\u0303",
    "ë": "\u0323",
}
_VNI_BREVE_UPPER = {
    "Ê": "",
    "É": "\u0301",
    "È": "\u0300",
    "Ú": "\u0309",
    "Ü": "\u0303",
    "Ë": "\u0323",
}


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {}

    def put(key: str, base: str, *marks: str) -> None:
        table[key] = unicodedata.normalize("NFC", base + "".join(marks))

    for upper in (False, True):
        tones = _VNI_TONES_UPPER if upper else _VNI_TONES_LOWER
        hats = _VNI_HAT_UPPER if upper else _VNI_HAT_LOWER
        breves = _VNI_BREVE_UPPER if upper else _VNI_BREVE_LOWER
        case = str.upper if upper else str.lower
        for base in "aeouy":
            for key, tone in tones.items():
                put(case(base) + key, case(base), tone)
        for base in "aeo":
            for key, tone in hats.items():
                put(case(base) + key, case(base), "\u0302", tone)
        for key, tone in breves.items():
            put(case("a") + key, case("a"), "\u0306", tone)
        horn_o, horn_u = ("Ô", "Ö") if upper else ("ô", "ö")
        for base_key, base in ((horn_o, case("o")), (horn_u, case("u"))):
            put(base_key, base, "\u031b")
            for key, tone in tones.items():
                put(base_key + key, base, "\u031b", tone)
        table["Ñ" if upper else "ñ"] = "Đ" if upper else "đ"
        i_forms = ("Í", "Ì", "Æ", "Ó", "Ò") if upper else ("í", "ì", "æ", "ó", "ò")
        for key, tone in zip(
            i_forms, ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323"), strict=True
        ):
            put(key, case("i"), tone)
        put("Î" if upper else "î", case("y"), "\u0323")
    return table


VNI_TO_UNICODE: dict[str, str] = _build_vni()
_VNI_PATTERN = re.compile(
    "|".join(re.escape(k) for k in sorted(VNI_TO_UNICODE, key=len, reverse=True))
)
# Legacy bytes that are no Vietnamese letter: where they stand, the text is not Unicode.
_LEGACY_SYMBOLS = frozenset(ch for ch in TCVN3_TO_UNICODE if not ch.isalpha()) | set("µª")
_TCVN3_PATTERN = re.compile("[" + re.escape("".join(TCVN3_TO_UNICODE)) + "]")

# A Vietnamese syllable once tone marks are removed: onset, vowel nucleus, coda.
_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdđghklmnprstvx])?"
    r"(uyê|uya|ươ|iê|yê|uô|oa|oă|oe|uâ|uê|uy|ưa|ia|ua|[aăâeêioôơuưy])"
    r"(ch|ng|nh|[cmnpt]|[iyuo])?$"
)
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Control characters (NUL, ESC, backspace…; not tab or line breaks, which fold into spaces) and
# bidirectional embeddings and overrides, which would reverse the rest of a sentence in a PDF.
CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x9f]")
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_WORD = re.compile(r"[^\W\d_]+")
_SPACES = re.compile(r"\s+")
# Look-alike characters typed or pasted into cells, mapped to what the reader means.
_LOOKALIKES = str.maketrans(
    {
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": "",
        "\ufeff": "",
        "\u0110": "Đ",
        "\u00d0": "Đ",  # Icelandic eth typed for Đ
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)


def _case_ok(word: str) -> bool:
    return word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())


def is_vietnamese_syllable(word: str) -> bool:
    """True when a word reads as one Vietnamese syllable (any case, at most one tone)."""
    if not word or not _case_ok(word):
        return False
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = sum(ch in _TONES for ch in decomposed)
    bare = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    return tones <= 1 and _SYLLABLE.match(bare) is not None


def _plausibility(text: str) -> tuple[int, int]:
    """(plausible, implausible) counts over words that carry a non-ASCII letter or mark."""
    good = bad = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        if is_vietnamese_syllable(word):
            good += 1
        else:
            bad += 1
    bad += sum(1 for ch in text if ch in _LEGACY_SYMBOLS)
    return good, bad


def decode_tcvn3(text: str) -> str:
    return _TCVN3_PATTERN.sub(lambda m: TCVN3_TO_UNICODE[m.group()], text)


def decode_vni(text: str) -> str:
    return _VNI_PATTERN.sub(lambda m: VNI_TO_UNICODE[m.group()], text)


def _looks_legacy(text: str) -> bool:
    # Legacy text read as Latin-1 holds no letter beyond Latin-1 (no ă, đ, ơ, ư, ạ …).
    return all(ord(ch) < 0x100 for ch in text) and not text.isascii()


def detect_encoding(text: str) -> str:
    """'tcvn3', 'vni' or 'unicode': the reading under which the text is most plausible."""
    if not _looks_legacy(text):
        return "unicode"
    good, bad = _plausibility(text)
    if bad == 0:
        return "unicode"
    best, best_score = "unicode", (bad, -good)
    for name, decode in (("tcvn3", decode_tcvn3), ("vni", decode_vni)):
        g, b = _plausibility(decode(text))
        # Only a reading that leaves nothing implausible: one that leaves some would be read
        # again by the next repair ("aµ" -> "aà" -> "ầ"), and a repair must be final.
        if b == 0 and (b, -g) < best_score:
            best, best_score = name, (b, -g)
    return best


@lru_cache(maxsize=200_000)
def repair_with_kind(text: str) -> tuple[str, str | None]:
    """Repair one value; return it with what was done ('tcvn3', 'vni', 'control_characters',
    'bidi_controls', 'nfc', 'spaces')."""
    kind: str | None = None
    removed = CONTROLS.sub("", text)
    if removed != text:
        kind, text = "control_characters", removed
    removed = BIDI_CONTROLS.sub("", text)
    if removed != text:
        kind, text = kind or "bidi_controls", removed
    encoding = detect_encoding(text)
    if encoding == "tcvn3":
        fixed, kind = decode_tcvn3(text), "tcvn3"
    elif encoding == "vni":
        fixed, kind = decode_vni(text), "vni"
    else:
        fixed = text
    nfc = unicodedata.normalize("NFC", fixed.translate(_LOOKALIKES))
    if kind is None and nfc != fixed:
        kind = "nfc"
    folded = _SPACES.sub(" ", nfc).strip()
    if kind is None and folded != nfc:
        kind = "spaces"
    return folded, kind


def repair(text: str) -> str:
    """Vietnamese Unicode NFC for any cell text, legacy encodings decoded."""
    return repair_with_kind(text)[0]


def to_upper_legacy(text: str) -> str:
    """Text set in an upper-case legacy font (.VnTimeH) decodes to lower case: restore it."""
    return repair(text).upper()


def strip_diacritics(text: str) -> str:
    """'Nam Chính' -> 'Nam Chinh'; used for matching and slugs, never for display."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slugify(text: str) -> str:
    """'Xã Nam Chính' -> 'xa-nam-chinh'."""
    ascii_text = strip_diacritics(repair(text)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


@lru_cache(maxsize=200_000)
def match_key(text: str) -> str:
    """A key for matching names as people write them: no marks, no case, single spaces."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", strip_diacritics(repair(text)).lower()).split())
