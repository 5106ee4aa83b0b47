"""The contractor score at risk (R12): the running score under the contract's alert line.

The score is ops_watch.areas.money.score.model's (the same as `ops-watch score` prints). One finding per scoring period
(subject "承包商考核 2026", the period's bounds): warning under `[score] at_risk_below` (85), critical under
`rectify_below` (80, where rectification and a deduction follow); it resolves when the score climbs back.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import Field

from ops_watch.areas.money.score.model import Score, band_label, contractor_score, indicator_json, score_terms
from ops_watch.findings.indicators import num
from ops_watch.findings.registry import CheckContext, FindingDraft, Params, check
from ops_watch.store.schema import (
    AuditSubmission,
    BackupJob,
    DoorEvent,
    Drill,
    HandoverShift,
    InventoryResource,
    StaffMember,
    SurveyResponse,
)

AREA = "money"
# The batch tables each indicator judges by (its own queries: the staffing view, the continuity systems of the
# inventory, the survey's tenant units): the score's finding rests on those of the indicators the contract
# scores, and names their seals. findings_on_time_rate counts findings, no evidence batch.
INDICATOR_READS: dict[str, tuple[Any, ...]] = {
    "staffing_rate": (DoorEvent, HandoverShift, StaffMember),
    "handover_verified_rate": (DoorEvent, HandoverShift, StaffMember),
    "drill_completion_rate": (Drill, InventoryResource),
    "backup_success_rate": (BackupJob, InventoryResource),
    "audit_timeliness_rate": (AuditSubmission,),
    "satisfaction": (SurveyResponse, InventoryResource),
}


class ScoreAtRiskParams(Params):
    # A score measured on less weight than this says too little to alert on (early in a year, before the
    # first drill falls due, only a few indicators have evidence).
    min_measured_weight: Decimal = Field(default=Decimal(50), ge=0, le=100)


def subject(label: str) -> str:
    # Stable whatever the language: the fingerprint is rule + subject + period.
    return f"承包商考核 {label}"


def evidence(score: Score) -> dict[str, Any]:
    """The indicators table and the verdict, as the finding keeps them (decimals as text: exact)."""
    return {
        "period": score.period.label,
        "as_of": score.as_of.astimezone(score.period.zone).isoformat(),
        "score": str(score.score),
        "band": score.band,
        "points": str(score.points),
        "measured_weight": str(score.measured_weight),
        "missing_weight": str(score.missing_weight),
        "incomplete": score.incomplete,
        "consequences": list(score.consequences),
        "deduction": None if score.deduction is None else str(score.deduction),
        "thresholds": {k: str(v) for k, v in score.thresholds.items()},
        "indicators": [indicator_json(r) for r in score.indicators],
    }


@check(
    "contractor_score_at_risk",
    params=ScoreAtRiskParams,
    area=AREA,
    terms="score",
    example="""
[[rule]]
id = "contractor-score-at-risk"
check = "contractor_score_at_risk"
severity = "warning"
title = "承包商考核得分低于预警线"
[rule.params]
min_measured_weight = 50
""",
)
def contractor_score_at_risk(ctx: CheckContext, params: ScoreAtRiskParams) -> Iterator[FindingDraft]:
    """The running score under `[score] at_risk_below`: a warning; under `rectify_below`: critical."""
    terms = score_terms(ctx.contract)
    for term in terms.indicators:
        ctx.reads(*INDICATOR_READS.get(term.key, ()))
    score = contractor_score(ctx.session, ctx.contract, ctx.zone, ctx.at, ctx.language)
    if score.score is None or score.measured_weight < params.min_measured_weight:
        return
    if score.score >= terms.at_risk_below:
        return
    critical = score.score < terms.rectify_below
    band = band_label(score.band, ctx.language)
    then = ctx.t("；", "; ").join(score.consequences)
    lowest = sorted(
        (r for r in score.indicators if r.points is not None and r.points < r.weight),
        key=lambda r: r.points - r.weight,  # type: ignore[operator]
    )[:3]
    lost_zh = "、".join(f"{r.name} {r.value}%（目标 {num(r.target)}%）" for r in lowest)
    lost_en = ", ".join(f"{r.name} {r.value}% (target {num(r.target)}%)" for r in lowest)
    incomplete = (ctx.t("；", "; ") + score.incomplete) if score.incomplete else ""
    yield FindingDraft(
        subject=subject(score.period.label),
        period_start=score.period.start,
        period_end=score.period.closes,
        severity="critical" if critical else None,
        summary=ctx.t(
            f"承包商考核 {score.period.label} 截至 {score.as_of.astimezone(ctx.zone):%Y-%m-%d} 得分 "
            f"{score.score}（{band}），低于预警线 {num(terms.at_risk_below)} 分"
            + (f"；{then}" if then else "")
            + (f"；失分最多：{lost_zh}" if lost_zh else "")
            + incomplete,
            f"contractor score {score.period.label} as of {score.as_of.astimezone(ctx.zone):%Y-%m-%d}: "
            f"{score.score} ({band}), under the alert line of {num(terms.at_risk_below)}"
            + (f"; {then}" if then else "")
            + (f"; most points lost: {lost_en}" if lost_en else "")
            + incomplete,
        ),
        evidence=evidence(score),
    )
