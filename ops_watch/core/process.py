"""Which process owns a piece of work ("host:pid", recorded in the store), and whether it is still there."""

from __future__ import annotations

import os
import socket

# Set in a job's child process (jobs.in_child) to the daemon instance it works for.
INSTANCE_ENV = "OPS_WATCH_INSTANCE"


def this_process() -> str:
    """This process as recorded on a claim: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def working_for() -> str:
    """The daemon instance this process works for: itself ("host:pid"), or, in a job's child process, the daemon
    that spawned it. Its database sessions carry that name (store/db.session_name)."""
    return os.environ.get(INSTANCE_ENV) or this_process()


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


def writers_of(device: int, inode: int) -> list[int]:
    """The processes that have this file open for writing, as far as /proc lets this process see (every process
    as root, its own user's otherwise). A sender that pauses between two writes keeps its file open: the scan
    cannot tell that pause from a finished file by size and time alone."""
    found: list[int] = []
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found  # no /proc: nothing to see
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to look at
        for fd in fds:
            try:
                st = os.stat(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if st.st_ino != inode or st.st_dev != device:
                continue
            if _opened_for_writing(f"/proc/{pid}/fdinfo/{fd}"):
                found.append(int(pid))
                break
    return found


def _opened_for_writing(fdinfo: str) -> bool:
    try:
        with open(fdinfo, encoding="ascii") as f:
            for line in f:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)
    except (OSError, ValueError, IndexError):
        pass
    return False
