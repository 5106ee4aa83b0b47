"""Build, archive and send the weekly report: the CLI and the daemon's weekly job both come here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ops_watch.config import Config
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import utcnow
from ops_watch.notify.email import message_id
from ops_watch.report.archive import HTML, TEXT, ReportFiles, write_archive
from ops_watch.report.gather import build_report
from ops_watch.report.model import Week, WeeklyReport
from ops_watch.report.render import render
from ops_watch.report.xlsx import write_workbook
from ops_watch.store import Store
from ops_watch.store.schema import OutboxMessage

log = get_logger(__name__)


def build(
    store: Store, config: Config, contract: Mapping[str, Any], week: Week, language: str
) -> WeeklyReport:

    with store.session() as session:
        return build_report(session, config, contract, week, language)


def files_of(report: WeeklyReport, config: Config) -> ReportFiles:
    """The report's files: bodies, charts, workbook. Nothing in them depends on when they were built."""

    charts = report.all_charts()
    cids = {c.key: f"{c.key}.{report.week.iso}@ops-watch" for c in charts}
    subject, text, html = render(report, cids, config.report.max_rows)
    zh = report.language == "zh"
    xlsx_name = f"{'运维合规周报' if zh else 'ops-watch-weekly'}-{report.week.iso}.xlsx"
    title = f"{'运维合规周报' if zh else 'Weekly compliance summary'} {report.week.iso}"
    # The week's end as the workbook's own time: the same store gives the same bytes.
    workbook = write_workbook(report.all_tables(), title, report.week.iso, report.language, report.week.end)
    files = {HTML: html.encode("utf-8"), TEXT: text.encode("utf-8"), xlsx_name: workbook}
    names = {}
    for c in charts:
        name = f"charts/{c.key}.png"
        files[name] = c.png
        names[name] = cids[c.key]
    return ReportFiles(report.week.iso, report.language, subject, files, names, xlsx_name, report.status)


@dataclass(frozen=True)
class Built:
    report: WeeklyReport
    files: ReportFiles
    folder: Path


def build_and_archive(
    store: Store, config: Config, contract: Mapping[str, Any], week: Week, language: str | None = None
) -> Built:
    report = build(store, config, contract, week, language or config.report_language)
    files = files_of(report, config)
    folder = write_archive(config.reports_dir, files, utcnow())
    log.info("weekly report built", week=week.iso, folder=str(folder), status=report.status)
    return Built(report, files, folder)


def recipients(config: Config) -> list[str]:
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


def queue(store: Store, config: Config, built: Built, resend: bool = False) -> OutboxMessage | None:
    """Put the report's email in the outbox (delivered, retried and marked dead like any alert).

    Without `resend` a week already queued is not queued again (a daemon restarted on Monday morning sends
    one report). None when there is nobody to send to or it was queued before.
    """
    to = recipients(config)
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
