"""How reports are made: a district's settings and templates, the formats, the engine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportOptions:
    """A district's own thresholds (settings TOML) and wording (templates folder), if any."""

    settings_file: Path | None = None
    templates_dir: Path | None = None
    formats: tuple[str, ...] = ("html", "pdf")
    # "inprocess" (default): the notebook runs in the worker itself (pipeline/engine.py), with
    # no kernel start; "kernel": papermill's standard engine, a new kernel per commune.
    engine: str = "inprocess"

    def parameters(self, base: Path) -> dict[str, str]:
        # Relative to the data folder, so no machine path is written into the notebook.
        return {
            name: os.path.relpath(path.resolve(), base) if path else ""
            for name, path in (
                ("settings_file", self.settings_file),
                ("templates_dir", self.templates_dir),
            )
        }
