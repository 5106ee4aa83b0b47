"""Hikvision access controllers polled live: new events from the ISAPI AcsEvent search, page by page.

`POST {url}/ISAPI/AccessControl/AcsEvent?format=json` with HTTP Digest authentication (the device's user and
the password from password_file / password_env; without a password source no login is sent). One poll is
one search: a fresh searchID, the window startTime..endTime in the site's zone with its offset, `major` =
config doors.hikvision.major and minor 0 (every sub-type: the adapter sorts passages from the rest, so
the ignored ones are counted), read in pages of `page_size` (30 when 0: devices often cap a page at 30).
The device says "MORE" while pages follow; the position moves on by the page's numOfMatches, and the search
ends on "OK" / "NO MATCH", an empty page, or when the position reaches totalMatches.

What is remembered (the poll state): the newest event read, {"last_time": its time as ISO with the site
offset, "last_serial": its serialNo}. The next search starts at that time (the device's window is
inclusive) and drops the events at or before that (time, serialNo); the first poll, and one after long
downtime, reads back at most `backfill_max`. A poll that brings nothing new keeps the state as it was.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.auth import HTTPDigestAuth

from ops_watch.core.http import error_reason, shown_url
from ops_watch.core.log import get_logger, redact_text
from ops_watch.formats.hikvision import FORMAT_NAME, acs_rows
from ops_watch.formats.vendor import VendorContext
from ops_watch.sources.doorpoll import DoorPoll, DoorPollError, door_poller

if TYPE_CHECKING:
    from ops_watch.config import Config, DoorDevice

log = get_logger(__name__)

SEARCH_PATH = "/ISAPI/AccessControl/AcsEvent"
DEFAULT_PAGE_SIZE = 30
# A search still saying "MORE" after this many pages stops with a parse error instead of looping on a
# device that never ends it: at 30 a page that is 30,000 events, far more than a week of a busy door.
MAX_PAGES = 1000
FINAL_STATUSES = ("OK", "NO MATCH")


# ---- the cursor: which events a poll has already read ---------------------------------------------


def event_time(value: Any, zone: Any) -> datetime | None:
    """An ISAPI time ("2026-11-02T08:31:05+08:00"; without an offset: site time) as an aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(zone).replace(microsecond=0)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


Key = tuple[datetime, int]


def event_key(item: Any, zone: Any) -> Key | None:
    """(time, serialNo) of an event, the order the device numbers them in; None when either is unusable."""
    if not isinstance(item, dict):
        return None
    when, serial = event_time(item.get("time"), zone), _int(item.get("serialNo"))
    return None if when is None or serial is None else (when, serial)


def read_cursor(state: dict[str, Any], zone: Any) -> Key | None:
    when = event_time(state.get("last_time"), zone)
    if when is None:
        if state:
            log.warning("hikvision poll state unreadable: starting from backfill_max", state=state)
        return None
    serial = _int(state.get("last_serial"))
    return (when, serial if serial is not None else -1)


def window(cursor: Key | None, now: datetime, device: DoorDevice, zone: Any) -> tuple[datetime, datetime]:
    """(start, end), aware in the site zone: from the cursor (never before now - backfill_max) to now."""
    end = now.astimezone(zone).replace(microsecond=0)
    floor = end - device.backfill_max
    start = floor if cursor is None else max(cursor[0], floor)
    return start, end


def isapi_time(when: datetime) -> str:
    """ISO 8601 with the offset, as ISAPI takes it: 2026-11-02T08:00:00+08:00."""
    return when.isoformat(timespec="seconds")


def new_items(items: list[Any], cursor: Key | None, end: datetime, zone: Any) -> list[Any]:
    """The items after the cursor. Those stamped after `end` (a device ignoring endTime, a clock running
    ahead) wait for a later poll, so the cursor never jumps past events not yet read."""
    kept = []
    for item in items:
        key = event_key(item, zone)
        if key is not None and ((cursor is not None and key <= cursor) or key[0] > end):
            continue
        kept.append(item)  # an item without a usable time or serialNo is kept: it becomes a row error
    return kept


# ---- HTTP ---------------------------------------------------------------------------------------


def isapi_error(payload: Any) -> str:
    """ISAPI's error answer ({"statusCode", "statusString", "subStatusCode", "errorMsg"}) in a few words;
    "" when the payload is not one."""
    if not isinstance(payload, dict) or "statusCode" not in payload or "AcsEvent" in payload:
        return ""
    code = payload.get("statusCode")
    if code in (1, "1") and not payload.get("errorMsg"):  # statusCode 1 is "OK"
        return ""
    parts = [f"statusCode {code}"]
    for key in ("statusString", "subStatusCode", "errorMsg"):
        value = payload.get(key)
        if value not in (None, ""):
            parts.append(f"{key} {str(value)[:120]}")
    return ", ".join(parts)


class HikvisionClient:
    """One poll's HTTP session to a Hikvision device."""

    def __init__(self, device: DoorDevice, config: Config):
        self.device = device
        self.where = f"doors.devices {device.name!r}"
        self.base = device.url.rstrip("/")
        self.shown = shown_url(self.base)
        self.timeout = max(0.1, device.timeout.total_seconds())
        try:
            secret = device.secret(config.config_dir).get_secret_value()
        except ValueError as exc:
            raise DoorPollError("config", f"{self.where}: cannot read the password: {exc}") from None
        self.secret = secret
        self._url_password = urlsplit(self.base).password or ""
        if secret and not device.username:
            raise DoorPollError(
                "config", f'{self.where}: a password is set but no username: set username (often "admin")'
            )
        verify: bool | str = device.verify_tls
        if device.verify_tls and device.ca_file is not None:
            ca = config.resolve(device.ca_file)
            if not ca.is_file():
                raise DoorPollError("config", f"{self.where}: ca_file {ca} does not exist")
            verify = str(ca)
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        # Digest (RFC 7616) as ISAPI requires: requests answers the device's 401 challenge and reuses the
        # nonce for the following pages.
        self.session.auth = HTTPDigestAuth(device.username, secret) if secret else None
        self.session.verify = verify

    def close(self) -> None:
        self.session.close()

    def scrub(self, text: str) -> str:
        for secret in (self.secret, self._url_password):
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)

    def _excerpt(self, resp: requests.Response) -> str:
        return self.scrub(" ".join(resp.text[:300].split())[:200])

    def search(self, cond: dict[str, Any]) -> dict[str, Any]:
        """One page of the search: the AcsEvent object; DoorPollError on any failure."""
        shown = f"{self.shown}{SEARCH_PATH} position {cond['searchResultPosition']}"
        try:
            resp = self.session.post(
                self.base + SEARCH_PATH,
                params={"format": "json"},
                json={"AcsEventCond": cond},
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise DoorPollError(
                "timeout", f"{shown}: no answer within {self.timeout:g}s (the device's timeout setting)"
            ) from None
        except requests.exceptions.SSLError as exc:
            raise DoorPollError(
                "unreachable",
                self.scrub(f"{shown}: TLS error: {error_reason(exc)}: check verify_tls and ca_file"),
            ) from None
        except requests.ConnectionError as exc:
            raise DoorPollError(
                "unreachable", self.scrub(f"{shown}: cannot connect: {error_reason(exc)}")
            ) from None
        except requests.RequestException as exc:
            raise DoorPollError("http", self.scrub(f"{shown}: {error_reason(exc)}")) from None
        try:
            payload: Any = resp.json()
        except ValueError:
            payload = None
        error = isapi_error(payload)
        if resp.status_code in (401, 403):
            if not self.secret:
                fix = f"the device asks for a login: set password_file or password_env of {self.where}"
            else:
                fix = (
                    f"check username {self.device.username!r} and password_file / password_env of {self.where} "
                    "(after repeated failures a Hikvision device locks the user for a while)"
                )
            detail = f" ({self.scrub(error)})" if error else ""
            raise DoorPollError("auth", f"{shown}: HTTP {resp.status_code}{detail}: {fix}")
        if not 200 <= resp.status_code < 300:
            detail = self.scrub(error) if error else self._excerpt(resp)
            hint = (
                ": does the device support AcsEvent search (an access controller)?"
                if resp.status_code == 404
                else ""
            )
            raise DoorPollError("http", f"{shown}: HTTP {resp.status_code} {resp.reason}: {detail}{hint}")
        if payload is None:
            raise DoorPollError("parse", f"{shown}: the answer is not JSON: {self._excerpt(resp)}")
        if error:
            raise DoorPollError("http", self.scrub(f"{shown}: the device answered with an error: {error}"))
        page = payload.get("AcsEvent") if isinstance(payload, dict) else None
        if not isinstance(page, dict):
            raise DoorPollError("parse", f"{shown}: the answer has no AcsEvent object: {self._excerpt(resp)}")
        info = page.get("InfoList")
        if info is not None and not isinstance(info, list):
            raise DoorPollError("parse", f"{shown}: AcsEvent.InfoList is not a list")
        return page


# ---- the poller ---------------------------------------------------------------------------------


def read_search(client: HikvisionClient, cond: dict[str, Any]) -> tuple[list[Any], int]:
    """Every item of one search, page by page; (items, pages)."""
    items: list[Any] = []
    pages = 0
    position = 0
    while True:
        if pages >= MAX_PAGES:
            raise DoorPollError(
                "parse",
                f"{client.shown}{SEARCH_PATH}: the device still says MORE after {MAX_PAGES} pages from "
                f"{cond['startTime']}: lower backfill_max of {client.where}, or check the device's firmware",
            )
        page = client.search({**cond, "searchResultPosition": position})
        pages += 1
        info = page.get("InfoList") or []
        items.extend(info)
        status = str(page.get("responseStatusStrg", "")).strip().upper()
        if status != "MORE" or not info:
            if status not in FINAL_STATUSES and status != "MORE":
                log.warning(
                    "hikvision search ended on an unknown status", device=client.device.name, status=status
                )
            break
        matches = _int(page.get("numOfMatches"))
        position += matches if matches is not None and matches > 0 else len(info)
        total = _int(page.get("totalMatches"))
        if total is not None and position >= total:
            break
    return items, pages


@door_poller("hikvision")
def poll(device: DoorDevice, state: dict[str, Any], now: datetime, config: Config) -> DoorPoll:
    zone = config.site.zone
    codes = config.doors.hikvision
    cursor = read_cursor(state, zone)
    start, end = window(cursor, now, device, zone)
    detail: dict[str, Any] = {
        "format": FORMAT_NAME,
        "start_time": isapi_time(start),
        "end_time": isapi_time(end),
    }
    cond = {
        "searchID": str(uuid.uuid4()),  # one per search; its pages share it
        "searchResultPosition": 0,
        "maxResults": device.page_size or DEFAULT_PAGE_SIZE,
        "major": codes.major,
        "minor": 0,  # every sub-type: the non-passages are counted, not silently missing
        "startTime": detail["start_time"],
        "endTime": detail["end_time"],
    }
    client = HikvisionClient(device, config)
    try:
        items, pages = read_search(client, cond)
    finally:
        client.close()

    fresh = new_items(items, cursor, end, zone)
    ctx = VendorContext(config=config, file_stem=device.name, detail=detail)
    rows = list(acs_rows(fresh, device, codes, ctx, first_number=1))
    keys = [k for k in (event_key(i, zone) for i in fresh) if k is not None]
    new_state = dict(state)
    if keys:
        newest = max(keys)
        new_state = {"last_time": isapi_time(newest[0]), "last_serial": newest[1]}
    detail.update(pages=pages, read=len(items), already_read=len(items) - len(fresh))
    detail.setdefault("ignored_events", {})
    log.debug("hikvision poll", device=device.name, pages=pages, rows=len(rows))
    return DoorPoll(rows=rows, state=new_state, detail=detail)


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGES",
    "SEARCH_PATH",
    "HikvisionClient",
    "event_key",
    "isapi_error",
    "isapi_time",
    "poll",
    "read_search",
    "window",
]
