"""What a reviewer needs to trust a group's comparison: the indicator table it reads, how
ranks, medians, scores and outliers are computed (from `compare`'s own constants and the
settings), and which communes are missing and why. Pure functions; `compare` is only called."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.measuring import compare
from pipeline.measuring.indicators import CATALOGUE_BY_CODE
from pipeline.registry.tree import Commune

NO_WORKBOOK = "chưa có sổ theo dõi năm này trong data/raw"
NO_FIGURES = "sổ đã đọc nhưng chưa có chỉ số (chạy lại cnscd run)"


def group_indicator_table(indicators: pd.DataFrame, communes: list[Commune]) -> pd.DataFrame:
    """The comparison's figures as the indicator table holds them: one row per commune of the
    group that has data, one column per figure of the comparison (`compare.all_columns`)."""
    codes = [c.code for c in communes]
    mine = indicators[indicators["commune_code"].isin(codes)]
    wide = mine.pivot(index="commune_code", columns="indicator", values="value")
    wide = wide.reindex(columns=compare.all_columns())
    names = {c.code: c.name for c in communes}
    wide.insert(0, "name", [names[c] for c in wide.index])
    order = [c for c in dict.fromkeys(codes) if c in wide.index]
    return wide.loc[order].reset_index()


def method(settings: dict, sources: dict[str, str]) -> pd.DataFrame:
    """Each step of the comparison, how it is computed, and the constant it uses with its
    source: the comparison's code (`pipeline/measuring/compare.py`), or the settings'
    [comparison] as `sources` says (the package's file or the district's)."""
    given = settings.get("comparison", {})
    outlier_z = given["outlier_z"]
    z_source = f"[comparison] outlier_z: {sources.get('outlier_z', '')}"
    lower = ", ".join(sorted(compare.LOWER_IS_BETTER))
    return pd.DataFrame(
        [
            (
                "Xếp hạng",
                "Chỉ các đơn vị có số liệu; đồng hạng lấy hạng cao nhất (rank, method='min'); "
                f"giảm dần, trừ các chỉ số càng thấp càng tốt ({lower}) xếp tăng dần.",
                "pipeline/measuring/compare.py: LOWER_IS_BETTER",
                lower,
            ),
            (
                "Tổng",
                "Cộng các đơn vị có số liệu, chỉ cho số đếm (không cho tỷ lệ, bình quân).",
                "pipeline/measuring/compare.py: is_additive",
                "đơn vị đo không có % hoặc /",
            ),
            (
                "Trung vị",
                "Trung vị của các đơn vị có giá trị; đơn vị thiếu giá trị không tính là 0.",
                "pipeline/measuring/compare.py: compare",
                "",
            ),
            (
                "Điểm chuẩn hóa (z)",
                "(giá trị − trung vị) / độ lệch chuẩn của nhóm (ddof=0); trống khi mọi đơn vị "
                "bằng nhau.",
                "pipeline/measuring/compare.py: compare",
                "",
            ),
            (
                "Giá trị ngoại lai",
                "Đơn vị có |z| từ ngưỡng trở lên được nêu trong nhận xét.",
                z_source,
                str(outlier_z),
            ),
            (
                "Đầu và cuối bảng",
                "Số đơn vị nêu ở mỗi đầu của một xếp hạng (ít hơn khi nhóm nhỏ).",
                "pipeline/measuring/compare.py: TOP_BOTTOM",
                str(compare.TOP_BOTTOM),
            ),
            (
                "Số liệu kém",
                "Đơn vị có tỷ lệ dòng bị loại từ ngưỡng trở lên (%).",
                "[limitations] max_rows_rejected_share (cùng quy tắc với mục II của báo cáo)",
                str(settings["limitations"]["max_rows_rejected_share"]),
            ),
        ],
        columns=["step", "how", "source", "constant"],
    )


def missing(
    communes: list[Commune], indicators: pd.DataFrame, statuses: dict[str, dict | None]
) -> pd.DataFrame:
    """The communes of the group without figures this year, and why: no workbook, a workbook
    that could not be read (with the run's message), or not yet computed."""
    have = set(indicators["commune_code"])
    rows = []
    for commune in dict.fromkeys(communes):
        if commune.code in have:
            continue
        status = statuses.get(commune.code) or {}
        if status.get("status") == "failed":
            reason = f"sổ đã gửi nhưng không đọc được: {status.get('message', '')}"
        elif status.get("status") == "ok":
            reason = NO_FIGURES
        else:
            reason = NO_WORKBOOK
        rows.append((commune.code, commune.name, reason))
    return pd.DataFrame(rows, columns=["commune_code", "name", "reason"])


@dataclass
class GroupAudit:
    year: int
    name: str
    table: pd.DataFrame  # group_indicator_table
    method: pd.DataFrame
    missing: pd.DataFrame
    medians: dict[str, float | None]
    ranks: pd.DataFrame  # commune × rank of each ranked figure


def build_group_audit(
    year: int,
    name: str,
    communes: list[Commune],
    indicators: pd.DataFrame,
    settings: dict,
    statuses: dict[str, dict | None],
    sources: dict[str, str] | None = None,
) -> GroupAudit:
    """The audit of a group's comparison; `sources` says where each [comparison] setting
    comes from (`evidence.setting_sources(file, "comparison")`)."""
    given = settings.get("comparison", {})
    result = compare.compare(indicators, communes, given["outlier_z"])
    ranked = compare.ranked_columns()
    ranks = result.table.loc[
        result.table["status"] == "ok", ["name"] + [f"rank_{c}" for c in ranked]
    ].rename(columns={f"rank_{c}": c for c in ranked})
    return GroupAudit(
        year=year,
        name=name,
        table=group_indicator_table(indicators, communes),
        method=method(settings, sources or {}),
        missing=missing(communes, indicators, statuses),
        medians={c: result.medians.get(c) for c in ranked},
        ranks=ranks.reset_index(drop=True),
    )


def figure_names(codes: list[str]) -> dict[str, str]:
    return {c: CATALOGUE_BY_CODE[c].name_vi for c in codes if c in CATALOGUE_BY_CODE}
