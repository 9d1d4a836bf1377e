import datetime as dt

import pytest

from pipeline.measuring.rules import find_limitations
from pipeline.measuring.settings import load_settings
from pipeline.writing.narrative import (
    count,
    date_vi,
    environment,
    number,
    pillar_order,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234, "1.234"),
        (1234567, "1.234.567"),
        (12.5, "12,5"),
        (7, "7"),
        (None, "–"),
    ],
)
def test_vietnamese_numbers(value, expected) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(1, "01"), (4, "04"), (0, "00"), (20, "20"), (1500, "1.500")]
)
def test_small_counts_as_the_seed_writes_them(value, expected) -> None:
    assert count(value) == expected


def test_dates_follow_decree_30() -> None:
    # Nghị định 30/2020: days below 10 and months 1 and 2 with a leading zero.
    assert date_vi(dt.date(2022, 4, 25)) == "25/4/2022"
    assert date_vi(dt.date(2022, 3, 5)) == "05/3/2022"
    assert date_vi(dt.date(2023, 1, 9)) == "09/01/2023"
    assert date_vi(dt.date(2023, 2, 28)) == "28/02/2023"
    assert date_vi(dt.date(2023, 12, 10)) == "10/12/2023"


def test_limitations_follow_the_thresholds() -> None:
    settings = load_settings()
    values = {
        "trainings": 1,
        "members_without_smartphone": 3,
        "members_total": 40,  # 7,5 % of the members: above the 5 % threshold
        "village_leaders_aged_60": 0,
        "villages_without_team": 0,
        "people_guided_per_1000": 900,
        "share_people_chinh_quyen_so": 40,
        "share_people_kinh_te_so": 8,
        "share_people_xa_hoi_so": 52,
        "rows_rejected_share": 2,
    }
    found = find_limitations(values, settings)
    assert found == {
        "few_trainings": "trainings",
        "no_smartphone": "members_without_smartphone",
        "weak_kinh_te_so": "share_people_kinh_te_so",
    }
    settings["limitations"]["max_trainings"] = 0
    assert "few_trainings" not in find_limitations(values, settings)


def test_missing_figures_raise_nothing() -> None:
    assert find_limitations({}, load_settings()) == {}


def test_a_district_overrides_only_what_it_names(tmp_path) -> None:
    override = tmp_path / "settings.toml"
    override.write_text("[limitations]\nmax_trainings = 2\n", encoding="utf-8")
    settings = load_settings(override)
    assert settings["limitations"]["max_trainings"] == 2
    assert settings["limitations"]["min_aged_leaders_share"] == 20


def test_the_pillars_keep_one_order_whatever_the_figures() -> None:
    # A report that reorders them from year to year reads as if the programme changed.
    values = {"people_chinh_quyen_so": 50, "people_kinh_te_so": 5, "people_xa_hoi_so": 500}
    assert pillar_order(values) == ["Chính quyền số", "Kinh tế số", "Xã hội số"]
    assert pillar_order({}) == pillar_order(values)


def test_templates_escape_data() -> None:
    template = environment().from_string("<p>{{ name }}</p>")
    assert template.render(name="<script>x</script>") == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


def test_a_share_above_100_percent_is_not_judged_against_its_target() -> None:
    from pipeline.writing.narrative import verdict

    above_30 = {"value": 30, "above": True}
    assert verdict(31.0, above_30) == "đã đạt"
    assert verdict(30.0, above_30) == "chưa đạt"
    assert verdict(106.2, above_30).startswith("tỷ lệ vượt 100% nên chưa so sánh được")
