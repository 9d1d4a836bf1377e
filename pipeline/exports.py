"""Tables written for people to open in Excel: readable, and safe to open."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from pipeline.files import write_atomically, write_workbook_fixed

# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")  # "-5" is a number to Excel, not a formula


# Characters no spreadsheet may hold (XML 1.0 refuses them; openpyxl raises) or that would
# reorder the text around them: written as their code, visible and harmless ("\x01").
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
EXCEL_ROWS = 1_048_576  # rows of an Excel sheet, its header row included


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_cell(value: object) -> object:
    """A text that a spreadsheet would run as a formula, prefixed with a quote (OWASP's advice
    for CSV injection), its control characters escaped; anything else as it is."""
    if not isinstance(value, str):
        return value
    value = _UNSAFE.sub(_escaped, value)
    if value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell made safe to open (`safe_cell`)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = _safe_column(out[column])
    return out


def _safe_column(values: pd.Series) -> pd.Series:
    # Per distinct value, and only the texts it changes replaced: most cells need nothing.
    changed = {
        value: safe
        for value in pd.unique(values.dropna())
        if isinstance(value, str) and (safe := safe_cell(value)) != value
    }
    return values.replace(changed) if changed else values


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with a byte order mark, so Excel shows Vietnamese correctly."""
    write_csv_in_parts([frame], path)


def write_csv_in_parts(frames: Iterable[pd.DataFrame], path: Path) -> None:
    """`write_csv` of frames one after another under the first one's header: a table too big
    to hold at once (a million rejected rows) written a part at a time."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as handle:
            for number, frame in enumerate(frames):
                neutralise(frame).to_csv(handle, index=False, header=number == 0)

    write_atomically(path, write)


def write_xlsx(
    frame: pd.DataFrame, path: Path, sheet: str, rows_per_sheet: int = EXCEL_ROWS - 1
) -> None:
    """One sheet, or, for more rows than a sheet holds, `{sheet}`, `{sheet} (2)`… and a sheet
    "Ghi chú" that says so."""
    safe = neutralise(frame)
    parts = [safe.iloc[i : i + rows_per_sheet] for i in range(0, len(safe), rows_per_sheet)]
    parts = parts or [safe]

    def write(p: io.BytesIO) -> None:
        with pd.ExcelWriter(p, engine="openpyxl") as writer:
            for number, part in enumerate(parts, start=1):
                name = sheet if number == 1 else f"{sheet} ({number})"
                part.to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
            if len(parts) > 1:
                rows, limit = (f"{n:,}".replace(",", ".") for n in (len(safe), rows_per_sheet))
                note = (
                    f"{rows} dòng, nhiều hơn số dòng một trang tính chứa được ({limit}): chia "
                    f"thành {len(parts)} trang tính '{sheet}', '{sheet} (2)'…; tệp .csv cùng "
                    "tên có đủ các dòng trong một bảng."
                )
                pd.DataFrame({"Ghi chú": [note]}).to_excel(
                    writer, sheet_name="Ghi chú", index=False
                )

    write_workbook_fixed(path, write)


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
    `report.words_of_group`: 'cấp xã, phường', 'ấp, khóm', as the PDF writes them), number
    formats, frozen headers.

    Counts are integers (`#,##0`), shares and rates keep one decimal (`#,##0.0`); a ranked figure
    is followed by its rank. Below the communes, the group's total (counts only) and median.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from pipeline.compare import REJECTED_CELL, REJECTED_PREFIX, is_additive, unit_words
    from pipeline.indicators import CATALOGUE_BY_CODE
    from pipeline.units import UnitWords, count_word, in_words

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
