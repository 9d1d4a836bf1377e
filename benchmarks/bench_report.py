"""Time per commune report (execute, HTML, notebook HTML, PDF) beside a bare papermill run.

Both measured in the same run, through papermill's Python API with a real kernel, sequentially.

    .venv/bin/python benchmarks/bench_report.py [--communes 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from pipeline.computing import compute_year
from pipeline.config import Paths
from pipeline.documents import REPORT_NOTEBOOK
from pipeline.pdf import write_pdf
from pipeline.preparing import prepare
from pipeline.rendering import _KERNEL_CONFIG, render_html, report_fragment, visible_text
from pipeline.sample import generate, sample_communes


def bare_run(folder: Path) -> float:
    empty = folder / "empty.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nbformat.write(notebook, empty)
    started = time.perf_counter()
    papermill.execute_notebook(
        str(empty),
        str(folder / "empty-out.ipynb"),
        progress_bar=False,
        kernel_name="python3",
        cwd=str(folder),
        config=_KERNEL_CONFIG,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communes", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cnscd-bench-report-"))
    paths = Paths.under(base)
    communes = sample_communes(2022)[: args.communes]
    generate(paths.raw, years=(2022,), only=tuple(c.slug for c in communes))
    prepare(paths, 2022, communes)
    compute_year(paths, 2022)
    bare, execute, html, notebook_html, pdf = [], [], [], [], []
    for commune in communes:
        bare.append(bare_run(base))
        work = base / "work" / commune.code
        work.mkdir(parents=True)
        started = time.perf_counter()
        papermill.execute_notebook(
            str(REPORT_NOTEBOOK),
            str(work / "nb.ipynb"),
            progress_bar=False,
            kernel_name="python3",
            cwd=str(work),
            config=_KERNEL_CONFIG,
            parameters={"year": 2022, "commune": commune.code, "data_dir": str(base)},
        )
        execute.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_html(work / "nb.ipynb", work / "report.html", "x")
        html.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_html(work / "nb.ipynb", work / "notebook.html", "x", code=True)
        notebook_html.append(time.perf_counter() - started)
        fragment = report_fragment(work / "nb.ipynb")
        started = time.perf_counter()
        write_pdf(fragment, visible_text(fragment), work / "report.pdf", "x")
        pdf.append(time.perf_counter() - started)

    def show(label: str, values: list[float]) -> None:
        print(
            f"{label:<34} median {statistics.median(values):5.2f} s   "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )

    print(f"{len(communes)} communes, one after another, one kernel each")
    show("bare papermill run (empty notebook)", bare)
    show("report: execute notebook", execute)
    show("report: HTML (nbconvert)", html)
    show("notebook: HTML with code", notebook_html)
    show("report: PDF (WeasyPrint)", pdf)
    total = [sum(t) for t in zip(execute, html, notebook_html, pdf, strict=True)]
    show("report: total", total)
    print(
        f"cost above a bare kernel run: {statistics.median(total) - statistics.median(bare):.2f} s"
        " per commune"
    )


if __name__ == "__main__":
    main()
