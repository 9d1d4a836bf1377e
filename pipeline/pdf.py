"""The printable report: HTML and CSS paged media through WeasyPrint, in the decree's format.

Nghị định 30/2020/NĐ-CP, Phụ lục I: A4, margins 20-25 mm top and bottom, 30-35 left, 15-20
right, Times New Roman (or a metric-compatible serif) embedded, page numbers centred at the top
from page 2. A font that lacks a letter of the text is an error, never a silent fallback.
"""

from __future__ import annotations

import atexit
import base64
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

from pipeline.config import TEMPLATES
from pipeline.errors import PipelineError
from pipeline.files import write_atomically

FONT_FAMILY = "Times New Roman"
# Families metric-compatible with Times New Roman that carry Vietnamese (fonts-croscore: Tinos).
ACCEPTED_FAMILIES = ("Times New Roman", "Tinos", "Liberation Serif")
SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 fonts-croscore"


# Parts of a fragment for the screen only (a large group's scores and ranks, scripts): cut before
# WeasyPrint parses them, since it styles every element, shown or not.
SCREEN_ONLY = re.compile(r"<!--screen-->.*?<!--/screen-->", re.S)


# A chart inlined in the HTML (matplotlib's or rankchart's SVG). WeasyPrint parses an inline SVG
# as HTML and styles each of its elements as a box before drawing it: given as an image of the
# same SVG, it parses it as XML once and draws the same vector chart, about 0.1 s less per
# report (of about 1.0 s: `benchmarks/bench_report.py --charts 5`). An SVG that is not
# well-formed XML on its own (an HTML entity, an undeclared prefix, a nested <svg>) would be an
# image that fails to load: it stays inline.
INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def _svg_image(match: re.Match[str]) -> str:
    svg = match.group(0)
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError:
        return svg
    if root.tag == "svg":  # the namespace is optional in HTML, required in an image
        svg = svg.replace("<svg", f'<svg xmlns="{SVG_NAMESPACE}"', 1)
    elif root.tag != f"{{{SVG_NAMESPACE}}}svg":
        return svg
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="chart-image" alt="" src="data:image/svg+xml;base64,{data}">'


def charts_as_images(fragment: str) -> str:
    """The fragment with each inline SVG given as an image of itself, for WeasyPrint."""
    return INLINE_SVG.sub(_svg_image, fragment)


class PdfUnavailable(PipelineError):
    """This machine cannot make the PDF (no Pango, no suitable font); the HTML is still built."""


# Where `scripts/system-deps.sh` puts Tinos when it cannot install fonts-croscore (no root).
LOCAL_FONTS = Path(sys.prefix) / "share" / "fonts" / "truetype" / "croscore"
_FACES = {
    ("normal", "normal"): "Regular",
    ("bold", "normal"): "Bold",
    ("normal", "italic"): "Italic",
    ("bold", "italic"): "BoldItalic",
}


def _system_font(family: str) -> Path | None:
    if shutil.which("fc-match") is None:
        return None
    found = subprocess.run(
        ["fc-match", "-f", "%{family[0]}\n%{file}", family],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    return Path(found[1]) if len(found) >= 2 and found[0] in ACCEPTED_FAMILIES else None


@lru_cache(maxsize=4)
def resolve_font(family: str = FONT_FAMILY) -> Path:
    """The regular face the PDF will use for `family`: the system's, or Tinos in the venv."""
    system = _system_font(family)
    if system is not None:
        return system
    local = LOCAL_FONTS / "Tinos-Regular.ttf"
    if family == FONT_FAMILY and local.exists():
        return local
    raise PdfUnavailable(
        f"no '{family}' or metric-compatible serif font on this machine; install "
        "fonts-croscore (Tinos), or run `make setup` to fetch it into .venv"
    )


def font_face_css() -> str:
    """@font-face rules for Tinos in the venv, when the system has no suitable font."""
    if _system_font(FONT_FAMILY) is not None:
        return ""
    return "".join(
        f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: {weight}; '
        f'font-style: {style}; src: url("{(LOCAL_FONTS / f"Tinos-{name}.ttf").as_uri()}"); }}'
        for (weight, style), name in _FACES.items()
    )


@lru_cache(maxsize=4)
def _charmap(font_file: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(font_file, fontNumber=0, lazy=True).getBestCmap())


def missing_glyphs(text: str, font_file: Path) -> list[str]:
    """Letters of the text that the font cannot draw (spaces and controls aside)."""
    charmap = _charmap(font_file)
    return sorted(
        {ch for ch in text if ch.isprintable() and not ch.isspace() and ord(ch) not in charmap}
    )


def _weasyprint():
    try:
        import weasyprint
    except OSError as exc:  # WeasyPrint loads Pango when imported
        raise PdfUnavailable(
            f"WeasyPrint cannot load Pango ({exc}); install {SYSTEM_PACKAGES}"
        ) from exc
    return weasyprint


LANDSCAPE = "@page { size: A4 landscape; margin: 20mm 20mm 20mm 30mm; }"  # wide tables


def document(fragment: str, title: str) -> str:
    """A full HTML page around the report fragment (the print style sheet comes with `render`)."""
    return (
        f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body>{fragment}</body></html>"
    )


@lru_cache(maxsize=2)
def _print_setup(landscape: bool):
    """The fonts' configuration and the style sheets (the charts' @font-face rules, the page
    format), parsed once per process: a worker makes hundreds of PDFs. Given to WeasyPrint after
    the document's own styles, so the print rules win over the screen's (report.css)."""
    weasyprint = _weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    from pipeline import charts  # matplotlib: loaded when a PDF is made, not by every import

    font_config = FontConfiguration()
    page = (TEMPLATES / "print.css").read_text(encoding="utf-8") + (LANDSCAPE if landscape else "")
    sheets = [
        weasyprint.CSS(string=charts.font_face_css() + font_face_css(), font_config=font_config),
        weasyprint.CSS(string=page, font_config=font_config),
    ]
    return font_config, sheets


# Let the fonts' configuration go while its libraries are still loaded: at the interpreter's
# exit, WeasyPrint's FontConfiguration.__del__ would call Pango after its bindings are gone.
atexit.register(_print_setup.cache_clear)


def render(fragment: str, title: str, landscape: bool = False):
    """The laid-out pages of the fragment (a WeasyPrint Document)."""
    font_config, sheets = _print_setup(landscape)
    page = _weasyprint().HTML(string=document(fragment, title))
    return page.render(stylesheets=sheets, font_config=font_config)


def write_pdf(
    fragment: str, visible_text: str, path: Path, title: str, landscape: bool = False
) -> None:
    """Render the report fragment to a PDF at `path`, whole or not at all."""
    font = resolve_font()
    missing = missing_glyphs(visible_text, font)
    if missing:
        raise PipelineError(
            f"the font {font.name} has no glyph for {''.join(missing)!r}: "
            "the PDF would show boxes; install fonts-croscore (Tinos)"
        )
    pages = render(charts_as_images(SCREEN_ONLY.sub("", fragment)), title, landscape)
    write_atomically(path, pages.write_pdf)
