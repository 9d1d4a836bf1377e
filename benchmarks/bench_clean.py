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
from pathlib import Path

from pipeline.clean import clean_tables, stack
from pipeline.config import Paths
from pipeline.registry import EXTRA_REGISTRY_NAME, communes_of_year
from pipeline.runner import read_workbooks
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
        print(f"generated {args.communes} workbooks in {time.perf_counter() - started:.1f} s "
              f"(cached in {paths.raw})")
    communes = [c for c in communes_of_year(year, paths.raw / EXTRA_REGISTRY_NAME)
                if c.province_name == "Tỉnh Mẫu"]  # the generated communes only

    started = time.perf_counter()
    workbooks = read_workbooks(paths, year, communes, workers=args.workers)
    read_done = time.perf_counter()
    readable = [(raw, c.code) for raw, c in zip(workbooks, communes, strict=True)
                if not isinstance(raw, str)]
    stacked = stack(readable)
    result = clean_tables(stacked, year)
    finished = time.perf_counter()

    rows = sum(len(table) for table in stacked.values())
    activity_rows = len(stacked["activities"])
    total, reading = finished - started, read_done - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"communes            {len(readable)}")
    print(f"rows (all sheets)   {rows:,} ({activity_rows:,} activity rows)")
    print(f"wall time           {total:.2f} s (reading {reading:.2f} s = {reading / total:.0%}, "
          f"{args.workers} reading workers)")
    print(f"rows per second     {rows / total:,.0f} end to end "
          f"({rows / (finished - read_done):,.0f} cleaning alone)")
    print(f"kept / fixes / rejected  {sum(len(t) for t in result.tables.values()):,} / "
          f"{len(result.fixes):,} / {len(result.rejected):,}")
    print(f"peak memory         {peak_mb:,.0f} MB (main), {children_mb:,.0f} MB (largest reader)")


if __name__ == "__main__":
    main()
