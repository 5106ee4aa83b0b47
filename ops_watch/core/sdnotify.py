"""A tiny systemd notify client (sd_notify(3)) over the $NOTIFY_SOCKET unix datagram socket.

Every function is a no-op when NOTIFY_SOCKET is unset (not started by systemd with Type=notify) and
none of them ever raises: a lost notification must never take the daemon down.
"""

from __future__ import annotations

import os
import socket
import time

__all__ = [
    "notify",
    "ready",
    "reloading",
    "status",
    "stopping",
    "watchdog",
    "watchdog_interval",
]


def _address() -> str | None:
    """The socket address from $NOTIFY_SOCKET: a path, or '@name' for the abstract namespace."""
    path = os.environ.get("NOTIFY_SOCKET", "")
    if path.startswith("@"):
        return "\0" + path[1:]
    if path.startswith("/"):
        return path
    return None  # unset, or a transport we do not speak (e.g. vsock:)


def notify(*assignments: str) -> bool:
    """Send one datagram of 'KEY=value' lines; True if it was sent, False if not (never raises)."""
    address = _address()
    if address is None or not assignments:
        return False
    message = "\n".join(a.replace("\n", " ") for a in assignments).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(1.0)
            sock.sendto(message, address)
    except (OSError, ValueError):
        return False
    return True


def ready(status_text: str | None = None) -> bool:
    return notify("READY=1", *([f"STATUS={status_text}"] if status_text else []))


def reloading() -> bool:
    # MONOTONIC_USEC lets systemd (Type=notify-reload) tell this reload from an earlier one.
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog() -> bool:
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    return notify(f"STATUS={text}")


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of $WATCHDOG_USEC), or None when the watchdog is off.

    As sd_watchdog_enabled(3): WATCHDOG_PID, when set, must name this process.
    """
    if _address() is None:
        return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    return usec / 2 / 1_000_000
