"""Stage 1, per commune: find and read its workbook (and its predecessors'), clean the rows,
say what blocks a report; store the clean tables of the year."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from pipeline import contract, store
from pipeline.clean import CleanResult, check_identity, clean_tables, quality_summary, stack
from pipeline.config import Paths
from pipeline.errors import InputError, PipelineError
from pipeline.ingest import RawWorkbook, read_workbook
from pipeline.locate import Unclaimed, claim_workbooks, find_workbook, looks_like
from pipeline.predecessors import predecessors_of
from pipeline.registry import (
    EXTRA_REGISTRY_NAME,
    Commune,
    communes_of_year,
    ended_during,
)
from pipeline.store import ORIGIN_COLUMNS, store_origins


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


def _read(paths: Paths, year: int, commune: Commune, misnamed: _Misnamed) -> RawWorkbook | str:
    """The commune's workbook, or the one clear message saying why it cannot be used."""
    try:
        path = find_workbook(paths.raw_year(year), commune)
        if not path.exists():
            misnamed.check(commune, path)
        raw = read_workbook(path)
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


def prepare_chunk(
    paths: Paths, year: int, communes: list[Commune], attribution: dict[str, str] | None = None
) -> Prepared:
    """Read the communes' workbooks (and, for a commune formed during the year, its
    predecessors') and clean them in one pass (nothing is written)."""
    problems: dict[str, str] = {}
    own: dict[str, RawWorkbook] = {}
    readable: list[tuple[RawWorkbook, str]] = []
    cutoffs: dict[str, pd.Timestamp] = {}
    origins: list[dict[str, str]] = []
    misnamed = _Misnamed(paths, year)
    for commune in communes:
        raw = _read(paths, year, commune, misnamed)
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
    return Prepared(
        problems, result, quality_summary(stacked, result), present, codes, origin_frame
    )


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
    return Prepared(
        {k: v for p in parts for k, v in p.problems.items()},
        merged,
        pd.concat([p.quality for p in parts], ignore_index=True),
        pd.concat([p.present for p in parts], ignore_index=True),
        set().union(*(p.codes for p in parts)),
        pd.concat([p.origins for p in parts], ignore_index=True),
    )


def prepare_communes(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int = 1,
    attribution: dict[str, str] | None = None,
) -> Prepared:
    """Read and clean, in chunks over a process pool when there are many communes.

    Cleaning is per commune (villages, duplicates), so chunks give the same rows as one pass.
    """
    if workers <= 1 or len(communes) < 8:
        return prepare_chunk(paths, year, communes, attribution)
    size = -(-len(communes) // (2 * workers))
    chunks = [communes[i : i + size] for i in range(0, len(communes), size)]
    n = len(chunks)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(prepare_chunk, [paths] * n, [year] * n, chunks, [attribution] * n))
    return _merge(parts)


def prepare(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int = 1,
    attribution: dict[str, str] | None = None,
) -> dict[str, str]:
    """Read and clean the communes' workbooks into data/processed/{year}/.

    Returns the communes that cannot be reported, by code, with the reason. `attribution` says
    which successor a divided predecessor's rows belong to (`[predecessors]` of the settings).
    """
    prepared = prepare_communes(paths, year, communes, workers, attribution)
    processed_year = paths.processed_year(year)
    store_origins(processed_year, prepared.origins, {c.code for c in communes})
    if prepared.result is not None:
        store.write_year(
            processed_year, prepared.result, prepared.quality, prepared.present, prepared.codes
        )
    if prepared.problems:
        store.drop_communes(processed_year, set(prepared.problems))
    return prepared.problems


def check_year(
    paths: Paths, year: int, communes: list[Commune], workers: int = 1
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Validation alone: the quality summary per commune and the problems that block a report.

    Nothing is written.
    """
    prepared = prepare_communes(paths, year, communes, workers)
    columns = ["rows_read", "rows_kept", "rows_fixed", "rows_rejected"]
    if prepared.result is None:
        empty = pd.DataFrame(columns=["commune_code", *columns, "top_reasons", "unread_columns"])
        return empty, prepared.problems
    totals = prepared.quality.groupby("commune_code")[columns].sum()
    reasons = prepared.result.rejected.groupby("commune_code")["reason_code"].agg(
        lambda s: ", ".join(f"{k} {v}" for k, v in s.value_counts().head(3).items())
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
            problems[code] = str(
                InputError(
                    f"{row['reason']} ({row['value']!s}): {need}; correct this cell and run again",
                    file=str(row["file"]) or workbook.path.name,
                    sheet=str(row["sheet"]),
                    row=int(row["excel_row"]),
                    column=str(row["column"]) or None,
                )
            )
    return problems
