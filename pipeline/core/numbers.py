"""Numbers as Vietnamese people write them: `1.200` and `1 200` are 1,200; `1,5` is 1.5.

A value is read one way only. A count that is not whole, a value that reads two ways (`1,200`
where a decimal is allowed: 1.2 or 1,200?) and an Excel error cell are refused with their reason,
never rounded or guessed; every reading other than the plain one is named, so cleaning logs it.
"""

from __future__ import annotations

import math
import re
import unicodedata

# Figures are printed to one decimal (`narrative.number`): two figures that print alike are a
# tie for the reader, and rankings treat them so.
PRINTED_DECIMALS = 1


def printed(value: float) -> float:
    """The value as a report prints it: 20.05 -> 20.1, as Python rounds the exact binary value.
    pandas' `Series.round` gives 20.0 (it scales, then rounds half to even), so rankings map
    this function instead."""
    return round(float(value), PRINTED_DECIMALS)


EXCEL_ERRORS = frozenset(
    {"#REF!", "#DIV/0!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
)
# How a value was read, when not plainly: the kind of fix cleaning logs.
THOUSANDS = "thousands_separator"
DECIMAL_COMMA = "decimal_comma"
OTHER_DIGITS = "full_width_digits"  # '１２' (full-width, or another script's digits) read as 12
# Why a value cannot be read: the reason a row (or a cell) is refused.
NOT_WHOLE = "not_whole_number"
AMBIGUOUS = "ambiguous_number"
EXCEL_ERROR = "excel_error"
INVALID = "invalid_number"
TOO_LARGE = "number_too_large"
# Beyond any count or area a commune writes, and beyond what int64 holds (1e308 is a typing
# error or a formula's overflow, never a figure).
LARGEST = 1e15

_SPACES = re.compile(r"(?<=\d)[ \u00a0\u202f\u2009](?=\d{3}\b)")
_PLAIN = re.compile(r"[+-]?\d+(?:\.\d+)?")
_GROUPS = re.compile(r"[+-]?\d{1,3}(?:([.,])\d{3})+")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_VIETNAMESE = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d+")  # 1.234,5
_ENGLISH = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+\.\d+")  # 1,234.5


def read_number(value: object, whole: bool) -> tuple[float | None, str]:
    """(number, how): `how` is "" for a plain reading, THOUSANDS or DECIMAL_COMMA for another
    reading, or the reason the value cannot be read (then the number is None).

    `whole` is for counts and years: `1.200` and `1,200` can only be 1,200 there; where a decimal
    is allowed (an area), one group after a separator reads two ways and is refused.
    """
    if isinstance(value, bool):
        return None, INVALID
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number):
            return None, INVALID
        return _whole_or_refused(number, "", whole)
    text = str(value).strip()
    if text.upper() in EXCEL_ERRORS:
        return None, EXCEL_ERROR
    ascii_digits = _ascii_digits(text)
    if ascii_digits != text:
        number, how = read_number(ascii_digits, whole)
        return number, (OTHER_DIGITS if number is not None and not how else how)
    spaced = _SPACES.sub("", text)
    how = THOUSANDS if spaced != text else ""
    if _PLAIN.fullmatch(spaced):
        if "." in spaced and re.fullmatch(r"[+-]?\d{1,3}\.\d{3}", spaced):
            if whole:  # 1.200 people: the Vietnamese thousands separator
                return float(spaced.replace(".", "")), THOUSANDS
            return None, AMBIGUOUS  # 1.200 km²: 1.2 or 1,200?
        return _whole_or_refused(float(spaced), how, whole)
    groups = _GROUPS.fullmatch(spaced)
    if groups:
        several = spaced.count(groups.group(1)) > 1
        if not whole and not several and groups.group(1) == ",":
            return None, AMBIGUOUS  # 1,200 km²
        return float(re.sub(r"[.,]", "", spaced)), THOUSANDS
    if _VIETNAMESE.fullmatch(spaced):
        number = float(spaced.replace(".", "").replace(",", "."))
        return _whole_or_refused(number, THOUSANDS, whole)
    if _ENGLISH.fullmatch(spaced):
        return _whole_or_refused(float(spaced.replace(",", "")), THOUSANDS, whole)
    if _DECIMAL_COMMA.fullmatch(spaced):
        return _whole_or_refused(float(spaced.replace(",", ".")), DECIMAL_COMMA, whole)
    return None, INVALID


def _ascii_digits(text: str) -> str:
    """Digits of any script as ASCII digits ('１２' -> '12'); the rest as it is."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text
    )


def _whole_or_refused(number: float, how: str, whole: bool) -> tuple[float | None, str]:
    if not abs(number) < LARGEST:  # infinity too
        return None, TOO_LARGE
    if whole and not number.is_integer():
        return None, NOT_WHOLE
    return number, how
