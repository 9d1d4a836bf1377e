"""Reading an analyst's workbook into raw tables keyed by the data contract.

Headers are matched the way people write them (any case, with or without diacritics, synonyms).
Cells are kept as read: cleaning is another module's job. Each row keeps its Excel row number,
and says what reading it could not take at face value: a CSV line in another encoding than the
rest of its file, a formula saved without its value.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import python_calamine

from pipeline.core import contract
from pipeline.core.errors import InputError
from pipeline.core.limits import Limits, check_csv, check_path, check_workbook
from pipeline.core.vntext import is_vietnamese_syllable, match_key, repair
from pipeline.measuring.settings import default_limits

ROW = "_row"  # the row number as Excel shows it
DECODED = "_decoded"  # the legacy encoding of a CSV row in a file otherwise UTF-8
FORMULAS = "_formulas"  # {column key: formula} for cells holding a formula but no saved value
# Compound File (OLE) header: .xls files, and .xlsx files encrypted with a password.
_OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
T = TypeVar("T")
Cells = list[list[object]] | np.ndarray  # rows of equal width; an empty cell is None


@dataclass(frozen=True)
class Grid:
    """A sheet's cells as read (row 0 is Excel's row 1), and what could not be read as is."""

    cells: Cells
    decoded: dict[int, str]  # grid row -> legacy encoding it was read in
    formulas: dict[tuple[int, int], str]  # (grid row, grid column) -> formula without value


@dataclass(frozen=True)
class RawWorkbook:
    path: Path
    tables: dict[str, pd.DataFrame]  # sheet key -> columns by key, plus ROW
    sheet_names: dict[str, str]  # sheet key -> the sheet's name in the file
    # sheet key -> headers that name no column of the contract: their cells are not read
    unread_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _names(header: str, synonyms: tuple[str, ...]) -> set[str]:
    return {match_key(name) for name in (header, *synonyms)}


def _find_sheet(sheet: contract.Sheet, available: list[str], file: Path) -> str | None:
    """The one sheet that is this sheet of the contract. Two that both are ("NHAT KY HOAT DONG"
    beside "Nhật ký hoạt động") are refused: which holds the rows is the analyst's call, and
    reading both could count a row twice."""
    wanted = _names(sheet.name, sheet.synonyms)
    found = [name for name in available if match_key(name) in wanted]
    if len(found) > 1:
        raise InputError(
            f"{len(found)} sheets are the '{sheet.name}' sheet: "
            f"{', '.join(repr(name) for name in found)}; keep its rows in one of them and "
            "delete or rename the other",
            file=file.name,
            sheet=found[1],
        )
    return found[0] if found else None


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _header_row(grid: Cells) -> int | None:
    for index, row in enumerate(grid[:10]):
        filled = sum(not _empty(v) for v in row)
        if filled >= 2 or (len(row) == 1 and filled == 1):
            return index
    return None


def _table(
    read: Grid, sheet: contract.Sheet, sheet_name: str, file: Path
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The sheet's rows by column key, and the headers that name no column of the contract."""
    grid = read.cells
    header_index = _header_row(grid)
    columns: dict[str, int] = {}
    if header_index is not None:
        headers = [match_key(str(v)) if not _empty(v) else "" for v in grid[header_index]]
        for column in sheet.columns:
            wanted = _names(column.header, column.synonyms)
            position = next((i for i, h in enumerate(headers) if h in wanted), None)
            if position is not None and position not in columns.values():
                columns[column.key] = position
    missing = [c for c in sheet.columns if c.required and c.key not in columns]
    if missing:
        raise InputError(
            f"required column '{missing[0].header}' not found; the sheet's first row must hold "
            f"the headers ({', '.join(c.header for c in sheet.columns)})",
            file=file.name,
            sheet=sheet_name,
            row=(header_index or 0) + 1,
            column=missing[0].header,
        )
    assert header_index is not None
    body = grid[header_index + 1 :]
    rows = range(header_index + 1, len(grid))  # grid rows of the body (Excel's row - 1)
    keys = [column.key for column in sheet.columns]
    # Column 0 is the row number (set below); the others are one object block, as read:
    # cleaning types the columns. An object array starts as None throughout.
    cells = np.empty((len(body), 1 + len(keys)), dtype=object)
    if len(body):
        taken = [j for j, key in enumerate(keys) if key in columns]
        as_array = np.asarray(body, dtype=object).reshape(len(body), -1)
        cells[:, [1 + j for j in taken]] = as_array[:, [columns[keys[j]] for j in taken]]
    table = pd.DataFrame(cells, columns=_column_index((ROW, *keys)), dtype=object)
    table.isetitem(0, np.arange(header_index + 2, len(grid) + 1, dtype="int64"))
    if read.decoded:
        table[DECODED] = [read.decoded.get(i) for i in rows]
    key_at = {position: key for key, position in columns.items()}
    per_row: dict[int, dict[str, str]] = {}
    for (row, position), formula in read.formulas.items():
        if position in key_at:
            per_row.setdefault(row, {})[key_at[position]] = formula
    if per_row:
        table[FORMULAS] = [per_row.get(i) for i in rows]
    unread = tuple(
        str(value).strip()
        for i, value in enumerate(grid[header_index])
        if i not in columns.values() and not _empty(value) and str(value).strip()
    )
    return table, unread


@lru_cache(maxsize=64)
def _column_index(keys: tuple[str, ...]) -> pd.Index:
    """A sheet's column labels, built once: an Index of strings costs more to build than a
    small sheet's frame (an Index is immutable, so frames may share it)."""
    return pd.Index(keys)


def read_workbook(
    path: Path, limits: Limits | None = None, root: Path | None = None
) -> RawWorkbook:
    """Every sheet of the data contract found in a workbook (.xlsx, .xlsm) or a folder of CSV
    files. Only values are read: a macro is never run.

    Only a regular file (or folder of them) inside `root` (by default the workbook's folder) is
    read, and only within `limits` (by default the packaged settings'): see `pipeline.core.limits`.
    """
    if not path.exists() and not path.is_symlink():
        raise InputError(
            f"workbook not found in the year's raw folder ({path.parent.name}/); put the "
            "commune's workbook there, or run `cnscd sample`",
            file=path.name,
        )
    check_path(path, root if root is not None else path.parent)
    limits = limits or default_limits()
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(
            "the file is empty (0 bytes): it was not saved whole; ask for it again",
            file=path.name,
        )
    if path.is_file():
        with open(path, "rb") as f:
            old_format = f.read(8) == _OLE_SIGNATURE
        if old_format:
            raise InputError(
                "this is an old-format (.xls) or password-protected workbook, not an "
                ".xlsx: open it in Excel, remove the password if any, and save it as "
                "Excel Workbook (.xlsx)",
                file=path.name,
            )
    grids = _reading(path, partial(_read_grids, path, limits))
    tables: dict[str, pd.DataFrame] = {}
    sheet_names: dict[str, str] = {}
    unread_columns: dict[str, tuple[str, ...]] = {}
    for sheet in contract.SHEETS:
        found = _find_sheet(sheet, list(grids), path)
        if found is None:
            if sheet.required:
                raise InputError(
                    f"required sheet '{sheet.name}' is missing (sheets found: "
                    f"{', '.join(grids) or 'none'})",
                    file=path.name,
                    sheet=sheet.name,
                )
            continue
        tables[sheet.key], unread = _table(_reading(path, grids[found]), sheet, found, path)
        sheet_names[sheet.key] = found
        if unread:
            unread_columns[sheet.key] = unread
    return RawWorkbook(path, tables, sheet_names, unread_columns)


def _reading(path: Path, read: Callable[[], T]) -> T:
    """What `read` gives, its failures said as one message naming the file."""
    try:
        return read()
    except InputError:
        raise
    except Exception as exc:  # the reader's own message says what is wrong with the file
        reason = f"{type(exc).__name__}: {exc}"
        raise InputError(
            f"cannot be read as a folder of CSV files ({reason})"
            if path.is_dir()
            else f"cannot be read as a workbook: it is damaged or not an Excel file ({reason}); "
            "open it in Excel and save it again as .xlsx, or ask for it again",
            file=path.name,
        ) from exc


def _cells(rows: list[list[object]]) -> list[list[object]]:
    """Cells as read, rows padded to one width; an empty cell (calamine and csv give "") is None."""
    width = max((len(row) for row in rows), default=0)
    return [[None if v == "" else v for v in row] + [None] * (width - len(row)) for row in rows]


def _cell_array(rows: list[list[object]]) -> np.ndarray:
    """What `_cells` gives, as one object array, built and blanked in bulk (for a workbook's
    sheet, which calamine gives as rows of one width)."""
    width = max((len(row) for row in rows), default=0)
    if any(len(row) != width for row in rows):
        rows = [row + [""] * (width - len(row)) for row in rows]
    cells = np.empty((len(rows), width), dtype=object)
    if len(rows) and width:
        cells[:] = rows
        cells[cells == ""] = None
    return cells


def _read_grids(path: Path, limits: Limits) -> dict[str, Callable[[], Grid]]:
    """Every sheet, by name, as a function giving its grid of cells as read (row 0 is Excel's
    row 1): only the sheets of the contract are read, once each is found."""
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        for file in files:
            check_csv(file, limits)

        def csv_grid(file: Path) -> Grid:
            rows, decoded = read_csv_rows(file)
            return Grid(_cells(rows), decoded, {})

        return {file.stem: partial(csv_grid, file) for file in files}
    sheets = {sheet.name: sheet for sheet in check_workbook(path, limits)}
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))

    def grid(name: str) -> Grid:
        cells = _cell_array(workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
        xml = sheets[name].xml if name in sheets else b""
        # A byte search first: most sheets hold no error cell and no formula at all.
        if b't="e"' in xml and _ERROR_CELL.search(xml):
            _restore_error_cells(path, name, cells)
        formulas = (
            _formulas_without_value(path, name, cells)
            if b"<f" in xml and _FORMULA_WITHOUT_VALUE.search(xml)
            else {}
        )
        return Grid(cells, {}, formulas)

    unseen = [name for name in workbook.sheet_names if name not in sheets]
    if unseen:  # the limits' scan did not see it: the reader is not trusted with it
        raise InputError(
            f"sheet '{unseen[0]}' is listed but its part cannot be found in the file; open it "
            "in Excel and save it again as .xlsx",
            file=path.name,
            sheet=unseen[0],
        )
    return {name: partial(grid, name) for name in workbook.sheet_names}


_ERROR_CELL = re.compile(rb'<c [^>]*t="e"')


def _restore_error_cells(path: Path, name: str, grid: Cells) -> None:
    """Excel error cells (#REF!, #DIV/0!) read as empty: put their error text back, in place,
    so that cleaning refuses them with their own reason rather than as missing. Looked for only
    in sheets that have some."""
    from openpyxl import load_workbook  # slow to import, and needed only here

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # only the reason's wording depends on it: the cells still read empty
        return
    try:
        for r, row in enumerate(book[name].iter_rows()):
            for c, cell in enumerate(row):
                error = getattr(cell, "data_type", None) == "e"
                if error and r < len(grid) and c < len(grid[r]):
                    grid[r][c] = str(cell.value)
    finally:
        book.close()


# A formula cell that Excel saved has its value after it (`<f>A1+1</f><v>3</v></c>`); one
# written by a script may have none, or an empty one (`<v />`). Only then is the workbook read
# again, cell by cell, to find which.
_FORMULA_WITHOUT_VALUE = re.compile(rb"(?:</f>|<f[^>]*/>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")


def _formulas_without_value(path: Path, name: str, grid: Cells) -> dict[tuple[int, int], str]:
    """Cells that hold a formula but no saved value (a file written by a script, not Excel):
    they read as empty, and cleaning should say why. Looked for only in sheets that have some."""
    from openpyxl import load_workbook  # slow to import, and needed only here

    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except Exception:  # only the reason's wording depends on it: the rows still count
        return {}
    try:
        found: dict[tuple[int, int], str] = {}
        for r, row in enumerate(book[name].iter_rows(values_only=True)):
            for c, value in enumerate(row):
                if (
                    isinstance(value, str)
                    and value.startswith("=")
                    and (r >= len(grid) or c >= len(grid[r]) or grid[r][c] is None)
                ):
                    found[(r, c)] = value
        return found
    finally:
        book.close()


def detect_csv_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or not) or Windows-1258, from the bytes.

    Bytes that are neither UTF-8 nor UTF-16 are single-byte: Windows-1258, unless they read as
    a legacy font's text (TCVN3/VNI as Latin-1), which the text repair then decodes.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:4096]
    if sample and sample.count(0) > len(sample) // 4:
        return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    as_1258 = unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))
    as_latin1 = data.decode("latin-1")
    if _implausible(as_1258) > _implausible(repair(as_latin1)):
        return "latin-1"
    return "cp1258"


def _implausible(text: str) -> int:
    return sum(
        1
        for word in re.findall(r"[^\W\d_]+", text)
        if not word.isascii() and not is_vietnamese_syllable(word)
    )


def decode_csv(data: bytes) -> tuple[str, dict[int, str]]:
    """A CSV file's text, and its lines (from 0) read in a legacy encoding because the file
    mixes them with UTF-8 lines, as when rows typed on another computer are pasted in."""
    encoding = detect_csv_encoding(data)
    if encoding == "utf-8-sig":  # Excel's "CSV UTF-8": legacy lines may be pasted in it too
        try:
            return data.decode(encoding), {}
        except UnicodeDecodeError:
            data = data[len(codecs.BOM_UTF8) :]
    elif encoding not in ("cp1258", "latin-1"):
        return data.decode(encoding), {}
    lines = data.splitlines(keepends=True)
    legacy, utf8 = [], 0
    for number, line in enumerate(lines):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            legacy.append(number)
    legacy_encoding = detect_csv_encoding(b"".join(lines[n] for n in legacy))
    if not utf8:  # one encoding throughout
        return data.decode(legacy_encoding), {}
    read_as = dict.fromkeys(legacy, legacy_encoding)
    text = "".join(line.decode(read_as.get(n, "utf-8")) for n, line in enumerate(lines))
    return text, read_as


def read_csv_rows(path: Path) -> tuple[list[list[object]], dict[int, str]]:
    """The rows of a CSV file, and the rows (from 0) read in a legacy encoding with the name of
    that encoding (see `decode_csv`)."""
    text, legacy_lines = decode_csv(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[object]] = []
    decoded: dict[int, str] = {}
    first_line = 0
    for row in reader:  # a quoted cell may span lines: a row is legacy if any of its lines is
        legacy = {legacy_lines[n] for n in range(first_line, reader.line_num) if n in legacy_lines}
        if legacy:
            decoded[len(rows)] = legacy.pop()
        rows.append(row)
        first_line = reader.line_num
    return rows, decoded
