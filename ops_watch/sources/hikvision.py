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
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from ops_watch.core.log import get_logger
from ops_watch.formats.hikvision import FORMAT_NAME, acs_rows
from ops_watch.formats.vendor import VendorContext
from ops_watch.sources import doorpoll
from ops_watch.sources.doorpoll import DoorPoll, DoorPollError, door_poller

if TYPE_CHECKING:
    import requests

    from ops_watch.config import Config, DoorDevice

log = get_logger(__name__)

SEARCH_PATH = "/ISAPI/AccessControl/AcsEvent"
DEFAULT_PAGE_SIZE = 30
# A search still saying "MORE" after this many pages stops with a parse error instead of looping on a
# device that never ends it: at 30 a page that is 30,000 events, far more than a week of a busy door.
MAX_PAGES = 1000
FINAL_STATUSES = ("OK", "NO MATCH")


# ---- the cursor: which events a poll has already read ---------------------------------------------


def event_time(value: Any, zone: tzinfo) -> datetime | None:
    """An ISAPI time ("2026-11-02T08:31:05+08:00"; without an offset: site time) as an aware datetime."""
    when = doorpoll.parse_iso_time(value)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(zone).replace(microsecond=0)


def isapi_time(when: datetime) -> str:
    """ISO 8601 with the offset, as ISAPI takes it: 2026-11-02T08:00:00+08:00."""
    return when.isoformat(timespec="seconds")


CURSOR = doorpoll.CursorFields(
    vendor="hikvision",
    time_field="time",
    id_field="serialNo",
    state_id="last_serial",
    read_time=event_time,
    write_time=isapi_time,
)


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
        self.link = doorpoll.device_link(device, config)
        if self.link.secret and not device.username:
            raise DoorPollError(
                "config",
                f'{self.link.where}: a password is set but no username: set username (often "admin")',
            )
        self.session = doorpoll.json_session(self.link, config)
        # start-up: requests (5 MiB) loads when a door is polled, not in every daemon (issue 17: its RSS)
        from requests.auth import HTTPDigestAuth

        # Digest (RFC 7616) as ISAPI requires: requests answers the device's 401 challenge and reuses the
        # nonce for the following pages.
        self.session.auth = HTTPDigestAuth(device.username, self.link.secret) if self.link.secret else None

    def close(self) -> None:
        self.session.close()

    def scrub(self, text: str) -> str:
        return self.link.scrub(text)

    def _excerpt(self, resp: requests.Response) -> str:
        return self.scrub(doorpoll.answer_excerpt(resp))

    def search(self, cond: dict[str, Any]) -> dict[str, Any]:
        """One page of the search: the AcsEvent object; DoorPollError on any failure."""
        link = self.link
        shown = f"{link.shown}{SEARCH_PATH} position {cond['searchResultPosition']}"
        resp = doorpoll.send(
            self.session,
            link,
            "POST",
            SEARCH_PATH,
            shown,
            self.scrub,
            params={"format": "json"},
            json={"AcsEventCond": cond},
        )
        try:
            payload: Any = resp.json()
        except ValueError:
            payload = None
        error = isapi_error(payload)
        if resp.status_code in (401, 403):
            if not link.secret:
                fix = f"the device asks for a login: set password_file or password_env of {link.where}"
            else:
                fix = (
                    f"check username {link.device.username!r} and password_file / password_env of {link.where} "
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
    position = 0

    def next_page(_pages_read: int) -> tuple[list[Any], bool]:
        nonlocal position
        page = client.search({**cond, "searchResultPosition": position})
        info = page.get("InfoList") or []
        status = str(page.get("responseStatusStrg", "")).strip().upper()
        if status != "MORE" or not info:
            if status not in FINAL_STATUSES and status != "MORE":
                log.warning(
                    "hikvision search ended on an unknown status",
                    device=client.link.device.name,
                    status=status,
                )
            return info, False
        matches = doorpoll.whole_number(page.get("numOfMatches"))
        position += matches if matches is not None and matches > 0 else len(info)
        total = doorpoll.whole_number(page.get("totalMatches"))
        return info, total is None or position < total

    return doorpoll.read_pages(
        next_page,
        MAX_PAGES,
        f"{client.link.shown}{SEARCH_PATH}: the device still says MORE after {MAX_PAGES} pages from "
        f"{cond['startTime']}: lower backfill_max of {client.link.where}, or check the device's firmware",
    )


@door_poller("hikvision")
def poll(device: DoorDevice, state: dict[str, Any], now: datetime, config: Config) -> DoorPoll:
    zone = config.site.zone
    codes = config.doors.hikvision
    cursor = doorpoll.read_cursor(state, CURSOR, zone)
    # ISAPI's window is inclusive: no overlap, the events at the cursor come again and are dropped.
    end = now.astimezone(zone).replace(microsecond=0)
    start, end = doorpoll.poll_window(cursor, end, device.backfill_max)
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

    fresh = doorpoll.after_cursor(items, cursor, end, CURSOR, zone)
    ctx = VendorContext(config=config, file_stem=device.name, detail=detail)
    rows = list(acs_rows(fresh, device, codes, ctx, first_number=1))
    new_state = doorpoll.state_after(fresh, state, CURSOR, zone)
    detail.update(pages=pages, read=len(items), already_read=len(items) - len(fresh))
    detail.setdefault("ignored_events", {})
    log.debug("hikvision poll", device=device.name, pages=pages, rows=len(rows))
    return DoorPoll(rows=rows, state=new_state, detail=detail)


__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGES",
    "SEARCH_PATH",
    "CURSOR",
    "HikvisionClient",
    "event_time",
    "isapi_error",
    "isapi_time",
    "poll",
    "read_search",
]
