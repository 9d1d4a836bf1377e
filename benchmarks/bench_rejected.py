"""The cost of rejected rows: one commune's CSV folder whose activity log holds N rows (default
1,000,000) dated in another year, all rejected, read and cleaned as `cnscd run` does
(`preparing.prepare`: a worker process reads and cleans, the main process stores the tables),
then the commune's rejected rows written beside its report (`bookkeeping.record_year`).

Prints the wall and CPU time of each step, the main process's peak memory (its own, apart from
the worker's) and the worker's, and the number of rejected rows stored. The CSV folder is made
once into a cache folder and reused. `--profile` prints instead where the worker's time goes
(`preparing.prepare_chunk`, run in this process).

    .venv/bin/python benchmarks/bench_rejected.py [--rows 1000000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from pipeline.core.config import Paths
from pipeline.running.bookkeeping import record_year
from pipeline.running.documents import CommuneRun
from pipeline.running.preparing import prepare, prepare_chunk
from pipeline.sample import generate, sample_commune

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from workbooks import as_csv_folder  # the tests' converter, not a copy of it

YEAR = 2022
SLUG = "nam-chinh"
LOG = "Nhật ký hoạt động.csv"


def make_input(paths: Paths, rows: int) -> Path:
    """The sample commune's workbook as a CSV folder, its activity log repeated to `rows` rows
    dated 2019 (outside the report's year: every one rejected)."""
    commune = sample_commune(YEAR, SLUG)
    folder = paths.raw_year(YEAR) / commune.stem
    if (folder / LOG).exists():
        return folder
    made = Path(tempfile.mkdtemp())
    [workbook] = generate(made, years=(YEAR,), only=(SLUG,))
    as_csv_folder(workbook, folder, lambda text: text.encode("utf-8"))
    with open(folder / LOG, encoding="utf-8", newline="") as f:
        header, *log = list(csv.reader(f))
    date = header.index("Ngày")
    with open(folder / LOG, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for n in range(rows):
            row = list(log[n % len(log)])
            row[date] = f"{1 + n % 28:02d}/{1 + n % 12:02d}/2019"
            writer.writerow(row)
    return folder


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "cnscd-bench"))
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    paths = Paths.under(Path(args.cache) / f"rejected-{args.rows}")
    started = time.perf_counter()
    make_input(paths, args.rows)
    print(f"input: {args.rows:,} out-of-year activity rows ({time.perf_counter() - started:.1f} s)")
    commune = sample_commune(YEAR, SLUG)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        prepare_chunk(paths, YEAR, [commune])
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        print(f"peak memory: {peak_mb(resource.RUSAGE_SELF):,.0f} MB")
        return

    before = (time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN))
    problems = prepare(paths, YEAR, [commune], workers=2)
    after = (time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN))
    print(
        f"prepare: {after[0] - before[0]:.1f} s wall, main process {after[1] - before[1]:.1f} s "
        f"CPU, worker {after[2] - before[2]:.1f} s CPU"
        + (f"; problems {problems}" if problems else "")
    )
    print(
        f"  peak memory: main process {peak_mb(resource.RUSAGE_SELF):,.0f} MB, worker "
        f"{peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB"
    )

    folder = paths.outputs_year(YEAR) / commune.stem
    folder.mkdir(parents=True, exist_ok=True)
    before = (time.perf_counter(), cpu(resource.RUSAGE_SELF))
    record_year(paths, YEAR, [CommuneRun(commune, "ok")], {}, index=False)
    after = (time.perf_counter(), cpu(resource.RUSAGE_SELF))
    wall, used = after[0] - before[0], after[1] - before[1]
    print(f"record (rejected.csv): {wall:.1f} s wall, {used:.1f} s CPU")
    print(f"  peak memory: main process {peak_mb(resource.RUSAGE_SELF):,.0f} MB")
    stored = pd.read_parquet(
        paths.processed_year(YEAR) / "rejected.parquet", columns=["commune_code", "reason_code"]
    )
    print(
        f"rejected rows stored: {len(stored):,} ({stored['reason_code'].value_counts().to_dict()})"
    )


if __name__ == "__main__":
    main()
