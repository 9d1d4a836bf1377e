"""Cells and tables written for people to open in Excel or a CSV reader: safe to open (no cell
runs as a formula, no control character), one sheet or several when rows exceed a sheet."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from pipeline.core.files import write_atomically, write_workbook_fixed

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
