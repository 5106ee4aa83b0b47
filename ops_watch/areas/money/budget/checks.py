"""Budget execution risk (R11): the year-end execution rate forecast under the contract's target.

The evaluation found 4.58 M CNY carried over at 77.06 % execution after 10.21 M had already been taken back
mid-year. Money the plan will not spend can be handed back while the year still runs; so from `warn_from`
(contract.toml [budget], default June 30) a forecast under `target_rate` is a finding that says how much.
ops_watch.areas.money.budget.model computes the figures; docs/money.md explains the forecast.
"""

from __future__ import annotations

from collections.abc import Iterator

from ops_watch.areas.money.budget.model import BudgetStatus, budget_status, budget_terms, wan
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, check
from ops_watch.store.schema import BillingStatement, BudgetEvent


def subject(year: int) -> str:
    # Stable whatever the language: the fingerprint is rule + subject + period.
    return f"预算执行 {year}"


def _summary(ctx: CheckContext, s: BudgetStatus) -> str:
    lacks = (
        ctx.t(
            f"（预测缺 {len(s.missing)} 项，见证据）",
            f" (the forecast lacks {len(s.missing)} item(s): see evidence)",
        )
        if s.missing
        else ""
    )
    return ctx.t(
        f"{s.year} 年预算预计年末执行率 {s.forecast_rate}%，低于目标 {s.target_rate}%：全年预算 {wan(s.final)} 万元，"
        f"截至 {s.as_of.isoformat()} 已支付 {wan(s.paid)} 万元（{s.execution_rate}%），计划再支付 "
        f"{wan(s.planned_total)} 万元，预计结转 {wan(s.forecast_carry_over)} 万元。现在即可交回 "
        f"{wan(s.forecast_carry_over)} 万元（至少交回 {wan(s.hand_back_minimum)} 万元方能达到目标），"
        f"不必等到年末结转{lacks}",
        f"{s.year} budget: forecast year-end execution {s.forecast_rate}%, under the target of {s.target_rate}%: "
        f"final budget {wan(s.final)} 万元 (10k CNY), paid {wan(s.paid)} up to {s.as_of.isoformat()} "
        f"({s.execution_rate}%), {wan(s.planned_total)} still planned, {wan(s.forecast_carry_over)} forecast to "
        f"carry over. {wan(s.forecast_carry_over)} 万元 could be handed back now (at least "
        f"{wan(s.hand_back_minimum)} to reach the target) instead of carrying it over{lacks}",
    )


@check(
    "budget_execution_risk",
    params=NoParams,
    area="money",
    terms="budget",
    example="""
[[rule]]
id = "budget-execution-risk"
check = "budget_execution_risk"
severity = "warning"
title = "预算预计年末执行率低于目标，应及早交回"
""",
)
def budget_execution_risk(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """The current year's forecast execution rate under contract.toml [budget] target_rate, from warn_from on:
    one finding per year, with the figures, the planned payments and the money to hand back."""
    # budget_status() reads the budget events and the statements (the paid months) itself: both are grounds.
    ctx.reads(BudgetEvent, BillingStatement)
    today = ctx.at.astimezone(ctx.zone).date()
    terms = budget_terms(ctx.contract)
    if today < terms.warn_date(today.year):
        return
    status = budget_status(ctx.session, ctx.contract, today.year, today, language=ctx.language)
    if not status.below_target:
        return  # on target, or no final budget to judge (status.missing says why)
    evidence = status.as_dict()
    evidence["hand_back"] = str(status.forecast_carry_over)
    evidence["hand_back_wan"] = wan(status.forecast_carry_over)
    evidence["warn_from"] = terms.warn_date(today.year).isoformat()
    yield FindingDraft(
        subject=subject(today.year),
        summary=_summary(ctx, status),
        evidence=evidence,
        # Judged from warn_from on: the weekly report dates the finding from then, not from January 1.
        period_start=local_day_bounds(terms.warn_date(today.year), ctx.zone)[0],
    )
