"""The reviewers' notebook: from a figure of the report to its indicator, its rule and its rows."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import lxml.html
import pandas as pd
import pytest

from pipeline.core.config import Paths
from pipeline.measuring.settings import load_settings
from pipeline.reading import store
from pipeline.running.comparisons import run_comparisons
from pipeline.running.rendering import link_figures, visible_text
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing import evidence, group_evidence, narrative, reviewing
from pipeline.writing.options import ReportOptions


@pytest.fixture(scope="module")
def built(tiny_district: Paths, tmp_path_factory) -> Paths:
    """The sample's Nam Chính 2022 and one neighbour, built once (HTML, in-process)."""
    paths = Paths.under(tmp_path_factory.mktemp("reviewers"))
    shutil.copytree(tiny_district.raw, paths.raw)
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    run_year(
        paths,
        2022,
        communes,
        workers=1,
        echo=lambda *_: None,
        options=ReportOptions(formats=("html",), engine="inprocess"),
    )
    run_comparisons(
        paths,
        2022,
        ["district:291"],
        ReportOptions(formats=("html",), engine="inprocess"),
        echo=lambda *_: None,
    )
    return paths


def _folder(paths: Paths) -> Path:
    return paths.outputs_year(2022) / "10627-nam-chinh"


def _by_id(page, anchor: str):
    assert anchor.startswith("#"), anchor
    found = page.xpath(f'//*[@id="{anchor[1:]}"]')
    assert len(found) == 1, anchor
    return found[0]


def test_twenty_members_lead_to_their_indicator_and_their_twenty_rows(built: Paths) -> None:
    page = lxml.html.fromstring(_folder(built).joinpath("notebook.html").read_text("utf-8"))
    link = next(
        a
        for a in page.xpath('//a[@class="fig"]')
        if a.text == "20" and (a.tail or "").startswith(" thành viên")
    )
    row = _by_id(page, link.get("href"))
    assert row.get("id") == "chi-so-members_commune"
    assert "Thành viên tổ cấp xã" in row.text_content()
    to_rows = row.xpath('.//a[starts-with(@href, "#bang-chung-")]')[0]
    table = _by_id(page, to_rows.get("href"))
    assert table.tag == "details" and table.get("open") is None  # collapsed until asked
    header = [th.text_content() for th in table.xpath(".//thead//th")]
    assert header[:3] == ["Tệp", "Trang tính", "Dòng Excel"]
    cells = [[td.text_content() for td in tr.xpath("td")] for tr in table.xpath(".//tbody/tr")]
    assert len(cells) == 20
    assert {c[0] for c in cells} == {"10627-nam-chinh.xlsx"}
    assert {c[1] for c in cells} == {"Thành viên"}
    members = store.read_commune(built.processed_year(2022), "10627")["members"]
    commune_level = members[members["team_level"] == "Xã"]
    assert sorted(int(c[2]) for c in cells) == sorted(commune_level["_row"].astype(int))
    # The values that matter, never a name, phone or birth year.
    assert "Họ và tên" not in header and "Năm sinh" not in header
    assert "Số điện thoại" not in header
    text = page.text_content()
    signer = store.read_commune(built.processed_year(2022), "10627")["commune"]["signer"].iloc[0]
    for name in set(members["name"]) - {signer}:
        assert name not in text, name


def test_a_section_two_sentence_leads_to_its_rule_threshold_and_value(built: Paths) -> None:
    page = lxml.html.fromstring(_folder(built).joinpath("notebook.html").read_text("utf-8"))
    sentence = next(
        p for p in page.xpath("//p[@data-rule]") if re.match(r"\d+ tổ trưởng", p.text_content())
    )
    figure = sentence.xpath('.//a[@class="fig"]')[0]
    rule = _by_id(page, sentence.xpath('.//a[@class="to-rule"]')[0].get("href"))
    assert rule.get("id") == "quy-tac-aged_leaders"
    threshold = rule.xpath('.//span[@class="threshold"]')[0].text_content()
    value = rule.xpath('.//span[@class="value"]')[0].text_content()
    # The rule compares the share of leaders aged 60 or more; the sentence states their count.
    limit = load_settings()["limitations"]["min_aged_leaders_share"]
    assert float(threshold) == limit
    assert float(value.replace(",", ".")) >= float(threshold) and int(figure.text) >= 1
    assert "pipeline/settings.toml" in rule.text_content()
    assert "có" in rule.xpath("td")[-1].text_content()


def test_every_rule_link_of_the_notebook_leads_somewhere(built: Paths) -> None:
    """Each '[quy tắc]' of sections II and III lands on its rule, the sentence on rejected
    figures included (a new user's trial found #quy-tac-lost_figures leading nowhere)."""
    page = lxml.html.fromstring(_folder(built).joinpath("notebook.html").read_text("utf-8"))
    links = [a.get("href") for a in page.xpath('//a[@class="to-rule"]')]
    assert links
    for href in links:
        assert page.xpath(f'//*[@id="{href[1:]}"]'), href
    assert page.xpath('//*[@id="quy-tac-lost_figures"]')


def test_report_html_is_a_clean_document(built: Paths) -> None:
    html = _folder(built).joinpath("report.html").read_text("utf-8")
    page = lxml.html.fromstring(html)
    assert page.xpath("//a") == []  # no link in the printed text
    assert 'class="jp-InputArea' not in html  # no code
    assert "cnscd-audit" not in html and "reviewing" not in html  # no audit table
    assert "chi-so-" not in html and "quy-tac-" not in html
    assert "20 thành viên" in " ".join(visible_text(html).split())


def test_index_counts_limitations_and_links_the_input_section(built: Paths) -> None:
    html = built.outputs_year(2022).joinpath("index.html").read_text("utf-8")
    assert 'href="10627-nam-chinh/notebook.html#quy-tac"' in html  # the rules, not the inputs
    summary = evidence.SUMMARY_FILE
    fired = _folder(built).joinpath(summary).read_text("utf-8")
    page = lxml.html.fromstring(_folder(built).joinpath("notebook.html").read_text("utf-8"))
    rules_fired = [tr.get("id")[len("quy-tac-") :] for tr in page.xpath('//tr[@class="fired"]')]
    assert rules_fired and all(code in fired for code in rules_fired)
    assert page.xpath('//*[@id="dau-vao"]')
    # The hash a reviewer can check with `sha256sum` on the workbook they were sent.
    workbook = built.raw_year(2022) / "10627-nam-chinh.xlsx"
    shown = page.xpath('//p[contains(., "SHA-256")]/code')[0].text_content()
    assert shown == hashlib.sha256(workbook.read_bytes()).hexdigest()


def test_every_evidence_list_adds_up_to_its_indicator(built: Paths) -> None:
    """Each list adds up to its figure; a figure with no value (not written, rejected, unknown)
    has its reason, which the notebook prints beside the list."""
    processed = built.processed_year(2022)
    indicators = pd.read_parquet(processed / "indicators.parquet")
    checked = 0
    for code in ("10627", "10645"):
        tables = store.read_commune(processed, code)
        mine = indicators[indicators["commune_code"] == code].set_index("indicator")
        for indicator in evidence.ROW_EVIDENCE:
            if pd.isna(mine.loc[indicator, "value"]):
                assert mine.loc[indicator, "missing_reason"], (code, indicator)
            else:
                total = evidence.evidence_total(tables, indicator, 2022)
                assert total == pytest.approx(mine.loc[indicator, "value"]), (code, indicator)
            checked += 1
    assert checked == 2 * len(evidence.ROW_EVIDENCE)
    audit = evidence.build_audit(
        2022,
        "10627",
        "Xã Nam Chính",
        store.read_commune(processed, "10627"),
        indicators.assign(value=indicators["value"].where(indicators["indicator"] != "trainings")),
        load_settings(),
        {},
        "",
    )
    lists = reviewing.evidence_rows(audit, {}).html
    assert "chỉ số không có giá trị" in lists  # the figure blanked above: the list says so
    # Its rule shows no value ("–"), not NaN (a float column made it NaN: a trial's page).
    assert "NaN" not in reviewing.rules(audit).html
    assert audit.rules.set_index("indicator").loc["trainings", "value"] is None


def test_repairs_of_personal_columns_are_counted_never_shown() -> None:
    fixes = pd.DataFrame(
        {
            "commune_code": ["1"] * 3,
            "file": ["x.xlsx"] * 3,
            "sheet": ["Thành viên"] * 3,
            "excel_row": [2, 3, 4],
            "column": ["Số điện thoại", "Họ và tên", "Thôn"],
            "kind": ["spaces"] * 3,
            "raw": ["0912 345 678 ", "Nguyễn  Văn A", " Hoàng Xá"],
            "fixed": ["0912345678", "Nguyễn Văn A", "Hoàng Xá"],
        }
    )
    shown = evidence.repairs_by_kind(fixes).iloc[0]
    assert shown["fixes"] == 3 and shown["withheld"] == 2
    assert [e["column"] for e in shown["examples"]] == ["Thôn"]


def test_a_district_threshold_is_shown_with_its_source(tmp_path: Path) -> None:
    own = tmp_path / "huyen.toml"
    own.write_text("[limitations]\nmin_aged_leaders_share = 95\n", encoding="utf-8")
    settings = load_settings(own)
    rules = evidence.rule_table(
        {"village_leaders_aged_60": 3.0}, settings, evidence.setting_sources(own)
    ).set_index("rule")
    assert rules.at["aged_leaders", "threshold"] == 95
    assert rules.at["aged_leaders", "source"] == "thiết lập của huyện (huyen.toml)"
    assert not rules.at["aged_leaders", "fired"]
    assert rules.at["few_trainings", "source"] == evidence.SOURCE_OF_PACKAGE


def test_links_are_made_only_in_the_notebook() -> None:
    fragment = (
        '<p data-rule="low_reach">mới đạt '
        '<span class="fig" data-indicator="people_guided_per_1000">399</span> lượt</p>'
    )
    linked = link_figures(fragment)
    assert '<a class="fig" href="#chi-so-people_guided_per_1000"' in linked
    assert 'href="#quy-tac-low_reach"' in linked
    assert " ".join(visible_text(fragment).split()) == "mới đạt 399 lượt"


def test_comparison_says_why_a_commune_is_missing(built: Paths) -> None:
    from pipeline.registry.tree import find_group

    communes = list(find_group(2022, "district:291").communes)
    indicators = pd.read_parquet(built.processed_year(2022) / "indicators.parquet")
    statuses = {"10633": {"status": "failed", "message": "Thành viên: thiếu cột Cấp tổ"}}
    audit = group_evidence.build_group_audit(
        2022, "Huyện Nam Sách", communes, indicators, load_settings(), statuses
    )
    assert list(audit.table["commune_code"]) == ["10627", "10645"]
    reasons = audit.missing.set_index("commune_code")["reason"]
    assert "không đọc được: Thành viên: thiếu cột Cấp tổ" in reasons["10633"]
    assert reasons["10606"] == group_evidence.NO_WORKBOOK
    assert len(audit.missing) == len(communes) - 2
    method = audit.method.set_index("step")
    assert method.at["Giá trị ngoại lai", "constant"] == "1.5"


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Chromium is not installed (as root: apt-get install chromium)",
)
def test_in_a_browser_a_table_opens_and_evidence_links_work(built: Paths) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(_folder(built).joinpath("notebook.html").as_uri())
        rows = page.locator("#bang-chung-members_commune tbody tr")
        assert not rows.first.is_visible()  # collapsed
        page.click("#bang-chung-members_commune > summary")
        assert rows.first.is_visible() and rows.count() == 20
        page.click("#bang-chung-members_commune > summary")  # closes again
        assert not rows.first.is_visible()
        page.locator("a.fig", has_text="20").first.click()  # the report's "20 thành viên"
        assert page.url.endswith("#chi-so-members_commune")
        page.click("#chi-so-members_commune a[href='#bang-chung-members_commune']")
        assert page.url.endswith("#bang-chung-members_commune")
        page.click("#bang-chung-members_commune > summary")
        assert rows.nth(19).is_visible()
        page.click("#quy-tac-aged_leaders a[href='#chi-so-leaders_aged_60_share']")
        assert page.locator("#chi-so-leaders_aged_60_share").is_visible()
        browser.close()
    assert errors == []


def test_the_comparison_notebook_shows_what_it_read_and_who_is_missing(built: Paths) -> None:
    folder = built.outputs_year(2022) / "so-sanh-291-nam-sach"
    page = lxml.html.fromstring((folder / "notebook.html").read_text("utf-8"))
    read = _by_id(page, "#bang-chi-so")
    codes = [tr.xpath("td")[0].text_content() for tr in read.xpath(".//tbody/tr")]
    assert codes == ["10627", "10645"]
    missing = _by_id(page, "#don-vi-thieu").xpath(".//tbody/tr")
    assert len(missing) == 17  # Nam Sách's 19 communes, two with a workbook
    assert all(group_evidence.NO_WORKBOOK in tr.text_content() for tr in missing)
    method = _by_id(page, "#cach-tinh").text_content()
    assert "[comparison] outlier_z: " + evidence.SOURCE_OF_PACKAGE in method
    assert "pipeline/measuring/compare.py: TOP_BOTTOM" in method
    comparison = (folder / "comparison.html").read_text("utf-8")
    assert lxml.html.fromstring(comparison).xpath("//a") == []
    assert "cnscd-audit" not in comparison and 'class="jp-InputArea' not in comparison


def test_a_missing_figure_reads_as_a_dash_in_the_reviewers_table_never_nan() -> None:
    indicators = pd.DataFrame(
        {
            "commune_code": ["1", "1"],
            "indicator": ["people_15_with_account", "members_total"],
            "value": [float("nan"), 12.0],
            "previous_value": [float("nan"), float("nan")],
            "change": [float("nan"), float("nan")],
            "missing_reason": ["chưa ghi chỉ tiêu này", ""],
        }
    )
    table = evidence.indicator_table(indicators).set_index("code")
    assert table.loc["people_15_with_account", "value"] is None
    assert table.loc["members_total", "value"] == 12
    assert table.loc["members_total", "previous"] is None


def test_the_reviewers_tables_name_units_in_the_commune_s_own_words(built: Paths) -> None:
    """The report says 'cấp thị trấn' and 'tổ dân phố' for a thị trấn: so does the audit
    (indicator names and units, the rules, the evidence lists), not the catalogue's thôn/xã."""
    processed = built.processed_year(2022)
    audit = evidence.build_audit(
        2022,
        "10627",
        "Thị trấn Thử",  # the same data, read as a thị trấn's (its villages' default word)
        store.read_commune(processed, "10627"),
        pd.read_parquet(processed / "indicators.parquet"),
        load_settings(),
        {},
        "",
    )
    names = audit.indicators.set_index("code")
    assert names.loc["teams_commune", "name"] == "Tổ CNSCĐ cấp thị trấn"
    assert names.loc["villages", "unit"] == "tổ dân phố"
    village_word = re.compile(r"\bthôn\b", re.I)  # not "thông minh"
    assert not any(village_word.search(n) for n in names["name"]), list(names["name"])
    assert not any(village_word.search(n) for n in audit.rules["indicator_name"])
    lists = reviewing.evidence_rows(audit, {}).html
    assert "Thành viên tổ cấp tổ dân phố" in lists and "Thành viên tổ cấp thôn" not in lists
    headers = lxml.html.fromstring(lists).xpath("//th/text()")
    assert "Tổ dân phố" in headers and "Thôn" not in headers, headers
    assert "Họp thôn" not in lists  # the channel, in the unit's words too


def test_evidence_rows_say_the_units_own_words_and_yes_or_no() -> None:
    """A phường's evidence lists (and their CSVs) say "Phường" and each village's own kind, and
    "Có"/"Không": they said "Xã", "Thôn" for its tổ dân phố, and True/False."""
    members = pd.DataFrame(
        {
            "_file": "a.xlsx",
            "_row": [2, 3, 4],
            "team_level": ["Xã", "Thôn", "Thôn"],
            "village": [None, "Tổ dân phố số 1", "Khu phố Đông"],
            "role": ["Tổ trưởng", "Tổ trưởng", "Thành viên"],
            "birth_year": [1980, 1990, 1991],
            "smartphone": pd.array([True, False, None], dtype="boolean"),
        }
    )
    villages = pd.DataFrame(
        {"village": ["Tổ dân phố số 1", "Khu phố Đông"], "village_kind": [None, None]}
    )
    words = narrative.commune_words("Phường", villages)
    tables = {"members": members, "villages": villages}
    frame = evidence._evidence(tables, ["members_total"], 2025, words)[0]["members_total"].frame()
    assert frame["Cấp tổ"].tolist() == ["Phường", "Tổ dân phố", "Khu phố"]
    assert frame["Có điện thoại thông minh"].tolist()[:2] == ["Có", "Không"]
    assert pd.isna(frame["Có điện thoại thông minh"].tolist()[2])
