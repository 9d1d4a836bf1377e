"""A group's comparison (a district, a province, a named list) as one HTML document: the group's
totals, the targets met, ranks, remarks and ranked charts. What
`notebooks/district_comparison.ipynb` calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.config import Paths
from pipeline.core.numbers import printed
from pipeline.measuring.indicators import (
    CATALOGUE_BY_CODE,
    villages_without_team,
)
from pipeline.measuring.rules import judged, meets, named_villages, national_targets, untargeted
from pipeline.measuring.settings import load_settings
from pipeline.reading import store
from pipeline.registry import units
from pipeline.registry.tree import EXTRA_REGISTRY_NAME, find_group, in_sentence
from pipeline.registry.units import UnitWords
from pipeline.writing import narrative
from pipeline.writing.index import read_status
from pipeline.writing.narrative import lower_first, number
from pipeline.writing.rankchart import ranked_bars


def _heat_colour(z: float | None, lower_is_better: bool) -> str:
    if z is None or pd.isna(z):
        return "#ffffff"
    z = -z if lower_is_better else z
    strength = min(abs(z), 2.5) / 2.5
    low, mid = int(255 - 120 * strength), int(255 - 40 * strength)
    if z >= 0:
        return f"rgb({low}, {mid}, {low})"  # green: better than the median
    red = int(255 - 130 * strength)
    return f"rgb(255, {red}, {red})"


def _none(value: object) -> object:
    return None if isinstance(value, float) and np.isnan(value) else value


def comparison_context(
    year: int,
    group: str,
    group_name: str,
    communes: list,
    indicators: pd.DataFrame,
    settings: dict,
    uncovered: pd.DataFrame | None = None,
    *,
    group_word: str = "huyện",
    village_words: dict[str, UnitWords] | None = None,
) -> dict:
    """Everything the comparison template needs, from the indicator table alone.

    `group_word` names the group in mid-sentence ("so với trung vị huyện"): "huyện", "thị xã",
    "thành phố", "quận", "tỉnh", or "nhóm" for a named list of communes. `village_words` gives
    each commune's unit words by code (from its Thôn sheet: `units.unit_words`); without it,
    each commune's kind decides.
    """
    from pipeline.measuring.compare import (
        LOWER_IS_BETTER,
        TEAM_INDICATORS,
        all_columns,
        compare,
        gaps,
        ranked_columns,
        unit_words,
    )

    result = compare(indicators, communes, settings["comparison"]["outlier_z"])
    if uncovered is None:
        uncovered = pd.DataFrame(columns=["commune_code", "village"])
    found_gaps = gaps(result, uncovered, settings["limitations"]["max_rows_rejected_share"])
    columns = ranked_columns()
    shown = all_columns()
    rows = [{k: _none(v) for k, v in row.items()} for row in result.table.to_dict("records")]
    kinds = [c.kind for c in communes]
    missing_codes = set(result.table.loc[result.table["status"] == "missing", "commune_code"])
    words = unit_words(kinds)
    own = own_words(communes, village_words)
    group_words = words_of_group(communes, own, missing_codes)
    names_by_code = {c.name: own[c.code] for c in communes}
    reported = result.table[result.table["status"] == "ok"]
    summary = [
        {
            "code": code,
            "total": result.totals[code],
            "median": result.medians[code],
            "best": result.ends.get(code, ([], []))[0],
            "worst": result.ends.get(code, ([], []))[1],
            "ranked": code in result.ends,  # the teams' counts are totalled, not ranked
            "same": result.same.get(code, False),
            "same_word": units.count_word(reported.loc[reported[code].notna(), "kind"]),
        }
        for code in list(TEAM_INDICATORS) + columns  # the teams first: what the group has
    ]
    national = national_targets(settings, year)
    lacking = untargeted(settings, year)
    targets = []
    for code, target in national.items():
        # Judged as each commune's report judges it: the share as printed, none above 100 %.
        measured = [r for r in rows if r["status"] == "ok" and judged(r[code], target)]
        if code in columns and measured and not target["reference"]:
            reached = [r["name"] for r in measured if meets(printed(r[code]), target)]
            targets.append((target["label"], reached, len(measured)))
    for outlier in result.outliers:
        outlier["word"] = narrative.gap_word(
            outlier["value"],
            outlier["median"],
            CATALOGUE_BY_CODE[outlier["indicator"]].unit,
            settings,
        )
    # A large group's remarks name each figure once, with the communes far from the median in
    # each direction: one sentence per commune and figure runs to dozens of pages in a province.
    grouped: dict[tuple[str, str], dict] = {}
    for outlier in sorted(result.outliers, key=lambda o: columns.index(o["indicator"])):
        group = grouped.setdefault(
            (outlier["indicator"], outlier["word"]),
            {"indicator": outlier["indicator"], "word": outlier["word"], "communes": []},
        )
        group["median"] = outlier["median"]
        group["communes"].append((outlier["commune"], outlier["value"]))
    partial = [
        (r["name"], r["log_first_month"], r["log_last_month"])
        for r in rows
        if r["status"] == "ok" and r.get("log_months") is not None and r["log_months"] < 12
    ]
    # Row by row from plain arrays: a province has hundreds of communes, and a lookup in a
    # DataFrame per cell cost seconds.
    ok_rows = [row for row in rows if row["status"] == "ok"]
    ok_codes = [row["commune_code"] for row in ok_rows]
    lower = [code in LOWER_IS_BETTER for code in columns]
    z_scores = result.scores.reindex(index=ok_codes, columns=columns).to_numpy(dtype=float)
    heat = [
        {
            "name": row["name"],
            "cells": [
                {"text": "" if np.isnan(z) else number(z), "colour": _heat_colour(z, low)}
                for z, low in zip(line.tolist(), lower, strict=True)
            ],
        }
        for row, line in zip(ok_rows, z_scores, strict=True)
    ]
    change_columns = [
        c
        for c in columns
        if result.previous.get(c) is not None and result.previous[c].notna().any()
    ]
    changed = result.previous.reindex(index=ok_codes, columns=change_columns).to_numpy(dtype=float)
    changes = (
        [
            {"name": row["name"], "values": [_none(v) for v in line.tolist()]}
            for row, line in zip(ok_rows, changed, strict=True)
        ]
        if change_columns
        else []
    )
    notes = (
        indicators.loc[indicators["previous_note"] != "", ["commune_code", "previous_note"]]
        .drop_duplicates("commune_code")
        .set_index("commune_code")["previous_note"]
        if "previous_note" in indicators
        else pd.Series(dtype=object)
    )
    previous_notes = [
        (r["name"], notes[r["commune_code"]]) for r in rows if r["commune_code"] in notes
    ]
    return {
        "previous_notes": previous_notes,  # communes formed since last year: compared with what
        "year": year,
        "group": group,
        "group_name": group_name,
        "group_in_sentence": in_sentence(group_name),  # "của quận Ba Đình"
        "group_word": group_word,
        "unit_words": words,  # "xã, phường": the kinds of units the group holds
        "unit_header": words[:1].upper() + words[1:],
        "unit_count_word": units.count_word(kinds),  # "xã", or "đơn vị" when the kinds are mixed
        "missing_count_word": units.count_word(c.kind for c in communes if c.code in missing_codes),
        "columns": columns,
        "team_columns": list(TEAM_INDICATORS),
        "village_words": group_words.village,  # "thôn", "tổ dân phố, khu phố"
        "names": {c: units.in_words(CATALOGUE_BY_CODE[c].name_vi, group_words) for c in shown},
        "units": {c: units.in_words(CATALOGUE_BY_CODE[c].unit, group_words) for c in shown},
        "words_of": names_by_code,  # each commune's unit words, by its name
        "summary": summary,
        "rows": rows,
        "included": [r for r in rows if r["status"] == "ok"],
        "missing": result.missing,
        # Few missing units are named in the coverage line; many are counted there and listed
        # once at the end.
        "name_missing": len(result.missing) <= NAME_MISSING_UP_TO,
        "unreadable": [],  # of those, whose workbook came but could not be read (from the run)
        "unbuilt": [],  # units with data whose own report failed (from the run)
        "totals": result.totals,
        "counted": result.counted,
        "medians": result.medians,
        "heat": heat,
        "long_group": len(rows) > CHART_ALL_UP_TO,  # tables printed compact, without ranks
        "outliers": result.outliers,
        # The remarks a district reads: the largest gaps only ("cao hơn nhiều", "thấp hơn
        # nhiều"), the widest first, a few of them; the full table has every unit.
        "remarks": sorted(
            (o for o in result.outliers if o["word"].endswith("nhiều")),
            key=lambda o: -abs(o["value"] - o["median"]) / (abs(o["median"]) or 1),
        )[:REMARKS_UP_TO],
        "outlier_groups": sorted(
            grouped.values(), key=lambda g: (columns.index(g["indicator"]), WORDS.index(g["word"]))
        ),
        "gaps": found_gaps,
        # Each unit's villages without a team: named when few, counted when many.
        "uncovered_villages": [
            (name, len(villages), named_villages(villages, settings))
            for name, villages in found_gaps["villages_without_team"]
        ],
        "no_population": found_gaps["no_population"],
        "targets": targets,
        # The shares the year declares no target for: no verdict, never another year's target.
        "untargeted": [
            lower_first(CATALOGUE_BY_CODE[code].name_vi)
            for code in columns
            if code in lacking and any(r["status"] == "ok" and r[code] is not None for r in rows)
        ],
        "partial_year": partial,
        "changes": changes,
        "change_columns": change_columns,
        "result": result,
        "target_values": {
            code: (
                t["value"],
                t["label"],
                "chỉ tiêu quốc gia" + (" (tham chiếu)" if t["reference"] else ""),
            )
            for code, t in national.items()
            if code in columns
        },
    }


WORDS = ("cao hơn nhiều", "cao hơn", "thấp hơn", "thấp hơn nhiều")  # narrative.gap_word's
CHART_ALL_UP_TO = 30  # communes drawn in a ranked chart; above, only both ends
REMARKS_UP_TO = 8  # remarks on units far from the median, in a group printed in full
NAME_MISSING_UP_TO = 10  # missing units named in the coverage line; beyond, listed at the end
CHART_ENDS = 10


def chart_pairs(
    pairs: list[tuple[str, float]], limit: int = CHART_ALL_UP_TO, ends: int = CHART_ENDS
) -> tuple[list[tuple[str, float]], bool]:
    """The (name, value) bars of a ranked chart: all of them, or for a large group (a province)
    the `ends` highest and lowest; and whether some were left out."""
    if len(pairs) <= limit:
        return pairs, False
    ordered = sorted(pairs, key=lambda pair: pair[1])
    return ordered[:ends] + ordered[-ends:], True


def comparison_charts(context: dict) -> list[str]:
    """Ranked bars for the figures a district officer would print, with national targets; for
    a large group, the highest and lowest communes only (the table has them all)."""
    svgs = []
    for code in (
        "people_guided_per_1000",
        "members_per_1000",
        "smartphone_share",
        "village_team_coverage",
        "vneid_share",
        "payment_account_share",
        "fibre_share",
        "online_dossier_share",
    ):
        # Only the units ranked on the figure: a partial year's flow is not drawn against full
        # years (section 1 says it is not ranked).
        every = [
            (r["name"], r[code])
            for r in context["included"]
            if r[code] is not None and r.get(f"rank_{code}") is not None
        ]
        if len(every) >= 2:
            pairs, cut = chart_pairs(every)
            title = context["names"][code]
            if cut:
                title += (
                    f" ({CHART_ENDS} {context['unit_count_word']} cao nhất và {CHART_ENDS} "
                    f"thấp nhất trên {number(len(every))})"
                )
            target = context["target_values"].get(code)
            svgs.append(
                ranked_bars(
                    [n for n, _ in pairs],
                    [v for _, v in pairs],
                    title,
                    context["units"][code],
                    target=(target[0], target[2]) if target else None,
                )
            )
    return svgs


def own_words(
    communes: list, village_words: dict[str, UnitWords] | None = None
) -> dict[str, UnitWords]:
    """Each commune's unit words by code: from its Thôn sheet where given, else its kind's."""
    village_words = village_words or {}
    return {c.code: village_words.get(c.code) or units.unit_words(c.kind) for c in communes}


def words_of_group(communes: list, own: dict[str, UnitWords], missing_codes: set[str]) -> UnitWords:
    """A comparison's words for its headers (HTML, PDF and Excel alike): the group's kinds of
    units ("xã, phường, đặc khu") and the village kinds of the units with data ("tổ dân phố"
    for a city's phường; the whole group's when none has any)."""
    from pipeline.measuring.compare import unit_words

    reporting = [code for code in own if code not in missing_codes] or list(own)
    village_kinds = {k for code in reporting for k in own[code].villages}
    return units.UnitWords(
        unit_words(c.kind for c in communes),
        tuple(k for k in units.VILLAGE_KINDS if k in village_kinds) or ("thôn",),
    )


def village_words_of(
    paths: Paths, year: int, communes: list, villages: pd.DataFrame | None = None
) -> dict[str, UnitWords]:
    """The unit words of the group's communes that have a Thôn sheet, by code (from the year's
    villages table, or the group's rows of it when already read)."""
    if villages is None:
        villages = pd.read_parquet(
            paths.processed_year(year) / "villages.parquet",
            filters=[("commune_code", "in", [c.code for c in communes])],
        )
    by_code = dict(tuple(villages.groupby("commune_code", sort=False)))  # one pass, not N masks
    return {
        c.code: units.unit_words(c.kind, rows["village"], rows.get("village_kind", ()))
        for c in communes
        if (rows := by_code.get(c.code)) is not None and not rows.empty
    }


def district_comparison_html(
    year: int,
    group: str,
    data_dir: str | Path,
    settings_file: str | Path | None = None,
    templates_dir: str | Path | None = None,
    footer: str = "",
) -> str:
    """The comparison of a group's communes (a district, or a province after 2025)."""
    paths = Paths.under(data_dir)
    settings = load_settings(Path(data_dir, settings_file) if settings_file else None)
    found = find_group(year, group, paths.raw / EXTRA_REGISTRY_NAME, settings.get("groups"))
    slug, name, communes = found.slug, found.name, list(found.communes)
    indicators = pd.read_parquet(paths.processed_year(year) / store.INDICATORS_FILE)
    codes = [c.code for c in communes]
    tables = {
        sheet: pd.read_parquet(
            paths.processed_year(year) / f"{sheet}.parquet", filters=[("commune_code", "in", codes)]
        )
        for sheet in ("villages", "members")
    }
    uncovered = villages_without_team(tables["villages"], tables["members"])
    words = village_words_of(paths, year, communes, tables["villages"])
    context = comparison_context(
        year,
        slug,
        name,
        communes,
        indicators,
        settings,
        uncovered,
        group_word=found.word,
        village_words=words,
    )
    # A commune whose workbook came but could not be read is not one that sent nothing.
    statuses = {c.name: read_status(paths.outputs_year(year) / c.stem) for c in communes}
    context["unreadable"] = [
        name for name in context["missing"] if (statuses.get(name) or {}).get("status") == "failed"
    ]
    # And one whose data were read but whose report failed: the index says "Lỗi" beside it.
    context["unbuilt"] = [
        row["name"]
        for row in context["included"]
        if (statuses.get(row["name"]) or {}).get("status") == "failed"
    ]
    context["footer"] = footer
    overrides = [Path(data_dir, templates_dir)] if templates_dir else None
    return narrative.render_template(
        "district_comparison.html.j2",
        {**context, "ranked_charts": comparison_charts(context)},
        overrides,
    )
