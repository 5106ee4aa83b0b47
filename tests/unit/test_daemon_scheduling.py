"""The daemon's scheduling and job bookkeeping, in process, with stand-in jobs.

The daemon as a process (signals, systemd notify, reload from a file) is tested in tests/e2e/test_daemon.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ops_watch.config import Config, ScheduleEntry
from ops_watch.daemon import Daemon
from ops_watch.findings.rules import RuleSet
from ops_watch.runtime import Runtime
from ops_watch.store import open_store

NAMES = ("collect", "ingest", "evaluate", "notify", "report_weekly", "purge")


def _ok(_rt: Runtime) -> dict[str, Any]:
    return {"rows": 3}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    store = open_store(f"sqlite:///{tmp_path / 'ops-watch.db'}")
    rt = Runtime(config=Config(), rules=RuleSet(), store=store)
    try:
        yield rt
    finally:
        rt.close()


def _config(**schedule: ScheduleEntry) -> Config:
    return Config.model_validate({"schedule": {k: v.model_dump() for k, v in schedule.items()}})


def test_schedule_follows_the_config(runtime: Runtime) -> None:
    cfg = _config(
        evaluate=ScheduleEntry(every=timedelta(seconds=90)),
        report_weekly=ScheduleEntry(cron="0 8 * * mon"),
        purge=ScheduleEntry(enabled=False),
    )
    daemon = Daemon(Path("config.toml"), runtime, dict.fromkeys(NAMES, _ok))
    daemon.schedule(cfg, first=True)
    jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
    assert set(jobs) == {"collect", "ingest", "evaluate", "notify", "report_weekly"}  # purge disabled
    evaluate, weekly = jobs["evaluate"], jobs["report_weekly"]
    assert isinstance(evaluate.trigger, IntervalTrigger)
    assert evaluate.trigger.interval == timedelta(seconds=90)
    assert isinstance(weekly.trigger, CronTrigger)
    assert str(weekly.trigger.timezone) == "Asia/Shanghai"  # cron in the site's zone
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
        assert job.misfire_grace_time and job.misfire_grace_time >= 30

    # A reload reschedules only what changed, and schedules a job that was switched on.
    changed = daemon.schedule(
        _config(
            evaluate=ScheduleEntry(every=timedelta(seconds=90)),
            report_weekly=ScheduleEntry(cron="0 9 * * mon"),
            purge=ScheduleEntry(cron="30 3 * * *"),
        )
    )
    assert sorted(changed) == ["purge", "report_weekly"]
    assert daemon.scheduler.get_job("purge") is not None


def test_a_failing_job_is_logged_and_recorded(runtime: Runtime) -> None:
    def broken(_rt: Runtime) -> dict[str, Any]:
        raise RuntimeError("the drop folder is gone")

    daemon = Daemon(Path("config.toml"), runtime, {"ingest": broken, "evaluate": _ok})
    with structlog.testing.capture_logs() as logs:
        daemon.run_job("ingest")  # must not raise
        daemon.run_job("evaluate")
    failed = [e for e in logs if e["event"] == "job failed"]
    assert failed and failed[0]["job"] == "ingest" and failed[0]["log_level"] == "error"
    assert failed[0]["exc_info"] is True
    done = [e for e in logs if e["event"] == "job done"]
    assert done and done[0]["job"] == "evaluate" and done[0]["rows"] == 3
    assert daemon.states["ingest"].last_ok is False
    assert daemon.states["ingest"].last_error == "RuntimeError: the drop folder is gone"
    assert daemon.states["evaluate"].last_ok is True
    assert daemon.status_line().startswith("last evaluate ok at ")
    assert daemon.status_line().endswith("failing: ingest")


def test_a_job_never_overlaps_itself(runtime: Runtime) -> None:
    entered, release = threading.Event(), threading.Event()
    calls = []

    def slow(_rt: Runtime) -> dict[str, Any]:
        calls.append(1)
        entered.set()
        release.wait(10)
        return {}

    daemon = Daemon(Path("config.toml"), runtime, {"evaluate": slow})
    first = threading.Thread(target=daemon.run_job, args=("evaluate",))
    first.start()
    try:
        assert entered.wait(10)
        with structlog.testing.capture_logs() as logs:
            daemon.run_job("evaluate")  # returns at once: the first run still holds the job
        assert len(calls) == 1
        assert any(e["event"].startswith("job skipped") for e in logs)
    finally:
        release.set()
        first.join(10)
    daemon.run_job("evaluate")
    assert len(calls) == 2


def test_startup_pass_runs_the_main_jobs_in_order(runtime: Runtime) -> None:
    order: list[str] = []

    def job(name: str) -> Any:
        return lambda _rt: order.append(name) or {}

    daemon = Daemon(Path("config.toml"), runtime, {n: job(n) for n in NAMES})
    daemon.startup_pass()
    assert order == ["ingest", "collect", "evaluate", "notify"]


def test_startup_pass_skips_disabled_jobs(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'ops-watch.db'}")
    rt = Runtime(config=_config(collect=ScheduleEntry(enabled=False)), rules=RuleSet(), store=store)
    order: list[str] = []
    try:
        daemon = Daemon(Path("config.toml"), rt, {n: (lambda _rt, n=n: order.append(n) or {}) for n in NAMES})
        daemon.startup_pass()
    finally:
        rt.close()
    assert order == ["ingest", "evaluate", "notify"]
