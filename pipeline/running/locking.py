"""One run at a time per year's outputs: a second run started meanwhile stops with a message.

An OS file lock (flock) is released by the kernel when its holder dies, so a killed run never
leaves a stale lock behind. The lock file is opened without following a symbolic link (a link
planted at `outputs/{year}/.lock` is refused, its target untouched), and its descriptor is
closed in every child process: a forked pool worker that outlives a killed run must not keep
the year locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pipeline.core.errors import PipelineError


class RunLocked(PipelineError):
    """Another run holds the year's outputs."""


_HELD: set[int] = set()  # descriptors of the locks this process holds


def _close_in_child() -> None:
    # Only close: flock(LOCK_UN) here would release the parent's lock, which shares it.
    for fd in list(_HELD):
        with suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_in_child)


def _open_lock(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PipelineError(
                f"{path} is a symbolic link; a run's lock must be a plain file: remove the link "
                "and run again"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PipelineError(f"{path} is not a plain file; remove it and run again")
    os.set_inheritable(fd, False)
    return fd


@contextmanager
def year_lock(outputs_year: Path) -> Iterator[None]:
    outputs_year.mkdir(parents=True, exist_ok=True)
    path = outputs_year / ".lock"
    fd = _open_lock(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise RunLocked(
                f"another cnscd run (process {holder}) is writing {outputs_year.name}"
                "/; wait for it to finish, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        _HELD.add(fd)
        try:
            yield
        finally:
            _HELD.discard(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
