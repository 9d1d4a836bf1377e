"""What a reviewer needs to trust one commune's report: the input read, the repairs made, the
indicator table, the rules of sections II and III, and the workbook rows each counting
indicator adds up. Pure functions over the processed tables; nothing here is recomputed that
the catalogue or the rules already hold (`indicators`, `narrative.check_rules`).

No value of a name, phone number or birth year leaves this module: evidence rows carry only
the columns that make a figure (level, village, role…), and repairs of those columns are
counted, never shown.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline import contract, narrative
from pipeline.indicators import (
    CATALOGUE,
    aged_leaders,
    service_code,
    without_smartphone,
)
from pipeline.vntext import slugify

# Columns whose values identify a person: never shown, in evidence or in repair examples.
WITHHELD_COLUMNS = frozenset(
    {c.key for s in contract.SHEETS for c in s.columns if c.personal}
    | {"name", "member", "birth_year", "signer"}
)
WITHHELD_HEADERS = frozenset(
    c.header for s in contract.SHEETS for c in s.columns if c.key in WITHHELD_COLUMNS
)
EXAMPLES_PER_KIND = 3  # before → after examples shown for each kind of repair
REASONS_SHOWN = 5  # main reasons of rejection shown per sheet
LONG_EVIDENCE = 50  # more rows than this: the full list goes to a CSV beside the notebook
EVIDENCE_FOLDER = "evidence"
SUMMARY_FILE = f"{EVIDENCE_FOLDER}/summary.json"  # what the index reads of a commune's notebook
SOURCE_OF_PACKAGE = "mặc định của gói (pipeline/settings.toml)"

# The columns of a sheet that make its figures, in the order shown (no personal column).
SHOWN: dict[str, tuple[str, ...]] = {
    "members": ("team_level", "village", "role", "smartphone"),
    "trainings": ("date", "mode", "organiser", "participants"),
    "activities": ("date", "team_level", "village", "pillar", "service", "channel", "people"),
    "results": ("month", "village", "indicator", "value"),
    "zalo": ("team_level", "village", "group_members"),
    "decisions": ("number", "doc_kind", "date", "issuer"),
}


@dataclass(frozen=True)
class RowsOf:
    """The rows of a sheet an indicator adds up: counted (no `sums`) or summed over `sums`."""

    sheet: str
    select: Callable[[pd.DataFrame, int], pd.Series]
    sums: str | None = None


def _all(frame: pd.DataFrame, year: int) -> pd.Series:
    return pd.Series(True, index=frame.index)


def _equals(column: str, value: object) -> Callable[[pd.DataFrame, int], pd.Series]:
    return lambda frame, year: frame[column].eq(value).fillna(False).astype(bool)


def _row_evidence() -> dict[str, RowsOf]:
    rows = {
        "members_total": RowsOf("members", _all),
        "members_commune": RowsOf("members", _equals("team_level", "Xã")),
        "members_village": RowsOf("members", _equals("team_level", "Thôn")),
        "members_without_smartphone": RowsOf("members", lambda f, y: without_smartphone(f)),
        "members_without_smartphone_commune": RowsOf(
            "members", lambda f, y: without_smartphone(f, "Xã")
        ),
        "members_without_smartphone_village": RowsOf(
            "members", lambda f, y: without_smartphone(f, "Thôn")
        ),
        "village_leaders_aged_60": RowsOf("members", lambda f, y: aged_leaders(f, y, "Thôn")),
        "trainings": RowsOf("trainings", _all),
        "trainings_online": RowsOf("trainings", _equals("mode", "Trực tuyến")),
        "trainings_in_person": RowsOf("trainings", _equals("mode", "Trực tiếp")),
        "decisions": RowsOf("decisions", _all),
        "sessions": RowsOf("activities", _all),
        "people_guided": RowsOf("activities", _all, "people"),
        "zalo_groups": RowsOf("zalo", _all),
        "zalo_groups_commune": RowsOf("zalo", _equals("team_level", "Xã")),
        "zalo_groups_village": RowsOf("zalo", _equals("team_level", "Thôn")),
        "zalo_members": RowsOf("zalo", _all, "group_members"),
    }
    for code, pillar in narrative.PILLARS.items():
        rows[f"people_{code}"] = RowsOf("activities", _equals("pillar", pillar), "people")
    for service in contract.SERVICES:
        rows[service_code(service)] = RowsOf("activities", _equals("service", service), "people")
    for channel in contract.CHANNELS:
        code = "people_channel_" + slugify(channel).replace("-", "_")
        rows[code] = RowsOf("activities", _equals("channel", channel), "people")
    for month in range(1, 13):
        rows[f"people_month_{month:02d}"] = RowsOf(
            "activities", lambda f, y, m=month: f["date"].dt.month.eq(m), "people"
        )
    for kind, code in contract.RESULT_KINDS.items():
        if code != "all_dossiers":  # a total of blanks is missing, not zero: not a plain sum
            rows[code] = RowsOf("results", _equals("indicator", kind), "value")
    return rows


ROW_EVIDENCE: dict[str, RowsOf] = _row_evidence()


def workbook_hash(source: str) -> str:
    """The workbook's own content hash, from the run's record of its sources (`hash:code`)."""
    return source.split(":", 1)[0]


def input_summary(
    quality: pd.DataFrame, rejected: pd.DataFrame, present: pd.DataFrame
) -> pd.DataFrame:
    """Per sheet read: rows read, kept, fixed, rejected, and the main reasons of rejection."""
    reasons = (
        rejected.groupby(["sheet", "reason"]).size().rename("rows").reset_index()
        if not rejected.empty
        else pd.DataFrame(columns=["sheet", "reason", "rows"])
    )
    main = {
        sheet: "; ".join(
            f"{r.reason} ({int(r.rows)})"
            for r in group.sort_values(["rows", "reason"], ascending=[False, True])
            .head(REASONS_SHOWN)
            .itertuples()
        )
        for sheet, group in reasons.groupby("sheet")
    }
    out = quality[["sheet", "rows_read", "rows_kept", "rows_fixed", "rows_rejected"]].copy()
    out["main_reasons"] = out["sheet"].map(main).fillna("")
    names = {s.key: s.name for s in contract.SHEETS}
    found = {names.get(k, k) for k in present["sheet"]} if "sheet" in present else set()
    out["found"] = out["sheet"].isin(found) | (out["rows_read"] > 0)
    return out.reset_index(drop=True)


def repairs_by_kind(fixes: pd.DataFrame) -> pd.DataFrame:
    """Repairs counted by kind, with a few before → after examples of each; a repair of a
    personal column (a name, a phone) is counted but never shown."""
    rows = []
    for kind, group in fixes.groupby("kind", sort=True):
        shown = group[~group["column"].isin(WITHHELD_HEADERS)]
        examples = [
            {
                "sheet": r.sheet,
                "excel_row": int(r.excel_row),
                "column": r.column,
                "before": str(r.raw),
                "after": str(r.fixed),
            }
            for r in shown.drop_duplicates(["raw", "fixed"]).head(EXAMPLES_PER_KIND).itertuples()
        ]
        rows.append(
            {
                "kind": kind,
                "fixes": len(group),
                "withheld": len(group) - len(shown),
                "examples": examples,
            }
        )
    return pd.DataFrame(rows, columns=["kind", "fixes", "withheld", "examples"])


def indicator_table(indicators: pd.DataFrame) -> pd.DataFrame:
    """One commune's indicators as the catalogue defines them and the indicator table holds
    them: code, name, unit, definition, numerator, denominator, value, previous, change, reason."""
    mine = indicators.set_index("indicator")
    rows = []
    for i in CATALOGUE:
        if i.code not in mine.index:
            continue
        row = mine.loc[i.code]

        def get(column: str, row: pd.Series = row) -> object:
            value = row.get(column)
            return None if value is None or pd.isna(value) else value

        rows.append(
            {
                "code": i.code,
                "name": i.name_vi,
                "unit": i.unit,
                "pillar": i.pillar,
                "definition": i.definition,
                "numerator": i.numerator,
                "denominator": i.denominator,
                "value": get("value"),
                "previous": get("previous_value"),
                "change": get("change"),
                "missing_reason": get("missing_reason") or "",
                "has_rows": i.code in ROW_EVIDENCE,
            }
        )
    return pd.DataFrame(rows)


def setting_sources(settings_file: Path | None) -> dict[str, str]:
    """Where each threshold of [limitations] comes from: the district's file where it names the
    key, else the package's defaults."""
    sources = dict.fromkeys(narrative.load_settings()["limitations"], SOURCE_OF_PACKAGE)
    if settings_file is not None and settings_file.exists():
        with open(settings_file, "rb") as f:
            own = tomllib.load(f).get("limitations", {})
        for key in own:
            sources[key] = f"thiết lập của huyện ({settings_file.name})"
    return sources


def rule_table(
    values: dict[str, float | None], settings: dict, sources: dict[str, str]
) -> pd.DataFrame:
    """The rules of sections II and III for one commune (`narrative.check_rules`): the figure,
    the threshold, where the threshold comes from, and whether the rule fired."""
    names = {i.code: i.name_vi for i in CATALOGUE}
    return pd.DataFrame(
        [
            {
                "rule": c.rule.code,
                "indicator": c.rule.indicator,
                "indicator_name": names.get(c.rule.indicator, c.rule.indicator),
                "comparison": "≥" if c.rule.above else "≤",
                "setting": c.rule.setting,
                "setting_value": c.setting,
                "threshold": c.threshold,
                "prorated": c.threshold != c.setting,
                "source": sources.get(c.rule.setting, SOURCE_OF_PACKAGE),
                "value": c.value,
                "fired": c.fired,
            }
            for c in narrative.check_rules(values, settings)
        ]
    )


def evidence_rows(tables: dict[str, pd.DataFrame], code: str, year: int) -> pd.DataFrame:
    """The workbook rows an indicator adds up: file, sheet, Excel row and the columns that make
    the figure (never a name, phone or birth year)."""
    found = ROW_EVIDENCE[code]
    frame = tables[found.sheet]
    rows = frame[found.select(frame, year).to_numpy()] if not frame.empty else frame
    columns = [c for c in SHOWN[found.sheet] if c in rows.columns]
    sheet = contract.SHEETS_BY_KEY[found.sheet]
    out = pd.DataFrame(
        {
            "file": rows["_file"].to_numpy(),
            "sheet": sheet.name,
            "excel_row": rows["_row"].astype("int64").to_numpy(),
        }
    )
    for column in columns:
        out[sheet.column(column).header] = rows[column].to_numpy()
    if code == "village_leaders_aged_60":
        out["Từ 60 tuổi"] = "Có"  # what the birth year said, without the birth year
    return out.sort_values(["file", "excel_row"], kind="stable").reset_index(drop=True)


def evidence_total(tables: dict[str, pd.DataFrame], code: str, year: int) -> float:
    """What the evidence rows add up to: their count, or the sum of the summed column."""
    found = ROW_EVIDENCE[code]
    frame = tables[found.sheet]
    if frame.empty:
        return 0.0
    rows = frame[found.select(frame, year).to_numpy()]
    return float(rows[found.sums].sum()) if found.sums else float(len(rows))


def evidence_csv_name(code: str) -> str:
    return f"{EVIDENCE_FOLDER}/{code}.csv"


@dataclass
class Audit:
    """Everything the reviewers' notebook shows for one commune and year."""

    year: int
    code: str
    name: str
    file: str
    file_hash: str
    inputs: pd.DataFrame
    repairs: pd.DataFrame
    rejected_rows: int
    indicators: pd.DataFrame
    rules: pd.DataFrame
    evidence: dict[str, pd.DataFrame]
    totals: dict[str, float]


def build_audit(
    year: int,
    commune_code: str,
    commune_name: str,
    tables: dict[str, pd.DataFrame],
    indicators: pd.DataFrame,
    settings: dict,
    sources: dict[str, str],
    source_record: str,
) -> Audit:
    """The audit of one commune from its processed tables and its rows of the indicator table."""
    mine = indicators[indicators["commune_code"] == commune_code]
    values = {
        k: (None if pd.isna(v) else float(v))
        for k, v in zip(mine["indicator"], mine["value"], strict=True)
    }
    table = indicator_table(mine)
    codes = [c for c in table["code"] if c in ROW_EVIDENCE] if not table.empty else []
    files = sorted({f for name in contract.SHEETS_BY_KEY for f in tables[name]["_file"].dropna()})
    return Audit(
        year=year,
        code=commune_code,
        name=commune_name,
        file=", ".join(files),
        file_hash=workbook_hash(source_record),
        inputs=input_summary(tables["quality"], tables["rejected"], tables["present"]),
        repairs=repairs_by_kind(tables["fixes"]),
        rejected_rows=len(tables["rejected"]),
        indicators=table,
        rules=rule_table(values, settings, sources),
        evidence={c: evidence_rows(tables, c, year) for c in codes},
        totals={c: evidence_total(tables, c, year) for c in codes},
    )
