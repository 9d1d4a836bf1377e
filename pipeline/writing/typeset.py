"""An HTML fragment (the report as the notebook displays it) as Typst markup, for the PDF.

The report has one source, the HTML fragment the templates render; the PDF is a conversion of
it, not a second copy. Each element becomes a call of the function of its tag in the print style
(`templates/print.typ`: `<p class="subject">` is `#h-p(c: ("subject",))[…]`), which decides its
look from its classes, as a print style sheet would. The converter knows the elements the
templates use; any other element is an error naming it, never something silently dropped. Text
goes in as Typst strings (no markup is read in it) with white space collapsed as a browser does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import lxml.html

from pipeline.core.errors import PipelineError


class TypesetError(PipelineError):
    """The HTML has an element or attribute the PDF converter does not handle."""


# Elements whose content is laid out as blocks: white space between their children is not text.
BLOCKS = {"article", "section", "div", "p", "h1", "h2", "h3", "h4", "figure", "figcaption", "li"}
INLINE = {"strong", "b", "em", "i", "span", "a", "small", "sub", "sup"}
SKIPPED = {"style", "script"}
SVG_MARK = "data-svg"  # an inline SVG, taken out before parsing (lxml's HTML parser mangles it)
INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# The one inline style the templates write: a heat table's cell colour.
BACKGROUND = re.compile(r"^\s*background(?:-color)?\s*:\s*([^;]+?)\s*;?\s*$")
RGB = re.compile(r"^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$")
HEX = re.compile(r"^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$")


def string(text: str) -> str:
    """A Typst string literal of `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def _classes(element) -> str:
    names = (element.get("class") or "").split()
    return "(" + "".join(f"{string(n)}, " for n in names) + ")"


def _tag(element) -> str:
    return element.tag if isinstance(element.tag, str) else ""  # comments: no tag


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Code:
    code: str
    breaks: bool = False  # a line break: no space at either side of it


def _collapse(tokens: list[_Text | _Code]) -> str:
    """Inline content as markup, white space as a browser shows it: runs of it are one space,
    none at the start or end of a line."""
    out: list[_Text | _Code] = []
    at_start = True
    for token in tokens:
        if isinstance(token, _Code):
            if token.breaks:
                _trim_end(out)
                at_start = True
            out.append(token)
            continue
        text = re.sub(r"\s+", " ", token.text)
        if at_start:
            text = text.lstrip()
        elif text.startswith(" ") and _ends_with_space(out):
            text = text[1:]
        if text:
            out.append(_Text(text))
            at_start = False
    _trim_end(out)
    return "".join(f"#{string(t.text)}" if isinstance(t, _Text) else t.code for t in out if t)


def _ends_with_space(out: list) -> bool:
    for token in reversed(out):
        if isinstance(token, _Text):
            return token.text.endswith(" ")
    return False


def _trim_end(out: list) -> None:
    for index in range(len(out) - 1, -1, -1):
        token = out[index]
        if isinstance(token, _Text):
            out[index] = _Text(token.text.rstrip())
            return
        if token.breaks:
            return


class _Converter:
    def __init__(self, svgs: list[str]) -> None:
        self.svgs = svgs

    def content(self, element) -> str:
        """The children of `element` (and its text): runs of inline content and blocks."""
        run: list[_Text | _Code] = []
        parts: list[str] = []

        def flush() -> None:
            if run:
                parts.append(_collapse(run))
                run.clear()

        if element.text:
            run.append(_Text(element.text))
        for child in element:
            tag = _tag(child)
            if tag in INLINE or tag in ("br", "img"):
                run.extend(self.inline(child))
            elif tag and tag not in SKIPPED:
                flush()
                parts.append(self.block(child))
            if child.tail:
                run.append(_Text(child.tail))
        flush()
        return "".join(parts)

    def inline(self, element) -> Iterator[_Text | _Code]:
        tag = _tag(element)
        if tag == "br":
            yield _Code("#linebreak()", breaks=True)
            return
        if tag == "img":
            yield _Code(self.image(element))
            return
        self.no_style(element)
        yield _Code(f"#h-{tag}(c: {_classes(element)})[")
        if element.text:
            yield _Text(element.text)
        for child in element:
            child_tag = _tag(child)
            if child_tag in INLINE or child_tag in ("br", "img"):
                yield from self.inline(child)
            elif child_tag:
                raise TypesetError(f"a <{child_tag}> inside a <{tag}>: the PDF cannot lay it out")
            if child.tail:
                yield _Text(child.tail)
        yield _Code("]")

    def image(self, element) -> str:
        index = element.get(SVG_MARK)
        if index is None:
            raise TypesetError("an <img> in the report: the PDF takes charts as inline SVG only")
        return f"#h-svg(c: {_classes(element)}, {string(self.svgs[int(index)])})"

    def no_style(self, element) -> None:
        if element.get("style"):
            raise TypesetError(
                f"a <{_tag(element)}> with an inline style ({element.get('style')!r}): "
                "the PDF takes its look from templates/print.typ"
            )

    def block(self, element) -> str:
        tag = _tag(element)
        if tag == "table":
            return self.table(element)
        if tag in ("ul", "ol"):
            return self.list(element)
        if tag not in BLOCKS:
            raise TypesetError(f"the report has a <{tag}> the PDF converter does not handle")
        self.no_style(element)
        return f"#h-{tag}(c: {_classes(element)})[{self.content(element)}]\n"

    def list(self, element) -> str:
        items = []
        for child in element:
            tag = _tag(child)
            if tag == "li":
                self.no_style(child)
                items.append(f"[{self.content(child)}], ")
            elif tag:
                raise TypesetError(f"a <{tag}> directly inside a <{_tag(element)}>")
            if (child.tail or "").strip():
                raise TypesetError(f"text directly inside a <{_tag(element)}>")
        return f"#h-{_tag(element)}(c: {_classes(element)}, ({''.join(items)}))\n"

    def table(self, element) -> str:
        """A table as its cells, each knowing its row's and row group's classes; the print
        style lays them out (widths, borders, sizes by the table's class)."""
        self.no_style(element)
        classes = _classes(element)
        head: list[str] = []
        body: list[str] = []
        widths: list[int] = []
        for group, rows, is_head in self.row_groups(element):
            for row in rows:
                cells = []
                span = 0
                for cell in row:
                    tag = _tag(cell)
                    if tag not in ("td", "th"):
                        if tag:
                            raise TypesetError(f"a <{tag}> directly inside a <tr>")
                        continue
                    if cell.get("rowspan", "1") != "1":
                        raise TypesetError("a table cell spanning rows: the PDF cannot lay it out")
                    colspan = int(cell.get("colspan", "1"))
                    span += colspan
                    cells.append(
                        f"h-cell(c: {_classes(cell)}, row: {_classes(row)}, tc: {classes}, "
                        f"group: {_classes(group) if group is not None else '()'}, "
                        f"head: {'true' if tag == 'th' or is_head else 'false'}, "
                        f"colspan: {colspan}, fill: {self.fill(cell)})"
                        f"[{self.content(cell)}], "
                    )
                widths.append(span)
                (head if is_head else body).extend(cells)
        columns = max(widths, default=1)
        return (
            f"#h-table(c: {classes}, columns: {columns}, "
            f"head: ({''.join(head)}), body: ({''.join(body)}))\n"
        )

    def row_groups(self, table) -> Iterator[tuple]:
        """(row group or None, its rows, whether they are the header)."""
        loose = []
        for child in table:
            tag = _tag(child)
            if tag in ("thead", "tbody", "tfoot"):
                if loose:
                    yield None, loose, False
                    loose = []
                rows = [r for r in child if _tag(r)]
                if any(_tag(r) != "tr" for r in rows):
                    raise TypesetError(f"a <{tag}> holds something other than rows")
                yield child, rows, tag == "thead"
            elif tag == "tr":
                loose.append(child)
            elif tag and tag not in SKIPPED:
                raise TypesetError(f"a <{tag}> in a table: the PDF converter does not handle it")
        if loose:
            yield None, loose, False

    def fill(self, cell) -> str:
        style = cell.get("style")
        if not style:
            return "none"
        found = BACKGROUND.match(style)
        colour = found.group(1) if found else ""
        if RGB.match(colour):
            return f"rgb({', '.join(RGB.match(colour).groups())})"
        if HEX.match(colour):
            return f"rgb({string(colour)})"
        raise TypesetError(
            f"a table cell's style {style!r}: the PDF takes only a background colour"
        )


def _svg_with_namespace(svg: str) -> str:
    head = svg[: svg.index(">")]
    return svg if "xmlns=" in head else svg.replace("<svg", f'<svg xmlns="{SVG_NAMESPACE}"', 1)


def to_typst(fragment: str) -> str:
    """The fragment's content as Typst markup calling the print style's functions."""
    svgs: list[str] = []

    def mark(match: re.Match[str]) -> str:
        svgs.append(_svg_with_namespace(match.group(0)))
        return f'<img {SVG_MARK}="{len(svgs) - 1}">'

    marked = INLINE_SVG.sub(mark, fragment)
    if not marked.strip():
        return ""
    root = lxml.html.fragment_fromstring(marked, create_parent="div")
    return _Converter(svgs).content(root)
