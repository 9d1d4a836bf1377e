"""Tables written for people to open in Excel: readable, and safe to open."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from pipeline.files import write_atomically

# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")  # "-5" is a number to Excel, not a formula


def safe_cell(value: object) -> object:
    """A text that a spreadsheet would run as a formula, prefixed with a quote (OWASP's advice
    for CSV injection); anything else as it is."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell made safe to open (`safe_cell`)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(safe_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with a byte order mark, so Excel shows Vietnamese correctly."""
    write_atomically(path, lambda p: neutralise(frame).to_csv(p, index=False, encoding="utf-8-sig"))


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    def write(p: Path) -> None:
        with pd.ExcelWriter(p, engine="openpyxl") as writer:
            neutralise(frame).to_excel(writer, sheet_name=sheet, index=False, freeze_panes=(1, 0))

    write_atomically(path, write)


def export_rejected(rejected: pd.DataFrame, stem: Path) -> None:
    """`{stem}.csv` and `{stem}.xlsx`: every dropped row with where it was and why."""
    readable = rejected.rename(
        columns={
            "commune_code": "Mã xã",
            "file": "Tệp",
            "sheet": "Trang tính",
            "excel_row": "Dòng",
            "column": "Cột",
            "value": "Giá trị",
            "reason_code": "Mã lý do",
            "reason": "Lý do",
        }
    )
    write_csv(readable, stem.with_suffix(".csv"))
    write_xlsx(readable, stem.with_suffix(".xlsx"), "Dòng bị loại")


def write_comparison_xlsx(comparison, path: Path, title: str) -> None:
    """The comparison table as a workbook: Vietnamese headers, number formats, frozen headers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from pipeline.indicators import CATALOGUE_BY_CODE

    table = comparison.table
    codes = [c for c in table.columns if c in CATALOGUE_BY_CODE]
    book = Workbook()
    sheet = book.active
    sheet.title = "So sánh"
    headers = ["Mã xã", "Xã, thị trấn", "Trạng thái"]
    for code in codes:
        indicator = CATALOGUE_BY_CODE[code]
        headers += [f"{indicator.name_vi} ({indicator.unit})", f"Hạng: {indicator.name_vi}"]
    sheet.append([safe_cell(title)])
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table.itertuples(index=False):
        record = row._asdict()
        values = [
            record["commune_code"],
            record["name"],
            "có số liệu" if record["status"] == "ok" else "chưa có báo cáo",
        ]
        for code in codes:
            value, rank = record[code], record[f"rank_{code}"]
            values += [
                None if pd.isna(value) else float(value),
                None if pd.isna(rank) else int(rank),
            ]
        sheet.append([safe_cell(v) for v in values])
    for column_cells in sheet.iter_cols(min_row=3, min_col=4):
        for cell in column_cells:
            cell.number_format = "#,##0.0" if (cell.column - 4) % 2 == 0 else "0"
    sheet.freeze_panes = "C3"
    sheet.column_dimensions["B"].width = 22
    write_atomically(path, book.save)
