"""The words a report uses for the commune and its village-level units, read from the data.

One small pure function, `unit_words`: the commune's kind comes from the registry (xã, phường,
thị trấn, đặc khu); its villages' kind from the Thôn sheet's "Loại" column, else from the prefix
of their names ("Tổ dân phố số 1"), else from the commune's kind (a phường's units are tổ dân
phố, a xã's are thôn). Several kinds are named together, in the order of the list below
("thôn, tổ dân phố").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.core.vntext import match_key

# Village-level units by the regional words documents use, in the order sentences name them
# (rural first: "thôn, tổ dân phố").
VILLAGE_KINDS = (
    "thôn",
    "xóm",
    "làng",
    "bản",
    "buôn",
    "plei",
    "ấp",
    "sóc",
    "tổ dân phố",
    "khu phố",
    "khu dân cư",
    "khóm",
    "khu",
    "tổ",
)
# Short forms officers write in a "Loại" column.
_ABBREVIATIONS = {"tdp": "tổ dân phố", "kdc": "khu dân cư", "kp": "khu phố"}
# A commune-level unit's villages when the data say nothing: by the commune's kind.
DEFAULT_VILLAGE_KIND = {
    "xã": "thôn",
    "phường": "tổ dân phố",
    "thị trấn": "tổ dân phố",
    "đặc khu": "thôn",
}
COMMUNE_KINDS = tuple(DEFAULT_VILLAGE_KIND)  # "xã", "phường", "thị trấn", "đặc khu"
# The village kinds a "Cấp tổ" cell names: all but a bare "tổ" (the team itself, "Tổ xã").
# Cleaning reads them and the template offers them: one list for both.
TEAM_VILLAGE_KINDS = tuple(kind for kind in VILLAGE_KINDS if kind != "tổ")
_KEYS = {match_key(kind): kind for kind in VILLAGE_KINDS}


@dataclass(frozen=True)
class UnitWords:
    """How sentences name the commune and its villages: 'xã' / 'thôn', 'thị trấn' / 'tổ dân phố'."""

    commune: str  # "xã", "phường", "thị trấn", "đặc khu" (lower case, as mid-sentence)
    villages: tuple[str, ...]  # the village kinds found, in the order of VILLAGE_KINDS

    @property
    def village(self) -> str:
        """'thôn'; 'thôn, tổ dân phố' when the commune has both."""
        return ", ".join(self.villages)

    @property
    def mixed(self) -> bool:
        return len(self.villages) > 1


def kind_of(text: object) -> str | None:
    """The village kind a 'Loại' cell names ('Tổ dân phố', 'TDP', 'to dan pho'), or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    key = match_key(text)
    return _KEYS.get(key) or _ABBREVIATIONS.get(key.replace(" ", "").replace(".", ""))


_PREFIXES = sorted(VILLAGE_KINDS, key=len, reverse=True)


def prefix_kind(name: object) -> str | None:
    """The kind a village's name starts with: 'Tổ dân phố số 1' -> 'tổ dân phố', 'Bịch Đông' ->
    None. A kind word must be followed by a number or a name ('Khu 5', 'Bản Mòng'); marks count
    ('Tô Hiệu' is a name, not a 'tổ')."""
    if not isinstance(name, str):
        return None
    text = " ".join(unicodedata.normalize("NFC", name).lower().split())
    for prefix in _PREFIXES:
        if re.match(rf"{re.escape(prefix)} \S", text):
            return prefix
    return None


def unit_words(
    commune_kind: str, names: Iterable[object] = (), declared: Iterable[object] = ()
) -> UnitWords:
    """The unit words of one commune.

    `commune_kind` is the registry's kind ("Xã", "Thị trấn"); `names` the villages' names and
    `declared` their "Loại" cells, in the same order (a row's declared kind wins over its name's
    prefix; a row with neither takes the commune's default).
    """
    commune = commune_kind.strip().lower() or "xã"
    names, declared = list(names), list(declared)
    declared += [None] * (len(names) - len(declared))
    found = {village_kind(commune, n, d) for n, d in zip(names, declared, strict=False)}
    order = [k for k in VILLAGE_KINDS if k in found]
    return UnitWords(commune, tuple(order) or (village_kind(commune),))


def village_kind(commune_kind: str, name: object = None, declared: object = None) -> str:
    """One village's kind: its "Loại" cell's, else its name's prefix, else its commune's default
    (a phường's 'Tổ 12' is its tổ dân phố số 12)."""
    default = DEFAULT_VILLAGE_KIND.get(commune_kind.strip().lower() or "xã", "thôn")
    kind = kind_of(declared) or prefix_kind(name) or default
    return "tổ dân phố" if kind == "tổ" and default == "tổ dân phố" else kind


_VILLAGE_WORD = re.compile(r"(?<!')\b([Tt])hôn\b(?!')")
_COMMUNE_LEVEL = re.compile(r"\bcấp xã\b")


def in_words(text: str, words: UnitWords) -> str:
    """A catalogue text ('Tổ CNSCĐ cấp xã', 'Số thôn') in the commune's words ('Tổ CNSCĐ cấp
    thị trấn', 'Số tổ dân phố'). Sheet names in quotes ('Thôn') are left as the workbook has
    them."""
    text = _COMMUNE_LEVEL.sub(f"cấp {words.commune}", text.replace("tổ thôn", "tổ cấp thôn"))

    def village(match: re.Match) -> str:
        word = words.village
        return word[:1].upper() + word[1:] if match.group(1) == "T" else word

    return _VILLAGE_WORD.sub(village, text)


_NUMBERED = re.compile(r"(số )?\d", re.I)


def _split_kind(name: str) -> tuple[str, str] | None:
    """'Bản Nà Tăm 1' -> ('bản', 'Nà Tăm 1'); None for a name without a kind or one whose rest
    is a number ('Tổ dân phố số 1', 'Khu 5'): Nghị định 30 (Phụ lục II) writes the kind in
    lower case before a proper name and capitalised when the name is a number."""
    kind = prefix_kind(name)
    if kind is None:
        return None
    rest = " ".join(unicodedata.normalize("NFC", name).split())[len(kind) :].strip()
    return None if _NUMBERED.match(rest) else (kind, rest)


def village_in_sentence(name: str) -> str:
    """One village's name as a sentence writes it: 'Bản Hua Pầu' -> 'bản Hua Pầu'; a name
    without a kind, or a numbered one ('Tổ dân phố số 1'), as written."""
    split = _split_kind(name)
    return f"{split[0]} {split[1]}" if split else name


def places(names: list[str], words: UnitWords) -> str:
    """Villages named in a sentence: 'thôn Bịch Đông', 'các thôn Bịch Đông, Hoàng Xá', 'các bản
    Nà Tăm 1, Nà Tăm 2' (names that carry their kind), 'Tổ 12, tổ dân phố Mân Quang' (a
    numbered name as written beside a plain one); the plain names alone when the commune's
    villages are of several kinds and no one word fits them."""
    parts: list[tuple[str | None, str]] = []
    for name in names:
        split = _split_kind(name)
        if split:
            parts.append(split)
        elif prefix_kind(name) or words.mixed:  # numbered, or no one word for it
            parts.append((None, name))
        else:
            parts.append((words.village, name))
    kinds = {kind for kind, _ in parts}
    if len(kinds) == 1 and None not in kinds:
        [kind] = kinds
        rests = ", ".join(rest for _, rest in parts)
        return f"{kind} {rests}" if len(parts) == 1 else f"các {kind} {rests}"
    return ", ".join(f"{kind} {rest}" if kind else rest for kind, rest in parts)


def count_word(kinds: Iterable[str]) -> str:
    """The noun after a count of units: their kind when all share one ('01 xã'), else 'đơn vị'."""
    held = {kind.strip().lower() for kind in kinds if kind and kind.strip()}
    return held.pop() if len(held) == 1 else "đơn vị"
