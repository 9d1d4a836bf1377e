"""Tables written for people to open in Excel: the rejected rows, readable, and the
comparison's workbook (`core.sheets` makes their cells safe to open)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.core.files import write_workbook_fixed
from pipeline.core.sheets import safe_cell, write_csv, write_xlsx


def readable_rejected(rejected: pd.DataFrame) -> pd.DataFrame:
    """The dropped rows with the Vietnamese headers people read them under."""
    return rejected.rename(
        columns={
            "commune_code": "Mã xã",
            "file": "Tệp",
            "sheet": "Trang tính",
            "excel_row": "Dòng",
            "column": "Cột",
            "value": "Giá trị",
            "reason_code": "Mã lý do",
            "reason": "Lý do",
            "figure": "Chỉ tiêu",
        }
    )


def export_rejected(rejected: pd.DataFrame, stem: Path) -> None:
    """`{stem}.csv` and `{stem}.xlsx`: every dropped row with where it was and why."""
    readable = readable_rejected(rejected)
    write_csv(readable, stem.with_suffix(".csv"))
    write_xlsx(readable, stem.with_suffix(".xlsx"), "Dòng bị loại")


COUNT_FORMAT, RATE_FORMAT, RANK_FORMAT = "#,##0", "#,##0.0", "0"


def _figure(value: object) -> float | int | None:
    """A figure for a cell: none when missing, a whole count as an integer."""
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def write_comparison_xlsx(comparison, path: Path, title: str, words=None) -> None:
    """The comparison table as a workbook: Vietnamese headers in the group's words (`words`,
    `comparison.words_of_group`: 'cấp xã, phường', 'ấp, khóm', as the PDF writes them), number
    formats, frozen headers.

    Counts are integers (`#,##0`), shares and rates keep one decimal (`#,##0.0`); a ranked figure
    is followed by its rank. Below the communes, the group's total (counts only) and median.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from pipeline.measuring.compare import REJECTED_CELL, REJECTED_PREFIX, is_additive, unit_words
    from pipeline.measuring.indicators import CATALOGUE_BY_CODE
    from pipeline.registry.units import UnitWords, count_word, in_words

    table = comparison.table
    codes = [c for c in table.columns if c in CATALOGUE_BY_CODE]
    book = Workbook()
    sheet = book.active
    sheet.title = "So sánh"
    words = words or UnitWords(unit_words(table["kind"]), ("thôn",))
    code_header = f"Mã {count_word(table['kind'])}"  # "Mã phường"; "Mã đơn vị" for mixed kinds
    headers = [code_header, words.commune[:1].upper() + words.commune[1:], "Trạng thái"]
    formats: list[str] = []  # one per figure column, from column D on
    for code in codes:
        indicator = CATALOGUE_BY_CODE[code]
        name, unit = in_words(indicator.name_vi, words), in_words(indicator.unit, words)
        headers.append(f"{name} ({unit})")
        formats.append(COUNT_FORMAT if is_additive(code) else RATE_FORMAT)
        if f"rank_{code}" in table.columns:
            headers.append(f"Hạng: {name}")
            formats.append(RANK_FORMAT)
    sheet.append([safe_cell(title)])
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    ranked = {code: f"rank_{code}" in table.columns for code in codes}
    for row in table.itertuples(index=False):
        record = row._asdict()
        values = [
            record["commune_code"],
            record["name"],
            "có số liệu" if record["status"] == "ok" else "chưa có báo cáo",
        ]
        for code in codes:
            lost = bool(record.get(f"{REJECTED_PREFIX}{code}")) and pd.isna(record[code])
            values.append(REJECTED_CELL if lost else _figure(record[code]))
            if ranked[code]:
                values.append(_figure(record[f"rank_{code}"]))
        sheet.append([safe_cell(v) for v in values])
    for label, figures in (("Tổng", comparison.totals), ("Trung vị", comparison.medians)):
        values = [None, label, None]
        for code in codes:
            values.append(_figure(figures.get(code)))
            if ranked[code]:
                values.append(None)
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for column_cells, number_format in zip(
        sheet.iter_cols(min_row=3, min_col=4), formats, strict=True
    ):
        for cell in column_cells:
            cell.number_format = number_format
    for cell in sheet[sheet.max_row][3:]:  # a median of counts may fall between two
        if cell.number_format == COUNT_FORMAT and isinstance(cell.value, float):
            cell.number_format = RATE_FORMAT
    sheet.freeze_panes = "C3"
    sheet.column_dimensions["B"].width = 22
    write_workbook_fixed(path, book.save)
