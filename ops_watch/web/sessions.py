"""Console sessions and the audit trail, without HTTP.

A session is a random cookie value of which the store keeps only the sha256, with a CSRF token for its forms.
It ends after `idle_timeout` without a page view, `session_lifetime` after its login, at logout, and when its
account is disabled or its password changed. The account's role is read at each look-up, so a change applies
at once. Every login, logout and console write is a row of `auth_events` (`record`), which admins read
(`events`, `ops-watch users events`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from ops_watch.config import WebConfig
from ops_watch.core.log import get_logger
from ops_watch.store import Store
from ops_watch.store.schema import AuthEvent, LoginSession, UserAccount
from ops_watch.web.accounts import TOUCH_EVERY, Account, StoreBusy, add_event, end_sessions, writing

log = get_logger(__name__)

COOKIE = "ops_watch_session"
COOKIE_MAX = 100  # token_urlsafe(32) is 43 characters; anything much longer is not ours

__all__ = [
    "COOKIE",
    "StoreBusy",
    "WebSession",
    "close_session",
    "close_sessions_of",
    "csrf_ok",
    "events",
    "open_session",
    "record",
    "session_of",
]


@dataclass(frozen=True)
class WebSession:
    id: int
    account: Account
    csrf: str
    created_at: datetime
    last_seen: datetime


def _sha256(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def _expired(config: WebConfig, at: datetime) -> Any:
    """The condition of a session that has ended by time."""
    return or_(
        LoginSession.last_seen < at - config.idle_timeout,
        LoginSession.created_at < at - config.session_lifetime,
    )


def open_session(
    store: Store, account: Account, *, address: str, user_agent: str, at: datetime
) -> tuple[str, WebSession]:
    """A new session for an account that has just logged in (password or a trusted proxy's header); returns the
    cookie value (secrets.token_urlsafe(32), never stored) and the session. Records the "login" event."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with writing(store) as s:
        row = LoginSession(
            token_sha256=_sha256(cookie),
            user_id=account.id,
            csrf=csrf,
            created_at=at,
            last_seen=at,
            address=address[:64],
            user_agent=user_agent[:256],
        )
        s.add(row)
        add_event(s, "login", user=account.name, address=address, ok=True, at=at)
        s.flush()
        return cookie, WebSession(row.id, account, csrf, at, at)


def session_of(store: Store, config: WebConfig, cookie: str | None, at: datetime) -> WebSession | None:
    """The live session of a cookie, or None: unknown, idle longer than idle_timeout, older than
    session_lifetime, or its account disabled. last_seen is written at most once a minute (a page view is not a
    write each time); ended sessions are deleted then. Neither write fails a page: a busy store skips them."""
    if not cookie or len(cookie) > COOKIE_MAX:
        return None
    with store.session() as s:
        found = s.execute(
            select(LoginSession, UserAccount)
            .join(UserAccount, UserAccount.id == LoginSession.user_id)
            .where(LoginSession.token_sha256 == _sha256(cookie))
        ).first()
        if found is None:
            return None
        row, user = found
        session = WebSession(
            row.id, Account(user.id, user.name, user.role), row.csrf, row.created_at, row.last_seen
        )
        disabled = user.disabled
    idle = at - session.last_seen > config.idle_timeout
    too_old = at - session.created_at > config.session_lifetime
    if disabled or idle or too_old:
        why = "account disabled" if disabled else "idle timeout" if idle else "session lifetime"
        try:
            with writing(store) as s:
                if s.execute(delete(LoginSession).where(LoginSession.id == session.id)).rowcount:
                    add_event(
                        s, "session_end", user=session.account.name, address="", ok=True, detail=why, at=at
                    )
        except StoreBusy:
            log.info("an ended session is left for later: the store is busy", session=session.id)
        return None
    if at - session.last_seen >= TOUCH_EVERY:
        try:
            with writing(store) as s:
                s.execute(update(LoginSession).where(LoginSession.id == session.id).values(last_seen=at))
                s.execute(delete(LoginSession).where(_expired(config, at)))
        except StoreBusy:
            log.info("last_seen not updated: the store is busy", session=session.id)
    return session


def close_session(store: Store, cookie: str, at: datetime, *, address: str = "") -> None:
    """Log out: the session is deleted and a "logout" event recorded (nothing happens for an unknown cookie)."""
    if not cookie or len(cookie) > COOKIE_MAX:
        return
    with writing(store) as s:
        found = s.execute(
            select(LoginSession.id, UserAccount.name)
            .join(UserAccount, UserAccount.id == LoginSession.user_id)
            .where(LoginSession.token_sha256 == _sha256(cookie))
        ).first()
        if found is None:
            return
        s.execute(delete(LoginSession).where(LoginSession.id == found.id))
        add_event(s, "logout", user=found.name, address=address or "", ok=True, at=at)


def close_sessions_of(store: Store, name: str) -> int:
    """End every session of a user (accounts.set_disabled and set_password do it themselves); how many."""
    with writing(store) as s:
        user_id = s.scalar(select(UserAccount.id).where(UserAccount.name == name))
        return 0 if user_id is None else end_sessions(s, user_id)


def csrf_ok(session: WebSession, token: str | None) -> bool:
    """Is `token` the session's CSRF token? (compared in constant time)"""
    if not token:
        return False
    return hmac.compare_digest(session.csrf.encode("utf-8"), token.encode("utf-8"))


def record(
    store: Store, action: str, *, user: str, address: str, ok: bool, detail: str = "", at: datetime
) -> None:
    """One row of the audit trail: every write of the console (acknowledge, silence, inspection, ...) and every
    refusal. Raises StoreBusy when the store stays locked."""
    with writing(store) as s:
        add_event(s, action, user=user, address=address, ok=ok, detail=detail, at=at)


def events(
    store: Store,
    limit: int = 200,
    user: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> list[dict[str, Any]]:
    """The newest events first: at, user, action, address, ok, detail; at or after `since` and before
    `before` when given (aware times)."""
    query = (
        select(AuthEvent).order_by(AuthEvent.at.desc(), AuthEvent.id.desc()).limit(max(1, min(limit, 10_000)))
    )
    if user is not None:
        query = query.where(AuthEvent.user_name == user)
    if since is not None:
        query = query.where(AuthEvent.at >= since)
    if before is not None:
        query = query.where(AuthEvent.at < before)
    with store.session() as s:
        return [
            {
                "at": e.at,
                "user": e.user_name,
                "action": e.action,
                "address": e.address,
                "ok": e.ok,
                "detail": e.detail,
            }
            for e in s.scalars(query)
        ]
