"""The one module that owns paths. Nothing else depends on the working directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import PipelineError

PACKAGE_DIR = Path(__file__).resolve().parents[1]
ROOT = PACKAGE_DIR.parent
TEMPLATES = PACKAGE_DIR / "templates"
NOTEBOOKS = ROOT / "notebooks"
REGISTRY_CSV = PACKAGE_DIR / "data" / "units.csv"


@dataclass(frozen=True)
class Paths:
    """Where a run reads and writes, all under one base folder, so workers get paths, not a cwd."""

    base: Path

    @classmethod
    def under(cls, base: Path | str) -> Paths:
        return cls(Path(base).resolve())

    @classmethod
    def default(cls) -> Paths:
        """The project's folders, or those under $CNSCD_HOME when set."""
        return cls.under(os.environ.get("CNSCD_HOME", ROOT))

    @property
    def raw(self) -> Path:
        return self.base / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.base / "data" / "processed"

    @property
    def outputs(self) -> Path:
        return self.base / "outputs"

    def raw_year(self, year: int) -> Path:
        return self.raw / str(year)

    def processed_year(self, year: int) -> Path:
        return self.processed / str(year)

    def outputs_year(self, year: int) -> Path:
        return self.outputs / str(year)

    def output_dir(self, year: int, name: str) -> Path:
        """outputs/{year}/{name}, a commune's or a comparison's folder, refused unless it stays
        under outputs/ (see `inside`)."""
        return inside(self.outputs, self.outputs_year(year) / safe_name(name))


class OutsideOutputs(PipelineError):
    """A path that would lead out of the folder it must stay in."""


def safe_name(name: str) -> str:
    """`name` as one folder name: not empty, no separator, no '..' or leading dot, no control
    character. Output folders are named from codes and slugs; anything else is a fault."""
    if (
        not name
        or name.startswith(".")
        or any(sep in name for sep in ("/", "\\", "\x00"))
        or any(ord(ch) < 32 for ch in name)
    ):
        raise OutsideOutputs(f"not a folder name for an output: {name!r}")
    return name


def inside(root: Path, path: Path) -> Path:
    """`path`, once links and '..' are resolved, if it lies under `root`; else OutsideOutputs."""
    resolved, top = path.resolve(), root.resolve()
    if resolved != top and not resolved.is_relative_to(top):
        raise OutsideOutputs(f"{path} leads out of {root}; nothing was written there")
    return path
