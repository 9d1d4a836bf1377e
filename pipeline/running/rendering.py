"""Execute a notebook with papermill and render it: report HTML, reviewers' notebook HTML, PDF
and Word, moved into place whole. The only module that drives papermill and nbconvert."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from html import unescape
from pathlib import Path

from markupsafe import Markup
from traitlets.config import Config

from pipeline.core.config import NOTEBOOKS, TEMPLATES
from pipeline.core.errors import PipelineError
from pipeline.core.files import load_json, write_text
from pipeline.core.textsafety import drawable, font_coverage, said_replaced
from pipeline.writing.evidence import EVIDENCE_FOLDER
from pipeline.writing.options import ReportOptions
from pipeline.writing.pdf import PdfUnavailable, resolve_font, write_pdf

# Kernels talk over local sockets in the run's own folder rather than open TCP ports. Their own
# log stays quiet: jupyter_client interrupts every kernel before shutting it down, which ipykernel
# logs as an ERROR ("KeyboardInterrupt caught in kernel") that is none; a notebook's errors reach
# papermill, not this log.
_KERNEL_CONFIG = Config(
    {
        "KernelManager": {"transport": "ipc"},
        "NotebookClient": {"extra_arguments": ["--IPKernelApp.log_level=CRITICAL"]},
    }
)


def _scrub(notebook_path: Path) -> None:
    """Drop timestamps and machine paths that papermill records, so outputs are reproducible."""
    notebook = load_json(notebook_path)
    meta = notebook.get("metadata", {}).get("papermill", {})
    for key in ("input_path", "output_path", "start_time", "end_time", "duration"):
        meta.pop(key, None)
    for index, cell in enumerate(notebook["cells"]):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = f"injected-parameters-{index}"  # papermill draws a random id
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    notebook_path.write_text(
        json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


REPORT_TAG = "report"  # the cells whose output is the report (report.html, PDF, Word)
_FIGURE = re.compile(r'<span class="fig" data-indicator="(\w+)">(.*?)</span>')
_RULE = re.compile(r'(<p data-rule="(\w+)">)(.*?)(</p>)', re.S)


def _is_report(cell: dict) -> bool:
    return REPORT_TAG in cell.get("metadata", {}).get("tags", [])


def _report_cells(cells: list) -> list:
    """The cells tagged as the report; every cell for a notebook that tags none."""
    tagged = [c for c in cells if _is_report(c)]
    return tagged or list(cells)


def link_figures(html: str) -> str:
    """In the reviewers' notebook, each figure of the report becomes a link to its indicator's
    row, and each sentence of sections II and III ends with a link to the rule that wrote it."""
    html = _FIGURE.sub(r'<a class="fig" href="#chi-so-\1" title="\1">\2</a>', html)
    return _RULE.sub(
        r'\1\3 <a class="to-rule" href="#quy-tac-\2" title="quy tắc \2">[quy tắc]</a>\4', html
    )


_FOCUSABLE = re.compile(r'<div class="(jp-Cell-inputWrapper|[^"]*\bjp-OutputArea-output\b[^"]*)"')
_IMAGE_WITHOUT_ALT = re.compile(r"<img (?![^>]*\balt=)")


class _Page:
    """One nbconvert exporter per process and kind, so its Jinja templates compile once (a
    worker renders hundreds of notebooks), driven through nbconvert's public API only.

    It is a `TemplateExporter` with our template (pipeline/templates/nbconvert/report: lab, with
    no remote scripts), not an `HTMLExporter`: the latter's last pass parses the whole page with
    BeautifulSoup to add alt texts and tabindex attributes, 525 ms of CPU for a post-merger
    commune's notebook against 51 ms without it (6 December 2026, Phường Hải Dương 2025); the
    same attributes are added here to the markup the lab template writes. The resources the lab
    template asks for (its stylesheets, theme and language) are given with the notebook."""

    def __init__(self, code: bool) -> None:
        from nbconvert.exporters import TemplateExporter

        class Exporter(TemplateExporter):
            output_mimetype = "text/html"

            @property
            def default_config(self) -> Config:
                config = super().default_config.copy()
                config.merge(_HTML_CONFIG)
                return config

        self.exporter = Exporter(
            template_name="report",
            template_file="index.html.j2",
            file_extension=".html",
            extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
            exclude_input=not code,
            exclude_input_prompt=not code,
            exclude_output_prompt=not code,
        )
        stylesheets: dict[str, Markup] = {}

        def include_css(name: str) -> Markup:  # a function: nbconvert deep-copies resources
            if name not in stylesheets:
                environment = self.exporter.environment
                text = environment.loader.get_source(environment, name)[0]
                stylesheets[name] = Markup(f'<style type="text/css">\n{text}</style>')
            return stylesheets[name]

        self.resources = {"include_css": include_css, "theme": "light", "language_code": "vi"}

    def html(self, notebook) -> str:
        from nbconvert.filters import Highlight2HTML

        language = notebook.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name"))
        code = Highlight2HTML(pygments_lexer=lexer, parent=self.exporter)
        self.exporter.register_filter("highlight_code", code)  # the notebook's own language
        html, _ = self.exporter.from_notebook_node(notebook, dict(self.resources))
        html = _IMAGE_WITHOUT_ALT.sub(
            '<img alt="No description has been provided for this image" ', html
        )
        return _FOCUSABLE.sub(r'<div class="\1" tabindex="0"', html)


# HTMLExporter's own configuration: what an HTML page shows of an output, best first, and the
# cell magics (%%bash…) highlighted in their language.
_HTML_CONFIG = Config(
    {
        "NbConvertBase": {
            "display_data_priority": [
                "application/vnd.jupyter.widget-view+json",
                "application/javascript",
                "text/html",
                "text/markdown",
                "image/svg+xml",
                "text/vnd.mermaid",
                "text/latex",
                "image/png",
                "image/jpeg",
                "text/plain",
            ]
        },
        "HighlightMagicsPreprocessor": {"enabled": True},
    }
)


@lru_cache(maxsize=2)
def _page(code: bool) -> _Page:
    return _Page(code)


def render_html(notebook_path: Path, html_path: Path, title: str, code: bool = False) -> None:
    """The executed notebook as a document: the report's cells alone, no code, no prompts; or,
    with `code`, as a reviewer reads a notebook: every cell's code above what it displayed, and
    the report's figures linked to the notebook's rows."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.metadata["title"] = title
    if not code:
        notebook.cells = _report_cells(notebook.cells)
    body = _page(code).html(notebook)
    write_text(html_path, link_figures(body) if code else body)


def report_fragment(notebook_path: Path) -> str | None:
    """The report as the executed notebook displayed it (the last HTML output of the report's
    cells)."""
    notebook = load_json(notebook_path)
    for cell in reversed(_report_cells(notebook["cells"])):
        for output in reversed(cell.get("outputs", [])):
            html = output.get("data", {}).get("text/html")
            if html:
                return "".join(html) if isinstance(html, list) else html
    return None


def visible_text(html: str) -> str:
    """What a reader sees of an HTML fragment: no tags, styles or drawings. A figure's mark
    (`<span>`) or a link is inline: it adds no space."""
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(span|a)\b[^>]*>", "", html)
    return unescape(re.sub(r"<[^>]+>", " ", html))


KERNEL_START_ATTEMPTS = 3


def _execute_notebook(
    output: Path,
    work_dir: Path,
    parameters: dict,
    engine: str = "kernel",
    notebook: Path = NOTEBOOKS / "commune_report.ipynb",
) -> None:
    """papermill, with a real kernel or in process; a kernel that fails to start under load is
    started again."""
    import papermill
    from nbclient.exceptions import DeadKernelError

    from pipeline.running.engine import ENGINE_NAME  # also makes injected parameters readable

    def execute() -> None:
        if engine == "inprocess":
            chosen = {"engine_name": ENGINE_NAME}
        else:
            chosen = {"config": _KERNEL_CONFIG}
        papermill.execute_notebook(
            str(notebook),
            str(output),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(work_dir),
            log_output=False,
            parameters=parameters,
            **chosen,
        )

    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            execute()
            return
        except (DeadKernelError, TimeoutError, RuntimeError):
            if engine == "inprocess" or (
                output.exists() and any(c.get("outputs") for c in load_json(output)["cells"])
            ):
                raise  # the notebook itself failed: not a kernel start
            if attempt == KERNEL_START_ATTEMPTS:
                raise
            time.sleep(attempt)


def _evidence_files(work_dir: Path) -> list[str]:
    """What the notebook wrote beside itself for reviewers (long evidence as CSV, summary)."""
    folder = work_dir / EVIDENCE_FOLDER
    return sorted(p.relative_to(work_dir).as_posix() for p in folder.rglob("*") if p.is_file())


@dataclass
class Produced:
    """What one notebook run left: status, message, files (name -> path), why there is no PDF."""

    status: str = "pending"
    message: str = ""
    files: list[str] = field(default_factory=list)
    pdf_note: str = ""
    notes: list[str] = field(default_factory=list)  # what the documents show otherwise


def _drawable(fragment: str) -> tuple[str, list[str]]:
    """The fragment as the PDF's font can draw it (`textsafety.drawable`), and the line saying
    what was replaced, if anything was: one letter no font has never fails a document."""
    font = resolve_font()
    printed, replaced = drawable(fragment, font_coverage(font))
    return printed, [said_replaced(replaced, font.stem)] if replaced else []


def execute_document(
    out_dir: Path,
    work_dir: Path,
    notebook: Path,
    stem: str,
    parameters: dict,
    title: str,
    options: ReportOptions,
    extra: Callable[[Path], list[str]] | None = None,
    landscape: bool = False,
    word: Callable[[str, Path, str], None] | None = None,
) -> Produced:
    """Execute a notebook with papermill, render it to HTML (and PDF), move the files in whole.

    Works in its own folder, so parallel runs never share a file; `extra(work_dir)` may write
    more files (the comparison's workbook) and returns their names;
    `word(fragment, path, settings_file)` writes the Word document when the formats ask for it
    (the commune report).
    """
    import papermill

    done = Produced()
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = work_dir / "notebook.ipynb"
    named = options.materialise(work_dir / "options", Path(parameters["data_dir"]))
    first = {k: v for k, v in parameters.items() if k != "footer"}
    try:
        _execute_notebook(
            executed,
            work_dir,
            {
                **first,
                "data_dir": os.path.relpath(parameters["data_dir"], work_dir),
                **named,
                **({"footer": parameters["footer"]} if "footer" in parameters else {}),
            },
            options.engine,
            notebook,
        )
    except papermill.PapermillExecutionError as exc:
        done.status, done.message = "failed", f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # a kernel that died on the last attempt: keep what it executed
        done.status, done.message = "failed", f"{type(exc).__name__}: {exc}"
    try:
        if executed.exists():
            _scrub(executed)
            render_html(executed, work_dir / f"{stem}.html", title)
            render_html(executed, work_dir / "notebook.html", f"{title} (notebook)", code=True)
            done.files = ["notebook.ipynb", "notebook.html", f"{stem}.html"]
            done.files += _evidence_files(work_dir)
            fragment = report_fragment(executed) if done.status == "pending" else None
            if fragment and "pdf" in options.formats:
                try:
                    printed, done.notes = _drawable(fragment)
                    write_pdf(
                        printed,
                        visible_text(printed),
                        work_dir / f"{stem}.pdf",
                        title,
                        landscape=landscape,
                    )
                    done.files.append(f"{stem}.pdf")
                except PdfUnavailable as exc:
                    done.pdf_note = str(exc)
                except PipelineError as exc:
                    done.status, done.message = "failed", str(exc)
            if fragment and word is not None and "docx" in options.formats:
                try:
                    word(fragment, work_dir / f"{stem}.docx", named["settings_file"])
                    done.files.append(f"{stem}.docx")
                except PipelineError as exc:
                    done.status, done.message = "failed", str(exc)
            if extra is not None and done.status == "pending":
                done.files += extra(work_dir)
            shutil.rmtree(out_dir / EVIDENCE_FOLDER, ignore_errors=True)  # no stale evidence
            for name in done.files:
                (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
                (work_dir / name).replace(out_dir / name)
            for suffix in (".pdf", ".docx"):  # no old PDF or Word file beside a new HTML
                if f"{stem}{suffix}" not in done.files:
                    (out_dir / f"{stem}{suffix}").unlink(missing_ok=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if done.status == "pending":
        done.status = "ok"
    return done
