"""What a run remembers: the hash of each commune's sources, each output folder's status and
key, the year's manifest and index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from pipeline import store
from pipeline.config import Paths
from pipeline.documents import CommuneRun
from pipeline.errors import InputError
from pipeline.evidence import EVIDENCE_FOLDER
from pipeline.exports import write_csv
from pipeline.index import read_status, write_index, write_manifest, write_status
from pipeline.locate import find_workbook
from pipeline.predecessors import (
    find_predecessor_workbook,
)
from pipeline.provenance import (
    hash_bytes,
    hash_path,
)
from pipeline.registry import (
    Commune,
    changes_during,
)
from pipeline.report import INDICATORS_FILE


def source_hash(
    raw_year: Path, commune: Commune, year: int, attribution: dict[str, str] | None = None
) -> str:
    """The hash of the workbook, and of its predecessors' (and of who a divided predecessor's
    rows go to) where it has some; empty (always read again) where the workbook is missing or
    ambiguous."""
    try:
        own = hash_path(find_workbook(raw_year, commune))
    except InputError:
        return ""
    if not own:
        return ""
    parts = [own]
    for change in changes_during(commune, year):
        found = find_predecessor_workbook(raw_year, change.other, commune)
        given = (attribution or {}).get(change.other.code, "")
        parts.append(f"{change.other.code}:{hash_path(found) if found else ''}:{given}")
    return own if len(parts) == 1 else hash_bytes(*(p.encode() for p in parts))


def record_year(
    paths: Paths, year: int, runs: list[CommuneRun], provenance: dict[str, dict]
) -> Path:
    """Status, provenance and rejected rows of each commune beside its report; then the year's
    manifest and index, from every commune's status."""
    outputs_year = paths.outputs_year(year)
    processed_year = paths.processed_year(year)
    rejected_path = processed_year / "rejected.parquet"
    rejected = pd.read_parquet(rejected_path) if rejected_path.exists() else None
    quality_path = processed_year / "quality.parquet"
    quality = (
        pd.read_parquet(quality_path)
        .groupby("commune_code")[["rows_read", "rows_kept", "rows_fixed", "rows_rejected"]]
        .sum()
        if quality_path.exists()
        else None
    )
    for run in runs:
        folder = outputs_year / run.folder_name
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "code": run.commune.code,
            "name": run.commune.name,
            "district": run.commune.district_name,
            "province": run.commune.province_name,
            "status": run.status,
            "message": run.message,
            "pdf_note": run.pdf_note,
            "quality": None,
            **provenance.get(run.commune.code, {}),
            "outputs": {
                name: hash_path(folder / name)
                for name in sorted(run.outputs)
                if (folder / name).exists()
            },
        }
        if run.status in ("failed", "missing") and not run.outputs:
            # Nothing was rebuilt: an older report must not stand beside a failed status.
            for name in (
                "report.html",
                "report.pdf",
                "report.docx",
                "notebook.ipynb",
                "notebook.html",
                "rejected.csv",
            ):
                (folder / name).unlink(missing_ok=True)
            shutil.rmtree(folder / EVIDENCE_FOLDER, ignore_errors=True)
        if rejected is not None and run.status == "ok":
            write_csv(
                rejected[rejected["commune_code"] == run.commune.code], folder / "rejected.csv"
            )
        if quality is not None and run.commune.code in quality.index and run.status == "ok":
            record["quality"] = {k: int(v) for k, v in quality.loc[run.commune.code].items()}
        write_status(folder, record)
    indicators_path = paths.processed_year(year) / INDICATORS_FILE
    indicators = pd.read_parquet(indicators_path) if indicators_path.exists() else None
    write_manifest(outputs_year, year)
    return write_index(outputs_year, year, indicators)


SOURCES_FILE = "sources.parquet"


def stored_sources(processed_year: Path) -> dict[str, str]:
    path = processed_year / SOURCES_FILE
    if not path.exists():
        return {}
    frame = pd.read_parquet(path)
    return dict(zip(frame["commune_code"], frame["source"], strict=True))


def store_sources(processed_year: Path, fresh: dict[str, str], dropped: set[str]) -> None:
    sources = {k: v for k, v in stored_sources(processed_year).items() if k not in dropped}
    sources.update(fresh)
    frame = pd.DataFrame(sorted(sources.items()), columns=["commune_code", "source"])
    store.write_parquet(frame, processed_year / SOURCES_FILE)


def up_to_date(folder: Path, key: str) -> bool:
    status = read_status(folder)
    return (
        status is not None
        and status.get("status") == "ok"
        and status.get("key") == key
        and all((folder / name).exists() for name in status.get("outputs", {}))
    )
