"""Sources: one module per transport, each yielding utilization samples. They never evaluate rules.

Every source has the same small face: a factory registered under its name that builds a Collector
from the config (or None when it is disabled), and the Collector's `collect(targets, now)` and `close()`.
A collector keeps what it needs between cycles (SSH connections, CPU counters) and never raises for
one bad target: each target gets a TargetStatus, and the collect job turns failures into findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ops_watch.core.registry import Registry

if TYPE_CHECKING:
    from ops_watch.config import Config


@dataclass(frozen=True)
class Target:
    """A resource to measure, as the inventory (or the config) describes it."""

    resource_id: str
    address: str = ""  # host or host:port; "" when the source does not need one
    platform: str = ""
    type: str = "vm"  # vm | host | volume
    collect_via: str = ""  # "" any source; else the one source meant to measure it
    user: str = ""  # SSH user for this host; "" = the source's default
    last_sample_at: datetime | None = None  # newest sample already stored (for back-fill)


@dataclass(frozen=True)
class Sample:
    resource_id: str
    at: datetime  # aware UTC
    cpu_pct: float | None = None
    mem_pct: float | None = None
    storage_used_gb: float | None = None
    storage_total_gb: float | None = None


# Kinds of failure, as stored in collection_status.error_kind and shown to the center.
ERROR_KINDS = (
    "unreachable",
    "timeout",
    "auth",
    "host_key_unknown",
    "host_key_changed",
    "parse",
    "http",
    "config",
)


class PollError(Exception):
    """A poll that failed as a whole; `kind` is one of ops_watch.sources.ERROR_KINDS."""

    def __init__(self, kind: str, message: str):
        assert kind in ERROR_KINDS, kind
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class TargetStatus:
    target: str  # the resource id (or host) the attempt was for
    ok: bool
    error_kind: str = ""  # one of ERROR_KINDS when not ok
    error: str = ""  # what happened, naming the host


@dataclass
class CollectResult:
    samples: list[Sample] = field(default_factory=list)
    statuses: list[TargetStatus] = field(default_factory=list)


class Collector(Protocol):
    name: str

    def collect(self, targets: list[Target], now: datetime) -> CollectResult: ...

    def close(self) -> None: ...


CollectorFactory = Callable[["Config"], "Collector | None"]
SOURCES: Registry[CollectorFactory] = Registry("source")


def source(name: str) -> Callable[[CollectorFactory], CollectorFactory]:
    """Register a collector factory under `name` (the key of its [collect.<name>] config table)."""
    return SOURCES.decorator(name, lambda factory: factory)


def build_collectors(config: Config, only: str | None = None) -> dict[str, Collector]:
    """The enabled collectors (or just `only`), built from the config."""
    factories = SOURCES
    if only is not None and only not in factories:
        raise KeyError(f"unknown source {only!r} (known: {', '.join(sorted(factories))})")
    built: dict[str, Collector] = {}
    for name, factory in factories.items():
        if only is not None and name != only:
            continue
        collector = factory(config)
        if collector is not None:
            built[name] = collector
    return built
