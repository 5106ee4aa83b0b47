"""The daemon: schedules the jobs, handles signals and reloads, talks to systemd.

Threads: the main thread owns the life cycle (start, SIGHUP reload, SIGTERM stop, systemd notify);
APScheduler's thread fires triggers; a small pool runs the jobs. Signal handlers only put the signal
on a queue, which the main loop reads, so a reload never runs inside a handler.

A job never overlaps itself: APScheduler's max_instances=1 for the scheduled runs, and a per-job
lock for the start-up pass. A failing job is logged with its traceback and recorded for STATUS; the
daemon goes on.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ops_watch import __version__
from ops_watch import jobs as jobs_module
from ops_watch.config import ConfigError, ScheduleEntry
from ops_watch.core import sdnotify
from ops_watch.core.log import get_logger, setup_logging
from ops_watch.runtime import Runtime, load_settings, open_runtime
from ops_watch.store import StoreError, open_store
from ops_watch.store.job_runs import record_run
from ops_watch.store.leader import AlreadyRunning, Leader, leader_for, leading_once

__all__ = ["STARTUP_ORDER", "Daemon", "JobState", "run_daemon"]

log = get_logger("ops_watch.daemon")

Job = Callable[[Runtime], Any]

# Run once right after start, in this order, so a fresh start is useful at once.
STARTUP_ORDER = ("ingest", "collect", "evaluate", "notify")
POOL_SIZE = 4
STOP_WAIT_SECONDS = 8.0  # systemd's stop timeout is longer; SIGTERM must finish within 10 s
TICK_SECONDS = 1.0
_HEARTBEAT_ID = "_heartbeat"
_RESERVED_LOG_KEYS = frozenset({"event", "job", "seconds", "level", "timestamp", "exc_info"})


@dataclass
class JobState:
    """What STATUS and the logs know of a job's last run."""

    last_start: datetime | None = None
    last_end: datetime | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    runs: int = 0
    failures: int = 0


def _trigger(entry: ScheduleEntry, zone: ZoneInfo) -> BaseTrigger:
    if entry.cron is not None:
        return CronTrigger.from_crontab(entry.cron, timezone=zone)
    assert entry.every is not None
    return IntervalTrigger(seconds=entry.every.total_seconds(), timezone=zone)


def _misfire_grace(entry: ScheduleEntry) -> int:
    """How late a run may still start (the scheduler or the pool was busy): one period for an interval
    job (at least 30 s, at most an hour), an hour for a cron job (a daily purge, a weekly report)."""
    if entry.every is not None:
        return int(min(max(entry.every.total_seconds(), 30), 3600))
    return 3600


class Daemon:
    def __init__(
        self,
        config_path: Path,
        runtime: Runtime,
        jobs: Mapping[str, Job],
        log_level: str | None = None,
        leader: Leader | None = None,
    ):
        self.config_path = config_path
        # Who runs the jobs when several instances share a PostgreSQL store (store/leader.py); None: this one.
        self.leader = leader
        runtime.lead = leader
        self.log_level = log_level  # the command line's --log-level outlives a reload of log.level
        self.runtime = runtime
        self.jobs = dict(jobs)
        self.states: dict[str, JobState] = {name: JobState() for name in self.jobs}
        self._job_locks: dict[str, threading.Lock] = {name: threading.Lock() for name in self.jobs}
        self._running: dict[str, float] = {}
        self._running_cond = threading.Condition()
        self._stopping = threading.Event()
        self._signals: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._old_handlers: dict[int, Any] = {}
        self._watchdog_every = sdnotify.watchdog_interval()
        self._last_ping = 0.0
        self._heartbeat = time.monotonic()
        self._last_status = ""
        self._last_finished: str | None = None
        self.scheduler = BackgroundScheduler(
            timezone=runtime.config.site.zone,
            executors={"default": ThreadPoolExecutor(POOL_SIZE), "heartbeat": ThreadPoolExecutor(1)},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300},
        )
        self._scheduled: dict[str, tuple[ScheduleEntry, str]] = {}
        self._metrics_server: Any = None

    # -- jobs -------------------------------------------------------------------------------------

    def run_job(self, name: str) -> None:
        """Run one job on the current runtime; never raises (the pool thread must survive)."""
        if self._stopping.is_set():
            return
        if self.leader is not None and not self.leader.leading():
            log.debug("job not run: this instance is a standby", job=name)
            return
        lock = self._job_locks[name]
        if not lock.acquire(blocking=False):
            log.warning("job skipped: its previous run is still going", job=name)
            return
        state = self.states[name]
        runtime = self.runtime  # a reload swaps it; this run keeps the one it started with
        started = time.monotonic()
        with self._running_cond:
            self._running[name] = started
        try:
            state.last_start = datetime.now(runtime.config.site.zone)
            try:
                counts = self.jobs[name](runtime)
            except Exception as exc:
                state.last_ok = False
                state.last_error = f"{type(exc).__name__}: {exc}"
                state.failures += 1
                log.error(
                    "job failed",
                    job=name,
                    error=state.last_error,
                    seconds=round(time.monotonic() - started, 3),
                    exc_info=True,
                )
            else:
                state.last_ok = True
                state.last_error = None
                extra = {
                    k: v
                    for k, v in (counts if isinstance(counts, dict) else {}).items()
                    if k not in _RESERVED_LOG_KEYS
                }
                log.info("job done", job=name, seconds=round(time.monotonic() - started, 3), **extra)
            state.runs += 1
            state.last_end = datetime.now(runtime.config.site.zone)
            self._last_finished = name
            self._record(runtime, name, state)
        except Exception:  # bookkeeping itself failed: still never let it out
            log.error("job wrapper failed", job=name, exc_info=True)
        finally:
            with self._running_cond:
                self._running.pop(name, None)
                self._running_cond.notify_all()
            lock.release()

    def _record(self, runtime: Runtime, name: str, state: JobState) -> None:
        """The run in the store, for /metrics (store/job_runs.py); a store that cannot take it is logged."""
        if state.last_start is None or state.last_end is None:
            return
        try:
            record_run(
                runtime.store,
                name,
                state.last_start.astimezone(UTC),
                state.last_end.astimezone(UTC),
                bool(state.last_ok),
                state.last_error or "",
            )
        except Exception as exc:
            log.warning("cannot record the job's run for /metrics", job=name, error=str(exc))

    def startup_pass(self) -> None:
        for name in STARTUP_ORDER:
            if self._stopping.is_set():
                return
            entry = getattr(self.runtime.config.schedule, name, None)
            if name in self.jobs and entry is not None and entry.enabled:
                self.run_job(name)

    def _beat(self) -> None:
        self._heartbeat = time.monotonic()

    def schedule(self, config: Any, first: bool = False) -> list[str]:
        """Bring the scheduled jobs in line with `config.schedule`; returns the names changed."""
        zone = config.site.zone
        changed = []
        for name in self.jobs:
            entry: ScheduleEntry | None = getattr(config.schedule, name, None)
            if entry is None:
                if first:
                    log.warning("job has no schedule setting; not scheduled", job=name)
                continue
            wanted = (entry, config.site.timezone)
            if self._scheduled.get(name) == wanted:
                continue
            if self.scheduler.get_job(name) is not None:
                self.scheduler.remove_job(name)
            self._scheduled.pop(name, None)
            changed.append(name)
            if not entry.enabled:
                continue
            self.scheduler.add_job(
                self.run_job,
                _trigger(entry, zone),
                args=[name],
                id=name,
                name=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=_misfire_grace(entry),
            )
            self._scheduled[name] = wanted
        return changed

    # -- life cycle -------------------------------------------------------------------------------

    def _gained(self) -> None:
        """This instance leads now (at start, or taking over): the start-up pass, so the jobs catch up at once."""
        if self._stopping.is_set():
            return
        now = datetime.now(self.runtime.config.site.zone)
        self.scheduler.add_job(
            self.startup_pass,
            "date",
            run_date=now,
            id="_startup",
            misfire_grace_time=None,
            replace_existing=True,
        )

    def _lost(self, why: str) -> None:
        self._last_status = ""  # the status line says standby at the next tick

    def start(self) -> None:
        self.schedule(self.runtime.config, first=True)
        if self.leader is None:
            self._gained()
        if self._watchdog_every is not None:
            self.scheduler.add_job(
                self._beat,
                IntervalTrigger(seconds=max(self._watchdog_every, 0.5)),
                id=_HEARTBEAT_ID,
                executor="heartbeat",
                misfire_grace_time=None,
            )
        self.scheduler.start()
        if self.leader is not None:
            self.leader.start(self._gained, self._lost)
        self._serve_metrics()
        self._install_signals()
        sdnotify.ready("ready")
        self._last_status = "ready"
        jobs = sorted(j.id for j in self.scheduler.get_jobs() if not j.id.startswith("_"))
        role = self.leader.role() if self.leader is not None else "leader"
        log.info("ready", jobs=jobs, zone=self.runtime.config.site.timezone, pid=os.getpid(), role=role)

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            log.warning("not in the main thread: signals are not handled")
            return
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_signals(self) -> None:
        for signum, handler in self._old_handlers.items():
            try:
                signal.signal(signum, handler)
            except (ValueError, TypeError, OSError):
                pass
        self._old_handlers.clear()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals.put(signum)  # SimpleQueue.put is safe in a signal handler

    def request(self, signum: int) -> None:
        """Ask the main loop to act as on `signum` (for callers without a signal, e.g. tests)."""
        self._signals.put(signum)

    def loop(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit code."""
        tick = min(TICK_SECONDS, self._watchdog_every or TICK_SECONDS)
        while True:
            try:
                signum: int | None = self._signals.get(timeout=tick)
            except queue.Empty:
                signum = None
            try:
                if signum in (signal.SIGTERM, signal.SIGINT):
                    return self.stop(signal.Signals(signum).name)
                if signum == signal.SIGHUP:
                    self.reload()
                if not self._scheduler_alive():
                    log.error(
                        "the scheduler stopped unexpectedly; exiting so the service manager restarts us"
                    )
                    self.stop("scheduler died")
                    return 1
                self._tick()
            except Exception:
                log.error("main loop error", exc_info=True)

    def _scheduler_alive(self) -> bool:
        thread = getattr(self.scheduler, "_thread", None)
        return bool(self.scheduler.running) and (thread is None or thread.is_alive())

    def _healthy(self) -> bool:
        if not self._scheduler_alive():
            return False
        if self._watchdog_every is None:
            return True
        # The heartbeat job proves the scheduler still fires triggers.
        return time.monotonic() - self._heartbeat < 3 * max(self._watchdog_every, 0.5) + 5

    def _tick(self) -> None:
        now = time.monotonic()
        if self._watchdog_every is not None and now - self._last_ping >= self._watchdog_every * 0.9:
            if self._healthy():
                sdnotify.watchdog()
                self._last_ping = now
            else:
                log.warning("scheduler unhealthy: watchdog ping withheld")
        text = self.status_line()
        if text != self._last_status:
            sdnotify.status(text)
            self._last_status = text

    def status_line(self) -> str:
        """A short line for `systemctl status`: standby, or the last job finished and which jobs are failing."""
        if self.leader is not None and not self.leader.leading():
            return "standby: another instance leads"
        parts = []
        name = self._last_finished
        if name is not None:
            state = self.states[name]
            when = state.last_end.strftime("%H:%M:%S") if state.last_end else "?"
            parts.append(f"last {name} {'ok' if state.last_ok else 'failed'} at {when}")
        failing = sorted(n for n, s in self.states.items() if s.last_ok is False)
        if failing:
            parts.append("failing: " + ", ".join(failing))
        return "; ".join(parts) or "ready"

    def reload(self) -> bool:
        """Reload config and rules; on any problem keep the old ones and log every problem."""
        sdnotify.reloading()
        try:
            return self._reload()
        finally:
            sdnotify.ready(self.status_line())

    def _close_collectors(self, old: Runtime) -> None:
        """The new runtime builds its collectors from the new config; the old ones' connections are closed,
        but not under a collect job that is still using them (it holds the job's lock)."""
        lock = self._job_locks.get("collect")
        if lock is not None and not lock.acquire(timeout=30):
            log.warning("collect still running at reload; its connections close when the daemon stops")
            return
        try:
            for collector in (old._collectors or {}).values():
                collector.close()
            old._collectors = None
        finally:
            if lock is not None:
                lock.release()

    def _reload(self) -> bool:
        log.info("reloading", config=str(self.config_path))
        try:
            config, rules = load_settings(self.config_path)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config problem", problem=problem)
            log.error("reload refused: keeping the running config and rules", problems=len(exc.problems))
            return False
        except Exception as exc:
            log.error("reload refused: keeping the running config and rules", error=str(exc), exc_info=True)
            return False
        old = self.runtime
        store = old.store
        if config.store_url != old.config.store_url:
            try:
                config.state_dir.mkdir(parents=True, exist_ok=True)
                store = open_store(
                    config.store_url,
                    config.store.busy_timeout_ms,
                    config.store_password(),
                    migrate_in_child=True,  # Alembic stays out of the daemon (open_store)
                )
            except (StoreError, OSError) as exc:
                log.error("store problem", problem=str(exc))
                log.error("reload refused: keeping the running config and rules", problems=1)
                return False
        else:
            try:
                config.state_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.warning("cannot create the state directory", path=str(config.state_dir), error=str(exc))
        try:
            setup_logging(self.log_level or config.log.level, config.log.format)
        except Exception:
            log.error("cannot apply the new log settings", exc_info=True)
        try:
            changed = self.schedule(config)
        except Exception:
            # The config validated its schedule, so this is unexpected; put the old schedule back.
            log.error("rescheduling failed; keeping the running config and rules", exc_info=True)
            self._scheduled.clear()
            self.schedule(old.config)
            if store is not old.store:
                store.dispose()
            return False
        if store is not old.store and self.leader is not None:
            log.warning(
                "store.url changed: the leadership stays on the store it started with until a restart"
            )
        self.runtime = Runtime(
            config=config, rules=rules, store=store, config_path=self.config_path, lead=self.leader
        )
        self._close_collectors(old)
        if store is not old.store:
            old.store.dispose()  # connections still used by a running job close when it returns them
        log.info("reloaded", rescheduled=changed, store_reopened=store is not old.store)
        return True

    def _serve_metrics(self) -> None:
        """[metrics] listen: /metrics of the daemon's own, for a site that runs no console (docs/metrics.md).
        A port already taken is logged; the daemon runs on without it."""
        listen = self.runtime.config.metrics.listen
        if not listen:
            return
        from ops_watch import metrics  # start-up: the exposition only where [metrics] listen asks for it

        try:
            self._metrics_server = metrics.serve(lambda: self.runtime, listen)
        except OSError as exc:
            log.error("cannot serve /metrics / 无法提供 /metrics", listen=listen, error=str(exc))
            return
        log.info("serving /metrics", listen=listen)

    def stop(self, reason: str) -> int:
        sdnotify.stopping()
        log.info("stopping", reason=reason)
        self._stopping.set()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        try:
            self.scheduler.shutdown(wait=False)
        except Exception:
            log.warning("scheduler shutdown failed", exc_info=True)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        with self._running_cond:
            while self._running and time.monotonic() < deadline:
                self._running_cond.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
            abandoned = sorted(self._running)
        if abandoned:
            log.warning("jobs still running at stop; abandoning them", jobs=abandoned)
        if self.leader is not None:
            try:
                self.leader.stop()  # the jobs are done: a standby may lead at its next try
            except Exception:
                log.warning("giving up the lead failed", exc_info=True)
        try:
            self.runtime.close()
        except Exception:
            log.warning("closing the store failed", exc_info=True)
        self._restore_signals()
        log.info("stopped")
        if abandoned:
            # Their pool threads would hold the interpreter's exit open; SQLite and PostgreSQL both
            # survive a process that goes away mid-transaction.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        return 0


def _print_problems(problems: list[str]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def _run_once(runtime: Runtime) -> int:
    """One pass of the jobs, as the leader: refused while another instance runs them."""
    ha = runtime.config.ha
    try:
        with leading_once(
            runtime.store, __version__, ha.lease.total_seconds(), ha.heartbeat.total_seconds()
        ) as lead:
            runtime.lead = lead
            jobs_module.run_once(runtime)  # logs each failing job and runs the others
    except (AlreadyRunning, StoreError) as exc:
        print(f"ops-watch: {exc}", file=sys.stderr)
        return 1
    except Exception:
        log.error("run failed", exc_info=True)
        return 1
    finally:
        runtime.close()
    return 0


def run_daemon(
    config_path: Path,
    once: bool = False,
    jobs: Mapping[str, Job] | None = None,
    log_level: str | None = None,
) -> int:
    """Run the daemon (or, with once=True, one pass of ingest, collect, evaluate, notify).

    Exit codes: 0 clean stop, 1 the store cannot be opened, 2 the config or rules are invalid.
    `jobs` replaces the job table (tests); `log_level` (the command line's --log-level) wins over
    log.level, also after a reload.
    """

    job_table = dict(jobs if jobs is not None else jobs_module.JOBS)
    try:
        runtime = open_runtime(config_path, migrate_in_child=True)  # Alembic stays out of the daemon
    except ConfigError as exc:
        _print_problems(exc.problems)
        return 2
    except (StoreError, OSError) as exc:
        print(f"ops-watch: {exc}", file=sys.stderr)
        return 1

    if once:
        return _run_once(runtime)

    ha = runtime.config.ha
    try:
        leader = leader_for(
            runtime.store, __version__, ha.lease.total_seconds(), ha.heartbeat.total_seconds()
        )
    except (AlreadyRunning, StoreError) as exc:
        runtime.close()
        print(f"ops-watch: {exc}", file=sys.stderr)
        return 1

    daemon = Daemon(config_path, runtime, job_table, log_level=log_level, leader=leader)
    try:
        daemon.start()
    except Exception:
        log.error("start failed", exc_info=True)
        try:
            daemon.scheduler.shutdown(wait=False)
        except Exception:
            pass
        runtime.close()
        daemon._restore_signals()
        return 1
    return daemon.loop()
