"""Runs take what the user has: any district of the country, its missing communes shown missing,
names that mean several units refused, a user's own units never read twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.config import Paths
from pipeline.registry.tree import find_commune
from pipeline.sample import generate

# Two phường of Quận Ba Đình, Hà Nội (14 units in 2022): a district far from the sample's.
BA_DINH = ("00001", "00004")


def cnscd(base: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--data-dir", str(base), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


@pytest.fixture(scope="module")
def ba_dinh(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """Workbooks of two phường of Ba Đình only, run for the whole year (no option)."""
    paths = Paths.under(tmp_path_factory.mktemp("ba-dinh"))
    units = [find_commune(2022, code) for code in BA_DINH]
    generate(paths.raw, years=(2022,), units=units, activity_rows=(60, 80))
    done = cnscd(paths.base, "run", "--year", "2022", "--formats", "html", "--engine", "inprocess")
    assert done.returncode == 0, done.stdout + done.stderr
    return paths


def _statuses(paths: Paths) -> dict[str, str]:
    return {
        p.parent.name: json.loads(p.read_text(encoding="utf-8"))["status"]
        for p in paths.outputs_year(2022).glob("*/status.json")
        if not p.parent.name.startswith("so-sanh-")
    }


def test_a_folder_of_another_districts_workbooks_runs_only_those(ba_dinh: Paths) -> None:
    assert _statuses(ba_dinh) == {"00001-phuc-xa": "ok", "00004-truc-bach": "ok"}
    report = (ba_dinh.outputs_year(2022) / "00001-phuc-xa" / "report.html").read_text("utf-8")
    assert "Phường Phúc Xá" in report and "Nam Sách" not in report


def test_the_default_comparison_is_the_district_with_its_missing_units(ba_dinh: Paths) -> None:
    folder = ba_dinh.outputs_year(2022) / "so-sanh-001-ba-dinh"
    html = (folder / "comparison.html").read_text(encoding="utf-8")
    assert "Quận Ba Đình" in html
    assert "2 trên 14 phường" in html  # the other 12 are missing, never zeros
    assert "Phường Điện Biên" in html  # a missing one, named
    index = (ba_dinh.outputs_year(2022) / "index.html").read_text(encoding="utf-8")
    assert "Quận Ba Đình" in index and "so-sanh-001-ba-dinh/comparison.html" in index


def test_a_selected_districts_communes_without_a_workbook_are_missing_not_failed(
    ba_dinh: Paths, tmp_path: Path
) -> None:
    paths = Paths.under(tmp_path)
    generate(paths.raw, years=(2022,), units=[find_commune(2022, "00001")], activity_rows=(60, 80))
    done = cnscd(
        paths.base, "run", "--year", "2022", "--district", "001", "--formats", "html",
        "--engine", "inprocess",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 built, 0 up to date, 0 failed, 13 without a workbook" in done.stdout
    statuses = _statuses(paths)
    assert statuses["00001-phuc-xa"] == "ok"
    assert statuses["00004-truc-bach"] == "missing" and len(statuses) == 14
    assert not (paths.outputs_year(2022) / "00004-truc-bach" / "report.html").exists()
    index = (paths.outputs_year(2022) / "index.html").read_text(encoding="utf-8")
    assert "13 chưa có số liệu" in index and "Chưa có số liệu" in index
    assert "các đơn vị của huyện, tỉnh hay nhóm đã chọn khi chạy" in index  # whose, said
    assert "chưa có sổ theo dõi trong thư mục 2022/ (cần tệp 00004-truc-bach.xlsx)" in index


def test_a_province_named_as_a_district_is_refused_with_what_it_is(tmp_path: Path) -> None:
    done = cnscd(tmp_path, "compare", "--year", "2022", "--district", "Tỉnh Hải Dương")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Tỉnh Hải Dương (30) is a province: use --province" in done.stderr
    done = cnscd(tmp_path, "compare", "--year", "2022", "--district", "Châu Thành")
    assert done.returncode == 2
    assert "'Châu Thành' names 10 districts" in done.stderr
    assert "892 Huyện Châu Thành (Tỉnh An Giang)" in done.stderr
    assert not (tmp_path / "outputs").exists()


def test_an_own_unit_that_repeats_the_registry_stops_the_run(tiny_district: Paths) -> None:
    raw = tiny_district.base  # read only: the run stops before writing anything
    own = tiny_district.raw / "communes.csv"
    assert not own.exists()
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        shutil.copytree(raw / "data", base / "data")
        (base / "data" / "raw" / "communes.csv").write_text(
            "commune_code,commune_name,district_code,district_name,province_code,province_name,"
            "valid_from,valid_to\n10627,Xã Nam Chính,291,Huyện Nam Sách,30,Tỉnh Hải Dương,,\n",
            encoding="utf-8",
        )
        done = cnscd(base, "run", "--year", "2022", "--formats", "html")
        assert done.returncode == 2, done.stdout + done.stderr
        assert "code 10627 is already in the national registry as 10627 Xã Nam Chính" in (
            done.stderr
        )
        assert not (base / "outputs").exists()


def test_communes_finds_units_without_marks_and_lists_a_province(tmp_path: Path) -> None:
    done = cnscd(tmp_path, "communes", "nam chinh", "--year", "2022")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("10627  Xã Nam Chính")
    assert "Huyện Nam Sách (291), Tỉnh Hải Dương (30)" in lines[0] and "đến 30/11/2024" in lines[0]
    done = cnscd(tmp_path, "communes", "10633")  # every tree: one code, three territories
    assert [line.split("  ")[1].strip() for line in done.stdout.splitlines()][:3] == [
        "Xã Nam Trung",
        "Xã Trần Phú",
        "Xã Trần Phú",
    ]
    done = cnscd(tmp_path, "communes", "Hải Phòng", "--year", "2025", "--all")
    assert len(done.stdout.splitlines()) == 114


def test_communes_says_the_level_of_a_bare_code_and_takes_province_or_district(
    tmp_path: Path,
) -> None:
    """'96' is Cà Mau, as `--province 96` reads it (it listed Huyện Mường Nhé's units first, and
    said nothing); the district 096 is named in the hint and listed by --district."""
    done = cnscd(tmp_path, "communes", "96", "--year", "2023", "--all")
    assert done.returncode == 0, done.stderr
    provinces = {line.split("(")[-1].split(")")[0] for line in done.stdout.splitlines()}
    assert provinces == {"96"}, provinces
    assert "taken as a province's code" in done.stderr and "district 096, Huyện Mường Nhé" in (
        done.stderr
    )
    done = cnscd(tmp_path, "communes", "--district", "096", "--year", "2023", "--all")
    assert done.stdout and all("Huyện Mường Nhé (096)" in line for line in done.stdout.splitlines())
    done = cnscd(tmp_path, "communes", "Trần Phú", "--province", "31", "--year", "2025")
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["10633"]


def test_communes_lineage_follows_a_unit_to_today(tmp_path: Path) -> None:
    """Nam Chính became Trần Phú (2024), which became Trần Phú of Hải Phòng (2025): both links
    (it stopped at the first)."""
    done = cnscd(tmp_path, "communes", "10627", "--lineage")
    lines = done.stdout.splitlines()
    assert "→ thành 10633 Xã Trần Phú (Huyện Nam Sách, Tỉnh Hải Dương; 01/12/2024)" in lines[1]
    assert "→ thành 10633 Xã Trần Phú (Thành phố Hải Phòng; 01/07/2025)" in lines[2]


def test_template_for_any_commune_of_the_registry(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    done = cnscd(tmp_path, "template", "--year", "2022", "--commune", "00004", "--output", str(out))
    assert done.returncode == 0, done.stderr
    from openpyxl import load_workbook

    info = load_workbook(out)["Thông tin xã"]
    row = [cell.value for cell in info[2]]
    assert "00004" in row and "Phường Trúc Bạch" in row and "Quận Ba Đình" in row


def test_a_stray_workbook_is_hinted_by_the_code_it_writes(tmp_path: Path) -> None:
    # Sixteen communes are called An Bình, and Phường An Bình B's slug is nearest the name.
    paths = Paths.under(tmp_path)
    generate(paths.raw, years=(2023,), units=[find_commune(2023, "29587")], activity_rows=(20, 30))
    raw = paths.raw_year(2023)
    (raw / "29587-an-binh.xlsx").rename(raw / "Xã An Bình (1).xlsx")
    done = cnscd(paths.base, "check", "--year", "2023")
    assert "Xã An Bình (1).xlsx (29587-an-binh.xlsx?)" in done.stderr, done.stderr
    assert "29986" not in done.stderr


def test_a_workbook_that_could_not_be_read_is_not_one_never_sent(district_copy: Paths) -> None:
    (district_copy.raw_year(2022) / "10645-an-lam.xlsx").write_bytes(b"not a workbook")
    done = cnscd(
        district_copy.base, "run", "--year", "2022", "--district", "291", "--formats", "html",
        "--engine", "inprocess",
    )  # fmt: skip
    assert done.returncode == 1  # An Lâm failed; the others are built
    html = (
        district_copy.outputs_year(2022) / "so-sanh-291-nam-sach" / "comparison.html"
    ).read_text(encoding="utf-8")
    text = " ".join(html.split())
    assert "(trong đó xã An Lâm đã gửi sổ nhưng sổ chưa đọc được: xem trang tổng hợp)" in text
