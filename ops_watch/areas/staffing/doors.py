"""The `doors` job: poll every door device with a url, store its new events, remember how far it has read.

A poller (one per vendor, in ops_watch.sources.hikvision / .zkbiotime, registered with `@door_poller`)
talks to the device and returns the events as SourceRows under the canonical door header, built by the same
adapter that reads the vendor's exported files. This module does what every vendor shares: the rows go
through the door kind's column parsers (a bad event is a RowError, never a silent drop), are stored once
(the dedupe key), and the device's poll state is saved in the same transaction as its events, so a crash
between fetching and storing only means the next poll fetches them again. A device that fails is recorded
in collection_status (source = vendor, target = device name), which `collection_failed` turns into a finding;
the other devices still run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ops_watch.areas.staffing import kind_door as door
from ops_watch.collect import record_statuses
from ops_watch.config import Config, DoorDevice
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import utcnow
from ops_watch.formats.vendor import DOOR_HEADER
from ops_watch.polled import load_state, save_state, store_rows
from ops_watch.sources import TargetStatus
from ops_watch.sources.doorpoll import DOOR_POLLERS, DoorPollError
from ops_watch.store import Store

log = get_logger(__name__)


def state_name(device: DoorDevice) -> str:
    return f"doors:{device.vendor}:{device.name}"


def poll_doors(store: Store, config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Poll every device with a url once. A failing device is recorded and the others still run."""
    now = now or utcnow()
    pollers = DOOR_POLLERS
    counts: dict[str, Any] = {"devices": 0, "events": 0, "bad": 0, "failed": 0}
    for device in config.doors.devices:
        if not device.polled:
            continue
        counts["devices"] += 1
        with store.session() as session:
            state = load_state(session, state_name(device))
        try:
            result = pollers[device.vendor](device, state, now, config)
        except DoorPollError as exc:
            status = TargetStatus(device.name, False, exc.kind, str(exc))
            result = None
        except Exception as exc:  # a broken poller must not stop the other devices
            log.error("door poller failed", device=device.name, error=str(exc), exc_info=True)
            status = TargetStatus(device.name, False, "config", f"{type(exc).__name__}: {exc}")
            result = None
        else:
            status = TargetStatus(device.name, True)
        with store.session() as session:
            if result is not None:
                _, stored = store_rows(
                    session,
                    config,
                    door.KIND,
                    DOOR_HEADER,
                    f"{device.vendor}:{device.name}",
                    result.rows,
                    now,
                    result.detail,
                )
                save_state(session, state_name(device), result.state)
                counts["events"] += stored.ok
                counts["bad"] += stored.bad
            else:
                counts["failed"] += 1
                log.warning(
                    "door poll failed", device=device.name, kind=status.error_kind, error=status.error
                )
            record_statuses(session, device.vendor, [status], now)
    return counts


def last_state(store: Store, device: DoorDevice) -> dict[str, Any]:
    """The device's remembered poll state."""
    with store.session() as session:
        return load_state(session, state_name(device))


__all__ = ["last_state", "poll_doors", "state_name"]
