"""A corpus of bad input, made by code: each case ends in one clear message or a counted repair,
never a crash, and the other communes are not affected.

Each case sets up the commune's files in the year's raw folder as people send them, and says
what must come out: a message (the commune is refused, and the message names the file, and the
sheet, row and column where there is one), or a check that the repair was made and counted.
"""

from __future__ import annotations

import faulthandler
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.styles import Font
from workbooks import as_csv_folder, by_line, run_unprivileged

from pipeline.core.config import Paths
from pipeline.core.errors import PipelineError
from pipeline.core.limits import Limits
from pipeline.reading.clean import CleanResult
from pipeline.running.preparing import prepare_chunk, prepare_communes
from pipeline.running.runner import run_year
from pipeline.sample import encode_cp1258, encode_tcvn3, generate, sample_commune
from pipeline.writing.options import ReportOptions

CODE, OTHER = "10627", "10645"  # nam-chinh, broken in each case; an-lam, never touched
ACTIVITIES, MEMBERS = "Nhật ký hoạt động", "Thành viên"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("bad") / "raw"
    generate(raw, years=(2022,), only=("nam-chinh", "an-lam"), activity_rows=(40, 50))
    return raw


# --- ways to break a file: each takes the commune's workbook in the raw folder ---------------


def _edited(change: Callable) -> Callable[[Path], None]:
    """A readable workbook, changed in Excel's own terms."""

    def apply(target: Path) -> None:
        book = load_workbook(target)
        change(book)
        book.save(target)

    return apply


def _truncate(target: Path) -> None:
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])


def _as_old_xls(target: Path) -> None:
    target.unlink()
    (target.parent / "nam-chinh.xls").write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512)


def _as_xlsm(target: Path) -> None:
    """Saved as a macro-enabled workbook, with a macro project inside."""
    xlsm = target.with_suffix(".xlsm")
    with zipfile.ZipFile(target) as source, zipfile.ZipFile(xlsm, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml"
                )
            out.writestr(item, data)
        out.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not run")
    target.unlink()


def _two_workbooks(target: Path) -> None:
    shutil.copy(target, target.with_suffix(".xlsm"))


def _merged_title(book) -> None:
    sheet = book[MEMBERS]
    sheet.insert_rows(1)
    sheet["A1"] = "DANH SÁCH THÀNH VIÊN"
    sheet.merge_cells("A1:H1")


def _formula_without_value(book) -> None:
    book[ACTIVITIES]["I2"] = "=5+7"  # openpyxl saves no cached value: Excel would, a script may not


def _formula_with_its_value(target: Path) -> None:
    """A formula as Excel saves it: the formula, then the value it gave."""
    _edited(_formula_without_value)(target)
    saved = target.with_suffix(".tmp")
    with zipfile.ZipFile(target) as source, zipfile.ZipFile(saved, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                # `<v />` or `<v></v>`: openpyxl writes either, as lxml is installed or not
                data = re.sub(
                    rb"<f>5\+7</f><v\s*/>|<f>5\+7</f><v></v>", b"<f>5+7</f><v>12</v>", data
                )
            out.writestr(item, data)
    saved.replace(target)


def _people_at_row(row: int, people: int) -> Callable[[CleanResult], None]:
    def check(result: CleanResult) -> None:
        activities = result.tables["activities"]
        mine = activities[(activities["commune_code"] == CODE) & (activities["_row"] == row)]
        assert mine["people"].tolist() == [people]

    return check


def _extra_and_missing_columns(book) -> None:
    sheet = book[ACTIVITIES]
    sheet.delete_cols(10)  # "Ghi chú", optional
    sheet.cell(1, 12, "Cột thêm")


HOSTILE = '../../etc <script>x</script> =HYPERLINK("http://x") \u202eabc'


def _hostile_names(book) -> None:
    """The commune's own name, a village, a member, an activity's note and the subject of a
    decision (which the report quotes), written to harm."""
    book["Thông tin xã"]["B2"] = HOSTILE
    book["Văn bản"]["E2"] = HOSTILE
    book["Thôn"]["A2"] = HOSTILE
    book[MEMBERS]["C2"] = HOSTILE
    book[ACTIVITIES]["J2"] = HOSTILE


def _corrupt_sheet_xml(target: Path) -> None:
    """A whole zip whose activity sheet is not XML any more (a disk or mail error)."""
    damaged = target.with_suffix(".tmp")
    with zipfile.ZipFile(target) as source, zipfile.ZipFile(damaged, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data[: len(data) // 2] + b"\x00<<not xml"
            out.writestr(item, data)
    damaged.replace(target)


def _header_hidden_by_a_merge(book) -> None:
    book[MEMBERS].merge_cells("C1:D1")  # "Họ và tên" over "Chức danh trong tổ": the latter is lost


def _every_cell_empty(book) -> None:
    for sheet in book.worksheets:
        sheet.delete_rows(1, sheet.max_row)


def _control_characters_and_a_full_cell(book) -> None:
    book[ACTIVITIES]["J2"] = "a\tb\nc \u200b" + "x" * 32_000  # Excel's limit is 32,767 characters


def _all_empty(book) -> None:
    for sheet in book.worksheets:
        sheet.delete_rows(2, sheet.max_row)


def _required_column_removed(book) -> None:
    book[MEMBERS].delete_cols(3)  # "Họ và tên"


def _headers_lower_down_and_sheet_renamed(book) -> None:
    sheet = book[MEMBERS]
    sheet.insert_rows(1, 2)  # two empty rows above the headers
    sheet.title = "THANH VIEN"


def _another_communes_code(book) -> None:
    book["Thông tin xã"]["A2"] = "10645"


def _as_csv_folder(encode_line: Callable[[int, str], bytes]) -> Callable[[Path], None]:
    """The workbook replaced by a folder of CSV files, line n encoded by `encode_line(n, line)`."""

    def apply(target: Path) -> None:
        as_csv_folder(target, target.with_suffix(""), by_line(encode_line))
        target.unlink()

    return apply


def _windows_1258_every_fourth_line(n: int, line: str) -> bytes:
    return encode_cp1258(line) if n % 4 == 3 else line.encode("utf-8")


def _tcvn3_every_fourth_line(n: int, line: str) -> bytes:
    legacy = encode_tcvn3(line) if n % 4 == 3 else None  # None: .VnTime cannot set the line
    return legacy.encode("latin-1") if legacy is not None else line.encode("utf-8")


def _second_activity_sheet(book) -> None:
    """The log copied to a sheet whose name, without accents, is the log's too."""
    book.copy_worksheet(book[ACTIVITIES]).title = "NHAT KY HOAT DONG"


def _stray_cell_at_the_very_end(book) -> None:
    book[ACTIVITIES]["XFD1048576"] = "x"  # 35 KB on disk; a 17-billion-cell grid once read


def _formatted_to_the_last_row(book) -> None:
    book[ACTIVITIES]["A1048576"].font = Font(bold=True)  # a format, no value: not a row


def _sheet_inflating_to(megabytes: int) -> Callable[[Path], None]:
    """The activity sheet's XML padded with spaces (still valid XML) to inflate to `megabytes`
    from a few dozen KB: a zip bomb in the small."""

    def apply(target: Path) -> None:
        names = load_workbook(target, read_only=True).sheetnames
        part = f"xl/worksheets/sheet{names.index(ACTIVITIES) + 1}.xml"
        bomb = target.with_suffix(".tmp")
        with zipfile.ZipFile(target) as source, zipfile.ZipFile(bomb, "w") as out:
            for item in source.infolist():
                data = source.read(item)
                if item.filename != part:
                    out.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
                    continue
                head, tail = data.split(b"<sheetData>", 1)
                info = zipfile.ZipInfo(part, date_time=item.date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                with out.open(info, "w", force_zip64=True) as stream:
                    stream.write(head + b"<sheetData>")
                    for _ in range(megabytes):
                        stream.write(b" " * (1024 * 1024))
                    stream.write(tail)
        bomb.replace(target)

    return apply


def _a_fifo(target: Path) -> None:
    target.unlink()
    os.mkfifo(target)  # reading it would wait forever for a writer


def _a_link_out(target: Path) -> None:
    outside = target.parent.parent.parent / "elsewhere.xlsx"  # beside data/raw/
    target.replace(outside)
    target.symlink_to(outside)


def _csv_folder_with(name: str, make: Callable[[Path], None]) -> Callable[[Path], None]:
    """The workbook as a folder of CSV files, then its file `name` made by `make`."""

    def apply(target: Path) -> None:
        folder = as_csv_folder(target, target.with_suffix(""), lambda text: text.encode())
        target.unlink()
        (folder / name).unlink(missing_ok=True)
        make(folder / name)

    return apply


def _control_characters_in_cells(book) -> None:
    # Excel's own escapes, as a file saved by another program may hold them: NUL, ESC, backspace
    book[ACTIVITIES]["J2"] = "ghi_x0000_ chú_x001B_[31m đỏ_x0008_"
    book[MEMBERS]["C2"] = "Nguyễn_x001B_ Văn A"


# --- what must come out ----------------------------------------------------------------------


def _counted(kind: str, at_least: int = 1) -> Callable[[CleanResult], None]:
    def check(result: CleanResult) -> None:
        fixes = result.fixes[result.fixes["commune_code"] == CODE]
        assert (fixes["kind"] == kind).sum() >= at_least, fixes["kind"].value_counts()

    return check


def _rejected_at(reason: str, sheet: str, row: int, column: str) -> Callable[[CleanResult], None]:
    def check(result: CleanResult) -> None:
        rejected = result.rejected[result.rejected["reason_code"] == reason]
        assert [tuple(r) for r in rejected[["sheet", "excel_row", "column"]].to_numpy()] == [
            (sheet, row, column)
        ]

    return check


def _kept(sheet_key: str, column: str, value: str) -> Callable[[CleanResult], None]:
    def check(result: CleanResult) -> None:
        table = result.tables[sheet_key]
        assert value in table.loc[table["commune_code"] == CODE, column].tolist()

    return check


def _read_whole(result: CleanResult) -> None:
    assert len(result.tables["members"].query("commune_code == @CODE")) > 0


def _all_of(*checks: Callable[[CleanResult], None]) -> Callable[[CleanResult], None]:
    def check(result: CleanResult) -> None:
        for one in checks:
            one(result)

    return check


@dataclass(frozen=True)
class Case:
    breaks: Callable[[Path], None]
    refused_with: str | None = None  # a part of the one message; None: read, with a repair
    check: Callable[[CleanResult], None] = _read_whole
    limits: Limits | None = None  # the settings' [limits], where the case needs smaller ones


CASES = {
    # Files that cannot be read as a workbook of ours.
    "truncated zip": Case(_truncate, "10627-nam-chinh.xlsx: cannot be read as a workbook"),
    "old xls or password bytes in an .xlsx": Case(
        lambda p: p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512),
        "10627-nam-chinh.xlsx: this is an old-format (.xls) or password-protected",
    ),
    "an .xls file": Case(_as_old_xls, "nam-chinh.xls: this is an old-format (.xls)"),
    "not a workbook at all": Case(
        lambda p: p.write_text("hello", encoding="utf-8"), "10627-nam-chinh.xlsx: cannot be read"
    ),
    "a whole zip with a damaged sheet": Case(
        _corrupt_sheet_xml, "10627-nam-chinh.xlsx: cannot be read as a workbook: it is damaged"
    ),
    "an empty file": Case(lambda p: p.write_bytes(b""), "10627-nam-chinh.xlsx: the file is empty"),
    "two workbooks for one commune": Case(
        _two_workbooks,
        "2 workbooks for commune 10627 (Xã Nam Chính): 10627-nam-chinh.xlsx, 10627-nam-chinh.xlsm",
    ),
    "every row empty": Case(
        _edited(_all_empty), "sheet Thông tin xã, row 2: the commune information sheet has no row"
    ),
    "required sheet removed": Case(
        _edited(lambda book: book.remove(book[MEMBERS])),
        "sheet Thành viên: required sheet 'Thành viên' is missing",
    ),
    "every cell empty, headers too": Case(
        _edited(_every_cell_empty), "sheet Thông tin xã, row 1, column Mã xã: required column"
    ),
    "a header hidden by a merged cell": Case(
        _edited(_header_hidden_by_a_merge),
        "sheet Thành viên, row 1, column Chức danh trong tổ: required column",
    ),
    "required column removed": Case(
        _edited(_required_column_removed),
        "sheet Thành viên, row 1, column Họ và tên: required column",
    ),
    "another commune's code": Case(
        _edited(_another_communes_code),
        "sheet Thông tin xã, row 2, column Mã xã: commune code 10645 does not belong",
    ),
    # Files read, with what was repaired or dropped counted.
    "an .xlsm with a macro project": Case(_as_xlsm),
    "merged title above headers": Case(_edited(_merged_title)),
    "headers lower down, sheet renamed without accents": Case(
        _edited(_headers_lower_down_and_sheet_renamed)
    ),
    "hidden sheet": Case(_edited(lambda book: setattr(book["Thôn"], "sheet_state", "hidden"))),
    "formula without value": Case(
        _edited(_formula_without_value),
        check=_rejected_at("formula_without_value", ACTIVITIES, 2, "Số người được hướng dẫn"),
    ),
    "formula saved with its value": Case(_formula_with_its_value, check=_people_at_row(2, 12)),
    "extra and missing columns": Case(_edited(_extra_and_missing_columns)),
    "names with ../ <script> =HYPERLINK and RTL": Case(
        _edited(_hostile_names),
        check=_all_of(
            _kept("villages", "village", HOSTILE.replace("\u202e", "")),  # the override removed
            _counted("bidi_controls", 4),
        ),
    ),
    "control characters and a full cell": Case(_edited(_control_characters_and_a_full_cell)),
    "NUL, ESC and backspace in cells": Case(
        _edited(_control_characters_in_cells),
        check=_all_of(
            _kept("activities", "notes", "ghi chú[31m đỏ"), _counted("control_characters", 2)
        ),
    ),
    # Hostile files: refused before any reader builds a grid from them.
    "two sheets that are both the activity log": Case(
        _edited(_second_activity_sheet),
        "sheet NHAT KY HOAT DONG: 2 sheets are the 'Nhật ký hoạt động' sheet: "
        "'Nhật ký hoạt động', 'NHAT KY HOAT DONG'; keep its rows in one of them",
    ),
    "one cell at XFD1048576": Case(
        _edited(_stray_cell_at_the_very_end),
        "sheet Nhật ký hoạt động: cell XFD1048576 holds a value beyond the sheet's limit",
    ),
    "one cell at AMJ250000, within the rows and columns allowed": Case(
        _edited(lambda book: book[ACTIVITIES].__setitem__("AMJ250000", "x")),
        "sheet Nhật ký hoạt động: cell AMJ250000 holds a value so far from the others that the "
        "sheet would be read as more than 50,000,000 cells ([limits] max_grid_cells)",
    ),
    "formatting down to row 1048576, no value there": Case(_edited(_formatted_to_the_last_row)),
    "a sheet inflating to 64 MB from a few dozen KB": Case(
        _sheet_inflating_to(64),
        "10627-nam-chinh.xlsx: part xl/worksheets/sheet",
        limits=Limits(max_part_mb=16),
    ),
    "a FIFO named .xlsx": Case(_a_fifo, "10627-nam-chinh.xlsx: is a FIFO, not a regular file"),
    "a link to a workbook outside data/raw": Case(
        _a_link_out, "10627-nam-chinh.xlsx: is a link to a place outside raw/"
    ),
    "a CSV folder with a link to /dev/zero": Case(
        _csv_folder_with(ACTIVITIES + ".csv", lambda p: p.symlink_to("/dev/zero")),
        "file 10627-nam-chinh/Nhật ký hoạt động.csv: is a link to a place outside raw/ (/dev/zero)",
    ),
    "a CSV beyond the size limit": Case(
        _csv_folder_with("Ghi chú.csv", lambda p: p.write_bytes(b"a,b\n" * 600_000)),
        "file Ghi chú.csv: the CSV file is 2 MB, beyond the limit of 1 MB",
        limits=Limits(max_csv_mb=1),
    ),
    "UTF-8 and Windows-1258 lines in one CSV": Case(
        _as_csv_folder(_windows_1258_every_fourth_line), check=_counted("mixed_encoding_row", 5)
    ),
    "UTF-8 and TCVN3 lines in one CSV": Case(
        _as_csv_folder(_tcvn3_every_fourth_line), check=_counted("mixed_encoding_row", 5)
    ),
}


def _prepare(source: Path, tmp_path: Path, case: Case):
    paths = Paths.under(tmp_path)
    shutil.copytree(source, paths.raw)
    case.breaks(paths.raw_year(2022) / "10627-nam-chinh.xlsx")
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    return prepare_chunk(paths, 2022, communes, limits=case.limits)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_repaired_or_refused_clearly(source: Path, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    prepared = _prepare(source, tmp_path, case)
    assert OTHER not in prepared.problems  # the other commune is not affected
    assert prepared.result is not None
    assert len(prepared.result.tables["members"].query("commune_code == @OTHER")) > 0
    if case.refused_with is None:
        assert CODE not in prepared.problems, prepared.problems.get(CODE)
        case.check(prepared.result)
    else:
        message = prepared.problems[CODE]
        assert message.startswith("file "), message
        assert case.refused_with in message, message
        assert "Traceback" not in message and "\n" not in message


def test_a_column_that_is_not_read_is_said(source: Path, tmp_path: Path) -> None:
    prepared = _prepare(source, tmp_path, CASES["extra and missing columns"])
    unread = prepared.present.set_index(["commune_code", "sheet"])["unread_columns"]
    assert unread[(CODE, "activities")] == "Cột thêm"
    assert unread[(OTHER, "activities")] == ""


def test_the_mixed_csv_reads_as_the_workbook_does(source: Path, tmp_path: Path) -> None:
    whole = _prepare(source, tmp_path / "xlsx", Case(lambda p: None)).result
    for name in ("UTF-8 and Windows-1258 lines in one CSV", "UTF-8 and TCVN3 lines in one CSV"):
        mixed = _prepare(source, tmp_path / name[:20], CASES[name]).result
        assert whole is not None and mixed is not None
        for key, column in (
            ("members", "name"),
            ("villages", "village"),
            ("activities", "activity"),
        ):
            assert mixed.tables[key][column].tolist() == whole.tables[key][column].tolist(), key


def test_the_run_goes_on_and_writes_only_where_it_should(source: Path, tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "home")
    shutil.copytree(source, paths.raw)
    _edited(_hostile_names)(paths.raw_year(2022) / "10645-an-lam.xlsx")
    _truncate(paths.raw_year(2022) / "10627-nam-chinh.xlsx")
    before = {p for p in tmp_path.rglob("*")}
    runs = run_year(
        paths,
        2022,
        [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")],
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
    pages = sorted(paths.outputs_year(2022).rglob("*.html"))
    assert {p.name for p in pages} >= {"report.html", "notebook.html", "index.html"}
    for page in pages:  # data shown as text everywhere, never as markup
        assert "<script>x" not in page.read_text("utf-8"), page.name
    for name in ("report.html", "notebook.html"):  # the decision's subject is quoted, as text
        page = (paths.outputs_year(2022) / "10645-an-lam" / name).read_text("utf-8")
        assert "&lt;script&gt;x&lt;/script&gt;" in page, name


def test_a_big_sheet_is_read(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "10627-nam-chinh.xlsx"
    shutil.copy(source / "2022" / "10627-nam-chinh.xlsx", target)
    book = load_workbook(target)
    sheet = book[ACTIVITIES]
    row = [c.value for c in sheet[2]]
    for _ in range(200_000 - sheet.max_row):
        sheet.append(row)
    book.save(target)
    from pipeline.reading.clean import clean_workbook
    from pipeline.reading.ingest import read_workbook

    try:
        result = clean_workbook(read_workbook(target), CODE, 2022)
    except PipelineError as exc:  # pragma: no cover - would be a failure with its message
        pytest.fail(str(exc))
    # Repeated copies of one row are duplicates: kept once, the rest rejected with the reason.
    assert (result.rejected["reason_code"] == "duplicate_row").sum() > 190_000


def test_a_workbook_that_stops_its_process_fails_its_commune_only(
    source: Path, tmp_path: Path
) -> None:
    """With the limits before parsing lifted, the stray cell at XFD1048576 makes the reader ask
    for 512 GB: the worker aborts under its memory limit, and only that commune fails (the run
    then goes on as for any refused commune: test_the_run_goes_on_and_writes_only_where_it_should).
    """
    paths = Paths.under(tmp_path)
    shutil.copytree(source, paths.raw)
    _edited(_stray_cell_at_the_very_end)(paths.raw_year(2022) / "10627-nam-chinh.xlsx")
    lifted = Limits(
        max_rows=2_000_000, max_columns=20_000, max_grid_cells=2**60, worker_memory_mb=512
    )
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    # The worker's abort is expected: pytest's faulthandler, inherited by the forked worker,
    # would print its traceback as if something had gone wrong.
    was_enabled = faulthandler.is_enabled()
    faulthandler.disable()
    try:
        prepared = prepare_communes(paths, 2022, communes, workers=1, limits=lifted)
    finally:
        if was_enabled:
            faulthandler.enable()
    assert prepared.codes == {OTHER}
    message = prepared.problems[CODE]
    assert message.startswith(
        "file 10627-nam-chinh.xlsx: reading and cleaning this workbook stopped its process "
        "(it crashed, or needed more than the 512 MB of memory"
    ), message
    assert len(prepared.result.tables["members"].query("commune_code == @OTHER")) > 0


def test_an_exception_while_cleaning_fails_its_commune_only(
    source: Path, tmp_path: Path, monkeypatch
) -> None:
    """A failure no check foresaw (here a MemoryError while cleaning one commune) in a chunk of
    many: the chunk is done again commune by commune, and only that commune is refused."""
    import pipeline.running.preparing as preparing

    paths = Paths.under(tmp_path)
    shutil.copytree(source, paths.raw)
    cleaned = preparing.clean_tables

    def clean_tables(stacked, *args, **kwargs):
        if CODE in set(stacked["commune"]["commune_code"]):
            raise MemoryError("planted")
        return cleaned(stacked, *args, **kwargs)

    monkeypatch.setattr(preparing, "clean_tables", clean_tables)  # the workers are forked
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    prepared = prepare_communes(paths, 2022, communes, workers=1)
    assert set(prepared.problems) == {CODE}
    assert prepared.problems[CODE] == (
        "file 10627-nam-chinh.xlsx: reading and cleaning this workbook failed "
        "(MemoryError: planted)"
    )
    assert prepared.codes == {OTHER}


def test_an_unreadable_workbook_is_refused_by_name(source: Path, tmp_path: Path) -> None:
    """Permissions hold no one back who runs as root (as CI does): the case runs as the
    unprivileged user `nobody` through `setpriv`, or as the user running the tests."""
    import json
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="cnscd-unreadable-"))  # pytest's folders are 0700
    try:
        home.chmod(0o755)
        paths = Paths.under(home)
        shutil.copytree(source, paths.raw)
        for folder in [paths.base, *paths.base.rglob("*")]:
            if folder.is_dir():
                folder.chmod(0o755)
        for file in paths.raw.rglob("*.*"):
            file.chmod(0o644)
        (paths.raw_year(2022) / "10627-nam-chinh.xlsx").chmod(0o000)
        script = (
            "import json, sys; from pathlib import Path; from pipeline.core.config import Paths; "
            "from pipeline.running.preparing import prepare_chunk; "
            "from pipeline.sample import sample_commune; "
            "p = prepare_chunk(Paths.under(Path(sys.argv[1])), 2022, "
            "[sample_commune(2022, s) for s in ('nam-chinh', 'an-lam')]); "
            "print(json.dumps({'problems': p.problems, 'codes': sorted(p.codes)}))"
        )
        done = run_unprivileged(script, [str(home)], home, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert outcome["codes"] == [OTHER]
    assert outcome["problems"][CODE].startswith(
        "file 10627-nam-chinh.xlsx: cannot be read: permission denied"
    ), outcome["problems"][CODE]


def test_a_stray_workbook_with_a_far_cell_leaves_the_run_within_memory(
    tiny_district: Paths, tmp_path: Path
) -> None:
    """`Book1.xlsx`, named for no commune, with one value at AMJ250000 (inside the rows and
    columns allowed): it is looked at for the code it writes, in a capped process and refused
    before any grid is built. The whole run, kernels included, is held to 3 GB of address space
    (a cap the old main process broke, reading a 256-million-cell grid), and the report is
    built."""
    import resource
    import subprocess
    import sys

    from openpyxl import Workbook

    shutil.copytree(tiny_district.raw, tmp_path / "data" / "raw")
    book = Workbook()
    sheet = book.active
    sheet.title, sheet["A1"], sheet["B1"], sheet["AMJ250000"] = "Thông tin xã", "Mã xã", "Tên xã", 1
    book.save(tmp_path / "data" / "raw" / "2022" / "Book1.xlsx")
    cap = 3 * 1024**3

    def capped() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "--data-dir",
            str(tmp_path),
            "run",
            "--year",
            "2022",
            "--commune",
            "nam-chinh",
            "--formats",
            "html",
        ],
        capture_output=True,
        text=True,
        preexec_fn=capped,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "not read, named for no commune: Book1.xlsx" in done.stderr
    assert (tmp_path / "outputs" / "2022" / "10627-nam-chinh" / "report.html").exists()
    assert (tmp_path / "outputs" / "2022" / "index.html").exists()


def test_a_reader_that_aborts_says_so_in_a_line_or_two(source: Path, tmp_path: Path) -> None:
    """The worker aborted by its memory cap (as in the test above) prints what the reader says,
    not a Rust backtrace of 60 lines, even where RUST_BACKTRACE=1 is set."""
    import subprocess
    import sys

    paths = Paths.under(tmp_path)
    shutil.copytree(source, paths.raw)
    _edited(_stray_cell_at_the_very_end)(paths.raw_year(2022) / "10627-nam-chinh.xlsx")
    script = (
        "import sys; from pathlib import Path; from pipeline.core.config import Paths; "
        "from pipeline.core.limits import Limits; "
        "from pipeline.running.preparing import prepare_communes; "
        "from pipeline.sample import sample_commune; "
        "lifted = Limits(max_rows=2_000_000, max_columns=20_000, max_grid_cells=2**60, "
        "worker_memory_mb=512); "
        "p = prepare_communes(Paths.under(Path(sys.argv[1])), 2022, "
        "[sample_commune(2022, 'nam-chinh')], limits=lifted); print(sorted(p.problems))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "RUST_BACKTRACE": "1", "PYTHONPATH": str(Path(__file__).parents[1])},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "['10627']" in done.stdout
    assert "stack backtrace" not in done.stderr, done.stderr[-2000:]
    aborts = done.stderr.count("memory allocation of")  # the chunk's process, then its own
    assert aborts >= 1 and len(done.stderr.splitlines()) <= 2 * aborts, done.stderr
