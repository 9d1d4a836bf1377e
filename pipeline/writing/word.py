"""The editable report: the report's HTML fragment laid out as a Word document (python-docx) in
the format of Nghị định 30/2020/NĐ-CP, Phụ lục I.

The text is not written twice: the template renders the HTML fragment once (the notebook shows
it, the PDF prints it), and this module converts its small, known structure (the header block,
headings, paragraphs, the signature block, the annex tables, the charts) into Word paragraphs
and tables with real styles (Normal, Heading 1, Heading 2, Title, Subtitle, Table Grid), so an
office that edits the report keeps its format. Charts come as PNG (`chart_images`): each is the
fragment's own SVG of it (the one the HTML shows and the PDF prints) drawn at print resolution,
found by the name its figure carries (`data-chart`); no chart is drawn again for Word. The same
fragment gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lxml.html
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

from pipeline.core.errors import PipelineError
from pipeline.core.files import fixed_zip, write_atomically
from pipeline.writing.pdf import (
    SCREEN_ONLY,  # the marks of what the printed report leaves out
    svg_png,
)

FONT = "Times New Roman"
BODY_PT = 14
# A4 and the decree's margins (mm): top and bottom 20, left 30, right 15; text 165 mm wide.
PAGE_MM = (210, 297)
MARGINS_MM = {"top": 20, "bottom": 20, "left": 30, "right": 15}
TEXT_CM = (PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]) / 10
HEADER_COLUMNS_CM = (6.0, 10.5)  # issuer | national motto: "CỘNG HÒA … VIỆT NAM" is 9.5 cm
SIGNATURE_COLUMNS_CM = (7.5, 9.0)  # "Nơi nhận" | signature
CELL_MARGIN_CM = 0.1
# Rules under the issuer, the motto (as long as "Độc lập - Tự do - Hạnh phúc" in 14 pt bold:
# 6.0 cm) and the subject line.
RULE_CM = {"issuer": 2.0, "motto": 6.0, "subject": 4.0}
CHART_CM = 15.0
PNG_PPI = 200  # the charts' print resolution
# A named chart of the report fragment: its figure and the SVG inside it (`charts._figure_tag`).
_NAMED_CHART = re.compile(r'<figure class="chart" data-chart="(\w+)">\s*(<svg\b.*?</svg>)', re.S)
FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # document properties: no date of writing
TABLE_TEXT = "Table Text"  # the paragraph style of table cells

# Font sizes of the header and signature blocks, by the class of their cell (HTML).
CELL_PT = {"issuer": 13, "motto": 13, "number": 13, "place-date": 14, "recipients": 11}
LEFT_CELLS = {"recipients"}
# Inline elements whose text is written as it stands (their look is not carried over).
INLINE_PLAIN = {"span", "a", "sup", "sub", "small", "code", "u", "abbr", "time", "mark"}
BLOCKS = {"p", "div", "table", "section", "figure", "h1", "h2", "h3", "ul", "ol"}


class DocxError(PipelineError):
    """The report fragment has a shape this module does not know."""


@dataclass(frozen=True)
class Piece:
    """A run of text with its look, or a line break (`text` is "\\n")."""

    text: str
    bold: bool = False
    italic: bool = False
    size: float | None = None


def _classes(element) -> set[str]:
    return set((element.get("class") or "").split())


def _pieces(
    element, bold: bool = False, italic: bool = False, size: float | None = None
) -> Iterator[Piece]:
    """The inline content of an element (its text, <strong>, <em>, <br>), without its tail."""
    if "motto-line" in _classes(element):
        size = 14
    if element.text:
        yield Piece(element.text, bold, italic, size)
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "br":
            yield Piece("\n")
        elif tag in ("strong", "b"):
            yield from _pieces(child, True, italic, size)
        elif tag in ("em", "i"):
            yield from _pieces(child, bold, True, size)
        elif tag in INLINE_PLAIN:
            yield from _pieces(child, bold, italic, size)
        elif tag:  # a comment or processing instruction has no tag and no text to show
            raise DocxError(
                f"the report has a <{tag}> inside a <{element.tag}> that this Word "
                "writer does not know: its text would be lost"
            )
        if child.tail:
            yield Piece(child.tail, bold, italic, size)


def _collapse(pieces: list[Piece]) -> list[Piece]:
    """White space as a browser shows it: runs of it are one space, none at a line's ends."""
    out: list[Piece] = []
    at_line_start = True
    for piece in pieces:
        if piece.text == "\n":
            if out and out[-1].text != "\n":
                out[-1] = Piece(out[-1].text.rstrip(), out[-1].bold, out[-1].italic, out[-1].size)
            out.append(piece)
            at_line_start = True
            continue
        text = re.sub(r"\s+", " ", piece.text)
        if at_line_start:
            text = text.lstrip()
        elif out and out[-1].text.endswith(" ") and text.startswith(" "):
            text = text[1:]
        if text:
            out.append(Piece(text, piece.bold, piece.italic, piece.size))
            at_line_start = False
    if out and out[-1].text != "\n":
        out[-1] = Piece(out[-1].text.rstrip(), out[-1].bold, out[-1].italic, out[-1].size)
    return [p for p in out if p.text]


def _add_runs(paragraph, pieces: list[Piece], size: float | None = None, bold: bool = False):
    for piece in _collapse(pieces):
        if piece.text == "\n":
            paragraph.add_run().add_break(WD_BREAK.LINE)
            continue
        run = paragraph.add_run(piece.text)
        if piece.bold or bold:
            run.bold = True
        if piece.italic:
            run.italic = True
        if piece.size or size:
            run.font.size = Pt(piece.size or size)
    return paragraph


# The style id of each paragraph style a document's paragraphs take, by name, per document part:
# python-docx looks a style up by scanning every style of the document twice (its name, then
# whether it is the default) each time a paragraph is given one, which was over half the
# Word document's time (an annex cell is a paragraph).
_STYLE_IDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _styled(paragraph, name: str):
    """`paragraph.style = name`, with python-docx's lookup once per document and style."""
    ids = _STYLE_IDS.setdefault(paragraph.part, {})
    if name in ids:
        paragraph._p.style = ids[name]  # what python-docx's setter writes: pStyle, or none
    else:
        paragraph.style = name
        ids[name] = paragraph._p.style
    return paragraph


def _add_paragraph(container, style: str):
    """A new paragraph of `style` at the end of a document or table cell."""
    return _styled(container.add_paragraph(), style)


# --- styles and page ---------------------------------------------------------------------------


def _set_font(rpr) -> None:
    """Times New Roman for every script, instead of the template's theme fonts."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), FONT)


def _style(
    document,
    name: str,
    *,
    size: float = BODY_PT,
    bold: bool = False,
    align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    indent_cm: float = 1.0,
    before: float = 0,
    after: float = 6,
    line: float = 1.1,
    keep_with_next: bool = False,
    base: str | None = None,
):
    styles = document.styles
    names = {s.name for s in styles}
    style = styles[name] if name in names else styles.add_style(name, 1)  # 1: paragraph
    if base:
        style.base_style = styles[base]
    ppr = style.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):  # the template's Title has a rule under it
        ppr.remove(border)
    rpr = style.element.get_or_add_rPr()
    for spaced in rpr.findall(qn("w:spacing")):  # and letter spacing
        rpr.remove(spaced)
    _set_font(rpr)
    font = style.font
    font.size, font.bold, font.italic = Pt(size), bold, False
    font.color.rgb = RGBColor(0, 0, 0)
    fmt = style.paragraph_format
    fmt.alignment = align
    fmt.first_line_indent = Cm(indent_cm) if indent_cm else Cm(0)
    fmt.left_indent = Cm(0)
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.line_spacing = line
    fmt.keep_with_next = keep_with_next
    return style


def _styles(document) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr is not None:
            _set_font(rpr)
    normal = _style(document, "Normal")
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    normal.element.get_or_add_rPr().append(lang)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _style(document, "Heading 1", bold=True, before=12, keep_with_next=True, base="Normal")
    _style(document, "Heading 2", bold=True, before=6, keep_with_next=True, base="Normal")
    _style(document, "Title", bold=True, align=center, indent_cm=0, before=18, after=0)
    _style(document, "Subtitle", bold=True, align=center, indent_cm=0, after=0)
    _style(
        document,
        TABLE_TEXT,
        size=12,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        indent_cm=0,
        after=0,
        line=1.0,
        base="Normal",
    )


def _page_number(paragraph) -> None:
    """A PAGE field: Word and LibreOffice show the page's number."""
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2")):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(end)
    run.font.size = Pt(13)


def _page(document) -> None:
    """A4 portrait, the decree's margins, page numbers centred at the top from page 2."""
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    section.different_first_page_header_footer = True  # titlePg: page 1 has no number
    section.first_page_header.is_linked_to_previous = False  # an empty header of its own
    paragraph = section.header.paragraphs[0]
    paragraph.style = document.styles[TABLE_TEXT]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(paragraph)


# --- blocks ------------------------------------------------------------------------------------


def _rule(container, width_cm: float, room_cm: float, after: float = 0) -> None:
    """A centred horizontal rule `width_cm` long: the bottom border of an empty paragraph."""
    paragraph = _add_paragraph(container, TABLE_TEXT)
    fmt = paragraph.paragraph_format
    side = max((room_cm - width_cm) / 2, 0)
    fmt.left_indent = fmt.right_indent = Cm(side)
    fmt.space_after = Pt(after)
    fmt.line_spacing = Pt(2)  # exactly: the rule sits under the line above
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.find(qn("w:pStyle")).addnext(borders)  # the schema's order: pStyle, …, pBdr, …, ind
    paragraph.add_run().font.size = Pt(2)


def _no_borders(table) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    tblpr.append(borders)


def _fixed_widths(table, widths_cm: list[float], margin_cm: float | None = None) -> None:
    table.autofit = False  # <w:tblLayout w:type="fixed"/>, once
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tblpr = table._tbl.tblPr
    if margin_cm is not None:
        margins = OxmlElement("w:tblCellMar")
        for side in ("left", "right"):
            element = OxmlElement(f"w:{side}")
            element.set(qn("w:w"), str(round(margin_cm / 2.54 * 1440)))
            element.set(qn("w:type"), "dxa")
            margins.append(element)
        tblpr.append(margins)
    for index, column in enumerate(table.columns):
        column.width = Cm(widths_cm[index])
        for cell in column.cells:
            cell.width = Cm(widths_cm[index])


def _block_cell(cell, td, width_cm: float) -> None:
    """A cell of the header or signature block: lines of text, rules and the signing space."""
    kind = next(iter(_classes(td) & (set(CELL_PT) | {"signature"})), "")
    size = CELL_PT.get(kind, BODY_PT)
    align = WD_ALIGN_PARAGRAPH.LEFT if kind in LEFT_CELLS else WD_ALIGN_PARAGRAPH.CENTER
    room = width_cm - 2 * CELL_MARGIN_CM
    cell._tc.remove(cell.paragraphs[0]._p)  # python-docx starts a cell with an empty paragraph
    pending: list[Piece] = [Piece(td.text)] if td.text else []
    first = True

    def flush() -> None:
        nonlocal pending, first
        if _collapse(pending):
            paragraph = _add_paragraph(cell, TABLE_TEXT)
            paragraph.alignment = align
            if kind in ("number", "place-date") and first:
                paragraph.paragraph_format.space_before = Pt(6)
            # "Nơi nhận:" in 12 pt, its items in 11 (the decree)
            shown = [
                Piece(p.text, p.bold, p.italic, 12 if kind == "recipients" and p.bold else p.size)
                for p in pending
            ]
            _add_runs(paragraph, shown, size=size)
            first = False
        pending = []

    for child in td:
        classes = _classes(child)
        if child.tag == "div" and "rule" in classes:
            flush()
            _rule(cell, RULE_CM["issuer" if "short" in classes else "motto"], room)
        elif child.tag == "div" and "signature-space" in classes:
            flush()
            space = _add_paragraph(cell, TABLE_TEXT)
            space.paragraph_format.space_after = Pt(60)
        else:
            pending.extend(
                [Piece("\n")] if child.tag == "br" else _pieces_of_child(child, bold=False)
            )
        if child.tail:
            pending.append(Piece(child.tail))
    flush()
    if not cell.paragraphs:
        _add_paragraph(cell, TABLE_TEXT)


def _pieces_of_child(child, bold: bool) -> list[Piece]:
    tag = child.tag if isinstance(child.tag, str) else ""
    if tag in ("strong", "b"):
        return list(_pieces(child, True))
    if tag in ("em", "i"):
        return list(_pieces(child, bold, True))
    return list(_pieces(child, bold))


def _block_table(document, table_element, widths_cm: tuple[float, ...]) -> None:
    rows = table_element.xpath("./tr | ./tbody/tr")
    table = document.add_table(rows=len(rows), cols=len(widths_cm))
    _no_borders(table)
    _fixed_widths(table, list(widths_cm), CELL_MARGIN_CM)
    for row, tr in zip(table.rows, rows, strict=True):
        # A signature never stands on a page without its title: the row is not split.
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for index, (cell, td) in enumerate(zip(row.cells, tr.xpath("./td"), strict=True)):
            _block_cell(cell, td, widths_cm[index])


def _column_widths(rows: list[list[str]]) -> list[float]:
    """Column widths filling the text width: each column as wide as its longest text in 12 pt
    (about 0.21 cm a letter, up to 60 letters), the widest taking what is left; when the texts
    are too long for the page, each column keeps room for its longest word ("TT" stays narrow)
    and the rest is shared in proportion to what each would want (their text wraps)."""
    columns = max(len(r) for r in rows)

    def cells(i: int) -> list[str]:
        return [r[i] if i < len(r) else "" for r in rows]

    def width(letters: int) -> float:
        return max(0.6 + 0.21 * min(letters, 60), 1.1)

    natural = [width(max(len(text) for text in cells(i))) for i in range(columns)]
    if sum(natural) <= TEXT_CM:
        widest = natural.index(max(natural))
        natural[widest] += TEXT_CM - sum(natural)
        return [round(w, 2) for w in natural]
    least = [
        width(max((len(w) for t in cells(i) for w in t.split()), default=0)) for i in range(columns)
    ]
    if sum(least) >= TEXT_CM:  # even the longest words are too wide: each its share of them
        return [round(m * TEXT_CM / sum(least), 2) for m in least]
    spare = TEXT_CM - sum(least)
    wanted = sum(n - m for n, m in zip(natural, least, strict=True)) or 1.0
    return [round(m + (n - m) * spare / wanted, 2) for n, m in zip(natural, least, strict=True)]


def _cell_text(td) -> str:
    return "".join(p.text for p in _collapse(list(_pieces(td))))


def _data_table(document, table_element) -> None:
    """An annex table: grid, header row repeated on every page, numbers to the right."""
    head = table_element.xpath("./thead/tr | ./tr[th]")
    body = table_element.xpath("./tbody/tr | ./tr[td]")
    rows = head + body
    cells = [row.xpath("./th | ./td") for row in rows]
    table = document.add_table(rows=len(rows), cols=max(len(c) for c in cells))
    table.style = document.styles["Table Grid"]
    _fixed_widths(table, _column_widths([[_cell_text(c) for c in row] for row in cells]))
    for index, (row, tds) in enumerate(zip(table.rows, cells, strict=True)):
        trpr = row._tr.get_or_add_trPr()
        cant_split = OxmlElement("w:cantSplit")
        trpr.append(cant_split)
        if index < len(head):
            header = OxmlElement("w:tblHeader")
            trpr.append(header)
        for cell, td in zip(row.cells, tds, strict=False):
            paragraph = cell.paragraphs[0]
            _styled(paragraph, TABLE_TEXT)
            if "num" in _classes(td):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _add_runs(paragraph, list(_pieces(td, bold=td.tag == "th")))
    _add_paragraph(document, TABLE_TEXT)  # room after the table, as in the HTML


def chart_images(fragment: str) -> dict[str, bytes]:
    """The fragment's charts as PNG at print resolution, by the name of each figure: the very
    SVG the HTML shows and the PDF prints, drawn as pixels (nothing is measured or laid out
    again, and no data is read)."""
    return {name: svg_png(svg, PNG_PPI) for name, svg in _NAMED_CHART.findall(fragment)}


def _figure(document, element, images: dict[str, bytes]) -> None:
    """A chart as its PNG, with its caption (<figcaption>) where the HTML puts it."""
    image = images.get(element.get("data-chart") or "")
    captions = element.xpath("./figcaption")
    for caption in captions:
        if caption.getprevious() is None:  # a caption above the chart
            _caption(document, caption, keep_with_next=image is not None)
    if image is not None:  # a chart without its PNG (a district's own figure): no picture
        paragraph = document.add_paragraph()
        fmt = paragraph.paragraph_format
        fmt.first_line_indent, fmt.line_spacing, fmt.keep_together = Cm(0), 1.0, True
        fmt.keep_with_next = any(c.getprevious() is not None for c in captions)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.add_run().add_picture(io.BytesIO(image), width=Cm(CHART_CM))
    for caption in captions:
        if caption.getprevious() is not None:
            _caption(document, caption, keep_with_next=False)


def _caption(document, caption, keep_with_next: bool) -> None:
    paragraph = _add_paragraph(document, "Normal")
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fmt = paragraph.paragraph_format
    fmt.first_line_indent, fmt.keep_with_next = Cm(0), keep_with_next
    _add_runs(paragraph, list(_pieces(caption)))


def _paragraph(document, element, style: str = "Normal", page_break: bool = False):
    paragraph = _add_paragraph(document, style)
    classes = _classes(element)
    if classes & {"annex-title", "annex-subject", "annex-reference"}:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.first_line_indent = Cm(0)
    if "annex-subject" in classes:
        _add_runs(paragraph, list(_pieces(element)), bold=True)
    elif "provenance" in classes:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
        paragraph.paragraph_format.first_line_indent = Cm(0)
        paragraph.paragraph_format.space_before = Pt(18)
        _add_runs(paragraph, list(_pieces(element)), size=9)
        for run in paragraph.runs:
            run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    else:
        _add_runs(paragraph, list(_pieces(element)))
    if page_break:
        paragraph.paragraph_format.page_break_before = True
    return paragraph


def _holds_blocks(element) -> bool:
    """Whether a <div> holds blocks (laid out one by one) rather than text (one paragraph);
    both at once has no faithful Word form."""
    blocks = [c for c in element if isinstance(c.tag, str) and c.tag in BLOCKS]
    text = (element.text or "").strip() or any((c.tail or "").strip() for c in element)
    if blocks and (text or len(blocks) < len([c for c in element if isinstance(c.tag, str)])):
        raise DocxError(
            "the report has a <div> that mixes text and blocks (<p>, <table>…): "
            "put its text in a <p>"
        )
    return bool(blocks)


def _list(document, element, page_break: bool) -> None:
    """A list as the decree's documents write one: each item a paragraph opened by "- " (or
    its number, in an ordered list)."""
    for number, item in enumerate(element, start=1):
        tag = item.tag if isinstance(item.tag, str) else ""
        if not tag:
            continue
        if tag != "li":
            raise DocxError(f"the report has a <{tag}> in a <{element.tag}>: only <li> belongs")
        nested = [c.tag for c in item if isinstance(c.tag, str) and c.tag in BLOCKS]
        if nested:
            raise DocxError(
                f"the report has a list item holding a <{nested[0]}>, which this Word "
                "writer does not lay out: keep list items to text"
            )
        mark = f"{number}. " if element.tag == "ol" else "- "
        paragraph = _add_paragraph(document, "Normal")
        _add_runs(paragraph, [Piece(mark), *_pieces(item)])
        if page_break:
            paragraph.paragraph_format.page_break_before = True
            page_break = False


def _blocks(
    document, parent, images: dict[str, bytes], page_break: bool = False, keep: bool = False
) -> None:
    """The elements of `parent` as Word blocks; with `keep`, each paragraph stays on the page of
    what follows it (the closing sentence and the signature)."""
    for element in parent:
        tag = element.tag if isinstance(element.tag, str) else ""
        classes = _classes(element)
        if tag in ("style", "script", ""):
            continue
        if tag == "table" and "header-block" in classes:
            _block_table(document, element, HEADER_COLUMNS_CM)
        elif tag == "table" and "signature-block" in classes:
            _block_table(document, element, SIGNATURE_COLUMNS_CM)
        elif tag == "table":
            _data_table(document, element)
        elif tag == "section":
            _blocks(
                document, element, images, page_break="annex" in classes, keep="closing" in classes
            )
        elif tag == "div" and "rule" in classes:  # the rule under the subject line
            _rule(document, RULE_CM["subject"], TEXT_CM, after=6)
        elif tag == "div" and _holds_blocks(element):
            _blocks(document, element, images, page_break, keep)
        elif tag == "div":  # a district template's text in a <div>: a paragraph
            _paragraph(document, element, "Normal", page_break)
        elif tag in ("ul", "ol"):
            _list(document, element, page_break)
        elif tag == "figure":
            _figure(document, element, images)
        elif tag == "h1":
            _paragraph(document, element, "Title", page_break)
        elif tag == "h2":
            _paragraph(document, element, "Heading 1", page_break)
        elif tag == "h3":
            _paragraph(document, element, "Heading 2", page_break)
        elif tag == "p" and "subject" in classes:
            _paragraph(document, element, "Subtitle", page_break)
        elif tag == "p":
            paragraph = _paragraph(document, element, "Normal", page_break)
            if keep:
                paragraph.paragraph_format.keep_with_next = True
        else:
            raise DocxError(f"the report has a <{tag}> this Word writer does not know")
        page_break = False


# --- the file ----------------------------------------------------------------------------------


def _article(fragment: str):
    # What is for the screen only (the data's quality, the software's provenance) is not part
    # of the document the chairperson signs.
    root = lxml.html.fromstring(SCREEN_ONLY.sub("", fragment))
    found = root.xpath("//article[contains(concat(' ', @class, ' '), ' cnscd-report ')]")
    if not found:
        raise DocxError("no report (<article class='cnscd-report'>) in the HTML fragment")
    return found[0]


def report_docx(fragment: str, images: dict[str, bytes], title: str) -> bytes:
    """The report fragment (as the notebook displayed it) as a .docx document, in bytes."""
    document = Document()
    _styles(document)
    _page(document)
    body = document.element.body
    for paragraph in list(body.iterchildren(qn("w:p"))):  # the template's empty paragraph
        body.remove(paragraph)
    _blocks(document, _article(fragment), images)
    properties = document.core_properties
    properties.title, properties.subject = title, ""
    properties.author = properties.last_modified_by = ""
    properties.comments, properties.keywords, properties.category = "", "", ""
    properties.language = "vi-VN"
    properties.created = properties.modified = FIXED_TIME
    properties.last_printed = FIXED_TIME
    properties.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip(buffer.getvalue())


def write_docx(fragment: str, images: dict[str, bytes], path: Path, title: str) -> None:
    """Write the report's Word document at `path`, whole or not at all."""
    data = report_docx(fragment, images, title)
    write_atomically(path, lambda tmp: tmp.write_bytes(data))


def docx_text(path_or_bytes: Path | bytes) -> str:
    """The text of a .docx in reading order (paragraphs and table cells), for checks."""
    from docx import Document as Open

    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    document = Open(source)
    parts = []
    for block in document.element.body.iter(qn("w:p")):
        parts.append(
            "".join(
                (e.text or "") if e.tag == qn("w:t") else "\n"
                for e in block.iter(qn("w:t"), qn("w:br"))
            )
        )
    return "\n".join(parts)
