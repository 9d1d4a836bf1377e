"""The year's run: prepare every selected commune, compute indicators, execute and render reports.

The only module that drives papermill and nbconvert. A failing commune does not stop the others.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import pandas as pd
from traitlets.config import Config

from pipeline import store
from pipeline.clean import CleanResult, check_identity, clean_tables, quality_summary, stack
from pipeline.config import NOTEBOOKS, Paths
from pipeline.errors import InputError, PipelineError
from pipeline.exports import export_rejected, write_csv
from pipeline.index import write_index, write_status
from pipeline.indicators import compute_indicators, with_previous
from pipeline.ingest import RawWorkbook, read_workbook
from pipeline.pdf import PdfUnavailable, write_pdf
from pipeline.registry import EXTRA_REGISTRY_NAME, Commune, communes_of_year
from pipeline.report import INDICATORS_FILE

REPORT_NOTEBOOK = NOTEBOOKS / "commune_report.ipynb"
# Kernels talk over local sockets in the run's own folder rather than open TCP ports.
_KERNEL_CONFIG = Config({"KernelManager": {"transport": "ipc"}})


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
    return f"{commune.code}-{commune.slug}"


def find_workbook(raw_year: Path, commune: Commune) -> Path:
    """The commune's workbook: `{slug}.xlsx`, `{code}.xlsx`, `{code}-{slug}.xlsx`, or a folder
    of CSV files under one of those names."""
    names = (commune.slug, commune.code, output_folder(commune))
    for name in names:
        for candidate in (raw_year / f"{name}.xlsx", raw_year / name):
            if candidate.exists():
                return candidate
    return raw_year / f"{commune.slug}.xlsx"


def _read(paths: Paths, year: int, commune: Commune) -> RawWorkbook | str:
    """The commune's workbook, or the one clear message saying why it cannot be used."""
    try:
        raw = read_workbook(find_workbook(paths.raw_year(year), commune))
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


def prepare_chunk(paths: Paths, year: int, communes: list[Commune]) -> Prepared:
    """Read the communes' workbooks and clean them in one pass (nothing is written)."""
    problems: dict[str, str] = {}
    readable: list[tuple[RawWorkbook, str]] = []
    for commune in communes:
        raw = _read(paths, year, commune)
        if isinstance(raw, str):
            problems[commune.code] = raw
        else:
            readable.append((raw, commune.code))
    present = pd.DataFrame(
        [(code, key) for raw, code in readable for key in raw.tables],
        columns=["commune_code", "sheet"],
    )
    if not readable:
        return Prepared(problems, None, pd.DataFrame(), present, set())
    stacked = stack(readable)
    result = clean_tables(stacked, year)
    codes = {code for _, code in readable}
    problems.update(blocking_problems(result, codes, {c: r for r, c in readable}))
    return Prepared(problems, result, quality_summary(stacked, result), present, codes)


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
    )


def prepare_communes(
    paths: Paths, year: int, communes: list[Commune], workers: int = 1
) -> Prepared:
    """Read and clean, in chunks over a process pool when there are many communes.

    Cleaning is per commune (villages, duplicates), so chunks give the same rows as one pass.
    """
    if workers <= 1 or len(communes) < 8:
        return prepare_chunk(paths, year, communes)
    size = -(-len(communes) // (2 * workers))
    chunks = [communes[i : i + size] for i in range(0, len(communes), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(prepare_chunk, [paths] * len(chunks), [year] * len(chunks), chunks))
    return _merge(parts)


def prepare(paths: Paths, year: int, communes: list[Commune], workers: int = 1) -> dict[str, str]:
    """Read and clean the communes' workbooks into data/processed/{year}/.

    Returns the communes that cannot be reported, by code, with the reason.
    """
    prepared = prepare_communes(paths, year, communes, workers)
    processed_year = paths.processed_year(year)
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
        return pd.DataFrame(columns=["commune_code", *columns, "top_reasons"]), prepared.problems
    totals = prepared.quality.groupby("commune_code")[columns].sum()
    reasons = prepared.result.rejected.groupby("commune_code")["reason_code"].agg(
        lambda s: ", ".join(f"{k} {v}" for k, v in s.value_counts().head(3).items())
    )
    summary = totals.join(reasons.rename("top_reasons")).fillna({"top_reasons": ""})
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
    same = {(c.code, c.name) for c in communes_of_year(year, extra)} & {
        (c.code, c.name) for c in communes_of_year(year - 1, extra)
    }
    indicators = with_previous(indicators, previous, {code for code, _ in same})
    store.write_parquet(indicators, paths.processed_year(year) / INDICATORS_FILE)
    export_rejected(tables["rejected"], paths.processed_year(year) / "rejected")
    return indicators


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


def render_html(notebook_path: Path, html_path: Path, title: str) -> None:
    """The executed notebook as a document: no code, no prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    tmp = html_path.with_name(f".{html_path.name}.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(html_path)


@dataclass(frozen=True)
class ReportOptions:
    """A district's own thresholds (settings TOML) and wording (templates folder), if any."""

    settings_file: Path | None = None
    templates_dir: Path | None = None
    formats: tuple[str, ...] = ("html", "pdf")

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


def execute_report(
    paths: Paths, year: int, commune: Commune, options: ReportOptions = ReportOptions()
) -> CommuneRun:
    """Execute the report notebook for one commune with papermill; render HTML and PDF.

    Works in its own folder and moves finished files into the commune's output folder, so
    parallel runs never share a file and a file appears whole or not at all.
    """
    import papermill

    run = CommuneRun(commune)
    out_dir = paths.outputs_year(year) / run.folder_name
    work_dir = paths.outputs_year(year) / ".work" / run.folder_name
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = work_dir / "notebook.ipynb"
    title = f"Báo cáo Tổ CNSCĐ {commune.name} năm {year}"
    try:
        papermill.execute_notebook(
            str(REPORT_NOTEBOOK),
            str(executed),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(work_dir),
            log_output=False,
            config=_KERNEL_CONFIG,
            parameters={
                "year": year,
                "commune": commune.code,
                "data_dir": os.path.relpath(paths.base, work_dir),
                **options.parameters(paths.base),
            },
        )
    except papermill.PapermillExecutionError as exc:
        run.status, run.message = "failed", f"{exc.ename}: {exc.evalue}"
    try:
        if executed.exists():
            _scrub(executed)
            render_html(executed, work_dir / "report.html", title)
            produced = ["notebook.ipynb", "report.html"]
            fragment = report_fragment(executed) if run.status == "pending" else None
            if fragment and "pdf" in options.formats:
                try:
                    write_pdf(fragment, visible_text(fragment), work_dir / "report.pdf", title)
                    produced.append("report.pdf")
                except PdfUnavailable as exc:
                    run.pdf_note = str(exc)
                except PipelineError as exc:
                    run.status, run.message = "failed", str(exc)
            for name in produced:
                (work_dir / name).replace(out_dir / name)
                run.outputs[name] = f"{run.folder_name}/{name}"
            if "report.pdf" not in produced:
                (out_dir / "report.pdf").unlink(missing_ok=True)  # never an old PDF beside new HTML
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if run.status == "pending":
        run.status = "ok"
    return run


def _record(paths: Paths, year: int, runs: list[CommuneRun]) -> Path:
    """Status and rejected rows of each commune beside its report, then the year's index."""
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
            "status": run.status,
            "message": run.message,
            "pdf_note": run.pdf_note,
            "quality": None,
        }
        if rejected is not None and run.status == "ok":
            write_csv(
                rejected[rejected["commune_code"] == run.commune.code], folder / "rejected.csv"
            )
        if quality is not None and run.commune.code in quality.index and run.status == "ok":
            record["quality"] = {k: int(v) for k, v in quality.loc[run.commune.code].items()}
        write_status(folder, record)
    indicators_path = paths.processed_year(year) / INDICATORS_FILE
    indicators = pd.read_parquet(indicators_path) if indicators_path.exists() else None
    return write_index(outputs_year, year, indicators)


def run_year(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int | None = None,
    echo: Callable[[str], object] = print,
    options: ReportOptions = ReportOptions(),
) -> list[CommuneRun]:
    """Prepare, compute and report the selected communes; failures are recorded, not raised."""
    started = time.monotonic()
    workers = max(1, workers or os.cpu_count() or 1)
    problems = prepare(paths, year, communes, workers)
    runs = [
        CommuneRun(c, *(("failed", problems[c.code]) if c.code in problems else ()))
        for c in communes
    ]
    ready = [r for r in runs if r.status == "pending"]
    if ready:
        compute_year(paths, year)
    workers = min(workers, len(ready) or 1)
    done: dict[str, CommuneRun] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {
            r.commune.code: pool.submit(execute_report, paths, year, r.commune, options)
            for r in ready
        }
        for index, (code, future) in enumerate(futures.items(), start=1):
            try:
                done[code] = future.result()
            except Exception as exc:  # a crash in one commune must not stop the others
                failed = next(r for r in ready if r.commune.code == code)
                failed.status, failed.message = "failed", f"{type(exc).__name__}: {exc}"
                done[code] = failed
            result = done[code]
            echo(
                f"[{index}/{len(ready)}] {result.commune.name}: {result.status}"
                f"{' - ' + result.message if result.message else ''}"
            )
    final = [done.get(r.commune.code, r) for r in runs]
    shutil.rmtree(paths.outputs_year(year) / ".work", ignore_errors=True)
    notes = sorted({r.pdf_note for r in final if r.pdf_note})
    for note in notes:
        echo(f"warning: no PDF was made on this machine: {note}")
    _record(paths, year, final)
    for r in final:
        if r.status == "failed" and r.commune.code not in done:
            echo(f"{r.commune.name}: failed - {r.message}")
    echo(
        f"{year}: {sum(r.status == 'ok' for r in final)} ok, "
        f"{sum(r.status == 'failed' for r in final)} failed, "
        f"{time.monotonic() - started:.1f} s"
    )
    return final
