"""Progress of a run: one updating line on a terminal, plain lines otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(
        self, total: int, echo: Callable[[str], object] | None = None, stream: TextIO | None = None
    ) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.started = time.monotonic()
        self.stream = stream or sys.stdout
        self.echo = echo
        self.live = echo is None and self.stream.isatty()

    def _left(self) -> str:
        if not self.done or self.done == self.total:
            return ""
        rate = (time.monotonic() - self.started) / self.done
        return f", ~{rate * (self.total - self.done):.0f} s left"

    def step(self, name: str, status: str, message: str = "") -> None:
        self.done += 1
        self.failed += status == "failed"
        line = (
            f"[{self.done}/{self.total}] {name}: {status}"
            f"{' - ' + message if message else ''} ({self.failed} failed{self._left()})"
        )
        if self.live:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r[{bar}] {self.done}/{self.total} {name[:28]:<28} "
                f"{self.failed} failed{self._left():<16}"
            )
            if status == "failed":
                self.stream.write(f"\n  {name}: {message}\n")
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
        elif self.echo is not None:
            self.echo(line)
        else:
            print(line, file=self.stream, flush=True)
