"""Every table the pipeline writes for people to open in Excel is safe to open."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.core.config import Paths
from pipeline.core.sheets import safe_cell
from pipeline.running.comparisons import run_comparisons
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions

_RUNS_AS_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("-5", "-5"),  # a plain number is not a formula
        ("+84,5", "+84,5"),
        ("Thôn Bịch Đông", "Thôn Bịch Đông"),
        (12, 12),
    ],
)
def test_a_cell_that_would_run_as_a_formula_is_quoted(value: object, written: object) -> None:
    assert safe_cell(value) == written


PLANTED = [  # (activity row, header, a text that a spreadsheet would run), each row rejected
    (2, "Số người được hướng dẫn", "=1+1"),  # openpyxl writes it as a formula
    (3, "Cấp tổ", "@SUM(1)"),
    (4, "Số người được hướng dẫn", "+cmd|' /C calc'!A0"),
    (5, "Ngày", "-1+2"),
]


def _plant(workbook: Path) -> None:
    book = load_workbook(workbook)
    sheet = book["Nhật ký hoạt động"]
    headers = {cell.value: cell.column for cell in sheet[1]}
    for row, header, value in PLANTED:
        sheet.cell(row, headers[header], value)
    book.save(workbook)


def _cells(path: Path) -> list[object]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as file:
            return [cell for row in csv.reader(file) for cell in row]
    book = load_workbook(path, read_only=True)
    try:
        return [
            v for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row
        ]
    finally:
        book.close()


def test_no_exported_cell_runs_as_a_formula(district_copy: Paths) -> None:
    paths = district_copy
    _plant(paths.raw_year(2022) / "10627-nam-chinh.xlsx")
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    options = ReportOptions(formats=("html",))
    run_year(paths, 2022, communes, workers=1, echo=lambda *_: None, options=options)
    run_comparisons(paths, 2022, ["district:291"], options, echo=lambda *_: None)
    tables = sorted(
        p
        for folder in (paths.outputs, paths.processed)
        for p in folder.rglob("*")
        if p.suffix in (".csv", ".xlsx")
    )
    assert {p.name for p in tables} >= {"rejected.csv", "rejected.xlsx", "comparison.xlsx"}
    # The commune's own list of dropped rows reads under the year's Vietnamese headers.
    headers = {p.read_text("utf-8-sig").splitlines()[0] for p in tables if p.name == "rejected.csv"}
    assert len(headers) == 1 and headers.pop().startswith("Mã xã,Tệp,Trang tính,Dòng")
    seen: set[str] = set()
    for path in tables:
        for cell in _cells(path):
            if isinstance(cell, str):
                assert not cell.startswith(_RUNS_AS_FORMULA) or safe_cell(cell) == cell, (
                    path.relative_to(paths.base),
                    cell,
                )
                seen.add(cell)
    # The planted texts did reach the exports (as rejected values), quoted.
    assert {"'" + v for *_, v in PLANTED} <= seen, sorted(c for c in seen if c[:1] == "'")


def test_control_characters_never_stop_an_export(tmp_path: Path) -> None:
    """NUL, ESC, backspace (`_x0001_` in a cell reads as one) and a right-to-left override in
    rejected values: both exports are written, each character shown as its code."""
    from pipeline.writing.exports import export_rejected

    values = ["a\x01b", "\x1b[31mđỏ", "nul\x00", "xóa\x08", "\u202eabc"]
    rejected = pd.DataFrame(
        {
            "commune_code": "10627",
            "file": "10627-nam-chinh.xlsx",
            "sheet": "Nhật ký hoạt động",
            "excel_row": range(2, 2 + len(values)),
            "column": "Ghi chú",
            "value": values,
            "reason_code": "blank_row",
            "reason": "Dòng trống",
        }
    )
    export_rejected(rejected, tmp_path / "rejected")
    shown = ["a\\x01b", "\\x1b[31mđỏ", "nul\\x00", "xóa\\x08", "\\u202eabc"]
    for path in (tmp_path / "rejected.csv", tmp_path / "rejected.xlsx"):
        cells = _cells(path)
        assert all(v in cells for v in shown), (path.name, cells)
        assert not any(isinstance(c, str) and set(c) & set("\x00\x01\x08\x1b\u202e") for c in cells)


def test_more_rows_than_a_sheet_holds_are_split_with_a_note(tmp_path: Path) -> None:
    from pipeline.core.sheets import write_xlsx

    frame = pd.DataFrame({"Dòng": range(7), "Lý do": [f"r{i}" for i in range(7)]})
    write_xlsx(frame, tmp_path / "t.xlsx", "Dòng bị loại", rows_per_sheet=3)
    book = load_workbook(tmp_path / "t.xlsx", read_only=True)
    try:
        assert book.sheetnames == [
            "Dòng bị loại",
            "Dòng bị loại (2)",
            "Dòng bị loại (3)",
            "Ghi chú",
        ]
        rows = [
            row
            for name in book.sheetnames[:3]
            for row in book[name].iter_rows(min_row=2, values_only=True)
        ]
        assert rows == [(i, f"r{i}") for i in range(7)]
        assert [r[0] for r in book["Dòng bị loại (3)"].iter_rows(values_only=True)] == ["Dòng", 6]
        note = next(book["Ghi chú"].iter_rows(min_row=2, values_only=True))[0]
        assert note.startswith("7 dòng, nhiều hơn số dòng một trang tính chứa được (3)"), note
    finally:
        book.close()


def test_the_same_tables_give_the_same_workbook_bytes(tmp_path: Path, monkeypatch) -> None:
    """`rejected.xlsx` and `comparison.xlsx` carry no time of writing (openpyxl stamps it in the
    zip and in the document's properties): written at two different times, the same bytes."""
    import datetime as dt
    import io
    import zipfile

    import openpyxl.packaging.core
    import openpyxl.writer.excel

    from pipeline.measuring.compare import compare
    from pipeline.writing.exports import export_rejected, write_comparison_xlsx

    rejected = pd.DataFrame(
        {
            "commune_code": ["10627"],
            "file": ["10627-nam-chinh.xlsx"],
            "sheet": ["Thôn"],
            "excel_row": [3],
            "column": ["Số hộ"],
            "value": ["x"],
            "reason_code": ["invalid_number"],
            "reason": ["Số không đọc được"],
        }
    )
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    indicators = pd.DataFrame(
        {
            "commune_code": ["10627", "10645"],
            "indicator": ["members_total", "members_total"],
            "value": [12.0, 9.0],
            "missing_reason": ["", ""],
        }
    )

    class Clock(dt.datetime):
        shown = dt.datetime(2031, 5, 6, 7, 8, 9)

        @classmethod
        def now(cls, tz=None):
            return cls.shown

    written = []
    for moment in (dt.datetime(2031, 5, 6, 7, 8, 9), dt.datetime(2032, 1, 2, 3, 4, 5)):
        Clock.shown = moment
        monkeypatch.setattr(openpyxl.writer.excel.datetime, "datetime", Clock)
        monkeypatch.setattr(openpyxl.packaging.core.datetime, "datetime", Clock)
        monkeypatch.setattr(zipfile.time, "localtime", lambda *_, at=moment: at.timetuple())
        folder = tmp_path / str(moment.year)
        folder.mkdir()
        export_rejected(rejected, folder / "rejected")
        write_comparison_xlsx(compare(indicators, communes), folder / "comparison.xlsx", "Nam")
        written.append(
            {name: (folder / name).read_bytes() for name in ("rejected.xlsx", "comparison.xlsx")}
        )
    assert written[0] == written[1]
    for content in written[0].values():
        core = zipfile.ZipFile(io.BytesIO(content)).read("docProps/core.xml")
        assert b"2031" not in core and b"2000-01-01T00:00:00Z" in core
