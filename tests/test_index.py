"""The reviewers' index rows, from the commune folders' status records and the indicators."""

from __future__ import annotations

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
