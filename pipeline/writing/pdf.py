"""The printable report: the report's HTML fragment converted to Typst markup (`typeset`) and
typeset by Typst in this process (the `typst` binding: no browser, no Pango), in the decree's
format.

Nghị định 30/2020/NĐ-CP, Phụ lục I: A4, margins 20-25 mm top and bottom, 30-35 left, 15-20
right, Times New Roman (or a metric-compatible serif) embedded, page numbers centred at the top
from page 2 (`templates/print.typ`). A font that lacks a letter of the text is an error, never
a silent fallback. The same fragment gives the same bytes: the document has no date.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from pipeline.core.config import TEMPLATES
from pipeline.core.errors import PipelineError
from pipeline.core.files import write_atomically
from pipeline.writing.typeset import to_typst

FONT_FAMILY = "Times New Roman"
# Families metric-compatible with Times New Roman that carry Vietnamese (fonts-croscore: Tinos).
ACCEPTED_FAMILIES = ("Times New Roman", "Tinos", "Liberation Serif")
PRINT_STYLE = TEMPLATES / "print.typ"


# Parts of a fragment for the screen only (a large group's scores and ranks, scripts): never
# printed.
SCREEN_ONLY = re.compile(r"<!--screen-->.*?<!--/screen-->", re.S)


class PdfUnavailable(PipelineError):
    """This machine cannot make the PDF (no suitable font); the HTML is still built."""


# Where `scripts/system-deps.sh` puts Tinos when it cannot install fonts-croscore (no root).
LOCAL_FONTS = Path(sys.prefix) / "share" / "fonts" / "truetype" / "croscore"


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


@lru_cache(maxsize=4)
def _family(font_file: Path) -> str:
    """The family name inside the font file: what Typst looks the font up by."""
    from fontTools.ttLib import TTFont

    names = TTFont(font_file, fontNumber=0, lazy=True)["name"]
    return str(names.getDebugName(16) or names.getDebugName(1))


def chart_fonts() -> Path:
    """matplotlib's own fonts (DejaVu Serif: the charts' text is measured with it), found
    without importing matplotlib."""
    spec = find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise PdfUnavailable("matplotlib is not installed: its fonts draw the charts' text")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


@lru_cache(maxsize=4)
def _compiler(font_folder: Path):
    """One Typst compiler per process and font folder: it reads the fonts once (a worker makes
    hundreds of PDFs), and only from the report's font folder and the charts' (no system fonts:
    the same PDF on every machine)."""
    import typst

    return typst.Compiler(
        font_paths=[str(font_folder), str(chart_fonts())], ignore_system_fonts=True
    )


@lru_cache(maxsize=1)
def _print_style() -> str:
    return PRINT_STYLE.read_text(encoding="utf-8")


def typst_source(fragment: str) -> str:
    """The Typst document of a report fragment: the print style, then the converted content."""
    return _print_style() + "\n" + to_typst(SCREEN_ONLY.sub("", fragment))


def pdf_bytes(fragment: str, title: str, landscape: bool = False) -> bytes:
    """The fragment laid out as a PDF, in bytes (the same fragment gives the same bytes)."""
    font = resolve_font()
    source = typst_source(fragment).encode("utf-8")
    inputs = {"font": _family(font), "title": title, "landscape": "yes" if landscape else "no"}
    return _typeset(source, inputs, str(font.parent))


# A chart alone on a page of its own size, with no margin: its PNG (the Word report's picture).
_CHART_PAGE = (
    "#set page(width: {width}pt, height: {height}pt, margin: 0pt)\n"
    '#image(bytes(sys.inputs.svg), format: "svg", width: 100%)\n'
)
_SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)pt"[^>]*?\bheight="([\d.]+)pt"')


def svg_png(svg: str, ppi: int) -> bytes:
    """A chart's SVG (as matplotlib wrote it for the HTML and the PDF: text as text in DejaVu
    Serif) as PNG at `ppi`, drawn by Typst from the same SVG: the chart is drawn once, and
    its picture is the SVG's. The same SVG gives the same bytes."""
    size = _SVG_SIZE.search(svg)
    if size is None:
        raise PipelineError("a chart's SVG has no size in points: it cannot be drawn as PNG")
    source = _CHART_PAGE.format(width=size.group(1), height=size.group(2)).encode("utf-8")
    return _typeset(source, {"svg": svg}, str(chart_fonts()), "png", ppi)


def _typeset(
    source: bytes, inputs: dict[str, str], font_folder: str, kind: str = "pdf", ppi: int = 0
) -> bytes:
    if _typst_owner() == os.getpid():
        return _compile(source, inputs, font_folder, kind, ppi)
    return _in_helper(source, inputs, font_folder, kind, ppi)


# Typst lays out on a pool of threads it starts at its first document. A process forked after
# that (a pool worker of a process that already made a PDF: a comparison, a test) has the pool's
# state but not its threads, and its first Typst call would wait forever. Such a process gives
# its PDFs to a helper process of its own, started clean (spawn) the first time it needs one.
_OWNER: list[int] = []  # the process whose Typst threads are live


def _typst_owner() -> int:
    if not _OWNER:
        _OWNER.append(os.getpid())
    return _OWNER[0]


@lru_cache(maxsize=1)
def _helper(pid: int):
    """The helper of process `pid` (a process forked from this one makes its own): a daemon, so
    the process's exit stops it instead of waiting for it."""
    from multiprocessing import get_context

    context = get_context("spawn")
    here, there = context.Pipe()
    context.Process(target=_serve, args=(there,), daemon=True).start()
    there.close()
    return here


def _in_helper(*job) -> bytes:
    connection = _helper(os.getpid())
    connection.send(job)
    made, result = connection.recv()
    if not made:
        raise PipelineError(result)
    return result


def _serve(connection) -> None:
    """The helper's loop: a document in, its PDF or PNG (or Typst's message) out, until its
    process ends."""
    from pipeline.core.workers import _start_worker

    _start_worker()  # dies with the process it serves
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        try:
            connection.send((True, _compile(*job)))
        except PipelineError as exc:
            connection.send((False, str(exc)))


def _compile(
    source: bytes, inputs: dict[str, str], font_folder: str, kind: str = "pdf", ppi: int = 0
) -> bytes:
    import typst

    _typst_owner()
    more = {"ppi": ppi} if kind == "png" else {}
    try:
        return _compiler(Path(font_folder)).compile(
            input=source, format=kind, sys_inputs=inputs, **more
        )
    except typst.TypstError as exc:
        raise PipelineError(f"Typst could not lay out the {kind.upper()}: {exc.message}") from None


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
    data = pdf_bytes(fragment, title, landscape)
    write_atomically(path, lambda tmp: tmp.write_bytes(data))
