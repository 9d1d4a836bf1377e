"""Figures of today's communes (issue 26): real-size figures kept, plausibility bounded by the
commune's own size, every lost figure said as lost, and the numbers review found wrong."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.core import contract
from pipeline.measuring.indicators import REJECTED, compute_indicators, values_of
from pipeline.reading.clean import FILE, SHEET, CleanResult, clean_tables, clean_workbook
from pipeline.reading.ingest import ROW, read_workbook
from pipeline.reading.template import write_template
from pipeline.registry.tree import communes_of_year

YEAR = 2025
VNEID = "Người trưởng thành có tài khoản định danh điện tử mức 2"
ONLINE = "Hồ sơ dịch vụ công trực tuyến"
ALL_DOSSIERS = "Hồ sơ thủ tục hành chính tiếp nhận"


def _raw(
    sheet_key: str, rows: list[dict], file: str = "a.xlsx", code: str = "26734"
) -> pd.DataFrame:
    """One sheet as `stack` gives it: where each row came from, then the contract's columns."""
    sheet = contract.SHEETS_BY_KEY[sheet_key]
    return pd.DataFrame(
        {
            "commune_code": [r.get("commune_code", code) for r in rows],
            FILE: [r.get(FILE, file) for r in rows],
            SHEET: sheet.name,
            ROW: [r.get(ROW, n) for n, r in enumerate(rows, start=2)],
            **{c.key: [r.get(c.key) for r in rows] for c in sheet.columns},
        },
        dtype=object,
    ).astype({ROW: "int64"})


def _clean(**sheets: pd.DataFrame | list[dict]) -> CleanResult:
    stacked = {}
    for sheet in contract.SHEETS:
        given = sheets.get(sheet.key, [])
        stacked[sheet.key] = given if isinstance(given, pd.DataFrame) else _raw(sheet.key, given)
    return clean_tables(stacked, YEAR)


def _indicators(result: CleanResult) -> pd.DataFrame:
    tables = {**result.tables, "rejected": result.rejected, "fixes": result.fixes}
    present = pd.DataFrame(
        [
            (code, key)
            for key, table in result.tables.items()
            for code in table["commune_code"].unique()
        ]
        + [("26734", key) for key in ("results", "activities", "villages", "members")],
        columns=["commune_code", "sheet"],
    ).drop_duplicates()
    quality = pd.DataFrame(
        {"commune_code": ["26734"], "rows_read": [1], "rows_kept": [1], "rows_fixed": [0]}
    ).assign(rows_rejected=0, sheet="x")
    return compute_indicators({**tables, "quality": quality}, YEAR, present)


def _merged_phuong(adults: int = 32_000) -> dict[str, list[dict]]:
    """A merged phường of 60,000 people in 30 tổ dân phố, with its year's real figures."""
    villages = [
        {
            "village": f"Tổ dân phố số {n}",
            "population": 2_000,
            "households": 500,
            "adults": adults // 30 + (adults % 30 if n == 1 else 0),
        }
        for n in range(1, 31)
    ]
    results = [
        {"month": 12, "indicator": VNEID, "value": 28_000},
        *(
            {"month": m, "indicator": ONLINE, "value": 1_000 + (1_000 if m == 12 else 0)}
            for m in range(1, 13)
        ),
        *({"month": m, "indicator": ALL_DOSSIERS, "value": 2_000} for m in range(1, 13)),
    ]
    activities = [
        {
            "date": f"15/{m:02d}/{YEAR}",
            "team_level": "Phường",
            "pillar": "Chính quyền số",
            "service": "Cổng dịch vụ công",
            "people": 2_500 if m == 5 else 40,
        }
        for m in range(1, 13)
    ]
    return {"villages": villages, "results": results, "activities": activities}


# -- item 1: plausibility is the commune's own size, not a fixed cap ---------------------------


def test_real_size_figures_of_a_merged_phuong_are_kept_exactly() -> None:
    """Failed before: values above 10,000 and a session above 2,000 were 'impossible_count'."""
    result = _clean(**_merged_phuong())
    assert result.rejected[result.rejected["reason_code"] != "blank_row"].empty
    v = values_of(_indicators(result), "26734")
    assert v["adults_with_vneid"] == 28_000 and v["adults"] == 32_000
    assert v["vneid_share"] == 87.5
    assert v["online_dossiers"] == 13_000 and v["all_dossiers"] == 24_000
    assert math.isclose(v["online_dossier_share"], 13_000 / 24_000 * 100)
    assert v["population"] == 60_000
    assert v["people_guided"] == 2_500 + 11 * 40


def test_a_level_above_its_own_base_is_rejected_with_the_bound_named() -> None:
    sheets = _merged_phuong(adults=24_000)  # 28,000 adults with VNeID of 24,000 adults
    result = _clean(**sheets)
    gone = result.rejected[result.rejected["reason_code"] == "impossible_count"]
    assert len(gone) == 1
    assert gone["value"].iloc[0] == "28000"
    assert "24.000" in gone["reason"].iloc[0] and "người trưởng thành" in gone["reason"].iloc[0]
    assert gone["figure"].iloc[0] == VNEID


def test_a_session_larger_than_the_commune_is_rejected_with_its_population_named() -> None:
    sheets = _merged_phuong()
    sheets["activities"][3]["people"] = 61_000
    result = _clean(**sheets)
    gone = result.rejected[result.rejected["reason_code"] == "impossible_count"]
    assert gone["excel_row"].tolist() == [5]
    assert "60.000" in gone["reason"].iloc[0]


# -- item 2: written but rejected is neither recorded nor not written ---------------------------


def test_a_figure_typed_negative_reads_as_rejected_never_as_not_written() -> None:
    sheets = _merged_phuong()
    sheets["results"][0]["value"] = -5  # the VNeID level
    sheets["results"][1]["value"] = -5  # one month of the online dossiers: the year's sum is lost
    indicators = _indicators(_clean(**sheets)).set_index("indicator")
    for code in ("adults_with_vneid", "vneid_share", "online_dossiers", "online_dossier_share"):
        assert pd.isna(indicators.loc[code, "value"]), code
        assert indicators.loc[code, "missing_reason"] == REJECTED, code
    assert indicators.loc["upgrades_4g", "missing_reason"] == "chưa ghi chỉ tiêu này"
    assert indicators.loc["all_dossiers", "value"] == 24_000


# -- item 3: the template's own words are never a repair ---------------------------------------


def _a_phuong():
    return next(c for c in communes_of_year(YEAR) if c.name.startswith("Phường "))


def test_a_clean_phuong_workbook_in_the_template_s_own_words_logs_no_repair(tmp_path) -> None:
    """Failed before: Phường→Xã and Tổ dân phố→Thôn were logged as vocabulary repairs."""
    phuong = _a_phuong()
    villages = ["Tổ dân phố số 1", "Tổ dân phố số 2", "Khu phố 3"]
    path = write_template(tmp_path / "book.xlsx", phuong, villages, YEAR)
    book = load_workbook(path)
    identity = book[contract.COMMUNE.name]
    headers = [c.value for c in identity[1]]
    identity.cell(2, headers.index("Người ký") + 1, "Nguyễn Văn A")
    kinds = ["Tổ dân phố", "Tổ dân phố", "Khu phố"]
    sheet = book[contract.VILLAGES.name]
    for row, (village, kind) in enumerate(zip(villages, kinds, strict=True), start=2):
        sheet.cell(row, 1, village)
        sheet.cell(row, 2, 500)
        sheet.cell(row, 3, 2_000)
        sheet.cell(row, 4, kind)
    members = book[contract.MEMBERS.name]
    for level, village, name, role in (
        (phuong.kind, None, "Trần Thị B", "Tổ trưởng"),
        ("Tổ dân phố", villages[0], "Lê Văn C", "Tổ trưởng"),
        ("Khu phố", villages[2], "Phạm Văn D", "Thành viên"),
    ):
        members.append([level, village, name, role, 1980, "UBND", None, "Có"])
    log = book[contract.ACTIVITIES.name]
    for day, level, village in ((3, phuong.kind, None), (4, "Tổ dân phố", villages[1])):
        log.append(
            [
                dt.datetime(YEAR, 3, day),
                level,
                village,
                "Lê Văn C",
                "Hướng dẫn",
                "Chính quyền số",
                "Cổng dịch vụ công",
                "Trực tiếp",
                12,
                None,
            ]
        )
    book.save(path)
    result = clean_workbook(read_workbook(path), phuong.code, YEAR)
    assert set(result.tables["members"]["team_level"]) == {"Xã", "Thôn"}
    assert result.fixes.empty, result.fixes[["sheet", "column", "kind", "raw"]].to_string()


# -- item 5: the wrong or lost numbers ----------------------------------------------------------


def test_a_total_row_of_the_village_sheet_is_no_village_and_is_not_summed() -> None:
    """Failed before: 'Tổng cộng' was a third village and the population doubled."""
    villages = [
        {"village": "Thôn 1", "population": 1_000, "households": 250},
        {"village": "Thôn 2", "population": 2_000, "households": 500},
        {"village": "Tổng cộng", "population": 3_000, "households": 750},
    ]
    result = _clean(villages=villages)
    assert result.tables["villages"]["village"].tolist() == ["Thôn 1", "Thôn 2"]
    logged = result.rejected[result.rejected["reason_code"] == "total_row"]
    assert logged["excel_row"].tolist() == [4]
    v = values_of(_indicators(result), "26734")
    assert (v["villages"], v["population"], v["households"]) == (2, 3_000, 750)


TWO_VILLAGES = [
    {"village": "Thôn 1", "population": 1_000},
    {"village": "Thôn 2", "population": 900},
]


def test_a_commune_wide_row_and_village_rows_of_one_kind_are_never_summed() -> None:
    """Failed before: 300 for the commune and 100 + 200 for its villages made 600."""
    results = [
        {"month": 3, "village": "Thôn 1", "indicator": ONLINE, "value": 100},
        {"month": 3, "village": "Thôn 2", "indicator": ONLINE, "value": 200},
        {"month": 3, "indicator": ONLINE, "value": 300},
        {"month": 4, "village": "Thôn 1", "indicator": ALL_DOSSIERS, "value": 50},
        {"month": 4, "village": "Thôn 2", "indicator": ALL_DOSSIERS, "value": 70},
    ]
    result = _clean(villages=TWO_VILLAGES, results=results)
    logged = result.rejected[result.rejected["reason_code"] == "beside_commune_row"]
    assert logged["excel_row"].tolist() == [2, 3]
    v = values_of(_indicators(result), "26734")
    assert v["online_dossiers"] == 300 and v["all_dossiers"] == 120


def test_a_commune_wide_row_of_one_month_leaves_the_village_rows_of_other_months() -> None:
    """A review found a commune-wide January of online dossiers (10) dropping every village row
    of February and March (400) as 'beside a commune row': 10 printed instead of 410. A flow
    is written month by month; a level (adults with VNeID) is still read at its latest month,
    where the commune-wide row wins over the villages' rows."""
    results = [{"month": 1, "indicator": ONLINE, "value": 10}] + [
        {"month": month, "village": village, "indicator": ONLINE, "value": 100}
        for month in (2, 3)
        for village in ("Thôn 1", "Thôn 2")
    ]
    result = _clean(villages=TWO_VILLAGES, results=results)
    assert not (result.rejected["reason_code"] == "beside_commune_row").any()
    assert values_of(_indicators(result), "26734")["online_dossiers"] == 410
    assert ONLINE in contract.RESULT_KINDS  # a flow
    level = next(iter(contract.STOCK_RESULT_KINDS))
    stock = [
        {"month": 6, "village": "Thôn 1", "indicator": level, "value": 300},
        {"month": 6, "village": "Thôn 2", "indicator": level, "value": 200},
        {"month": 9, "indicator": level, "value": 700},
    ]
    result = _clean(villages=TWO_VILLAGES, results=stock)
    logged = result.rejected[result.rejected["reason_code"] == "beside_commune_row"]
    assert len(logged) == 2


def test_a_village_without_population_leaves_the_rate_missing_not_smaller() -> None:
    """Failed before: the village without population counted as zero people."""
    villages = [{"village": "Thôn 1", "population": 1_000}, {"village": "Thôn 2"}]
    activities = [
        {
            "date": f"02/03/{YEAR}",
            "team_level": "Xã",
            "pillar": "Chính quyền số",
            "service": "Cổng dịch vụ công",
            "people": 50,
        }
    ]
    indicators = _indicators(_clean(villages=villages, activities=activities))
    row = indicators.set_index("indicator").loc["people_guided_per_1000"]
    assert pd.isna(row["value"]) and row["missing_reason"] == "thiếu dữ liệu dân số"
    assert pd.isna(values_of(indicators, "26734")["population"])


def test_a_commune_s_own_population_is_used_where_a_village_s_is_missing() -> None:
    villages = [{"village": "Thôn 1", "population": 1_000}, {"village": "Thôn 2"}]
    commune = [
        {"commune_code": "26734", "commune_name": "Phường X", "signer": "A", "population": 4_000}
    ]
    activities = [
        {
            "date": f"02/03/{YEAR}",
            "team_level": "Xã",
            "pillar": "Chính quyền số",
            "service": "Cổng dịch vụ công",
            "people": 50,
        }
    ]
    v = values_of(
        _indicators(_clean(villages=villages, commune=commune, activities=activities)), "26734"
    )
    assert v["population"] == 4_000 and v["people_guided_per_1000"] == 12.5


@pytest.mark.parametrize(
    ("written", "listed"),
    [("Tổ dân phố số 12", "Tổ dân phố số 2"), ("Khu phố 31", "Khu phố 3"), ("Thôn 21", "Thôn 2")],
)
def test_numbers_in_village_names_are_never_matched_to_other_numbers(written, listed) -> None:
    """Failed before: 'Tổ dân phố số 12' was taken for 'Tổ dân phố số 2'."""
    villages = [{"village": listed, "population": 1_000}, {"village": "Thôn Đông", "population": 9}]
    activities = [
        {
            "date": f"02/03/{YEAR}",
            "team_level": "Thôn",
            "village": written,
            "pillar": "Chính quyền số",
            "service": "Cổng dịch vụ công",
            "people": 5,
        },
        {
            "date": f"03/03/{YEAR}",
            "team_level": "Thôn",
            "village": "Thon Dong",
            "pillar": "Chính quyền số",
            "service": "Cổng dịch vụ công",
            "people": 5,
        },
    ]
    result = _clean(villages=villages, activities=activities)
    assert result.tables["activities"]["village"].tolist() == [written, "Thôn Đông"]


def test_a_duplicate_in_another_book_names_its_own_commune_s_book() -> None:
    """Failed before: with two merged communes in one chunk, the first commune's book was named
    for the second's duplicates."""
    row = {
        "date": f"02/03/{YEAR}",
        "team_level": "Xã",
        "pillar": "Chính quyền số",
        "service": "Cổng dịch vụ công",
        "people": 5,
    }
    activities = pd.concat(
        [
            _raw("activities", [row], "x.xlsx", "00001"),
            _raw("activities", [{**row, "people": 6}], "px.xlsx", "00001"),
            _raw("activities", [{**row, "people": 7}], "y.xlsx", "00002"),
            _raw("activities", [{**row, "people": 7}], "py.xlsx", "00002"),
        ],
        ignore_index=True,
    )
    stacked = {s.key: _raw(s.key, []) for s in contract.SHEETS}
    stacked["activities"] = activities
    stacked["results"] = pd.concat(
        [
            _raw("results", [{"month": 1, "indicator": ONLINE, "value": n}], book, code)
            for n, (book, code) in enumerate(
                (
                    ("x.xlsx", "00001"),
                    ("px.xlsx", "00001"),
                    ("y.xlsx", "00002"),
                    ("py.xlsx", "00002"),
                )
            )
        ],
        ignore_index=True,
    )
    late = pd.Timestamp(f"{YEAR}-12-31")
    result = clean_tables(stacked, YEAR, {"px.xlsx": late, "py.xlsx": late})
    logged = result.rejected[result.rejected["reason_code"] == "duplicate_in_other_book"]
    assert list(zip(logged["file"], logged["value"], strict=True)) == [("py.xlsx", "y.xlsx")]


def test_a_village_population_typed_negative_makes_the_population_rejected() -> None:
    villages = [{"village": "Thôn 1", "population": 1_000}, {"village": "Thôn 2", "population": -5}]
    activities = [
        {
            "date": f"02/03/{YEAR}",
            "team_level": "Xã",
            "pillar": "Chính quyền số",
            "service": "Cổng dịch vụ công",
            "people": 50,
        }
    ]
    indicators = _indicators(_clean(villages=villages, activities=activities)).set_index(
        "indicator"
    )
    for code in ("population", "people_guided_per_1000", "members_per_1000"):
        assert indicators.loc[code, "missing_reason"] == REJECTED, code


def test_every_bound_is_declared_with_the_catalogue() -> None:
    from pipeline.measuring.indicators import CATALOGUE_BY_CODE, catalogue_frame

    frame = catalogue_frame().set_index("code")
    for code in contract.BOUNDS:
        if "." not in code:  # a result kind's figure
            assert code in CATALOGUE_BY_CODE
            assert frame.loc[code, "bound"] in frame.loc[code, "definition"]
    assert "3 lần dân số" in frame.loc["online_dossiers", "bound"]


def test_a_flow_s_year_is_bounded_by_its_multiple_of_the_population() -> None:
    """Online dossiers: at most 3 × the population in a year. Twelve months of 20,000 in a
    phường of 60,000 (240,000 a year) each stand alone, not together."""
    sheets = _merged_phuong()
    sheets["results"] = [{"month": m, "indicator": ONLINE, "value": 20_000} for m in range(1, 13)]
    result = _clean(**sheets)
    gone = result.rejected[result.rejected["reason_code"] == "impossible_count"]
    assert len(gone) == 12
    assert gone["reason"].iloc[0].startswith("Tổng cả năm của chỉ tiêu này (240.000) lớn hơn 3 lần")
    assert "(180.000)" in gone["reason"].iloc[0]
    indicators = _indicators(result).set_index("indicator")
    assert indicators.loc["online_dossiers", "missing_reason"] == REJECTED
