"""The Word report two ways, by cost and fidelity: `word.py` (python-docx over the fragment's
known structure) against pandoc (HTML -> docx with a `--reference-doc` carrying the decree's page
and styles, Quarto's route), on the same report fragment, at the sample's size (Nam Chính 2022)
and at post-merger size (Phường Hải Dương 2025).

Cost: warm, the median of N runs, wall and CPU (this process and its children: pandoc's process
start is in its figure). Fidelity: the properties `tests/test_word.py` checks, read back from
each .docx, pandoc's without post-processing. With `--out DIR` the .docx files are kept there to
be opened in LibreOffice (`soffice --headless --convert-to pdf`, then `pdftoppm -png`).

    .venv/bin/python benchmarks/bench_word.py [--runs 20] [--out DIR] [--pandoc PATH]

The figures, what the pages look like in LibreOffice and the route kept: ARCHITECTURE.md, "Word:
`word.py` kept over pandoc".
"""

from __future__ import annotations

import argparse
import io
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from pipeline.core.config import Paths
from pipeline.running.computing import compute_year
from pipeline.running.preparing import prepare
from pipeline.running.rendering import visible_text
from pipeline.sample import POST_MERGER_YEAR, generate, post_merger_communes, sample_commune
from pipeline.writing import word
from pipeline.writing.commune_data import read_commune_data
from pipeline.writing.pdf import SCREEN_ONLY
from pipeline.writing.report import commune_chart_images, report_html
from pipeline.writing.word import FONT

DISTRICT = """<article class="cnscd-report"><h2>I. KẾT QUẢ</h2>
<div class="note"><p>Đoạn văn trong một khối.</p><div><p>Khối lồng.</p></div></div>
<ul><li>Hướng dẫn <strong>dịch vụ công</strong>;</li><li>Thanh toán số.</li></ul>
<ol><li>Tập huấn lần một.</li><li>Tập huấn lần hai.</li></ol></article>"""


def cpu() -> float:
    """CPU seconds of this process and of its finished children (pandoc)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(make: Callable[[], bytes], runs: int) -> tuple[float, float, bytes]:
    """Median wall and CPU milliseconds of `runs` warm calls, and the last output."""
    data = make()  # warm: imports, page cache
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        started, used = time.perf_counter(), cpu()
        data = make()
        walls.append(time.perf_counter() - started)
        cpus.append(cpu() - used)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, data


def reference_doc(pandoc: str, path: Path) -> None:
    """pandoc's own reference.docx with word.py's page (A4, margins, page number from page 2)
    and styles, mapped to the names pandoc writes (h1 -> Heading 1, h2 -> Heading 2, <p> ->
    First Paragraph / Body Text, table cells -> Compact, every table -> Table)."""
    default = subprocess.run(
        [pandoc, "--print-default-data-file", "reference.docx"], check=True, capture_output=True
    ).stdout
    document = Document(io.BytesIO(default))
    for name in document.styles.element.iter(qn("w:name")):  # Word's own names: "heading 1"
        if name.get(qn("w:val")).startswith("Heading "):
            name.set(qn("w:val"), name.get(qn("w:val")).lower())
    word._styles(document)
    word._page(document)
    center = WD_ALIGN_PARAGRAPH.CENTER
    for name in ("Body Text", "First Paragraph"):
        word._style(document, name, base="Normal")
    word._style(document, "Compact", size=12, align=WD_ALIGN_PARAGRAPH.LEFT, indent_cm=0, after=0)
    word._style(document, "Heading 1", bold=True, align=center, indent_cm=0, before=18, after=0)
    word._style(document, "Heading 2", bold=True, before=12, keep_with_next=True)
    word._style(document, "Heading 3", bold=True, before=6, keep_with_next=True)
    table = document.styles["Table"].element
    grid = table.find(qn("w:tblPr"))  # the annex's grid
    if grid is None:
        grid = table.makeelement(qn("w:tblPr"), {})
        table.append(grid)
    borders = grid.makeelement(qn("w:tblBorders"), {})
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(borders.makeelement(qn(f"w:{side}"), {qn("w:val"): "single"}))
        borders[-1].set(qn("w:sz"), "4")
    grid.append(borders)
    document.save(path)


def via_pandoc(pandoc: str, reference: Path, fragment: str) -> bytes:
    return subprocess.run(
        [pandoc, "-f", "html", "-t", "docx", "--reference-doc", str(reference), "-o", "-"],
        input=SCREEN_ONLY.sub("", fragment).encode(),
        check=True,
        capture_output=True,
    ).stdout


def _words(text: str) -> list[str]:
    return re.sub(r"\s+", " ", text).split()


def _said(ok: bool, detail: str = "") -> str:
    return ("yes" if ok else "no") + (f" ({detail})" if detail else "")


def fidelity(data: bytes, fragment: str, district: bytes) -> dict[str, str]:
    """The Word tests' properties, read back from a .docx (`district`: DISTRICT converted)."""
    document = Document(io.BytesIO(data))
    section = document.sections[0]
    sizes = (section.page_width, section.page_height, section.top_margin, section.bottom_margin)
    page = [round(s.mm) for s in (*sizes, section.left_margin, section.right_margin)]
    numbered = "PAGE" in "".join(
        t.text or "" for t in section.header._element.iter(qn("w:instrText"))
    )
    header, signature, *others = document.tables
    rules = [p for p in header._tbl.iter(qn("w:pBdr"))]
    cell_pt = {r.font.size.pt for r in header.cell(0, 0).paragraphs[0].runs if r.font.size}
    borders = header._tbl.tblPr.find(qn("w:tblBorders"))
    grids = [[int(c.get(qn("w:w"))) for c in t._tbl.tblGrid] for t in others if len(t.columns) > 2]
    normal = document.styles["Normal"].font
    unsplit = signature._tbl.xpath("./w:tr/w:trPr/w:cantSplit")
    closing = [p for p in document.paragraphs if p.text.startswith("Trên đây là báo cáo")]
    printed = visible_text(SCREEN_ONLY.sub("", fragment))
    paragraphs = Document(io.BytesIO(district)).paragraphs
    marks = [
        p.text[:2] if p.text[:2] in ("- ", "2.") else "Word list" * (p._p.pPr.numPr is not None)
        for p in paragraphs
        if p.text.endswith(("dịch vụ công;", "lần hai."))
    ]
    return {
        "A4, margins 20/20/30/15 mm": _said(page == [210, 297, 20, 20, 30, 15]),
        "page number from page 2": _said(numbered and section.different_first_page_header_footer),
        "Times New Roman 14 (Normal)": _said((normal.name, normal.size.pt) == (FONT, 14)),
        "header cells 13 pt": _said(cell_pt == {13}, "" if cell_pt else "the cell style's"),
        "header table, no borders": _said(
            borders is not None and all(b.get(qn("w:val")) == "nil" for b in borders)
        ),
        "rules under header lines": _said(len(rules) == 2, f"{len(rules)} of 2"),
        "annex widths, TT narrow": _said(
            bool(grids) and all(g[0] < g[1] / 2 for g in grids), f"{grids[0]} twips"
        ),
        "signature kept together": _said(
            bool(unsplit) and bool(closing) and bool(closing[0].paragraph_format.keep_with_next)
        ),
        "charts as pictures": f"{len(document.inline_shapes)} of 2",
        "every word of the report": _said(_words(word.docx_text(data)) == _words(printed)),
        "<div> wrapper, <ul>/<ol>": _said(
            "Khối lồng." in [p.text for p in paragraphs], f"marks: {' '.join(marks)}"
        ),
    }


def case(year: int, code: str, base: Path) -> tuple[str, dict[str, bytes]]:
    return report_html(read_commune_data(year, code, base)), commune_chart_images(year, code, base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, help="keep the .docx files here")
    parser.add_argument("--pandoc", default=shutil.which("pandoc"), help="default: on PATH")
    args = parser.parse_args()
    pandoc = args.pandoc
    if pandoc is None:
        raise SystemExit("pandoc is not installed (apt-get install pandoc)")
    version = subprocess.run([pandoc, "--version"], capture_output=True, text=True).stdout
    base = Path(tempfile.mkdtemp(prefix="cnscd-bench-word-"))
    reference = base / "reference.docx"
    reference_doc(pandoc, reference)
    nam_chinh, merged = sample_commune(2022, "nam-chinh"), post_merger_communes()[0]
    for year, unit in ((2022, nam_chinh), (POST_MERGER_YEAR, merged)):
        paths = Paths.under(base / str(year))
        kept = {"only": (unit.slug,)} if year == 2022 else {"units": [unit]}
        generate(paths.raw, years=(year,), **kept)
        prepare(paths, year, [unit])
        compute_year(paths, year)
    print(f"{version.splitlines()[0]}; python-docx word.py; median of {args.runs} warm runs")
    print(f"{'report':<36}{'route':<22}{'wall ms':>9}{'CPU ms':>9}{'KB':>6}")
    results: dict[str, tuple[bytes, str]] = {}
    for label, year, unit in (
        ("sample", 2022, nam_chinh),
        ("post-merger", POST_MERGER_YEAR, merged),
    ):
        fragment, images = case(year, unit.code, base / str(year))
        routes: dict[str, Callable[[], bytes]] = {
            "word.py": lambda f=fragment, i=images: word.report_docx(f, i, "x"),
            "pandoc": lambda f=fragment: via_pandoc(pandoc, reference, f),
            "word.py's PNG charts": lambda y=year, u=unit: b"".join(
                commune_chart_images(y, u.code, base / str(y)).values()
            ),
        }
        for route, make in routes.items():
            wall, used, data = timed(make, args.runs)
            name = f"{label}: {unit.name} {year}"
            print(f"{name:<36}{route:<22}{wall:9.0f}{used:9.0f}{len(data) / 1024:6.0f}")
            if route != "word.py's PNG charts":
                results[f"{label} {route}"] = (data, fragment)
    district = {
        "word.py": word.report_docx(DISTRICT, {}, "x"),
        "pandoc": via_pandoc(pandoc, reference, DISTRICT),
    }
    checks = {route: fidelity(*results[f"sample {route}"], district[route]) for route in district}
    print(f"\nfidelity, {nam_chinh.name} 2022 (what tests/test_word.py checks)")
    for prop in checks["word.py"]:
        print(f"{prop:<30} {checks['word.py'][prop]:<36} {checks['pandoc'][prop]}")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for key, (data, _) in results.items():
            (args.out / f"{key.replace(' ', '-').replace('.', '')}.docx").write_bytes(data)
        print(f"\n.docx files in {args.out}")


if __name__ == "__main__":
    main()
