"""Processed data on disk: one folder of Parquet files per commune, gathered per year.

Files appear whole or not at all: each is written beside its target and renamed into place.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from pipeline import contract
from pipeline.clean import CleanResult

LOG_TABLES = ("fixes", "rejected", "quality", "present")


def commune_dir(processed_year: Path, commune_code: str) -> Path:
    return processed_year / "communes" / commune_code


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def write_clean(
    result: CleanResult, quality: pd.DataFrame, present: list[str], folder: Path
) -> None:
    for key, table in result.tables.items():
        write_parquet(table, folder / f"{key}.parquet")
    write_parquet(result.fixes, folder / "fixes.parquet")
    write_parquet(result.rejected, folder / "rejected.parquet")
    write_parquet(quality, folder / "quality.parquet")
    code = result.tables["commune"]["commune_code"].iloc[0]
    write_parquet(
        pd.DataFrame({"commune_code": code, "sheet": present}), folder / "present.parquet"
    )


def read_commune(folder: Path) -> dict[str, pd.DataFrame]:
    """One commune's clean tables and logs, by name."""
    names = [s.key for s in contract.SHEETS] + list(LOG_TABLES)
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in names}


def read_year(
    processed_year: Path, commune_codes: list[str] | None = None
) -> dict[str, pd.DataFrame]:
    """The year's tables, all communes stacked (or only those given)."""
    root = processed_year / "communes"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    if commune_codes is not None:
        wanted = set(commune_codes)
        folders = [f for f in folders if f.name in wanted]
    per_commune = [read_commune(f) for f in folders]
    names = [s.key for s in contract.SHEETS] + list(LOG_TABLES)
    if not per_commune:
        raise FileNotFoundError(f"no processed commune under {root}")
    return {name: pd.concat([c[name] for c in per_commune], ignore_index=True) for name in names}
