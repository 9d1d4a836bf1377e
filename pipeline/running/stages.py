"""The digests that decide whether a node of the run (`nodes`) must run again.

A node states its inputs as named digests: its data (content hashes of workbooks, of the clean
rows a commune's report reads, of its indicator values), the source files of the pipeline modules
it uses, its package files (templates, notebook, settings), a district's settings and templates,
its parameters and the versions of the packages it calls. It runs again exactly when one digest
changed, and the run says which ("clean.py changed", "settings changed").

A stage's modules are its entry modules and every pipeline module they import, read from the
source (imports under `if TYPE_CHECKING:` excluded), so a new import is never forgotten. Sources
are hashed by their syntax tree without docstrings: bytecode, file times, a touched file, a comment,
a docstring or a reformatting change nothing; a changed statement or constant does.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from functools import cache
from pathlib import Path

from pipeline.core.config import PACKAGE_DIR
from pipeline.core.errors import PipelineError
from pipeline.core.provenance import hash_bytes, hash_path, package_versions
from pipeline.running.nodes import Node


def _module_path(module: str) -> Path | None:
    """The source of a pipeline module (`reading.clean`) or package (`reading`)."""
    base = PACKAGE_DIR / module.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if module and path.exists():
            return path
    return None


def _source_name(module: str) -> str:
    """How a module's source is named in a stage's inputs: `reading/clean.py`."""
    base = module.replace(".", "/")
    return f"{base}/__init__.py" if (PACKAGE_DIR / base).is_dir() else f"{base}.py"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _tree(module: str) -> ast.Module | None:
    """The module's parsed source, parsed again only when its file changed (its digest follows
    an edit in a long process; `modules_of`, the import graph, is kept for the process)."""
    path = _module_path(module)
    if path is None:
        return None
    stat = path.stat()
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


@cache
def _parsed(path: Path, mtime_ns: int, size: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imported(module: str) -> frozenset[str]:
    """The pipeline modules `module` imports anywhere in its source (functions included)."""
    tree = _tree(module)
    return frozenset() if tree is None else _pipeline_imports(tree)


@cache
def _pipeline_imports(tree: ast.Module) -> frozenset[str]:
    found: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending += node.orelse
            continue
        if isinstance(node, ast.expr):
            continue  # an import is a statement: no need to walk expressions (most nodes)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pipeline" or node.module.startswith("pipeline."):
                package = node.module.removeprefix("pipeline").removeprefix(".")
                found.add(package)
                # `from pipeline.writing import narrative` imports the module writing.narrative
                found |= {
                    name
                    for alias in node.names
                    if _module_path(name := f"{package}.{alias.name}".lstrip(".")) is not None
                }
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("pipeline.")
                for a in node.names
                if a.name.startswith("pipeline.")
            }
        pending += ast.iter_child_nodes(node)
    return frozenset(name for name in found if _module_path(name) is not None)


def _docstrings_removed(node: ast.AST) -> None:
    """Remove the docstrings of a module, its classes and functions (statements only are
    walked: a docstring is never inside an expression)."""
    if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        first = node.body[0] if node.body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            node.body = node.body[1:] or [ast.Pass()]
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(node, field, ()):
            if isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                _docstrings_removed(child)


def source_digest(module: str) -> str:
    """A module's hash by what it does: its syntax tree without docstrings (comments, blank
    lines and line numbers are not in the tree)."""
    tree = _tree(module)
    return "" if tree is None else _tree_digest(tree)


@cache
def _tree_digest(tree: ast.Module) -> str:
    # The parsed tree is shared with `_imported`: removing docstrings removes no import.
    _docstrings_removed(tree)
    return hash_bytes(ast.dump(tree).encode())


def notebook_imports(path: Path) -> frozenset[str]:
    """The pipeline modules a notebook's code cells import (a stage that runs it runs them)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    source = "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c["cell_type"] == "code"
    )
    found = _pipeline_imports(ast.parse(source))
    return frozenset(name for name in found if _module_path(name) is not None)


@cache
def modules_of(stage: Node) -> tuple[str, ...]:
    """The stage's modules: its entry modules, those its notebooks import, and all they import,
    transitively."""
    seen: set[str] = set()
    pending = list(stage.entry)
    for path in stage.files:
        if path.suffix == ".ipynb":
            pending += notebook_imports(path)
    while pending:
        module = pending.pop()
        if module not in seen:
            seen.add(module)
            pending += _imported(module)
    return tuple(sorted(seen))


def code_inputs(stage: Node) -> dict[str, str]:
    """The digests of the stage's code: `clean.py`, `templates/`, … and the package versions."""
    inputs = {_source_name(module): source_digest(module) for module in modules_of(stage)}
    for path in stage.files:
        inputs[path.relative_to(path.parents[1]).as_posix()] = hash_path(path)
    inputs["package versions"] = digest(package_versions())
    return inputs


def inputs_of(node: Node, data: dict[str, str], code: dict[str, str] | None = None) -> dict:
    """The node's inputs: its code's digests (`code_inputs`, or `code` computed once for many
    communes) and the digest of each dataset it declares it reads, exactly those: a dataset
    missing or one it does not declare is an error, so the key cannot drift from the
    declaration."""
    missing = sorted(set(node.reads) - data.keys())
    undeclared = sorted(data.keys() - set(node.reads))
    if missing or undeclared:
        raise PipelineError(
            f"node {node.name}: inputs not as declared in nodes.py"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not declared: {', '.join(undeclared)}" if undeclared else "")
        )
    return {**(code_inputs(node) if code is None else code), **{n: data[n] for n in node.reads}}


def digest(value: object) -> str:
    """A stable hash of a JSON-able value (parameters, a record)."""
    return hash_bytes(json.dumps(value, sort_keys=True, ensure_ascii=False).encode())


def key_of(inputs: dict[str, str]) -> str:
    return digest(inputs)


def why_summary(reasons: dict[str, str]) -> str:
    """ "3 (reading/clean.py changed), 1 (workbook changed)": how many, and why."""
    counts = Counter(reasons.values())
    return ", ".join(f"{n} ({reason})" for reason, n in counts.most_common())


def why(stored: dict[str, str] | None, inputs: dict[str, str]) -> str:
    """Why a stage runs again, in words: what changed since its last run."""
    if not stored:
        return "not built yet"
    changed = sorted(
        name for name in inputs.keys() | stored.keys() if stored.get(name) != inputs.get(name)
    )
    if not changed:
        return ""
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return f"{shown} changed"
