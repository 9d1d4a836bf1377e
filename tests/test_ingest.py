"""Reading workbooks and CSV folders as communes write them."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from workbooks import as_csv_folder, by_line

from pipeline.core.errors import InputError
from pipeline.reading.clean import FILE, CleanResult, clean_workbook
from pipeline.reading.ingest import decode_csv, detect_csv_encoding, read_workbook
from pipeline.reading.template import LISTS_SHEET, write_template
from pipeline.sample import encode_cp1258 as to_cp1258
from pipeline.sample import generate


def _reads_like_the_workbook(folder: Path, workbook: Path) -> CleanResult:
    """The CSV folder, cleaned: the same members, villages, Zalo groups and documents."""
    from_csv = clean_workbook(read_workbook(folder), "10627", 2022)
    from_xlsx = clean_workbook(read_workbook(workbook), "10627", 2022)
    for key in ("members", "villages", "zalo", "decisions"):
        pd.testing.assert_frame_equal(  # the same rows, each from its own file
            from_csv.tables[key].drop(columns=FILE),
            from_xlsx.tables[key].drop(columns=FILE),
            check_dtype=False,
        )
    assert len(from_csv.tables["activities"]) == len(from_xlsx.tables["activities"])
    return from_csv


ENCODINGS = {
    "utf-8": (lambda text: text.encode("utf-8"), "utf-8"),
    "utf-8-bom": (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), "utf-8-sig"),
    "utf-16": (lambda text: text.encode("utf-16"), "utf-16"),
    "utf-16-le-no-bom": (lambda text: text.encode("utf-16-le"), "utf-16-le"),
    "windows-1258": (to_cp1258, "cp1258"),
}


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_csv_folder_in_each_encoding_reads_like_the_workbook(tmp_path: Path, name: str) -> None:
    encode, expected = ENCODINGS[name]
    # Without planted legacy text: a Windows-1258 file cannot hold TCVN3 bytes such as "Þ".
    generate(tmp_path / "raw", years=(2022,), only=("nam-chinh",), rate=0, activity_rows=(40, 50))
    workbook = tmp_path / "raw" / "2022" / "10627-nam-chinh.xlsx"
    folder = as_csv_folder(workbook, tmp_path / "nam-chinh", encode)
    assert detect_csv_encoding((folder / "Thành viên.csv").read_bytes()) == expected
    _reads_like_the_workbook(folder, workbook)


_EVERY_THIRD_LINE_IN_WINDOWS_1258 = by_line(  # rows typed on another computer, pasted in
    lambda n, line: to_cp1258(line) if n % 3 == 2 else line.encode("utf-8")
)


def test_a_csv_mixing_utf8_and_windows_1258_lines_reads_each_line_in_its_own() -> None:
    lines = ["Họ và tên,Số\r\n", "Nguyễn Văn Ánh,1\r\n", "Trần Thị Bích,2\r\n", "Lê Văn Đức,3\r\n"]
    data = b"".join(to_cp1258(x) if n == 2 else x.encode("utf-8") for n, x in enumerate(lines))
    text, legacy = decode_csv(data)
    assert unicodedata.normalize("NFC", text) == "".join(lines)
    assert legacy == {2: "cp1258"}
    whole_file_legacy = to_cp1258("".join(lines))
    assert decode_csv(whole_file_legacy)[1] == {}  # one encoding throughout: nothing to count
    with_bom = codecs.BOM_UTF8 + data  # Excel's "CSV UTF-8", with a legacy line pasted in
    assert decode_csv(with_bom) == (text, legacy)


def test_mixed_encoding_rows_are_read_right_and_counted(tmp_path: Path) -> None:
    generate(tmp_path / "raw", years=(2022,), only=("nam-chinh",), rate=0, activity_rows=(40, 50))
    workbook = tmp_path / "raw" / "2022" / "10627-nam-chinh.xlsx"
    folder = as_csv_folder(workbook, tmp_path / "nam-chinh", _EVERY_THIRD_LINE_IN_WINDOWS_1258)
    from_csv = _reads_like_the_workbook(folder, workbook)
    counted = from_csv.fixes[from_csv.fixes["kind"] == "mixed_encoding_row"]
    members = (folder / "Thành viên.csv").read_bytes().splitlines()
    expected_rows = {n + 1 for n, line in enumerate(members) if n % 3 == 2 and not line.isascii()}
    assert set(counted.loc[counted["sheet"] == "Thành viên", "excel_row"]) == expected_rows
    assert expected_rows and set(counted["raw"]) == {"cp1258"}


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


MINIMAL = {
    "Thông tin xã": [["Mã xã", "Tên xã", "Người ký"], ["10627", "Xã Nam Chính", "Trần Văn Xuyến"]],
    "Thôn": [["Tên thôn"], ["Bịch Đông"]],
    "Nhật ký hoạt động": [
        ["Ngày", "Cấp tổ", "Trụ cột", "Dịch vụ/nền tảng", "Số người được hướng dẫn"]
    ],
}


@pytest.mark.parametrize("header", ["Họ và tên", "Ho ten", "HỌ TÊN", "  họ   tên ", "Ho va ten"])
def test_headers_are_matched_as_people_write_them(tmp_path: Path, header: str) -> None:
    path = _workbook(
        tmp_path / "x.xlsx",
        {
            **MINIMAL,
            "THÀNH VIÊN": [["cap to", header, "Chức danh"], ["Xã", "Nguyễn Văn An", "Tổ trưởng"]],
        },
    )
    raw = read_workbook(path)
    assert raw.tables["members"]["name"].tolist() == ["Nguyễn Văn An"]
    assert raw.sheet_names["members"] == "THÀNH VIÊN"


def test_missing_required_sheet_names_file_and_sheet(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "x.xlsx", MINIMAL)
    with pytest.raises(InputError, match=r"file x\.xlsx, sheet Thành viên: required sheet"):
        read_workbook(path)


def test_missing_required_column_names_file_sheet_row_and_column(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "x.xlsx",
        {**MINIMAL, "Thành viên": [["Cấp tổ", "Chức danh"], ["Xã", "Tổ trưởng"]]},
    )
    with pytest.raises(
        InputError,
        match=r"file x\.xlsx, sheet Thành viên, row 1, column Họ và "
        r"tên: required column",
    ):
        read_workbook(path)


def test_not_a_workbook_is_one_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match=r"file x\.xlsx: cannot be read as a workbook"):
        read_workbook(path)


def test_template_has_lists_frozen_headers_and_reads_back(tmp_path: Path) -> None:
    from pipeline.sample import sample_commune

    path = write_template(
        tmp_path / "t.xlsx", sample_commune(2022, "nam-chinh"), ["Bịch Đông", "Bịch Tây"]
    )
    book = load_workbook(path)
    assert book[LISTS_SHEET].sheet_state == "hidden"
    activities = book["Nhật ký hoạt động"]
    assert activities.freeze_panes == "A2"
    listed = {str(v.sqref): v.formula1 for v in activities.data_validations.dataValidation}
    assert any("Danh mục" in formula for formula in listed.values())
    assert len(listed) >= 4  # team level, village, pillar, service, channel
    members = book["Thành viên"]
    members.append(["Xã", None, "Nguyễn Văn An", "Tổ trưởng", 1980, "UBND xã", None, "Có"])
    book.save(path)
    result = clean_workbook(read_workbook(path), "10627", 2022)
    assert result.tables["members"]["name"].tolist() == ["Nguyễn Văn An"]
    assert result.tables["villages"]["village"].tolist() == ["Bịch Đông", "Bịch Tây"]
    assert result.tables["activities"].empty  # the examples sheet is not data


def test_a_ward_s_template_speaks_of_its_own_units_and_reads_back(tmp_path: Path) -> None:
    """A phường of 2025 (no district): no "Huyện" column, "Cấp tổ" offers its own words, the
    guide's example is the ward's own, only required headers are bold, and what an analyst
    writes with those words (or appends with openpyxl) reads back."""
    from pipeline.registry.tree import find_commune

    ward = find_commune(2025, "26740")  # Phường Sài Gòn, Thành phố Hồ Chí Minh
    path = write_template(tmp_path / "t.xlsx", ward, ["Khu phố 1", "Khu phố 2"], 2025)
    book = load_workbook(path)
    identity = [c.value for c in book["Thông tin xã"][1]]
    assert "Huyện" not in identity and "Tỉnh" in identity
    levels = [c.value for c in book[LISTS_SHEET]["A"][1:4]]
    assert levels == ["Phường", "Khu phố", "Thôn"]
    guide = [row for row in book["Hướng dẫn"].iter_rows(values_only=True) if any(row)]
    assert "26740" in guide[3] and "Phường Sài Gòn" in guide[3]
    assert any(row[0] == "Khu phố" and row[1] == "Khu phố 1" for row in guide)  # Cấp tổ, Thôn
    bold = {c.value: c.font.b for c in book["Thành viên"][1]}
    assert bold["Họ và tên"] and not bold["Số điện thoại"]
    members = book["Thành viên"]
    members.append(["Phường", None, "Nguyễn Văn An", "Tổ trưởng", 1980, None, None, "Có"])
    members.append(["Khu phố", "Khu phố 2", "Trần Thị Bình", "Thành viên", 1990, None, None, "Có"])
    book["Thông tin xã"]["D2"] = "Lê Văn C"  # the signer
    book.save(path)
    result = clean_workbook(read_workbook(path), "26740", 2025)
    members = result.tables["members"]
    assert members["team_level"].tolist() == ["Xã", "Thôn"]  # the commune level, a village
    assert members["village"].tolist()[1] == "Khu phố 2"


def test_old_or_encrypted_workbook_is_named_for_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512)
    with pytest.raises(
        InputError,
        match=r"file x\.xlsx: this is an old-format \(\.xls\) or "
        r"password-protected workbook",
    ):
        read_workbook(path)


def _one_sheet(path: Path, fill) -> Path:
    book = Workbook()
    fill(book.active)
    book.save(path)
    return path


def test_a_wide_stray_cell_is_refused_before_reading_and_a_format_alone_is_not(
    tmp_path: Path,
) -> None:
    from openpyxl.styles import Font

    from pipeline.core.limits import Limits, check_workbook

    limits = Limits(max_rows=1_000, max_columns=1_024)

    def wide(sheet) -> None:
        sheet.title = "Thành viên"
        sheet["A1"], sheet["AMK1"] = "Họ và tên", "x"  # column 1,025

    with pytest.raises(InputError, match="sheet Thành viên: cell AMK1 holds a value beyond"):
        check_workbook(_one_sheet(tmp_path / "wide.xlsx", wide), limits)

    def formatted(sheet) -> None:
        sheet["A1"] = "Họ và tên"
        sheet["XFD1048576"].font = Font(bold=True)  # formatting, no value
        sheet["B999"] = 1

    sheets = check_workbook(_one_sheet(tmp_path / "formatted.xlsx", formatted), limits)
    assert [s.name for s in sheets] == ["Sheet"]

    def deep(sheet) -> None:
        sheet["A1"], sheet["B1001"] = "Họ và tên", 1

    with pytest.raises(
        InputError, match="cell B1001 holds a value beyond the sheet's limit of 1,000"
    ):
        check_workbook(_one_sheet(tmp_path / "deep.xlsx", deep), limits)


def test_limits_come_from_the_settings_and_a_district_may_change_them(tmp_path: Path) -> None:
    from pipeline.core.limits import Limits
    from pipeline.measuring.settings import default_limits, load_settings

    assert default_limits() == Limits()  # settings.toml states the defaults the code holds
    override = tmp_path / "settings.toml"
    override.write_text("[limits]\nmax_rows = 300000\n", encoding="utf-8")
    assert Limits.from_settings(load_settings(override)) == Limits(max_rows=300_000)


def test_the_last_valued_row_is_found_behind_pages_of_formatted_rows() -> None:
    """The grid limit's row count, looked for from the end in growing windows: right however
    many formatting-only rows follow the last value, with or without row numbers."""
    from pipeline.core.limits import _last_valued_row

    def row(number: int | None, value: bool, prefix: str = "") -> str:
        r = f' r="{number}"' if number is not None else ""
        cell = f"<{prefix}c><{prefix}v>1</{prefix}v></{prefix}c>" if value else ""
        return f'<{prefix}row{r} ht="15" customHeight="1">{cell}</{prefix}row>'

    def sheet(rows: list[str]) -> bytes:
        return ("<worksheet><sheetData>" + "".join(rows) + "</sheetData></worksheet>").encode()

    valued = [row(n, True) for n in range(1, 5_001)]
    formatted = [row(n, False) for n in range(5_001, 9_001)]  # about 180 KB of them
    assert _last_valued_row(sheet(valued + formatted)) == 5_000
    assert _last_valued_row(sheet(valued)) == 5_000
    unnumbered = [row(None, True) for _ in range(1_234)] + [row(None, False)] * 4_000
    assert _last_valued_row(sheet(unnumbered)) == 1_234
    assert _last_valued_row(sheet([row(7, True, "x:"), row(8, False, "x:")])) == 7
    assert _last_valued_row(sheet(formatted)) == 0
    assert _last_valued_row(sheet([])) == 0
