"""The district comparison: communes side by side, from the indicator table alone.

A group is a district (before the July 2025 reform), a province, or a named list of communes.
A commune of the group with no data this year is shown as missing, never as zeros.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.core.numbers import printed
from pipeline.measuring.indicators import CATALOGUE_BY_CODE, REJECTED
from pipeline.registry.tree import Commune

# Key indicators of the comparison: (raw figure, its per-capita form or None).
KEY_INDICATORS: tuple[tuple[str, str | None], ...] = (
    ("members_total", "members_per_1000"),
    ("people_guided", "people_guided_per_1000"),
    ("trainings", None),
    ("zalo_groups", None),
    ("village_team_coverage", None),
    ("smartphone_share", None),
    ("cashless_accounts", "cashless_accounts_per_1000"),
    ("online_dossiers", "online_dossiers_per_1000"),
    # The national 2023 targets' shares (settings [targets]): missing where not reported.
    ("vneid_share", None),
    ("payment_account_share", None),
    ("fibre_share", None),
    ("online_dossier_share", None),
    ("rows_rejected_share", None),
)
# The teams and whom they reach: counts with a group total, shown but not ranked or scored.
TEAM_INDICATORS: tuple[str, ...] = (
    "teams_total",  # the teams in all, as a district publishes them, then their parts
    "teams_commune",
    "members_commune",
    "teams_village",
    "members_village",
    "villages_with_team",
    "villages_without_team",
)
# The months the activity log covers: not ranked, read to flag a partial year.
PERIOD_INDICATORS: tuple[str, ...] = ("log_first_month", "log_last_month", "log_months")
# Figures of the year's flow, summed over the months logged: a unit whose log covers part of
# the year is totalled but not ranked, scored or given a median against full years.
YEARLY_FLOWS = frozenset(
    {
        "people_guided",
        "people_guided_per_1000",
        "cashless_accounts",
        "cashless_accounts_per_1000",
        "online_dossiers",
        "online_dossiers_per_1000",
    }
)
# Counts a unit shares with the others: a training the district runs for every commune is
# counted by each, so the group's total would count it again and again.
SHARED_ACROSS_UNITS = frozenset({"trainings", "trainings_online", "trainings_in_person"})
# Figures where less is better (ranked ascending).
LOWER_IS_BETTER = {"rows_rejected_share"}
REJECTED_PREFIX = "rejected_"  # the table's column that says a figure was written but rejected
REJECTED_CELL = "bị loại"  # what its cell shows in place of a value (HTML and Excel)
TOP_BOTTOM = 3  # communes named at each end of a ranking in the summary
# Kinds of commune-level units, in the order documents list them ("xã, phường, thị trấn").
UNIT_KINDS = ("xã", "phường", "thị trấn", "đặc khu")
# How a district or province names itself, longest first ("Thành phố" before a bare word).


@dataclass(frozen=True)
class Comparison:
    table: pd.DataFrame  # one row per commune of the group: name, kind, status, figures, ranks
    totals: dict[str, float | None]  # group total of each additive figure
    medians: dict[str, float | None]
    scores: pd.DataFrame  # commune × indicator standardised scores (z), missing where no data
    outliers: list[dict]  # commune, indicator, value, median, direction
    missing: list[str]  # communes of the group with no data this year
    previous: pd.DataFrame  # commune × indicator change from last year, where it exists
    # Best and worst communes of each ranked figure: code -> (best first, worst first), each a
    # list of (name, value).
    ends: dict[str, tuple[list[tuple[str, float]], list[tuple[str, float]]]] = field(
        default_factory=dict
    )
    # Communes with data that have a value of each figure: a total of fewer than all of them
    # says so, since a missing value is not a zero.
    counted: dict[str, int] = field(default_factory=dict)
    # Figures every commune with data prints alike (two or more of them): none is best or worst.
    same: dict[str, bool] = field(default_factory=dict)


def _columns() -> list[str]:
    return [code for pair in KEY_INDICATORS for code in pair if code]


def ranked_columns() -> list[str]:
    """The key figures, ranked and scored: each raw figure then its per-capita form."""
    return _columns()


def all_columns() -> list[str]:
    """Every figure of the comparison table: the key figures, then the team counts."""
    return _columns() + list(TEAM_INDICATORS) + list(PERIOD_INDICATORS)


def unit_words(kinds: Iterable[str]) -> str:
    """The kinds of units a group holds, as a sentence names them: 'xã, phường', 'phường'.

    In the order xã, phường, thị trấn, đặc khu; a kind outside that list comes after, so it
    is named rather than lost.
    """
    held = {kind.strip().lower() for kind in kinds if kind and kind.strip()}
    known = [kind for kind in UNIT_KINDS if kind in held]
    return ", ".join(known + sorted(held - set(known))) or "xã"


def _ends(
    values: pd.Series, names: pd.Series, ascending: bool, size: int = TOP_BOTTOM
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The best and the worst `size` communes, the worst first in the second list (fewer when
    the group is small: never one commune at both ends). A tie is never split: communes sharing
    the printed value where a list would be cut are all left out of it, so no commune is named
    best or worst beside another that reads the same, and none when every commune has the same."""
    known = values.dropna()
    size = min(size, len(known) // 2)
    if size == 0:
        return [], []
    order = known.sort_values(ascending=ascending, kind="stable")

    def end(ranked: pd.Series) -> list[tuple[str, float]]:
        shown = ranked.map(printed)  # 91.74 and 91.66 both print 91,7: a tie
        cut = shown.iloc[size]  # exists: size <= len // 2
        return [(names[c], float(ranked[c])) for c in ranked.index[:size] if shown[c] != cut]

    return end(order), end(order.iloc[::-1])


def _all_same(values: pd.Series) -> bool:
    known = values.dropna()
    return len(known) >= 2 and known.map(printed).nunique() == 1


def is_additive(code: str) -> bool:
    """A figure whose group total is the sum of the communes' (counts and levels, not shares,
    rates or months): the catalogue's `Indicator.additive`, which merged communes sum too."""
    return CATALOGUE_BY_CODE[code].additive


# The last comparison made in this process, by the fingerprint of its inputs: a group's
# comparison asks for the same one three times (the notebook's audit, its report, the Excel
# workbook written beside it), each from its own reading of the indicator table.
_LAST: list[tuple[tuple, Comparison]] = []


def _fingerprint(
    indicators: pd.DataFrame, communes: list[Commune], outlier_z: float | None
) -> tuple | None:
    """What a comparison is a function of: the indicator table's content (its columns, types,
    index and every value), the communes in order, and the threshold. None when a value cannot
    be hashed (then nothing is remembered)."""
    try:
        rows = pd.util.hash_pandas_object(indicators, index=True).to_numpy()
    except TypeError:
        return None
    content = hashlib.sha256(rows.tobytes()).hexdigest()
    columns = tuple((str(c), str(t)) for c, t in indicators.dtypes.items())
    return (content, len(indicators), columns, tuple(communes), outlier_z)


def compare(
    indicators: pd.DataFrame, communes: list[Commune], outlier_z: float | None = None
) -> Comparison:
    """The comparison of a group's communes for one year; a figure `outlier_z` standard
    deviations or more from the median is an outlier (settings: [comparison] outlier_z).

    A commune listed twice (a named list may repeat a code) is one row, counted once. The same
    inputs again in this process give a copy of the comparison made the first time (the
    caller may change its copy): the last one is remembered, by its inputs' fingerprint.
    """
    key = _fingerprint(indicators, communes, outlier_z)
    if key is not None and _LAST and _LAST[0][0] == key:
        return copy.deepcopy(_LAST[0][1])
    made = _compare(indicators, communes, outlier_z)
    if key is not None:
        _LAST[:] = [(key, copy.deepcopy(made))]
    return made


def _compare(
    indicators: pd.DataFrame, communes: list[Commune], outlier_z: float | None
) -> Comparison:
    if outlier_z is None:
        from pipeline.measuring.settings import load_settings

        outlier_z = float(load_settings()["comparison"]["outlier_z"])
    first: dict[str, Commune] = {}
    for commune in communes:
        first.setdefault(commune.code, commune)
    communes = list(first.values())
    columns = _columns()
    shown = all_columns()
    wide = indicators.pivot(index="commune_code", columns="indicator", values="value")
    wide = wide.reindex(columns=shown)
    base = pd.DataFrame(
        {
            "commune_code": [c.code for c in communes],
            "name": [c.name for c in communes],
            "kind": [c.kind for c in communes],
        }
    ).set_index("commune_code")
    has_data = base.index.isin(wide.index)
    table = base.join(wide, how="left")
    table["status"] = np.where(has_data, "ok", "missing")
    # A figure written but rejected is neither a value nor 'not written': its cell says so.
    reasons = indicators.get("missing_reason", pd.Series("", index=indicators.index))
    states = indicators.assign(missing_reason=reasons).pivot(
        index="commune_code", columns="indicator", values="missing_reason"
    )
    rejected = states.reindex(index=table.index, columns=shown).eq(REJECTED)
    table = table.join(rejected.add_prefix(REJECTED_PREFIX))
    present = table[table["status"] == "ok"]
    partial = present["log_months"] < 12  # missing months: not known to be partial
    # Each figure as it is ranked: a yearly flow without the units of a partial year.
    ranked = present[columns].copy()
    for code in YEARLY_FLOWS & set(columns):
        ranked.loc[partial, code] = np.nan
    for code in columns:
        ascending = code in LOWER_IS_BETTER
        # Ties (figures that print alike) share the best rank ("min").
        table[f"rank_{code}"] = (
            ranked[code]
            .map(printed, na_action="ignore")
            .rank(method="min", ascending=ascending)
            .reindex(table.index)
            .astype("Int64")
        )
    totals = {
        code: (
            float(present[code].sum())
            if is_additive(code) and code not in SHARED_ACROSS_UNITS and present[code].notna().any()
            else None
        )
        for code in shown
    }
    medians = {
        code: (float(values.median()) if values.notna().sum() >= 2 else None)  # not of one
        for code in shown
        for values in [ranked[code] if code in ranked else present[code]]
    }
    counted = {code: int(present[code].notna().sum()) for code in shown}
    ends = {
        code: _ends(ranked[code], present["name"], ascending=code in LOWER_IS_BETTER)
        for code in columns
    }
    spread = ranked.std(ddof=0).replace(0, np.nan)
    scores = ((ranked - ranked.median()) / spread).reindex(table.index)
    outliers = []
    for code in columns:
        for commune_code, z in scores[code].dropna().items():
            if abs(z) >= outlier_z:
                outliers.append(
                    {
                        "commune": table.at[commune_code, "name"],
                        "indicator": code,
                        "value": float(table.at[commune_code, code]),
                        "median": medians[code],
                        "above": bool(z > 0),
                    }
                )
    previous = pd.DataFrame(index=table.index)
    if "change" in indicators:
        change = indicators.pivot(index="commune_code", columns="indicator", values="change")
        previous = change.reindex(index=table.index, columns=columns)
    return Comparison(
        table=table.reset_index(),
        totals=totals,
        medians=medians,
        scores=scores,
        outliers=outliers,
        missing=list(table.loc[table["status"] == "missing", "name"]),
        previous=previous,
        ends=ends,
        counted=counted,
        same={code: _all_same(present[code]) for code in shown},
    )


def gaps(
    comparison: Comparison, uncovered: pd.DataFrame, poor_data_share: float
) -> dict[str, list]:
    """Sentences' material: villages without a team, poor data quality (the report's own rule:
    `[limitations] max_rows_rejected_share`), no population."""
    table = comparison.table.set_index("commune_code")
    by_commune = uncovered.groupby("commune_code")["village"].agg(list)
    return {
        "villages_without_team": [
            (table.at[c, "name"], sorted(v)) for c, v in by_commune.items() if c in table.index
        ],
        "poor_data": [
            (table.at[c, "name"], float(v))
            for c, v in table["rows_rejected_share"].items()
            if pd.notna(v) and v >= poor_data_share
        ],
        "no_population": [
            table.at[c, "name"]
            for c in table.index
            if table.at[c, "status"] == "ok" and pd.isna(table.at[c, "people_guided_per_1000"])
        ],
    }
