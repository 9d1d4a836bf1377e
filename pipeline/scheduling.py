"""Where reports run: a local process pool, or a Dask cluster when a scheduler is given. A
crash in one commune is recorded as its failure, never stops the others."""

from __future__ import annotations

import sys
from concurrent.futures import as_completed

from pipeline.config import Paths
from pipeline.documents import CommuneRun, execute_report
from pipeline.options import ReportOptions
from pipeline.progress import Progress
from pipeline.registry import Commune
from pipeline.workers import process_pool, stop_now


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the reports finished before it, to be recorded."""

    def __init__(self, finished: dict[str, CommuneRun], message: str = "interrupted") -> None:
        super().__init__(message)
        self.finished = finished


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
            result = CommuneRun(commune, "failed", f"{type(result).__name__}: {result}")
        done[commune.code] = result
        progress.step(commune.name, result.status, result.message)

    if scheduler:
        from pipeline.cluster import run_on_dask

        try:
            run_on_dask(
                scheduler,
                workers,
                execute_report,
                [(paths, year, commune, options, extra) for commune, extra in todo],
                [commune for commune, _ in todo],
                finish,
                shared=paths.base,
                warn=progress.echo or (lambda line: print(line, file=sys.stderr, flush=True)),
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
