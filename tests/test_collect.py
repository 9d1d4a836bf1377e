"""`cnscd collect`: workbooks as they arrive (any name, duplicates, last year's, a blank
template, a text file called .xlsx) filed by what they hold, the originals untouched."""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path

import openpyxl
import pytest
from workbooks import run_unprivileged

from pipeline.cli import main
from pipeline.core.config import Paths
from pipeline.core.provenance import hash_path
from pipeline.reading.collect import (
    ALREADY,
    CONFLICT,
    DUPLICATE,
    FILED,
    NOT_KEPT,
    NOT_WORKBOOK,
    OTHER_YEAR,
    REPORT_NAME,
    UNKNOWN,
)
from pipeline.reading.locate import claim_workbooks
from pipeline.reading.template import write_template
from pipeline.registry.tree import communes_of_year
from pipeline.sample import generate

NAMES = [  # as they come by e-mail and Zalo
    "BC CNSCD xa Nam Chinh 2022 (final).xlsx",
    "Book1.xlsx",
    "zalo/IMG_2041 tai ve.xlsx",
]


@pytest.fixture()
def inbox(tiny_district: Paths, tmp_path: Path) -> dict[str, Path]:
    """The tiny district's 2022 workbooks renamed at random, a second, different workbook for
    Nam Trung, An Lâm's 2023 workbook, a blank template and a text file named .xlsx."""
    folder = tmp_path / "inbox"
    (folder / "zalo").mkdir(parents=True)
    sources = sorted((tiny_district.raw / "2022").glob("*.xlsx"))
    assert len(sources) == 3
    names = random.Random(18).sample(NAMES, k=3)
    placed = {}
    for source, name in zip(sources, names, strict=True):
        shutil.copy2(source, folder / name)
        placed[source.name] = folder / name
    other = tmp_path / "other"
    generate(other, years=(2022,), seed=7, only=("nam-trung",), activity_rows=(60, 60))
    shutil.copy2(other / "2022" / "10633-nam-trung.xlsx", folder / "Book1 (1).xlsx")
    shutil.copy2(tiny_district.raw / "2023" / "10645-an-lam.xlsx", folder / "an lam.xlsx")
    write_template(folder / "zalo" / "mau bao cao.xlsx")
    (folder / "ghi chu.xlsx").write_text("gửi anh bản báo cáo\n", encoding="utf-8")
    return placed | {
        "duplicate": folder / "Book1 (1).xlsx",
        "other_year": folder / "an lam.xlsx",
        "template": folder / "zalo" / "mau bao cao.xlsx",
        "text": folder / "ghi chu.xlsx",
    }


def _collect(base: Path, inbox: Path, *extra: str) -> int:
    return main(["--data-dir", str(base), "collect", str(inbox), "--year", "2022", *extra])


def _table(base: Path) -> dict[str, dict[str, str]]:
    path = Paths.under(base).raw_year(2022) / REPORT_NAME
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def _snapshot(folder: Path) -> dict[str, tuple[str, float]]:
    return {
        p.relative_to(folder).as_posix(): (hash_path(p), p.stat().st_mtime)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_collect_files_workbooks_by_what_they_hold(
    inbox: dict[str, Path], tiny_district: Paths, tmp_path: Path, capsys
) -> None:
    folder = tmp_path / "inbox"
    base = tmp_path / "office"
    before = _snapshot(folder)
    assert _collect(base, folder) == 1  # some files need the user
    printed = capsys.readouterr().out
    rows = _table(base)
    name = {key: path.relative_to(folder).as_posix() for key, path in inbox.items()}
    outcomes = {file: row["outcome"] for file, row in rows.items()}
    assert outcomes == {
        name["10627-nam-chinh.xlsx"]: FILED,
        name["10645-an-lam.xlsx"]: FILED,
        name["10633-nam-trung.xlsx"]: DUPLICATE,
        name["duplicate"]: DUPLICATE,
        name["other_year"]: OTHER_YEAR,
        name["template"]: UNKNOWN,
        name["text"]: NOT_WORKBOOK,
    }
    # both files of Nam Trung listed with their dates and row counts, neither filed
    for key in ("10633-nam-trung.xlsx", "duplicate"):
        row = rows[name[key]]
        assert row["commune"] == "Xã Nam Trung" and row["filed_as"] == ""
        assert int(row["activity_rows"]) > 0 and row["first_date"] and row["last_date"]
    assert (
        rows[name["10633-nam-trung.xlsx"]]["activity_rows"]
        != rows[name["duplicate"]]["activity_rows"]
    )
    assert "2023" in rows[name["other_year"]]["note"]
    assert "Mã xã" in rows[name["template"]]["note"]
    assert "not an Excel file" in rows[name["text"]]["note"]
    assert "Book1 (1).xlsx" in printed and "two files for one commune" in printed
    raw = Paths.under(base).raw_year(2022)
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        [REPORT_NAME, "10627-nam-chinh.xlsx", "10645-an-lam.xlsx"]
    )
    assert _snapshot(folder) == before  # the originals: not moved, not changed

    # Twice: nothing new is filed.
    filed = _snapshot(raw)
    assert _collect(base, folder) == 1
    again = _table(base)
    assert again[name["10627-nam-chinh.xlsx"]]["outcome"] == ALREADY
    assert {k: v for k, v in _snapshot(raw).items() if k != REPORT_NAME} == {
        k: v for k, v in filed.items() if k != REPORT_NAME
    }

    # The user keeps one of Nam Trung's two files.
    kept = inbox["10633-nam-trung.xlsx"]
    assert _collect(base, folder, "--keep", str(kept)) == 1  # the other year etc. remain
    rows = _table(base)
    assert rows[name["10633-nam-trung.xlsx"]]["outcome"] == FILED
    assert rows[name["duplicate"]]["outcome"] == NOT_KEPT
    assert _snapshot(folder) == before

    # The raw folder is what naming the files by hand gives: same names, same bytes, read alike.
    by_hand = tiny_district.raw / "2022"
    assert {p.name: hash_path(p) for p in raw.glob("*.xlsx")} == {
        p.name: hash_path(p) for p in by_hand.glob("*.xlsx")
    }
    claimed, unclaimed = claim_workbooks(raw, communes_of_year(2022))
    assert sorted(claimed) == ["10627", "10633", "10645"] and unclaimed == []
    capsys.readouterr()
    assert main(["--data-dir", str(base), "check", "--year", "2022"]) == 0
    collected = capsys.readouterr().out
    hand = tmp_path / "hand"
    shutil.copytree(by_hand, Paths.under(hand).raw_year(2022))
    assert main(["--data-dir", str(hand), "check", "--year", "2022"]) == 0
    assert collected == capsys.readouterr().out


def test_an_identity_the_registry_does_not_know_is_not_filed(
    tiny_district: Paths, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    workbook = openpyxl.load_workbook(tiny_district.raw / "2022" / "10627-nam-chinh.xlsx")
    sheet = workbook["Thông tin xã"]
    headers = [cell.value for cell in sheet[1]]
    sheet.cell(2, headers.index("Tên xã") + 1, "Xã An Bình")  # the code is Nam Chính's
    workbook.save(folder / "nam chinh sua.xlsx")
    sheet.cell(2, headers.index("Mã xã") + 1, "99999")
    sheet.cell(2, headers.index("Tên xã") + 1, "Xã Nam Chính")
    workbook.save(folder / "ma sai.xlsx")
    assert _collect(tmp_path / "office", folder) == 1
    rows = _table(tmp_path / "office")
    assert rows["nam chinh sua.xlsx"]["outcome"] == UNKNOWN
    assert "An Bình" in rows["nam chinh sua.xlsx"]["note"]
    assert rows["ma sai.xlsx"]["outcome"] == UNKNOWN
    assert "99999" in rows["ma sai.xlsx"]["note"]
    assert not list(Paths.under(tmp_path / "office").raw_year(2022).glob("*.xlsx"))


def test_a_different_file_already_filed_is_a_conflict_never_overwritten(
    tiny_district: Paths, tmp_path: Path
) -> None:
    base = Paths.under(tmp_path / "office")
    raw = base.raw_year(2022)
    raw.mkdir(parents=True)
    generate(tmp_path / "other", years=(2022,), seed=9, only=("nam-chinh",), activity_rows=(50, 50))
    shutil.copy2(tmp_path / "other" / "2022" / "10627-nam-chinh.xlsx", raw / "nam-chinh.xlsx")
    held = hash_path(raw / "nam-chinh.xlsx")
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy2(tiny_district.raw / "2022" / "10627-nam-chinh.xlsx", folder / "Book2.xlsx")
    assert _collect(base.base, folder) == 1
    row = _table(base.base)["Book2.xlsx"]
    assert row["outcome"] == CONFLICT and "nam-chinh.xlsx" in row["note"]
    assert hash_path(raw / "nam-chinh.xlsx") == held
    assert not (raw / "10627-nam-chinh.xlsx").exists()


def test_an_inbox_of_good_workbooks_exits_0(tiny_district: Paths, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy2(tiny_district.raw / "2022" / "10645-an-lam.xlsx", folder / "x.xlsx")
    assert _collect(tmp_path / "office", folder) == 0
    assert _collect(tmp_path / "office", folder) == 0  # already filed: nothing to do
    assert _table(tmp_path / "office")["x.xlsx"]["outcome"] == ALREADY


def test_an_inbox_of_links_fifos_and_odd_names_is_listed_never_followed(
    tiny_district: Paths, tmp_path: Path
) -> None:
    """Links to /dev/zero, to a secret file and a folder outside the inbox, two links of a
    folder to itself, a CSV folder holding a link to /dev/zero, a FIFO, a hidden file, a photo,
    a file whose name holds a line feed: collect finishes (run as the user runs it, with a guard
    against hanging), files the one workbook, copies none of the rest, and lists each with why,
    one row each."""
    import os
    import subprocess
    import sys

    from pipeline.reading.collect import SKIPPED

    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    shutil.copy2(tiny_district.raw / "2022" / "10645-an-lam.xlsx", folder / "an lam.xlsx")
    secret = tmp_path / "secret.txt"
    secret.write_text("mật khẩu", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy2(tiny_district.raw / "2022" / "10627-nam-chinh.xlsx", elsewhere / "nc.xlsx")
    (folder / "zero.xlsx").symlink_to("/dev/zero")
    (folder / "secret.xlsx").symlink_to(secret)
    (folder / "outside").symlink_to(elsewhere, target_is_directory=True)
    (folder / "sub" / "loop1").symlink_to("..", target_is_directory=True)
    (folder / "sub" / "loop2").symlink_to(".", target_is_directory=True)
    csv_book = folder / "csv book"
    csv_book.mkdir()
    (csv_book / "Thông tin xã.csv").write_text("Mã xã,Tên xã\n10633,Nam Trung\n", "utf-8")
    (csv_book / "Nhật ký hoạt động.csv").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.xlsx")
    (folder / ".hidden.xlsx").write_bytes(b"x")
    (folder / "IMG_2041.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    forged = "x.xlsx\nfiled,forged.xlsx"
    (folder / forged).write_text("gửi anh", encoding="utf-8")
    base = tmp_path / "office"
    command = [sys.executable, "-m", "pipeline", "--data-dir", str(base), "collect"]
    done = subprocess.run(
        [*command, str(folder), "--year", "2022"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, done.stdout + done.stderr  # the text file needs the user
    rows = _table(base)
    outcomes = {file: row["outcome"] for file, row in rows.items()}
    assert outcomes == {
        "an lam.xlsx": FILED,
        "zero.xlsx": SKIPPED,
        "secret.xlsx": SKIPPED,
        "outside": SKIPPED,
        "sub/loop1": SKIPPED,
        "sub/loop2": SKIPPED,
        "csv book": NOT_WORKBOOK,
        "pipe.xlsx": SKIPPED,
        ".hidden.xlsx": SKIPPED,
        "IMG_2041.jpg": SKIPPED,
        "x.xlsx\\x0afiled,forged.xlsx": NOT_WORKBOOK,
    }
    assert "links are not followed" in rows["zero.xlsx"]["note"]
    assert str(secret) in rows["secret.xlsx"]["note"]
    assert "is a link" in rows["csv book"]["note"]
    assert "a FIFO" in rows["pipe.xlsx"]["note"]
    assert rows[".hidden.xlsx"]["note"] == "hidden"
    assert "not a workbook (.jpg)" in rows["IMG_2041.jpg"]["note"]
    raw = Paths.under(base).raw_year(2022)
    assert sorted(p.name for p in raw.iterdir()) == sorted([REPORT_NAME, "10645-an-lam.xlsx"])
    printed = done.stdout.splitlines()
    assert not any(line.startswith("filed,forged") for line in printed)
    assert "x.xlsx\\x0afiled,forged.xlsx" in done.stdout


def test_a_file_that_cannot_be_read_is_one_line_not_the_end(
    tiny_district: Paths, tmp_path: Path
) -> None:
    """A workbook without read permission beside a good one: the good one is filed, the other
    listed with why. Run as the unprivileged user `nobody` (root reads everything)."""
    import json
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="cnscd-collect-"))  # pytest's folders are 0700
    try:
        home.chmod(0o777)
        folder = home / "inbox"
        folder.mkdir(mode=0o755)
        shutil.copy2(tiny_district.raw / "2022" / "10645-an-lam.xlsx", folder / "an lam.xlsx")
        shutil.copy2(tiny_district.raw / "2022" / "10627-nam-chinh.xlsx", folder / "khoa.xlsx")
        (folder / "an lam.xlsx").chmod(0o644)
        (folder / "khoa.xlsx").chmod(0o000)
        script = (
            "import sys; from pipeline.cli import main; "
            "sys.exit(main(['--data-dir', sys.argv[1], 'collect', sys.argv[2], '--year', '2022']))"
        )
        done = run_unprivileged(script, [str(home / "office"), str(folder)], home, timeout=300)
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        assert done.returncode == 1, done.stdout + done.stderr
        rows = _table(home / "office")
        json.dumps(rows)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert rows["an lam.xlsx"]["outcome"] == FILED
    assert rows["khoa.xlsx"]["outcome"] == NOT_WORKBOOK
    assert "Permission denied" in rows["khoa.xlsx"]["note"], rows["khoa.xlsx"]["note"]


def test_a_photo_beside_the_workbooks_leaves_collect_at_exit_0(
    tiny_district: Paths, tmp_path: Path
) -> None:
    """A photo sent with the workbooks is listed as not read and needs nobody: exit 0."""
    from pipeline.reading.collect import SKIPPED

    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy2(tiny_district.raw / "2022" / "10645-an-lam.xlsx", folder / "an lam.xlsx")
    (folder / "IMG_2041.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    assert _collect(tmp_path / "office", folder) == 0
    rows = _table(tmp_path / "office")
    assert rows["an lam.xlsx"]["outcome"] == FILED and rows["IMG_2041.jpg"]["outcome"] == SKIPPED


def test_a_far_cell_workbook_and_a_huge_file_in_the_inbox_stay_within_memory(
    tiny_district: Paths, tmp_path: Path
) -> None:
    """`Book1.xlsx` with one value at AMJ250000 (inside the rows and columns allowed) and a
    4 GB file named .xlsx (sparse: nothing on disk): collect, held to 3 GB of address space,
    files the good workbook and lists each of the others with why, one line each. Before, it
    read the far-cell workbook's whole grid in its own process and each file whole to hash it."""
    import os
    import resource
    import subprocess
    import sys

    from openpyxl import Workbook

    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy2(tiny_district.raw / "2022" / "10645-an-lam.xlsx", folder / "an lam.xlsx")
    book = Workbook()
    sheet = book.active
    sheet.title, sheet["A1"], sheet["B1"], sheet["AMJ250000"] = "Thông tin xã", "Mã xã", "Tên xã", 1
    book.save(folder / "Book1.xlsx")
    with open(folder / "huge.xlsx", "wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(4 * 1024**3)
    cap = 3 * 1024**3

    def capped() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    base = tmp_path / "office"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pipeline", "--data-dir", str(base)),
            *("collect", str(folder), "--year", "2022"),
        ],
        capture_output=True,
        text=True,
        preexec_fn=capped,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=300,
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, done.stdout + done.stderr  # the two others need the user
    rows = _table(base)
    assert rows["an lam.xlsx"]["outcome"] == FILED
    assert rows["Book1.xlsx"]["outcome"] == NOT_WORKBOOK
    assert "AMJ250000" in rows["Book1.xlsx"]["note"], rows["Book1.xlsx"]["note"]
    assert rows["huge.xlsx"]["outcome"] == NOT_WORKBOOK
    assert "beyond the limit" in rows["huge.xlsx"]["note"], rows["huge.xlsx"]["note"]
