"""The command line as a user meets it: real subprocesses, one clear message, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline.core.config import Paths


def cnscd(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def test_unknown_commune_is_one_clear_message(tmp_path) -> None:
    done = cnscd("--data-dir", str(tmp_path), "run", "--year", "2022", "--commune", "nam-chin")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "no commune 'nam-chin' in the 2022 registry" in done.stderr
    assert "Did you mean: nam-chinh" in done.stderr  # it says what would have been right


def test_missing_workbook_names_the_file(tmp_path) -> None:
    done = cnscd("--data-dir", str(tmp_path), "run", "--year", "2022", "--commune", "10627")
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert "10627-nam-chinh.xlsx" in done.stdout and "workbook not found" in done.stdout
    assert (Paths.under(tmp_path).outputs_year(2022) / "index.html").exists()


def test_sample_then_run_one_commune_prints_the_report(tiny_district: Paths, tmp_path) -> None:
    import shutil

    shutil.copytree(tiny_district.raw, tmp_path / "data" / "raw")
    done = cnscd("--data-dir", str(tmp_path), "run", "--year", "2022", "--commune", "nam-chinh")
    assert done.returncode == 0, done.stderr
    report = tmp_path / "outputs" / "2022" / "10627-nam-chinh" / "report.html"
    assert f"report: {report}" in done.stdout
    assert done.stdout.strip().endswith(f"index: {tmp_path / 'outputs' / '2022' / 'index.html'}")
    assert not (tmp_path / "outputs" / "2022" / ".work").exists()


def test_indicator_catalogue_is_printed() -> None:
    done = cnscd("indicators")
    assert done.returncode == 0
    assert "members_commune" in done.stdout and "Thành viên tổ cấp xã" in done.stdout


def test_sample_command_is_deterministic(tmp_path) -> None:
    for folder in ("a", "b"):
        done = cnscd(
            "--data-dir", str(tmp_path / folder), "sample", "--year", "2022", "--communes", "3"
        )
        assert done.returncode == 0, done.stderr
    planted = [
        (tmp_path / f / "data" / "raw" / "2022" / "_planted.csv").read_bytes() for f in ("a", "b")
    ]
    assert planted[0] == planted[1]
    assert (tmp_path / "a" / "data" / "raw" / "communes.csv").exists()


def test_check_prints_a_table_and_blocks_on_missing_members(tiny_district: Paths, tmp_path) -> None:
    import shutil

    from openpyxl import load_workbook

    shutil.copytree(tiny_district.raw, tmp_path / "data" / "raw")
    workbook = tmp_path / "data" / "raw" / "2022" / "10645-an-lam.xlsx"
    book = load_workbook(workbook)
    members = book["Thành viên"]
    members.delete_rows(2, members.max_row)
    book.save(workbook)
    workbook = tmp_path / "data" / "raw" / "2022" / "10627-nam-chinh.xlsx"
    book = load_workbook(workbook)
    villages = book["Thôn"]
    villages["B1"] = "Tổng số hộ gia đình"  # a header the contract does not know: not read
    book.save(workbook)
    done = cnscd(
        "--data-dir",
        str(tmp_path),
        "check",
        "--year",
        "2022",
        "--commune",
        "nam-chinh",
        "--commune",
        "an-lam",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = {
        " ".join(line.split()[:2]): line
        for line in done.stdout.splitlines()
        if line.startswith("  Xã")
    }
    assert " ok" in lines["Xã Nam"] and "duplicate_row" in lines["Xã Nam"]
    assert "BLOCKED" in lines["Xã An"] and "10645-an-lam.xlsx" in lines["Xã An"]
    assert "Thành viên" in lines["Xã An"]
    assert (
        "columns not read (no such column in the contract): Thôn: Tổng số hộ gia đình"
        in done.stdout
    ), done.stdout
    assert not (tmp_path / "data" / "processed").exists()  # validation alone writes nothing


def test_template_command_writes_the_workbook(tmp_path) -> None:
    out = tmp_path / "10627-nam-chinh.xlsx"
    done = cnscd("template", "--year", "2022", "--commune", "10627", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert out.exists()
    again = cnscd("template", "--year", "2022", "--commune", "10627", "--output", str(out))
    assert again.returncode == 2 and "--force" in again.stderr


def test_a_predecessor_gets_its_workbook_for_the_months_before_the_change(tmp_path) -> None:
    """Hiệp Cát ended on 30/06/2025 (into Trần Phú): the README asks for its January-June
    workbook, so `template` writes it rather than refusing a unit of no 2025 report."""
    out = tmp_path / "10618-hiep-cat.xlsx"
    done = cnscd("template", "--year", "2025", "--commune", "10618", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert "Xã Hiệp Cát (10618) ended on 30/06/2025" in done.stdout
    from openpyxl import load_workbook

    assert load_workbook(out)["Thông tin xã"]["B2"].value == "Xã Hiệp Cát"


def test_a_workbook_named_for_no_commune_is_pointed_out(tiny_district: Paths, tmp_path) -> None:
    import shutil

    paths = Paths.under(tmp_path)
    raw = paths.raw_year(2022)
    raw.mkdir(parents=True)
    shutil.copy(
        tiny_district.raw_year(2022) / "10627-nam-chinh.xlsx", raw / "Xã Nam Chính (1).xlsx"
    )
    (raw / "~$nam-chinh.xlsx").write_bytes(b"")  # Excel's lock file: not a workbook
    (raw / "ghi chu.txt").write_text("notes", encoding="utf-8")
    done = cnscd("--data-dir", str(tmp_path), "check", "--year", "2022", "--commune", "10627")
    assert done.returncode == 1  # 10627-nam-chinh.xlsx itself is still missing
    # Three communes of the country are called Nam Chính: the hint is the one whose code the
    # file writes on its "Thông tin xã" sheet, never a guess from the name.
    assert (
        "2022: not read, named for no commune: Xã Nam Chính (1).xlsx (10627-nam-chinh.xlsx?)"
        in done.stderr
    ), done.stderr
    assert "~$" not in done.stderr and "ghi chu" not in done.stderr
    # The commune's own line says which file looks like its workbook.
    assert (
        "workbook not found in 2022/, but 'Xã Nam Chính (1).xlsx' there looks like this "
        "commune's: rename it 10627-nam-chinh.xlsx" in done.stdout
    ), done.stdout


def test_a_workbook_named_with_the_commune_s_kind_is_its_own(tiny_district: Paths, tmp_path):
    """A new user's trial: `03658-xa-chieng-co.xlsx` (the code, then the whole name with its
    kind) was refused as "named for no commune" without the name expected. The code names the
    commune; the name with or without its kind only confirms it. Another name still stops,
    saying the name to use."""
    import shutil

    paths = Paths.under(tmp_path)
    raw = paths.raw_year(2022)
    raw.mkdir(parents=True)
    shutil.copy(
        tiny_district.raw_year(2022) / "10627-nam-chinh.xlsx", raw / "10627-xa-nam-chinh.xlsx"
    )
    done = cnscd("--data-dir", str(tmp_path), "check", "--year", "2022", "--commune", "10627")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "named for no commune" not in done.stderr
    (raw / "10627-xa-nam-chinh.xlsx").rename(raw / "10627-nam-chanh.xlsx")
    done = cnscd("--data-dir", str(tmp_path), "check", "--year", "2022", "--commune", "10627")
    assert "10627 is Xã Nam Chính, not 10627-nam-chanh: name it 10627-nam-chinh.xlsx" in (
        done.stderr
    ), done.stderr
