"""Money checks (R11): the contractor's monthly statements against the inventory, and cost indicators against
their targets. The computations live in ops_watch.areas.money.billing.model (shared with `ops-watch billing reconcile`), so a
finding and the command always agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from pydantic import Field

from ops_watch.areas.money.billing.model import (
    CostActual,
    billing_terms,
    cost_actual,
    explanation_for,
    line_evidence,
    line_summary,
    money_text,
    month_bounds,
    month_of,
    pct_text,
    reconcile,
    statement_months,
)
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, Params, check
from ops_watch.store.schema import BillingStatement, IndicatorExplanation, InventoryResource

AREA = "money"


class MismatchParams(Params):
    months_back: int = Field(default=3, ge=1, le=36)  # the last N complete months that have statements


def _today(ctx: CheckContext) -> date:
    return ctx.at.astimezone(ctx.zone).date()


@check(
    "billing_mismatch",
    params=MismatchParams,
    area=AREA,
    terms="platforms",
    example="""
[[rule]]
id = "billing-mismatch"
check = "billing_mismatch"
severity = "warning"
title = "对账单与资源清单核算不符"
params = { months_back = 3 }
""",
)
def billing_mismatch(ctx: CheckContext, params: MismatchParams) -> Iterator[FindingDraft]:
    """One finding per (month, platform, item) of the last `months_back` complete months with a statement:
    a line whose billed amount differs from the measured one beyond the tolerance (both the percentage and the
    amount of contract.toml [billing]), a statement line with no matching resource, or a measured line the
    statement does not bill (severity info: the statement is incomplete or the inventory is stale)."""
    # reconcile() reads the statements and the inventory itself: a line's finding rests on both.
    ctx.reads(BillingStatement, InventoryResource)
    months = statement_months(ctx.session, before=month_of(_today(ctx)))[: params.months_back]
    # Older months are no longer judged: their findings stay as they are instead of being resolved.
    oldest = min(months) if months else month_of(_today(ctx))
    ctx.scope_start = local_day_bounds(month_bounds(oldest)[0], ctx.zone)[0]
    for month in sorted(months):
        first, last = month_bounds(month)
        start, end = local_day_bounds(first, ctx.zone)[0], local_day_bounds(last, ctx.zone)[1]
        for line in reconcile(ctx.session, ctx.contract, month).findings:
            yield FindingDraft(
                subject=line.subject,
                summary=line_summary(line, ctx.language),
                evidence=line_evidence(line),
                period_start=start,
                period_end=end,
                severity="info" if line.status == "not_billed" else None,
            )


def _deviation_summary(ctx: CheckContext, a: CostActual, threshold: str) -> str:
    t = a.target
    scope = (
        f"（{t.platform}）"
        if t.platform and ctx.language == "zh"
        else f" ({t.platform})"
        if t.platform
        else ""
    )
    return ctx.t(
        f"{t.period} {t.indicator}{scope}：实际 {money_text(a.actual)} 元，目标 {money_text(t.target)} 元，"
        f"偏差 {pct_text(a.deviation_pct)} %，超过 ±{threshold} %，偏差说明登记簿中没有说明",
        f"{t.period} {t.indicator}{scope}: actual {money_text(a.actual)} CNY against a target of "
        f"{money_text(t.target)} CNY, {pct_text(a.deviation_pct)} % off, beyond ±{threshold} %, "
        "and the explanation register has no explanation",
    )


@check(
    "cost_deviation_unexplained",
    params=NoParams,
    area=AREA,
    terms="billing",
    example="""
[[rule]]
id = "cost-deviation-unexplained"
check = "cost_deviation_unexplained"
severity = "warning"
title = "成本指标偏差超过阈值且未说明"
""",
)
def cost_deviation_unexplained(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """For each cost target of contract.toml [billing] whose period is over: the actual (Σ statement amounts
    of its months, of its platform when given) more than `deviation_pct` off the target, with no explanation
    recorded for (indicator, period). A period with a month lacking statement lines is not judged: its actual
    would be understated (billing_mismatch and the statement's absence are the story there)."""
    # cost_actual() sums the statements and explanation_for() looks in the register: the finding rests on both.
    ctx.reads(BillingStatement, IndicatorExplanation)
    terms = billing_terms(ctx.contract)
    threshold = f"{terms.deviation_pct.normalize():f}"
    today = _today(ctx)
    for target in terms.cost_targets:
        actual = cost_actual(ctx.session, target)
        if actual.last >= today or actual.missing or not actual.deviates(terms.deviation_pct):
            continue
        if explanation_for(ctx.session, target.indicator, target.period) is not None:
            continue
        evidence = actual.evidence()
        evidence.update(threshold_pct=threshold, explanation=None)
        yield FindingDraft(
            subject=f"{target.period} {target.indicator}",
            summary=_deviation_summary(ctx, actual, threshold),
            evidence=evidence,
            period_start=local_day_bounds(actual.first, ctx.zone)[0],
            period_end=local_day_bounds(actual.last, ctx.zone)[1],
        )
