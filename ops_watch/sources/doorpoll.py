"""What every door-device poller shares: the registry of pollers by vendor and what a poll returns.

A poller (one per vendor: sources/hikvision.py, sources/zkbiotime.py) talks to the device and returns its new
events as SourceRows under the canonical door header, built by the same adapter that reads the vendor's
exported files; the `doors` job (areas/staffing/doors.py) stores them and remembers where the poll stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ops_watch.config import Config, DoorDevice
from ops_watch.core.registry import Registry
from ops_watch.formats.tabular import SourceRow
from ops_watch.sources import PollError


class DoorPollError(PollError):
    """A poll that failed as a whole; `kind` is one of ops_watch.sources.ERROR_KINDS."""


@dataclass
class DoorPoll:
    """What one poll of a device brought: events as rows (numbered from 1, cells in DOOR_HEADER order, or a
    fault), the state to remember once they are stored, and details for the batch record."""

    rows: list[SourceRow]
    state: dict[str, Any]
    detail: dict[str, Any] = field(default_factory=dict)


# poller(device, state, now, config) -> DoorPoll; raises DoorPollError. `state` is what the last successful
# poll returned ({} the first time); `now` is aware UTC.
DoorPoller = Callable[[DoorDevice, dict[str, Any], datetime, Config], DoorPoll]
DOOR_POLLERS: Registry[DoorPoller] = Registry("door poller")


def door_poller(vendor: str) -> Callable[[DoorPoller], DoorPoller]:
    return DOOR_POLLERS.decorator(vendor, lambda fn: fn)


__all__ = ["DOOR_POLLERS", "DoorPoll", "DoorPollError", "DoorPoller", "door_poller"]
