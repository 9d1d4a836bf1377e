"""Guards of the project's promises: same dependencies twice, thin notebooks without outputs."""

from __future__ import annotations

import re
import tomllib

import nbformat

from pipeline.core.config import NOTEBOOKS, ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_and_pyproject_name_the_same_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {r for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    conda = set()
    for line in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(?:  |      )- ([a-z0-9_.-]+[<>=].*)$", line)  # conda's or pip's
        if match and _name(match.group(1)) != "python":
            conda.add(match.group(1).strip())

    def bounds(requirements) -> dict[str, str]:
        return {
            _name(r): re.sub(r"\[.*?\]", "", r.split("#")[0]).replace(" ", "") for r in requirements
        }

    assert bounds(wanted) == bounds(conda)


def test_every_dependency_has_a_lower_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in project["dependencies"]:
        assert ">=" in requirement, requirement


def test_notebooks_have_short_cells_and_are_committed_without_outputs() -> None:
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path
        for cell in code:
            assert not cell.outputs and cell.execution_count is None, path
            lines = [
                line
                for line in cell.source.splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "from ", "import "))
            ]
            assert len(lines) <= 10, (path, cell.source)  # a reviewer reads a cell at a glance


def test_the_reviewers_notebook_recomputes_the_figures_it_shows() -> None:
    """The commune notebook computes the indicators again from the clean tables, with the
    package's pure function and a few by hand, and stops when they differ from the stored
    table the report prints (the end-to-end runs execute it for every sample commune)."""
    notebook = nbformat.read(NOTEBOOKS / "commune_report.ipynb", as_version=4)
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "data.tables" in source and "compute_indicators(" in source
    assert "assert not differs.any()" in source and "assert np.allclose(by_hand" in source
