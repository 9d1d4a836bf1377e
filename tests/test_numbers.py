"""Numbers as Vietnamese people write them, read one way or refused with a reason."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.core.numbers import read_number
from pipeline.reading.clean import clean_workbook


@pytest.mark.parametrize(
    ("written", "whole", "expected"),
    [
        ("1200", True, (1200, "")),
        ("1.200", True, (1200, "thousands_separator")),  # households 1.200: not 1
        ("4.800", True, (4800, "thousands_separator")),
        ("1 200", True, (1200, "thousands_separator")),
        ("1\u00a0200", True, (1200, "thousands_separator")),
        ("1.200.000", True, (1_200_000, "thousands_separator")),
        ("1,985", True, (1985, "thousands_separator")),  # a birth year: not 2
        ("1.990", True, (1990, "thousands_separator")),
        ("5,0", True, (5, "decimal_comma")),
        (12.0, True, (12, "")),
        ("12.5", True, (None, "not_whole_number")),  # a count is never rounded
        ("1,5", True, (None, "not_whole_number")),
        (2.5, True, (None, "not_whole_number")),
        ("4,28", False, (4.28, "decimal_comma")),  # an area
        ("4.28", False, (4.28, "")),
        ("1.234,5", False, (1234.5, "thousands_separator")),
        ("1,234.5", False, (1234.5, "thousands_separator")),
        ("1.200", False, (None, "ambiguous_number")),  # 1.2 or 1,200 km²?
        ("1,200", False, (None, "ambiguous_number")),
        ("1.200.000", False, (1_200_000, "thousands_separator")),
        ("#REF!", True, (None, "excel_error")),
        ("#DIV/0!", False, (None, "excel_error")),
        ("mười", True, (None, "invalid_number")),
        ("1.2.3", True, (None, "invalid_number")),
        (True, True, (None, "invalid_number")),
        ("１２", True, (12, "full_width_digits")),  # typed with a Japanese or Chinese IME
        ("１.２００", True, (1200, "thousands_separator")),
        (1e308, True, (None, "number_too_large")),  # not a missing value: a value, refused
        (1e308, False, (None, "number_too_large")),
        (float("inf"), False, (None, "number_too_large")),
    ],
)
def test_numbers_are_read_as_people_mean_them(written, whole: bool, expected) -> None:
    assert read_number(written, whole) == expected


def test_thousands_separators_give_the_figures_a_person_means(tiny_district, tmp_path) -> None:
    import shutil

    from openpyxl import load_workbook

    from pipeline.reading.ingest import read_workbook

    workbook = tmp_path / "10627-nam-chinh.xlsx"
    shutil.copy(tiny_district.raw_year(2022) / "10627-nam-chinh.xlsx", workbook)
    book = load_workbook(workbook)
    villages = book["Thôn"]
    villages["B2"], villages["C2"] = "1.200", "4.800"  # households, population
    members = book["Thành viên"]
    header = [c.value for c in members[1]]
    birth = header.index("Năm sinh") + 1
    members.cell(2, birth).value = "1,985"
    members.cell(3, birth).value = "2090"  # out of range: blanked, never kept
    members.cell(4, birth).value = "1985,5"
    book.save(workbook)
    result = clean_workbook(read_workbook(workbook), "10627", 2022)
    village = result.tables["villages"].sort_values("_row").iloc[0]
    assert (village["households"], village["population"]) == (1200, 4800)
    people = result.tables["members"].set_index("_row")
    assert people.loc[2, "birth_year"] == 1985
    assert pd.isna(people.loc[3, "birth_year"]) and pd.isna(people.loc[4, "birth_year"])
    assert len(people) >= 3  # the members stay: only the cell is blanked
    fixes = result.fixes.set_index(["sheet", "excel_row", "column"])["kind"]
    assert fixes.loc[("Thôn", 2, "Số hộ")] == "thousands_separator"
    assert fixes.loc[("Thành viên", 2, "Năm sinh")] == "thousands_separator"
    assert fixes.loc[("Thành viên", 3, "Năm sinh")] == "out_of_range_blanked"
    assert fixes.loc[("Thành viên", 4, "Năm sinh")] == "not_whole_number_blanked"


def test_a_required_count_that_is_not_whole_refuses_its_row(tiny_district, tmp_path) -> None:
    import shutil

    from openpyxl import load_workbook

    from pipeline.reading.ingest import read_workbook

    workbook = tmp_path / "10627-nam-chinh.xlsx"
    shutil.copy(tiny_district.raw_year(2022) / "10627-nam-chinh.xlsx", workbook)
    book = load_workbook(workbook)
    log = book["Nhật ký hoạt động"]
    header = [c.value for c in log[1]]
    people = header.index("Số người được hướng dẫn") + 1
    log.cell(2, people).value = "12,5"
    log.cell(3, people).value = "#REF!"
    log.cell(4, people).value = "1.000"
    log.cell(5, people).value = 1e308
    log.cell(6, people).value = "１２"
    book.save(workbook)
    result = clean_workbook(read_workbook(workbook), "10627", 2022)
    rejected = result.rejected.set_index(["sheet", "excel_row"])["reason_code"]
    assert rejected.loc[("Nhật ký hoạt động", 2)] == "not_whole_number"
    assert rejected.loc[("Nhật ký hoạt động", 3)] == "excel_error"
    assert rejected.loc[("Nhật ký hoạt động", 5)] == "number_too_large"
    kept = result.tables["activities"].set_index("_row")
    assert kept.loc[4, "people"] == 1000  # "1.000" people guided: a thousand, not one
    assert kept.loc[6, "people"] == 12
    fixes = result.fixes.set_index(["sheet", "excel_row", "column"])["kind"]
    assert fixes.loc[("Nhật ký hoạt động", 6, "Số người được hướng dẫn")] == "full_width_digits"


@pytest.mark.parametrize("month", ["tháng 13/2022", "0/2022", "99/2022"])
def test_a_month_outside_1_to_12_is_not_a_month(month: str) -> None:
    from pipeline.reading.clean import parse_month

    assert parse_month(month) is None


def test_birth_years_follow_the_report_year(tiny_district, tmp_path) -> None:
    # A member born in 2018 is 12 in a 2030 report, and one born in 2014 is 8 in 2022: the
    # bounds are ages in the report's year (contract.MEMBER_AGES), not fixed years.
    import shutil

    from openpyxl import load_workbook

    from pipeline.core.contract import MEMBER_AGES
    from pipeline.reading.ingest import read_workbook

    workbook = tmp_path / "10627-nam-chinh.xlsx"
    shutil.copy(tiny_district.raw_year(2022) / "10627-nam-chinh.xlsx", workbook)
    book = load_workbook(workbook)
    members = book["Thành viên"]
    birth = [c.value for c in members[1]].index("Năm sinh") + 1
    members.cell(2, birth).value = 2018
    members.cell(3, birth).value = 2014
    book.save(workbook)
    raw = read_workbook(workbook)
    later = clean_workbook(raw, "10627", 2030).tables["members"].set_index("_row")
    assert later.loc[2, "birth_year"] == 2018 and later.loc[3, "birth_year"] == 2014
    now = clean_workbook(raw, "10627", 2022).tables["members"].set_index("_row")
    assert pd.isna(now.loc[3, "birth_year"]) and pd.isna(now.loc[2, "birth_year"])
    assert MEMBER_AGES[0] > 2022 - 2014
