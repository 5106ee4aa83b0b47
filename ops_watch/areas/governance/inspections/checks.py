"""Inspection checks (R7): planned inspections the center did not record, and rectifications past deadline.

The plan and the records are in the store (ops_watch.areas.governance.inspections.model); the terms in `[inspections]` of
contract.toml. A finding is about one inspection (its day and area): subject and period stay the same from one
evaluation to the next. Both checks see only what is dated up to the evaluation's day (site time).

- `inspection_missed`: a planned inspection whose day + grace_days is over with no record of its area dated
  from the planned day to day + grace_days. A record dated after that window does not make up for it: the
  inspection was not made when it was drawn, which is what an unannounced inspection is about. A record
  dated inside the window but entered late does resolve it (the inspection was made; its paper came late).
- `rectification_overdue`: a record with problems whose deadline is over and that was not rectified by the
  evaluation's day; open while not rectified, resolved on the day it is (also when that is late: the
  finding's history keeps how long it was open).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ops_watch.areas.governance.inspections.model import inspection_terms, planned_statuses
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, check
from ops_watch.store.schema import InspectionRecord


def _today(ctx: CheckContext) -> date:
    return ctx.at.astimezone(ctx.zone).date()


def _days(ctx: CheckContext, first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC bounds of the site days first..last (both included)."""
    return local_day_bounds(first, ctx.zone)[0], local_day_bounds(last, ctx.zone)[1]


@check(
    "inspection_missed",
    params=NoParams,
    area="governance",
    terms="inspections",
    example="""
[[rule]]
id = "inspection-missed"
check = "inspection_missed"
severity = "warning"
title = "计划的不定期检查未按时检查或未记录"
""",
)
def inspection_missed(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """One finding per planned inspection (day and area) with no record within grace_days of its day."""
    # planned_statuses() looks for the records itself: a missed inspection rests on the records (their seals).
    ctx.reads(InspectionRecord)
    terms = inspection_terms(ctx.contract)
    today = _today(ctx)
    for s in planned_statuses(ctx.session, terms, today):
        if s.status != "missed":
            continue
        last = s.day + timedelta(days=terms.grace_days)
        name = terms.name_of(s.area, ctx.language)
        reminded = s.reminded_at.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M") if s.reminded_at else ""
        yield FindingDraft(
            subject=f"{s.day.isoformat()} {name}",
            summary=ctx.t(
                f"{s.day.isoformat()} 计划的不定期检查（{name}）没有检查记录（应于 {last.isoformat()} 前记录）",
                f"the unannounced inspection of {s.day.isoformat()} ({name}) has no record (due by "
                f"{last.isoformat()})",
            ),
            evidence={
                "planned_day": s.day.isoformat(),
                "area": s.area,
                "grace_days": terms.grace_days,
                "record_by": last.isoformat(),
                "reminded_at": reminded or None,
                "how_to_record": f"ops-watch inspections record --date {s.day.isoformat()} --area {s.area} "
                "--inspector NAME --result pass|problems",
            },
            # Missed once the last day to record it has ended (the subject names the planned day).
            period_start=_days(ctx, last, last)[1],
            grounds_from=_days(ctx, s.day, s.day)[0],  # the records (none of its area) since the planned day
        )


@check(
    "rectification_overdue",
    params=NoParams,
    area="governance",
    terms="inspections",
    example="""
[[rule]]
id = "rectification-overdue"
check = "rectification_overdue"
severity = "warning"
title = "检查发现的问题逾期未整改"
""",
)
def rectification_overdue(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """One finding per inspection record with problems, past its deadline and not rectified (as of the day)."""
    # Read below without ctx.arrived (the records' own days decide): the finding rests on the records' seals.
    ctx.reads(InspectionRecord)
    terms = inspection_terms(ctx.contract)
    today = _today(ctx)
    records = ctx.session.scalars(
        select(InspectionRecord)
        .where(InspectionRecord.result == "problems", InspectionRecord.day <= today)
        .order_by(InspectionRecord.day, InspectionRecord.area)
    ).all()
    for r in records:
        deadline = r.rectify_by or r.day + timedelta(days=terms.rectify_days)
        if deadline >= today:
            continue
        if r.rectified_on is not None and r.rectified_on <= today:
            continue  # rectified (a later date is not known yet as of today)
        overdue = (today - deadline).days
        name = terms.name_of(r.area, ctx.language)
        yield FindingDraft(
            subject=f"{r.day.isoformat()} {name}",
            summary=ctx.t(
                f"{r.day.isoformat()} 检查（{name}）发现的问题逾期 {overdue} 天未整改（期限 {deadline.isoformat()}）："
                f"{_short(r.problems)}",
                f"the problems found by the inspection of {r.day.isoformat()} ({name}) are {overdue} day(s) past "
                f"their deadline ({deadline.isoformat()}) and not rectified: {_short(r.problems)}",
            ),
            evidence={
                "inspection_day": r.day.isoformat(),
                "area": r.area,
                "inspector": r.inspector,
                "problems": r.problems,
                "rectify_by": deadline.isoformat(),
                "deadline_from_contract": r.rectify_by is None,
                "days_overdue": overdue,
                "how_to_close": f"ops-watch inspections rectified --date {r.day.isoformat()} --area {r.area} "
                "--on DATE",
            },
            # Overdue once the deadline day has ended (the subject names the inspection).
            period_start=_days(ctx, deadline, deadline)[1],
            grounds_from=_days(ctx, r.day, r.day)[0],  # the record that set the deadline
        )


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
