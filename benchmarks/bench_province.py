"""A province of N generated communes (default 235), measured in one run:

- `cnscd run --province 99 --force --workers 2` (HTML and PDF, default engine), the whole command:
  cleaning, indicators, reports, the province's comparison and the index;
- a plain loop of the `papermill` and `jupyter nbconvert` command lines over the same communes
  (HTML only, as the loop makes no PDF), timed on the first `--loop-communes` communes and
  scaled to all of them (the whole loop would take as long as the rest together);
- the province's comparison alone (notebook, HTML, landscape PDF, Excel), with its PDF's pages;
- `cnscd run` again with nothing changed, the whole command;
- then a 2025 province of `--merged` communes at post-merger size (default 100, about 3,100 rows
  each; 0 leaves it out): `cnscd run --province 99 --force --workers 2`, HTML and PDF.

`--province-only` measures the two forced runs alone (no HTML-only run, loop, comparison or
re-run).

With --comparison-only, only the comparison: the year is prepared once (not timed), then
`execute_comparison` is timed with the CPU time of each of its steps (notebook, report HTML,
notebook HTML, PDF, Excel); --profile N adds cProfile's N most costly lines.

Wall time and CPU time (of this process's children: less sensitive to other work on a shared
machine) are printed side by side. The workbooks are generated once into a cache folder and reused.

    .venv/bin/python benchmarks/bench_province.py [--communes 235] [--merged 100]
    .venv/bin/python benchmarks/bench_province.py --province-only [--communes 235] [--merged 100]
    .venv/bin/python benchmarks/bench_province.py --comparison-only [--repeat 3] [--profile 25]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_run import command_lines  # benchmarks/ is on the path of a script run from it
from pypdf import PdfReader

from pipeline.core.config import Paths
from pipeline.registry.tree import EXTRA_REGISTRY_NAME, communes_of_year
from pipeline.running import rendering
from pipeline.running.computing import compute_year
from pipeline.running.documents import execute_comparison
from pipeline.running.preparing import prepare
from pipeline.sample import POST_MERGER_YEAR, generate
from pipeline.writing import exports

BIN = Path(sys.executable).parent
YEAR = 2022
PROVINCE = "99"  # the generated communes' province ("Tỉnh Mẫu")
MERGED_YEAR = POST_MERGER_YEAR  # the province of merged communes: a year after the reform


def cached_raw(cache: Path, communes: int, merged: bool = False) -> Path:
    """The raw folder of `communes` generated workbooks of YEAR (or, `merged`, of merged
    communes at post-merger size in MERGED_YEAR), written once into the cache folder."""
    raw = Paths.under(cache / f"{'merged-province' if merged else 'province'}-{communes}").raw
    year = MERGED_YEAR if merged else YEAR
    if not (raw / str(year) / "_planted.csv").exists():
        started = time.perf_counter()
        generate(raw, years=(year,), communes=communes, merged=merged)
        print(f"generated {communes} workbooks in {time.perf_counter() - started:.0f} s ({raw})")
    return raw


def fresh(raw: Path, name: str) -> Paths:
    paths = Paths.under(Path(tempfile.mkdtemp(prefix=f"cnscd-province-{name}-")))
    shutil.copytree(raw, paths.raw)
    return paths


def children_cpu() -> float:
    """CPU seconds of the finished child processes (commands, their workers and kernels): less
    sensitive than wall time to other work on the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cnscd(paths: Paths, *args: str, year: int = YEAR) -> tuple[float, float, str]:
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "cnscd"), "--data-dir", str(paths.base), "run", "--year", str(year), *args],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    elapsed = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(f"{year}:")]
    lines = [line for line in lines if " built, " in line] or lines  # the reports' summary
    summary = lines[-1] if lines else done.stdout[-300:] + done.stderr[-300:]
    return elapsed, children_cpu() - cpu, summary


def plain_loop(raw: Path, count: int) -> tuple[float, float]:
    """What an analyst would script by hand: prepare once (not timed), then two command lines
    per commune; the time of the command lines alone."""
    paths = fresh(raw, "loop")
    communes = [
        c
        for c in communes_of_year(YEAR, paths.raw / EXTRA_REGISTRY_NAME)
        if c.province_code == PROVINCE
    ][:count]
    prepare(paths, YEAR, communes)
    compute_year(paths, YEAR)
    cpu = children_cpu()
    started = time.perf_counter()
    command_lines(paths, YEAR, communes)
    return time.perf_counter() - started, children_cpu() - cpu


STEPS = {  # (module, function) timed as a step of the comparison
    "notebook": (rendering, "_execute_notebook"),
    "HTML": (rendering, "render_html"),
    "PDF": (rendering, "write_pdf"),
    "Excel": (exports, "write_comparison_xlsx"),
}


def comparison_steps(paths: Paths, repeat: int, profile: int) -> None:
    """`execute_comparison` alone, `repeat` times, with the CPU seconds of each step (the first
    run also pays the imports: notebook machinery, Typst, fonts)."""
    spent: dict[str, float] = {}

    def timed(name: str, function):
        def wrapper(*args, **kwargs):
            step = "notebook HTML" if name == "HTML" and kwargs.get("code") else name
            cpu = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[step] = spent.get(step, 0.0) + time.process_time() - cpu

        return wrapper

    originals = {name: getattr(module, attr) for name, (module, attr) in STEPS.items()}
    for name, (module, attr) in STEPS.items():
        setattr(module, attr, timed(name, originals[name]))
    try:
        for attempt in range(1, repeat + 1):
            spent.clear()
            profiler = cProfile.Profile() if profile and attempt == repeat else None
            started, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            done = execute_comparison(paths, YEAR, f"province:{PROVINCE}")
            if profiler:
                profiler.disable()
            wall, total = time.perf_counter() - started, time.process_time() - cpu
            folder = next(paths.outputs_year(YEAR).glob("so-sanh-*"))
            pdf = folder / "comparison.pdf"
            pages = len(PdfReader(pdf).pages) if pdf.exists() else 0
            steps = ", ".join(
                f"{step} {spent.get(step, 0.0):.2f}"
                for step in ("notebook", "HTML", "notebook HTML", "PDF", "Excel")
            )
            other = total - sum(spent.values())
            print(
                f"  comparison, run {attempt}: {wall:6.2f} s, {total:6.2f} s CPU "
                f"[{steps}, other {other:.2f}], {done.status}, PDF of {pages} pages"
            )
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(profile)
                print(out.getvalue())
    finally:
        for name, (module, attr) in STEPS.items():
            setattr(module, attr, originals[name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communes", type=int, default=235)
    parser.add_argument("--loop-communes", type=int, default=10)
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "cnscd-bench"))
    parser.add_argument("--comparison-only", action="store_true")
    parser.add_argument("--province-only", action="store_true", help="the forced runs alone")
    parser.add_argument("--merged", type=int, default=100, help="merged communes (0: none)")
    parser.add_argument("--repeat", type=int, default=2, help="comparison runs (--comparison-only)")
    parser.add_argument("--profile", type=int, default=0, help="cProfile lines of the last run")
    args = parser.parse_args()
    raw = cached_raw(Path(args.cache), args.communes)
    n = args.communes
    if args.comparison_only:
        paths = fresh(raw, "compare")
        communes = [
            c
            for c in communes_of_year(YEAR, paths.raw / EXTRA_REGISTRY_NAME)
            if c.province_code == PROVINCE
        ]
        prepare(paths, YEAR, communes, workers=2)
        compute_year(paths, YEAR)
        print(f"province of {len(communes)} generated communes, year {YEAR}, prepared once")
        comparison_steps(paths, args.repeat, args.profile)
        return
    print(f"province of {n} generated communes, {os.cpu_count()} cores, year {YEAR}")

    paths = fresh(raw, "run")
    wall, cpu, summary = cnscd(paths, "--province", PROVINCE, "--force", "--workers", "2")
    print(
        f"  cnscd run --province {PROVINCE} --force --workers 2 (HTML+PDF, comparison, index): "
        f"{wall:6.1f} s, {cpu:6.1f} s CPU; per commune {wall / n:.2f} s wall, {cpu / n:.2f} s "
        f"CPU  [{summary}]"
    )
    if args.province_only:
        merged_province(Path(args.cache), args.merged)
        return
    html_wall, html_cpu, summary = cnscd(
        fresh(raw, "html"), "--province", PROVINCE, "--force", "--workers", "2", "--formats", "html"
    )
    print(
        f"  the same, HTML only:  {html_wall:6.1f} s, {html_cpu:6.1f} s CPU "
        f"({html_cpu / n:.2f} s per commune)  [{summary}]"
    )
    loop_n = min(args.loop_communes, n)
    loop_wall, loop_cpu = (value * n / loop_n for value in plain_loop(raw, loop_n))
    print(
        f"  plain loop of papermill + nbconvert, HTML only: {loop_wall:6.1f} s, {loop_cpu:6.1f} s "
        f"CPU for {n} (measured on {loop_n}, scaled); the pipeline, HTML only, is "
        f"{loop_wall / html_wall:.1f}x faster ({loop_cpu / html_cpu:.1f}x less CPU)"
    )

    started, cpu = time.perf_counter(), time.process_time()
    done = execute_comparison(paths, YEAR, f"province:{PROVINCE}")
    compared, compared_cpu = time.perf_counter() - started, time.process_time() - cpu
    folder = next(paths.outputs_year(YEAR).glob("so-sanh-*"))
    pages = len(PdfReader(folder / "comparison.pdf").pages) if done.status == "ok" else 0
    print(
        f"  comparison of {n} communes (notebook, HTML, PDF, Excel): {compared:6.1f} s, "
        f"{compared_cpu:6.1f} s CPU, "
        f"{done.status}, PDF of {pages} pages"
    )

    rerun, rerun_cpu, summary = cnscd(paths, "--province", PROVINCE, "--workers", "2")
    print(
        f"  re-run with nothing changed, the whole command: {rerun:.2f} s, {rerun_cpu:.2f} s CPU"
        f"  [{summary}]"
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  peak memory of one process (the largest command or worker): {peak:,.0f} MB")
    merged_province(Path(args.cache), args.merged)


def merged_province(cache: Path, count: int) -> None:
    """A province after the July 2025 reform: `count` merged communes at post-merger size,
    forced, HTML and PDF, on 2 workers (the whole command, as above)."""
    if not count:
        return
    raw = cached_raw(cache, count, merged=True)
    wall, cpu, summary = cnscd(
        fresh(raw, "merged"), "--province", PROVINCE, "--force", "--workers", "2", year=MERGED_YEAR
    )
    print(
        f"{MERGED_YEAR} province of {count} merged communes at post-merger size, "
        f"cnscd run --province {PROVINCE} --force --workers 2 (HTML+PDF, comparison, index): "
        f"{wall:6.1f} s, {cpu:6.1f} s CPU; per commune {wall / count:.2f} s wall, "
        f"{cpu / count:.2f} s CPU  [{summary}]"
    )
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  peak memory of one process so far (the largest command or worker): {peak:,.0f} MB")


if __name__ == "__main__":
    main()
