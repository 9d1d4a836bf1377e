"""The sequence of a year's run: prepare, compute, report, record (the nodes of `nodes`).

Each node's work lives in its own module (preparing, computing, documents, rendering,
bookkeeping, scheduling, comparisons); this one walks them in order, computes the digest of each
dataset a node declares it reads, and redoes a node when its key (`stages.inputs_of`) changed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence

import pandas as pd

from pipeline.core.config import Paths
from pipeline.core.files import remove_temporaries
from pipeline.core.limits import Limits
from pipeline.core.provenance import code_revision, hash_bytes, hash_path
from pipeline.reading import store
from pipeline.reading.store import INDICATORS_FILE
from pipeline.registry.tree import (
    EXTRA_REGISTRY_NAME,
    Commune,
)
from pipeline.running import nodes, stages
from pipeline.running.bookkeeping import (
    INDICATOR_INPUTS_FILE,
    clean_digests,
    commune_digests,
    record_year,
    source_hash,
    stored_inputs,
    write_record,
    write_year_index,
)
from pipeline.running.comparisons import compare_groups
from pipeline.running.documents import (
    CommuneRun,
    output_folder,
)
from pipeline.running.locking import year_lock
from pipeline.running.progress import Progress
from pipeline.running.rendering import Produced
from pipeline.running.scheduling import Interrupted, execute_all
from pipeline.writing.options import ReportOptions


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
    after: Callable[[list[CommuneRun], dict[str, Produced]], object] | None = None,
) -> list[CommuneRun]:
    """Prepare, compute and report the selected communes; failures are recorded, not raised.

    `missing` are communes of a selected group that have no workbook: recorded as missing (in
    the index and the comparison), never reported with zeros, and not a failure of the run.

    Only what changed is redone (`pipeline/running/stages.py`): a commune is cleaned again when its
    workbook or the cleaning code changed, the indicators when the clean tables did, a report
    when its own data or figures, its code, the district's settings or templates, package
    versions or parameters did; the run says why. `force` redoes everything. A run interrupted
    (Ctrl-C) records the communes it finished, writes the index and raises `Interrupted`.
    `after(runs, {})` is called at the end, still under the year's lock.
    """
    with year_lock(paths.outputs_year(year)):
        _remove_temporaries(paths, year)
        runs = _run_year(paths, year, communes, workers, echo, options, force, scheduler, missing)
        if after:
            after(runs, {})
        return runs


def _remove_temporaries(paths: Paths, year: int) -> None:
    for folder in (paths.outputs_year(year), paths.processed_year(year)):
        remove_temporaries(folder)  # what a killed run was writing


def run_and_compare(
    paths: Paths,
    year: int,
    communes: list[Commune],
    groups: list[str],
    workers: int | None = None,
    options: ReportOptions = ReportOptions(),
    force: bool = False,
    scheduler: str | None = None,
    missing: Sequence[Commune] = (),
    after: Callable[[list[CommuneRun], dict[str, Produced]], object] | None = None,
) -> tuple[list[CommuneRun], dict[str, Produced]]:
    """`run_year`, then the groups' comparisons, under one lock of the year's outputs. The
    index is written once, after both, and whatever stopped them (an error, Ctrl-C); then
    `after(runs, comparisons)`, still under the lock."""
    with year_lock(paths.outputs_year(year)):
        _remove_temporaries(paths, year)
        try:
            runs = _run_year(
                paths,
                year,
                communes,
                workers,
                print,
                options,
                force,
                scheduler,
                missing,
                index=False,
            )
            compared = compare_groups(paths, year, groups, options, print, force)
        finally:
            write_year_index(paths, year)
        if after:
            after(runs, compared)
        return runs, compared


def prepare(*args, **kwargs) -> dict[str, str]:
    """`preparing.prepare`, imported only when a commune is to be cleaned: cleaning loads pandera
    and the readers, which a run with nothing to redo does not need."""
    from pipeline.running.preparing import prepare as clean_communes

    return clean_communes(*args, **kwargs)


def compute_year(*args, **kwargs) -> pd.DataFrame:
    """`computing.compute_year`, imported only when the indicators are to be computed."""
    from pipeline.running.computing import compute_year as compute

    return compute(*args, **kwargs)


def _prepare_stage(
    paths: Paths,
    year: int,
    communes: list[Commune],
    workers: int,
    settings: dict,
    extra_registry: str,
    force: bool,
    say: Callable[[str], object],
) -> tuple[dict[str, str], dict[str, dict], dict[str, str]]:
    """Clean the communes whose inputs changed. Returns the problems that block a report, every
    commune's prepare inputs (their record entry) and the workbook hashes (the reports' source)."""
    processed_year = paths.processed_year(year)
    attribution = {str(k): str(v) for k, v in settings.get("predecessors", {}).items()}
    code = stages.code_inputs(nodes.PREPARE)
    code_key = stages.key_of(code)
    sources = {c.code: source_hash(paths.raw_year(year), c, year, attribution) for c in communes}
    limits = stages.digest(settings.get("limits", {}))
    wanted = {
        c.code: stages.inputs_of(
            nodes.PREPARE,
            {"workbook": sources[c.code], "own units": extra_registry, "settings [limits]": limits},
            code={"code": code_key},  # the record keeps one key; `why` names files from `code`
        )
        for c in communes
    }
    record = store.read_json(processed_year / store.PREPARED_FILE)
    done: dict[str, dict] = record.get("communes", {})
    reasons: dict[str, str] = {}
    for commune in communes:
        entry = done.get(commune.code, {}).get("inputs")
        if force:
            reasons[commune.code] = "--force"
        elif not sources[commune.code]:
            reasons[commune.code] = "no workbook to compare"
        elif entry != wanted[commune.code]:
            if entry and entry.get("code") != code_key and record.get("code"):
                reasons[commune.code] = stages.why(record["code"], code)
            else:
                reasons[commune.code] = stages.why(entry, wanted[commune.code])
    if not reasons:
        return {}, done, sources
    say(f"{year}: cleaning {stages.why_summary(reasons)}")
    # Committed in two steps: the communes being cleaned leave the record first, so a run killed
    # while their tables are written never finds them up to date.
    for code_ in reasons:
        done.pop(code_, None)
    write_record(
        processed_year / store.PREPARED_FILE, {"code": record.get("code", code), "communes": done}
    )
    stale = [c for c in communes if c.code in reasons]
    problems = prepare(paths, year, stale, workers, attribution, Limits.from_settings(settings))
    cleaned = {c.code for c in stale} - problems.keys()
    rows = clean_digests(processed_year, cleaned) if cleaned else {}
    done.update({code_: {"inputs": wanted[code_], "rows": rows[code_]} for code_ in cleaned})
    write_record(processed_year / store.PREPARED_FILE, {"code": code, "communes": done})
    return problems, done, sources


def _indicators_stage(
    paths: Paths, year: int, extra_registry: str, force: bool, say: Callable[[str], object]
) -> None:
    """Compute the year's indicators when the clean tables, last year's or the code changed."""
    processed_year = paths.processed_year(year)
    if not (processed_year / "commune.parquet").exists():  # no commune of the year has data
        return
    before = paths.processed_year(year - 1)
    inputs = stages.inputs_of(
        nodes.INDICATORS,
        {
            "clean tables": hash_bytes(
                *(hash_path(processed_year / f"{n}.parquet").encode() for n in store.TABLES)
            ),
            "last year's clean rows": hash_path(before / store.PREPARED_FILE),
            "last year's indicators": hash_path(before / INDICATORS_FILE),
            "own units": extra_registry,
        },
    )
    path = processed_year / INDICATOR_INPUTS_FILE
    stored = store.read_json(path)
    if not force and stored == inputs and (processed_year / INDICATORS_FILE).exists():
        return
    say(f"{year}: computing indicators ({'--force' if force else stages.why(stored, inputs)})")
    path.unlink(missing_ok=True)  # until the new indicators are written whole
    compute_year(paths, year)
    write_record(path, inputs)


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
    index: bool = True,
) -> list[CommuneRun]:
    started = time.monotonic()
    say = echo or (lambda line: print(line))
    workers = max(1, workers or os.cpu_count() or 1)
    settings = options.settings()
    extra_registry = hash_path(paths.raw / EXTRA_REGISTRY_NAME)
    problems, prepared, sources = _prepare_stage(
        paths, year, communes, workers, settings, extra_registry, force, say
    )
    _indicators_stage(paths, year, extra_registry, force, say)
    indicators_path = paths.processed_year(year) / INDICATORS_FILE
    figures = (
        commune_digests(pd.read_parquet(indicators_path), ("indicator",))
        if indicators_path.exists()
        else {}
    )
    code_digests = stages.code_inputs(nodes.REPORT)
    shared = {**options.digests(report=True), "own units": extra_registry}
    code = stages.key_of({**code_digests, **shared})
    revision = code_revision()
    runs: dict[str, CommuneRun] = {}
    todo: list[tuple[Commune, dict]] = []
    reasons: dict[str, str] = {}
    for commune in communes:
        if commune.code in problems:
            runs[commune.code] = CommuneRun(commune, "failed", problems[commune.code])
            continue
        parameters = {"year": year, "commune": commune.code, "formats": list(options.formats)}
        inputs = stages.inputs_of(
            nodes.REPORT,
            {
                **shared,
                "clean rows": prepared.get(commune.code, {}).get("rows", ""),
                "indicators": figures.get(commune.code, ""),
                "parameters": stages.digest(parameters),
            },
            code=code_digests,
        )
        key = stages.key_of(inputs)
        provenance = {
            "key": key,
            "source": sources[commune.code],
            "code_hash": code,
            "revision": revision,
            "parameters": parameters,
            "inputs": inputs,
        }
        stored, broken = stored_inputs(paths.output_dir(year, output_folder(commune)))
        reason = "--force" if force else broken or stages.why(stored, inputs)
        if not reason:
            runs[commune.code] = CommuneRun(commune, "skipped")
        else:
            reasons[commune.code] = reason
            todo.append((commune, provenance))
    if todo:
        say(f"{year}: reports to build: {stages.why_summary(reasons)}")
    progress = Progress(len(todo), echo=echo if echo is not print else None)
    interrupted = False
    try:
        runs.update(execute_all(paths, year, todo, options, workers, scheduler, progress))
    except Interrupted as stop:
        interrupted = True
        runs.update(stop.finished)
    final = [runs.get(c.code) or CommuneRun(c, "interrupted") for c in communes]
    shutil.rmtree(paths.outputs_year(year) / ".work", ignore_errors=True)
    for note in sorted({r.pdf_note for r in final if r.pdf_note}):
        say(f"warning: no PDF was made on this machine: {note}")
    for r in final:
        for note in r.notes:
            say(f"warning: {r.commune.name}: {note}")
    for r in final:
        if r.status == "failed" and r.commune.code in problems:
            say(f"{r.commune.name}: failed - {r.message}")
    absent = [
        CommuneRun(
            c,
            "missing",
            # Shown in the reviewers' index, which is in Vietnamese.
            f"chưa có sổ theo dõi trong thư mục {paths.raw_year(year).name}/ (cần tệp "
            f"{c.stem}.xlsx)",
        )
        for c in missing
    ]
    record_year(
        paths,
        year,
        [r for r in final if r.status not in ("skipped", "interrupted")] + absent,
        {c.code: p for c, p in todo},
        index=index,
    )
    if interrupted:
        finished = sum(r.status in ("ok", "failed") for r in final)
        raise Interrupted(
            {},
            f"{year}: interrupted; {finished} commune(s) finished and recorded, "
            f"{sum(r.status == 'interrupted' for r in final)} not built",
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
