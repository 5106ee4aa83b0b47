"""Audit-material checks (R6): a material past its deadline with nothing received, handed in late, or handed in
with no recorded time (the gap the evaluators hit).

The terms are `[audit]` in contract.toml (ops_watch.areas.governance.audit.model); without materials nothing is judged. A finding is
about one material's period (named in its subject; its period_start is the period's deadline, when the problem
began), so it stays the same finding between evaluations. The look-back: the window starts with the earliest
period, of any material, whose deadline (+ grace) fell in the last `lookback_days` days; every period from that
day whose deadline has passed by ctx.at is judged. Findings whose deadline is older than the look-back are left
as they are (ctx.scope_start), not resolved because the window moved on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from pydantic import Field

from ops_watch.areas.governance.audit.model import (
    AuditMaterial,
    Period,
    Timeliness,
    audit_terms,
    deadline,
    judge,
    periods_due,
    periods_overlapping,
)
from ops_watch.core.timeutil import format_local
from ops_watch.findings.registry import CheckContext, FindingDraft, Params, check
from ops_watch.store.schema import AuditSubmission


class LookBack(Params):
    lookback_days: int = Field(default=400, ge=1, le=3660)


def _window(ctx: CheckContext, params: LookBack) -> list[tuple[AuditMaterial, Period]]:
    """The (material, period) pairs judged at ctx.at; sets ctx.scope_start to the window's first day."""
    terms = audit_terms(ctx.contract)
    if not terms.materials:
        return []
    since = ctx.at - timedelta(days=params.lookback_days)
    firsts = [
        p.first
        for m in terms.materials
        for p in periods_due(m, ctx.contract, ctx.zone, since, ctx.at, terms.grace)[:1]
    ]
    if not firsts:  # nothing fell due lately (e.g. the contract ended): older findings stay as they are
        ctx.scope_start = since
        return []
    first_day = min(firsts)
    # Findings are dated by their deadline (below): every period left out of the window fell due before `since`.
    ctx.scope_start = since
    today = ctx.at.astimezone(ctx.zone).date()
    return [
        (m, p)
        for m in terms.materials
        for p in periods_overlapping(m, ctx.contract, first_day, today)
        if p.first >= first_day and deadline(m, p, ctx.zone) + terms.grace <= ctx.at
    ]


def _judged(ctx: CheckContext, params: LookBack, status: str) -> list[Timeliness]:
    # judge() reads the submissions itself: every audit finding rests on the register's rows (their seals).
    ctx.reads(AuditSubmission)
    pairs = _window(ctx, params)
    if not pairs:
        return []
    rows = judge(ctx.session, audit_terms(ctx.contract), ctx.zone, ctx.at, pairs)
    return [r for r in rows if r.status == status]


def _draft(ctx: CheckContext, row: Timeliness, summary: str, **evidence: Any) -> FindingDraft:
    return FindingDraft(
        subject=f"{row.material.name_zh} {row.period.key}",
        summary=summary,
        evidence={
            "material": row.material.key,
            "name": row.material.name_zh,
            "period": row.period.key,
            "cadence": row.material.cadence,
            "due": row.due.isoformat(),
            "deadline": format_local(row.deadline, ctx.zone),
            "grace": str(row.grace),
            **evidence,
        },
        # The problem begins at the deadline, not with the month it is about (the weekly report dates a
        # finding by its period's start); the subject names the material's period.
        period_start=row.deadline,
    )


def _days_past(ctx: CheckContext, due: date) -> int:
    return (ctx.at.astimezone(ctx.zone).date() - due).days


@check(
    "audit_missing",
    params=LookBack,
    area="governance",
    terms="audit",
    example="""
[[rule]]
id = "audit-missing"
check = "audit_missing"
severity = "warning"
title = "审计材料逾期未报送"
[rule.params]
lookback_days = 400
""",
)
def audit_missing(ctx: CheckContext, params: LookBack) -> Iterator[FindingDraft]:
    """A material's period whose deadline (+ grace) has passed with nothing received; resolves when a
    submission arrives (then audit_late says how late it was)."""
    for row in _judged(ctx, params, "missing"):
        name = row.material.name_zh
        days = _days_past(ctx, row.due)
        yield _draft(
            ctx,
            row,
            ctx.t(
                f"{name} {row.period.key} 未报送：截止 {row.deadline_text('zh')}，已过 {days} 天",
                f"{row.material.name('en')} {row.period.key} not handed in: due {row.deadline_text('en')}, "
                f"{days} day(s) ago",
            ),
            received=0,
        )


@check(
    "audit_late",
    params=LookBack,
    area="governance",
    terms="audit",
    example="""
[[rule]]
id = "audit-late"
check = "audit_late"
severity = "info"
title = "审计材料迟交"
""",
)
def audit_late(ctx: CheckContext, params: LookBack) -> Iterator[FindingDraft]:
    """A material's period whose first submission came after the deadline (+ grace); says how late."""
    for row in _judged(ctx, params, "late"):
        yield _draft(
            ctx,
            row,
            ctx.t(
                f"{row.material.name_zh} {row.period.key} 迟交 {row.late_text('zh')}：截止 "
                f"{row.deadline_text('zh')}，首次报送 {row.submitted_text(ctx.zone, 'zh')}",
                f"{row.material.name('en')} {row.period.key} handed in {row.late_text('en')} late: due "
                f"{row.deadline_text('en')}, first submission {row.submitted_text(ctx.zone, 'en')}",
            ),
            submitted_at=format_local(row.first_at, ctx.zone),
            date_only=row.date_only,
            late_by=row.late_text("en"),
            late_seconds=int(row.late_by.total_seconds()) if row.late_by else 0,
            submitted_by=row.submitted_by,
            document=row.document,
            source=row.source,
        )


@check(
    "audit_time_unrecorded",
    params=LookBack,
    area="governance",
    terms="audit",
    example="""
[[rule]]
id = "audit-time-unrecorded"
check = "audit_time_unrecorded"
severity = "warning"
title = "审计材料未记录报送时间"
""",
)
def audit_time_unrecorded(ctx: CheckContext, params: LookBack) -> Iterator[FindingDraft]:
    """A material's period, past its deadline, handed in but with no submission time on any row: whether it
    was on time cannot be verified (the evaluators' finding). Resolves when a time is recorded."""
    for row in _judged(ctx, params, "unrecorded"):
        yield _draft(
            ctx,
            row,
            ctx.t(
                f"{row.material.name_zh} {row.period.key} 有报送记录但未记录报送时间，无法核实是否按期"
                f"（截止 {row.deadline_text('zh')}）：请在登记表中补填报送时间，或直接投递材料文件以记录到达时间",
                f"{row.material.name('en')} {row.period.key} was handed in but no submission time was "
                f"recorded, so its timeliness cannot be verified (due {row.deadline_text('en')}): fill in the "
                f"time in the register, or drop the document itself so its arrival is recorded",
            ),
            received=row.received,
            submitted_by=row.submitted_by,
            document=row.document,
        )
