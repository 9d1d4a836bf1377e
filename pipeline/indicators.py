"""The indicator catalogue, declared as data, computed for every commune of a year in one pass.

Each function takes the year's clean tables (all communes stacked, a `commune_code` column in
each) and returns a Series indexed by commune code. Group-bys, never a loop over communes.
Missing data is not zero: a commune whose input sheet is absent gets no value and a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import contract
from pipeline.vntext import slugify

Tables = dict[str, pd.DataFrame]
INDICATOR_COLUMNS = ["commune_code", "indicator", "value", "missing_reason"]


@dataclass(frozen=True)
class Indicator:
    code: str
    name_vi: str
    name_en: str
    unit: str
    pillar: str  # Tổ chức | Chính quyền số | Kinh tế số | Xã hội số | Chất lượng dữ liệu
    definition: str
    inputs: tuple[str, ...]  # sheets it needs; absent sheet -> missing
    compute: Callable[[Tables, int], pd.Series]
    # A commune with no row to count has zero; a ratio or a total of blank cells is missing.
    zero_when_no_rows: bool = True
    missing_text: str = "thiếu số liệu"


def _count(table: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    rows = table if mask is None else table[mask]
    return rows.groupby("commune_code").size()


def _sum(table: pd.DataFrame, column: str, mask: pd.Series | None = None) -> pd.Series:
    rows = table if mask is None else table[mask]
    return rows.groupby("commune_code")[column].sum(min_count=1).astype("float64")


def _nunique(table: pd.DataFrame, column: str, mask: pd.Series | None = None) -> pd.Series:
    rows = table if mask is None else table[mask]
    return rows.groupby("commune_code")[column].nunique()


def _members(t: Tables, level: str) -> pd.Series:
    return _count(t["members"], t["members"]["team_level"] == level)


def _ratio(numerator: pd.Series, denominator: pd.Series, scale: float = 1.0) -> pd.Series:
    denominator = denominator.replace(0, np.nan)
    return (numerator.reindex(denominator.index).fillna(0) / denominator * scale).dropna()


def _all_members(t: Tables) -> pd.Series:
    return _count(t["members"])


def _population(t: Tables) -> pd.Series:
    return _sum(t["villages"], "population").dropna()


def _village_leaders_aged(t: Tables, year: int) -> pd.Series:
    m = t["members"]
    leaders = (m["team_level"] == "Thôn") & (m["role"] == "Tổ trưởng")
    aged = leaders & ((year - m["birth_year"].astype("Float64")) >= 60).fillna(False)
    return _count(m, aged.astype(bool))


def _people_by(column: str, value: str) -> Callable[[Tables, int], pd.Series]:
    def compute(t: Tables, year: int) -> pd.Series:
        a = t["activities"]
        return _sum(a, "people", a[column] == value)

    return compute


def _result(kind: str) -> Callable[[Tables, int], pd.Series]:
    def compute(t: Tables, year: int) -> pd.Series:
        r = t["results"]
        return _sum(r, "value", r["indicator"] == kind)

    return compute


CATALOGUE: list[Indicator] = [
    Indicator(
        "villages",
        "Số thôn",
        "Villages",
        "thôn",
        "Tổ chức",
        "Số thôn trong danh sách thôn của xã.",
        ("villages",),
        lambda t, y: _count(t["villages"]),
    ),
    Indicator(
        "population",
        "Dân số",
        "Population",
        "người",
        "Tổ chức",
        "Tổng số dân của các thôn.",
        ("villages",),
        lambda t, y: _population(t),
        zero_when_no_rows=False,
        missing_text="thiếu dữ liệu dân số",
    ),
    Indicator(
        "teams_commune",
        "Tổ CNSCĐ cấp xã",
        "Commune-level teams",
        "tổ",
        "Tổ chức",
        "Số tổ cấp xã có ít nhất một thành viên.",
        ("members",),
        lambda t, y: (_members(t, "Xã") > 0).astype(int),
    ),
    Indicator(
        "members_commune",
        "Thành viên tổ cấp xã",
        "Commune-level team members",
        "người",
        "Tổ chức",
        "Số thành viên của tổ cấp xã.",
        ("members",),
        lambda t, y: _members(t, "Xã"),
    ),
    Indicator(
        "teams_village",
        "Tổ CNSCĐ cấp thôn",
        "Village-level teams",
        "tổ",
        "Tổ chức",
        "Số thôn có tổ với ít nhất một thành viên.",
        ("members",),
        lambda t, y: _nunique(t["members"], "village", t["members"]["team_level"] == "Thôn"),
    ),
    Indicator(
        "members_village",
        "Thành viên tổ cấp thôn",
        "Village-level team members",
        "người",
        "Tổ chức",
        "Số thành viên của các tổ cấp thôn.",
        ("members",),
        lambda t, y: _members(t, "Thôn"),
    ),
    Indicator(
        "members_without_smartphone",
        "Thành viên chưa có điện thoại thông minh",
        "Members without a smartphone",
        "người",
        "Tổ chức",
        "Số thành viên ghi 'Không' ở cột điện thoại thông minh.",
        ("members",),
        lambda t, y: _count(
            t["members"], t["members"]["smartphone"].eq(False).fillna(False).astype(bool)
        ),
    ),
    Indicator(
        "village_leaders_aged_60",
        "Tổ trưởng tổ thôn từ 60 tuổi trở lên",
        "Village team leaders aged 60 or more",
        "người",
        "Tổ chức",
        "Số tổ trưởng tổ cấp thôn có tuổi trong năm báo cáo từ 60 trở lên.",
        ("members",),
        _village_leaders_aged,
    ),
    Indicator(
        "trainings",
        "Lớp tập huấn",
        "Trainings",
        "lớp",
        "Tổ chức",
        "Số lớp tập huấn thành viên tổ được tham dự.",
        ("trainings",),
        lambda t, y: _count(t["trainings"]),
    ),
    Indicator(
        "trainings_online",
        "Lớp tập huấn trực tuyến",
        "Online trainings",
        "lớp",
        "Tổ chức",
        "Số lớp tập huấn theo hình thức trực tuyến.",
        ("trainings",),
        lambda t, y: _count(t["trainings"], t["trainings"]["mode"] == "Trực tuyến"),
    ),
    Indicator(
        "trainings_in_person",
        "Lớp tập huấn trực tiếp",
        "In-person trainings",
        "lớp",
        "Tổ chức",
        "Số lớp tập huấn theo hình thức trực tiếp.",
        ("trainings",),
        lambda t, y: _count(t["trainings"], t["trainings"]["mode"] == "Trực tiếp"),
    ),
    Indicator(
        "decisions",
        "Văn bản chỉ đạo",
        "Decisions and documents",
        "văn bản",
        "Tổ chức",
        "Số văn bản chỉ đạo, quyết định liên quan tới tổ.",
        ("decisions",),
        lambda t, y: _count(t["decisions"]),
    ),
    Indicator(
        "sessions",
        "Lượt hướng dẫn",
        "Guidance sessions",
        "lượt",
        "Tổ chức",
        "Số dòng hoạt động được giữ lại trong nhật ký.",
        ("activities",),
        lambda t, y: _count(t["activities"]),
    ),
    Indicator(
        "people_guided",
        "Người dân được hướng dẫn",
        "People guided",
        "lượt người",
        "Tổ chức",
        "Tổng số người được hướng dẫn trong nhật ký hoạt động.",
        ("activities",),
        lambda t, y: _sum(t["activities"], "people"),
    ),
    Indicator(
        "people_guided_per_1000",
        "Người được hướng dẫn trên 1.000 dân",
        "People guided per 1,000 inhabitants",
        "lượt/1.000 dân",
        "Tổ chức",
        "Số người được hướng dẫn chia cho dân số, nhân 1.000.",
        ("activities", "villages"),
        lambda t, y: _ratio(_sum(t["activities"], "people"), _population(t), 1000),
        zero_when_no_rows=False,
        missing_text="thiếu dữ liệu dân số",
    ),
    Indicator(
        "zalo_groups",
        "Nhóm Zalo",
        "Zalo groups",
        "nhóm",
        "Xã hội số",
        "Số nhóm Zalo của các tổ.",
        ("zalo",),
        lambda t, y: _count(t["zalo"]),
    ),
    Indicator(
        "zalo_groups_commune",
        "Nhóm Zalo cấp xã",
        "Commune-level Zalo groups",
        "nhóm",
        "Xã hội số",
        "Số nhóm Zalo của tổ cấp xã.",
        ("zalo",),
        lambda t, y: _count(t["zalo"], t["zalo"]["team_level"] == "Xã"),
    ),
    Indicator(
        "zalo_groups_village",
        "Nhóm Zalo cấp thôn",
        "Village-level Zalo groups",
        "nhóm",
        "Xã hội số",
        "Số nhóm Zalo của các tổ cấp thôn.",
        ("zalo",),
        lambda t, y: _count(t["zalo"], t["zalo"]["team_level"] == "Thôn"),
    ),
    Indicator(
        "zalo_members",
        "Thành viên nhóm Zalo",
        "Zalo group members",
        "người",
        "Xã hội số",
        "Tổng số thành viên các nhóm Zalo.",
        ("zalo",),
        lambda t, y: _sum(t["zalo"], "group_members"),
    ),
]
CATALOGUE += [
    Indicator(
        f"people_{slugify(pillar).replace('-', '_')}",
        f"Người được hướng dẫn về {pillar.lower()}",
        f"People guided: {pillar}",
        "lượt người",
        pillar,
        f"Số người được hướng dẫn thuộc trụ cột {pillar.lower()}.",
        ("activities",),
        _people_by("pillar", pillar),
    )
    for pillar in contract.PILLARS
]


def service_code(service: str) -> str:
    return f"people_service_{slugify(service).replace('-', '_')}"


CATALOGUE += [
    Indicator(
        service_code(service),
        f"Người được hướng dẫn: {service}",
        f"People guided: {service}",
        "lượt người",
        pillar,
        f"Số người được hướng dẫn sử dụng {service}.",
        ("activities",),
        _people_by("service", service),
    )
    for service, pillar in contract.SERVICES.items()
]
CATALOGUE += [
    Indicator(
        code,
        kind,
        code.replace("_", " ").capitalize(),
        "lượt",
        "Kinh tế số"
        if code == "cashless_accounts"
        else "Chính quyền số"
        if code == "online_dossiers"
        else "Xã hội số",
        f"Tổng giá trị '{kind}' trong bảng kết quả.",
        ("results",),
        _result(kind),
    )
    for kind, code in contract.RESULT_KINDS.items()
]
CATALOGUE_BY_CODE = {i.code: i for i in CATALOGUE}


def compute_indicators(tables: Tables, year: int, present: pd.DataFrame) -> pd.DataFrame:
    """The tidy indicator table (commune_code, indicator, value, missing_reason).

    `present` has one row per (commune_code, sheet) that the commune's workbook holds; a commune
    without a sheet gets no value for indicators that need it, and the reason says so.
    """
    communes = pd.Index(sorted(present["commune_code"].unique()), name="commune_code")
    holders = {sheet: set(group) for sheet, group in present.groupby("sheet")["commune_code"]}
    frames = []
    for indicator in CATALOGUE:
        computed = indicator.compute(tables, year)
        values = computed.reindex(communes).astype("float64")
        if indicator.zero_when_no_rows:
            values = values.where(communes.isin(computed.index), 0.0)
        reason = pd.Series(np.where(values.isna(), indicator.missing_text, ""), index=communes)
        for sheet in reversed(indicator.inputs):  # the first absent input names the reason
            lacking = ~communes.isin(list(holders.get(sheet, ())))
            values[lacking] = np.nan
            reason[lacking] = f"thiếu bảng '{contract.SHEETS_BY_KEY[sheet].name}'"
        frames.append(
            pd.DataFrame(
                {
                    "commune_code": communes,
                    "indicator": indicator.code,
                    "value": values.to_numpy(),
                    "missing_reason": reason.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[INDICATOR_COLUMNS]


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as users read it."""
    return pd.DataFrame(
        [
            {
                "code": i.code,
                "name_vi": i.name_vi,
                "name_en": i.name_en,
                "unit": i.unit,
                "pillar": i.pillar,
                "definition": i.definition,
            }
            for i in CATALOGUE
        ]
    )


def values_of(indicators: pd.DataFrame, commune_code: str) -> dict[str, float | None]:
    """One commune's indicator values by code; a missing value is None."""
    rows = indicators[indicators["commune_code"] == commune_code]
    return {
        r.indicator: (None if pd.isna(r.value) else float(r.value))
        for r in rows.itertuples(index=False)
    }
