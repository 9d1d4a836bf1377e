"""The rules of sections II and III (`pipeline/measuring/rules.py`), each at zero, one, many and
missing, and the national targets read by year."""

from __future__ import annotations

import pytest

from pipeline.measuring.rules import (
    RULES,
    RULES_BY_CODE,
    check_rules,
    find_limitations,
    national_targets,
    untargeted,
)
from pipeline.measuring.settings import load_settings

SETTINGS = load_settings()


def fired(values: dict, year: int | None = None) -> set[str]:
    return set(find_limitations(values, SETTINGS, year))


# (rule, figures at zero, at one, at many) — "one" is one unit of what grows with the commune
# in a small commune; "many" the same count in a merged one of real size, where a share decides.
CASES = [
    (
        "no_commune_team",
        {"teams_commune": 0.0, "teams_village": 3.0},
        {"teams_commune": 1.0, "teams_village": 3.0},
        {"teams_commune": 2.0, "teams_village": 40.0},
        (True, False, False),
    ),
    (
        "villages_without_team",
        {"villages_without_team": 0.0, "villages": 4.0},
        {"villages_without_team": 1.0, "villages": 4.0},  # 25 %
        {"villages_without_team": 1.0, "villages": 45.0},  # 2,2 % of a merged commune
        (False, True, False),
    ),
    (
        "no_smartphone",
        {"members_without_smartphone": 0.0, "members_total": 30.0},
        {"members_without_smartphone": 1.0, "members_total": 13.0},  # 7,7 %
        {"members_without_smartphone": 3.0, "members_total": 350.0},  # 0,9 %
        (False, True, False),
    ),
    (
        "aged_leaders",
        {"leaders_aged_60_share": 0.0},
        {"leaders_aged_60_share": 20.0},  # one leader of five
        {"leaders_aged_60_share": 2.5},  # one of forty
        (False, True, False),
    ),
    (
        "partial_log",
        {"log_months": 12.0},
        {"log_months": 11.0},
        {"log_months": 4.0},
        (False, True, True),
    ),
    (
        "few_trainings",
        {"trainings": 0.0},
        {"trainings": 1.0},
        {"trainings": 5.0},
        (True, True, False),
    ),
    (
        "weak_kinh_te_so",
        {"share_people_kinh_te_so": 0.0},
        {"share_people_kinh_te_so": 10.0},
        {"share_people_kinh_te_so": 35.0},
        (True, True, False),
    ),
    (
        "poor_data",
        {"rows_rejected_share": 0.0},
        {"rows_rejected_share": 5.0},
        {"rows_rejected_share": 40.0},
        (False, True, True),
    ),
]


@pytest.mark.parametrize(
    ("rule", "zero", "one", "many", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_each_rule_at_zero_one_many_and_missing(rule, zero, one, many, expected) -> None:
    assert [rule in fired(v) for v in (zero, one, many)] == list(expected)
    # Missing is not zero: without its figures a rule never fires.
    for values in (zero, one, many):
        assert rule not in fired({k: None for k in values})
        assert rule not in fired({})


def test_every_rule_names_the_figures_it_reads_and_has_its_threshold() -> None:
    from pipeline.measuring.indicators import CATALOGUE_BY_CODE

    for rule in RULES:
        assert rule.figures and all(f in CATALOGUE_BY_CODE for f in rule.figures), rule.code
        assert rule.fixed is not None or rule.setting in SETTINGS["limitations"], rule.code
    assert len({r.code for r in RULES}) == len(RULES)


def test_a_share_threshold_follows_the_setting() -> None:
    values = {"members_without_smartphone": 3.0, "members_total": 350.0}
    settings = load_settings()
    settings["limitations"]["min_members_without_smartphone_share"] = 0.5
    assert "no_smartphone" in find_limitations(values, settings)
    check = next(c for c in check_rules(values, settings) if c.rule.code == "no_smartphone")
    assert round(check.value, 2) == 0.86 and check.threshold == 0.5


def test_each_national_target_of_the_year_not_met_fires_with_its_own_rule() -> None:
    values = {"vneid_share": 22.1, "payment_account_share": 90.0, "online_dossier_share": 8.3}
    assert {r for r in fired(values, 2023) if r.startswith("target_")} == {
        "target_vneid_share",
        "target_online_dossier_share",
    }
    assert not any(r.startswith("target_") for r in fired(values))  # no year, no target
    # A floor ("trên 30%") is not met at 30; "đạt 50%" is met at 50; above 100 % not judged.
    assert "target_vneid_share" in fired({"vneid_share": 30.0}, 2023)
    assert "target_online_dossier_share" not in fired({"online_dossier_share": 50.0}, 2023)
    assert "target_vneid_share" not in fired({"vneid_share": 106.0}, 2023)
    assert "target_vneid_share" not in fired({"vneid_share": None}, 2023)
    # A reference target (of another population) is never judged.
    assert not any("smartphone" in r for r in fired({"smartphone_share": 10.0}, 2023))


def test_a_report_reads_only_its_own_years_targets() -> None:
    """A 2024 report judged its shares against "chỉ tiêu quốc gia năm 2023": a target is of
    its year, and a share its year declares none for is stated without a verdict."""
    assert {t["year"] for t in national_targets(SETTINGS, 2023).values()} == {2023}
    assert national_targets(SETTINGS, 2024) == {}  # none sourced for 2024: none borrowed
    assert set(untargeted(SETTINGS, 2024)) == {
        "vneid_share",
        "payment_account_share",
        "fibre_share",
        "online_dossier_share",
    }
    for_2025 = national_targets(SETTINGS, 2025)
    assert {t["year"] for t in for_2025.values()} == {2025}
    assert for_2025["payment_account_share"]["value"] == 80
    assert "411/QĐ-TTg" in for_2025["payment_account_share"]["source"]
    assert "942/QĐ-TTg" in for_2025["online_dossier_share"]["source"]
    assert "vneid_share" not in for_2025  # 2025 declares none: not the 2023 one
    # Fibre in 2025 is a coverage target (a reference): the households' share is not judged.
    assert set(untargeted(SETTINGS, 2025)) == {"vneid_share", "fibre_share"}
    assert untargeted(SETTINGS, 2023) == {}
    # Every declared target names the document it comes from.
    for year in (2022, 2023, 2025):
        assert all(t["source"] for t in national_targets(SETTINGS, year).values()), year
    # Nothing fires against another year's target.
    assert not any(
        c.rule.code.startswith("target_") for c in check_rules({"vneid_share": 1.0}, SETTINGS, 2024)
    )


def test_a_district_overrides_one_target_of_a_year_and_keeps_the_others(tmp_path) -> None:
    own = tmp_path / "settings.toml"
    own.write_text(
        '[targets.2024.vneid_share]\nvalue = 45\ntext = "người trưởng thành có VNeID"\n'
        '[targets.2023.fibre_share]\nvalue = 70\ntext = "hộ có cáp quang"\n',
        encoding="utf-8",
    )
    settings = load_settings(own)
    assert national_targets(settings, 2024)["vneid_share"]["value"] == 45
    assert "payment_account_share" not in national_targets(settings, 2024)
    assert national_targets(settings, 2023)["fibre_share"]["value"] == 70
    assert national_targets(settings, 2023)["vneid_share"]["value"] == 30


def test_the_catalogue_leaves_the_target_rules_after_the_villages() -> None:
    codes = [c.rule.code for c in check_rules({}, SETTINGS, 2023)]
    after = codes.index("villages_without_team") + 1
    assert codes[after].startswith("target_") and codes[-1] == "poor_data"
    assert RULES_BY_CODE["low_reach"].per_year
