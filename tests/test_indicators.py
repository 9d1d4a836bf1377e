import pandas as pd
import pytest

from pipeline import contract
from pipeline.indicators import CATALOGUE, catalogue_frame, compute_indicators, values_of


def _table(sheet_key: str, rows: list[dict]) -> pd.DataFrame:
    sheet = contract.SHEETS_BY_KEY[sheet_key]
    columns = list(dict.fromkeys(["commune_code", "_row"] + [c.key for c in sheet.columns]))
    frame = pd.DataFrame(rows, columns=columns)
    if "date" in frame:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _member(code, level, village, role, born, smartphone=True):
    return {
        "commune_code": code,
        "team_level": level,
        "village": village,
        "role": role,
        "birth_year": born,
        "smartphone": smartphone,
        "name": "x",
    }


@pytest.fixture()
def two_communes():
    """Commune A with everything; commune B without trainings sheet, activity or population."""
    tables = {
        "villages": _table(
            "villages",
            [
                {"commune_code": "A", "village": "Đông", "population": 1500},
                {"commune_code": "A", "village": "Tây", "population": 500},
                {"commune_code": "A", "village": "Nam", "population": None},
                {"commune_code": "B", "village": "Bắc", "population": None},
            ],
        ),
        "members": _table(
            "members",
            [
                _member("A", "Xã", "", "Tổ trưởng", 1980),
                _member("A", "Xã", "", "Thành viên", 1990, smartphone=False),
                _member("A", "Thôn", "Đông", "Tổ trưởng", 1958),
                _member("A", "Thôn", "Đông", "Thành viên", 2000),
                _member("A", "Thôn", "Tây", "Tổ trưởng", 1970, smartphone=None),
                _member("B", "Xã", "", "Tổ trưởng", 1962),
            ],
        ),
        "trainings": _table(
            "trainings",
            [
                {"commune_code": "A", "date": "2022-05-01", "mode": "Trực tuyến"},
                {"commune_code": "A", "date": "2022-06-01", "mode": "Trực tiếp"},
                {"commune_code": "A", "date": "2022-07-01", "mode": "Trực tiếp"},
            ],
        ),
        "activities": _table(
            "activities",
            [
                {
                    "commune_code": "A",
                    "pillar": "Kinh tế số",
                    "service": "Thanh toán không dùng tiền mặt",
                    "people": 10,
                },
                {
                    "commune_code": "A",
                    "pillar": "Chính quyền số",
                    "service": "Cổng dịch vụ công",
                    "people": 30,
                },
            ],
        ),
        "results": _table(
            "results",
            [
                {"commune_code": "A", "indicator": "Thuê bao nâng cấp 4G", "value": 4},
                {"commune_code": "A", "indicator": "Thuê bao nâng cấp 4G", "value": 3},
            ],
        ),
        "zalo": _table(
            "zalo",
            [
                {"commune_code": "A", "team_level": "Xã", "group_members": 100},
                {"commune_code": "A", "team_level": "Thôn", "group_members": 40},
                {"commune_code": "B", "team_level": "Xã", "group_members": None},
            ],
        ),
        "decisions": _table("decisions", []),
        "commune": _table("commune", []),
    }
    present = pd.DataFrame(
        [
            (c, s)
            for c in "AB"
            for s in ("villages", "members", "activities", "results", "zalo", "decisions")
        ]
        + [("A", "trainings")],
        columns=["commune_code", "sheet"],
    )
    return tables, present


def test_figures_worked_out_by_hand(two_communes) -> None:
    tables, present = two_communes
    result = compute_indicators(tables, 2022, present)
    a, b = values_of(result, "A"), values_of(result, "B")
    assert a["villages"] == 3 and a["population"] == 2000
    assert (a["teams_commune"], a["members_commune"]) == (1, 2)
    assert (a["teams_village"], a["members_village"]) == (2, 3)
    assert a["members_without_smartphone"] == 1  # unknown is not "no"
    assert (
        a["village_leaders_aged_60"] == 1
    )  # born 1958: 64 in 2022; the commune leader is not counted
    assert (a["trainings"], a["trainings_online"], a["trainings_in_person"]) == (3, 1, 2)
    assert (a["sessions"], a["people_guided"]) == (2, 40)
    assert a["people_guided_per_1000"] == pytest.approx(20.0)
    assert a["people_kinh_te_so"] == 10 and a["people_chinh_quyen_so"] == 30
    assert a["people_xa_hoi_so"] == 0
    assert a["upgrades_4g"] == 7 and a["new_internet"] == 0
    assert (a["zalo_groups"], a["zalo_groups_commune"], a["zalo_groups_village"]) == (2, 1, 1)
    assert a["zalo_members"] == 140
    assert a["decisions"] == 0
    # B: an empty activity sheet is zero activity; an absent sheet and no population are missing.
    assert b["sessions"] == 0 and b["people_guided"] == 0
    assert b["trainings"] is None and b["population"] is None
    assert b["people_guided_per_1000"] is None
    assert b["village_leaders_aged_60"] == 0
    assert b["zalo_members"] is None


def test_missing_values_say_why(two_communes) -> None:
    tables, present = two_communes
    result = compute_indicators(tables, 2022, present).set_index(["commune_code", "indicator"])
    assert result.loc[("B", "trainings"), "missing_reason"] == "thiếu bảng 'Tập huấn'"
    assert result.loc[("B", "population"), "missing_reason"] == "thiếu dữ liệu dân số"
    assert result.loc[("A", "trainings"), "missing_reason"] == ""


def test_one_commune_or_all_give_the_same_values(two_communes) -> None:
    tables, present = two_communes
    everything = compute_indicators(tables, 2022, present)
    alone = compute_indicators(
        {k: v[v["commune_code"] == "A"] for k, v in tables.items()},
        2022,
        present[present["commune_code"] == "A"],
    )
    pd.testing.assert_frame_equal(
        everything[everything["commune_code"] == "A"].reset_index(drop=True), alone
    )


def test_catalogue_is_complete_and_unique() -> None:
    frame = catalogue_frame()
    assert frame["code"].is_unique
    assert frame[["name_vi", "name_en", "unit", "pillar", "definition"]].ne("").all().all()
    assert len(CATALOGUE) >= 30
