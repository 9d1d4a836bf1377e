"""An unchanged re-run decided from the stage records (pipeline/running/unchanged.py): without
pandas or the registry when nothing changed, and the full run, stage by stage, at any change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from pipeline import cli
from pipeline.core.config import PACKAGE_DIR, ROOT, Paths
from pipeline.running import unchanged

RUN = ("run", "--year", "2022", "--workers", "1", "--formats", "html")
SAID = "nothing changed since the last run"


def _argv(paths: Paths, *extra: str) -> list[str]:
    return ["--data-dir", str(paths.base), *RUN, *extra]


def _replayed(paths: Paths, *extra: str) -> list[str] | None:
    """What the run's command line would replay, as `cli.cmd_run` asks it."""
    args = cli.build_parser().parse_args(_argv(paths, *extra))
    return unchanged.replay(paths, 2022, cli._run_request(args, 2022, ("html",)))


@pytest.fixture(scope="module")
def built(tiny_district: Paths, tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The tiny district's 2022 reports and their comparison, built by the command line."""
    paths = Paths.under(tmp_path_factory.mktemp("built"))
    shutil.copytree(tiny_district.raw, paths.raw)
    assert cli.main(_argv(paths)) == 0
    return paths


@pytest.fixture()
def copy(built: Paths, tmp_path: Path) -> Paths:
    paths = Paths.under(tmp_path / "copy")
    shutil.copytree(built.base, paths.base, symlinks=True)
    return paths


def test_an_unchanged_rerun_imports_neither_pandas_nor_the_registry(copy: Paths) -> None:
    probe = (
        "import sys\nfrom pipeline.cli import main\ncode = main(sys.argv[1:])\n"
        "print([m for m in ('pandas', 'pyarrow', 'pipeline.registry') if m in sys.modules])\n"
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *_argv(copy)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert SAID in lines[0] and "3 commune report(s) and 1 comparison(s)" in lines[0]
    assert lines[-1] == "[]"


def test_the_full_run_finds_nothing_to_do_where_the_record_says_so(copy: Paths, capsys) -> None:
    record = copy.outputs_year(2022) / unchanged.RECORD
    before = json.loads(record.read_text("utf-8"))
    record.unlink()
    assert cli.main(_argv(copy)) == 0  # decided stage by stage
    said = capsys.readouterr().out
    assert "nothing changed, all 3 commune reports are up to date" in said
    assert "comparison Huyện Nam Sách: up to date" in said
    assert json.loads(record.read_text("utf-8")) == before  # the same state, the same digest


def _edit_workbook(paths: Paths) -> None:
    workbook = paths.raw_year(2022) / "10645-an-lam.xlsx"
    book = openpyxl.load_workbook(workbook)
    book["Thông tin xã"]["E2"] = "Nguyễn Văn Mới"
    book.save(workbook)


def _append(path: Path, data: bytes = b"\n") -> None:
    with open(path, "ab") as handle:
        handle.write(data)


CHANGES: dict[str, Callable[[Paths], object]] = {
    "a workbook edited": _edit_workbook,
    "a workbook added": lambda p: shutil.copy(
        p.raw_year(2022) / "10645-an-lam.xlsx", p.raw_year(2022) / "10630-nam-hong.xlsx"
    ),
    "an own-units file added": lambda p: (p.raw / "communes.csv").write_text("code\n"),
    "a report deleted": lambda p: (p.outputs_year(2022) / "10627-nam-chinh/report.html").unlink(),
    "a report rewritten": lambda p: _append(p.outputs_year(2022) / "10627-nam-chinh/report.html"),
    "a status edited": lambda p: _append(p.outputs_year(2022) / "10627-nam-chinh/status.json"),
    "the index deleted": lambda p: (p.outputs_year(2022) / "index.html").unlink(),
    "the figures changed": lambda p: _append(p.processed_year(2022) / "indicators.parquet"),
    "the clean rows' record changed": lambda p: _append(p.processed_year(2022) / "prepared.json"),
    "last year's figures appeared": lambda p: (
        p.processed_year(2021).mkdir(parents=True),
        (p.processed_year(2021) / "indicators.parquet").write_bytes(b"x"),
    ),
    "a killed writer's temporary": lambda p: (
        p.outputs_year(2022) / "10627-nam-chinh/.report.html.4242.tmp.html"
    ).write_text("half"),
    "a link planted in the raw folder": lambda p: (p.raw_year(2022) / "link.xlsx").symlink_to(
        p.raw_year(2022) / "10645-an-lam.xlsx"
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_any_change_takes_the_full_run(copy: Paths, change: str) -> None:
    assert _replayed(copy) is not None
    CHANGES[change](copy)
    assert _replayed(copy) is None


@pytest.mark.parametrize(
    "asked",
    [("--commune", "nam-chinh"), ("--formats", "html,pdf"), ("--engine", "kernel")],
)
def test_another_request_takes_the_full_run(copy: Paths, asked: tuple[str, ...]) -> None:
    args = cli.build_parser().parse_args(_argv(copy, *asked))
    formats = tuple(args.formats.split(","))
    assert unchanged.replay(copy, 2022, cli._run_request(args, 2022, formats)) is None


def test_a_settings_file_changed_takes_the_full_run(copy: Paths, tmp_path: Path) -> None:
    settings = tmp_path / "district.toml"
    settings.write_text("[groups]\n", encoding="utf-8")
    assert _replayed(copy, "--settings", str(settings)) is None


def test_a_package_file_changed_takes_the_full_run(
    copy: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a comment (the full run then finds nothing to rebuild: stages hash syntax trees).
    The package is hashed from a copy, edited there: the package itself, which other tests'
    workers check, is never touched."""
    from pipeline.core import provenance

    package = tmp_path / "pipeline"
    shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE_DIR", package)
    assert _replayed(copy) is not None  # the same files, the same digest
    _append(package / "clean.py", b"# a comment\n")
    assert _replayed(copy) is None


def test_force_and_a_failed_run_leave_no_record(copy: Paths, capsys) -> None:
    assert cli.main([*_argv(copy), "--force"]) == 0
    assert SAID not in capsys.readouterr().out  # --force never replays
    (copy.raw_year(2022) / "10645-an-lam.xlsx").write_bytes(b"not a workbook")
    assert cli.main(_argv(copy)) == 1
    assert not (copy.outputs_year(2022) / unchanged.RECORD).exists()
    assert cli.main(_argv(copy)) == 1  # still decided by the full run, which fails again
    assert SAID not in capsys.readouterr().out
