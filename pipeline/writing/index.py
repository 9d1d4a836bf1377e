"""The reviewers' index of a year: one row per commune, links relative to the year's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.core.files import load_json, write_text
from pipeline.core.provenance import package_versions
from pipeline.measuring.compare import unit_words
from pipeline.measuring.indicators import rejected_by_commune, values_by_commune
from pipeline.registry.tree import split_kind
from pipeline.writing.evidence import SUMMARY_FILE
from pipeline.writing.narrative import environment

STATUS_FILE = "status.json"
COMPARISON_PREFIX = "so-sanh-"
# A failed comparison's notebook (where its error shows), beside an earlier run's files, if any.
FAILED_NOTEBOOK = "notebook-failed.html"


def write_status(folder: Path, record: dict) -> None:
    write_text(
        folder / STATUS_FILE,
        json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
    )


def _commune_statuses(outputs_year: Path) -> list[Path]:
    """The status files of commune folders (comparison folders have their own)."""
    return [
        p
        for p in sorted(outputs_year.glob(f"*/{STATUS_FILE}"))
        if not p.parent.name.startswith(COMPARISON_PREFIX)
    ]


def read_status(folder: Path) -> dict | None:
    path = folder / STATUS_FILE
    return load_json(path) if path.exists() else None


def write_manifest(outputs_year: Path, year: int) -> Path:
    """outputs/{year}/manifest.json: for each commune's outputs, what produced them; for each
    comparison, its status (a failed one's `earlier`: the earlier run's files it kept)."""
    communes = {}
    for status_path in _commune_statuses(outputs_year):
        record = json.loads(status_path.read_text(encoding="utf-8"))
        communes[status_path.parent.name] = {
            k: record.get(k)
            for k in (
                "code",
                "name",
                "status",
                "message",
                "source",
                "parameters",
                "code_hash",
                "revision",
                "outputs",
                "key",
            )
        }
    comparisons = {}
    for folder in _comparison_folders(outputs_year):
        record = read_status(folder) or {}
        keys = ("name", "status", "message", "key", "outputs", "earlier")
        comparisons[folder.name] = {k: record.get(k) for k in keys if k in record}
    manifest = {
        "year": year,
        "packages": package_versions(),
        "communes": communes,
        "comparisons": comparisons,
    }
    path = outputs_year / "manifest.json"
    write_text(path, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    return path


def index_rows(outputs_year: Path, indicators: pd.DataFrame | None) -> list[dict]:
    """Every commune that has a status in the year's folder, with its key figures."""
    rows = []
    by_commune = values_by_commune(indicators) if indicators is not None else {}
    lost = rejected_by_commune(indicators) if indicators is not None else {}
    for status_path in _commune_statuses(outputs_year):
        record = json.loads(status_path.read_text(encoding="utf-8"))
        values = by_commune.get(record["code"], {})

        def value(code: str, values: dict[str, float | None] = values) -> float | None:
            return values.get(code)

        members = None
        if value("members_commune") is not None:
            members = value("members_commune") + (value("members_village") or 0)
        folder = status_path.parent.name
        links = [
            (label, f"{folder}/{name}")
            for label, name in (
                ("Báo cáo (HTML)", "report.html"),
                ("Báo cáo (PDF)", "report.pdf"),
                ("Báo cáo (Word)", "report.docx"),
                ("Sổ tính kiểm tra", "notebook.html"),
                ("Sổ tính (tệp gốc)", "notebook.ipynb"),
                ("Dòng bị loại", "rejected.csv"),
            )
            if (status_path.parent / name).exists()
        ]
        # What the commune's notebook found: the rules of section II that fired.
        summary_path = status_path.parent / SUMMARY_FILE
        summary = (
            json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
        )
        limitations = summary.get("limitations")
        quality = record.get("quality") or {}
        read = quality.get("rows_read") or 0
        share = quality.get("rows_rejected", 0) / read if read else None
        rows.append(
            {
                **record,
                "members": members,
                "people_guided": value("people_guided"),
                # A log that covers part of the year: the report is built, the year is not whole.
                "partial_year": (
                    (value("log_first_month"), value("log_last_month"))
                    if (value("log_months") or 12) < 12
                    else None
                ),
                "zalo_groups": value("zalo_groups"),
                "rows_read": quality.get("rows_read"),
                "rows_fixed": quality.get("rows_fixed"),
                "rows_rejected": quality.get("rows_rejected"),
                "rejected_share": share,
                "quality_warning": "poor_data" in (limitations or ()),  # the report's rule
                # Figures written but rejected: the report prints none of them.
                "lost_figures": lost.get(record["code"], []),
                "links": links,
                # Section II's sentences: one per rule that fired (the unjudged targets' included,
                # `reviewing.save_evidence`), one for rejected figures.
                "limitations": None
                if limitations is None
                else len(limitations) + bool(lost.get(record["code"])),
                # The rules of sections II and III, each with its figure and threshold.
                "review": f"{folder}/notebook.html#quy-tac"
                if (status_path.parent / "notebook.html").exists()
                else None,
                "parent": ", ".join(
                    p for p in (record.get("district"), record.get("province")) if p
                ),
            }
        )
    return sorted(rows, key=lambda r: (r.get("province") or "", r["district"], r["name"]))


COMPARISON_FILES = (
    ("HTML", "comparison.html"),
    ("Sổ tính kiểm tra", "notebook.html"),
    ("PDF", "comparison.pdf"),
    ("Excel", "comparison.xlsx"),
)


def comparison_links(outputs_year: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each comparison of the year with links to its files. A failed one is said so, with why,
    and links its failed notebook; the files of an earlier run it kept are linked as that run's,
    never as this one's."""
    found = []
    for folder in _comparison_folders(outputs_year):
        status = read_status(folder) or {}
        name = status.get("name") or folder.name[len(COMPARISON_PREFIX) :]
        files = list(COMPARISON_FILES)
        if status.get("status") == "failed":
            why = status.get("message") or ""
            files = [("Sổ tính của lần lỗi", FAILED_NOTEBOOK)]
            if status.get("earlier"):
                name = (
                    f"{name} (lần lập này lỗi: {why}; các tệp dưới đây là của lần lập trước, "
                    "không phải số liệu hiện hành)"
                )
                files = [*COMPARISON_FILES, *files]
            else:
                name = (
                    f"{name} (lỗi, chưa lập được: {why})" if why else f"{name} (lỗi, chưa lập được)"
                )
        links = [(label, f"{folder.name}/{n}") for label, n in files if (folder / n).exists()]
        found.append((name, links))
    return found


def _comparison_folders(outputs_year: Path) -> list[Path]:
    folders = {p.parent for p in outputs_year.glob(f"{COMPARISON_PREFIX}*/{STATUS_FILE}")}
    folders |= {p.parent for p in outputs_year.glob(f"{COMPARISON_PREFIX}*/comparison.html")}
    return sorted(folders)


def write_index(outputs_year: Path, year: int, indicators: pd.DataFrame | None) -> Path:
    rows = index_rows(outputs_year, indicators)
    comparisons = comparison_links(outputs_year)
    html = (
        environment()
        .get_template("index.html.j2")
        .render(
            comparisons=comparisons,
            year=year,
            rows=rows,
            ok=sum(r["status"] == "ok" for r in rows),
            failed=sum(r["status"] == "failed" for r in rows),
            missing=sum(r["status"] == "missing" for r in rows),
            unit_words=unit_words(split_kind(r["name"])[0] for r in rows) or "xã",
            parent_header="Huyện, tỉnh"
            if any(r.get("district") for r in rows)
            else "Tỉnh, thành phố",
        )
    )
    path = outputs_year / "index.html"
    write_text(path, html)
    return path
