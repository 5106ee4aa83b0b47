"""The outbox: findings' changes become stored messages first, then a transport delivers them.

Each message is claimed before its attempt and its outcome recorded after it, so a store that is locked at
either moment delays a message and never repeats it. The claim takes the row with `FOR UPDATE SKIP LOCKED` (on
PostgreSQL: two senders never wait on, or both take, one message) and, in a daemon of several instances, only
under the claimer's leadership epoch (store/cluster.py, the fencing token): a leader frozen mid-pass that resumes
after another took over claims nothing more. Across a crash delivery is at-least-once: a message is
marked sent only after the server (or robot) accepted it, so a process killed between the two leaves a claim
that is released, and that one message is sent again, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ops_watch.config import Config
from ops_watch.core.log import get_logger
from ops_watch.core.process import owner_gone, this_process
from ops_watch.core.timeutil import utcnow
from ops_watch.notify.email import DeliveryError, email_transport
from ops_watch.notify.groups import PlanResult, plan
from ops_watch.notify.webhook import webhook_transport
from ops_watch.store import Store
from ops_watch.store.cluster import Fence, holds
from ops_watch.store.schema import ClusterInstance, ClusterLeadership, OutboxMessage

if TYPE_CHECKING:
    from ops_watch.store.leader import Leader

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


# How long a claim stands before its message is sent again whoever holds it: an attempt lasts at most the
# transport's timeout (seconds to a minute), so a claim this old belongs to a process that is gone or stuck.
CLAIM_LEASE = timedelta(minutes=10)
# Recording an outcome waits the store's busy timeout per try; after these tries it is kept in memory.
RECORD_TRIES = 3


@dataclass
class _Outcome:
    """What happened to a claimed message, to be written to its row."""

    message_id: int
    claimer: str  # the claim it was sent under: a claim released and taken by another meanwhile is theirs
    note: str | None  # None: not sent
    error: str = ""


# Outcomes this process could not record yet (the store was locked), by store: written at the next pass. Their
# messages stay claimed by this live process meanwhile, so no pass sends them again.
_unrecorded: dict[str, list[_Outcome]] = {}
# Messages this process may have claimed but did not try (the store failed between the claim and the attempt,
# as in a database restart), by store: handed back at its next pass. Left alone, a live process's claim of its
# own would stand until CLAIM_LEASE, and the message wait ten minutes for nothing.
_untried: dict[str, set[int]] = {}


def deliver_due(
    store: Store, config: Config, at: datetime | None = None, limit: int = 500, lead: Leader | None = None
) -> DeliveryResult:
    """Try every pending message that is due; a failure backs off, too many failures mark it dead.

    Each message is claimed (status "sending", committed) before its attempt and its outcome recorded after it,
    with retries: a store locked by another job can delay a message, never send it twice. A claim whose process
    died (killed between the server's acceptance and the record) is released and the message sent again: a
    crash can repeat one message, never lose it.

    After a failure, the other messages for the same channel and receiver wait for the next pass (the server
    or robot is likely down for all of them); other receivers still get theirs.

    `lead` (the daemon's leadership): the pass stops as soon as this instance no longer leads, and each claim
    holds only under its epoch.
    """
    at = at or utcnow()
    result = DeliveryResult()
    key = str(store.engine.url)
    me = this_process()
    if not _record_unrecorded(store, config, at, key, result) or not _hand_back_untried(store, key, me):
        return result  # the store is still locked: nothing new is claimed until the last pass is tidied
    pick = transports(config)
    try:
        release_abandoned_claims(store, at)
        with store.session() as session:
            due = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= at)
                .order_by(OutboxMessage.id)
                .limit(limit)
            ).all()
    except OperationalError as exc:
        _busy(exc)
        return result
    down: set[tuple[str, str]] = set()
    for msg in due:
        route = (msg.channel, msg.receiver)
        if route in down:
            continue
        fence = None
        if lead is not None:
            fence = lead.fence
            if fence is None:
                log.warning(
                    "no longer leading: the other messages are left to the leader / 已非主节点，剩余消息由主节点发送"
                )
                break
        try:
            claimed = _claim(store, msg.id, me, fence)
            # The claim's UPDATE saw the fence, but this process may have frozen before its COMMIT and been
            # overtaken meanwhile: the new leader passed the locked row by, so it is handed back unsent.
            overtaken = claimed and fence is not None and not holds(store, fence)
            if overtaken:
                _unclaim(store, msg.id, me)
        except Exception as exc:
            # The store failed with the claim made or not (its COMMIT may have gone through unanswered), and the
            # message was not tried: the next pass hands it back rather than leave it to CLAIM_LEASE.
            _untried.setdefault(key, set()).add(msg.id)
            if not isinstance(exc, OperationalError):
                raise
            _busy(exc)
            break
        if not claimed:
            continue  # another node took it, or it changed since it was listed
        if overtaken:
            log.warning(
                "no longer leading: the other messages are left to the leader / 已非主节点，剩余消息由主节点发送"
            )
            break
        error = ""
        try:
            note: str | None = pick(msg)(msg)
        except DeliveryError as exc:
            error, note = str(exc), None
        except Exception as exc:  # a transport bug must not stop the others; the message is retried
            log.error("transport failed", channel=msg.channel, error=str(exc), exc_info=True)
            error, note = f"{type(exc).__name__}: {exc}", None
        if note is None:
            down.add(route)
        outcome = _Outcome(msg.id, me, note, error)
        if not _record(store, config, at, outcome, result):
            _unrecorded.setdefault(key, []).append(outcome)
            log.error(
                "message outcome not recorded: the store is locked; it is written at the next pass and the "
                "message is not sent again meanwhile",
                channel=msg.channel,
                receiver=msg.receiver,
                message_id=msg.message_id,
                sent=note is not None,
            )
    return result


def _claim(store: Store, message_id: int, me: str, fence: Fence | None = None) -> bool:
    """Mark the message as being sent by `me`; False if another sender has it (or holds its row right now), or
    `fence` no longer holds (another instance leads)."""
    with store.session() as session:
        locked = session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
            .with_for_update(skip_locked=True)
        )
        if locked is None:
            return False
        conditions: list[ColumnElement[bool]] = [
            OutboxMessage.id == message_id,
            OutboxMessage.status == "pending",
        ]
        if fence is not None:
            conditions.append(fence.clause())
        claimed = session.execute(
            update(OutboxMessage)
            .where(*conditions)
            .values(status="sending", claimed_by=me, claimed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return claimed.rowcount == 1


def _unclaim(store: Store, message_id: int, me: str) -> None:
    """Hand back a claim not acted on: the message is pending again, its attempts unchanged."""
    with store.session() as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == "sending",
                OutboxMessage.claimed_by == me,
            )
            .values(status="pending", claimed_by="", claimed_at=None)
            .execution_options(synchronize_session=False)
        )


def _claim_stands(
    claimed_by: str, claimed_at: datetime | None, at: datetime, leader: str, daemons: set[str]
) -> bool:
    """Does a claim still belong to a sender that may finish it? Not when its process (of this host) is gone, nor
    when it is a daemon instance that no longer leads (a standby now, or frozen and overtaken: the leader's
    takeover waited out its lease), nor past CLAIM_LEASE whoever holds it."""
    if claimed_at is not None and at - claimed_at >= CLAIM_LEASE:
        return False
    if claimed_by in daemons and claimed_by != leader:
        return False
    return owner_gone(claimed_by) is not True


def release_abandoned_claims(store: Store, at: datetime) -> int:
    """Messages whose claim no longer stands (_claim_stands) are pending again: whether the server accepted them
    before the claimer died or was overtaken is unknown, and a repeat beats a loss.

    A row another session holds right now is passed by (SKIP LOCKED, on PostgreSQL): a leader frozen between
    recording an outcome and committing it holds that row until the server ends it or it thaws, and waiting
    for it would stop the new leader's every message."""
    with store.session() as session:
        claims = session.execute(
            select(OutboxMessage.id, OutboxMessage.claimed_by, OutboxMessage.claimed_at)
            .where(OutboxMessage.status == "sending")
            .with_for_update(skip_locked=True)
        ).all()
        if not claims:
            return 0
        leader = session.scalar(select(ClusterLeadership.instance).where(ClusterLeadership.id == 1)) or ""
        daemons = set(session.scalars(select(ClusterInstance.instance)))
        released = 0
        for message_id, claimed_by, claimed_at in claims:
            if _claim_stands(claimed_by, claimed_at, at, leader, daemons):
                continue
            row = session.get(OutboxMessage, message_id)
            if row is None or row.status != "sending":
                continue
            row.status, row.next_attempt_at = "pending", at
            released += 1
            log.warning(
                "message was being sent by a process that is gone: whether it arrived is unknown, "
                "it is sent again / 发送中的进程已中断，无法确认是否送达，将重新发送",
                channel=row.channel,
                receiver=row.receiver,
                message_id=row.message_id,
                claimed_by=claimed_by,
            )
    return released


def _busy(exc: OperationalError) -> None:
    log.warning("store busy: messages wait for the next pass", error=str(exc.orig))


def _hand_back_untried(store: Store, key: str, me: str) -> bool:
    """Pending again, attempts unchanged, whatever an earlier pass may have claimed and not tried; False if the
    store still fails (they wait for the pass after)."""
    waiting = sorted(_untried.pop(key, set()))
    for i, message_id in enumerate(waiting):
        try:
            _unclaim(store, message_id, me)
        except OperationalError as exc:
            _untried.setdefault(key, set()).update(waiting[i:])
            _busy(exc)
            return False
    return True


def _record_unrecorded(store: Store, config: Config, at: datetime, key: str, result: DeliveryResult) -> bool:
    """Write the outcomes an earlier pass could not; False if some are still unwritten."""
    waiting = _unrecorded.pop(key, [])
    for i, outcome in enumerate(waiting):
        if not _record(store, config, at, outcome, result):
            _unrecorded[key] = waiting[i:]
            return False
    return True


def _record(store: Store, config: Config, at: datetime, outcome: _Outcome, result: DeliveryResult) -> bool:
    """Write a message's outcome, retrying while the store is locked; False if it could not be written."""
    for attempt in range(RECORD_TRIES):
        try:
            with store.session() as session:
                _write_outcome(session, config, at, outcome, result)
            return True
        except OperationalError as exc:
            if attempt == RECORD_TRIES - 1:
                log.warning("store busy while recording a message's outcome", error=str(exc.orig))
    return False


def _write_outcome(
    session: Session, config: Config, at: datetime, outcome: _Outcome, result: DeliveryResult
) -> None:
    # Locked: a new leader releasing this claim meanwhile would otherwise have its state overwritten.
    row = session.get(OutboxMessage, outcome.message_id, with_for_update=True)
    if row is None or row.status != "sending" or row.claimed_by != outcome.claimer:
        return  # released meanwhile (this sender was presumed gone) and sent or claimed by another
    row.attempts += 1
    row.claimed_by, row.claimed_at = "", None
    if outcome.note is not None:
        row.status, row.sent_at, row.last_error = "sent", utcnow(), outcome.note
        result.sent += 1
        log.info(
            "message sent",
            channel=row.channel,
            receiver=row.receiver,
            message_id=row.message_id,
            note=outcome.note or None,
        )
        return
    error = outcome.error
    row.last_error = error[:2000]
    result.errors[f"{row.channel}:{row.receiver}"] = error
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
        row.status = "pending"
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
