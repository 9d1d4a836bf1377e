"""Two merged phường of Lai Châu, 2025, through the whole run (issue 26): one with the
figures of a real post-merger phường, printed exactly with their shares in the report, its
annex, the reviewers' notebook and the comparison (HTML and Excel); one whose figures were
typed as −5, said as rejected everywhere, never as not recorded."""

from __future__ import annotations

import datetime as dt
import re

import lxml.html
import pytest
from openpyxl import load_workbook

from pipeline.core import contract
from pipeline.core.config import Paths
from pipeline.registry.tree import default_group_key, find_commune
from pipeline.running.runner import run_and_compare
from pipeline.sample import SheetRows, write_workbook
from pipeline.writing.options import ReportOptions

YEAR = 2025
VNEID = "Người trưởng thành có tài khoản định danh điện tử mức 2"
ONLINE = "Hồ sơ dịch vụ công trực tuyến"
ALL_DOSSIERS = "Hồ sơ thủ tục hành chính tiếp nhận"
NOT_WRITTEN = "chưa ghi chỉ tiêu này"
REJECTED = "có số liệu nhưng bị loại: xem dòng bị loại"


def _text(html: str) -> str:
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r" ?([/()]) ?", r"\1", text)  # '( 28.000 / 32.000 người)' as printed


def _book(commune, typed_negative: bool) -> dict[str, SheetRows]:
    """A phường of 60,000 people in 30 tổ dân phố (32,000 adults), its year's figures: 28,000
    adults with VNeID level 2, 13,000 online dossiers of 24,000, a session of 2,500 people."""
    villages = [f"Tổ dân phố số {n}" for n in range(1, 31)]
    rows: dict[str, list[dict]] = {
        "commune": [
            {
                "commune_code": commune.code,
                "commune_name": commune.name,
                "province_name": commune.province_name,
                "signer": "Nguyễn Văn An",
                "signer_title": "Chủ tịch",
            }
        ],
        "villages": [
            {
                "village": v,
                "households": 500,
                "population": 2_000,
                "village_kind": "Tổ dân phố",
                "adults": 1_100 if n else 0,
            }
            for n, v in enumerate(villages)
        ],
        "members": [
            {
                "team_level": "Phường",
                "name": "Trần Thị Bình",
                "role": "Tổ trưởng",
                "birth_year": 1980,
            }
        ]
        + [
            {
                "team_level": "Tổ dân phố",
                "village": v,
                "name": f"Lê Văn {chr(65 + n % 26)}{n}",
                "role": "Tổ trưởng",
                "birth_year": 1975,
                "smartphone": "Có",
            }
            for n, v in enumerate(villages)
        ],
        "activities": [
            {
                "date": dt.date(YEAR, m, 15),
                "team_level": "Phường",
                "member": "Trần Thị Bình",
                "pillar": "Chính quyền số",
                "service": "Cổng dịch vụ công",
                "channel": "Trực tiếp",
                "people": 2_500 if m == 8 else 40,
            }
            for m in range(7, 13)
        ],
        "results": [
            {"month": 12, "indicator": VNEID, "value": -5 if typed_negative else 28_000},
            *(
                {"month": m, "indicator": ONLINE, "value": -5 if typed_negative else v}
                for m, v in ((7, 3_000), (9, 4_000), (12, 6_000))
            ),
            *({"month": m, "indicator": ALL_DOSSIERS, "value": 4_000} for m in range(7, 13)),
        ],
    }
    rows["villages"][0]["adults"] = 32_000 - 29 * 1_100
    return {key: SheetRows(contract.SHEETS_BY_KEY[key], found) for key, found in rows.items()}


@pytest.fixture(scope="module")
def lai_chau(tmp_path_factory):
    paths = Paths.under(tmp_path_factory.mktemp("real-size"))
    real = find_commune(YEAR, "03388")
    typed = find_commune(YEAR, "03408")
    for commune, negative in ((real, False), (typed, True)):
        write_workbook(_book(commune, negative), paths.raw_year(YEAR) / f"{commune.stem}.xlsx")
    runs, compared = run_and_compare(
        paths,
        YEAR,
        [real, typed],
        [default_group_key(real)],
        workers=1,
        options=ReportOptions(formats=("html",)),
    )
    assert [r.status for r in runs] == ["ok", "ok"], [r.message for r in runs]
    return paths, real, typed, compared


def test_real_size_figures_and_their_shares_print_exactly(lai_chau) -> None:
    paths, real, _, _ = lai_chau
    folder = paths.outputs_year(YEAR) / real.stem
    report = _text((folder / "report.html").read_text(encoding="utf-8"))
    assert "87,5% người trưởng thành có tài khoản định danh điện tử mức 2" in report
    assert "28.000/32.000" in report
    assert "54,2% hồ sơ thủ tục hành chính được nộp trực tuyến" in report  # 13,000 of 24,000
    assert "13.000/24.000" in report
    annex = report[report.index("PHỤ LỤC") :]
    for figure in ("28.000", "32.000", "13.000", "24.000", "60.000", "87,5", "2.700"):
        assert figure in annex, figure
    notebook = _text((folder / "notebook.html").read_text(encoding="utf-8"))
    for figure in ("28.000", "13.000", "87,5"):
        assert figure in notebook, figure


def test_a_figure_typed_negative_is_said_rejected_never_not_written(lai_chau) -> None:
    paths, _, typed, _ = lai_chau
    folder = paths.outputs_year(YEAR) / typed.stem
    report = _text((folder / "report.html").read_text(encoding="utf-8"))
    annex = report[report.index("PHỤ LỤC") :]
    row = re.search(rf"{VNEID} người (.*?) \d+ ", annex)
    assert row and REJECTED in row.group(1) and NOT_WRITTEN not in row.group(1)
    section_two = report[report.index("II. TỒN TẠI") : report.index("III. ĐỀ XUẤT")]
    assert "không cho thấy tồn tại, hạn chế nổi bật" not in section_two
    assert "bị loại" in section_two
    # 2025 declares no e-ID target: none is named, and never another year's.
    assert "chỉ tiêu quốc gia năm 2023" not in report
    assert "người trưởng thành có tài khoản định danh điện tử mức 2" in section_two
    index_html = (paths.outputs_year(YEAR) / "index.html").read_text(encoding="utf-8")
    index = _text(index_html)
    assert "2 số liệu bị loại" in index
    # The index counts section II's sentences, the one on rejected figures included.
    html = (folder / "report.html").read_text(encoding="utf-8")
    said = len(re.findall(r'<p data-rule="[^"]+"', html.split("III. ĐỀ XUẤT")[0]))
    row = lxml.html.fromstring(index_html).xpath(f'//tr[.//a[contains(@href, "{typed.stem}/")]]')
    counted = row[0].xpath('.//td[.//a[@class="review"]]')[0].get("data-value")
    assert said >= 2 and counted == str(said)
    notebook = _text((folder / "notebook.html").read_text(encoding="utf-8"))
    assert REJECTED in notebook


def test_the_comparison_says_which_figures_were_rejected(lai_chau) -> None:
    paths, real, typed, _ = lai_chau
    folder = next(p for p in paths.outputs_year(YEAR).iterdir() if p.name.startswith("so-sanh"))
    html = (folder / "comparison.html").read_text(encoding="utf-8")
    assert html.count('class="num rejected"') >= 2
    sheet = load_workbook(folder / "comparison.xlsx").active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0]}
    headers = [c.value for c in sheet[2]]
    share = headers.index("Tỷ lệ người trưởng thành có tài khoản định danh điện tử mức 2 (%)")
    assert rows[typed.code][share] == "bị loại"
    assert rows[real.code][share] == 87.5
