"""The one module that owns paths. Nothing else depends on the working directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
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
