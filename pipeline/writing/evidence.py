"""What a reviewer needs to trust one commune's report: the input read, the repairs made, the
indicator table, the rules of sections II and III, and the workbook rows each counting
indicator adds up. Pure functions over the processed tables; nothing here is recomputed that
the catalogue or the rules already hold (`indicators`, `rules.check_rules`).

No value of a name, phone number or birth year leaves this module: evidence rows carry only
the columns that make a figure (level, village, role…), and repairs of those columns are
counted, never shown.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core import contract
from pipeline.measuring.indicators import CATALOGUE, Tally
from pipeline.measuring.rules import check_rules
from pipeline.measuring.settings import load_settings
from pipeline.registry.tree import split_kind
from pipeline.registry.units import UnitWords, in_words, village_kind
from pipeline.writing import narrative

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


# The rows each counting indicator adds up, as the catalogue declares them (`Tally`).
ROW_EVIDENCE: dict[str, Tally] = {
    i.code: i.compute for i in CATALOGUE if isinstance(i.compute, Tally)
}


def workbook_hash(source: str) -> str:
    """The workbook's content hash, as the run recorded what the commune was cleaned from."""
    return source.split(":", 1)[0]


def input_summary(
    quality: pd.DataFrame, rejected: pd.DataFrame, present: pd.DataFrame
) -> pd.DataFrame:
    """Per sheet read: rows read, kept, fixed, rejected, and the main reasons of rejection."""
    rejected = contract.rows_rejected(rejected)
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
    table = pd.DataFrame(rows)
    for column in ("value", "previous", "change"):  # a missing figure is None, never NaN
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    return table


def setting_sources(settings_file: Path | None, section: str = "limitations") -> dict[str, str]:
    """Where each setting of a section comes from: the district's file where it names the key,
    else the package's defaults."""
    sources = dict.fromkeys(load_settings().get(section, {}), SOURCE_OF_PACKAGE)
    if settings_file is not None and settings_file.exists():
        with open(settings_file, "rb") as f:
            own = tomllib.load(f).get(section, {})
        for key in own:
            sources[key] = f"thiết lập của huyện ({settings_file.name})"
    return sources


def rule_table(
    values: dict[str, float | None],
    settings: dict,
    sources: dict[str, str],
    words: UnitWords | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """The rules of sections II and III for one commune (`rules.check_rules`): the figure,
    the threshold, where the threshold comes from, and whether the rule fired."""
    names = {i.code: in_words(i.name_vi, words) if words else i.name_vi for i in CATALOGUE}
    table = pd.DataFrame(
        [
            {
                "rule": c.rule.code,
                "indicator": c.rule.indicator,
                "indicator_name": (in_words(c.rule.measure, words) if words else c.rule.measure)
                or names.get(c.rule.indicator, c.rule.indicator),
                "comparison": {">=": "≥", "<=": "≤", "<": "<"}[c.rule.comparison],
                "reads": ", ".join(c.rule.figures),
                "setting": c.rule.setting,
                "setting_value": c.setting,
                "threshold": c.threshold,
                "prorated": c.threshold != c.setting,
                "source": sources.get(c.rule.setting, SOURCE_OF_PACKAGE),
                "value": c.value,
                "fired": c.fired,
            }
            for c in check_rules(values, settings, year)
        ]
    )
    # A figure the commune has none of stays None (a float column would make it NaN).
    table["value"] = table["value"].astype(object).where(table["value"].notna(), None)
    return table


@dataclass(frozen=True)
class Rows:
    """Evidence rows: their column headers and values (one array per sheet, sliced by code
    rather than one DataFrame per indicator: a commune has some fifty lists)."""

    columns: tuple[str, ...]
    values: np.ndarray  # rows × columns, objects

    def __len__(self) -> int:
        return len(self.values)

    def head(self, count: int) -> Rows:
        return Rows(self.columns, self.values[:count])

    def itertuples(self, index: bool = False):
        return (tuple(row) for row in self.values)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, columns=list(self.columns))


def _in_order(frame: pd.DataFrame) -> pd.DataFrame:
    """A sheet's rows in workbook order (file, Excel row): evidence keeps that order."""
    return frame.sort_values(["_file", "_row"], kind="stable").reset_index(drop=True)


def _levels(frame: pd.DataFrame, words: UnitWords, villages: pd.DataFrame) -> np.ndarray:
    """The "Cấp tổ" of each row in the commune's words: its own level ('Phường') for the
    commune's team, the village's own kind ('Tổ dân phố', 'Bản') for a village's."""
    declared = dict(zip(villages["village"], villages.get("village_kind", ()), strict=False))

    def word(level: object, village: object) -> object:
        if level == "Xã":
            kind = words.commune
        elif level == "Thôn":
            kind = village_kind(words.commune, village, declared.get(village))
        else:
            return level
        return kind[:1].upper() + kind[1:]

    return np.array(
        [word(lv, vi) for lv, vi in zip(frame["team_level"], frame["village"], strict=True)],
        dtype=object,
    )


_YES_NO = {True: "Có", False: "Không"}


def _view(
    frame: pd.DataFrame, sheet_key: str, words: UnitWords, villages: pd.DataFrame
) -> pd.DataFrame:
    """What evidence shows of a sheet's rows: file, sheet, Excel row and the columns that make
    a figure, under their headers (never a name, phone or birth year), in the words a person
    wrote: the commune's and its villages' own levels, "Có"/"Không" for a yes or no."""
    sheet = contract.SHEETS_BY_KEY[sheet_key]
    out = pd.DataFrame(
        {
            "file": frame["_file"].to_numpy(),
            "sheet": sheet.name,
            "excel_row": frame["_row"].astype("int64").to_numpy(),
        }
    )
    for column in SHOWN[sheet_key]:
        if column not in frame.columns:
            continue
        values = frame[column].to_numpy(dtype=object)
        if column == "team_level" and "village" in frame.columns:
            values = _levels(frame, words, villages)
        elif sheet.column(column).kind == "yesno":
            values = np.array([_YES_NO.get(v, v) for v in values], dtype=object)
        elif column == "channel":  # the vocabulary's "Họp thôn" is the commune's "Họp buôn"
            values = np.array([v if pd.isna(v) else in_words(v, words) for v in values])
        out[in_words(sheet.column(column).header, words)] = values
    return out


def _evidence(
    tables: dict[str, pd.DataFrame], codes: list[str], year: int, words: UnitWords | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """The rows each indicator adds up and their total (count, or sum of the summed column);
    each sheet is ordered and laid out once. `words`: the commune's (by default, a xã's with
    its villages' own kinds)."""
    villages = tables["villages"]
    words = words or narrative.commune_words("Xã", villages)
    sheets = {ROW_EVIDENCE[c].sheet for c in codes}
    ordered = {s: _in_order(tables[s]) for s in sheets}
    views = {s: _view(ordered[s], s, words, villages) for s in sheets}
    arrays = {s: v.to_numpy(dtype=object) for s, v in views.items()}
    rows, totals = {}, {}
    for code in codes:
        found = ROW_EVIDENCE[code]
        frame = ordered[found.sheet]
        mask = (
            found.rows(frame, year).to_numpy(dtype=bool)
            if not frame.empty
            else np.zeros(0, dtype=bool)
        )
        picked = Rows(tuple(views[found.sheet].columns), arrays[found.sheet][mask])
        if code == "village_leaders_aged_60":  # what the birth year said, not the birth year
            column = np.full((len(picked), 1), "Có", dtype=object)
            picked = Rows(
                (*picked.columns, f"Từ {contract.AGED_FROM} tuổi"),
                np.hstack([picked.values, column]),
            )
        rows[code] = picked
        summed = frame[found.sums].to_numpy()[mask] if found.sums else None
        totals[code] = float(pd.Series(summed).sum()) if found.sums else float(len(picked))
    return rows, totals


def evidence_rows(tables: dict[str, pd.DataFrame], code: str, year: int) -> pd.DataFrame:
    """The workbook rows an indicator adds up: file, sheet, Excel row and the columns that make
    the figure (never a name, phone or birth year)."""
    return _evidence(tables, [code], year)[0][code].frame()


def evidence_total(tables: dict[str, pd.DataFrame], code: str, year: int) -> float:
    """What the evidence rows add up to: their count, or the sum of the summed column."""
    return _evidence(tables, [code], year)[1][code]


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
    evidence: dict[str, Rows]
    totals: dict[str, float]
    # The commune's own words for its level and villages ('cấp phường', 'khu phố', 'bản'): the
    # catalogue's names are written in them, as the report writes them.
    words: UnitWords
    # What each target of the year whose share was not written counts: section II says it
    # cannot be judged (`narrative.unwritten_targets`).
    unwritten_targets: list[str]


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
    reasons = dict(zip(mine["indicator"], mine["missing_reason"], strict=True))
    villages = tables["villages"][tables["villages"]["commune_code"] == commune_code]
    words = narrative.commune_words(split_kind(commune_name)[0] or "Xã", villages)
    table = indicator_table(mine)
    if not table.empty:
        for column in ("name", "unit", "definition"):
            table[column] = [in_words(text, words) for text in table[column]]
    codes = [c for c in table["code"] if c in ROW_EVIDENCE] if not table.empty else []
    files = sorted({f for name in contract.SHEETS_BY_KEY for f in tables[name]["_file"].dropna()})
    rows, totals = _evidence(tables, codes, year, words)
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
        rules=rule_table(values, settings, sources, words, year),
        evidence=rows,
        totals=totals,
        words=words,
        unwritten_targets=narrative.unwritten_targets(values, reasons, settings, year),
    )
