"""Two `ops-watch run` on one PostgreSQL store: one leads, the other takes over when it dies, freezes, or the
database restarts; nothing queued is lost and at most the message in flight arrives twice (docs/install.md,
"Two nodes"). And on SQLite a second instance refuses to start.

Real parts only: the daemons are `python -m ops_watch run` subprocesses with their own state folders (two
nodes), the store a real PostgreSQL, the mail an aiosmtpd server that answers each DATA after a delay (slow, so
a message is always in flight). Waits poll; the takeover's deadline is the documented bound plus slack.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PgServer
from ha_cluster import ha_config, leader_instance, leading, queue_messages, sent_count
from mailserver import MailServer, require_aiosmtpd
from test_daemon import BASE_CONFIG, REPO, Daemon, wait_for

from ops_watch.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

LEASE = 4.0
HEARTBEAT = 1.0
SLACK = 20.0  # a loaded 2-core CI machine: process start, a notify pass in progress


@pytest.fixture
def mail() -> Iterator[MailServer]:
    require_aiosmtpd()
    server = MailServer(delay=0.01).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    name = f"failover_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    try:
        yield url
    finally:
        pg_server.drop_database(name)


def _start_pair(tmp_path: Path, url: str, port: int, started: list[Daemon]) -> tuple[Daemon, Daemon]:
    """Node a, once it leads; then node b, once it is ready (a standby)."""
    a = Daemon(ha_config(tmp_path / "a", url, port, lease=LEASE, heartbeat=HEARTBEAT))
    started.append(a)
    wait_for(lambda: leading(a), what=lambda: "node a leading: " + a.output())
    b = Daemon(ha_config(tmp_path / "b", url, port, lease=LEASE, heartbeat=HEARTBEAT))
    started.append(b)
    b.wait_event("ready")
    assert not leading(b)
    return a, b


def _instance(daemon: Daemon) -> str:
    return next(e for e in daemon.events() if e["event"].startswith("leading"))["instance"]


def _told(*daemons: Daemon) -> str:
    """What the daemons said besides each message sent, for a failure message: where they are stuck shows."""
    return "\n---\n".join(
        "\n".join(json.dumps(e, ensure_ascii=False) for e in d.events() if e.get("event") != "message sent")[
            -6000:
        ]
        for d in daemons
    )


def _delivered(server: MailServer) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]) for m in server.messages())


def _assert_all_once_but_one(server: MailServer, ids: list[str]) -> None:
    received = _delivered(server)
    assert set(received) == set(ids), f"lost: {len(set(ids) - set(received))}"
    twice = {mid: n for mid, n in received.items() if n > 1}
    assert len(twice) <= 1 and all(n == 2 for n in twice.values()), twice


def _status(config: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(config), "status", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=config.parent,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_sigkill_of_the_leader_the_standby_sends_the_rest(
    tmp_path: Path, pg_url: str, mail: MailServer
) -> None:
    store = open_store(pg_url)
    started: list[Daemon] = []
    try:
        ids = queue_messages(store, 1000)
        a, b = _start_pair(tmp_path, pg_url, mail.port, started)
        wait_for(lambda: len(mail.messages()) >= 50, what="the leader sending")
        a.signal(signal.SIGKILL)
        assert a.wait() == -signal.SIGKILL
        # A killed process's connection closes: the lock is free at once, the standby leads at its next try.
        wait_for(
            lambda: leading(b), timeout=HEARTBEAT + SLACK, what=lambda: "node b taking over: " + b.output()
        )
        assert leader_instance(store) == _instance(b)
        wait_for(
            lambda: sent_count(store) == len(ids),
            timeout=180,
            what=lambda: "every message sent: " + b.output(),
        )
        _assert_all_once_but_one(mail, ids)
        # The killed leader's claim was released: nothing is left claimed by anyone.
        status = _status(tmp_path / "b" / "config.toml")
        assert status["leader"]["instance"] == _instance(b)
        roles = {i["instance"]: (i["state"], i["role"]) for i in status["instances"]}
        assert roles[_instance(b)] == ("alive", "leader")
        b.signal(signal.SIGTERM)
        assert b.wait() == 0, b.output()
    finally:
        for daemon in started:
            daemon.kill()
        store.dispose()


def test_a_frozen_leader_is_replaced_and_resumed_sends_nothing(
    tmp_path: Path, pg_url: str, mail: MailServer
) -> None:
    store = open_store(pg_url)
    started: list[Daemon] = []
    try:
        ids = queue_messages(store, 1000)
        a, b = _start_pair(tmp_path, pg_url, mail.port, started)
        wait_for(lambda: len(mail.messages()) >= 50, what="the leader sending")
        a.signal(signal.SIGSTOP)  # a frozen host: the process holds its connections and says nothing
        try:
            # The server ends the frozen leader's lock session after `lease` idle; the standby then leads.
            wait_for(
                lambda: leading(b),
                timeout=LEASE + HEARTBEAT + SLACK,
                what=lambda: "node b taking over: " + b.output(),
            )
            wait_for(lambda: sent_count(store) >= 300, timeout=120, what="node b sending")
            seen = len(a.events())
        finally:
            a.signal(signal.SIGCONT)
        lost = a.wait_event(
            "no longer leading: jobs stop here", after=seen
        )  # the leadership's own, not a job's
        assert lost["level"] == "error"
        wait_for(
            lambda: sent_count(store) == len(ids),
            timeout=180,
            what=lambda: "every message sent: " + b.output(),
        )
        after = a.events()[seen:]
        # Resumed, it sent nothing more: at most the one message whose DATA was under way when it froze.
        assert not [e for e in after if e["event"] == "message sent"], after
        _assert_all_once_but_one(mail, ids)
        # It stays as a standby: alive, not leading, and the store names b.
        wait_for(
            lambda: (
                {i["instance"]: i["role"] for i in _status(tmp_path / "a" / "config.toml")["instances"]}.get(
                    _instance(a)
                )
                == "standby"
            ),
            what="node a a standby again",
        )
        assert leader_instance(store) == _instance(b)
        assert a.alive() and b.alive()
    finally:
        for daemon in started:
            daemon.kill()
        store.dispose()


def test_a_database_restart_under_both_they_recover(tmp_path: Path, mail: MailServer) -> None:
    from conftest import PG_MISSING, _LocalCluster, _pg_bindir, component_missing

    bindir = _pg_bindir()
    if bindir is None:
        component_missing(PG_MISSING)
    cluster = _LocalCluster(bindir)  # a server of its own: it is restarted under the daemons
    started: list[Daemon] = []
    try:
        cluster.start()
        server = PgServer(
            admin_url=f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres",
            url="",
        )
        url = server.create_database("failover")
        store = open_store(url)
        try:
            ids = queue_messages(store, 400)
            a, b = _start_pair(tmp_path, url, mail.port, started)
            wait_for(lambda: len(mail.messages()) >= 30, what="the leader sending")
            seen = len(a.events())
            cluster.restart()
            a.wait_event(
                "no longer leading: jobs stop here", after=seen
            )  # its lock session ended with the server
            # Whoever reconnects first leads; the messages all go out without anyone's help.
            wait_for(
                lambda: sent_count(store) == len(ids),
                timeout=180,
                what=lambda: "every message sent after the restart: " + _told(a, b),
            )
            received = _delivered(mail)
            assert set(received) == set(ids)
            # A restart can cut two messages short (the leader's, and its outcome's record): never more.
            assert sum(n - 1 for n in received.values()) <= 2, received.most_common(3)
            status = _status(tmp_path / "a" / "config.toml")
            alive = [i for i in status["instances"] if i["state"] == "alive"]
            assert sorted(i["role"] for i in alive) == ["leader", "standby"], status
            assert status["leader"]["instance"] in {_instance(a), *[i["instance"] for i in alive]}
            assert a.alive() and b.alive()
        finally:
            store.dispose()
    finally:
        for daemon in started:
            daemon.kill()
        cluster.stop()


def test_a_clean_stop_hands_over_at_the_standbys_next_try(
    tmp_path: Path, pg_url: str, mail: MailServer
) -> None:
    started: list[Daemon] = []
    try:
        a, b = _start_pair(tmp_path, pg_url, mail.port, started)
        a.signal(signal.SIGTERM)
        assert a.wait() == 0, a.output()
        wait_for(lambda: leading(b), timeout=HEARTBEAT + SLACK, what="node b taking over")
        status = _status(tmp_path / "b" / "config.toml")
        states = {i["instance"]: i["state"] for i in status["instances"]}
        assert states == {_instance(a): "stopped", _instance(b): "alive"} or states[_instance(a)] == "stopped"
        assert status["leader"]["instance"] == _instance(b)
    finally:
        for daemon in started:
            daemon.kill()


@pytest.mark.parametrize("second", ["daemon", "run --once"])
def test_a_second_instance_on_one_sqlite_store_refuses(tmp_path: Path, second: str) -> None:
    shutil_rules = REPO / "rules"
    import shutil

    shutil.copytree(shutil_rules, tmp_path / "rules")
    config = tmp_path / "config.toml"
    config.write_text(BASE_CONFIG, encoding="utf-8")
    first = Daemon(config)
    try:
        first.wait_event("ready")
        args = ["run"] if second == "daemon" else ["run", "--once"]
        out = subprocess.run(
            [sys.executable, "-m", "ops_watch", "--config", str(config), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert out.returncode == 1, out.stdout + out.stderr
        assert (
            f"pid {first.proc.pid}" in out.stderr
            and "only one instance may run on a SQLite store" in out.stderr
        )
        assert "PostgreSQL" in out.stderr
        assert first.alive()
        first.signal(signal.SIGTERM)
        assert first.wait() == 0
        # Stopped, it released the lock: a new one starts.
        again = Daemon(config)
        try:
            again.wait_event("ready")
        finally:
            again.kill()
    finally:
        first.kill()
