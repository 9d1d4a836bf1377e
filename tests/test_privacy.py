"""Nothing that identifies a person beyond the report's signer leaves the pipeline."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline.core.config import Paths
from pipeline.core.vntext import repair
from pipeline.running.comparisons import run_comparisons
from pipeline.running.computing import compute_year
from pipeline.running.preparing import prepare
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune
from pipeline.writing.options import ReportOptions

# Phone numbers as people type them: each needs a repair (spaces, a no-break space, a tab, an
# escape character), which cleaning would otherwise log with the value before and after.
MESSY_PHONES = (" 0987 654 321 ", "0987\u00a0654\u00a0322", "0987.654.323\t", "_x001B_0987654324")


def _plant_messy_phones(workbook: Path) -> None:
    book = load_workbook(workbook)
    roster = book["Thành viên"]
    column = next(c.column for c in roster[1] if c.value == "Số điện thoại")
    for row, phone in enumerate(MESSY_PHONES, start=2):
        roster.cell(row, column, phone)
    book.save(workbook)


def _forms(phone: str) -> set[str]:
    """A phone as typed, as repaired, and as its digits alone."""
    typed = phone.replace("_x001B_", "\x1b")
    return {typed.strip(), repair(typed), re.sub(r"\D", "", typed)}


def _output_text(path) -> str:
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_csv()
    if path.suffix == ".pdf":
        return " ".join(page.extract_text() for page in PdfReader(path).pages)
    if path.suffix == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="openpyxl")
        return " ".join(sheet.fillna("").to_csv() for sheet in sheets.values())
    return path.read_bytes().decode("utf-8", errors="replace")


def test_no_phone_number_or_member_name_reaches_an_output(tiny_district: Paths, tmp_path) -> None:
    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    _plant_messy_phones(paths.raw_year(2022) / "10627-nam-chinh.xlsx")
    run_year(paths, 2022, communes, workers=2, echo=lambda *_: None)
    run_comparisons(paths, 2022, ["district:291"], ReportOptions(), echo=lambda *_: None)
    phones, names, signers = set(), set(), set()
    for commune in communes:
        roster = pd.read_excel(
            paths.raw_year(2022) / f"{commune.code}-{commune.slug}.xlsx",
            sheet_name="Thành viên",
            dtype=str,
            engine="openpyxl",
        )
        phones |= set(roster["Số điện thoại"].dropna())
        names |= set(roster["Họ và tên"].dropna())
        info = pd.read_excel(
            paths.raw_year(2022) / f"{commune.code}-{commune.slug}.xlsx",
            sheet_name="Thông tin xã",
            dtype=str,
            engine="openpyxl",
        )
        signers |= set(info["Người ký"])  # the official report shows its signer
    phones = {form for phone in phones for form in _forms(phone)}
    assert {"0987 654 321", "0987654324"} <= phones
    outputs = [p for p in paths.outputs.rglob("*") if p.is_file()]
    assert len(outputs) > 10
    assert {".parquet", ".csv", ".xlsx", ".html", ".ipynb", ".pdf"} <= {
        p.suffix for p in [*outputs, *paths.processed.rglob("*.parquet")]
    }
    fixes = pd.read_parquet(paths.processed_year(2022) / "fixes.parquet")
    assert (fixes["column"] == "Số điện thoại").sum() >= len(MESSY_PHONES)  # repaired, unsaid
    for path in [*outputs, *(p for p in paths.processed.rglob("*") if p.is_file())]:
        text = _output_text(path)
        digits = re.sub(r"[\s.\-]", "", text)
        leaked = [p for p in phones if p in text or (p.isdigit() and p in digits)]
        assert not leaked, (path.name, leaked[:3])
        if path.is_relative_to(paths.processed):
            continue  # the clean tables keep members' names: the reports count them
        shown = [n for n in names - signers if n in text]
        assert not shown, (path.name, shown[:3])
        assert "Năm sinh" not in text and "Số điện thoại" not in text, path.name


def test_phone_numbers_are_not_even_stored(tiny_district: Paths, tmp_path) -> None:
    """The processed store is not an output, but it is copied around: what no report needs
    (a member's phone) is dropped when the workbook is cleaned."""
    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam")]
    prepare(paths, 2022, communes)
    compute_year(paths, 2022)
    roster = pd.read_excel(
        paths.raw_year(2022) / "10627-nam-chinh.xlsx",
        sheet_name="Thành viên",
        dtype=str,
        engine="openpyxl",
    )
    phones = set(roster["Số điện thoại"].dropna())
    assert phones
    stored = sorted(paths.processed.rglob("*.parquet"))
    assert any(p.name == "members.parquet" for p in stored)
    for path in stored:
        text = pd.read_parquet(path).to_csv()
        assert not [p for p in phones if p in text], path.name


def test_a_phone_typed_in_a_note_is_written_over_and_logged_without_it(
    tiny_district: Paths, tmp_path
) -> None:
    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    workbook = paths.raw_year(2022) / "10627-nam-chinh.xlsx"
    book = load_workbook(workbook)
    log = book["Nhật ký hoạt động"]
    headers = [c.value for c in log[1]]
    notes, activity = headers.index("Ghi chú") + 1, headers.index("Hoạt động") + 1
    log.cell(2, notes, "Bà Lan cần gọi lại số 0903\u00a0456 789 để hẹn")  # a repair, too
    log.cell(3, activity, "Hướng dẫn VNeID, CCCD 001203004567")
    people = headers.index("Số người được hướng dẫn") + 1
    log.cell(4, people, "0987 111 222")  # a phone one column off: the row is rejected
    roster = book["Thành viên"]
    smartphone = [c.value for c in roster[1]].index("Có điện thoại thông minh") + 1
    roster.cell(2, smartphone, "(0220) 3.123.456")  # an optional cell blanked, and logged
    book.save(workbook)
    prepare(paths, 2022, [sample_commune(2022, "nam-chinh")])
    stored = {p.name: pd.read_parquet(p) for p in paths.processed.rglob("*.parquet")}
    typed = ("0903456789", "001203004567", "0987111222", "02203123456")
    for name, table in stored.items():
        digits = re.sub(r"[\s.\-()]", "", table.to_csv())
        assert not [t for t in typed if t in digits], name
    rejected = stored["rejected.parquet"]
    assert "[số đã ẩn]" in set(rejected["value"])  # where and why, never the number
    kept = stored["activities.parquet"]
    assert "Bà Lan cần gọi lại số [số đã ẩn] để hẹn" in set(kept["notes"])
    assert "Hướng dẫn VNeID, CCCD [số đã ẩn]" in set(kept["activity"])
    fixes = stored["fixes.parquet"]
    hidden = fixes[fixes["kind"] == "long_number_hidden"]
    assert sorted(hidden["column"]) == ["Ghi chú", "Hoạt động"]
    assert set(hidden["raw"]) == set(hidden["fixed"]) == {""}
