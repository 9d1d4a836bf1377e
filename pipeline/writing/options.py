"""How reports are made: a district's settings and templates, the formats, the engine.

The caller reads a district's settings file and templates folder once, when the options are
made; the work carries their content, and each worker writes it into its own working folder. A
cluster worker never needs the caller's files, and a file edited during a run changes nothing.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.provenance import hash_bytes


def _read_templates(folder: Path) -> tuple[tuple[str, bytes], ...]:
    return tuple(
        (path.relative_to(folder).as_posix(), path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    )


@dataclass(frozen=True)
class ReportOptions:
    """A district's own thresholds (settings TOML) and wording (templates folder), if any."""

    settings_file: Path | None = None
    templates_dir: Path | None = None
    formats: tuple[str, ...] = ("html", "pdf")
    # "inprocess" (default): the notebook runs in the worker itself (pipeline/running/engine.py),
    # with no kernel start; "kernel": papermill's standard engine, a new kernel per commune.
    engine: str = "inprocess"
    settings_text: bytes = field(default=b"", repr=False)
    templates: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.settings_file is not None and not self.settings_text:
            if not self.settings_file.is_file():
                raise InputError(f"settings file {self.settings_file} does not exist")
            object.__setattr__(self, "settings_text", self.settings_file.read_bytes())
        if self.templates_dir is not None and not self.templates:
            if not self.templates_dir.is_dir():
                raise InputError(f"templates folder {self.templates_dir} does not exist")
            object.__setattr__(self, "templates", _read_templates(self.templates_dir))

    def digests(self, report: bool = False) -> dict[str, str]:
        """The content of the district's settings and templates, as stage inputs; for a
        commune's `report`, the settings without their `[groups]` (named lists of communes,
        which only comparisons read)."""
        settings = hash_bytes(self.settings_text) if self.settings_file else ""
        if report and self.settings_file:
            read = tomllib.loads(self.settings_text.decode("utf-8"))
            read.pop("groups", None)
            read.pop("cluster", None)  # where the reports run, not what they say
            # A file of groups (or certificates) alone changes no report: as if there were no file.
            settings = (
                hash_bytes(json.dumps(read, sort_keys=True, default=str).encode()) if read else ""
            )
        return {
            "settings": settings,
            "templates": hash_bytes(*(n.encode() + b"\0" + c for n, c in self.templates))
            if self.templates_dir
            else "",
        }

    def settings(self) -> dict:
        """The settings in force: the package's, with the district's over them."""
        from pipeline.measuring.settings import load_settings

        return load_settings(self.settings_file)

    def materialise(self, folder: Path, base: Path) -> dict[str, str]:
        """Write the settings and templates into a worker's `folder`; the notebook parameters
        that name them, relative to the data folder `base` (no machine path in a notebook)."""
        named = {"settings_file": "", "templates_dir": ""}
        if self.settings_file is not None:
            path = folder / self.settings_file.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.settings_text)
            named["settings_file"] = os.path.relpath(path, base)
        if self.templates_dir is not None:
            root = folder / self.templates_dir.name
            root.mkdir(parents=True, exist_ok=True)
            for name, content in self.templates:
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(content)
            named["templates_dir"] = os.path.relpath(root, base)
        return named
