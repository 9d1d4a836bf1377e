"""`cnscd collect`: file the workbooks that came in by e-mail and Zalo, whatever their names,
by what they hold.

Each workbook (or CSV folder) under the inbox is read (`ingest.read_workbook`); its commune is
the code written on its "Thông tin xã" sheet, checked against the registry of the year (the name,
and the district and province where written, must be that code's); the year of its data is the
year most dates of its activity log fall in. A workbook that passes is copied to
`data/raw/{year}/{code}-{slug}.xlsx`; the original is never moved or changed. Nothing is guessed:
two different files for one commune, an identity the registry does not know, another year's
data, a file that is no workbook, are listed for the user to decide. Running it again files
nothing new.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.clean import parse_date
from pipeline.errors import PipelineError
from pipeline.files import write_atomically
from pipeline.ingest import read_workbook
from pipeline.locate import find_workbook
from pipeline.provenance import hash_path
from pipeline.registry import Commune
from pipeline.vntext import match_key, repair

REPORT_NAME = "_collect.csv"  # in data/raw/{year}/: `_` keeps it from being taken for a workbook

# Outcomes, in the order the table lists them; the first two need nothing from the user.
FILED = "filed"
ALREADY = "already filed"
COPY = "same file"
DUPLICATE = "two files for one commune"
NOT_KEPT = "not kept"
CONFLICT = "another file is filed"
UNKNOWN = "identity not known"
OTHER_YEAR = "another year"
NOT_WORKBOOK = "not a workbook"
FINE = (FILED, ALREADY, COPY, NOT_KEPT)
ORDER = (FILED, ALREADY, COPY, NOT_KEPT, DUPLICATE, CONFLICT, UNKNOWN, OTHER_YEAR, NOT_WORKBOOK)


@dataclass(frozen=True)
class Holding:
    """What one file of the inbox holds, as far as it can be read."""

    path: Path  # in the inbox
    content: str = ""  # content hash
    code: str = ""  # as written in "Thông tin xã"
    name: str = ""
    district: str = ""
    province: str = ""
    years: tuple[tuple[int, int], ...] = ()  # (year, dated activity rows), most first
    rows: int = 0  # activity rows
    first: dt.date | None = None  # first and last activity dates
    last: dt.date | None = None
    problem: str = ""  # why it is no workbook

    @property
    def year(self) -> int | None:
        return self.years[0][0] if self.years else None


@dataclass(frozen=True)
class Outcome:
    """What `collect` did with one file, and why."""

    holding: Holding
    outcome: str
    commune: Commune | None = None
    filed_as: Path | None = None  # in data/raw/{year}/
    note: str = ""


def _cell(table: pd.DataFrame, column: str) -> str:
    if table.empty or column not in table.columns:
        return ""
    value = table[column].iloc[0]
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return repair(str(value)).strip()


def read_holding(path: Path) -> Holding:
    """Read a file of the inbox: its identity, the years of its activity log, its size."""
    content = hash_path(path)
    try:
        raw = read_workbook(path)
    except PipelineError as exc:
        return Holding(path, content, problem=str(exc))
    commune = raw.tables["commune"]
    code = _cell(commune, "commune_code").removesuffix(".0")
    code = code.zfill(5) if code.isdigit() else code
    log = raw.tables["activities"]
    data = log.drop(columns=[c for c in log.columns if c.startswith("_")], errors="ignore")
    rows = int(data.notna().any(axis=1).sum()) if not data.empty else 0
    dates = [d for d in map(parse_date, log.get("date", ())) if d is not None]
    years = Counter(d.year for d in dates).most_common()
    return Holding(
        path,
        content,
        code,
        _cell(commune, "commune_name"),
        _cell(commune, "district_name"),
        _cell(commune, "province_name"),
        tuple(sorted(years, key=lambda pair: (-pair[1], pair[0]))),
        rows,
        min(dates).date() if dates else None,
        max(dates).date() if dates else None,
    )


_KINDS = ("xa", "phuong", "thi tran", "dac khu", "huyen", "quan", "thi xa", "thanh pho", "tinh")


def _key(name: str) -> str:
    """'Xã Nam Chính', 'xa nam chinh', 'Nam Chính' -> 'nam chinh'."""
    key = match_key(name)
    for kind in _KINDS:
        if key.startswith(kind + " "):
            return key[len(kind) + 1 :]
    return key


def _same(written: str, registered: str) -> bool:
    return not written or not registered or _key(written) == _key(registered)


def identify(holding: Holding, year: int, communes: list[Commune]) -> tuple[Commune | None, str]:
    """The registry's commune for the workbook's written identity in the year's tree, or why
    there is none."""
    if not holding.code:
        return None, "no commune code (Mã xã) on its 'Thông tin xã' sheet"
    found = next((c for c in communes if c.code == holding.code), None)
    if found is None:
        return None, f"no commune {holding.code} in the registry of {year}"
    for written, registered, what in (
        (holding.name, found.name, "commune"),
        (holding.district, found.district_name, "district"),
        (holding.province, found.province_name, "province"),
    ):
        if not _same(written, registered):
            return None, (
                f"{found.code} is {found.describe()} in the {year} registry, but the workbook's "
                f"{what} is '{written}'"
            )
    return found, ""


def inbox_entries(inbox: Path) -> list[Path]:
    """Every file under the inbox, and every folder of CSV files (read as one workbook); hidden
    files and Excel's lock files (`~$…`) left aside."""
    found: list[Path] = []

    def visit(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith((".", "~$")):
                continue
            if entry.is_dir():
                if any(entry.glob("*.csv")):
                    found.append(entry)
                else:
                    visit(entry)
            elif entry.is_file():
                found.append(entry)

    if not inbox.is_dir():
        raise PipelineError(f"{inbox} is not a folder")
    visit(inbox)
    return found


def _target(raw_year: Path, commune: Commune, source: Path) -> Path:
    """`{code}-{slug}.xlsx` (`.xlsm` for a workbook with macros, never run), or a CSV folder."""
    suffix = ".xlsm" if source.suffix.lower() == ".xlsm" else ".xlsx"
    if source.is_dir():
        suffix = ""
    return raw_year / f"{commune.stem}{suffix}"


def plan(
    holdings: list[Holding],
    year: int,
    communes: list[Commune],
    raw_year: Path,
    keep: tuple[Path, ...] = (),
) -> list[Outcome]:
    """What to do with each file: pure but for looking at what `raw_year` already holds."""
    outcomes: list[Outcome] = []
    by_commune: dict[str, list[tuple[Holding, Commune]]] = {}
    for holding in holdings:
        if holding.problem:
            outcomes.append(Outcome(holding, NOT_WORKBOOK, note=holding.problem))
            continue
        if holding.year is None:
            outcomes.append(
                Outcome(holding, UNKNOWN, note="no dated activity: the year of its data is unknown")
                if holding.code
                else Outcome(holding, UNKNOWN, note=identify(holding, year, communes)[1])
            )
            continue
        if holding.year != year:
            outcomes.append(
                Outcome(holding, OTHER_YEAR, note=f"its activity log is of {holding.year}")
            )
            continue
        commune, why = identify(holding, year, communes)
        if commune is None:
            outcomes.append(Outcome(holding, UNKNOWN, note=why))
            continue
        by_commune.setdefault(commune.code, []).append((holding, commune))
    kept = {k.resolve() for k in keep}
    for group in by_commune.values():
        commune = group[0][1]
        distinct = list(dict.fromkeys(h.content for h, _ in group))
        chosen = [h for h, _ in group if h.path.resolve() in kept]
        if len(distinct) > 1 and len(chosen) != 1:
            names = ", ".join(h.path.name for h, _ in group)
            for holding, _ in group:
                outcomes.append(
                    Outcome(
                        holding,
                        DUPLICATE,
                        commune,
                        note=f"{len(group)} files for this commune ({names}): keep one "
                        "(--keep FILE, or take the other out of the inbox)",
                    )
                )
            continue
        first = chosen[0] if len(distinct) > 1 else group[0][0]
        for holding, _ in group:
            if holding is not first:
                same = holding.content == first.content
                outcomes.append(
                    Outcome(
                        holding,
                        COPY if same else NOT_KEPT,
                        commune,
                        note=f"{'the same file as' if same else 'you kept'} {first.path.name}",
                    )
                )
        outcomes.append(_filing(first, commune, raw_year))
    return sorted(outcomes, key=lambda o: (ORDER.index(o.outcome), str(o.holding.path)))


def _filing(holding: Holding, commune: Commune, raw_year: Path) -> Outcome:
    """Filed, already filed, or in conflict with what data/raw/{year}/ holds for the commune."""
    try:
        present = find_workbook(raw_year, commune)
    except PipelineError as exc:  # two workbooks for it there already
        return Outcome(holding, CONFLICT, commune, note=str(exc))
    target = _target(raw_year, commune, holding.path)
    if present.exists():
        if hash_path(present) == holding.content:
            return Outcome(holding, ALREADY, commune, present)
        return Outcome(
            holding,
            CONFLICT,
            commune,
            present,
            note=f"{raw_year.name}/{present.name} holds another file for this commune; take it "
            "out of the raw folder to file this one",
        )
    return Outcome(holding, FILED, commune, target)


def file_copy(source: Path, target: Path) -> None:
    """Copy a workbook (content and modification time) or a CSV folder into place, whole."""
    if source.is_file():
        write_atomically(target, lambda tmp: shutil.copy2(source, tmp))
        return
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    tmp.replace(target)


def table(outcomes: list[Outcome], inbox: Path) -> pd.DataFrame:
    """The outcome of every file, as the user reads it."""
    return pd.DataFrame(
        [
            {
                "outcome": o.outcome,
                "file": o.holding.path.relative_to(inbox).as_posix(),
                "commune_code": o.commune.code if o.commune else o.holding.code,
                "commune": o.commune.name if o.commune else o.holding.name,
                "data_year": o.holding.year or "",
                "activity_rows": "" if o.holding.problem else o.holding.rows,
                "first_date": o.holding.first.strftime("%d/%m/%Y") if o.holding.first else "",
                "last_date": o.holding.last.strftime("%d/%m/%Y") if o.holding.last else "",
                "modified": dt.datetime.fromtimestamp(o.holding.path.stat().st_mtime).strftime(
                    "%d/%m/%Y %H:%M"
                ),
                "filed_as": o.filed_as.name if o.filed_as else "",
                "note": o.note,
            }
            for o in outcomes
        ],
        columns=[
            "outcome",
            "file",
            "commune_code",
            "commune",
            "data_year",
            "activity_rows",
            "first_date",
            "last_date",
            "modified",
            "filed_as",
            "note",
        ],
    )


@dataclass
class Collected:
    outcomes: list[Outcome] = field(default_factory=list)
    report: Path | None = None

    @property
    def needs_user(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome not in FINE]


def collect(
    inbox: Path, raw_year: Path, year: int, communes: list[Commune], keep: tuple[Path, ...] = ()
) -> Collected:
    """Read the inbox, file what can be filed into `raw_year`, and write the table of outcomes
    there (`_collect.csv`). The inbox is only read."""
    from pipeline.exports import write_csv

    inbox = inbox.resolve()
    holdings = [read_holding(path) for path in inbox_entries(inbox)]
    outcomes = plan(holdings, year, communes, raw_year, keep)
    for outcome in outcomes:
        if outcome.outcome == FILED and outcome.filed_as is not None:
            file_copy(outcome.holding.path, outcome.filed_as)
    report = raw_year / REPORT_NAME
    write_csv(table(outcomes, inbox), report)
    return Collected(outcomes, report)
