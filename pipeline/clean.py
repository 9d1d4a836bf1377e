"""Cleaning: raw tables to typed tables, every change counted and every dropped row kept.

Pure functions over DataFrames. Text work is done once per distinct value, not once per row.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import contract
from pipeline.errors import InputError
from pipeline.ingest import ROW, RawWorkbook
from pipeline.vntext import match_key, repair_with_kind

FIX_COLUMNS = ["commune_code", "file", "sheet", "excel_row", "column", "kind", "raw", "fixed"]
REJECT_COLUMNS = [
    "commune_code",
    "file",
    "sheet",
    "excel_row",
    "column",
    "value",
    "reason_code",
    "reason",
]
REASONS = {
    "blank_row": "Dòng trống",
    "duplicate_row": "Dòng trùng lặp với một dòng phía trên",
    "invalid_date": "Ngày không đọc được",
    "date_outside_year": "Ngày nằm ngoài năm báo cáo",
    "missing_value": "Thiếu giá trị bắt buộc",
    "invalid_number": "Số không đọc được",
    "impossible_count": "Số lượng âm hoặc quá lớn",
}
# Above these a count is taken as a typing error, not a fact.
COUNT_LIMITS = {
    "people": 2_000,
    "participants": 5_000,
    "value": 10_000,
    "group_members": 50_000,
    "households": 100_000,
    "population": 500_000,
    "report_number": 9_999,
}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_YES_KEYS = frozenset(match_key(v) for v in contract.YES)
_NO_KEYS = frozenset(match_key(v) for v in contract.NO) - {""}
_MONTH = re.compile(r"^\s*(?:tháng\s*)?(\d{1,2})\s*[/.-]\s*(\d{4})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CleanResult:
    tables: dict[str, pd.DataFrame]
    fixes: pd.DataFrame
    rejected: pd.DataFrame


@dataclass
class _Log:
    commune_code: str
    file: str
    fixes: list[dict[str, object]]
    rejected: list[dict[str, object]]

    def fix(
        self, sheet: str, rows: pd.Series, column: str, kind: str, raw: pd.Series, fixed: pd.Series
    ) -> None:
        for row, before, after in zip(rows, raw, fixed, strict=True):
            self.fixes.append(
                {
                    "commune_code": self.commune_code,
                    "file": self.file,
                    "sheet": sheet,
                    "excel_row": int(row),
                    "column": column,
                    "kind": kind,
                    "raw": _text(before),
                    "fixed": _text(after),
                }
            )

    def reject(
        self, sheet: str, rows: pd.Series, column: str, values: pd.Series, reason_code: str
    ) -> None:
        for row, value in zip(rows, values, strict=True):
            self.rejected.append(
                {
                    "commune_code": self.commune_code,
                    "file": self.file,
                    "sheet": sheet,
                    "excel_row": int(row),
                    "column": column,
                    "value": _text(value),
                    "reason_code": reason_code,
                    "reason": REASONS[reason_code],
                }
            )


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.strftime("%d/%m/%Y")
    return str(value)


def parse_date(value: object) -> pd.Timestamp | None:
    """A date from a cell as people fill it: a date cell, dd/mm/yyyy, ISO, or an Excel serial."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return pd.Timestamp(value).normalize()
    if isinstance(value, (int, float, np.integer, np.floating)) and 1 <= value < 2_958_466:
        return EXCEL_EPOCH + pd.Timedelta(days=int(value))
    text = str(value)
    for pattern, order in ((_DMY, (3, 2, 1)), (_ISO, (1, 2, 3))):
        match = pattern.match(text)
        if match:
            try:
                return pd.Timestamp(dt.date(*(int(match.group(i)) for i in order)))
            except ValueError:
                return None
    if text.strip().isdigit():
        return parse_date(int(text))
    return None


def parse_yesno(value: object) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text == "-":
        return False
    key = match_key(text.removesuffix(".0"))
    if key in _YES_KEYS:
        return True
    if key in _NO_KEYS:
        return False
    return None


def _blank(table: pd.DataFrame) -> pd.Series:
    values = table.drop(columns=[ROW])
    return values.isna().all(axis=1) | values.map(lambda v: str(v).strip() == "").all(axis=1)


def _repair_text(table: pd.DataFrame, column: str, sheet: str, log: _Log) -> pd.Series:
    series = table[column]
    present = series.notna()
    as_text = series[present].map(lambda v: _text(v) if not isinstance(v, str) else v)
    uniques = pd.unique(as_text)
    repaired = {value: repair_with_kind(value) for value in uniques}
    fixed = as_text.map(lambda v: repaired[v][0])
    kinds = as_text.map(lambda v: repaired[v][1])
    changed = kinds.notna()
    for kind in kinds[changed].unique():
        mask = kinds == kind
        log.fix(sheet, table.loc[mask[mask].index, ROW], column, kind, as_text[mask], fixed[mask])
    out = pd.Series(None, index=series.index, dtype=object)
    out[present] = fixed.replace("", None)
    return out


def _canonical(
    series: pd.Series, choices: tuple[str, ...] | list[str], cutoff: float = 0.85
) -> tuple[pd.Series, pd.Series]:
    """Map written values to the canonical choice they mean; (values, matched) by row."""
    keys = {match_key(c): c for c in choices}
    stripped = {re.sub(r"^(thon|xom|khu|ap) ", "", k): c for k, c in keys.items()}
    memo: dict[str, str | None] = {}

    def lookup(value: object) -> str | None:
        if not isinstance(value, str):
            return None
        if value not in memo:
            key = match_key(value)
            bare = re.sub(r"^(thon|xom|khu|ap) ", "", key)
            hit = keys.get(key) or stripped.get(bare)
            if hit is None:
                close = difflib.get_close_matches(bare, list(stripped), n=1, cutoff=cutoff)
                hit = stripped[close[0]] if close else None
            memo[value] = hit
        return memo[value]

    matched = series.map(lookup)
    return matched.where(matched.notna(), series), matched.notna()


def _team_level(series: pd.Series) -> pd.Series:
    def level(value: object) -> object:
        if not isinstance(value, str):
            return value
        key = match_key(value)
        if key.startswith(("xa", "to xa", "cap xa", "thi tran", "phuong")):
            return "Xã"
        if key.startswith(("thon", "to thon", "cap thon", "xom", "khu", "ap")):
            return "Thôn"
        return value

    return series.map(level)


def _canonicalise(sheet_key: str, table: pd.DataFrame, villages: list[str], log: _Log) -> None:
    """Replace written variants with the contract's words, logging each change."""
    plans: list[tuple[str, pd.Series]] = []
    if "team_level" in table:
        plans.append(("team_level", _team_level(table["team_level"])))
    if "village" in table and villages:
        plans.append(("village", _canonical(table["village"], villages)[0]))
    if "service" in table:
        plans.append(("service", _canonical(table["service"], tuple(contract.SERVICES))[0]))
    if "pillar" in table:
        pillars = _canonical(table["pillar"], contract.PILLARS)[0]
        if "service" in table:
            from_service = plans[-1][1].map(contract.SERVICES)
            pillars = pillars.where(pillars.isin(contract.PILLARS), from_service)
        plans.append(("pillar", pillars))
    if "mode" in table:
        plans.append(("mode", _canonical(table["mode"], contract.TRAINING_MODES, 0.7)[0]))
    if "channel" in table:
        plans.append(("channel", _canonical(table["channel"], contract.CHANNELS)[0]))
    if "role" in table:
        plans.append(("role", _canonical(table["role"], contract.ROLES)[0]))
    if sheet_key == "results":
        plans.append(("indicator", _canonical(table["indicator"], tuple(contract.RESULT_KINDS))[0]))
    for column, new in plans:
        changed = new.notna() & (new != table[column])
        if changed.any():
            kind = "village_match" if column == "village" else "vocabulary"
            log.fix(
                log_sheet(table),
                table.loc[changed, ROW],
                column,
                kind,
                table.loc[changed, column],
                new[changed],
            )
            table[column] = new


def log_sheet(table: pd.DataFrame) -> str:
    return str(table.attrs.get("sheet", ""))


def clean_table(
    sheet: contract.Sheet,
    raw: pd.DataFrame,
    year: int,
    villages: list[str],
    log: _Log,
    sheet_name: str,
) -> pd.DataFrame:
    """One sheet: drop blank rows, repair text, type every column, reject what cannot stand."""
    table = raw.copy()
    table.attrs["sheet"] = sheet_name
    reject = pd.Series(False, index=table.index)

    def drop(mask: pd.Series, column: str, values: pd.Series, reason: str) -> None:
        mask = mask & ~reject
        if mask.any():
            log.reject(sheet_name, table.loc[mask, ROW], column, values[mask], reason)
            reject[mask] = True

    drop(_blank(table), "", pd.Series("", index=table.index), "blank_row")
    for column in sheet.columns:
        key = column.key
        values = table[key]
        if column.kind == "text":
            table[key] = _repair_text(table, key, sheet_name, log)
        elif column.kind == "date":
            parsed = values.map(parse_date)
            drop(values.notna() & parsed.isna(), column.header, values, "invalid_date")
            before_text = values.map(lambda v: isinstance(v, (str, int, float)))
            converted = values.notna() & parsed.notna() & before_text
            if converted.any():
                kinds = values[converted].map(
                    lambda v: (
                        "date_serial"
                        if not isinstance(v, str) or v.strip().isdigit()
                        else "date_text"
                    )
                )
                for kind in kinds.unique():
                    mask = kinds[kinds == kind].index
                    log.fix(
                        sheet_name,
                        table.loc[mask, ROW],
                        key,
                        kind,
                        values[mask],
                        parsed[mask].map(lambda d: d.strftime("%d/%m/%Y")),
                    )
            table[key] = pd.to_datetime(parsed)
        elif column.kind in ("int", "float"):
            numbers = pd.to_numeric(
                values.map(lambda v: str(v).replace(",", ".").strip() if isinstance(v, str) else v),
                errors="coerce",
            )
            drop(
                values.notna() & numbers.isna() & column.required,
                column.header,
                values,
                "invalid_number",
            )
            limit = COUNT_LIMITS.get(key)
            if limit is not None:
                drop((numbers < 0) | (numbers > limit), column.header, values, "impossible_count")
            table[key] = numbers.round().astype("Int64") if column.kind == "int" else numbers
        elif column.kind == "yesno":
            parsed = values.map(parse_yesno)
            variants = values.notna() & parsed.notna() & ~values.isin(["Có", "Không"])
            if variants.any():
                log.fix(
                    sheet_name,
                    table.loc[variants, ROW],
                    key,
                    "yesno_variant",
                    values[variants],
                    parsed[variants].map({True: "Có", False: "Không"}),
                )
            table[key] = parsed.astype("boolean")
        elif column.kind == "month":
            table[key] = values.map(_parse_month)
        if column.required and column.kind != "date":
            drop(table[key].isna(), column.header, values, "missing_value")
        elif column.required:
            drop(table[key].isna() & values.isna(), column.header, values, "missing_value")
    _canonicalise(sheet.key, table, villages, log)
    if "date" in table and sheet.key in ("activities", "trainings"):
        outside = table["date"].dt.year != year
        drop(outside & table["date"].notna(), "Ngày", table["date"], "date_outside_year")
    duplicated = table.drop(columns=[ROW])[~reject].duplicated(keep="first")
    drop(
        duplicated.reindex(table.index, fill_value=False),
        "",
        pd.Series("", index=table.index),
        "duplicate_row",
    )
    kept = table[~reject].reset_index(drop=True)
    kept.attrs = {}
    return kept


def _parse_month(value: object) -> int | None:
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return pd.Timestamp(value).month
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    match = _MONTH.match(str(value))
    if match:
        return int(match.group(1))
    text = str(value).strip()
    return int(text) if text.isdigit() and 1 <= int(text) <= 12 else None


def clean_workbook(raw: RawWorkbook, commune_code: str, year: int) -> CleanResult:
    """Every sheet of one commune's workbook, cleaned, with the log of fixes and rejections."""
    log = _Log(commune_code, raw.path.name, [], [])
    tables: dict[str, pd.DataFrame] = {}
    order = ["commune", "villages"] + [k for k in raw.tables if k not in ("commune", "villages")]
    villages: list[str] = []
    for key in order:
        if key not in raw.tables:
            continue
        sheet = contract.SHEETS_BY_KEY[key]
        table = clean_table(sheet, raw.tables[key], year, villages, log, raw.sheet_names[key])
        if key == "commune":
            _check_commune_code(table, commune_code, raw)
            table["commune_code"] = commune_code
        else:
            table.insert(0, "commune_code", commune_code)
        tables[key] = table
        if key == "villages":
            villages = [v for v in table["village"].dropna().unique()]
    for sheet in contract.SHEETS:
        if sheet.key not in tables:
            empty = pd.DataFrame({c.key: pd.Series(dtype=object) for c in sheet.columns})
            empty.insert(0, ROW, pd.Series(dtype="int64"))
            empty.insert(0, "commune_code", pd.Series(dtype=object))
            tables[sheet.key] = empty
    fixes = pd.DataFrame(log.fixes, columns=FIX_COLUMNS)
    rejected = pd.DataFrame(log.rejected, columns=REJECT_COLUMNS)
    return CleanResult(tables, fixes, rejected)


def _check_commune_code(table: pd.DataFrame, commune_code: str, raw: RawWorkbook) -> None:
    if table.empty:
        raise InputError(
            "the commune information sheet has no row",
            file=raw.path.name,
            sheet=raw.sheet_names["commune"],
            row=2,
        )
    written = str(table["commune_code"].iloc[0]).strip().removesuffix(".0").zfill(5)
    if written != commune_code.zfill(5):
        raise InputError(
            f"commune code {written} does not belong to this workbook's commune ({commune_code})",
            file=raw.path.name,
            sheet=raw.sheet_names["commune"],
            row=int(table[ROW].iloc[0]),
            column=contract.COMMUNE.column("commune_code").header,
        )


def quality_summary(raw: RawWorkbook, result: CleanResult) -> pd.DataFrame:
    """Rows read, kept, fixed and rejected per sheet of one commune."""
    rows = []
    for key, table in raw.tables.items():
        sheet_name = raw.sheet_names[key]
        fixed = result.fixes.loc[result.fixes["sheet"] == sheet_name, "excel_row"].nunique()
        rejected = int((result.rejected["sheet"] == sheet_name).sum())
        rows.append(
            {
                "sheet": sheet_name,
                "rows_read": len(table),
                "rows_kept": len(result.tables[key]),
                "rows_fixed": fixed,
                "rows_rejected": rejected,
            }
        )
    return pd.DataFrame(rows)
