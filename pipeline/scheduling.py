"""Where reports run: a local process pool, or a Dask cluster when a scheduler is given. A
crash in one commune is recorded as its failure, never stops the others."""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

from pipeline.config import Paths
from pipeline.documents import CommuneRun, execute_report
from pipeline.options import ReportOptions
from pipeline.progress import Progress
from pipeline.registry import (
    Commune,
)


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
