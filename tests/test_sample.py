import csv
from collections import Counter

import pandas as pd

from pipeline.config import Paths
from pipeline.sample import generate


def _sheets(path):
    return pd.read_excel(path, sheet_name=None, engine="openpyxl", dtype=object)


def test_nam_chinh_2022_carries_the_seed_facts(tiny_district: Paths) -> None:
    sheets = _sheets(tiny_district.raw_year(2022) / "10627-nam-chinh.xlsx")
    villages = sheets["Thôn"]["Tên thôn"].tolist()
    assert villages == ["Bịch Đông", "Bịch Tây", "An Thượng", "Hoàng Xá"]
    members = sheets["Thành viên"]
    assert Counter(members["Cấp tổ"]) == {"Xã": 20, "Thôn": 19}
    assert sheets["Nhóm Zalo"]["Cấp tổ"].tolist().count("Thôn") == 4
    decisions = sheets["Văn bản"]
    assert decisions["Số hiệu"].tolist() == ["689/QĐ-UBND", "40/QĐ-UBND"]
    training = sheets["Tập huấn"]
    assert training["Hình thức"].tolist() == ["Trực tuyến"]
    assert sheets["Thông tin xã"]["Người ký"].tolist() == ["Trần Văn Xuyến"]


def test_rosters_carry_phone_numbers_and_birth_years(tiny_district: Paths) -> None:
    members = _sheets(tiny_district.raw_year(2022) / "10645-an-lam.xlsx")["Thành viên"]
    assert members["Số điện thoại"].str.fullmatch(r"09\d{8}").all()
    assert members["Năm sinh"].between(1950, 2010).all()


def test_generation_is_deterministic(tmp_path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        generate(folder, years=(2022,), only=("nam-chinh",), activity_rows=(30, 40))
    a = _sheets(first / "2022" / "10627-nam-chinh.xlsx")
    b = _sheets(second / "2022" / "10627-nam-chinh.xlsx")
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert (first / "2022" / "_planted.csv").read_bytes() == (
        second / "2022" / "_planted.csv"
    ).read_bytes()


def test_every_kind_of_mess_is_planted_and_recorded(tiny_district: Paths) -> None:
    with open(tiny_district.raw_year(2022) / "_planted.csv", encoding="utf-8") as f:
        kinds = Counter(row["kind"] for row in csv.DictReader(f))
    for kind in (
        "tcvn3",
        "nfd",
        "date_text",
        "date_serial",
        "village_typo",
        "duplicate_row",
        "yesno_variant",
    ):
        assert kinds[kind] > 0, kind


def test_same_seed_gives_the_same_bytes(tmp_path) -> None:
    # Equal content must be equal bytes, or every re-run would think the workbooks changed.
    for folder in ("a", "b"):
        generate(tmp_path / folder, years=(2022,), only=("nam-chinh",), activity_rows=(30, 40))
    first = (tmp_path / "a" / "2022" / "10627-nam-chinh.xlsx").read_bytes()
    assert first == (tmp_path / "b" / "2022" / "10627-nam-chinh.xlsx").read_bytes()
    import zipfile

    with zipfile.ZipFile(tmp_path / "a" / "2022" / "10627-nam-chinh.xlsx") as book:
        assert {info.date_time for info in book.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = book.read("docProps/core.xml").decode()
    assert ">2000-01-01T00:00:00Z</dcterms:modified>" in core
