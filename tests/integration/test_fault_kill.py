"""The daemon killed (SIGKILL) during notify with SMTP down, and during the ingest of a large file (issue 17).

Real parts only: `python -m ops_watch run` as a subprocess, aiosmtpd on 127.0.0.1, the store a SQLite file
read from outside with the sqlite3 module (what is on disk, not what a session would show).

(a) Alerts queued while the SMTP server is down; the daemon is killed during its notify passes, several
    times; the server comes up; the daemon restarts: every message arrives exactly once (counted by
    Message-ID at the server). No message was ever in flight at a kill, so at-least-once is exactly once here.
(b) The daemon is killed while it ingests a large door export (300,000 rows, a few seconds); restarted, it
    ingests the file exactly once: one batch, rows stored = rows in the file (+ the one bad row as a row
    error), nothing half-loaded left, the file archived once, and its alert (evidence_refused, for the bad
    row) sent once; alerts queued while the server was down go out during that ingest, each once (#6).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alert_helpers import add_findings
from e2e.test_daemon import TIMEOUT, Daemon, wait_for
from mailserver import MailServer, free_port, require_aiosmtpd

from ops_watch.core.timeutil import utcnow
from ops_watch.store import open_store

pytestmark = pytest.mark.e2e

JOBS = (
    "ingest",
    "collect",
    "doors",
    "backups",
    "evaluate",
    "notify",
    "report_weekly",
    "inspections",
    "purge",
)
RULES = """\
[[rule]]
id = "evidence-refused"
check = "evidence_refused"
severity = "warning"
title = "证据文件被拒收或有行被拒"
[rule.params]
within = "3650d"
"""
DOOR_HEADER = "时间,工号,姓名,卡号,门禁点,方向,结果,设备,流水号\n"
BIG_ROWS = 300_000


def site(root: Path, smtp_port: int, jobs: dict[str, str], smtp_timeout: str = "30s") -> Path:
    """A config in root: the store a SQLite file, only `jobs` scheduled (job -> every), mail to 127.0.0.1."""
    rules = root / "rules"
    rules.mkdir()
    (rules / "contract.toml").write_text('[contract]\nname = "fault test"\n', encoding="utf-8")
    (rules / "evidence.toml").write_text(RULES, encoding="utf-8")
    schedule = "".join(
        f'\n[schedule.{job}]\nevery = "{jobs[job]}"\n'
        if job in jobs
        else f"\n[schedule.{job}]\nenabled = false\n"
        for job in JOBS
    )
    config = root / "config.toml"
    config.write_text(
        f"""\
[site]
timezone = "Asia/Shanghai"

[paths]
state_dir = "var"
rules_dir = "rules"

[store]
url = "sqlite:///{root / "var" / "ops-watch.db"}"
# Shorter than the large ingest: a job that waits for the store gives up while the ingest holds it (#6).
busy_timeout_ms = 500

[ingest]
drop_dir = "var/drop"
settle = "1s"

[log]
level = "info"
format = "json"
{schedule}
[notify]
retry_base = "1s"
retry_cap = "2s"
max_attempts = 1000

[notify.email]
transport = "smtp"
host = "127.0.0.1"
port = {smtp_port}
timeout = "{smtp_timeout}"
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
    (root / "var").mkdir(exist_ok=True)
    return config


def query(root: Path, sql: str, *args: object) -> list[tuple]:
    """What the store's file holds, read with sqlite3 (no session, no filter on loading batches)."""
    db = root / "var" / "ops-watch.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # the daemon is still creating the store
            return []
        raise
    finally:
        conn.close()


def outbox(root: Path) -> list[tuple[str, str, int]]:
    return query(root, "SELECT message_id, status, attempts FROM outbox_messages ORDER BY id")


def notify_passes(daemon: Daemon) -> int:
    return len(daemon.find(lambda e: e["event"] == "job done" and e.get("job") == "notify"))


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    try:
        yield started
    finally:
        for d in started:
            d.kill()


def start(daemons: list[Daemon], config: Path) -> Daemon:
    d = Daemon(config)
    daemons.append(d)
    return d


def sigkill(d: Daemon) -> None:
    d.proc.send_signal(signal.SIGKILL)
    assert d.wait() == -signal.SIGKILL
    d.kill()  # reap and join the log reader


def stop(d: Daemon) -> None:
    d.signal(signal.SIGTERM)
    assert d.wait() == 0, d.output()


def wait_all_sent(root: Path, d: Daemon, at_least: int) -> list[tuple[str, str, int]]:
    def done() -> list[tuple[str, str, int]] | None:
        rows = outbox(root)
        return rows if len(rows) >= at_least and all(status == "sent" for _, status, _ in rows) else None

    try:
        return wait_for(done, what="every outbox message sent")
    except AssertionError:
        raise AssertionError(f"outbox {outbox(root)}; the daemon wrote:\n{d.output()}") from None


def settle_notify(d: Daemon, passes: int = 3) -> None:
    """A few more notify passes: a message sent again would be sent by now."""
    before = notify_passes(d)
    wait_for(lambda: notify_passes(d) >= before + passes, what=f"{passes} more notify passes")


MESSAGES = 4
KILLS = 3


def test_alerts_queued_while_smtp_is_down_arrive_once_after_kills_and_restart(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    require_aiosmtpd()
    port = free_port()  # nothing listens there yet: the server is down
    config = site(tmp_path, port, {"notify": "1s"}, smtp_timeout="3s")
    store = open_store(f"sqlite:///{tmp_path / 'var' / 'ops-watch.db'}")
    try:
        add_findings(store, MESSAGES, area="resources", at=utcnow() - timedelta(minutes=1))
    finally:
        store.dispose()

    # Kill 1: the port refuses connections; the daemon has failed at least one attempt. Kills 2 and 3: the
    # port accepts and never answers (a hung server): the daemon is killed inside a notify pass, waiting for
    # the greeting of the message it is sending.
    attempts = 0
    for kill in range(KILLS):
        d = start(daemons, config)
        if kill == 0:

            def tried(floor: int = attempts) -> int:
                rows = outbox(tmp_path)
                total = sum(a for _, _, a in rows)
                return total if len(rows) == MESSAGES and total > floor else 0

            try:
                attempts = wait_for(tried, what="a failed attempt")
            except AssertionError:
                raise AssertionError(f"outbox {outbox(tmp_path)}; the daemon wrote:\n{d.output()}") from None
            sigkill(d)
        else:
            with socket.create_server(("127.0.0.1", port)) as hung:
                hung.settimeout(TIMEOUT)
                try:
                    conn, _ = hung.accept()
                except TimeoutError:
                    raise AssertionError(f"no connection; the daemon wrote:\n{d.output()}") from None
                with conn:
                    sigkill(d)  # mid-pass: connected, the message not sent
        assert not [row for row in outbox(tmp_path) if row[1] == "sent"], outbox(tmp_path)

    server = MailServer(port=port).start()
    try:
        d = start(daemons, config)
        rows = wait_all_sent(tmp_path, d, MESSAGES)
        settle_notify(d)
        stop(d)
        received = Counter(m.message["Message-ID"] for m in server.messages())
    finally:
        server.stop()
    assert len(rows) == MESSAGES
    assert set(received) == {mid for mid, _, _ in rows}, (received, rows)  # none lost, none invented
    assert all(n == 1 for n in received.values()), received  # none twice


def big_door_file(path: Path, rows: int) -> tuple[bytes, int]:
    """`rows` door events, all distinct, and one bad row (line 3); returns the bytes and the bad line."""
    t0 = dt.datetime(2026, 11, 2)
    lines = [DOOR_HEADER]
    for i in range(rows):
        t = t0 + dt.timedelta(seconds=i)
        lines.append(
            f"{t:%Y-%m-%d %H:%M:%S},YW-{i % 50:04},张伟,{3005120000 + i % 50},机房A门,"
            f"{'进' if i % 2 == 0 else '出'},成功,DS-1,{i}\n"
        )
    lines.insert(2, "not a time,YW-0001,张伟,3005120001,机房A门,进,成功,DS-1,bad-1\n")
    data = "".join(lines).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    then = time.time() - 30
    os.utime(path, (then, then))
    return data, 3


def store_bytes(root: Path) -> int:
    var = root / "var"
    return sum((var / n).stat().st_size for n in ("ops-watch.db", "ops-watch.db-wal") if (var / n).exists())


def small_bad_file(path: Path, n: int) -> None:
    """A backup file with one good and one bad row: an evidence_refused finding, so an alert."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "system,job,started,finished,status,size_gb\n"
        f"db{n:02},nightly,2026-11-02 01:{n:02},,success,1\n"
        f"db{n:02},nightly,not a time,,success,1\n",
        encoding="utf-8",
    )
    then = time.time() - 60
    os.utime(path, (then, then))


def test_killed_while_ingesting_a_large_file_it_is_ingested_once_and_alerted_once(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    require_aiosmtpd()
    port = free_port()  # the server is down until the restart
    config = site(tmp_path, port, {"ingest": "1s", "evaluate": "1s", "notify": "1s"})
    drop = tmp_path / "var" / "drop"
    for n in range(MESSAGES):
        small_bad_file(drop / "backup" / f"small_{n}.csv", n)

    # Alerts queued (the server down), then the large file arrives, and the daemon is killed ingesting it.
    first = start(daemons, config)
    try:
        wait_for(lambda: len(outbox(tmp_path)) >= MESSAGES, what="the small files' alerts queued")
    except AssertionError:
        raise AssertionError(f"outbox {outbox(tmp_path)}; the daemon wrote:\n{first.output()}") from None
    base = store_bytes(tmp_path)
    big = drop / "door" / "big.csv"
    data, bad_line = big_door_file(big, BIG_ROWS)
    # Under way: the store has grown by megabytes (rows written), and the file is still in the drop folder.
    try:
        wait_for(lambda: store_bytes(tmp_path) > base + 4_000_000, what="the store growing")
    except AssertionError:
        raise AssertionError("the ingest never wrote; the daemon wrote:\n" + first.output()) from None
    sigkill(first)
    assert big.exists(), "killed too late: the file was ingested before the kill; make it bigger"
    assert not first.find(lambda e: e["event"] == "evidence file ingested" and e["file"] == "big.csv")

    # The server up, the daemon restarted: the queued alerts go out while it ingests the large file again
    # (issue 17 #6: a store held by the ingest may delay a message, never repeat it).
    server = MailServer(port=port).start()
    try:
        second = start(daemons, config)
        second.wait_event("evidence file ingested", file="big.csv")
        rows = wait_all_sent(tmp_path, second, MESSAGES + 1)
        settle_notify(second)
        stop(second)
        received = Counter(m.message["Message-ID"] for m in server.messages())
    finally:
        server.stop()

    batches = query(
        tmp_path, "SELECT id, status, rows_total, rows_ok, rows_bad FROM evidence_batches WHERE kind = 'door'"
    )
    assert len(batches) == 1, batches  # no half-loaded batch left beside the good one
    ((batch_id, status, total, ok, bad),) = batches
    assert (status, total, ok, bad) == ("partial", BIG_ROWS + 1, BIG_ROWS, 1), batches
    assert query(tmp_path, "SELECT count(*) FROM door_events") == [(BIG_ROWS,)]
    assert query(tmp_path, "SELECT count(*) FROM door_events WHERE batch_id IS NOT ? ", batch_id) == [(0,)]
    assert query(tmp_path, "SELECT row FROM row_errors WHERE batch_id = ?", batch_id) == [(bad_line,)]
    archived = [
        p
        for p in (tmp_path / "var" / "drop").rglob("big*.csv")
        if "processed" in p.parts and not p.name.endswith(".errors.csv")
    ]
    assert len(archived) == 1 and archived[0].read_bytes() == data, archived
    assert not big.exists()

    # The alerts: one evidence_refused finding per file with a bad row (the small ones and the large one),
    # each message at the server exactly once.
    refused = query(tmp_path, "SELECT status FROM findings WHERE rule_id = 'evidence-refused'")
    assert refused == [("open",)] * (MESSAGES + 1), refused
    assert set(received) == {mid for mid, _, _ in rows}, (received, rows)  # none lost, none invented
    assert all(n == 1 for n in received.values()), received  # none twice
    assert len(received) == MESSAGES + 1, received
    shutil.rmtree(tmp_path / "var" / "drop" / "processed", ignore_errors=True)  # 24 MB: not kept for pytest
