"""The daemon's own host, measured with psutil."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import psutil

from ops_watch.core.timeutil import utcnow
from ops_watch.sources import CollectResult, Sample, Target, TargetStatus, source

if TYPE_CHECKING:
    from ops_watch.config import Config

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
        cpu_pct=psutil.cpu_percent(interval=cpu_interval or None),
        mem_pct=psutil.virtual_memory().percent,
        storage_used_gb=round(used / GB, 3),
        storage_total_gb=round(total / GB, 3),
    )


class LocalCollector:
    """The daemon's host. psutil keeps the CPU counters between calls, so a cycle needs no sleep."""

    name = "local"

    def __init__(self, resource_id: str):
        self.resource_id = resource_id or socket.gethostname()
        psutil.cpu_percent(interval=None)  # prime the counters: the first real call measures since now

    def collect(self, targets: list[Target], now: datetime) -> CollectResult:
        try:
            s = sample(self.resource_id, cpu_interval=0.0)
        except OSError as exc:
            return CollectResult(statuses=[TargetStatus(self.resource_id, False, "parse", f"psutil: {exc}")])
        return CollectResult(
            samples=[Sample(s.resource_id, now, s.cpu_pct, s.mem_pct, s.storage_used_gb, s.storage_total_gb)],
            statuses=[TargetStatus(self.resource_id, True)],
        )

    def close(self) -> None:
        pass


@source("local")
def build(config: Config) -> LocalCollector | None:
    cfg = config.collect.local
    return LocalCollector(cfg.resource_id) if cfg.enabled else None
