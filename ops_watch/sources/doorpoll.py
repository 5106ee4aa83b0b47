"""What every door-device poller shares: the registry of pollers by vendor, what a poll returns, and the
cursor, paging and HTTP plumbing the vendors' pollers use alike.

A poller (one per vendor: sources/hikvision.py, sources/zkbiotime.py) talks to the device and returns its new
events as SourceRows under the canonical door header, built by the same adapter that reads the vendor's
exported files; the `doors` job (areas/staffing/doors.py) stores them and remembers where the poll stopped.

Both vendors number their events in (time, id) order, so a poll's place is the newest (time, id) read: the
state {"last_time": ..., <id key>: ...} (kept as it is: states already stored must keep working), a window
from there (less an overlap, never before now - backfill_max) to now, and the events at or before the
place dropped from what the window brings again. What differs per vendor (the field names, how a time is
written, the request, the paging signal, the login) stays in its module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ops_watch.config import Config, DoorDevice
from ops_watch.core.http import error_reason, shown_url
from ops_watch.core.log import get_logger, redact_text
from ops_watch.core.registry import Registry
from ops_watch.formats.tabular import SourceRow
from ops_watch.sources import PollError

if TYPE_CHECKING:
    import requests

log = get_logger(__name__)


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


# ---- the cursor: which events a poll has already read ---------------------------------------------

# (time, id) of an event: the order a device numbers its events in, and the place a poll stopped at.
Cursor = tuple[datetime, int]


def whole_number(value: Any) -> int | None:
    """An id as devices send it (a number or a numeric string) as an int; None for anything else, a bool
    included (JSON true is not an id)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_iso_time(value: Any) -> datetime | None:
    """An ISO 8601 time ("Z" taken as UTC) as written, naive or aware; None when it is not one, so a bad
    time becomes a row error later instead of failing the poll."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class CursorFields:
    """Where one vendor's events carry their (time, id) and how the poll state remembers it. The state keys
    are stored in users' databases: they never change."""

    vendor: str  # names the vendor in log lines
    time_field: str  # the event's time field
    id_field: str  # the event's id field, numbered in time order by the device
    state_id: str  # the state key of the id, beside "last_time"
    read_time: Callable[
        [Any, tzinfo], datetime | None
    ]  # (value, site zone) -> site time, as the vendor keeps it
    write_time: Callable[[datetime], str]  # a site time as the state (and the device's query) writes it


def event_cursor(item: Any, fields: CursorFields, zone: tzinfo) -> Cursor | None:
    """(time, id) of an event; None when either is unusable."""
    if not isinstance(item, dict):
        return None
    when, number = (
        fields.read_time(item.get(fields.time_field), zone),
        whole_number(item.get(fields.id_field)),
    )
    return None if when is None or number is None else (when, number)


def read_cursor(state: dict[str, Any], fields: CursorFields, zone: tzinfo) -> Cursor | None:
    """Where the last poll stopped; None the first time, or when the state cannot be read (the poll then
    reads back backfill_max rather than fail for good). A missing id sorts before every real one."""
    when = fields.read_time(state.get("last_time"), zone)
    if when is None:
        if state:
            log.warning(f"{fields.vendor} poll state unreadable: starting from backfill_max", state=state)
        return None
    number = whole_number(state.get(fields.state_id))
    return (when, number if number is not None else -1)


def poll_window(
    cursor: Cursor | None, end: datetime, backfill_max: timedelta, overlap: timedelta = timedelta(0)
) -> tuple[datetime, datetime]:
    """(start, end) of the events to ask for: from the cursor less `overlap` (never before end -
    backfill_max, so a first poll or one after long downtime stays bounded) to `end`, the site's now."""
    floor = end - backfill_max
    start = floor if cursor is None else max(cursor[0] - overlap, floor)
    return start, end


def after_cursor(
    items: Iterable[Any], cursor: Cursor | None, end: datetime, fields: CursorFields, zone: tzinfo
) -> list[Any]:
    """The items after the cursor. Those stamped after `end` (a clock running ahead, or a device that
    ignores the window's end) wait for a later poll, so the cursor never jumps past events not yet read."""
    kept = []
    for item in items:
        key = event_cursor(item, fields, zone)
        if key is not None and ((cursor is not None and key <= cursor) or key[0] > end):
            continue
        kept.append(item)  # an item without a usable time or id is kept: it becomes a row error
    return kept


def state_after(
    fresh: Iterable[Any], state: dict[str, Any], fields: CursorFields, zone: tzinfo
) -> dict[str, Any]:
    """The state to remember once `fresh` is stored: the newest (time, id) among them; the state as it was
    when none has one, so a poll that brings nothing new does not move the cursor."""
    keys = [k for k in (event_cursor(i, fields, zone) for i in fresh) if k is not None]
    if not keys:
        return dict(state)
    newest = max(keys)
    return {"last_time": fields.write_time(newest[0]), fields.state_id: newest[1]}


# ---- paging -------------------------------------------------------------------------------------


def read_pages(
    next_page: Callable[[int], tuple[list[Any], bool]], max_pages: int, too_many: str
) -> tuple[list[Any], int]:
    """Every item of a paged read; (items, pages). `next_page(pages_read)` fetches one page: its items and
    whether another follows. A device that never says it is done stops with DoorPollError("parse",
    too_many) after `max_pages`, rather than loop for ever."""
    items: list[Any] = []
    pages = 0
    while True:
        if pages >= max_pages:
            raise DoorPollError("parse", too_many)
        page_items, more = next_page(pages)
        pages += 1
        items.extend(page_items)
        if not more:
            return items, pages


# ---- HTTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceLink:
    """Where one poll reaches a device and how its errors name it, with the password read once per poll."""

    device: DoorDevice
    where: str  # the config entry an error sends the operator to
    base: str  # the url without a trailing slash: request paths are appended to it
    shown: str  # the url as errors show it: no credentials, no query
    timeout: float  # seconds, per request
    secret: str  # the password or API key; "" when no password source is set
    url_password: str  # a password written into the url, kept out of errors like the secret

    def scrub(self, text: str, *more_secrets: str) -> str:
        """`text` safe to store and show: the secrets (and any a login brought, `more_secrets`) masked."""
        for secret in (self.secret, *more_secrets, self.url_password):
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)


def device_link(device: DoorDevice, config: Config) -> DeviceLink:
    """The device's link; DoorPollError("config") when its password source cannot be read."""
    where = f"doors.devices {device.name!r}"
    base = device.url.rstrip("/")
    try:
        secret = device.secret(config.config_dir).get_secret_value()
    except ValueError as exc:
        raise DoorPollError("config", f"{where}: cannot read the password: {exc}") from None
    return DeviceLink(
        device=device,
        where=where,
        base=base,
        shown=shown_url(base),
        timeout=max(0.1, device.timeout.total_seconds()),
        secret=secret,
        url_password=urlsplit(base).password or "",
    )


def json_session(link: DeviceLink, config: Config) -> requests.Session:
    """A session asking for JSON, verifying TLS as the device's verify_tls / ca_file say;
    DoorPollError("config") when the ca_file is missing."""
    device = link.device
    verify: bool | str = device.verify_tls
    if device.verify_tls and device.ca_file is not None:
        ca = config.resolve(device.ca_file)
        if not ca.is_file():
            raise DoorPollError("config", f"{link.where}: ca_file {ca} does not exist")
        verify = str(ca)
    # start-up: requests (5 MiB) loads when a door is polled, not in every daemon (issue 17: its RSS)
    import requests

    session = requests.Session()
    session.headers["Accept"] = "application/json"
    session.verify = verify
    return session


def send(
    session: requests.Session,
    link: DeviceLink,
    method: str,
    path: str,
    shown: str,
    scrub: Callable[[str], str],
    **kwargs: Any,
) -> requests.Response:
    """One request to `link.base + path`; a failure to get any answer is a DoorPollError of the kind the
    operator acts on (timeout, unreachable, http), its message starting with `shown` and passed through
    `scrub` where the library's words may quote a secret."""
    # start-up: requests (5 MiB) loads when a door is polled, not in every daemon (issue 17: its RSS)
    import requests

    try:
        return session.request(method, link.base + path, timeout=link.timeout, **kwargs)
    except requests.Timeout:
        raise DoorPollError(
            "timeout", f"{shown}: no answer within {link.timeout:g}s (the device's timeout setting)"
        ) from None
    except requests.exceptions.SSLError as exc:
        raise DoorPollError(
            "unreachable", scrub(f"{shown}: TLS error: {error_reason(exc)}: check verify_tls and ca_file")
        ) from None
    except requests.ConnectionError as exc:
        raise DoorPollError("unreachable", scrub(f"{shown}: cannot connect: {error_reason(exc)}")) from None
    except requests.RequestException as exc:
        raise DoorPollError("http", scrub(f"{shown}: {error_reason(exc)}")) from None


def answer_excerpt(resp: requests.Response) -> str:
    """The start of an answer's body on one line, for an error message (scrub it before use)."""
    return " ".join(resp.text[:300].split())[:200]


__all__ = [
    "DOOR_POLLERS",
    "Cursor",
    "CursorFields",
    "DeviceLink",
    "DoorPoll",
    "DoorPollError",
    "DoorPoller",
    "after_cursor",
    "answer_excerpt",
    "device_link",
    "door_poller",
    "event_cursor",
    "json_session",
    "parse_iso_time",
    "poll_window",
    "read_cursor",
    "read_pages",
    "send",
    "state_after",
    "whole_number",
]
