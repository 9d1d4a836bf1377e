"""The local process pool: workers that ignore Ctrl-C (the run stops them) and die with the run
that started them, even when it is killed (they never hold the year's lock: `locking` closes it
in every forked child)."""

from __future__ import annotations

import contextlib
import ctypes
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def _start_worker(then: Callable[..., None] | None = None, *args: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Linux: killed when the parent dies, so no orphan keeps working or writing.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if then is not None:
        then(*args)


def process_pool(
    workers: int, then: Callable[..., None] | None = None, *args: object
) -> ProcessPoolExecutor:
    """`workers` processes; each calls `then(*args)` when it starts (a memory cap, for one)."""
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(then, *args)
    )


def stop_now(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers (after Ctrl-C): nothing waits."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
