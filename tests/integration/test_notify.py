"""Findings reach the center by email: stored first, delivered by a real SMTP server, retried, never lost."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ops_watch.config import load_config
from ops_watch.notify.outbox import backoff, deliver_due, queue_finding_messages
from ops_watch.store.schema import Finding, OutboxMessage

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def _finding(store, status: str = "open", fp: str = "f" * 40, notified: str = "") -> int:
    with store.session() as s:
        f = Finding(
            fingerprint=fp,
            rule_id="inventory-fresh",
            check="evidence_freshness",
            area="evidence",
            severity="warning",
            status=status,
            subject="inventory",
            summary="「资源清单」已 25.0 小时没有新证据",
            evidence={"kind": "inventory", "note": "<script>alert(1)</script>"},
            first_seen=T0,
            last_seen=T0,
            notified_status=notified,
            thread_message_id="",
        )
        s.add(f)
        s.flush()
        return f.id


def _set_status(store, fid: int, status: str) -> None:
    with store.session() as s:
        f = s.get(Finding, fid)
        f.status = status
        if status == "resolved":
            f.resolved_at = T0 + timedelta(hours=2)


def _messages(store) -> list[OutboxMessage]:
    with store.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_open_and_resolve_mails_thread_together_as_eml_files(store, config_file):
    cfg = load_config(config_file())
    fid = _finding(store)
    assert queue_finding_messages(store, cfg, T0).queued == 1
    assert queue_finding_messages(store, cfg, T0).queued == 0  # told once
    _set_status(store, fid, "acknowledged")
    assert queue_finding_messages(store, cfg, T0).queued == 0  # an acknowledgement sends nothing
    _set_status(store, fid, "resolved")
    assert queue_finding_messages(store, cfg, T0 + timedelta(hours=2)).queued == 1
    result = deliver_due(store, cfg, T0 + timedelta(hours=2))
    assert result.sent == 2
    files = sorted(cfg.outbox_dir.glob("*.eml"))
    assert len(files) == 2
    opened, resolved = (email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files)
    assert opened["Subject"] == "[ops-watch][警告] 「资源清单」已 25.0 小时没有新证据"
    assert "=?utf-8?" in files[0].read_text(encoding="ascii").split("Subject:")[1].splitlines()[0]  # encoded
    assert resolved["Subject"].startswith("[ops-watch][已解决]")
    assert resolved["In-Reply-To"] == opened["Message-ID"] == resolved["References"]
    assert opened["Date"] and opened["To"] == "supervision@example.org"
    html = opened.get_body(("html",)).get_content()
    text = opened.get_body(("plain",)).get_content()
    assert "&lt;script&gt;" in html and "<script>" not in html  # evidence is escaped in HTML
    assert "ops-watch findings ack" in text and "inventory-fresh" in text
    assert [m.status for m in _messages(store)] == ["sent", "sent"]


def test_a_finding_opened_and_resolved_before_anyone_was_told_sends_nothing(store, config_file):
    cfg = load_config(config_file())
    _finding(store, status="resolved")
    assert queue_finding_messages(store, cfg, T0).queued == 0
    assert _messages(store) == []


def test_english_by_setting(store, config_file):
    cfg = load_config(config_file('[site]\nlanguage = "en"\n'))
    fid = _finding(store)
    queue_finding_messages(store, cfg, T0)
    _set_status(store, fid, "resolved")
    queue_finding_messages(store, cfg, T0)
    subjects = [m.subject for m in _messages(store)]
    assert subjects[0].startswith("[ops-watch][warning]") and subjects[1].startswith("[ops-watch][RESOLVED]")


@pytest.fixture
def smtp_server():
    aiosmtpd = pytest.importorskip(
        "aiosmtpd.controller", reason="aiosmtpd not installed (pip install -e .[test])"
    )

    class Handler:
        def __init__(self) -> None:
            self.received: list[tuple[str, list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    handler = Handler()
    controller = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=_dead_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def _smtp_config(config_file, port: int, extra: str = ""):
    return load_config(
        config_file(
            f'[notify]\nmax_attempts = 3\nretry_base = "1m"\nretry_cap = "10m"\n'
            f'[notify.email]\ntransport = "smtp"\nhost = "127.0.0.1"\nport = {port}\ntimeout = "5s"\n'
            f'sender = "ops-watch@center.example"\nrecipients = ["a@center.example", "b@center.example"]\n{extra}'
        )
    )


def test_smtp_delivery_to_a_real_server(store, config_file, smtp_server):
    controller, handler = smtp_server
    cfg = _smtp_config(config_file, controller.port)
    _finding(store)
    queue_finding_messages(store, cfg, T0)
    assert deliver_due(store, cfg, T0).sent == 1
    [(sender, rcpts, content)] = handler.received
    assert sender == "ops-watch@center.example" and rcpts == ["a@center.example", "b@center.example"]
    mail = email.message_from_bytes(content, policy=email.policy.default)
    assert "资源清单" in mail["Subject"]
    assert _messages(store)[0].sent_at is not None


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def test_a_dead_server_backs_off_survives_restart_and_ends_dead_never_lost(store_url, config_file):
    from ops_watch.store import open_store

    cfg = _smtp_config(config_file, _dead_port())
    store = open_store(store_url)
    _finding(store, fp="a" * 40)
    _finding(store, fp="b" * 40)
    queue_finding_messages(store, cfg, T0)
    r1 = deliver_due(store, cfg, T0)
    assert (r1.sent, r1.failed) == (0, 1)  # stops the round after the first connection failure
    first, second = _messages(store)
    assert first.attempts == 1 and first.next_attempt_at == T0 + timedelta(minutes=1)
    assert "Connection refused" in first.last_error or "ConnectionRefused" in first.last_error
    assert second.status == "pending" and second.attempts == 0
    store.dispose()

    store = open_store(store_url)  # a restart: the outbox is in the store
    assert deliver_due(store, cfg, T0 + timedelta(seconds=30)).failed == 1  # only the second is due yet
    assert deliver_due(store, cfg, T0 + timedelta(minutes=1)).failed == 1
    msgs = _messages(store)
    assert [m.attempts for m in msgs] == [2, 1]
    assert msgs[0].next_attempt_at == T0 + timedelta(minutes=3)  # 1m, then 2m
    r = deliver_due(store, cfg, T0 + timedelta(minutes=3))
    assert r.dead == 1
    assert [m.status for m in _messages(store)] == ["dead", "pending"]
    store.dispose()


def test_backoff_is_exponential_and_capped(config_file):
    cfg = load_config(config_file('[notify]\nretry_base = "30s"\nretry_cap = "5m"\n'))
    assert [backoff(cfg, n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 300, 300]


def test_unwritable_outbox_dir_is_a_retry_not_a_crash(store, config_file, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    cfg = load_config(config_file(f'[notify.email]\noutbox_dir = "{Path(blocker) / "sub"}"\n'))
    _finding(store)
    queue_finding_messages(store, cfg, T0)
    assert deliver_due(store, cfg, T0).failed == 1
    assert "cannot write" in _messages(store)[0].last_error
