import datetime as dt
import hashlib

import pandas as pd
import pytest

from pipeline.clean import clean_workbook, parse_date, parse_yesno, quality_summary
from pipeline.config import Paths
from pipeline.ingest import read_workbook

FIX_KIND = {
    "tcvn3": "tcvn3",
    "nfd": "nfc",
    "date_text": "date_text",
    "date_serial": "date_serial",
    "village_typo": "village_match",
    "yesno_variant": "yesno_variant",
}
REJECT_KINDS = {"duplicate_row", "blank_row", "date_outside_year", "impossible_count"}


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (dt.datetime(2022, 4, 25), "2022-04-25"),
        ("25/4/2022", "2022-04-25"),
        ("25/04/2022", "2022-04-25"),
        ("2022-04-25", "2022-04-25"),
        (44676, "2022-04-25"),
        ("44676", "2022-04-25"),
        ("31/02/2022", None),
        ("hôm qua", None),
        (None, None),
    ],
)
def test_dates_in_the_forms_people_write(cell, expected) -> None:
    parsed = parse_date(cell)
    assert (parsed.date().isoformat() if parsed is not None else None) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Có", True),
        ("x", True),
        ("1", True),
        (1, True),
        ("có", True),
        ("CÓ", True),
        ("Không", False),
        ("không", False),
        ("0", False),
        ("ko", False),
        (None, None),
        ("?", None),
    ],
)
def test_yes_no_in_the_forms_people_write(cell, expected) -> None:
    assert parse_yesno(cell) == expected


def _clean(paths: Paths, slug: str, code: str, year: int = 2022):
    raw = read_workbook(paths.raw_year(year) / f"{slug}.xlsx")
    return raw, clean_workbook(raw, code, year)


def test_every_planted_problem_is_fixed_or_rejected(tiny_district: Paths) -> None:
    planted = pd.read_csv(tiny_district.raw_year(2022) / "_planted.csv", dtype=str)
    for slug, code in (("nam-chinh", "10627"), ("an-lam", "10645")):
        _, result = _clean(tiny_district, slug, code)
        mine = planted[planted["commune_code"] == code]
        assert len(mine) > 10
        rejected_rows = set(
            zip(result.rejected["sheet"], result.rejected["excel_row"], strict=True)
        )
        for p in mine.itertuples(index=False):
            row = int(p.excel_row)
            if p.kind in REJECT_KINDS:
                assert (p.sheet, row) in rejected_rows, p
                continue
            fixes = result.fixes[
                (result.fixes["sheet"] == p.sheet)
                & (result.fixes["excel_row"] == row)
                & (result.fixes["kind"] == FIX_KIND[p.kind])
            ]
            assert len(fixes) == 1, p
            if p.kind in ("tcvn3", "nfd", "village_typo"):
                assert fixes["fixed"].iloc[0] == p.expected, p


def test_nothing_is_lost_and_the_raw_file_is_untouched(tiny_district: Paths) -> None:
    path = tiny_district.raw_year(2022) / "nam-chinh.xlsx"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    raw, result = _clean(tiny_district, "nam-chinh", "10627")
    summary = quality_summary(raw, result)
    assert (summary["rows_read"] == summary["rows_kept"] + summary["rows_rejected"]).all()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert result.rejected["reason"].str.len().gt(0).all()
    assert set(result.rejected.columns) >= {"file", "sheet", "excel_row", "column", "reason"}


def test_clean_tables_are_typed_and_nfc(tiny_district: Paths) -> None:
    _, result = _clean(tiny_district, "nam-chinh", "10627")
    members = result.tables["members"]
    assert members["team_level"].value_counts().to_dict() == {"Xã": 20, "Thôn": 19}
    assert members["smartphone"].dtype == "boolean"
    activities = result.tables["activities"]
    assert (activities["date"].dt.year == 2022).all()
    assert set(activities["village"]) <= {"Bịch Đông", "Bịch Tây", "An Thượng", "Hoàng Xá"}
    assert (activities["people"] >= 0).all()
    assert not activities.drop(columns=["_row"]).duplicated().any()


def test_cleaning_does_not_change_its_input(tiny_district: Paths) -> None:
    raw = read_workbook(tiny_district.raw_year(2022) / "an-lam.xlsx")
    copies = {k: v.copy() for k, v in raw.tables.items()}
    clean_workbook(raw, "10645", 2022)
    for key, table in raw.tables.items():
        pd.testing.assert_frame_equal(table, copies[key])
