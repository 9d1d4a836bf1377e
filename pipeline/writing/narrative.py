"""The commune report's text: facts gathered from the indicator table, written by Jinja2 templates.

Every number in a sentence comes from the indicator table (`values`); templates only format.
Limitation rules take their thresholds from `settings.toml`, which a district can override.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
from babel.numbers import format_decimal
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from markupsafe import Markup, escape

from pipeline.core import contract
from pipeline.core.config import TEMPLATES
from pipeline.core.errors import ReportError
from pipeline.core.numbers import printed
from pipeline.core.textsafety import printable
from pipeline.measuring.indicators import (
    CATALOGUE,
    CATALOGUE_BY_CODE,
    EMPTY_LOG,
    QUALITY,
    REJECTED,
    VILLAGE_NOT_WRITTEN,
    aged_leaders,
    named_losses,
    service_code,
    without_smartphone,
)
from pipeline.measuring.rules import (
    RULES,
    check_rules,
    judged,
    meets,
    named_villages,
    national_targets,
    untargeted,
)
from pipeline.measuring.settings import load_settings
from pipeline.registry.tree import UNIT_KINDS, Commune, changes_during, in_sentence
from pipeline.registry.units import UnitWords, in_words, places, unit_words, village_in_sentence

LOCALE = "vi_VN"


class Figure(float):
    """An indicator's value that keeps its code: the report marks each figure it prints with
    the indicator it comes from (`data-indicator`), which the reviewers' notebook turns into a
    link to the indicator's row. The printed report shows the figure alone."""

    code: str

    def __new__(cls, value: float, code: str) -> Figure:
        figure = super().__new__(cls, value)
        figure.code = code
        return figure


def figures(values: dict[str, float | None]) -> dict[str, Figure | None]:
    """The indicator values as figures that remember their code (None stays None)."""
    return {code: None if v is None else Figure(v, code) for code, v in values.items()}


def _marking(format_figure):
    """A formatting filter whose output, for a `Figure`, is wrapped in a span naming its code."""

    def marked(value, *args):
        text = format_figure(value, *args)
        code = getattr(value, "code", None)
        if code is None:
            return text
        return Markup('<span class="fig" data-indicator="%s">%s</span>') % (code, escape(text))

    return marked


def number(value: float | int | None) -> str:
    """Vietnamese grouping and decimal marks: 1.234 and 12,5."""
    if value is None:
        return "–"
    rounded = printed(value)
    return _formatted(rounded, math.copysign(1.0, rounded) < 0)


@lru_cache(maxsize=65536)
def _formatted(rounded: float, negative: bool) -> str:
    """Babel's formatting, once per value: a province's comparison prints ten thousand figures,
    most of them small counts printed many times. `negative` keeps -0.0 apart from 0.0, which
    compare equal as keys."""
    return format_decimal(rounded, format="#,##0.#", locale=LOCALE)


def count(value: float | int | None) -> str:
    """Small counts as official reports write them: 01 Tổ, 04 nhóm."""
    if value is None:
        return "–"
    return f"{int(value):02d}" if 0 <= value < 10 else number(value)


def month_vi(month: int | float) -> str:
    """A month as Nghị định 30/2020 writes it: 01 and 02 with a leading zero, then 3 to 12."""
    return f"{int(month):02d}" if int(month) < 3 else str(int(month))


def day_vi(day: int | float) -> str:
    """A day as Nghị định 30/2020 writes it: below 10 with a leading zero."""
    return f"{int(day):02d}"


def date_vi(value: dt.date | pd.Timestamp | None) -> str:
    """05/3/2022, 25/01/2022: dates as Nghị định 30/2020 writes them (days below 10 and
    months 1 and 2 with a leading zero)."""
    if value is None or pd.isna(value):
        return ""
    return f"{day_vi(value.day)}/{month_vi(value.month)}/{value.year}"


def with_unit(value: float | int | None, unit: str) -> str:
    """A figure and its unit: '96,3%' (no space before %), '12 lượt người'."""
    return f"{number(value)}{unit}" if unit == "%" else f"{number(value)} {unit}"


_ADMIN_WORDS = tuple(kind for kind in UNIT_KINDS)
_MID_SENTENCE_KIND = re.compile(
    rf"(?<=\S )({'|'.join(map(re.escape, _ADMIN_WORDS))})(?= [A-ZĐÂĂÊÔƠƯÁÀẢÃẠ])"
)  # a numbered unit keeps its capital: 'UBND Phường 9' (Nghị định 30)


def names_in_sentence(text: str) -> str:
    """Unit kinds inside a name, as a sentence writes them: 'Phòng Văn hóa và Thông tin Thành
    phố Hải Dương' -> '… thành phố Hải Dương'. The first word is left alone, and so is a kind
    not followed by a proper name ('Tỉnh ủy') or followed by a number ('Phường 9')."""
    return _MID_SENTENCE_KIND.sub(lambda m: m.group(1).lower(), text)


def lower_first(text: str) -> str:
    """A name set inside a sentence: its first letter in lower case ('Nhóm Zalo' -> 'nhóm Zalo'),
    unless the first word is an acronym or a product written so ('VNeID', 'CNSCĐ', 'Zalo')."""
    if not text:
        return text
    first = text.split(" ", 1)[0]
    if first in KEEP_CASE or any(ch.isupper() for ch in first[1:]):
        return text
    return text[:1].lower() + text[1:]


# Words that keep their capital letter anywhere in a sentence.
KEEP_CASE = frozenset({"Zalo", "VNeID", "Internet", "Facebook", "YouTube", "TikTok", "Viettel"})


# The three pillars, always in this order (the seed's, and that of the national programme).
PILLARS = {"chinh_quyen_so": "Chính quyền số", "kinh_te_so": "Kinh tế số", "xa_hoi_so": "Xã hội số"}


def lost_figure_sentences(
    reasons: dict[str, str],
    settings: dict,
    words: UnitWords | None = None,
    year: int | None = None,
) -> list[str]:
    """Section II's sentence on figures written but rejected (`indicators.REJECTED`): which,
    and the national targets and rules that could not be judged without them; none when no
    figure was lost."""
    lost = named_losses(code for code, reason in reasons.items() if reason == REJECTED)
    if not lost:
        return []
    names = [f"“{lower_first(CATALOGUE_BY_CODE[c].name_vi)}”" for c in lost]
    targets = national_targets(settings, year)
    unjudged = [
        f"chỉ tiêu quốc gia năm {t['year']} về tỷ lệ {t['text']}"
        for code, t in targets.items()
        if not t["reference"] and reasons.get(code) == REJECTED
    ]
    unjudged += [
        f"chỉ số {lower_first(CATALOGUE_BY_CODE[r.indicator].name_vi)}"
        for r in RULES
        if any(reasons.get(f) == REJECTED for f in r.figures)
    ]
    sentence = (
        f"Số liệu {', '.join(names)} đã được ghi nhưng có dòng không hợp lệ bị loại (thiếu "
        "thông tin bắt buộc, số âm, vượt quá quy mô của địa phương hoặc không đọc được; xem "
        "danh sách dòng bị loại kèm theo), nên chưa được tổng hợp vào báo cáo"
    )
    if unjudged:
        sentence += f"; do đó chưa đánh giá được {', '.join(unjudged)}"
    sentence += "."
    return [in_words(sentence, words) if words else sentence]


def unwritten_targets(
    values: dict[str, float | None], reasons: dict[str, str], settings: dict, year: int
) -> list[str]:
    """What each national target of the report's year counts ("hồ sơ thủ tục hành chính được
    nộp trực tuyến") whose share has no figure because it was not written: sections II and III
    say the target cannot be judged. A figure written but rejected is `lost_figure_sentences`'s;
    a reference target of another population is never judged."""
    return [
        target["text"]
        for code, target in national_targets(settings, year).items()
        if not target["reference"] and values.get(code) is None and reasons.get(code) != REJECTED
    ]


def pillar_order(values: dict[str, float | None] | None = None) -> list[str]:
    """The three pillars in their fixed order: a report that reorders them from year to year
    reads as if the programme changed. (Which one is weak is said in section II.)"""
    return list(PILLARS.values())


def gap_word(value: float, median: float, unit: str, settings: dict) -> str:
    """'cao hơn' / 'thấp hơn', with 'nhiều' only when the gap is large by the declared rule
    ([comparison] in settings): for a share, in percentage points; for counts and rates, as a
    share of the median."""
    rule = settings.get("comparison") or load_settings()["comparison"]
    gap = abs(value - median)
    if unit == "%":
        much = gap >= rule["much_points"]
    else:
        much = gap >= abs(median) * rule["much_percent"] / 100 if median else gap > 0
    return ("cao hơn" if value > median else "thấp hơn") + (" nhiều" if much else "")


def verdict(share: float, target: dict) -> str:
    """How the report judges a share against a national target: "đã đạt", "chưa đạt", or, for
    a share above 100 % (more accounts than people: the two figures disagree), no judgement.
    The same reading as the target's rule (`rules.target_checks`)."""
    if not judged(share, target):
        return (
            "tỷ lệ vượt 100% nên chưa so sánh được với chỉ tiêu, cần kiểm tra lại hai số liệu này"
        )
    return "đã đạt" if meets(printed(share), target) else "chưa đạt"


def _villages_where(members: pd.DataFrame, rows: pd.Series, order: list[str]) -> list[str]:
    """The villages of the rows, in the order of the commune's village list."""
    named = set(members.loc[rows, "village"].dropna())
    return [v for v in order if v in named] + sorted(named - set(order))


def zalo_linked(zalo: pd.DataFrame | None) -> bool:
    """Whether the commune's Zalo groups are linked through contact members: more than one
    group, and every one of them answered "Có" in "Có thành viên đầu mối" (missing is not
    yes)."""
    if zalo is None or len(zalo) < 2 or "contact" not in zalo:
        return False
    answers = zalo["contact"]
    return bool(answers.notna().all() and answers.astype(bool).all())


def village_list(names: list[str], kind: str, villages: pd.DataFrame, settings: dict) -> dict:
    """Villages a sentence speaks of: `names` (empty when too many to name), `count`, and
    `words`, the unit words of these villages alone ("thôn, buôn" when both kinds are among
    them, "tổ dân phố" in a phường)."""
    declared = dict(zip(villages["village"], villages.get("village_kind", ()), strict=False))
    return {
        "names": named_villages(names, settings),
        "count": len(names),
        "words": unit_words(kind, names, [declared.get(n) for n in names]),
    }


def _finalize(value: object) -> object:
    """Every value a template prints, without control characters or bidirectional overrides
    (a name typed with U+202E must not reverse the rest of the sentence)."""
    if isinstance(value, str):
        cleaned = printable(value)
        return value if cleaned == value else type(value)(cleaned)  # Markup stays Markup
    return value


def environment(extra_template_dirs: list[Path] | None = None) -> SandboxedEnvironment:
    """Templates from override folders first (district, commune), then the packaged ones.

    One environment per process and search path, so a worker compiles each template once (Jinja
    still compiles a template again when its file changes). Sandboxed: a district's template is
    wording, so it may format the values it is given but never reach Python's internals
    (`self.__init__.__globals__` and the like)."""
    search = [str(p) for p in (extra_template_dirs or []) if p.exists()] + [str(TEMPLATES)]
    return _environment(tuple(search))


@lru_cache(maxsize=8)
def _environment(search: tuple[str, ...]) -> SandboxedEnvironment:
    return new_environment(search)


def new_environment(search: tuple[str, ...] = (str(TEMPLATES),)) -> SandboxedEnvironment:
    """A new environment of the report's templates (for a caller that adds its own filters)."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(search),
        finalize=_finalize,
        autoescape=select_autoescape(["j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        number=_marking(number),
        count=_marking(count),
        date_vi=date_vi,
        month_vi=month_vi,
        day_vi=day_vi,
        in_sentence=in_sentence,
        names_in_sentence=names_in_sentence,
        lower_first=lower_first,
        with_unit=_marking(with_unit),
        places=places,
        village_in_sentence=village_in_sentence,
    )
    return env


def report_context(
    commune: Commune,
    year: int,
    tables: dict[str, pd.DataFrame],
    values: dict[str, float | None],
    settings: dict,
    reasons: dict[str, str] | None = None,
) -> dict:
    """Everything the report template needs, from the commune's clean tables and indicators.

    `reasons` says, by indicator code, why a value is missing.
    """
    reasons = reasons or {}
    marked = figures(values)
    info = tables["commune"].iloc[0]
    villages = tables["villages"]
    words = commune_words(commune.kind, villages)
    order = list(villages["village"])
    members = tables["members"]
    from pipeline.measuring.indicators import villages_without_team

    uncovered = set(villages_without_team(villages, members)["village"])
    targets = national_targets(settings, year)
    measured = [
        {
            **targets[code],
            "code": code,
            "numerator": CATALOGUE_BY_CODE[code].numerator,
            "denominator": CATALOGUE_BY_CODE[code].denominator,
            "unit": CATALOGUE_BY_CODE[CATALOGUE_BY_CODE[code].denominator].unit,
            "verdict": verdict(values[code], targets[code]),
            # How far below the target, in percentage points (section II).
            "gap": printed(targets[code]["value"] - printed(values[code])),
        }
        for code in targets
        if not targets[code]["reference"] and values.get(code) is not None
    ]
    # The shares the year declares no target for: stated, not judged (never another year's).
    lacking = untargeted(settings, year)
    stated = [
        {
            "code": code,
            "text": lacking[code],
            "numerator": i.numerator,
            "denominator": i.denominator,
            "unit": CATALOGUE_BY_CODE[i.denominator].unit,
        }
        for i in CATALOGUE
        if (code := i.code) in lacking and values.get(code) is not None
    ]
    following = national_targets(settings, year + 1)
    checks = check_rules(values, settings, year)
    # Those it was formed from this year, under another name (one that kept its name is itself).
    predecessors = [c.other for c in changes_during(commune, year) if c.other.name != commune.name]
    decisions = decisions_of(tables)
    report_date = info["report_date"] if pd.notna(info["report_date"]) else None
    number_text = (
        f"{int(info['report_number']):02d}" if pd.notna(info["report_number"]) else "      "
    )
    trainings = tables["trainings"]
    annex = [
        {
            "code": i.code,
            "name": in_words(i.name_vi, words),
            "unit": in_words(i.unit, words),
            "pillar": i.pillar,
            "value": values.get(i.code),
            "reason": in_words(reasons.get(i.code, ""), words),
            "rejected": reasons.get(i.code) == REJECTED,
        }
        for i in CATALOGUE
        if i.pillar != QUALITY  # the data's quality is the reviewers' (notebook, index)
    ]
    return {
        "year": year,
        "commune": commune,
        "words": words,
        "team_words": team_words(commune.kind, villages, members),
        # The villages a finding lies in, in the order of the commune's list: named when few,
        # counted when many (`rules.named_villages`), in their own words ("02 thôn, buôn").
        "aged_leader_villages": village_list(
            _villages_where(members, aged_leaders(members, year, "Thôn"), order),
            commune.kind,
            villages,
            settings,
        ),
        "no_smartphone_villages": village_list(
            _villages_where(members, without_smartphone(members, "Thôn"), order),
            commune.kind,
            villages,
            settings,
        ),
        "villages_without_team": village_list(
            [v for v in order if v in uncovered], commune.kind, villages, settings
        ),
        # Village-team members whose village is not written: their number, not their teams'.
        "village_teams_unknown": reasons.get("teams_village") == VILLAGE_NOT_WRITTEN
        and bool(values.get("members_village")),
        # Figures written but rejected (`REJECTED`), and a log with no row (`EMPTY_LOG`).
        "lost": {code for code, reason in reasons.items() if reason == REJECTED},
        "log_unwritten": reasons.get("sessions") == EMPTY_LOG,
        # A decision that set up the village teams, while no village team member is listed:
        # section I says the list is missing, not that the teams were never set up.
        "village_teams_decided": any(
            _sets_up_village_teams(d.get("subject"), words) for d in decisions_of(tables)
        ),
        "partial_year": bool(values.get("log_months") and values["log_months"] < 12),
        "targets": measured,
        "untargeted": stated,
        "missed_targets": [t for t in measured if t["verdict"] == "chưa đạt"],
        # Next year's targets, where the settings declare that year's own (section IV).
        "next_year_targets": [
            t for t in following.values() if t["year"] == year + 1 and not t["reference"]
        ],
        "commune_upper": f"{commune.kind} {commune.short_name}".upper(),
        "signer": info["signer"],
        "recipients": recipients(commune, settings),
        "signer_title": (title := signer_title(info["signer_title"])),
        "signs_for_chair": signs_for_chair(title),
        "report_number": number_text,
        "report_date": report_date,
        "decisions": decisions,
        # The commune's own decisions are the sentence's main clause ("UBND xã … đã ban hành"),
        # those of the levels above what it carries out ("Thực hiện …").
        "decisions_own": [d for d in decisions if issued_by(commune, d.get("issuer"))],
        # Those of the communes it was formed from this year: theirs, said before the merger.
        "decisions_before": [
            d
            for d in decisions
            if not issued_by(commune, d.get("issuer"))
            and any(issued_by(u, d.get("issuer")) for u in predecessors)
        ],
        "decisions_above": [
            d
            for d in decisions
            if not any(issued_by(u, d.get("issuer")) for u in (commune, *predecessors))
        ],
        "training_organisers": sorted(trainings["organiser"].dropna().unique()),
        # Every Zalo group says it has a contact member: the seed's sentence on the groups'
        # links. A column left out (an older workbook) or one group unanswered: nothing said.
        "zalo_linked": zalo_linked(tables.get("zalo")),
        # What the trainings taught, as the sheet's "Nội dung" gives it (the seed says it).
        "training_topics": [
            lower_first(str(t).strip().rstrip("."))
            for t in dict.fromkeys(trainings.get("topic", pd.Series(dtype=object)).dropna())
            if str(t).strip()
        ],
        "v": marked,
        "aged_from": contract.AGED_FROM,  # a leader of this age or more is among the aged
        "findings": {c.rule.code: c.rule.indicator for c in checks if c.fired},
        # The figure each rule compared (a share where its threshold is one).
        "rule_values": figures({c.rule.code: c.value for c in checks}),
        # Figures written but rejected at cleaning, and what they leave unjudged.
        "lost_figures": lost_figure_sentences(reasons, settings, words, year),
        "unwritten_targets": unwritten_targets(values, reasons, settings, year),
        "pillars_next_year": pillar_order(values),
        "annex": annex,
        "previous": {},  # last year's values, where the indicator table has them
        "previous_note": "",
        "formed": None,  # a commune formed during the year: how (`formed_from`)
        "pillar_names": PILLARS,
        "quality": tables["quality"].to_dict("records"),
        # Adds up to the quality table's "Bị loại" (blank rows are not rejected rows).
        "rejected_reasons": list(
            contract.rows_rejected(tables["rejected"])["reason"].value_counts().sort_index().items()
        ),
        "services": services_guided(marked),
    }


def decisions_of(tables: dict[str, pd.DataFrame]) -> list[dict]:
    """The commune's decisions in the order they were issued."""
    return tables["decisions"].sort_values(["date", "number"]).to_dict("records")


def issued_by(commune: Commune, issuer: object) -> bool:
    """Whether a decision's issuer is the commune itself ("UBND xã Nam Chính", "Ủy ban nhân
    dân xã Nam Chính"), not a level above it."""
    if not isinstance(issuer, str):
        return False
    text = " ".join(issuer.casefold().split())
    return text.endswith(f"{commune.kind} {commune.short_name}".casefold())


def _sets_up_village_teams(subject: object, words: UnitWords) -> bool:
    """A decision's subject that sets up teams at the village level ("thành lập Tổ chỉ đạo, tổ
    công nghệ số cộng đồng thôn")."""
    if not isinstance(subject, str):
        return False
    text = subject.casefold()
    kinds = [k.casefold() for k in (*words.villages, "thôn")]
    return "thành lập" in text and "công nghệ số" in text and any(k in text for k in kinds)


def services_guided(values: dict) -> list[tuple[str, object]]:
    """(service, people guided) for each service of the contract with people guided, in the
    contract's order: the report's sentence and its chart."""
    return [
        (service, values[service_code(service)])
        for service in contract.SERVICES
        if values.get(service_code(service))
    ]


def recipients(commune: Commune, settings: dict) -> list[str]:
    """Who receives the report: the province's own list if the settings give one, else the
    district's office where the tree has districts, the province's department where not."""
    table = settings.get("recipients", {})
    own = table.get("province", {}).get(commune.province_code)
    if own is not None:
        return [str(r) for r in own]
    names = {
        "district": in_sentence(commune.district_name),
        "province": in_sentence(commune.province_name),
    }
    lines = table.get("with_districts" if commune.district_name else "without_districts", [])
    return [str(line).format(**names) for line in lines]


def commune_words(kind: str, villages: pd.DataFrame) -> UnitWords:
    """The words of a commune of `kind` ('Phường') for itself and its villages, from its
    villages' names and 'Loại' cells (a 'Villages' table)."""
    return unit_words(kind, villages["village"], villages.get("village_kind", ()))


def team_words(kind: str, villages: pd.DataFrame, members: pd.DataFrame) -> UnitWords:
    """The words of the villages that have a team ('Tổ CNSCĐ cấp buôn' when every team is a
    buôn's, in a commune of thôn and buôn); the commune's words when no village has one."""
    teams = members.loc[members["team_level"].eq("Thôn"), "village"].dropna().unique()
    if not len(teams):
        return commune_words(kind, villages)
    declared = dict(zip(villages["village"], villages.get("village_kind", ()), strict=False))
    return unit_words(kind, teams, [declared.get(name) for name in teams])


def formed_from(commune: Commune, year: int, origins: list[dict]) -> dict | None:
    """How a commune formed during the year came to be, and whose workbooks its report took in:
    None for a commune that did not change."""
    changes = changes_during(commune, year)
    if not changes:
        return None
    read = [o["source_name"] for o in origins if o["status"] == "read"]
    return {
        "date": date_vi(pd.Timestamp(changes[0].date)),
        "month": pd.Timestamp(changes[0].date).month,  # marked on the monthly chart
        # A divided predecessor gave only part of itself: named last, as resolutions write it.
        "names": ", ".join(
            dict.fromkeys(
                ("một phần " if c.split else "") + in_sentence(c.other.name) + " (cũ)"
                for c in sorted(changes, key=lambda c: c.split)
            )
        ),
        "read": ", ".join(in_sentence(name) for name in read),
        "refused": [o for o in origins if o["status"] == "split_unattributed"],
    }


def signer_title(written: object) -> str:
    """The signer's title as the "Thông tin xã" sheet gives it; the chairperson's by default."""
    return str(written).strip() if pd.notna(written) and str(written).strip() else "Chủ tịch"


def signs_for_chair(title: str) -> bool:
    """A deputy signs for the chairperson: Nghị định 30/2020/NĐ-CP writes "KT. CHỦ TỊCH" above
    "PHÓ CHỦ TỊCH", under "TM. ỦY BAN NHÂN DÂN"."""
    return title.casefold().startswith("phó")


def previous_year(indicators: pd.DataFrame) -> dict:
    """One commune's previous-year values for the annex, and what they are (its own, or the
    sum of the communes it was formed from), from its rows of the indicator table."""
    if "previous_value" not in indicators:
        return {"previous": {}, "previous_note": ""}
    known = indicators.dropna(subset=["previous_value"])
    notes = indicators.get("previous_note", pd.Series(dtype=object))
    return {
        "previous": dict(zip(known["indicator"], known["previous_value"], strict=True)),
        "previous_note": next((n for n in notes if n), ""),
    }


def render_template(name: str, context: dict, extra_template_dirs: list[Path] | None = None) -> str:
    """A template rendered with its context; a template that cannot be used (its syntax, or
    reaching beyond the values it is given) is one ReportError naming it."""
    try:
        return environment(extra_template_dirs).get_template(name).render(**context)
    except SecurityError as exc:
        raise ReportError(
            f"the template {name} was refused: it reaches beyond the values it is given "
            f"({exc.message}); a template holds wording and formats values, nothing more"
        ) from None
    except TemplateError as exc:
        where = ""
        if isinstance(exc, TemplateSyntaxError):
            where = f" ({Path(exc.filename or exc.name or '?').name}, line {exc.lineno})"
        # `from None`: the template's own frames would only confuse the reader of the notebook.
        raise ReportError(f"the report template cannot be used{where}: {exc.message}") from None


def render_report(
    context: dict, charts: dict[str, str], extra_template_dirs: list[Path] | None = None
) -> str:
    """The report as an HTML fragment (header, four sections, signature)."""
    return render_template(
        "commune_report.html.j2", {**context, "charts": charts}, extra_template_dirs
    )
