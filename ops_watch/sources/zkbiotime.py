"""ZKBioTime 8.x live poller: new punches from `GET /iclock/api/transactions/`, page by page.

Auth: with auth_scheme "JWT" a token from `POST /jwt-api-token-auth/` (username and password), sent as
`Authorization: JWT <token>`; a token that expires during a poll (401) is renewed once and the request
retried. With "Token" the password is the install's fixed API key, sent as `Authorization: Token <key>`.
No token is kept between polls or written anywhere.

What is remembered (the poll state): the newest punch read, as {"last_time": punch_time, "last_id": id}.
The next poll asks for punches from that time less `reread` on (ZKBioTime's start_time is inclusive): a
terminal that was offline uploads its punches later with their original times, and the re-read catches them
(those already stored are stored once). With `reread = "0s"` it asks from that time and drops those at or
before the remembered (time, id). The first poll, and one after long downtime, reads back at most
`backfill_max`. Times are the site's local time without a zone, as ZKBioTime keeps them.

Pages are asked for by number at the configured url: the `next` link only says whether there are more,
because DRF builds it from the Host it was reached at (wrong behind a proxy) and the Authorization header
must not follow a link to wherever a response points.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from ops_watch.core.log import get_logger
from ops_watch.formats.vendor import VendorContext
from ops_watch.formats.zkbiotime import FORMAT_NAME, page_error, page_ok, transaction_rows
from ops_watch.sources import doorpoll
from ops_watch.sources.doorpoll import DoorPoll, DoorPollError, door_poller

if TYPE_CHECKING:
    import requests

    from ops_watch.config import Config, DoorDevice

log = get_logger(__name__)

LOGIN_PATH = "/jwt-api-token-auth/"
TRANSACTIONS_PATH = "/iclock/api/transactions/"
DEFAULT_PAGE_SIZE = 100
# A poll reading more pages than this stops with a parse error rather than loop on a server whose `next`
# never ends: at the default page size that is 100,000 punches, far more than a week of a large site.
MAX_PAGES = 1000
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # ZKBioTime's punch_time, and what start_time / end_time take


# ---- the cursor: which punches a poll has already read ------------------------------------------


def local_time(value: Any, zone: tzinfo) -> datetime | None:
    """A punch_time as naive site-local time; None when it is not a time (the row error says so later)."""
    when = doorpoll.parse_iso_time(value)
    if when is None:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(zone).replace(tzinfo=None)
    return when.replace(microsecond=0)


def zk_time(when: datetime) -> str:
    """A naive site time as ZKBioTime writes punch_time and takes start_time / end_time."""
    return when.strftime(TIME_FORMAT)


CURSOR = doorpoll.CursorFields(
    vendor="zkbiotime",
    time_field="punch_time",
    id_field="id",
    state_id="last_id",
    read_time=local_time,
    write_time=zk_time,
)


# ---- HTTP ---------------------------------------------------------------------------------------


class ZkBioTimeClient:
    """One poll's HTTP session to a ZKBioTime server."""

    def __init__(self, device: DoorDevice, config: Config):
        self.link = doorpoll.device_link(device, config)
        self.token = ""
        if not self.link.secret:
            what = "the API key" if device.auth_scheme == "Token" else "the password"
            raise DoorPollError(
                "config",
                f"{self.link.where}: no password_file or password_env: set one to {what} of {self.link.shown}",
            )
        if device.auth_scheme == "JWT" and not device.username:
            raise DoorPollError("config", f"{self.link.where}: auth_scheme JWT needs a username")
        self.session = doorpoll.json_session(self.link, config)

    def close(self) -> None:
        self.session.close()

    def scrub(self, text: str) -> str:
        return self.link.scrub(text, self.token)

    def _excerpt(self, resp: requests.Response) -> str:
        return self.scrub(doorpoll.answer_excerpt(resp))

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return doorpoll.send(
            self.session, self.link, method, path, f"{self.link.shown}{path}", self.scrub, **kwargs
        )

    def login(self) -> None:
        """A fresh JWT; DoorPollError("auth") when the server refuses the username and password."""
        resp = self._send(
            "POST",
            LOGIN_PATH,
            json={"username": self.link.device.username, "password": self.link.secret},
        )
        shown = f"{self.link.shown}{LOGIN_PATH}"
        # djangorestframework-jwt answers a wrong password with 400 ("Unable to log in with provided
        # credentials"), some installs with 401 or 403.
        if resp.status_code in (400, 401, 403):
            raise DoorPollError(
                "auth",
                f"{shown}: login refused (HTTP {resp.status_code}): check {self.link.where} username "
                f"{self.link.device.username!r} and its password_file / password_env",
            )
        if not 200 <= resp.status_code < 300:
            raise DoorPollError(
                "http", f"{shown}: HTTP {resp.status_code} {resp.reason}: {self._excerpt(resp)}"
            )
        try:
            token = resp.json().get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise DoorPollError("parse", f"{shown}: the login answer has no token: {self._excerpt(resp)}")
        self.token = token

    def _authorization(self) -> str:
        if self.link.device.auth_scheme == "Token":
            return f"Token {self.link.secret}"
        return f"JWT {self.token}"

    def get_page(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of transactions as the envelope dict; DoorPollError on any failure."""
        if self.link.device.auth_scheme == "JWT" and not self.token:
            self.login()
        resp = self._send(
            "GET", TRANSACTIONS_PATH, params=params, headers={"Authorization": self._authorization()}
        )
        if resp.status_code == 401 and self.link.device.auth_scheme == "JWT":
            log.info("zkbiotime token refused: logging in again", device=self.link.device.name)
            self.login()
            resp = self._send(
                "GET", TRANSACTIONS_PATH, params=params, headers={"Authorization": self._authorization()}
            )
        shown = f"{self.link.shown}{TRANSACTIONS_PATH} page {params.get('page')}"
        if resp.status_code == 404 and int(params.get("page", 1)) > 1:
            # DRF's "Invalid page.": punches deleted while paging left fewer pages than `next` promised.
            return {"data": [], "next": None}
        if resp.status_code in (401, 403):
            if self.link.device.auth_scheme == "Token":
                fix = f"check that {self.link.where} password_file / password_env holds a valid API token"
            else:
                fix = (
                    f"the token of a fresh login is refused: check that user {self.link.device.username!r} "
                    "may read transactions"
                )
            raise DoorPollError("auth", f"{shown}: HTTP {resp.status_code}: {fix}")
        if not 200 <= resp.status_code < 300:
            raise DoorPollError(
                "http", f"{shown}: HTTP {resp.status_code} {resp.reason}: {self._excerpt(resp)}"
            )
        try:
            page = resp.json()
        except ValueError:
            raise DoorPollError("parse", f"{shown}: the answer is not JSON: {self._excerpt(resp)}") from None
        if not isinstance(page, dict):
            raise DoorPollError("parse", f"{shown}: expected a page object, got {type(page).__name__}")
        if not page_ok(page):
            raise DoorPollError(
                "parse", self.scrub(f"{shown}: ZKBioTime answered with an error: {page_error(page)}")
            )
        if not isinstance(page.get("data"), list):
            raise DoorPollError(
                "parse", f"{shown}: the page has no data list (is this a ZKBioTime 8.x server?)"
            )
        return page


# ---- the poller ---------------------------------------------------------------------------------


def read_transactions(
    client: ZkBioTimeClient, start_time: str, end_time: str, page_size: int
) -> tuple[list[Any], int]:
    """Every punch in start_time..end_time, page by page; (records, pages)."""

    def next_page(pages_read: int) -> tuple[list[Any], bool]:
        page = client.get_page(
            {"start_time": start_time, "end_time": end_time, "page": pages_read + 1, "page_size": page_size}
        )
        return page["data"], bool(page.get("next") and page["data"])

    return doorpoll.read_pages(
        next_page,
        MAX_PAGES,
        f"{client.link.shown}{TRANSACTIONS_PATH}: still more pages after {MAX_PAGES} of {page_size} "
        f"from {start_time}: raise page_size or lower backfill_max of {client.link.where}",
    )


@door_poller("zkbiotime")
def poll(device: DoorDevice, state: dict[str, Any], now: datetime, config: Config) -> DoorPoll:
    zone = config.site.zone
    cursor = doorpoll.read_cursor(state, CURSOR, zone)
    # ZKBioTime's start_time is inclusive; the `reread` overlap catches punches a terminal uploads late.
    end = now.astimezone(zone).replace(tzinfo=None, microsecond=0)
    start, end = doorpoll.poll_window(cursor, end, device.backfill_max, device.reread)
    detail: dict[str, Any] = {
        "format": FORMAT_NAME,
        "start_time": zk_time(start),
        "end_time": zk_time(end),
    }
    client = ZkBioTimeClient(device, config)
    try:
        records, pages = read_transactions(
            client, detail["start_time"], detail["end_time"], device.page_size or DEFAULT_PAGE_SIZE
        )
    finally:
        client.close()

    # With reread, punches at or before the cursor are kept: a late upload among them is new, the rest are
    # stored once (the dedupe key) and counted as duplicates.
    fresh = doorpoll.after_cursor(records, None if device.reread else cursor, end, CURSOR, zone)
    ctx = VendorContext(config=config, file_stem=device.name, detail=detail)
    rows = list(transaction_rows(fresh, config, ctx, first_number=1))
    new_state = doorpoll.state_after(fresh, state, CURSOR, zone)
    detail.update(pages=pages, read=len(records), skipped=len(records) - len(fresh))
    log.debug("zkbiotime poll", device=device.name, pages=pages, rows=len(rows))
    return DoorPoll(rows=rows, state=new_state, detail=detail)


__all__ = [
    "CURSOR",
    "LOGIN_PATH",
    "MAX_PAGES",
    "TRANSACTIONS_PATH",
    "ZkBioTimeClient",
    "local_time",
    "poll",
    "read_transactions",
    "zk_time",
]
