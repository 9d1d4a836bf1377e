"""What one commune's report notebook reads, read once: the commune (from the registry), its rows
of the year's processed tables and of the indicator table, and the settings.

The reviewers' audit and the report both start from it, so a notebook run reads the commune's
Parquet rows once instead of twice, and both show the very same rows. Nothing here outlives the
notebook run: a worker keeps code from one report to the next, never data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.core.config import Paths
from pipeline.measuring.settings import load_settings
from pipeline.reading import store
from pipeline.registry.tree import EXTRA_REGISTRY_NAME, Commune, find_commune


@dataclass(frozen=True)
class CommuneData:
    year: int
    commune: Commune
    data_dir: Path
    tables: dict[str, pd.DataFrame]  # the commune's rows of each processed table
    indicators: pd.DataFrame  # the commune's rows of the year's indicator table
    settings: dict
    settings_file: Path | None  # a district's override, as given (None: the packaged settings)

    @property
    def paths(self) -> Paths:
        return Paths.under(self.data_dir)


def read_commune_data(
    year: int, commune: str, data_dir: str | Path, settings_file: str | Path | None = None
) -> CommuneData:
    """One commune's inputs for its report and audit (`settings_file` relative to `data_dir`,
    or absolute)."""
    paths = Paths.under(data_dir)
    found = find_commune(year, commune, paths.raw / EXTRA_REGISTRY_NAME)  # a code: unique
    processed = paths.processed_year(year)
    override = Path(data_dir, settings_file) if settings_file else None
    return CommuneData(
        year=year,
        commune=found,
        data_dir=Path(data_dir),
        tables=store.read_commune(processed, found.code),
        indicators=pd.read_parquet(
            processed / store.INDICATORS_FILE, filters=[("commune_code", "==", found.code)]
        ),
        settings=load_settings(override),
        settings_file=override,
    )
