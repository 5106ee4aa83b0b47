"""概览: each area's colour (the weekly report's rule, on this week so far), the active findings by severity,
what opened and resolved in the last 7 days, and the evidence sources that went silent."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.core.vocabulary import AREAS, SEVERITIES
from ops_watch.findings.engine import ACTIVE
from ops_watch.report.gather import SILENT_CHECKS, area_status, findings_of_week
from ops_watch.report.model import FindingLine, Week
from ops_watch.store.schema import Finding
from ops_watch.web.frame import Viewer, console, render

router = APIRouter()
RECENT = timedelta(days=7)
LISTED = 20  # findings listed under "opened" / "resolved" / "silent sources"


@router.get("/")
def overview(request: Request, session: Viewer) -> Response:
    c = console(request)
    rt = c.runtime
    now = utcnow()
    since = now - RECENT
    week = Week.containing(now.astimezone(rt.config.site.zone).date(), rt.config.site.zone)
    with rt.store.session() as s:
        by_severity = Counter(
            dict(
                s.execute(
                    select(Finding.severity, func.count())
                    .where(Finding.status.in_(ACTIVE))
                    .group_by(Finding.severity)
                ).all()
            )
        )
        active_by_area = Counter(
            dict(
                s.execute(
                    select(Finding.area, func.count())
                    .where(Finding.status.in_(ACTIVE))
                    .group_by(Finding.area)
                ).all()
            )
        )
        lines = findings_of_week(s, week, rt.rules.contract)
        opened = list(
            s.scalars(
                select(Finding)
                .where(Finding.first_seen >= since)
                .order_by(Finding.first_seen.desc())
                .limit(LISTED)
            )
        )
        opened_count = s.scalar(select(func.count()).select_from(Finding).where(Finding.first_seen >= since))
        resolved = list(
            s.scalars(
                select(Finding)
                .where(Finding.resolved_at >= since)
                .order_by(Finding.resolved_at.desc())
                .limit(LISTED)
            )
        )
        resolved_count = s.scalar(
            select(func.count()).select_from(Finding).where(Finding.resolved_at >= since)
        )
        silent = list(
            s.scalars(
                select(Finding)
                .where(Finding.status.in_(ACTIVE), Finding.check.in_(SILENT_CHECKS))
                .order_by(Finding.first_seen)
                .limit(LISTED)
            )
        )
        s.expunge_all()
    of_area: dict[str, list[FindingLine]] = defaultdict(list)
    for line in lines:
        of_area[line.area].append(line)
    areas = []
    for area in list(AREAS) + sorted(set(of_area) - set(AREAS)):
        still_open = [f for f in of_area.get(area, []) if f.status != "resolved"]
        areas.append(
            {
                "key": area,
                # The weekly report's colour, on the week so far; no evidence check here: green means no
                # finding that would colour it (the 证据 page shows what arrived).
                "status": area_status(still_open, True),
                "active": active_by_area.get(area, 0),
                "overdue": sum(1 for f in still_open if f.deadline is not None and f.deadline < now),
            }
        )
    return render(
        request,
        "overview.html",
        {
            "week": week,
            "since": format_local(since, rt.config.site.zone),
            "severities": [(sev, by_severity.get(sev, 0)) for sev in reversed(SEVERITIES)],
            "areas": areas,
            "opened": opened,
            "opened_count": opened_count or 0,
            "resolved": resolved,
            "resolved_count": resolved_count or 0,
            "silent": silent,
        },
    )
