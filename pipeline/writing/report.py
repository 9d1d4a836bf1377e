"""The commune report, assembled: clean tables and indicators in, one HTML document out.

This is what `notebooks/commune_report.ipynb` calls; it is importable and testable without Jupyter.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.measuring.indicators import (
    logged_months,
    values_of,
)
from pipeline.reading import store
from pipeline.writing import charts, narrative
from pipeline.writing.commune_data import CommuneData, read_commune_data


def service_chart(context: dict) -> tuple | None:
    """The people guided by service: (labels, values, title, unit), or None under two services."""
    if len(context["services"]) < 2:
        return None
    labels = [name for name, _ in context["services"]]
    values = [float(people) for _, people in context["services"]]
    return labels, values, "Người dân được hướng dẫn theo dịch vụ, nền tảng", "lượt người"


def month_chart(values: dict[str, float | None]) -> tuple | None:
    """The people guided by month, over the months the log covers only (a log that stops in
    April is not drawn with zeros for May to December): (labels, values, title, unit), or None
    under two months."""
    months = logged_months(values)
    people = [values.get(f"people_month_{m:02d}") for m in months]
    if sum(1 for p in people if p) < 2:
        return None
    return (
        [f"T{m}" for m in months],
        [p or 0.0 for p in people],
        "Người dân được hướng dẫn theo tháng",
        "lượt người",
    )


def merger_mark(chart: tuple | None, formed: dict | None) -> tuple[int, str] | None:
    """Where a monthly chart marks the commune's merger during the year: (the first month's
    bar, its words), or None (no merger, or one before the months drawn): a drop or a rise
    at that month is the territory changing, not the teams' work."""
    if chart is None or not formed or f"T{formed['month']}" not in chart[0][1:]:
        return None
    return chart[0].index(f"T{formed['month']}"), f"Sắp xếp từ {formed['date']}"


def numbered(charts: list[tuple | None]) -> list[tuple | None]:
    """The report's charts, each titled "Biểu đồ 1: …" in the order they are printed."""
    out, n = [], 0
    for chart in charts:
        if chart is not None:
            n += 1
            labels, values, title, unit = chart
            chart = (labels, values, f"Biểu đồ {n}: {title}", unit)
        out.append(chart)
    return out


def _context(data: CommuneData) -> tuple[dict, dict[str, float | None]]:
    """The report's context (narrative) and the commune's indicator values."""
    found, year, mine = data.commune, data.year, data.indicators
    values = values_of(mine, found.code)
    reasons = dict(zip(mine["indicator"], mine["missing_reason"], strict=True))
    context = narrative.report_context(found, year, data.tables, values, data.settings, reasons)
    context.update(narrative.previous_year(mine))
    context["formed"] = narrative.formed_from(
        found, year, store.read_origins(data.paths.processed_year(year), found.code)
    )
    return context, values


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
    return report_html(
        read_commune_data(year, commune, data_dir, settings_file), templates_dir, footer
    )


def report_html(
    data: CommuneData, templates_dir: str | Path | None = None, footer: str = ""
) -> str:
    """The report of the commune whose inputs `data` holds (read once by the notebook for the
    audit and the report); `templates_dir` relative to the data folder (or absolute)."""
    context, values = _context(data)
    context["footer"] = footer
    # A district's templates folder; a subfolder named by a commune's code overrides it further.
    overrides = None
    if templates_dir:
        code = context["commune"].code
        overrides = [Path(data.data_dir, templates_dir, code), Path(data.data_dir, templates_dir)]
    services, months = numbered([service_chart(context), month_chart(values)])
    mark = merger_mark(months, context["formed"])
    chart_svgs = {
        "services": charts.bar_chart(*services, name="services") if services else "",
        "months": charts.column_chart(*months, name="months", mark=mark) if months else "",
    }
    return narrative.render_report(context, chart_svgs, overrides)
