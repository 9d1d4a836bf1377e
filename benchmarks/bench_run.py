"""The year's run on the sample district (19 communes), measured in one run:

- 2 workers against 1 worker (HTML and PDF), with the standard kernel engine;
- the pipeline against a plain loop of the `papermill` and `jupyter nbconvert` command lines
  (HTML only, as the loop makes no PDF), with the kernel engine and with the in-process engine;
- a re-run with nothing changed;
- optionally (--cluster-communes N) N generated communes through a 2-worker Dask LocalCluster,
  with reports per minute and peak memory of the scheduler and workers.

With --forced, only this, in one run: the sample's forced year as a user types it (`cnscd run
--year 2022 --force`, default engine and formats) with 2 workers and with 1, per commune, and
the whole `cnscd run` again with nothing changed, each against one bare `papermill`
command-line run of a two-cell notebook measured in the same run; wall and CPU (the command's
whole process tree) side by side, since 2 workers against one papermill process is not the same
number of processes. --post-merger adds the same for the sample's two merged 2025 units of real
size.

    .venv/bin/python benchmarks/bench_run.py [--cluster-communes 0]
    .venv/bin/python benchmarks/bench_run.py --forced [--post-merger]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pipeline.core.config import Paths
from pipeline.registry.tree import EXTRA_REGISTRY_NAME, communes_of_year
from pipeline.running.documents import REPORT_NOTEBOOK
from pipeline.running.runner import run_year
from pipeline.sample import (
    POST_MERGER_YEAR,
    generate,
    post_merger_communes,
    sample_communes,
)
from pipeline.writing.options import ReportOptions

BIN = Path(sys.executable).parent


def timed_run(raw: Path, name: str, **kwargs) -> float:
    paths = Paths.under(Path(tempfile.mkdtemp(prefix=f"cnscd-run-{name}-")))
    shutil.copytree(raw, paths.raw)
    communes = sample_communes(2022)
    started = time.perf_counter()
    runs = run_year(paths, 2022, communes, echo=lambda *_: None, **kwargs)
    elapsed = time.perf_counter() - started
    assert all(r.status == "ok" for r in runs), [r.message for r in runs if r.status != "ok"]
    return elapsed


def command_lines(paths: Paths, year: int, communes: list) -> None:
    """The two command lines an analyst would script per commune: papermill, then nbconvert."""
    out = paths.outputs_year(year)
    out.mkdir(parents=True)
    for commune in communes:
        notebook = out / f"{commune.code}.ipynb"
        folder = out / commune.code  # the notebook writes its evidence beside itself
        folder.mkdir()
        subprocess.run(
            [
                str(BIN / "papermill"),
                "--no-progress-bar",
                "--cwd",
                str(folder),
                str(REPORT_NOTEBOOK),
                str(notebook),
                "-p",
                "year",
                str(year),
                "-r",
                "commune",
                commune.code,
                "-p",
                "data_dir",
                str(paths.base),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(notebook)],
            check=True,
            capture_output=True,
        )


def plain_loop(raw: Path) -> float:
    """What an analyst would script by hand: prepare once, then two command lines per commune."""
    paths = Paths.under(Path(tempfile.mkdtemp(prefix="cnscd-run-loop-")))
    shutil.copytree(raw, paths.raw)
    communes = sample_communes(2022)
    started = time.perf_counter()
    from pipeline.running.computing import compute_year
    from pipeline.running.preparing import prepare

    prepare(paths, 2022, communes)
    compute_year(paths, 2022)
    command_lines(paths, 2022, communes)
    return time.perf_counter() - started


def children_cpu() -> float:
    """CPU seconds of the finished child processes (and theirs, once waited for)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(command: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall and CPU seconds of one command line (its whole process tree)."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    return time.perf_counter() - started, children_cpu() - cpu, done


def bare_papermill(folder: Path, runs: int = 3) -> tuple[float, float]:
    """The median wall and CPU seconds of a bare `papermill` run of a two-cell notebook."""
    import nbformat

    two_cells = folder / "two-cells.ipynb"
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("x + 1")]
    )
    notebook.cells[0].metadata["tags"] = ["parameters"]
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    nbformat.write(notebook, two_cells)
    command = [str(BIN / "papermill"), "--no-progress-bar", str(two_cells), str(folder / "o.ipynb")]
    measured = [timed(command)[:2] for _ in range(runs)]
    return statistics.median(w for w, _ in measured), statistics.median(c for _, c in measured)


def forced_year(raw: Path, year: int, count: int, label: str, reruns: int = 3) -> None:
    """The year as a user types it, forced with 2 workers and with 1, and run again unchanged,
    each against a bare papermill run measured in the same run: wall and CPU ratios."""
    paths = Paths.under(Path(tempfile.mkdtemp(prefix="cnscd-run-forced-")))
    shutil.copytree(raw, paths.raw)
    command = [str(BIN / "cnscd"), "--data-dir", str(paths.base), "run", "--year", str(year)]
    first = subprocess.run(command, capture_output=True, text=True)  # cleaned once, as a user has
    assert first.returncode == 0, first.stderr[-500:]
    bare_wall, bare_cpu = bare_papermill(paths.base)
    print(
        f"{label}, {count} communes, {os.cpu_count()} cores; one bare papermill run of a two-cell"
        f" notebook: {bare_wall:.2f} s wall, {bare_cpu:.2f} s CPU (median of 3)"
    )
    for workers in (2, 1):
        wall, cpu, done = timed([*command, "--force", "--workers", str(workers)])
        assert done.returncode == 0, done.stderr[-500:]
        print(
            f"  forced year, --workers {workers}: {wall:.1f} s wall, {cpu:.1f} s CPU = "
            f"{wall / count:.2f} s wall, {cpu / count:.2f} s CPU per commune; per commune / bare "
            f"papermill: wall {wall / count / bare_wall:.2f}x, CPU {cpu / count / bare_cpu:.2f}x"
            " (aim <= 0.30x)"
        )
    subprocess.run(command, capture_output=True, check=True)  # the record of an unchanged run
    measured = [timed(command) for _ in range(reruns)]
    said = measured[-1][2].stdout.strip().splitlines()
    wall = statistics.median(w for w, _, _ in measured)
    cpu = statistics.median(c for _, c, _ in measured)
    print(
        f"  unchanged re-run (the whole `cnscd run`, median of {reruns}): {wall:.2f} s wall, "
        f"{cpu:.2f} s CPU; / bare papermill: wall {wall / bare_wall:.2f}x, CPU "
        f"{cpu / bare_cpu:.2f}x (aim <= 0.60x, and <= 1 s)  [{said[0] if said else ''}]"
    )


def cluster_run(communes: int) -> None:
    import psutil

    base = Path(tempfile.mkdtemp(prefix="cnscd-run-cluster-"))
    paths = Paths.under(base)
    generate(paths.raw, years=(2022,), communes=communes, activity_rows=(300, 500))
    selected = [
        c
        for c in communes_of_year(2022, paths.raw / EXTRA_REGISTRY_NAME)
        if c.province_name == "Tỉnh Mẫu"
    ]
    peak = {"rss": 0}
    stop = threading.Event()

    def sample() -> None:  # the whole process tree: this process, scheduler, workers, kernels
        me = psutil.Process()
        while not stop.is_set():
            total = sum(
                p.memory_info().rss for p in [me, *me.children(recursive=True)] if p.is_running()
            )
            peak["rss"] = max(peak["rss"], total)
            time.sleep(0.5)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    runs = run_year(
        paths,
        2022,
        selected,
        workers=2,
        echo=lambda *_: None,
        scheduler="local",
        options=ReportOptions(engine="inprocess"),
    )
    elapsed = time.perf_counter() - started
    stop.set()
    ok = sum(r.status == "ok" for r in runs)
    print(
        f"Dask LocalCluster, 2 workers, {communes} communes (in-process engine, HTML+PDF): "
        f"{ok} ok in {elapsed:.0f} s = {ok / elapsed * 60:.0f} reports per minute; "
        f"peak memory of the process tree {peak['rss'] / 2**20:,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cluster-communes", type=int, default=0)
    parser.add_argument("--forced", action="store_true", help="the forced year only")
    parser.add_argument(
        "--post-merger",
        action="store_true",
        help="with --forced: also the sample's two merged 2025 units of real size",
    )
    args = parser.parse_args()
    raw = Path(tempfile.mkdtemp(prefix="cnscd-run-raw-"))
    generate(raw, years=(2022,))
    if args.forced:
        forced_year(raw, 2022, len(sample_communes(2022)), "sample district (Nam Sách) 2022")
        if args.post_merger:
            merged = Path(tempfile.mkdtemp(prefix="cnscd-run-raw-merged-"))
            units = post_merger_communes()
            generate(merged, years=(POST_MERGER_YEAR,), units=list(units))
            label = f"post-merger size ({', '.join(c.name for c in units)}) {POST_MERGER_YEAR}"
            forced_year(merged, POST_MERGER_YEAR, len(units), label)
        return
    kernel = ReportOptions(engine="kernel")
    one = timed_run(raw, "1w", workers=1, options=kernel)
    two = timed_run(raw, "2w", workers=2, options=kernel)
    loop = plain_loop(raw)
    two_html = timed_run(
        raw, "2w-html", workers=2, options=ReportOptions(formats=("html",), engine="kernel")
    )
    inproc_html = timed_run(
        raw, "2w-inproc", workers=2, options=ReportOptions(formats=("html",), engine="inprocess")
    )
    inproc = timed_run(raw, "2w-inproc-pdf", workers=2, options=ReportOptions(engine="inprocess"))

    paths = Paths.under(Path(tempfile.mkdtemp(prefix="cnscd-run-rerun-")))
    shutil.copytree(raw, paths.raw)
    communes = sample_communes(2022)
    run_year(paths, 2022, communes, workers=2, echo=lambda *_: None)
    started = time.perf_counter()
    run_year(paths, 2022, communes, workers=2, echo=lambda *_: None)
    rerun = time.perf_counter() - started
    cli = subprocess.run(
        [str(BIN / "cnscd"), "--data-dir", str(paths.base), "run", "--year", "2022"],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "cnscd"), "--data-dir", str(paths.base), "run", "--year", "2022"],
        capture_output=True,
        check=True,
    )
    rerun_cli = time.perf_counter() - started

    print(f"sample district, 19 communes, {os.cpu_count()} cores")
    print(
        f"  HTML+PDF, kernel engine:    1 worker {one:6.1f} s   2 workers {two:6.1f} s   "
        f"speed-up {one / two:.2f}x"
    )
    print(
        f"  HTML+PDF, in-process engine, 2 workers {inproc:6.1f} s   ({one / inproc:.2f}x "
        "over 1 worker with kernels)"
    )
    print(f"  HTML only: plain loop of papermill + nbconvert command lines {loop:6.1f} s")
    print(
        f"             pipeline, 2 workers, kernel engine {two_html:6.1f} s   "
        f"({loop / two_html:.2f}x over the loop)"
    )
    print(
        f"             pipeline, 2 workers, in-process engine {inproc_html:6.1f} s   "
        f"({loop / inproc_html:.2f}x over the loop)"
    )
    print(
        f"  re-run with nothing changed: {rerun:.2f} s in the run, {rerun_cli:.2f} s for the "
        f"whole `cnscd run` command ({cli.stdout.strip().splitlines()[-2]})"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process {peak_mb:,.0f} MB")
    if args.cluster_communes:
        cluster_run(args.cluster_communes)


if __name__ == "__main__":
    main()
