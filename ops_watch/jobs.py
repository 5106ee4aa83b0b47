"""The daemon's jobs. Each takes the Runtime and returns counts to log; the names match config.schedule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from ops_watch.areas.resources import utilization
from ops_watch.collect import collect_cycle
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import utcnow
from ops_watch.findings import engine
from ops_watch.notify.outbox import deliver_due, queue_finding_messages
from ops_watch.runtime import Runtime
from ops_watch.store.schema import Finding, OutboxMessage

log = get_logger(__name__)


def collect(rt: Runtime) -> dict[str, Any]:
    return collect_cycle(rt.store, rt.config, rt.collectors())


def ingest(rt: Runtime, at: datetime | None = None) -> dict[str, Any]:
    from ops_watch.ingest import ingest_drop_folder

    results = ingest_drop_folder(rt.store, rt.config, at, rt.rules.contract)
    counts: dict[str, Any] = {"files": len(results), "rows_ok": 0, "rows_bad": 0}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        counts["rows_ok"] += r.rows_ok
        counts["rows_bad"] += r.rows_bad
    return counts


def doors(rt: Runtime) -> dict[str, Any]:
    from ops_watch.areas.staffing.doors import poll_doors

    return poll_doors(rt.store, rt.config)


def backups(rt: Runtime) -> dict[str, Any]:
    from ops_watch.areas.continuity.backups import poll_backups

    return poll_backups(rt.store, rt.config)


def evaluate(rt: Runtime, at: datetime | None = None) -> dict[str, Any]:
    """Roll up new samples, then run the rules (as of `at`, default now)."""
    at = at or utcnow()
    with rt.store.session() as session:
        rolled = utilization.rollup(session, at)
    result = engine.evaluate(rt.store, rt.rules, at, zone=rt.config.site.zone, language=rt.config.language)
    return {"rolled_up_hours": rolled, **result.counts()}


def notify(rt: Runtime, force: bool = False) -> dict[str, Any]:
    """Group and pace the findings' news into the outbox, then deliver what is due."""
    planned = queue_finding_messages(rt.store, rt.config, force=force)
    delivered = deliver_due(rt.store, rt.config)
    return {
        "queued": planned.queued,
        "groups_told": planned.groups_told,
        "groups_waiting": planned.waiting,
        "sent": delivered.sent,
        "failed": delivered.failed,
        "dead": delivered.dead,
    }


def report_weekly(rt: Runtime) -> dict[str, Any]:
    """Build, archive and email the last complete week's report (once per week, however often it runs)."""
    from ops_watch.report.model import Week
    from ops_watch.report.weekly import build_and_archive, queue

    week = Week.last_complete(utcnow(), rt.config.site.zone)
    built = build_and_archive(rt.store, rt.config, rt.rules.contract, week)
    msg = queue(rt.store, rt.config, built)
    delivered = deliver_due(rt.store, rt.config) if msg is not None else None
    return {
        "week": week.iso,
        "status": built.report.status,
        "folder": str(built.folder),
        "queued": int(msg is not None),
        "sent": delivered.sent if delivered else 0,
    }


def inspections(rt: Runtime) -> dict[str, Any]:
    """Draw the month's unannounced inspections if the contract asks for them and none are drawn; on a
    planned day, remind the center that morning (once per day, however often this runs)."""
    from ops_watch.areas.governance.inspections.model import run_reminders

    return run_reminders(rt.store, rt.config, rt.rules.contract, utcnow())


def purge(rt: Runtime) -> dict[str, Any]:
    """Drop what is older than the retention period (never less than six months: config refuses less)."""
    now = utcnow()
    cutoff = now - timedelta(days=rt.config.retention.days)
    purged = utilization.purge(rt.store, rt.config, now)
    with rt.store.session() as session:
        sent = session.execute(
            delete(OutboxMessage).where(OutboxMessage.status == "sent", OutboxMessage.created_at < cutoff)
        ).rowcount
        old = select(Finding.id).where(Finding.status == "resolved", Finding.resolved_at < cutoff)
        session.execute(
            OutboxMessage.__table__.update().where(OutboxMessage.finding_id.in_(old)).values(finding_id=None)
        )
        findings = session.execute(delete(Finding).where(Finding.id.in_(old))).rowcount
    from ops_watch.report.archive import purge_reports

    reports = purge_reports(rt.config.reports_dir, rt.config.report.retention_years, now.date())
    return {"utilization": purged, "messages": sent, "findings": findings, "reports": len(reports)}


JOBS: dict[str, Callable[[Runtime], dict[str, Any]]] = {
    "ingest": ingest,
    "collect": collect,
    "doors": doors,
    "backups": backups,
    "evaluate": evaluate,
    "notify": notify,
    "report_weekly": report_weekly,
    "inspections": inspections,
    "purge": purge,
}
ONCE_ORDER = ("ingest", "collect", "doors", "backups", "evaluate", "notify")


def run_once(rt: Runtime, at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Run the main jobs once in order; a failing job is logged and the others still run.

    `at` evaluates as of that time (the demo judges its sample month as of the day after it).
    """
    results: dict[str, dict[str, Any]] = {}
    for name in ONCE_ORDER:
        try:
            if name == "evaluate":
                results[name] = evaluate(rt, at)
            elif name == "ingest":  # documents dropped before a past `at` arrived by then
                results[name] = ingest(rt, at)
            elif name == "notify":  # once: nothing later to wait for, so groups are told now
                results[name] = notify(rt, force=True)
            else:
                results[name] = JOBS[name](rt)
            log.info("job done", job=name, **results[name])
        except Exception as exc:
            log.error("job failed", job=name, error=str(exc), exc_info=True)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return results
