"""What produced an output: content hashes of its inputs, package versions, the code revision.

Hashes are of contents, never of file times, so a re-run decides what to redo from what changed.
"""

from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pipeline import __version__
from pipeline.core.config import PACKAGE_DIR, ROOT

PACKAGES = (
    "cnscd",
    "pandas",
    "pyarrow",
    "papermill",
    "nbconvert",
    "jinja2",
    "babel",
    "matplotlib",
    "pandera",
    "typst",
    "python-calamine",
    "openpyxl",
)


def hash_bytes(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _file_digest(path: Path, prefix: bytes = b"") -> bytes:
    """sha256 of `prefix` and the file's bytes, read in blocks (a file of gigabytes is never
    held whole)."""
    digest = hashlib.sha256(prefix)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def hash_path(path: Path | None) -> str:
    """A file's content hash, or a folder's (its files' relative names and contents), as
    `hash_bytes` gives it for those bytes; links are not followed into."""
    if path is None or not path.exists():
        return ""
    if path.is_file():
        return hashlib.sha256(_file_digest(path)).hexdigest()
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    digest = hashlib.sha256()
    for file in files:
        digest.update(_file_digest(file, file.relative_to(path).as_posix().encode() + b"\0"))
    return digest.hexdigest()


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


@lru_cache(maxsize=1)
def code_revision() -> str:
    """The git revision of the code (with '+changes' when the tree differs), or the version."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=10", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "pipeline", "notebooks"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        ).stdout.strip()
        return rev + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return f"v{__version__}"


def package_hash() -> str:
    """The package's own files (sources, templates, data, settings), never its bytecode: a
    `.pyc` a worker writes is no change."""
    files = sorted(
        p
        for p in PACKAGE_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )
    return hash_bytes(
        *(p.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + p.read_bytes() for p in files)
    )


def short(provenance: dict) -> str:
    """The report footer's form: version, revision and the first letters of the input hash."""
    return (
        f"cnscd {__version__} · mã nguồn {provenance['revision']} · "
        f"số liệu {provenance['source'][:12]}"
    )
