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

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from ops_watch.core.http import error_reason, shown_url
from ops_watch.core.log import get_logger, redact_text
from ops_watch.formats.vendor import VendorContext
from ops_watch.formats.zkbiotime import FORMAT_NAME, page_error, page_ok, transaction_rows
from ops_watch.sources.doorpoll import DoorPoll, DoorPollError, door_poller

if TYPE_CHECKING:
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


def local_time(value: Any, zone: Any) -> datetime | None:
    """A punch_time as naive site-local time; None when it is not a time (the row error says so later)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(zone).replace(tzinfo=None)
    return when.replace(microsecond=0)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


Key = tuple[datetime, int]


def punch_key(record: Any, zone: Any) -> Key | None:
    """(punch_time, id) of a record, the order punches are read in; None when either is unusable."""
    if not isinstance(record, dict):
        return None
    when, tx_id = local_time(record.get("punch_time"), zone), _int(record.get("id"))
    return None if when is None or tx_id is None else (when, tx_id)


def read_cursor(state: dict[str, Any], zone: Any) -> Key | None:
    when, tx_id = local_time(state.get("last_time"), zone), _int(state.get("last_id"))
    if when is None:
        if state:
            log.warning("zkbiotime poll state unreadable: starting from backfill_max", state=state)
        return None
    return (when, tx_id if tx_id is not None else -1)


def window(cursor: Key | None, now: datetime, device: DoorDevice, zone: Any) -> tuple[datetime, datetime]:
    """(start, end) in naive site time: from the cursor less `reread` (never before now - backfill_max) to
    now."""
    end = now.astimezone(zone).replace(tzinfo=None, microsecond=0)
    floor = end - device.backfill_max
    start = floor if cursor is None else max(cursor[0] - device.reread, floor)
    return start, end


def new_records(records: Iterable[Any], cursor: Key | None, end: datetime, zone: Any) -> list[Any]:
    """The records after the cursor. Those stamped after `end` (a terminal clock running ahead, or a server
    that ignores end_time) wait for a later poll, so the cursor never jumps past punches not yet read."""
    kept = []
    for record in records:
        key = punch_key(record, zone)
        if key is not None and ((cursor is not None and key <= cursor) or key[0] > end):
            continue
        kept.append(record)  # a record without a usable time or id is kept: it becomes a row error
    return kept


# ---- HTTP ---------------------------------------------------------------------------------------


class ZkBioTimeClient:
    """One poll's HTTP session to a ZKBioTime server."""

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
        self.token = ""
        self._url_password = urlsplit(self.base).password or ""
        if not secret:
            what = "the API key" if device.auth_scheme == "Token" else "the password"
            raise DoorPollError(
                "config", f"{self.where}: no password_file or password_env: set one to {what} of {self.shown}"
            )
        if device.auth_scheme == "JWT" and not device.username:
            raise DoorPollError("config", f"{self.where}: auth_scheme JWT needs a username")
        verify: bool | str = device.verify_tls
        if device.verify_tls and device.ca_file is not None:
            ca = config.resolve(device.ca_file)
            if not ca.is_file():
                raise DoorPollError("config", f"{self.where}: ca_file {ca} does not exist")
            verify = str(ca)
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        self.session.verify = verify

    def close(self) -> None:
        self.session.close()

    def scrub(self, text: str) -> str:
        for secret in (self.secret, self.token, self._url_password):
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)

    def _excerpt(self, resp: requests.Response) -> str:
        return self.scrub(" ".join(resp.text[:300].split())[:200])

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        shown = f"{self.shown}{path}"
        try:
            return self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
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

    def login(self) -> None:
        """A fresh JWT; DoorPollError("auth") when the server refuses the username and password."""
        resp = self._send(
            "POST",
            LOGIN_PATH,
            json={"username": self.device.username, "password": self.secret},
        )
        shown = f"{self.shown}{LOGIN_PATH}"
        # djangorestframework-jwt answers a wrong password with 400 ("Unable to log in with provided
        # credentials"), some installs with 401 or 403.
        if resp.status_code in (400, 401, 403):
            raise DoorPollError(
                "auth",
                f"{shown}: login refused (HTTP {resp.status_code}): check {self.where} username "
                f"{self.device.username!r} and its password_file / password_env",
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
        if self.device.auth_scheme == "Token":
            return f"Token {self.secret}"
        return f"JWT {self.token}"

    def get_page(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of transactions as the envelope dict; DoorPollError on any failure."""
        if self.device.auth_scheme == "JWT" and not self.token:
            self.login()
        resp = self._send(
            "GET", TRANSACTIONS_PATH, params=params, headers={"Authorization": self._authorization()}
        )
        if resp.status_code == 401 and self.device.auth_scheme == "JWT":
            log.info("zkbiotime token refused: logging in again", device=self.device.name)
            self.login()
            resp = self._send(
                "GET", TRANSACTIONS_PATH, params=params, headers={"Authorization": self._authorization()}
            )
        shown = f"{self.shown}{TRANSACTIONS_PATH} page {params.get('page')}"
        if resp.status_code == 404 and int(params.get("page", 1)) > 1:
            # DRF's "Invalid page.": punches deleted while paging left fewer pages than `next` promised.
            return {"data": [], "next": None}
        if resp.status_code in (401, 403):
            if self.device.auth_scheme == "Token":
                fix = f"check that {self.where} password_file / password_env holds a valid API token"
            else:
                fix = (
                    f"the token of a fresh login is refused: check that user {self.device.username!r} "
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


@door_poller("zkbiotime")
def poll(device: DoorDevice, state: dict[str, Any], now: datetime, config: Config) -> DoorPoll:
    zone = config.site.zone
    cursor = read_cursor(state, zone)
    start, end = window(cursor, now, device, zone)
    page_size = device.page_size or DEFAULT_PAGE_SIZE
    detail: dict[str, Any] = {
        "format": FORMAT_NAME,
        "start_time": start.strftime(TIME_FORMAT),
        "end_time": end.strftime(TIME_FORMAT),
    }
    client = ZkBioTimeClient(device, config)
    try:
        records: list[Any] = []
        pages = 0
        while True:
            if pages >= MAX_PAGES:
                raise DoorPollError(
                    "parse",
                    f"{client.shown}{TRANSACTIONS_PATH}: still more pages after {MAX_PAGES} of {page_size} "
                    f"from {detail['start_time']}: raise page_size or lower backfill_max of {client.where}",
                )
            page = client.get_page(
                {
                    "start_time": detail["start_time"],
                    "end_time": detail["end_time"],
                    "page": pages + 1,
                    "page_size": page_size,
                }
            )
            pages += 1
            records.extend(page["data"])
            if not page.get("next") or not page["data"]:
                break
    finally:
        client.close()

    # With reread, punches at or before the cursor are kept: a late upload among them is new, the rest are
    # stored once (the dedupe key) and counted as duplicates.
    fresh = new_records(records, None if device.reread else cursor, end, zone)
    ctx = VendorContext(config=config, file_stem=device.name, detail=detail)
    rows = list(transaction_rows(fresh, config, ctx, first_number=1))
    keys = [k for k in (punch_key(r, zone) for r in fresh) if k is not None]
    new_state = dict(state)
    if keys:
        newest = max(keys)
        new_state = {"last_time": newest[0].strftime(TIME_FORMAT), "last_id": newest[1]}
    detail.update(pages=pages, read=len(records), skipped=len(records) - len(fresh))
    log.debug("zkbiotime poll", device=device.name, pages=pages, rows=len(rows))
    return DoorPoll(rows=rows, state=new_state, detail=detail)


__all__ = ["LOGIN_PATH", "MAX_PAGES", "TRANSACTIONS_PATH", "ZkBioTimeClient", "poll", "punch_key", "window"]
