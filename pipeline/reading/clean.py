"""Cleaning: raw tables to typed tables, every change counted and every dropped row kept.

Works on the tables of many communes stacked together, so a year is cleaned in one pass. Text,
dates and names are worked out once per distinct value, not once per row. The schemas in
`schemas.py` decide which rows stand; a row that does not is kept in `rejected` with its reason.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from pipeline.core import contract
from pipeline.core.errors import InputError
from pipeline.core.numbers import DECIMAL_COMMA, INVALID, OTHER_DIGITS, THOUSANDS, read_number
from pipeline.core.vntext import match_key, repair_with_kind
from pipeline.reading.ingest import DECODED, FORMULAS, ROW, RawWorkbook
from pipeline.reading.plausibility import BEYOND_BOUND, beyond_bounds, commune_bases
from pipeline.reading.schemas import CHECK_REASONS, COUNT_LIMITS, schema_for
from pipeline.registry.units import COMMUNE_KINDS, TEAM_VILLAGE_KINDS

FILE, SHEET = "_file", "_sheet"
META = ["commune_code", FILE, SHEET, ROW]
FIX_COLUMNS = ["commune_code", "file", "sheet", "excel_row", "column", "kind", "raw", "fixed"]
REJECT_COLUMNS = [
    "commune_code",
    "file",
    "sheet",
    "excel_row",
    "column",
    "value",
    "reason_code",
    "reason",
    # The figure a rejected row made lost: a result row's kind (Chỉ tiêu), or the sheet whose
    # figures a row takes whole (Tập huấn, Nhóm Zalo: indicators.WHOLE_SHEET_FIGURES).
    "figure",
]
REASONS = {
    contract.BLANK_ROW: "Dòng trống",
    "duplicate_row": "Dòng trùng lặp với một dòng phía trên",
    "duplicate_in_other_book": (
        "Trùng với một dòng trong sổ của đơn vị sau sắp xếp (tên tệp ở cột Giá trị): chỉ tính "
        "một lần; nếu là hai hoạt động khác nhau, ghi rõ thôn hoặc nội dung rồi chạy lại"
    ),
    "invalid_date": "Ngày không đọc được",
    "nonexistent_date": "Ngày không có trong lịch (như 31/02): ghi lại ngày đúng",
    "date_outside_year": "Ngày nằm ngoài năm báo cáo",
    "missing_value": "Thiếu giá trị bắt buộc",
    "invalid_number": "Số không đọc được",
    "number_too_large": "Số quá lớn, không thể là số liệu thật",
    "not_whole_number": "Số đếm không phải số nguyên",
    "ambiguous_number": "Số đọc được hai cách (dấu chấm, dấu phẩy): ghi lại rõ ràng",
    "excel_error": "Ô báo lỗi của Excel (#REF!, #DIV/0!…)",
    "out_of_range": "Giá trị ngoài khoảng hợp lý",
    "after_change": "Sau ngày sắp xếp: thuộc sổ của đơn vị mới",
    "undated_in_predecessor_book": (
        "Không ghi ngày, trong sổ của đơn vị trước sắp xếp: không biết trước hay sau ngày sắp "
        "xếp (có thể đã ghi trong sổ của đơn vị mới); ghi ngày rồi chạy lại"
    ),
    "undated_alike": (
        "Giống hệt một dòng phía trên và không ghi ngày: không biết là hai lớp hay một dòng "
        "ghi hai lần; ghi ngày của từng lớp rồi chạy lại"
    ),
    "impossible_count": "Số lượng âm hoặc quá lớn",
    "total_row": "Dòng tổng cộng, không phải một thôn: tổng được tính lại từ các thôn",
    "beside_commune_row": (
        "Sổ đã ghi số liệu toàn đơn vị cho chỉ tiêu này: số theo thôn không cộng thêm (số toàn "
        "đơn vị được dùng)"
    ),
    "unknown_value": "Giá trị không có trong danh mục",
    "invalid_month": "Tháng không đọc được",
    "formula_without_value": (
        "Ô chứa công thức nhưng không có giá trị đã lưu (mở tệp bằng Excel rồi lưu lại)"
    ),
}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_YEARS = (1900, 2100)  # dates outside are typing errors, and beyond what pandas can hold
_LAST_SERIAL = (dt.date(_YEARS[1], 12, 31) - dt.date(1899, 12, 30)).days
_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_MONTH = re.compile(r"^\s*(?:tháng\s*)?(\d{1,2})\s*[/.-]\s*(\d{4})\s*$", re.IGNORECASE)
_YES_KEYS = frozenset(match_key(v) for v in contract.YES)
_NO_KEYS = frozenset(match_key(v) for v in contract.NO) - {""}
_PLACE_PREFIX = re.compile(r"^(thon|xom|khu|ap|to dan pho) ")
_NUMBER_WORDS = {
    "mot": "1",
    "hai": "2",
    "ba": "3",
    "bon": "4",
    "tu": "4",
    "nam": "5",
    "sau": "6",
    "bay": "7",
    "tam": "8",
    "chin": "9",
    "muoi": "10",
}


@dataclass(frozen=True)
class CleanResult:
    tables: dict[str, pd.DataFrame]  # sheet key -> clean rows (commune_code, _row, columns)
    fixes: pd.DataFrame
    rejected: pd.DataFrame


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value  # NaN


def _text(value: object) -> str:
    if _missing(value):
        return ""
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _texts(values: pd.Series) -> pd.Series:
    """`_text` of each value, worked out once per distinct value (a million rejected rows hold
    a few hundred); True and False apart, which factorize as 1 and 0."""
    booleans = values.map(type).eq(bool)
    if booleans.any():
        return _texts(values.where(~booleans, "")).where(~booleans, values.astype(str))
    return _by_value(values, _text).fillna("")


def parse_date(value: object) -> pd.Timestamp | None:
    """A date from a cell as people fill it: a date cell, dd/mm/yyyy, ISO, or an Excel serial."""
    if _missing(value):
        return None
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return pd.Timestamp(value).normalize() if _YEARS[0] <= value.year <= _YEARS[1] else None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return EXCEL_EPOCH + pd.Timedelta(days=int(value)) if 1 <= value <= _LAST_SERIAL else None
    text = str(value)
    for pattern, order in ((_DMY, (3, 2, 1)), (_ISO, (1, 2, 3))):
        match = pattern.match(text)
        if match:
            try:
                parsed = dt.date(*(int(match.group(i)) for i in order))
            except ValueError:
                return None
            return parse_date(parsed)
    if text.strip().isdigit():
        return parse_date(int(text))
    return None


def parse_yesno(value: object) -> bool | None:
    """Yes or no as people write it: Có, x, 1, không, 0, ko …; None when it says neither."""
    if _missing(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text == "-":
        return False
    key = match_key(text.removesuffix(".0"))
    if key in _YES_KEYS:
        return True
    if key in _NO_KEYS:
        return False
    return None


def parse_month(value: object) -> int | None:
    """A month: a date cell, 'mm/yyyy', 'tháng 3/2022' or a bare 1-12."""
    if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
        return pd.Timestamp(value).month
    if _missing(value):
        return None
    match = _MONTH.match(str(value))
    if match:
        return int(match.group(1)) if 1 <= int(match.group(1)) <= 12 else None
    text = _text(value).strip()
    return int(text) if text.isdigit() and 1 <= int(text) <= 12 else None


def place_key(name: str) -> str:
    """'Thôn Một', 'thon 1', 'THÔN 1' -> '1'; 'Thôn Bịch Đông' -> 'bich dong'."""
    key, before = match_key(name), None
    while key != before:  # 'thôn Tổ dân phố số 1' (a prefix typed before the name's own) -> 'so 1'
        key, before = _PLACE_PREFIX.sub("", key), key
    return _NUMBER_WORDS.get(key, key)


class _Log:
    """Fixes and rejections, gathered as frames and joined once."""

    def __init__(self) -> None:
        self.fixes: list[pd.DataFrame] = []
        self.rejected: list[pd.DataFrame] = []
        # Headers of the sheet's `personal` columns (a phone): their repairs and rejections are
        # logged where and why, never with the value.
        self.personal: frozenset[str] = frozenset()

    def _hidden(self, column: str | pd.Series, values: pd.Series) -> pd.Series:
        """Logged values: none of a personal column's, and no long number of any other (a phone
        typed one column off, under "Có điện thoại thông minh")."""
        values = _by_value(values, lambda v: hide_long_numbers(v) if isinstance(v, str) else v)
        if isinstance(column, str):
            return values.map(lambda _: "") if column in self.personal else values
        return values.where(~column.isin(self.personal), "")

    @staticmethod
    def _where(table: pd.DataFrame, mask: pd.Series) -> dict[str, pd.Series]:
        return {
            "commune_code": table.loc[mask, "commune_code"],
            "file": table.loc[mask, FILE],
            "sheet": table.loc[mask, SHEET],
            "excel_row": table.loc[mask, ROW],
        }

    def fix(
        self,
        table: pd.DataFrame,
        mask: pd.Series,
        column: str,
        kind: str | pd.Series,
        raw: pd.Series,
        fixed: pd.Series,
    ) -> None:
        if not mask.any():
            return
        self.fixes.append(
            pd.DataFrame(
                {
                    **self._where(table, mask),
                    "column": column,
                    "kind": kind[mask] if isinstance(kind, pd.Series) else kind,
                    "raw": self._hidden(column, _texts(raw[mask])),
                    "fixed": self._hidden(column, _texts(fixed[mask])),
                }
            )
        )

    def reject(
        self,
        table: pd.DataFrame,
        mask: pd.Series,
        column: str | pd.Series,
        values: pd.Series | str,
        reason: str | pd.Series,
        reason_text: pd.Series | None = None,
    ) -> None:
        if not mask.any():
            return
        codes = reason[mask] if isinstance(reason, pd.Series) else reason
        if isinstance(values, pd.Series):
            values = self._hidden(
                column[mask] if isinstance(column, pd.Series) else column, _texts(values[mask])
            )
        self.rejected.append(
            pd.DataFrame(
                {
                    **self._where(table, mask),
                    "column": column[mask] if isinstance(column, pd.Series) else column,
                    "value": values,
                    "reason_code": codes,
                    "reason": reason_text[mask]
                    if reason_text is not None
                    else codes.map(REASONS)
                    if isinstance(codes, pd.Series)
                    else REASONS[codes],
                    "figure": "",
                }
            )
        )

    def name_figures(self, since: int, table: pd.DataFrame) -> None:
        """The result kind of each results row rejected since the `since`-th logged frame."""
        known = table["indicator"].where(table["indicator"].isin(contract.ALL_RESULT_KINDS), "")
        kinds = pd.Series(
            known.fillna("").to_numpy(),
            index=pd.MultiIndex.from_frame(table[["commune_code", FILE, ROW]]),
        )
        kinds = kinds[~kinds.index.duplicated()]
        for frame in self.rejected[since:]:
            where = pd.MultiIndex.from_frame(frame[["commune_code", "file", "excel_row"]])
            frame["figure"] = kinds.reindex(where).fillna("").to_numpy()

    def name_sheet(self, since: int, name: str) -> None:
        """The sheet `name` as the figure of each row rejected since the `since`-th frame."""
        for frame in self.rejected[since:]:
            frame["figure"] = name

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        def join(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
            if not parts:
                return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).astype(
                    {"excel_row": "int64"}
                )
            frame = pd.concat(parts, ignore_index=True)[columns]
            return frame.sort_values(
                ["commune_code", "sheet", "excel_row", "column"], kind="stable"
            ).reset_index(drop=True)

        return join(self.fixes, FIX_COLUMNS), join(self.rejected, REJECT_COLUMNS)


Factorized = tuple[np.ndarray, np.ndarray]  # each row's code (-1: missing), distinct values


def _factorize(series: pd.Series) -> Factorized:
    return pd.factorize(series.astype(object), use_na_sentinel=True)


def _distinct(
    series: pd.Series, function, outputs: int = 1, factorized: Factorized | None = None
) -> tuple[np.ndarray, list]:
    """Each row's code (-1 for a missing cell) and, per output of `function`, an object array of
    its value for each distinct present value, followed by None (what code -1 takes).
    `factorized` is the series' own `_factorize`, where it was done already."""
    codes, uniques = _factorize(series) if factorized is None else factorized
    computed = [function(value) for value in uniques]
    columns = [computed] if outputs == 1 else list(zip(*computed, strict=True)) or [[]] * outputs
    tables = []
    for values in columns:
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:-1] = values
        table[-1] = None  # code -1, a missing cell
        tables.append(table)
    return codes, tables


def _by_value(series: pd.Series, function, outputs: int = 1, factorized: Factorized | None = None):
    """Apply a function once per distinct present value of a column (missing stays None).

    With `outputs` > 1 the function returns that many values, and as many Series come back.
    """
    codes, tables = _distinct(series, function, outputs, factorized)
    out = [pd.Series(table[codes], index=series.index, dtype=object) for table in tables]
    return out[0] if outputs == 1 else out


def _present(series: pd.Series, factorized: Factorized | None = None) -> pd.Series:
    """Cells that hold something: not missing, not only spaces."""
    holds = _by_value(
        series, lambda v: not (isinstance(v, str) and not v.strip()), factorized=factorized
    )
    return holds.notna() & holds.astype(bool)


# Nine digits or more in a text (a phone number typed in a note, a citizen's ID, an account),
# separated or not ("0903 456 789", "+84.903.456.789", "(0220) 3.123.456", "0903 - 456 - 789"):
# they identify a person, and no report needs them (nor a sum of money written in a note).
# Written over before anything is kept, and logged without the text.
_LONG_NUMBER = re.compile(r"(?<!\d)[+(]?\d(?:[\s.\-()]{0,3}\d){8,}(?!\d)")
HIDDEN_NUMBER = "[số đã ẩn]"


def hide_long_numbers(text: str) -> str:
    return _LONG_NUMBER.sub(HIDDEN_NUMBER, text)


def _repaired_and_hidden(value: object, hide: bool) -> tuple[str, str | None, bool]:
    fixed, kind = repair_with_kind(value if isinstance(value, str) else _text(value))
    hidden = hide_long_numbers(fixed) if hide else fixed
    return hidden, kind, hidden != fixed


def _clean_text(
    table: pd.DataFrame,
    column: contract.Column,
    log: _Log,
    factorized: Factorized | None = None,
) -> pd.Series:
    """Text repaired (`vntext.repair`), long numbers hidden except in a `personal` column (a
    phone's own column, never kept)."""
    raw, header = table[column.key], column.header
    fixed, kinds, hid = _by_value(
        raw,
        lambda v: _repaired_and_hidden(v, hide=not column.personal),
        outputs=3,
        factorized=factorized,
    )
    hid = hid.fillna(False).astype(bool)
    blank = pd.Series("", index=raw.index)
    # A repaired cell that held a long number is logged without its text, before or after.
    log.fix(table, kinds.notna(), header, kinds, raw.where(~hid, blank), fixed.where(~hid, ""))
    log.fix(table, hid, header, "long_number_hidden", blank, blank)
    return fixed.where(fixed != "", None)


def _clean_date(
    table: pd.DataFrame,
    column: contract.Column,
    log: _Log,
    reject: pd.Series,
    factorized: Factorized | None = None,
) -> pd.Series:
    raw = table[column.key]
    # Per distinct value: the date, whether it was written as text or a number, and which.
    # (Values that factorize as one, 1 and 1.0, are alike on both counts.)
    codes, (dates, written, kinds) = _distinct(raw, _date_and_kind, 3, factorized)
    parsed = pd.Series(dates[codes], index=raw.index, dtype=object)
    unreadable = raw.notna() & parsed.isna()
    if column.required:
        reason = _by_value(raw.where(unreadable), _unreadable_date_reason)
        _drop(log, table, reject, unreadable, column.header, raw, reason)
    else:
        log.fix(table, unreadable, column.header, "invalid_value_blanked", raw, parsed)
    converted = parsed.notna() & written[codes].astype(bool)  # None (missing) is False
    kind = pd.Series(kinds[codes], index=raw.index, dtype=object)
    log.fix(table, converted, column.header, kind, raw, parsed)
    # Typed once per distinct date, then taken for every row.
    typed = pd.to_datetime(pd.Series(dates, dtype=object)).astype("datetime64[ns]").to_numpy()
    return pd.Series(typed[codes], index=raw.index)


def _unreadable_date_reason(value: object) -> str:
    """'31/02/2025' (or '2025-02-31') is a day the calendar has not; 'hôm qua', '12/05/2202'
    are no date a report can read."""
    dmy = _DMY.match(value) if isinstance(value, str) else None
    iso = _ISO.match(value) if isinstance(value, str) and dmy is None else None
    if dmy:
        day, month, year = (int(g) for g in dmy.groups())
    elif iso:
        year, month, day = (int(g) for g in iso.groups())
    else:
        return "invalid_date"
    if not (_YEARS[0] <= year <= _YEARS[1] and 1 <= month <= 12 and 1 <= day <= 31):
        return "invalid_date"
    try:
        dt.date(year, month, day)
    except ValueError:
        return "nonexistent_date"
    return "invalid_date"


def _date_and_kind(value: object) -> tuple[pd.Timestamp | None, bool, str]:
    """A present cell's date, whether it was converted (text or a number), and how."""
    kind = "date_text" if isinstance(value, str) and not value.strip().isdigit() else "date_serial"
    return parse_date(value), isinstance(value, (str, int, float)), kind


def _clean_number(
    table: pd.DataFrame,
    column: contract.Column,
    log: _Log,
    reject: pd.Series,
    present: pd.Series | None = None,
    factorized: Factorized | None = None,
    year: int | None = None,
) -> pd.Series:
    """Numbers as people write them (`pipeline.core.numbers`): another reading than the plain one is
    logged as a fix; a value that cannot stand (unreadable, not whole, two readings, an Excel
    error, outside the column's range) refuses a required cell's row and blanks an optional
    cell, with its reason either way. Never rounded."""
    raw = table[column.key]
    numbers, hows = _by_value(raw, lambda v: read_number(v, column.kind == "int"), 2, factorized)
    numbers = pd.to_numeric(numbers, errors="coerce").astype("float64")
    hows = hows.fillna("")
    refused = (_present(raw) if present is None else present) & numbers.isna()
    reasons = hows.where(refused, "")
    # A count's range (negative or beyond any commune: schemas.COUNT_LIMITS) is checked here,
    # not only by the schema, so that an optional cell (a village's population typed -5) is
    # blanked, not its row dropped (the village would vanish from the list).
    # A report number is left to the schema, which refuses the commune's row: the run stops
    # with the cell named rather than a report going out without its number.
    bounds = column.bounds(year) if year is not None else column.valid_range
    why = "out_of_range"
    if bounds is None and column.key in COUNT_LIMITS and column.key != "report_number":
        bounds, why = (0, COUNT_LIMITS[column.key]), "impossible_count"
    if bounds is not None:
        low, high = bounds
        outside = numbers.notna() & ~numbers.between(low, high)
        reasons = reasons.mask(outside, why)
        refused = refused | outside
        numbers = numbers.mask(outside)
    numbers = numbers.where(numbers.abs() < 1e15)  # beyond any count, and beyond int64
    reread = ~refused & hows.isin([THOUSANDS, DECIMAL_COMMA, OTHER_DIGITS])
    log.fix(table, reread, column.header, hows, raw, numbers)
    if column.required:
        _drop(log, table, reject, refused, column.header, raw, reasons)
    else:
        blanked = reasons.map(lambda r: "invalid_value_blanked" if r == INVALID else f"{r}_blanked")
        log.fix(table, refused, column.header, blanked, raw, numbers)
    if column.kind == "int":
        return numbers.astype("Int64")
    return numbers.astype("float64")


def _clean_yesno(
    table: pd.DataFrame,
    column: contract.Column,
    log: _Log,
    present: pd.Series | None = None,
    factorized: Factorized | None = None,
) -> pd.Series:
    raw = table[column.key]
    parsed = _by_value(raw, parse_yesno, factorized=factorized)
    written = _present(raw) if present is None else present
    log.fix(table, written & parsed.isna(), column.header, "invalid_value_blanked", raw, parsed)
    variants = written & parsed.notna() & ~raw.isin(["Có", "Không"])
    log.fix(
        table,
        variants,
        column.header,
        "yesno_variant",
        raw,
        parsed.map({True: "Có", False: "Không"}),
    )
    return parsed.astype("boolean")


def _drop(
    log: _Log,
    table: pd.DataFrame,
    reject: pd.Series,
    mask: pd.Series,
    column: str | pd.Series,
    values: pd.Series | str,
    reason: str | pd.Series,
    reason_text: pd.Series | None = None,
) -> None:
    """Reject rows not yet rejected, in place on `reject`, logging why."""
    mask = mask & ~reject
    log.reject(table, mask, column, values, reason, reason_text)
    reject |= mask


_DIGITS = re.compile(r"\d+")


def _closest(value: object, keys: dict[str, str], key, cutoff: float) -> str | None:
    """The choice a written value means: same key, or a key close enough (a small typo) that
    holds the same numbers ('Tổ dân phố số 12' is never 'số 2', nor 'Khu phố 31' 'Khu phố 3')."""
    if not isinstance(value, str):
        return None
    k = key(value)
    if k in keys:
        return keys[k]
    numbers = _DIGITS.findall(k)
    same = [c for c in keys if _DIGITS.findall(c) == numbers]
    close = difflib.get_close_matches(k, same, n=1, cutoff=cutoff)
    return keys[close[0]] if close else None


def _canonical(
    values: pd.Series, choices: list[str], cutoff: float = 0.85, key=match_key
) -> pd.Series:
    """The canonical choice each written value means, or None when none is close enough."""
    keys = {key(c): c for c in choices}
    return _by_value(values, lambda v: _closest(v, keys, key, cutoff))


# "Cấp tổ" as communes write it: their own level (xã, phường, thị trấn, đặc khu) or their
# villages' (thôn, bản, ấp, tổ dân phố…: units.TEAM_VILLAGE_KINDS, which the template offers).
def _level_keys(kinds: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The folded words of a level ('to xa', 'cap thon'…), whole and as a first word."""
    keys = frozenset(f"{p}{match_key(k)}" for k in kinds for p in ("", "to ", "cap "))
    return keys, tuple(f"{k} " for k in keys)


_COMMUNE_LEVEL = _level_keys(COMMUNE_KINDS)
_VILLAGE_LEVEL = _level_keys(TEAM_VILLAGE_KINDS)
# The level words as the template's drop-down offers them ("Phường", "Tổ dân phố", "Buôn"…): a
# commune's own word for its level, read as the level it means, is no repair.
OFFERED_LEVELS = frozenset(k[:1].upper() + k[1:] for k in (*COMMUNE_KINDS, *TEAM_VILLAGE_KINDS))


def _team_level(value: str) -> str | None:
    key = match_key(value)
    for (whole, first), level in ((_COMMUNE_LEVEL, "Xã"), (_VILLAGE_LEVEL, "Thôn")):
        if key in whole or key.startswith(first):  # whole words: "ban chi dao" is no bản
            return level
    return None


_TOTAL = re.compile(
    r"^(?:(?:tong(?: cong| so)?|cong)(?: (?:toan|ca) (?:xa|phuong|thi tran|dac khu|don vi))?"
    r"|(?:toan|ca) (?:xa|phuong|thi tran|dac khu|don vi))$"
)


def _is_total(value: object) -> bool:
    """'Tổng cộng', 'Tổng số', 'Cộng', 'Toàn phường': a total row, not a village."""
    return isinstance(value, str) and bool(_TOTAL.match(match_key(value)))


def _villages_by_commune(table: pd.DataFrame, villages: pd.DataFrame) -> pd.Series:
    """Each row's village as the commune's village list writes it, matched per commune."""
    if villages.empty:
        return pd.Series(None, index=table.index, dtype=object)
    # Per commune, its villages by key (the last written of a key wins, in its first place).
    listed = villages[villages["village"].notna()]
    keys: dict[str, dict[str, str]] = {}
    for code, village, key in zip(
        listed["commune_code"],
        listed["village"],
        _by_value(listed["village"], place_key),
        strict=True,
    ):
        keys.setdefault(code, {})[key] = village
    pairs = table[["commune_code", "village"]].drop_duplicates().dropna()
    pairs = pairs[pairs["commune_code"].isin(list(keys))]
    matched = [
        _closest(village, keys[code], place_key, 0.85)
        for code, village in zip(pairs["commune_code"], pairs["village"], strict=True)
    ]
    lookup = pairs.assign(_matched=matched)
    merged = table[["commune_code", "village"]].merge(
        lookup, how="left", on=["commune_code", "village"]
    )
    return pd.Series(merged["_matched"].to_numpy(), index=table.index, dtype=object)


def _canonicalise(
    sheet: contract.Sheet, table: pd.DataFrame, villages: pd.DataFrame, log: _Log
) -> None:
    """Replace written variants with the contract's words, logging each change."""

    def apply(key: str, canonical: pd.Series, kind: str, offered=frozenset()) -> None:
        hit = canonical.notna() & (canonical != table[key])
        typed = hit & ~table[key].isin(offered)  # a word the template offers is not a repair
        log.fix(table, typed, sheet.column(key).header, kind, table[key], canonical)
        table[key] = table[key].where(~hit, canonical)

    columns = {c.key for c in sheet.columns}
    if "team_level" in columns:
        levels = _by_value(table["team_level"], _team_level)
        apply("team_level", levels, "vocabulary", OFFERED_LEVELS)
    if "village" in columns and sheet.key != "villages":
        # 'Tổng cộng', 'Toàn xã' where a village goes: a figure of the whole commune.
        whole = _by_value(table["village"], _is_total).fillna(False).astype(bool)
        log.fix(
            table,
            whole,
            sheet.column("village").header,
            "commune_wide",
            table["village"],
            pd.Series("", index=table.index),
        )
        table["village"] = table["village"].where(~whole, None)
        matched = _villages_by_commune(table, villages)
        apply("village", matched, "village_match")
        unmatched = table["village"].notna() & matched.isna()
        log.fix(
            table,
            unmatched,
            sheet.column("village").header,
            "village_unmatched",
            table["village"],
            table["village"],
        )
    for key, choices, cutoff in (
        ("service", list(contract.SERVICES), 0.85),
        ("pillar", list(contract.PILLARS), 0.85),
        ("mode", list(contract.TRAINING_MODES), 0.7),
        ("channel", list(contract.CHANNELS), 0.85),
        ("role", list(contract.ROLES), 0.85),
    ):
        if key in columns:
            apply(key, _canonical(table[key], choices, cutoff), "vocabulary")
    if sheet.key == "results":
        apply(
            "indicator",
            _canonical(table["indicator"], list(contract.ALL_RESULT_KINDS)),
            "vocabulary",
        )
    if "pillar" in columns and "service" in columns:
        from_service = table["service"].map(contract.SERVICES)
        fill = ~table["pillar"].isin(contract.PILLARS) & from_service.notna()
        log.fix(
            table,
            fill,
            sheet.column("pillar").header,
            "pillar_from_service",
            table["pillar"],
            from_service,
        )
        table["pillar"] = table["pillar"].where(~fill, from_service)


def _validate(
    sheet: contract.Sheet, table: pd.DataFrame, year: int, log: _Log, reject: pd.Series
) -> None:
    """Reject the rows that the sheet's schema refuses, one reason per row (the first)."""
    columns = [c.key for c in sheet.columns]
    try:
        schema_for(sheet, year).validate(table.loc[~reject, columns], lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.dropna(subset=["index"])
        cases = cases[cases["column"].isin(columns)]
        if cases.empty:
            raise
        reasons = _by_value(  # a reason per check, not per failing row
            cases["check"].astype(str),
            lambda check: (
                "missing_value"
                if "nullable" in check
                else next(
                    (code for name, code in CHECK_REASONS.items() if check.startswith(name)),
                    "unknown_value",
                )
            ),
        )
        first = cases.assign(reason=reasons).drop_duplicates("index")
        rows = first["index"].astype("int64").to_numpy()
        headers = {c.key: c.header for c in sheet.columns}
        # Each failing cell's value, looked up column by column (not cell by cell).
        failing = first["column"].to_numpy()
        values = np.empty(len(rows), dtype=object)
        for column in dict.fromkeys(failing):
            at = failing == column
            values[at] = table[column].loc[rows[at]].to_numpy(dtype=object)
        failed = pd.Series(table.index.isin(rows), index=table.index)
        _drop(
            log,
            table,
            reject,
            failed,
            pd.Series(first["column"].map(headers).to_numpy(), index=rows).reindex(table.index),
            pd.Series(values, index=rows, dtype=object).reindex(table.index),
            pd.Series(first["reason"].to_numpy(), index=rows).reindex(table.index),
        )


# The bound of a figure, by sheet: its key in contract.BOUNDS, row by row.
_BOUNDED = {
    "results": lambda table: (table["indicator"].map(contract.ALL_RESULT_KINDS), "value"),
    "activities": lambda table: (pd.Series("activities.people", index=table.index), "people"),
    "trainings": lambda table: (
        pd.Series("trainings.participants", index=table.index),
        "participants",
    ),
}


def _beyond_bounds(
    sheet: contract.Sheet, table: pd.DataFrame, bases: pd.DataFrame, log: _Log, reject: pd.Series
) -> None:
    """Rows whose figure is above what its commune can hold (`plausibility`): rejected, the
    bound named in the reason."""
    if sheet.key not in _BOUNDED:
        return
    keys, column = _BOUNDED[sheet.key](table)
    standing = table[~reject]
    why = beyond_bounds(keys[~reject], standing[column], standing["commune_code"], bases)
    above = why.reindex(table.index).notna()
    why = why.reindex(table.index)
    if sheet.column(column).required:
        _drop(
            log, table, reject, above, sheet.column(column).header, table[column], BEYOND_BOUND, why
        )
    else:  # an optional count (a class's participants): the cell blanked, as for other ranges
        log.fix(
            table,
            above & ~reject,
            sheet.column(column).header,
            f"{BEYOND_BOUND}_blanked",
            table[column],
            pd.Series("", index=table.index),
        )
        table[column] = table[column].mask(above & ~reject)


def _beside_commune_row(table: pd.DataFrame, reject: pd.Series) -> pd.Series:
    """Village rows of a kind of result that the same book also gives for the whole commune:
    the commune-wide figure wins (it is the commune's own count, the village rows may cover
    only some villages); never both summed. A flow of the year (dossiers, accounts opened) is
    written month by month, so a commune-wide row stands for its own month only: the village
    rows of the other months count. A level (adults with VNeID) is read at its latest month,
    so a commune-wide row of it wins over the book's village rows of every month."""
    flow = table["indicator"].isin(list(contract.RESULT_KINDS))
    frame = table.assign(_month=table["month"].astype("Float64").where(flow, -1.0))
    kept = frame[~reject]
    keys = ["commune_code", FILE, "indicator", "_month"]
    wide = kept.loc[kept["village"].isna(), keys].drop_duplicates()
    if wide.empty:
        return pd.Series(False, index=table.index)
    flagged = frame[keys].merge(wide.assign(_wide=True), how="left", on=keys)["_wide"]
    flagged = pd.Series(flagged.fillna(False).astype(bool).to_numpy(), index=table.index)
    return flagged & table["village"].notna() & ~reject


# Monthly figures of two territories ('Tháng 3, hồ sơ trực tuyến, 12') are alike by chance:
# compared within one book only.
_WITHIN_ONE_BOOK = frozenset({"results"})


def _near_duplicates(
    sheet: contract.Sheet, table: pd.DataFrame, predecessors: frozenset[str]
) -> tuple[pd.Series, pd.Series]:
    """Rows equal to an earlier row once case, marks and spaces are folded: typed twice in one
    book, and a predecessor's row the successor's own book holds too (`predecessors`: their
    files), with that book's name. Two predecessors' books are never compared with each other:
    they are two territories.
    """
    keys = {"commune_code": table["commune_code"]}
    for column in sheet.columns:
        values = table[column.key]
        keys[column.key] = _by_value(values, match_key) if column.kind == "text" else values
    frame = pd.DataFrame(keys)
    in_book = frame.assign(**{FILE: table[FILE]}).duplicated(keep="first")
    from_predecessor = table[FILE].isin(predecessors)
    if sheet.key in _WITHIN_ONE_BOOK or not from_predecessor.any():
        return in_book, pd.Series(None, index=table.index, dtype=object)
    own = frame[~from_predecessor].drop_duplicates()
    # Each commune's own book (a chunk holds several merged communes and their predecessors').
    own_books = table.loc[~from_predecessor].groupby("commune_code")[FILE].first()
    own_file = table["commune_code"].map(own_books)
    also_own = frame.merge(own, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    elsewhere = own_file.where(from_predecessor & also_own, None).astype(object)
    return in_book & elsewhere.isna(), elsewhere


def _read_notes(sheet: contract.Sheet, table: pd.DataFrame, log: _Log, reject: pd.Series) -> None:
    """What reading could not take at face value: a row in another encoding than its file's
    (counted as a fix), a formula with no saved value (its row rejected where the cell is
    required, the cell left empty where it is not)."""
    if DECODED in table:
        decoded = table[DECODED].notna()
        log.fix(
            table,
            decoded,
            "",
            "mixed_encoding_row",
            table[DECODED],
            table[DECODED].map(lambda _: "utf-8"),
        )
    if FORMULAS not in table:
        return
    formulas = table[FORMULAS]
    for column in sheet.columns:
        found = formulas.map(
            lambda cells, key=column.key: cells.get(key) if isinstance(cells, dict) else None
        )
        held = found.notna()
        if column.required:
            _drop(log, table, reject, held, column.header, found, "formula_without_value")
        else:
            log.fix(
                table,
                held & ~reject,
                column.header,
                "formula_without_value_blanked",
                found,
                table[column.key],
            )


def _after_change(sheet: contract.Sheet, table: pd.DataFrame, cutoffs: dict[str, pd.Timestamp]):
    """Rows of a predecessor's workbook dated on or after the day it was merged: those months
    are the successor's own, in its own workbook."""
    cutoff = table[FILE].map(cutoffs)
    if table.empty:  # no workbook of the chunk has the sheet
        return pd.Series(False, index=table.index)
    if sheet.key == "results":
        month = pd.to_numeric(table["month"], errors="coerce")
        return cutoff.notna() & (month >= cutoff.map(lambda d: d.month if pd.notna(d) else 13))
    dated = next((c.key for c in sheet.columns if c.kind == "date"), None)
    if dated is None or sheet.key not in DATED_SHEETS:
        return pd.Series(False, index=table.index)
    return cutoff.notna() & (pd.to_datetime(table[dated]) >= cutoff)


def _undated_in_predecessor_book(
    sheet: contract.Sheet, table: pd.DataFrame, cutoffs: dict[str, pd.Timestamp]
) -> pd.Series:
    """Rows of a predecessor's workbook without their (optional) date: before or after the
    merger cannot be told, so they could be the successor's own rows counted a second time."""
    dated = next((c.key for c in sheet.columns if c.kind == "date" and not c.required), None)
    if dated is None or sheet.key not in DATED_SHEETS or table.empty:
        return pd.Series(False, index=table.index)
    return table[FILE].map(cutoffs).notna() & table[dated].isna()


# The sheets a predecessor's workbook gives its successor: what happened before the change.
# Its team, villages and Zalo groups are the successor's own at the end of the year.
DATED_SHEETS = ("trainings", "activities", "results", "decisions")


_REPORT_SYMBOL = re.compile(r"\s*(\d{1,4})\s*/\s*BC-UBND\s*", re.IGNORECASE)


def _report_number_without_symbol(table: pd.DataFrame, log: _Log) -> None:
    """ "12/BC-UBND", the number as the report prints it, is the number 12 (the report prints
    the symbol itself); another symbol is left to be refused as a number."""
    column = contract.COMMUNE.column("report_number")
    raw = table[column.key]
    found = raw.map(lambda v: _REPORT_SYMBOL.fullmatch(v) if isinstance(v, str) else None)
    number = found.map(lambda m: m.group(1) if m else None)
    log.fix(table, number.notna(), column.header, "report_symbol_removed", raw, number)
    table[column.key] = raw.where(number.isna(), number)


def _report_date_of_its_year(table: pd.DataFrame, year: int, log: _Log) -> None:
    """A report on `year` is dated in that year or the next: another date (the area typed one
    column off and read as an Excel serial, 1900) is blanked, logged, never printed."""
    column = contract.COMMUNE.column("report_date")
    dates = pd.to_datetime(table[column.key])
    wrong = dates.notna() & ~dates.dt.year.between(year, year + 1)
    log.fix(table, wrong, column.header, "report_date_outside_year", dates, dates.where(~wrong))
    table[column.key] = dates.where(~wrong)


def clean_sheet(
    sheet: contract.Sheet,
    raw: pd.DataFrame,
    year: int,
    villages: pd.DataFrame,
    log: _Log,
    cutoffs: dict[str, pd.Timestamp] | None = None,
    bases: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One sheet of many communes: drop blank rows, type and repair, validate, de-duplicate.

    `cutoffs` maps a predecessor's workbook (file name) to the day its successor began;
    `bases` holds each commune's population, adults… that bound its figures (`plausibility`)."""
    table = raw.copy()
    logged_before = len(log.rejected)
    reject = pd.Series(False, index=table.index)
    log.personal = frozenset(c.header for c in sheet.columns if c.personal)
    _read_notes(sheet, table, log, reject)
    # Each column's distinct values as read, and which cells hold something: both are used
    # again when the column is typed.
    distinct = {c.key: _factorize(table[c.key]) for c in sheet.columns}
    present = {c.key: _present(table[c.key], distinct[c.key]) for c in sheet.columns}
    blank = ~pd.concat(list(present.values()), axis=1).any(axis=1)
    _drop(log, table, reject, blank, "", "", contract.BLANK_ROW)
    if sheet.key == "commune":
        _report_number_without_symbol(table, log)
        distinct["report_number"] = _factorize(table["report_number"])
    for column in sheet.columns:
        if column.kind == "text":
            table[column.key] = _clean_text(table, column, log, distinct[column.key])
        elif column.kind == "date":
            table[column.key] = _clean_date(table, column, log, reject, distinct[column.key])
        elif column.kind in ("int", "float"):
            table[column.key] = _clean_number(
                table, column, log, reject, present[column.key], distinct[column.key], year
            )
        elif column.kind == "yesno":
            table[column.key] = _clean_yesno(
                table, column, log, present[column.key], distinct[column.key]
            )
        elif column.kind == "month":
            months = _by_value(table[column.key], parse_month, factorized=distinct[column.key])
            bad = present[column.key] & months.isna()
            _drop(log, table, reject, bad, column.header, table[column.key], "invalid_month")
            table[column.key] = months.astype("Int64")
    if sheet.key == "commune":
        _report_date_of_its_year(table, year, log)
    if cutoffs:
        late = _after_change(sheet, table, cutoffs)
        _drop(log, table, reject, late, "", "", "after_change")
        undated = _undated_in_predecessor_book(sheet, table, cutoffs)
        _drop(log, table, reject, undated, "", "", "undated_in_predecessor_book")
    _canonicalise(sheet, table, villages, log)
    _validate(sheet, table, year, log, reject)
    if sheet.key == "villages":
        totals = _by_value(table["village"], _is_total).fillna(False).astype(bool)
        _drop(
            log,
            table,
            reject,
            totals,
            sheet.column("village").header,
            table["village"],
            "total_row",
        )
    in_book, own_book = _near_duplicates(sheet, table[~reject], frozenset(cutoffs or ()))
    in_book = in_book.reindex(table.index, fill_value=False)
    # Two rows alike without a day may be two classes: not dropped as a copy, but as unknown.
    optional_dates = [c.key for c in sheet.columns if c.kind == "date" and not c.required]
    if optional_dates and sheet.key in DATED_SHEETS:
        undated = in_book & table[optional_dates].isna().all(axis=1)
        _drop(log, table, reject, undated, "", "", "undated_alike")
    _drop(log, table, reject, in_book, "", "", "duplicate_row")
    own_book = own_book.reindex(table.index)
    _drop(log, table, reject, own_book.notna(), "", own_book, "duplicate_in_other_book")
    if sheet.key == "results":
        beside = _beside_commune_row(table, reject)
        _drop(
            log,
            table,
            reject,
            beside,
            sheet.column("village").header,
            table["village"],
            "beside_commune_row",
        )
    if bases is not None:  # on the rows that stand, so that a year's sum counts each once
        _beyond_bounds(sheet, table, bases, log, reject)
    if sheet.key == "results":
        log.name_figures(logged_before, table)
    elif sheet.key in ("trainings", "zalo"):  # indicators.WHOLE_SHEET_FIGURES
        log.name_sheet(logged_before, sheet.name)
    kept = list(
        dict.fromkeys(
            ["commune_code", FILE, ROW, *(c.key for c in sheet.columns if not c.personal)]
        )
    )
    return table.loc[~reject, kept].reset_index(drop=True)


def check_identity(raw: RawWorkbook, commune_code: str) -> None:
    """The workbook's own commune code, where written, must be the commune it is read for."""
    table = raw.tables["commune"]
    sheet = raw.sheet_names["commune"]
    if table.empty:
        raise InputError(
            "the commune information sheet has no row", file=raw.path.name, sheet=sheet, row=2
        )
    written = _text(table["commune_code"].iloc[0]).strip()
    if written and written.zfill(5) != commune_code.zfill(5):
        raise InputError(
            f"commune code {written} does not belong to this workbook's commune ({commune_code})",
            file=raw.path.name,
            sheet=sheet,
            row=int(table[ROW].iloc[0]),
            column=contract.COMMUNE.column("commune_code").header,
        )


def stack(workbooks: list[tuple[RawWorkbook, str]]) -> dict[str, pd.DataFrame]:
    """The raw tables of many communes, one frame per sheet, with where each row came from."""
    stacked: dict[str, pd.DataFrame] = {}
    for sheet in contract.SHEETS:
        found = [(raw, code) for raw, code in workbooks if sheet.key in raw.tables]
        columns = list(dict.fromkeys([*META, *(c.key for c in sheet.columns)]))
        if not found:
            stacked[sheet.key] = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
            continue
        tables = [raw.tables[sheet.key] for raw, _ in found]
        # One concatenation, then the origin columns: per-part inserts cost more than the data.
        frame = pd.concat(tables, ignore_index=True).drop(columns="commune_code", errors="ignore")
        lengths = [len(table) for table in tables]
        origin = {
            "commune_code": [code for _, code in found],
            FILE: [raw.path.name for raw, _ in found],
            SHEET: [raw.sheet_names[sheet.key] for raw, _ in found],
        }
        for position, (name, values) in enumerate(origin.items()):
            frame.insert(position, name, np.repeat(np.array(values, dtype=object), lengths))
        stacked[sheet.key] = frame
    return stacked


def clean_tables(
    stacked: dict[str, pd.DataFrame], year: int, cutoffs: dict[str, pd.Timestamp] | None = None
) -> CleanResult:
    """Every sheet of every commune given, cleaned in one pass (`cutoffs`: see clean_sheet)."""
    log = _Log()
    tables: dict[str, pd.DataFrame] = {}
    bases: pd.DataFrame | None = None  # each commune's size, once its two sheets are clean
    for key in ["commune", "villages"] + [
        s.key for s in contract.SHEETS if s.key not in ("commune", "villages")
    ]:
        sheet = contract.SHEETS_BY_KEY[key]
        villages = tables.get("villages", pd.DataFrame(columns=["commune_code", "village"]))
        if bases is None and key not in ("commune", "villages"):
            bases = commune_bases(tables["villages"], tables["commune"])
        tables[key] = clean_sheet(
            sheet, stacked[key], year, villages, log, cutoffs, bases if key in _BOUNDED else None
        )
    fixes, rejected = log.frames()
    return CleanResult(tables, fixes, rejected)


def clean_workbook(raw: RawWorkbook, commune_code: str, year: int) -> CleanResult:
    """One commune's workbook, cleaned."""
    check_identity(raw, commune_code)
    return clean_tables(stack([(raw, commune_code)]), year)


def quality_summary(stacked: dict[str, pd.DataFrame], result: CleanResult) -> pd.DataFrame:
    """Rows read, kept, fixed and rejected per commune and sheet; a wholly blank row is neither
    (`contract.BLANK_ROW`), so it never makes the data look poorer than it is."""
    rows = []
    for sheet in contract.SHEETS:
        raw = stacked[sheet.key]
        gone = result.rejected[result.rejected["sheet"].isin(raw[SHEET].unique())]
        is_blank = gone["reason_code"] == contract.BLANK_ROW
        blank = gone[is_blank].groupby("commune_code").size()
        read = raw.groupby("commune_code").size().sub(blank, fill_value=0).rename("rows_read")
        kept = result.tables[sheet.key].groupby("commune_code").size().rename("rows_kept")
        mine = result.fixes[result.fixes["sheet"].isin(raw[SHEET].unique())]
        fixed = mine.groupby("commune_code")["excel_row"].nunique().rename("rows_fixed")
        rejected = gone[~is_blank].groupby("commune_code").size().rename("rows_rejected")
        frame = pd.concat([read, kept, fixed, rejected], axis=1).fillna(0).astype("int64")
        frame = frame[frame["rows_read"] > 0]
        rows.append(frame.reset_index(names="commune_code").assign(sheet=sheet.name))
    columns = ["commune_code", "sheet", "rows_read", "rows_kept", "rows_fixed", "rows_rejected"]
    return pd.concat(rows, ignore_index=True)[columns]
