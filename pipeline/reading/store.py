"""Processed data on disk: one Parquet file per table for a year, all communes in it.

Re-preparing some communes replaces their rows and keeps the others'. Files appear whole or not
at all: each is written beside its target and renamed into place. The rows of the cleaning's log
(fixes and rejected rows), which may be millions, never pass through the caller's memory whole:
the workers write them as parts, which are streamed into the year's tables (`write_log_part`,
`write_year`), and a commune's rejected rows are read back a row group at a time
(`rejected_batches`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
STREAMED_TABLES = ("fixes", "rejected")  # a row per logged cell: written and read in parts
REJECTED_FILE = "rejected.parquet"
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


def _log_schema(columns: Sequence[str]) -> pa.Schema:
    """A log table's columns as stored: text, but the Excel row."""
    return pa.schema([(c, pa.int64() if c == "excel_row" else pa.string()) for c in columns])


def write_log_part(frame: pd.DataFrame, path: Path) -> None:
    """Rows of a log table (fixes, rejected) written where they were found (a worker), for
    `write_year` to stream in."""
    table = pa.Table.from_pandas(
        frame, schema=_log_schema(list(frame.columns)), preserve_index=False
    )
    write_atomically(path, lambda tmp: pq.write_table(table, tmp, row_group_size=ROW_GROUP_ROWS))


def _stream_log(path: Path, parts: Sequence[Path], replaced: set[str]) -> None:
    """A year's log table rewritten a row group at a time: the earlier rows of communes not
    `replaced`, then each part's (each a run sorted by commune: a row group never mixes two
    runs, so a commune's filtered read still skips the others')."""
    sources = ([path] if path.exists() else []) + list(parts)
    if not sources:
        return
    schema = _log_schema(pq.read_schema(sources[-1]).names)
    codes = pa.array(sorted(replaced), type=pa.string())

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema) as writer:
            for source in sources:  # a row group at a time, none read ahead
                batches = pq.ParquetFile(source).iter_batches(ROW_GROUP_ROWS, columns=schema.names)
                for batch in batches:
                    table = pa.Table.from_batches([batch]).cast(schema)
                    if source == path:
                        table = table.filter(pc.invert(pc.is_in(table["commune_code"], codes)))
                    if table.num_rows:
                        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)

    write_atomically(path, write)


def rejected_batches(processed_year: Path, commune_code: str) -> Iterator[pd.DataFrame]:
    """A commune's rejected rows, a row group at a time (at least one frame, maybe without
    rows): only the row groups whose statistics may hold the commune are read."""
    file = pq.ParquetFile(processed_year / REJECTED_FILE)
    column = file.schema_arrow.get_field_index("commune_code")
    groups = []
    for group in range(file.metadata.num_row_groups):
        found = file.metadata.row_group(group).column(column).statistics
        if found is None or not found.has_min_max or found.min <= commune_code <= found.max:
            groups.append(group)
    empty = True
    for batch in file.iter_batches(ROW_GROUP_ROWS, row_groups=groups) if groups else ():
        table = pa.Table.from_batches([batch])
        table = table.filter(pc.equal(table["commune_code"], commune_code))
        if table.num_rows:
            empty = False
            yield table.to_pandas()
    if empty:
        yield file.schema_arrow.empty_table().to_pandas()


def write_year(
    processed_year: Path,
    result: CleanResult,
    quality: pd.DataFrame,
    present: pd.DataFrame,
    codes: set[str],
    log_parts: dict[str, Sequence[Path]] | None = None,
) -> None:
    """Store the clean tables of the communes `codes`, replacing their earlier rows. Their fixes
    and rejected rows are the parts' (`write_log_part`, by table), streamed in, and those of
    `result` that it holds."""
    frames = {**result.tables, "quality": quality, "present": present}
    for name, frame in frames.items():
        path = processed_year / f"{name}.parquet"
        write_parquet(_replace_rows(path, frame, codes), path)
    held = {"fixes": result.fixes, "rejected": result.rejected}
    for name in STREAMED_TABLES:
        parts = list((log_parts or {}).get(name, ()))
        # Rows held here (and a first part, that gives the table its columns) go as a part too.
        temporary = processed_year / f".{name}.parquet.{os.getpid()}.tmp.parquet"
        if len(held[name]) or not parts:
            write_log_part(held[name], temporary)
            parts.append(temporary)
        try:
            _stream_log(processed_year / f"{name}.parquet", parts, codes)
        finally:
            temporary.unlink(missing_ok=True)


def drop_communes(processed_year: Path, codes: set[str]) -> None:
    """Forget the processed rows of communes (whose workbook can no longer be read)."""
    for name in TABLES:
        path = processed_year / f"{name}.parquet"
        if name in STREAMED_TABLES:
            _stream_log(path, [], codes)
        elif path.exists():
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
