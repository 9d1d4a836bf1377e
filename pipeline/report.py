"""The commune report, assembled: clean tables and indicators in, one HTML document out.

This is what `notebooks/commune_report.ipynb` calls; it is importable and testable without Jupyter.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import charts, narrative, store
from pipeline.config import Paths
from pipeline.indicators import values_of
from pipeline.registry import EXTRA_REGISTRY_NAME, find_commune

INDICATORS_FILE = "indicators.parquet"


def service_chart(context: dict) -> str:
    if len(context["services"]) < 2:
        return ""
    labels = [name for name, _ in context["services"]]
    values = [float(people) for _, people in context["services"]]
    return charts.bar_chart(
        labels, values, "Người dân được hướng dẫn theo dịch vụ, nền tảng", "lượt người"
    )


def month_chart(values: dict[str, float | None]) -> str:
    people = [values.get(f"people_month_{m:02d}") for m in range(1, 13)]
    if sum(1 for p in people if p) < 2:
        return ""
    return charts.column_chart(
        [f"T{m}" for m in range(1, 13)],
        [p or 0.0 for p in people],
        "Người dân được hướng dẫn theo tháng",
        "lượt người",
    )


def commune_report_html(
    year: int,
    commune: str,
    data_dir: str | Path,
    settings_file: str | Path | None = None,
    templates_dir: str | Path | None = None,
    footer: str = "",
) -> str:
    """The report of one commune and year, from the processed data under `data_dir`.

    `settings_file` and `templates_dir` are relative to `data_dir` (or absolute).
    """
    paths = Paths.under(data_dir)
    found = find_commune(year, commune, paths.raw / EXTRA_REGISTRY_NAME)
    tables = store.read_commune(paths.processed_year(year), found.code)
    indicators = pd.read_parquet(paths.processed_year(year) / INDICATORS_FILE)
    settings = narrative.load_settings(Path(data_dir, settings_file) if settings_file else None)
    values = values_of(indicators, found.code)
    mine = indicators[indicators["commune_code"] == found.code]
    reasons = dict(zip(mine["indicator"], mine["missing_reason"], strict=True))
    context = narrative.report_context(found, year, tables, values, settings, reasons)
    context["footer"] = footer
    # A district's templates folder; a subfolder named by a commune's code overrides it further.
    overrides = None
    if templates_dir:
        overrides = [Path(data_dir, templates_dir, found.code), Path(data_dir, templates_dir)]
    chart_svgs = {"services": service_chart(context), "months": month_chart(values)}
    return narrative.render_report(context, chart_svgs, overrides)
