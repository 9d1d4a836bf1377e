"""Stage 1, per commune: find and read its workbook (and its predecessors'), clean the rows,
say what blocks a report; store the clean tables of the year."""

from __future__ import annotations

import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pandas as pd

from pipeline.core import contract
from pipeline.core.config import Paths
from pipeline.core.errors import InputError, PipelineError
from pipeline.core.limits import Limits
from pipeline.core.workers import limit_memory, process_pool
from pipeline.measuring.settings import default_limits
from pipeline.reading import store
from pipeline.reading.clean import CleanResult, check_identity, clean_tables, quality_summary, stack
from pipeline.reading.ingest import RawWorkbook, read_workbook
from pipeline.reading.locate import Unclaimed, claim_workbooks, find_workbook, looks_like
from pipeline.reading.predecessors import predecessors_of
from pipeline.reading.store import ORIGIN_COLUMNS, store_origins
from pipeline.registry.tree import (
    EXTRA_REGISTRY_NAME,
    Commune,
    communes_of_year,
    ended_during,
)


class _Misnamed:
    """A commune without a workbook under its names: if a file in the folder looks like its,
    say which. The folder is looked at once, when the first such commune comes."""

    def __init__(self, paths: Paths, year: int) -> None:
        self.paths, self.year = paths, year

    @cached_property
    def unclaimed(self) -> list[Unclaimed]:
        registry = communes_of_year(self.year, self.paths.raw / EXTRA_REGISTRY_NAME)
        ended = ended_during(self.year, self.paths.raw / EXTRA_REGISTRY_NAME)
        return claim_workbooks(self.paths.raw_year(self.year), registry, ended=ended)[1]

    def check(self, commune: Commune, expected: Path) -> None:
        for unclaimed in self.unclaimed:
            stem = unclaimed.path.name if unclaimed.path.is_dir() else unclaimed.path.stem
            known = unclaimed.probably  # by the code the file writes, where it does
            if (known.code == commune.code) if known is not None else looks_like(stem, commune):
                suffix = unclaimed.path.suffix if unclaimed.path.is_file() else ""
                raise InputError(
                    f"workbook not found in {expected.parent.name}/, but "
                    f"'{unclaimed.path.name}' there looks like this commune's: rename it "
                    f"{commune.stem}{suffix}",
                    file=expected.name,
                )


def _read(
    paths: Paths, year: int, commune: Commune, misnamed: _Misnamed, limits: Limits | None = None
) -> RawWorkbook | str:
    """The commune's workbook, or the one clear message saying why it cannot be used."""
    try:
        path = find_workbook(paths.raw_year(year), commune)
        if not path.exists() and not path.is_symlink():
            misnamed.check(commune, path)
        raw = read_workbook(path, limits, root=paths.raw)
        check_identity(raw, commune.code)
        return raw
    except PipelineError as exc:
        return str(exc)


@dataclass
class Prepared:
    """Communes read and cleaned together: their clean data, and those that cannot be reported."""

    problems: dict[str, str]
    result: CleanResult | None
    quality: pd.DataFrame
    present: pd.DataFrame
    codes: set[str]  # communes with clean data
    origins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORIGIN_COLUMNS))
    # Files holding the fixes and rejected rows, by table, written where they were cleaned
    # (`result` then holds none): a million of them never cross to the caller's process.
    log_parts: dict[str, list[Path]] = field(default_factory=dict)


def prepare_chunk(
    paths: Paths,
    year: int,
    communes: list[Commune],
    attribution: dict[str, str] | None = None,
    limits: Limits | None = None,
    spill: Path | None = None,
) -> Prepared:
    """Read the communes' workbooks (and, for a commune formed during the year, its
    predecessors') and clean them in one pass. Nothing is written, but the fixes and rejected
    rows when a `spill` folder is given: a part file of each there (`Prepared.log_parts`)."""
    problems: dict[str, str] = {}
    own: dict[str, RawWorkbook] = {}
    readable: list[tuple[RawWorkbook, str]] = []
    cutoffs: dict[str, pd.Timestamp] = {}
    origins: list[dict[str, str]] = []
    misnamed = _Misnamed(paths, year)
    for commune in communes:
        raw = _read(paths, year, commune, misnamed, limits)
        if isinstance(raw, str):
            problems[commune.code] = raw
            continue
        try:
            earlier = predecessors_of(paths.raw_year(year), commune, year, attribution or {})
        except PipelineError as exc:
            problems[commune.code] = f"a predecessor's workbook: {exc}"
            continue
        own[commune.code] = raw
        readable += [(raw, commune.code)] + [(w, commune.code) for w in earlier.workbooks]
        cutoffs.update(earlier.cutoffs)
        origins += earlier.origins
    present = pd.DataFrame(
        [
            (code, key, ", ".join(raw.unread_columns.get(key, ())))
            for raw, code in readable
            for key in raw.tables
        ],
        columns=["commune_code", "sheet", "unread_columns"],
    ).drop_duplicates(["commune_code", "sheet"])
    origin_frame = pd.DataFrame(origins, columns=ORIGIN_COLUMNS)
    if not readable:
        return Prepared(problems, None, pd.DataFrame(), present, set(), origin_frame)
    stacked = stack(readable)
    result = clean_tables(stacked, year, cutoffs)
    codes = set(own)
    problems.update(blocking_problems(result, codes, own))
    prepared = Prepared(
        problems, result, quality_summary(stacked, result), present, codes, origin_frame
    )
    if spill is not None:  # named by its communes: one chunk, or one commune done again alone
        logs = {"fixes": result.fixes, "rejected": result.rejected}
        for name, frame in logs.items():
            part = spill / f"{name}-{communes[0].code}-{len(communes)}.parquet"
            store.write_log_part(frame, part)
            prepared.log_parts[name] = [part]
        emptied = {name: frame.iloc[0:0] for name, frame in logs.items()}
        prepared.result = replace(result, **emptied)
    return prepared


def _merge(parts: list[Prepared]) -> Prepared:
    results = [p.result for p in parts if p.result is not None]
    merged = None
    if results:
        merged = CleanResult(
            {
                k: pd.concat([r.tables[k] for r in results], ignore_index=True)
                for k in results[0].tables
            },
            pd.concat([r.fixes for r in results], ignore_index=True),
            pd.concat([r.rejected for r in results], ignore_index=True),
        )
    quality = [p.quality for p in parts if p.result is not None] or [pd.DataFrame()]
    return Prepared(
        {k: v for p in parts for k, v in p.problems.items()},
        merged,
        pd.concat(quality, ignore_index=True),
        pd.concat([p.present for p in parts], ignore_index=True),
        set().union(*(p.codes for p in parts)),
        pd.concat([p.origins for p in parts], ignore_index=True),
        {
            name: [part for p in parts for part in p.log_parts.get(name, ())]
            for name in store.STREAMED_TABLES
        },
    )


def _stopped(paths: Paths, year: int, commune: Commune, why: str) -> Prepared:
    """A commune whose reading or cleaning stopped its process: refused with a message."""
    try:
        name = find_workbook(paths.raw_year(year), commune).name
    except PipelineError:
        name = f"{commune.stem}.xlsx"
    message = str(InputError(f"reading and cleaning this workbook {why}", file=name))
    return Prepared(
        {commune.code: message},
        None,
        pd.DataFrame(),
        pd.DataFrame(columns=["commune_code", "sheet", "unread_columns"]),
        set(),
    )


def _pool(workers: int, limits: Limits) -> ProcessPoolExecutor:
    return process_pool(workers, limit_memory, limits.worker_memory_mb)


def _one_by_one(
    paths: Paths,
    year: int,
    communes: list[Commune],
    attribution: dict[str, str] | None,
    limits: Limits,
    spill: Path | None = None,
) -> list[Prepared]:
    """Communes of a chunk that stopped its process, each in turn: the one that stops it
    again is refused alone, and a new process takes the rest."""
    parts: list[Prepared] = []
    pending = list(communes)
    while pending:
        with _pool(1, limits) as pool:
            futures = [
                pool.submit(prepare_chunk, paths, year, [c], attribution, limits, spill)
                for c in pending
            ]
            for future, commune in zip(futures, list(pending), strict=True):
                pending.pop(0)
                try:
                    parts.append(future.result())
                except BrokenProcessPool:  # one process runs them in turn: this one broke it
                    why = (
                        "stopped its process (it crashed, or needed more than the "
                        f"{limits.worker_memory_mb:,} MB of memory it may take: [limits] "
                        "worker_memory_mb); open it in Excel, check it and save it again"
                    )
                    parts.append(_stopped(paths, year, commune, why))
                    break
                except Exception as exc:  # said as the commune's problem
                    why = f"failed ({type(exc).__name__}: {exc})".replace("\n", " ")
                    parts.append(_stopped(paths, year, commune, why))
    return parts


def prepare_communes(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int = 1,
    attribution: dict[str, str] | None = None,
    limits: Limits | None = None,
    spill: Path | None = None,
) -> Prepared:
    """Read and clean, in chunks over a process pool; the rejected rows into files in `spill`,
    when given (`prepare_chunk`).

    Cleaning is per commune (villages, duplicates), so chunks give the same rows as one pass.
    Each chunk runs in a worker process with a memory limit: a chunk whose process crashes,
    aborts or runs out of memory is done again commune by commune, and only the commune that
    stops its process again is refused (`_one_by_one`).
    """
    limits = limits or default_limits()
    if multiprocessing.current_process().daemon:  # a pool's worker cannot start processes
        return prepare_chunk(paths, year, communes, attribution, limits, spill)
    if workers <= 1 or len(communes) < 8:
        chunks = [communes] if communes else []
    else:
        size = -(-len(communes) // (2 * workers))
        chunks = [communes[i : i + size] for i in range(0, len(communes), size)]
    if not chunks:
        return prepare_chunk(paths, year, communes, attribution, limits, spill)
    parts: dict[int, list[Prepared]] = {}
    stopped: dict[int, list[Commune]] = {}
    with _pool(min(workers, len(chunks)), limits) as pool:
        futures = [
            pool.submit(prepare_chunk, paths, year, chunk, attribution, limits, spill)
            for chunk in chunks
        ]
        for index, (future, chunk) in enumerate(zip(futures, chunks, strict=True)):
            try:
                parts[index] = [future.result()]
            except Exception:  # done again, commune by commune
                stopped[index] = chunk
    for index, chunk in stopped.items():
        parts[index] = _one_by_one(paths, year, chunk, attribution, limits, spill)
    return _merge([part for index in sorted(parts) for part in parts[index]])


def prepare(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int = 1,
    attribution: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> dict[str, str]:
    """Read and clean the communes' workbooks into data/processed/{year}/.

    Returns the communes that cannot be reported, by code, with the reason. `attribution` says
    which successor a divided predecessor's rows belong to (`[predecessors]` of the settings).
    """
    processed_year = paths.processed_year(year)
    # Only the parts of the chunks that completed are read: a chunk's process that stopped
    # after writing its part (its communes done again one by one) leaves one nobody counts.
    spill = processed_year / ".log-parts"
    shutil.rmtree(spill, ignore_errors=True)  # what a killed run left
    spill.mkdir(parents=True)
    try:
        prepared = prepare_communes(paths, year, communes, workers, attribution, limits, spill)
        store_origins(processed_year, prepared.origins, {c.code for c in communes})
        if prepared.result is not None:
            store.write_year(
                processed_year,
                prepared.result,
                prepared.quality,
                prepared.present,
                prepared.codes,
                prepared.log_parts,
            )
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    if prepared.problems:
        store.drop_communes(processed_year, set(prepared.problems))
    return prepared.problems


def check_year(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int = 1,
    limits: Limits | None = None,
    attribution: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Validation alone: the quality summary per commune and the problems that block a report.

    Nothing is written.
    """
    prepared = prepare_communes(paths, year, communes, workers, attribution, limits)
    columns = ["rows_read", "rows_kept", "rows_fixed", "rows_rejected"]
    if prepared.result is None:
        empty = pd.DataFrame(columns=["commune_code", *columns, "top_reasons", "unread_columns"])
        return empty, prepared.problems
    totals = prepared.quality.groupby("commune_code")[columns].sum()
    rejected = prepared.result.rejected
    reasons = (
        contract.rows_rejected(rejected)
        .groupby("commune_code")["reason_code"]
        .agg(lambda s: ", ".join(f"{k} {v}" for k, v in s.value_counts().head(3).items()))
    )
    unread = prepared.present[prepared.present["unread_columns"] != ""]
    unread = (
        unread.assign(
            text=unread["sheet"].map(lambda k: contract.SHEETS_BY_KEY[k].name)
            + ": "
            + unread["unread_columns"]
        )
        .groupby("commune_code")["text"]
        .agg("; ".join)
    )
    summary = (
        totals.join(reasons.rename("top_reasons"))
        .join(unread.rename("unread_columns"))
        .fillna({"top_reasons": "", "unread_columns": ""})
    )
    return summary.reset_index(), prepared.problems


def blocking_problems(
    result: CleanResult, codes: set[str], workbooks: dict[str, RawWorkbook]
) -> dict[str, str]:
    """Communes whose clean data cannot carry a report: no "Thông tin xã" row left (the report's
    header, signer and population), or no team member."""
    problems: dict[str, str] = {}
    for key, need in (
        ("commune", "the report needs the commune's row (its header, signer and population)"),
        ("members", "the report needs the team roster"),
    ):
        kept = set(result.tables[key]["commune_code"])
        name = contract.SHEETS_BY_KEY[key].name
        rejected = result.rejected[result.rejected["sheet"] == name]
        for code in sorted(codes - kept - problems.keys()):
            workbook = workbooks[code]
            why = rejected[rejected["commune_code"] == code].head(1)
            if why.empty:
                problems[code] = str(
                    InputError(
                        f"no valid row: {need}",
                        file=workbook.path.name,
                        sheet=workbook.sheet_names.get(key, name),
                    )
                )
                continue
            row = why.iloc[0]
            value = "" if pd.isna(row["value"]) else str(row["value"]).strip()
            shown = f" ({value})" if value else ""  # an empty cell has no value to quote
            problems[code] = str(
                InputError(
                    f"{row['reason']}{shown}: {need}; correct this cell and run again",
                    file=str(row["file"]) or workbook.path.name,
                    sheet=str(row["sheet"]),
                    row=int(row["excel_row"]),
                    column=str(row["column"]) or None,
                )
            )
    return problems
