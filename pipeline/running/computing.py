"""Stage 2, per year: indicators of every prepared commune, with last year's values (pooled
from predecessors for a commune formed since)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.core.config import Paths
from pipeline.measuring.indicators import compute_indicators, pooled_from_parts, with_previous
from pipeline.reading import store
from pipeline.reading.store import INDICATORS_FILE
from pipeline.registry.tree import (
    EXTRA_REGISTRY_NAME,
    Commune,
    communes_of_year,
    in_sentence,
    previous_units,
    unchanged_between,
)
from pipeline.registry.units import count_word
from pipeline.writing.exports import export_rejected


def compute_year(paths: Paths, year: int) -> pd.DataFrame:
    """Indicators for every prepared commune of the year, in one pass, written to Parquet."""
    tables = store.read_year(paths.processed_year(year))
    indicators = compute_indicators(tables, year, tables["present"])
    previous_path = paths.processed_year(year - 1) / INDICATORS_FILE
    previous = pd.read_parquet(previous_path) if previous_path.exists() else None
    extra = paths.raw / EXTRA_REGISTRY_NAME
    same = unchanged_between(year, year - 1, extra)
    merged = set(indicators["commune_code"]) - same
    pooled, notes = previous_of_successors(paths.processed_year(year - 1), year, merged, extra)
    indicators = with_previous(indicators, previous, same, pooled, notes)
    store.write_parquet(indicators, paths.processed_year(year) / INDICATORS_FILE)
    export_rejected(tables["rejected"], paths.processed_year(year) / "rejected")
    return indicators


def pooled_note(units: list[Commune], approximate: bool) -> str:
    """What last year's column of a merged commune is: 'tổng của các xã trước sắp xếp: …', in
    the predecessors' own word ('các phường', 'các đơn vị' for xã and phường together)."""
    word = count_word(u.kind for u in units)
    return f"tổng của các {word} trước sắp xếp: {', '.join(in_sentence(u.name) for u in units)}" + (
        f" (ước tính: có {word} bị chia tách cho nhiều đơn vị)" if approximate else ""
    )


def previous_of_successors(
    processed_before: Path, year: int, codes: set[str], extra: Path | None = None
) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """Last year's indicators of communes formed since (`codes`), from their predecessors' own
    indicators and their rows pooled under the successor's code (`pooled_from_parts`), and a
    note per commune saying what it is compared with.

    A predecessor without last year's data leaves the comparison out (a partial sum would read
    as a fall), and the note says whose data is missing.
    """
    if not codes or not (processed_before / "present.parquet").exists():
        return None, {}
    tables = store.read_year(processed_before)
    with_data = set(tables["present"]["commune_code"])
    groups: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    tree = {c.code: c for c in communes_of_year(year, extra)}
    for code in sorted(codes & set(tree)):
        units, approximate = previous_units(tree[code], year)
        if not units:  # a unit whose predecessors the registry does not know
            continue
        lacking = [u.name for u in units if u.code not in with_data]
        if lacking:
            notes[code] = (
                f"chưa có số liệu năm {year - 1} của {', '.join(map(in_sentence, lacking))}"
            )
            continue
        groups[code] = [u.code for u in units]
        notes[code] = pooled_note(units, approximate)
    if not groups:
        return None, notes
    tables = {name: table for name, table in tables.items() if "commune_code" in table.columns}
    pooled_tables = {
        name: pd.concat(
            [
                _told_apart(table[table["commune_code"].isin(parts)]).assign(commune_code=successor)
                for successor, parts in groups.items()
            ],
            ignore_index=True,
        )
        for name, table in tables.items()
    }
    pooled = compute_indicators(pooled_tables, year - 1, pooled_tables["present"])
    every_part = {part for parts in groups.values() for part in parts}
    own_tables = {
        name: table[table["commune_code"].isin(every_part)] for name, table in tables.items()
    }
    parts = compute_indicators(own_tables, year - 1, own_tables["present"])
    return pooled_from_parts(pooled, parts, groups), notes


def _told_apart(table: pd.DataFrame) -> pd.DataFrame:
    """A predecessor's rows with its village names prefixed by its code: two communes' 'Ấp 1'
    stay two villages when their rows are pooled under their successor."""
    if "village" not in table.columns:
        return table
    named = table["village"].notna()
    return table.assign(
        village=table["village"].where(~named, table["commune_code"] + "/" + table["village"])
    )
