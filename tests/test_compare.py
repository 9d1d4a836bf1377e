"""The district comparison: ranks, totals, missing communes, escaping, outputs."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.core.config import TEMPLATES, Paths
from pipeline.measuring.compare import (
    TEAM_INDICATORS,
    compare,
    unit_words,
)
from pipeline.measuring.indicators import (
    CATALOGUE_BY_CODE,
    Inputs,
    values_of,
    villages_without_team,
)
from pipeline.measuring.settings import load_settings
from pipeline.registry import units
from pipeline.registry.tree import Commune
from pipeline.registry.units import UnitWords, count_word, in_words
from pipeline.running.computing import compute_year
from pipeline.running.documents import execute_comparison
from pipeline.running.preparing import prepare
from pipeline.sample import sample_communes
from pipeline.writing.comparison import (
    chart_pairs,
    comparison_charts,
    comparison_context,
    own_words,
    words_of_group,
)
from pipeline.writing.exports import write_comparison_xlsx
from pipeline.writing.narrative import environment, number
from pipeline.writing.pdf import SCREEN_ONLY, typst_source
from pipeline.writing.rankchart import ranked_bars, text_width


def _commune(code: str, name: str) -> Commune:
    return Commune(code, name, "1", "Huyện Thử", "9", "Tỉnh Thử")


def _render(context: dict) -> str:
    template = environment().get_template("district_comparison.html.j2")
    return template.render(**context, footer="", ranked_charts=comparison_charts(context))


def _row(html: str, table_id: str, row_class: str) -> list[str]:
    """The figures of one summary row (total, median) of a table of the comparison."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    row = re.search(rf'<tr class="{row_class}">(.*?)</tr>', table, re.S).group(1)
    return re.findall(r'<td class="num">([^<]*)</td>', row)


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


def test_the_same_inputs_again_give_an_equal_comparison_the_caller_may_change(
    monkeypatch,
) -> None:
    """A group's comparison is asked for three times (audit, report, workbook): made once, each
    caller gets its own copy, and other figures are compared afresh."""
    from pipeline.measuring import compare as module

    made, real = [], module._compare
    monkeypatch.setattr(module, "_compare", lambda *a: made.append(a) or real(*a))
    monkeypatch.setattr(module, "_LAST", [])
    communes = [_commune("1", "Xã Một"), _commune("2", "Xã Hai"), _commune("3", "Xã Ba")]
    figures = {
        "1": {"people_guided": 100, "members_total": 10},
        "2": {"people_guided": 120, "members_total": 12},
        "3": {"people_guided": 900, "members_total": 11},
    }
    first = compare(_indicators(figures), communes, 1.0)
    assert first.outliers
    first.outliers[0]["word"] = "changed by its caller"
    first.table.loc[0, "name"] = "changed"
    again = compare(_indicators(figures), communes, 1.0)  # a new reading of the same table
    assert "word" not in again.outliers[0] and again.table.loc[0, "name"] == "Xã Một"
    assert len(made) == 1
    figures["3"]["people_guided"] = 130
    other = compare(_indicators(figures), communes, 1.0)
    assert other.totals["people_guided"] == 350 != again.totals["people_guided"]
    assert compare(_indicators(figures), communes, 5.0).outliers == []
    assert len(made) == 3


def test_villages_without_a_team() -> None:
    villages = pd.DataFrame({"commune_code": ["1", "1", "2"], "village": ["A", "B", "C"]})
    members = pd.DataFrame(
        {"commune_code": ["1", "1"], "team_level": ["Thôn", "Xã"], "village": ["A", "B"]}
    )
    assert villages_without_team(villages, members).values.tolist() == [["1", "B"], ["2", "C"]]
    # The indicator counts the villages the report and the comparison list: one rule.
    counted = CATALOGUE_BY_CODE["villages_without_team"].compute(
        Inputs({"villages": villages, "members": members}, 2022)
    )
    assert counted.to_dict() == {"1": 1.0, "2": 1.0}


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
    for code in ("members_total", "people_guided", "zalo_groups"):  # shared trainings: no sum
        figures = [values_of(indicators, c)[code] for c in indicators["commune_code"].unique()]
        assert number(sum(figures)) in printed, code


def test_team_totals_of_the_district_are_the_sum_of_its_communes(district) -> None:
    from pypdf import PdfReader

    paths, indicators = district
    folder = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    html = (folder / "comparison.html").read_text("utf-8")
    codes = indicators["commune_code"].unique()
    assert len(codes) == 18  # Nam Trung has no workbook this year
    expected = {
        code: sum(values_of(indicators, c)[code] for c in codes) for code in TEAM_INDICATORS
    }
    assert expected["teams_village"] > 0 and expected["villages_with_team"] > 0
    printed = _row(html, "comparison-teams", "total")
    assert printed == [number(expected[code]) for code in TEAM_INDICATORS]
    assert "Tổng và trung vị của huyện" in html
    sheet = load_workbook(folder / "comparison.xlsx")["So sánh"]
    headers = [cell.value for cell in sheet[2]]
    total = next(r for r in range(3, sheet.max_row + 1) if sheet.cell(r, 2).value == "Tổng")
    words = UnitWords("xã, thị trấn", ("thôn", "tổ dân phố"))  # as the page and the PDF say
    for code in TEAM_INDICATORS:
        indicator = CATALOGUE_BY_CODE[code]
        name, unit = in_words(indicator.name_vi, words), in_words(indicator.unit, words)
        column = headers.index(f"{name} ({unit})") + 1
        assert sheet.cell(total, column).value == expected[code], code
        assert {sheet.cell(r, column).number_format for r in range(3, total + 1)} == {"#,##0"}
    text = " ".join(page.extract_text() for page in PdfReader(folder / "comparison.pdf").pages)
    text = re.sub(r"\s+", " ", text)
    assert "Tổ CNSCĐ và thôn, tổ dân phố có tổ" in text
    totals = " ".join(number(expected[code]) for code in TEAM_INDICATORS)
    assert f"Tổng của 18/19 đơn vị có số liệu {totals}" in text  # Nam Trung has no report


def test_a_commune_missing_this_year_is_shown_missing(district) -> None:
    paths, _ = district
    html = (paths.outputs_year(2022) / "so-sanh-291-nam-sach" / "comparison.html").read_text(
        "utf-8"
    )
    row = re.search(r'<tr class="missing"><td class="text">Xã Nam Trung</td>(.*?)</tr>', html, re.S)
    assert row and "chưa có" in row.group(1) and ">0<" not in row.group(1)
    assert "01 xã chưa có báo cáo: xã Nam Trung" in html  # few: named once, in section 1
    assert "Chưa có báo cáo năm 2022" not in html  # not repeated at the end


def test_many_missing_units_are_counted_first_and_listed_once_at_the_end() -> None:
    # The 2025 comparison's page 1 was a wall of 113 names, repeated at the end.
    communes = [_commune(str(n), f"Xã {n:03d}") for n in range(1, 16)]
    indicators = _indicators({"1": {"people_guided": 10.0}, "2": {"people_guided": 20.0}})
    html = _render(comparison_context(2025, "x", "Tỉnh Thử", communes, indicators, load_settings()))
    text = re.sub(r"\s+", " ", html)
    assert "13 xã chưa có báo cáo (danh sách ở cuối báo cáo)" in text
    assert text.count("Xã 014, Xã 015") == 1  # listed once (a numbered unit keeps its capital)
    assert "Chưa có báo cáo năm 2025 (13 xã): Xã 003" in text


def test_the_printed_tables_count_the_missing_communes_instead_of_a_row_each(district) -> None:
    from pypdf import PdfReader

    paths, _ = district
    folder = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    text = " ".join(page.extract_text() for page in PdfReader(folder / "comparison.pdf").pages)
    text = re.sub(r"\s+", " ", text)
    assert "Xã Nam Trung chưa có" not in text  # its row of "chưa có" in tables 3 and 4
    note = "Bảng in không có dòng của 01 xã chưa có báo cáo (tên ở mục 1)"
    assert text.count(note) == 2
    assert "chưa có báo cáo: xã Nam Trung" in text  # named once, in section 1


def test_outputs_pdf_landscape_and_excel(district) -> None:
    from pypdf import PdfReader

    paths, _ = district
    folder = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    box = PdfReader(folder / "comparison.pdf").pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape for the wide tables
    sheet = load_workbook(folder / "comparison.xlsx")["So sánh"]
    assert sheet.freeze_panes == "C3"
    assert sheet.cell(3, 4).number_format == "#,##0"  # members: a count
    assert sheet.cell(3, 6).number_format == "#,##0.0"  # members per 1,000 inhabitants: a rate
    names = [sheet.cell(r, 2).value for r in range(3, sheet.max_row + 1)]
    assert len(names) == 19 + 2 and "Xã Nam Trung" in names
    assert names[-2:] == ["Tổng", "Trung vị"]


def test_names_from_the_data_are_escaped(tiny_district: Paths, tmp_path) -> None:
    from openpyxl import load_workbook as load

    from pipeline.registry.tree import EXTRA_REGISTRY_NAME
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
    from pipeline.writing.options import ReportOptions

    paths, _ = district
    settings = tmp_path / "settings.toml"
    settings.write_text('[groups]\n"Cụm Nam" = ["10627", "10645", "10633"]\n', encoding="utf-8")
    done = execute_comparison(paths, 2022, "group:cum-nam", ReportOptions(settings_file=settings))
    assert done.status == "ok", done.message
    html = (paths.outputs_year(2022) / "so-sanh-nhom-cum-nam" / "comparison.html").read_text(
        "utf-8"
    )
    assert "Báo cáo tổng hợp 2 trên 3 xã" in html  # Nam Trung has no data this year
    assert "01 xã chưa có báo cáo: xã Nam Trung" in html
    assert "Tổng và trung vị của nhóm" in html and "trung vị huyện" not in html
    assert "Xã Nam Chính" in html and "Xã An Lâm" in html and "Xã Nam Hưng" not in html
    assert "thuộc nhóm Cụm Nam năm 2022" in html
    # The scores' table prints each name whole, in its fixed first column (automatic widths
    # gave a small group's names a letter or two a line).
    from pypdf import PdfReader

    pdf = paths.outputs_year(2022) / "so-sanh-nhom-cum-nam" / "comparison.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    scores = re.sub(r"\s+", " ", text.split("6. Điểm chuẩn hóa")[1].split("7. ")[0])
    assert "Xã Nam Chính" in scores and "Xã An Lâm" in scores, scores[:300]


def test_a_province_is_a_group_too_as_after_the_2025_reform() -> None:
    from pipeline.registry.tree import find_group

    province = find_group(2022, "province:30")
    assert (province.slug, province.name, len(province.communes)) == (
        "30-hai-duong",
        "Tỉnh Hải Dương",
        235,
    )


# -- team counts: totals that neither miss nor repeat a commune ---------------------------------

# Each commune's figures are a distinct power of two, so a sum that missed a commune or counted
# one twice could not come out right by chance.
TEAM_GROUP = [
    _commune("1", "Xã Một"),
    _commune("2", "Phường Hai"),
    _commune("1", "Xã Một"),  # a named list may repeat a code: counted once
    _commune("3", "Thị trấn Ba"),
    _commune("4", "Phường Bốn"),  # no data this year
]
TEAM_FIGURES = {
    "1": {code: 2.0**k for k, code in enumerate(TEAM_INDICATORS)},
    "2": {code: 2.0 ** (k + 8) for k, code in enumerate(TEAM_INDICATORS)},
    "3": {code: 2.0 ** (k + 16) for k, code in enumerate(TEAM_INDICATORS)},
    "9": {code: 7.0 for code in TEAM_INDICATORS},  # a commune outside the group
}
for _figures, _members in zip(TEAM_FIGURES.values(), (12.0, 30.0, 7.5, 1.0), strict=True):
    _figures.update({"members_total": _members, "smartphone_share": _members * 2})


def _team_indicators() -> pd.DataFrame:
    return _indicators(TEAM_FIGURES)


def test_team_totals_are_the_sum_of_each_commune_of_the_group_once() -> None:
    result = compare(_team_indicators(), TEAM_GROUP)
    assert result.table["commune_code"].tolist() == ["1", "2", "3", "4"]
    for code in TEAM_INDICATORS:
        expected = sum(values_of(_team_indicators(), c)[code] for c in ("1", "2", "3"))
        assert result.totals[code] == expected, code
    assert result.medians["teams_commune"] == TEAM_FIGURES["2"]["teams_commune"]


def test_team_counts_have_a_total_row_in_the_html() -> None:
    context = comparison_context(
        2022, "thu", "Tỉnh Thử", TEAM_GROUP, _team_indicators(), load_settings()
    )
    html = _render(context)
    header = re.search(r'id="comparison-teams".*?<thead>(.*?)</thead>', html, re.S).group(1)
    # In the group's words: its units are xã, phường and thị trấn, their villages thôn (of the
    # xã) and tổ dân phố (of the phường and thị trấn).
    assert "Tổ CNSCĐ cấp xã, phường, thị trấn" in header
    assert "Thôn, tổ dân phố có Tổ CNSCĐ" in header and "Thôn có Tổ CNSCĐ" not in header
    totals = _row(html, "comparison-teams", "total")
    for code, printed in zip(TEAM_INDICATORS, totals, strict=True):
        figures = [values_of(_team_indicators(), c)[code] for c in ("1", "2", "3")]
        assert printed == number(sum(figures)), code


def test_a_total_over_part_of_the_group_says_so() -> None:
    figures = {c: dict(f) for c, f in TEAM_FIGURES.items()}
    del figures["3"]["villages_with_team"]  # commune 3 has data, but not this figure
    context = comparison_context(
        2022, "thu", "Tỉnh Thử", TEAM_GROUP, _indicators(figures), load_settings()
    )
    table = re.search(r'id="comparison-teams".*?</table>', _render(context), re.S).group(0)
    total = re.search(r'<tr class="total">(.*?)</tr>', table, re.S).group(1)
    column = TEAM_INDICATORS.index("villages_with_team")
    cells = re.findall(r'<td class="num">(.*?)</td>', total)
    partial = number(figures["1"]["villages_with_team"] + figures["2"]["villages_with_team"])
    assert cells[column] == f'{partial}<br><small class="partial">2/3 đơn vị</small>'
    assert "small" not in cells[column - 1]  # the other totals are of every commune with data


def test_excel_counts_are_integers_with_a_total_row(tmp_path) -> None:
    path = tmp_path / "comparison.xlsx"
    write_comparison_xlsx(compare(_team_indicators(), TEAM_GROUP), path, "Tỉnh Thử 2022")
    sheet = load_workbook(path)["So sánh"]
    headers = [cell.value for cell in sheet[2]]
    assert headers[1] == "Xã, phường, thị trấn"
    rows = {sheet.cell(r, 2).value: r for r in range(3, sheet.max_row + 1)}
    assert list(rows) == ["Xã Một", "Phường Hai", "Thị trấn Ba", "Phường Bốn", "Tổng", "Trung vị"]
    words = UnitWords("xã, phường, thị trấn", ("thôn",))  # no village words given: thôn
    for code in TEAM_INDICATORS:
        indicator = CATALOGUE_BY_CODE[code]
        name, unit = in_words(indicator.name_vi, words), in_words(indicator.unit, words)
        column = headers.index(f"{name} ({unit})") + 1
        for name in ("Xã Một", "Phường Hai", "Thị trấn Ba", "Tổng"):
            cell = sheet.cell(rows[name], column)
            assert cell.number_format == "#,##0" and isinstance(cell.value, int), (code, name)
        total = sum(TEAM_FIGURES[c][code] for c in ("1", "2", "3"))
        assert sheet.cell(rows["Tổng"], column).value == total
        assert sheet.cell(rows["Phường Bốn"], column).value is None  # missing, not zero
    share = headers.index(f"{CATALOGUE_BY_CODE['smartphone_share'].name_vi} (%)") + 1
    assert sheet.cell(rows["Xã Một"], share).number_format == "#,##0.0"
    assert sheet.cell(rows["Tổng"], share).value is None  # shares are not summed
    members = headers.index(f"{CATALOGUE_BY_CODE['members_total'].name_vi} (người)") + 1
    assert sheet.cell(rows["Trung vị"], members).value == 12  # of 12, 30 and 7.5


def test_excel_headers_are_in_the_words_the_html_and_pdf_use(tmp_path) -> None:
    """A group of a xã of ấp and a phường of khóm: the workbook's headers say 'cấp xã, phường,
    thị trấn' and 'Ấp, khóm', as the comparison's page does (they said 'cấp xã' and 'Thôn')."""
    village_words = {
        "1": units.unit_words("Xã", ["Ấp Một", "Ấp Hai"]),
        "2": units.unit_words("Phường", ["Khóm 1", "Khóm 2"]),
        "3": units.unit_words("Thị trấn", ["Khóm 3"]),
    }
    context = comparison_context(
        2022, "thu", "Tỉnh Thử", TEAM_GROUP, _team_indicators(), load_settings(),
        village_words=village_words,
    )  # fmt: skip
    compared = compare(_team_indicators(), TEAM_GROUP)
    words = words_of_group(TEAM_GROUP, own_words(TEAM_GROUP, village_words), {"4"})
    path = tmp_path / "comparison.xlsx"
    write_comparison_xlsx(compared, path, "Tỉnh Thử 2022", words)
    headers = [cell.value for cell in load_workbook(path)["So sánh"][2]]
    assert headers[:2] == ["Mã đơn vị", "Xã, phường, thị trấn"]  # not "Mã xã" of a phường
    for code in TEAM_INDICATORS:
        assert f"{context['names'][code]} ({context['units'][code]})" in headers, code
    assert "Ấp, khóm có Tổ CNSCĐ (ấp, khóm)" in headers, headers
    assert not [h for h in headers if "cấp xã" in h.replace("cấp xã, phường", "")]
    assert not [h for h in headers if re.search(r"\bthôn\b", h.lower())]


def test_villages_with_a_team_are_those_of_the_list_a_member_names() -> None:
    villages = pd.DataFrame({"commune_code": ["1", "1", "1", "2"], "village": list("ABCD")})
    members = pd.DataFrame(
        {
            "commune_code": ["1", "1", "1", "1", "2"],
            "team_level": ["Thôn", "Thôn", "Thôn", "Xã", "Xã"],
            "village": ["A", "A", "Z", "B", None],  # Z is not on the list; B's member is Xã
        }
    )
    computed = CATALOGUE_BY_CODE["villages_with_team"].compute(
        Inputs({"villages": villages, "members": members}, 2022)
    )
    assert computed.to_dict() == {"1": 1.0}  # commune 2 gets 0 from the indicator pass


# -- words for the group and its units -----------------------------------------------------------


def test_unit_words_follow_the_kinds_a_group_holds() -> None:
    assert unit_words(["Xã", "Thị trấn", "Xã"]) == "xã, thị trấn"
    assert unit_words(["Phường", "Xã"]) == "xã, phường"
    assert unit_words(["Phường"]) == "phường"
    assert unit_words(["Đặc khu", "Thị trấn", "Phường", "Xã"]) == "xã, phường, thị trấn, đặc khu"
    assert count_word(["Phường", "Phường"]) == "phường"
    assert count_word(["Phường", "Xã"]) == "đơn vị"


def test_the_group_word_names_districts_provinces_and_lists() -> None:
    from pipeline.registry.tree import Group

    def word(level: str, name: str) -> str:
        return Group(level, "x", name, ()).word

    assert word("district", "Huyện Nam Sách") == "huyện"
    assert word("district", "Thị xã Kinh Môn") == "thị xã"
    assert word("district", "Thành phố Chí Linh") == "thành phố"
    assert word("district", "Quận Ba Đình") == "quận"
    assert word("province", "Tỉnh Hải Dương") == "tỉnh"
    assert word("province", "Thành phố Hà Nội") == "thành phố"
    assert word("group", "Huyện mới") == "nhóm"


def test_the_text_names_the_group_and_its_units() -> None:
    outlying = {c.code: {"people_guided": 10.0} for c in TEAM_GROUP[:4]}
    outlying["3"] = {"people_guided": 1000.0}
    context = comparison_context(
        2022,
        "thu",
        "Tỉnh Thử",
        TEAM_GROUP,
        _indicators(outlying),
        load_settings(),
        group_word="tỉnh",
    )
    html = _render(context)
    assert "so với trung vị tỉnh" in html and "huyện" not in html
    assert "các xã, phường, thị trấn<br>trên địa bàn tỉnh Thử năm" in html
    assert "01 phường chưa có báo cáo: phường Bốn" in html
    assert '<th class="text">Xã, phường, thị trấn</th>' in html and "Xã, thị trấn" not in html
    wards = [_commune("1", "Phường Một"), _commune("2", "Phường Hai")]
    html = _render(
        comparison_context(
            2022, "q", "Quận Thử", wards, _indicators({"9": {"people_guided": 1}}), load_settings()
        )
    )
    assert "các phường<br>" in html and "02 phường chưa có báo cáo" in html


# -- scale: summary first, tables paged in print and sortable on screen -------------------------


def _province(size: int) -> tuple[list[Commune], pd.DataFrame]:
    communes = [_commune(str(1000 + k), f"Xã Số {k:03d}") for k in range(size)]
    figures = {
        c.code: {"people_guided": float((k * 37) % 101), "members_total": float(k % 9 + 1)}
        for k, c in enumerate(communes)
    }
    return communes, _indicators(figures)


def test_the_summary_comes_first_with_the_ends_of_each_ranking() -> None:
    communes, indicators = _province(40)
    context = comparison_context(
        2022, "thu", "Tỉnh Thử", communes, indicators, load_settings(), group_word="tỉnh"
    )
    html = _render(context)
    assert html.index("Tóm tắt") < html.index('id="comparison-figures"')
    summary = re.search(r'<table class="summary-table">.*?</table>', html, re.S).group(0)
    people = re.search(r'<tr><td class="text">Người dân được hướng dẫn .*?</tr>', summary).group(0)
    values = {c.name: k * 37 % 101 for k, c in enumerate(communes)}
    best = sorted(values, key=lambda n: -values[n])[:3]
    worst = sorted(values, key=lambda n: values[n])[:3]
    assert all(f"{n} ({values[n]})" in people for n in best + worst)
    assert f'<td class="num">{number(sum(values.values()))}</td>' in people


def test_small_groups_never_name_a_commune_at_both_ends() -> None:
    result = compare(
        _indicators({"1": {"people_guided": 5}, "2": {"people_guided": 9}}),
        [
            _commune("1", "Xã Một"),
            _commune("2", "Xã Hai"),
            _commune("3", "Xã Ba"),
        ],
    )
    assert result.ends["people_guided"] == ([("Xã Hai", 9.0)], [("Xã Một", 5.0)])
    assert result.ends["trainings"] == ([], [])


def test_a_tie_is_never_split_and_a_figure_all_share_names_no_commune() -> None:
    names = ["Xã Một", "Xã Hai", "Xã Ba", "Xã Bốn", "Xã Năm", "Xã Sáu"]
    communes = [_commune(str(k), name) for k, name in enumerate(names, start=1)]
    guided = dict(zip("123456", [9, 5, 5, 5, 1, 0], strict=True))
    zalo = dict(zip("123456", [5, 5, 5, 5, 1, 0], strict=True))  # the top four tied
    indicators = _indicators(
        {c: {"people_guided": v, "trainings": 0, "zalo_groups": zalo[c]} for c, v in guided.items()}
    )
    result = compare(indicators, communes)
    # The three best would be 9, 5, 5: two of the three tied at 5 left out, so none of them.
    assert result.ends["people_guided"] == (
        [("Xã Một", 9.0)],
        [("Xã Sáu", 0.0), ("Xã Năm", 1.0)],
    )
    assert result.ends["trainings"] == ([], [])
    html = _render(
        comparison_context(2022, "thu", "Huyện Thử", communes, indicators, load_settings())
    )
    summary = re.search(r'<table class="summary-table">.*?</table>', html, re.S).group(0)
    trainings = CATALOGUE_BY_CODE["trainings"].name_vi
    row = re.search(rf"<tr><td class=\"text\">{trainings} .*?</tr>", summary).group(0)
    assert 'colspan="2">như nhau ở cả 06 xã có số liệu' in row and "Xã Một" not in row
    members = CATALOGUE_BY_CODE["members_commune"].name_vi
    teams = re.search(rf"<tr><td class=\"text\">{members} .*?</tr>", summary).group(0)
    assert 'colspan="2">không xếp hạng' in teams  # the teams' counts are totalled, not ranked
    groups = CATALOGUE_BY_CODE["zalo_groups"].name_vi
    row = re.search(rf"<tr><td class=\"text\">{groups} .*?</tr>", summary).group(0)
    assert (
        '<td class="text">–</td><td class="text">Xã Sáu (0); Xã Năm (1)</td>' in row
    )  # no best: the top is a tie


def test_figures_that_print_alike_are_a_tie() -> None:
    communes = [_commune("1", "Phường Một"), _commune("2", "Phường Hai")]
    shares = _indicators({"1": {"vneid_share": 91.74}, "2": {"vneid_share": 91.66}})
    tied = compare(shares, communes)
    assert tied.ends["vneid_share"] == ([], [])  # both print 91,7
    assert tied.table["rank_vneid_share"].tolist() == [1, 1]
    # 20.05 prints 20,1 (Python's rounding of the exact binary value); pandas' round gives 20.0.
    half = _indicators({"1": {"vneid_share": 20.05}, "2": {"vneid_share": 20.1}})
    assert compare(half, communes).table["rank_vneid_share"].tolist() == [1, 1]
    assert compare(half, communes).ends["vneid_share"] == ([], [])
    apart = _indicators({"1": {"vneid_share": 91.74}, "2": {"vneid_share": 91.6}})
    assert compare(apart, communes).ends["vneid_share"] == (
        [("Phường Một", 91.74)],
        [("Phường Hai", 91.6)],
    )
    village = _commune("3", "Xã Ba")  # no report: its thôn are not the group's words
    html = _render(
        comparison_context(
            2025, "q", "Thành phố Thử", [*communes, village], shares, load_settings()
        )
    )
    assert "như nhau ở cả 02 phường có số liệu" in html
    assert "Tổ CNSCĐ cấp tổ dân phố" in html and "cấp thôn" not in html


def test_a_group_without_any_data_says_so_first() -> None:
    communes = [_commune("1", "Xã Một"), _commune("2", "Thị trấn Hai")]
    none = pd.DataFrame(columns=["commune_code", "indicator", "value", "missing_reason"])
    html = _render(comparison_context(2024, "h", "Huyện Thử", communes, none, load_settings()))
    assert "Chưa có xã, thị trấn nào của huyện Thử có số liệu năm 2024" in html
    assert html.index("Chưa có xã") < html.index("2. Tóm tắt")


def test_ranked_charts_of_a_large_group_show_both_ends() -> None:
    pairs = [(f"Xã {k}", float(k)) for k in range(50)]
    shown, cut = chart_pairs(pairs)
    assert cut and [v for _, v in shown] == list(range(10)) + list(range(40, 50))
    assert chart_pairs(pairs[:30]) == (pairs[:30], False)


def test_ranked_bars_show_every_name_and_value_largest_first() -> None:
    names = ["Xã <A>", "Xã Bé", "Xã Cờ", "Thị trấn Rất Dài Tên"]
    svg = ranked_bars(names, [12.5, 3.0, 1234.0, 0.0], "Tỷ lệ & hạng", "%", (50.0, "chỉ tiêu"))
    assert re.findall(r'text-anchor="end">([^<]*)<', svg) == [
        "Xã Cờ",
        "Xã &lt;A&gt;",
        "Xã Bé",
        "Thị trấn Rất Dài Tên",
    ]
    assert re.findall(r'<text x="[^"]*" y="[^"]*" text-anchor="start">([^<]*)<', svg) == [
        "1.234",
        "12,5",
        "3",
        "0",
    ]
    assert "<figcaption>Tỷ lệ &amp; hạng</figcaption>" in svg and "chỉ tiêu</text>" in svg
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([^"]*)"', svg)]
    assert widths == sorted(widths, reverse=True) and widths[-1] == 0.0
    # The longest name fits left of the bars: it ends where they start, and starts inside.
    start = float(re.search(r'<rect x="([^"]*)"', svg).group(1))
    assert start > text_width("Thị trấn Rất Dài Tên") > text_width("Xã Cờ") > 0
    assert typst_source(svg).count("#h-svg(") == 1  # the PDF takes it whole, as a vector image
    assert svg == ranked_bars(
        names, [12.5, 3.0, 1234.0, 0.0], "Tỷ lệ & hạng", "%", (50.0, "chỉ tiêu")
    )


def test_long_tables_are_paged_in_print_and_sortable_offline() -> None:
    communes, indicators = _province(40)
    context = comparison_context(2022, "thu", "Tỉnh Thử", communes, indicators, load_settings())
    html = _render(context)
    assert html == _render(context)  # no random ids: the same inputs, the same bytes
    print_css = html[html.index("@media print") :]
    assert re.search(r"thead[^{]*\{ display: table-header-group; \}", print_css)
    assert re.search(r"tr[^{]*\{ break-inside: avoid; \}", print_css)
    assert "<script>" in html and "<script src" not in html
    assert "http://" not in html and "https://" not in html
    body = re.search(r'id="comparison-figures".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    assert body.count("<tr") == 40 and 'class="total"' not in body  # totals never sorted
    assert 'data-value="100.0"' in html


def test_clicking_a_header_sorts_the_communes_in_a_browser(tmp_path) -> None:
    """The inline script, in Chromium (as tests/test_index_browser.py drives it)."""
    import os

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium) and not os.environ.get("CI"):
        pytest.skip("Chromium is not installed (as root: apt-get install chromium)")
    communes, indicators = _province(40)
    communes.append(_commune("9999", "Xã Chưa Có"))  # no data: stays last either way
    context = comparison_context(2022, "thu", "Tỉnh Thử", communes, indicators, load_settings())
    page_file = tmp_path / "comparison.html"
    page_file.write_text(f'<!DOCTYPE html><meta charset="utf-8">{_render(context)}', "utf-8")
    people = {c.name: k * 37 % 101 for k, c in enumerate(communes[:40])}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        table = page.locator("#comparison-figures")
        header = table.locator("th", has_text="Người dân được hướng dẫn").first

        def names() -> list[str]:
            return [n.strip() for n in table.locator("tr td:first-child").all_inner_texts()]

        header.click()
        ascending = sorted(people, key=lambda n: (people[n], list(people).index(n)))
        total = "Tổng của 40/41 xã có số liệu"  # the total says whose figures it adds
        assert names() == [*ascending, "Xã Chưa Có", total, "Trung vị"]  # 9 before 100
        header.click()
        descending = sorted(people, key=lambda n: (-people[n], list(people).index(n)))
        assert names()[:3] == descending[:3] and names()[-3:] == ["Xã Chưa Có", total, "Trung vị"]
        table.locator("th").first.click()
        assert names()[:2] == ["Xã Chưa Có", "Xã Số 000"]  # Vietnamese order of names
        browser.close()
    assert errors == []


def test_a_large_group_prints_compact_and_names_each_figure_once_in_the_remarks() -> None:
    communes, indicators = _province(40)
    context = comparison_context(
        2022, "thu", "Tỉnh Thử", communes, indicators, load_settings(), group_word="tỉnh"
    )
    assert context["long_group"] and context["outliers"]
    html = _render(context)
    assert 'class="comparison-table sortable long" id="comparison-figures"' in html
    assert '<small class="rank"><br>hạng ' in html  # on screen; hidden in print
    remarks = html[html.index("Nhận xét") :]
    for group in context["outlier_groups"]:
        name = context["names"][group["indicator"]]
        sentence = f"<p>{name} {group['word']} so với trung vị tỉnh"
        assert remarks.count(sentence) == 1, sentence
    named = sum(len(g["communes"]) for g in context["outlier_groups"])
    assert named == len(context["outliers"])
    for outlier in context["outliers"]:
        assert f"{outlier['commune']} (" in remarks
    printed = SCREEN_ONLY.sub("", html)  # what the PDF is made of
    figures = re.search(r'id="comparison-figures".*?<tbody>(.*?)</tbody>', printed, re.S).group(1)
    assert figures.count("<tr") == 40 and "hạng" not in figures
    assert 'class="heat-table' not in printed and "<script>" not in printed
    assert "Bảng điểm của từng xã có trong bản HTML" in printed
    small = comparison_context(
        2022, "thu", "Tỉnh Thử", communes[:12], indicators, load_settings(), group_word="tỉnh"
    )
    small_html = _render(small)
    assert not small["long_group"] and " long" not in small_html
    assert "hạng" in SCREEN_ONLY.sub("", small_html) and "heat-table" in SCREEN_ONLY.sub(
        "", small_html
    )


def test_a_partial_year_is_not_ranked_against_full_years() -> None:
    # Hợp Tiến's log stops in April: it was ranked first on people guided, with no mark.
    communes = [_commune(str(n), f"Xã {name}") for n, name in enumerate("ABCDEF", start=1)]
    full = {"log_months": 12.0, "log_first_month": 1.0, "log_last_month": 12.0}
    values = {
        str(n): {**full, "people_guided": 1000.0 + 100 * n, "smartphone_share": 80.0 + n}
        for n in range(1, 6)
    }
    values["6"] = {
        "log_months": 4.0,
        "log_first_month": 1.0,
        "log_last_month": 4.0,
        "people_guided": 9000.0,
        "smartphone_share": 99.0,
    }
    result = compare(_indicators(values), communes, outlier_z=1.0)
    table = result.table.set_index("commune_code")
    assert pd.isna(table.at["6", "rank_people_guided"])  # not ranked on a yearly flow
    assert table.at["5", "rank_people_guided"] == 1
    assert "Xã F" not in [name for name, _ in result.ends["people_guided"][0]]
    assert not [
        o for o in result.outliers if o["commune"] == "Xã F" and o["indicator"] == "people_guided"
    ]
    assert result.medians["people_guided"] == 1300.0  # of the full years
    assert result.totals["people_guided"] == 9000.0 + sum(1000.0 + 100 * n for n in range(1, 6))
    assert table.at["6", "rank_smartphone_share"] == 1  # a share of members is not a flow


def test_a_partial_year_is_neither_drawn_on_a_ranked_chart_nor_ranked_none() -> None:
    """A new user's trial: Mường Nhé (January–April) was drawn first on the chart of people
    guided per 1,000 and its table cells read 'hạng None', beside section 1 saying such a unit
    is not ranked."""
    communes = [_commune(str(n), f"Xã {name}") for n, name in enumerate("ABC", start=1)]
    full = {"log_months": 12.0, "log_first_month": 1.0, "log_last_month": 12.0}
    values = {str(n): {**full, "people_guided_per_1000": 500.0 + n} for n in (1, 2)}
    values["3"] = {"log_months": 4.0, "log_first_month": 1.0, "log_last_month": 4.0}
    values["3"]["people_guided_per_1000"] = 900.0
    context = comparison_context(
        2025, "x", "Tỉnh Thử", communes, _indicators(values), load_settings()
    )
    charts = comparison_charts(context)
    drawn = [svg for svg in charts if "1.000 dân" in svg]
    assert drawn and all("Xã C" not in svg for svg in drawn)
    html = _render(context)
    assert "hạng None" not in html and "không xếp hạng" in html


def test_a_target_is_reached_in_the_comparison_as_the_report_judges_it() -> None:
    """A review found 30,04 % counted as reaching 'trên 30%' (the report prints 30% and says
    'chưa đạt') and 104 % counted as reaching it (the report does not judge above 100 %)."""
    communes = [_commune(str(n), f"Xã {name}") for n, name in enumerate("ABCD", start=1)]
    shares = {"1": 30.04, "2": 104.0, "3": 45.0, "4": 20.0}
    values = {c: {"vneid_share": v} for c, v in shares.items()}
    context = comparison_context(
        2023, "x", "Tỉnh Thử", communes, _indicators(values), load_settings()
    )
    [(_, reached, judged)] = [t for t in context["targets"] if "định danh" in t[0]]
    assert reached == ["Xã C"] and judged == 3


def test_shared_trainings_are_not_summed_and_one_unit_has_no_median() -> None:
    # A class the district runs for every commune is counted by each: "Lớp tập huấn Tổng 40"
    # added the same classes up. And a median of one unit is that unit, not a median.
    communes = [_commune("1", "Xã Một"), _commune("2", "Xã Hai"), _commune("3", "Xã Ba")]
    values = {
        "1": {"trainings": 2.0, "teams_total": 3.0, "vneid_share": 40.0},
        "2": {"trainings": 2.0, "teams_total": 5.0},
        "3": {"trainings": 3.0, "teams_total": 4.0},
    }
    result = compare(_indicators(values), communes, outlier_z=1.5)
    assert result.totals["trainings"] is None
    assert result.totals["teams_total"] == 12.0  # the teams in all, as a district publishes
    assert result.medians["trainings"] == 2.0
    assert result.medians["vneid_share"] is None  # one unit: no median


def test_the_remarks_put_the_targets_first_and_only_the_largest_gaps() -> None:
    # The remarks ran 81 lines of "cao hơn nhiều so với trung vị" before the target summary.
    communes = [_commune(str(n), f"Xã {n:02d}") for n in range(1, 13)]
    far = {"people_guided": (1, 2, 3), "zalo_groups": (4, 5, 6), "members_total": (7, 8, 9)}
    values = {
        str(n): {
            **{code: (5.0 if n in ends else 1.0) * 100 + n for code, ends in far.items()},
            "vneid_share": 20.0 + 2 * n,
        }
        for n in range(1, 13)
    }
    context = comparison_context(
        2023, "x", "Huyện Thử", communes, _indicators(values), load_settings()
    )
    assert len(context["outliers"]) > 8 == len(context["remarks"])
    assert all(r["word"].endswith("nhiều") for r in context["remarks"])
    text = re.sub(r"\s+", " ", _render(context))
    remarks = text[text.index("Nhận xét") :]
    target = remarks.index("Chỉ tiêu quốc gia năm 2023: trên 30%")
    assert target < remarks.index("so với trung vị")
    assert remarks.count("so với trung vị") == len(context["remarks"])


def test_a_comparison_of_a_year_without_targets_judges_nothing_against_another_years() -> None:
    """The 2024 comparison summed who reached "chỉ tiêu quốc gia năm 2023": a year judges its
    shares against its own targets only, and says which shares it has none for."""
    communes = [_commune(str(n), f"Xã {name}") for n, name in enumerate("ABC", start=1)]
    values = {
        c: {"vneid_share": v, "online_dossier_share": v}
        for c, v in zip("123", (20.0, 45.0, 60.0), strict=True)
    }
    for year, lacking in ((2024, 2), (2025, 1)):
        context = comparison_context(
            year, "x", "Tỉnh Thử", communes, _indicators(values), load_settings()
        )
        labels = [label for label, _, _ in context["targets"]]
        assert all(f"năm {year}:" in label for label in labels), labels
        assert len(context["untargeted"]) == lacking
        html = _render(context)
        assert "năm 2023" not in html
        assert (
            f"Chưa có chỉ tiêu quốc gia năm {year} để so sánh với tỷ lệ người trưởng thành" in html
        )
    assert "online" not in " ".join(context["untargeted"])  # 2025 declares the dossiers' own


def test_text_columns_are_left_aligned_and_figures_right_in_html_and_pdf() -> None:
    """The names were right-aligned like the figures (a notebook's style sheet right-aligns
    every cell): each cell of the comparison's tables says its column's type."""
    from pipeline.writing.typeset import to_typst

    communes = [_commune(str(n), f"Xã {name}") for n, name in enumerate("ABC", start=1)]
    values = {
        c: {"people_guided": v, "teams_total": 3.0, "vneid_share": v / 10}
        for c, v in zip("123", (200.0, 450.0, 600.0), strict=True)
    }
    context = comparison_context(
        2023, "x", "Tỉnh Thử", communes, _indicators(values), load_settings()
    )
    html = _render(context)
    tables = re.findall(
        r'<table class="(comparison-table|heat-table|summary-table)[^"]*"[^>]*>(.*?)</table>',
        html,
        re.S,
    )
    assert {kind for kind, _ in tables} == {"comparison-table", "heat-table", "summary-table"}
    for kind, table in tables:
        for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", table, re.S):
            cells = re.findall(r"<t[dh]\b([^>]*)>(.*?)</t[dh]>", row, re.S)
            types = [re.search(r'class="([^"]*)"', attrs) for attrs, _ in cells]
            assert all(t and {"text", "num"} & set(t.group(1).split()) for t in types), (kind, row)
            # The first column names a unit (or a figure, or "Tổng"): text.
            assert "text" in types[0].group(1).split(), (kind, row)
            for (_, content), found in zip(cells, types, strict=True):
                if re.fullmatch(r"[\d.,]+", content.strip()):
                    assert "num" in found.group(1).split(), (kind, content)
    assert '<td class="text">Xã A</td>' in html
    assert re.search(r"\.summary-table \.text \{ text-align: left; \}", html)
    assert re.search(r"\.summary-table th\.num \{ text-align: right; \}", html)
    # The PDF: the cells keep their class, which the print style aligns.
    source = to_typst(html)
    assert 'h-cell(c: ("text", )' in source and 'h-cell(c: ("num", )' in source
    print_style = (TEMPLATES / "print.typ").read_text(encoding="utf-8")
    assert '"text" in c { left + top }' in print_style
