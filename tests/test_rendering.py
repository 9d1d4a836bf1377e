"""A notebook that fails, or whose kernel dies, still leaves what it executed for the reviewer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from pipeline.running.rendering import execute_document
from pipeline.writing.options import ReportOptions


def _notebook(path: Path, last_cell: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    parameters = nbformat.v4.new_code_cell("data_dir = ''")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [
        parameters,
        nbformat.v4.new_code_cell("print('read the workbook')"),
        nbformat.v4.new_code_cell(last_cell),
    ]
    nbformat.write(notebook, path)
    return path


@pytest.mark.parametrize(
    ("engine", "last_cell", "reason"),
    [
        ("kernel", "import os\nos._exit(1)", "DeadKernelError"),
        ("inprocess", "raise ValueError('no row')", "ValueError: no row"),
    ],
)
def test_the_executed_notebook_of_a_failure_is_kept(
    tmp_path: Path, engine: str, last_cell: str, reason: str
) -> None:
    notebook = _notebook(tmp_path / "broken.ipynb", last_cell)
    out = tmp_path / "out"
    done = execute_document(
        out,
        tmp_path / "work",
        notebook,
        "report",
        {"data_dir": str(tmp_path)},
        "Báo cáo",
        ReportOptions(formats=("html",), engine=engine),
    )
    assert done.status == "failed" and reason in done.message
    kept = json.loads((out / "notebook.ipynb").read_text("utf-8"))
    printed = [o.get("text", "") for c in kept["cells"] for o in c.get("outputs", [])]
    assert any("read the workbook" in "".join(text) for text in printed)
    assert (out / "notebook.html").exists() and not (out / "report.pdf").exists()
    assert not (tmp_path / "work").exists()


def test_the_html_keeps_what_nbconvert_adds_for_accessibility(tmp_path: Path) -> None:
    """nbconvert's last pass (BeautifulSoup) is skipped for speed; what it added is still there:
    every cell's input and output can take the keyboard's focus, an image has a text."""
    from pipeline.running.rendering import render_html

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["language_info"] = {"name": "python"}
    shown = nbformat.v4.new_code_cell("show()")
    shown.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="}),
        nbformat.v4.new_output("display_data", data={"text/html": "<b>Nam Chính</b>"}),
        nbformat.v4.new_output("stream", name="stdout", text="xong\n"),
    ]
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"), shown]
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    render_html(path, tmp_path / "n.html", "t", code=True)
    html = (tmp_path / "n.html").read_text(encoding="utf-8")
    body = html[html.index("<body") :]
    assert body.count('<div class="jp-Cell-inputWrapper" tabindex="0">') == 2
    outputs = re.findall(r'<div class="[^"]*jp-OutputArea-output\b[^"]*"[^>]*>', body)
    assert len(outputs) == 3 and all('tabindex="0"' in tag for tag in outputs), outputs
    assert body.count('tabindex="0"') == 5
    assert '<img alt="No description has been provided for this image" src=' in body
    assert "<b>Nam Chính</b>" in body
