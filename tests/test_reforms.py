"""Across the reforms: the seed's commune Nam Chính became Xã Trần Phú of Nam Sách on 01/12/2024,
and Xã Trần Phú of Hải Phòng on 01/07/2025. Its reports read its predecessors' months once,
compare with the sum of what it was made of, and are sent where the tree of the year says."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.config import Paths
from pipeline.measuring.indicators import CATALOGUE
from pipeline.reading.clean import clean_workbook
from pipeline.reading.ingest import read_workbook
from pipeline.registry.tree import Commune, find_commune
from pipeline.running.computing import _told_apart, pooled_note
from pipeline.running.rendering import visible_text
from pipeline.running.runner import run_year
from pipeline.sample import commune_sheets, generate, territory_villages, write_workbook
from pipeline.writing.options import ReportOptions

FAST = ReportOptions(formats=("html",), engine="inprocess")


def _run(paths: Paths, year: int, codes: list[str], options: ReportOptions = FAST) -> list:
    communes = [find_commune(year, code) for code in codes]
    runs = run_year(paths, year, communes, workers=1, echo=lambda *_: None, options=options)
    assert all(r.status == "ok" for r in runs), [r.message for r in runs]
    return runs


@pytest.fixture(scope="module")
def reforms(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """Nam Chính and Nam Trung in 2023; the sample's years after the reforms, 2024 and 2025."""
    paths = Paths.under(tmp_path_factory.mktemp("reforms"))
    generate(paths.raw, years=(2023,), only=("nam-chinh", "nam-trung"), activity_rows=(60, 90))
    generate(paths.raw, years=(2024, 2025), activity_rows=(60, 90))
    _run(paths, 2023, ["10627", "10633"])
    _run(paths, 2024, ["10633", "10618", "10621"])
    _run(paths, 2025, ["10633"])
    return paths


def _indicators(paths: Paths, year: int) -> pd.DataFrame:
    return pd.read_parquet(paths.processed_year(year) / "indicators.parquet")


def _value(frame: pd.DataFrame, code: str, indicator: str, column: str = "value") -> float:
    row = frame[(frame["commune_code"] == code) & (frame["indicator"] == indicator)]
    return float(row[column].iloc[0])


def test_the_sample_follows_the_seed_commune(reforms: Paths) -> None:
    assert sorted(p.name for p in reforms.raw_year(2024).glob("*.xlsx")) == [
        "10618-hiep-cat.xlsx",
        "10621-quoc-tuan.xlsx",
        "10627-nam-chinh.xlsx",  # Jan-Nov: the predecessors of Trần Phú
        "10633-nam-trung.xlsx",
        "10633-tran-phu.xlsx",  # from 01/12/2024
    ]
    assert sorted(p.name for p in reforms.raw_year(2025).glob("*.xlsx")) == [
        "10525-hai-duong.xlsx",  # the merged units of real size (sample.POST_MERGER)
        "10618-hiep-cat.xlsx",  # Jan-Jun
        "10621-quoc-tuan.xlsx",
        "10633-tran-phu.xlsx",  # the whole year: it kept Trần Phú's code and name
        "10642-thai-tan.xlsx",
    ]


@pytest.mark.parametrize("year", [2024, 2025])
def test_the_successor_counts_its_predecessors_months_once(reforms: Paths, year: int) -> None:
    successor = find_commune(year, "10633")
    origins = pd.read_parquet(reforms.processed_year(year) / "origins.parquet")
    read = origins[(origins["commune_code"] == "10633") & (origins["status"] == "read")]
    # Each workbook cleaned on its own, its rows of its period only, added up: the same people
    # as the successor's one table (no row counted twice, none lost).
    expected = 0.0
    files = {
        f"{successor.code}-{successor.slug}.xlsx": None,
        **dict(zip(read["file"], read["change_date"], strict=True)),
    }
    for name, change in files.items():
        code = name.split("-")[0]
        result = clean_workbook(read_workbook(reforms.raw_year(year) / name), code, year)
        activities = result.tables["activities"]
        if change is not None:
            activities = activities[activities["date"] < pd.Timestamp(change)]
        expected += activities["people"].sum()
    indicators = _indicators(reforms, year)
    assert _value(indicators, "10633", "people_guided") == expected
    kept = pd.read_parquet(reforms.processed_year(year) / "activities.parquet")
    mine = kept[kept["commune_code"] == "10633"]
    assert set(mine["_file"]) == set(files)
    for name, change in files.items():
        if change is not None:  # nothing of a predecessor's after the change
            assert (mine.loc[mine["_file"] == name, "date"] < pd.Timestamp(change)).all()
    rejected = pd.read_parquet(reforms.processed_year(year) / "rejected.parquet")
    late = rejected[
        (rejected["commune_code"] == "10633") & (rejected["reason_code"] == "after_change")
    ]
    assert set(late["file"]) <= set(read["file"])


def test_the_report_says_whose_workbooks_it_includes(reforms: Paths) -> None:
    report = (reforms.outputs_year(2024) / "10633-tran-phu" / "report.html").read_text("utf-8")
    text = " ".join(visible_text(report).split())
    assert (
        "Xã Trần Phú được thành lập từ ngày 01/12/2024 trên cơ sở xã Nam Chính (cũ), "
        "xã Nam Trung (cũ). "
        "Số liệu năm 2024 gồm cả sổ theo dõi của xã Nam Chính, xã Nam Trung trước ngày sắp xếp."
    ) in text


def test_last_year_is_the_sum_of_the_predecessors_reports(reforms: Paths) -> None:
    before, now = _indicators(reforms, 2024), _indicators(reforms, 2025)
    parts = ["10618", "10621", "10633"]  # Hiệp Cát, Quốc Tuấn and Trần Phú of Nam Sách
    for counted in ("members_total", "people_guided", "population"):
        assert _value(now, "10633", counted, "previous_value") == sum(
            _value(before, code, counted) for code in parts
        )
    # A rate from the summed parts, never the mean of the rates.
    people = sum(_value(before, code, "people_guided") for code in parts)
    population = sum(_value(before, code, "population") for code in parts)
    rate = _value(now, "10633", "people_guided_per_1000", "previous_value")
    assert rate == pytest.approx(people / population * 1000)
    mean = sum(_value(before, c, "people_guided_per_1000") for c in parts) / 3
    assert rate != pytest.approx(mean)
    note = now.loc[now["commune_code"] == "10633", "previous_note"].iloc[0]
    assert note == "tổng của các xã trước sắp xếp: xã Hiệp Cát, xã Quốc Tuấn, xã Trần Phú"
    # Every count and level adds up, those that count distinct things included: each
    # predecessor had its own commune-level team (three, not one) and its own villages.
    for indicator in CATALOGUE:
        if indicator.additive:
            expected = sum(_value(before, code, indicator.code) for code in parts)
            previous = _value(now, "10633", indicator.code, "previous_value")
            assert previous == pytest.approx(expected, nan_ok=True), indicator.code
    assert _value(now, "10633", "teams_commune", "previous_value") == 3
    # A declared share from its summed parts.
    adults = sum(_value(before, code, "adults") for code in parts)
    vneid = sum(_value(before, code, "adults_with_vneid") for code in parts)
    share = _value(now, "10633", "vneid_share", "previous_value")
    assert share == pytest.approx(vneid / adults * 100)
    report = (reforms.outputs_year(2025) / "10633-tran-phu" / "report.html").read_text("utf-8")
    assert "Cột năm 2024 là tổng của các xã trước sắp xếp: xã Hiệp Cát" in visible_text(report)


def test_a_report_after_july_2025_goes_to_the_province_not_a_district(reforms: Paths) -> None:
    text = visible_text(
        (reforms.outputs_year(2025) / "10633-tran-phu" / "report.html").read_text("utf-8")
    )
    assert "Sở Khoa học và Công nghệ thành phố Hải Phòng" in text
    assert "Phòng Văn hóa và Thông tin" not in text and "huyện" not in text.lower()
    before = visible_text(
        (reforms.outputs_year(2024) / "10633-tran-phu" / "report.html").read_text("utf-8")
    )
    assert "Phòng Văn hóa và Thông tin huyện Nam Sách" in before


def test_a_divided_predecessor_is_read_only_where_the_settings_say(
    reforms: Paths, tmp_path: Path
) -> None:
    # Cộng Hòa was divided between An Phú (the main part), Nam An Phụ and Lai Khê.
    paths = Paths.under(tmp_path)
    year = 2025
    an_phu, cong_hoa = find_commune(year, "10645"), find_commune(2024, "10639")
    raw = paths.raw_year(year)
    raw.mkdir(parents=True)
    villages = territory_villages(an_phu, 2022)
    write_workbook(
        commune_sheets(an_phu, year, 2022, (40, 60), villages), raw / "10645-an-phu.xlsx"
    )
    first_half = (pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-06-30").date())
    write_workbook(
        commune_sheets(cong_hoa, year, 2022, (40, 60), None, first_half),
        raw / "10639-cong-hoa.xlsx",
    )
    _run(paths, year, ["10645"])
    origins = pd.read_parquet(paths.processed_year(year) / "origins.parquet").set_index(
        "source_code"
    )
    assert origins.loc["10639", "status"] == "split_unattributed"
    assert "10705 Xã Nam An Phụ" in origins.loc["10639", "candidates"]
    text = " ".join(
        visible_text(
            (paths.outputs_year(year) / "10645-an-phu" / "report.html").read_text("utf-8")
        ).split()
    )
    assert (
        "Chưa tính số liệu của Xã Cộng Hòa (10639-cong-hoa.xlsx): đơn vị này được chia cho" in text
    )
    assert (
        "trên cơ sở xã An Bình (cũ), xã An Phú (cũ), một phần xã Cộng Hòa (cũ)." in text
    )  # divided last
    alone = _value(_indicators(paths, year), "10645", "people_guided")

    settings = tmp_path / "settings.toml"
    settings.write_text('[predecessors]\n"10639" = "10645"\n', encoding="utf-8")
    _run(paths, year, ["10645"], ReportOptions(settings, formats=("html",), engine="inprocess"))
    origins = pd.read_parquet(paths.processed_year(year) / "origins.parquet").set_index(
        "source_code"
    )
    assert origins.loc["10639", "status"] == "read"
    assert _value(_indicators(paths, year), "10645", "people_guided") > alone
    shutil.rmtree(paths.base / "outputs")


def test_last_year_s_column_names_the_predecessors_in_their_own_word() -> None:
    wards = [Commune(code, name, "490", "Quận Thử", "48", "Thành phố Thử") for code, name in
             (("1", "Phường Thạch Thang"), ("2", "Phường Phước Ninh"))]  # fmt: skip
    assert pooled_note(wards, False) == (
        "tổng của các phường trước sắp xếp: phường Thạch Thang, phường Phước Ninh"
    )
    mixed = [wards[0], Commune("3", "Xã Hòa Bắc", "497", "Huyện Thử", "48", "Thành phố Thử")]
    assert pooled_note(mixed, True) == (
        "tổng của các đơn vị trước sắp xếp: phường Thạch Thang, xã Hòa Bắc"
        " (ước tính: có đơn vị bị chia tách cho nhiều đơn vị)"
    )


def test_two_predecessors_villages_of_one_name_stay_two_villages() -> None:
    rows = pd.DataFrame(
        {"commune_code": ["32110", "32116", "32116"], "village": ["Ấp 1", "Ấp 1", None]}
    )
    told = _told_apart(rows)
    assert told["village"].tolist()[:2] == ["32110/Ấp 1", "32116/Ấp 1"]
    assert pd.isna(told["village"].iloc[2])  # a commune-wide row stays commune-wide


def test_a_predecessor_without_a_figure_leaves_last_year_s_figure_and_its_rates_empty() -> None:
    """A recorded 4G upgrades, B did not: the merged commune's last year has no 4G figure, and
    no rate of A's upgrades over A's and B's people either; what both have adds up."""
    from pipeline.measuring.indicators import pooled_from_parts

    def frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["commune_code", "indicator", "value"]).assign(
            missing_reason=""
        )

    nan = float("nan")
    parts = frame(
        [
            ("A", "upgrades_4g", 10.0),
            ("B", "upgrades_4g", nan),
            ("A", "upgrades_4g_per_1000", 10.0),
            ("B", "upgrades_4g_per_1000", nan),
            ("A", "teams_commune", 1.0),
            ("B", "teams_commune", 1.0),
            ("A", "population", 1000.0),
            ("B", "population", 1000.0),
        ]
    )
    pooled = frame(  # as the pooled rows give them: one team, A's upgrades over both
        [
            ("S", "upgrades_4g", 10.0),
            ("S", "upgrades_4g_per_1000", 5.0),
            ("S", "teams_commune", 1.0),
            ("S", "population", 2000.0),
        ]
    )
    out = pooled_from_parts(pooled, parts, {"S": ["A", "B"]}).set_index("indicator")["value"]
    assert pd.isna(out["upgrades_4g"]) and pd.isna(out["upgrades_4g_per_1000"])
    assert (out["teams_commune"], out["population"]) == (2.0, 2000.0)
