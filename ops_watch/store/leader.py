"""Which `ops-watch run` on a store runs the jobs that must run once: the leader (docs/install.md, "Two nodes").

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) held on a connection of its own. The leader
touches that connection every `heartbeat` (its instance row's heartbeat), so the server's `idle_session_timeout`
(set to `lease` on that session only) never ends it while the leader lives, and ends it `lease` after the leader
stopped talking: its host frozen, the network cut. Then the lock is free and a standby, trying every
`heartbeat`, takes it. TCP keepalives and `tcp_user_timeout` on the same connection make a cut network an error
on the leader's side within the lease, and the leader also stops by its own clock: it leads only until `lease`
(less a margin) after its last heartbeat that the server answered. A frozen leader that resumes finds that time
passed before it runs anything; the epoch in `cluster_leadership` (store/cluster.py, the fencing token) refuses
the outbox claims of an old leader whatever its clock says. A new leader first ends the sessions the one before it
left open (by application_name, store/db.session_name): a transaction frozen with its host would otherwise keep
row locks that the new leader's jobs wait on.

The bound, documented in docs/install.md: after a leader dies (SIGKILL, a crash) its connection closes at once
and a standby leads within `heartbeat`; after its host freezes or its network is cut, within `lease` +
`heartbeat`. A server restart ends every session: the leader notices within `heartbeat` and stops, and whoever
reconnects first leads (the jobs are safe under that overlap, and the outbox is fenced).

SQLite: one daemon per store file, enforced with an exclusive lock (flock) on `<store>.lock`; a second one
refuses to start, naming the process that holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy.engine import make_url

from ops_watch.core.log import get_logger
from ops_watch.core.process import this_process
from ops_watch.store import cluster
from ops_watch.store.cluster import Fence
from ops_watch.store.db import Store, StoreError, session_name

log = get_logger(__name__)

# The advisory lock's key: "opswatch" read as a big-endian 64-bit integer, so no other program's key collides.
LOCK_KEY = int.from_bytes(b"opswatch", "big")
# A leader gives up this much before its lease ends, for the time its heartbeat took to reach the server.
MARGIN_SECONDS = 1.0
# idle_session_timeout came with PostgreSQL 14 (server_version_num).
IDLE_SESSION_TIMEOUT_FROM = 140000
# How often the SQLite daemon records its heartbeat (a write to the one store file: not every few seconds).
SQLITE_BEAT_SECONDS = 30.0


class Leader(Protocol):
    instance: str

    def leading(self) -> bool: ...

    @property
    def fence(self) -> Fence | None: ...

    def start(self, on_gain: Callable[[], None], on_lose: Callable[[str], None]) -> None: ...

    def stop(self, forget: bool = False) -> None: ...

    def role(self) -> str: ...


class AlreadyRunning(StoreError):
    """Another ops-watch run holds the SQLite store."""


class FileLeader:
    """SQLite: this process leads as long as it runs, once it holds `<store>.lock`; a second one is refused."""

    def __init__(self, store: Store, database: Path, version: str):
        self.store = store
        self.instance = this_process()
        self.version = version
        self.path = database.with_name(database.name + ".lock")
        self._file: IO[str] | None = None
        self._fence: Fence | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the file lock or raise AlreadyRunning naming its holder."""
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AlreadyRunning(
                f"another ops-watch run ({holder}) already uses the store {self.path.with_suffix('')}: "
                f"only one instance may run on a SQLite store (it holds {self.path}). Stop that one first; to run "
                'two nodes, put the store on PostgreSQL (docs/install.md, "Two nodes").'
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({self.instance})\n")
        handle.flush()
        self._file = handle

    def leading(self) -> bool:
        return self._fence is not None

    @property
    def fence(self) -> Fence | None:
        return self._fence

    def role(self) -> str:
        return "leader" if self._fence is not None else "standby"

    def start(self, on_gain: Callable[[], None], on_lose: Callable[[str], None]) -> None:
        if self._file is None:
            self.acquire()
        cluster.register(self.store, self.instance, os.getpid(), self.version)
        self._fence = cluster.take_lead(self.store, self.instance)
        self._thread = threading.Thread(target=self._beat, name="ops-watch-heartbeat", daemon=True)
        self._thread.start()
        on_gain()

    def _beat(self) -> None:
        while not self._stop.wait(SQLITE_BEAT_SECONDS):
            try:
                cluster.beat(self.store, self.instance, "leader")
            except Exception as exc:
                log.warning("cannot record the heartbeat", error=str(exc))

    def stop(self, forget: bool = False) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            cluster.mark_stopped(self.store, self.instance, forget)
        self._fence = None
        if self._file is not None:
            self._file.close()  # releases the lock
            self._file = None


class PgLeader:
    """PostgreSQL: the advisory lock on a connection of its own, tried and kept by a heartbeat thread."""

    def __init__(self, store: Store, version: str, lease: float, heartbeat: float):
        self.store = store
        self.instance = this_process()
        self.version = version
        self.lease = lease
        self.heartbeat = heartbeat
        self._conn: Any = None
        self._fence: Fence | None = None
        self._valid_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_gain: Callable[[], None] = lambda: None
        self._on_lose: Callable[[str], None] = lambda why: None
        self._last_error = ""
        self._old_server_said = False

    # -- what the jobs ask --

    def leading(self) -> bool:
        return self._fence is not None and time.monotonic() < self._valid_until

    @property
    def fence(self) -> Fence | None:
        return self._fence if self.leading() else None

    def role(self) -> str:
        return "leader" if self.leading() else "standby"

    # -- the heartbeat thread --

    def start(self, on_gain: Callable[[], None], on_lose: Callable[[str], None]) -> None:
        self._on_gain, self._on_lose = on_gain, on_lose
        cluster.register(self.store, self.instance, os.getpid(), self.version)
        self._thread = threading.Thread(target=self._run, name="ops-watch-leader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._step(started)
                if self._last_error:
                    log.info("the store answers again / 已重新连接数据库", instance=self.instance)
                    self._last_error = ""
            except Exception as exc:
                self._broken(exc)
            self._stop.wait(max(0.0, self.heartbeat - (time.monotonic() - started)))

    def _step(self, started: float) -> None:
        if self._conn is None:
            self._conn = self._connect()
        if self._fence is not None:
            if time.monotonic() >= self._valid_until:
                # The thread itself was held up past the lease (the host frozen): the server may have ended the
                # session and another may lead. Whatever this beat finds, the leadership is given up first.
                self._lose("the lease ran out before the heartbeat (the host was frozen or overloaded)")
                self._close()
                return
            self._execute(
                "UPDATE cluster_instances SET heartbeat_at = now(), role = 'leader' WHERE instance = %s"
            )
            self._valid_until = started + self.lease - MARGIN_SECONDS
            return
        got = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]
        self._execute(
            "UPDATE cluster_instances SET heartbeat_at = now(), role = %s WHERE instance = %s", "standby"
        )
        if not got:
            return
        self._end_sessions_of_previous()
        fence = cluster.take_lead(self.store, self.instance)
        self._valid_until = started + self.lease - MARGIN_SECONDS
        self._fence = fence
        log.warning(
            "leading: this instance now runs the jobs / 本实例成为主节点，开始运行任务",
            instance=self.instance,
            epoch=fence.epoch,
        )
        self._on_gain()

    def _end_sessions_of_previous(self) -> None:
        """End the database sessions the instance that led before still has open (its host frozen, or its lease
        run out under load): a transaction it was in when it stopped would otherwise hold its row locks, and a
        job of this leader touching those rows would wait until it thaws. Its work there is rolled back; it was
        done under an epoch that has passed. Found by application_name (store/db.session_name)."""
        row = self._conn.execute("SELECT instance FROM cluster_leadership WHERE id = 1").fetchone()
        previous = row[0] if row else ""
        if not previous or previous == self.instance:
            return
        try:
            ended = self._conn.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
                (session_name(previous),),
            ).fetchall()
        except Exception as exc:
            # No right to signal them (another database role): the bound is then its thaw.
            log.warning(
                "cannot end the sessions of the instance that led before; a transaction it left open may hold "
                "rows until it thaws or dies (let both nodes use one database role) / "
                "无法结束原主节点遗留的数据库会话",
                previous=previous,
                error=f"{type(exc).__name__}: {str(exc).strip()}",
            )
            return
        if ended:
            log.warning(
                "ended the database sessions the instance that led before left open; their transactions are "
                "rolled back / 已结束原主节点遗留的数据库会话，其未提交事务已回滚",
                previous=previous,
                sessions=sum(1 for _pid, done in ended if done),
            )

    def _execute(self, sql: str, *before: str) -> None:
        self._conn.execute(sql, (*before, self.instance))

    def _connect(self) -> Any:
        import psycopg  # the PostgreSQL driver: only where the store is on PostgreSQL

        engine = self.store.engine
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        seconds = max(1, int(self.lease / 3))
        params = {
            **cparams,
            "autocommit": True,
            "application_name": f"ops-watch leader {self.instance}"[:63],
            "connect_timeout": max(2, int(self.heartbeat * 2)),
            # A cut network is an error on this side within the lease, not a read that waits for hours.
            "keepalives": 1,
            "keepalives_idle": seconds,
            "keepalives_interval": max(1, seconds // 3),
            "keepalives_count": 3,
            "tcp_user_timeout": int(self.lease * 1000 / 2),
        }
        conn = psycopg.connect(*cargs, **params)
        try:
            if conn.info.server_version >= IDLE_SESSION_TIMEOUT_FROM:
                # The server ends this session `lease` after it last heard from it: the lock of a frozen or
                # unreachable leader frees itself without anyone's help.
                conn.execute(f"SET idle_session_timeout = {int(self.lease * 1000)}")
            elif not self._old_server_said:
                self._old_server_said = True
                log.warning(
                    "PostgreSQL before 14 has no idle_session_timeout: a frozen leader's lock is freed only when "
                    "the server's TCP keepalives give up on it (about `lease`), and not at all while its host "
                    "still answers TCP; upgrade PostgreSQL for the documented bound (docs/install.md)",
                    server_version=conn.info.server_version,
                )
            # A heartbeat stuck in the server (a lock, an overloaded disk) fails instead of holding the lock.
            conn.execute(f"SET statement_timeout = {int(self.lease * 1000 / 2)}")
            conn.execute(f"SET tcp_keepalives_idle = {seconds}")
            conn.execute(f"SET tcp_keepalives_interval = {max(1, seconds // 3)}")
            conn.execute("SET tcp_keepalives_count = 3")
        except Exception:
            conn.close()
            raise
        return conn

    def _broken(self, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {str(exc).strip()}"
        if text != self._last_error:
            shown = make_url(str(self.store.engine.url)).render_as_string(hide_password=True)
            log.warning(
                "the lock connection to the store failed; trying again / 数据库锁连接失败，稍后重试",
                store=shown,
                error=text,
                leading=self._fence is not None,
            )
            self._last_error = text
        self._close()
        if self._fence is not None:
            self._lose(f"lost the store connection: {text}")

    def _lose(self, why: str) -> None:
        self._fence = None
        self._valid_until = 0.0
        log.error("no longer leading: jobs stop here / 已失去主节点身份，本实例停止运行任务", reason=why)
        self._on_lose(why)

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def stop(self, forget: bool = False) -> None:
        """Give up the lead (the jobs have stopped): the standby takes over at its next try. `forget`: the
        instance's row goes (a `run --once`)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat + 5)
        self._fence = None
        with contextlib.suppress(Exception):
            cluster.mark_stopped(self.store, self.instance, forget)
        self._close()  # ends the session: the lock is free at once


class ParentLead:
    """The leadership of a daemon, as its child process (jobs.in_child) holds it: the fence alone (its epoch, checked
    in SQL by each outbox claim), since the child cannot see its parent's heartbeat."""

    def __init__(self, fence: Fence):
        self.instance = fence.instance
        self._fence = fence

    def leading(self) -> bool:
        return True

    @property
    def fence(self) -> Fence | None:
        return self._fence

    def role(self) -> str:
        return "leader"

    def start(self, on_gain: Callable[[], None], on_lose: Callable[[str], None]) -> None:
        on_gain()

    def stop(self, forget: bool = False) -> None:
        pass


@contextlib.contextmanager
def leading_once(store: Store, version: str, lease: float, heartbeat: float) -> Iterator[Leader]:
    """Lead for the length of a `run --once`: AlreadyRunning if another instance runs on the SQLite file, or
    leads on PostgreSQL (its jobs would run twice)."""
    leader = leader_for(store, version, lease, heartbeat)
    gained = threading.Event()
    try:
        leader.start(gained.set, lambda why: None)
        # A standby tries the lock at once and then every heartbeat: two tries decide.
        if not gained.wait(2 * heartbeat + 5):
            holder = cluster.cluster_view(store).leader or "another instance"
            raise AlreadyRunning(
                f"{holder} leads and runs the jobs already (`ops-watch status` shows it): a pass here would run "
                "them twice. Run one part by hand instead (ops-watch ingest, check, collect)."
            )
        yield leader
    finally:
        leader.stop(forget=True)


def leader_for(store: Store, version: str, lease: float, heartbeat: float) -> Leader:
    """The leadership that fits the store: a file lock for SQLite (acquired here, so a second daemon is refused
    before it does anything), the advisory lock for PostgreSQL."""
    url = make_url(str(store.engine.url))
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StoreError("an in-memory SQLite store cannot be shared by a daemon; give store.url a file")
        leader = FileLeader(store, Path(url.database), version)
        leader.acquire()
        return leader
    return PgLeader(store, version, lease, heartbeat)


__all__ = [
    "LOCK_KEY",
    "AlreadyRunning",
    "FileLeader",
    "Leader",
    "ParentLead",
    "PgLeader",
    "leader_for",
    "leading_once",
]
