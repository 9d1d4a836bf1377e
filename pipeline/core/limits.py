"""What a workbook may be before any reader builds a grid from it.

A workbook comes by e-mail from a commune office: it may be a FIFO or a link out of the data
folder, a zip whose sheet inflates to gigabytes, or a tiny file with one cell at XFD1048576
(a reader would allocate a grid of 17 billion cells). Each is refused here, from the file's
kind, the zip's directory and a byte scan of each sheet's XML, with a message saying what to do.
The limits are declared in the settings (`[limits]`), generous for real files.
"""

from __future__ import annotations

import os
import re
import stat
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path, PurePosixPath

from pipeline.core.errors import InputError

_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """`[limits]` of the settings: see settings.toml for what each one bounds."""

    max_part_mb: int = 256
    max_workbook_mb: int = 1024
    max_csv_mb: int = 256
    max_rows: int = 250_000
    max_columns: int = 1_024
    max_grid_cells: int = 50_000_000
    worker_memory_mb: int = 4_096

    @classmethod
    def from_settings(cls, settings: dict) -> Limits:
        given = settings.get("limits", {})
        return cls(**{f.name: int(given[f.name]) for f in fields(cls) if f.name in given})


def check_path(path: Path, root: Path, shown: str | None = None) -> None:
    """A regular file (or a folder of them) inside `root`, that this process may open.

    `shown` is how a message names the file (`folder/file.csv` for a CSV of a folder)."""
    shown = shown or path.name
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # a loop of links
        target = None
    if target is None or not target.is_relative_to(root.resolve()):
        raise InputError(
            f"is a link to a place outside {root.name}/ ({target or 'a loop of links'}); copy "
            "the workbook itself into the folder",
            file=shown,
        )
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror}); check the file", file=shown) from exc
    if stat.S_ISDIR(mode):
        for entry in sorted(path.glob("*.csv")):
            check_path(entry, root, f"{shown}/{entry.name}")
        return
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise InputError(
            f"is {kind}, not a regular file: only workbooks saved as files are read",
            file=shown,
        )
    try:  # non-blocking: a file that became a FIFO since stat must not hang the run
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    except PermissionError as exc:
        raise InputError(
            "cannot be read: permission denied; give the account running cnscd the right to "
            "read it (chmod a+r)",
            file=shown,
        ) from exc
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=shown) from exc


def check_csv(path: Path, limits: Limits) -> None:
    size = path.stat().st_size
    if size > limits.max_csv_mb * _MB:
        raise InputError(
            f"the CSV file is {size / _MB:,.0f} MB, beyond the limit of {limits.max_csv_mb} MB "
            "per file ([limits] max_csv_mb); a commune's data fits in far less: check it",
            file=path.name,
        )


@dataclass(frozen=True)
class SheetXml:
    """A sheet's name, its part in the zip, and its XML (read within the limits)."""

    name: str
    part: str
    xml: bytes


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, part name) in the workbook's order."""
    try:
        book = ET.fromstring(archive.read("xl/workbook.xml"))
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return []  # not a workbook: the reader says so in its own words
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    found = []
    for sheet in book.iter(f"{_SHEET_NS}sheet"):
        target = targets.get(sheet.get(f"{_REL_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        found.append((sheet.get("name", ""), str(PurePosixPath(os.path.normpath(part)))))
    return found


# Only addresses as long as the limits' (rows from 100,000 and columns from AA by default) are
# looked at one by one: a normal sheet is scanned at the speed of a byte search.
_FAR = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})(\d+)"')


@lru_cache(maxsize=8)
def _far_patterns(max_rows: int, max_columns: int) -> tuple[re.Pattern, re.Pattern]:
    digits, letters = len(str(max_rows)), min(3, len(_column_letters(max_columns)))
    rows = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="(\d{%d,})"' % digits)
    # Starts with a literal, which the regex engine looks for at the speed of a byte search.
    hint = re.compile(rb'r="(?:[A-Z]{0,3}\d{%d}|[A-Z]{%d,3}\d)' % (digits, letters))
    return rows, hint


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)>")
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_CELL_END = re.compile(rb"</(?:\w+:)?c>|<(?:\w+:)?c\s")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _holds_value(xml: bytes, start: int) -> bool:
    """Whether the cell whose tag ends at `start` holds a value (`<v>` or `<is>`)."""
    if xml[start - 2 : start] == b"/>":
        return False
    end = _CELL_END.search(xml, start)
    body = xml[start : end.start() if end else len(xml)]
    return _VALUE.search(body) is not None


def _far_cell(xml: bytes, limits: Limits) -> str | None:
    """The first cell holding a value beyond the limits, as Excel names it (`XFD1048576`)."""
    far_rows, hint = _far_patterns(limits.max_rows, limits.max_columns)
    if not hint.search(xml):  # no address as long as a far one: the usual case
        return None
    for match in _FAR.finditer(xml):
        letters, row = match.group(1), int(match.group(2))
        if row <= limits.max_rows and _column_number(letters) <= limits.max_columns:
            continue
        tag_end = xml.find(b">", match.end()) + 1
        if tag_end and _holds_value(xml, tag_end):
            return f"cell {letters.decode()}{row}"
    for match in far_rows.finditer(xml):  # cells without an address are placed by their row
        if int(match.group(1)) <= limits.max_rows:
            continue
        end = _ROW_END.search(xml, match.end())
        if _VALUE.search(xml, match.end(), end.start() if end else len(xml)):
            return f"row {int(match.group(1))}"
    return None


_ROW_START = re.compile(rb"<(?:\w+:)?row[\s>]")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')


def _last_valued_row(xml: bytes) -> int:
    """The number of the last row holding a value (0 for none), looked for from the end: rows
    of formatting only at the end of a sheet are common, rows of values after them are not."""
    # In windows from the end, each twice the last: a sheet's last rows are read, not all its
    # rows (listing every row start cost 5 ms of a post-merger workbook's 140 ms of cleaning).
    following, high, window = len(xml), len(xml), _LAST_ROW_WINDOW
    while high > 0:
        low = max(0, high - window)
        starts = []
        for match in _ROW_START.finditer(xml, low):
            if match.start() >= high:  # looked at in the window before
                break
            starts.append(match.start())
        ends = [*starts[1:], following] if starts else []
        for start, end in reversed(list(zip(starts, ends, strict=True))):
            if _VALUE.search(xml, start, end):
                tag = xml[start : xml.find(b">", start) + 1]
                number = _ROW_NUMBER.search(tag)
                if number:
                    return int(number.group(1))
                return 1 + sum(1 for _ in _ROW_START.finditer(xml, 0, start))  # its position
        if starts:
            following = starts[0]
        high, window = low, window * 2
    return 0


_LAST_ROW_WINDOW = 64 * 1024  # bytes: a few hundred rows of an ordinary sheet


def _grid_cell(xml: bytes, limits: Limits) -> str | None:
    """A valued cell that makes the sheet's grid (its last valued row times its last valued
    column) larger than `max_grid_cells`, as Excel names it. The reader holds every cell of that
    rectangle, empty ones too (calamine's range takes 31 bytes a cell, measured), so one value
    far from the others costs as much as a full sheet."""
    cells = limits.max_grid_cells
    rows = _last_valued_row(xml)
    if rows * limits.max_columns <= cells:
        return None
    columns = max(1, cells // max(rows, 1))
    return _far_cell(xml, Limits(max_rows=limits.max_rows, max_columns=columns))


def check_workbook(path: Path, limits: Limits) -> list[SheetXml]:
    """The sheets' XML of an .xlsx, once the zip's directory and each sheet's used range are
    within the limits. Trailing rows without a value (formatting only) do not count."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        largest = max(infos, key=lambda i: i.file_size, default=None)
        if largest is not None and largest.file_size > limits.max_part_mb * _MB:
            raise InputError(
                f"part {largest.filename} of the workbook inflates to "
                f"{largest.file_size / _MB:,.0f} MB, beyond the limit of {limits.max_part_mb} MB "
                "([limits] max_part_mb): it is not an ordinary workbook; ask for it again",
                file=path.name,
            )
        total = sum(i.file_size for i in infos)
        if total > limits.max_workbook_mb * _MB:
            raise InputError(
                f"the workbook inflates to {total / _MB:,.0f} MB, beyond the limit of "
                f"{limits.max_workbook_mb} MB ([limits] max_workbook_mb); ask for it again",
                file=path.name,
            )
        sheets = []
        for name, part in _sheet_parts(archive):
            try:
                info = archive.getinfo(part)
            except KeyError:
                continue
            with archive.open(info) as stream:  # stops at the directory's size, checks the CRC
                xml = stream.read(info.file_size + 1)
            far = _far_cell(xml, limits)
            if far is not None:
                raise InputError(
                    f"{far} holds a value beyond the sheet's limit of {limits.max_rows:,} "
                    f"rows and {limits.max_columns:,} columns ([limits] max_rows, max_columns): "
                    "delete that stray cell (Ctrl+End shows it) and save again",
                    file=path.name,
                    sheet=name,
                )
            wide = _grid_cell(xml, limits)
            if wide is not None:
                raise InputError(
                    f"{wide} holds a value so far from the others that the sheet would be read "
                    f"as more than {limits.max_grid_cells:,} cells ([limits] max_grid_cells): "
                    "delete that stray cell (Ctrl+End shows it) and save again",
                    file=path.name,
                    sheet=name,
                )
            sheets.append(SheetXml(name, part, xml))
        return sheets
