"""Test helpers that turn a sample workbook into the other shapes analysts send."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook


def as_csv_folder(workbook: Path, folder: Path, encode: Callable[[str], bytes]) -> Path:
    """The workbook as a folder of CSV files, one per sheet, each sheet's text encoded by
    `encode` (dates written dd/mm/yyyy, as a CSV export from Excel in Vietnam writes them)."""
    folder.mkdir(parents=True)
    book = load_workbook(workbook, read_only=True)
    try:
        for sheet in book.worksheets:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in sheet.iter_rows(values_only=True):
                writer.writerow(
                    [
                        "" if v is None else v.strftime("%d/%m/%Y") if hasattr(v, "strftime") else v
                        for v in row
                    ]
                )
            (folder / f"{sheet.title}.csv").write_bytes(encode(buffer.getvalue()))
    finally:
        book.close()
    return folder


def by_line(encode_line: Callable[[int, str], bytes]) -> Callable[[str], bytes]:
    """An encoder of a whole text that encodes line n (from 0) with `encode_line(n, line)`."""
    return lambda text: b"".join(
        encode_line(n, line) for n, line in enumerate(text.splitlines(keepends=True))
    )


def run_unprivileged(
    script: str, args: list[str], home: Path, timeout: int
) -> subprocess.CompletedProcess:
    """`python -c script args…` as the user `nobody` when the tests run as root (root reads every
    file, so a permission denied could not happen), with this checkout's `pipeline`."""
    command = [sys.executable, "-c", script, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv is needed to run this case as an unprivileged user"
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    environment["HOME"] = str(home)
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=timeout, cwd=home
    )
