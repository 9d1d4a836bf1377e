"""The reviewers' notebook, one call per cell: read a commune's audit (`evidence`) and show each
step as HTML with anchors the report's figures link to. Long evidence is written beside the
notebook as CSV (`evidence/{code}.csv`), with a small summary the index reads."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import pandas as pd
from markupsafe import escape

from pipeline.core.config import Paths
from pipeline.core.files import write_text
from pipeline.core.sheets import write_csv
from pipeline.measuring.indicators import CATALOGUE_BY_CODE, REJECTED, service_code
from pipeline.measuring.settings import load_settings
from pipeline.reading import store
from pipeline.registry.tree import EXTRA_REGISTRY_NAME, find_group
from pipeline.registry.units import in_words
from pipeline.writing import evidence, narrative
from pipeline.writing.commune_data import CommuneData, read_commune_data
from pipeline.writing.evidence import EVIDENCE_FOLDER, LONG_EVIDENCE, SUMMARY_FILE, Audit
from pipeline.writing.group_evidence import GroupAudit, build_group_audit, figure_names

EVIDENCE_SHOWN = 20  # rows of a long evidence list shown in the notebook (all are in its CSV)


class Shown:
    """HTML for Jupyter to display; its plain-text form is fixed, so outputs stay reproducible."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return "<HTML>"


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, pd.Timestamp):
        return narrative.date_vi(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def figure(value: float | None) -> str:
    """A figure as the report prints it (1.234; 12,5), "–" when missing: for the notebook's
    own tables."""
    return narrative.number(None if value is None or pd.isna(value) else value)


@lru_cache(maxsize=1)
def _macros():
    env = narrative.new_environment()
    env.filters["cell"] = _cell
    env.globals["rejected_reason"] = REJECTED
    return env.get_template("audit.html.j2").module


def commune_audit(
    year: int, commune: str, data_dir: str | Path, settings_file: str | Path | None = None
) -> Audit:
    """The audit of one commune and year, from the processed data under `data_dir` (the
    notebook's parameters, as the report reads them)."""
    return audit_of(read_commune_data(year, commune, data_dir, settings_file))


def audit_of(data: CommuneData) -> Audit:
    """The audit of the commune whose inputs `data` holds (the notebook reads them once for
    the audit and the report)."""
    paths = data.paths
    found = data.commune
    prepared = store.read_json(paths.processed_year(data.year) / store.PREPARED_FILE)
    record = prepared.get("communes", {}).get(found.code, {}).get("inputs", {}).get("workbook", "")
    audit = evidence.build_audit(
        data.year,
        found.code,
        found.name,
        data.tables,
        data.indicators,
        data.settings,
        evidence.setting_sources(data.settings_file),
        record,
    )
    workbook = paths.raw_year(data.year) / audit.file
    if audit.file and "," not in audit.file and workbook.is_file():
        # One workbook: its plain SHA-256, the one `sha256sum` prints for the file a reviewer has.
        audit.file_hash = hashlib.sha256(workbook.read_bytes()).hexdigest()
    return audit


def inputs(audit: Audit) -> Shown:
    """The workbook read: file, hash, sheets, rows read / kept / fixed / rejected, reasons."""
    return Shown(str(_macros().inputs(audit)))


def repairs(audit: Audit) -> Shown:
    """The repairs by kind, with a few before → after examples (never of a personal column)."""
    return Shown(str(_macros().repairs(audit)))


def indicators(audit: Audit) -> Shown:
    """The indicator table: definition, numerator and denominator, value, previous, change."""
    return Shown(str(_macros().indicators(audit)))


def rules(audit: Audit) -> Shown:
    """The rules of sections II and III: threshold, its source, the value, fired or not."""
    return Shown(str(_macros().rules(audit)))


def save_evidence(audit: Audit, folder: str | Path = ".") -> dict[str, str]:
    """Write the long evidence lists as CSV and the summary the index reads, beside the notebook
    (`folder`, the notebook's working folder); returns the CSV of each long list by code."""
    base = Path(folder)
    csvs = {}
    for code, rows in audit.evidence.items():
        if len(rows) > LONG_EVIDENCE:
            name = evidence.evidence_csv_name(code)
            write_csv(rows.frame(), base / name)
            csvs[code] = name
    # Section II's sentences the index counts: each rule that fired, and the unjudged targets'.
    fired = [r.rule for r in audit.rules.itertuples() if r.fired]
    fired += ["unwritten_targets"] if audit.unwritten_targets else []
    summary = {"code": audit.code, "year": audit.year, "limitations": fired}
    (base / EVIDENCE_FOLDER).mkdir(parents=True, exist_ok=True)
    write_text(base / SUMMARY_FILE, json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    return csvs


def evidence_rows(audit: Audit, csvs: dict[str, str]) -> Shown:
    """The rows each counting indicator adds up, collapsed; long lists point to their CSV."""
    shown = [r for r in audit.indicators.itertuples() if r.code in audit.evidence]
    values = {r.code: r.value for r in shown}
    reasons = {r.code: r.missing_reason for r in shown}  # why a figure has no value
    names = {
        code: in_words(CATALOGUE_BY_CODE[code].name_vi, audit.words) for code in audit.evidence
    }
    return Shown(str(_macros().evidence(audit, names, values, reasons, csvs, EVIDENCE_SHOWN)))


def chart_data(audit: Audit) -> Shown:
    """The figures the report's charts draw (section 7), each linked to its indicator row."""
    from pipeline.writing.report import month_chart, service_chart

    values = {r.code: r.value for r in audit.indicators.itertuples()}
    found = {
        "services": service_chart({"services": narrative.services_guided(values)}),
        "months": month_chart(values),
    }
    parts = ['<section class="cnscd-audit" id="bieu-do">']
    for name, spec in found.items():
        if not spec:
            continue
        labels, drawn, title, unit = spec
        codes = (
            [service_code(label) for label in labels]
            if name == "services"
            else [f"people_month_{int(label[1:]):02d}" for label in labels]
        )
        rows = "".join(
            f'<tr><td><a href="#chi-so-{code}">{escape(label)}</a></td>'
            f'<td class="num">{narrative.number(value)}</td></tr>'
            for label, value, code in zip(labels, drawn, codes, strict=True)
        )
        parts.append(
            f"<details open><summary>{escape(title)} ({escape(unit)})</summary>"
            f"<table><tbody>{rows}</tbody></table></details>"
        )
    if not any(found.values()):
        parts.append("<p>Báo cáo không có biểu đồ (dưới hai dịch vụ, hai tháng có số liệu).</p>")
    parts.append("</section>")
    return Shown(str(_macros().style()) + "".join(parts))


def group_audit(
    year: int, group: str, data_dir: str | Path, settings_file: str | Path | None = None
) -> GroupAudit:
    """The audit of a group's comparison, from the year's indicator table and the run's status
    of each commune (to tell a workbook that could not be read from one never sent)."""
    from pipeline.writing.index import read_status

    paths = Paths.under(data_dir)
    override = Path(data_dir, settings_file) if settings_file else None
    settings = load_settings(override)
    found = find_group(year, group, paths.raw / EXTRA_REGISTRY_NAME, settings.get("groups"))
    communes = list(found.communes)
    statuses = {c.code: read_status(paths.outputs_year(year) / c.stem) for c in communes}
    indicators = pd.read_parquet(paths.processed_year(year) / "indicators.parquet")
    sources = evidence.setting_sources(override, "comparison")
    return build_group_audit(year, found.name, communes, indicators, settings, statuses, sources)


def group_indicators(audit: GroupAudit) -> Shown:
    """The indicator table the comparison reads, collapsed."""
    names = figure_names(list(audit.table.columns))
    return Shown(str(_macros().group_table(audit, names)))


def group_method(audit: GroupAudit) -> Shown:
    """How ranks, totals, medians, scores and outliers are computed, with their constants."""
    return Shown(str(_macros().group_method(audit, figure_names(list(audit.medians)))))


def group_missing(audit: GroupAudit) -> Shown:
    """The communes of the group without figures, and why."""
    return Shown(str(_macros().group_missing(audit)))
