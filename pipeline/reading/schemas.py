"""Declared schemas of the clean tables (pandera): what a kept row must satisfy.

Cleaning parses and repairs; these schemas decide. A row failing a check is rejected with the
check's reason, never silently dropped.
"""

from __future__ import annotations

from functools import lru_cache

import pandera.pandas as pa

from pipeline.core import contract

# Above these a count is a typing error whatever the commune: a negative count is one too. The
# figures that grow with the commune are bounded by its own size (contract.BOUNDS, applied in
# pipeline/reading/plausibility.py), not here.
_ANY_COMMUNE = contract.POPULATION_CEILING
COUNT_LIMITS = {
    "people": _ANY_COMMUNE,
    "participants": _ANY_COMMUNE,
    "value": _ANY_COMMUNE * max(b.multiple for b in contract.BOUNDS.values()),
    "group_members": 50_000,
    "households": _ANY_COMMUNE,
    "population": _ANY_COMMUNE,
    "adults": _ANY_COMMUNE,
    "people_15": _ANY_COMMUNE,
    "report_number": 9_999,
}
# The reason a failed check gives, by the check's name.
CHECK_REASONS = {
    "isin": "unknown_value",
    "in_range": "impossible_count",
    "report_year": "date_outside_year",
}


def _vocabulary(sheet_key: str) -> dict[str, tuple[str, ...]]:
    vocabularies = {
        "team_level": contract.TEAM_LEVELS,
        "pillar": contract.PILLARS,
        "role": contract.ROLES,
        "mode": contract.TRAINING_MODES,
    }
    if sheet_key == "results":
        vocabularies["indicator"] = tuple(contract.ALL_RESULT_KINDS)
    return vocabularies


@lru_cache(maxsize=64)
def schema_for(sheet: contract.Sheet, year: int) -> pa.DataFrameSchema:
    """The schema of one clean sheet for a report year."""
    columns: dict[str, pa.Column] = {}
    vocabularies = _vocabulary(sheet.key)
    for column in sheet.columns:
        checks: list[pa.Check] = []
        if column.key in vocabularies:
            checks.append(pa.Check.isin(list(vocabularies[column.key])))
        if column.key in COUNT_LIMITS:
            checks.append(pa.Check.in_range(0, COUNT_LIMITS[column.key]))
        if column.kind == "date" and sheet.key in ("activities", "trainings"):
            checks.append(
                pa.Check(
                    lambda s: s.dt.year == year,
                    element_wise=False,
                    name="report_year",
                    ignore_na=True,
                )
            )
        dtype = {
            "date": "datetime64[ns]",
            "int": "Int64",
            "float": "float64",
            "yesno": "boolean",
            "month": "Int64",
        }.get(column.kind)
        columns[column.key] = pa.Column(dtype, checks, nullable=not column.required, required=True)
    return pa.DataFrameSchema(columns, strict=False, coerce=False)
