"""Reports on a Dask cluster: an existing scheduler (tcp://host:8786) or a LocalCluster.

The workers must reach the same data folder (a shared folder mounted at the same path): they
are given paths, never the scheduler's working directory.

A worker is used only when it runs the caller's code: the same Python, cnscd version, package
files, notebooks and library versions (its `fingerprint`), the same code loaded in memory (the
client sends its own probe, `loaded_code`, rather than the worker's own report: a worker started
with a `--preload` patch is refused), and sees the data folder. The probe still runs on the
worker, so it catches a patched or stale worker, not a hostile one: a worker is trusted as the
scheduler is, which is why both are reached only on loopback or over TLS. What a worker returns
is checked on the client against the files it wrote (their hashes).

The scheduler is trusted with the data and runs code on the workers, so it is reached in the
clear only on this machine (loopback): any other address takes TLS (`tls://`, with the
certificates named in the settings' `[cluster]` table or in dask's `distributed.comm.tls`
settings) or `--insecure`, which says the risk.

Each worker is checked when it is first seen; one that passes is given a resource named after the
fingerprint, and every task asks for that resource, so the scheduler never sends a report to a
worker that was refused or not checked. A task lost with its worker (killed, out of memory) is
run again elsewhere by the scheduler; `RETRIES` covers an exception raised on a worker.
"""

from __future__ import annotations

import contextlib
import ipaddress
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.core.errors import PipelineError

RETRIES = 2
POLL_SECONDS = 5.0  # how often workers that joined meanwhile are checked
WAIT_FOR_WORKERS_SECONDS = 60.0


def fingerprint() -> dict:
    """What must be equal on the caller and on a worker for the reports to be the same."""
    from pipeline import __version__
    from pipeline.core.config import NOTEBOOKS
    from pipeline.core.provenance import hash_path, package_hash, package_versions

    return {
        "python": platform.python_version(),
        "cnscd": __version__,
        "package": package_hash(),
        "notebooks": hash_path(NOTEBOOKS),
        "libraries": package_versions(),
    }


@dataclass(frozen=True)
class Insecure:
    """A scheduler address the user chose to reach without TLS (`--insecure`)."""

    address: str

    def __str__(self) -> str:
        return self.address


def _host(address: str) -> str:
    return urlsplit(address if "://" in address else f"tcp://{address}").hostname or ""


def is_loopback(address: str) -> bool:
    """Whether a scheduler address is on this machine only (127.0.0.0/8, ::1, localhost)."""
    host = _host(address)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may be anywhere
        return False


NAME_THEM = (
    "name them in the settings' [cluster] table (ca_file, cert, key; --settings F, paths relative "
    "to F) or in dask's distributed.comm.tls.ca-file, .client.cert and .client.key (or "
    "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, …__CLIENT__CERT, …__CLIENT__KEY)"
)


def check_scheduler(address: str, insecure: bool = False, tls_configured: bool = False) -> str:
    """Refuse a scheduler reached in the clear off this machine; "" or the warning to print.

    `local` and loopback addresses may be plain `tcp://`; any other needs `tls://` with dask's
    TLS settings (`tls_configured`), or `insecure`, which gives a warning."""
    if address == "local":
        return ""
    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    if scheme == "tls":
        if not tls_configured:
            raise PipelineError(f"--scheduler {address}: TLS needs the certificates: {NAME_THEM}")
        return ""
    if scheme not in ("tcp", "tls"):
        raise PipelineError(f"--scheduler {address}: only tcp:// (on this machine) or tls://")
    if is_loopback(address):
        return ""
    if not insecure:
        raise PipelineError(
            f"--scheduler {address}: a scheduler on another host is not reached in the clear "
            "(anyone on the network could send its workers code and read the data): use TLS "
            "(tls://host:port, with the certificates in the settings' [cluster] table or dask's "
            "distributed.comm.tls settings), "
            "or --insecure to accept the risk"
        )
    return (
        f"warning: --insecure: the scheduler at {address} is reached without TLS; anyone on the "
        "network can send its workers code and read the data"
    )


def client_security(certificates: dict | None = None):
    """The client's `distributed.security.Security`: the files of the settings' `[cluster]`
    table (`settings.load_settings` made them absolute) when it names any, else dask's own TLS
    settings. A named file that cannot be read is refused with its key."""
    from distributed.security import Security

    named = {k: v for k, v in (certificates or {}).items() if v}
    if not named:
        return Security()
    if not {"ca_file", "cert"} <= set(named):
        lacking = ", ".join(k for k in ("ca_file", "cert") if k not in named)
        raise PipelineError(f"settings [cluster]: {lacking} is missing (the TLS client needs both)")
    for key, file in named.items():
        if not Path(file).is_file():
            raise PipelineError(f"settings [cluster] {key}: no such file {file}")
    return Security(
        tls_ca_file=named["ca_file"],
        tls_client_cert=named["cert"],
        tls_client_key=named.get("key"),
        require_encryption=True,
    )


def tls_configured(certificates: dict | None = None) -> bool:
    """Whether the settings' `[cluster]` table or dask's settings name the certificates a
    `tls://` client needs."""
    security = client_security(certificates)
    return bool(security.tls_ca_file and security.tls_client_cert)


def _loaded_code_probe() -> Callable[[list[str]], dict[str, str]]:
    """A function sent by value (a nested function: the worker runs this code, not its own
    copy) that hashes the named modules as they are loaded: their file, and each function in
    their namespace (the code of ours, the origin of any other)."""

    def loaded_code(names: list[str]) -> dict[str, str]:
        import hashlib
        import importlib
        import types

        def code(digest, found: types.CodeType) -> None:
            digest.update(found.co_code)
            digest.update(repr((found.co_names, found.co_varnames, found.co_freevars)).encode())
            for const in found.co_consts:
                if isinstance(const, types.CodeType):
                    code(digest, const)
                elif isinstance(const, frozenset):
                    digest.update(repr(sorted(map(repr, const))).encode())
                else:
                    digest.update(repr(const).encode())

        def functions(value: object) -> list:
            if isinstance(value, types.FunctionType):
                return [value]
            if isinstance(value, type):
                return [v for v in vars(value).values() if isinstance(v, types.FunctionType)]
            return []

        # papermill loads our engine (its entry point) when imported: first, so that the
        # engine's module is not half-imported when papermill asks for it.
        importlib.import_module("papermill")
        hashes = {}
        for name in names:
            module = importlib.import_module(name)
            digest = hashlib.sha256()
            file = getattr(module, "__file__", None)
            if file:
                with open(file, "rb") as handle:
                    digest.update(handle.read())
            for attribute, value in sorted(vars(module).items()):
                for function in functions(value):
                    where = f"{attribute}:{function.__module__}.{function.__qualname__}"
                    digest.update(where.encode())
                    if (function.__module__ or "").startswith("pipeline"):
                        code(digest, function.__code__)
            hashes[name] = digest.hexdigest()
        return hashes

    return loaded_code


def pipeline_modules() -> list[str]:
    """Every module of the package but `__main__` (importing it runs the command line)."""
    import pkgutil

    import pipeline

    return sorted(
        m.name
        for m in pkgutil.walk_packages(pipeline.__path__, "pipeline.")
        if m.name != "pipeline.__main__"
    )


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
        self.modules = pipeline_modules()
        self.probe = _loaded_code_probe()
        self.loaded = self.probe(self.modules)

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
        loaded = self.client.run(self.probe, self.modules, workers=new, on_error="return")
        good = []
        for worker in new:
            theirs = prints.get(worker)
            if theirs is None:  # left before it answered
                continue
            if isinstance(theirs, BaseException):
                why = [f"cannot run cnscd there ({type(theirs).__name__}: {theirs})"]
            else:
                why = differences(self.mine, theirs)
                code = loaded.get(worker)
                if isinstance(code, BaseException) or code is None:
                    why.append(f"its loaded code cannot be read ({type(code).__name__})")
                elif code != self.loaded:
                    changed = sorted(m for m in self.loaded if code.get(m) != self.loaded[m])
                    why.append(f"its loaded code differs ({', '.join(changed[:5])})")
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

    from pipeline.core.provenance import hash_bytes

    return hash_bytes(json.dumps(mine, sort_keys=True).encode())[:16]


def _without_worker(keys: list, dask_scheduler) -> list:
    """Runs on the scheduler: the tasks waiting for a worker that can run them."""
    return [k for k in keys if (t := dask_scheduler.tasks.get(k)) and t.state == "no-worker"]


def run_on_dask(
    scheduler: str | Insecure,
    workers: int,
    function: Callable,
    arguments: Sequence[tuple],
    items: Sequence,
    finish: Callable,
    shared: Path | None = None,
    warn: Callable[[str], object] = lambda line: print(line, file=sys.stderr, flush=True),
    insecure: bool = False,
    certificates: dict | None = None,
) -> None:
    """Call `function(*args)` for each item on the cluster's admitted workers; `finish(item,
    result or exception)` as each completes. `shared` is the data folder every worker must see.
    `certificates`: the settings' `[cluster]` table (`client_security`).
    Raises PipelineError when the scheduler cannot be reached or no worker can be used, and
    before reaching it when it is off this machine without TLS and not `insecure`."""
    from dask.distributed import Client, LocalCluster, wait

    insecure = insecure or isinstance(scheduler, Insecure)
    scheduler = str(scheduler)
    tls = scheduler.startswith("tls://")
    warning = check_scheduler(scheduler, insecure, tls and tls_configured(certificates))
    if warning:
        warn(warning)

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        try:
            security = client_security(certificates) if tls else None
            client = Client(scheduler, timeout="20s", security=security)
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
