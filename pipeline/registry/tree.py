"""The national registry of commune-level units: code, name, kind, parents and validity.

`pipeline/data/units.csv` is built by `scripts/build_registry.py` from open datasets (see the
README, "Where the registry comes from"). Codes were reused across the 2024-2025 reforms, so a
unit is its code within a tree, never the code alone. The tree of a report's year is the one in
force on 31 December of that year: the units that write that year's report.

A user may add units the registry lacks in `data/raw/communes.csv`; a row whose code the registry
already has for an overlapping period is refused, so that no workbook is ever read twice.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import pandas as pd

from pipeline.core.config import REGISTRY_CSV
from pipeline.core.errors import InputError, UnknownCommuneError
from pipeline.core.vntext import match_key, slugify

UNIT_KINDS = ("Thị trấn", "Đặc khu", "Phường", "Xã", "Huyện", "Quận", "Thị xã", "Thành phố", "Tỉnh")
EXTRA_REGISTRY_NAME = "communes.csv"
EXTRA_COLUMNS = (
    "commune_code",
    "commune_name",
    "district_code",
    "district_name",
    "province_code",
    "province_name",
    "valid_from",
    "valid_to",
)
_OPEN_START, _OPEN_END = pd.Timestamp("1900-01-01"), pd.Timestamp("2999-12-31")
_CODE = re.compile(r"\d{5,8}")  # national commune codes have 5 digits; own units may have more


def split_kind(name: str) -> tuple[str, str]:
    """'Xã Nam Chính' -> ('Xã', 'Nam Chính'); a name without a known kind -> ('', name)."""
    for kind in UNIT_KINDS:
        if name.startswith(kind + " "):
            return kind, name[len(kind) + 1 :]
    return "", name


def short_name(name: str) -> str:
    """'Xã Nam Chính' -> 'Nam Chính'."""
    return split_kind(name)[1]


def in_sentence(name: str) -> str:
    """A unit's name inside a sentence: 'Thành phố Hải Dương' -> 'thành phố Hải Dương'; a
    numbered unit keeps its kind capitalised ('Phường 9'), as Nghị định 30 writes it."""
    kind, rest = split_kind(name)
    return f"{kind.lower()} {rest}" if kind and not rest[:1].isdigit() else name


def _day(value: pd.Timestamp) -> str:
    return "" if value in (_OPEN_START, _OPEN_END) else value.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    district_code: str
    district_name: str
    province_code: str
    province_name: str
    valid_from: str = ""  # ISO date, empty when open
    valid_to: str = ""

    @property
    def slug(self) -> str:
        return slugify(short_name(self.name))

    @property
    def stem(self) -> str:
        """`10627-nam-chinh`: how its workbook and its output folder are named (a slug alone is
        shared by communes elsewhere in the country)."""
        return f"{self.code}-{self.slug}"

    @property
    def district_slug(self) -> str:
        return slugify(short_name(self.district_name))

    @property
    def short_name(self) -> str:
        return short_name(self.name)

    @property
    def kind(self) -> str:
        """'Xã', 'Phường', 'Thị trấn' or 'Đặc khu': how the commune names itself in a report."""
        return split_kind(self.name)[0] or "Xã"

    @property
    def parent(self) -> str:
        """'Huyện Nam Sách, Tỉnh Hải Dương' (no district after the July 2025 reform)."""
        return ", ".join(p for p in (self.district_name, self.province_name) if p)

    @property
    def validity(self) -> str:
        start = _day(pd.Timestamp(self.valid_from or _OPEN_START))
        end = _day(pd.Timestamp(self.valid_to or _OPEN_END))
        if start and end:
            return f"từ {start} đến {end}"
        return f"từ {start}" if start else (f"đến {end}" if end else "")

    def describe(self) -> str:
        """'10627 Xã Nam Chính (Huyện Nam Sách, Tỉnh Hải Dương; đến 30/11/2024)'."""
        details = "; ".join(p for p in (self.parent, self.validity) if p)
        return f"{self.code} {self.name}" + (f" ({details})" if details else "")


@dataclass(frozen=True)
class Group:
    """Communes compared together: a district, a province, or a named list from the settings."""

    level: str  # district | province | group
    code: str  # the unit's code; the list's slug for a named group
    name: str
    communes: tuple[Commune, ...]

    @property
    def key(self) -> str:
        """What a notebook is given to find the group again: 'district:291'."""
        return f"{self.level}:{self.code}"

    @property
    def slug(self) -> str:
        """Unique within a year: district and province codes differ in length (3 and 2)."""
        if self.level == "group":
            return f"nhom-{self.code}"
        return f"{self.code}-{slugify(short_name(self.name))}"

    @property
    def word(self) -> str:
        """The group in mid-sentence: 'huyện', 'thị xã', 'tỉnh', 'thành phố', 'nhóm'."""
        kind = split_kind(self.name)[0]
        return kind.lower() if self.level != "group" and kind else "nhóm"


def _read_packaged() -> pd.DataFrame:
    frame = pd.read_csv(REGISTRY_CSV, dtype=str, keep_default_na=False)
    return frame.drop(columns=["kind", "source", "note"])


def _read_extra(path: Path) -> pd.DataFrame:
    """A user's own units, checked: codes of digits, the columns the README names."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=path.name) from None
    missing = [c for c in EXTRA_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing columns: {', '.join(missing)}", file=path.name)
    for number, code in enumerate(frame["commune_code"], start=2):
        if not _CODE.fullmatch(code.strip()):
            raise InputError(
                f"'{code}' is not a commune code (5 to 8 digits)",
                file=path.name,
                row=number,
                column="commune_code",
            )
    frame = frame[list(EXTRA_COLUMNS)].rename(
        columns={"commune_code": "code", "commune_name": "name"}
    )
    return frame.apply(lambda column: column.str.strip())


def _folded(names: pd.Series) -> pd.Series:
    """`match_key` of many clean registry names at once: no marks, no case, single spaces."""
    ascii_names = (
        names.str.replace("đ", "d")
        .str.replace("Đ", "D")
        .str.normalize("NFD")
        .str.replace(r"[\u0300-\u036f]", "", regex=True)
        .str.lower()
    )
    return ascii_names.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates for the validity, and the keys names are matched on."""
    frame = frame.copy()
    frame["start"] = pd.to_datetime(frame["valid_from"].replace("", None)).fillna(_OPEN_START)
    frame["end"] = pd.to_datetime(frame["valid_to"].replace("", None)).fillna(_OPEN_END)
    frame["key_full"] = _folded(frame["name"])
    frame["key_short"] = _folded(frame["name"].map(short_name))
    return frame


@lru_cache(maxsize=1)
def packaged_registry() -> pd.DataFrame:
    return _dated(_read_packaged())


@lru_cache(maxsize=8)
def _registry(extra_csv: str | None, stamp: float) -> pd.DataFrame:
    packaged = packaged_registry()
    if extra_csv is None:
        return packaged
    path = Path(extra_csv)
    extra = _dated(_read_extra(path))
    overlap = extra.reset_index().merge(packaged, on="code", suffixes=("", "_packaged"))
    overlap = overlap[
        (overlap["start"] <= overlap["end_packaged"])
        & (overlap["start_packaged"] <= overlap["end"])
    ]
    if not overlap.empty:
        row = overlap.iloc[0]
        known = Commune(
            row["code"],
            row["name_packaged"],
            row["district_code_packaged"],
            row["district_name_packaged"],
            row["province_code_packaged"],
            row["province_name_packaged"],
            row["valid_from_packaged"],
            row["valid_to_packaged"],
        )
        raise InputError(
            f"code {row['code']} is already in the national registry as {known.describe()}; "
            "remove this row (the registry's entry is used), or give the unit a period that "
            "does not overlap",
            file=path.name,
            row=int(row["index"]) + 2,
            column="commune_code",
        )
    twice = extra[extra.duplicated("code", keep=False)]
    for code, rows in twice.groupby("code"):
        ordered = rows.sort_values("start")
        if (ordered["start"].iloc[1:].to_numpy() <= ordered["end"].iloc[:-1].to_numpy()).any():
            raise InputError(
                f"code {code} is given twice for overlapping periods",
                file=path.name,
                row=int(ordered.index[1]) + 2,
                column="commune_code",
            )
    return pd.concat([packaged, extra], ignore_index=True)


def load_registry(extra_csv: Path | None = None) -> pd.DataFrame:
    """Every entry of the registry (and of the user's own file, when there is one), dated."""
    if extra_csv is None or not extra_csv.exists():
        return _registry(None, 0.0)
    return _registry(str(extra_csv), extra_csv.stat().st_mtime)


def tree_date(year: int) -> pd.Timestamp:
    """The day whose tree a year's reports belong to: the units that write them."""
    return pd.Timestamp(dt.date(year, 12, 31))


def unchanged_between(year: int, earlier: int, extra_csv: Path | None = None) -> set[str]:
    """Codes that name the same unit (code and name) in both years' trees."""
    now, before = year_frame(year, extra_csv), year_frame(earlier, extra_csv)
    return set(now.merge(before, on=["code", "name", "valid_from"])["code"])


def _communes(frame: pd.DataFrame) -> list[Commune]:
    # Columns as lists: iterating rows of Arrow-backed text one cell at a time was a quarter of
    # an unchanged re-run (10,000 communes).
    columns = [f.name for f in fields(Commune)]
    return [Commune(*row) for row in zip(*(frame[c].tolist() for c in columns), strict=True)]


def _at(frame: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return frame[(frame["start"] <= day) & (frame["end"] >= day)]


def communes_at(day: pd.Timestamp, extra_csv: Path | None = None) -> list[Commune]:
    return _communes(_at(load_registry(extra_csv), day))


def _stamp(extra_csv: Path | None) -> float:
    return extra_csv.stat().st_mtime if extra_csv is not None and extra_csv.exists() else 0.0


@lru_cache(maxsize=32)
def _year_frame(year: int, extra_csv: Path | None, stamp: float) -> pd.DataFrame:
    return _at(load_registry(extra_csv), tree_date(year))


def year_frame(year: int, extra_csv: Path | None = None) -> pd.DataFrame:
    """The entries of the year's tree (in force on 31 December)."""
    return _year_frame(year, extra_csv, _stamp(extra_csv))


@lru_cache(maxsize=32)
def _communes_of_year(year: int, extra_csv: Path | None, stamp: float) -> tuple[Commune, ...]:
    return tuple(_communes(_year_frame(year, extra_csv, stamp)))


def communes_of_year(year: int, extra_csv: Path | None = None) -> list[Commune]:
    """The communes of the year's tree (in force on 31 December), in code order."""
    return list(_communes_of_year(year, extra_csv, _stamp(extra_csv)))


def _wanted_key(wanted: object) -> str:
    """A typed code must be whole ('291' is no commune's); a number (papermill's -p parses
    `00334` as 334) gets its leading zeros back."""
    key = match_key(str(wanted))
    return key.zfill(5) if isinstance(wanted, int) else key


def _matching(frame: pd.DataFrame, wanted: object) -> pd.DataFrame:
    key = _wanted_key(wanted)
    return frame[(frame["code"] == key) | (frame["key_full"] == key) | (frame["key_short"] == key)]


def _candidates(communes: list[Commune]) -> str:
    shown = "; ".join(c.describe() for c in communes[:12])
    return shown + (f"; and {len(communes) - 12} more" if len(communes) > 12 else "")


def find_commune(
    year: int,
    wanted: str,
    extra_csv: Path | None = None,
    within: list[Commune] | None = None,
    prefer: list[Commune] | None = None,
) -> Commune:
    """A commune of the year's tree by code, slug or name as people write them ('Nam Chính').

    A name that several communes share is taken within a district or province (`within`), or
    as the only one of them in `prefer` (the communes that have a workbook this year); failing
    both it is refused with the candidates, never guessed.
    """
    pool = year_frame(year, extra_csv)
    if within is not None:
        pool = pool[pool["code"].isin({c.code for c in within})]
    found = _communes(_matching(pool, wanted))
    preferred = {c.code for c in prefer or ()}
    if len(found) > 1 and len([c for c in found if c.code in preferred]) == 1:
        found = [c for c in found if c.code in preferred]
    if len(found) == 1:
        return found[0]
    if found:
        raise UnknownCommuneError(
            f"'{wanted}' names {len(found)} communes in the {year} tree: {_candidates(found)}. "
            "Give the code (cnscd communes finds it), or --district/--province"
        )
    registry = load_registry(extra_csv)
    year_start = pd.Timestamp(dt.date(year, 1, 1))
    during = registry[(registry["start"] <= tree_date(year)) & (registry["end"] >= year_start)]
    ended = _communes(_matching(during, wanted))
    if ended:
        raise UnknownCommuneError(
            f"no commune '{wanted}' in the tree of 31/12/{year}: {_candidates(ended)}; a unit "
            f"that ended during {year} does not write that year's report (its successor does)"
        )
    slugs = sorted(set(pool["key_short"].str.replace(" ", "-")))
    close = difflib.get_close_matches(slugify(str(wanted)), slugs, n=5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownCommuneError(
        f"no commune '{wanted}' in the {year} registry.{hint} "
        "`cnscd communes NAME` searches the registry"
    )


def _parents(communes: list[Commune], level: str) -> dict[str, str]:
    if level == "district":
        return {c.district_code: c.district_name for c in communes if c.district_code}
    return {c.province_code: c.province_name for c in communes}


def _parent_keys(code: str, name: str) -> set[str]:
    return {code, match_key(name), match_key(short_name(name)), slugify(short_name(name))}


def _as_spelled(wanted: str, names: Iterable[str]) -> list[str]:
    """Of the names a query matches without marks, the one it spells with them ('Tam Đường', not
    Tam Dương); all of them when it spells none, or several."""
    names = sorted(set(names))
    typed = " ".join(unicodedata.normalize("NFC", str(wanted)).casefold().split())
    exact = [n for n in names if typed in {n.casefold(), short_name(n).casefold()}]
    return exact if len(exact) == 1 else names


def _find_unit(
    year: int, wanted: str, level: str, extra_csv: Path | None
) -> tuple[str, str, list[Commune]]:
    communes = communes_of_year(year, extra_csv)
    key = match_key(str(wanted))
    if level == "province" and key.isdigit() and len(key) == 1:
        key = key.zfill(2)  # 'Hà Nội is 1'; a district's code must be written whole ('030')
    units = _parents(communes, level)
    found = sorted(code for code, name in units.items() if key in _parent_keys(code, name))
    if len(found) > 1:  # 'Tam Đường' with its marks is not Tam Dương, which matches without them
        spelled = _as_spelled(wanted, (units[c] for c in found))
        exact = [c for c in found if units[c] in spelled]
        found = exact if len(exact) == 1 else found
    label = "district" if level == "district" else "province"
    if len(found) > 1:
        described = "; ".join(
            f"{code} {units[code]}"
            + (
                f" ({next(c.province_name for c in communes if c.district_code == code)})"
                if level == "district"
                else ""
            )
            for code in found
        )
        raise UnknownCommuneError(
            f"'{wanted}' names {len(found)} {label}s in the {year} tree: {described}; give the code"
        )
    if not found:
        if level == "district" and not units:
            raise UnknownCommuneError(
                f"the {year} tree has no districts (abolished on 01/07/2025): use --province"
            )
        other = "province" if level == "district" else "district"
        other_units = _parents(communes, other)
        if other_key := next(
            (c for c, n in other_units.items() if key in _parent_keys(c, n)), None
        ):
            hint = f" {other_units[other_key]} ({other_key}) is a {other}: use --{other}"
        else:
            close = difflib.get_close_matches(
                slugify(str(wanted)), sorted({slugify(short_name(n)) for n in units.values()}), n=5
            )
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownCommuneError(f"no {label} '{wanted}' in the {year} registry.{hint}")
    code = found[0]
    field = "district_code" if level == "district" else "province_code"
    return code, units[code], [c for c in communes if getattr(c, field) == code]


def find_district(year: int, wanted: str, extra_csv: Path | None = None) -> Group:
    """A district of the year's tree by code, slug or name; a name shared by several districts
    (Huyện Châu Thành) is refused with the candidates."""
    code, name, communes = _find_unit(year, wanted, "district", extra_csv)
    return Group("district", code, name, tuple(communes))


def find_province(year: int, wanted: str, extra_csv: Path | None = None) -> Group:
    """A province of the year's tree by code, slug or name."""
    code, name, communes = _find_unit(year, wanted, "province", extra_csv)
    return Group("province", code, name, tuple(communes))


def find_named_group(
    year: int, wanted: str, named: dict[str, list[str]], extra_csv: Path | None = None
) -> Group:
    """A named list of communes from the settings' `[groups]` (`"Cụm Nam" = ["10627", …]`)."""
    for name, codes in (named or {}).items():
        if slugify(name) in {slugify(str(wanted)), slugify(str(wanted)).removeprefix("nhom-")}:
            communes = [find_commune(year, str(code), extra_csv) for code in codes]
            return Group("group", slugify(name), name, tuple(communes))
    known = ", ".join(sorted(named or {})) or "none"
    raise UnknownCommuneError(f"no group '{wanted}' in the settings' [groups] (known: {known})")


def find_group(
    year: int, key: str, extra_csv: Path | None = None, named: dict | None = None
) -> Group:
    """A group by its key ('district:291', 'province:30', 'group:cum-nam')."""
    level, _, code = str(key).partition(":")
    if level == "district":
        return find_district(year, code, extra_csv)
    if level == "province":
        return find_province(year, code, extra_csv)
    if level == "group":
        return find_named_group(year, code, named or {}, extra_csv)
    raise UnknownCommuneError(f"'{key}' is not a group key (district:…, province:…, group:…)")


def default_group_key(commune: Commune) -> str:
    """The group a commune is compared in: its district, or its province where there is none."""
    if commune.district_code:
        return f"district:{commune.district_code}"
    return f"province:{commune.province_code}"


LINEAGE_CSV = REGISTRY_CSV.with_name("lineage.csv")


@dataclass(frozen=True)
class Change:
    """One link of a unit's lineage: `unit` became (or came from) `other` on `date`."""

    other: Commune
    date: str  # ISO date the successor began
    split: bool  # the predecessor was divided between several successors
    main: bool | None  # for a split: the successor the dataset names as main (None: not named)

    def describe(self) -> str:
        day = pd.Timestamp(self.date).strftime("%d/%m/%Y")
        part = ""
        if self.split:
            part = ", chia tách" + (" (phần chính)" if self.main else "")
        return f"{self.other.code} {self.other.name} ({self.other.parent}; {day}{part})"


@lru_cache(maxsize=1)
def lineage() -> pd.DataFrame:
    """Predecessor -> successor links across the 2024-2025 reforms (scripts/build_registry.py)."""
    return pd.read_csv(LINEAGE_CSV, dtype=str, keep_default_na=False)


def _entry(code: str, valid_from: str | None = None, valid_to: str | None = None) -> Commune:
    frame = packaged_registry()
    rows = frame[frame["code"] == code]
    if valid_from is not None:
        rows = rows[rows["valid_from"] == valid_from]
    if valid_to is not None:
        rows = rows[rows["valid_to"] == valid_to]
    return _communes(rows)[0]


@lru_cache(maxsize=2)
def _links_by(code: str, day: str) -> dict[tuple[str, str], list[int]]:
    """Positions of the lineage's links by one end's code and day: looked up once per commune."""
    return {
        key: list(rows) for key, rows in lineage().groupby([code, day], sort=False).indices.items()
    }


def _changes(commune: Commune, this: str, other: str) -> list[Change]:
    """The commune's links on one side of the lineage ('from' or 'to'), each with the entry at
    the other end (a predecessor's by where it ended, a successor's by where it began)."""
    this_day = "from_valid_to" if this == "from" else "to_valid_from"
    own_day = commune.valid_to if this == "from" else commune.valid_from
    positions = _links_by(f"{this}_code", this_day).get((commune.code, own_day))
    if not positions:  # most units: no link, and no frame to build
        return []
    rows = lineage().iloc[positions]
    other_day = "valid_to" if other == "from" else "valid_from"
    return [
        Change(
            _entry(row[f"{other}_code"], **{other_day: row[f"{other}_{other_day}"]}),
            row["date"],
            row["split"] == "1",
            {"1": True, "0": False}.get(row["main"]),
        )
        for row in rows.to_dict("records")
    ]


def successors(commune: Commune) -> list[Change]:
    """What the unit became, where it ended in a reform."""
    return _changes(commune, "from", "to")


def predecessors(commune: Commune) -> list[Change]:
    """What the unit was made of, where it began in a reform."""
    return _changes(commune, "to", "from")


def lineage_of(
    commune: Commune, step: Callable[[Commune], list[Change]] = successors, depth: int = 0
) -> list[tuple[int, Change]]:
    """Every link of a unit's lineage in one direction (`successors` or `predecessors`), each
    with its depth: Nam Chính became Trần Phú (01/12/2024), which became Trần Phú of Hải Phòng
    (01/07/2025): followed until the unit in force today (or the first tree)."""
    found = []
    for change in step(commune):
        found.append((depth, change))
        found += lineage_of(change.other, step, depth + 1)
    return found


def _ended(year: int, extra_csv: Path | None) -> pd.DataFrame:
    frame = load_registry(extra_csv)
    start = pd.Timestamp(dt.date(year, 1, 1))
    return frame[(frame["end"] >= start) & (frame["end"] < tree_date(year))]


def ended_during(year: int, extra_csv: Path | None = None) -> list[Commune]:
    """Units that ended during the year (before 31 December): their months of the year are
    their successors'."""
    return _communes(_ended(year, extra_csv))


def ended_named(year: int, wanted: str, extra_csv: Path | None = None) -> list[Commune]:
    """The units of `ended_during` that `wanted` names (code, slug or name)."""
    return _communes(_matching(_ended(year, extra_csv), wanted))


def changes_during(commune: Commune, year: int) -> list[Change]:
    """The predecessors whose months of `year` before the change are the commune's: those of a
    unit that began during the year (Trần Phú, from 01/12/2024, takes in Nam Chính's January to
    November)."""
    start = pd.Timestamp(dt.date(year, 1, 1))
    return [c for c in predecessors(commune) if start < pd.Timestamp(c.date) <= tree_date(year)]


def previous_units(commune: Commune, year: int) -> tuple[list[Commune], bool]:
    """The units of the previous year's tree whose territory the commune is now, and whether
    the sum of theirs is approximate (a predecessor was divided between several successors).

    A unit unchanged since then is itself; a merged unit is its predecessors, followed back
    through every change until the previous year's tree.
    """
    before = tree_date(year - 1)
    found: list[Commune] = []
    approximate = False
    pending = [commune]
    while pending:
        unit = pending.pop()
        start = pd.Timestamp(unit.valid_from) if unit.valid_from else _OPEN_START
        if start <= before:
            found.append(unit)
            continue
        changes = predecessors(unit)
        approximate = approximate or any(c.split for c in changes)
        pending.extend(c.other for c in changes)
    return sorted(found, key=lambda c: c.code), approximate


# A bare code's level, by its length, as --province and --district take codes: one or two digits
# a province ('96', Cà Mau), three a district ('096', Mường Nhé), four or five a commune.
CODE_COLUMNS = {
    "province": ("province_code", "province_name", 2),
    "district": ("district_code", "district_name", 3),
    "commune": ("code", "name", 5),
}


def code_level(code: str) -> str:
    """'96' -> 'province', '096' -> 'district', '10627' -> 'commune'."""
    return "province" if len(code) <= 2 else "district" if len(code) == 3 else "commune"


def _coded(frame: pd.DataFrame, code: str, level: str) -> pd.DataFrame:
    column, _, width = CODE_COLUMNS[level]
    return frame[frame[column] == code.zfill(width)]


def code_elsewhere(code: str, year: int | None = None, extra_csv: Path | None = None) -> list[str]:
    """What a bare code would name at the levels it is not taken at ('96': 'district 096, Huyện
    Mường Nhé' before 2025), for a hint."""
    frame = year_frame(year, extra_csv) if year is not None else load_registry(extra_csv)
    found = []
    for level, (_, name, width) in CODE_COLUMNS.items():
        if level != code_level(code):
            rows = _coded(frame, code, level)
            found += [f"{level} {code.zfill(width)}, {n}" for n in dict.fromkeys(rows[name])]
    return found


def _within(frame: pd.DataFrame, level: str, wanted: str) -> pd.DataFrame:
    """The rows of a district's or province's units, by its code (a district's written whole,
    '096', as --district takes it) or its name."""
    key = match_key(str(wanted))
    if key.isdigit():
        return _coded(frame, key, level) if level != "district" or len(key) == 3 else frame[:0]
    column = f"{level}_name"
    names = [n for n in frame[column].unique() if n and key in _parent_keys("", n)]
    return frame[frame[column].isin(_as_spelled(wanted, names))]


def search(
    query: str,
    year: int | None = None,
    extra_csv: Path | None = None,
    province: str | None = None,
    district: str | None = None,
) -> list[Commune]:
    """Units by code (a bare code's level by its length: `code_level`), or by a name without
    diacritics or case, or every unit of a district or province whose name is the query; every
    tree's entries unless a year is given. `province` and `district` (a code or name) narrow it,
    or, without a query, list their units."""
    frame = year_frame(year, extra_csv) if year is not None else load_registry(extra_csv)
    for level, wanted in (("province", province), ("district", district)):
        if wanted:
            frame = _within(frame, level, wanted)
    key = match_key(str(query))
    if not key:
        return _communes(frame)
    if key.isdigit():
        return _communes(_coded(frame, key, code_level(key)))
    named = parents_named(query, year, extra_csv)  # a district, a province, or both (Lai Châu)
    if named:
        return _communes(
            frame[frame["district_name"].isin(named) | frame["province_name"].isin(named)]
        )
    found = frame[frame["key_full"].str.contains(key, regex=False)]
    exact = (found["key_short"] == key) | (found["key_full"] == key)
    return _communes(pd.concat([found[exact], found[~exact]]))  # the very name first


def parents_named(query: str, year: int | None = None, extra_csv: Path | None = None) -> list[str]:
    """The districts and provinces a name means ('Lai Châu': a city and a province)."""
    frame = year_frame(year, extra_csv) if year is not None else load_registry(extra_csv)
    key = match_key(str(query))
    return _as_spelled(
        query,
        (
            name
            for column in ("district_name", "province_name")
            for name in frame[column].unique()
            if name and key in _parent_keys("", name)
        ),
    )
