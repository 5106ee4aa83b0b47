"""概览: each area's colour (the weekly report's rule, on this week so far), the active findings by severity,
what opened and resolved in the last 7 days, the overdue rectifications, the staffing rate and the contractor's
score beside last week's, and the evidence sources that went silent."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ops_watch.areas.money.score.model import band_label, contractor_score
from ops_watch.areas.staffing.presence import build_view, rates, staffing_terms
from ops_watch.core.timeutil import format_local, from_store, utcnow
from ops_watch.core.vocabulary import AREAS, SEVERITIES
from ops_watch.findings.engine import ACTIVE
from ops_watch.findings.rectification import RectificationSection, deadline, due_before, rectification_terms
from ops_watch.report.gather import SILENT_CHECKS, area_status
from ops_watch.report.model import Week
from ops_watch.store.schema import Finding
from ops_watch.web.frame import Console, Viewer, console, render
from ops_watch.web.pages.findings import LISTED as LISTED_COLUMNS
from ops_watch.web.pages.money import shared_score

router = APIRouter()
RECENT = timedelta(days=7)
LISTED = 20  # findings listed under "opened" / "resolved" / "overdue" / "silent sources"


@dataclass(frozen=True)
class Beside:
    """A figure this week (so far) and last week, as the weekly report shows them."""

    now: str
    before: str
    note: str = ""


def _percent(required: int, evidenced: int) -> str:
    return "—" if required == 0 else f"{evidenced / required * 100:.1f}%"


def _staffing(c: Console, week: Week, now: datetime) -> Beside | None:
    """The staffing rate of the shifts ended this week and last week (`staffing rate --by week`)."""
    rt = c.runtime
    if not staffing_terms(rt.rules.contract).shifts:
        return None
    before = week.shifted(-1)
    with rt.store.session() as s:
        view = build_view(s, rt.rules.contract, rt.config.site.zone, now, before.monday, week.sunday)
    by_week = {r.label: r for r in rates(view, "week")}
    got = [by_week.get(w.iso) for w in (week, before)]
    return Beside(*(_percent(r.required, r.evidenced) if r else "—" for r in got))


def _score_text(c: Console, score: Decimal | None, band: str) -> str:
    if score is None:
        return "—"
    return c.t(f"{score}（{band}）", f"{score} ({band})")


def _score(c: Console, week: Week, now: datetime) -> Beside | None:
    """The contractor's running score now and at the end of last week (`ops-watch score`)."""
    rt = c.runtime
    contract = rt.rules.contract
    written = rt.rules.written if rt.rules.written is not None else frozenset(contract)
    if "score" not in written:
        return None
    zone, language = rt.config.site.zone, c.language
    current = shared_score(c, now)
    with rt.store.session() as s:
        last = contractor_score(s, contract, zone, week.start, language)
    return Beside(
        _score_text(c, current.score, band_label(current.band, language)),
        _score_text(c, last.score, band_label(last.band, language)),
        current.incomplete,
    )


def _figures(c: Console, week: Week) -> dict[str, Beside | None]:
    """The figures computed from weeks of evidence, shared by every viewer (store/shared.py)."""
    now = utcnow()
    return {"staffing": _staffing(c, week, now), "score": _score(c, week, now), "at": now}


@dataclass(frozen=True)
class _Group:
    """Active findings of an area alike in what colours it (the weekly report's area_status reads severity,
    status and overdue): counted by the database instead of building a line for each."""

    severity: str
    status: str  # silenced | open (any other active status colours alike)
    overdue: bool  # due before the week's end, as a weekly report line says
    overdue_now: bool
    count: int


def _active(
    s: Session, terms: RectificationSection, week: Week, now: datetime
) -> tuple[dict[str, list[_Group]], list[tuple[Any, datetime, float]], int]:
    """The active findings by area, and the overdue ones: (row, deadline, days late) soonest due first, not
    silenced (a silence is a decision), with how many there are."""
    silenced = (Finding.status == "silenced").label("silenced")
    due_week = due_before(week.end, terms).label("due_week")
    due_now = due_before(now, terms).label("due_now")
    groups: dict[str, list[_Group]] = defaultdict(list)
    for area, severity, quiet, late_week, late_now, count in s.execute(
        select(Finding.area, Finding.severity, silenced, due_week, due_now, func.count())
        .where(Finding.status.in_(ACTIVE))
        .group_by(Finding.area, Finding.severity, silenced, due_week, due_now)
    ):
        status = "silenced" if quiet else "open"
        groups[area or ""].append(_Group(severity, status, bool(late_week), bool(late_now), count))
    overdue_count = sum(g.count for gs in groups.values() for g in gs if g.overdue_now and g.status == "open")
    # Soonest due first: within a severity that is first seen first; the severities' lists merged.
    named = ("critical", "warning", "info")
    buckets = [(Finding.severity == sev, terms.term(sev)) for sev in named]
    buckets.append((Finding.severity.notin_(named), terms.term("")))
    candidates = []
    for same, term in buckets:
        candidates += s.execute(
            select(*LISTED_COLUMNS)
            .where(
                Finding.status.in_([x for x in ACTIVE if x != "silenced"]),
                Finding.first_seen < now - term,
                same,
            )
            .order_by(Finding.first_seen, Finding.id)
            .limit(LISTED)
        ).all()
    overdue = []
    for row in candidates:
        first = from_store(row.first_seen)
        assert first is not None
        due = deadline(first, row.severity, terms)
        overdue.append((row, due, (now - due).total_seconds() / 86400))
    overdue.sort(key=lambda x: (x[1], x[0].id))
    return groups, overdue[:LISTED], overdue_count


@router.get("/")
def overview(request: Request, session: Viewer) -> Response:
    c = console(request)
    rt = c.runtime
    now = utcnow()
    since = now - RECENT
    week = Week.containing(now.astimezone(rt.config.site.zone).date(), rt.config.site.zone)
    terms = rectification_terms(rt.rules.contract)
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
        groups, overdue, overdue_count = _active(s, terms, week, now)
        opened = s.execute(
            select(*LISTED_COLUMNS)
            .where(Finding.first_seen >= since)
            .order_by(Finding.first_seen.desc(), Finding.id.desc())
            .limit(LISTED)
        ).all()
        opened_count = s.scalar(select(func.count()).select_from(Finding).where(Finding.first_seen >= since))
        resolved = s.execute(
            select(*LISTED_COLUMNS)
            .where(Finding.resolved_at >= since)
            .order_by(Finding.resolved_at.desc(), Finding.id.desc())
            .limit(LISTED)
        ).all()
        resolved_count = s.scalar(
            select(func.count()).select_from(Finding).where(Finding.resolved_at >= since)
        )
        silent = s.execute(
            select(*LISTED_COLUMNS)
            .where(Finding.status.in_(ACTIVE), Finding.check.in_(SILENT_CHECKS))
            .order_by(Finding.first_seen, Finding.id)
            .limit(LISTED)
        ).all()
    areas = []
    for area in list(AREAS) + sorted(set(groups) - set(AREAS)):
        of_area = groups.get(area, [])
        areas.append(
            {
                "key": area,
                # The weekly report's colour, on the week so far; no evidence check here: green means no
                # finding that would colour it (the 证据 page shows what arrived).
                "status": area_status(of_area, True),  # type: ignore[arg-type]
                "active": sum(g.count for g in of_area),
                "overdue": sum(g.count for g in of_area if g.overdue_now and g.status != "silenced"),
            }
        )
    figures: dict[str, Any] = c.views.get(("overview", week.iso, c.language), lambda: _figures(c, week))
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
            "overdue": overdue,
            "overdue_count": overdue_count,
            "staffing": figures["staffing"],
            "score": figures["score"],
            "figures_at": figures["at"],
        },
    )
