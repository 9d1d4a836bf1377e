"""Kills and Ctrl-C: no state the next run trusts wrongly, no orphan holding the year's lock."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from pipeline.core.config import ROOT, Paths

RUN = ["run", "--year", "2022", "--formats", "html", "--engine", "inprocess"]
# A run whose stage `boundary` is followed by SIGKILL: what a power cut at that point leaves.
KILLED_AFTER = """
import os, signal, sys
import pipeline.running.runner as runner
boundary = sys.argv[1]
real = getattr(runner, boundary)
def then_die(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(runner, boundary, then_die)
from pipeline.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _cnscd(paths: Paths, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipeline.cli", "--data-dir", str(paths.base), *RUN, *args]
    return subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=600)


def _outputs(paths: Paths) -> dict[str, bytes]:
    folder = paths.outputs_year(2022) / "10627-nam-chinh"
    found = {name: (folder / name).read_bytes() for name in ("report.html", "notebook.ipynb")}
    found["indicators"] = (paths.processed_year(2022) / "indicators.parquet").read_bytes()
    return found


@pytest.fixture(scope="module")
def uninterrupted(tiny_district: Paths, tmp_path_factory: pytest.TempPathFactory) -> dict:
    paths = Paths.under(tmp_path_factory.mktemp("uninterrupted"))
    shutil.copytree(tiny_district.raw, paths.raw)
    assert _cnscd(paths, "--commune", "nam-chinh").returncode == 0
    return _outputs(paths)


@pytest.mark.parametrize("boundary", ["prepare", "compute_year", "execute_all"])
def test_a_kill_at_a_stage_boundary_is_repaired_by_the_next_run(
    boundary: str, district_copy: Paths, uninterrupted: dict
) -> None:
    data = ["--data-dir", str(district_copy.base)]
    command = [sys.executable, "-c", KILLED_AFTER, boundary, *data, *RUN, "--commune", "nam-chinh"]
    killed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL
    again = _cnscd(district_copy, "--commune", "nam-chinh")
    assert again.returncode == 0, again.stderr
    assert "up to date" not in again.stdout.splitlines()[-1]  # something was redone
    assert _outputs(district_copy) == uninterrupted


def _start(paths: Paths, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline.cli", "--data-dir", str(paths.base), *RUN, *args]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        # As from a terminal: a run started in the background (CI) inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for(process: subprocess.Popen, text: str) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if text in line:
            return
    stderr = process.stderr.read() if process.stderr else ""
    raise AssertionError(f"the run ended before '{text}': {stderr}")


def test_ctrl_c_stops_promptly_and_records_what_finished(district_copy: Paths) -> None:
    process = _start(district_copy, "--district", "Nam Sách", "--workers", "1")
    _wait_for(process, "[1/")  # one commune's report is done, the next one is running
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    statuses = list(district_copy.outputs_year(2022).glob("*/status.json"))
    assert any('"status": "ok"' in p.read_text("utf-8") for p in statuses)
    assert (district_copy.outputs_year(2022) / "index.html").exists()
    assert not (district_copy.outputs_year(2022) / ".work").exists()


def test_a_killed_run_leaves_no_worker_holding_the_lock(district_copy: Paths) -> None:
    process = _start(district_copy, "--workers", "2")
    _wait_for(process, "[1/")  # the pool is at work
    workers = psutil.Process(process.pid).children(recursive=True)
    process.kill()
    process.wait(timeout=30)
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, [p.pid for p in alive]
    lock = district_copy.outputs_year(2022) / ".lock"
    with open(lock, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: raises if anyone holds it
    again = _cnscd(district_copy)
    assert again.returncode == 0, again.stderr
    assert not list(Path(district_copy.outputs_year(2022)).rglob(".*.tmp*"))
