"""Time per commune report (execute, HTML, notebook HTML, PDF; and Word, made with
`--formats ...,docx`) beside a bare papermill run.

Both measured in the same run, through papermill's Python API, sequentially: the report with the
chosen engine (default: the in-process engine, the run's default), the bare run with a real
kernel. Each step prints its wall time and its CPU time (this process and the kernels it started:
less sensitive than wall time to other work on a shared machine).

"The notebook's own work" is its code cells run with `exec` in a plain namespace, no papermill,
no IPython, nothing displayed: what the computation itself costs. The rest of the four steps is
the cost of making documents of it (the aim: at most 0.2 s of CPU per commune). The Word
document is timed apart (its charts as PNG from the fragment's SVGs, then python-docx): it is
not a default format, so it is not in the four steps' total.

    .venv/bin/python benchmarks/bench_report.py [--communes 5] [--engine inprocess|kernel]
        [--pdf-runs 10]   # also Nam Chính 2022's PDF: the first in the process, then the
                          # median of 10 warm runs (Typst; WeasyPrint took 548 ms, first 1.4 s)
        [--post-merger]   # instead, the sample's two merged 2025 units of real size
                          # (Phường Hải Dương, Xã Thái Tân: ~70,000 people, ~300 members each)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from pipeline.core.config import Paths
from pipeline.running.computing import compute_year
from pipeline.running.documents import REPORT_NOTEBOOK
from pipeline.running.engine import ENGINE_NAME
from pipeline.running.preparing import prepare
from pipeline.running.rendering import _KERNEL_CONFIG, render_html, report_fragment, visible_text
from pipeline.sample import (
    POST_MERGER_YEAR,
    generate,
    post_merger_communes,
    sample_commune,
    sample_communes,
)
from pipeline.writing.pdf import write_pdf
from pipeline.writing.word import chart_images, write_docx


def cpu() -> float:
    """CPU seconds of this process and of its finished children (kernels)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class Step:
    """Wall and CPU seconds of each call of one step."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Step:
        self._started, self._cpu = time.perf_counter(), cpu()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall.append(time.perf_counter() - self._started)
        self.cpu.append(cpu() - self._cpu)


def bare_run(folder: Path) -> None:
    empty = folder / "empty.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nbformat.write(notebook, empty)
    papermill.execute_notebook(
        str(empty),
        str(folder / "empty-out.ipynb"),
        progress_bar=False,
        kernel_name="python3",
        cwd=str(folder),
        config=_KERNEL_CONFIG,
    )


def own_work(parameters: dict, cwd: Path) -> None:
    """The report notebook's code cells, run as plain Python (see the module's docstring)."""
    notebook = nbformat.read(REPORT_NOTEBOOK, as_version=4)
    namespace = dict(parameters)
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        for cell in notebook.cells:
            if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
                exec(compile(cell.source, "<cell>", "exec"), namespace)
    finally:
        os.chdir(previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communes", type=int, default=5)
    parser.add_argument("--engine", choices=("inprocess", "kernel"), default="inprocess")
    parser.add_argument(
        "--pdf-runs",
        type=int,
        default=0,
        metavar="N",
        help="also time Nam Chính 2022's PDF: the first of this process (before the reports), "
        "then the median of N warm runs",
    )
    parser.add_argument(
        "--post-merger",
        action="store_true",
        help="the sample's merged 2025 units of real size instead of Nam Sách's 2022 communes",
    )
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cnscd-bench-report-"))
    paths = Paths.under(base)
    if args.post_merger:
        year, communes = POST_MERGER_YEAR, list(post_merger_communes())
        generate(paths.raw, years=(year,), units=communes)
    else:
        year, communes = 2022, sample_communes(2022)[: args.communes]
        if args.pdf_runs and all(c.slug != "nam-chinh" for c in communes):
            communes.append(sample_commune(2022, "nam-chinh"))
        generate(paths.raw, years=(year,), only=tuple(c.slug for c in communes))
    prepare(paths, year, communes)
    compute_year(paths, year)
    engine = (
        {"engine_name": ENGINE_NAME} if args.engine == "inprocess" else {"config": _KERNEL_CONFIG}
    )
    bare, execute, html, notebook_html, pdf = Step(), Step(), Step(), Step(), Step()
    word = Step()
    own = Step()
    fragments: dict[str, str] = {}
    for commune in communes:
        with bare:
            bare_run(base)
        work = base / "work" / commune.code
        work.mkdir(parents=True)
        (base / "own" / commune.code).mkdir(parents=True)
        with own:
            own_work(
                {
                    "year": year,
                    "commune": commune.code,
                    "data_dir": str(base),
                    "footer": "",
                    "settings_file": "",
                    "templates_dir": "",
                },
                base / "own" / commune.code,
            )
        with execute:
            papermill.execute_notebook(
                str(REPORT_NOTEBOOK),
                str(work / "nb.ipynb"),
                progress_bar=False,
                kernel_name="python3",
                cwd=str(work),
                parameters={"year": year, "commune": commune.code, "data_dir": str(base)},
                **engine,
            )
        with html:
            render_html(work / "nb.ipynb", work / "report.html", "x")
        with notebook_html:
            render_html(work / "nb.ipynb", work / "notebook.html", "x", code=True)
        fragment = report_fragment(work / "nb.ipynb")
        fragments[commune.slug] = fragment
        with pdf:
            write_pdf(fragment, visible_text(fragment), work / "report.pdf", "x")
        with word:
            write_docx(fragment, chart_images(fragment), work / "report.docx", "x")

    def show(label: str, step: Step) -> None:
        print(
            f"{label:<36} median {statistics.median(step.wall):5.2f} s wall "
            f"{statistics.median(step.cpu):5.2f} s CPU   "
            f"(wall min {min(step.wall):.2f}, max {max(step.wall):.2f})"
        )

    print(
        f"{len(communes)} communes, one after another, {args.engine} engine "
        "(the first commune pays the imports)"
    )
    show("bare papermill run (kernel, `pass`)", bare)
    show("report: execute notebook", execute)
    show("report: HTML (nbconvert)", html)
    show("notebook: HTML with code", notebook_html)
    show("report: PDF (Typst)", pdf)
    total = Step()
    for steps in zip(execute.cpu, html.cpu, notebook_html.cpu, pdf.cpu, strict=True):
        total.cpu.append(sum(steps))
    for steps in zip(execute.wall, html.wall, notebook_html.wall, pdf.wall, strict=True):
        total.wall.append(sum(steps))
    show("report: total", total)
    show("report: Word (docx), apart", word)
    show("the notebook's own work (exec)", own)
    above = [t - o for t, o in zip(total.cpu, own.cpu, strict=True)]
    print(
        f"CPU per commune, all four steps: {statistics.median(total.cpu):.2f} s, of which "
        f"{statistics.median(above):.2f} s above the notebook's own work (medians; aim 0.2 s)"
    )

    if args.pdf_runs:
        named = next(c for c in communes if c.slug == "nam-chinh" or args.post_merger)
        label = f"{named.name} {year}'s PDF"
        pdf_costs(fragments[named.slug], base / "pdf", args.pdf_runs, label)


def pdf_costs(fragment: str, folder: Path, runs: int, label: str) -> None:
    """One report's PDF, as `write_pdf` makes it in a worker: the median of `runs` warm runs
    (the first PDF of the process is reported by the step above)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = visible_text(fragment)
    write_pdf(fragment, text, folder / "warm.pdf", "x")
    step = Step()
    for index in range(runs):
        with step:
            write_pdf(fragment, text, folder / f"{index}.pdf", "x")
    same = len({(folder / f"{index}.pdf").read_bytes() for index in range(runs)}) == 1
    print(
        f"{label}, median of {runs} warm runs: "
        f"{statistics.median(step.wall) * 1000:.0f} ms wall, "
        f"{statistics.median(step.cpu) * 1000:.0f} ms CPU "
        f"(min {min(step.wall) * 1000:.0f}, max {max(step.wall) * 1000:.0f} ms); "
        f"identical bytes every run: {same} (aim 50 ms; WeasyPrint: 548 ms)"
    )


if __name__ == "__main__":
    main()
