"""Reports on a Dask cluster: an existing scheduler (tcp://host:8786) or a LocalCluster.

The workers must reach the same data folder (a shared folder mounted at the same path): they
are given paths, never the scheduler's working directory.

A worker is used only when it runs the caller's code: the same Python, cnscd version, package
files, notebooks and library versions (its `fingerprint`), and sees the data folder. Each worker
is checked when it is first seen; one that passes is given a resource named after the
fingerprint, and every task asks for that resource, so the scheduler never sends a report to a
worker that was refused or not checked. A task lost with its worker (killed, out of memory) is
run again elsewhere by the scheduler; `RETRIES` covers an exception raised on a worker.
"""

from __future__ import annotations

import contextlib
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.errors import PipelineError

RETRIES = 2
POLL_SECONDS = 5.0  # how often workers that joined meanwhile are checked
WAIT_FOR_WORKERS_SECONDS = 60.0


def fingerprint() -> dict:
    """What must be equal on the caller and on a worker for the reports to be the same."""
    from pipeline import __version__
    from pipeline.config import NOTEBOOKS
    from pipeline.provenance import hash_path, package_hash, package_versions

    return {
        "python": platform.python_version(),
        "cnscd": __version__,
        "package": package_hash(),
        "notebooks": hash_path(NOTEBOOKS),
        "libraries": package_versions(),
    }


def differences(mine: dict, theirs: dict) -> list[str]:
    """What differs between the caller's fingerprint and a worker's, in words."""
    found = [
        f"{name} {theirs.get(name)} there, {mine[name]} here"
        for name in ("python", "cnscd")
        if theirs.get(name) != mine[name]
    ]
    found += [
        f"its {what} differ"
        for name, what in (("package", "package files"), ("notebooks", "notebooks"))
        if theirs.get(name) != mine[name]
    ]
    libraries = theirs.get("libraries", {})
    found += [
        f"{name} {libraries.get(name, 'not installed')} there, {ours} here"
        for name, ours in sorted(mine["libraries"].items())
        if libraries.get(name) != ours
    ]
    return found


def _worker_fingerprint(shared: str | None) -> dict:
    """Runs on a worker (it imports the worker's own copy of this module)."""
    found = fingerprint()
    found["sees_data"] = shared is None or Path(shared).is_dir()
    return found


async def _give_resource(tag: str, dask_worker) -> None:
    """Runs on an admitted worker: as many units of the resource as it has threads."""
    await dask_worker.set_resources(**{tag: dask_worker.state.nthreads})


class Admission:
    """The workers checked so far: those admitted carry the resource `tag`."""

    def __init__(self, client, shared: Path | None, warn: Callable[[str], object]) -> None:
        self.client, self.warn = client, warn
        self.shared = str(shared) if shared is not None else None
        self.mine = fingerprint()
        self.tag = "cnscd-" + _short_hash(self.mine)
        self.seen: set[str] = set()
        self.admitted: set[str] = set()

    def check_new(self) -> list[str]:
        """Check the workers not seen before; admit those that run the caller's code, say why
        the others are refused. Returns the newly admitted."""
        present = set(self.client.scheduler_info()["workers"])
        self.admitted &= present
        new = sorted(present - self.seen)
        if not new:
            return []
        self.seen |= set(new)
        prints = self.client.run(_worker_fingerprint, self.shared, workers=new, on_error="return")
        good = []
        for worker in new:
            theirs = prints.get(worker)
            if theirs is None:  # left before it answered
                continue
            if isinstance(theirs, BaseException):
                why = [f"cannot run cnscd there ({type(theirs).__name__}: {theirs})"]
            else:
                why = differences(self.mine, theirs)
                if not theirs.get("sees_data", False):
                    why.append(f"it does not see the data folder {self.shared}")
            if why:
                self.warn(f"warning: worker {worker} refused, not used: {'; '.join(why)}")
            else:
                good.append(worker)
        if good:
            given = self.client.run(_give_resource, self.tag, workers=good, on_error="return")
            good = [w for w in good if w in given and not isinstance(given[w], BaseException)]
            self.admitted |= set(good)
        return good


def _short_hash(mine: dict) -> str:
    import json

    from pipeline.provenance import hash_bytes

    return hash_bytes(json.dumps(mine, sort_keys=True).encode())[:16]


def _without_worker(keys: list, dask_scheduler) -> list:
    """Runs on the scheduler: the tasks waiting for a worker that can run them."""
    return [k for k in keys if (t := dask_scheduler.tasks.get(k)) and t.state == "no-worker"]


def run_on_dask(
    scheduler: str,
    workers: int,
    function: Callable,
    arguments: Sequence[tuple],
    items: Sequence,
    finish: Callable,
    shared: Path | None = None,
    warn: Callable[[str], object] = lambda line: print(line, file=sys.stderr, flush=True),
) -> None:
    """Call `function(*args)` for each item on the cluster's admitted workers; `finish(item,
    result or exception)` as each completes. `shared` is the data folder every worker must see.
    Raises PipelineError when the scheduler cannot be reached or no worker can be used."""
    from dask.distributed import Client, LocalCluster, wait

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise PipelineError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        admission = Admission(client, shared, warn)
        with contextlib.suppress(TimeoutError):  # said below: no worker admitted
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_SECONDS)
        admission.check_new()
        if not admission.admitted:
            raise PipelineError(
                f"no worker of {scheduler} can run these reports: install this cnscd (same "
                "version and code) and mount the data folder at the same path on the workers"
            )

        def submit(args: tuple):
            return client.submit(
                function, *args, pure=False, retries=RETRIES, resources={admission.tag: 1}
            )

        pending = {submit(args): (args, item) for args, item in zip(arguments, items, strict=True)}
        while pending:
            try:
                done = wait(list(pending), POLL_SECONDS, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                done = set()
            for future in done:
                _, item = pending.pop(future)
                try:
                    finish(item, future.result())
                except Exception as exc:  # one commune's failure does not stop the others
                    finish(item, exc)
            if pending and admission.check_new():
                _resubmit_stranded(client, pending, submit)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _resubmit_stranded(client, pending: dict, submit: Callable) -> None:
    """Tasks whose admitted workers all left wait for a worker with the resource, and the
    scheduler does not look at them again when a worker gains it later: submit them anew (no
    worker is running them, so nothing is done twice at once)."""
    stranded = set(client.run_on_scheduler(_without_worker, [f.key for f in pending]))
    for future in [f for f in pending if f.key in stranded]:
        args, item = pending.pop(future)
        future.cancel()
        pending[submit(args)] = (args, item)
