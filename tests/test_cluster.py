"""The real distributed path: `dask scheduler` and `dask worker` as separate processes on the
loopback, the year run through `cnscd run --scheduler tcp://…` on a shared data folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.cluster import run_on_dask
from pipeline.config import ROOT, Paths
from pipeline.errors import PipelineError
from pipeline.options import ReportOptions
from pipeline.runner import run_year
from pipeline.sample import sample_commune

COMMUNES = ("nam-chinh", "nam-trung", "an-lam")  # the tiny district's
MARKER = "BẢN MÃ KHÁC"  # what a report made by the other version of the package would show


class Cluster:
    """Processes started for one test, each in its own process group, all killed at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, name: str, command: list[str], pythonpath: Path) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
        env.pop("CNSCD_SCHEDULER", None)
        log = (self.folder / f"{name}.log").open("w")
        process = subprocess.Popen(
            command,
            env=env,
            cwd=self.folder,  # `python -m` puts the working folder first on the path
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_scheduler(self) -> None:
        file = self.folder / "scheduler.json"
        self._start(
            "scheduler",
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0"]
            + ["--no-dashboard", "--scheduler-file", str(file)],
            ROOT,
        )
        self.address = json.loads(_wait_for(lambda: _read(file), "the scheduler"))["address"]
        assert self.address.startswith("tcp://127.0.0.1:")

    def start_worker(self, name: str, pythonpath: Path = ROOT) -> subprocess.Popen:
        """One worker process (no nanny: killing it kills the worker), one thread."""
        return self._start(
            name,
            [sys.executable, "-m", "dask", "worker", self.address, "--nthreads", "1"]
            + ["--no-nanny", "--host", "127.0.0.1", "--no-dashboard", "--name", name]
            + ["--local-directory", str(self.folder / name)],
            pythonpath,
        )

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for process in self.processes:
            process.wait(timeout=30)

    def log(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in self.folder.glob("*.log"))


def _read(file: Path) -> str | None:
    return file.read_text() if file.exists() and file.stat().st_size else None


def _wait_for(probe, what: str, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up in {seconds:.0f} s")


@pytest.fixture()
def cluster(tmp_path: Path, request: pytest.FixtureRequest):
    found = Cluster(tmp_path / "cluster")
    found.folder.mkdir()
    request.addfinalizer(found.stop)  # every process, even when the test fails
    found.start_scheduler()
    return found


@pytest.fixture()
def other_version(tmp_path: Path) -> Path:
    """A copy of the package whose report template differs: another version of cnscd."""
    root = tmp_path / "other-cnscd"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "pipeline", root / "pipeline", ignore=ignore)
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=ignore)
    template = root / "pipeline" / "templates" / "commune_report.html.j2"
    template.write_text(f"<p>{MARKER}</p>\n" + template.read_text("utf-8"), encoding="utf-8")
    return root


def _outputs(paths: Paths) -> dict[str, bytes]:
    year = paths.outputs_year(2022)
    return {
        p.relative_to(year).as_posix(): p.read_bytes()
        for folder in (f for f in year.iterdir() if f.is_dir())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_tcp_cluster_matches_a_local_run_survives_a_killed_worker_and_refuses_another_version(
    cluster: Cluster, district_copy: Paths, other_version: Path, tmp_path: Path
) -> None:
    from dask.distributed import Client

    def executing(dask_worker) -> tuple[int, int]:  # sent by value: workers cannot import tests
        return os.getpid(), dask_worker.state.executing_count

    started = time.monotonic()
    workers = {name: cluster.start_worker(name) for name in ("good-1", "good-2")}
    cluster.start_worker("other-version", other_version)
    client = Client(cluster.address, timeout="30s")
    try:
        client.wait_for_workers(3, timeout=90)
        named = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        run = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "--data-dir", str(district_copy.base), "run"]
            + ["--year", "2022", "--scheduler", cluster.address, "--engine", "inprocess"]
            + ["--formats", "html"]
            + [arg for slug in COMMUNES for arg in ("--commune", slug)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        cluster.processes.append(run)
        print(f"workers up {time.monotonic() - started:.1f} s")
        work = district_copy.outputs_year(2022) / ".work"
        # A worker's report has begun: its notebook is being written in the work folder.
        _wait_for(lambda: list(work.glob("*/notebook.ipynb")), "a report", seconds=180)
        busy = {
            pid: count
            for pid, count in client.run(executing).values()
            if pid in {p.pid for p in workers.values()}
        }
        victim = next(pid for pid, count in busy.items() if count)  # mid-task
        os.kill(victim, signal.SIGKILL)
        print(f"killed {time.monotonic() - started:.1f} s")
        # What the killed worker was writing is in the work folder only: nothing half-written
        # among the outputs.
        assert not any(
            name.endswith((".html", ".ipynb")) and not content.rstrip().endswith((b"</html>", b"}"))
            for name, content in _outputs(district_copy).items()
        )
        stdout, stderr = run.communicate(timeout=300)
        print(f"cluster run done {time.monotonic() - started:.1f} s")
    finally:
        client.close()
    assert run.returncode == 0, stdout + stderr + cluster.log()
    assert stdout.count(": ok") == len(COMMUNES), stdout
    refused = [line for line in stderr.splitlines() if "refused, not used" in line]
    assert len(refused) == 1, stderr
    assert named["other-version"] in refused[0] and "package files differ" in refused[0]

    local = Paths.under(tmp_path / "local")
    shutil.copytree(district_copy.raw, local.raw)
    selected = [sample_commune(2022, slug) for slug in COMMUNES]
    options = ReportOptions(formats=("html",), engine="inprocess")
    runs = run_year(local, 2022, selected, workers=1, echo=lambda *_: None, options=options)
    assert [r.status for r in runs] == ["ok"] * len(COMMUNES)

    print(f"local done {time.monotonic() - started:.1f} s")
    on_cluster, at_home = _outputs(district_copy), _outputs(local)
    assert sorted(on_cluster) == sorted(at_home)
    assert {name for name in on_cluster if name.endswith("/report.html")} == {
        f"{c.stem}/report.html" for c in selected
    }
    for name, content in at_home.items():
        if name.endswith((".html", ".ipynb", ".csv")):
            assert on_cluster[name] == content, name
    assert not any(MARKER.encode() in content for content in on_cluster.values())
    leftovers = [
        p
        for p in district_copy.outputs_year(2022).rglob("*")
        if p.name == ".work" or ".tmp" in p.name
    ]
    assert leftovers == []


def test_a_cluster_of_other_versions_only_is_refused_with_a_message(
    cluster: Cluster, other_version: Path, tmp_path: Path
) -> None:
    cluster.start_worker("other-version", other_version)
    calls: list[tuple] = []
    warnings: list[str] = []
    with pytest.raises(PipelineError, match="no worker of tcp://127.0.0.1:.* can run"):
        run_on_dask(
            cluster.address,
            1,
            print,
            [("never",)],
            ["item"],
            lambda *done: calls.append(done),
            shared=tmp_path,
            warn=warnings.append,
        )
    assert calls == []
    assert len(warnings) == 1 and "package files differ" in warnings[0], warnings
