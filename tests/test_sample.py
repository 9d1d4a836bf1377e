import csv
from collections import Counter

import pandas as pd
import pytest

from pipeline.core.config import Paths
from pipeline.sample import generate, post_merger_communes, workbook_name


def _sheets(path):
    return pd.read_excel(path, sheet_name=None, engine="openpyxl", dtype=object)


def test_the_demos_nam_chinh_2022_looks_like_the_seed(tiny_district: Paths) -> None:
    """The demo's choice (see pipeline/sample.py), not a test of the seed's facts: those are
    tested from tests/fixtures/seed, in test_seed_fixture.py."""
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


@pytest.fixture(scope="module")
def post_merger(tmp_path_factory) -> Paths:
    """The sample's two merged units of 2025 at real size, prepared and computed."""
    from pipeline.running.computing import compute_year
    from pipeline.running.preparing import prepare

    paths = Paths.under(tmp_path_factory.mktemp("merged"))
    generate(paths.raw, years=(2025,), units=list(post_merger_communes()))
    prepare(paths, 2025, list(post_merger_communes()))
    compute_year(paths, 2025)
    return paths


_READ: dict[str, dict[str, pd.DataFrame]] = {}


def _raw_sheets(paths: Paths, commune) -> dict[str, pd.DataFrame]:
    path = paths.raw_year(2025) / workbook_name(commune)
    if str(path) not in _READ:
        _READ[str(path)] = _sheets(path)
    return _READ[str(path)]


def test_the_post_merger_sample_is_of_real_size(post_merger: Paths) -> None:
    """A merged phường and a merged xã of the 2025 tree: 40,000–120,000 people, 25–60 villages
    in their own words, several hundred members, tens of thousands of people guided and of
    dossiers in the year; each row a plausible one, under the former fixed caps."""
    ward, commune = post_merger_communes()
    assert (ward.kind, commune.kind) == ("Phường", "Xã") and ward.province_code == "31"
    for unit in (ward, commune):
        sheets = _raw_sheets(post_merger, unit)
        villages = sheets["Thôn"]
        assert 25 <= len(villages) <= 60
        assert 40_000 <= villages["Số dân"].sum() <= 120_000
        assert 250 <= len(sheets["Thành viên"]) <= 600
        results = sheets["Kết quả"]
        dossiers = results.loc[results["Chỉ tiêu"] == "Hồ sơ thủ tục hành chính tiếp nhận"]
        assert 10_000 <= dossiers["Giá trị"].sum() < 100_000
        assert results["Giá trị"].max() <= 10_000
        people = pd.to_numeric(sheets["Nhật ký hoạt động"]["Số người được hướng dẫn"]).dropna()
        assert people[people.between(1, 2_000)].sum() >= 10_000
        assert (people.between(1, 2_000) | (people < 0) | (people == 99_999)).all()  # or planted
    ward_sheets = _raw_sheets(post_merger, ward)
    assert set(ward_sheets["Thôn"]["Loại"]) == {"Tổ dân phố"}
    assert set(ward_sheets["Thành viên"]["Cấp tổ"]) == {"Phường", "Tổ dân phố"}


def test_made_up_merged_communes_are_of_real_size(tmp_path) -> None:
    """The benchmarks' province after the July 2025 reform: communes without a district, each
    of a merged commune's size (what `generate(merged=True)` promises them)."""
    written = generate(tmp_path, years=(2025,), communes=2, merged=True)
    with open(tmp_path / "communes.csv", encoding="utf-8") as registry:
        units = list(csv.DictReader(registry))
    assert [u["district_code"] for u in units] == ["", ""]
    assert [u["commune_name"].split()[0] for u in units] == ["Phường", "Xã"]
    for path in written:
        sheets = _sheets(path)
        assert 25 <= len(sheets["Thôn"]) <= 60
        assert 40_000 <= sheets["Thôn"]["Số dân"].sum() <= 120_000
        assert 250 <= len(sheets["Thành viên"]) <= 600
        assert len(sheets["Nhật ký hoạt động"]) >= 1_300


def test_cleaning_and_indicators_keep_the_real_size_figures(post_merger: Paths) -> None:
    """What the workbook says is what the indicators say: population, villages, members and
    dossiers whole; people guided are the log's rows less exactly the rows planted as bad."""
    processed = post_merger.processed_year(2025)
    indicators = pd.read_parquet(processed / "indicators.parquet")
    rejected = pd.read_parquet(processed / "rejected.parquet")
    planted = pd.read_csv(post_merger.raw_year(2025) / "_planted.csv", dtype=str)
    bad = planted[planted["expected"] == "rejected"]
    assert set(zip(rejected["file"], rejected["excel_row"].astype(int), strict=True)) == set(
        zip(bad["file"], bad["excel_row"].astype(int), strict=True)
    )  # nothing of real size was thrown out
    for unit in post_merger_communes():
        sheets = _raw_sheets(post_merger, unit)
        v = dict(
            indicators.loc[indicators["commune_code"] == unit.code, ["indicator", "value"]].values
        )
        results = sheets["Kết quả"]
        dossiers = results.loc[results["Chỉ tiêu"] == "Hồ sơ thủ tục hành chính tiếp nhận"]
        assert v["population"] == sheets["Thôn"]["Số dân"].sum()
        assert v["villages"] == len(sheets["Thôn"]) == v["teams_village"]
        assert v["members_total"] == len(sheets["Thành viên"])
        assert v["all_dossiers"] == dossiers["Giá trị"].sum() >= 10_000
        log = sheets["Nhật ký hoạt động"]
        mine = rejected[rejected["file"] == workbook_name(unit)]
        dropped = set(mine["excel_row"].astype(int))
        kept = log[[row + 2 not in dropped for row in range(len(log))]]
        assert v["people_guided"] == pd.to_numeric(kept["Số người được hướng dẫn"]).sum()
        assert v["people_guided"] >= 10_000 and v["adults_with_vneid"] >= 10_000
