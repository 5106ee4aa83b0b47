"""Console sessions on a real store: idle timeout and lifetime, CSRF, the audit trail, sessions ended with their
account, and a store locked by another process (issue 18)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ops_watch.config import WebConfig
from ops_watch.store import Store, open_store
from ops_watch.store.db import make_engine
from ops_watch.store.schema import LoginSession, UserAccount
from ops_watch.web import accounts, sessions
from ops_watch.web.accounts import Account, StoreBusy

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
CONFIG = WebConfig()  # idle 30 min, lifetime 12 h
PASSWORD = "Morning-Round-2026"


def _user(store: Store, name: str = "zhang", role: str = "operator") -> Account:
    accounts.add_user(store, CONFIG, name, PASSWORD, role, at=T0)
    account = accounts.login(store, CONFIG, name, PASSWORD, address="10.0.0.1", at=T0)
    assert isinstance(account, Account)
    return account


def _rows(store: Store) -> list[LoginSession]:
    with store.session() as s:
        return list(s.scalars(select(LoginSession).order_by(LoginSession.id)))


def test_a_session_is_found_by_its_cookie_which_the_store_never_holds(store: Store) -> None:
    account = _user(store)
    cookie, session = sessions.open_session(store, account, address="10.0.0.1", user_agent="Chromium", at=T0)
    assert len(cookie) >= 43 and session.account == account and len(session.csrf) >= 43
    [row] = _rows(store)
    assert cookie not in (row.token_sha256, row.csrf) and len(row.token_sha256) == 64
    assert (row.address, row.user_agent) == ("10.0.0.1", "Chromium")
    assert sessions.session_of(store, CONFIG, cookie, T0 + timedelta(minutes=5)) == session
    assert sessions.session_of(store, CONFIG, cookie + "x", T0) is None
    assert sessions.session_of(store, CONFIG, None, T0) is None
    assert sessions.session_of(store, CONFIG, "", T0) is None
    assert sessions.session_of(store, CONFIG, "x" * 10_000, T0) is None


def test_a_session_ends_after_the_idle_timeout(store: Store) -> None:
    cookie, _ = sessions.open_session(store, _user(store), address="a", user_agent="", at=T0)
    at = T0
    for _ in range(4):  # a page every 29 minutes keeps it alive
        at += timedelta(minutes=29)
        found = sessions.session_of(store, CONFIG, cookie, at)
        assert found is not None and found.last_seen == at - timedelta(minutes=29)
    assert _rows(store)[0].last_seen == at
    assert sessions.session_of(store, CONFIG, cookie, at + timedelta(minutes=30, seconds=1)) is None
    assert _rows(store) == [], "the ended session is deleted"
    assert sessions.session_of(store, CONFIG, cookie, at) is None
    assert sessions.events(store, 1)[0] | {"at": None} == {
        "at": None,
        "user": "zhang",
        "action": "session_end",
        "address": "",
        "ok": True,
        "detail": "idle timeout",
    }


def test_last_seen_is_written_at_most_once_a_minute(store: Store) -> None:
    cookie, _ = sessions.open_session(store, _user(store), address="a", user_agent="", at=T0)
    sessions.session_of(store, CONFIG, cookie, T0 + timedelta(seconds=59))
    assert _rows(store)[0].last_seen == T0
    sessions.session_of(store, CONFIG, cookie, T0 + timedelta(seconds=61))
    assert _rows(store)[0].last_seen == T0 + timedelta(seconds=61)


def test_a_session_ends_after_its_lifetime_however_busy(store: Store) -> None:
    cookie, _ = sessions.open_session(store, _user(store), address="a", user_agent="", at=T0)
    at = T0
    while at + timedelta(minutes=20) <= T0 + CONFIG.session_lifetime:
        at += timedelta(minutes=20)
        assert sessions.session_of(store, CONFIG, cookie, at) is not None
    assert (
        sessions.session_of(store, CONFIG, cookie, T0 + CONFIG.session_lifetime + timedelta(seconds=1))
        is None
    )
    assert sessions.events(store, 1)[0]["detail"] == "session lifetime"


def test_ended_sessions_of_others_are_swept_when_a_session_is_touched(store: Store) -> None:
    zhang, li = _user(store, "zhang"), _user(store, "li.si", "viewer")
    old, _ = sessions.open_session(store, zhang, address="a", user_agent="", at=T0)
    live, _ = sessions.open_session(store, li, address="b", user_agent="", at=T0 + timedelta(hours=1))
    assert len(_rows(store)) == 2
    assert sessions.session_of(store, CONFIG, live, T0 + timedelta(hours=1, minutes=10)) is not None
    assert [r.user_id for r in _rows(store)] == [li.id]


def test_csrf_token_is_compared_whole(store: Store) -> None:
    _, session = sessions.open_session(store, _user(store), address="a", user_agent="", at=T0)
    assert sessions.csrf_ok(session, session.csrf)
    assert not sessions.csrf_ok(session, None)
    assert not sessions.csrf_ok(session, "")
    assert not sessions.csrf_ok(session, session.csrf[:-1])
    assert not sessions.csrf_ok(session, session.csrf + "x")
    assert not sessions.csrf_ok(session, "令牌" + session.csrf)


def test_logins_logouts_and_writes_are_recorded(store: Store) -> None:
    account = _user(store)
    accounts.login(store, CONFIG, "zhang", "Wrong-Guess-1", address="10.0.0.9", at=T0 + timedelta(seconds=1))
    cookie, _ = sessions.open_session(
        store, account, address="10.0.0.1", user_agent="", at=T0 + timedelta(seconds=2)
    )
    sessions.record(
        store,
        "acknowledge",
        user="zhang",
        address="10.0.0.1",
        ok=True,
        detail="finding 7: <b>已联系厂商</b>",
        at=T0 + timedelta(seconds=3),
    )
    sessions.record(
        store,
        "acknowledge",
        user="zhang",
        address="10.0.0.1",
        ok=False,
        detail="no CSRF token",
        at=T0 + timedelta(seconds=4),
    )
    sessions.close_session(store, cookie, T0 + timedelta(seconds=5), address="10.0.0.1")
    sessions.close_session(store, cookie, T0 + timedelta(seconds=6))  # twice: nothing more happens
    assert sessions.session_of(store, CONFIG, cookie, T0 + timedelta(seconds=7)) is None
    got = [
        (e["at"], e["user"], e["action"], e["address"], e["ok"], e["detail"]) for e in sessions.events(store)
    ]
    assert got == [
        (T0 + timedelta(seconds=5), "zhang", "logout", "10.0.0.1", True, ""),
        (T0 + timedelta(seconds=4), "zhang", "acknowledge", "10.0.0.1", False, "no CSRF token"),
        (T0 + timedelta(seconds=3), "zhang", "acknowledge", "10.0.0.1", True, "finding 7: <b>已联系厂商</b>"),
        (T0 + timedelta(seconds=2), "zhang", "login", "10.0.0.1", True, ""),
        (T0 + timedelta(seconds=1), "zhang", "login", "10.0.0.9", False, "wrong password"),
        (T0, "cli", "user_add", "local", True, "zhang (operator)"),
    ]
    assert len(sessions.events(store, limit=2)) == 2
    assert [e["action"] for e in sessions.events(store, user="cli")] == ["user_add"]
    assert accounts.list_users(store)[0]["last_login"] == T0 + timedelta(seconds=2)


def test_disabling_an_account_or_changing_its_password_ends_its_sessions(store: Store) -> None:
    account = _user(store)
    first, _ = sessions.open_session(store, account, address="a", user_agent="", at=T0)
    second, _ = sessions.open_session(store, account, address="b", user_agent="", at=T0)
    accounts.set_disabled(store, "zhang", True)
    assert _rows(store) == []
    assert sessions.session_of(store, CONFIG, first, T0) is None
    accounts.set_disabled(store, "zhang", False)
    assert sessions.session_of(store, CONFIG, second, T0) is None, "enabling again opens no old session"
    third, _ = sessions.open_session(store, account, address="a", user_agent="", at=T0)
    accounts.set_password(store, CONFIG, "zhang", "Evening-Round-2026")
    assert sessions.session_of(store, CONFIG, third, T0) is None
    fourth, _ = sessions.open_session(store, account, address="a", user_agent="", at=T0)
    assert sessions.close_sessions_of(store, "zhang") == 1
    assert sessions.session_of(store, CONFIG, fourth, T0) is None
    assert sessions.close_sessions_of(store, "nobody") == 0


def test_a_session_reads_its_account_each_time(store: Store) -> None:
    account = _user(store)
    cookie, _ = sessions.open_session(store, account, address="a", user_agent="", at=T0)
    accounts.set_role(store, "zhang", "viewer")
    found = sessions.session_of(store, CONFIG, cookie, T0)
    assert found is not None and found.account.role == "viewer"
    with store.session() as s:  # disabled by another way than set_disabled: still no session
        s.get(UserAccount, account.id).disabled = True  # type: ignore[union-attr]
    assert sessions.session_of(store, CONFIG, cookie, T0) is None


def test_a_locked_store_delays_reads_and_refuses_writes_with_a_clear_error(tmp_path: Path) -> None:
    """SQLite: another process holds the write lock past busy_timeout_ms (the daemon ingesting a big file)."""
    path = tmp_path / "store.db"
    open_store(f"sqlite:///{path}").dispose()
    store = Store(make_engine(f"sqlite:///{path}", busy_timeout_ms=200))
    try:
        account = _user(store)
        cookie, _ = sessions.open_session(store, account, address="a", user_agent="", at=T0)
        daemon = sqlite3.connect(path, isolation_level=None)
        try:
            daemon.execute("BEGIN IMMEDIATE")
            daemon.execute("INSERT INTO store_state (name, value) VALUES ('held', 'by the test')")
            # A page view: read, and its last_seen write skipped rather than failed.
            found = sessions.session_of(store, CONFIG, cookie, T0 + timedelta(minutes=5))
            assert found is not None and found.account == account
            with pytest.raises(StoreBusy) as busy:
                sessions.record(store, "acknowledge", user="zhang", address="a", ok=True, at=T0)
            assert "try again" in busy.value.en and "稍后重试" in busy.value.zh
            assert busy.value.text("zh") == busy.value.zh
            with pytest.raises(StoreBusy):
                accounts.login(store, CONFIG, "zhang", "Wrong-Guess-1", address="a", at=T0)
            with pytest.raises(StoreBusy):
                sessions.open_session(store, account, address="a", user_agent="", at=T0)
            with pytest.raises(StoreBusy):
                accounts.add_user(store, CONFIG, "li", PASSWORD, "viewer")
        finally:
            daemon.execute("ROLLBACK")
            daemon.close()
        assert _rows(store)[0].last_seen == T0
        sessions.record(store, "acknowledge", user="zhang", address="a", ok=True, at=T0)
        assert sessions.events(store, 1)[0]["action"] == "acknowledge"
    finally:
        store.dispose()
