"""The sequence of a year's run: prepare, compute, report, record; and the comparisons.

Each stage lives in its own module (preparing, computing, documents, rendering, bookkeeping,
scheduling); this one only says in which order they run and what is redone.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence

import pandas as pd

from pipeline.bookkeeping import record_year, source_hash, store_sources, stored_sources, up_to_date
from pipeline.computing import compute_year
from pipeline.config import Paths
from pipeline.documents import (
    CommuneRun,
    comparison_folder,
    execute_comparison,
    group_of,
    output_folder,
)
from pipeline.files import remove_temporaries
from pipeline.index import write_index, write_status
from pipeline.limits import Limits
from pipeline.locking import year_lock
from pipeline.options import ReportOptions
from pipeline.preparing import prepare
from pipeline.progress import Progress
from pipeline.provenance import (
    code_hash,
    code_revision,
    hash_path,
    package_hash,
    report_key,
)
from pipeline.registry import (
    EXTRA_REGISTRY_NAME,
    Commune,
)
from pipeline.rendering import Produced
from pipeline.report import INDICATORS_FILE
from pipeline.scheduling import execute_all


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

    settings = load_settings(options.settings_file)
    attribution = {str(k): str(v) for k, v in settings.get("predecessors", {}).items()}
    sources = {c.code: source_hash(paths.raw_year(year), c, year, attribution) for c in communes}
    # A workbook is cleaned again when it changed or the package that cleans it did: tables an
    # older cleaner wrote are never reported from.
    package = package_hash()
    cleaned = {code: f"{source}:{package}" if source else "" for code, source in sources.items()}
    stored = stored_sources(processed_year)
    stale = [
        c for c in communes if force or not cleaned[c.code] or stored.get(c.code) != cleaned[c.code]
    ]
    limits = Limits.from_settings(settings)
    problems = prepare(paths, year, stale, workers, attribution, limits) if stale else {}
    if stale:
        store_sources(
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
        if not force and up_to_date(paths.outputs_year(year) / output_folder(commune), key):
            runs[commune.code] = CommuneRun(commune, "skipped")
        else:
            todo.append((commune, provenance))
    progress = Progress(len(todo), echo=echo if echo is not print else None)
    runs.update(execute_all(paths, year, todo, options, workers, scheduler, progress))
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
    record_year(
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
        found = group_of(paths, year, group, options)
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
        if up_to_date(folder, key):
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
