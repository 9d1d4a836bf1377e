"""Stages with declared inputs: a re-run redoes what depends on what changed, and says why."""

from __future__ import annotations

import json
import os
import py_compile
import shutil
from pathlib import Path

import openpyxl
import pytest

from pipeline.core.config import NOTEBOOKS, PACKAGE_DIR, Paths
from pipeline.core.errors import PipelineError
from pipeline.running import nodes, stages
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions

OPTIONS = ReportOptions(formats=("html",), engine="inprocess")


def _run(paths: Paths, slugs: tuple[str, ...], said: list[str] | None = None, **kwargs):
    communes = [sample_commune(2022, slug) for slug in slugs]
    echo = said.append if said is not None else (lambda line: None)
    runs = run_year(paths, 2022, communes, workers=1, echo=echo, options=OPTIONS, **kwargs)
    return {r.commune.code: r.status for r in runs}


def test_each_stage_uses_its_own_modules() -> None:
    prepare = stages.modules_of(nodes.PREPARE)
    report = stages.modules_of(nodes.REPORT)
    assert {
        "reading.clean",
        "reading.ingest",
        "core.numbers",
        "core.vntext",
        "running.preparing",
    } <= set(prepare)
    assert not {"writing.report", "writing.narrative", "writing.charts", "running.rendering"} & set(
        prepare
    )
    assert {
        "writing.report",
        "writing.narrative",
        "writing.charts",
        "running.rendering",
        "writing.pdf",
        "writing.word",
    } <= set(report)
    # The report reads clean tables; it does not clean: a cleaning rule reaches it only
    # through the rows it changes.
    assert not {"reading.clean", "reading.ingest"} & set(report)
    assert "reading/clean.py" in stages.code_inputs(nodes.PREPARE)


def test_what_a_notebook_imports_is_in_its_stage_s_code() -> None:
    """A review found `reviewing` (and `group_evidence`), which the notebooks import, outside
    the report's and the comparison's keys: an edited audit left every notebook.html 'up to
    date'."""
    for stage, notebook in (
        (nodes.REPORT, "commune_report.ipynb"),
        (nodes.COMPARISON, "district_comparison.ipynb"),
    ):
        imported = stages.notebook_imports(NOTEBOOKS / notebook)
        assert "writing.reviewing" in imported
        assert imported <= set(stages.modules_of(stage)), stage.name
        assert {"writing/reviewing.py", "writing/group_evidence.py"} <= set(
            stages.code_inputs(stage)
        )


def test_why_names_what_changed() -> None:
    before = {"clean.py": "a", "settings": "s", "workbook": "w"}
    assert stages.why(None, before) == "not built yet"
    assert stages.why(before, dict(before)) == ""
    assert stages.why(before, {**before, "clean.py": "b"}) == "clean.py changed"
    changed = stages.why(before, {"clean.py": "b", "settings": "t", "workbook": "x", "new": "n"})
    assert changed == "clean.py, new, settings and 1 more changed"


def test_bytecode_or_a_touched_source_rebuilds_nothing(district_copy: Paths) -> None:
    _run(district_copy, ("nam-chinh",))
    tables = district_copy.processed_year(2022) / "activities.parquet"
    written = tables.stat().st_mtime_ns
    clean_py = PACKAGE_DIR / "reading" / "clean.py"
    stat = clean_py.stat()
    os.utime(clean_py, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # touched, not changed
    pyc = PACKAGE_DIR / "reading" / "__pycache__" / "clean.cpython-stage-test.pyc"
    try:
        py_compile.compile(str(clean_py), cfile=str(pyc))  # what a worker writes
        said: list[str] = []
        assert _run(district_copy, ("nam-chinh",), said) == {"10627": "skipped"}
    finally:
        pyc.unlink(missing_ok=True)
        os.utime(clean_py, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert tables.stat().st_mtime_ns == written
    assert not any("cleaning" in line or "indicators" in line for line in said)


def test_a_cleaning_rule_edited_recleans_and_rebuilds_what_it_changed(
    district_copy: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slugs = ("nam-chinh", "an-lam")
    _run(district_copy, slugs)
    # The edit: clean.py's source differs, and its rule now drops one of Nam Chính's rows.
    edited = tmp_path / "clean.py"
    edited.write_text(
        (PACKAGE_DIR / "reading" / "clean.py").read_text("utf-8") + "\n_NEW_RULE = 1\n", "utf-8"
    )
    real_path = stages._module_path
    monkeypatch.setattr(
        stages, "_module_path", lambda m: edited if m == "reading.clean" else real_path(m)
    )
    stages.modules_of.cache_clear()
    import pipeline.running.preparing as preparing

    real_clean = preparing.clean_tables

    def stricter(stacked, year, cutoffs):
        result = real_clean(stacked, year, cutoffs)
        activities = result.tables["activities"]
        last = activities.index[activities["commune_code"] == "10627"][-1]
        result.tables["activities"] = activities.drop(index=last).reset_index(drop=True)
        return result

    monkeypatch.setattr(preparing, "clean_tables", stricter)
    said: list[str] = []
    statuses = _run(district_copy, slugs, said)
    assert "2022: cleaning 2 (reading/clean.py changed)" in said
    assert any(line.startswith("2022: computing indicators (") for line in said)
    # Only the commune whose rows changed is reported again.
    assert statuses == {"10627": "ok", sample_commune(2022, "an-lam").code: "skipped"}
    assert "2022: reports to build: 1 (clean rows, indicators changed)" in said


def test_a_cleaning_edit_that_changes_no_row_rebuilds_no_report(
    district_copy: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(district_copy, ("nam-chinh",))
    edited = tmp_path / "clean.py"
    edited.write_text(
        (PACKAGE_DIR / "reading" / "clean.py").read_text("utf-8") + "\n_UNUSED = 1\n", "utf-8"
    )
    real_path = stages._module_path
    monkeypatch.setattr(
        stages, "_module_path", lambda m: edited if m == "reading.clean" else real_path(m)
    )
    said: list[str] = []
    assert _run(district_copy, ("nam-chinh",), said) == {"10627": "skipped"}
    assert "2022: cleaning 1 (reading/clean.py changed)" in said
    assert not any("indicators" in line for line in said)


def test_a_comment_or_docstring_rebuilds_nothing(
    district_copy: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(district_copy, ("nam-chinh",))
    edited: dict[str, Path] = {}
    for module in (
        "reading.clean",
        "measuring.indicators",
        "writing.narrative",
        "measuring.compare",
    ):
        source = (PACKAGE_DIR / f"{module.replace('.', '/')}.py").read_text("utf-8")
        commented = source.replace('"""', '"""An edited docstring. ', 1) + "\n# a comment\n\n"
        assert commented != source
        edited[module] = tmp_path / f"{module}.py"
        edited[module].write_text(commented, "utf-8")
    real_path = stages._module_path
    monkeypatch.setattr(stages, "_module_path", lambda m: edited.get(m) or real_path(m))
    said: list[str] = []
    assert _run(district_copy, ("nam-chinh",), said) == {"10627": "skipped"}
    assert not any("cleaning" in line or "indicators" in line for line in said), said


def test_a_registry_change_rebuilds_the_reports() -> None:
    for stage in (nodes.PREPARE, nodes.REPORT, nodes.COMPARISON):
        assert "pipeline/data" in stages.code_inputs(stage), stage.name


def test_last_year_s_rows_changed_recompute_this_year_s_figures(district_copy: Paths) -> None:
    """The indicators' declared inputs include last year's clean rows: a report's
    previous-year column must never be stale."""
    commune = [sample_commune(2022, "nam-chinh")]
    for year in (2022, 2023):
        run_year(district_copy, year, commune, workers=1, echo=None, options=OPTIONS)
    workbook = next(district_copy.raw_year(2022).glob("10627-*.xlsx"))
    book = openpyxl.load_workbook(workbook)
    book.remove(book["Kết quả"])  # last year's results, gone
    book.save(workbook)
    run_year(district_copy, 2022, commune, workers=1, echo=None, options=OPTIONS)
    said: list[str] = []
    run_year(district_copy, 2023, commune, workers=1, echo=said.append, options=OPTIONS)
    assert any(line.startswith("2023: computing indicators (last year's") for line in said), said


def test_a_settings_file_of_groups_alone_rebuilds_no_report(district_copy: Paths, tmp_path: Path):
    """A new user's trial: `compare --group … --settings groups.toml` rebuilt every report
    ('settings changed') although the file held only [groups]."""
    _run(district_copy, ("nam-chinh",))
    settings = tmp_path / "groups.toml"
    settings.write_text('[groups]\n"Cụm" = ["10627", "10645"]\n', encoding="utf-8")
    options = ReportOptions(settings, formats=("html",), engine="inprocess")
    communes = [sample_commune(2022, "nam-chinh")]
    runs = run_year(district_copy, 2022, communes, workers=1, echo=None, options=options)
    assert [r.status for r in runs] == ["skipped"]


def test_settings_changed_rebuilds_reports_not_cleaning(
    district_copy: Paths, tmp_path: Path
) -> None:
    _run(district_copy, ("nam-chinh",))
    settings = tmp_path / "district.toml"
    settings.write_text("[limitations]\nmax_rows_rejected_share = 9\n", encoding="utf-8")
    said: list[str] = []
    communes = [sample_commune(2022, "nam-chinh")]
    options = ReportOptions(settings, formats=("html",), engine="inprocess")
    runs = run_year(district_copy, 2022, communes, workers=1, echo=said.append, options=options)
    assert [r.status for r in runs] == ["ok"]
    assert "2022: reports to build: 1 (settings changed)" in said
    assert not any("cleaning" in line for line in said)
    # A named group added to the same settings is the comparisons' business: no report again.
    settings.write_text(
        settings.read_text("utf-8") + '[groups]\n"Cụm" = ["10627", "10645"]\n', encoding="utf-8"
    )
    options = ReportOptions(settings, formats=("html",), engine="inprocess")
    runs = run_year(district_copy, 2022, communes, workers=1, echo=said.append, options=options)
    assert [r.status for r in runs] == ["skipped"]


def _set_cell(workbook: Path, sheet: str, header: str, value: object) -> int:
    book = openpyxl.load_workbook(workbook)
    rows = book[sheet]
    column = next(c.column for c in rows[1] if c.value == header)
    rows.cell(row=2, column=column).value = value
    book.save(workbook)
    return column


@pytest.mark.parametrize(("header", "value"), [("Người ký", None), ("Số báo cáo", 20231)])
def test_a_bad_commune_row_blocks_with_its_cell(
    district_copy: Paths, header: str, value: object
) -> None:
    workbook = next(district_copy.raw_year(2022).glob("10627-*.xlsx"))
    _set_cell(workbook, "Thông tin xã", header, value)
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    runs = run_year(district_copy, 2022, communes, workers=1, echo=None, options=OPTIONS)
    failed = {r.commune.code: r for r in runs}
    assert failed[sample_commune(2022, "an-lam").code].status == "ok"
    message = failed["10627"].message
    assert failed["10627"].status == "failed"
    assert workbook.name in message and "sheet Thông tin xã" in message
    assert "row 2" in message and f"column {header}" in message
    assert "IndexError" not in message and "()" not in message  # an empty cell quotes nothing
    if value is not None:
        assert f"({value})" in message


def test_a_kill_between_stages_never_leaves_a_state_trusted_wrongly(district_copy: Paths) -> None:
    """Indicators written, their record not: the next run computes them again."""
    _run(district_copy, ("nam-chinh",))
    processed = district_copy.processed_year(2022)
    record = processed / "indicators.inputs.json"
    json.loads(record.read_text("utf-8"))
    record.unlink()  # as a kill between indicators.parquet and its record leaves it
    said: list[str] = []
    _run(district_copy, ("nam-chinh",), said)
    assert any(line.startswith("2022: computing indicators (not built yet)") for line in said)
    # Tables being rewritten: their communes leave the record first.
    prepared = json.loads((processed / "prepared.json").read_text("utf-8"))
    assert "10627" in prepared["communes"]
    shutil.rmtree(processed)
    said.clear()
    _run(district_copy, ("nam-chinh",), said)
    assert "2022: cleaning 1 (not built yet)" in said


def test_compare_keeps_the_district_s_wording_and_force_rebuilds_comparisons(
    district_copy: Paths, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from pipeline import cli
    from pipeline.core.config import TEMPLATES

    templates = tmp_path / "huyen"
    templates.mkdir()
    own = (TEMPLATES / "commune_report.html.j2").read_text("utf-8")
    marked = own.replace("</h1>", "</h1><p>Theo mẫu riêng của huyện</p>", 1)
    (templates / "commune_report.html.j2").write_text(marked, "utf-8")
    settings = tmp_path / "huyen.toml"
    settings.write_text("[limitations]\nmax_trainings = 3\n", encoding="utf-8")
    options = ["--settings", str(settings), "--templates", str(templates)]
    base = ["--data-dir", str(district_copy.base)]
    year = ["--year", "2022", "--formats", "html"]
    assert cli.main([*base, "run", *year, "--commune", "nam-chinh", *options]) == 0
    report = district_copy.outputs_year(2022) / "10627-nam-chinh" / "report.html"
    assert "Theo mẫu riêng của huyện" in report.read_text("utf-8")
    written = report.stat().st_mtime_ns
    capsys.readouterr()
    assert cli.main([*base, "compare", "--year", "2022", "--district", "291", *options]) == 0
    said = capsys.readouterr().out
    # Nam Chính is not built again, neither in the package's wording nor in other formats.
    assert "reports to build: 2 (not built yet)" in said, said
    assert report.stat().st_mtime_ns == written, said
    assert "Theo mẫu riêng của huyện" in report.read_text("utf-8")
    again = [*base, "run", *year, "--district", "291", "--force", *options]
    assert cli.main(again) == 0
    said = capsys.readouterr().out
    assert "comparison Huyện Nam Sách: ok (--force)" in said, said


# What each node must be keyed by, typed here independently of `nodes.py`: a read removed from
# a node's declaration (and so from its key) fails this test; one removed from the runner only
# fails every run (`stages.inputs_of`).
KEYED_BY = {
    "prepare": {"workbook", "own units", "settings [limits]"},
    "indicators": {"clean tables", "last year's clean rows", "last year's indicators", "own units"},
    "report": {"clean rows", "indicators", "own units", "settings", "templates", "parameters"},
    "comparison": {"indicators", "statuses", "own units", "settings", "templates", "parameters"},
    "index": {"statuses"},
}


def test_each_node_declares_the_reads_it_must_be_keyed_by() -> None:
    assert {node.name: set(node.reads) for node in nodes.NODES} == KEYED_BY
    for node in nodes.NODES:
        assert node.writes, node.name
        assert all(path.exists() for path in node.files), node.name


def test_a_node_is_keyed_by_exactly_its_declared_reads() -> None:
    data = dict.fromkeys(nodes.REPORT.reads, "d")
    code = {"writing/report.py": "c"}
    assert stages.inputs_of(nodes.REPORT, data, code) == {**code, **data}
    with pytest.raises(PipelineError, match="missing: indicators"):
        stages.inputs_of(nodes.REPORT, {k: v for k, v in data.items() if k != "indicators"}, code)
    with pytest.raises(PipelineError, match="not declared: workbook"):
        stages.inputs_of(nodes.REPORT, {**data, "workbook": "w"}, code)


def test_the_stored_records_hold_the_declared_reads(district_copy: Paths) -> None:
    """What a run stores (and compares on the next run) is the declaration's reads plus code."""
    _run(district_copy, ("nam-chinh",))
    processed = district_copy.processed_year(2022)
    prepared = json.loads((processed / "prepared.json").read_text("utf-8"))
    assert set(prepared["communes"]["10627"]["inputs"]) == set(nodes.PREPARE.reads) | {"code"}
    computed = json.loads((processed / "indicators.inputs.json").read_text("utf-8"))
    code = set(stages.code_inputs(nodes.INDICATORS))
    assert set(computed) == set(nodes.INDICATORS.reads) | code
    folder = next(district_copy.outputs_year(2022).glob("10627-*"))
    status = json.loads((folder / "status.json").read_text("utf-8"))
    assert set(status["inputs"]) == set(nodes.REPORT.reads) | set(stages.code_inputs(nodes.REPORT))


def test_the_runner_only_walks_the_nodes() -> None:
    """Issue 28: the runner says in which order the nodes run and what is redone; the nodes'
    declarations, the digests and each node's work live in their own modules."""
    assert len((PACKAGE_DIR / "running" / "runner.py").read_text("utf-8").splitlines()) <= 350
