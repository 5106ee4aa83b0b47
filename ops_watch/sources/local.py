"""The daemon's own host, measured with psutil."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime

import psutil

from ops_watch.timeutil import utcnow

GB = 1024**3
# Pseudo and read-only file systems say nothing about allocated storage.
_SKIP_FS = {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "iso9660", "nsfs", "tracefs"}


@dataclass(frozen=True)
class LocalSample:
    resource_id: str
    at: datetime
    cpu_pct: float
    mem_pct: float
    storage_used_gb: float
    storage_total_gb: float


def sample(resource_id: str = "", cpu_interval: float = 0.5) -> LocalSample:
    """One sample: CPU over a short interval, memory in use, and storage summed over real mounts."""
    used = total = 0
    seen_devices: set[str] = set()
    for part in psutil.disk_partitions(all=False):
        if part.fstype in _SKIP_FS or part.device in seen_devices:
            continue
        seen_devices.add(part.device)
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue  # a mount that vanished or that we may not read
        used, total = used + usage.used, total + usage.total
    if total == 0:  # containers often list no real partition: fall back to the root file system
        usage = psutil.disk_usage("/")
        used, total = usage.used, usage.total
    return LocalSample(
        resource_id=resource_id or socket.gethostname(),
        at=utcnow(),
        cpu_pct=psutil.cpu_percent(interval=cpu_interval),
        mem_pct=psutil.virtual_memory().percent,
        storage_used_gb=round(used / GB, 3),
        storage_total_gb=round(total / GB, 3),
    )
