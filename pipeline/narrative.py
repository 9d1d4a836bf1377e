"""The commune report's text: facts gathered from the indicator table, written by Jinja2 templates.

Every number in a sentence comes from the indicator table (`values`); templates only format.
Limitation rules take their thresholds from `settings.toml`, which a district can override.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline import contract
from pipeline.config import PACKAGE_DIR, TEMPLATES
from pipeline.indicators import service_code
from pipeline.registry import Commune

DEFAULT_SETTINGS = PACKAGE_DIR / "settings.toml"
LOCALE = "vi_VN"


def number(value: float | int | None) -> str:
    """Vietnamese grouping and decimal marks: 1.234 and 12,5."""
    if value is None:
        return "–"
    return format_decimal(round(float(value), 1), format="#,##0.#", locale=LOCALE)


def count(value: float | int | None) -> str:
    """Small counts as official reports write them: 01 Tổ, 04 nhóm."""
    if value is None:
        return "–"
    return f"{int(value):02d}" if 0 <= value < 10 else number(value)


def date_vi(value: dt.date | pd.Timestamp | None) -> str:
    """25/4/2022, as documents cite dates."""
    if value is None or pd.isna(value):
        return ""
    return f"{value.day}/{value.month}/{value.year}"


def load_settings(override: Path | None = None) -> dict:
    with open(DEFAULT_SETTINGS, "rb") as f:
        settings = tomllib.load(f)
    if override is not None and override.exists():
        with open(override, "rb") as f:
            for section, entries in tomllib.load(f).items():
                settings.setdefault(section, {}).update(entries)
    return settings


@dataclass(frozen=True)
class Finding:
    """A limitation found in the data, the figure that triggered it, and what answers it."""

    code: str
    figure: float


def find_limitations(values: dict[str, float | None], settings: dict) -> list[Finding]:
    """Rules over one commune's indicators; each returns the figure that triggered it."""
    limits = settings["limitations"]
    found: list[Finding] = []

    def value(code: str) -> float | None:
        return values.get(code)

    trainings = value("trainings")
    if trainings is not None and trainings <= limits["max_trainings"]:
        found.append(Finding("few_trainings", trainings))
    without = value("members_without_smartphone")
    if without is not None and without >= limits["min_members_without_smartphone"]:
        found.append(Finding("no_smartphone", without))
    aged = value("village_leaders_aged_60")
    if aged is not None and aged >= limits["min_aged_leaders"]:
        found.append(Finding("aged_leaders", aged))
    villages, teams = value("villages"), value("teams_village")
    if villages is not None and teams is not None and villages - teams > 0:
        found.append(Finding("villages_without_team", villages - teams))
    reach = value("people_guided_per_1000")
    if reach is not None and reach < limits["min_people_guided_per_1000"]:
        found.append(Finding("low_reach", reach))
    return found


def pillar_order(values: dict[str, float | None]) -> list[str]:
    """The three pillars, the one with least activity first (where next year should push)."""
    pillars = {
        "chinh_quyen_so": "Chính quyền số",
        "kinh_te_so": "Kinh tế số",
        "xa_hoi_so": "Xã hội số",
    }
    return [
        name
        for code, name in sorted(pillars.items(), key=lambda kv: values.get(f"people_{kv[0]}") or 0)
    ]


def environment(extra_template_dirs: list[Path] | None = None) -> Environment:
    """Templates from override folders first (district, commune), then the packaged ones."""
    search = [str(p) for p in (extra_template_dirs or []) if p.exists()] + [str(TEMPLATES)]
    env = Environment(
        loader=FileSystemLoader(search),
        autoescape=select_autoescape(["j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(number=number, count=count, date_vi=date_vi)
    return env


def report_context(
    commune: Commune,
    year: int,
    tables: dict[str, pd.DataFrame],
    values: dict[str, float | None],
    settings: dict,
) -> dict:
    """Everything the report template needs, from the commune's clean tables and indicators."""
    info = tables["commune"].iloc[0]
    decisions = tables["decisions"].sort_values(["date", "number"]).to_dict("records")
    report_date = info["report_date"] if pd.notna(info["report_date"]) else None
    number_text = (
        f"{int(info['report_number']):02d}" if pd.notna(info["report_number"]) else "      "
    )
    trainings = tables["trainings"]
    return {
        "year": year,
        "commune": commune,
        "commune_upper": f"{commune.kind} {commune.short_name}".upper(),
        "signer": info["signer"],
        "signer_title": (info["signer_title"] if pd.notna(info["signer_title"]) else "Chủ tịch"),
        "report_number": number_text,
        "report_date": report_date,
        "decisions": decisions,
        "training_organisers": sorted(trainings["organiser"].dropna().unique()),
        "v": values,
        "findings": [f.code for f in find_limitations(values, settings)],
        "figures": {f.code: f.figure for f in find_limitations(values, settings)},
        "pillars_next_year": pillar_order(values),
        "services": [
            (service, values[service_code(service)])
            for service in contract.SERVICES
            if values.get(service_code(service))
        ],
    }


def render_report(
    context: dict, charts: dict[str, str], extra_template_dirs: list[Path] | None = None
) -> str:
    """The report as an HTML fragment (header, four sections, signature)."""
    template = environment(extra_template_dirs).get_template("commune_report.html.j2")
    return template.render(**context, charts=charts)
