"""连续性: backups and drills per protected system, as `ops-watch continuity status` shows them (model.status_rows:
last backup, last success, the 30-day success rate, the last drills, the next due dates), and the continuity
findings the checks hold open now (RPO / RTO, missed backups, overdue or failed drills): their judgement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from ops_watch.areas.continuity.model import STATUS_COLUMNS, continuity_terms, status_rows
from ops_watch.core.timeutil import utcnow
from ops_watch.findings import engine
from ops_watch.store.schema import Finding
from ops_watch.web.frame import Viewer, console, render

router = APIRouter()
FINDINGS_SHOWN = 200

TITLES = {
    "system": ("系统", "System"),
    "class": ("级别", "Class"),
    "backup": ("备份要求", "Backup"),
    "last_backup": ("最近备份", "Last backup"),
    "last_success": ("最近成功", "Last success"),
    "backup_rate_30d": ("30 天成功率", "30-day success"),
    "drills": ("最近演练", "Last drills"),
    "next_due": ("下次演练到期", "Next drill due"),
    "open_findings": ("未解决问题", "Open findings"),
}


@router.get("/continuity")
def continuity_page(request: Request, session: Viewer) -> Response:
    c = console(request)
    rt = c.runtime
    contract = rt.rules.contract
    written = rt.rules.written if rt.rules.written is not None else frozenset(contract)
    terms = continuity_terms(contract)
    configured = "continuity" in written and bool(terms.systems or terms.inventory_class)
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    with rt.store.session() as s:
        if configured:
            rows = status_rows(s, contract, utcnow(), rt.config.site.zone, rt.config.language)
            for row in rows:  # as the CLI's table shows the rate
                rate = row["backup_rate_30d"]
                row["backup_rate_30d"] = "-" if rate is None else f"{rate:.1f}%"
        findings = list(
            s.scalars(
                select(Finding)
                .where(Finding.area == "continuity", Finding.status.in_(engine.ACTIVE))
                .order_by(Finding.first_seen.desc(), Finding.id.desc())
                .limit(FINDINGS_SHOWN)
            )
        )
        s.expunge_all()
    return render(
        request,
        "continuity.html",
        {
            "configured": configured,
            "rows": rows,
            "columns": [(k, c.t(*TITLES.get(k, (k, k)))) for k in STATUS_COLUMNS],
            "findings": findings,
        },
    )
