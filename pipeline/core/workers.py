"""The local process pool: workers that ignore Ctrl-C (the run stops them) and die with the run
that started them, even when it is killed (they never hold the year's lock: `locking` closes it
in every forked child)."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TypeVar

_PR_SET_PDEATHSIG = 1


def _start_worker(then: Callable[..., None] | None = None, *args: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A reader that aborts (calamine, out of memory) says so in one line, not with a backtrace
    # of 60: the run says which workbook stopped its process.
    os.environ["RUST_BACKTRACE"] = "0"
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


def limit_memory(megabytes: int) -> None:
    """A worker's address space capped at what it holds when it starts plus `megabytes`: a
    workbook that needs more fails in this process (MemoryError, or an abort), not the machine."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            held = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return  # no /proc: the operating system's own limits apply
    limit = held * 1024 + megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@dataclass(frozen=True)
class Stopped:
    """A call that stopped its capped process (it crashed, or needed more memory than the cap)."""

    megabytes: int

    def __str__(self) -> str:
        return (
            "reading it stopped its process (it crashed, or needed more than the "
            f"{self.megabytes:,} MB of memory it may take: [limits] worker_memory_mb); open it in "
            "Excel, check it and save it again"
        )


T = TypeVar("T")
R = TypeVar("R")


def map_capped(
    function: Callable[[T], R], items: Iterable[T], megabytes: int
) -> list[R | Stopped | Exception]:
    """`function(item)` for each item, in one worker process at a time whose memory is capped
    (`limit_memory`): an item that stops its process gives `Stopped`, an exception is returned
    as the item's result, and a new process takes the items after it. The only way a workbook
    is read outside `preparing`'s pool (strays, the inbox): never in the caller's process,
    unless that is itself a capped worker (a pool's worker cannot start processes)."""
    pending = list(items)
    results: list[R | Stopped | Exception] = []
    if multiprocessing.current_process().daemon:
        for item in pending:
            try:
                results.append(function(item))
            except Exception as exc:
                results.append(exc)
        return results
    while pending:
        with process_pool(1, limit_memory, megabytes) as pool:
            futures = [pool.submit(function, item) for item in pending]
            for future in futures:
                pending.pop(0)
                try:
                    results.append(future.result())
                except BrokenProcessPool:  # this item broke it: the rest go to a new process
                    results.append(Stopped(megabytes))
                    break
                except Exception as exc:
                    results.append(exc)
    return results
