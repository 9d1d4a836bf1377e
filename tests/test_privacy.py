"""Nothing that identifies a person beyond the report's signer leaves the pipeline."""

from __future__ import annotations

import shutil

import pandas as pd
from pypdf import PdfReader

from pipeline.computing import compute_year
from pipeline.config import Paths
from pipeline.options import ReportOptions
from pipeline.preparing import prepare
from pipeline.runner import run_comparisons, run_year
from pipeline.sample import sample_commune


def _output_text(path) -> str:
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
    outputs = [p for p in paths.outputs.rglob("*") if p.is_file()]
    assert len(outputs) > 10
    for path in outputs:
        text = _output_text(path)
        leaked = [p for p in phones if p in text]
        assert not leaked, (path.name, leaked[:3])
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
