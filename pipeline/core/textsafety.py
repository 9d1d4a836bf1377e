"""Text from workbooks and file names made safe to show: in a document, and on a terminal.

A cell or a file name may hold control characters (NUL, ESC, backspace), terminal escape
sequences or bidirectional overrides (U+202E turns the rest of a line around). In a document
they are dropped; on a terminal they are shown as visible escapes (`\\x1b`), so that what a
user reads is what the file holds and a name cannot rewrite the screen.
"""

from __future__ import annotations

import html as markup
import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache
from pathlib import Path
from typing import TextIO

# DEL, C1 controls, the bidirectional embeddings, overrides and isolates (the marks
# U+200E/U+200F change no order and are left alone), and C0 controls: on a terminal all but
# tab and line feed, in a document all but those and carriage return.
_BIDI_AND_C1 = "\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_UNSAFE_RE = re.compile(f"[\x00-\x08\x0b-\x1f{_BIDI_AND_C1}]")
_UNSAFE_IN_DOCUMENT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_BIDI_AND_C1}]")


def printable(text: str) -> str:
    """`text` without control characters or bidirectional overrides (for HTML, PDF, CSV)."""
    return _UNSAFE_IN_DOCUMENT.sub("", text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def for_terminal(text: str) -> str:
    """`text` with every control character (but line feed and tab) and bidirectional override
    shown as an escape: `\\x1b[31m` prints as those characters, not as red."""
    return _UNSAFE_RE.sub(_escaped, text)


_UNSAFE_IN_A_LINE = re.compile(f"[\x00-\x1f{_BIDI_AND_C1}]")


def one_line(text: str) -> str:
    """`text` as `for_terminal` shows it, line feeds and tabs escaped too: a file name that
    holds a line feed cannot add a line (a row of a table) of its own."""
    return _UNSAFE_IN_A_LINE.sub(_escaped, text)


class TerminalStream:
    """A text stream (stdout, stderr) that shows unsafe characters as escapes. A carriage
    return that starts a write is the progress line's own and is kept."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith("\r"):
            self._stream.write("\r" + for_terminal(text[1:]))
        else:
            self._stream.write(for_terminal(text))
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


# What a letter no font of a document draws becomes, failing its compatibility form: a box that
# a reader sees (an empty one, never a blank), or a question mark in a font without it.
STAND_INS = ("\u25a1", "?")
# Parts of an HTML fragment that are not its text: tags, and what styles, scripts and drawings
# hold (a chart's text is drawn in the charts' own font).
_NOT_TEXT = re.compile(r"(<(style|script|svg)\b.*?</\2>|<[^>]*>)", re.S)


@lru_cache(maxsize=8)
def font_coverage(font_file: Path) -> frozenset[int]:
    """The code points a font file draws (its cmap)."""
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(font_file, fontNumber=0, lazy=True).getBestCmap())


def _stand_in(char: str, coverage: Collection[int]) -> str:
    """'（' -> '(', '①' -> '1' (the compatibility form, where the font draws it), else a box."""
    compatible = unicodedata.normalize("NFKC", char)
    if compatible != char and compatible.strip() and all(ord(c) in coverage for c in compatible):
        return markup.escape(compatible, quote=False)  # '＜' is '<': text, never a tag
    return next((s for s in STAND_INS if ord(s) in coverage), "?")


def drawable(html: str, coverage: Collection[int]) -> tuple[str, dict[str, str]]:
    """The HTML fragment with each letter of its text that the font (`coverage`, its code
    points) cannot draw replaced by a visible stand-in, and what was replaced by what. Spaces and
    controls are left as they are; tags, styles, scripts and drawings are not text."""
    replaced: dict[str, str] = {}

    def text(part: str) -> str:
        out = []
        for char in part:
            if ord(char) in coverage or not char.isprintable() or char.isspace():
                out.append(char)
                continue
            if char not in replaced:
                replaced[char] = _stand_in(char, coverage)
            out.append(replaced[char])
        return "".join(out)

    parts = _NOT_TEXT.split(html)
    # split gives: text, whole match, inner group (tag name or None), text, …
    out = []
    for index in range(0, len(parts), 3):
        out.append(text(parts[index]))
        if index + 1 < len(parts):
            out.append(parts[index + 1])
    return "".join(out), replaced


def said_replaced(replaced: dict[str, str], font: str) -> str:
    """One line for the log: which letters the font lacks and what the document shows."""
    shown = ", ".join(f"'{c}' (U+{ord(c):04X}) as '{s}'" for c, s in sorted(replaced.items()))
    return f"the font {font} has no letter for {shown}: the PDF shows the stand-in"
