"""A commune formed during the year also reports its predecessors' months before the change.

Trần Phú began on 01/12/2024 from Nam Chính and Nam Trung: its 2024 report reads its own
workbook and, for January to November, theirs, found in the year's raw folder under their own
code and name. A predecessor divided between several successors is read only for the one the
settings name (`[predecessors]`, `"10639" = "10645"`), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.reading.clean import DATED_SHEETS, check_identity
from pipeline.reading.ingest import RawWorkbook, read_workbook
from pipeline.reading.locate import find_predecessor_workbook
from pipeline.registry.tree import Commune, changes_during, successors


@dataclass(frozen=True)
class Predecessors:
    """What a successor takes from its predecessors: their dated sheets, the day each ended
    (by file name), and one row per predecessor for the record."""

    workbooks: list[RawWorkbook]
    cutoffs: dict[str, pd.Timestamp]
    origins: list[dict[str, str]]


def predecessors_of(
    raw_year: Path, successor: Commune, year: int, attribution: dict[str, str]
) -> Predecessors:
    """The predecessors' workbooks a successor reads for the year. Raises InputError for a
    predecessor's workbook that cannot be read or names another commune."""
    workbooks: list[RawWorkbook] = []
    cutoffs: dict[str, pd.Timestamp] = {}
    origins: list[dict[str, str]] = []
    for change in changes_during(successor, year):
        unit = change.other
        origin = {
            "commune_code": successor.code,
            "source_code": unit.code,
            "source_name": unit.name,
            "file": "",
            "change_date": change.date,
            "status": "no_workbook",
            "candidates": "",
        }
        if change.split and str(attribution.get(unit.code, "")) != successor.code:
            if unit.code in attribution:
                continue  # its rows are another successor's
            path = find_predecessor_workbook(raw_year, unit, successor)
            if path is not None:
                others = "; ".join(c.other.describe() for c in successors(unit))
                origins.append(
                    {
                        **origin,
                        "file": path.name,
                        "status": "split_unattributed",
                        "candidates": others,
                    }
                )
            continue
        path = find_predecessor_workbook(raw_year, unit, successor)
        if path is not None:
            raw = read_workbook(path)
            check_identity(raw, unit.code)
            keys = [k for k in raw.tables if k in DATED_SHEETS]
            workbooks.append(
                RawWorkbook(
                    path,
                    {k: raw.tables[k] for k in keys},
                    {k: raw.sheet_names[k] for k in keys},
                    {},
                )
            )
            cutoffs[path.name] = pd.Timestamp(change.date)
            origin = {**origin, "file": path.name, "status": "read"}
        origins.append(origin)
    return Predecessors(workbooks, cutoffs, origins)
