"""The pieces of two nodes on one store, in one process against the real databases: the leadership lock and its
loss, the fencing epoch on outbox claims, claims of overtaken instances released, two senders at once, the
drop-folder file claims, a multi-host connection string, `ops-watch status` and the cluster's metrics.
(tests/e2e/test_failover.py runs the daemons themselves, killed, frozen and under a database restart.)"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from alert_helpers import outbox
from ha_cluster import queue_messages
from mailserver import MailServer, require_aiosmtpd
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from ops_watch import metrics
from ops_watch.config import load_config
from ops_watch.core.process import INSTANCE_ENV, this_process
from ops_watch.core.timeutil import utcnow
from ops_watch.ingest import ingest_drop_folder
from ops_watch.notify.outbox import deliver_due, release_abandoned_claims
from ops_watch.runtime import open_runtime
from ops_watch.store import cluster, open_store
from ops_watch.store.cluster import Fence
from ops_watch.store.db import session_name
from ops_watch.store.leader import LOCK_KEY, PgLeader
from ops_watch.store.schema import EvidenceBatch, OutboxMessage, WorkClaim

T_WAIT = 60.0


def _wait(predicate: Any, what: str, timeout: float = T_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


class _Lead:
    """A leadership as the jobs see it (store/leader.Leader's two questions), under a fence the test chooses."""

    def __init__(self, fence: Fence | None):
        self._fence = fence

    def leading(self) -> bool:
        return self._fence is not None

    @property
    def fence(self) -> Fence | None:
        return self._fence


# ---- claims ------------------------------------------------------------------------------------------


def test_a_claim_is_one_owners_until_it_is_released_gone_or_past_its_lease(store: Any) -> None:
    host = socket.gethostname()
    me, live_other = f"{host}:{os.getpid()}", f"{host}:1"
    lease = timedelta(hours=1)
    assert cluster.claim(store, "drop:door/a.csv", live_other, lease)
    assert not cluster.claim(store, "drop:door/a.csv", me, lease)  # pid 1 lives: its claim stands
    assert cluster.claim(store, "drop:door/a.csv", live_other, lease)  # its own again: renewed
    cluster.release(store, "drop:door/a.csv", me)  # not mine to release
    assert not cluster.claim(store, "drop:door/a.csv", me, lease)
    cluster.release(store, "drop:door/a.csv", live_other)
    assert cluster.claim(store, "drop:door/a.csv", me, lease)

    # A process of this host that is gone: taken over at once.
    assert cluster.claim(store, "drop:door/b.csv", f"{host}:{_dead_pid()}", lease)
    assert cluster.claim(store, "drop:door/b.csv", me, lease)
    # Another host's (its liveness unseen from here): only once its lease has passed.
    assert cluster.claim(store, "drop:door/c.csv", "node2.example:4242", lease)
    assert not cluster.claim(store, "drop:door/c.csv", me, lease)
    with store.session() as s:
        s.get(WorkClaim, "drop:door/c.csv").claimed_at = utcnow() - lease - timedelta(seconds=1)
    assert cluster.claim(store, "drop:door/c.csv", me, lease)
    with store.session() as s:
        assert {c.key: c.owner for c in s.scalars(select(WorkClaim))} == {
            "drop:door/a.csv": me,
            "drop:door/b.csv": me,
            "drop:door/c.csv": me,
        }


BACKUP = (
    "system,job,started,finished,status,size_gb\ndb01,nightly,2026-11-02 01:00,2026-11-02 01:30,success,12\n"
)


def test_a_drop_file_claimed_by_another_node_is_passed_by_until_released(
    config_file: Any, store_url: str
) -> None:
    config = load_config(config_file(f'[store]\nurl = "{store_url}"\n'))
    store = open_store(store_url)
    try:
        folder = config.drop_dir / "backup"
        folder.mkdir(parents=True)
        path = folder / "backups.csv"
        path.write_text(BACKUP, encoding="utf-8")
        then = time.time() - 60
        os.utime(path, (then, then))
        other = "node2.example:4242"
        assert cluster.claim(store, "drop:backup/backups.csv", other, timedelta(hours=1))
        assert ingest_drop_folder(store, config) == []
        assert path.exists()  # left where it is for the node that holds it
        cluster.release(store, "drop:backup/backups.csv", other)
        (result,) = ingest_drop_folder(store, config)
        assert result.status == "accepted" and not path.exists()
        with store.session() as s:
            assert s.scalars(select(WorkClaim)).all() == []  # released after the move
            assert len(s.scalars(select(EvidenceBatch)).all()) == 1
        # A node that no longer leads takes no file.
        path.write_text(BACKUP.replace("db01", "db02"), encoding="utf-8")
        os.utime(path, (then, then))
        assert ingest_drop_folder(store, config, go_on=lambda: False) == []
        assert path.exists()
    finally:
        store.dispose()


# ---- the outbox under two senders --------------------------------------------------------------------


@pytest.fixture
def mail() -> Any:
    require_aiosmtpd()
    server = MailServer().start()
    try:
        yield server
    finally:
        server.stop()


def _smtp_config(config_file: Any, store_url: str, port: int) -> Any:
    return load_config(
        config_file(
            f"""
[store]
url = "{store_url}"
[notify.email]
transport = "smtp"
host = "127.0.0.1"
port = {port}
sender = "ops-watch@center.example"
[[notify.receivers]]
name = "center"
email = ["duty@center.example"]
"""
        )
    )


def test_a_claim_under_an_old_epoch_matches_nothing(
    config_file: Any, store_url: str, mail: MailServer
) -> None:
    config = _smtp_config(config_file, store_url, mail.port)
    store = open_store(store_url)
    try:
        ids = queue_messages(store, 3)
        for name in ("node1:1", "node2:2"):
            cluster.register(store, name, 1, "test")
        old = cluster.take_lead(store, "node1:1")
        new = cluster.take_lead(store, "node2:2")  # node 2 took over: the epoch moved on
        assert new.epoch == old.epoch + 1
        assert deliver_due(store, config, lead=_Lead(old)).sent == 0
        assert mail.messages() == []
        assert {m.status for m in outbox(store)} == {"pending"}
        assert deliver_due(store, config, lead=_Lead(None)).sent == 0  # not leading: no claim is even tried
        assert deliver_due(store, config, lead=_Lead(new)).sent == 3
        assert sorted(str(m.message["Message-ID"]) for m in mail.messages()) == sorted(ids)
    finally:
        store.dispose()


@pytest.mark.postgres
def test_a_claim_committed_after_its_sender_was_overtaken_is_handed_back_unsent(
    config_file: Any, pg_server: Any, mail: MailServer
) -> None:
    # The old leader froze between its claim's UPDATE (the fence held then) and its COMMIT, and the standby took
    # over meanwhile (tests/e2e/test_failover.py met this in CI): thawed, it must not send what it claimed.
    url = pg_server.create_database()
    config = _smtp_config(config_file, url, mail.port)
    store = open_store(url)
    other = open_store(url)
    try:
        ids = queue_messages(store, 3)
        for name in ("node1:1", "node2:2"):
            cluster.register(store, name, 1, "test")
        old = cluster.take_lead(store, "node1:1")
        claimed: list[bool] = []

        def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGES SET STATUS"):
                claimed.append(True)

        def on_commit(conn: Any) -> None:
            if claimed and len(claimed) == 1:
                claimed.append(True)
                cluster.take_lead(other, "node2:2")  # while the claim waits for its COMMIT

        event.listen(store.engine, "after_cursor_execute", on_execute)
        event.listen(store.engine, "commit", on_commit)
        try:
            assert deliver_due(store, config, lead=_Lead(old)).sent == 0
        finally:
            event.remove(store.engine, "after_cursor_execute", on_execute)
            event.remove(store.engine, "commit", on_commit)
        assert claimed, "no claim was made: the test did not reach the window it is about"
        assert mail.messages() == []
        assert {(m.status, m.claimed_by, m.attempts) for m in outbox(store)} == {("pending", "", 0)}
        new = Fence("node2:2", old.epoch + 1)
        assert deliver_due(store, config, lead=_Lead(new)).sent == 3
        assert sorted(str(m.message["Message-ID"]) for m in mail.messages()) == sorted(ids)
    finally:
        other.dispose()
        store.dispose()
        pg_server.drop_database(make_url(url).database)


@pytest.mark.postgres
def test_a_claim_the_store_failed_after_is_handed_back_at_the_next_pass(
    config_file: Any, pg_server: Any, mail: MailServer
) -> None:
    # A database restart ended the leader's sessions just after its claim committed (tests/e2e/test_failover.py
    # met this in CI): the message was not tried, and the same live leader, leading again, must send it at its
    # next pass, not leave its own claim standing for CLAIM_LEASE (ten minutes).
    url = pg_server.create_database()
    config = _smtp_config(config_file, url, mail.port)
    # The leader's store gives up on a lock after 0.3 s, so the fence's read below fails for real.
    store = open_store(url + "?options=-c%20lock_timeout%3D300")
    blocker = open_store(url)
    try:
        ids = queue_messages(store, 3)
        cluster.register(store, "node1:1", 1, "test")
        fence = cluster.take_lead(store, "node1:1")
        release = threading.Event()
        held: list[threading.Thread] = []

        def hold_the_table() -> None:
            with blocker.engine.connect() as conn:
                conn.execute(text("LOCK TABLE cluster_leadership IN ACCESS EXCLUSIVE MODE"))
                release.wait(30)
                conn.rollback()

        def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if held or not statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGES SET STATUS"):
                return
            # Another session asks for the leadership table while the claim (which read it) is open: granted as
            # the claim commits, it holds the table when the fence is read again, and that read fails.
            held.append(threading.Thread(target=hold_the_table, daemon=True))
            held[0].start()
            waiting = text(
                "SELECT count(*) FROM pg_locks WHERE relation = 'cluster_leadership'::regclass AND NOT granted"
            )
            deadline = time.monotonic() + 10
            with blocker.engine.connect() as probe:
                while not probe.scalar(waiting) and time.monotonic() < deadline:
                    time.sleep(0.02)

        event.listen(store.engine, "after_cursor_execute", on_execute)
        try:
            assert deliver_due(store, config, lead=_Lead(fence)).sent == 0
        finally:
            event.remove(store.engine, "after_cursor_execute", on_execute)
            release.set()
            for thread in held:
                thread.join(10)
        assert held, "no claim was made: the test did not reach the window it is about"
        assert mail.messages() == []
        # The claim committed under a live process that still leads: only this process knows it was not tried.
        assert sorted((m.status, m.claimed_by) for m in outbox(store))[-1] == ("sending", this_process())
        assert deliver_due(store, config, lead=_Lead(fence)).sent == 3
        assert sorted(str(m.message["Message-ID"]) for m in mail.messages()) == sorted(ids)
        assert {(m.status, m.attempts) for m in outbox(store)} == {("sent", 1)}
    finally:
        blocker.dispose()
        store.dispose()
        pg_server.drop_database(make_url(url).database)


def test_claims_of_an_instance_that_no_longer_leads_are_released(store: Any) -> None:
    queue_messages(store, 2)
    cluster.register(store, "node1:1", 1, "test")
    cluster.register(store, "node2:2", 2, "test")
    cluster.take_lead(store, "node1:1")
    now = utcnow()
    first, second = outbox(store)
    with store.session() as s:
        for msg, owner in ((first, "node1:1"), (second, "node2:2")):
            row = s.get(OutboxMessage, msg.id)
            row.status, row.claimed_by, row.claimed_at = "sending", owner, now
    # node 2 is an instance that does not lead: its claim goes; the leader's stands.
    assert release_abandoned_claims(store, now) == 1
    assert {m.id: m.status for m in outbox(store)} == {first.id: "sending", second.id: "pending"}
    cluster.take_lead(store, "node2:2")  # node 1 overtaken (frozen, say): its claim goes as well
    assert release_abandoned_claims(store, now) == 1
    assert {m.status for m in outbox(store)} == {"pending"}


@pytest.mark.postgres
def test_a_claim_row_held_by_a_frozen_transaction_is_passed_by_not_waited_for(
    config_file: Any, pg_server: Any, mail: MailServer
) -> None:
    # A leader frozen (SIGSTOP) between writing a message's outcome and committing it keeps that row locked;
    # the new leader must send the others, not wait on it (tests/e2e/test_failover.py met this once in CI).
    url = pg_server.create_database()
    config = _smtp_config(config_file, url, mail.port)
    store = open_store(url)
    frozen = open_store(url)
    try:
        ids = queue_messages(store, 4)
        cluster.register(store, "old:1", 1, "test")
        cluster.register(store, "new:2", 2, "test")
        new = cluster.take_lead(store, "new:2")
        held = outbox(store)[0].id
        with store.session() as s:
            row = s.get(OutboxMessage, held)
            row.status, row.claimed_by, row.claimed_at = "sending", "old:1", utcnow()
        with frozen.engine.connect() as old:
            old.execute(text("SET lock_timeout = 0"))
            old.execute(
                text("UPDATE outbox_messages SET status = 'sent' WHERE id = :id"), {"id": held}
            )  # uncommitted: the frozen leader's open transaction
            done: list[int] = []
            sender = threading.Thread(
                target=lambda: done.append(deliver_due(store, config, lead=_Lead(new)).sent)
            )
            sender.start()
            sender.join(timeout=30)
            assert done == [3], "the pass waited on the locked row" if not done else done
            old.rollback()
        assert sorted(str(m.message["Message-ID"]) for m in mail.messages()) == sorted(ids[1:])
        # Thawed and gone without committing: the row is released at the next pass and sent once.
        assert deliver_due(store, config, lead=_Lead(new)).sent == 1
        assert sorted(str(m.message["Message-ID"]) for m in mail.messages()) == sorted(ids)
    finally:
        frozen.dispose()
        store.dispose()
        pg_server.drop_database(make_url(url).database)


@pytest.mark.postgres
def test_two_senders_at_once_send_each_message_once(
    config_file: Any, pg_server: Any, mail: MailServer
) -> None:
    url = pg_server.create_database()
    config = _smtp_config(config_file, url, mail.port)
    store = open_store(url)
    try:
        ids = queue_messages(store, 200)
        results: list[int] = []
        start = threading.Barrier(2)

        def sender() -> None:
            start.wait()
            results.append(deliver_due(store, config).sent)

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert sum(results) == len(ids) and all(n > 0 for n in results), results  # both sent, none twice
        received = Counter(str(m.message["Message-ID"]) for m in mail.messages())
        assert set(received) == set(ids) and set(received.values()) == {1}
    finally:
        store.dispose()
        pg_server.drop_database(make_url(url).database)


# ---- the PostgreSQL leadership lock ------------------------------------------------------------------


class _Events:
    def __init__(self) -> None:
        self.gained = threading.Event()
        self.lost: list[str] = []

    def lose(self, why: str) -> None:
        self.lost.append(why)


@pytest.mark.postgres
def test_the_lock_passes_when_the_leaders_session_is_ended(pg_server: Any) -> None:
    url = pg_server.create_database()
    store = open_store(url)
    a = PgLeader(store, "test", lease=3.0, heartbeat=0.5)
    b = PgLeader(open_store(url), "test", lease=3.0, heartbeat=0.5)
    b.instance = a.instance + "-b"  # two instances in one process
    ea, eb = _Events(), _Events()
    try:
        a.start(ea.gained.set, ea.lose)
        assert ea.gained.wait(T_WAIT) and a.leading()
        b.start(eb.gained.set, eb.lose)
        time.sleep(1.5)  # three of b's tries: the lock is a's
        assert not eb.gained.is_set() and not b.leading()
        view = cluster.cluster_view(store)
        assert view.leader == a.instance
        assert {i.instance: i.role for i in view.instances} == {a.instance: "leader", b.instance: "standby"}
        with store.engine.connect() as conn:
            # The server ends the leader's lock session (as on its idle_session_timeout, or an admin's kill).
            ended = (
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND ((classid::bigint << 32) | objid::bigint) = :key AND granted"
                    ),
                    {"key": LOCK_KEY},
                )
                .scalars()
                .all()
            )
            conn.commit()
        assert ended == [True]
        _wait(lambda: bool(ea.lost), "a noticing it lost the lock")
        assert not a.leading() and "lost the store connection" in ea.lost[0]
        assert eb.gained.wait(T_WAIT) and b.leading()
        assert b.fence is not None and b.fence.epoch == 2
        assert cluster.cluster_view(store).leader == b.instance
        time.sleep(1.5)  # a reconnects as a standby and stays one
        assert not a.leading() and b.leading()
    finally:
        a.stop()
        b.stop()
        b.store.dispose()
        store.dispose()
        pg_server.drop_database(make_url(url).database)


def _session_named(store: Any, name: str, url: str | None = None) -> Any:
    """A psycopg connection with the application_name `name`, as another process's would have."""
    import psycopg

    engine = store.engine
    cargs, cparams = engine.dialect.create_connect_args(make_url(url) if url else engine.url)
    return psycopg.connect(*cargs, **{**cparams, "application_name": name})


@pytest.mark.postgres
def test_a_new_leader_ends_the_sessions_the_previous_leader_left_open(pg_server: Any) -> None:
    # The old leader froze inside a job's transaction: its row lock would hold the new leader's job until it thawed.
    url = pg_server.create_database()
    store = open_store(url)
    leader = PgLeader(store, "test", lease=3.0, heartbeat=0.5)
    events = _Events()
    frozen = bystander = None
    try:
        queue_messages(store, 1)
        held = outbox(store)[0].id
        for name in ("old:1", "standby:2"):
            cluster.register(store, name, 1, "test")
        cluster.take_lead(store, "old:1")
        frozen = _session_named(store, session_name("old:1"))
        frozen.execute("UPDATE outbox_messages SET attempts = 7 WHERE id = %s", (held,))  # left uncommitted
        bystander = _session_named(store, session_name("standby:2"))
        bystander.execute("SELECT 1")  # another instance, idle in a transaction too: not the one replaced
        leader.start(events.gained.set, events.lose)
        assert events.gained.wait(T_WAIT) and leader.leading()
        assert cluster.cluster_view(store).leader == leader.instance
        with pytest.raises(Exception, match="terminat"):
            frozen.execute("SELECT 1")
        with store.engine.connect() as conn:
            conn.execute(
                text("SET lock_timeout = '5s'")
            )  # the row is free: no wait, and its change rolled back
            row = conn.execute(
                text("UPDATE outbox_messages SET attempts = attempts + 1 WHERE id = :id RETURNING attempts"),
                {"id": held},
            ).scalar_one()
            conn.commit()
        assert row == 1
        assert bystander.execute("SELECT 1").fetchone() == (1,)
    finally:
        leader.stop()
        for conn in (frozen, bystander):
            if conn is not None:
                conn.close()
        store.dispose()
        pg_server.drop_database(make_url(url).database)


@pytest.mark.postgres
def test_without_the_right_to_end_them_the_new_leader_still_leads(pg_server: Any) -> None:
    # The nodes connect as different roles and the previous leader's is a superuser: nothing can be ended; the
    # takeover must not fail on it.
    url = pg_server.create_database()
    store = open_store(url)
    role = f"node_{os.getpid()}_{int(time.time())}"
    with store.engine.connect() as conn:
        try:
            conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        except Exception as exc:
            pytest.skip(f"cannot create a role on this server: {exc}")
        conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        conn.commit()
    other_url = make_url(url).set(username=role).render_as_string(hide_password=False)
    other = open_store(other_url)
    leader = PgLeader(other, "test", lease=3.0, heartbeat=0.5)
    events = _Events()
    frozen = None
    try:
        cluster.register(store, "old:1", 1, "test")
        cluster.take_lead(store, "old:1")
        frozen = _session_named(store, session_name("old:1"))
        frozen.execute("SELECT 1")
        leader.start(events.gained.set, events.lose)
        assert events.gained.wait(T_WAIT) and leader.leading()
        assert cluster.cluster_view(store).leader == leader.instance
        assert frozen.execute("SELECT 1").fetchone() == (1,)  # left as it was
    finally:
        leader.stop()
        if frozen is not None:
            frozen.close()
        other.dispose()
        store.dispose()
        pg_server.drop_database(make_url(url).database)
        with pg_server._connect() as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.postgres
def test_a_store_names_its_sessions_after_the_daemon_it_works_for(
    pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_server.create_database()
    try:
        for owner, expected in ((None, this_process()), ("node9.center.local:99", "node9.center.local:99")):
            if owner is None:
                monkeypatch.delenv(INSTANCE_ENV, raising=False)
            else:
                monkeypatch.setenv(INSTANCE_ENV, owner)  # as in a job's child process (jobs.in_child)
            store = open_store(url)
            try:
                with store.engine.connect() as conn:
                    name = conn.execute(
                        text("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
                    ).scalar_one()
            finally:
                store.dispose()
            assert name == f"ops-watch {expected}"
    finally:
        pg_server.drop_database(make_url(url).database)


@pytest.mark.postgres
def test_a_leader_idle_past_its_lease_loses_the_lock_to_the_server(pg_server: Any) -> None:
    """The idle_session_timeout on the lock session: a leader whose heartbeat stops (as when its host froze) has
    its session ended by the server after `lease`, so the lock frees without its help."""
    url = pg_server.create_database()
    store = open_store(url)
    a = PgLeader(store, "test", lease=2.0, heartbeat=0.5)
    ea = _Events()
    try:
        a.start(ea.gained.set, ea.lose)
        assert ea.gained.wait(T_WAIT)
        a._stop.set()  # the heartbeat thread stops: nothing touches the lock connection any more
        a._thread.join(timeout=10)  # type: ignore[union-attr]
        _wait(lambda: not a.leading(), "the leader's own clock running out", timeout=10)
        probe = PgLeader(store, "test", lease=2.0, heartbeat=0.5)
        probe.instance = a.instance + "-probe"
        ep = _Events()
        probe.start(ep.gained.set, ep.lose)
        try:
            assert ep.gained.wait(T_WAIT), "the server never ended the idle lock session"
        finally:
            probe.stop()
    finally:
        a._close()
        store.dispose()
        pg_server.drop_database(make_url(url).database)


@pytest.mark.postgres
def test_a_connection_string_with_several_hosts_reaches_the_one_that_answers(
    pg_server: Any, config_file: Any
) -> None:
    url = make_url(pg_server.create_database())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]  # nothing listens here once the probe closes
    multi = url.set(host=None, port=None).update_query_pairs(
        [
            ("host", f"127.0.0.1:{dead}"),
            ("host", f"127.0.0.1:{url.port}"),
            ("target_session_attrs", "read-write"),
        ]
    )
    rendered = multi.render_as_string(hide_password=False)
    store = open_store(rendered)
    leader = PgLeader(store, "test", lease=3.0, heartbeat=0.5)
    events = _Events()
    try:
        leader.start(events.gained.set, events.lose)
        assert events.gained.wait(T_WAIT) and leader.leading()
        with store.session() as s:
            assert s.execute(text("SELECT inet_server_port()")).scalar() == url.port
    finally:
        leader.stop()
        store.dispose()
        pg_server.drop_database(url.database)


# ---- what is shown ---------------------------------------------------------------------------------


def test_status_and_metrics_show_the_leader_and_each_heartbeat(config_file: Any, store_url: str) -> None:
    path = config_file(f'[store]\nurl = "{store_url}"\n')
    rt = open_runtime(path)
    try:
        cluster.register(rt.store, "node1:11", 11, "0.1.0")
        cluster.register(rt.store, "node2:22", 22, "0.1.0")
        fence = cluster.take_lead(rt.store, "node1:11")
        with rt.store.session() as s:
            from ops_watch.store.schema import ClusterInstance

            s.get(ClusterInstance, "node2:22").heartbeat_at = utcnow() - timedelta(hours=1)  # silent
        out = subprocess.run(
            [sys.executable, "-m", "ops_watch", "--config", str(path), "status", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["leader"]["instance"] == "node1:11" and doc["leader"]["epoch"] == fence.epoch
        states = {i["instance"]: (i["state"], i["role"]) for i in doc["instances"]}
        assert states == {"node1:11": ("alive", "leader"), "node2:22": ("silent", "-")}
        table = subprocess.run(
            [sys.executable, "-m", "ops_watch", "--config", str(path), "status", "--lang", "en"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert table.startswith("leader: node1:11 since ") and "silent" in table
        zh = subprocess.run(
            [sys.executable, "-m", "ops_watch", "--config", str(path), "status"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert zh.startswith("主节点：node1:11，自 ") and "无心跳" in zh  # the site's language

        families = {
            f.name: f
            for f in text_string_to_metric_families(generate_latest(metrics.registry(lambda: rt)).decode())
        }
        assert [(s.labels["instance"], s.value) for s in families["ops_watch_cluster_leader"].samples] == [
            ("node1:11", 1.0)
        ]
        assert families["ops_watch_cluster_leader_epoch"].samples[0].value == fence.epoch
        beats = {
            s.labels["instance"]: s.labels["role"]
            for s in families["ops_watch_cluster_heartbeat_timestamp_seconds"].samples
        }
        assert beats == {"node1:11": "leader", "node2:22": "standby"}
    finally:
        rt.close()


def test_instances_stopped_a_week_ago_are_forgotten(store: Any) -> None:
    cluster.register(store, "old:1", 1, "0.1.0")
    cluster.mark_stopped(store, "old:1")
    from ops_watch.store.schema import ClusterInstance

    with store.session() as s:
        s.get(ClusterInstance, "old:1").stopped_at = utcnow() - cluster.FORGET_AFTER - timedelta(minutes=1)
    cluster.register(store, "recent:2", 2, "0.1.0")
    cluster.mark_stopped(store, "recent:2")
    cluster.register(store, "new:3", 3, "0.1.0")
    assert {i.instance for i in cluster.cluster_view(store).instances} == {"recent:2", "new:3"}


def test_a_fence_travels_to_a_child_process_as_text() -> None:
    fence = Fence("node1.center.local:4242", 7)
    assert Fence.parse(fence.text()) == fence
    for bad in ("", "7", "x@node1:1", "@node1:1", "7@"):
        assert Fence.parse(bad) is None


def test_status_after_a_run_once_says_the_last_leader_has_ended(config_file: Any, store_url: str) -> None:
    path = config_file(f'[store]\nurl = "{store_url}"\n')
    rt = open_runtime(path)
    try:
        cluster.register(rt.store, "node1:77", 77, "0.1.0")
        cluster.take_lead(rt.store, "node1:77")
        cluster.mark_stopped(rt.store, "node1:77", forget=True)  # as leading_once leaves it
    finally:
        rt.close()
    out = subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(path), "status", "--lang", "en"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("leader: none running; the last was node1:77 from ")
