"""Processed data on disk: one Parquet file per table for a year, all communes in it.

Re-preparing some communes replaces their rows and keeps the others'. Files appear whole or not
at all: each is written beside its target and renamed into place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from pipeline.core import contract
from pipeline.core.errors import PipelineError
from pipeline.core.files import write_atomically

if TYPE_CHECKING:  # the report reads the store; it need not import cleaning (and pandera)
    from pipeline.reading.clean import CleanResult

INDICATORS_FILE = "indicators.parquet"
PREPARED_FILE = "prepared.json"  # what each commune's clean rows were made from (runner)
ORIGINS_FILE = "origins.parquet"
ORIGIN_COLUMNS = [
    "commune_code",
    "source_code",
    "source_name",
    "file",
    "change_date",
    "status",  # read | no_workbook | split_unattributed
    "candidates",
]

LOG_TABLES = ("fixes", "rejected", "quality", "present")
TABLES = tuple(s.key for s in contract.SHEETS) + LOG_TABLES


class TablesMissing(PipelineError, FileNotFoundError):
    """A year whose clean tables have not been written (or not all of them)."""


def _check_tables(processed_year: Path) -> None:
    missing = [n for n in TABLES if not (processed_year / f"{n}.parquet").exists()]
    if missing:
        year = processed_year.name
        raise TablesMissing(
            f"no clean tables for {year} under {processed_year} ({missing[0]}.parquet is "
            f"missing): run `cnscd run --year {year}` first (with --force if they were deleted)"
        )


# A year's tables hold every commune's rows, sorted by commune, in row groups of this many rows:
# a report reads its commune's rows with a filter, and pyarrow skips the row groups whose
# statistics exclude it. One row group for a province of 235 communes cost every report 0.1-0.25 s
# of decoding the whole year; the country's 3,321 communes, seconds.
ROW_GROUP_ROWS = 16_384


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    if frame.empty and "commune_code" in frame:
        # No row to take a type from: Parquet would store the column as null, and a read
        # filtered by commune (a report's, a comparison's) fails on it.
        frame = frame.astype({"commune_code": "string"})
    write_atomically(
        path, lambda tmp: frame.to_parquet(tmp, index=False, row_group_size=ROW_GROUP_ROWS)
    )


def _by_commune(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("commune_code", kind="stable").reset_index(drop=True)


def _replace_rows(path: Path, new: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    if not path.exists():
        return _by_commune(new) if "commune_code" in new else new
    old = pd.read_parquet(path)
    kept = old[~old["commune_code"].isin(codes)]
    if kept.empty:
        return new
    return _by_commune(pd.concat([kept, new], ignore_index=True) if not new.empty else kept)


def write_year(
    processed_year: Path,
    result: CleanResult,
    quality: pd.DataFrame,
    present: pd.DataFrame,
    codes: set[str],
) -> None:
    """Store the clean tables of the communes `codes`, replacing their earlier rows."""
    frames = {
        **result.tables,
        "fixes": result.fixes,
        "rejected": result.rejected,
        "quality": quality,
        "present": present,
    }
    for name, frame in frames.items():
        path = processed_year / f"{name}.parquet"
        write_parquet(_replace_rows(path, frame, codes), path)


def drop_communes(processed_year: Path, codes: set[str]) -> None:
    """Forget the processed rows of communes (whose workbook can no longer be read)."""
    for name in TABLES:
        path = processed_year / f"{name}.parquet"
        if path.exists():
            old = pd.read_parquet(path)
            write_parquet(old[~old["commune_code"].isin(codes)].reset_index(drop=True), path)


def read_year(processed_year: Path) -> dict[str, pd.DataFrame]:
    """Every table of the year, all communes."""
    _check_tables(processed_year)
    return {name: pd.read_parquet(processed_year / f"{name}.parquet") for name in TABLES}


def read_commune(processed_year: Path, commune_code: str) -> dict[str, pd.DataFrame]:
    """One commune's tables, read with a filter rather than loading the year."""
    _check_tables(processed_year)
    return {
        name: pd.read_parquet(
            processed_year / f"{name}.parquet", filters=[("commune_code", "==", commune_code)]
        )
        for name in TABLES
    }


def store_origins(processed_year: Path, origins: pd.DataFrame, prepared: set[str]) -> None:
    """Which predecessors' workbooks each commune read, replacing the prepared communes' rows."""
    path = processed_year / ORIGINS_FILE
    kept = pd.read_parquet(path) if path.exists() else origins.iloc[:0]
    frame = pd.concat([kept[~kept["commune_code"].isin(prepared)], origins], ignore_index=True)
    if path.exists() or not frame.empty:
        write_parquet(frame.sort_values(["commune_code", "source_code"]), path)


def read_origins(processed_year: Path, commune_code: str) -> list[dict]:
    """The predecessors whose workbooks a commune's report took in (or could not)."""
    path = processed_year / ORIGINS_FILE
    if not path.exists():
        return []
    frame = pd.read_parquet(path)
    return frame[frame["commune_code"] == commune_code].to_dict("records")


def read_json(path: Path) -> dict:
    """A JSON record, or an empty one where there is none or a kill left it unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
