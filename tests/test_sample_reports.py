"""Every report and comparison of the sample district reads right: scanned for the words a
report must never print, and the sample's special communes checked sentence by sentence."""

from __future__ import annotations

import re

import pytest

from pipeline.computing import compute_year
from pipeline.config import Paths
from pipeline.preparing import prepare
from pipeline.rendering import visible_text
from pipeline.report import commune_report_html, district_comparison_html
from pipeline.sample import YEARS, generate, sample_communes


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
    assert len(rendered) == 2 * 20
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
