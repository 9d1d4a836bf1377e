"""The indicator catalogue, declared as data, computed for every commune of a year in one pass.

Each indicator's function takes `Inputs` (the year's clean tables, all communes stacked) and
returns a Series indexed by commune code. Group-bys, never a loop over communes; breakdowns (by
service, channel, month) share one pivot each. Missing data is not zero: a commune whose input
sheet is absent, or whose denominator is unknown, gets no value and a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from pipeline.core import contract
from pipeline.core.vntext import slugify

INDICATOR_COLUMNS = ["commune_code", "indicator", "value", "missing_reason"]
ORGANISATION, QUALITY = "Tổ chức", "Chất lượng dữ liệu"
NO_POPULATION = "thiếu dữ liệu dân số"
NOT_RECORDED = "chưa ghi chỉ tiêu này"
# The third state of a figure, beside recorded and not written: written, but a row of it (or of
# what it is computed from) was rejected, so the figure is not printed (a partial sum would read
# as the whole). Said in every output that gives a missing value's reason.
REJECTED = "có số liệu nhưng bị loại: xem dòng bị loại"
# Not written, though the sheet is there: a count over rows whose input is blank is unknown.
EMPTY_LOG = "nhật ký không có dòng nào"
UNANSWERED_SMARTPHONE = "có thành viên chưa ghi có/không"
UNWRITTEN_BIRTH_YEAR = "có tổ trưởng chưa ghi năm sinh"
VILLAGE_NOT_WRITTEN = "có thành viên tổ cấp thôn chưa ghi thôn"
# Sheets whose every figure a rejected row takes whole (`clean` names the sheet as the row's
# `figure`): a class or a group left out would make the count read as the whole.
WHOLE_SHEET_FIGURES = {contract.TRAININGS.name: "trainings", contract.ZALO.name: "zalo"}
# Rejected rows whose figure is counted all the same: no data, a copy, another book's months,
# a total recomputed from the villages, village rows the commune-wide row stands for.
_NOT_LOST = frozenset(
    {
        contract.BLANK_ROW,
        "duplicate_row",
        "duplicate_in_other_book",
        "after_change",
        "total_row",
        "beside_commune_row",
    }
)
# The headers of the bases (by indicator code) a cell of the Thôn or Thông tin xã sheet gives:
# no other sheet has them, whatever a workbook names its sheets.
_BASE_HEADERS = {
    column.header: column.key
    for sheet in (contract.VILLAGES, contract.COMMUNE)
    for column in sheet.columns
    if column.key in ("population", "households", "adults", "people_15")
}


class Inputs:
    """The year's clean tables and the group-bys that several indicators share."""

    def __init__(self, tables: dict[str, pd.DataFrame], year: int) -> None:
        self.tables, self.year = tables, year
        self._pivots: dict[tuple[str, str, str | None], pd.DataFrame] = {}

    def __getitem__(self, sheet: str) -> pd.DataFrame:
        return self.tables[sheet]

    def pivot(self, sheet: str, column: str, values: str | None = None) -> pd.DataFrame:
        """commune × value of `column`: the sum of `values`, or the row count."""
        key = (sheet, column, values)
        if key not in self._pivots:
            grouped = self.tables[sheet].groupby(["commune_code", column], observed=True)
            table = grouped[values].sum(min_count=1) if values else grouped.size()
            self._pivots[key] = table.unstack(fill_value=0).astype("float64")
        return self._pivots[key]

    def picked(self, sheet: str, column: str, value: object, values: str | None = None):
        pivot = self.pivot(sheet, column, values)
        if value not in pivot.columns:
            return pd.Series(0.0, index=pivot.index)
        return pivot[value]

    @cached_property
    def population(self) -> pd.Series:
        return self.denominator("population")

    @cached_property
    def households(self) -> pd.Series:
        return self.denominator("households")

    def denominator(self, column: str) -> pd.Series:
        """A count of people or households: the villages' sum where every listed village gives
        it, else the commune sheet's total, else none (a village left blank is not zero)."""
        villages = self["villages"]
        summed = pd.Series(dtype="float64")
        if column in villages:
            lacking = villages[column].isna().groupby(villages["commune_code"]).any()
            summed = _sum(villages, column).dropna()
            summed = summed[~lacking.reindex(summed.index, fill_value=True)]
        commune = self.tables.get("commune")
        if commune is None or column not in commune:
            return summed
        total = _sum(commune, column).dropna()
        return summed.combine_first(total).astype("float64")

    @cached_property
    def members(self) -> pd.Series:
        return MEMBERS(self)

    @cached_property
    def people(self) -> pd.Series:
        return PEOPLE_GUIDED(self).fillna(0)

    @cached_property
    def quality(self) -> pd.DataFrame:
        return (
            self["quality"]
            .groupby("commune_code")[["rows_read", "rows_kept", "rows_fixed", "rows_rejected"]]
            .sum()
            .astype("float64")
        )


@dataclass(frozen=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    unit: str
    pillar: str  # Tổ chức | Chính quyền số | Kinh tế số | Xã hội số | Chất lượng dữ liệu
    definition: str
    inputs: tuple[str, ...]  # sheets it needs; a commune without one gets no value
    compute: Callable[[Inputs], pd.Series] = field(repr=False)
    # A count is zero for a commune with no row; a ratio or a total of blank cells is missing.
    is_count: bool = True
    missing_text: str = "thiếu số liệu"
    # A share or rate states what it divides: the codes of its numerator and denominator.
    numerator: str = ""
    denominator: str = ""
    # A level that is not a count (population, people with an account) but adds up over the
    # communes a merged one was made of, as every count does (`pooled_from_parts`).
    level: bool = False
    # The indicator whose missing value is the reason first ('chưa ghi chỉ tiêu này' for a rate
    # of a kind of result not written, before 'thiếu dữ liệu dân số').
    missing_with: str = ""

    @property
    def additive(self) -> bool:
        return self.is_count or self.level


def _count(table: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    rows = table if mask is None else table[mask]
    return rows.groupby("commune_code").size().astype("float64")


def _sum(table: pd.DataFrame, column: str, mask: pd.Series | None = None) -> pd.Series:
    rows = table if mask is None else table[mask]
    return rows.groupby("commune_code")[column].sum(min_count=1).astype("float64")


def _share(part: pd.Series, whole: pd.Series, scale: float = 100.0) -> pd.Series:
    """part / whole × scale where the whole is known and not zero; absent parts count zero."""
    whole = whole[whole > 0]
    return part.reindex(whole.index).fillna(0) / whole * scale


# Columns the catalogue derives from a sheet's own, for the rows it selects: the month of a date.
DERIVED: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "_month": lambda table: table["date"].dt.month,
}


@dataclass(frozen=True)
class Tally:
    """A figure that adds up rows of one sheet: counts them, or sums `sums` over them. The rows
    are those whose `column` equals `value` (every row when no column is named), or where `where`
    holds. Where a row of a commune leaves `blank_in` empty (among the rows `among` picks, by
    default all), its figure is missing (a count that leaves out blank answers would read as
    the whole); rejected, where cleaning blanked that cell (`lost_figures`). The one declaration
    of those rows: the indicator computes from it and the reviewers' evidence lists it
    (`rows`)."""

    sheet: str
    column: str | None = None
    value: object = None
    sums: str | None = None
    where: Callable[[pd.DataFrame, int], pd.Series] | None = None
    blank_in: str | None = None
    among: Callable[[pd.DataFrame], pd.Series] | None = None

    def rows(self, table: pd.DataFrame, year: int) -> pd.Series:
        """Which rows of `table` (this sheet's rows, of any communes) the figure adds up."""
        if self.where is not None:
            return self.where(table, year)
        if self.column is None:
            return pd.Series(True, index=table.index)
        column = table[self.column] if self.column in table else DERIVED[self.column](table)
        return column.eq(self.value).fillna(False).astype(bool)

    def unknown(self, table: pd.DataFrame) -> pd.Series:
        """The rows whose blank `blank_in` cell leaves the figure unknown."""
        blank = table[self.blank_in].isna()
        return blank if self.among is None else blank & self.among(table)

    def __call__(self, i: Inputs) -> pd.Series:
        """Per commune with at least one of the rows: their count, or the sum of `sums`; with
        `blank_in`, per commune with any row of the sheet, missing where one is unknown."""
        table = i[self.sheet]
        if self.column is not None and self.where is None and self.blank_in is None:
            # A breakdown shares one pivot (service, channel, month…) with its siblings.
            found = i.picked(self.sheet, self.column, self.value, self.sums)
            return found[i.picked(self.sheet, self.column, self.value) > 0]
        mask = None if self.column is None and self.where is None else self.rows(table, i.year)
        found = _sum(table, self.sums, mask) if self.sums else _count(table, mask)
        if self.blank_in is None:
            return found
        blank = self.unknown(table).groupby(table["commune_code"]).any()
        found = found.reindex(_count(table).index).fillna(0)
        return found.where(~blank.reindex(found.index, fill_value=False))


# The members counted and the people guided: figures of their own and the bases of many shares.
MEMBERS = Tally("members")
PEOPLE_GUIDED = Tally("activities", sums="people")


def _members_at(level: str) -> Callable[[Inputs], pd.Series]:
    return lambda i: i.picked("members", "team_level", level)


def leaders(members: pd.DataFrame, level: str | None = None) -> pd.Series:
    """Rows of team leaders (of one level, or all)."""
    found = members["role"].eq("Tổ trưởng").fillna(False).astype(bool)
    if level:
        found &= members["team_level"].eq(level).fillna(False).astype(bool)
    return found


def aged_leaders(members: pd.DataFrame, year: int, level: str | None = None) -> pd.Series:
    """Rows of team leaders aged `contract.AGED_FROM` (60) or more in the report year (the report
    names their villages)."""
    age = year - members["birth_year"].astype("Float64")
    return leaders(members, level) & age.ge(contract.AGED_FROM).fillna(False).astype(bool)


def _at_level(members: pd.DataFrame, level: str | None) -> pd.Series:
    if level is None:
        return pd.Series(True, index=members.index)
    return members["team_level"].eq(level).fillna(False).astype(bool)


def without_smartphone(members: pd.DataFrame, level: str | None = None) -> pd.Series:
    """Rows of members who wrote 'Không' for a smartphone (of one level, or all)."""
    found = members["smartphone"].eq(False).fillna(False).astype(bool)
    if level:
        found &= members["team_level"].eq(level).fillna(False).astype(bool)
    return found


def _aged_leaders(i: Inputs, level: str | None) -> tuple[pd.Series, pd.Series]:
    """Aged leaders and leaders whose birth year is written (the share's parts)."""
    m = i["members"]
    dated = leaders(m, level) & m["birth_year"].notna()
    return _count(m, aged_leaders(m, i.year, level)), _count(m, dated)


def village_unknown(members: pd.DataFrame) -> pd.Index:
    """Communes with a village-level team member whose village is not written: which villages
    have a team, and how many teams there are, is unknown there."""
    at_village = members["team_level"].eq("Thôn").fillna(False).astype(bool)
    unknown = members.loc[at_village & members["village"].isna(), "commune_code"]
    return pd.Index(unknown.unique())


def _unless_village_unknown(found: pd.Series, members: pd.DataFrame) -> pd.Series:
    """`found` per commune, with none (not a count's zero) where `village_unknown`."""
    unknown = village_unknown(members)
    found = found.reindex(found.index.union(unknown))
    return found.where(~found.index.isin(unknown))


def villages_without_team(villages: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """(commune_code, village) of the listed villages that no village-level team member names:
    the one rule, counted by the indicator and listed by the report and the comparison. None of
    a commune where a village-level member's village is not written (`village_unknown`)."""
    villages = villages[~villages["commune_code"].isin(village_unknown(members))]
    covered = members.loc[members["team_level"] == "Thôn", ["commune_code", "village"]]
    listed = villages[["commune_code", "village"]].drop_duplicates()
    merged = listed.merge(covered.drop_duplicates(), how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only", ["commune_code", "village"]]


def _villages_without_team(i: Inputs) -> pd.Series:
    listed = _count(i["villages"][["commune_code", "village"]].drop_duplicates())
    uncovered = _count(villages_without_team(i["villages"], i["members"]))
    return _unless_village_unknown(uncovered.reindex(listed.index).fillna(0), i["members"])


def _villages_with_team(i: Inputs) -> pd.Series:
    """Villages of the commune's list named by at least one village-level team member."""
    members = i["members"]
    named = members.loc[members["team_level"] == "Thôn", ["commune_code", "village"]]
    listed = i["villages"][["commune_code", "village"]].drop_duplicates()
    covered = listed.merge(named.drop_duplicates(), on=["commune_code", "village"])
    return _unless_village_unknown(_count(covered), members)


def _teams_village(i: Inputs) -> pd.Series:
    members = i["members"]
    at_village = members[members["team_level"] == "Thôn"]
    found = at_village.groupby("commune_code")["village"].nunique().astype("float64")
    return _unless_village_unknown(found, members)


def _teams_total(i: Inputs) -> pd.Series:
    commune = (_members_at("Xã")(i) > 0).astype("float64")
    total = commune.add(_teams_village(i), fill_value=0)
    return _unless_village_unknown(total, i["members"])


def _trained_share(i: Inputs) -> pd.Series:
    largest = i["trainings"].groupby("commune_code")["participants"].max().astype("float64")
    return _known_ratio(largest, i.members, 100).clip(upper=100)


def _code(prefix: str, name: str) -> str:
    return f"{prefix}_{slugify(name).replace('-', '_')}"


def service_code(service: str) -> str:
    return _code("people_service", service)


def _latest(kind: str) -> Callable[[Inputs], pd.Series]:
    """A level reported month by month: each village's (or the commune-wide row's) latest
    month, summed; communes without a row of the kind have no value (not zero)."""

    def compute(i: Inputs) -> pd.Series:
        rows = i["results"][i["results"]["indicator"] == kind]
        if rows.empty:
            return pd.Series(dtype="float64")
        rows = rows.assign(_place=rows["village"].fillna(""))
        last = rows.groupby(["commune_code", "_place"])["month"].transform("max")
        return _sum(rows[rows["month"] == last], "value")

    return compute


def _known_ratio(top: pd.Series, bottom: pd.Series, scale: float) -> pd.Series:
    """top / bottom × scale where both are known and the bottom is not zero (an absent top is
    missing, not zero: the commune did not report it)."""
    top, bottom = top.dropna(), bottom.dropna()
    bottom = bottom[bottom > 0]
    common = top.index.intersection(bottom.index)
    return top[common] / bottom[common] * scale


def _ratio(numerator: str, denominator: str) -> Callable[[Inputs], pd.Series]:
    """Numerator over denominator, × 100 (`_known_ratio`)."""
    return lambda i: _known_ratio(
        CATALOGUE_BY_CODE[numerator].compute(i), CATALOGUE_BY_CODE[denominator].compute(i), 100
    )


def _without_smartphone(level: str | None) -> Tally:
    """Members (of one level, or all) who wrote 'Không'; none where one of them left it blank."""
    return Tally(
        "members",
        where=lambda m, year: without_smartphone(m, level),
        blank_in="smartphone",
        among=lambda m: _at_level(m, level),
    )


def _recorded(kind: str) -> Tally:
    """A monthly count of the results sheet, only for communes that wrote at least one row of it."""
    return Tally("results", "indicator", kind, "value")


def _per_1000(compute: Callable[[Inputs], pd.Series], base: str) -> Callable[[Inputs], pd.Series]:
    return lambda i: _share(compute(i), getattr(i, base), 1000)


def _per_1000_of_recorded(
    compute: Callable[[Inputs], pd.Series], base: str
) -> Callable[[Inputs], pd.Series]:
    """Per 1,000 of `base`, only where the figure was recorded (a kind with no row has none)."""
    return lambda i: _known_ratio(compute(i), getattr(i, base), 1000)


CATALOGUE: list[Indicator] = [
    # -- organisation -------------------------------------------------------------------------
    Indicator(
        "villages",
        "Số thôn",
        "Villages",
        "thôn",
        ORGANISATION,
        "Số thôn trong danh sách thôn của xã.",
        ("villages",),
        lambda i: _count(i["villages"]),
    ),
    Indicator(
        "population",
        "Dân số",
        "Population",
        "người",
        ORGANISATION,
        "Tổng số dân của các thôn khi mọi thôn đều ghi; nếu không, lấy ở trang 'Thông tin xã'.",
        ("villages",),
        lambda i: i.population,
        is_count=False,
        level=True,
        missing_text=NO_POPULATION,
    ),
    Indicator(
        "households",
        "Số hộ",
        "Households",
        "hộ",
        ORGANISATION,
        "Tổng số hộ của các thôn khi mọi thôn đều ghi; nếu không, lấy ở trang 'Thông tin xã'.",
        ("villages",),
        lambda i: i.households,
        is_count=False,
        level=True,
        missing_text="thiếu dữ liệu số hộ",
    ),
    Indicator(
        "teams_commune",
        "Tổ CNSCĐ cấp xã",
        "Commune-level teams",
        "tổ",
        ORGANISATION,
        "Số tổ cấp xã có ít nhất một thành viên (0 hoặc 1).",
        ("members",),
        lambda i: (_members_at("Xã")(i) > 0).astype("float64"),
    ),
    Indicator(
        "members_commune",
        "Thành viên tổ cấp xã",
        "Commune-level team members",
        "người",
        ORGANISATION,
        "Số thành viên của tổ cấp xã.",
        ("members",),
        Tally("members", "team_level", "Xã"),
    ),
    Indicator(
        "teams_village",
        "Tổ CNSCĐ cấp thôn",
        "Village-level teams",
        "tổ",
        ORGANISATION,
        "Số thôn có tổ với ít nhất một thành viên.",
        ("members",),
        _teams_village,
        missing_text=VILLAGE_NOT_WRITTEN,
    ),
    Indicator(
        "teams_total",
        "Tổng số Tổ CNSCĐ",
        "Teams",
        "tổ",
        ORGANISATION,
        "Số tổ cấp xã cộng số tổ cấp thôn.",
        ("members",),
        _teams_total,
        missing_text=VILLAGE_NOT_WRITTEN,
    ),
    Indicator(
        "members_village",
        "Thành viên tổ cấp thôn",
        "Village-level team members",
        "người",
        ORGANISATION,
        "Số thành viên của các tổ cấp thôn.",
        ("members",),
        Tally("members", "team_level", "Thôn"),
    ),
    Indicator(
        "members_total",
        "Tổng số thành viên",
        "Team members",
        "người",
        ORGANISATION,
        "Số thành viên của tất cả các tổ cấp xã và cấp thôn.",
        ("members",),
        MEMBERS,
    ),
    Indicator(
        "village_team_coverage",
        "Tỷ lệ thôn có Tổ CNSCĐ",
        "Villages covered by a team",
        "%",
        ORGANISATION,
        "Số thôn có tổ chia cho số thôn, nhân 100.",
        ("members", "villages"),
        lambda i: _unless_village_unknown(
            _share(_teams_village(i).fillna(0), _count(i["villages"])), i["members"]
        ).clip(upper=100),
        is_count=False,
        missing_text="chưa có danh sách thôn",
        missing_with="teams_village",
    ),
    Indicator(
        "villages_with_team",
        "Thôn có Tổ CNSCĐ",
        "Villages with a team",
        "thôn",
        ORGANISATION,
        "Số thôn trong danh sách thôn có ít nhất một thành viên tổ cấp thôn.",
        ("members", "villages"),
        _villages_with_team,
        missing_text=VILLAGE_NOT_WRITTEN,
    ),
    Indicator(
        "villages_without_team",
        "Thôn chưa có Tổ CNSCĐ",
        "Villages without a team",
        "thôn",
        ORGANISATION,
        "Số thôn trong danh sách thôn không có thành viên tổ cấp thôn nào.",
        ("members", "villages"),
        _villages_without_team,
        missing_text=VILLAGE_NOT_WRITTEN,
    ),
    Indicator(
        "members_per_1000",
        "Thành viên trên 1.000 dân",
        "Team members per 1,000 inhabitants",
        "người/1.000 dân",
        ORGANISATION,
        "Tổng số thành viên chia cho dân số, nhân 1.000.",
        ("members", "villages"),
        _per_1000(lambda i: i.members, "population"),
        is_count=False,
        missing_text=NO_POPULATION,
    ),
    Indicator(
        "trainings",
        "Lớp tập huấn",
        "Trainings",
        "lớp",
        ORGANISATION,
        "Số lớp tập huấn thành viên tổ được tham dự.",
        ("trainings",),
        Tally("trainings"),
    ),
    Indicator(
        "trainings_online",
        "Lớp tập huấn trực tuyến",
        "Online trainings",
        "lớp",
        ORGANISATION,
        "Số lớp tập huấn theo hình thức trực tuyến.",
        ("trainings",),
        Tally("trainings", "mode", "Trực tuyến"),
    ),
    Indicator(
        "trainings_in_person",
        "Lớp tập huấn trực tiếp",
        "In-person trainings",
        "lớp",
        ORGANISATION,
        "Số lớp tập huấn theo hình thức trực tiếp.",
        ("trainings",),
        Tally("trainings", "mode", "Trực tiếp"),
    ),
    Indicator(
        "trained_share",
        "Tỷ lệ thành viên được tập huấn",
        "Members trained",
        "%",
        ORGANISATION,
        "Số người tham gia lớp tập huấn đông nhất chia cho tổng số thành viên, nhân 100 "
        "(tối đa 100): ít nhất chừng ấy thành viên đã được tập huấn.",
        ("trainings", "members"),
        _trained_share,
        is_count=False,
        missing_text="thiếu số người tham gia tập huấn",
    ),
    Indicator(
        "smartphone_share",
        "Tỷ lệ thành viên có điện thoại thông minh",
        "Members with a smartphone",
        "%",
        ORGANISATION,
        "Số thành viên ghi 'Có' chia cho số thành viên có trả lời, nhân 100.",
        ("members",),
        lambda i: _share(
            _count(i["members"], i["members"]["smartphone"].eq(True).fillna(False).astype(bool)),
            _count(i["members"], i["members"]["smartphone"].notna()),
        ),
        is_count=False,
        missing_text="không thành viên nào ghi có/không",
    ),
    Indicator(
        "members_without_smartphone",
        "Thành viên chưa có điện thoại thông minh",
        "Members without a smartphone",
        "người",
        ORGANISATION,
        "Số thành viên ghi 'Không' ở cột điện thoại thông minh; không có giá trị khi có thành "
        "viên chưa ghi có/không.",
        ("members",),
        _without_smartphone(None),
        missing_text=UNANSWERED_SMARTPHONE,
    ),
    *(
        Indicator(
            f"members_without_smartphone_{suffix}",
            f"Thành viên tổ cấp {word} chưa có điện thoại thông minh",
            f"{word_en}-level members without a smartphone",
            "người",
            ORGANISATION,
            f"Số thành viên tổ cấp {word} ghi 'Không' ở cột điện thoại thông minh; không có giá "
            f"trị khi có thành viên tổ cấp {word} chưa ghi có/không.",
            ("members",),
            _without_smartphone(level),
            missing_text=UNANSWERED_SMARTPHONE,
        )
        for suffix, level, word, word_en in (
            ("commune", "Xã", "xã", "Commune"),
            ("village", "Thôn", "thôn", "Village"),
        )
    ),
    Indicator(
        "leaders_aged_60_share",
        f"Tỷ lệ tổ trưởng từ {contract.AGED_FROM} tuổi",
        f"Team leaders aged {contract.AGED_FROM} or more",
        "%",
        ORGANISATION,
        f"Số tổ trưởng (cấp xã và thôn) có tuổi trong năm báo cáo từ {contract.AGED_FROM} trở "
        "lên chia cho số tổ trưởng có ghi năm sinh, nhân 100.",
        ("members",),
        lambda i: _share(*_aged_leaders(i, None)),
        is_count=False,
        missing_text="không có tổ trưởng ghi năm sinh trong danh sách",
    ),
    Indicator(
        "village_leaders_aged_60",
        f"Tổ trưởng tổ thôn từ {contract.AGED_FROM} tuổi trở lên",
        f"Village team leaders aged {contract.AGED_FROM} or more",
        "người",
        ORGANISATION,
        f"Số tổ trưởng tổ cấp thôn có tuổi trong năm báo cáo từ {contract.AGED_FROM} trở lên; "
        "không có giá trị khi có tổ trưởng tổ cấp thôn chưa ghi năm sinh.",
        ("members",),
        Tally(
            "members",
            where=lambda m, year: aged_leaders(m, year, "Thôn"),
            blank_in="birth_year",
            among=lambda m: leaders(m, "Thôn"),
        ),
        missing_text=UNWRITTEN_BIRTH_YEAR,
    ),
    Indicator(
        "decisions",
        "Văn bản chỉ đạo",
        "Decisions and documents",
        "văn bản",
        ORGANISATION,
        "Số văn bản chỉ đạo, quyết định liên quan tới tổ.",
        ("decisions",),
        Tally("decisions"),
    ),
    # -- activity -----------------------------------------------------------------------------
    Indicator(
        "sessions",
        "Lượt hướng dẫn",
        "Guidance sessions",
        "lượt",
        ORGANISATION,
        "Số dòng hoạt động được giữ lại trong nhật ký.",
        ("activities",),
        Tally("activities"),
    ),
    Indicator(
        "people_guided",
        "Người dân được hướng dẫn",
        "People guided",
        "lượt người",
        ORGANISATION,
        "Tổng số người được hướng dẫn trong nhật ký hoạt động.",
        ("activities",),
        PEOPLE_GUIDED,
    ),
    Indicator(
        "log_first_month",
        "Tháng đầu tiên có hoạt động trong nhật ký",
        "First month of the activity log",
        "tháng",
        ORGANISATION,
        "Tháng sớm nhất của các dòng nhật ký hoạt động được giữ lại.",
        ("activities",),
        lambda i: i["activities"].groupby("commune_code")["_month"].min().astype("float64"),
        is_count=False,
        missing_text=EMPTY_LOG,
    ),
    Indicator(
        "log_last_month",
        "Tháng cuối cùng có hoạt động trong nhật ký",
        "Last month of the activity log",
        "tháng",
        ORGANISATION,
        "Tháng muộn nhất của các dòng nhật ký hoạt động được giữ lại.",
        ("activities",),
        lambda i: i["activities"].groupby("commune_code")["_month"].max().astype("float64"),
        is_count=False,
        missing_text=EMPTY_LOG,
    ),
    Indicator(
        "log_months",
        "Số tháng nhật ký bao quát",
        "Months the activity log covers",
        "tháng",
        ORGANISATION,
        "Số tháng từ tháng đầu tiên đến tháng cuối cùng có hoạt động (12: cả năm); số liệu "
        "theo tháng và các tỷ lệ theo năm chỉ tính trong các tháng này.",
        ("activities",),
        lambda i: (
            i["activities"].groupby("commune_code")["_month"].agg(lambda m: m.max() - m.min() + 1)
        ).astype("float64"),
        is_count=False,
        missing_text=EMPTY_LOG,
    ),
    Indicator(
        "people_guided_per_member",
        "Người được hướng dẫn trên một thành viên",
        "People guided per member",
        "lượt người/thành viên",
        ORGANISATION,
        "Số người được hướng dẫn chia cho tổng số thành viên.",
        ("activities", "members"),
        lambda i: _share(i.people, i.members, 1),
        is_count=False,
        missing_text="chưa có thành viên",
    ),
    Indicator(
        "people_guided_per_1000",
        "Người được hướng dẫn trên 1.000 dân",
        "People guided per 1,000 inhabitants",
        "lượt/1.000 dân",
        ORGANISATION,
        "Số người được hướng dẫn chia cho dân số, nhân 1.000.",
        ("activities", "villages"),
        _per_1000(lambda i: i.people, "population"),
        is_count=False,
        missing_text=NO_POPULATION,
    ),
]
CATALOGUE += [
    Indicator(
        _code("people", pillar),
        f"Người được hướng dẫn về {pillar.lower()}",
        f"People guided: {pillar}",
        "lượt người",
        pillar,
        f"Số người được hướng dẫn thuộc trụ cột {pillar.lower()}.",
        ("activities",),
        Tally("activities", "pillar", pillar, "people"),
    )
    for pillar in contract.PILLARS
]
CATALOGUE += [
    Indicator(
        _code("share_people", pillar),
        f"Tỷ trọng người được hướng dẫn về {pillar.lower()}",
        f"Share of people guided: {pillar}",
        "%",
        pillar,
        f"Số người được hướng dẫn thuộc trụ cột {pillar.lower()} chia cho tổng số người "
        "được hướng dẫn, nhân 100.",
        ("activities",),
        lambda i, pillar=pillar: _share(
            Tally("activities", "pillar", pillar, "people")(i), i.people
        ),
        is_count=False,
        missing_text="không có hoạt động hướng dẫn",
    )
    for pillar in contract.PILLARS
]
CATALOGUE += [
    Indicator(
        service_code(service),
        f"Người được hướng dẫn: {service}",
        f"People guided: {service}",
        "lượt người",
        pillar,
        f"Số người được hướng dẫn sử dụng {service}.",
        ("activities",),
        Tally("activities", "service", service, "people"),
    )
    for service, pillar in contract.SERVICES.items()
]
CATALOGUE += [
    Indicator(
        _code("people_channel", channel),
        f"Người được hướng dẫn qua kênh: {channel}",
        f"People guided through: {channel}",
        "lượt người",
        ORGANISATION,
        f"Số người được hướng dẫn theo hình thức '{channel}'.",
        ("activities",),
        Tally("activities", "channel", channel, "people"),
    )
    for channel in contract.CHANNELS
]
MONTHLY = {f"people_month_{month:02d}": month for month in range(1, 13)}
CATALOGUE += [
    Indicator(
        f"people_month_{month:02d}",
        f"Người được hướng dẫn tháng {month}",
        f"People guided in month {month}",
        "lượt người",
        ORGANISATION,
        f"Số người được hướng dẫn trong tháng {month} của năm báo cáo; không có giá trị cho "
        "tháng ngoài các tháng nhật ký bao quát.",
        ("activities",),
        Tally("activities", "_month", month, "people"),
    )
    for month in range(1, 13)
]
OUTSIDE_LOG = "nhật ký không có tháng này"


def logged_months(values: dict[str, float | None]) -> range:
    """The months a commune's activity log covers, from its first to its last (every month of
    the year when it has no row): a month outside them has no figure, not a zero."""
    first = int(values.get("log_first_month") or 1)
    last = int(values.get("log_last_month") or 12)
    return range(first, last + 1)


_RESULT_PILLARS = {
    "new_internet": "Xã hội số",
    "upgrades_4g": "Xã hội số",
    "cashless_accounts": "Kinh tế số",
    "online_dossiers": "Chính quyền số",
}
_RESULT_UNITS = {  # what is counted, as the report's sentences name it
    "new_internet": "thuê bao",
    "upgrades_4g": "thuê bao",
    "cashless_accounts": "tài khoản",
    "online_dossiers": "hồ sơ",
}
for _kind, _code_name in contract.RESULT_KINDS.items():
    if _code_name not in _RESULT_PILLARS:
        continue
    _base = "households" if _code_name == "new_internet" else "population"
    _unit = _RESULT_UNITS[_code_name]
    CATALOGUE += [
        Indicator(
            _code_name,
            _kind,
            _code_name.replace("_", " ").capitalize(),
            _unit,
            _RESULT_PILLARS[_code_name],
            f"Tổng giá trị '{_kind}' trong bảng kết quả; không có giá trị khi không có dòng nào "
            "(đơn vị không theo dõi chỉ tiêu này, không phải bằng 0).",
            ("results",),
            _recorded(_kind),
            is_count=False,
            missing_text=NOT_RECORDED,
            level=True,
        ),
        Indicator(
            f"{_code_name}_per_1000",
            f"{_kind} trên 1.000 {'hộ' if _base == 'households' else 'dân'}",
            f"{_code_name.replace('_', ' ').capitalize()} per 1,000 {_base}",
            f"{_unit}/1.000 {'hộ' if _base == 'households' else 'dân'}",
            _RESULT_PILLARS[_code_name],
            f"Tổng giá trị '{_kind}' chia cho {'số hộ' if _base == 'households' else 'dân số'}"
            ", nhân 1.000.",
            ("results", "villages"),
            _per_1000_of_recorded(_recorded(_kind), _base),
            is_count=False,
            missing_text="thiếu dữ liệu số hộ" if _base == "households" else NO_POPULATION,
            missing_with=_code_name,
        ),
    ]
_KIND_OF = {code: kind for kind, code in contract.ALL_RESULT_KINDS.items()}
CATALOGUE += [
    # -- the national frame: Đề án 06 and the 2023 targets -----------------------------------
    Indicator(
        "vneid_activated",
        _KIND_OF["vneid_activated"],
        "VNeID level-2 accounts activated",
        "tài khoản",
        "Chính quyền số",
        f"Tổng giá trị '{_KIND_OF['vneid_activated']}' trong bảng kết quả; không có giá trị "
        "khi không có dòng nào.",
        ("results",),
        _recorded(_KIND_OF["vneid_activated"]),
        is_count=False,
        missing_text=NOT_RECORDED,
        level=True,
    ),
    Indicator(
        "all_dossiers",
        _KIND_OF["all_dossiers"],
        "Administrative dossiers received",
        "hồ sơ",
        "Chính quyền số",
        f"Tổng giá trị '{_KIND_OF['all_dossiers']}' trong bảng kết quả (mẫu số của tỷ lệ hồ sơ "
        "trực tuyến); không có giá trị khi không có dòng nào.",
        ("results",),
        _recorded(_KIND_OF["all_dossiers"]),
        is_count=False,
        level=True,
        missing_text="chưa ghi tổng số hồ sơ",
    ),
    *(
        Indicator(
            code,
            name,
            name_en,
            unit,
            ORGANISATION,
            f"Tổng '{header}' của các thôn; khi thôn không ghi, lấy ở trang 'Thông tin xã'.",
            ("villages",),
            lambda i, code=code: i.denominator(code),
            is_count=False,
            level=True,
            missing_text=f"thiếu '{header}'",
        )
        for code, name, name_en, unit, header in (
            ("adults", "Số người trưởng thành", "Adults", "người", "Số người trưởng thành"),
            ("people_15", "Số người từ 15 tuổi", "People aged 15+", "người", "Số người từ 15 tuổi"),
        )
    ),
    *(
        Indicator(
            code,
            _KIND_OF[code],
            name_en,
            unit,
            pillar,
            f"Giá trị '{_KIND_OF[code]}' của tháng cuối cùng có số liệu, cộng các thôn.",
            ("results",),
            _latest(_KIND_OF[code]),
            is_count=False,
            level=True,
            missing_text=NOT_RECORDED,
        )
        for code, name_en, unit, pillar in (
            ("adults_with_vneid", "Adults with a level-2 e-ID", "người", "Chính quyền số"),
            ("people_15_with_account", "People 15+ with a payment account", "người", "Kinh tế số"),
            ("fibre_households", "Households with fibre", "hộ", "Xã hội số"),
        )
    ),
]
CATALOGUE_NAMES = {i.code: i.name_vi for i in CATALOGUE}
CATALOGUE += [
    *(
        Indicator(
            code,
            name,
            name_en,
            "%",
            pillar,
            f"{CATALOGUE_NAMES[numerator]} chia cho "
            f"{CATALOGUE_NAMES[denominator].lower()}, nhân 100.",
            inputs,
            _ratio(numerator, denominator),
            is_count=False,
            missing_text=missing,
            numerator=numerator,
            denominator=denominator,
        )
        for code, name, name_en, pillar, numerator, denominator, inputs, missing in (
            (
                "vneid_share",
                "Tỷ lệ người trưởng thành có tài khoản định danh điện tử mức 2",
                "Adults with a level-2 e-ID account",
                "Chính quyền số",
                "adults_with_vneid",
                "adults",
                ("results", "villages"),
                "thiếu số tài khoản hoặc số người trưởng thành",
            ),
            (
                "payment_account_share",
                "Tỷ lệ người từ 15 tuổi có tài khoản thanh toán",
                "People 15+ with a payment account",
                "Kinh tế số",
                "people_15_with_account",
                "people_15",
                ("results", "villages"),
                "thiếu số tài khoản hoặc số người từ 15 tuổi",
            ),
            (
                "fibre_share",
                "Tỷ lệ hộ gia đình có Internet cáp quang",
                "Households with fibre",
                "Xã hội số",
                "fibre_households",
                "households",
                ("results", "villages"),
                "thiếu số hộ có cáp quang hoặc số hộ",
            ),
            (
                "online_dossier_share",
                "Tỷ lệ hồ sơ dịch vụ công trực tuyến",
                "Online share of administrative dossiers",
                "Chính quyền số",
                "online_dossiers",
                "all_dossiers",
                ("results",),
                "chưa ghi tổng số hồ sơ",
            ),
        )
    ),
]
CATALOGUE += [
    # -- communication ------------------------------------------------------------------------
    Indicator(
        "zalo_groups",
        "Nhóm Zalo",
        "Zalo groups",
        "nhóm",
        "Xã hội số",
        "Số nhóm Zalo của các tổ.",
        ("zalo",),
        Tally("zalo"),
    ),
    Indicator(
        "zalo_groups_commune",
        "Nhóm Zalo cấp xã",
        "Commune-level Zalo groups",
        "nhóm",
        "Xã hội số",
        "Số nhóm Zalo của tổ cấp xã.",
        ("zalo",),
        Tally("zalo", "team_level", "Xã"),
    ),
    Indicator(
        "zalo_groups_village",
        "Nhóm Zalo cấp thôn",
        "Village-level Zalo groups",
        "nhóm",
        "Xã hội số",
        "Số nhóm Zalo của các tổ cấp thôn.",
        ("zalo",),
        Tally("zalo", "team_level", "Thôn"),
    ),
    Indicator(
        "zalo_members",
        "Thành viên nhóm Zalo",
        "Zalo group members",
        "người",
        "Xã hội số",
        "Tổng số thành viên các nhóm Zalo; không có giá trị khi có nhóm chưa ghi số thành viên.",
        ("zalo",),
        Tally("zalo", sums="group_members", blank_in="group_members"),
        missing_text="có nhóm chưa ghi số thành viên",
    ),
    # -- data quality -------------------------------------------------------------------------
    Indicator(
        "rows_read",
        "Số dòng đã đọc",
        "Rows read",
        "dòng",
        QUALITY,
        "Số dòng dữ liệu đọc được từ tất cả các trang tính.",
        (),
        lambda i: i.quality["rows_read"],
    ),
    *(
        Indicator(
            f"{rows}_share",
            f"Tỷ lệ dòng {name}",
            f"Rows {name_en}",
            "%",
            QUALITY,
            f"Số dòng {counted} chia cho số dòng đã đọc, nhân 100.",
            (),
            lambda i, rows=rows: _share(i.quality[rows], i.quality["rows_read"]),
            is_count=False,
            missing_text="không có dòng nào",
        )
        for rows, name, name_en, counted in (
            ("rows_kept", "được giữ", "kept", "được giữ"),
            ("rows_fixed", "đã sửa", "fixed", "có ít nhất một giá trị được sửa"),
            ("rows_rejected", "bị loại", "rejected", "bị loại"),
        )
    ),
    Indicator(
        "log_rows_rejected",
        "Dòng nhật ký hoạt động bị loại",
        "Activity log rows rejected",
        "dòng",
        QUALITY,
        "Số dòng nhật ký hoạt động bị loại vì không hợp lệ (không kể dòng trống, dòng trùng): "
        "số lượt hướng dẫn và số người được hướng dẫn không gồm các dòng này.",
        (),
        lambda i: (
            _count(i["rejected"], _log_rows_lost(i["rejected"]))
            if "rejected" in i.tables
            else pd.Series(dtype="float64")
        ),
    ),
]
CATALOGUE_BY_CODE = {i.code: i for i in CATALOGUE}
CONTRACT_RESULT_CODES = frozenset(contract.ALL_RESULT_KINDS.values())


def lost_figures(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """(commune_code, indicator) of the figures a rejection took rows from: a result kind with a
    rejected row (its `figure`), every figure of a sheet a rejected row takes whole
    (`WHOLE_SHEET_FIGURES`), a base (population, adults…) with a village's or the commune's
    cell blanked as implausible or unreadable."""
    found = [pd.DataFrame(columns=["commune_code", "indicator"])]
    rejected = tables.get("rejected")
    if rejected is not None and "figure" in rejected:
        lost = rejected[rejected["figure"].ne("") & ~rejected["reason_code"].isin(_NOT_LOST)]
        for name, sheet in WHOLE_SHEET_FIGURES.items():
            communes = lost.loc[lost["figure"] == name, "commune_code"].unique()
            found += [
                pd.DataFrame({"commune_code": communes, "indicator": i.code})
                for i in CATALOGUE
                if sheet in i.inputs
            ]
        lost = lost[lost["figure"].isin(contract.ALL_RESULT_KINDS)]
        found.append(
            pd.DataFrame(
                {
                    "commune_code": lost["commune_code"],
                    "indicator": lost["figure"].map(contract.ALL_RESULT_KINDS),
                }
            )
        )
    fixes = tables.get("fixes")
    if fixes is not None and not fixes.empty:
        at = fixes["column"]
        blanked = fixes["kind"].astype(str).str.endswith("_blanked")
        base = blanked & at.isin(_BASE_HEADERS)
        found.append(
            pd.DataFrame(
                {
                    "commune_code": fixes.loc[base, "commune_code"],
                    "indicator": at[base].map(_BASE_HEADERS),
                }
            )
        )
        found += _blanked_answers(tables, fixes[blanked])
    return pd.concat(found, ignore_index=True).drop_duplicates().reset_index(drop=True)


def _blanked_answers(tables: dict[str, pd.DataFrame], blanked: pd.DataFrame) -> list[pd.DataFrame]:
    """(commune_code, indicator) of the figures a blank answer leaves unknown (`Tally.blank_in`)
    where that answer was written and blanked by cleaning (unreadable, out of bounds): the
    figure was written, so it reads as rejected, not as unwritten."""
    found = []
    for indicator in CATALOGUE:
        tally = indicator.compute
        if not isinstance(tally, Tally) or tally.blank_in is None or tally.sheet not in tables:
            continue
        sheet = contract.SHEETS_BY_KEY[tally.sheet]
        cells = blanked[
            (blanked["sheet"] == sheet.name)
            & (blanked["column"] == sheet.column(tally.blank_in).header)
        ]
        if cells.empty:
            continue
        table = tables[tally.sheet]
        unknown = table.loc[tally.unknown(table), ["commune_code", "_file", "_row"]]
        written = cells.rename(columns={"file": "_file", "excel_row": "_row"})
        hit = unknown.merge(written[["commune_code", "_file", "_row"]].drop_duplicates())
        codes = hit["commune_code"].unique()
        found.append(pd.DataFrame({"commune_code": codes, "indicator": indicator.code}))
    return found


def _log_rows_lost(rejected: pd.DataFrame) -> pd.Series:
    """The rejected rows of the activity log whose people are not counted (not a blank row, a
    copy, another book's months…)."""
    on_log = rejected["sheet"].eq(contract.ACTIVITIES.name)
    return on_log & ~rejected["reason_code"].isin(_NOT_LOST)


# Figures a rejected row takes whole, not only where they are missing.
_LOST_WHOLE = CONTRACT_RESULT_CODES | {
    i.code for i in CATALOGUE if set(i.inputs) & set(WHOLE_SHEET_FIGURES.values())
}


def _empty_log(tables: dict[str, pd.DataFrame], communes: pd.Index) -> pd.Series:
    """Per commune, why its activity log has no row kept: `REJECTED` where rows were read (all
    rejected), `EMPTY_LOG` where none was written; "" where it has a row. A sheet with no row is
    a log not kept, not a year without guidance: its figures are missing, not zero."""
    kept = communes.isin(tables["activities"]["commune_code"].unique())
    quality = tables.get("quality")
    read = pd.Series(0.0, index=communes)
    if quality is not None and not quality.empty:
        log = quality[quality["sheet"] == contract.ACTIVITIES.name]
        read = log.groupby("commune_code")["rows_read"].sum().reindex(communes).fillna(0)
    why = np.where(read.to_numpy() > 0, REJECTED, EMPTY_LOG)
    return pd.Series(np.where(kept, "", why), index=communes)


def _depends_on(indicator: Indicator) -> set[str]:
    """The indicators whose loss makes this one's value lost too."""
    bases = {NO_POPULATION: "population", "thiếu dữ liệu số hộ": "households"}
    found = {indicator.numerator, indicator.denominator, indicator.missing_with}
    found.add(bases.get(indicator.missing_text, ""))
    return found - {"", indicator.code}


def compute_indicators(
    tables: dict[str, pd.DataFrame], year: int, present: pd.DataFrame
) -> pd.DataFrame:
    """The tidy indicator table (commune_code, indicator, value, missing_reason).

    `present` has one row per (commune_code, sheet) that the commune's workbook holds; a commune
    without a sheet gets no value for indicators that need it, and the reason says so.
    """
    activities = tables["activities"]
    tables = {**tables, "activities": activities.assign(_month=DERIVED["_month"](activities))}
    inputs = Inputs(tables, year)
    communes = pd.Index(sorted(present["commune_code"].unique()), name="commune_code")
    holders = {sheet: set(group) for sheet, group in present.groupby("sheet")["commune_code"]}
    # The bookkeeping below is on NumPy arrays, one per indicator over the communes: pandas'
    # indexing costs about 0.3 ms a call, which over the catalogue was most of a commune's
    # recomputation in its notebook.
    lacking = {
        sheet: ~communes.isin(list(holders.get(sheet, ())))
        for sheet in {s for indicator in CATALOGUE for s in indicator.inputs}
    }
    lost_rows = lost_figures(tables)
    lost_of = {code: set(rows) for code, rows in lost_rows.groupby("indicator")["commune_code"]}
    log = _empty_log(tables, communes).to_numpy()  # aligned on `communes`, as every array here
    log_rejected, log_unwritten = log == REJECTED, log == EMPTY_LOG
    # A month before the log's first or after its last has no figure, not a zero (a log that
    # stops in September says nothing of October).
    span = tables["activities"].groupby("commune_code")["_month"].agg(["min", "max"])
    span = span.reindex(communes)
    first, last = span["min"].to_numpy(dtype="float64"), span["max"].to_numpy(dtype="float64")
    columns: list[tuple[np.ndarray, np.ndarray]] = []  # values and reasons, per indicator
    reasons: dict[str, np.ndarray] = {}
    lost: dict[str, np.ndarray] = {}
    for indicator in CATALOGUE:
        computed = indicator.compute(inputs)
        values = computed.reindex(communes).astype("float64").to_numpy(copy=True)
        if indicator.is_count:
            values = np.where(communes.isin(computed.index), values, 0.0)
        reason = np.where(np.isnan(values), indicator.missing_text, "").astype(object)
        if indicator.missing_with:
            earlier = reasons[indicator.missing_with]
            reason = np.where(~np.isnan(values) | (earlier == ""), reason, earlier)
        if indicator.code in MONTHLY:
            month = MONTHLY[indicator.code]
            outside = (month < first) | (month > last)  # False where the log has no row
            values[outside] = np.nan
            reason[outside] = OUTSIDE_LOG
        # A result kind with a rejected row is lost whole; a base only where it is missing (the
        # commune's own total may stand for a village's blanked cell); and all that uses them.
        gone = communes.isin(list(lost_of.get(indicator.code, ())))
        if indicator.code not in _LOST_WHOLE:
            gone &= np.isnan(values)
        for code in _depends_on(indicator):
            if code in lost:
                gone |= lost[code]
        if "activities" in indicator.inputs:
            gone |= log_rejected
            values[log_unwritten] = np.nan
            reason[log_unwritten] = EMPTY_LOG
        lost[indicator.code] = gone
        values[gone] = np.nan
        reason[gone] = REJECTED
        reasons[indicator.code] = reason
        for sheet in reversed(indicator.inputs):  # the first absent input names the reason
            values[lacking[sheet]] = np.nan
            reason[lacking[sheet]] = f"thiếu bảng '{contract.SHEETS_BY_KEY[sheet].name}'"
        columns.append((values, reason))
    # One frame of all the indicators (communes within each), not one per indicator.
    return pd.DataFrame(
        {
            "commune_code": communes.take(np.tile(np.arange(len(communes)), len(CATALOGUE))),
            "indicator": pd.Index([i.code for i in CATALOGUE]).repeat(len(communes)),
            "value": np.concatenate([values for values, _ in columns]),
            "missing_reason": np.concatenate([reason for _, reason in columns]),
        }
    )[INDICATOR_COLUMNS]


def with_previous(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    same_commune: set[str],
    pooled: pd.DataFrame | None = None,
    notes: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Add the previous year's value and the change, for communes that are the same territory.

    `same_commune` holds the codes that name the same commune in both years' trees: a code
    reused for other territory after a reform is not compared with its own past. A commune
    formed by a merger is compared with `pooled`: its predecessors' previous year taken
    together (`pooled_from_parts`: counts summed, shares and rates recomputed from the summed
    parts, never averaged); `notes` says so, per commune, in words.
    """
    out = current.copy()
    keys = pd.MultiIndex.from_frame(out[["commune_code", "indicator"]])
    out["previous_value"] = np.nan
    if previous is not None:
        before = previous.set_index(["commune_code", "indicator"])["value"]
        values = before.reindex(keys).to_numpy()
        out["previous_value"] = np.where(out["commune_code"].isin(same_commune), values, np.nan)
    if pooled is not None and not pooled.empty:
        merged = pooled.set_index(["commune_code", "indicator"])["value"].reindex(keys).to_numpy()
        is_merged = out["commune_code"].isin(set(pooled["commune_code"]))
        out["previous_value"] = np.where(is_merged, merged, out["previous_value"])
    out["change"] = out["value"] - out["previous_value"]
    notes = notes or {}
    out["previous_note"] = [notes.get(code, "") for code in out["commune_code"]]
    return out


def pooled_from_parts(
    pooled: pd.DataFrame, parts: pd.DataFrame, groups: dict[str, list[str]]
) -> pd.DataFrame:
    """Last year's indicators of merged communes (`pooled`, computed from their predecessors'
    rows taken together) with what adds up taken from the predecessors' own values (`parts`;
    `groups`: successor → predecessor codes): a count or a level is the sum of the parts, a
    share with a declared numerator and denominator their summed ratio, any other rate the
    pooled rows'; none of them where a part has no value.

    Rows pooled under one code cannot say that each predecessor had its own commune-level team,
    or its own latest month of a level; the parts' own indicators can.
    """
    link = pd.DataFrame(
        [(successor, part) for successor, codes in groups.items() for part in codes],
        columns=["successor", "commune_code"],
    )
    grouped = parts.merge(link, on="commune_code").groupby(["successor", "indicator"])["value"]
    complete = (grouped.count() == grouped.size()).unstack("indicator")
    summed = grouped.sum().unstack("indicator").where(complete)
    replaced = summed[[i.code for i in CATALOGUE if i.additive and i.code in summed]].copy()
    for indicator in CATALOGUE:
        parts_known = {indicator.numerator, indicator.denominator} <= set(summed.columns)
        if indicator.numerator and not indicator.additive and parts_known:
            bottom = summed[indicator.denominator]
            replaced[indicator.code] = summed[indicator.numerator] / bottom.where(bottom > 0) * 100
    by_key = replaced.reset_index().melt(id_vars="successor", var_name="indicator")
    by_key = by_key.set_index(["successor", "indicator"])["value"]
    out = pooled.copy()
    keys = pd.MultiIndex.from_frame(out[["commune_code", "indicator"]])
    out["value"] = np.where(
        out["indicator"].isin(replaced.columns), by_key.reindex(keys).to_numpy(), out["value"]
    )
    # A rate of the pooled rows where a part has no value would be a part's figure over the
    # whole's base (or the whole's over a part's): none, as a partial sum is none.
    whole = complete.reset_index().melt(id_vars="successor", var_name="indicator")
    whole = whole.set_index(["successor", "indicator"])["value"].reindex(keys).eq(True)
    out["value"] = out["value"].where(whole.to_numpy())
    return out


def bound_text(code: str) -> str:
    """How large a row of the figure may be in its commune (`contract.BOUNDS`), in words."""
    bound = contract.BOUNDS.get(code)
    if bound is None:
        return ""
    what = "Tổng cả năm" if code in contract.RESULT_KINDS.values() else "Mỗi dòng"
    return f"{what} không lớn hơn {bound.times}{bound.words} của đơn vị; lớn hơn thì bị loại."


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as users read it, each figure's plausible bound in its definition."""
    return pd.DataFrame(
        [
            {
                "code": i.code,
                "name_vi": i.name_vi,
                "name_en": i.name_en,
                "unit": i.unit,
                "pillar": i.pillar,
                "definition": " ".join(filter(None, (i.definition, bound_text(i.code)))),
                "numerator": i.numerator,
                "denominator": i.denominator,
                "bound": bound_text(i.code),
            }
            for i in CATALOGUE
        ]
    )


def values_by_commune(indicators: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Every commune's indicator values by code (`values_of` for all communes, in one pass)."""
    found: dict[str, dict[str, float | None]] = {}
    for commune, code, value in zip(
        indicators["commune_code"], indicators["indicator"], indicators["value"], strict=True
    ):
        found.setdefault(commune, {})[code] = None if pd.isna(value) else float(value)
    return found


# The figures a rejection can take whole, by their own rows or cells (the others only through
# them): what a reader is told was lost.
OWN_ROW_FIGURES = (
    "trainings",
    "people_guided",  # where every row of the log was rejected
    "zalo_groups",
    "population",
    "households",
    "adults",
    "people_15",
    *contract.ALL_RESULT_KINDS.values(),
    # An answer written and blanked by cleaning (`Tally.blank_in`); the levels' own counts are
    # lost through their total's cells.
    "members_without_smartphone",
    "village_leaders_aged_60",
    "zalo_members",
)


# A figure lost with its whole sheet is named through the sheet's count, not on its own.
_LOST_WITH = {"zalo_members": "zalo_groups"}


def named_losses(rejected: Iterable[str]) -> list[str]:
    """Of the codes of a commune's rejected figures, those a reader is told were lost (the
    `OWN_ROW_FIGURES`, in their order, none a lost sheet's count already names)."""
    lost = set(rejected)
    return [c for c in OWN_ROW_FIGURES if c in lost and _LOST_WITH.get(c) not in lost]


def rejected_by_commune(indicators: pd.DataFrame) -> dict[str, list[str]]:
    """Per commune, the names of its figures written but rejected (`REJECTED`, `named_losses`),
    in the catalogue's order; a commune that lost none is absent."""
    lost = indicators[indicators["missing_reason"].eq(REJECTED)]
    order = {code: n for n, code in enumerate(c.code for c in CATALOGUE)}
    found: dict[str, list[str]] = {}
    for commune, group in lost.groupby("commune_code"):
        if codes := sorted(named_losses(group["indicator"]), key=order.__getitem__):
            found[commune] = [CATALOGUE_BY_CODE[code].name_vi for code in codes]
    return found


def values_of(indicators: pd.DataFrame, commune_code: str) -> dict[str, float | None]:
    """One commune's indicator values by code; a missing value is None."""
    mine = indicators[indicators["commune_code"] == commune_code]
    return values_by_commune(mine).get(commune_code, {})
