"""The rules of sections II and III, declared in one catalogue, and the national targets by year.

Each rule names the figures it reads (`reads`), the one it compares (`indicator`, or a share
of two of them: `share_of`), its threshold's key in `[limitations]` of `settings.toml` (a district
overrides it) and the comparison. A rule whose figures are missing never fires: missing is not
zero. The report's template writes one sentence in section II and its proposal in section III
for each rule that fired (`data-rule="{code}"`), in the catalogue's order.

A threshold on a count that grows with the commune (members without a smartphone, aged
leaders, villages without a team) is a share: a merged commune of 300 members is judged as a
commune of 30.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.contract import AGED_FROM
from pipeline.core.numbers import printed

# The comparisons a rule can make between its figure and its threshold.
COMPARISONS = {
    ">=": lambda value, threshold: value >= threshold,
    "<=": lambda value, threshold: value <= threshold,
    "<": lambda value, threshold: value < threshold,
}


@dataclass(frozen=True)
class Rule:
    """A limitation: raised when a figure crosses a threshold from the settings."""

    code: str
    indicator: str  # the figure compared (or the numerator of `share_of`)
    setting: str  # the threshold's key in [limitations]; "" for a fixed threshold
    comparison: str  # ">=", "<=" or "<": raised when `value {comparison} threshold`
    reads: tuple[str, ...] = ()  # every figure its sentences print, besides `indicator`
    # The figure compared is `indicator` as a share (%) of this one (members, villages).
    share_of: str = ""
    fixed: float | None = None  # the threshold of a rule without a setting
    # A threshold per year, compared with a figure over the months the log covers: prorated.
    per_year: bool = False
    # What is compared, when it is not the indicator itself (the reviewer's table shows it).
    measure: str = ""

    @property
    def above(self) -> bool:
        return self.comparison == ">="

    @property
    def figures(self) -> tuple[str, ...]:
        """Every figure the rule reads."""
        return tuple(f for f in dict.fromkeys((self.indicator, self.share_of, *self.reads)) if f)


def _pillar(code: str, name: str) -> Rule:
    return Rule(
        f"weak_{code}",
        f"share_people_{code}",
        "min_pillar_share",
        "<=",
        reads=(f"people_{code}", "people_guided"),
        measure=f"Tỷ trọng người được hướng dẫn về {name.lower()} (%)",
    )


# The catalogue, in the order sections II and III state them. The national targets' rules
# (`target_{code}`) follow `villages_without_team`: they depend on the report's year.
RULES: tuple[Rule, ...] = (
    Rule(
        "no_commune_team",
        "teams_commune",
        "",
        "<=",
        reads=("teams_village",),
        fixed=0,
        measure="Số Tổ CNSCĐ cấp xã",
    ),
    Rule(
        "villages_without_team",
        "villages_without_team",
        "min_villages_without_team_share",
        ">=",
        reads=("teams_village",),
        share_of="villages",
        measure="Tỷ lệ thôn chưa có Tổ CNSCĐ (%)",
    ),
    Rule(
        "partial_log",
        "log_months",
        "min_log_months",
        "<",
        reads=("log_first_month", "log_last_month"),
        measure="Số tháng nhật ký bao quát",
    ),
    Rule(
        "low_reach",
        "people_guided_per_1000",
        "min_people_guided_per_1000",
        "<=",
        reads=("log_months",),
        per_year=True,
    ),
    Rule(
        "few_trainings",
        "trainings",
        "max_trainings",
        "<=",
        reads=("trainings_online", "trainings_in_person"),
    ),
    _pillar("chinh_quyen_so", "Chính quyền số"),
    _pillar("kinh_te_so", "Kinh tế số"),
    _pillar("xa_hoi_so", "Xã hội số"),
    Rule(
        "aged_leaders",
        "leaders_aged_60_share",
        "min_aged_leaders_share",
        ">=",
        reads=("village_leaders_aged_60",),
        measure=f"Tỷ lệ tổ trưởng từ {AGED_FROM} tuổi (%)",
    ),
    Rule(
        "no_smartphone",
        "members_without_smartphone",
        "min_members_without_smartphone_share",
        ">=",
        reads=("members_without_smartphone_commune", "members_without_smartphone_village"),
        share_of="members_total",
        measure="Tỷ lệ thành viên chưa có điện thoại thông minh (%)",
    ),
    Rule("poor_data", "rows_rejected_share", "max_rows_rejected_share", ">="),
    # Figures written but rejected at cleaning are said after these, by
    # `narrative.lost_figure_sentences`: it names the targets and rules they leave unjudged.
)
RULES_BY_CODE = {rule.code: rule for rule in RULES}


def named_villages(names: list[str], settings: dict) -> list[str]:
    """The villages a sentence of II or III names: all of them when few, none when more than
    `[limitations] name_villages_up_to` (the sentence then counts them: a merged commune has
    dozens of villages). The one threshold for every list of villages (villages without a team,
    aged leaders, members without a smartphone, and the comparison's)."""
    return list(names) if len(names) <= settings["limitations"]["name_villages_up_to"] else []


@dataclass(frozen=True)
class RuleCheck:
    """One rule read against one commune's figures: what the reviewer's notebook shows."""

    rule: Rule
    value: float | None  # the figure compared; None where the commune has none (never fires)
    setting: float  # the threshold as the settings (or the rule, or the target) give it
    threshold: float  # the threshold compared, prorated to the log's months for a yearly one
    fired: bool


def measured(rule: Rule, values: dict[str, float | None]) -> float | None:
    """The figure a rule compares: its indicator, or that as a share of `share_of`."""
    value = values.get(rule.indicator)
    if value is None or not rule.share_of:
        return value
    whole = values.get(rule.share_of)
    return value / whole * 100 if whole else None


def check_rules(
    values: dict[str, float | None], settings: dict, year: int | None = None
) -> list[RuleCheck]:
    """Every rule of sections II and III against one commune's figures, fired or not; with
    the report's `year`, also one rule per national target of that year (`target_checks`)."""
    limits = settings["limitations"]
    checks = []
    for rule in RULES:
        value = measured(rule, values)
        setting = rule.fixed if rule.fixed is not None else limits[rule.setting]
        threshold = setting
        if rule.per_year and values.get("log_months"):
            threshold = threshold * values["log_months"] / 12
        fired = value is not None and COMPARISONS[rule.comparison](printed(value), threshold)
        checks.append(RuleCheck(rule, value, setting, threshold, fired))
        if rule.code == "villages_without_team" and year is not None:
            checks.extend(target_checks(values, settings, year))
    return checks


def find_limitations(
    values: dict[str, float | None], settings: dict, year: int | None = None
) -> dict[str, str]:
    """The rules one commune's figures trigger: rule code -> the indicator it states."""
    return {c.rule.code: c.rule.indicator for c in check_rules(values, settings, year) if c.fired}


# --- the national targets, by year -----------------------------------------------------------


def _target_label(target: dict) -> str:
    return (
        f"Chỉ tiêu quốc gia năm {target['year']}: {'trên ' if target['above'] else ''}"
        f"{_percent(target['value'])}% {target['text']}"
        + (" (tham chiếu)" if target["reference"] else "")
    )


def _percent(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def declared_years(settings: dict) -> list[int]:
    return sorted(int(year) for year in settings.get("targets", {}))


def national_targets(settings: dict, year: int | None = None) -> dict[str, dict]:
    """The national targets a report of `year` reads, by indicator code, each with its sentence
    words: value, year, above (a floor: "trên 30%"), text, source (the document), reference (a
    target of another population, shown beside the teams' figure for reference only) and label.
    Only the targets declared for that year: a share is never judged against another year's
    target (`untargeted` lists those the year lacks). Without a year: the latest declared year's."""
    years = declared_years(settings)
    if not years:
        return {}
    wanted = years[-1] if year is None else year
    out: dict[str, dict] = {}
    for code, target in settings["targets"].get(str(wanted), {}).items():
        target = dict(target)
        target.setdefault("above", True)
        target.setdefault("reference", False)
        target.setdefault("source", "")
        target["year"] = wanted
        target["label"] = _target_label(target)
        out[code] = target
    return out


def untargeted(settings: dict, year: int) -> dict[str, str]:
    """The shares some year judges against a national target and `year` does not (it declares
    none for them, or only a reference of another population): code -> what the share counts,
    in the words of the latest year that judges it. A report states these figures without a
    verdict and says that no target of its year compares with them."""
    judged_now = {c for c, t in national_targets(settings, year).items() if not t["reference"]}
    out: dict[str, str] = {}
    for declared in reversed(declared_years(settings)):
        for code, target in settings["targets"][str(declared)].items():
            if code not in judged_now and code not in out and not target.get("reference", False):
                out[code] = target["text"]
    return out


def meets(value: float, target: dict) -> bool:
    """A figure reaches a target: above a floor ("trên 30%"), or at least the value."""
    return value > target["value"] if target["above"] else value >= target["value"]


def judged(value: float | None, target: dict) -> bool:
    """A share the report judges against a target: known, of the same population (not a
    reference), and not above 100 % (more accounts than people: the two figures disagree)."""
    return value is not None and not target.get("reference") and value <= 100


def target_checks(values: dict[str, float | None], settings: dict, year: int) -> list[RuleCheck]:
    """One rule per national target the report of `year` reads: fired when the commune's
    share is known and does not reach it."""
    checks = []
    for code, target in national_targets(settings, year).items():
        if target["reference"]:
            continue
        rule = Rule(
            f"target_{code}",
            code,
            f"targets.{target['year']}.{code}",
            "<=" if target["above"] else "<",
            reads=tuple(r for r in _parts(code)),
        )
        value = values.get(code)
        fired = judged(value, target) and not meets(printed(value), target)
        checks.append(RuleCheck(rule, value, target["value"], target["value"], fired))
    return checks


def _parts(code: str) -> tuple[str, ...]:
    from pipeline.measuring.indicators import CATALOGUE_BY_CODE

    indicator = CATALOGUE_BY_CODE[code]
    return tuple(p for p in (indicator.numerator, indicator.denominator) if p)
