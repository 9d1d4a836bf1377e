"""The Word report: the HTML report's text in the decree's format, byte-stable, and checked by
converting it with a real office suite (LibreOffice headless)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt
from pypdf import PdfReader

from pipeline.cli import main
from pipeline.core.config import Paths
from pipeline.running.rendering import report_fragment, visible_text
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions
from pipeline.writing.pdf import SCREEN_ONLY
from pipeline.writing.word import FIXED_TIME, DocxError, chart_images, docx_text, report_docx

MM = 72 / 25.4  # PDF points per millimetre
TITLE = "Báo cáo Tổ CNSCĐ Xã Nam Chính năm 2022"
SECTIONS = (
    "I. KẾT QUẢ HOẠT ĐỘNG NĂM 2022",
    "II. TỒN TẠI HẠN CHẾ, NGUYÊN NHÂN",
    "III. ĐỀ XUẤT, KIẾN NGHỊ",
    "IV. PHƯƠNG HƯỚNG HOẠT ĐỘNG NĂM 2023",
)


@pytest.fixture(scope="module")
def nam_chinh(tiny_district: Paths, tmp_path_factory):
    """Nam Chính 2022 built with --formats html,pdf,docx."""
    paths = Paths.under(tmp_path_factory.mktemp("word"))
    shutil.copytree(tiny_district.raw, paths.raw)
    [run] = run_year(
        paths,
        2022,
        [sample_commune(2022, "nam-chinh")],
        workers=1,
        echo=lambda *_: None,
        options=ReportOptions(formats=("html", "pdf", "docx")),
    )
    assert run.status == "ok", run.message
    return paths, paths.outputs_year(2022) / "10627-nam-chinh"


def _words(text: str) -> list[str]:
    return re.sub(r"\s+", " ", text).strip().split(" ")


def test_the_word_report_carries_the_html_reports_text(nam_chinh) -> None:
    _, folder = nam_chinh
    fragment = report_fragment(folder / "notebook.ipynb")
    assert fragment is not None
    # Less what is for the screen only (the data's quality, the software's provenance).
    printed = visible_text(SCREEN_ONLY.sub("", fragment))
    assert _words(docx_text(folder / "report.docx")) == _words(printed)
    assert "Số dòng đã đọc" not in docx_text(folder / "report.docx")


def test_the_word_report_is_byte_stable(nam_chinh) -> None:
    _, folder = nam_chinh
    fragment = report_fragment(folder / "notebook.ipynb")
    images = chart_images(fragment)  # the fragment's own SVG charts, as PNG
    assert set(images) == {"services", "months"}
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    assert images == chart_images(fragment)
    again = report_docx(fragment, images, TITLE)
    assert again == report_docx(fragment, images, TITLE)
    assert again == (folder / "report.docx").read_bytes()  # the run wrote the same bytes
    with zipfile.ZipFile(folder / "report.docx") as package:
        assert {i.date_time for i in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z" in package.read("docProps/core.xml")


def test_the_word_report_is_in_the_decrees_format_with_real_styles(nam_chinh) -> None:
    _, folder = nam_chinh
    document = Document(folder / "report.docx")
    [section] = document.sections
    sizes = (
        section.page_width,
        section.page_height,
        section.top_margin,
        section.bottom_margin,
        section.left_margin,
        section.right_margin,
    )
    assert [round(size.mm, 1) for size in sizes] == [210, 297, 20, 20, 30, 15]  # twips
    assert section.different_first_page_header_footer  # no page number on page 1
    assert "PAGE" in "".join(t.text for t in section.header._element.iter(qn("w:instrText")))
    assert not "".join(p.text for p in section.first_page_header.paragraphs).strip()
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(14)
    assert round(normal.paragraph_format.first_line_indent.cm, 2) == 1.0
    assert normal.paragraph_format.alignment == 3  # justified
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == [*SECTIONS, "PHỤ LỤC"]
    assert [p.text for p in document.paragraphs if p.style.name == "Title"] == ["BÁO CÁO"]
    assert any(p.style.name == "Heading 2" for p in document.paragraphs)
    header, signature, *annex = document.tables
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header.cell(0, 1).text
    assert "Số: 05/BC-UBND" in header.cell(1, 0).text
    assert "Nơi nhận:" in signature.cell(0, 0).text
    assert "Trần Văn Xuyến" in signature.cell(0, 1).text
    closing = [p for p in document.paragraphs if p.text.startswith("Trên đây là báo cáo")]
    assert [p.paragraph_format.keep_with_next for p in closing] == [True]  # with the signature
    assert annex and all(t.style.name == "Table Grid" for t in annex)
    numbered = [t for t in annex if t.cell(0, 0).text == "TT"]
    assert numbered
    for table in numbered:  # "TT" narrow, the indicator's name wide
        widths = [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.iterchildren()]
        assert widths[0] < widths[1] / 2, widths
    assert all(len(t._tbl.tblPr.findall(qn("w:tblLayout"))) == 1 for t in annex)
    assert len(document.inline_shapes) == 2  # the two charts, as pictures
    properties = document.core_properties
    fixed = FIXED_TIME.replace(tzinfo=None)
    assert {d.replace(tzinfo=None) for d in (properties.created, properties.modified)} == {fixed}
    assert properties.author == "" and properties.title == TITLE


def test_a_fragment_that_is_not_a_report_is_refused() -> None:
    with pytest.raises(DocxError, match="no report"):
        report_docx("<p>not a report</p>", {}, "x")


DISTRICT_FRAGMENT = """<article class="cnscd-report">
<h2>I. KẾT QUẢ</h2>
<div class="note"><p>Đoạn văn trong một khối.</p><div><p>Khối lồng.</p></div></div>
<div>Văn bản <small>nhỏ</small> trực tiếp trong khối.</div>
<ul><li>Hướng dẫn <strong>dịch vụ công</strong> trực tuyến;</li><li>Thanh toán số.</li></ul>
<ol><li>Tập huấn lần một.</li><li>Tập huấn lần hai.</li></ol>
<table><thead><tr><th>TT</th><th>Nội dung</th></tr></thead>
<tbody><tr><td>1</td><td>Hồ sơ <code>trực tuyến</code></td></tr></tbody></table>
<figure data-chart="none"><figcaption>Biểu đồ 1: Số người được hướng dẫn</figcaption></figure>
</article>"""


def test_a_district_template_s_blocks_lists_and_captions_all_reach_word() -> None:
    """Every word a district's own template shows reaches the Word report: text in a <div>
    was dropped before, a list raised."""
    text = docx_text(report_docx(DISTRICT_FRAGMENT, {}, "x"))
    written = [w for w in _words(text) if w not in {"-", "1.", "2."}]
    assert written == _words(visible_text(DISTRICT_FRAGMENT))
    assert "- Hướng dẫn dịch vụ công trực tuyến;" in text and "2. Tập huấn lần hai." in text


@pytest.mark.parametrize(
    ("inner", "named"),
    [
        ("<p>Chữ <mark2>mất</mark2></p>", "mark2"),
        ("<video>phim</video>", "video"),
        ("<ul><li><p>Đoạn</p></li></ul>", "<p>"),
        ("<div>Chữ<p>Đoạn</p></div>", "mixes text and blocks"),
    ],
)
def test_an_element_word_cannot_lay_out_is_refused_not_dropped(inner: str, named: str) -> None:
    with pytest.raises(DocxError, match=re.escape(named)):
        report_docx(f'<article class="cnscd-report">{inner}</article>', {}, "x")


def _top_margin_text(page) -> list[str]:
    found: list[str] = []
    height = float(page.mediabox.height)

    def visit(text, cm, tm, font, size):
        if text.strip() and tm[5] * cm[3] + cm[5] > height - 20 * MM:
            found.append(text.strip())

    page.extract_text(visitor_text=visit)
    return found


def test_libreoffice_opens_the_word_report_as_the_decree_lays_it_out(nam_chinh, tmp_path) -> None:
    _, folder = nam_chinh
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail(
            "LibreOffice (soffice) is not installed, so the Word report cannot be checked in a "
            "real office suite: `make setup` installs it (libreoffice-writer-nogui, as root)"
        )
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",  # private: parallel runs
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(folder / "report.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    reader = PdfReader(tmp_path / "report.pdf")
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (210, 297)
    pages = [re.sub(r"\s+", " ", page.extract_text()) for page in reader.pages]
    first, whole = pages[0], " ".join(pages)
    for text in (
        "ỦY BAN NHÂN DÂN",
        "XÃ NAM CHÍNH",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 05/BC-UBND",
        "Nam Chính, ngày 05 tháng 3 năm 2023",
        "BÁO CÁO",
    ):
        assert text in first, text
    for text in (*SECTIONS, "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Văn Xuyến", "Nơi nhận:"):
        assert text in whole, text
    assert _top_margin_text(reader.pages[0]) == []  # no page number on page 1
    for number, page in enumerate(reader.pages[1:], start=2):
        assert _top_margin_text(page) == [str(number)]
    printed = len(PdfReader(folder / "report.pdf").pages)
    assert abs(len(reader.pages) - printed) <= 1, (len(reader.pages), printed)


def test_the_run_lists_and_links_the_word_report(nam_chinh) -> None:
    paths, folder = nam_chinh
    status = json.loads((folder / "status.json").read_text(encoding="utf-8"))
    assert "report.docx" in status["outputs"]
    index = (paths.outputs_year(2022) / "index.html").read_text(encoding="utf-8")
    assert 'href="10627-nam-chinh/report.docx"' in index


def test_run_refuses_an_unknown_format(tiny_district: Paths, capsys) -> None:
    code = main(
        ["--data-dir", str(tiny_district.base), "run", "--year", "2022", "--formats", "html,odt"]
    )
    assert code == 2
    assert "html,pdf,docx" in capsys.readouterr().err


def test_a_table_too_wide_for_the_page_keeps_its_number_column_narrow() -> None:
    """Long 'không có (…)' cells in two columns: each column keeps room for its longest word
    and shares the rest by what it wants; 'TT' is not as wide as the indicator's name."""
    from pipeline.writing.word import TEXT_CM, _column_widths

    missing = "không có (chưa ghi chỉ tiêu này)"
    rows = [
        ["TT", "Chỉ số", "Đơn vị", "Giá trị", "Năm 2024"],
        ["1", "Tỷ lệ người từ 15 tuổi có tài khoản thanh toán", "%", missing, missing],
    ]
    widths = _column_widths(rows)
    assert sum(widths) == pytest.approx(TEXT_CM, abs=0.05)
    assert widths[0] < 1.5 and widths[1] > 2 * widths[0] and widths[1] > widths[2]
