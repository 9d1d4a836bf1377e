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

The inbox is what arrived, so it is walked as untrusted: a link (to a file, a folder, a device,
itself) is never followed, each real folder is walked once, a file's kind and size are checked
before a byte of it is read, hashes are streamed, and a workbook is read only in a process of
capped memory, with the limits and checks `run` reads it with (`ingest.read_workbook`). Every
entry the walk meets is a line of the table: what is not read (a hidden file, a link, a FIFO, a
photo) says why.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from pipeline.core.errors import PipelineError
from pipeline.core.files import write_atomically
from pipeline.core.limits import Limits
from pipeline.core.provenance import hash_path
from pipeline.core.textsafety import one_line
from pipeline.core.vntext import match_key, repair
from pipeline.core.workers import map_capped
from pipeline.measuring.settings import default_limits
from pipeline.reading.clean import parse_date
from pipeline.reading.ingest import read_workbook
from pipeline.reading.locate import WORKBOOK_SUFFIXES, find_workbook
from pipeline.registry.tree import Commune

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
NOT_COPIED = "could not be filed"
SKIPPED = "not read"  # a hidden file, a link, a FIFO, a photo: listed, nothing to decide
FINE = (FILED, ALREADY, COPY, NOT_KEPT, SKIPPED)
ORDER = (
    FILED,
    ALREADY,
    COPY,
    NOT_KEPT,
    DUPLICATE,
    CONFLICT,
    UNKNOWN,
    OTHER_YEAR,
    NOT_WORKBOOK,
    NOT_COPIED,
    SKIPPED,
)
# The first bytes of an .xlsx (a zip) and of an .xls (OLE): a workbook sent without its suffix.
_WORKBOOK_MAGIC = (b"PK\x03\x04", bytes.fromhex("D0CF11E0A1B11AE1"))


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
    skipped: str = ""  # why it was not read at all

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


def _entry_problem(path: Path, limits: Limits) -> str:
    """Why a file or CSV folder of the inbox cannot be read as a workbook, from its kind and
    size alone (nothing of it is read): a CSV folder holding anything but regular files, a file
    beyond the limits."""
    if path.is_dir():
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            mode = entry.stat(follow_symlinks=False).st_mode
            if not stat.S_ISREG(mode):
                return (
                    f"its entry {one_line(entry.name)!r} is {_kind(mode)}, not a file: a folder of "
                    "CSV files is read only when it holds files alone"
                )
            if entry.name.endswith(".csv") and entry.stat().st_size > limits.max_csv_mb * _MB:
                return (
                    f"{one_line(entry.name)} is beyond the limit of {limits.max_csv_mb} MB "
                    "per CSV file ([limits] max_csv_mb)"
                )
        return ""
    size = path.stat().st_size
    if size > limits.max_workbook_mb * _MB:
        return (
            f"the file is {size / _MB:,.0f} MB, beyond the limit of {limits.max_workbook_mb} MB "
            "([limits] max_workbook_mb); ask for it again"
        )
    return ""


_MB = 1024 * 1024


def read_holding(path: Path, root: Path | None = None, limits: Limits | None = None) -> Holding:
    """Read a file of the inbox: its identity, the years of its activity log, its size. Its
    kind and size are checked first, then it is hashed (streamed) and read as `run` reads a
    workbook (within `limits`, inside `root`)."""
    limits = limits or default_limits()
    try:
        problem = _entry_problem(path, limits)
        if problem:
            return Holding(path, problem=problem)
        content = hash_path(path)
    except OSError as exc:
        return Holding(path, problem=f"cannot be read ({exc.strerror or exc})")
    try:
        raw = read_workbook(path, limits, root=root if root is not None else path.parent)
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


def read_holdings(paths: list[Path], root: Path, limits: Limits | None = None) -> list[Holding]:
    """`read_holding` of each path, in a process of capped memory (`workers.map_capped`): a
    file that stops that process, or fails in a way no check foresaw, is one line with why."""
    limits = limits or default_limits()
    read = partial(read_holding, root=root, limits=limits)
    holdings = []
    for path, found in zip(paths, map_capped(read, paths, limits.worker_memory_mb), strict=True):
        if isinstance(found, Holding):
            holdings.append(found)
        else:
            why = f"{type(found).__name__}: {found}" if isinstance(found, Exception) else found
            holdings.append(Holding(path, problem=f"cannot be read: {why}".replace("\n", " ")))
    return holdings


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


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a device or socket"


def _is_csv_folder(folder: Path) -> bool:
    return any(e.name.endswith(".csv") for e in os.scandir(folder))


def _not_a_workbook(path: Path) -> str:
    """Why a regular file is plainly no workbook (a photo, a PDF), from its name and first bytes;
    "" for what may be one (any workbook suffix, a CSV, or a workbook's first bytes)."""
    if path.suffix.lower() in (*WORKBOOK_SUFFIXES, ".csv"):
        return ""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        try:
            head = os.read(fd, 8)
        finally:
            os.close(fd)
    except OSError:
        head = b""
    if head.startswith(_WORKBOOK_MAGIC):
        return ""
    return f"not a workbook ({path.suffix or 'no suffix'})"


def inbox_entries(inbox: Path) -> tuple[list[Path], list[Holding]]:
    """Every file under the inbox, and every folder of CSV files (read as one workbook); and
    every entry not read, with why: hidden files, Excel's lock files (`~$…`), links (never
    followed), FIFOs and devices, folders that cannot be listed, files plainly no workbook.
    Each real folder is walked once."""
    found: list[Path] = []
    skipped: list[Holding] = []
    seen: set[tuple[int, int]] = set()

    def visit(folder: Path) -> None:
        try:
            info = os.stat(folder, follow_symlinks=False)
            if (info.st_dev, info.st_ino) in seen:
                return
            seen.add((info.st_dev, info.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Holding(folder, skipped=f"folder cannot be read ({exc.strerror})"))
            return
        for entry in entries:
            path = Path(entry.path)
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                skipped.append(Holding(path, skipped=f"cannot be read ({exc.strerror})"))
                continue
            if entry.name.startswith("."):
                skipped.append(Holding(path, skipped="hidden"))
            elif entry.name.startswith("~$"):
                skipped.append(Holding(path, skipped="Excel's lock file of an open workbook"))
            elif stat.S_ISLNK(mode):
                target = one_line(os.readlink(path))
                skipped.append(
                    Holding(
                        path,
                        skipped=f"a link (to {target}): links are not followed; put the file "
                        "itself in the inbox",
                    )
                )
            elif stat.S_ISDIR(mode):
                try:
                    csv_folder = _is_csv_folder(path)
                except OSError as exc:
                    skipped.append(Holding(path, skipped=f"folder cannot be read ({exc.strerror})"))
                    continue
                if csv_folder:
                    found.append(path)
                else:
                    visit(path)
            elif not stat.S_ISREG(mode):
                skipped.append(Holding(path, skipped=f"{_kind(mode)}, not a file"))
            elif why := _not_a_workbook(path):
                skipped.append(Holding(path, skipped=why))
            else:
                found.append(path)

    if not inbox.is_dir():
        raise PipelineError(f"{inbox} is not a folder")
    visit(inbox)
    return found, skipped


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
        if holding.skipped:
            outcomes.append(Outcome(holding, SKIPPED, note=holding.skipped))
            continue
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


def file_copy(source: Path, target: Path, content: str) -> None:
    """Copy a workbook (content and modification time) or a CSV folder into place, whole; only
    regular files are copied, never a link, and the copy must hash as the file that was read
    (`content`), or nothing is left in place."""
    if not source.is_dir():
        if not stat.S_ISREG(os.lstat(source).st_mode):
            raise OSError(f"{source.name} is no longer a regular file")

        def copy(tmp: Path) -> None:
            shutil.copy2(source, tmp, follow_symlinks=False)
            if hash_path(tmp) != content:
                raise OSError("it changed while it was filed")

        write_atomically(target, copy)
        return
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        for entry in sorted(os.scandir(source), key=lambda e: e.name):
            if not entry.is_file(follow_symlinks=False):
                raise OSError(f"{one_line(entry.name)} is not a regular file")
            shutil.copy2(entry.path, tmp / entry.name, follow_symlinks=False)
        if hash_path(tmp) != content:
            raise OSError("it changed while it was filed")
        tmp.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _modified(path: Path) -> str:
    try:
        when = os.lstat(path).st_mtime
    except OSError:
        return ""
    return dt.datetime.fromtimestamp(when).strftime("%d/%m/%Y %H:%M")


def table(outcomes: list[Outcome], inbox: Path) -> pd.DataFrame:
    """The outcome of every file, as the user reads it."""
    return pd.DataFrame(
        [
            {
                "outcome": o.outcome,
                "file": one_line(o.holding.path.relative_to(inbox).as_posix()),
                "commune_code": o.commune.code if o.commune else o.holding.code,
                "commune": o.commune.name if o.commune else o.holding.name,
                "data_year": o.holding.year or "",
                "activity_rows": "" if o.holding.problem or o.holding.skipped else o.holding.rows,
                "first_date": o.holding.first.strftime("%d/%m/%Y") if o.holding.first else "",
                "last_date": o.holding.last.strftime("%d/%m/%Y") if o.holding.last else "",
                "modified": _modified(o.holding.path),
                "filed_as": o.filed_as.name if o.filed_as else "",
                "note": one_line(o.note),
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
    inbox: Path,
    raw_year: Path,
    year: int,
    communes: list[Commune],
    keep: tuple[Path, ...] = (),
    limits: Limits | None = None,
) -> Collected:
    """Read the inbox, file what can be filed into `raw_year`, and write the table of outcomes
    there (`_collect.csv`). The inbox is only read."""
    from pipeline.core.sheets import write_csv

    inbox = inbox.resolve()
    found, skipped = inbox_entries(inbox)
    holdings = read_holdings(found, inbox, limits)
    outcomes = plan([*holdings, *skipped], year, communes, raw_year, keep)
    for index, outcome in enumerate(outcomes):
        if outcome.outcome == FILED and outcome.filed_as is not None:
            try:
                file_copy(outcome.holding.path, outcome.filed_as, outcome.holding.content)
            except OSError as exc:
                why = exc.strerror or str(exc)
                outcomes[index] = Outcome(
                    outcome.holding, NOT_COPIED, outcome.commune, note=f"not copied: {why}"
                )
    report = raw_year / REPORT_NAME
    write_csv(table(outcomes, inbox), report)
    return Collected(outcomes, report)
