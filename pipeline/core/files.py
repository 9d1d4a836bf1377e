"""Files that appear whole or not at all: written beside the target, then renamed into place."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

_TEMPORARY = re.compile(r"^\..+\.\d+\.tmp(\.[^.]*)?$")  # as write_atomically names them


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(tmp)` for a temporary file next to `path`, then rename it to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_temporaries(folder: Path) -> int:
    """Remove what a killed writer left in `folder` (at any depth): its temporary files. Call it
    only while no writer can be at work there (under the year's lock)."""
    removed = 0
    if folder.is_dir():
        for path in folder.rglob(".*.tmp*"):
            if path.is_file() and _TEMPORARY.match(path.name):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def write_text(path: Path, text: str) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def fixed_zip(data: bytes, edit: Callable[[str, bytes], bytes] | None = None) -> bytes:
    """The same zip package (a workbook, a Word file) with every entry dated 1980-01-01, as the
    writing libraries stamp the time of writing, so that equal content is equal bytes. `edit`
    may rewrite an entry's content (a document date inside it)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            content = source.read(info.filename)
            target.writestr(fixed, edit(info.filename, content) if edit else content)
    return out.getvalue()


# What a document's own dates say (created, modified): a fixed time, never that of writing, so
# that the same tables give the same bytes.
FIXED_DOCUMENT_TIME = "2000-01-01T00:00:00Z"
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def _fixed_core_dates(name: str, content: bytes) -> bytes:
    if name != "docProps/core.xml":
        return content
    return _CORE_DATES.sub(rb"\g<1>" + FIXED_DOCUMENT_TIME.encode() + rb"\g<3>", content)


def write_workbook_fixed(path: Path, save: Callable[[io.BytesIO], object]) -> None:
    """Write an Excel workbook (`save(buffer)` writes it) whole, with fixed zip and document
    dates: openpyxl stamps the time of writing in both."""

    def write(tmp: Path) -> None:
        buffer = io.BytesIO()
        save(buffer)
        tmp.write_bytes(fixed_zip(buffer.getvalue(), _fixed_core_dates))

    write_atomically(path, write)


# Free space (bytes) below which a file cut short is taken as the disk's doing.
_NEARLY_FULL = 1024 * 1024


def load_json(path: Path) -> object:
    """A JSON file's content. One cut short (a writer stopped by a full disk: papermill writes
    its notebook in place) is said as the full disk it is, not as a JSONDecodeError."""
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError:
        if shutil.disk_usage(path.parent).free < _NEARLY_FULL:
            raise OSError(
                errno.ENOSPC, "No space left on device (the file was cut short)", str(path)
            ) from None
        raise


def disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC
