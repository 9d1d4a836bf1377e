"""Operator input that is wrong or hostile: district templates and settings, the year's lock,
output paths, a failed comparison, disk full, and text that would rewrite a terminal.

Each case is small and runs no report, unless it is about the command line as a whole.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

import jinja2
import pandas as pd
import pytest
from test_sentences import BASE, NAM_CHINH, _tables

from pipeline import cli
from pipeline.core.config import OutsideOutputs, Paths
from pipeline.core.errors import PipelineError, ReportError
from pipeline.core.textsafety import TerminalStream, for_terminal, printable
from pipeline.measuring.settings import SettingsError, load_settings
from pipeline.reading import store
from pipeline.running import comparisons, runner
from pipeline.running.locking import RunLocked, year_lock
from pipeline.writing.index import comparison_links, write_status
from pipeline.writing.narrative import environment, render_report, render_template, report_context

# --- district templates: wording, not code ---------------------------------------------------


def test_a_district_template_cannot_run_code(tmp_path) -> None:
    planted = tmp_path / "pwned"
    own = tmp_path / "templates"
    own.mkdir()
    (own / "commune_report.html.j2").write_text(
        "{{ self.__init__.__globals__['__builtins__']['__import__']('os')"
        f".system('touch {planted}') }}}}",
        encoding="utf-8",
    )
    with pytest.raises(ReportError, match="refused: it reaches beyond the values it is given"):
        render_template("commune_report.html.j2", {}, [own])
    assert not planted.exists()
    # A template that only formats what it is given still works.
    (own / "commune_report.html.j2").write_text("{{ v.trainings|count }} lớp", encoding="utf-8")
    assert render_template("commune_report.html.j2", {"v": {"trainings": 3}}, [own]) == "03 lớp"


def test_the_packaged_report_renders_as_it_did_before_the_sandbox() -> None:
    context = report_context(NAM_CHINH, 2023, _tables(), BASE, {**load_settings()}) | {
        "footer": "f"
    }
    charts = {"services": "<svg></svg>", "months": ""}
    sandboxed = environment()
    assert isinstance(sandboxed, jinja2.sandbox.SandboxedEnvironment)
    plain = jinja2.Environment(  # the environment as it was: no sandbox, no finalize
        loader=sandboxed.loader,
        autoescape=sandboxed.autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    plain.filters.update(sandboxed.filters)
    before = plain.get_template("commune_report.html.j2").render(**context, charts=charts)
    assert render_report(context, charts) == before
    assert "Nam Chính" in before


def test_control_and_bidi_characters_never_reach_a_document() -> None:
    html = environment().from_string("<p>{{ name }}</p>").render(name="An\u202eBình\x1b[2J\x00\x08")
    assert html == "<p>AnBình[2J</p>"
    assert printable("Thôn\u2066 1\t\n") == "Thôn 1\t\n"


# --- settings: a declared schema --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            '[limitations]\nmax_trainings = "one"\n',
            'limitations.max_trainings: "one" is not a whole',
        ),
        ("[limitations]\nmax_trainigs = 2\n", "max_trainigs: no such setting in [limitations]"),
        ("max_trainings = 2\n", "max_trainings: no such setting in the top level"),
        ("[limitations\nmax_trainings = 2\n", "not valid TOML: Expected ']' at the end of a table"),
        ("[limitations]\nmin_pillar_share = 150\n", "min_pillar_share: 150 must be at most 100"),
        ("[comparison]\noutlier_z = true\n", "comparison.outlier_z: true is not a number"),
        ("[comparison]\noutlier_z = nan\n", "comparison.outlier_z: nan is not a number a setting"),
        ("[comparison]\nmuch_points = inf\n", "comparison.much_points: inf is not a number a"),
        ('[targets.2023.nope]\nvalue = 1\ntext = "x"\n', "nope: no such indicator"),
        ('[targets.nope]\nvalue = 1\ntext = "x"\n', '"nope" is not a year'),
        ('[recipients]\nwith_districts = ["Phòng {x}"]\n', "may name only {district}"),
        ('[groups]\n"Cụm" = ["10627", "../x"]\n', 'groups.Cụm.1: "../x" is not a unit\'s code'),
        ("[limits]\nmax_rows = 0\n", "limits.max_rows: 0 must be at least 1"),
        # The members' ages are read for every commune of a year alike: not a district's.
        ("[members]\naged_from = 55\n", "[members] is the package's"),
        ("[members]\nages = [10]\n", "members.ages"),
    ],
)
def test_settings_that_do_not_follow_the_schema_are_refused(tmp_path, text, says) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert says in str(caught.value)
    assert str(path) in str(caught.value)


def test_malformed_toml_gives_its_line_and_column(tmp_path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[limitations]\nmax_trainings 2\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"line 2, column 15"):
        load_settings(path)


def test_limits_are_named_whole_numbers(tmp_path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[limits]\nmax_rows = 300000\n", encoding="utf-8")
    assert load_settings(path)["limits"]["max_rows"] == 300000
    path.write_text("[limits]\nmax_sheet_cells = 5000000\nmax_part_mb = 50.5\n", encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(path)
    assert "max_sheet_cells: no such setting in [limits]" in str(refused.value)
    assert "limits.max_part_mb: 50.5 is not a whole number" in str(refused.value)


def test_a_settings_file_that_does_not_exist_is_an_error(tmp_path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nowhere.toml")


# --- the year's lock ---------------------------------------------------------------------------


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path) -> None:
    year = tmp_path / "outputs" / "2022"
    year.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    (year / ".lock").symlink_to(victim)
    with pytest.raises(PipelineError, match="symbolic link"), year_lock(year):
        pass
    assert victim.read_text(encoding="utf-8") == "keep me"


def test_a_forked_worker_does_not_keep_the_year_locked(tmp_path) -> None:
    """A run killed while its pool workers live (kill -9: no unlock): the workers were forked
    holding no copy of the lock, so the next run is not refused."""
    year = tmp_path / "2022"
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from pipeline.running.locking import year_lock\n"
        f"with year_lock(Path({str(year)!r})):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the test reads to the end\n"
        "        os.dup2(1, 2)\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    print(pid, flush=True)\n"
        "    os._exit(0)  # as if killed: the lock is never released by its holder\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    child = int(done.stdout.strip())
    try:
        os.kill(child, 0)  # the worker still lives
        with year_lock(year):
            pass
    finally:
        os.kill(child, 9)


def test_a_second_run_is_still_refused(tmp_path) -> None:
    # flock locks are per open file: a second open in the same process conflicts too
    with (
        year_lock(tmp_path),
        pytest.raises(RunLocked, match=str(os.getpid())),
        year_lock(tmp_path),
    ):
        pass


# --- paths and stores ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../victim", "a/b", ".lock", "", "x\x1b"])
def test_output_folders_stay_under_outputs(tmp_path, name) -> None:
    with pytest.raises(OutsideOutputs):
        Paths.under(tmp_path).output_dir(2022, name)


def test_a_symlinked_output_folder_leading_out_is_refused(tmp_path) -> None:
    paths = Paths.under(tmp_path / "base")
    paths.outputs_year(2022).mkdir(parents=True)
    (paths.outputs_year(2022) / "10627-nam-chinh").symlink_to(tmp_path)
    with pytest.raises(OutsideOutputs, match="leads out of"):
        paths.output_dir(2022, "10627-nam-chinh")
    assert paths.output_dir(2022, "10633-nam-trung").parent == paths.outputs_year(2022)


def test_missing_clean_tables_say_what_to_run(tmp_path) -> None:
    with pytest.raises(PipelineError, match=r"run `cnscd run --year 2022` first"):
        store.read_year(tmp_path / "2022")
    with pytest.raises(FileNotFoundError):  # still what callers that look for it catch
        store.read_commune(tmp_path / "2022", "10627")


# --- a failed comparison ---------------------------------------------------------------------


def _one_commune_figures(paths: Paths) -> None:
    paths.processed_year(2022).mkdir(parents=True)
    pd.DataFrame(
        {"commune_code": ["10627"], "indicator": ["members_total"], "value": [1.0]}
    ).assign(missing_reason="").to_parquet(paths.processed_year(2022) / "indicators.parquet")


EARLIER = ("comparison.html", "comparison.xlsx", "comparison.pdf", "notebook.html")


def _earlier_success(folder) -> None:
    """The files of an earlier run's comparison, and its status that lists them."""
    from pipeline.core.provenance import hash_path

    folder.mkdir(parents=True)
    for name in EARLIER:
        (folder / name).write_text("last run's success", encoding="utf-8")
    outputs = {name: hash_path(folder / name) for name in EARLIER}
    write_status(
        folder, {"name": "Huyện Nam Sách", "status": "ok", "key": "old", "outputs": outputs}
    )


def test_a_failed_comparison_keeps_the_earlier_one_said_as_earlier(tmp_path, monkeypatch) -> None:
    """Failed before the old code removed the earlier comparison's files: they now stay, and the
    index and the manifest say that they are an earlier run's and that this one failed, why."""
    paths = Paths.under(tmp_path)
    _one_commune_figures(paths)
    folder = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    _earlier_success(folder)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(comparisons, "execute_comparison", disk_full)
    done = comparisons.run_comparisons(paths, 2022, ["district:291"], echo=lambda line: None)
    assert done["district:291"].status == "failed"
    assert "disk full while making the comparison" in done["district:291"].message
    assert sorted(p.name for p in folder.iterdir()) == sorted([*EARLIER, "status.json"])
    assert all((folder / n).read_text("utf-8") == "last run's success" for n in EARLIER)
    status = json.loads((folder / "status.json").read_text("utf-8"))
    assert status["status"] == "failed" and status["outputs"] == {}
    assert sorted(status["earlier"]["outputs"]) == sorted(EARLIER)
    index = (paths.outputs_year(2022) / "index.html").read_text(encoding="utf-8")
    assert (
        "Huyện Nam Sách (lần lập này lỗi: disk full while making the comparison: free some space "
        "and run again; các tệp dưới đây là của lần lập trước, không phải số liệu hiện hành)"
    ) in index
    assert "so-sanh-291-nam-sach/comparison.xlsx" in index
    manifest = json.loads((paths.outputs_year(2022) / "manifest.json").read_text("utf-8"))
    entry = manifest["comparisons"]["so-sanh-291-nam-sach"]
    assert entry["status"] == "failed" and "disk full" in entry["message"]
    assert sorted(entry["earlier"]["outputs"]) == sorted(EARLIER)

    # Failing again keeps the same earlier files, still said as earlier.
    comparisons.run_comparisons(paths, 2022, ["district:291"], echo=lambda line: None)
    again = json.loads((folder / "status.json").read_text("utf-8"))
    assert again["earlier"] == status["earlier"]


def test_a_comparison_that_stops_half_written_leaves_the_earlier_one_whole(tmp_path, monkeypatch):
    """It writes beside the earlier one; nothing of it is swapped in unless it is complete."""
    paths = Paths.under(tmp_path)
    _one_commune_figures(paths)
    folder = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    _earlier_success(folder)

    def half_written(paths_, year, group, options, out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "comparison.html").write_text("half of this run's", encoding="utf-8")
        raise MemoryError("while drawing the charts")

    monkeypatch.setattr(comparisons, "execute_comparison", half_written)
    done = comparisons.run_comparisons(paths, 2022, ["district:291"], echo=lambda line: None)
    assert done["district:291"].status == "failed"
    assert all((folder / n).read_text("utf-8") == "last run's success" for n in EARLIER)
    assert not (paths.outputs_year(2022) / ".work").exists() or not any(
        (paths.outputs_year(2022) / ".work").rglob("comparison.html")
    )

    def complete(paths_, year, group, options, out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("comparison.html", "comparison.xlsx", "notebook.html", "notebook.ipynb"):
            (out_dir / name).write_text("this run's", encoding="utf-8")
        return comparisons.Produced(
            "ok", "", ["comparison.html", "comparison.xlsx", "notebook.html", "notebook.ipynb"]
        )

    monkeypatch.setattr(comparisons, "execute_comparison", complete)
    done = comparisons.run_comparisons(paths, 2022, ["district:291"], echo=lambda line: None)
    assert done["district:291"].status == "ok"
    assert sorted(p.name for p in folder.iterdir()) == [
        "comparison.html",
        "comparison.xlsx",
        "notebook.html",
        "notebook.ipynb",
        "status.json",
    ]  # the earlier PDF, which this run did not make, is gone with the earlier run
    assert (folder / "comparison.html").read_text("utf-8") == "this run's"
    status = json.loads((folder / "status.json").read_text("utf-8"))
    assert status["status"] == "ok" and "earlier" not in status
    [(name, links)] = comparison_links(paths.outputs_year(2022))
    assert name == "Huyện Nam Sách"
    assert ("HTML", "so-sanh-291-nam-sach/comparison.html") in links


def test_a_failed_comparison_fails_the_run(district_copy, capsys, monkeypatch) -> None:
    from pipeline.running.rendering import Produced

    failed = {"district:291": Produced("failed", "disk full while making the comparison")}
    monkeypatch.setattr(runner, "run_and_compare", lambda *a, **k: ([], failed))
    code, err = run_cli(capsys, "--data-dir", str(district_copy.base), "run", "--year", "2022")
    assert code == 1 and "cnscd: 1 comparison(s) failed; see the index" in err


def test_a_comparison_whose_notebook_failed_keeps_only_its_notebook(tmp_path, monkeypatch):
    """No earlier success on record: a file no status vouches for is not kept as earlier."""
    paths = Paths.under(tmp_path)
    _one_commune_figures(paths)
    folder = paths.outputs_year(2022) / "so-sanh-291-nam-sach"
    folder.mkdir(parents=True)
    (folder / "comparison.xlsx").write_text("a file of no run on record", encoding="utf-8")

    def notebook_failed(paths_, year, group, options, out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        written = ["notebook.ipynb", "notebook.html", "comparison.html"]
        for name in written:
            (out_dir / name).write_text("the error", encoding="utf-8")
        return comparisons.Produced("failed", "NameError: x", written)

    monkeypatch.setattr(comparisons, "execute_comparison", notebook_failed)
    comparisons.run_comparisons(paths, 2022, ["district:291"], echo=lambda line: None)
    assert sorted(p.name for p in folder.iterdir()) == ["notebook-failed.html", "status.json"]
    assert (folder / "notebook-failed.html").read_text("utf-8") == "the error"
    status = json.loads((folder / "status.json").read_text("utf-8"))
    assert sorted(status["outputs"]) == ["notebook-failed.html"] and "earlier" not in status
    [(name, links)] = comparison_links(paths.outputs_year(2022))
    assert name == "Huyện Nam Sách (lỗi, chưa lập được: NameError: x)"
    assert links == [("Sổ tính của lần lỗi", "so-sanh-291-nam-sach/notebook-failed.html")]


# --- the command line ------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str]:
    """The command line in this process (its imports are paid once): exit code and stderr."""
    code = cli.main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "compare"])
def test_options_naming_no_file_exit_2(tmp_path, capsys, command) -> None:
    base = ["--data-dir", str(tmp_path), command, "--year", "2022", "--district", "nam-sach"]
    for option, says in (("--settings", "no such file"), ("--templates", "no such folder")):
        code, err = run_cli(capsys, *base, option, str(tmp_path / "nowhere"))
        assert code == 2, err
        assert err == f"cnscd: error: {option} {tmp_path / 'nowhere'}: {says}" + (
            " (give the folder that holds commune_report.html.j2)\n"
            if option == "--templates"
            else "\n"
        )


@pytest.mark.parametrize("command", ["run", "compare", "check"])
@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            '[limitations]\nmax_trainings = "one"\n',
            'limitations.max_trainings: "one" is not a whole number',
        ),
        (
            "[limitations]\nmax_trainings = 1\n[limitations]\n",
            "not valid TOML: Cannot declare ('limitations',) twice (at line 3, column 13)",
        ),
    ],
)
def test_bad_settings_are_one_message_before_any_work(tmp_path, capsys, command, text, says):
    settings = tmp_path / "own.toml"
    settings.write_text(text, encoding="utf-8")
    code, err = run_cli(
        capsys, "--data-dir", str(tmp_path), command, "--year", "2022", "--district", "nam-sach",
        "--settings", str(settings),
    )  # fmt: skip
    assert code == 2
    assert err.splitlines() == [f"cnscd: error: settings {settings}: {says}"]
    assert not (tmp_path / "data" / "processed").exists()


def test_check_reads_with_the_district_s_settings(district_copy, capsys) -> None:
    """`check --settings` reads the workbooks as `run --settings` would: with its [limits]."""
    settings = district_copy.base / "own.toml"
    settings.write_text("[limits]\nmax_rows = 20\n", encoding="utf-8")
    base = ["--data-dir", str(district_copy.base), "check", "--year", "2022"]
    assert cli.main([*base, "--commune", "nam-chinh"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "--commune", "nam-chinh", "--settings", str(settings)]) == 1
    out = capsys.readouterr().out
    assert "BLOCKED" in out and "limit of 20 rows" in out, out


def test_compare_rebuilds_the_reports_with_the_district_s_options(
    tmp_path, capsys, monkeypatch
) -> None:
    settings, templates = tmp_path / "own.toml", tmp_path / "own-templates"
    settings.write_text("[limitations]\nmax_trainings = 2\n", encoding="utf-8")
    templates.mkdir()
    seen = []
    monkeypatch.setattr(
        runner, "run_and_compare", lambda *a, **k: seen.append(k["options"]) or ([], {})
    )
    code, _ = run_cli(
        capsys, "--data-dir", str(tmp_path), "compare", "--year", "2022", "--district", "291",
        "--settings", str(settings), "--templates", str(templates),
    )  # fmt: skip
    assert code == 0
    assert [(o.settings_file, o.templates_dir) for o in seen] == [(settings, templates)]


def test_disk_full_is_one_line_naming_the_stage(tmp_path, monkeypatch, capsys) -> None:
    def disk_full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(store, "write_atomically", disk_full)
    table = tmp_path / "commune.parquet"
    monkeypatch.setattr(
        cli, "cmd_indicators", lambda args: store.write_parquet(pd.DataFrame(), table)
    )
    code, err = run_cli(capsys, "indicators")
    assert code == 1
    assert err == (
        f"cnscd: error: disk full while writing the clean tables ({table}): free some space "
        "and run again\n"
    )


def test_a_notebook_cut_short_by_a_full_disk_says_disk_full(tmp_path, monkeypatch) -> None:
    """papermill writes the executed notebook in place: a full disk leaves it cut short. The
    commune then says 'disk full', not JSONDecodeError; a file cut short on a disk with room is
    still the JSON error it is."""
    from collections import namedtuple

    import pipeline.core.files as files
    from pipeline.running.rendering import report_fragment
    from pipeline.running.scheduling import failed
    from pipeline.sample import sample_commune

    notebook = tmp_path / "notebook.ipynb"
    notebook.write_text('{"cells": [{"outputs": [', encoding="utf-8")
    with pytest.raises(json.JSONDecodeError):
        report_fragment(notebook)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(files.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 0))
    with pytest.raises(OSError) as caught:
        report_fragment(notebook)
    run = failed(sample_commune(2022, "nam-chinh"), caught.value)
    assert run.status == "failed"
    assert run.message == (
        f"disk full while making the report ({notebook}): free some space and run again"
    )


def test_an_unexpected_fault_is_one_line(monkeypatch, capsys) -> None:
    def broken(args):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(cli, "cmd_indicators", broken)
    assert cli.main(["indicators"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cnscd: error: unexpected TypeError while running: unsupported operand")


def test_terminal_escapes_in_a_file_name_are_shown_not_obeyed(tiny_district, tmp_path, capsys):
    raw = Paths.under(tmp_path).raw_year(2022)
    raw.mkdir(parents=True)
    shutil.copy(tiny_district.raw_year(2022) / "10627-nam-chinh.xlsx", raw / "\x1b[2J\u202exa.xlsx")
    cli.main(["--data-dir", str(tmp_path), "check", "--year", "2022"])
    out, err = capsys.readouterr()
    assert "\\x1b[2J\\u202exa.xlsx" in err, err
    assert "\x1b" not in out + err and "\u202e" not in out + err


def test_the_terminal_stream_keeps_the_progress_lines_return() -> None:
    class Sink:
        text = ""

        def write(self, text: str) -> None:
            self.text += text

    sink = Sink()
    stream = TerminalStream(sink)
    stream.write("\r[###---] 3/6 Xã \x1b[31mĐỏ\r")
    assert sink.text == "\r[###---] 3/6 Xã \\x1b[31mĐỏ\\x0d"
    assert for_terminal("a\tb\nc") == "a\tb\nc"


def test_a_long_name_wraps_inside_the_printed_page() -> None:
    import io

    from pypdf import PdfReader

    from pipeline.writing.pdf import pdf_bytes

    name = "Nguyễn" + "Văn" * 120  # typed without spaces
    fragment = (
        f'<article class="cnscd-report"><p>Người ký: {name}.</p>'
        f'<table class="signature-block"><tr><td class="signature">{name}</td></tr></table>'
        "</article>"
    )
    page = PdfReader(io.BytesIO(pdf_bytes(fragment, "t"))).pages[0]
    starts: list[float] = []
    page.extract_text(
        visitor_text=lambda text, cm, tm, *_: (
            starts.append(tm[4] * cm[0] + cm[4]) if text.strip() else None
        )
    )
    lines = [line for line in page.extract_text().splitlines() if "VănVăn" in line]
    assert len(lines) > 4  # both names were broken into lines
    assert "".join(lines).count("Văn") == 240  # whole, with no mark added between letters
    right_margin = float(page.mediabox.width) - 15 * 72 / 25.4
    assert starts and max(starts) <= right_margin - 3  # every letter starts inside the text
