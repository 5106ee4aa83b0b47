"""The systemd notify client against a real AF_UNIX datagram socket."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops_watch.core import sdnotify


def _short_dir(tmp_path: Path) -> Path:
    # sun_path holds at most 107 bytes; pytest's tmp_path can be longer than that.
    if len(str(tmp_path / "notify.sock")) < 100:
        return tmp_path
    return Path(tempfile.mkdtemp(prefix="ow-sd-"))


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = _short_dir(tmp_path) / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    try:
        yield sock
    finally:
        sock.close()
        path.unlink(missing_ok=True)


def _lines(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode("utf-8").split("\n")


def test_ready_and_status(listener: socket.socket) -> None:
    assert sdnotify.ready() is True
    assert _lines(listener) == ["READY=1"]
    assert sdnotify.ready("started") is True
    assert _lines(listener) == ["READY=1", "STATUS=started"]


def test_watchdog_stopping_status(listener: socket.socket) -> None:
    assert sdnotify.watchdog()
    assert _lines(listener) == ["WATCHDOG=1"]
    assert sdnotify.stopping()
    assert _lines(listener) == ["STOPPING=1"]
    assert sdnotify.status("evaluate ok at 12:05:03")
    assert _lines(listener) == ["STATUS=evaluate ok at 12:05:03"]


def test_status_newlines_cannot_inject_assignments(listener: socket.socket) -> None:
    sdnotify.status("line one\nREADY=1")
    assert _lines(listener) == ["STATUS=line one READY=1"]


def test_status_in_chinese_is_utf8(listener: socket.socket) -> None:
    sdnotify.status("评估 正常")
    assert _lines(listener) == ["STATUS=评估 正常"]


def test_reloading_carries_monotonic_usec(listener: socket.socket) -> None:
    import time

    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    lines = _lines(listener)
    assert lines[0] == "RELOADING=1"
    assert lines[1].startswith("MONOTONIC_USEC=")
    assert before <= int(lines[1].split("=", 1)[1]) <= after


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"ops-watch-test-{os.getpid()}-{id(monkeypatch)}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind("\0" + name)
    except OSError as exc:  # pragma: no cover - only on systems without abstract sockets
        sock.close()
        pytest.skip(f"abstract unix sockets not available: {exc}")
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    try:
        assert sdnotify.ready()
        assert _lines(sock) == ["READY=1"]
    finally:
        sock.close()


def test_no_socket_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    assert sdnotify.ready() is False
    assert sdnotify.watchdog() is False
    assert sdnotify.stopping() is False
    assert sdnotify.watchdog_interval() is None


def test_missing_socket_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens.sock"))
    assert sdnotify.ready() is False
    assert sdnotify.status("x") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")  # a transport we do not speak
    assert sdnotify.ready() is False


def test_watchdog_interval(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    assert sdnotify.watchdog_interval() == 1.5
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 1.5
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert sdnotify.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert sdnotify.watchdog_interval() is None
