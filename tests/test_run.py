"""The year's run: incremental, provenance, failure isolation, progress, and Dask for real."""

from __future__ import annotations

import hashlib
import io
import json
import shutil

import pytest

from pipeline.core.config import TEMPLATES, Paths
from pipeline.running.progress import Progress
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions

SLUGS = ("nam-chinh", "an-lam", "nam-trung")


def _communes():
    return [sample_commune(2022, slug) for slug in SLUGS]


def _quiet(*_: object) -> None:
    return None


def _run_nam_chinh_html(district: Paths) -> list:
    return run_year(
        district,
        2022,
        _communes()[:1],
        workers=1,
        echo=_quiet,
        options=ReportOptions(formats=("html",)),
    )


@pytest.fixture()
def district(tiny_district: Paths, tmp_path) -> Paths:
    paths = Paths.under(tmp_path / "home")
    shutil.copytree(tiny_district.raw, paths.raw)
    return paths


def test_rerun_skips_what_did_not_change(district: Paths) -> None:
    first = run_year(district, 2022, _communes(), workers=2, echo=_quiet)
    assert [r.status for r in first] == ["ok", "ok", "ok"]
    lines: list[str] = []
    again = run_year(district, 2022, _communes(), workers=2, echo=lines.append)
    assert [r.status for r in again] == ["skipped"] * 3
    assert any("nothing changed" in line for line in lines)

    from openpyxl import load_workbook

    workbook = district.raw_year(2022) / "10645-an-lam.xlsx"
    book = load_workbook(workbook)
    book["Thông tin xã"]["E2"] = "Nguyễn Văn Mới"  # a new signer
    book.save(workbook)
    changed = run_year(district, 2022, _communes(), workers=2, echo=_quiet)
    assert [r.status for r in changed] == ["skipped", "ok", "skipped"]
    html = (district.outputs_year(2022) / "10645-an-lam" / "report.html").read_text("utf-8")
    assert "Nguyễn Văn Mới" in html

    forced = run_year(district, 2022, _communes()[:1], workers=1, echo=_quiet, force=True)
    assert [r.status for r in forced] == ["ok"]


def test_the_index_is_written_after_the_comparisons_even_if_they_stop(
    district: Paths, monkeypatch
) -> None:
    from pipeline.running import bookkeeping, comparisons, runner
    from pipeline.writing import index

    written: list[int] = []

    def counted(outputs_year, year, indicators):
        written.append(year)
        return index.write_index(outputs_year, year, indicators)

    monkeypatch.setattr(bookkeeping, "write_index", counted)  # the one writer of the index

    def stopped(*_: object) -> None:
        assert not written  # the reports recorded, the index not yet written
        raise KeyboardInterrupt

    monkeypatch.setattr(comparisons, "_compare_group", stopped)
    with pytest.raises(KeyboardInterrupt):
        runner.run_and_compare(
            district, 2022, _communes()[:1], ["any group"], 1, ReportOptions(formats=("html",))
        )
    assert written == [2022]  # once, after the comparisons stopped
    html = (district.outputs_year(2022) / "index.html").read_text(encoding="utf-8")
    assert "Nam Chính" in html


def test_manifest_and_footer_say_what_produced_each_report(district: Paths) -> None:
    run_year(district, 2022, _communes()[:1], workers=1, echo=_quiet)
    manifest = json.loads((district.outputs_year(2022) / "manifest.json").read_text("utf-8"))
    entry = manifest["communes"]["10627-nam-chinh"]
    workbook = district.raw_year(2022) / "10627-nam-chinh.xlsx"
    assert (
        entry["source"]
        == hashlib.sha256(hashlib.sha256(workbook.read_bytes()).digest()).hexdigest()
    )
    report = district.outputs_year(2022) / "10627-nam-chinh" / "report.html"
    assert (
        entry["outputs"]["report.html"]
        == hashlib.sha256(hashlib.sha256(report.read_bytes()).digest()).hexdigest()
    )
    assert entry["parameters"]["commune"] == "10627" and entry["revision"]
    assert manifest["packages"]["papermill"] and manifest["packages"]["pandas"]
    assert f"số liệu {entry['source'][:12]}" in report.read_text("utf-8")
    assert str(district.base) not in json.dumps(manifest)


def test_a_failing_notebook_is_kept_and_shown_while_others_succeed(district: Paths) -> None:
    templates = district.base / "district-templates"
    broken = templates / "10645"  # An Lâm's own wording, broken
    broken.mkdir(parents=True)
    wording = (TEMPLATES / "commune_report.html.j2").read_text("utf-8")
    (broken / "commune_report.html.j2").write_text(wording + "{% if %}", "utf-8")
    runs = run_year(
        district,
        2022,
        _communes()[:2],
        workers=2,
        echo=_quiet,
        options=ReportOptions(templates_dir=templates),
    )
    status = {r.commune.slug: r for r in runs}
    assert status["nam-chinh"].status == "ok"
    assert status["an-lam"].status == "failed"
    assert status["an-lam"].message.startswith("ReportError: the report template cannot be used")
    assert "commune_report.html.j2, line" in status["an-lam"].message
    folder = district.outputs_year(2022) / "10645-an-lam"
    notebook = json.loads((folder / "notebook.ipynb").read_text("utf-8"))
    assert any(
        o.get("output_type") == "error" for c in notebook["cells"] for o in c.get("outputs", [])
    )
    assert not (folder / "report.pdf").exists()
    index = (district.outputs_year(2022) / "index.html").read_text("utf-8")
    assert "the report template cannot be used" in index


def test_progress_is_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(2, stream=stream)
    progress.step("Xã Nam Chính", "ok")
    progress.step("Xã An Lâm", "failed", "boom")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[1/2] Xã Nam Chính: ok (0 failed, ~")
    assert lines[1] == "[2/2] Xã An Lâm: failed - boom (1 failed)"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    live = Progress(1, stream=terminal)
    live.step("Xã Nam Chính", "ok")
    assert terminal.getvalue().startswith("\r[") and "1/1 Xã Nam Chính" in terminal.getvalue()


def test_dask_local_cluster_gives_the_same_reports(district: Paths, tmp_path) -> None:
    local = Paths.under(tmp_path / "pool")
    shutil.copytree(district.raw, local.raw)
    communes = _communes()[:2]
    on_dask = run_year(
        district,
        2022,
        communes,
        workers=2,
        echo=_quiet,
        scheduler="local",
        options=ReportOptions(formats=("html",)),
    )
    in_pool = run_year(
        local, 2022, communes, workers=2, echo=_quiet, options=ReportOptions(formats=("html",))
    )
    assert [r.status for r in on_dask] == [r.status for r in in_pool] == ["ok", "ok"]
    for folder in ("10627-nam-chinh", "10645-an-lam"):
        assert (district.outputs_year(2022) / folder / "report.html").read_bytes() == (
            local.outputs_year(2022) / folder / "report.html"
        ).read_bytes()


def test_in_process_engine_gives_byte_identical_reports(district: Paths, tmp_path) -> None:
    kernel = Paths.under(tmp_path / "kernel")
    shutil.copytree(district.raw, kernel.raw)
    html_only = ("html",)
    run_year(
        kernel,
        2022,
        _communes(),
        workers=2,
        echo=_quiet,
        options=ReportOptions(formats=html_only, engine="kernel"),
    )
    runs = run_year(
        district,
        2022,
        _communes(),
        workers=2,
        echo=_quiet,
        options=ReportOptions(formats=html_only, engine="inprocess"),
    )
    assert [r.status for r in runs] == ["ok"] * 3
    for commune in _communes():
        folder = f"{commune.code}-{commune.slug}"
        for name in ("report.html", "notebook.ipynb"):
            assert (district.outputs_year(2022) / folder / name).read_bytes() == (
                kernel.outputs_year(2022) / folder / name
            ).read_bytes(), (folder, name)


def test_in_process_engine_reports_a_failing_cell(district: Paths) -> None:
    templates = district.base / "t"
    (templates / "10627").mkdir(parents=True)
    (templates / "10627" / "commune_report.html.j2").write_text("{{ nothing.here }}", "utf-8")
    [run] = run_year(
        district,
        2022,
        _communes()[:1],
        workers=1,
        echo=_quiet,
        options=ReportOptions(templates_dir=templates, engine="inprocess"),
    )
    assert run.status == "failed" and "ReportError" in run.message
    notebook = json.loads(
        (district.outputs_year(2022) / "10627-nam-chinh" / "notebook.ipynb").read_text("utf-8")
    )
    assert any(
        o.get("ename") == "ReportError" for c in notebook["cells"] for o in c.get("outputs", [])
    )


def test_a_run_killed_midway_leaves_no_broken_file_and_the_next_finishes(district: Paths) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    slugs = ["nam-chinh", "an-lam", "nam-trung"]
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "--data-dir",
        str(district.base),
        "run",
        "--year",
        "2022",
        "--workers",
        "1",
        "--formats",
        "html",
    ]
    for slug in slugs:
        command += ["--commune", slug]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    outputs = district.outputs_year(2022)
    deadline = time.monotonic() + 120
    while not list(outputs.glob("*/report.html")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the run, its workers and their kernels
    process.wait()
    finished = list(outputs.glob("*/report.html"))
    assert 1 <= len(finished) < 3
    for report in finished:  # what is there is whole
        assert report.read_text("utf-8").rstrip().endswith("</html>")
    runs = run_year(
        district,
        2022,
        [sample_commune(2022, s) for s in slugs],
        workers=2,
        echo=_quiet,
        options=ReportOptions(formats=("html",)),
    )
    assert all(r.status in ("ok", "skipped") for r in runs)
    assert sum(r.status == "ok" for r in runs) >= 1  # the rest was built
    assert len(list(outputs.glob("*/report.html"))) == 3
    assert not [p for p in district.base.rglob("*") if ".tmp" in p.name]


def test_a_second_run_on_the_same_outputs_stops_with_a_message(district: Paths) -> None:
    from pipeline.running.locking import RunLocked, year_lock

    with (
        year_lock(district.outputs_year(2022)),
        pytest.raises(RunLocked, match=r"another cnscd run \(process \d+\) is writing 2022/"),
    ):
        run_year(district, 2022, _communes()[:1], workers=1, echo=_quiet)
    [run] = _run_nam_chinh_html(district)  # released: the next run goes
    assert run.status == "ok"


def test_what_a_killed_writer_left_is_removed_by_the_next_run(district: Paths) -> None:
    folder = district.outputs_year(2022) / "10627-nam-chinh"
    folder.mkdir(parents=True)
    left = [
        folder / ".report.html.4242.tmp.html",
        district.processed_year(2022) / ".members.parquet.4242.tmp.parquet",
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half", encoding="utf-8")
    kept = folder / ".notes"  # not ours: left alone
    kept.write_text("mine", encoding="utf-8")
    _run_nam_chinh_html(district)
    assert not any(path.exists() for path in left)
    assert kept.exists()


def test_bytecode_is_no_change_of_the_package(tmp_path, monkeypatch) -> None:
    import pipeline.core.provenance as provenance

    package = tmp_path / "pipeline"
    (package / "__pycache__").mkdir(parents=True)
    (package / "clean.py").write_text("RULE = 1\n", encoding="utf-8")
    monkeypatch.setattr(provenance, "PACKAGE_DIR", package)
    before = provenance.package_hash()
    (package / "__pycache__" / "clean.cpython-311.pyc").write_bytes(b"\x00bytecode")
    assert provenance.package_hash() == before
    (package / "clean.py").write_text("RULE = 2\n", encoding="utf-8")
    assert provenance.package_hash() != before
