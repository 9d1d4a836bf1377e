"""The nodes of a year's run, declared in one place: what each reads and writes.

    workbooks ─ prepare ─▶ clean tables ─ indicators ─▶ indicators ─┬─ report ─▶ a commune's
                 last year's clean tables ──┘                         └─ comparison ─▶ a group's
    every status ─ index ─▶ index.html, manifest.json

Each node names the modules it runs (`entry`: those and all they import are its code, hashed by
`stages`), the package files it reads (notebook, templates, settings, reference data), the
datasets whose digests key it (`reads`) and what it writes. The runner computes each read's
digest and `stages.inputs_of` keys the node by exactly these: a re-run decision, `--force`, the
stored record and the "why rebuilt" message all come from that key. The index is written on
every run (it is cheap and says what the run did), so its reads key nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.core.config import NOTEBOOKS, PACKAGE_DIR, TEMPLATES

REFERENCE_DATA = PACKAGE_DIR / "data"  # the registry's units.csv and lineage.csv
SETTINGS = PACKAGE_DIR / "settings.toml"


@dataclass(frozen=True)
class Node:
    name: str
    entry: tuple[str, ...]  # modules (without "pipeline.") the node calls
    files: tuple[Path, ...] = ()  # package files and folders it reads besides its modules
    reads: tuple[str, ...] = ()  # datasets whose digests key it
    writes: tuple[str, ...] = ()


# A commune's workbook (and its predecessors' after a merger), the district's own units and the
# settings' [limits]: cleaned into the year's Parquet tables.
PREPARE = Node(
    "prepare",
    ("running.preparing",),
    (REFERENCE_DATA, SETTINGS),
    reads=("workbook", "own units", "settings [limits]"),
    writes=("clean tables", "fixes", "rejected rows", "quality", "prepared.json"),
)
# All communes of the year at once, with last year's (the previous-year column). The indicators
# read the package's [members] ages (contract.AGED_FROM) from settings.toml.
INDICATORS = Node(
    "indicators",
    ("running.computing",),
    (REFERENCE_DATA, SETTINGS),
    reads=("clean tables", "last year's clean rows", "last year's indicators", "own units"),
    writes=("indicators.parquet", "rejected.csv"),
)
# The reports and comparisons print the registry's names (a district renamed in units.csv must
# reach them), so they depend on the reference data as cleaning does.
REPORT = Node(
    "report",
    ("running.documents", "writing.report"),
    (NOTEBOOKS / "commune_report.ipynb", TEMPLATES, SETTINGS, REFERENCE_DATA),
    reads=("clean rows", "indicators", "own units", "settings", "templates", "parameters"),
    writes=("report.html", "report.pdf", "report.docx", "notebook.ipynb", "notebook.html"),
)
COMPARISON = Node(
    "comparison",
    ("running.documents", "writing.comparison", "measuring.compare"),
    (NOTEBOOKS / "district_comparison.ipynb", TEMPLATES, SETTINGS, REFERENCE_DATA),
    reads=("indicators", "statuses", "own units", "settings", "templates", "parameters"),
    writes=("comparison.html", "comparison.pdf", "comparison.xlsx", "notebook.html"),
)
INDEX = Node(
    "index",
    ("running.bookkeeping",),
    (TEMPLATES,),
    reads=("statuses",),
    writes=("index.html", "manifest.json"),
)
NODES = (PREPARE, INDICATORS, REPORT, COMPARISON, INDEX)
