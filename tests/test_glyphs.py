"""A letter no font of the report carries (full-width brackets, a circled digit, a check mark,
an emoji) is shown by a visible stand-in and said for that commune: it never fails the
commune's report, nor its group's comparison."""

from __future__ import annotations

import json
import shutil

from openpyxl import load_workbook

from pipeline.core.config import Paths
from pipeline.running.runner import run_and_compare
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions
from pipeline.writing.pdf import resolve_font

ODD = "（cũ） ① ✓ 😀"


def test_letters_the_font_lacks_get_a_visible_stand_in() -> None:
    from pipeline.core.textsafety import drawable, font_coverage

    coverage = font_coverage(resolve_font())
    fragment = (
        f'<p class="sign">Nguyễn Văn Ân {ODD} ＜b＞</p>'
        '<svg><text>✓</text></svg><style>p::after { content: "✓" }</style>'
    )
    printed, replaced = drawable(fragment, coverage)
    assert printed == (
        '<p class="sign">Nguyễn Văn Ân (cũ) 1 □ □ &lt;b&gt;</p>'
        '<svg><text>✓</text></svg><style>p::after { content: "✓" }</style>'
    )
    assert replaced == {
        "（": "(",
        "）": ")",
        "①": "1",
        "✓": "□",
        "😀": "□",
        "＜": "&lt;",
        "＞": "&gt;",
    }
    assert drawable("Nguyễn Văn Ân", coverage) == ("Nguyễn Văn Ân", {})


def test_a_letter_no_font_has_fails_neither_the_report_nor_the_comparison(
    tiny_district: Paths, tmp_path
) -> None:
    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    workbook = paths.raw_year(2022) / "10627-nam-chinh.xlsx"
    book = load_workbook(workbook)
    sheet = book["Thông tin xã"]
    column = [cell.value for cell in sheet[1]].index("Người ký") + 1
    sheet.cell(2, column, f"{sheet.cell(2, column).value} {ODD}")
    book.save(workbook)
    broken = paths.raw_year(2022) / "10645-an-lam.xlsx"  # a commune that fails: not the group
    broken.write_bytes(broken.read_bytes()[:500])
    earlier = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "nam-trung", "an-lam")]
    runs, comparisons = run_and_compare(
        paths, 2022, communes, ["district:291"], 1, ReportOptions(formats=("html", "pdf"))
    )
    statuses = {r.commune.code: r.status for r in runs}
    assert statuses == {"10627": "ok", "10633": "ok", "10645": "failed"}, [r.message for r in runs]
    [nam_chinh] = [r for r in runs if r.commune.code == "10627"]
    assert nam_chinh.notes and "'✓' (U+2713) as '□'" in nam_chinh.notes[0]
    folder = paths.outputs_year(2022) / "10627-nam-chinh"
    assert (folder / "report.pdf").exists()
    assert json.loads((folder / "status.json").read_text("utf-8"))["notes"] == nam_chinh.notes
    assert ODD in (folder / "report.html").read_text("utf-8")  # the page shows the letters
    assert comparisons["district:291"].status == "ok", comparisons["district:291"].message
    assert (earlier / "comparison.pdf").exists() and (earlier / "comparison.xlsx").exists()
