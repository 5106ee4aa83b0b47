"""The outbox: findings' changes become stored messages first, then a transport delivers them.

Delivery is at-least-once: a message is marked sent only after the server accepted it, so a crash
between the two repeats that one message on the next run and never drops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader
from sqlalchemy import select

from ops_watch.config import Config
from ops_watch.log import get_logger
from ops_watch.notify.email import DeliveryError, email_transport, message_id
from ops_watch.store import Store
from ops_watch.store.schema import Finding, OutboxMessage
from ops_watch.timeutil import format_local, utcnow

log = get_logger(__name__)

_SEVERITY = {"zh": {"info": "提示", "warning": "警告", "critical": "严重"}}
_COLOUR = {"info": "#555555", "warning": "#b36b00", "critical": "#c0392b", "resolved": "#2e7d32"}


def _env(autoescape: bool) -> Environment:
    return Environment(
        loader=PackageLoader("ops_watch.notify", "templates"),
        autoescape=autoescape,
        keep_trailing_newline=True,
    )


def severity_label(severity: str, language: str) -> str:
    return _SEVERITY.get(language, {}).get(severity, severity)


def _render(finding: Finding, event: str, language: str, zone: ZoneInfo) -> tuple[str, str, str]:
    def t(zh: str, en: str) -> str:
        return zh if language == "zh" else en

    severity = severity_label(finding.severity, language)
    head = t("已解决", "RESOLVED") if event == "resolved" else severity
    subject = f"[ops-watch][{head}] {finding.summary}"
    values = dict(
        f=finding,
        event=event,
        severity=severity,
        t=t,
        local=partial(format_local, site_zone=zone),
        lang=language,
        subject=subject,
        colour=_COLOUR["resolved" if event == "resolved" else finding.severity],
    )
    text = _env(False).get_template("finding.txt.j2").render(values)
    html = _env(True).get_template("finding.html.j2").render(values)
    return subject, text, html


@dataclass
class QueueResult:
    queued: int = 0
    skipped: int = 0


def queue_finding_messages(store: Store, config: Config, at: datetime | None = None) -> QueueResult:
    """Write a message for each finding whose status the center has not been told about yet.

    Working from the stored difference (status vs notified_status), not from what one evaluation saw,
    means nothing is lost when the daemon stops between evaluating and notifying.
    """
    at = at or utcnow()
    result = QueueResult()
    email = config.notify.email
    with store.session() as session:
        pending = session.scalars(
            select(Finding).where(Finding.status != Finding.notified_status).order_by(Finding.id)
        ).all()
        for finding in pending:
            told, now_status = finding.notified_status, finding.status
            event = None
            if now_status == "open" and told in ("", "resolved"):
                event = "opened"
            elif now_status == "resolved" and told in ("open", "acknowledged", "silenced"):
                event = "resolved"
            # acknowledged/silenced need no mail; opened-and-resolved before anyone was told (a replay of the
            # past) would only be noise.
            finding.notified_status = now_status
            if event is None or not email.enabled:
                result.skipped += 1
                continue
            subject, text, html = _render(finding, event, config.language, config.site.zone)
            mid = message_id(event, finding.fingerprint[:12], at)
            if not finding.thread_message_id:
                finding.thread_message_id = mid
            session.add(
                OutboxMessage(
                    channel="email",
                    created_at=at,
                    recipients=list(email.recipients),
                    subject=subject,
                    body_text=text,
                    body_html=html,
                    message_id=mid,
                    references="" if finding.thread_message_id == mid else finding.thread_message_id,
                    finding_id=finding.id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=at,
                    last_error="",
                )
            )
            result.queued += 1
    return result


def backoff(config: Config, attempts: int) -> timedelta:
    base, cap = config.notify.retry_base, config.notify.retry_cap
    return min(cap, base * (2 ** max(0, attempts - 1)))


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def deliver_due(store: Store, config: Config, at: datetime | None = None, limit: int = 200) -> DeliveryResult:
    """Try every pending message that is due; a failure backs off, too many failures mark it dead."""
    at = at or utcnow()
    result = DeliveryResult()
    email = config.notify.email
    transport = email_transport(
        email, config.outbox_dir, config.smtp_password() if email.transport == "smtp" else ""
    )
    with store.session() as session:
        due = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    for msg in due:
        error = ""
        try:
            note: str | None = transport(msg)
        except DeliveryError as exc:
            error, note = str(exc), None
        with store.session() as session:
            row = session.get(OutboxMessage, msg.id)
            if row is None:
                continue
            row.attempts += 1
            if note is not None:
                row.status, row.sent_at, row.last_error = "sent", utcnow(), note
                result.sent += 1
                log.info("message sent", message_id=row.message_id, note=note or None)
                continue
            row.last_error = error
            if row.attempts >= config.notify.max_attempts:
                row.status = "dead"
                result.dead += 1
                log.error(
                    "message dead after retries",
                    message_id=row.message_id,
                    attempts=row.attempts,
                    error=error,
                )
            else:
                row.next_attempt_at = at + backoff(config, row.attempts)
                result.failed += 1
                log.warning(
                    "message not sent, will retry",
                    message_id=row.message_id,
                    attempts=row.attempts,
                    retry_at=row.next_attempt_at.isoformat(),
                    error=error,
                )
        if note is None:
            break  # the server is likely down for all: leave the rest due rather than time out on each
    return result
