"""The daemon killed (SIGKILL) in the middle of sending mail loses nothing: after a restart every message arrives.

Delivery is at-least-once: a message is marked sent only after the SMTP server answered 250 to it. The
daemon is killed while the server holds the 2nd message's DATA unanswered, so that message is the one
"in flight": it may arrive twice (once from the killed daemon, if a server kept it; once after the restart),
and that repeat is allowed. Every other message arrives exactly once, and none is lost.

Real parts only: `python -m ops_watch run` as a subprocess, aiosmtpd on loopback, the store on SQLite and
PostgreSQL. No wall-time asserts: every wait polls with a generous timeout.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alert_helpers import add_findings, outbox
from mailserver import MailServer, require_aiosmtpd
from test_daemon import REPO, TIMEOUT, Daemon, wait_for

from ops_watch.core.timeutil import utcnow
from ops_watch.store import open_store

pytestmark = pytest.mark.e2e

MESSAGES = 5  # one finding per subject, grouped by subject: five groups, five messages


def daemon_config(directory: Path, store_url: str, smtp_port: int) -> Path:
    rules = directory / "rules"
    if (REPO / "rules").is_dir():
        shutil.copytree(REPO / "rules", rules)
    else:
        rules.mkdir()
    off = "".join(
        f"\n[schedule.{job}]\nenabled = false\n"
        for job in (
            "ingest",
            "collect",
            "doors",
            "backups",
            "evaluate",
            "report_weekly",
            "inspections",
            "purge",
        )
    )
    config = directory / "config.toml"
    config.write_text(
        f"""\
[site]
timezone = "Asia/Shanghai"

[paths]
state_dir = "var"
rules_dir = "rules"

[ingest]
drop_dir = "var/drop"

[store]
url = "{store_url}"

[log]
level = "info"
format = "json"
{off}
# Only the notify job runs (the findings are put in the store by the test), every second.
[schedule.notify]
every = "1s"

[notify]
retry_base = "1s"
retry_cap = "2s"

[notify.email]
transport = "smtp"
host = "127.0.0.1"
port = {smtp_port}
timeout = "120s"
sender = "ops-watch@center.example"

[[notify.receivers]]
name = "center"
email = ["duty@center.example"]

[notify.route]
receiver = "center"
group_by = ["subject"]
group_wait = "0s"
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def held_server() -> Iterator[MailServer]:
    """An SMTP server that holds the 2nd message unanswered until `release` is set."""
    require_aiosmtpd()
    server = MailServer(hold_at=2).start()
    try:
        yield server
    finally:
        server.stop()


def test_killed_while_sending_then_restarted_every_message_arrives_at_least_once(
    tmp_path: Path, store_url: str, held_server: MailServer
) -> None:
    store = open_store(store_url)
    try:
        add_findings(store, MESSAGES, area="resources", at=utcnow() - timedelta(minutes=1))
        config = daemon_config(tmp_path, store_url, held_server.port)
        started: list[Daemon] = []
        try:
            first = Daemon(config)
            started.append(first)
            if not held_server.holding.wait(TIMEOUT):
                raise AssertionError(
                    "the 2nd message never reached the server; the daemon wrote:\n" + first.output()
                )
            assert len(held_server.messages()) == 1  # the 1st was accepted before the 2nd was held
            first.proc.send_signal(signal.SIGKILL)  # mid-DATA: no chance to mark anything
            assert first.wait() == -signal.SIGKILL
            first.kill()  # reap and join the log reader
            held = email.message_from_bytes(held_server.held_content, policy=email.policy.default)
            in_flight = held["Message-ID"]
            rows = outbox(store)
            assert len(rows) == MESSAGES  # every message was written before any was sent
            assert [r.status for r in rows].count("sent") == 1
            # Claimed by the killed process: the next daemon releases the claim and sends it again.
            in_flight_row = next(r for r in rows if r.message_id == in_flight)
            assert in_flight_row.status == "sending" and in_flight_row.claimed_by.endswith(
                f":{first.proc.pid}"
            )
            held_server.release.set()  # the killed connection's DATA gets no answer it could act on

            second = Daemon(config)
            started.append(second)

            def all_sent() -> bool:
                return all(r.status == "sent" for r in outbox(store))

            try:
                wait_for(all_sent, what="every outbox message marked sent after the restart")
            except AssertionError:
                raise AssertionError(
                    "not everything was sent; the daemon wrote:\n" + second.output()
                ) from None
            second.signal(signal.SIGTERM)
            assert second.wait() == 0, second.output()
        finally:
            for daemon in started:
                daemon.kill()

        rows = outbox(store)
        received = Counter(m.message["Message-ID"] for m in held_server.messages())
        assert set(received) == {r.message_id for r in rows}  # none lost, none invented
        assert received[in_flight] >= 1  # at-least-once: the in-flight one may come twice
        assert all(n == 1 for mid, n in received.items() if mid != in_flight), received
        assert all(r.attempts >= 1 and r.sent_at is not None for r in rows)
        for got in held_server.messages():
            assert got.rcpt_tos == ["duty@center.example"]
    finally:
        store.dispose()
