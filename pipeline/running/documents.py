"""Stages 3 and 4: a commune's report and a group's comparison, each one notebook executed
with its parameters into its own output folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.core.config import NOTEBOOKS, Paths
from pipeline.core.provenance import (
    short,
)
from pipeline.reading.store import INDICATORS_FILE
from pipeline.registry.tree import (
    EXTRA_REGISTRY_NAME,
    Commune,
    find_group,
)
from pipeline.running.rendering import Produced, execute_document
from pipeline.writing.index import COMPARISON_PREFIX
from pipeline.writing.options import ReportOptions

REPORT_NOTEBOOK = NOTEBOOKS / "commune_report.ipynb"
COMPARISON_NOTEBOOK = NOTEBOOKS / "district_comparison.ipynb"


@dataclass
class CommuneRun:
    commune: Commune
    status: str = "pending"  # pending | ok | failed
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # file -> path relative to the year
    pdf_note: str = ""  # why no PDF was made, when this machine cannot make one
    notes: list[str] = field(default_factory=list)  # what its documents show otherwise

    @property
    def folder_name(self) -> str:
        return output_folder(self.commune)


def output_folder(commune: Commune) -> str:
    """`10627-nam-chinh`: from the code and slug, never from a raw name."""
    return commune.stem


def execute_report(
    paths: Paths,
    year: int,
    commune: Commune,
    options: ReportOptions = ReportOptions(),
    provenance: dict | None = None,
) -> CommuneRun:
    """Execute the report notebook for one commune with papermill; render HTML, PDF and Word."""
    run = CommuneRun(commune)
    title = f"Báo cáo Tổ CNSCĐ {commune.name} năm {year}"

    def word(fragment: str, path: Path, _settings_file: str) -> None:
        from pipeline.writing.word import chart_images, write_docx

        # The charts are the fragment's own SVGs as PNG: not drawn again from the data.
        write_docx(fragment, chart_images(fragment), path, title)

    done = execute_document(
        paths.output_dir(year, run.folder_name),
        paths.outputs_year(year) / ".work" / run.folder_name,
        REPORT_NOTEBOOK,
        "report",
        {
            "year": year,
            "commune": commune.code,
            "data_dir": str(paths.base),
            "footer": short(provenance) if provenance else "",
        },
        title,
        options,
        word=word,
    )
    run.status, run.message, run.pdf_note = done.status, done.message, done.pdf_note
    run.notes = done.notes
    run.outputs = {name: f"{run.folder_name}/{name}" for name in done.files}
    return run


def comparison_folder(slug: str) -> str:
    return f"{COMPARISON_PREFIX}{slug}"


def group_of(paths: Paths, year: int, key: str, options: ReportOptions):
    named = options.settings().get("groups")
    return find_group(year, key, paths.raw / EXTRA_REGISTRY_NAME, named)


def execute_comparison(
    paths: Paths,
    year: int,
    group: str,
    options: ReportOptions = ReportOptions(),
    out_dir: Path | None = None,
) -> Produced:
    """The comparison of a group's communes: notebook, HTML, PDF (landscape) and Excel, written
    into `out_dir` (by default its folder of the year's outputs)."""
    from pipeline.measuring.compare import compare
    from pipeline.writing.comparison import own_words, village_words_of, words_of_group
    from pipeline.writing.exports import write_comparison_xlsx

    found = group_of(paths, year, group, options)
    name, communes = found.name, list(found.communes)
    folder = comparison_folder(found.slug)
    indicators = pd.read_parquet(paths.processed_year(year) / INDICATORS_FILE)

    def workbook(work_dir: Path) -> list[str]:
        compared = compare(indicators, communes, options.settings()["comparison"]["outlier_z"])
        missing = set(compared.table.loc[compared.table["status"] == "missing", "commune_code"])
        own = own_words(communes, village_words_of(paths, year, communes))
        write_comparison_xlsx(
            compared,
            work_dir / "comparison.xlsx",
            f"{name} {year}",
            words_of_group(communes, own, missing),
        )
        return ["comparison.xlsx"]

    return execute_document(
        out_dir or paths.output_dir(year, folder),
        paths.outputs_year(year) / ".work" / folder,
        COMPARISON_NOTEBOOK,
        "comparison",
        {
            "year": year,
            "group": group,
            "data_dir": str(paths.base),
        },
        f"So sánh Tổ CNSCĐ {name} năm {year}",
        options,
        extra=workbook,
        landscape=True,
    )
