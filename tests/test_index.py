"""The reviewers' index rows, from the commune folders' status records and the indicators."""

from __future__ import annotations

import re

import pandas as pd

from pipeline.writing.index import index_rows, write_status


def test_a_log_that_covers_part_of_the_year_is_marked_beside_its_status(tmp_path) -> None:
    # Hợp Tiến 2023 read "Hoàn thành" in the index with four months of log and no mark.
    for code, slug in (("10630", "hop-tien"), ("10627", "nam-chinh")):
        write_status(
            tmp_path / f"{code}-{slug}",
            {"code": code, "name": slug, "district": "Huyện Nam Sách", "status": "ok"},
        )
    indicators = pd.DataFrame(
        [
            {"commune_code": code, "indicator": k, "value": v, "missing_reason": ""}
            for code, months in (("10630", (1.0, 4.0, 4.0)), ("10627", (1.0, 12.0, 12.0)))
            for k, v in zip(
                ("log_first_month", "log_last_month", "log_months"), months, strict=True
            )
        ]
    )
    rows = {r["code"]: r for r in index_rows(tmp_path, indicators)}
    assert rows["10630"]["partial_year"] == (1.0, 4.0)
    assert rows["10627"]["partial_year"] is None


def _cells(html: str, row_class: str) -> list[str]:
    """The first cell (the unit's name) of each row of a class in the comparison's table."""
    table = re.search(r'<table[^>]*id="comparison-figures".*?</table>', html, re.S).group(0)
    return re.findall(rf'<tr class="{row_class}"><td[^>]*>([^<]*)</td>', table)


def test_the_index_and_the_comparison_agree_on_who_has_a_report(tmp_path) -> None:
    """One commune's workbook cannot be read, one's log stops in April, the others of the
    district sent nothing: the index and the district's comparison, built by one real run, name
    the same communes as having a report, and mark the same partial year."""
    from pipeline.core.config import Paths
    from pipeline.registry.tree import find_group
    from pipeline.running.runner import run_and_compare
    from pipeline.sample import generate
    from pipeline.writing.options import ReportOptions

    year, group = 2023, "district:291"
    paths = Paths.under(tmp_path)
    sent = ("nam-chinh", "hop-tien", "an-lam")
    generate(paths.raw, years=(year,), only=sent, activity_rows=(40, 60))
    communes = list(find_group(year, group).communes)
    selected = [c for c in communes if c.slug in sent]
    broken = next(c for c in selected if c.slug == "an-lam")
    (paths.raw_year(year) / f"{broken.stem}.xlsx").write_bytes(b"not a workbook")
    missing = [c for c in communes if c.slug not in sent]
    run_and_compare(
        paths,
        year,
        selected,
        [group],
        workers=1,
        options=ReportOptions(formats=("html",)),
        missing=missing,
    )
    outputs = paths.outputs_year(year)
    indicators = pd.read_parquet(paths.processed_year(year) / "indicators.parquet")
    rows = index_rows(outputs, indicators)
    comparison = next(outputs.glob("so-sanh-291-*/comparison.html")).read_text("utf-8")

    reported = {r["name"] for r in rows if r["status"] == "ok"}
    assert reported == {"Xã Nam Chính", "Xã Hợp Tiến"}
    assert set(_cells(comparison, "ok")) == reported
    not_reported = {r["name"] for r in rows if r["status"] != "ok"}
    assert not_reported == {c.name for c in communes} - reported
    assert set(_cells(comparison, "missing")) == not_reported
    text = re.sub(r"\s+", " ", comparison)
    coverage = re.search(r"Báo cáo tổng hợp (\d+) trên (\d+) [^;]*; (\d+) đơn vị chưa có", text)
    assert coverage and [int(g) for g in coverage.groups()] == [
        len(reported),
        len(communes),
        len(not_reported),
    ]
    # The broken workbook: "Lỗi" in the index, "sent but not read" in the comparison.
    assert {r["name"] for r in rows if r["status"] == "failed"} == {broken.name}
    assert "xã An Lâm đã gửi sổ nhưng sổ chưa đọc được" in text
    # The same partial year, with the same months.
    partial = {r["name"]: r["partial_year"] for r in rows if r["partial_year"]}
    assert partial == {"Xã Hợp Tiến": (1.0, 4.0)}
    marked = re.findall(r"ở (xã [^(]+) \(từ tháng (\d+) đến tháng (\d+)\)", text)
    assert [(n, int(a), int(b)) for n, a, b in marked] == [("xã Hợp Tiến", 1, 4)]


def test_a_unit_whose_report_failed_is_said_so_in_the_comparison(tmp_path) -> None:
    """Nam Chính's data were read but its report failed (a district template that breaks on
    it): the index said "Lỗi", the comparison counted it among the units with a report."""
    from pipeline.core.config import TEMPLATES, Paths
    from pipeline.registry.tree import find_group
    from pipeline.running.runner import run_and_compare
    from pipeline.sample import generate
    from pipeline.writing.options import ReportOptions

    year, group = 2023, "district:291"
    paths = Paths.under(tmp_path)
    sent = ("nam-chinh", "hop-tien")
    generate(paths.raw, years=(year,), only=sent, activity_rows=(40, 60))
    own = tmp_path / "templates"
    own.mkdir()
    packaged = (TEMPLATES / "commune_report.html.j2").read_text(encoding="utf-8")
    (own / "commune_report.html.j2").write_text(
        '{% if commune.code == "10627" %}{{ no_such_value }}{% endif %}\n' + packaged,
        encoding="utf-8",
    )
    communes = list(find_group(year, group).communes)
    run_and_compare(
        paths,
        year,
        [c for c in communes if c.slug in sent],
        [group],
        workers=1,
        options=ReportOptions(formats=("html",), templates_dir=own),
        missing=[c for c in communes if c.slug not in sent],
    )
    outputs = paths.outputs_year(year)
    indicators = pd.read_parquet(paths.processed_year(year) / "indicators.parquet")
    status = {r["name"]: r["status"] for r in index_rows(outputs, indicators)}
    assert status["Xã Nam Chính"] == "failed" and status["Xã Hợp Tiến"] == "ok"
    comparison = next(outputs.glob("so-sanh-291-*/comparison.html")).read_text("utf-8")
    text = re.sub(r"\s+", " ", comparison)
    assert set(_cells(comparison, "ok")) == {"Xã Nam Chính", "Xã Hợp Tiến"}  # both have data
    assert (
        "số liệu của xã Nam Chính đã được tổng hợp nhưng báo cáo của đơn vị này chưa lập được"
        in text
    )
    assert "xã Hợp Tiến đã được tổng hợp nhưng" not in text
