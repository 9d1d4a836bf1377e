"""The real distributed path: `dask scheduler` and `dask worker` as separate processes on the
loopback, the year run through `cnscd run --scheduler tcp://…` on a shared data folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.core.config import ROOT, Paths
from pipeline.core.errors import PipelineError
from pipeline.measuring.settings import load_settings
from pipeline.running.cluster import run_on_dask
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions

COMMUNES = ("nam-chinh", "nam-trung", "an-lam")  # the tiny district's
DASK = (sys.executable, "-m", "dask")
LOOPBACK = ("--host", "127.0.0.1", "--no-dashboard")
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

    def start_scheduler(self, tls: tuple[str, ...] = ()) -> None:
        """`tls`: the `--tls-…` options (and the scheduler listens on tls://)."""
        file = self.folder / "scheduler.json"
        host = ("--host", "tls://127.0.0.1", "--no-dashboard") if tls else LOOPBACK
        self._start(
            "scheduler",
            [*DASK, "scheduler", *host, "--port", "0", "--scheduler-file", str(file), *tls],
            ROOT,
        )
        self.address = json.loads(_wait_for(lambda: _read(file), "the scheduler"))["address"]
        assert self.address.startswith("tls://127.0.0.1:" if tls else "tcp://127.0.0.1:")

    def start_worker(
        self,
        name: str,
        pythonpath: Path = ROOT,
        registered: bool = True,
        extra: tuple[str, ...] = (),
    ) -> subprocess.Popen:
        """One worker process (no nanny: killing it kills the worker), one thread; returns once
        it has registered with the scheduler, unless told not to wait."""
        process = self._start(
            name,
            [
                *(*DASK, "worker", self.address, *LOOPBACK, "--nthreads", "1", "--no-nanny"),
                *("--name", name, "--local-directory", str(self.folder / name)),
                *extra,
            ],
            pythonpath,
        )
        log = self.folder / f"{name}.log"
        if registered:
            _wait_for(lambda: "Registered to:" in log.read_text(), f"worker {name}")
        return process

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):  # the test killed it already
                os.killpg(process.pid, signal.SIGKILL)
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
    """The communes' output files (not the work folder `.work`, where reports are made)."""
    year = paths.outputs_year(2022)
    return {
        p.relative_to(year).as_posix(): p.read_bytes()
        for folder in (f for f in year.iterdir() if f.is_dir() and not f.name.startswith("."))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_tcp_cluster_matches_a_local_run_survives_a_killed_worker_and_refuses_another_version(
    cluster: Cluster, district_copy: Paths, other_version: Path, tmp_path: Path
) -> None:
    from dask.distributed import Client

    def executing(dask_worker) -> tuple[int, int]:  # sent by value: workers cannot import tests
        return os.getpid(), dask_worker.state.executing_count

    # They start while the local run below is made; the client waits for them after it.
    workers = {name: cluster.start_worker(name, registered=False) for name in ("good-1", "good-2")}
    cluster.start_worker("other-version", other_version, registered=False)

    # Meanwhile, the same reports from a local process pool. The cluster's run then starts from
    # the tables this run cleaned (cleaning is local in both), so its reports come sooner.
    local = Paths.under(tmp_path / "local")
    shutil.copytree(district_copy.raw, local.raw)
    selected = [sample_commune(2022, slug) for slug in COMMUNES]
    options = ReportOptions(formats=("html",), engine="inprocess")
    runs = run_year(local, 2022, selected, workers=1, echo=lambda *_: None, options=options)
    assert [r.status for r in runs] == ["ok"] * len(COMMUNES)
    shutil.copytree(local.processed, district_copy.processed)

    client = Client(cluster.address, timeout="30s")
    try:
        client.wait_for_workers(3, timeout=90)
        named = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        command = [sys.executable, "-m", "pipeline", "--data-dir", str(district_copy.base)]
        command += ["run", "--year", "2022", "--scheduler", cluster.address]
        command += ["--engine", "inprocess", "--formats", "html"]
        command += [arg for slug in COMMUNES for arg in ("--commune", slug)]
        run = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        cluster.processes.append(run)
        work = district_copy.outputs_year(2022) / ".work"
        # A worker's report has begun: its notebook is being written in the work folder.
        _wait_for(lambda: list(work.glob("*/notebook.ipynb")), "a report", seconds=180)
        good = {p.pid for p in workers.values()}
        busy = [pid for pid, count in client.run(executing).values() if pid in good and count]
        assert busy, "no worker was running a report when one was to be killed"
        os.kill(busy[0], signal.SIGKILL)
        # What the killed worker was writing is in the work folder only: nothing half-written
        # among the outputs.
        assert not any(
            name.endswith((".html", ".ipynb")) and not content.rstrip().endswith((b"</html>", b"}"))
            for name, content in _outputs(district_copy).items()
        )
        stdout, stderr = run.communicate(timeout=300)
    finally:
        client.close()
    assert run.returncode == 0, stdout + stderr + cluster.log()
    assert stdout.count(": ok") == len(COMMUNES), stdout  # no commune lost with the worker
    refused = [line for line in stderr.splitlines() if "refused, not used" in line]
    assert len(refused) == 1, stderr
    assert named["other-version"] in refused[0] and "package files differ" in refused[0]

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


def test_work_waits_for_a_worker_of_the_same_version_and_resumes_on_one_that_joins_later(
    cluster: Cluster, other_version: Path, tmp_path: Path
) -> None:
    cluster.start_worker("other-version", other_version)
    warnings: list[str] = []
    results: dict[str, object] = {}

    def finish(item: str, result: object) -> None:
        results[item] = result

    def run(function, items: list[str]) -> None:
        run_on_dask(
            cluster.address,
            1,
            function,
            [(tmp_path / item,) for item in items],
            items,
            finish,
            shared=tmp_path,
            warn=warnings.append,
        )

    # Only another version: refused, and the run says so instead of using it or waiting.
    with pytest.raises(PipelineError, match=r"no worker of tcp://127\.0\.0\.1:\d+ can run"):
        run(print, ["never"])
    assert results == {}
    assert len(warnings) == 1 and "package files differ" in warnings[0], warnings

    def report(started: Path) -> int:  # sent by value; says on the shared folder it began
        started.touch()
        time.sleep(1)
        return os.getpid()

    first = cluster.start_worker("good-1")
    runner = threading.Thread(target=run, args=(report, ["a", "b"]), daemon=True)
    runner.start()
    _wait_for(lambda: (tmp_path / "a").exists() or (tmp_path / "b").exists(), "a task")
    first.kill()  # the only admitted worker: its tasks wait for a worker the scheduler can use
    second = cluster.start_worker("good-2")
    runner.join(timeout=120)
    assert not runner.is_alive(), "the tasks were never run again on the worker that joined"
    assert results == {"a": second.pid, "b": second.pid}
    assert len(warnings) == 2  # the other version again, once per run


# --- trust: the scheduler's address, TLS, the code a worker runs, what it returns ------------


def test_plain_tcp_is_for_this_machine_only() -> None:
    from pipeline.running.cluster import check_scheduler, is_loopback

    for address in ("tcp://127.0.0.1:8786", "127.0.0.1:8786", "tcp://localhost:1", "tcp://[::1]:1"):
        assert is_loopback(address) and check_scheduler(address) == "", address
    assert check_scheduler("local") == ""
    for address in ("tcp://10.1.2.3:8786", "tcp://scheduler.example:8786", "10.1.2.3:8786"):
        with pytest.raises(PipelineError, match=r"use TLS \(tls://host:port"):
            check_scheduler(address)
        assert "without TLS" in check_scheduler(address, insecure=True)
    with pytest.raises(PipelineError, match="TLS needs the certificates"):
        check_scheduler("tls://10.1.2.3:8786")
    assert check_scheduler("tls://10.1.2.3:8786", tls_configured=True) == ""


def test_the_command_line_refuses_plain_tcp_to_another_host(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pipeline", "--data-dir", str(tmp_path), "run"),
            *("--year", "2022", "--scheduler", "tcp://10.1.2.3:8786"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "use TLS (tls://host:port" in done.stderr and "--insecure" in done.stderr
    assert not (tmp_path / "outputs").exists()


def test_a_worker_whose_loaded_code_was_patched_is_refused(cluster: Cluster, tmp_path: Path):
    """Its files and its own fingerprint are this cnscd's; a `--preload` script changed a
    function in memory. The client's own probe, sent to it, finds the change."""
    patch = cluster.folder / "patch_rendering.py"
    patch.write_text(
        "import pipeline.running.rendering as rendering\n"
        "rendering.visible_text = lambda html: 'forged'\n",
        encoding="utf-8",
    )
    cluster.start_worker("patched", extra=("--preload", str(patch)))
    warnings: list[str] = []
    with pytest.raises(PipelineError, match="can run these reports"):
        run_on_dask(
            cluster.address, 1, print, [("x",)], ["x"], lambda *a: None, warn=warnings.append
        )
    assert len(warnings) == 1, warnings
    assert "its loaded code differs (pipeline.running.rendering)" in warnings[0], warnings


def _self_signed(folder: Path) -> tuple[str, ...]:
    """A certificate and key for 127.0.0.1, its own authority, made here for the test."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make the test's certificates"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=cnscd-test"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return ("--tls-ca-file", str(cert), "--tls-cert", str(cert), "--tls-key", str(key))


def test_a_tls_cluster_runs_the_work_and_its_results_are_checked(tmp_path: Path, request):
    import dask

    cluster = Cluster(tmp_path / "cluster")
    cluster.folder.mkdir()
    request.addfinalizer(cluster.stop)
    tls = _self_signed(cluster.folder)
    cluster.start_scheduler(tls)
    cluster.start_worker("tls-worker", extra=tls)
    ca, cert, key = tls[1], tls[3], tls[5]
    results: dict[str, object] = {}

    def square(n: int) -> int:  # sent by value
        return n * n

    with pytest.raises(PipelineError, match="TLS needs the certificates"):
        run_on_dask(cluster.address, 1, square, [(3,)], ["3"], results.__setitem__)
    settings = {
        "distributed.comm.tls.ca-file": ca,
        "distributed.comm.tls.client.cert": cert,
        "distributed.comm.tls.client.key": key,
    }
    with dask.config.set(settings):
        run_on_dask(cluster.address, 1, square, [(3,), (4,)], ["3", "4"], results.__setitem__)
    assert results == {"3": 9, "4": 16}, cluster.log()

    # The same certificates named in cnscd's settings instead, relative to the settings file.
    own = cluster.folder / "district" / "settings.toml"
    own.parent.mkdir()
    own.write_text(
        '[cluster]\nca_file = "../cert.pem"\ncert = "../cert.pem"\nkey = "../key.pem"\n',
        encoding="utf-8",
    )
    certificates = load_settings(own)["cluster"]
    assert certificates["ca_file"] == ca and certificates["key"] == key
    results.clear()
    run_on_dask(
        cluster.address, 1, square, [(5,)], ["5"], results.__setitem__, certificates=certificates
    )
    assert results == {"5": 25}, cluster.log()


def test_the_certificates_named_in_settings_are_checked_and_the_messages_name_both_ways(
    tmp_path: Path,
) -> None:
    from pipeline.running.cluster import check_scheduler, client_security, tls_configured

    assert load_settings()["cluster"] == {"ca_file": "", "cert": "", "key": ""}
    assert not tls_configured(load_settings()["cluster"])  # empty: dask's settings, none here
    with pytest.raises(PipelineError) as refused:
        check_scheduler("tls://10.1.2.3:8786")
    assert "[cluster]" in str(refused.value) and "distributed.comm.tls" in str(refused.value)
    with pytest.raises(PipelineError) as refused:
        check_scheduler("tcp://10.1.2.3:8786")
    assert "[cluster]" in str(refused.value) and "distributed.comm.tls" in str(refused.value)
    (tmp_path / "ca.pem").write_text("x", encoding="utf-8")
    with pytest.raises(PipelineError, match=r"\[cluster\]: cert is missing"):
        client_security({"ca_file": str(tmp_path / "ca.pem"), "cert": "", "key": ""})
    with pytest.raises(PipelineError, match=r"\[cluster\] cert: no such file .*absent.pem"):
        client_security({"ca_file": str(tmp_path / "ca.pem"), "cert": str(tmp_path / "absent.pem")})
    own = tmp_path / "settings.toml"
    own.write_text('[cluster]\ncertificate = "c.pem"\n', encoding="utf-8")
    with pytest.raises(PipelineError, match=r"certificate: no such setting in \[cluster\]"):
        load_settings(own)


def test_certificates_named_in_a_districts_settings_change_no_report(tmp_path: Path) -> None:
    from pipeline.writing.options import ReportOptions

    plain, named = tmp_path / "plain.toml", tmp_path / "named.toml"
    plain.write_text("[limitations]\nmax_trainings = 2\n", encoding="utf-8")
    named.write_text(
        '[limitations]\nmax_trainings = 2\n[cluster]\nca_file = "ca.pem"\ncert = "c.pem"\n',
        encoding="utf-8",
    )
    assert (
        ReportOptions(plain).digests(report=True)["settings"]
        == ReportOptions(named).digests(report=True)["settings"]
    )


def test_a_report_whose_files_are_not_what_the_worker_returned_is_failed(
    tmp_path: Path,
) -> None:
    from pipeline.core.provenance import hash_path
    from pipeline.running.documents import CommuneRun
    from pipeline.running.scheduling import checked

    paths = Paths.under(tmp_path)
    commune = sample_commune(2022, "nam-chinh")
    folder = paths.outputs_year(2022) / commune.stem
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<p>the data folder's</p>", encoding="utf-8")
    run = CommuneRun(commune, "ok", outputs={"report.html": f"{commune.stem}/report.html"})
    good = {"report.html": hash_path(folder / "report.html")}
    assert checked(paths, 2022, commune, (run, good)) is run
    forged = checked(paths, 2022, commune, (run, {"report.html": "0" * 64}))
    assert forged.status == "failed" and "not those in the data folder" in forged.message
    other = checked(paths, 2022, sample_commune(2022, "an-lam"), (run, good))
    assert other.status == "failed"
