"""Cleaning speed: a generated year of N communes (default 1,000: about 766,000 rows of all
sheets, 510,000 of them activity rows), then, in the same run, a 2025 province of M merged
communes at post-merger size (default 250, about 3,100 rows each: as many rows again; `--merged
0` leaves it out).

Prints rows per second end to end from the workbooks (reading included), the CPU time (the
steady figure on a shared machine), the share of wall and CPU time spent reading (a separate
pass that only reads), and peak memory. The workbooks are generated once into a cache folder
and reused.
`--profile N` prints where the time of reading and cleaning N communes in one process goes;
`--bombs` prints the time and peak memory of refusing the hostile workbooks of issue 19 (a sheet
of 4 MB inflating to 4 GiB, one cell at XFD1048576), each read in a process of its own;
`--readers N` the CPU per workbook of the readers one could use (python-calamine as the product
calls it, fastexcel if installed, openpyxl read-only) over N of the cached workbooks of each size.

    .venv/bin/python benchmarks/bench_clean.py [--communes 1000] [--merged 250] [--workers 2]
    .venv/bin/python benchmarks/bench_clean.py --profile 100 [--merged 0]
    .venv/bin/python benchmarks/bench_clean.py --bombs
    .venv/bin/python benchmarks/bench_clean.py --readers 20 [--communes 1000] [--merged 250]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import python_calamine

from pipeline.core.config import Paths
from pipeline.reading.ingest import read_workbook
from pipeline.reading.locate import find_workbook
from pipeline.registry.tree import EXTRA_REGISTRY_NAME, communes_of_year
from pipeline.running.preparing import prepare_chunk, prepare_communes
from pipeline.sample import POST_MERGER_YEAR, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communes", type=int, default=1000)
    parser.add_argument("--merged", type=int, default=250, metavar="M")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "cnscd-bench"))
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--bombs", action="store_true")
    parser.add_argument("--readers", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.bombs:
        bombs(Path(args.cache) / "bombs")
        return

    runs = [("sample size", 2022, args.communes, False)]
    if args.merged:
        runs.append(("post-merger size", POST_MERGER_YEAR, args.merged, True))
    for label, year, count, merged in runs:
        paths, communes = cached(Path(args.cache), year, count, merged)
        if args.profile:
            profile(paths, year, communes[: args.profile])
            continue
        if args.readers:
            print(f"{label}: {args.readers} workbooks, CPU per workbook (least of 3 passes)")
            readers([find_workbook(paths.raw_year(year), c) for c in communes[: args.readers]])
            continue
        print(f"{label}: {count} generated communes, year {year}")
        measure(paths, year, communes, args.workers)


def cached(cache: Path, year: int, count: int, merged: bool) -> tuple[Paths, list]:
    """The generated workbooks of `count` communes (merged ones of post-merger size), written
    once into the cache folder, and the communes."""
    paths = Paths.under(cache / (f"merged-{count}" if merged else f"communes-{count}"))
    if not (paths.raw_year(year) / "_planted.csv").exists():
        started = time.perf_counter()
        rows = (400, 600)  # at sample size; merged communes have their own (REAL_SIZE)
        generate(paths.raw, years=(year,), communes=count, activity_rows=rows, merged=merged)
        print(
            f"generated {count} workbooks in {time.perf_counter() - started:.1f} s "
            f"(cached in {paths.raw})"
        )
    communes = [
        c
        for c in communes_of_year(year, paths.raw / EXTRA_REGISTRY_NAME)
        if c.province_name == "Tỉnh Mẫu"
    ]  # the generated communes only
    return paths, communes


def measure(paths: Paths, year: int, communes: list, workers: int) -> None:
    started, cpu_before = time.perf_counter(), _cpu()
    prepared = prepare_communes(paths, year, communes, workers=workers)
    total, cpu = time.perf_counter() - started, _cpu() - cpu_before
    started, cpu_before = time.perf_counter(), _cpu()
    with ProcessPoolExecutor(max_workers=workers) as pool:  # reading alone, same pool size
        list(
            pool.map(
                read_only,
                [paths] * len(communes),
                [year] * len(communes),
                communes,
                chunksize=max(1, len(communes) // (4 * workers)),
            )
        )
    reading, reading_cpu = time.perf_counter() - started, _cpu() - cpu_before

    result = prepared.result
    rows = int(prepared.quality["rows_read"].sum())
    activity_rows = len(result.tables["activities"]) + int(
        (result.rejected["sheet"] == "Nhật ký hoạt động").sum()
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  communes            {len(prepared.codes)} ({len(prepared.problems)} not readable)")
    print(f"  rows (all sheets)   {rows:,} ({activity_rows:,} activity rows)")
    print(f"  wall time           {total:.2f} s with {workers} workers, reading and cleaning")
    print(
        f"  reading alone       {reading:.2f} s in a separate pass ({reading / total:.0%} of the "
        f"end-to-end time), {reading_cpu:.2f} s of CPU ({reading_cpu / cpu:.0%} of its CPU time)"
    )
    print(f"  rows per second     {rows / total:,.0f} end to end")
    print(
        f"  CPU time            {cpu:.2f} s (main and workers): {rows / cpu:,.0f} rows per "
        f"CPU-second, {rows / (cpu / workers):,.0f} rows/s on {workers} idle cores"
    )
    print(
        f"  kept / fixes / rejected  {sum(len(t) for t in result.tables.values()):,} / "
        f"{len(result.fixes):,} / {len(result.rejected):,}"
    )
    print(f"  peak memory         {peak_mb:,.0f} MB (main), {children_mb:,.0f} MB (largest worker)")


def profile(paths: Paths, year: int, communes: list) -> None:
    """Reading and cleaning `communes` in this process, under cProfile: the top lines."""
    profiler = cProfile.Profile()
    started, cpu_before = time.perf_counter(), time.process_time()
    profiler.enable()
    prepared = prepare_chunk(paths, year, communes)
    profiler.disable()
    took, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    rows = int(prepared.quality["rows_read"].sum())
    print(
        f"{len(communes)} communes, {rows:,} rows in {took:.2f} s ({cpu:.2f} s of CPU) in one "
        f"process, profiled: {rows / cpu:,.0f} rows per CPU-second under the profiler"
    )
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(25)


def _calamine(path: Path) -> list:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return [book.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in book.sheet_names]


def _fastexcel(path: Path, dtypes: str | None = None) -> list:
    import fastexcel

    book = fastexcel.read_excel(str(path))
    kwargs = {"dtypes": dtypes} if dtypes else {}
    return [book.load_sheet(n, header_row=None, **kwargs).to_arrow() for n in book.sheet_names]


def _openpyxl(path: Path) -> list:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
    finally:
        book.close()


def readers(paths: list[Path]) -> None:
    """Every sheet of each workbook read whole by each reader: the least CPU of 3 passes."""
    candidates = {
        "python-calamine, to_python (the product's)": _calamine,
        "fastexcel, Arrow, typed by column": _fastexcel,
        "fastexcel, Arrow, every cell as text": partial(_fastexcel, dtypes="string"),
        "openpyxl, read-only": _openpyxl,
    }
    for name, read in candidates.items():
        try:
            read(paths[0])  # imports, and a first file
        except ImportError as exc:
            print(f"  {name:45} not installed ({exc.name})")
            continue
        passes = []
        for _ in range(3):
            cpu = time.process_time()
            for path in paths:
                read(path)
            passes.append(time.process_time() - cpu)
        print(f"  {name:45} {min(passes) / len(paths) * 1000:7.1f} ms")


def _bomb(path: Path, megabytes: int) -> Path:
    """A workbook whose activity sheet inflates to `megabytes` of spaces (valid XML)."""
    if path.exists():
        return path
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Nhật ký hoạt động"
    book.active["A1"] = "Ngày"
    plain = path.with_suffix(".plain.xlsx")
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename != "xl/worksheets/sheet1.xml":
                out.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            head, tail = data.split(b"<sheetData>", 1)
            info = zipfile.ZipInfo(item.filename, date_time=item.date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            with out.open(info, "w", force_zip64=True) as stream:
                stream.write(head + b"<sheetData>")
                block = b" " * (1024 * 1024)
                for _ in range(megabytes):
                    stream.write(block)
                stream.write(tail)
    plain.unlink()
    return path


def _stray_cell(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Nhật ký hoạt động"
    book.active["A1"] = "Ngày"
    book.active["XFD1048576"] = "x"
    book.save(path)
    return path


_READ_ONE = """
import resource, sys, time
from pathlib import Path
from pipeline.core.errors import PipelineError
from pipeline.reading.ingest import read_workbook
started = time.perf_counter()
try:
    read_workbook(Path(sys.argv[1]))
    outcome = "read"
except PipelineError as exc:
    outcome = str(exc)
took = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{took:.2f} s, peak {peak:,.0f} MB: {outcome[:150]}")
"""


def bombs(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cases = {
        "sheet of 4 MB inflating to 4 GiB": _bomb(folder / "bomb-4gib.xlsx", 4096),
        "one cell at XFD1048576": _stray_cell(folder / "xfd.xlsx"),
    }
    for name, path in cases.items():
        size = path.stat().st_size / 1024
        done = subprocess.run(
            [sys.executable, "-c", _READ_ONE, str(path)], capture_output=True, text=True
        )
        print(f"{name} ({size:,.0f} KB): {done.stdout.strip() or done.stderr.strip()[-300:]}")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers): on a
    machine shared with other work, the figure wall time cannot give."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def read_only(paths: Paths, year: int, commune) -> int:
    raw = read_workbook(find_workbook(paths.raw_year(year), commune))
    return sum(len(t) for t in raw.tables.values())


if __name__ == "__main__":
    main()
