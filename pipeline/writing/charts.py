"""Charts as inline SVG, drawn once per report: vector in the HTML and the PDF, and the Word
report's picture (`word.chart_images` draws this SVG as PNG). Byte-identical for the same data.

The SVG keeps its text as text (`svg.fonttype: none`), in DejaVu Serif, the font matplotlib
measures it with (the PDF embeds matplotlib's own copy: `pdf.chart_fonts`). As text the SVG is a
sixth of the size of one with every letter drawn as a path, and its words are selectable.
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure  # not pyplot: no global figure state, and faster to import
from matplotlib.ticker import FuncFormatter

from pipeline.writing.narrative import number

# Shipped with matplotlib (the same letters on every machine), and a serif like the report's
# Times text beside it.
FONT = "DejaVu Serif"
_STYLE = {
    "svg.hashsalt": "cnscd",  # fixed ids, so the same data gives the same bytes
    "svg.fonttype": "none",
    "font.family": FONT,
    "font.size": 9,
}


# Axis ticks as the bars' labels and the text write figures: 1.000, 1.250 (not 1000, 1250).
VIETNAMESE_TICKS = FuncFormatter(lambda value, _: number(value))


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prolog and doctype: it is inlined in HTML


def _figure_tag(svg: str, name: str) -> str:
    named = f' data-chart="{name}"' if name else ""  # the Word report finds its PNG by it
    return f'<figure class="chart"{named}>{svg}</figure>'


def bar_chart(
    labels: list[str],
    values: list[float],
    title: str,
    unit: str,
    target: tuple[float, str] | None = None,
    name: str = "",
) -> str:
    """Horizontal bars, largest on top, each labelled with its value; a target as a line."""
    with matplotlib.rc_context(_STYLE):
        return _figure_tag(_svg(_bar_figure(labels, values, title, unit, target)), name)


def _bar_figure(
    labels: list[str],
    values: list[float],
    title: str,
    unit: str,
    target: tuple[float, str] | None = None,
) -> Figure:
    """Called within the chart style (rc_context): it is read when drawing."""
    pairs = sorted(zip(values, labels, strict=True))
    figure = Figure(figsize=(6.2, 0.38 * len(pairs) + 0.9))
    axes = figure.subplots()
    bars = axes.barh([label for _, label in pairs], [value for value, _ in pairs], color="#1f4e79")
    axes.bar_label(bars, labels=[number(value) for value, _ in pairs], padding=3)
    axes.set_title(title, loc="left", fontweight="bold")
    axes.set_xlabel(unit)
    axes.xaxis.set_major_formatter(VIETNAMESE_TICKS)
    axes.spines[["top", "right"]].set_visible(False)
    axes.margins(x=0.12)
    if target is not None:
        _line_with_words(axes, target[0], target[1], above=True)
    return figure


def _line_with_words(axes, at: float, words: str, above: bool) -> None:
    """A dashed red line across the axes at x = `at`, its words at its top: above the axes (a
    target) or just inside them (a mark between two bars)."""
    axes.axvline(at, color="#b22222", linestyle="--", linewidth=1)
    axes.annotate(
        words,
        (at, 1.0 if above else 0.98),
        xycoords=("data", "axes fraction"),
        color="#b22222",
        fontsize=7,
        ha="left",
        va="bottom" if above else "top",
    )


# A mark between two bars: (the index of the bar it stands before, its words).
Mark = tuple[int, str] | None


def column_chart(
    labels: list[str],
    values: list[float],
    title: str,
    unit: str,
    name: str = "",
    mark: Mark = None,
) -> str:
    """Vertical bars in the given order (months), each labelled with its value; `mark` draws a
    line before one bar (a merger during the year) with its words."""
    with matplotlib.rc_context(_STYLE):
        return _figure_tag(_svg(_column_figure(labels, values, title, unit, mark)), name)


def _column_figure(
    labels: list[str], values: list[float], title: str, unit: str, mark: Mark = None
) -> Figure:
    figure = Figure(figsize=(6.2, 2.6))
    axes = figure.subplots()
    bars = axes.bar(labels, values, color="#1f4e79")
    axes.bar_label(bars, labels=[number(v) for v in values], padding=2, fontsize=7)
    axes.set_title(title, loc="left", fontweight="bold")
    axes.set_ylabel(unit)
    axes.yaxis.set_major_formatter(VIETNAMESE_TICKS)
    axes.spines[["top", "right"]].set_visible(False)
    # Room above the tallest bar's label for the mark's words, which sit at the top.
    axes.margins(y=0.15 if mark is None else 0.35)
    if mark is not None:
        _line_with_words(axes, mark[0] - 0.5, " " + mark[1], above=False)
    return figure
