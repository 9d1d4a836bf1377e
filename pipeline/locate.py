"""Where a commune's workbook is in a year's raw folder, and the files no commune claims."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError
from pipeline.registry import Commune
from pipeline.vntext import slugify

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")  # .xls is found only to be named for what it is


def workbook_names(commune: Commune) -> tuple[str, str, str]:
    """The names a commune's workbook may have, without suffix: slug, code, code-slug."""
    return commune.slug, commune.code, f"{commune.code}-{commune.slug}"


def find_workbook(raw_year: Path, commune: Commune) -> Path:
    """The commune's workbook: `{slug}`, `{code}` or `{code}-{slug}`, as `.xlsx` (or `.xlsm`,
    whose macros are never run), or a folder of CSV files under one of those names.

    Two of them for one commune is an error: which one is the report's is the analyst's call.
    """
    found = [
        candidate
        for name in workbook_names(commune)
        for candidate in (*(raw_year / f"{name}{s}" for s in WORKBOOK_SUFFIXES), raw_year / name)
        if candidate.exists()
    ]
    if len(found) > 1:
        raise InputError(
            f"{len(found)} workbooks for commune {commune.code} ({commune.name}): "
            f"{', '.join(f.name for f in found)}; keep one in {raw_year.name}/",
            file=found[0].name,
        )
    return found[0] if found else raw_year / f"{commune.slug}.xlsx"


@dataclass(frozen=True)
class Unclaimed:
    """A workbook (or CSV folder) that no commune's name claims, and whose it probably is."""

    path: Path
    probably: Commune | None

    @property
    def meant_name(self) -> str | None:
        """The name it was probably meant to have: `nam-chinh.xlsx`."""
        if self.probably is None:
            return None
        return self.probably.slug + (self.path.suffix if self.path.is_file() else "")

    def __str__(self) -> str:
        return self.path.name + (f" ({self.meant_name}?)" if self.meant_name else "")


def unclaimed_files(raw_year: Path, communes: list[Commune]) -> list[Unclaimed]:
    """Workbooks (and CSV folders) in the year's raw folder that no commune's name claims.

    Names starting with `_`, `.` or `~$` (Excel's lock files) are not workbooks of a commune.
    """
    if not raw_year.is_dir():
        return []
    claimed = {name for c in communes for name in workbook_names(c)}
    by_key = {c.slug: c for c in communes} | {c.code: c for c in communes}
    found = []
    for entry in sorted(raw_year.iterdir()):
        stem = entry.name if entry.is_dir() else entry.stem
        if entry.name.startswith(("_", ".", "~$")) or stem in claimed:
            continue
        if entry.is_file() and entry.suffix.lower() not in WORKBOOK_SUFFIXES:
            continue  # a registry, a note: not a commune's workbook
        key = slugify(stem)
        code = re.search(r"\d{5}", stem)
        guess = by_key.get(code.group()) if code else None
        if guess is None:
            close = difflib.get_close_matches(
                re.sub(r"^(xa|thi-tran|phuong)-", "", key), list(by_key), n=1, cutoff=0.8
            )
            guess = by_key.get(close[0]) if close else None
        found.append(Unclaimed(entry, guess))
    return found
