"""The same inputs give the same outputs, whatever the workers and the folders."""

from __future__ import annotations

import os
import re
import shutil

from pypdf import PdfReader

from pipeline.core.config import Paths
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune


def test_one_or_two_workers_in_two_folders_give_identical_outputs(
    tiny_district: Paths, tmp_path
) -> None:
    communes = [sample_commune(2022, s) for s in ("nam-chinh", "an-lam", "nam-trung")]
    runs = {}
    for workers, folder in ((1, "first/place"), (2, "second")):
        paths = Paths.under(tmp_path / folder)
        shutil.copytree(tiny_district.raw, paths.raw)
        previous = os.getcwd()
        os.chdir(tmp_path)  # a different working folder for each run
        try:
            run_year(paths, 2022, communes, workers=workers, echo=lambda *_: None)
        finally:
            os.chdir(previous)
        runs[workers] = paths
    one, two = runs[1], runs[2]
    assert (one.processed_year(2022) / "indicators.parquet").read_bytes() == (
        two.processed_year(2022) / "indicators.parquet"
    ).read_bytes()
    for commune in communes:
        folder = f"{commune.code}-{commune.slug}"
        for name in (
            "report.html",
            "report.pdf",
            "notebook.ipynb",
            "notebook.html",
            "rejected.csv",
        ):
            assert (one.outputs_year(2022) / folder / name).read_bytes() == (
                two.outputs_year(2022) / folder / name
            ).read_bytes(), (folder, name)
        evidence = [
            sorted((p.outputs_year(2022) / folder / "evidence").rglob("*")) for p in (one, two)
        ]
        assert evidence[0] and [e.name for e in evidence[0]] == [e.name for e in evidence[1]]
        for first, second in zip(*evidence, strict=True):
            assert first.read_bytes() == second.read_bytes(), (folder, first.name)
        pdfs = [PdfReader(p.outputs_year(2022) / folder / "report.pdf") for p in (one, two)]
        assert len(pdfs[0].pages) == len(pdfs[1].pages)
        assert [pg.extract_text() for pg in pdfs[0].pages] == [
            pg.extract_text() for pg in pdfs[1].pages
        ]
    for paths in (one, two):  # no machine path in any output
        for path in paths.outputs.rglob("*"):
            if path.is_file() and path.suffix in (".html", ".ipynb", ".json", ".csv"):
                text = path.read_text("utf-8", errors="replace")
                assert str(tmp_path) not in text, path
                assert not re.search(r"/(root|home|tmp)/", text), path
