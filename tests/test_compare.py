"""The district comparison: ranks, totals, missing communes, escaping, outputs."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.compare import compare, villages_without_team
from pipeline.config import Paths
from pipeline.indicators import values_of
from pipeline.narrative import number
from pipeline.registry import Commune
from pipeline.runner import compute_year, execute_comparison, prepare
from pipeline.sample import sample_communes


def _commune(code: str, name: str) -> Commune:
    return Commune(code, name, "1", "Huyện Thử", "9", "Tỉnh Thử")


def _indicators(values: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"commune_code": c, "indicator": k, "value": v, "missing_reason": ""}
            for c, figures in values.items()
            for k, v in figures.items()
        ]
    )


def test_ranks_are_stable_for_ties_and_missing_is_not_zero() -> None:
    communes = [
        _commune("1", "Xã Một"),
        _commune("2", "Xã Hai"),
        _commune("3", "Xã Ba"),
        _commune("4", "Xã Bốn"),
    ]
    indicators = _indicators(
        {
            "1": {"people_guided": 100, "members_total": 10, "rows_rejected_share": 2},
            "2": {"people_guided": 300, "members_total": 10, "rows_rejected_share": 1},
            "3": {"people_guided": 100, "members_total": 20, "rows_rejected_share": 9},
        }
    )
    result = compare(indicators, communes)
    table = result.table.set_index("commune_code")
    assert table.loc["4", "status"] == "missing" and pd.isna(table.loc["4", "people_guided"])
    assert result.missing == ["Xã Bốn"]
    assert table["rank_people_guided"].tolist()[:3] == [2, 1, 2]  # a tie shares its rank
    assert table["rank_rows_rejected_share"].tolist()[:3] == [2, 1, 3]  # less is better
    assert result.totals["people_guided"] == 500  # the missing commune adds nothing
    assert result.totals["rows_rejected_share"] is None  # shares are not summed
    assert result.medians["members_total"] == 10
    again = compare(indicators, communes)
    pd.testing.assert_frame_equal(result.table, again.table)


def test_villages_without_a_team() -> None:
    villages = pd.DataFrame({"commune_code": ["1", "1", "2"], "village": ["A", "B", "C"]})
    members = pd.DataFrame(
        {"commune_code": ["1", "1"], "team_level": ["Thôn", "Xã"], "village": ["A", "B"]}
    )
    assert villages_without_team(villages, members).values.tolist() == [["1", "B"], ["2", "C"]]


@pytest.fixture(scope="module")
def district(sample_district: Paths, tmp_path_factory):
    paths = Paths.under(tmp_path_factory.mktemp("compare"))
    shutil.copytree(sample_district.raw, paths.raw)
    communes = sample_communes(2022)
    prepare(paths, 2022, [c for c in communes if c.slug != "nam-trung"], workers=2)
    indicators = compute_year(paths, 2022)
    done = execute_comparison(paths, 2022, "district:291")
    assert done.status == "ok", done.message
    return paths, indicators


def test_totals_equal_the_sum_of_the_communes_figures(district) -> None:
    paths, indicators = district
    html = (paths.outputs_year(2022) / "so-sanh-291-nam-sach" / "comparison.html").read_text(
        "utf-8"
    )
    total_row = re.search(r'<tr class="total">(.*?)</tr>', html, re.S).group(1)
    printed = re.findall(r'<td class="num">([^<]*)</td>', total_row)
    for code in ("members_total", "people_guided", "trainings", "zalo_groups"):
        figures = [values_of(indicators, c)[code] for c in indicators["commune_code"].unique()]
        assert number(sum(figures)) in printed, code


def test_a_commune_missing_this_year_is_shown_missing(district) -> None:
    paths, _ = district
    html = (paths.outputs_year(2022) / "so-sanh-291-nam-sach" / "comparison.html").read_text(
        "utf-8"
    )
    row = re.search(r"<tr class=\"missing\"><td>Xã Nam Trung</td>(.*?)</tr>", html, re.S)
    assert row and "chưa có" in row.group(1) and ">0<" not in row.group(1)
    assert "Chưa có báo cáo năm 2022: Xã Nam Trung" in html


def test_outputs_pdf_landscape_and_excel(district) -> None:
    from pypdf import PdfReader

    paths, _ = district
    folder = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    box = PdfReader(folder / "comparison.pdf").pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape for the wide tables
    sheet = load_workbook(folder / "comparison.xlsx")["So sánh"]
    assert sheet.freeze_panes == "C3"
    assert sheet.cell(3, 4).number_format == "#,##0.0"
    names = [sheet.cell(r, 2).value for r in range(3, sheet.max_row + 1)]
    assert len(names) == 19 and "Xã Nam Trung" in names


def test_names_from_the_data_are_escaped(tiny_district: Paths, tmp_path) -> None:
    from openpyxl import load_workbook as load

    from pipeline.registry import EXTRA_REGISTRY_NAME
    from pipeline.sample import _write_registry

    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    hostile = Commune("99001", "Xã <script>alert(1)</script>", "991", "Huyện Thử", "99", "Tỉnh Thử")
    _write_registry(paths.raw / EXTRA_REGISTRY_NAME, [hostile])
    workbook = paths.raw_year(2022) / "99001.xlsx"
    shutil.copy(paths.raw_year(2022) / "10645-an-lam.xlsx", workbook)
    book = load(workbook)
    book["Thông tin xã"]["A2"] = "99001"
    book["Thôn"].append(["<script>alert(2)</script>", 10, 40])
    book.save(workbook)
    prepare(paths, 2022, [hostile])
    compute_year(paths, 2022)
    done = execute_comparison(paths, 2022, "district:991")
    assert done.status == "ok", done.message
    html = (paths.outputs_year(2022) / "so-sanh-991-thu" / "comparison.html").read_text("utf-8")
    assert "<script>alert" not in html
    assert "Xã &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html  # a village without a team


def test_a_named_list_of_communes_is_compared_like_a_district(district, tmp_path) -> None:
    from pipeline.runner import ReportOptions

    paths, _ = district
    settings = tmp_path / "settings.toml"
    settings.write_text('[groups]\n"Cụm Nam" = ["10627", "10645", "10633"]\n', encoding="utf-8")
    done = execute_comparison(paths, 2022, "group:cum-nam", ReportOptions(settings_file=settings))
    assert done.status == "ok", done.message
    html = (paths.outputs_year(2022) / "so-sanh-nhom-cum-nam" / "comparison.html").read_text(
        "utf-8"
    )
    assert "Báo cáo tổng hợp 2 trên 3 xã" in html  # Nam Trung has no data this year
    assert "Xã Nam Chính" in html and "Xã An Lâm" in html and "Xã Nam Hưng" not in html


def test_a_province_is_a_group_too_as_after_the_2025_reform() -> None:
    from pipeline.registry import find_group

    province = find_group(2022, "province:30")
    assert (province.slug, province.name, len(province.communes)) == (
        "30-hai-duong",
        "Tỉnh Hải Dương",
        235,
    )
