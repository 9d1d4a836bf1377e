"""A year of N generated communes (default 1,000, merged communes of a 2025 province at
post-merger size: about 3,100 rows each) through a real Dask cluster on this machine: `dask
scheduler` and two `dask worker` processes (one thread each, loopback only) started here, the run
sent to them as `cnscd run --scheduler tcp://127.0.0.1:PORT` does, on one data folder.
`--sample-size` makes them communes of 2022 at the sample's size instead.

Prints the cleaning time (on the caller), the reports' wall time, reports per minute per core
(from wall time, and from the workers' CPU time), the peak memory of each worker, and a
projection for the country's 3,321 communes on N machines from those figures.

    .venv/bin/python benchmarks/bench_cluster.py [--communes 1000] [--formats html,pdf]
        [--sample-size]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from pipeline.core.config import ROOT, Paths
from pipeline.registry.tree import EXTRA_REGISTRY_NAME, communes_of_year
from pipeline.running.runner import run_year
from pipeline.sample import POST_MERGER_YEAR, generate
from pipeline.writing.options import ReportOptions

COUNTRY = 3321  # communes from 1 July 2025
WORKERS = 2
LOOPBACK = ("--host", "127.0.0.1", "--no-dashboard")


def start(command: list[str], folder: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command,
        env=env,
        cwd=folder,
        stdout=(folder / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(probe, what: str, seconds: float = 120.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up in {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communes", type=int, default=1000)
    parser.add_argument("--formats", default="html,pdf")
    parser.add_argument("--sample-size", action="store_true", help="2022 communes, sample size")
    args = parser.parse_args()
    formats = tuple(args.formats.split(","))
    merged = not args.sample_size
    year = POST_MERGER_YEAR if merged else 2022

    base = Path(tempfile.mkdtemp(prefix="cnscd-cluster-"))
    paths = Paths.under(base / "shared")
    started = time.perf_counter()
    rows = (300, 500)  # at sample size; merged communes have their own (REAL_SIZE)
    generate(paths.raw, years=(year,), communes=args.communes, activity_rows=rows, merged=merged)
    size = "merged communes at post-merger size" if merged else "communes at the sample's size"
    print(
        f"generated {args.communes} workbooks of {year}, {size}, in "
        f"{time.perf_counter() - started:.0f} s"
    )
    selected = [
        c
        for c in communes_of_year(year, paths.raw / EXTRA_REGISTRY_NAME)
        if c.province_name == "Tỉnh Mẫu"
    ]

    dask = [sys.executable, "-m", "dask"]
    file = base / "scheduler.json"
    command = [*dask, "scheduler", *LOOPBACK, "--port", "0", "--scheduler-file", str(file)]
    processes = [start(command, base, "scheduler")]
    try:
        address = wait_for(
            lambda: file.exists() and file.stat().st_size and json.loads(file.read_text()),
            "the scheduler",
        )["address"]
        for n in range(WORKERS):
            command = [*dask, "worker", address, *LOOPBACK, "--nthreads", "1", "--no-nanny"]
            processes.append(start([*command, "--name", f"w{n}"], base, f"w{n}"))
        for n in range(WORKERS):
            wait_for(lambda n=n: "Registered to:" in (base / f"w{n}.log").read_text(), "a worker")
        workers = [psutil.Process(p.pid) for p in processes[1:]]
        scheduler = psutil.Process(processes[0].pid)

        peak = {p.pid: 0 for p in [scheduler, *workers]}
        first_report: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for process in [scheduler, *workers]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        peak[process.pid] = max(peak[process.pid], process.memory_info().rss)
                if not first_report and (paths.outputs_year(year) / ".work").exists():
                    first_report.append(time.perf_counter())
                time.sleep(0.25)

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        cpu_before = sum(sum(p.cpu_times()[:2]) for p in workers)
        lines: list[str] = []
        started = time.perf_counter()
        runs = run_year(
            paths,
            year,
            selected,
            workers=WORKERS,
            echo=lines.append,
            scheduler=address,
            options=ReportOptions(formats=formats, engine="inprocess"),
        )
        ended = time.perf_counter()
        cpu = sum(sum(p.cpu_times()[:2]) for p in workers) - cpu_before
        stop.set()
        watcher.join()
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    ok = sum(r.status == "ok" for r in runs)
    reports = ended - first_report[0]
    per_core_wall = ok / (reports / 60) / WORKERS
    per_core_cpu = ok / (cpu / 60)
    refused = [line for line in lines if "refused" in line]
    print(
        f"tcp cluster on this machine ({os.cpu_count()} cores, shared; load average "
        f"{os.getloadavg()[0]:.1f}): scheduler + {WORKERS} workers of 1 thread, in-process "
        f"engine, {'+'.join(formats).upper()}"
    )
    print(f"  {ok} of {len(runs)} reports ok" + (f"; {refused}" if refused else ""))
    print(
        f"  cleaning and indicators on the caller (local pool, not on the cluster): "
        f"{first_report[0] - started:.0f} s"
    )
    print(f"  reports: {reports:.0f} s wall, {cpu:.0f} s CPU on the workers")
    print(
        f"  reports per minute per core: {per_core_wall:.1f} from wall time (the machine is "
        f"shared), {per_core_cpu:.1f} from the workers' CPU time"
    )
    print(f"  CPU per report on a worker: {cpu / ok:.2f} s")
    for process in workers:
        print(f"  peak memory of worker {process.pid}: {peak[process.pid] / 2**20:,.0f} MB")
    print(f"  peak memory of the scheduler: {peak[scheduler.pid] / 2**20:,.0f} MB")
    print(
        f"projection (not a measurement) for {COUNTRY:,} communes, the reports alone at the CPU "
        "rate per core measured here (cleaning runs on the caller: see bench_clean.py):"
    )
    for machines, cores in ((1, 2), (1, 8), (4, 8), (10, 8), (34, 8)):
        minutes = COUNTRY / (per_core_cpu * machines * cores)
        print(f"  {machines:>2} machine(s) x {cores} cores: {minutes:7.1f} min")


if __name__ == "__main__":
    main()
