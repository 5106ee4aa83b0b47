"""A long ingest never holds the store against the other jobs, and never shows a half file (issue 17 #6).

A 200 MB file was once ingested in one SQLite write transaction (65 s): meanwhile each notify pass sent a
message, failed to mark it sent ("database is locked") and sent it again, six copies of one email. Now a bulk
file commits a chunk at a time under a batch that stays "loading" (invisible) until its end, and the outbox
claims a message before sending it. These tests run the ingest in another process against a real SQLite file,
with a real SMTP server (aiosmtpd) receiving, and count what arrives.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from alert_helpers import T0, add_findings, outbox
from mailserver import MailServer, require_aiosmtpd
from sqlalchemy import func, select, text

from ops_watch import plugins
from ops_watch.config import load_config
from ops_watch.core.timeutil import utcnow
from ops_watch.ingest import clean_abandoned_loads, ingest_file
from ops_watch.notify.outbox import CLAIM_LEASE, deliver_due, queue_finding_messages, release_abandoned_claims
from ops_watch.store import open_store
from ops_watch.store.schema import DoorEvent, EvidenceBatch, OutboxMessage

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from door_ingest import write_door_events  # noqa: E402 - the bench's generator of a door system's export

ROWS = 120_000

INGEST = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ops_watch import plugins
    from ops_watch.config import load_config
    from ops_watch.ingest import ingest_file
    from ops_watch.store import open_store

    plugins.load()
    config = load_config(Path(sys.argv[1]))
    store = open_store(sys.argv[2])
    Path(sys.argv[4]).write_text("started")
    result = ingest_file(store, config, "door", Path(sys.argv[3]))
    print(result.status, result.rows_ok)
    """
)


@pytest.fixture(scope="module")
def door_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("door") / "门禁记录_2025.csv"
    write_door_events(path, ROWS)
    return path


@pytest.fixture
def setting(tmp_path: Path, config_file):
    plugins.load()
    server = None
    port = 9  # no server: the tests that do not send never connect

    def make(with_server: bool = True):
        nonlocal server, port
        if with_server:
            require_aiosmtpd()
            server = MailServer().start()
            port = server.port
        path = config_file(
            f"""
[store]
url = "sqlite:///{tmp_path / "store.db"}"
busy_timeout_ms = 300

[notify]
retry_base = "1s"
retry_cap = "1s"

[notify.email]
transport = "smtp"
host = "127.0.0.1"
port = {port}
timeout = "5s"
sender = "ops-watch@center.example"
recipients = ["fallback@center.example"]

[[notify.receivers]]
name = "center"
email = ["center@center.example"]

[notify.route]
receiver = "center"
group_wait = "0s"
group_interval = "1m"
group_by = ["rule"]
"""
        )
        config = load_config(path)
        store = open_store(config.store.url, config.store.busy_timeout_ms)
        return path, config, store, server

    yield make
    if server is not None:
        server.stop()


def start_ingest(config_path: Path, url: str, csv: Path, marker: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", INGEST, str(config_path), url, str(csv), str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(marker: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the ingest process never started"
        time.sleep(0.05)


def visible_rows(store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(DoorEvent)) or 0


def stored_rows(store) -> int:
    """Every door row in the table, loading or not (what the ORM hides is still there)."""
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM door_events")).scalar_one()


def test_notify_during_a_long_ingest_sends_each_message_once_and_readers_never_see_half_the_file(
    setting, door_file, tmp_path
):
    config_path, config, store, server = setting()
    rules = ["inventory-fresh", "backup-fresh", "door-fresh", "handover-fresh", "drill-due", "audit-due"]
    for rule in rules:
        add_findings(store, 2, rule=rule)
    queued = queue_finding_messages(store, config, T0).queued
    assert queued == len(rules)

    marker = tmp_path / "started"
    proc = start_ingest(config_path, config.store.url, door_file, marker)
    wait_for(marker, proc)
    seen: set[int] = set()
    passes = errors = 0
    while proc.poll() is None:
        try:
            deliver_due(store, config)  # the daemon's notify job: every pass while the ingest runs
        except Exception:  # a job that fails is logged by the daemon and runs again at its next time
            errors += 1
        passes += 1
        seen.add(visible_rows(store))
        time.sleep(0.1)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    status, rows_ok = out.split()
    assert status == "accepted"
    for _ in range(3):  # what a locked store delayed goes out now
        deliver_due(store, config)

    ids = Counter(m.message["Message-ID"] for m in server.messages())
    assert len(ids) == queued and set(ids.values()) == {1}, ids  # every message, each exactly once
    assert {m.status for m in outbox(store)} == {"sent"}
    assert passes >= 5  # the notify passes did run during the ingest
    # A reader saw nothing of the file or all of it, never a part.
    assert seen <= {0, int(rows_ok)}, sorted(seen)
    assert visible_rows(store) == int(rows_ok) == stored_rows(store)


def test_a_batch_left_loading_by_a_killed_ingest_is_removed_and_the_file_read_again(
    setting, door_file, tmp_path
):
    config_path, config, store, _ = setting(with_server=False)
    marker = tmp_path / "started"
    proc = start_ingest(config_path, config.store.url, door_file, marker)
    wait_for(marker, proc)
    deadline = time.monotonic() + 120
    while stored_rows(store) < 20_000:  # some chunks are committed
        assert proc.poll() is None, "the ingest ended before it could be killed: make the file larger"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    half = stored_rows(store)
    assert 0 < half < ROWS
    assert visible_rows(store) == 0  # the half file was never evidence
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceBatch)) == 0

    result = ingest_file(store, config, "door", door_file)  # removes the leftover first, then reads it all
    assert result.status == "accepted"
    assert result.rows_duplicate == 0  # the dead batch's rows did not make the file's rows look known
    assert visible_rows(store) == result.rows_ok == stored_rows(store)
    with store.session(see_loading=True) as s:
        statuses = s.scalars(select(EvidenceBatch.status)).all()
    assert statuses == ["accepted"]


def test_a_batch_loading_in_a_live_process_is_left_alone(setting, door_file, tmp_path):
    config_path, config, store, _ = setting(with_server=False)
    marker = tmp_path / "started"
    proc = start_ingest(config_path, config.store.url, door_file, marker)
    wait_for(marker, proc)
    deadline = time.monotonic() + 120
    while stored_rows(store) == 0:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    assert clean_abandoned_loads(store) == 0  # its owner is alive: still loading, not abandoned
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert visible_rows(store) == int(out.split()[1]) == stored_rows(store)


def test_two_ingests_of_the_same_file_at_once_store_it_once(setting, door_file, tmp_path):
    config_path, config, store, _ = setting(with_server=False)
    procs = [
        start_ingest(config_path, config.store.url, door_file, tmp_path / f"started-{i}") for i in range(2)
    ]
    results = sorted(p.communicate()[0].split()[0] for p in procs)
    assert results == ["accepted", "duplicate"]
    with store.session(see_loading=True) as s:
        assert s.scalars(select(EvidenceBatch.status)).all() == ["accepted"]
    assert visible_rows(store) == stored_rows(store) > 0


def test_a_claim_of_a_dead_process_is_released_and_sent_once_a_live_ones_is_not(setting):
    _, config, store, server = setting()
    add_findings(store, 1, rule="inventory-fresh")
    add_findings(store, 1, rule="backup-fresh")
    assert queue_finding_messages(store, config, T0).queued == 2
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    first, second = outbox(store)
    claimed_at = utcnow()
    with store.session() as s:
        for msg, owner in (
            (first, f"{socket.gethostname()}:{dead.pid}"),
            (second, f"{socket.gethostname()}:1"),
        ):
            row = s.get(OutboxMessage, msg.id)
            row.status, row.claimed_by, row.claimed_at = "sending", owner, claimed_at
    # pid 1 is alive: its claim stands; the dead pid's is released and the message sent.
    result = deliver_due(store, config)
    assert result.sent == 1
    assert [m.message["Message-ID"] for m in server.messages()] == [first.message_id]
    assert {m.id: m.status for m in outbox(store)} == {first.id: "sent", second.id: "sending"}
    assert release_abandoned_claims(store, claimed_at + CLAIM_LEASE - timedelta(seconds=1)) == 0
    # A claim past its lease is released whoever holds it: an attempt never lasts that long.
    assert release_abandoned_claims(store, claimed_at + CLAIM_LEASE) == 1
    assert {m.id: m.status for m in outbox(store)} == {first.id: "sent", second.id: "pending"}
