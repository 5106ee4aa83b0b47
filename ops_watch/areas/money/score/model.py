"""The contractor score (R12): indicators the contract weighs, each computed from evidence ops-watch holds.

contract.toml `[score]` lists the indicators (key, weight in points, target in percent), the bands (优 ≥ 90,
良 ≥ 80, 中 ≥ 60, 差 below), and the consequences (under 80: rectification and a fee deduction; 59 or below:
not eligible for next year's contract). docs/money.md explains every key to the center.

How the score is computed, so that the contractor can redo it by hand from what `ops-watch score` shows:
- each indicator's value is a percentage with two decimals (numerator ÷ denominator × 100, rounded half up);
- its points are weight × min(1, value ÷ target), rounded to two decimals;
- an indicator without evidence is NOT scored zero: it is listed as missing with the reason. The points of
  the indicators with evidence are rescaled to 100 ("the score of what can be measured") and the weight that
  has no evidence is stated beside it; the band and the consequences follow from the rescaled score, flagged
  as incomplete.

The period runs from the start of the contract year (the anniversary of `[contract] start` on or before the
as-of date; the calendar year without one), or of its quarter, to the as-of time; never past `[contract]
end`.

Indicators are a registry (findings/indicators.py): each contract area registers the indicators its evidence
measures (`@indicator("key", ...)`, a function of one IndicatorInputs); this module weighs them. The findings
rectified on time are measured here, from the findings themselves.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.areas.money.pricing import PlatformsSection
from ops_watch.core.contract import CONTRACT_SECTIONS, ContractMeta, section_of
from ops_watch.core.models import Strict
from ops_watch.core.timeutil import format_local, from_store, local_day_bounds
from ops_watch.core.vocabulary import SEVERITY_ZH
from ops_watch.core.vocabulary import text as _t
from ops_watch.findings.indicators import (
    HUNDRED,
    INDICATORS,
    MAX_EVIDENCE,
    ZERO,
    IndicatorInputs,
    IndicatorSpec,
    IndicatorValue,
    indicator,
    num,
    percent,
    q2,
)
from ops_watch.findings.indicators import (
    listed as _listed,
)
from ops_watch.findings.rectification import deadline, rectification_terms
from ops_watch.store.schema import Finding, FindingEvent

BAND_EN = {"优": "excellent", "良": "good", "中": "fair", "差": "poor"}


# --- contract terms ------------------------------------------------------------------------------------


class IndicatorTerm(Strict):
    key: str = Field(min_length=1)
    name: str = ""  # the contract's wording (Chinese); empty: ops-watch's name
    weight: Decimal = Field(gt=0, le=100)  # points
    target: Decimal = Field(gt=0, le=100)  # percent: at or above it, the full weight
    formula: str = ""  # the contract's own wording of the formula, shown beside ops-watch's


DEFAULT_INDICATORS: tuple[tuple[str, str, int, int], ...] = (
    ("staffing_rate", "人员到位率", 25, 95),
    ("handover_verified_rate", "交接班核实率", 15, 95),
    ("drill_completion_rate", "演练完成率", 20, 100),
    ("backup_success_rate", "备份成功率", 20, 99),
    ("findings_on_time_rate", "问题按期整改率", 10, 90),
    ("audit_timeliness_rate", "审计材料及时率", 5, 100),
    ("satisfaction", "满意度", 5, 90),
)
DEFAULT_BANDS = {"优": Decimal(90), "良": Decimal(80), "中": Decimal(60), "差": Decimal(0)}
# Findings about the center's own business (its budget, its notifications, ops-watch's own collection), not
# the contractor's: they do not count in findings_on_time_rate.
DEFAULT_EXCLUDED_CHECKS = (
    "contractor_score_at_risk",
    "budget_execution_risk",
    "cost_deviation_unexplained",
    "collection_failed",
    "notification_dead",
    # Counted by the audit timeliness indicator already (a late submission can never be put right).
    "audit_late",
    "audit_missing",
    "audit_time_unrecorded",
)


def _default_indicators() -> list[IndicatorTerm]:
    return [
        IndicatorTerm(key=k, name=n, weight=Decimal(w), target=Decimal(t))
        for k, n, w, t in DEFAULT_INDICATORS
    ]


class ScoreSection(Strict):
    """contract.toml `[score]`; every key has a default (the demo contract's terms)."""

    indicators: list[IndicatorTerm] = Field(default_factory=_default_indicators)
    bands: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_BANDS))
    rectify_below: Decimal = Field(default=Decimal(80), ge=0, le=100)
    ineligible_at_or_below: Decimal = Field(default=Decimal(59), ge=0, le=100)
    at_risk_below: Decimal = Field(default=Decimal(85), ge=0, le=100)
    deduction_rate_pct: Decimal = Field(default=Decimal(5), ge=0, le=100)
    # The quarterly fee the deduction applies to; empty: the fee_per_quarter of the fixed-fee platforms in
    # service on the as-of date ([platforms]); neither: the amount is not stated.
    fee_per_quarter: Decimal | None = Field(default=None, ge=0)
    period: Literal["year", "quarter"] = "year"
    exclude_checks: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDED_CHECKS))

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        if not value:
            raise ValueError('give at least one band, e.g. { "优" = 90, "良" = 80, "中" = 60, "差" = 0 }')
        for name, low in value.items():
            if not ZERO <= low <= HUNDRED:
                raise ValueError(f"{name}: a band starts at a score from 0 to 100, not {low}")
        lows = list(value.values())
        if len(set(lows)) != len(lows):
            raise ValueError("two bands start at the same score")
        return dict(sorted(value.items(), key=lambda kv: kv[1], reverse=True))

    @field_validator("indicators")
    @classmethod
    def _indicators(cls, value: list[IndicatorTerm]) -> list[IndicatorTerm]:
        keys = [i.key for i in value]
        if not keys:
            raise ValueError("list at least one indicator")
        for index, key in enumerate(keys):
            if key not in INDICATORS:
                raise ValueError(f"[{index}].key: unknown indicator {key!r} (known: {', '.join(INDICATORS)})")
            if keys.index(key) != index:
                raise ValueError(f"[{index}].key: {key!r} is listed twice")
        total = sum((i.weight for i in value), ZERO)
        if total != HUNDRED:
            raise ValueError(f"the weights add up to {num(total)} points; make them add up to 100")
        return value


CONTRACT_SECTIONS.add("score", ScoreSection)


def score_terms(contract: Mapping[str, Any]) -> ScoreSection:
    return section_of(contract, "score", ScoreSection)


def band_of(score: Decimal, terms: ScoreSection) -> str:
    """The band whose lower bound is the highest one at or below the score (the lowest band below all)."""
    for name, low in terms.bands.items():  # highest first
        if score >= low:
            return name
    return list(terms.bands)[-1]


def band_label(band: str | None, language: str) -> str:
    if band is None:
        return "—"
    return band if language == "zh" else BAND_EN.get(band, band)


# --- the period ----------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ScorePeriod:
    kind: str  # year | quarter
    label: str  # "2026", "2026-Q3", or "2026-03-01～2027-02-28" for a contract year not on the calendar's
    first_day: date
    last_day: date  # the period's last day (the year's or quarter's, or the contract's end)
    start: datetime  # UTC: local midnight of first_day
    end: datetime  # UTC: the as-of time (or the contract's end); indicators read [start, end)
    zone: ZoneInfo
    started: bool = True  # False: the contract has not started by the as-of time

    @property
    def closes(self) -> datetime:
        """UTC: local midnight after last_day (a stable bound for a finding's period)."""
        return local_day_bounds(self.last_day, self.zone)[1]


def score_period(
    contract: Mapping[str, Any], zone: ZoneInfo, at: datetime, kind: str | None = None
) -> ScorePeriod:
    """The period the score covers as of `at` (see the module docstring)."""
    meta = contract.get("contract")
    meta = meta if isinstance(meta, ContractMeta) else None
    kind = kind or score_terms(contract).period
    # The moment just before `at` decides the day: a score as of midnight is the previous day's.
    day = (at - timedelta(microseconds=1)).astimezone(zone).date()
    end = at
    if meta is not None and meta.end is not None and day > meta.end:
        day, end = meta.end, local_day_bounds(meta.end, zone)[1]
    anchor = meta.start if meta is not None and meta.start is not None else date(day.year, 1, 1)
    started = day >= anchor
    day = max(day, anchor)
    k = day.year - anchor.year
    if add_months(anchor, 12 * k) > day:
        k -= 1
    months = 12 * k  # from the anchor to the contract year's start
    if kind == "quarter":
        months += 3 * max(i for i in range(4) if add_months(anchor, months + 3 * i) <= day)
        span = 3
    else:
        span = 12
    first = add_months(anchor, months)
    last = add_months(anchor, months + span) - timedelta(days=1)
    calendar_year = anchor.month == 1 and anchor.day == 1
    if not calendar_year:
        label = f"{first.isoformat()}～{last.isoformat()}"
    elif kind == "quarter":
        label = f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    else:
        label = str(first.year)
    if meta is not None and meta.end is not None and last > meta.end:
        last = meta.end
    start = local_day_bounds(first, zone)[0]
    return ScorePeriod(kind, label, first, last, start, end if started else start, zone, started)


def quarter_fee(contract: Mapping[str, Any], day: date) -> tuple[Decimal | None, str]:
    """The quarterly fee a deduction applies to, and where it comes from (empty when unknown)."""
    terms = score_terms(contract)
    if terms.fee_per_quarter is not None:
        return terms.fee_per_quarter, "[score] fee_per_quarter"

    section = contract.get("platforms")
    if not isinstance(section, PlatformsSection):
        return None, ""
    total, names = ZERO, []
    for name, p in sorted(section.root.items()):
        if p.fee_per_quarter is None:
            continue
        if (p.service_start and day < p.service_start) or (p.service_end and day >= p.service_end):
            continue
        total += p.fee_per_quarter
        names.append(name)
    if not names:
        return None, ""
    return total, "[platforms] fee_per_quarter: " + ", ".join(names)


# --- the score -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorScore:
    key: str
    name: str
    weight: Decimal
    target: Decimal
    contract_formula: str
    result: IndicatorValue
    points: Decimal | None  # None: no evidence (not zero)

    @property
    def value(self) -> Decimal | None:
        return self.result.value

    @property
    def measured(self) -> bool:
        return self.result.value is not None


@dataclass(frozen=True)
class Score:
    as_of: datetime
    period: ScorePeriod
    language: str
    indicators: list[IndicatorScore]
    points: Decimal  # earned by the indicators with evidence
    measured_weight: Decimal
    missing_weight: Decimal
    score: Decimal | None  # points rescaled to 100 over the measured weight; None: nothing measured
    band: str | None
    rectification: bool
    deduction_rate_pct: Decimal
    fee_per_quarter: Decimal | None
    fee_source: str
    deduction: Decimal | None  # the amount, when the fee is known
    ineligible: bool
    consequences: list[str]
    incomplete: str  # "" when every indicator has evidence
    thresholds: dict[str, Decimal]

    @property
    def missing(self) -> list[IndicatorScore]:
        return [i for i in self.indicators if not i.measured]


def points_for(weight: Decimal, target: Decimal, value: Decimal) -> Decimal:
    """weight × min(1, value ÷ target), two decimals."""
    return q2(weight * min(Decimal(1), value / target))


def assemble(
    terms: ScoreSection,
    period: ScorePeriod,
    at: datetime,
    values: Mapping[str, IndicatorValue],
    language: str = "zh",
    fee: tuple[Decimal | None, str] = (None, ""),
) -> Score:
    """The score from each indicator's value (pure: the store is read by `contractor_score`)."""
    rows = []
    for term in terms.indicators:
        spec = INDICATORS[term.key]
        result = values[term.key]
        points = None if result.value is None else points_for(term.weight, term.target, result.value)
        name = (term.name or spec.name_zh) if language == "zh" else spec.name_en
        rows.append(IndicatorScore(term.key, name, term.weight, term.target, term.formula, result, points))
    measured = [r for r in rows if r.points is not None]
    earned = sum((r.points for r in measured if r.points is not None), ZERO)
    measured_weight = sum((r.weight for r in measured), ZERO)
    missing_weight = sum((r.weight for r in rows if r.points is None), ZERO)
    score = q2(earned * HUNDRED / measured_weight) if measured_weight else None
    band = None if score is None else band_of(score, terms)
    rectify = score is not None and score < terms.rectify_below
    ineligible = score is not None and score <= terms.ineligible_at_or_below
    fee_amount, fee_source = fee
    deduction = (
        q2(fee_amount * terms.deduction_rate_pct / HUNDRED) if rectify and fee_amount is not None else None
    )
    consequences = []
    rate = num(terms.deduction_rate_pct)
    if rectify:
        if fee_amount is not None and deduction is not None:
            amount = _t(
                language,
                f"（季度服务费 {fee_amount:,.2f} 元 × {rate}% = {deduction:,.2f} 元）",
                f" ({fee_amount:,.2f} CNY × {rate}% = {deduction:,.2f} CNY)",
            )
        else:
            amount = _t(
                language,
                "（季度服务费未知：在 contract.toml 的 [score] 填写 fee_per_quarter）",
                " (the quarterly fee is unknown: set fee_per_quarter in [score] of contract.toml)",
            )
        consequences.append(
            _t(
                language,
                f"低于 {num(terms.rectify_below)} 分：须整改，并扣当季度服务费的 {rate}%{amount}",
                f"below {num(terms.rectify_below)}: rectification, and {rate}% of the quarter's fee deducted{amount}",
            )
        )
    if ineligible:
        consequences.append(
            _t(
                language,
                f"{num(terms.ineligible_at_or_below)} 分及以下：不得参与下一年度合同",
                f"{num(terms.ineligible_at_or_below)} or below: not eligible for next year's contract",
            )
        )
    incomplete = ""
    missing = [r for r in rows if r.points is None]
    if missing and measured:
        names = _t(language, "、", ", ").join(f"{r.name} {num(r.weight)}" for r in missing)
        incomplete = _t(
            language,
            f"不完整：{num(missing_weight)} 分权重无证据（{names}）；得分为有证据的 {num(measured_weight)} 分权重折算为百分制",
            f"incomplete: {num(missing_weight)} points of weight have no evidence ({names}); the score is "
            f"the {num(measured_weight)} measured points rescaled to 100",
        )
    elif missing:
        incomplete = _t(language, "没有任何指标有证据，无法评分", "no indicator has evidence: no score")
    return Score(
        as_of=at,
        period=period,
        language=language,
        indicators=rows,
        points=earned,
        measured_weight=measured_weight,
        missing_weight=missing_weight,
        score=score,
        band=band,
        rectification=rectify,
        deduction_rate_pct=terms.deduction_rate_pct,
        fee_per_quarter=fee_amount,
        fee_source=fee_source,
        deduction=deduction,
        ineligible=ineligible,
        consequences=consequences,
        incomplete=incomplete,
        thresholds={
            "rectify_below": terms.rectify_below,
            "ineligible_at_or_below": terms.ineligible_at_or_below,
            "at_risk_below": terms.at_risk_below,
        },
    )


def contractor_score(
    session: Session, contract: Mapping[str, Any], zone: ZoneInfo, at: datetime, language: str = "zh"
) -> Score:
    """The contractor's running score as of `at`: every indicator over the period, the band, the consequences."""
    terms = score_terms(contract)
    period = score_period(contract, zone, at)
    values: dict[str, IndicatorValue] = {}
    for term in terms.indicators:
        spec = INDICATORS[term.key]
        if not period.started:
            values[term.key] = IndicatorValue(
                None,
                missing=_t(
                    language,
                    f"合同 {period.first_day.isoformat()} 才开始",
                    f"the contract starts on {period.first_day.isoformat()}",
                ),
            )
            continue
        values[term.key] = spec.fn(
            IndicatorInputs(session, contract, zone, period.start, period.end, language)
        )
    return assemble(
        terms, period, at, values, language, quarter_fee(contract, period.end.astimezone(zone).date())
    )


# --- JSON and rows -------------------------------------------------------------------------------------


def _dec(value: Decimal | None) -> str | None:
    """Decimals go out as strings: exact, never a float."""
    return None if value is None else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def indicator_json(row: IndicatorScore) -> dict[str, Any]:
    r = row.result
    return {
        "key": row.key,
        "name": row.name,
        "formula": r.formula,
        "contract_formula": row.contract_formula,
        "inputs": _jsonable(r.inputs),
        "inputs_text": r.inputs_text,
        "numerator": _jsonable(r.numerator),
        "denominator": _jsonable(r.denominator),
        "value": _dec(r.value),
        "target": _dec(row.target),
        "weight": _dec(row.weight),
        "points": _dec(row.points),
        "missing": r.missing,
        "evidence": list(r.evidence),
    }


def score_json(score: Score, zone: ZoneInfo) -> dict[str, Any]:
    """The whole score as JSON-ready data (decimals as strings, times in the site's zone)."""
    return {
        "as_of": score.as_of.astimezone(zone).isoformat(),
        "period": {
            "kind": score.period.kind,
            "label": score.period.label,
            "first_day": score.period.first_day.isoformat(),
            "last_day": score.period.last_day.isoformat(),
            "until": score.period.end.astimezone(zone).isoformat(),
        },
        "indicators": [indicator_json(r) for r in score.indicators],
        "points": _dec(score.points),
        "measured_weight": _dec(score.measured_weight),
        "missing_weight": _dec(score.missing_weight),
        "score": _dec(score.score),
        "band": score.band,
        "rectification": score.rectification,
        "deduction": {
            "rate_pct": _dec(score.deduction_rate_pct),
            "fee_per_quarter": _dec(score.fee_per_quarter),
            "fee_source": score.fee_source,
            "amount": _dec(score.deduction),
        },
        "ineligible": score.ineligible,
        "consequences": list(score.consequences),
        "incomplete": score.incomplete,
        "missing": [
            {"key": r.key, "name": r.name, "weight": _dec(r.weight), "reason": r.result.missing}
            for r in score.missing
        ],
        "thresholds": {k: _dec(v) for k, v in score.thresholds.items()},
    }


def summary_lines(score: Score) -> list[str]:
    """The total, band, consequences and what is missing, one line each (under the indicators table)."""
    zh = score.language == "zh"
    p = score.period
    lines = [
        (
            f"考核期：{p.label}（{p.first_day.isoformat()} 起，截至 {format_local(p.end, p.zone)}）"
            if zh
            else f"period: {p.label} (from {p.first_day.isoformat()} until {format_local(p.end, p.zone)})"
        )
    ]
    if score.score is None:
        lines.append("得分：无（没有任何指标有证据）" if zh else "score: none (no indicator has evidence)")
    else:
        lines.append(
            f"得分：{score.score}（{band_label(score.band, 'zh')}）；已计量指标得 {score.points} / {num(score.measured_weight)} 分"
            if zh
            else f"score: {score.score} ({band_label(score.band, 'en')}); the measured indicators earned "
            f"{score.points} of {num(score.measured_weight)} points"
        )
    if score.incomplete:
        lines.append(score.incomplete)
    if score.score is not None:
        lines.append(
            ("后果：" if zh else "consequences: ")
            + (("；" if zh else "; ").join(score.consequences) or ("无" if zh else "none"))
        )
    for r in score.missing:
        lines.append(
            f"缺证据：{r.name}（{num(r.weight)} 分）：{r.result.missing}"
            if zh
            else f"missing: {r.name} ({num(r.weight)} points): {r.result.missing}"
        )
    return lines


# --- the indicators ------------------------------------------------------------------------------------


def _state_at(events: list[tuple[datetime, str]], moment: datetime) -> str:
    """A finding's status at `moment` from its lifecycle events (time order): resolved or open."""
    state = "open"
    for at, action in events:
        if at > moment:
            break
        state = "resolved" if action == "resolved" else "open"
    return state


@indicator("findings_on_time_rate", name_zh="问题按期整改率", name_en="findings rectified on time")
def findings_on_time_rate(inputs: IndicatorInputs) -> IndicatorValue:
    session, contract, zone, start, end, language = inputs

    formula = _t(
        language,
        "在整改期限内解决的问题 ÷ 整改期限落在考核期内的问题 × 100%（期限 = 首次发现时间 + 按严重程度的整改期限）",
        "findings resolved by their deadline ÷ findings whose deadline fell in the period × 100% (deadline = "
        "first seen + the rectification term of its severity)",
    )
    terms = rectification_terms(contract)
    excluded = score_terms(contract).exclude_checks
    longest = max(terms.critical, terms.warning, terms.info)
    # A finding's state at its deadline comes from its lifecycle events. One never reopened has two, opened
    # (first seen) and resolved (at resolved_at, written together: findings/engine.py), so resolved_at says
    # it; the events are read only for the few ever reopened, not for a year of findings.
    reopened = sorted(
        set(
            session.scalars(
                select(FindingEvent.finding_id).where(
                    FindingEvent.action == "reopened", FindingEvent.at >= start - longest
                )
            )
        )
    )
    events: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for chunk in range(0, len(reopened), 500):  # bound the IN list
        for fid, at, action in session.execute(
            select(FindingEvent.finding_id, FindingEvent.at, FindingEvent.action)
            .where(
                FindingEvent.finding_id.in_(reopened[chunk : chunk + 500]),
                FindingEvent.action.in_(("opened", "reopened", "resolved")),
            )
            .order_by(FindingEvent.at, FindingEvent.id)
        ):
            events[fid].append((from_store(at), action))  # type: ignore[arg-type]
    # One pass over the period's findings in id order, streamed (a year of them is read: the console's
    # 经费与考核 page and overview compute this), keeping the counts and the first late ones the evidence lists.
    query = (
        select(
            Finding.id,
            Finding.severity,
            Finding.subject,
            Finding.check,
            Finding.first_seen,
            Finding.resolved_at,
        )
        .where(Finding.first_seen >= start - longest, Finding.first_seen < end)
        .order_by(Finding.id)
        .execution_options(yield_per=2000)
    )
    if excluded:
        query = query.where(Finding.check.notin_(excluded))
    due = on_time = 0
    late: list[tuple[Any, datetime, datetime | None]] = []
    late_count = 0
    for f in session.execute(query):
        first_seen = from_store(f.first_seen)
        assert first_seen is not None
        when = deadline(first_seen, f.severity, terms)
        if not start <= when < end:
            continue
        due += 1
        resolved = from_store(f.resolved_at)
        if f.id in events:
            in_time = _state_at(events[f.id], when) == "resolved"
        else:
            in_time = resolved is not None and resolved <= when
        if in_time:
            on_time += 1
            continue
        late_count += 1
        if len(late) < MAX_EVIDENCE:
            late.append((f, when, resolved))
    if not due:
        return IndicatorValue(
            None,
            formula=formula,
            missing=_t(language, "考核期内没有到整改期限的问题", "no finding's deadline fell in the period"),
        )
    late_lines = []
    for f, when, resolved in late:
        if resolved is not None and resolved <= end:
            after = _t(
                language, f"{format_local(resolved, zone)} 解决", f"resolved {format_local(resolved, zone)}"
            )
        else:
            after = _t(language, "至今未解决", "still open")
        severity = SEVERITY_ZH.get(f.severity, f.severity) if language == "zh" else f.severity
        late_lines.append(
            _t(
                language,
                f"#{f.id} {severity} {f.subject}（{f.check}）：期限 {format_local(when, zone)}，{after}",
                f"#{f.id} {severity} {f.subject} ({f.check}): due {format_local(when, zone)}, {after}",
            )
        )
    return IndicatorValue(
        percent(on_time, due),
        on_time,
        due,
        formula,
        {"due": due, "on_time": on_time, "excluded_checks": list(excluded)},
        _t(
            language,
            f"按期解决 {on_time} 个 / 到期 {due} 个",
            f"{on_time} of {due} resolved by their deadline",
        ),
        _listed(late_lines, language, total=late_count),
    )


__all__ = [
    "DEFAULT_EXCLUDED_CHECKS",
    "INDICATORS",
    "IndicatorScore",
    "IndicatorSpec",
    "IndicatorTerm",
    "IndicatorValue",
    "Score",
    "ScorePeriod",
    "ScoreSection",
    "assemble",
    "band_label",
    "band_of",
    "contractor_score",
    "indicator",
    "indicator_json",
    "percent",
    "points_for",
    "quarter_fee",
    "score_json",
    "score_period",
    "score_terms",
    "summary_lines",
]


# --- the rows of `ops-watch score` (and of the console page) ---


def _pct(value: Any) -> str:
    return "" if value is None else f"{value}%"


def indicator_rows(score: Score, fmt: str) -> list[dict[str, Any]]:
    """One row per indicator; for CSV a last row with the total. Decimals as text: exact, never a float."""
    zh = score.language == "zh"
    rows = []
    for r in score.indicators:
        formula = r.result.formula
        if r.contract_formula:
            formula += (
                ("（合同：" + r.contract_formula + "）") if zh else f" (contract: {r.contract_formula})"
            )
        missing = ("无证据：" if zh else "no evidence: ") + r.result.missing
        rows.append(
            {
                "key": r.key,
                "indicator": r.name,
                "formula": formula,
                "inputs": r.result.inputs_text or (missing if fmt == "table" else ""),
                "value": _pct(r.value) if fmt == "table" else r.value,
                "target": f"{r.target.normalize():f}%" if fmt == "table" else r.target,
                "weight": r.weight,
                "points": ("—" if fmt == "table" else None) if r.points is None else r.points,
                "missing": r.result.missing,
                "evidence": ("；" if zh else "; ").join(r.result.evidence),
            }
        )
    if fmt == "csv":
        sep = "；" if zh else "; "
        band = score.band if zh or score.band is None else BAND_EN.get(score.band, score.band)
        rows.append(
            {
                "key": "total",
                "indicator": "总分（折算百分制）" if zh else "score (rescaled to 100)",
                "formula": "已计量指标得分 ÷ 已计量权重 × 100"
                if zh
                else "points earned ÷ weight measured × 100",
                "inputs": f"得 {score.points} / {score.measured_weight} 分"
                if zh
                else f"{score.points} of {score.measured_weight} points",
                "value": score.score,
                "target": None,
                "weight": score.measured_weight,
                "points": score.points,
                "missing": score.incomplete,
                "evidence": sep.join(x for x in [band or "", *score.consequences] if x),
            }
        )
    return rows
