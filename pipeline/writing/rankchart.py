"""The comparison's ranked bars as a small hand-written SVG: one bar, one name and one value per
commune shown, a dashed line for a national target, and nothing else.

Matplotlib drew each chart twice (tight bounding box) and wrote ~290 elements (ticks, clip
paths, a group per patch): ~0.4 s to draw and as much again in WeasyPrint, eight times per
comparison. The same bars, names, values and target cost a few milliseconds here. The text is
DejaVu Sans, measured from matplotlib's own copy of the font (the one the PDF embeds,
`pdf.chart_fonts`), so names are never cut; the title is the figure's caption, so it wraps
as text does.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path

from pipeline.writing.narrative import number

FONT = "DejaVu Sans"
SIZE = 9.0  # font size of names and values, in the SVG's units (pt, as matplotlib's charts)
TARGET_SIZE = 7.0
ROW = 16.0  # height of one bar's row
BAR = 11.0
BARS_WIDTH = 300.0  # the longest bar
GAP = 4.0
BLUE, RED = "#1f4e79", "#b22222"


@lru_cache(maxsize=1)
def _advances() -> tuple[dict[int, int], int, float]:
    """DejaVu Sans's advance widths by code point, the width of a missing letter, units/em."""
    import matplotlib
    from fontTools.ttLib import TTFont

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    font = TTFont(path, lazy=True)
    metrics = font["hmtx"].metrics
    widths = {code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()}
    return widths, metrics[".notdef"][0], float(font["head"].unitsPerEm)


def text_width(text: str, size: float = SIZE) -> float:
    """The width of `text` in DejaVu Sans at `size` (no kerning: a little wider, never less)."""
    widths, missing, em = _advances()
    return sum(widths.get(ord(ch), missing) for ch in text) * size / em


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def ranked_bars(
    labels: list[str],
    values: list[float],
    title: str,
    unit: str,
    target: tuple[float, str] | None = None,
) -> str:
    """Horizontal bars, largest on top (ties in the names' order, from the bottom, as
    `charts.bar_chart`), each labelled with its value; a target as a dashed line."""
    pairs = sorted(zip(values, labels, strict=True), reverse=True)
    texts = [number(value) for value, _ in pairs]
    names_width = max(text_width(label) for _, label in pairs)
    values_width = max(text_width(text) for text in texts)
    lowest = min(0.0, *(value for value, _ in pairs))
    highest = max(0.0, *(value for value, _ in pairs), *([target[0]] if target else []))
    span = (highest - lowest) or 1.0
    left = names_width + GAP

    def x(value: float) -> float:
        return left + (value - lowest) / span * BARS_WIDTH

    top = TARGET_SIZE + 6.0 if target else 2.0
    height = top + ROW * len(pairs)
    width = left + BARS_WIDTH + GAP + values_width + 2.0
    parts = []
    for row, ((value, label), text) in enumerate(zip(pairs, texts, strict=True)):
        y = top + row * ROW
        start, end = sorted((x(0.0), x(value)))
        base = y + (ROW + SIZE * 0.7) / 2
        parts.append(
            f'<rect x="{start:.1f}" y="{y + (ROW - BAR) / 2:.1f}" width="{end - start:.1f}" '
            f'height="{BAR:.1f}" fill="{BLUE}"/>'
            + _text(left - GAP, base, label, "end")
            + _text(end + GAP, base, text)
        )
    axis = f'<path d="M{x(0.0):.1f} {top:.1f}V{height:.1f}H{left + BARS_WIDTH:.1f}" '
    axis += 'fill="none" stroke="#000"/>'
    unit_line = _text(left + BARS_WIDTH / 2, height + SIZE + 4, unit, "middle")
    drawn_target = ""
    if target is not None:
        at = x(target[0])
        drawn_target = (
            f'<path d="M{at:.1f} {top - 2:.1f}V{height:.1f}" stroke="{RED}" '
            f'fill="none" stroke-dasharray="4 2"/>'
            + _text(at, TARGET_SIZE + 1, target[1], "start", f' fill="{RED}" font-size="7"')
        )
    if target is not None:  # the target's words may run past the longest bar's value
        width = max(width, x(target[0]) + text_width(target[1], TARGET_SIZE))
    total = height + SIZE + 8
    return (
        f'<figure class="chart ranked"><figcaption>{escape(title)}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.1f}pt" height="{total:.1f}pt" '
        f'viewBox="0 0 {width:.1f} {total:.1f}" font-family="{FONT}" font-size="{SIZE:g}">'
        + "".join(parts)
        + axis
        + drawn_target
        + unit_line
        + "</svg></figure>"
    )
