"""An unchanged re-run, decided from the stage records without importing pandas or the registry.

After a run of a year in which every commune and comparison ended built or up to date,
`remember` writes `outputs/{year}/.unchanged.json` (under the year's lock): one digest of what
the run was asked (the command's selection and options) and of everything the stages decide
from (the package's files: code, notebooks, templates, registry, settings; a district's
settings and templates; the year's raw folder and own-units file; Python and the package
versions) and of the state the run left: every stage record (the year's processed folder,
last year's clean rows and indicators, every status, the index and the manifest, by content)
and the name and size of every output file. A later run whose digest is the same finds every
stage up to date, since the stages decide from these alone; it says so and stops (`replay`).
Any difference, a link anywhere in those folders, `--force` or a scheduler takes the full run,
which decides stage by stage and writes the record again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from pipeline.core.config import NOTEBOOKS, Paths
from pipeline.core.files import write_text
from pipeline.core.provenance import hash_path, package_hash, package_versions
from pipeline.running.locking import year_lock

RECORD = ".unchanged.json"
# Read by content among the outputs: the stage records and the files rewritten from them.
_RECORDS = frozenset({"status.json", "index.html", "manifest.json"})
_NOT_STATE = frozenset({".lock", RECORD})  # the lock holds a process id


class _Link(Exception):
    """A link in a folder the digest covers: the full run decides (it may follow it)."""


def _folder(folder: Path, by_content: frozenset[str] | None = None) -> list[str]:
    """Each file under `folder`: its relative name, size and (all, or those named in
    `by_content`) content hash; no entry when the folder is absent."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        for name in dirs:
            if (base / name).is_symlink():
                raise _Link(base / name)
        for name in files:
            path = base / name
            if path.is_symlink():
                raise _Link(path)
            if root == str(folder) and name in _NOT_STATE:
                continue
            relative = path.relative_to(folder).as_posix()
            size = path.stat().st_size
            read = by_content is None or name in by_content
            found.append(f"{relative}\0{size}\0{hash_path(path) if read else ''}")
    return sorted(found)


def _file(path: Path) -> str:
    if path.is_symlink():
        raise _Link(path)
    return hash_path(path)


def run_digest(paths: Paths, year: int, request: dict) -> str | None:
    """The digest of a year's run as asked in `request`, from its inputs and the state of its
    folders; None when a folder holds a link."""
    parts = {
        "request": request,
        "python": sys.version,
        "versions": package_versions(),
        "package": package_hash(),
        "notebooks": hash_path(NOTEBOOKS),
    }
    try:
        for name in ("settings", "templates"):
            given = request.get(name)
            if given:
                path = Path(given)
                parts[name] = _folder(path) if path.is_dir() else _file(path)
        parts["own units"] = _file(paths.raw / "communes.csv")
        parts["raw"] = _folder(paths.raw_year(year))
        parts["processed"] = _folder(paths.processed_year(year))
        before = paths.processed_year(year - 1)
        parts["last year"] = [_file(before / "prepared.json"), _file(before / "indicators.parquet")]
        parts["outputs"] = _folder(paths.outputs_year(year), _RECORDS)
    except _Link:
        return None
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def remember(paths: Paths, year: int, request: dict, lines: list[str]) -> None:
    """Record the state a whole run of the year left and the lines an unchanged re-run says.
    Call it under the year's lock, after the index."""
    record = paths.outputs_year(year) / RECORD
    digest = run_digest(paths, year, request)
    if digest is None:
        record.unlink(missing_ok=True)
        return
    write_text(record, json.dumps({"digest": digest, "lines": lines}, ensure_ascii=False) + "\n")


def forget(paths: Paths, year: int) -> None:
    """No record: the next run decides stage by stage (after a failure, a missing workbook)."""
    (paths.outputs_year(year) / RECORD).unlink(missing_ok=True)


def replay(paths: Paths, year: int, request: dict) -> list[str] | None:
    """The lines to say when nothing changed since the recorded run of the year; None when
    something did, or no run was recorded. Decided under the year's lock."""
    record = paths.outputs_year(year) / RECORD
    if not record.is_file() or record.is_symlink():
        return None
    with year_lock(paths.outputs_year(year)):
        try:
            stored = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(stored, dict) or stored.get("digest") != run_digest(paths, year, request):
            return None
        lines = stored.get("lines")
        return lines if isinstance(lines, list) else None
