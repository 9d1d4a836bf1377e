"""Every indicator against figures worked out by hand on two small communes."""

import pandas as pd
import pytest

from pipeline.core import contract
from pipeline.measuring.indicators import (
    CATALOGUE,
    EMPTY_LOG,
    OUTSIDE_LOG,
    OWN_ROW_FIGURES,
    REJECTED,
    UNANSWERED_SMARTPHONE,
    UNWRITTEN_BIRTH_YEAR,
    VILLAGE_NOT_WRITTEN,
    catalogue_frame,
    compute_indicators,
    values_by_commune,
    values_of,
    villages_without_team,
    with_previous,
)


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


def _activity(code, date, pillar, service, channel, people):
    return {
        "commune_code": code,
        "date": date,
        "pillar": pillar,
        "service": service,
        "channel": channel,
        "people": people,
    }


@pytest.fixture()
def two_communes():
    """A has a bit of everything; B has no trainings sheet, no activity and no population."""
    tables = {
        "villages": _table(
            "villages",
            [
                {"commune_code": "A", "village": "Đông", "population": 1500, "households": 400},
                {"commune_code": "A", "village": "Tây", "population": 500, "households": 100},
                {"commune_code": "A", "village": "Nam", "population": None, "households": None},
                {"commune_code": "B", "village": "Bắc", "population": None, "households": None},
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
                {
                    "commune_code": "A",
                    "date": "2022-05-01",
                    "mode": "Trực tuyến",
                    "participants": 2,
                },
                {"commune_code": "A", "date": "2022-06-01", "mode": "Trực tiếp", "participants": 4},
                {
                    "commune_code": "A",
                    "date": "2022-07-01",
                    "mode": "Trực tiếp",
                    "participants": None,
                },
            ],
        ),
        "activities": _table(
            "activities",
            [
                _activity(
                    "A",
                    "2022-03-05",
                    "Kinh tế số",
                    "Thanh toán không dùng tiền mặt",
                    "Trực tiếp",
                    10,
                ),
                _activity(
                    "A", "2022-03-20", "Chính quyền số", "Cổng dịch vụ công", "Nhóm Zalo", 30
                ),
            ],
        ),
        "results": _table(
            "results",
            [
                {"commune_code": "A", "indicator": "Thuê bao nâng cấp 4G", "value": 4},
                {"commune_code": "A", "indicator": "Thuê bao nâng cấp 4G", "value": 3},
                {
                    "commune_code": "A",
                    "indicator": "Thuê bao Internet cáp quang đăng ký mới",
                    "value": 5,
                },
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
        # Village Nam gives no population nor households: the commune's own totals stand.
        "commune": _table(
            "commune", [{"commune_code": "A", "population": 2000, "households": 500}]
        ),
        "quality": pd.DataFrame(
            {
                "commune_code": ["A", "A", "B"],
                "sheet": ["Thôn", "Thành viên", "Thôn"],
                "rows_read": [10, 10, 4],
                "rows_kept": [9, 10, 4],
                "rows_fixed": [2, 3, 0],
                "rows_rejected": [1, 0, 0],
            }
        ),
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
    a = values_of(compute_indicators(tables, 2022, present), "A")
    assert (a["villages"], a["population"], a["households"]) == (3, 2000, 500)
    assert (a["teams_commune"], a["members_commune"]) == (1, 2)
    assert (a["teams_village"], a["members_village"], a["members_total"]) == (2, 3, 5)
    assert a["village_team_coverage"] == pytest.approx(200 / 3)  # 2 of 3 villages
    assert a["members_per_1000"] == pytest.approx(2.5)  # 5 members, 2,000 people
    assert (a["trainings"], a["trainings_online"], a["trainings_in_person"]) == (3, 1, 2)
    assert a["trained_share"] == pytest.approx(80)  # largest class 4 of 5 members
    assert a["smartphone_share"] == pytest.approx(75)  # 3 yes of 4 answers; 1 unknown
    # One village member's answer unknown: how many have none is unknown, not 1 (nor 0).
    assert a["members_without_smartphone"] is None
    assert a["members_without_smartphone_village"] is None
    assert a["members_without_smartphone_commune"] == 1  # every commune member answered
    assert a["leaders_aged_60_share"] == pytest.approx(100 / 3)  # 1958 of 3 leaders
    assert a["village_leaders_aged_60"] == 1  # 64 in 2022
    assert a["decisions"] == 0
    assert (a["sessions"], a["people_guided"]) == (2, 40)
    assert a["people_guided_per_member"] == pytest.approx(8)
    assert a["people_guided_per_1000"] == pytest.approx(20)
    assert a["people_kinh_te_so"] == 10 and a["people_chinh_quyen_so"] == 30
    assert a["people_xa_hoi_so"] == 0
    assert a["people_service_cong_dich_vu_cong"] == 30
    assert a["people_service_zalo"] == 0
    assert a["people_channel_nhom_zalo"] == 30 and a["people_channel_truc_tiep"] == 10
    # The log's one month is March: April has no figure (not a zero), and says why.
    assert a["people_month_03"] == 40 and a["people_month_04"] is None
    assert (a["upgrades_4g"], a["new_internet"]) == (7, 5)
    # A kind of result the commune wrote no row of is not tracked, not zero; its rate says so
    # (the commune's population is known).
    assert a["cashless_accounts"] is None and a["cashless_accounts_per_1000"] is None
    computed = compute_indicators(tables, 2022, present)
    why = computed[computed["commune_code"] == "A"].set_index("indicator")["missing_reason"]
    assert why["cashless_accounts"] == why["cashless_accounts_per_1000"] == "chưa ghi chỉ tiêu này"
    assert a["upgrades_4g_per_1000"] == pytest.approx(3.5)  # per 1,000 inhabitants
    assert a["new_internet_per_1000"] == pytest.approx(10)  # per 1,000 households
    assert (a["zalo_groups"], a["zalo_groups_commune"], a["zalo_groups_village"]) == (2, 1, 1)
    assert a["zalo_members"] == 140
    assert a["rows_read"] == 20
    assert a["rows_kept_share"] == pytest.approx(95)
    assert a["rows_fixed_share"] == pytest.approx(25)
    assert a["rows_rejected_share"] == pytest.approx(5)


def test_a_commune_with_no_activity_and_missing_inputs(two_communes) -> None:
    tables, present = two_communes
    b = values_of(compute_indicators(tables, 2022, present), "B")
    # An activity sheet with no row of B's: a log not written, not zero activity.
    assert b["sessions"] is None and b["people_guided"] is None and b["people_month_01"] is None
    # No trainings sheet, no population, no member count of its Zalo group: missing.
    assert b["trainings"] is None and b["trained_share"] is None
    assert b["population"] is None and b["people_guided_per_1000"] is None
    assert b["members_per_1000"] is None
    assert b["zalo_members"] is None
    assert b["village_leaders_aged_60"] == 0  # its only leader (60 in 2022) leads at commune level
    assert b["leaders_aged_60_share"] == 100
    assert b["village_team_coverage"] == 0  # one village, no village team


def test_missing_values_say_why(two_communes) -> None:
    tables, present = two_communes
    result = compute_indicators(tables, 2022, present).set_index(["commune_code", "indicator"])
    assert result.loc[("B", "trainings"), "missing_reason"] == "thiếu bảng 'Tập huấn'"
    assert result.loc[("B", "population"), "missing_reason"] == "thiếu dữ liệu dân số"
    assert result.loc[("B", "members_per_1000"), "missing_reason"] == "thiếu dữ liệu dân số"
    # B's log has no row: that is said first, before its population.
    assert result.loc[("B", "people_guided_per_1000"), "missing_reason"] == EMPTY_LOG
    assert result.loc[("A", "trainings"), "missing_reason"] == ""
    assert (result["value"].isna() == (result["missing_reason"] != "")).all()


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


def test_all_communes_values_in_one_pass_are_each_communes_values(two_communes) -> None:
    tables, present = two_communes
    everything = compute_indicators(tables, 2022, present)
    by_commune = values_by_commune(everything)
    assert set(by_commune) == {"A", "B"}
    for code in ("A", "B"):
        assert by_commune[code] == values_of(everything, code)
    assert any(v is None for v in by_commune["B"].values())  # B's missing inputs stay None


def test_previous_year_only_for_the_same_territory(two_communes) -> None:
    tables, present = two_communes
    now = compute_indicators(tables, 2022, present)
    before = now.assign(value=now["value"] - 1)
    compared = with_previous(now, before, same_commune={"A"}).set_index(
        ["commune_code", "indicator"]
    )
    assert compared.loc[("A", "members_total"), "previous_value"] == 4
    assert compared.loc[("A", "members_total"), "change"] == 1
    assert pd.isna(compared.loc[("B", "members_total"), "previous_value"])  # a reused code
    assert with_previous(now, None, {"A"})["change"].isna().all()


def test_catalogue_is_complete_and_unique() -> None:
    frame = catalogue_frame()
    assert frame["code"].is_unique
    assert frame[["name_vi", "name_en", "unit", "pillar", "definition"]].ne("").all().all()
    assert set(frame["pillar"]) == {
        "Tổ chức",
        "Chính quyền số",
        "Kinh tế số",
        "Xã hội số",
        "Chất lượng dữ liệu",
    }
    assert len(CATALOGUE) >= 60


@pytest.fixture(scope="module")
def district_indicators(sample_district, tmp_path_factory):
    import shutil

    from pipeline.core.config import Paths
    from pipeline.running.computing import compute_year
    from pipeline.running.preparing import prepare
    from pipeline.sample import sample_commune, sample_communes

    everything = Paths.under(tmp_path_factory.mktemp("all"))
    alone = Paths.under(tmp_path_factory.mktemp("alone"))
    for paths in (everything, alone):
        shutil.copytree(sample_district.raw, paths.raw)
    prepare(everything, 2022, sample_communes(2022), workers=2)
    prepare(alone, 2022, [sample_commune(2022, "nam-chinh")])
    return compute_year(everything, 2022), compute_year(alone, 2022)


def test_nam_chinh_2022_gives_the_seed_figures(district_indicators) -> None:
    everything, _ = district_indicators
    v = values_of(everything, "10627")
    assert (v["teams_commune"], v["members_commune"]) == (1, 20)
    assert (v["teams_village"], v["members_village"]) == (4, 19)
    assert (v["zalo_groups"], v["zalo_groups_commune"], v["zalo_groups_village"]) == (5, 1, 4)
    assert (v["trainings"], v["trainings_online"], v["trainings_in_person"]) == (1, 1, 0)
    assert v["decisions"] == 2
    assert everything["commune_code"].nunique() == 19


def test_one_commune_or_the_district_give_identical_rows(district_indicators) -> None:
    everything, alone = district_indicators
    mine = everything[everything["commune_code"] == "10627"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True))


def test_a_level_takes_each_village_s_own_latest_month_worked_out_by_hand() -> None:
    """Villages whose rows stop in different months: each gives its own last month (Đông
    stops in June at 40, Tây in November at 25, the commune-wide row in March at 7), summed:
    72. The earliest months would give 10 + 5 + 7 = 22; the year's last month alone, 25."""
    kind = "Người trưởng thành có tài khoản định danh điện tử mức 2"
    rows = [
        ("Đông", 2, 10),
        ("Đông", 6, 40),
        ("Tây", 1, 5),
        ("Tây", 11, 25),
        ("Tây", 4, 12),
        (None, 3, 7),
    ]
    tables = {
        key: _table(key, [])
        for key in ("villages", "members", "trainings", "activities", "zalo", "decisions")
    }
    tables["commune"] = _table("commune", [{"commune_code": "A", "adults": 144}])
    tables["results"] = _table(
        "results",
        [
            {"commune_code": "A", "village": v, "month": m, "indicator": kind, "value": n}
            for v, m, n in rows
        ],
    )
    tables["quality"] = pd.DataFrame(
        columns=["commune_code", "rows_read", "rows_kept", "rows_fixed", "rows_rejected"]
    )
    present = pd.DataFrame([("A", "results"), ("A", "villages")], columns=["commune_code", "sheet"])
    a = values_of(compute_indicators(tables, 2025, present), "A")
    assert a["adults_with_vneid"] == 72
    assert a["vneid_share"] == 50


def test_the_age_of_an_aged_leader_and_a_birth_year_s_bounds_are_the_package_s_settings(
    monkeypatch,
) -> None:
    """[members] of pipeline/settings.toml: 60 and 10–105 were written in the code."""
    import tomllib

    from pipeline.core import contract
    from pipeline.core.config import PACKAGE_DIR
    from pipeline.measuring.indicators import aged_leaders

    members_settings = tomllib.loads((PACKAGE_DIR / "settings.toml").read_text("utf-8"))["members"]
    assert tuple(members_settings["ages"]) == contract.MEMBER_AGES
    assert members_settings["aged_from"] == contract.AGED_FROM
    born = contract.MEMBERS.columns[[c.key for c in contract.MEMBERS.columns].index("birth_year")]
    youngest, oldest = contract.MEMBER_AGES
    assert born.bounds(2025) == (2025 - oldest, 2025 - youngest)
    members = pd.DataFrame(
        {
            "role": ["Tổ trưởng"] * 3,
            "team_level": ["Thôn"] * 3,
            "birth_year": pd.array([1965, 1969, 1971], dtype="Int64"),  # 60, 56, 54 in 2025
        }
    )
    assert aged_leaders(members, 2025).tolist() == [True, False, False]
    monkeypatch.setattr(contract, "AGED_FROM", 55)
    assert aged_leaders(members, 2025).tolist() == [True, True, False]


QUALITY_COUNTS = ("rows_read", "rows_kept", "rows_fixed", "rows_rejected")


def _one_commune(**tables: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Commune A with two villages, given sheets replacing the empty defaults; every sheet
    present in its workbook."""
    base = {
        "villages": _table(
            "villages",
            [
                {"commune_code": "A", "village": "Đông", "population": 1500},
                {"commune_code": "A", "village": "Tây", "population": 500},
            ],
        ),
        "members": _table("members", [_member("A", "Xã", "", "Tổ trưởng", 1980)]),
        "commune": _table("commune", [{"commune_code": "A"}]),
        "quality": pd.DataFrame(columns=["commune_code", "sheet", *QUALITY_COUNTS]),
    }
    for key in ("trainings", "activities", "results", "zalo", "decisions"):
        base[key] = _table(key, [])
    base.update(tables)
    present = pd.DataFrame(
        [("A", s.key) for s in contract.SHEETS if s.key != "commune"],
        columns=["commune_code", "sheet"],
    )
    return base, present


def _reasons(tables: dict, present: pd.DataFrame) -> dict[str, str]:
    computed = compute_indicators(tables, 2022, present)
    return dict(zip(computed["indicator"], computed["missing_reason"], strict=True))


def _rejected(sheet: str, column: str, code: str = "missing_value") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "commune_code": ["A"],
            "file": ["a.xlsx"],
            "sheet": [sheet],
            "excel_row": [2],
            "column": [column],
            "value": [""],
            "reason_code": [code],
            "reason": ["Thiếu giá trị bắt buộc"],
            "figure": [sheet],
        }
    )


def test_a_rejected_training_row_makes_the_training_figures_rejected_not_zero() -> None:
    """(Failed on the old code: "Lớp tập huấn 0", as the seed's workbook printed.)"""
    tables, present = _one_commune(rejected=_rejected(contract.TRAININGS.name, "Hình thức"))
    values, reasons = (
        values_of(compute_indicators(tables, 2022, present), "A"),
        _reasons(tables, present),
    )
    for code in ("trainings", "trainings_online", "trainings_in_person", "trained_share"):
        assert values[code] is None, code
        assert reasons[code] == REJECTED, code
    # A copy of a row loses nothing: the figure stands.
    tables["rejected"] = _rejected(contract.TRAININGS.name, "", "duplicate_row")
    assert values_of(compute_indicators(tables, 2022, present), "A")["trainings"] == 0


def test_a_rejected_zalo_row_makes_the_zalo_figures_rejected_not_zero() -> None:
    """(Failed on the old code: "Nhóm Zalo 0" where five groups were written without names.)"""
    tables, present = _one_commune(rejected=_rejected(contract.ZALO.name, "Tên nhóm"))
    values, reasons = (
        values_of(compute_indicators(tables, 2022, present), "A"),
        _reasons(tables, present),
    )
    for code in ("zalo_groups", "zalo_groups_commune", "zalo_groups_village", "zalo_members"):
        assert values[code] is None and reasons[code] == REJECTED, code
    assert "zalo_groups" in OWN_ROW_FIGURES and "trainings" in OWN_ROW_FIGURES


def test_the_trained_share_of_a_class_without_its_number_of_participants_is_missing() -> None:
    """(Failed on the old code: 0 % trained where the class's participants are not written.)"""
    training = {"commune_code": "A", "date": None, "mode": "Trực tuyến", "participants": None}
    tables, present = _one_commune(trainings=_table("trainings", [training]))
    values = values_of(compute_indicators(tables, 2022, present), "A")
    assert values["trainings"] == 1 and values["trainings_online"] == 1
    assert values["trained_share"] is None
    assert _reasons(tables, present)["trained_share"] == "thiếu số người tham gia tập huấn"


def test_counts_over_members_whose_answer_is_not_written_are_missing_not_zero() -> None:
    """No smartphone answer, no birth year: unknown, not 0 (failed on the old code: 0 and 0)."""
    members = _table(
        "members",
        [
            _member("A", "Xã", "", "Tổ trưởng", None, smartphone=None),
            _member("A", "Thôn", "Đông", "Tổ trưởng", None, smartphone=None),
            _member("A", "Thôn", "Tây", "Tổ trưởng", 1950, smartphone=False),
        ],
    )
    tables, present = _one_commune(members=members)
    values, reasons = (
        values_of(compute_indicators(tables, 2022, present), "A"),
        _reasons(tables, present),
    )
    for code in (
        "members_without_smartphone",
        "members_without_smartphone_commune",
        "members_without_smartphone_village",
    ):
        assert values[code] is None and reasons[code] == UNANSWERED_SMARTPHONE, code
    assert values["village_leaders_aged_60"] is None
    assert reasons["village_leaders_aged_60"] == UNWRITTEN_BIRTH_YEAR
    # The share is over the leaders whose year is written: 1 of 1.
    assert values["leaders_aged_60_share"] == 100
    # Every answer written: counted, a "Có" is not a "Không".
    members["smartphone"] = [True, True, False]
    members["birth_year"] = [1980, 1990, 1950]
    values = values_of(compute_indicators(tables, 2022, present), "A")
    assert values["members_without_smartphone"] == 1
    assert values["members_without_smartphone_commune"] == 0
    assert values["village_leaders_aged_60"] == 1


def test_village_teams_are_unknown_when_their_members_village_is_not_written() -> None:
    """19 village-team members, no village written: not 0 teams, nor villages without one
    (failed on the old code: 0 teams and both villages 'without a team')."""
    members = _table(
        "members",
        [_member("A", "Xã", "", "Tổ trưởng", 1980)] + [_member("A", "Thôn", None, "x", 1980)] * 3,
    )
    tables, present = _one_commune(members=members)
    values, reasons = (
        values_of(compute_indicators(tables, 2022, present), "A"),
        _reasons(tables, present),
    )
    assert values["members_village"] == 3 and values["teams_commune"] == 1
    for code in (
        "teams_village",
        "teams_total",
        "village_team_coverage",
        "villages_with_team",
        "villages_without_team",
    ):
        assert values[code] is None and reasons[code] == VILLAGE_NOT_WRITTEN, code
    assert villages_without_team(tables["villages"], members).empty
    # One member's village written, another's not: still unknown (the other may lead a team).
    members.loc[1, "village"] = "Đông"
    values = values_of(compute_indicators(tables, 2022, present), "A")
    assert values["teams_village"] is None and values["villages_without_team"] is None


def test_an_activity_log_with_no_row_is_not_written_not_zero() -> None:
    """(Failed on the old code: 0 people guided, 0 sessions from an empty sheet.)"""
    tables, present = _one_commune()
    values, reasons = (
        values_of(compute_indicators(tables, 2022, present), "A"),
        _reasons(tables, present),
    )
    for code in ("sessions", "people_guided", "people_month_01", "people_chinh_quyen_so"):
        assert values[code] is None and reasons[code] == EMPTY_LOG, code
    # Every row written but rejected: the figures were written, not left blank.
    tables["quality"] = pd.DataFrame(
        {
            "commune_code": ["A"],
            "sheet": [contract.ACTIVITIES.name],
            "rows_read": [2],
            "rows_kept": [0],
            "rows_fixed": [0],
            "rows_rejected": [2],
        }
    )
    assert _reasons(tables, present)["people_guided"] == REJECTED


def test_zalo_members_are_missing_when_a_group_s_number_is_not_written() -> None:
    """(Failed on the old code: 100, the one group written, read as all the groups' members.)"""
    zalo = _table(
        "zalo",
        [
            {"commune_code": "A", "group_name": "Xã", "team_level": "Xã", "group_members": 100},
            {"commune_code": "A", "group_name": "Đông", "team_level": "Thôn"},
        ],
    )
    tables, present = _one_commune(zalo=zalo)
    assert values_of(compute_indicators(tables, 2022, present), "A")["zalo_members"] is None
    assert _reasons(tables, present)["zalo_members"] == "có nhóm chưa ghi số thành viên"
    zalo.loc[1, "group_members"] = 40
    assert values_of(compute_indicators(tables, 2022, present), "A")["zalo_members"] == 140
    # No group at all: none of their members, a count of zero.
    tables["zalo"] = _table("zalo", [])
    assert values_of(compute_indicators(tables, 2022, present), "A")["zalo_members"] == 0


def test_a_month_outside_the_log_has_no_figure_and_a_gap_inside_it_is_zero(two_communes) -> None:
    """A log that runs from February to September, with nothing in May: May guided nobody (0),
    January and October to December are not in the log (no figure, and the reason says so).
    (Failed on the old code: October read 0 in indicators.parquet and the reviewers' notebook,
    though the report said 'nhật ký không có tháng này'.)"""
    rows = [
        _activity(
            "A", f"2022-{month:02d}-10", "Chính quyền số", "Cổng dịch vụ công", "Trực tiếp", 5
        )
        for month in (2, 3, 4, 6, 7, 8, 9)
    ]
    tables, present = two_communes
    tables = {**tables, "activities": _table("activities", rows)}
    out = compute_indicators(tables, 2022, present)
    mine = out[out["commune_code"] == "A"].set_index("indicator")
    assert mine.loc["people_month_05", "value"] == 0
    assert mine.loc["people_month_09", "value"] == 5
    for month in ("01", "10", "12"):
        assert pd.isna(mine.loc[f"people_month_{month}", "value"])
        assert mine.loc[f"people_month_{month}", "missing_reason"] == OUTSIDE_LOG


def test_an_answer_written_and_blanked_by_cleaning_is_rejected_not_unwritten(two_communes):
    """A smartphone answer 'chưa rõ' and a Zalo group's 'khoảng 200' are written, then blanked
    by cleaning as unreadable: the figures they leave unknown read as rejected; an answer left
    blank still reads as unwritten. (Failed on the old code: both said 'chưa ghi', as a new
    user's trial found: "có nhóm chưa ghi số thành viên" of a group that wrote one.)"""
    tables, present = two_communes
    members = _table(
        "members",
        [
            {**_member("A", "Xã", None, "Tổ trưởng", 1980), "_file": "a.xlsx", "_row": 2},
            {**_member("A", "Thôn", "Đông", "Tổ viên", 1990, None), "_file": "a.xlsx", "_row": 3},
            {**_member("B", "Thôn", "Bắc", "Tổ viên", 1990, None), "_file": "b.xlsx", "_row": 2},
        ],
    )
    members["_file"], members["_row"] = ["a.xlsx", "a.xlsx", "b.xlsx"], [2, 3, 2]
    zalo = _table("zalo", [{"commune_code": "A", "team_level": "Xã", "group_members": None}])
    zalo["_file"], zalo["_row"] = "a.xlsx", 2
    fixes = pd.DataFrame(
        {
            "commune_code": ["A", "A"],
            "file": ["a.xlsx", "a.xlsx"],
            "sheet": [contract.MEMBERS.name, contract.ZALO.name],
            "excel_row": [3, 2],
            "column": [
                contract.MEMBERS.column("smartphone").header,
                contract.ZALO.column("group_members").header,
            ],
            "kind": "invalid_value_blanked",
            "raw": "",
            "fixed": "",
        }
    )
    tables = {**tables, "members": members, "zalo": zalo, "fixes": fixes}
    present = pd.concat([present, pd.DataFrame({"commune_code": ["A"], "sheet": ["zalo"]})])
    out = compute_indicators(tables, 2022, present).set_index(["commune_code", "indicator"])
    reason = out["missing_reason"]
    assert reason["A", "members_without_smartphone"] == REJECTED
    assert reason["A", "members_without_smartphone_village"] == REJECTED
    assert out.loc[("A", "members_without_smartphone_commune"), "value"] == 0  # answered
    assert reason["A", "zalo_members"] == REJECTED
    assert reason["B", "members_without_smartphone"] == UNANSWERED_SMARTPHONE  # left blank


def test_the_log_rows_rejected_are_those_whose_people_are_not_counted(two_communes) -> None:
    """A row of −15 people is left out of the people guided: counted; a blank row and a copy
    are not (their people are counted once, or there are none)."""
    tables, present = two_communes
    on_log = contract.ACTIVITIES.name
    rejected = pd.DataFrame(
        {
            "commune_code": ["A", "A", "A", "A"],
            "sheet": [on_log, on_log, on_log, contract.RESULTS.name],
            "reason_code": ["impossible_count", contract.BLANK_ROW, "duplicate_row", "bad"],
            "figure": ["", "", "", ""],
        }
    )
    out = compute_indicators({**tables, "rejected": rejected}, 2022, present)
    assert values_of(out, "A")["log_rows_rejected"] == 1
    assert values_of(out, "B")["log_rows_rejected"] == 0
