"""The reviewers' index in a real headless browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

from pipeline.core.config import Paths
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    # Only where `make setup` could not install Chromium (no root); CI always installs it and
    # runs this test. `make setup` printed the same warning.
    pytest.skip(
        "Chromium is not installed (as root: apt-get install chromium)", allow_module_level=True
    )
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def index(tiny_district: Paths, tmp_path_factory):
    paths = Paths.under(tmp_path_factory.mktemp("index"))
    shutil.copytree(tiny_district.raw, paths.raw)
    (paths.raw_year(2022) / "10633-nam-trung.xlsx").write_bytes(b"broken")  # one failed commune
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam", "nam-trung")]
    run_year(
        paths,
        2022,
        communes,
        workers=2,
        echo=lambda *_: None,
        options=ReportOptions(formats=("html",)),
    )
    return paths.outputs_year(2022) / "index.html"


@pytest.fixture()
def page(index):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(index.as_uri())
        yield page, errors
        browser.close()


def _names(page) -> list[str]:
    return [
        n.strip()
        for n in page.locator("#communes tbody tr:not([hidden]) td:nth-child(2)").all_inner_texts()
    ]


def test_index_sorts_filters_and_links(page) -> None:
    page, errors = page
    assert page.title() == "Báo cáo Tổ CNSCĐ năm 2022"
    assert sorted(_names(page)) == ["Xã An Lâm", "Xã Nam Chính", "Xã Nam Trung"]

    page.click(
        "th:has-text('Thành viên')"
    )  # ascending members: the failed commune (no figure) first
    assert _names(page)[0] == "Xã Nam Trung"
    page.click("th:has-text('Thành viên')")
    assert _names(page)[-1] == "Xã Nam Trung"

    page.fill("#filter", "chính")
    assert _names(page) == ["Xã Nam Chính"]
    page.fill("#filter", "")
    page.select_option("#status-filter", "failed")
    assert _names(page) == ["Xã Nam Trung"]
    assert "10633-nam-trung.xlsx" in page.locator("tr.failed").inner_text()
    page.select_option("#status-filter", "")

    page.click("tr:has-text('Xã Nam Chính') a:has-text('Báo cáo (HTML)')")
    page.wait_for_load_state()
    assert page.url.endswith("10627-nam-chinh/report.html")
    assert "I. KẾT QUẢ HOẠT ĐỘNG NĂM 2022" in page.inner_text("body")
    assert errors == []


def test_links_are_relative(index) -> None:
    html = index.read_text("utf-8")
    assert 'href="10627-nam-chinh/report.html"' in html
    assert str(index.parent) not in html
