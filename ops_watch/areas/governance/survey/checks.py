"""survey_coverage_low (R8): a survey round answered by too few tenant units or too few people.

The terms are `[survey]` in contract.toml (ops_watch.areas.governance.survey.model). The current round is judged from its judge day
(judge_from: a survey usually happens late in the round) and the previous round, which has ended, always: its
answers are final. One finding per round (subject "满意度调查 2026" / "survey 2026", period = the round), so it
stays the same finding from one evaluation to the next and resolves when late answers bring the round up to
the terms. Rounds before the contract's start or after its end are not judged; older rounds' findings are left
as they are (ctx.scope_start).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from ops_watch.areas.governance.survey.model import (
    MAX_LISTED,
    Coverage,
    SurveyPeriod,
    SurveySection,
    coverage_days,
    joined,
    period_containing,
    survey_terms,
)
from ops_watch.core.contract import ContractMeta
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, check
from ops_watch.store.schema import InventoryResource, SurveyResponse


def rounds_to_judge(terms: SurveySection, contract: dict, today: date) -> list[SurveyPeriod]:
    """The previous round (ended) and the current one once its judge day has come; none outside the contract."""
    current = period_containing(today, terms.period)
    rounds = [current.previous()]
    if today >= current.judge_day(terms):
        rounds.append(current)
    meta = contract.get("contract")
    if isinstance(meta, ContractMeta):
        rounds = [
            r
            for r in rounds
            if (meta.start is None or r.last >= meta.start) and (meta.end is None or r.first <= meta.end)
        ]
    return rounds


def shortfalls(cov: Coverage, terms: SurveySection) -> dict[str, bool]:
    return {
        "coverage": cov.coverage is not None and cov.coverage < Decimal(str(terms.min_unit_coverage)),
        "respondents": cov.respondents < terms.min_respondents,
        "thin_units": bool(cov.thin(terms.min_respondents_per_unit)),
    }


@check(
    "survey_coverage_low",
    params=NoParams,
    area="governance",
    terms="survey",
    example="""
[[rule]]
id = "survey-coverage-low"
check = "survey_coverage_low"
severity = "warning"
title = "满意度调查覆盖面不足"
""",
)
def survey_coverage_low(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """One finding per judged round whose answers cover fewer tenant units than min_unit_coverage, come from
    fewer people than min_respondents, or leave an answered unit with fewer than min_respondents_per_unit."""
    # coverage_days() reads the answers and the tenant units of the inventory itself: both are grounds.
    ctx.reads(SurveyResponse, InventoryResource)
    terms = survey_terms(ctx.contract)
    today = ctx.at.astimezone(ctx.zone).date()
    rounds = rounds_to_judge(terms, ctx.contract, today)
    if not rounds:
        return
    ctx.scope_start = local_day_bounds(rounds[0].first, ctx.zone)[0]
    for r in rounds:
        # Only answers dated up to the evaluation day: the check sees what was known then.
        cov = coverage_days(ctx.session, terms, r.first, min(r.last, today))
        if not cov.expected and not cov.others:
            continue  # no tenant unit known and no answer: nothing to judge
        short = shortfalls(cov, terms)
        if not cov.expected:
            short["units_unknown"] = True
        if not any(short.values()):
            continue
        yield _finding(ctx, terms, r, cov, short, today)


def _finding(
    ctx: CheckContext,
    terms: SurveySection,
    r: SurveyPeriod,
    cov: Coverage,
    short: dict[str, bool],
    today: date,
) -> FindingDraft:
    lang = ctx.language
    zh = lang == "zh"
    parts = []
    if cov.expected:
        parts.append(
            ctx.t(
                f"{len(cov.expected)} 个租户单位中 {len(cov.answered)} 个作答（覆盖率 {cov.coverage}%，"
                f"要求 ≥ {terms.min_unit_coverage:g}%）",
                f"{len(cov.answered)} of {len(cov.expected)} tenant units answered (coverage {cov.coverage}%, at "
                f"least {terms.min_unit_coverage:g}% required)",
            )
        )
    else:
        parts.append(
            ctx.t(
                "不知道有哪些租户单位（资源清单为空，[survey] 也未列 units），无法计算覆盖率",
                "the tenant units are unknown (no inventory, no [survey] units): no coverage",
            )
        )
    parts.append(
        ctx.t(
            f"答卷人 {cov.respondents} 名（要求 ≥ {terms.min_respondents}）",
            f"{cov.respondents} respondents (at least {terms.min_respondents} required)",
        )
    )
    if cov.missing:
        parts.append(ctx.t("未作答：", "no answer from: ") + joined(cov.missing, lang))
    thin = cov.thin(terms.min_respondents_per_unit)
    if thin:
        listed = ("、" if zh else ", ").join(
            ctx.t(f"{u.unit}（{u.respondents} 人）", f"{u.unit} ({u.respondents})") for u in thin[:5]
        )
        parts.append(
            ctx.t(
                f"作答不足 {terms.min_respondents_per_unit} 人：{listed}",
                f"fewer than {terms.min_respondents_per_unit} respondents: {listed}",
            )
        )
    if cov.others:
        parts.append(
            ctx.t(
                "另有非租户单位的答卷未计入：" + joined([u.unit for u in cov.others], lang),
                "answers from units that are not tenant units, not counted: "
                + joined([u.unit for u in cov.others], lang),
            )
        )
    sofar = (
        ctx.t(
            f"（截至 {today.isoformat()}，本轮至 {r.last.isoformat()}）",
            f" (as of {today.isoformat()}, the round ends {r.last.isoformat()})",
        )
        if today < r.last
        else ""
    )
    summary = ctx.t(
        f"满意度调查 {r.label}{sofar}：" + "；".join(parts) + "。一份问卷不能代表整个单位（局）的满意度。",
        f"survey {r.label}{sofar}: "
        + "; ".join(parts)
        + ". A single questionnaire cannot stand for a whole bureau.",
    )
    # Dated from the round's judge day, when the shortfall starts to count, not from the round's first day.
    start = local_day_bounds(min(r.judge_day(terms), r.last), ctx.zone)[0]
    return FindingDraft(
        subject=ctx.t(f"满意度调查 {r.label}", f"survey {r.label}"),
        summary=summary,
        evidence={
            "period": r.label,
            "from": r.first.isoformat(),
            "to": r.last.isoformat(),
            "as_of": min(today, r.last).isoformat(),
            "units_from": cov.units_from,
            "units_expected": len(cov.expected),
            "units_answered": [
                {"unit": u.unit, "respondents": u.respondents, "responses": u.responses, "mean": str(u.mean)}
                for u in cov.answered
            ],
            "units_missing": list(cov.missing[:MAX_LISTED]),
            "units_missing_total": len(cov.missing),
            "not_tenant_units": [{"unit": u.unit, "respondents": u.respondents} for u in cov.others],
            "coverage_pct": None if cov.coverage is None else str(cov.coverage),
            "respondents": cov.respondents,
            "mean": None if cov.mean is None else str(cov.mean),
            "shortfalls": sorted(k for k, v in short.items() if v),
            "min_unit_coverage": terms.min_unit_coverage,
            "min_respondents": terms.min_respondents,
            "min_respondents_per_unit": terms.min_respondents_per_unit,
            "target_mean": terms.target_mean,
        },
        period_start=start,
    )
