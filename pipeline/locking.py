"""One run at a time per year's outputs: a second run started meanwhile stops with a message.

An OS file lock (flock) is released by the kernel when its holder dies, so a killed run never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import PipelineError

_HELD: set[int] = set()  # descriptors of the locks this process holds


def held_descriptors() -> tuple[int, ...]:
    """The lock descriptors a forked worker must close (it shares them with the run)."""
    return tuple(sorted(_HELD))


class RunLocked(PipelineError):
    """Another run holds the year's outputs."""


@contextmanager
def year_lock(outputs_year: Path) -> Iterator[None]:
    outputs_year.mkdir(parents=True, exist_ok=True)
    path = outputs_year / ".lock"
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunLocked(
                f"another cnscd run (process {holder}) is writing {outputs_year.name}"
                "/; wait for it to finish, then run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        _HELD.add(handle.fileno())
        try:
            yield
        finally:
            _HELD.discard(handle.fileno())
            fcntl.flock(handle, fcntl.LOCK_UN)
