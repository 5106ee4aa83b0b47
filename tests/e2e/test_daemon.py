"""The daemon as a process: start, systemd notify, SIGHUP with a good and a bad config, SIGTERM, bad start.

Each test runs `python -m ops_watch --config X run` with its own state under tmp_path, reads the JSON
log lines from its stderr, and listens on a real unix datagram socket as systemd would (NOTIFY_SOCKET).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0  # generous: a loaded 2-core CI machine; every wait polls and returns as soon as it can

BASE_CONFIG = """\
[site]
timezone = "Asia/Shanghai"

[paths]
state_dir = "var"
rules_dir = "rules"

[ingest]
drop_dir = "var/drop"

[schedule.evaluate]
every = "1s"

[log]
level = "info"
format = "json"
"""


def wait_for(
    predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str | Callable[[], str] = "condition"
) -> Any:
    """`what` may be a callable, so a daemon's output in it is read when the wait fails, not when it begins."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what() if callable(what) else what}")


class NotifyListener:
    """A unix datagram socket standing in for systemd's notify socket."""

    def __init__(self, directory: Path):
        # sun_path holds at most 107 bytes; pytest's tmp_path can be longer than that.
        if len(str(directory / "notify.sock")) >= 100:
            directory = Path(tempfile.mkdtemp(prefix="ow-e2e-"))
        self.path = directory / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.2)
        self.messages: list[list[str]] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append(data.decode("utf-8").split("\n"))

    def assignments(self) -> list[str]:
        with self._lock:
            return [line for message in self.messages for line in message]

    def count(self, assignment: str) -> int:
        return self.assignments().count(assignment)

    def close(self) -> None:
        self._closed = True
        self._thread.join(timeout=2)
        self.sock.close()
        self.path.unlink(missing_ok=True)


class Daemon:
    """`ops-watch run` as a subprocess, its stderr collected line by line."""

    def __init__(self, config: Path, env: dict[str, str] | None = None):
        full_env = {
            k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
        }
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.pop("OPS_WATCH_CONFIG", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ops_watch", "--config", str(config), "run"],
            cwd=config.parent,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._out_reader = threading.Thread(target=self.proc.stdout.read, daemon=True)  # type: ignore[union-attr]
        self._out_reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "event" in item:
                out.append(item)
        return out

    def find(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        return [e for e in self.events() if predicate(e)]

    def wait_event(self, event: str, after: int = 0, **fields: Any) -> dict[str, Any]:
        """The first log event named `event` (with `fields`) among the events from index `after` on."""

        def found() -> dict[str, Any] | None:
            for e in self.events()[after:]:
                if e["event"].startswith(event) and all(e.get(k) == v for k, v in fields.items()):
                    return e
            return None

        try:
            return wait_for(found, what=f"log event {event!r} {fields or ''}")
        except AssertionError:
            raise AssertionError(f"no {event!r} event; the daemon wrote:\n" + self.output()) from None

    def output(self) -> str:
        """The tail of stderr for a failure message, long lines (tracebacks) cut short."""
        with self._lock:
            return "\n".join(line if len(line) < 600 else line[:600] + " ..." for line in self.lines[-60:])

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the daemon did not exit; it wrote:\n" + self.output()) from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reader.join(timeout=5)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config in tmp_path with the repo's rules; returns the config path."""
    rules = tmp_path / "rules"
    if (REPO / "rules").is_dir():
        shutil.copytree(REPO / "rules", rules)
    else:
        rules.mkdir()
        (rules / "contract.toml").write_text('[contract]\nname = "test"\n', encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(BASE_CONFIG, encoding="utf-8")
    return config


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifyListener]:
    listener = NotifyListener(tmp_path)
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def start(site: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def _start(env: dict[str, str] | None = None) -> Daemon:
        daemon = Daemon(site, env)
        started.append(daemon)
        return daemon

    try:
        yield _start
    finally:
        for daemon in started:
            daemon.kill()


def _evaluate_runs(daemon: Daemon) -> int:
    return len(daemon.find(lambda e: e["event"] == "job done" and e.get("job") == "evaluate"))


def test_starts_notifies_systemd_and_stops_on_sigterm(start, notify_socket: NotifyListener) -> None:
    daemon = start({"NOTIFY_SOCKET": str(notify_socket.path)})
    wait_for(lambda: notify_socket.count("READY=1"), what="READY=1 on the notify socket")
    ready = daemon.wait_event("ready")
    assert "evaluate" in ready["jobs"]
    # The start-up pass runs the main jobs at once, and evaluate then keeps running every second.
    daemon.wait_event("job done", job="ingest")
    wait_for(lambda: _evaluate_runs(daemon) >= 2, what="two evaluate runs")
    wait_for(lambda: any(a.startswith("STATUS=last ") for a in notify_socket.assignments()), what="STATUS")

    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.output()
    assert notify_socket.count("STOPPING=1") == 1
    assert daemon.find(lambda e: e["event"] == "stopped")
    assert notify_socket.count("WATCHDOG=1") == 0  # no WATCHDOG_USEC: no pings
    assert not daemon.find(lambda e: e.get("level") in ("error", "critical")), daemon.output()


def test_sigint_stops_cleanly(start) -> None:
    daemon = start()
    daemon.wait_event("ready")
    daemon.signal(signal.SIGINT)
    assert daemon.wait() == 0, daemon.output()
    assert daemon.find(lambda e: e["event"] == "stopped")


def test_sighup_with_a_good_config_reloads(start, site: Path, notify_socket: NotifyListener) -> None:
    daemon = start({"NOTIFY_SOCKET": str(notify_socket.path)})
    daemon.wait_event("ready")
    wait_for(lambda: notify_socket.count("READY=1"), what="READY=1")

    site.write_text(
        BASE_CONFIG.replace('every = "1s"', 'every = "2s"').replace('level = "info"', 'level = "debug"')
    )
    mark = len(daemon.events())
    daemon.signal(signal.SIGHUP)
    reloaded = daemon.wait_event("reloaded", after=mark)
    assert reloaded["rescheduled"] == ["evaluate"]
    wait_for(lambda: notify_socket.count("READY=1") >= 2, what="READY=1 after the reload")
    sent = notify_socket.assignments()
    assert "RELOADING=1" in sent
    after_reloading = sent[sent.index("RELOADING=1") :]
    assert after_reloading[1].startswith("MONOTONIC_USEC=")
    assert "READY=1" in after_reloading

    # Still running, on the new settings: evaluate goes on.
    after = len(daemon.events())
    wait_for(
        lambda: (
            _evaluate_runs(daemon) > 0
            and any(e["event"] == "job done" and e.get("job") == "evaluate" for e in daemon.events()[after:])
        ),
        what="an evaluate run after the reload",
    )
    assert daemon.alive()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.output()


def test_sighup_with_a_bad_config_keeps_the_old_one(start, site: Path) -> None:
    daemon = start()
    daemon.wait_event("ready")
    daemon.wait_event("job done", job="evaluate")

    site.write_text(BASE_CONFIG + '\n[notify.email]\nport = "abc"\n', encoding="utf-8")
    mark = len(daemon.events())
    daemon.signal(signal.SIGHUP)
    refused = daemon.wait_event("reload refused", after=mark)
    assert refused["level"] == "error"
    problems = daemon.find(lambda e: e["event"] == "config problem")
    assert problems, daemon.output()
    assert all(p["level"] == "error" for p in problems)
    assert any("notify.email.port" in p["problem"] and "config.toml" in p["problem"] for p in problems)
    assert not daemon.find(lambda e: e["event"] == "reloaded")

    # The old config and rules go on: evaluate keeps running after the refused reload.
    after = len(daemon.events())
    daemon.wait_event("job done", after=after, job="evaluate")
    assert daemon.alive()

    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.output()


def test_bad_config_at_start_lists_every_problem(start, site: Path) -> None:
    site.write_text(
        BASE_CONFIG.replace('level = "info"', 'level = "loud"') + '\n[notify.email]\nport = "abc"\n',
        encoding="utf-8",
    )
    daemon = start()
    assert daemon.wait() == 2
    daemon.kill()  # joins the reader: all of stderr is in
    text = daemon.output()
    assert "config.toml: notify.email.port: " in text, text
    assert "config.toml: log.level: " in text, text
    assert not (site.parent / "var" / "ops-watch.db").exists()


def test_watchdog_pings(start, notify_socket: NotifyListener) -> None:
    daemon = start({"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "1000000"})
    wait_for(lambda: notify_socket.count("READY=1"), what="READY=1")
    wait_for(lambda: notify_socket.count("WATCHDOG=1") >= 2, what="two WATCHDOG=1 pings")
    assert daemon.alive()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.output()
    assert notify_socket.count("STOPPING=1") == 1


def test_store_that_cannot_open_exits_1(start, site: Path) -> None:
    # Nothing listens on port 1 of loopback: the connection is refused at once.
    site.write_text(BASE_CONFIG + '\n[store]\nurl = "postgresql://ops@127.0.0.1:1/ops"\n', encoding="utf-8")
    daemon = start()
    assert daemon.wait() == 1
    daemon.kill()
    assert "store" in daemon.output(), daemon.output()
    assert not daemon.find(lambda e: e["event"] == "ready")


def test_metrics_listener_serves_the_jobs_the_daemon_ran(start, site: Path) -> None:
    """[metrics] listen: the daemon's own /metrics (no console), with each job's runs as the daemon recorded
    them in the store."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    site.write_text(
        site.read_text(encoding="utf-8") + f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n', encoding="utf-8"
    )
    daemon = start()
    wait_for(lambda: _evaluate_runs(daemon) >= 1, what="a first evaluate run")

    def served() -> str | None:
        try:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        except requests.RequestException:
            return None
        return text if 'ops_watch_job_runs_total{job="evaluate"}' in text else None

    text = wait_for(served, what="/metrics on the daemon's listener")
    runs = re.search(r'^ops_watch_job_runs_total\{job="evaluate"\} (\S+)$', text, re.M)
    assert runs and float(runs.group(1)) >= 1
    assert re.search(r'^ops_watch_job_succeeded\{job="evaluate"\} 1\.0$', text, re.M)
    assert daemon.find(lambda e: e["event"] == "serving /metrics")
