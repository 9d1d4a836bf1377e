"""The commune report as printed and as traced: PDF format, every figure from the indicators."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from pipeline.core.config import Paths
from pipeline.core.numbers import printed
from pipeline.measuring.indicators import values_of
from pipeline.measuring.rules import national_targets
from pipeline.measuring.settings import load_settings
from pipeline.running.documents import execute_report
from pipeline.running.rendering import report_fragment, visible_text
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.narrative import count, number
from pipeline.writing.pdf import (
    PdfUnavailable,
    missing_glyphs,
    pdf_bytes,
    resolve_font,
    typst_source,
    write_pdf,
)

MM = 72 / 25.4  # PDF points per millimetre
# The charts' labels are text in matplotlib's own DejaVu Serif (pipeline/writing/charts.py),
# embedded too.
CHART_FONT = "DejaVuSerif"


@pytest.fixture(scope="module")
def nam_chinh(tiny_district: Paths, tmp_path_factory):
    paths = Paths.under(tmp_path_factory.mktemp("report"))
    shutil.copytree(tiny_district.raw, paths.raw)
    [run] = run_year(
        paths, 2022, [sample_commune(2022, "nam-chinh")], workers=1, echo=lambda *_: None
    )
    assert run.status == "ok", run.message
    return paths, paths.outputs_year(2022) / "10627-nam-chinh"


def _top_margin_text(page) -> list[tuple[str, float]]:
    """Text drawn in the top margin (above 20 mm from the top edge), with its x position."""
    found: list[tuple[str, float]] = []
    height = float(page.mediabox.height)

    def visit(text, cm, tm, font, size):
        x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
        if text.strip() and y > height - 20 * MM:
            found.append((text.strip(), x))

    page.extract_text(visitor_text=visit)
    return found


def _pdf_text(path) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text()) for page in PdfReader(path).pages]


def test_pdf_is_a4_with_the_decree_layout(nam_chinh) -> None:
    _, folder = nam_chinh
    reader = PdfReader(folder / "report.pdf")
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 297)
    pages = _pdf_text(folder / "report.pdf")
    assert len(pages) >= 3
    first = pages[0]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in first and "Độc lập - Tự do - Hạnh phúc" in first
    assert "Số: 05/BC-UBND" in first and "Nam Chính, ngày 05 tháng 3 năm 2023" in first
    assert _top_margin_text(reader.pages[0]) == []  # no page number on page 1
    for index, page in enumerate(reader.pages[1:], start=2):
        [(text, x)] = _top_margin_text(page)  # centred in the top margin from page 2
        assert text == str(index)
        assert abs(x - (30 + (210 - 30 - 15) / 2) * MM) < 10 * MM
    whole = " ".join(pages)
    assert "TM. ỦY BAN NHÂN DÂN" in whole and "Trần Văn Xuyến" in whole
    assert "Nơi nhận:" in whole and "PHỤ LỤC" in whole


def test_the_signed_document_carries_no_data_quality_or_software_line(nam_chinh) -> None:
    _, folder = nam_chinh
    whole = " ".join(_pdf_text(folder / "report.pdf"))
    annex = whole[whole.index("PHỤ LỤC") :]
    assert "(Kèm theo Báo cáo số 05/BC-UBND ngày 05/3/2023 của Ủy ban nhân dân xã Nam Chính)" in (
        annex
    )
    for line in ("Số dòng đã đọc", "Trang tính", "Tỷ lệ dòng đã sửa", "Lý do loại", "cnscd "):
        assert line not in whole, line
    # The reviewers keep them: report.html shows the data's quality and the provenance.
    html = (folder / "report.html").read_text("utf-8")
    assert "Chất lượng số liệu" in html and "cnscd " in html


def test_pdf_embeds_a_times_compatible_font(nam_chinh) -> None:
    _, folder = nam_chinh
    fonts = set()
    for page in PdfReader(folder / "report.pdf").pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    text_fonts = {f for f in fonts if not f.startswith(CHART_FONT)}
    assert text_fonts and all(
        f.startswith(("Tinos", "TimesNewRoman", "LiberationSerif")) for f in text_fonts
    ), fonts


def test_the_charts_are_printed_as_vector_with_their_labels_as_text(nam_chinh) -> None:
    _, folder = nam_chinh
    reader = PdfReader(folder / "report.pdf")
    with_months = [i for i, text in enumerate(_pdf_text(folder / "report.pdf")) if " T12 " in text]
    assert with_months, "the month chart's labels are not text in the PDF"
    page = reader.pages[with_months[0]]
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any(CHART_FONT in f for f in fonts), fonts
    images = [
        x
        for x in page["/Resources"].get("/XObject", {}).values()
        if x.get_object().get("/Subtype") == "/Image"
    ]
    assert not images  # drawn, not a picture of the chart
    # Both charts of the report reach Typst as the very SVG the HTML shows.
    fragment = report_fragment(folder / "notebook.ipynb")
    assert fragment.count("<svg") == 2 and typst_source(fragment).count("#h-svg(") == 2


def test_a_fraction_is_never_split_at_its_slash(nam_chinh, tmp_path) -> None:
    _, folder = nam_chinh
    html = (folder / "report.html").read_text(encoding="utf-8")
    # The targets' sentences: "(5.886/6.408 người)", each figure in its own span.
    fraction = re.compile(r'<span class="nowrap">((?:<span[^>]*>[^<]*</span>|[^<])*)</span>')
    found = fraction.search(html)
    assert found
    shown = re.sub(r"<[^>]+>", "", found.group(1))
    style = re.search(r"<style>.*?</style>", html, re.S).group(0)
    # The fraction at every place of a line, one paragraph each: some would end a line at "/".
    paragraphs = "".join(f"<p>{'chữ ' * k}({found.group(0)} người)</p>" for k in range(40))
    write_pdf(
        f'{style}<div class="cnscd-report">{paragraphs}</div>',
        "chữ người 0123456789./()",
        tmp_path / "f.pdf",
        "x",
    )
    text = "\n".join(page.extract_text() for page in PdfReader(tmp_path / "f.pdf").pages)
    assert text.count(shown) == 40 and not re.search(r"/\s*\n", text)


def test_every_figure_in_the_text_comes_from_the_indicator_table(nam_chinh) -> None:
    paths, folder = nam_chinh
    indicators = pd.read_parquet(paths.processed_year(2022) / "indicators.parquet")
    values = values_of(indicators, "10627")
    allowed = {number(v) for v in values.values() if v is not None}
    allowed |= {count(v) for v in values.values() if v is not None and v == int(v)}
    # Besides: the national targets of the settings, and each one's gap (target - share, II).
    targets = national_targets(load_settings(), 2022)
    allowed |= {number(t["value"]) for t in targets.values()}
    # …and next year's, which section IV names.
    allowed |= {number(t["value"]) for t in national_targets(load_settings(), 2023).values()}
    allowed |= {
        number(printed(t["value"] - printed(values[code])))
        for code, t in targets.items()
        if values.get(code) is not None
    }
    html = (folder / "report.html").read_text(encoding="utf-8")
    body = visible_text(html)
    body = body[body.index("I. KẾT QUẢ HOẠT ĐỘNG") : body.index("PHỤ LỤC")]
    # Not figures: dates, document numbers, years, section numbers, fixed phrases.
    for pattern in (
        r"chỉ tiêu quốc gia năm \d{4} là (trên )?\d+%",  # the settings' targets, not figures
        r"từ 15 tuổi",
        r"\d{1,2}/\d{1,2}/\d{4}",
        r"\d+/QĐ-UBND",
        r"NĂM \d{4}",
        r"năm \d{4}",
        r"(?m)^\s*[IV]+\.",
        r"\b[1-3]\. ",
        r"3G/4G",
        r"1\.000 (dân|hộ)",
        r"từ 60 tuổi",
    ):
        body = re.sub(pattern, " ", body)
    figures = re.findall(r"\d[\d.,]*\d|\d", body)
    assert len(figures) > 15
    untraced = [f for f in figures if f not in allowed]
    assert not untraced, untraced


def test_pdf_text_is_stable(nam_chinh, tmp_path) -> None:
    _, folder = nam_chinh
    fragment = report_fragment(folder / "notebook.ipynb")
    again = tmp_path / "again.pdf"
    write_pdf(fragment, visible_text(fragment), again, "x")
    assert _pdf_text(again) == _pdf_text(folder / "report.pdf")


def test_the_same_report_gives_the_same_pdf_bytes(nam_chinh) -> None:
    """No date, no random id: the same fragment is the same file, in this process or another
    (the run's own PDF was made by a worker before this one)."""
    _, folder = nam_chinh
    fragment = report_fragment(folder / "notebook.ipynb")
    title = PdfReader(folder / "report.pdf").metadata.title
    made = pdf_bytes(fragment, title)
    assert made == pdf_bytes(fragment, title) == (folder / "report.pdf").read_bytes()
    assert b"CreationDate" not in made and b"ModDate" not in made


def test_the_signature_never_stands_alone_on_a_page(nam_chinh, tmp_path) -> None:
    """However far the text runs down the page, the closing sentence goes with the signature."""
    _, folder = nam_chinh
    fragment = report_fragment(folder / "notebook.ipynb")
    start, closing = fragment.index("<h2>"), fragment.index('<section class="closing">')
    end = fragment.index('<section class="annex">')
    signature_pages = set()
    for lines in range(6, 40, 2):  # the header block and 6-38 lines of text before the closing
        filler = "".join(f"<p>Dòng {i}.</p>" for i in range(lines))
        short = fragment[:start] + filler + fragment[closing:end] + "</article>"
        write_pdf(short, visible_text(short), tmp_path / "short.pdf", "x")
        pages = _pdf_text(tmp_path / "short.pdf")
        [signed] = [i for i, text in enumerate(pages) if "TM. ỦY BAN NHÂN DÂN" in text]
        assert "Trên đây là báo cáo" in pages[signed], lines
        signature_pages.add(signed)
    assert signature_pages == {0, 1}  # the text did push the signature onto the next page


def test_a_font_without_vietnamese_is_refused() -> None:
    font = resolve_font()
    assert missing_glyphs("Cộng hòa xã hội chủ nghĩa Việt Nam ỷ ỹ ự ậ Đ đ", font) == []
    assert missing_glyphs("字", font) == ["字"]


def test_no_suitable_font_is_said_plainly() -> None:
    with pytest.raises(PdfUnavailable, match="fonts-croscore"):
        resolve_font("No Such Serif 12345")


def test_html_only_when_pdf_is_not_asked(nam_chinh) -> None:
    from pipeline.writing.options import ReportOptions

    paths, folder = nam_chinh
    run = execute_report(
        paths, 2022, sample_commune(2022, "nam-chinh"), ReportOptions(formats=("html",))
    )
    assert run.status == "ok"
    assert (folder / "report.html").exists() and not (folder / "report.pdf").exists()


def test_without_root_the_fetched_font_is_used(nam_chinh, tmp_path, monkeypatch) -> None:
    from pipeline.writing import pdf

    # matplotlib's DejaVu Sans stands in for the fetched Tinos: fontconfig would find the
    # system's Tinos by itself, so only another face shows the fetched files are the ones used
    # (not DejaVu Serif: the charts are drawn in it).
    shipped = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    local = tmp_path / "fonts"
    local.mkdir()
    faces = {"Regular": "", "Bold": "-Bold", "Italic": "-Oblique", "BoldItalic": "-BoldOblique"}
    for face, suffix in faces.items():
        shutil.copy(shipped / f"DejaVuSans{suffix}.ttf", local / f"Tinos-{face}.ttf")
    monkeypatch.setattr(pdf, "_system_font", lambda family: None)
    monkeypatch.setattr(pdf, "LOCAL_FONTS", local)
    pdf.resolve_font.cache_clear()
    pdf._compiler.cache_clear()
    try:
        _, folder = nam_chinh
        fragment = report_fragment(folder / "notebook.ipynb")
        write_pdf(fragment, visible_text(fragment), tmp_path / "r.pdf", "x")
        families = set()  # read from the embedded font programs, not the names given them
        for page in PdfReader(tmp_path / "r.pdf").pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                program = descriptor.get_object()["/FontFile2"].get_object().get_data()
                families.add(TTFont(io.BytesIO(program))["name"].getDebugName(1))
        assert "DejaVu Sans" in families and "Tinos" not in families, families
        monkeypatch.setattr(pdf, "LOCAL_FONTS", tmp_path / "none")
        pdf.resolve_font.cache_clear()
        with pytest.raises(PdfUnavailable, match="make setup"):
            resolve_font()
    finally:
        pdf.resolve_font.cache_clear()
        pdf._compiler.cache_clear()


def test_a_report_reads_the_communes_rows_once_for_its_audit_and_its_text(nam_chinh, monkeypatch):
    """The notebook reads the commune's Parquet rows once (commune_data), the audit and the
    report start from them, and the report is the one a separate read gives."""
    from pipeline.reading import store
    from pipeline.writing.commune_data import read_commune_data
    from pipeline.writing.report import commune_report_html, report_html
    from pipeline.writing.reviewing import audit_of, inputs

    paths, _ = nam_chinh
    reads = []
    read_commune = store.read_commune
    monkeypatch.setattr(
        store, "read_commune", lambda *args: reads.append(args[1]) or read_commune(*args)
    )
    run = execute_report(paths, 2022, sample_commune(2022, "nam-chinh"))  # in this process
    assert run.status == "ok", run.message
    assert reads == ["10627"]
    data = read_commune_data(2022, "10627", paths.base)
    audit = audit_of(data)
    assert report_html(data) == commune_report_html(2022, "10627", paths.base)  # not altered
    assert str(inputs(audit)) == str(inputs(audit_of(read_commune_data(2022, "10627", paths.base))))
