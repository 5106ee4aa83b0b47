"""ZKBioTime punches polled live from a fake ZKBioTime 8.x server, and dropped as page exports, on SQLite and
PostgreSQL (`store` from tests/conftest.py).

The fake server is a real HTTP server on 127.0.0.1 that behaves as ZKBioTime's Django REST framework API
does: `POST /jwt-api-token-auth/` checks the username and password and issues a token (400 otherwise),
`GET /iclock/api/transactions/` refuses a request without `Authorization: JWT <issued token>` (or the
install's fixed `Token <key>`) with 401, filters by start_time / end_time (inclusive, naive local time),
pages with page / page_size and absolute `next` links, and records every request.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from conftest import dump_toml
from sqlalchemy import select

from ops_watch.areas.staffing.doors import last_state, poll_doors
from ops_watch.config import Config, load_config
from ops_watch.core.timeutil import from_store
from ops_watch.ingest import ingest_file
from ops_watch.sources import zkbiotime as zk_source
from ops_watch.store import Store
from ops_watch.store.schema import CollectionStatus, DoorEvent, EvidenceBatch, RowError

DATA = Path(__file__).resolve().parent.parent / "data" / "zkbiotime"
PAGES_FILE = DATA / "transactions_pages.json"
USERNAME, PASSWORD, API_KEY = "opswatch", "Zk-pass-7f3e91", "9c1d7e55a0b4f2c8d6e3"
DEVICE = "考勤服务器"
SN_DUTY, SN_ROOM = "CJDE193560303", "CJDE193560304"
# 2026-11-02 20:00 in Asia/Shanghai: after every punch of the data file
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def file_records() -> list[dict[str, Any]]:
    pages = json.loads(PAGES_FILE.read_text(encoding="utf-8"))
    return [r for page in pages for r in page["data"]]


def punch(tx_id: int, when: str, sn: str = SN_DUTY, state: str = "0", emp: str = "YW-0007") -> dict[str, Any]:
    alias = {SN_DUTY: "运维值班室", SN_ROOM: "机房A区门"}.get(sn, "后门考勤机")
    return {
        "id": tx_id,
        "emp_code": emp,
        "first_name": "张伟",
        "last_name": "",
        "punch_time": when,
        "punch_state": state,
        "verify_type": 1,
        "terminal_sn": sn,
        "terminal_alias": alias,
        "area_alias": "总部",
    }


# ---- the fake ZKBioTime -----------------------------------------------------------------------


@dataclass
class FakeZkBioTime:
    transactions: list[dict[str, Any]] = field(default_factory=list)
    api_key: str = ""  # set: the install takes `Token <api_key>`
    next_host: str = ""  # the host its `next` links name (as behind a proxy); "" = its own
    expire_after: int = 0  # > 0: the token is revoked after this many pages were served, once
    fail_with: tuple[int, str] | None = None  # every transactions request answers this status and body
    hold: threading.Event | None = None  # transactions requests wait for this (a server that hangs)
    shrink_to: int | None = None  # after the first page, only this many punches are left (deleted meanwhile)
    tokens: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, str], str]] = field(
        default_factory=list
    )  # method, path, query, auth
    served: int = 0
    url: str = ""

    def logins(self) -> int:
        return sum(1 for m, p, _, _ in self.requests if (m, p) == ("POST", "/jwt-api-token-auth/"))

    def pages(self) -> list[dict[str, str]]:
        return [q for m, p, q, _ in self.requests if (m, p) == ("GET", "/iclock/api/transactions/")]


def _handler(fake: FakeZkBioTime) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            raw = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            fake.requests.append(("POST", parts.path, {}, self.headers.get("Authorization", "")))
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if parts.path != "/jwt-api-token-auth/":
                return self._answer(404, {"detail": "Not found."})
            try:
                creds = json.loads(body)
            except ValueError:
                return self._answer(400, {"detail": "JSON parse error"})
            if creds.get("username") != USERNAME or creds.get("password") != PASSWORD:
                return self._answer(
                    400, {"non_field_errors": ["Unable to log in with provided credentials."]}
                )
            token = f"eyJ0eXAi.{len(fake.tokens) + 1:04d}.sig{threading.get_ident() % 997}"
            fake.tokens.add(token)
            return self._answer(200, {"token": token})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            auth = self.headers.get("Authorization", "")
            fake.requests.append(("GET", parts.path, query, auth))
            if parts.path != "/iclock/api/transactions/":
                return self._answer(404, {"detail": "Not found."})
            scheme, _, credential = auth.partition(" ")
            valid = (scheme == "JWT" and credential in fake.tokens) or (
                scheme == "Token" and fake.api_key and credential == fake.api_key
            )
            if not valid:
                return self._answer(401, {"detail": "Authentication credentials were not provided."})
            if fake.expire_after and fake.served >= fake.expire_after and scheme == "JWT":
                fake.expire_after = 0
                fake.tokens.discard(credential)
                return self._answer(401, {"detail": "Signature has expired."})
            if fake.hold is not None:
                fake.hold.wait(10)
            if fake.fail_with is not None:
                return self._answer(*fake.fail_with)
            start, end = query.get("start_time", ""), query.get("end_time", "9999")
            chosen = sorted(
                (t for t in fake.transactions if start <= t["punch_time"] <= end), key=lambda t: t["id"]
            )
            page, size = int(query.get("page", "1")), int(query.get("page_size", "10"))
            if page < 1 or (page - 1) * size >= max(1, len(chosen)):
                return self._answer(404, {"detail": "Invalid page."})
            host = fake.next_host or self.headers.get("Host", "")
            more = page * size < len(chosen)
            next_url = f"http://{host}{parts.path}?{urlencode({**query, 'page': page + 1})}" if more else None
            fake.served += 1
            if fake.shrink_to is not None:
                fake.transactions, fake.shrink_to = fake.transactions[: fake.shrink_to], None
            return self._answer(
                200,
                {
                    "count": len(chosen),
                    "next": next_url,
                    "previous": None,
                    "msg": "",
                    "code": 0,
                    "data": chosen[(page - 1) * size : page * size],
                },
            )

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) leaves a broken pipe: expected, not worth a traceback


@pytest.fixture
def fake() -> Iterator[FakeZkBioTime]:
    zk = FakeZkBioTime()
    server = QuietServer(("127.0.0.1", 0), _handler(zk))
    zk.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield zk
    finally:
        if zk.hold is not None:
            zk.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


MAPPED = [
    {"terminal_sn": SN_DUTY, "door": "运维值班室", "direction": "punch_state"},
    {"terminal_sn": SN_ROOM, "door": "机房A区门", "direction": "in"},
]


def make_config(
    config_file: Any,
    tmp_path: Path,
    url: str,
    *,
    terminals: list[dict[str, str]] | None = None,
    **device: Any,
) -> Config:
    (tmp_path / "zk-password").write_text(device.pop("secret", PASSWORD) + "\n", encoding="utf-8")
    entry = {
        "name": DEVICE,
        "vendor": "zkbiotime",
        "url": url,
        "username": USERNAME,
        "password_file": "zk-password",
        "page_size": 3,
        "timeout": "5s",
        "terminals": MAPPED if terminals is None else terminals,
        "reread": "0s",  # the cursor alone (test_a_late_upload_is_caught_by_the_reread turns it on)
        **device,
    }
    return load_config(config_file(dump_toml({"doors": {"devices": [entry]}})))


def events(store: Store) -> list[tuple[datetime, str, str, str, str, str]]:
    with store.session() as s:
        rows = s.execute(
            select(
                DoorEvent.at,
                DoorEvent.person_id,
                DoorEvent.door,
                DoorEvent.direction,
                DoorEvent.result,
                DoorEvent.dedupe_key,
            ).order_by(DoorEvent.at, DoorEvent.dedupe_key)
        ).all()
    return [(from_store(r[0]), *r[1:]) for r in rows]  # type: ignore[misc]


def status(store: Store) -> CollectionStatus:
    with store.session() as s:
        row = s.get(CollectionStatus, ("zkbiotime", DEVICE))
        assert row is not None
        s.expunge(row)
        return row


def batches(store: Store) -> list[EvidenceBatch]:
    with store.session() as s:
        found = list(s.scalars(select(EvidenceBatch).order_by(EvidenceBatch.id)))
        for b in found:
            s.expunge(b)
        return found


# ---- live polls -------------------------------------------------------------------------------


def test_pages_are_read_stored_once_and_the_newest_punch_remembered(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    config = make_config(config_file, tmp_path, fake.url)
    counts = poll_doors(store, config, NOW)
    assert (counts["devices"], counts["events"], counts["bad"], counts["failed"]) == (1, 6, 0, 0)

    assert fake.logins() == 1
    pages = fake.pages()
    assert [p["page"] for p in pages] == ["1", "2"]
    assert {(p["start_time"], p["end_time"], p["page_size"]) for p in pages} == {
        ("2026-10-26 20:00:00", "2026-11-02 20:00:00", "3")  # now - backfill_max (7d) to now, site time
    }
    assert {auth for m, _, _, auth in fake.requests if m == "GET"} == {f"JWT {next(iter(fake.tokens))}"}

    stored = events(store)
    assert [(e[1], e[2], e[3], e[4]) for e in stored] == [
        ("YW-0007", "运维值班室", "in", "granted"),  # punch_state 0 check-in
        ("YW-0008", "机房A区门", "in", "granted"),
        ("YW-0007", "运维值班室", "out", "granted"),  # 2 break-out
        ("YW-0007", "运维值班室", "in", "granted"),  # 3 break-in
        ("YW-0008", "机房A区门", "in", "granted"),  # a check-out at a terminal mapped "in"
        ("EXT-01", "机房A区门", "in", "granted"),
    ]
    assert stored[0][0] == datetime(2026, 11, 2, 0, 31, 5, tzinfo=UTC)  # 08:31:05 Asia/Shanghai
    assert stored[0][5] == f"dev:{SN_DUTY}#1001"
    device = config.doors.devices[0]
    assert last_state(store, device) == {"last_time": "2026-11-02 18:00:00", "last_id": 1006}
    [batch] = batches(store)
    assert (batch.source, batch.rows_ok, batch.status) == (f"zkbiotime:{DEVICE}", 6, "accepted")
    assert json.loads(batch.detail)["pages"] == 2
    row = status(store)
    assert (row.error_kind, row.consecutive_failures) == ("", 0) and row.last_success is not None

    # Nothing new: one page asked, nothing stored, the state as it was.
    again = poll_doors(store, config, NOW + timedelta(minutes=5))
    assert again["events"] == 0
    assert fake.pages()[-1]["start_time"] == "2026-11-02 18:00:00"
    assert last_state(store, device) == {"last_time": "2026-11-02 18:00:00", "last_id": 1006}
    assert len(events(store)) == 6
    assert batches(store)[-1].rows_total == 0


def test_the_next_poll_starts_at_the_last_punch_and_stores_only_new_ones(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    config = make_config(config_file, tmp_path, fake.url)
    poll_doors(store, config, NOW)
    fake.transactions += [
        punch(1007, "2026-11-02 18:00:00", SN_ROOM, "1", emp="YW-0009"),  # the same second as the last read
        punch(1008, "2026-11-02 19:30:00", SN_DUTY, "1"),
    ]
    counts = poll_doors(store, config, NOW + timedelta(minutes=5))
    assert counts["events"] == 2
    assert fake.pages()[-1]["start_time"] == "2026-11-02 18:00:00"
    batch = batches(store)[-1]
    # The punch at 18:00:00 already read (id 1006) is served again (start_time is inclusive) but skipped.
    assert (batch.rows_total, batch.rows_ok, batch.rows_duplicate) == (2, 2, 0)
    assert json.loads(batch.detail)["skipped"] == 1
    new = events(store)[-2:]
    assert [(e[1], e[2], e[3], e[5]) for e in new] == [
        ("YW-0009", "机房A区门", "in", f"dev:{SN_ROOM}#1007"),
        ("YW-0007", "运维值班室", "out", f"dev:{SN_DUTY}#1008"),
    ]
    assert last_state(store, config.doors.devices[0]) == {"last_time": "2026-11-02 19:30:00", "last_id": 1008}


def test_without_terminals_the_door_is_the_terminal_alias(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    config = make_config(config_file, tmp_path, fake.url, terminals=[])
    poll_doors(store, config, NOW)
    assert [(e[2], e[3]) for e in events(store)] == [
        ("运维值班室", "in"),
        ("机房A区门", "in"),
        ("运维值班室", "out"),
        ("运维值班室", "in"),
        ("机房A区门", "out"),
        ("机房A区门", ""),  # punch_state 255
    ]


def test_a_fixed_api_token_is_sent_as_token_without_a_login(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    fake.api_key = API_KEY
    config = make_config(config_file, tmp_path, fake.url, auth_scheme="Token", secret=API_KEY)
    assert poll_doors(store, config, NOW)["events"] == 6
    assert fake.logins() == 0
    assert {auth for _, _, _, auth in fake.requests} == {f"Token {API_KEY}"}


def test_a_wrong_api_token_is_an_auth_failure(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.api_key = API_KEY
    config = make_config(config_file, tmp_path, fake.url, auth_scheme="Token", secret="not-the-key-4411")
    assert poll_doors(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "auth" and "not-the-key-4411" not in row.last_error


def test_an_expired_token_is_renewed_once_and_the_poll_goes_on(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    fake.expire_after = 1  # the token dies after the first page
    config = make_config(config_file, tmp_path, fake.url)
    counts = poll_doors(store, config, NOW)
    assert (counts["events"], counts["failed"]) == (6, 0)
    assert fake.logins() == 2
    assert [p["page"] for p in fake.pages()] == ["1", "2", "2"]  # page 2 refused, then asked again
    assert status(store).error_kind == ""


def test_a_wrong_password_is_an_auth_failure_that_never_shows_the_password(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    config = make_config(config_file, tmp_path, fake.url, secret="Wrong-pass-5531")
    counts = poll_doors(store, config, NOW)
    assert (counts["failed"], counts["events"]) == (1, 0)
    row = status(store)
    assert (row.error_kind, row.consecutive_failures) == ("auth", 1)
    assert "Wrong-pass-5531" not in row.last_error and PASSWORD not in row.last_error
    assert USERNAME in row.last_error and "/jwt-api-token-auth/" in row.last_error
    assert fake.pages() == []
    assert events(store) == [] and last_state(store, config.doors.devices[0]) == {}


def test_a_server_that_is_down_is_unreachable(store: Store, config_file: Any, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    config = make_config(config_file, tmp_path, f"http://127.0.0.1:{port}")
    assert poll_doors(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "unreachable" and f"127.0.0.1:{port}" in row.last_error
    assert PASSWORD not in row.last_error


def test_a_server_that_does_not_answer_is_a_timeout(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    fake.hold = threading.Event()
    config = make_config(config_file, tmp_path, fake.url, timeout="0.5s")
    assert poll_doors(store, config, NOW)["failed"] == 1
    fake.hold.set()
    assert status(store).error_kind == "timeout"


@pytest.mark.parametrize(
    ("status_code", "body", "kind", "words"),
    [
        (500, "<html>Server Error (500) in iclock</html>", "http", "HTTP 500"),
        (200, "<html>login page</html>", "parse", "not JSON"),
        (
            200,
            json.dumps({"code": 1, "msg": "start_time 格式错误", "data": []}),
            "parse",
            "start_time 格式错误",
        ),
        (200, json.dumps({"count": 1, "results": []}), "parse", "no data list"),
        (200, json.dumps([1, 2]), "parse", "expected a page object"),
    ],
)
def test_bad_answers_are_http_or_parse_failures(
    store: Store,
    config_file: Any,
    tmp_path: Path,
    fake: FakeZkBioTime,
    status_code: int,
    body: str,
    kind: str,
    words: str,
) -> None:
    fake.fail_with = (status_code, body)
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == kind and words in row.last_error, row.last_error
    assert not any(token in row.last_error for token in fake.tokens)


def test_a_poll_with_endless_pages_stops_at_the_cap(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zk_source, "MAX_PAGES", 1)
    fake.transactions = file_records()
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "parse" and "page_size" in row.last_error
    assert events(store) == [] and last_state(store, config.doors.devices[0]) == {}


def test_next_links_naming_another_host_are_not_followed(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    """DRF builds `next` from the Host it saw (an internal name behind a proxy): pages are asked at the url."""
    fake.transactions = file_records()
    fake.next_host = "zkbiotime.internal.invalid:8081"
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["events"] == 6
    assert [p["page"] for p in fake.pages()] == ["1", "2"]


def test_pages_that_vanish_while_paging_end_the_poll(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    """Punches deleted between two pages: DRF answers the promised page with 404 "Invalid page."."""
    fake.transactions = file_records()
    fake.shrink_to = 2
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["events"] == 3
    assert [p["page"] for p in fake.pages()] == ["1", "2"]
    assert status(store).error_kind == ""
    assert last_state(store, config.doors.devices[0]) == {"last_time": "2026-11-02 12:02:00", "last_id": 1003}


def test_an_unmapped_terminal_is_a_row_error_and_the_good_rows_are_kept(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = [
        punch(1, "2026-11-02 08:00:00"),
        punch(2, "2026-11-02 08:05:00", "CJDE19356XXXX"),
        punch(3, "2026-11-02 08:10:00", SN_ROOM),
    ]
    config = make_config(config_file, tmp_path, fake.url)
    counts = poll_doors(store, config, NOW)
    assert (counts["events"], counts["bad"]) == (2, 1)
    batch = batches(store)[-1]
    assert (batch.status, batch.rows_ok, batch.rows_bad) == ("partial", 2, 1)
    with store.session() as s:
        [error] = s.execute(select(RowError.row, RowError.reason).where(RowError.batch_id == batch.id)).all()
    assert error.row == 2
    assert "CJDE19356XXXX" in error.reason and "后门考勤机" in error.reason
    assert "doors.devices[].terminals" in error.reason
    assert status(store).error_kind == ""  # the server answered: the device is fine, one punch is not


# ---- dropped files ----------------------------------------------------------------------------


def test_a_dropped_page_export_is_stored_in_site_time(store: Store, config_file: Any, tmp_path: Path) -> None:
    config = make_config(config_file, tmp_path, "")  # a device without url: files only
    result = ingest_file(store, config, "door", PAGES_FILE)
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 6, 0)
    stored = events(store)
    assert [e[0] for e in stored][:2] == [
        datetime(2026, 11, 2, 0, 31, 5, tzinfo=UTC),  # punch_time 08:31:05 is Asia/Shanghai time
        datetime(2026, 11, 2, 0, 40, 12, tzinfo=UTC),
    ]
    assert [e[5] for e in stored] == [f"dev:{r['terminal_sn']}#{r['id']}" for r in file_records()]
    assert json.loads(batches(store)[-1].detail)["format"] == "zkbiotime-transactions"


def test_the_same_punches_polled_and_dropped_are_stored_once(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()[:4] + [punch(1100, "2026-11-02 19:00:00")]
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["events"] == 5
    result = ingest_file(store, config, "door", PAGES_FILE)
    assert (result.status, result.rows_ok, result.rows_duplicate) == ("accepted", 2, 4)
    assert len(events(store)) == 7


def test_a_dropped_error_page_is_refused_with_its_message(
    store: Store, config_file: Any, tmp_path: Path
) -> None:
    config = make_config(config_file, tmp_path, "")
    result = ingest_file(store, config, "door", DATA / "error_page.json")
    assert result.status == "rejected"
    assert "start_time: 时间格式错误" in result.reason
    assert events(store) == []


def test_a_late_upload_is_caught_by_the_reread(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeZkBioTime
) -> None:
    fake.transactions = file_records()
    config = make_config(config_file, tmp_path, fake.url, reread="1d")
    poll_doors(store, config, NOW)
    # A terminal back online uploads a punch from the morning, older than the newest one already read.
    fake.transactions += [punch(1009, "2026-11-02 09:15:00", SN_DUTY, "0", emp="YW-0009")]
    counts = poll_doors(store, config, NOW + timedelta(minutes=5))
    assert counts["events"] == 1
    assert fake.pages()[-1]["start_time"] == "2026-11-01 18:00:00"  # a day before the newest punch
    batch = batches(store)[-1]
    assert (batch.rows_ok, batch.rows_duplicate) == (1, 6)  # the re-read ones are stored once
    assert last_state(store, config.doors.devices[0]) == {"last_time": "2026-11-02 18:00:00", "last_id": 1006}
