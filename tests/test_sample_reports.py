"""Every report and comparison of the sample district reads right: scanned for the words a
report must never print, and the sample's special communes checked sentence by sentence."""

from __future__ import annotations

import re

import pytest

from pipeline.core.config import Paths
from pipeline.registry.tree import find_commune
from pipeline.running.computing import compute_year
from pipeline.running.preparing import prepare
from pipeline.running.rendering import visible_text
from pipeline.sample import REFORM_YEARS, YEARS, generate, sample_communes
from pipeline.writing.comparison import district_comparison_html
from pipeline.writing.report import commune_report_html


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    """The sample district's reports and comparisons, as the notebooks render them, by name."""
    base = tmp_path_factory.mktemp("sample-reports")
    paths = Paths.under(base)
    generate(paths.raw, years=YEARS, activity_rows=(60, 90))
    out = {}
    for year in YEARS:
        communes = sample_communes(year)
        assert prepare(paths, year, communes, workers=2) == {}
        compute_year(paths, year)
        for commune in communes:
            out[f"{year}/{commune.slug}"] = commune_report_html(year, commune.code, base)
        out[f"{year}/so-sanh"] = district_comparison_html(year, "district:291", base)
    # The years after the reforms: Trần Phú formed in 12/2024 and again in 7/2025.
    generate(paths.raw, years=REFORM_YEARS, activity_rows=(60, 90))
    for year, codes in ((2024, ["10633", "10618", "10621"]), (2025, ["10633"])):
        communes = [find_commune(year, code) for code in codes]
        assert prepare(paths, year, communes, workers=2) == {}
        compute_year(paths, year)
        for commune in communes:
            out[f"{year}/{commune.slug}"] = commune_report_html(year, commune.code, base)
    return out


def _paragraphs(html: str) -> list[str]:
    """The text of each paragraph (sentences, not table cells), spaces folded."""
    return [
        re.sub(r"\s+", " ", visible_text(p)).strip()
        for p in re.findall(r"<p\b[^>]*>(.*?)</p>", html, flags=re.S)
    ]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", visible_text(html))


# A capitalised unit kind after a word of the sentence (not at its start, not after a colon).
MID_SENTENCE_CAPITAL = re.compile(r"[a-zà-ỹđ0-9,;)] (Thành phố|Huyện|Thị xã)\b")


def test_no_report_or_comparison_prints_what_a_report_must_not(rendered) -> None:
    assert len(rendered) == 2 * 20 + 4
    for name, html in rendered.items():
        text = _text(html)
        # A zero count said as a fact ("00 Tổ"), not a figure ending in zeros ("1.200 thành viên").
        for noun in ("Tổ", "thành viên", "lần", "thôn"):
            assert not re.search(rf"(?<![\d.,])0+ {noun}\b", text), (name, noun)
        assert "nhóm zalo" not in text, name
        # " %": within any one piece of text (a sentence, a table cell), never a space before %.
        spaced = [t for t in re.findall(r">([^<]*)<", html) if re.search(r"\d\s+%", t)]
        assert not spaced, (name, spaced)
        for paragraph in _paragraphs(html):
            assert not MID_SENTENCE_CAPITAL.search(paragraph), (name, paragraph)


def test_the_scan_can_fail() -> None:
    assert MID_SENTENCE_CAPITAL.search("của Phòng Văn hóa và Thông tin Thành phố Hải Dương")
    assert not MID_SENTENCE_CAPITAL.search("Thành phố Hải Dương có 10 phường")


def _body(html: str) -> str:
    """Sections I to III, the report's sentences (the annex names the workbook's sheets)."""
    text = _text(html)
    return text[text.index("I. KẾT QUẢ") : text.index("IV. PHƯƠNG HƯỚNG")]


def test_the_town_reads_in_to_dan_pho(rendered) -> None:
    text = _body(rendered["2023/nam-sach"])
    assert "Thị trấn Nam Sách hiện có 01 Tổ công nghệ số cộng đồng (CNSCĐ) cấp thị trấn" in text
    assert "Tổ CNSCĐ cấp tổ dân phố với" in text and "trên tổng số 08 tổ dân phố" in text
    assert "nhóm Zalo của Tổ CNSCĐ tổ dân phố" in text
    assert not re.search(r"\bthôn\b", text.lower()) and "cấp xã" not in text


def test_a_commune_without_a_commune_level_team(rendered) -> None:
    text = _text(rendered["2023/nam-hung"])
    assert "Xã Nam Hưng chưa thành lập Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã; hiện có" in text
    assert "nhóm Zalo của Tổ CNSCĐ xã" not in text


def test_a_commune_with_one_team(rendered) -> None:
    text = _text(rendered["2023/nam-tan"])
    assert "hiện có 01 Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã với" in text
    assert "chưa thành lập Tổ CNSCĐ cấp thôn" in text
    assert "Tổ CNSCĐ đã thực hiện" in text and "Các Tổ CNSCĐ" not in text
    assert "nhóm Zalo đã được thành lập: 01 nhóm Zalo của Tổ CNSCĐ xã" in text


def test_a_log_that_stops_in_april(rendered) -> None:
    html = rendered["2023/hop-tien"]
    text = _text(html)
    assert "Nhật ký hoạt động có số liệu từ tháng 01 đến tháng 4 năm 2023, chưa đủ cả năm" in text
    assert "trong 04 tháng có số liệu" in text
    assert ">T5<" not in html and ">T12<" not in html  # the monthly chart stops in April
    comparison = _text(rendered["2023/so-sanh"])
    assert "Nhật ký hoạt động chưa đủ cả năm ở xã Hợp Tiến (từ tháng 01 đến tháng 4)" in comparison
    assert "chưa đủ cả năm" not in _text(rendered["2022/so-sanh"])


def test_the_national_targets_are_read_in_the_text(rendered) -> None:
    text = _text(rendered["2023/nam-chinh"])
    assert re.search(
        r"\d+(,\d)?% người trưởng thành có tài khoản định danh điện tử mức 2 \([\d.]+/[\d.]+ "
        r"người\), chỉ tiêu quốc gia năm 2023 là trên 30%: (đã|chưa) đạt\.",
        text,
    )
    comparison = _text(rendered["2023/so-sanh"])
    assert "Chỉ tiêu quốc gia năm 2023: trên 30% người trưởng thành có tài khoản" in comparison


# --- sections II and III never contradict section I -------------------------------------------


def _sections(html: str) -> tuple[str, str, str]:
    """The text of sections I, II and III."""
    text = _text(html)
    one, two, three, four = (
        text.index(h) for h in ("I. KẾT QUẢ", "II. TỒN TẠI", "III. ĐỀ XUẤT", "IV. PHƯƠNG HƯỚNG")
    )
    return text[one:two], text[two:three], text[three:four]


def _rules_in(html: str, heading: str, following: str) -> list[str]:
    part = html[html.index(heading) : html.index(following)]
    return re.findall(r'data-rule="([^"]+)"', part)


def contradictions(html: str, year: int) -> list[str]:
    """What sections II and III say against section I (an empty list when they agree)."""
    found = []
    one, two, three = _sections(html)
    said = _rules_in(html, "II. TỒN TẠI", "III. ĐỀ XUẤT")
    proposed = _rules_in(html, "III. ĐỀ XUẤT", "IV. PHƯƠNG HƯỚNG")
    if said != proposed:
        found.append(f"II states {said}, III answers {proposed}")
    # The commune-level team.
    if re.search(r"chưa thành lập Tổ công nghệ số cộng đồng \(CNSCĐ\) cấp", one):
        if "no_commune_team" not in said:
            found.append("I: no commune-level team; II silent")
    elif re.search(r"chưa thành lập Tổ CNSCĐ cấp (xã|phường|thị trấn|đặc khu)\b", two + three):
        found.append("II/III: no commune-level team; I has one")
    # The village teams: a decision that set them up is not "never set up".
    if "chưa thành lập Tổ CNSCĐ cấp" in one and re.search(
        r"thành lập[^.;]*tổ công nghệ số cộng đồng (thôn|tổ dân phố|bản|ấp|khu)", one
    ):
        found.append("I: village teams never set up, beside a decision that set them up")
    teams = re.search(r"(\d+) Tổ CNSCĐ cấp (\w[\w ,]*?) với", one)
    village_teams = int(teams.group(1)) if teams else 0
    groups = re.search(r"(\d+) nhóm Zalo của Tổ CNSCĐ (thôn|tổ dân phố|bản|ấp|khu)", one)
    if groups and int(groups.group(1)) > village_teams:
        found.append(f"I: {groups.group(0)} with {village_teams} village teams")
    listed = re.search(r"trên tổng số (\d+) ", one)
    uncovered = re.search(r"(\d+) [\w ,]+? (?:\(chiếm [^)]*\) )?chưa có Tổ CNSCĐ hoạt động", two)
    if uncovered and listed:
        n, total = int(uncovered.group(1)), int(listed.group(1))
        if not total - village_teams <= n <= total:
            found.append(f"II: {n} villages without a team; I: {village_teams} teams of {total}")
    # The national targets: each one I says is not met is in II, and none it says is met.
    judged = r"% ([^%(]+?) \([\d.]+/[\d.]+ [^)]+\), chỉ tiêu quốc gia năm (\d{4})[^:]*: "
    for text, target_year, verdict in re.findall(judged + "(đã đạt|chưa đạt)", one):
        in_two = f"Tỷ lệ {text.strip()} mới đạt" in two
        if (verdict == "chưa đạt") != in_two:
            found.append(f"target '{text.strip()}' {target_year}: I {verdict}, II {in_two}")
    for other in re.findall(r"chỉ tiêu quốc gia năm (\d{4})", one + two + three):
        if int(other) != year:
            found.append(f"a {year} report reads {other} targets")
    # The log's months, and the trainings.
    if ("chưa đủ cả năm" in one) != ("partial_log" in said):
        found.append("I and II disagree on a partial-year log")
    attended = re.search(r"được tham dự (\d+) lớp tập huấn", one)
    once = re.search(r"tham dự lớp tập huấn (\d+) lần|chỉ được tham dự (\d+) lớp", two)
    if once and attended and int(next(g for g in once.groups() if g)) != int(attended.group(1)):
        found.append("II counts the trainings differently from I")
    return found


def test_sections_two_and_three_never_contradict_section_one(rendered) -> None:
    reports = {name: html for name, html in rendered.items() if not name.endswith("so-sanh")}
    assert len(reports) == 2 * 19 + 4
    for name, html in reports.items():
        assert contradictions(html, int(name[:4])) == [], name


def test_the_contradiction_check_can_fail(rendered) -> None:
    html = rendered["2022/nam-hung"]
    # The sentences the old reports printed, put back.
    old = html.replace('data-rule="no_commune_team"', 'data-rule="x"', 1)
    assert "I: no commune-level team; II silent" in contradictions(old, 2022)
    old = html.replace("nhóm Zalo cấp thôn", "nhóm Zalo của Tổ CNSCĐ thôn")
    assert any("04 nhóm Zalo của Tổ CNSCĐ thôn with 3" in c for c in contradictions(old, 2022))
    old = html.replace("chỉ tiêu quốc gia năm 2022", "chỉ tiêu quốc gia năm 2023")
    assert "a 2022 report reads 2023 targets" in contradictions(old, 2022)


def test_the_communes_main_problems_are_in_section_two(rendered) -> None:
    _, two, three = _sections(rendered["2022/nam-hung"])
    assert "Xã Nam Hưng chưa thành lập Tổ CNSCĐ cấp xã" in two
    assert "Thành lập Tổ CNSCĐ cấp xã trong năm 2023" in three
    _, two, _ = _sections(rendered["2023/hop-tien"])
    assert "chỉ có số liệu từ tháng 01 đến tháng 4 năm 2023 (04/12 tháng)" in two
    assert two.count("chưa đạt chỉ tiêu quốc gia năm 2023") == 4
    one, _, _ = _sections(rendered["2025/tran-phu"])
    assert "chỉ tiêu quốc gia năm 2025 là 80%" in one


def test_no_report_of_2024_or_2025_cites_another_years_targets(rendered) -> None:
    """The reports of 2024 and 2025 were judged against "chỉ tiêu quốc gia năm 2023": a
    share its year declares no target for is stated, without a verdict."""
    later = {n: h for n, h in rendered.items() if n[:4] in ("2024", "2025")}
    assert len(later) == 4
    for name, html in later.items():
        text = _text(html)
        assert not re.search(r"chỉ tiêu[^.;:]* năm 2023", text), name
        assert "chưa có chỉ tiêu năm" not in text, name
    one, two, _ = _sections(rendered["2024/tran-phu"])
    assert re.search(
        r"\d+(,\d)?% người trưởng thành có tài khoản định danh điện tử mức 2 \([\d.]+/[\d.]+ "
        r"người\); chưa có chỉ tiêu quốc gia năm 2024 để so sánh với tỷ lệ này\.",
        one,
    )
    assert "đã đạt" not in one and "chưa đạt" not in one  # no verdict without a target
    assert "chỉ tiêu" not in two
    one, _, _ = _sections(rendered["2025/tran-phu"])
    assert "tài khoản định danh điện tử mức 2 (" in one
    assert "chưa có chỉ tiêu quốc gia năm 2025 để so sánh với tỷ lệ này" in one


def test_charts_are_numbered_with_vietnamese_figures_on_their_axes(rendered) -> None:
    html = rendered["2022/nam-chinh"]
    assert "Biểu đồ 1: Người dân được hướng dẫn theo dịch vụ, nền tảng" in html
    assert "Biểu đồ 2: Người dân được hướng dẫn theo tháng" in html
    from pipeline.writing.charts import bar_chart, column_chart

    for svg in (
        column_chart(["T1", "T2", "T3"], [1000.0, 1250.0, 1668.0], "x", "lượt người"),
        bar_chart(["A", "B", "C"], [1000.0, 1250.0, 1668.0], "x", "lượt người"),
    ):
        ticks = re.findall(r"<text[^>]*>(\d[\d.]*)</text>", svg)
        assert "1.668" in ticks and any(t in ticks for t in ("1.000", "1.200", "1.500"))
        assert not [t for t in ticks if len(t) >= 4 and "." not in t], ticks  # not 1000


def test_a_merger_during_the_year_is_marked_on_the_monthly_chart(rendered) -> None:
    months = rendered["2025/tran-phu"]
    chart = months[months.index('data-chart="months"') :]
    chart = chart[: chart.index("</figure>")]
    assert "Sắp xếp từ 01/7/2025" in chart
    assert "Sắp xếp từ" not in rendered["2023/nam-chinh"]  # no merger, no mark
