"""Where reports run: a local process pool, or a Dask cluster when a scheduler is given. A
crash in one commune is recorded as its failure, never stops the others. What a cluster's
worker returns is checked here: the content hashes it gives of its files must be those of the
files the data folder holds."""

from __future__ import annotations

import sys
from concurrent.futures import as_completed

from pipeline.core.config import Paths
from pipeline.core.files import disk_full
from pipeline.core.provenance import hash_path
from pipeline.core.workers import process_pool, stop_now
from pipeline.registry.tree import Commune
from pipeline.running.documents import CommuneRun, execute_report
from pipeline.running.progress import Progress
from pipeline.writing.options import ReportOptions


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the reports finished before it, to be recorded."""

    def __init__(self, finished: dict[str, CommuneRun], message: str = "interrupted") -> None:
        super().__init__(message)
        self.finished = finished


def report_and_hashes(
    paths: Paths, year: int, commune: Commune, options: ReportOptions, extra: dict
) -> tuple[CommuneRun, dict[str, str]]:
    """Runs on a worker: the report, and the content hash of each file it wrote."""
    run = execute_report(paths, year, commune, options, extra)
    outputs = paths.outputs_year(year)
    return run, {name: hash_path(outputs / relative) for name, relative in run.outputs.items()}


def checked(paths: Paths, year: int, commune: Commune, returned: object) -> CommuneRun:
    """A worker's report as the client finds it: failed unless each file it says it wrote is
    in the data folder with the content it hashed (a worker writing elsewhere, or files changed
    since, are never recorded as built)."""
    run, hashes = returned  # type: ignore[misc]
    if not isinstance(run, CommuneRun) or run.commune.code != commune.code:
        return CommuneRun(commune, "failed", "the worker returned another commune's report")
    outputs = paths.outputs_year(year)
    wrong = sorted(
        name
        for name, relative in run.outputs.items()
        if hashes.get(name) != hash_path(outputs / relative) or not hashes.get(name)
    )
    if wrong:
        return CommuneRun(
            commune,
            "failed",
            f"the worker's files are not those in the data folder ({', '.join(wrong[:3])}): it "
            "does not share the folder, or they changed since it wrote them; run again",
        )
    return run


def failed(commune: Commune, exc: BaseException) -> CommuneRun:
    """A report that raised: its commune failed, with one line saying why."""
    if disk_full(exc):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        why = f"disk full while making the report{where}: free some space and run again"
    else:
        why = f"{type(exc).__name__}: {exc}"
    return CommuneRun(commune, "failed", why)


def execute_all(
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
            result = failed(commune, result)
        done[commune.code] = result
        progress.step(commune.name, result.status, result.message)

    if scheduler:
        from pipeline.running.cluster import run_on_dask

        try:
            run_on_dask(
                scheduler,
                workers,
                report_and_hashes,
                [(paths, year, commune, options, extra) for commune, extra in todo],
                [commune for commune, _ in todo],
                lambda commune, result: finish(
                    commune,
                    result
                    if isinstance(result, BaseException)
                    else checked(paths, year, commune, result),
                ),
                shared=paths.base,
                warn=progress.echo or (lambda line: print(line, file=sys.stderr, flush=True)),
                certificates=options.settings()["cluster"],
            )
        except KeyboardInterrupt:
            raise Interrupted(done) from None
        return done
    pool = process_pool(min(workers, len(todo)))
    try:
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
    except KeyboardInterrupt:
        stop_now(pool)
        raise Interrupted(done) from None
    pool.shutdown()
    return done
