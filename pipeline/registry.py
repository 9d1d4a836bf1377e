"""The registry of communes: national codes, names and the period each entry is valid for.

Codes were reused across the 2024-2025 reforms, so a commune is its code within the tree of the
report's year, never the code alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.config import REGISTRY_CSV
from pipeline.errors import UnknownCommuneError
from pipeline.vntext import match_key, slugify

_PREFIXES = ("Thị trấn ", "Xã ", "Phường ", "Huyện ", "Thị xã ", "Thành phố ", "Tỉnh ")


def short_name(name: str) -> str:
    """'Xã Nam Chính' -> 'Nam Chính'."""
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    district_code: str
    district_name: str
    province_code: str
    province_name: str

    @property
    def slug(self) -> str:
        return slugify(short_name(self.name))

    @property
    def district_slug(self) -> str:
        return slugify(short_name(self.district_name))

    @property
    def short_name(self) -> str:
        return short_name(self.name)

    @property
    def kind(self) -> str:
        """'Xã' or 'Thị trấn' or 'Phường': how the commune names itself in a report."""
        return self.name[: len(self.name) - len(self.short_name)].strip() or "Xã"


EXTRA_REGISTRY_NAME = "communes.csv"


def load_registry(extra_csv: Path | None = None) -> pd.DataFrame:
    """The packaged registry, plus the rows of an extra registry file (synthetic or newer units)."""
    frames = [pd.read_csv(REGISTRY_CSV, dtype=str, keep_default_na=False)]
    if extra_csv is not None and extra_csv.exists():
        frames.append(pd.read_csv(extra_csv, dtype=str, keep_default_na=False))
    frame = pd.concat(frames, ignore_index=True)
    frame["valid_from"] = pd.to_datetime(frame["valid_from"].replace("", "1900-01-01"))
    frame["valid_to"] = pd.to_datetime(frame["valid_to"].replace("", "2999-12-31"))
    return frame


def communes_of_year(year: int, extra_csv: Path | None = None) -> list[Commune]:
    """Every commune whose registry entry is valid at some time in the year."""
    frame = load_registry(extra_csv)
    start, end = pd.Timestamp(dt.date(year, 1, 1)), pd.Timestamp(dt.date(year, 12, 31))
    valid = frame[(frame["valid_from"] <= end) & (frame["valid_to"] >= start)]
    return [
        Commune(
            r.commune_code,
            r.commune_name,
            r.district_code,
            r.district_name,
            r.province_code,
            r.province_name,
        )
        for r in valid.itertuples(index=False)
    ]


def find_commune(year: int, wanted: str, extra_csv: Path | None = None) -> Commune:
    """A commune of the year by slug, code or name as people write it ('Nam Chính', 'nam-chinh')."""
    key = match_key(str(wanted))  # a code may come as a number (papermill's -p parses it)
    communes = communes_of_year(year, extra_csv)
    for commune in communes:
        if key in {
            commune.code,
            match_key(commune.name),
            match_key(commune.short_name),
            match_key(commune.slug),
        }:
            return commune
    known = ", ".join(c.slug for c in communes)
    raise UnknownCommuneError(
        f"no commune '{wanted}' in the {year} registry. Known communes: {known}"
    )


def find_district(year: int, wanted: str, extra_csv: Path | None = None) -> list[Commune]:
    """The communes of a district of the year, by slug, code or name."""
    key = match_key(str(wanted))
    communes = [
        c
        for c in communes_of_year(year, extra_csv)
        if key
        in {
            c.district_code,
            match_key(c.district_name),
            match_key(c.district_slug),
            match_key(short_name(c.district_name)),
        }
    ]
    if not communes:
        known = ", ".join(sorted({c.district_slug for c in communes_of_year(year, extra_csv)}))
        raise UnknownCommuneError(
            f"no district '{wanted}' in the {year} registry. Known districts: {known}"
        )
    return communes


def find_group(
    year: int,
    wanted: str,
    extra_csv: Path | None = None,
    named: dict[str, list[str]] | None = None,
) -> tuple[str, str, list[Commune]]:
    """A comparison group by name: a district of the year's tree, or else a province.

    Returns (slug, display name, communes). Districts were abolished on 1 July 2025, so for
    later years a province, or a named list of communes (`[groups]` in the settings), is.
    """
    for name, codes in (named or {}).items():  # a named list of communes, from the settings
        if slugify(name) == slugify(str(wanted)):
            return slugify(name), name, [find_commune(year, str(c), extra_csv) for c in codes]
    try:
        communes = find_district(year, wanted, extra_csv)
        return communes[0].district_slug, communes[0].district_name, communes
    except UnknownCommuneError:
        key = match_key(str(wanted))
        communes = [
            c
            for c in communes_of_year(year, extra_csv)
            if key
            in {
                c.province_code,
                match_key(c.province_name),
                match_key(short_name(c.province_name)),
                slugify(short_name(c.province_name)).replace("-", " "),
            }
        ]
        if not communes:
            raise
        name = communes[0].province_name
        return slugify(short_name(name)), name, communes
