"""A corpus of bad input, made by code: each case ends in one clear message or a counted repair,
never a crash, and the other communes are not affected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.config import Paths
from pipeline.errors import PipelineError
from pipeline.registry import find_commune
from pipeline.runner import ReportOptions, prepare_chunk, run_year
from pipeline.sample import generate


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("bad") / "raw"
    generate(raw, years=(2022,), only=("nam-chinh", "an-lam"), activity_rows=(40, 50))
    return raw


def _edit(source: Path, target: Path, change) -> Path:
    shutil.copy(source / "2022" / "nam-chinh.xlsx", target)
    if change is not None:
        book = load_workbook(target)
        change(book)
        book.save(target)
    return target


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _merged_title(book) -> None:
    sheet = book["Thành viên"]
    sheet.insert_rows(1)
    sheet["A1"] = "DANH SÁCH THÀNH VIÊN"
    sheet.merge_cells("A1:H1")


def _formulas(book) -> None:
    sheet = book["Nhật ký hoạt động"]
    sheet["I2"] = "=5+7"  # openpyxl saves no cached value: Excel would, a script may not


def _extra_and_missing_columns(book) -> None:
    sheet = book["Nhật ký hoạt động"]
    sheet.delete_cols(10)  # "Ghi chú", optional
    sheet.cell(1, 12, "Cột thêm")


def _hostile_names(book) -> None:
    book["Thôn"]["A2"] = '../../etc <script>x</script> =HYPERLINK("http://x") \u202eabc'


def _all_empty(book) -> None:
    for sheet in book.worksheets:
        sheet.delete_rows(2, sheet.max_row)


CASES = {
    # name: (how to break the file, what must come out: a message part, or None for a repair)
    "truncated zip": (_truncate, "cannot be read as a workbook"),
    "old xls or password": (
        lambda p: p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512),
        "old-format (.xls) or password-protected",
    ),
    "not a workbook at all": (
        lambda p: p.write_text("hello", encoding="utf-8"),
        "cannot be read as a workbook",
    ),
    "merged title above headers": (_merged_title, None),
    "hidden sheet": (lambda book: setattr(book["Thôn"], "sheet_state", "hidden"), None),
    "formula without value": (_formulas, None),
    "extra and missing columns": (_extra_and_missing_columns, None),
    "names with ../ <script> =HYPERLINK and RTL": (_hostile_names, None),
    "every row empty": (_all_empty, "the commune information sheet has no row"),
    "required sheet removed": (
        lambda book: book.remove(book["Thành viên"]),
        "required sheet 'Thành viên' is missing",
    ),
}


FILE_CASES = {"truncated zip", "old xls or password", "not a workbook at all"}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_repaired_or_refused_clearly(source: Path, tmp_path: Path, case: str) -> None:
    change, expected = CASES[case]
    paths = Paths.under(tmp_path)
    shutil.copytree(source, paths.raw)
    target = paths.raw_year(2022) / "nam-chinh.xlsx"
    if case in FILE_CASES:  # the bytes themselves are broken
        change(target)
    else:  # a readable workbook, changed as people change them
        _edit(source, target, change)
    communes = [find_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    prepared = prepare_chunk(paths, 2022, communes)
    assert "10645" not in prepared.problems  # the other commune is not affected
    if expected is None:
        assert "10627" not in prepared.problems, prepared.problems.get("10627")
        assert len(prepared.result.tables["members"]) > 0
    else:
        message = prepared.problems["10627"]
        assert expected in message and "nam-chinh.xlsx" in message, message
        assert "Traceback" not in message


def test_the_run_goes_on_and_writes_only_where_it_should(source: Path, tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "home")
    shutil.copytree(source, paths.raw)
    _hostile_names_book = load_workbook(paths.raw_year(2022) / "an-lam.xlsx")
    _hostile_names(_hostile_names_book)
    _hostile_names_book.save(paths.raw_year(2022) / "an-lam.xlsx")
    _truncate(paths.raw_year(2022) / "nam-chinh.xlsx")
    before = {p for p in tmp_path.rglob("*")}
    runs = run_year(
        paths,
        2022,
        [find_commune(2022, s) for s in ("nam-chinh", "an-lam")],
        workers=1,
        echo=lambda *_: None,
        options=ReportOptions(formats=("html",)),
    )
    assert [r.status for r in runs] == ["failed", "ok"]
    written = {p for p in tmp_path.rglob("*")} - before
    allowed = (paths.outputs, paths.processed)
    assert all(any(p.is_relative_to(a) for a in allowed) for p in written), sorted(
        str(p) for p in written if not any(p.is_relative_to(a) for a in allowed)
    )[:5]
    html = (paths.outputs_year(2022) / "10645-an-lam" / "report.html").read_text("utf-8")
    assert "<script>x" not in html


def test_a_big_sheet_is_read(source: Path, tmp_path: Path) -> None:
    target = _edit(source, tmp_path / "nam-chinh.xlsx", None)
    book = load_workbook(target)
    sheet = book["Nhật ký hoạt động"]
    row = [c.value for c in sheet[2]]
    for _ in range(200_000 - sheet.max_row):
        sheet.append(row)
    book.save(target)
    from pipeline.clean import clean_workbook
    from pipeline.ingest import read_workbook

    try:
        result = clean_workbook(read_workbook(target), "10627", 2022)
    except PipelineError as exc:  # pragma: no cover - would be a failure with its message
        pytest.fail(str(exc))
    # Repeated copies of one row are duplicates: kept once, the rest rejected with the reason.
    assert (result.rejected["reason_code"] == "duplicate_row").sum() > 190_000
