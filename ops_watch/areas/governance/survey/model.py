"""Satisfaction-survey coverage (R8): how many tenant units and people answered, not only the mean score.

The evaluators found one questionnaire standing for a whole bureau. So ops-watch keeps every answer (evidence
kind `survey`: unit, respondent, day, score, comments) and measures, over a survey round (`[survey] period`:
a year, a half or a quarter):
- the tenant units expected to answer: `[survey] units`, or else every tenant unit of the inventory with a
  resource allocated during the round;
- the units that answered, with their respondents (each person counts once: their latest answer in the round),
  the units that did not, and the coverage (units answered ÷ units expected);
- the mean score out of 100 (score ÷ scale_max × 100), per unit and over every respondent of a tenant unit.

A response whose unit is not a tenant unit (after `unit_aliases`) is listed apart: not counted in the coverage,
the respondents or the mean, and not lost. Scores are stored as the questionnaire wrote them; `scale_max`
converts them when they are shown, so a corrected scale needs no new ingest.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ops_watch.core.contract import CONTRACT_SECTIONS, section_of
from ops_watch.core.models import Strict
from ops_watch.core.vocabulary import text as _t
from ops_watch.findings.indicators import IndicatorInputs, IndicatorValue, indicator
from ops_watch.store.schema import InventoryResource, SurveyResponse

PeriodKind = Literal["quarter", "half", "year"]
MONTHS = {"year": 12, "half": 6, "quarter": 3}
# The default judge_from per round: counted in the round's own months (month 1 = its first month).
DEFAULT_JUDGE_FROM = {"year": "10-01", "half": "06-01", "quarter": "03-01"}
CENT, HUNDRED = Decimal("0.01"), Decimal(100)
MAX_LISTED = 20
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")


def _q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def unit_key(text: str) -> str:
    """How unit names are compared: width-folded, case-folded, without spaces (「刑侦支队 」 = 「刑侦支队」)."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _month_day(text: str) -> tuple[int, int]:
    m = _MONTH_DAY.match(text.strip())
    if not m:
        raise ValueError(f'{text!r} is not a month-day: write it as "MM-DD", e.g. "10-01"')
    month, day = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise ValueError(f'{text!r} is not a day of the year: write it as "MM-DD", e.g. "10-01"')
    return month, day


class SurveySection(Strict):
    """contract.toml `[survey]`; every key has a default."""

    # The questionnaire's top score (5, 10, 100): scores are shown out of 100.
    scale_max: float = Field(default=100, gt=0, le=10000)
    # The survey round coverage is judged over (calendar year, half or quarter).
    period: PeriodKind = "year"
    min_unit_coverage: float = Field(default=80, ge=0, le=100)  # percent of the tenant units
    min_respondents_per_unit: int = Field(default=2, ge=0)
    min_respondents: int = Field(default=10, ge=0)  # in all tenant units together
    # The tenant units expected to answer; empty: the inventory's tenant units in the round.
    units: list[str] = Field(default_factory=list)
    # Other spellings in the responses -> the unit's name as the inventory (or `units`) writes it.
    unit_aliases: dict[str, str] = Field(default_factory=dict)
    # "MM-DD" counted in the round (month 1 = its first month): the check judges the current round from then.
    # Empty: 10-01 for a year, 06-01 for a half, 03-01 for a quarter.
    judge_from: str = ""
    target_mean: float = Field(default=90, ge=0, le=100)  # out of 100

    @field_validator("units")
    @classmethod
    def _units(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        out = []
        for index, name in enumerate(value):
            name = name.strip()
            if not name:
                raise ValueError(f"[{index}]: a unit name is empty")
            if unit_key(name) in seen:
                raise ValueError(f"[{index}]: {name!r} is listed twice (as {seen[unit_key(name)]!r})")
            seen[unit_key(name)] = name
            out.append(name)
        return out

    @field_validator("unit_aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        for alias, target in value.items():
            if not alias.strip() or not target.strip():
                raise ValueError(f"{alias!r} = {target!r}: neither side may be empty")
        return {a.strip(): t.strip() for a, t in value.items()}

    @model_validator(mode="after")
    def _consistent(self) -> SurveySection:
        if self.judge_from:
            month, _day = _month_day(self.judge_from)
            months = MONTHS[self.period]
            if month > months:
                raise ValueError(
                    f"judge_from {self.judge_from!r}: a {self.period} has {months} months, and judge_from counts "
                    f'them from the round\'s first month (e.g. "{DEFAULT_JUDGE_FROM[self.period]}")'
                )
        if self.units:
            known = {unit_key(u) for u in self.units}
            for alias, target in self.unit_aliases.items():
                if unit_key(target) not in known:
                    raise ValueError(
                        f"unit_aliases: {alias!r} points to {target!r}, which is not in units "
                        f"({', '.join(self.units)})"
                    )
                if unit_key(alias) in known:
                    raise ValueError(
                        f"unit_aliases: {alias!r} is a unit of its own in units: remove the alias"
                    )
        return self

    @property
    def judge_month_day(self) -> tuple[int, int]:
        return _month_day(self.judge_from or DEFAULT_JUDGE_FROM[self.period])


CONTRACT_SECTIONS.add("survey", SurveySection)


def survey_terms(contract: Mapping[str, Any]) -> SurveySection:
    return section_of(contract, "survey", SurveySection)


# --- rounds ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyPeriod:
    """One survey round: 2026, 2026-H2 or 2026-Q3 (calendar periods)."""

    kind: str
    label: str
    first: date
    last: date

    def judge_day(self, terms: SurveySection) -> date:
        """The day the check starts judging this round: judge_from counted in the round's months."""
        month, day = terms.judge_month_day
        month = min(month, MONTHS.get(self.kind, 12))
        year, month0 = divmod(self.first.month - 1 + month - 1, 12)
        y, m = self.first.year + year, month0 + 1
        return date(y, m, min(day, calendar.monthrange(y, m)[1]))

    def previous(self) -> SurveyPeriod:
        return period_containing(self.first - timedelta(days=1), self.kind)


def period_containing(day: date, kind: str) -> SurveyPeriod:
    months = MONTHS[kind]
    index = (day.month - 1) // months
    first = date(day.year, index * months + 1, 1)
    last_month = first.month + months - 1
    last = date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
    label = {"year": f"{day.year}", "half": f"{day.year}-H{index + 1}", "quarter": f"{day.year}-Q{index + 1}"}
    return SurveyPeriod(kind, label[kind], first, last)


_YEAR = re.compile(r"^(\d{4})年?度?$")
_HALF = re.compile(r"^(\d{4})[-/]?h([12])$")
_HALF_ZH = re.compile(r"^(\d{4})年?度?([上下])半年$")
_QUARTER = re.compile(r"^(\d{4})[-/]?q([1-4])$")
_QUARTER_ZH = re.compile(r"^(\d{4})年?度?第?([1-4一二三四])季度?$")
_ZH_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}


def parse_period(text: str) -> SurveyPeriod:
    """ "2026" (2026年), "2026-H2" (2026年下半年) or "2026-Q3" (2026年第三季度) -> the round."""
    folded = "".join(unicodedata.normalize("NFKC", text).split()).casefold()
    if m := _YEAR.match(folded):
        return period_containing(date(int(m.group(1)), 1, 1), "year")
    if m := _HALF.match(folded) or _HALF_ZH.match(folded):
        half = {"上": 1, "下": 2}.get(m.group(2)) or int(m.group(2))
        return period_containing(date(int(m.group(1)), 6 * half, 1), "half")
    if m := _QUARTER.match(folded) or _QUARTER_ZH.match(folded):
        quarter = _ZH_DIGITS.get(m.group(2)) or int(m.group(2))
        return period_containing(date(int(m.group(1)), 3 * quarter, 1), "quarter")
    raise ValueError(
        f"{text!r} is not a survey round: write a year 2026, a half 2026-H2 or a quarter 2026-Q3"
    )


# --- coverage --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitAnswers:
    """One unit's answers in the round. `mean` is out of 100 over its respondents (each once: their latest)."""

    unit: str
    responses: int
    respondents: int
    mean: Decimal | None
    spellings: tuple[str, ...] = ()  # how the responses wrote the unit, when not as the unit's own name


@dataclass(frozen=True)
class Coverage:
    first: date
    last: date
    units_from: str  # "contract" ([survey] units) | "inventory"
    expected: tuple[str, ...]
    answered: tuple[UnitAnswers, ...]  # tenant units with answers, in `expected` order
    missing: tuple[str, ...]  # tenant units without an answer
    others: tuple[UnitAnswers, ...]  # answers naming a unit that is not a tenant unit
    coverage: Decimal | None  # percent of `expected` that answered; None: no tenant unit known
    respondents: int  # in tenant units
    responses: int  # in tenant units
    mean: Decimal | None  # out of 100, over the respondents of tenant units
    scale_max: float
    scores: tuple[Decimal, ...] = field(default=(), repr=False)  # each respondent's latest, out of 100

    def thin(self, minimum: int) -> tuple[UnitAnswers, ...]:
        """Answered units with fewer respondents than `minimum`."""
        return tuple(u for u in self.answered if u.respondents < minimum)


def out_of_100(score: float, scale_max: float) -> Decimal:
    return Decimal(str(score)) * HUNDRED / Decimal(str(scale_max))


def expected_units(
    session: Session, terms: SurveySection, first: date, last: date
) -> tuple[tuple[str, ...], str]:
    """The tenant units expected to answer over [first, last] and where the list comes from."""
    if terms.units:
        return tuple(terms.units), "contract"
    rows = session.scalars(
        select(InventoryResource.tenant_unit)
        .where(
            or_(InventoryResource.allocated_from.is_(None), InventoryResource.allocated_from <= last),
            or_(InventoryResource.allocated_to.is_(None), InventoryResource.allocated_to >= first),
        )
        .distinct()
    ).all()
    seen: dict[str, str] = {}
    for name in sorted(n.strip() for n in rows if n and n.strip()):
        seen.setdefault(unit_key(name), name)
    return tuple(seen.values()), "inventory"


def coverage_days(session: Session, terms: SurveySection, first: date, last: date) -> Coverage:
    """Coverage over the local days [first, last] (see the module docstring)."""
    expected, units_from = expected_units(session, terms, first, last)
    by_key = {unit_key(u): u for u in expected}
    aliases = {unit_key(a): t for a, t in terms.unit_aliases.items()}
    # unit name -> respondent key -> (day, id, score); the latest answer of each person counts
    latest: dict[str, dict[str, tuple[date, int, float]]] = {}
    responses: dict[str, int] = {}
    spellings: dict[str, set[str]] = {}
    # Plain rows, not ORM objects, and each spelling of a unit resolved once: a year's survey of a large site
    # is tens of thousands of answers, read twice per weekly report.
    resolved: dict[str, str] = {}
    rows = session.execute(
        select(
            SurveyResponse.unit,
            SurveyResponse.respondent,
            SurveyResponse.day,
            SurveyResponse.id,
            SurveyResponse.score,
        ).where(SurveyResponse.day >= first, SurveyResponse.day <= last)
    )
    for raw_unit, respondent, day, row_id, score in rows:
        unit = resolved.get(raw_unit)
        if unit is None:
            written = raw_unit.strip()
            target = aliases.get(unit_key(written), written)
            unit = resolved[raw_unit] = by_key.get(unit_key(target), target)
            if unit != written:
                spellings.setdefault(unit, set()).add(written)
        person = unit_key(respondent)
        people = latest.setdefault(unit, {})
        seen = people.get(person)
        if seen is None or seen[:2] < (day, row_id):
            people[person] = (day, row_id, score)
        responses[unit] = responses.get(unit, 0) + 1

    hundreds = {
        u: [out_of_100(a[2], terms.scale_max) for a in people.values()] for u, people in latest.items()
    }

    def answers(unit: str) -> UnitAnswers:
        scores = hundreds[unit]
        return UnitAnswers(
            unit,
            responses[unit],
            len(scores),
            _q2(sum(scores, Decimal(0)) / len(scores)),
            tuple(sorted(spellings.get(unit, ()))),
        )

    answered = tuple(answers(u) for u in expected if u in latest)
    missing = tuple(u for u in expected if u not in latest)
    others = tuple(answers(u) for u in sorted(set(latest) - set(expected)))
    scores = tuple(score for u in expected if u in hundreds for score in hundreds[u])
    return Coverage(
        first=first,
        last=last,
        units_from=units_from,
        expected=expected,
        answered=answered,
        missing=missing,
        others=others,
        coverage=_q2(Decimal(len(answered)) * HUNDRED / len(expected)) if expected else None,
        respondents=len(scores),
        responses=sum(u.responses for u in answered),
        mean=_q2(sum(scores, Decimal(0)) / len(scores)) if scores else None,
        scale_max=terms.scale_max,
        scores=scores,
    )


def coverage(
    session: Session, contract: Mapping[str, Any], zone: ZoneInfo, start: datetime, end: datetime
) -> Coverage:
    """Coverage over [start, end) (aware times; the local days they cover)."""
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return coverage_days(session, survey_terms(contract), first, last)


# --- for people ------------------------------------------------------------------------------------------


def _num(value: Decimal | float | None) -> str:
    if value is None:
        return "—"
    text = f"{Decimal(str(value)).normalize():f}"
    return text


def joined(names: list[str] | tuple[str, ...], language: str, limit: int = 5) -> str:
    """The first `limit` names, and how many more."""
    shown = _t(language, "、", ", ").join(names[:limit])
    more = len(names) - limit
    if more > 0:
        shown += _t(language, f" 等 {len(names)} 个", f" and {more} more")
    return shown


def coverage_line(cov: Coverage, terms: SurveySection, language: str) -> str:
    """One sentence: X of Y units answered (Z %), N respondents, the mean."""
    if cov.coverage is None:
        return _t(
            language,
            "不知道有哪些租户单位（资源清单为空，contract.toml [survey] 也未列 units），无法计算覆盖率",
            "the tenant units are unknown (no inventory, no [survey] units in contract.toml): no coverage",
        )
    return _t(
        language,
        f"{len(cov.expected)} 个租户单位中 {len(cov.answered)} 个作答（覆盖率 {_num(cov.coverage)}%，"
        f"要求 ≥ {_num(terms.min_unit_coverage)}%），答卷人 {cov.respondents} 名（要求 ≥ {terms.min_respondents}），"
        f"平均 {_num(cov.mean)} 分（百分制，目标 {_num(terms.target_mean)}）",
        f"{len(cov.answered)} of {len(cov.expected)} tenant units answered (coverage {_num(cov.coverage)}%, "
        f"at least {_num(terms.min_unit_coverage)}% required), {cov.respondents} respondents (at least "
        f"{terms.min_respondents}), mean {_num(cov.mean)} out of 100 (target {_num(terms.target_mean)})",
    )


COVERAGE_COLUMNS = ["unit", "responses", "respondents", "mean", "note"]


def coverage_rows(
    cov: Coverage, terms: SurveySection, language: str, line_in_total: bool = True
) -> list[dict[str, Any]]:
    """Per tenant unit (answered, then not answered with 0), the non-tenant units apart, then the total (its
    note the coverage line, unless the caller prints that line itself)."""
    rows: list[dict[str, Any]] = []
    for u in cov.answered:
        notes = []
        if u.respondents < terms.min_respondents_per_unit:
            notes.append(
                _t(
                    language,
                    f"作答不足 {terms.min_respondents_per_unit} 人",
                    f"fewer than {terms.min_respondents_per_unit} respondents",
                )
            )
        if u.spellings:
            notes.append(_t(language, "写作：", "written as: ") + _t(language, "、", ", ").join(u.spellings))
        rows.append(_row(u, _t(language, "；", "; ").join(notes)))
    for name in cov.missing:
        rows.append(
            {
                "unit": name,
                "responses": 0,
                "respondents": 0,
                "mean": None,
                "note": _t(language, "未作答", "no answer"),
            }
        )
    for u in cov.others:
        rows.append(
            _row(
                u,
                _t(
                    language,
                    "非租户单位：不计入覆盖率和平均分",
                    "not a tenant unit: not in the coverage or mean",
                ),
            )
        )
    rows.append(
        {
            "unit": _t(language, "合计（租户单位）", "total (tenant units)"),
            "responses": cov.responses,
            "respondents": cov.respondents,
            "mean": cov.mean,
            "note": coverage_line(cov, terms, language) if line_in_total else "",
        }
    )
    return rows


def _row(u: UnitAnswers, note: str) -> dict[str, Any]:
    return {
        "unit": u.unit,
        "responses": u.responses,
        "respondents": u.respondents,
        "mean": u.mean,
        "note": note,
    }


def _unit_json(u: UnitAnswers) -> dict[str, Any]:
    return {
        "unit": u.unit,
        "responses": u.responses,
        "respondents": u.respondents,
        "mean": None if u.mean is None else str(u.mean),
        "written_as": list(u.spellings),
    }


def coverage_json(cov: Coverage, terms: SurveySection) -> dict[str, Any]:
    """Everything the coverage holds, decimals as exact strings."""
    return {
        "from": cov.first.isoformat(),
        "to": cov.last.isoformat(),
        "units_from": cov.units_from,
        "units_expected": list(cov.expected),
        "units_answered": [_unit_json(u) for u in cov.answered],
        "units_missing": list(cov.missing),
        "not_tenant_units": [_unit_json(u) for u in cov.others],
        "coverage_pct": None if cov.coverage is None else str(cov.coverage),
        "respondents": cov.respondents,
        "responses": cov.responses,
        "mean": None if cov.mean is None else str(cov.mean),
        "scale_max": _num(cov.scale_max),
        "thresholds": {
            "min_unit_coverage": _num(terms.min_unit_coverage),
            "min_respondents": terms.min_respondents,
            "min_respondents_per_unit": terms.min_respondents_per_unit,
            "target_mean": _num(terms.target_mean),
        },
        "thin_units": [u.unit for u in cov.thin(terms.min_respondents_per_unit)],
    }


# --- the score indicator ---------------------------------------------------------------------------------


@indicator("satisfaction", name_zh="满意度", name_en="satisfaction")
def satisfaction(inputs: IndicatorInputs) -> IndicatorValue:
    session, contract, zone, start, end, language = inputs
    """The mean score out of 100 of the tenant units' respondents in the period; the evidence says how many
    units and people it rests on (a mean from one questionnaire is shown as such, not hidden)."""
    terms = survey_terms(contract)
    cov = coverage(session, contract, zone, start, end)
    formula = _t(
        language,
        f"租户单位答卷人得分的平均值，折算为百分制（得分 ÷ 满分 {_num(terms.scale_max)} × 100；每人取考核期内最后一次作答）",
        f"the mean score of the tenant units' respondents out of 100 (score ÷ top score {_num(terms.scale_max)} "
        "× 100; each person's latest answer in the period)",
    )
    others = [
        _t(
            language,
            f"非租户单位的答卷（不计入）：{u.unit} {u.respondents} 人",
            f"answers from a unit that is not a tenant unit (not counted): {u.unit}, {u.respondents} respondents",
        )
        for u in cov.others
    ]
    if cov.mean is None:
        missing = (
            _t(
                language,
                f"考核期内的答卷都不属于租户单位（{joined([u.unit for u in cov.others], language)}）："
                "在 contract.toml [survey] unit_aliases 中对应到资源清单的单位名",
                f"no answer in the period names a tenant unit ({joined([u.unit for u in cov.others], language)}): "
                "map them to the inventory's names in [survey] unit_aliases",
            )
            if cov.others
            else _t(language, "考核期内没有满意度调查答卷", "no satisfaction-survey answer in the period")
        )
        return IndicatorValue(None, formula=formula, missing=missing, evidence=others)
    lines = []
    if cov.coverage is not None and cov.coverage < Decimal(str(terms.min_unit_coverage)):
        lines.append(
            _t(
                language,
                f"覆盖不足：{len(cov.expected)} 个租户单位中仅 {len(cov.answered)} 个作答（{_num(cov.coverage)}%，"
                f"要求 ≥ {_num(terms.min_unit_coverage)}%），此平均分只代表作答的单位",
                f"thin coverage: only {len(cov.answered)} of {len(cov.expected)} tenant units answered "
                f"({_num(cov.coverage)}%, at least {_num(terms.min_unit_coverage)}% required): the mean stands "
                "for the units that answered only",
            )
        )
    for u in cov.answered:
        lines.append(
            _t(
                language,
                f"{u.unit}：{u.respondents} 人作答，平均 {_num(u.mean)} 分",
                f"{u.unit}: {u.respondents} respondents, mean {_num(u.mean)}",
            )
        )
    if cov.missing:
        lines.append(_t(language, "未作答：", "no answer: ") + joined(cov.missing, language, MAX_LISTED))
    total = sum(cov.scores, Decimal(0))
    return IndicatorValue(
        cov.mean,
        _q2(total),
        cov.respondents,
        formula,
        {
            "respondents": cov.respondents,
            "responses": cov.responses,
            "units_expected": len(cov.expected),
            "units_answered": len(cov.answered),
            "coverage_pct": cov.coverage,
            "scale_max": Decimal(str(terms.scale_max)),
        },
        _t(
            language,
            f"百分制得分合计 {_num(_q2(total))} ÷ 答卷人 {cov.respondents} 名（"
            f"{len(cov.expected)} 个租户单位中 {len(cov.answered)} 个作答）",
            f"{_num(_q2(total))} points out of 100 summed ÷ {cov.respondents} respondents ({len(cov.answered)} "
            f"of {len(cov.expected)} tenant units answered)",
        ),
        [*lines, *others][: MAX_LISTED + 2],
    )


__all__ = [
    "COVERAGE_COLUMNS",
    "Coverage",
    "SurveyPeriod",
    "SurveySection",
    "UnitAnswers",
    "coverage",
    "coverage_days",
    "coverage_json",
    "coverage_line",
    "coverage_rows",
    "expected_units",
    "parse_period",
    "period_containing",
    "satisfaction",
    "survey_terms",
    "unit_key",
]
