"""Cleaning speed: a generated year of N communes (default 1,000, about 500,000 activity rows).

Prints rows per second end to end from the workbooks (reading included), the share of time spent
reading, and peak memory. The workbooks are generated once into a cache folder and reused.

    .venv/bin/python benchmarks/bench_clean.py [--communes 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pipeline.config import Paths
from pipeline.ingest import read_workbook
from pipeline.locate import find_workbook
from pipeline.preparing import prepare_communes
from pipeline.registry import EXTRA_REGISTRY_NAME, communes_of_year
from pipeline.sample import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "cnscd-bench"))
    args = parser.parse_args()

    paths = Paths.under(Path(args.cache) / f"communes-{args.communes}")
    year = 2022
    if not (paths.raw_year(year) / "_planted.csv").exists():
        started = time.perf_counter()
        generate(paths.raw, years=(year,), communes=args.communes, activity_rows=(400, 600))
        print(
            f"generated {args.communes} workbooks in {time.perf_counter() - started:.1f} s "
            f"(cached in {paths.raw})"
        )
    communes = [
        c
        for c in communes_of_year(year, paths.raw / EXTRA_REGISTRY_NAME)
        if c.province_name == "Tỉnh Mẫu"
    ]  # the generated communes only

    started = time.perf_counter()
    prepared = prepare_communes(paths, year, communes, workers=args.workers)
    total = time.perf_counter() - started
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:  # reading alone, same pool size
        list(
            pool.map(
                read_only,
                [paths] * len(communes),
                [year] * len(communes),
                communes,
                chunksize=max(1, len(communes) // (4 * args.workers)),
            )
        )
    reading = time.perf_counter() - started

    result = prepared.result
    rows = int(prepared.quality["rows_read"].sum())
    activity_rows = len(result.tables["activities"]) + int(
        (result.rejected["sheet"] == "Nhật ký hoạt động").sum()
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"communes            {len(prepared.codes)} ({len(prepared.problems)} not readable)")
    print(f"rows (all sheets)   {rows:,} ({activity_rows:,} activity rows)")
    print(f"wall time           {total:.2f} s with {args.workers} workers, reading and cleaning")
    print(
        f"reading alone       {reading:.2f} s in a separate pass ({reading / total:.0%} of the "
        "end-to-end time)"
    )
    print(f"rows per second     {rows / total:,.0f} end to end")
    print(
        f"kept / fixes / rejected  {sum(len(t) for t in result.tables.values()):,} / "
        f"{len(result.fixes):,} / {len(result.rejected):,}"
    )
    print(f"peak memory         {peak_mb:,.0f} MB (main), {children_mb:,.0f} MB (largest worker)")


def read_only(paths: Paths, year: int, commune) -> int:
    raw = read_workbook(find_workbook(paths.raw_year(year), commune))
    return sum(len(t) for t in raw.tables.values())


if __name__ == "__main__":
    main()
