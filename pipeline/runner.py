"""The year's run: prepare every selected commune, compute indicators, execute and render reports.

The only module that drives papermill and nbconvert. A failing commune does not stop the others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from html import unescape
from pathlib import Path

import pandas as pd
from traitlets.config import Config

from pipeline import contract, store
from pipeline.clean import CleanResult, check_identity, clean_tables, quality_summary, stack
from pipeline.config import NOTEBOOKS, TEMPLATES, Paths
from pipeline.errors import InputError, PipelineError
from pipeline.exports import export_rejected, write_csv
from pipeline.files import remove_temporaries, write_text
from pipeline.index import COMPARISON_PREFIX, read_status, write_index, write_manifest, write_status
from pipeline.indicators import compute_indicators, with_previous
from pipeline.ingest import RawWorkbook, read_workbook
from pipeline.locate import Unclaimed, claim_workbooks, find_workbook, looks_like
from pipeline.locking import year_lock
from pipeline.pdf import PdfUnavailable, write_pdf
from pipeline.predecessors import (
    ORIGIN_COLUMNS,
    find_predecessor_workbook,
    predecessors_of,
    store_origins,
)
from pipeline.progress import Progress
from pipeline.provenance import (
    code_hash,
    code_revision,
    hash_bytes,
    hash_path,
    package_hash,
    report_key,
    short,
)
from pipeline.registry import (
    EXTRA_REGISTRY_NAME,
    Commune,
    changes_during,
    communes_of_year,
    ended_during,
    find_group,
    in_sentence,
    previous_units,
    unchanged_between,
)
from pipeline.report import INDICATORS_FILE

REPORT_NOTEBOOK = NOTEBOOKS / "commune_report.ipynb"
COMPARISON_NOTEBOOK = NOTEBOOKS / "district_comparison.ipynb"
# Kernels talk over local sockets in the run's own folder rather than open TCP ports. Their own
# log stays quiet: jupyter_client interrupts every kernel before shutting it down, which ipykernel
# logs as an ERROR ("KeyboardInterrupt caught in kernel") that is none; a notebook's errors reach
# papermill, not this log.
_KERNEL_CONFIG = Config(
    {
        "KernelManager": {"transport": "ipc"},
        "NotebookClient": {"extra_arguments": ["--IPKernelApp.log_level=CRITICAL"]},
    }
)


@dataclass
class CommuneRun:
    commune: Commune
    status: str = "pending"  # pending | ok | failed
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # file -> path relative to the year
    pdf_note: str = ""  # why no PDF was made, when this machine cannot make one

    @property
    def folder_name(self) -> str:
        return output_folder(self.commune)


def output_folder(commune: Commune) -> str:
    """`10627-nam-chinh`: from the code and slug, never from a raw name."""
    return commune.stem


def _source_hash(
    raw_year: Path, commune: Commune, year: int, attribution: dict[str, str] | None = None
) -> str:
    """The hash of the workbook, and of its predecessors' (and of who a divided predecessor's
    rows go to) where it has some; empty (always read again) where the workbook is missing or
    ambiguous."""
    try:
        own = hash_path(find_workbook(raw_year, commune))
    except InputError:
        return ""
    if not own:
        return ""
    parts = [own]
    for change in changes_during(commune, year):
        found = find_predecessor_workbook(raw_year, change.other, commune)
        given = (attribution or {}).get(change.other.code, "")
        parts.append(f"{change.other.code}:{hash_path(found) if found else ''}:{given}")
    return own if len(parts) == 1 else hash_bytes(*(p.encode() for p in parts))


class _Misnamed:
    """A commune without a workbook under its names: if a file in the folder looks like its,
    say which. The folder is looked at once, when the first such commune comes."""

    def __init__(self, paths: Paths, year: int) -> None:
        self.paths, self.year = paths, year

    @cached_property
    def unclaimed(self) -> list[Unclaimed]:
        registry = communes_of_year(self.year, self.paths.raw / EXTRA_REGISTRY_NAME)
        ended = ended_during(self.year, self.paths.raw / EXTRA_REGISTRY_NAME)
        return claim_workbooks(self.paths.raw_year(self.year), registry, ended=ended)[1]

    def check(self, commune: Commune, expected: Path) -> None:
        for unclaimed in self.unclaimed:
            stem = unclaimed.path.name if unclaimed.path.is_dir() else unclaimed.path.stem
            known = unclaimed.probably  # by the code the file writes, where it does
            if (known.code == commune.code) if known is not None else looks_like(stem, commune):
                suffix = unclaimed.path.suffix if unclaimed.path.is_file() else ""
                raise InputError(
                    f"workbook not found in {expected.parent.name}/, but "
                    f"'{unclaimed.path.name}' there looks like this commune's: rename it "
                    f"{commune.stem}{suffix}",
                    file=expected.name,
                )


def _read(paths: Paths, year: int, commune: Commune, misnamed: _Misnamed) -> RawWorkbook | str:
    """The commune's workbook, or the one clear message saying why it cannot be used."""
    try:
        path = find_workbook(paths.raw_year(year), commune)
        if not path.exists():
            misnamed.check(commune, path)
        raw = read_workbook(path)
        check_identity(raw, commune.code)
        return raw
    except PipelineError as exc:
        return str(exc)


@dataclass
class Prepared:
    """Communes read and cleaned together: their clean data, and those that cannot be reported."""

    problems: dict[str, str]
    result: CleanResult | None
    quality: pd.DataFrame
    present: pd.DataFrame
    codes: set[str]  # communes with clean data
    origins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORIGIN_COLUMNS))


def prepare_chunk(
    paths: Paths, year: int, communes: list[Commune], attribution: dict[str, str] | None = None
) -> Prepared:
    """Read the communes' workbooks (and, for a commune formed during the year, its
    predecessors') and clean them in one pass (nothing is written)."""
    problems: dict[str, str] = {}
    own: dict[str, RawWorkbook] = {}
    readable: list[tuple[RawWorkbook, str]] = []
    cutoffs: dict[str, pd.Timestamp] = {}
    origins: list[dict[str, str]] = []
    misnamed = _Misnamed(paths, year)
    for commune in communes:
        raw = _read(paths, year, commune, misnamed)
        if isinstance(raw, str):
            problems[commune.code] = raw
            continue
        try:
            earlier = predecessors_of(paths.raw_year(year), commune, year, attribution or {})
        except PipelineError as exc:
            problems[commune.code] = f"a predecessor's workbook: {exc}"
            continue
        own[commune.code] = raw
        readable += [(raw, commune.code)] + [(w, commune.code) for w in earlier.workbooks]
        cutoffs.update(earlier.cutoffs)
        origins += earlier.origins
    present = pd.DataFrame(
        [
            (code, key, ", ".join(raw.unread_columns.get(key, ())))
            for raw, code in readable
            for key in raw.tables
        ],
        columns=["commune_code", "sheet", "unread_columns"],
    ).drop_duplicates(["commune_code", "sheet"])
    origin_frame = pd.DataFrame(origins, columns=ORIGIN_COLUMNS)
    if not readable:
        return Prepared(problems, None, pd.DataFrame(), present, set(), origin_frame)
    stacked = stack(readable)
    result = clean_tables(stacked, year, cutoffs)
    codes = set(own)
    problems.update(blocking_problems(result, codes, own))
    return Prepared(
        problems, result, quality_summary(stacked, result), present, codes, origin_frame
    )


def _merge(parts: list[Prepared]) -> Prepared:
    results = [p.result for p in parts if p.result is not None]
    merged = None
    if results:
        merged = CleanResult(
            {
                k: pd.concat([r.tables[k] for r in results], ignore_index=True)
                for k in results[0].tables
            },
            pd.concat([r.fixes for r in results], ignore_index=True),
            pd.concat([r.rejected for r in results], ignore_index=True),
        )
    return Prepared(
        {k: v for p in parts for k, v in p.problems.items()},
        merged,
        pd.concat([p.quality for p in parts], ignore_index=True),
        pd.concat([p.present for p in parts], ignore_index=True),
        set().union(*(p.codes for p in parts)),
        pd.concat([p.origins for p in parts], ignore_index=True),
    )


def prepare_communes(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int = 1,
    attribution: dict[str, str] | None = None,
) -> Prepared:
    """Read and clean, in chunks over a process pool when there are many communes.

    Cleaning is per commune (villages, duplicates), so chunks give the same rows as one pass.
    """
    if workers <= 1 or len(communes) < 8:
        return prepare_chunk(paths, year, communes, attribution)
    size = -(-len(communes) // (2 * workers))
    chunks = [communes[i : i + size] for i in range(0, len(communes), size)]
    n = len(chunks)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(prepare_chunk, [paths] * n, [year] * n, chunks, [attribution] * n))
    return _merge(parts)


def prepare(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int = 1,
    attribution: dict[str, str] | None = None,
) -> dict[str, str]:
    """Read and clean the communes' workbooks into data/processed/{year}/.

    Returns the communes that cannot be reported, by code, with the reason. `attribution` says
    which successor a divided predecessor's rows belong to (`[predecessors]` of the settings).
    """
    prepared = prepare_communes(paths, year, communes, workers, attribution)
    processed_year = paths.processed_year(year)
    store_origins(processed_year, prepared.origins, {c.code for c in communes})
    if prepared.result is not None:
        store.write_year(
            processed_year, prepared.result, prepared.quality, prepared.present, prepared.codes
        )
    if prepared.problems:
        store.drop_communes(processed_year, set(prepared.problems))
    return prepared.problems


def check_year(
    paths: Paths, year: int, communes: list[Commune], workers: int = 1
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Validation alone: the quality summary per commune and the problems that block a report.

    Nothing is written.
    """
    prepared = prepare_communes(paths, year, communes, workers)
    columns = ["rows_read", "rows_kept", "rows_fixed", "rows_rejected"]
    if prepared.result is None:
        empty = pd.DataFrame(columns=["commune_code", *columns, "top_reasons", "unread_columns"])
        return empty, prepared.problems
    totals = prepared.quality.groupby("commune_code")[columns].sum()
    reasons = prepared.result.rejected.groupby("commune_code")["reason_code"].agg(
        lambda s: ", ".join(f"{k} {v}" for k, v in s.value_counts().head(3).items())
    )
    unread = prepared.present[prepared.present["unread_columns"] != ""]
    unread = (
        unread.assign(
            text=unread["sheet"].map(lambda k: contract.SHEETS_BY_KEY[k].name)
            + ": "
            + unread["unread_columns"]
        )
        .groupby("commune_code")["text"]
        .agg("; ".join)
    )
    summary = (
        totals.join(reasons.rename("top_reasons"))
        .join(unread.rename("unread_columns"))
        .fillna({"top_reasons": "", "unread_columns": ""})
    )
    return summary.reset_index(), prepared.problems


def blocking_problems(
    result: CleanResult, codes: set[str], workbooks: dict[str, RawWorkbook]
) -> dict[str, str]:
    """Communes whose clean data cannot carry a report: no team member left, for one."""
    with_members = set(result.tables["members"]["commune_code"])
    return {
        code: str(
            InputError(
                "no valid team member row: the report needs the team roster",
                file=workbooks[code].path.name,
                sheet=workbooks[code].sheet_names["members"],
            )
        )
        for code in sorted(codes - with_members)
    }


def compute_year(paths: Paths, year: int) -> pd.DataFrame:
    """Indicators for every prepared commune of the year, in one pass, written to Parquet."""
    tables = store.read_year(paths.processed_year(year))
    indicators = compute_indicators(tables, year, tables["present"])
    previous_path = paths.processed_year(year - 1) / INDICATORS_FILE
    previous = pd.read_parquet(previous_path) if previous_path.exists() else None
    extra = paths.raw / EXTRA_REGISTRY_NAME
    same = unchanged_between(year, year - 1, extra)
    merged = set(indicators["commune_code"]) - same
    pooled, notes = previous_of_successors(paths.processed_year(year - 1), year, merged, extra)
    indicators = with_previous(indicators, previous, same, pooled, notes)
    store.write_parquet(indicators, paths.processed_year(year) / INDICATORS_FILE)
    export_rejected(tables["rejected"], paths.processed_year(year) / "rejected")
    return indicators


def previous_of_successors(
    processed_before: Path, year: int, codes: set[str], extra: Path | None = None
) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """Last year's indicators of communes formed since (`codes`), from their predecessors' rows
    pooled under the successor's code, and a note per commune saying what it is compared with.

    A predecessor without last year's data leaves the comparison out (a partial sum would read
    as a fall), and the note says whose data is missing.
    """
    if not codes or not (processed_before / "present.parquet").exists():
        return None, {}
    tables = store.read_year(processed_before)
    with_data = set(tables["present"]["commune_code"])
    groups: dict[str, list[str]] = {}
    notes: dict[str, str] = {}
    tree = {c.code: c for c in communes_of_year(year, extra)}
    for code in sorted(codes & set(tree)):
        units, approximate = previous_units(tree[code], year)
        if not units:  # a unit whose predecessors the registry does not know
            continue
        lacking = [u.name for u in units if u.code not in with_data]
        if lacking:
            notes[code] = (
                f"chưa có số liệu năm {year - 1} của {', '.join(map(in_sentence, lacking))}"
            )
            continue
        groups[code] = [u.code for u in units]
        notes[code] = (
            f"tổng của các xã trước sắp xếp: {', '.join(in_sentence(u.name) for u in units)}"
            + (" (ước tính: có xã bị chia tách cho nhiều xã)" if approximate else "")
        )
    if not groups:
        return None, notes
    pooled_tables = {
        name: pd.concat(
            [
                table[table["commune_code"].isin(parts)].assign(commune_code=successor)
                for successor, parts in groups.items()
            ],
            ignore_index=True,
        )
        for name, table in tables.items()
        if "commune_code" in table.columns
    }
    pooled = compute_indicators(pooled_tables, year - 1, pooled_tables["present"])
    return pooled, notes


def _scrub(notebook_path: Path) -> None:
    """Drop timestamps and machine paths that papermill records, so outputs are reproducible."""
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    meta = notebook.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path", "start_time", "end_time", "duration"):
        meta.pop(key, None)
    for index, cell in enumerate(notebook["cells"]):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = f"injected-parameters-{index}"  # papermill draws a random id
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    notebook_path.write_text(
        json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def render_html(notebook_path: Path, html_path: Path, title: str, code: bool = False) -> None:
    """The executed notebook as a document: no code, no prompts; or, with `code`, as a reviewer
    reads a notebook: each cell's code above what it displayed."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="report",  # pipeline/templates/nbconvert/report: lab, with no remote scripts
        extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
        exclude_input=not code,
        exclude_input_prompt=not code,
        exclude_output_prompt=not code,
    )
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    write_text(html_path, body)


@dataclass(frozen=True)
class ReportOptions:
    """A district's own thresholds (settings TOML) and wording (templates folder), if any."""

    settings_file: Path | None = None
    templates_dir: Path | None = None
    formats: tuple[str, ...] = ("html", "pdf")
    # "kernel": papermill's standard engine, a new kernel per commune; "inprocess": the
    # notebook runs in the worker itself (pipeline/engine.py), with no kernel start.
    engine: str = "kernel"

    def parameters(self, base: Path) -> dict[str, str]:
        # Relative to the data folder, so no machine path is written into the notebook.
        return {
            name: os.path.relpath(path.resolve(), base) if path else ""
            for name, path in (
                ("settings_file", self.settings_file),
                ("templates_dir", self.templates_dir),
            )
        }


def report_fragment(notebook_path: Path) -> str | None:
    """The report as the executed notebook displayed it (the last HTML output)."""
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    for cell in reversed(notebook["cells"]):
        for output in reversed(cell.get("outputs", [])):
            html = output.get("data", {}).get("text/html")
            if html:
                return "".join(html) if isinstance(html, list) else html
    return None


def visible_text(html: str) -> str:
    """What a reader sees of an HTML fragment: no tags, styles or drawings."""
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


KERNEL_START_ATTEMPTS = 3


def _execute_notebook(
    output: Path,
    work_dir: Path,
    parameters: dict,
    engine: str = "kernel",
    notebook: Path = NOTEBOOKS / "commune_report.ipynb",
) -> None:
    """papermill, with a real kernel or in process; a kernel that fails to start under load is
    started again."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    from pipeline.engine import ENGINE_NAME  # also makes injected parameters readable

    def execute() -> None:
        if engine == "inprocess":
            chosen = {"engine_name": ENGINE_NAME}
        else:
            chosen = {"config": _KERNEL_CONFIG}
        papermill.execute_notebook(
            str(notebook),
            str(output),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(work_dir),
            log_output=False,
            parameters=parameters,
            **chosen,
        )

    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            execute()
            return
        except (DeadKernelError, TimeoutError, RuntimeError) as exc:
            if (
                engine == "inprocess"
                or isinstance(exc, papermill.PapermillExecutionError)
                or (
                    output.exists()
                    and any(
                        c.get("outputs") for c in json.loads(output.read_text("utf-8"))["cells"]
                    )
                )
            ):
                raise  # the notebook itself failed: not a kernel start
            if attempt == KERNEL_START_ATTEMPTS:
                raise
            time.sleep(attempt)


@dataclass
class Produced:
    """What one notebook run left: status, message, files (name -> path), why there is no PDF."""

    status: str = "pending"
    message: str = ""
    files: list[str] = field(default_factory=list)
    pdf_note: str = ""


def execute_document(
    out_dir: Path,
    work_dir: Path,
    notebook: Path,
    stem: str,
    parameters: dict,
    title: str,
    options: ReportOptions,
    extra: Callable[[Path], list[str]] | None = None,
    landscape: bool = False,
    word: Callable[[str, Path], None] | None = None,
) -> Produced:
    """Execute a notebook with papermill, render it to HTML (and PDF), move the files in whole.

    Works in its own folder, so parallel runs never share a file; `extra(work_dir)` may write
    more files (the comparison's workbook) and returns their names; `word(fragment, path)`
    writes the Word document when the formats ask for it (the commune report).
    """
    import papermill

    done = Produced()
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = work_dir / "notebook.ipynb"
    try:
        _execute_notebook(
            executed,
            work_dir,
            {**parameters, "data_dir": os.path.relpath(parameters["data_dir"], work_dir)},
            options.engine,
            notebook,
        )
    except papermill.PapermillExecutionError as exc:
        done.status, done.message = "failed", f"{exc.ename}: {exc.evalue}"
    try:
        if executed.exists():
            _scrub(executed)
            render_html(executed, work_dir / f"{stem}.html", title)
            render_html(executed, work_dir / "notebook.html", f"{title} (notebook)", code=True)
            done.files = ["notebook.ipynb", "notebook.html", f"{stem}.html"]
            fragment = report_fragment(executed) if done.status == "pending" else None
            if fragment and "pdf" in options.formats:
                try:
                    write_pdf(
                        fragment,
                        visible_text(fragment),
                        work_dir / f"{stem}.pdf",
                        title,
                        landscape=landscape,
                    )
                    done.files.append(f"{stem}.pdf")
                except PdfUnavailable as exc:
                    done.pdf_note = str(exc)
                except PipelineError as exc:
                    done.status, done.message = "failed", str(exc)
            if fragment and word is not None and "docx" in options.formats:
                try:
                    word(fragment, work_dir / f"{stem}.docx")
                    done.files.append(f"{stem}.docx")
                except PipelineError as exc:
                    done.status, done.message = "failed", str(exc)
            if extra is not None and done.status == "pending":
                done.files += extra(work_dir)
            for name in done.files:
                (work_dir / name).replace(out_dir / name)
            for suffix in (".pdf", ".docx"):  # no old PDF or Word file beside a new HTML
                if f"{stem}{suffix}" not in done.files:
                    (out_dir / f"{stem}{suffix}").unlink(missing_ok=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if done.status == "pending":
        done.status = "ok"
    return done


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

    def word(fragment: str, path: Path) -> None:
        from pipeline.report import commune_chart_images
        from pipeline.word import write_docx

        settings = options.parameters(paths.base)["settings_file"] or None
        images = commune_chart_images(year, commune.code, paths.base, settings)
        write_docx(fragment, images, path, title)

    done = execute_document(
        paths.outputs_year(year) / run.folder_name,
        paths.outputs_year(year) / ".work" / run.folder_name,
        REPORT_NOTEBOOK,
        "report",
        {
            "year": year,
            "commune": commune.code,
            "data_dir": str(paths.base),
            **options.parameters(paths.base),
            "footer": short(provenance) if provenance else "",
        },
        title,
        options,
        word=word,
    )
    run.status, run.message, run.pdf_note = done.status, done.message, done.pdf_note
    run.outputs = {name: f"{run.folder_name}/{name}" for name in done.files}
    return run


def comparison_folder(slug: str) -> str:
    return f"{COMPARISON_PREFIX}{slug}"


def _group(paths: Paths, year: int, key: str, options: ReportOptions):
    from pipeline.narrative import load_settings

    named = load_settings(options.settings_file).get("groups")
    return find_group(year, key, paths.raw / EXTRA_REGISTRY_NAME, named)


def execute_comparison(
    paths: Paths, year: int, group: str, options: ReportOptions = ReportOptions()
) -> Produced:
    """The comparison of a group's communes: notebook, HTML, PDF (landscape) and Excel."""
    from pipeline.compare import compare
    from pipeline.exports import write_comparison_xlsx

    found = _group(paths, year, group, options)
    name, communes = found.name, list(found.communes)
    folder = comparison_folder(found.slug)
    indicators = pd.read_parquet(paths.processed_year(year) / INDICATORS_FILE)

    def workbook(work_dir: Path) -> list[str]:
        write_comparison_xlsx(
            compare(indicators, communes), work_dir / "comparison.xlsx", f"{name} {year}"
        )
        return ["comparison.xlsx"]

    return execute_document(
        paths.outputs_year(year) / folder,
        paths.outputs_year(year) / ".work" / folder,
        COMPARISON_NOTEBOOK,
        "comparison",
        {
            "year": year,
            "group": group,
            "data_dir": str(paths.base),
            **options.parameters(paths.base),
        },
        f"So sánh Tổ CNSCĐ {name} năm {year}",
        options,
        extra=workbook,
        landscape=True,
    )


def _record(paths: Paths, year: int, runs: list[CommuneRun], provenance: dict[str, dict]) -> Path:
    """Status, provenance and rejected rows of each commune beside its report; then the year's
    manifest and index, from every commune's status."""
    outputs_year = paths.outputs_year(year)
    processed_year = paths.processed_year(year)
    rejected_path = processed_year / "rejected.parquet"
    rejected = pd.read_parquet(rejected_path) if rejected_path.exists() else None
    quality_path = processed_year / "quality.parquet"
    quality = (
        pd.read_parquet(quality_path)
        .groupby("commune_code")[["rows_read", "rows_kept", "rows_fixed", "rows_rejected"]]
        .sum()
        if quality_path.exists()
        else None
    )
    for run in runs:
        folder = outputs_year / run.folder_name
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "code": run.commune.code,
            "name": run.commune.name,
            "district": run.commune.district_name,
            "province": run.commune.province_name,
            "status": run.status,
            "message": run.message,
            "pdf_note": run.pdf_note,
            "quality": None,
            **provenance.get(run.commune.code, {}),
            "outputs": {
                name: hash_path(folder / name)
                for name in sorted(run.outputs)
                if (folder / name).exists()
            },
        }
        if run.status in ("failed", "missing") and not run.outputs:
            # Nothing was rebuilt: an older report must not stand beside a failed status.
            for name in (
                "report.html",
                "report.pdf",
                "report.docx",
                "notebook.ipynb",
                "notebook.html",
                "rejected.csv",
            ):
                (folder / name).unlink(missing_ok=True)
        if rejected is not None and run.status == "ok":
            write_csv(
                rejected[rejected["commune_code"] == run.commune.code], folder / "rejected.csv"
            )
        if quality is not None and run.commune.code in quality.index and run.status == "ok":
            record["quality"] = {k: int(v) for k, v in quality.loc[run.commune.code].items()}
        write_status(folder, record)
    indicators_path = paths.processed_year(year) / INDICATORS_FILE
    indicators = pd.read_parquet(indicators_path) if indicators_path.exists() else None
    write_manifest(outputs_year, year)
    return write_index(outputs_year, year, indicators)


SOURCES_FILE = "sources.parquet"


def _stored_sources(processed_year: Path) -> dict[str, str]:
    path = processed_year / SOURCES_FILE
    if not path.exists():
        return {}
    frame = pd.read_parquet(path)
    return dict(zip(frame["commune_code"], frame["source"], strict=True))


def _store_sources(processed_year: Path, fresh: dict[str, str], dropped: set[str]) -> None:
    sources = {k: v for k, v in _stored_sources(processed_year).items() if k not in dropped}
    sources.update(fresh)
    frame = pd.DataFrame(sorted(sources.items()), columns=["commune_code", "source"])
    store.write_parquet(frame, processed_year / SOURCES_FILE)


def _up_to_date(folder: Path, key: str) -> bool:
    status = read_status(folder)
    return (
        status is not None
        and status.get("status") == "ok"
        and status.get("key") == key
        and all((folder / name).exists() for name in status.get("outputs", {}))
    )


def _execute_all(
    paths: Paths,
    year: int,
    todo: list[tuple[Commune, dict]],
    options: ReportOptions,
    workers: int,
    scheduler: str | None,
    progress: Progress,
) -> dict[str, CommuneRun]:
    """Run the reports in a local process pool, or on a Dask cluster when a scheduler is given."""
    done: dict[str, CommuneRun] = {}
    if not todo:
        return done

    def finish(commune: Commune, result: CommuneRun | BaseException) -> None:
        if isinstance(result, BaseException):  # a crash in one commune must not stop the others
            result = CommuneRun(commune, "failed", f"{type(result).__name__}: {result}")
        done[commune.code] = result
        progress.step(commune.name, result.status, result.message)

    if scheduler:
        from pipeline.cluster import run_on_dask

        run_on_dask(
            scheduler,
            workers,
            execute_report,
            [(paths, year, commune, options, extra) for commune, extra in todo],
            [commune for commune, _ in todo],
            finish,
        )
        return done
    with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
        futures = {
            pool.submit(execute_report, paths, year, commune, options, extra): commune
            for commune, extra in todo
        }
        for future in as_completed(futures):
            commune = futures[future]
            try:
                finish(commune, future.result())
            except Exception as exc:
                finish(commune, exc)
    return done


def run_year(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int | None = None,
    echo: Callable[[str], object] | None = print,
    options: ReportOptions = ReportOptions(),
    force: bool = False,
    scheduler: str | None = None,
    missing: Sequence[Commune] = (),
) -> list[CommuneRun]:
    """Prepare, compute and report the selected communes; failures are recorded, not raised.

    `missing` are communes of a selected group that have no workbook: recorded as missing (in
    the index and the comparison), never reported with zeros, and not a failure of the run.

    Only what changed is redone: a commune's workbook is cleaned again when its content hash
    changed, and its report is rebuilt when anything it depends on changed (its data, the code,
    templates and settings, package versions, parameters). `force` redoes everything.
    """
    with year_lock(paths.outputs_year(year)):
        for folder in (paths.outputs_year(year), paths.processed_year(year)):
            remove_temporaries(folder)  # what a killed run was writing
        runs = _run_year(paths, year, communes, workers, echo, options, force, scheduler, missing)
        return runs


def _run_year(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int | None,
    echo: Callable[[str], object] | None,
    options: ReportOptions,
    force: bool,
    scheduler: str | None,
    missing: Sequence[Commune] = (),
) -> list[CommuneRun]:
    started = time.monotonic()
    say = echo or (lambda line: print(line))
    workers = max(1, workers or os.cpu_count() or 1)
    processed_year = paths.processed_year(year)
    from pipeline.narrative import load_settings

    attribution = {
        str(k): str(v)
        for k, v in load_settings(options.settings_file).get("predecessors", {}).items()
    }
    sources = {c.code: _source_hash(paths.raw_year(year), c, year, attribution) for c in communes}
    # A workbook is cleaned again when it changed or the package that cleans it did: tables an
    # older cleaner wrote are never reported from.
    package = package_hash()
    cleaned = {code: f"{source}:{package}" if source else "" for code, source in sources.items()}
    stored = _stored_sources(processed_year)
    stale = [
        c for c in communes if force or not cleaned[c.code] or stored.get(c.code) != cleaned[c.code]
    ]
    problems = prepare(paths, year, stale, workers, attribution) if stale else {}
    if stale:
        _store_sources(
            processed_year,
            {c.code: cleaned[c.code] for c in stale if c.code not in problems},
            set(problems),
        )
        if (processed_year / "commune.parquet").exists():  # some commune of the year has data
            compute_year(paths, year)
    code = code_hash([options.settings_file, options.templates_dir])
    revision = code_revision()
    runs: dict[str, CommuneRun] = {}
    todo: list[tuple[Commune, dict]] = []
    for commune in communes:
        if commune.code in problems:
            runs[commune.code] = CommuneRun(commune, "failed", problems[commune.code])
            continue
        parameters = {
            "year": year,
            "commune": commune.code,
            **options.parameters(paths.base),
            "formats": list(options.formats),
        }
        key = report_key(code, sources[commune.code], parameters)
        provenance = {
            "key": key,
            "source": sources[commune.code],
            "code_hash": code,
            "revision": revision,
            "parameters": parameters,
        }
        if not force and _up_to_date(paths.outputs_year(year) / output_folder(commune), key):
            runs[commune.code] = CommuneRun(commune, "skipped")
        else:
            todo.append((commune, provenance))
    progress = Progress(len(todo), echo=echo if echo is not print else None)
    runs.update(_execute_all(paths, year, todo, options, workers, scheduler, progress))
    final = [runs[c.code] for c in communes]
    shutil.rmtree(paths.outputs_year(year) / ".work", ignore_errors=True)
    for note in sorted({r.pdf_note for r in final if r.pdf_note}):
        say(f"warning: no PDF was made on this machine: {note}")
    for r in final:
        if r.status == "failed" and r.commune.code in problems:
            say(f"{r.commune.name}: failed - {r.message}")
    absent = [
        CommuneRun(
            c,
            "missing",
            f"no workbook in {paths.raw_year(year).name}/ (expected {c.stem}.xlsx)",
        )
        for c in missing
    ]
    _record(
        paths,
        year,
        [r for r in final if r.status != "skipped"] + absent,
        {c.code: p for c, p in todo},
    )
    skipped = sum(r.status == "skipped" for r in final)
    if final and skipped == len(final):
        say(
            f"{year}: nothing changed, all {skipped} commune reports are up to date "
            "(--force rebuilds them)"
        )
    say(
        f"{year}: {sum(r.status == 'ok' for r in final)} built, {skipped} up to date, "
        f"{sum(r.status == 'failed' for r in final)} failed"
        + (f", {len(absent)} without a workbook" if absent else "")
        + f", {time.monotonic() - started:.1f} s"
    )
    return final


def _run_comparisons(
    paths: Paths,
    year: int,
    groups: list[str],
    options: ReportOptions = ReportOptions(),
    echo: Callable[[str], object] = print,
) -> dict[str, Produced]:
    """Each group's comparison, then the index again so that it links them."""
    results = {}
    if not (paths.processed_year(year) / INDICATORS_FILE).exists():
        echo(f"{year}: no commune has data yet, so no comparison")
        return results
    code = code_hash([options.settings_file, options.templates_dir])
    data = hash_path(paths.processed_year(year) / INDICATORS_FILE)
    registry = hash_path(paths.raw / EXTRA_REGISTRY_NAME)
    for group in groups:
        found = _group(paths, year, group, options)
        folder = paths.outputs_year(year) / comparison_folder(found.slug)
        key = report_key(
            code,
            data + registry,
            {
                "group": group,
                "year": year,
                **options.parameters(paths.base),
                "formats": list(options.formats),
            },
        )
        if _up_to_date(folder, key):
            echo(f"comparison {found.name}: up to date")
            results[group] = Produced("skipped")
            continue
        done = execute_comparison(paths, year, group, options)
        results[group] = done
        write_status(
            folder,
            {
                "name": found.name,
                "status": done.status,
                "message": done.message,
                "key": key,
                "outputs": {name: hash_path(folder / name) for name in done.files},
            },
        )
        echo(
            f"comparison {found.name}: {done.status}"
            + (f" - {done.message}" if done.message else "")
        )
    indicators = pd.read_parquet(paths.processed_year(year) / INDICATORS_FILE)
    write_index(paths.outputs_year(year), year, indicators)
    return results


def run_comparisons(
    paths: Paths,
    year: int,
    groups: list[str],
    options: ReportOptions = ReportOptions(),
    echo: Callable[[str], object] = print,
) -> dict[str, Produced]:
    """Each group's comparison, then the index again so that it links them (one run at a time)."""
    with year_lock(paths.outputs_year(year)):
        return _run_comparisons(paths, year, groups, options, echo)
