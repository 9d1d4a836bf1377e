"""A notebook that fails, or whose kernel dies, still leaves what it executed for the reviewer."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from pipeline.options import ReportOptions
from pipeline.rendering import execute_document


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
