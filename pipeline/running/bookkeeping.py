"""What a run remembers: the inputs each stage last ran from (prepared.json,
indicators.inputs.json, each output folder's status.json), the year's manifest and index."""

from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.config import Paths
from pipeline.core.errors import InputError
from pipeline.core.files import write_text
from pipeline.core.provenance import (
    hash_bytes,
    hash_path,
)
from pipeline.core.sheets import write_csv_in_parts
from pipeline.reading import store
from pipeline.reading.locate import find_predecessor_workbook, find_workbook
from pipeline.reading.store import INDICATORS_FILE
from pipeline.registry.tree import (
    Commune,
    changes_during,
)
from pipeline.running.documents import CommuneRun
from pipeline.writing.evidence import EVIDENCE_FOLDER
from pipeline.writing.exports import readable_rejected
from pipeline.writing.index import (
    STATUS_FILE,
    read_status,
    write_index,
    write_manifest,
    write_status,
)


def source_hash(
    raw_year: Path, commune: Commune, year: int, attribution: dict[str, str] | None = None
) -> str:
    """The hash of the workbook, and of its predecessors' (and of who a divided predecessor's
    rows go to) where it has some; empty (always read again) where the workbook is missing or
    ambiguous."""
    try:
        own = hash_path(find_workbook(raw_year, commune))
    except (InputError, OSError):  # unreadable: reading it again says why, for this commune
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
    paths: Paths,
    year: int,
    runs: list[CommuneRun],
    provenance: dict[str, dict],
    index: bool = True,
) -> None:
    """Status, provenance and rejected rows of each commune beside its report; then the year's
    manifest and (unless the comparisons that follow write it) index, from every status."""
    outputs_year = paths.outputs_year(year)
    processed_year = paths.processed_year(year)
    built = any(run.status == "ok" for run in runs)  # nothing to read when nothing was built
    # A built commune's rejected rows, read a part at a time (there may be millions).
    rejected = built and (processed_year / store.REJECTED_FILE).exists()
    quality_path = processed_year / "quality.parquet"
    quality = (
        pd.read_parquet(quality_path)
        .groupby("commune_code")[["rows_read", "rows_kept", "rows_fixed", "rows_rejected"]]
        .sum()
        if built and quality_path.exists()
        else None
    )
    for run in runs:
        folder = paths.output_dir(year, run.folder_name)
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "code": run.commune.code,
            "name": run.commune.name,
            "district": run.commune.district_name,
            "province": run.commune.province_name,
            "status": run.status,
            "message": run.message,
            "pdf_note": run.pdf_note,
            "notes": run.notes,
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
        if rejected and run.status == "ok":
            mine = store.rejected_batches(processed_year, run.commune.code)
            write_csv_in_parts(map(readable_rejected, mine), folder / "rejected.csv")
        if quality is not None and run.commune.code in quality.index and run.status == "ok":
            record["quality"] = {k: int(v) for k, v in quality.loc[run.commune.code].items()}
        write_status(folder, record)
    if index:
        write_year_index(paths, year)
    else:  # the comparisons that follow write both
        write_manifest(outputs_year, year)


def write_year_index(paths: Paths, year: int) -> Path:
    """The year's manifest and index, from every status in its folder and the year's
    indicators."""
    write_manifest(paths.outputs_year(year), year)
    indicators_path = paths.processed_year(year) / INDICATORS_FILE
    indicators = pd.read_parquet(indicators_path) if indicators_path.exists() else None
    return write_index(paths.outputs_year(year), year, indicators)


INDICATOR_INPUTS_FILE = "indicators.inputs.json"  # what indicators.parquet was computed from


def write_record(path: Path, record: dict) -> None:
    write_text(path, json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def commune_digests(frame: pd.DataFrame, order: tuple[str, ...] = ()) -> dict[str, str]:
    """One digest per commune of its rows of a table (in the table's order, or sorted by
    `order` within the commune): a report is rebuilt when its own rows or figures changed, not
    when another commune's did."""
    if frame.empty:
        return {}
    ordered = frame.sort_values(["commune_code", *order], kind="stable")
    rows = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    codes = ordered["commune_code"].to_numpy()
    changes = (np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()
    starts = [0, *changes, len(codes)]
    return {
        str(codes[start]): hash_bytes(rows[start:end].tobytes()) for start, end in pairwise(starts)
    }


def clean_digests(processed_year: Path, codes: set[str]) -> dict[str, str]:
    """The digest of each commune's clean rows, logs included, over every table of the year."""
    parts: dict[str, list[bytes]] = {code: [] for code in codes}
    for name in (*store.TABLES, store.ORIGINS_FILE.removesuffix(".parquet")):
        path = processed_year / f"{name}.parquet"
        if not path.exists():
            continue
        frame = pd.read_parquet(path)  # no filter: a table with no row has a null-typed column
        frame = frame[frame["commune_code"].isin(codes)]
        found = commune_digests(frame)
        for code in codes:
            parts[code].append(f"{name}:{found.get(code, '')}".encode())
    return {code: hash_bytes(*chunks) for code, chunks in parts.items()}


def stored_inputs(folder: Path) -> tuple[dict | None, str]:
    """A report's or a comparison's last inputs, and why it must be built again ("" when its
    outputs are whole and ok)."""
    status = read_status(folder)
    if status is None:
        return None, "not built yet"
    if status.get("status") != "ok":
        return status.get("inputs"), f"last run {status.get('status')}"
    if not all((folder / name).exists() for name in status.get("outputs", {})):
        return status.get("inputs"), "an output file is missing"
    return status.get("inputs"), ""


def earlier_comparison(folder: Path) -> dict | None:
    """The comparison an earlier run left whole in `folder`: its status's key and outputs (an ok
    run's, or the earlier one a failed run kept), None when there is none or a file of it is
    missing or no longer the one its status lists."""
    status = read_status(folder) or {}
    if status.get("status") == "ok":
        earlier = {k: status.get(k) for k in ("key", "outputs")}
    else:
        earlier = status.get("earlier") or {}
    outputs = earlier.get("outputs") or {}
    whole = all(
        (folder / name).is_file() and hash_path(folder / name) == digest
        for name, digest in outputs.items()
    )
    return earlier if outputs and whole else None


def keep_only(folder: Path, kept: Sequence[str]) -> None:
    """Remove every file of an output folder but its status and `kept` (paths in it)."""
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        name = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif name not in kept and name != STATUS_FILE:
            path.unlink()


def swap_in(staging: Path, folder: Path, files: Sequence[str]) -> None:
    """A complete comparison's `files`, written in `staging`, into `folder`, each replacing the
    earlier run's file of its name at once; what the earlier run left that this one did not
    make goes."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).replace(folder / name)
    keep_only(folder, files)


def failure_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "disk full while making the comparison: free some space and run again"
    return f"{type(exc).__name__}: {exc}"


def formats_built(paths: Paths, year: int, communes: Sequence[Commune]) -> tuple[str, ...]:
    """The formats the communes' reports were last built in (all of them, in the usual order):
    `compare` brings reports up to date in these, never dropping a Word file `run` made."""
    found: set[str] = set()
    for commune in communes:
        status = read_status(paths.outputs_year(year) / commune.stem) or {}
        found |= set((status.get("parameters") or {}).get("formats", ()))
    return tuple(f for f in ("html", "pdf", "docx") if f in found)
