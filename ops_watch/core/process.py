"""Which process owns a piece of work ("host:pid", recorded in the store), and whether it is still there."""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    """This process as recorded on a claim: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def owner_gone(owner: str) -> bool | None:
    """Whether the process that recorded `owner` ("host:pid") is gone: True or False for a process of this host,
    None for another host's (its liveness cannot be seen from here) or an owner not recorded that way."""
    host, _, pid = (owner or "").rpartition(":")
    if not host or not pid.isdigit():
        return None
    if host != socket.gethostname():
        return None
    return not pid_alive(int(pid))
