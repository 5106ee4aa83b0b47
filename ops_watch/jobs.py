"""The daemon's jobs. Each takes the Runtime and returns counts to log; the names match config.schedule."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from ops_watch import plugins
from ops_watch.areas.continuity.backups import poll_backups
from ops_watch.areas.governance.inspections.model import (
    InspectionsSection,
    PlanError,
    inspection_terms,
    plan_month,
    reminder_message_id,
    reminder_text,
    stored_plan,
)
from ops_watch.areas.resources import utilization
from ops_watch.areas.staffing.doors import poll_doors
from ops_watch.collect import collect_cycle
from ops_watch.config import Config
from ops_watch.core.log import get_logger, setup_logging
from ops_watch.core.process import INSTANCE_ENV, working_for
from ops_watch.core.timeutil import utcnow
from ops_watch.findings import engine
from ops_watch.ingest import ingest_drop_folder
from ops_watch.notify.email import message_id
from ops_watch.notify.outbox import deliver_due, queue_finding_messages
from ops_watch.report.archive import HTML, TEXT, purge_reports
from ops_watch.report.model import Week
from ops_watch.report.weekly import Built, build_and_archive
from ops_watch.runtime import Runtime, open_runtime
from ops_watch.store import Store
from ops_watch.store.cluster import Fence
from ops_watch.store.leader import ParentLead
from ops_watch.store.schema import AuthEvent, Finding, FindingEvent, OutboxMessage, PlannedInspection
from ops_watch.trail import heads, index, outcome
from ops_watch.trail import verify as verify_trail
from ops_watch.trail.purge import seal_purge

log = get_logger(__name__)


def collect(rt: Runtime) -> dict[str, Any]:
    return collect_cycle(rt.store, rt.config, rt.collectors())


def ingest(rt: Runtime, at: datetime | None = None) -> dict[str, Any]:
    results = ingest_drop_folder(rt.store, rt.config, at, rt.rules.contract, go_on=rt.leading)
    counts: dict[str, Any] = {"files": len(results), "rows_ok": 0, "rows_bad": 0}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        counts["rows_ok"] += r.rows_ok
        counts["rows_bad"] += r.rows_bad
    return counts


def doors(rt: Runtime) -> dict[str, Any]:
    return poll_doors(rt.store, rt.config)


def backups(rt: Runtime) -> dict[str, Any]:
    return poll_backups(rt.store, rt.config)


def evaluate(rt: Runtime, at: datetime | None = None) -> dict[str, Any]:
    """Prepare the evidence (roll-ups) and run the rules, as of `at` (default now): the engine's one path."""
    result = engine.evaluate(rt.store, rt.rules, at, zone=rt.config.site.zone, language=rt.config.language)
    return {**result.counts(), **{f"{name} failed": error for name, error in result.failed_steps.items()}}


def notify(rt: Runtime, force: bool = False) -> dict[str, Any]:
    """Group and pace the findings' news into the outbox, then deliver what is due."""
    planned = queue_finding_messages(rt.store, rt.config, force=force)
    delivered = deliver_due(rt.store, rt.config, lead=rt.lead)
    return {
        "queued": planned.queued,
        "groups_told": planned.groups_told,
        "groups_waiting": planned.waiting,
        "sent": delivered.sent,
        "failed": delivered.failed,
        "dead": delivered.dead,
    }


def report_weekly(rt: Runtime) -> dict[str, Any]:
    """Build, archive and email the last complete week's report (once per week, however often it runs), in a
    child process: a report reads and renders a week of everything (charts, a workbook), and the memory Python
    takes for that is not given back, so a daemon that built it in-process stayed ~60 MiB above its steady
    size for good. The child's memory goes back to the system when it exits."""
    week = Week.last_complete(utcnow(), rt.config.site.zone).iso  # the daemon's clock decides the week
    if rt.config_path is None:
        return _report_weekly(rt, week)
    fence = rt.lead.fence if rt.lead is not None else None
    return in_child("report_weekly", rt, week, fence.text() if fence is not None else "")


def _report_weekly(rt: Runtime, week_iso: str, fence_text: str = "") -> dict[str, Any]:
    week = Week.parse(week_iso, rt.config.site.zone)
    built = build_and_archive(rt.store, rt.config, rt.rules.contract, week)
    msg = queue_report(rt.store, rt.config, built)
    fence = Fence.parse(fence_text)
    if fence is not None:  # in the child of a daemon: its sends stay under the parent's leadership
        rt.lead = ParentLead(fence)
    delivered = deliver_due(rt.store, rt.config, lead=rt.lead) if msg is not None else None
    return {
        "week": week.iso,
        "status": built.report.status,
        "folder": str(built.folder),
        "queued": int(msg is not None),
        "sent": delivered.sent if delivered else 0,
    }


# --- the weekly report's email ---


def report_recipients(config: Config) -> list[str]:
    seen: dict[str, None] = {}
    for name in config.report.receivers:
        for addr in config.notify.receiver(name).email:
            seen.setdefault(addr, None)
    return list(seen)


def report_message_id(week: str, resend_at: datetime | None = None) -> str:
    """The week's report has one Message-ID (the weekly job sends it once); a resend by hand gets its own."""
    if resend_at is None:
        return f"<report.{week}@ops-watch.local>"
    return message_id("report", week, resend_at)


def queue_report(store: Store, config: Config, built: Built, resend: bool = False) -> OutboxMessage | None:
    """Put the report's email in the outbox (delivered, retried and marked dead like any alert).

    Without `resend` a week already queued is not queued again (a daemon restarted on Monday morning sends
    one report). None when there is nobody to send to or it was queued before.
    """
    to = report_recipients(config)
    if not to:
        log.warning(
            "weekly report not sent: no email recipients",
            hint="set notify.email.recipients or report.receivers",
        )
        return None
    now = utcnow()
    mid = report_message_id(built.files.week, now if resend else None)
    with store.session() as session:
        if not resend and session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == mid)):
            log.info("weekly report already queued", week=built.files.week)
            return None
        folder = built.folder
        try:
            shown = str(folder.relative_to(config.state_dir))
        except ValueError:
            shown = str(folder)
        msg = OutboxMessage(
            channel="email",
            receiver=",".join(config.report.receivers),
            created_at=now,
            recipients=to,
            subject=built.files.subject,
            body_text=built.files.files[TEXT].decode("utf-8"),
            body_html=built.files.files[HTML].decode("utf-8"),
            message_id=mid,
            payload={"report_dir": shown, "week": built.files.week},
            status="pending",
            attempts=0,
            next_attempt_at=now - timedelta(seconds=1),
        )
        session.add(msg)
        session.flush()
        session.expunge(msg)
    return msg


# --- the trail job: new batches indexed, the chains' heads published, the chains verified ---


def trail(rt: Runtime, at: datetime | None = None) -> dict[str, Any]:
    """Index the batches sealed since the last run (which row is which: trail/index.py), publish each site day's
    chain heads once the day is over ([trail] publish_at: in the store, in the log, and by mail to [trail]
    archive_mailbox), then verify the chains: the seals since the last intact verify on
    every run, everything every [trail] full_verify_days. What verify found is kept for the check
    `evidence_tampered`, which makes a break a critical finding (docs/trail.md)."""
    now = at or utcnow()
    config = rt.config
    with rt.store.session() as session:
        indexed, unindexed = index.index_new(session)
    with rt.store.session() as session:
        published = heads.publish_due(session, config, now)
        if published and config.trail.archive_mailbox:
            subject, text = heads.mail_text(published, config.site.name)
            days = sorted({r.day.isoformat() for r in published})
            session.add(
                OutboxMessage(
                    channel="email",
                    receiver="trail.archive_mailbox",
                    created_at=now,
                    recipients=list(config.trail.archive_mailbox),
                    subject=subject,
                    body_text=text,
                    message_id=message_id("trail-heads", days[-1], now),
                    payload={"days": days},
                    status="pending",
                    attempts=0,
                    next_attempt_at=now - timedelta(seconds=1),
                )
            )
    with rt.store.session(see_loading=True) as session:
        last_full, before = outcome.last_full(session), outcome.last(session)
        # A break found stays found: until a whole verify runs clean, every run is whole (an incremental one
        # starts after the last intact seal and would not look at the break again).
        full = (
            last_full is None
            or now - last_full >= timedelta(days=config.trail.full_verify_days)
            or (before is not None and not before.ok)
        )
        since = None if full else verify_trail.last_verified(session) or None
        found = verify_trail.verify(
            session,
            heads=heads.published(session, config.reports_dir),
            since=since,
            zone=config.site.zone,
        )
        verify_trail.remember(session, found)  # only an intact run moves the start of the next one
        outcome.record(session, now, full=since is None, breaks=found.breaks)
    if found.breaks:
        log.error(
            "evidence trail broken / 证据链校验发现断裂",
            breaks=len(found.breaks),
            first=found.breaks[0].text("en"),
            full=since is None,
        )
    return {
        "indexed": indexed,
        "not_indexed": len(unindexed),
        "heads_published": len(published),
        "verified": "full" if since is None else "since last",
        "breaks": len(found.breaks),
        **found.counts(),
    }


# --- the inspections job: the plan and the morning reminder ---


def reminder_recipients(config: Config, terms: InspectionsSection) -> list[str]:
    if terms.recipients:
        return list(terms.recipients)
    return report_recipients(config)


def queue_reminders(
    store: Store, config: Config, terms: InspectionsSection, today: date, now: datetime
) -> int:
    """Queue today's reminder (one email for all of today's planned areas) unless it was queued before."""
    with store.session() as session:
        rows = session.scalars(
            select(PlannedInspection)
            .where(PlannedInspection.day == today, PlannedInspection.reminded_at.is_(None))
            .order_by(PlannedInspection.area)
        ).all()
        if not rows:
            return 0
        if not config.notify.email.enabled:
            log.info("inspection reminder not sent: notify.email.enabled is false", day=today.isoformat())
            return 0
        to = reminder_recipients(config, terms)
        if not to:
            log.warning(
                "inspection reminder not sent: no email recipients",
                day=today.isoformat(),
                hint="set [inspections] recipients in contract.toml, or notify.email.recipients",
            )
            return 0
        mid = reminder_message_id(today)
        queued = 0
        if session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == mid)) is None:
            every = session.scalars(
                select(PlannedInspection.area)
                .where(PlannedInspection.day == today)
                .order_by(PlannedInspection.area)
            ).all()
            subject, body = reminder_text(today, list(every), terms, config.language, _drop_hint(config))
            session.add(
                OutboxMessage(
                    channel="email",
                    receiver="inspections",
                    created_at=now,
                    recipients=to,
                    subject=subject,
                    body_text=body,
                    body_html="",
                    message_id=mid,
                    payload={"inspection_day": today.isoformat(), "areas": list(every)},
                    status="pending",
                    attempts=0,
                    next_attempt_at=now - timedelta(seconds=1),
                )
            )
            queued = 1
        # The same transaction: a crash leaves either both (sent later by the outbox) or neither (queued again).
        for row in rows:
            row.reminded_at = now
    return queued


def _drop_hint(config: Config) -> str:
    try:
        return str(config.drop_dir.relative_to(config.config_dir))
    except ValueError:
        return str(config.drop_dir)


def run_reminders(
    store: Store, config: Config, contract: Mapping[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """The daemon's job: draw the month's plan if it has none (per_month > 0), then queue and deliver today's
    reminder once `remind_at` has passed (site time). Never raises for a plan that cannot be drawn or a mail
    server that is down: the first is logged and counted, the second left to the outbox's retries."""
    now = now or utcnow()
    zone = config.site.zone
    local = now.astimezone(zone)
    today = local.date()
    month = f"{today:%Y-%m}"
    terms = inspection_terms(contract)
    out: dict[str, Any] = {"month": month, "drawn": 0, "queued": 0, "sent": 0, "failed": 0}
    if terms.per_month > 0 and stored_plan(store, month) is None:
        try:
            plan = plan_month(store, contract, zone, month, "ops-watch daemon", now=now)
            out["drawn"] = len(plan.rows)
        except PlanError as exc:
            log.warning("inspection plan not drawn", month=month, reason=exc.en)
            out["plan_error"] = exc.en
    if local.time() >= terms.remind_at:
        out["queued"] = queue_reminders(store, config, terms, today, now)
    if out["queued"]:
        delivered = deliver_due(store, config, at=max(now, utcnow()))
        out["sent"], out["failed"] = delivered.sent, delivered.failed + delivered.dead
    return out


def inspections(rt: Runtime) -> dict[str, Any]:
    """Draw the month's unannounced inspections if the contract asks for them and none are drawn; on a
    planned day, remind the center that morning (once per day, however often this runs)."""
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
        # Sealed decisions go lawfully: a purge seal of exactly the rows deleted, in this transaction (the
        # findings' events go with them by ON DELETE CASCADE, so they are sealed first).
        before = f"older than {cutoff.isoformat()} (retention.days)"
        seal_purge(
            session, FindingEvent.__table__, FindingEvent.finding_id.in_(old), note=f"resolved {before}"
        )
        findings = session.execute(delete(Finding).where(Finding.id.in_(old))).rowcount
        # The console's audit trail (logins, failures, every write) is kept as long as the rest.
        seal_purge(session, AuthEvent.__table__, AuthEvent.at < cutoff, note=before)
        auth = session.execute(delete(AuthEvent).where(AuthEvent.at < cutoff)).rowcount

    reports = purge_reports(rt.config.reports_dir, rt.config.report.retention_years, now.date())
    return {
        "utilization": purged,
        "messages": sent,
        "findings": findings,
        "auth_events": auth,
        "reports": len(reports),
    }


# --- heavy, rare work in a child process ---

# Jobs a child process may run (by name: the child is spawned, it gets no function objects).
CHILD_JOBS: dict[str, Callable[..., dict[str, Any]]] = {"report_weekly": _report_weekly}
CHILD_TIMEOUT_S = 3600


def _child_main(job: str, config_path: str, conn: Any, instance: str, *args: str) -> None:
    """In the spawned child: load the plug-ins and the settings as the daemon did, run one job, send its result
    back, exit (and so return its memory). Its database sessions carry the daemon's `instance`, so a new leader
    ends them with the daemon's (store/leader.py)."""
    os.environ[INSTANCE_ENV] = instance
    plugins.load()
    try:
        rt = open_runtime(Path(config_path))
    except Exception as exc:  # the file changed under the daemon: say so, the daemon keeps running
        conn.send(("error", f"cannot load {config_path}: {type(exc).__name__}: {exc}"))
        conn.close()
        return
    setup_logging(rt.config.log.level, rt.config.log.format)
    try:
        conn.send(("ok", CHILD_JOBS[job](rt, *args)))
    except Exception as exc:
        log.error("job failed in its child process", job=job, error=str(exc), exc_info=True)
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        rt.close()
        conn.close()


def in_child(job: str, rt: Runtime, *args: str) -> dict[str, Any]:
    """Run CHILD_JOBS[job](runtime, *args) in a spawned child process with the settings of rt's config file
    (`args`: plain values decided here, e.g. the week by the daemon's clock); its result, or
    RuntimeError saying why there is none (a failure, a crash, no answer within CHILD_TIMEOUT_S)."""
    context = multiprocessing.get_context(
        "spawn"
    )  # a fresh interpreter: no copy of the daemon's threads or memory
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main,
        args=(job, str(rt.config_path), send, working_for(), *args),
        name=f"ops-watch-{job}",
        daemon=True,
    )
    child.start()
    send.close()
    try:
        if not receive.poll(CHILD_TIMEOUT_S):
            child.kill()
            raise RuntimeError(
                f"{job}: no result from its child process within {CHILD_TIMEOUT_S} s; it was stopped"
            )
        try:
            status, value = receive.recv()
        except EOFError:
            child.join(timeout=30)
            status, value = "error", f"the child process ended (exit code {child.exitcode}) without a result"
    finally:
        child.join(timeout=30)
        receive.close()
    if status != "ok":
        raise RuntimeError(f"{job} (child process): {value}")
    return value


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
    "trail": trail,
}
ONCE_ORDER = ("ingest", "collect", "doors", "backups", "trail", "evaluate", "notify")


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
