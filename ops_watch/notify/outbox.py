"""The outbox: findings' changes become stored messages first, then a transport delivers them.

Delivery is at-least-once: a message is marked sent only after the server (or robot) accepted it, so a
crash between the two repeats that one message on the next pass and never drops it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from ops_watch.config import Config
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import utcnow
from ops_watch.notify.email import DeliveryError, email_transport
from ops_watch.notify.groups import PlanResult, plan
from ops_watch.notify.webhook import webhook_transport
from ops_watch.store import Store
from ops_watch.store.schema import OutboxMessage

log = get_logger(__name__)


def queue_finding_messages(
    store: Store, config: Config, at: datetime | None = None, *, force: bool = False
) -> PlanResult:
    """Write the messages that are due (grouped and paced: ops_watch.notify.groups) to the outbox."""
    return plan(store, config, at, force=force)


def backoff(config: Config, attempts: int) -> timedelta:
    base, cap = config.notify.retry_base, config.notify.retry_cap
    return min(cap, base * (2 ** max(0, attempts - 1)))


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # "channel:receiver" -> the last error


Transport = Callable[[OutboxMessage], str]


def transports(config: Config) -> Callable[[OutboxMessage], Transport]:
    """The transport for a message: by its channel and its receiver's settings (built once per pass)."""

    built: dict[tuple[str, str], Transport] = {}

    def pick(msg: OutboxMessage) -> Transport:
        key = (msg.channel, msg.receiver)
        if key not in built:
            if msg.channel == "email":
                email = config.notify.email
                built[key] = email_transport(
                    email,
                    config.outbox_dir,
                    config.smtp_password() if email.transport == "smtp" else "",
                    config.config_dir,
                    config.state_dir,
                )
            else:
                try:
                    receiver = config.notify.receiver(msg.receiver)
                except KeyError:
                    raise DeliveryError(f"receiver {msg.receiver!r} is no longer in the config") from None
                built[key] = webhook_transport(msg.channel, receiver, config.config_dir)
        return built[key]

    return pick


def deliver_due(store: Store, config: Config, at: datetime | None = None, limit: int = 500) -> DeliveryResult:
    """Try every pending message that is due; a failure backs off, too many failures mark it dead.

    After a failure, the other messages for the same channel and receiver wait for the next pass (the server
    or robot is likely down for all of them); other receivers still get theirs.
    """
    at = at or utcnow()
    result = DeliveryResult()
    pick = transports(config)
    with store.session() as session:
        due = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at)
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    down: set[tuple[str, str]] = set()
    for msg in due:
        key = (msg.channel, msg.receiver)
        if key in down:
            continue
        error = ""
        try:
            note: str | None = pick(msg)(msg)
        except DeliveryError as exc:
            error, note = str(exc), None
        except Exception as exc:  # a transport bug must not stop the others; the message is retried
            log.error("transport failed", channel=msg.channel, error=str(exc), exc_info=True)
            error, note = f"{type(exc).__name__}: {exc}", None
        with store.session() as session:
            row = session.get(OutboxMessage, msg.id)
            if row is None:
                continue
            row.attempts += 1
            if note is not None:
                row.status, row.sent_at, row.last_error = "sent", utcnow(), note
                result.sent += 1
                log.info(
                    "message sent",
                    channel=row.channel,
                    receiver=row.receiver,
                    message_id=row.message_id,
                    note=note or None,
                )
                continue
            row.last_error = error[:2000]
            result.errors[f"{row.channel}:{row.receiver}"] = error
            down.add(key)
            if row.attempts >= config.notify.max_attempts:
                row.status = "dead"
                result.dead += 1
                log.error(
                    "message dead after retries",
                    channel=row.channel,
                    receiver=row.receiver,
                    message_id=row.message_id,
                    attempts=row.attempts,
                    error=error,
                )
            else:
                row.next_attempt_at = at + backoff(config, row.attempts)
                result.failed += 1
                log.warning(
                    "message not sent, will retry",
                    channel=row.channel,
                    receiver=row.receiver,
                    message_id=row.message_id,
                    attempts=row.attempts,
                    retry_at=row.next_attempt_at.isoformat(),
                    error=error,
                )
    return result
