"""Hikvision access-control events polled live from a fake ISAPI device, and dropped as AcsEvent exports, on
SQLite and PostgreSQL (`store` from tests/conftest.py).

The fake device is a real HTTP server on 127.0.0.1 that behaves as an ISAPI access controller does:
`POST /ISAPI/AccessControl/AcsEvent?format=json` demands HTTP Digest authentication (RFC 7616, MD5,
qop="auth": it issues nonces in a 401 `WWW-Authenticate` challenge, recomputes the expected response from
the username, its password, the nonce, nc, cnonce, method and uri, and refuses a wrong one or a replayed nc),
serves the events of the search window startTime..endTime (inclusive) from searchResultPosition, at most
maxResults and never more than its own page cap, with "MORE" / "OK" / "NO MATCH", and records every search.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from ops_watch.areas.staffing.doors import last_state, poll_doors
from ops_watch.config import Config, load_config
from ops_watch.core.timeutil import from_store
from ops_watch.ingest import ingest_file
from ops_watch.sources import hikvision as hik_source
from ops_watch.store import Store
from ops_watch.store.schema import CollectionStatus, DoorEvent, EvidenceBatch, RowError

DATA = Path(__file__).resolve().parent.parent / "data" / "hikvision"
PAGES_FILE = DATA / "acsevent_pages.json"
USERNAME, PASSWORD = "admin", "Hik-pass-8d2c47"
REALM = "DS-K2604T"
DEVICE = "机房A区门禁"
SEARCH = "/ISAPI/AccessControl/AcsEvent"
# 2026-11-02 20:00 in Asia/Shanghai: after every event of the data file
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
READERS = [
    {"door_no": 1, "reader_no": 1, "door": "机房A区门", "direction": "in"},
    {"door_no": 1, "reader_no": 2, "door": "机房A区门", "direction": "out"},
    {"door_no": 2, "reader_no": 1, "door": "运维值班室", "direction": "in"},
    {"door_no": 2, "reader_no": 3, "door": "运维值班室", "direction": "out"},
]


def file_items() -> list[dict[str, Any]]:
    pages = json.loads(PAGES_FILE.read_text(encoding="utf-8"))
    return [copy.deepcopy(i) for page in pages for i in page["AcsEvent"]["InfoList"]]


def acs_event(serial: int, local_time: str, minor: int = 1, door: int = 1, reader: int = 1) -> dict[str, Any]:
    return {
        "major": 5,
        "minor": minor,
        "time": f"2026-11-02T{local_time}+08:00",
        "cardNo": "3005120417",
        "cardType": 1,
        "name": "张伟",
        "cardReaderNo": reader,
        "doorNo": door,
        "employeeNoString": "YW-0007",
        "type": 0,
        "serialNo": serial,
    }


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---- the fake ISAPI device --------------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _digest_fields(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "digest":
        return {}
    return {k.lower(): v1 if v1 else v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]*))', rest)}


@dataclass
class FakeDevice:
    events: list[dict[str, Any]] = field(default_factory=list)
    page_cap: int = 30  # the device's own limit on a page, whatever maxResults asks
    fail_with: tuple[int, str] | None = None  # an authenticated search answers this status and body
    hold: threading.Event | None = None  # searches wait for this (a device that hangs)
    endless: bool = False  # every page says MORE, totalMatches always ahead (a broken firmware)
    nonces: dict[str, int] = field(default_factory=dict)  # issued nonce -> highest nc seen
    searches: list[dict[str, Any]] = field(default_factory=list)  # AcsEventCond of each authenticated search
    challenges: int = 0
    refused: int = 0  # Authorization headers that were present but wrong
    url: str = ""

    def check_digest(self, header: str, method: str, uri: str) -> bool:
        """RFC 7616 with MD5 and qop=auth: the response must be the one the password gives."""
        f = _digest_fields(header)
        needed = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if not f or any(k not in f for k in needed):
            return False
        if f["username"] != USERNAME or f["realm"] != REALM or f["uri"] != uri or f["qop"] != "auth":
            return False
        if f["nonce"] not in self.nonces or f.get("algorithm", "MD5").upper() != "MD5":
            return False
        try:
            nc = int(f["nc"], 16)
        except ValueError:
            return False
        if nc <= self.nonces[f["nonce"]]:  # a replayed request
            return False
        ha1 = _md5(f"{USERNAME}:{REALM}:{PASSWORD}")
        ha2 = _md5(f"{method}:{uri}")
        expected = _md5(f"{ha1}:{f['nonce']}:{f['nc']}:{f['cnonce']}:auth:{ha2}")
        if not secrets.compare_digest(expected, f["response"]):
            return False
        self.nonces[f["nonce"]] = nc
        return True

    def answer(self, cond: dict[str, Any]) -> dict[str, Any]:
        start, end = _when(cond["startTime"]), _when(cond["endTime"])
        chosen = sorted(
            (
                e
                for e in self.events
                if start <= _when(e["time"]) <= end
                and cond.get("major", 0) in (0, e["major"])
                and cond.get("minor", 0) in (0, e["minor"])
            ),
            key=lambda e: (_when(e["time"]), e["serialNo"]),
        )
        position = int(cond["searchResultPosition"])
        size = min(int(cond["maxResults"]), self.page_cap)
        page = chosen[position : position + size]
        body: dict[str, Any] = {"searchID": cond["searchID"], "totalMatches": len(chosen)}
        if not chosen:
            return {"AcsEvent": {**body, "responseStatusStrg": "NO MATCH", "numOfMatches": 0}}
        more = self.endless or position + len(page) < len(chosen)
        if self.endless:  # a broken firmware: the same page again and again, always "more to come"
            page = chosen[:size]
            body["totalMatches"] = position + len(page) + size
        body.update(responseStatusStrg="MORE" if more else "OK", numOfMatches=len(page), InfoList=page)
        return {"AcsEvent": body}


def _handler(fake: FakeDevice) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if urlsplit(self.path).path != SEARCH:
                return self._answer(404, {"statusCode": 4, "subStatusCode": "notSupport"})
            auth = self.headers.get("Authorization", "")
            if not fake.check_digest(auth, "POST", self.path):
                fake.refused += bool(auth)
                fake.challenges += 1
                nonce = secrets.token_hex(16)
                fake.nonces[nonce] = 0
                challenge = (
                    f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", opaque="{secrets.token_hex(8)}"'
                )
                return self._answer(
                    401,
                    {"statusCode": 4, "statusString": "Invalid Operation", "subStatusCode": "unauthorized"},
                    {"WWW-Authenticate": challenge},
                )
            try:
                cond = json.loads(body)["AcsEventCond"]
            except (ValueError, KeyError, TypeError):
                return self._answer(400, {"statusCode": 6, "subStatusCode": "badJsonContent"})
            fake.searches.append(cond)
            if fake.hold is not None:
                fake.hold.wait(10)
            if fake.fail_with is not None:
                return self._answer(*fake.fail_with)
            return self._answer(200, fake.answer(cond))

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) leaves a broken pipe: expected


@pytest.fixture
def fake() -> Iterator[FakeDevice]:
    device = FakeDevice(page_cap=4)  # pages of 4 whatever is asked: the position must follow numOfMatches
    server = QuietServer(("127.0.0.1", 0), _handler(device))
    device.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield device
    finally:
        if device.hold is not None:
            device.hold.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def make_config(
    config_file: Any,
    tmp_path: Path,
    url: str,
    *,
    readers: list[dict[str, Any]] | None = None,
    **device: Any,
) -> Config:
    from conftest import dump_toml

    (tmp_path / "hik-password").write_text(device.pop("secret", PASSWORD) + "\n", encoding="utf-8")
    entry = {
        "name": DEVICE,
        "vendor": "hikvision",
        "url": url,
        "username": USERNAME,
        "password_file": "hik-password",
        "timeout": "5s",
        "readers": READERS if readers is None else readers,
        **device,
    }
    entry = {k: v for k, v in entry.items() if v is not None}  # None: leave the setting out
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
        row = s.get(CollectionStatus, ("hikvision", DEVICE))
        assert row is not None
        s.expunge(row)
        return row


def batches(store: Store) -> list[EvidenceBatch]:
    with store.session() as s:
        found = list(s.scalars(select(EvidenceBatch).order_by(EvidenceBatch.id)))
        for b in found:
            s.expunge(b)
        return found


def row_errors(store: Store, batch_id: int) -> list[Any]:
    with store.session() as s:
        return list(
            s.execute(
                select(RowError.row, RowError.value, RowError.reason).where(RowError.batch_id == batch_id)
            ).all()
        )


EXPECTED = [  # the file's events as stored with READERS: person, door, direction, result
    ("YW-0007", "机房A区门", "in", "granted"),  # minor 1 MINOR_LEGAL_CARD_PASS, reader 1
    ("YW-0008", "运维值班室", "in", "granted"),  # minor 75 MINOR_FACE_VERIFY_PASS
    ("", "机房A区门", "in", "denied"),  # minor 9 MINOR_INVALID_CARD: a card only
    ("YW-0007", "机房A区门", "out", "granted"),  # minor 38 MINOR_FINGERPRINT_COMPARE_PASS, reader 2
    ("YW-0007", "机房A区门", "out", "granted"),
    ("EXT-01", "运维值班室", "in", "denied"),  # minor 6 MINOR_CARD_NO_RIGHT
    ("YW-0008", "运维值班室", "out", "granted"),  # door 2 reader 3
]


# ---- live polls -------------------------------------------------------------------------------


def test_a_first_poll_reads_every_page_stores_the_passages_once_and_remembers_the_newest(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    fake.events = file_items()
    config = make_config(config_file, tmp_path, fake.url)
    counts = poll_doors(store, config, NOW)
    assert (counts["devices"], counts["events"], counts["bad"], counts["failed"]) == (1, 7, 0, 0)

    # One search of 10 events in the device's pages of 4: MORE, MORE, OK.
    assert [s["searchResultPosition"] for s in fake.searches] == [0, 4, 8]
    assert len({s["searchID"] for s in fake.searches}) == 1
    assert {
        (s["startTime"], s["endTime"], s["maxResults"], s["major"], s["minor"]) for s in fake.searches
    } == {
        ("2026-10-26T20:00:00+08:00", "2026-11-02T20:00:00+08:00", 30, 5, 0)  # now - backfill_max (7d) .. now
    }
    assert fake.refused == 0  # every Authorization the device saw was right

    stored = events(store)
    assert [e[1:5] for e in stored] == EXPECTED
    assert stored[0][0] == datetime(2026, 11, 2, 0, 31, 5, tzinfo=UTC)  # 08:31:05+08:00
    assert stored[0][5] == f"dev:{DEVICE}#42970"
    device = config.doors.devices[0]
    assert last_state(store, device) == {"last_time": "2026-11-02T19:30:00+08:00", "last_serial": 42979}
    [batch] = batches(store)
    assert (batch.source, batch.rows_ok, batch.rows_bad, batch.status) == (
        f"hikvision:{DEVICE}",
        7,
        0,
        "accepted",
    )
    detail = json.loads(batch.detail)
    assert detail["pages"] == 3
    assert detail["ignored_events"] == {"major 5 minor 25": 1, "major 5 minor 26": 1, "major 5 minor 21": 1}
    row = status(store)
    assert (row.error_kind, row.consecutive_failures) == ("", 0) and row.last_success is not None

    # Nothing new: the search starts at the newest event, which is read again and skipped; the state stays.
    again = poll_doors(store, config, NOW + timedelta(minutes=5))
    assert again["events"] == 0
    assert fake.searches[-1]["startTime"] == "2026-11-02T19:30:00+08:00"
    assert last_state(store, device) == {"last_time": "2026-11-02T19:30:00+08:00", "last_serial": 42979}
    assert len(events(store)) == 7
    assert batches(store)[-1].rows_total == 0


def test_the_next_poll_starts_at_the_last_event_and_stores_only_the_new_ones(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    fake.events = file_items()
    config = make_config(config_file, tmp_path, fake.url)
    poll_doors(store, config, NOW)
    first_search = fake.searches[0]["searchID"]
    fake.events += [
        acs_event(42980, "19:30:00", minor=1, door=1, reader=1),  # the same second as the last read
        acs_event(42981, "19:45:00", minor=0x4C, door=1, reader=2),  # MINOR_FACE_VERIFY_FAIL
    ]
    counts = poll_doors(store, config, NOW + timedelta(minutes=5))
    assert counts["events"] == 2
    second = [s for s in fake.searches if s["searchID"] != first_search]
    assert second and {s["startTime"] for s in second} == {"2026-11-02T19:30:00+08:00"}
    assert {s["endTime"] for s in second} == {"2026-11-02T20:05:00+08:00"}
    batch = batches(store)[-1]
    # 42979 at 19:30:00 (already read) is served again, the window being inclusive, and skipped.
    assert (batch.rows_total, batch.rows_ok, batch.rows_duplicate) == (2, 2, 0)
    assert json.loads(batch.detail)["already_read"] == 1
    assert [e[2:] for e in events(store)[-2:]] == [
        ("机房A区门", "in", "granted", f"dev:{DEVICE}#42980"),
        ("机房A区门", "out", "denied", f"dev:{DEVICE}#42981"),
    ]
    assert last_state(store, config.doors.devices[0]) == {
        "last_time": "2026-11-02T19:45:00+08:00",
        "last_serial": 42981,
    }


def test_a_wrong_password_is_an_auth_failure_that_never_shows_the_password(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    fake.events = file_items()
    config = make_config(config_file, tmp_path, fake.url, secret="Wrong-pass-5531")
    counts = poll_doors(store, config, NOW)
    assert (counts["failed"], counts["events"]) == (1, 0)
    assert fake.refused == 1 and fake.searches == []  # the digest was computed, sent, and refused
    row = status(store)
    assert (row.error_kind, row.consecutive_failures) == ("auth", 1)
    assert "HTTP 401" in row.last_error and USERNAME in row.last_error
    assert "Wrong-pass-5531" not in row.last_error and PASSWORD not in row.last_error
    assert events(store) == [] and last_state(store, config.doors.devices[0]) == {}
    assert batches(store) == []


def test_a_device_without_a_password_configured_gets_no_login_and_says_so(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    config = make_config(config_file, tmp_path, fake.url, password_file=None)
    assert config.doors.devices[0].password_file is None
    assert poll_doors(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "auth" and "password_file or password_env" in row.last_error
    assert fake.refused == 0 and fake.challenges == 1


def test_a_device_that_is_down_is_unreachable(store: Store, config_file: Any, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    config = make_config(config_file, tmp_path, f"http://127.0.0.1:{port}")
    assert poll_doors(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "unreachable" and f"127.0.0.1:{port}" in row.last_error
    assert PASSWORD not in row.last_error


def test_a_device_that_does_not_answer_is_a_timeout(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    fake.events = file_items()
    fake.hold = threading.Event()
    config = make_config(config_file, tmp_path, fake.url, timeout="0.5s")
    assert poll_doors(store, config, NOW)["failed"] == 1
    fake.hold.set()
    row = status(store)
    assert row.error_kind == "timeout" and "0.5s" in row.last_error


@pytest.mark.parametrize(
    ("status_code", "body", "kind", "words"),
    [
        (500, "<html>Internal Server Error</html>", "http", "HTTP 500"),
        (
            400,
            json.dumps(
                {"statusCode": 6, "statusString": "Invalid Content", "subStatusCode": "badParameters"}
            ),
            "http",
            "subStatusCode badParameters",
        ),
        (
            200,
            json.dumps({"statusCode": 4, "statusString": "Invalid Operation", "subStatusCode": "notSupport"}),
            "http",
            "subStatusCode notSupport",
        ),
        (200, "<html>login page</html>", "parse", "not JSON"),
        (
            200,
            json.dumps({"AcsEvent": {"responseStatusStrg": "OK", "InfoList": {"major": 5}}}),
            "parse",
            "not a list",
        ),
        (200, json.dumps([1, 2]), "parse", "no AcsEvent object"),
    ],
)
def test_bad_answers_are_http_or_parse_failures(
    store: Store,
    config_file: Any,
    tmp_path: Path,
    fake: FakeDevice,
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
    assert PASSWORD not in row.last_error
    assert last_state(store, config.doors.devices[0]) == {}


def test_a_device_that_always_says_more_stops_at_the_page_cap(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hik_source, "MAX_PAGES", 5)
    fake.events = file_items()
    fake.endless = True
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["failed"] == 1
    assert len(fake.searches) == 5
    row = status(store)
    assert row.error_kind == "parse" and "MORE after 5 pages" in row.last_error
    assert events(store) == [] and last_state(store, config.doors.devices[0]) == {}


def test_an_empty_window_is_no_match_and_keeps_the_state(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["failed"] == 0
    assert len(fake.searches) == 1
    assert status(store).error_kind == "" and last_state(store, config.doors.devices[0]) == {}


def test_an_unknown_reader_is_a_row_error_and_the_good_events_are_kept(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    fake.events = [
        acs_event(1, "08:00:00"),
        acs_event(2, "08:05:00", door=3, reader=2),
        acs_event(3, "08:10:00", reader=2),
    ]
    config = make_config(config_file, tmp_path, fake.url)
    counts = poll_doors(store, config, NOW)
    assert (counts["events"], counts["bad"]) == (2, 1)
    batch = batches(store)[-1]
    assert (batch.status, batch.rows_ok, batch.rows_bad) == ("partial", 2, 1)
    [error] = row_errors(store, batch.id)
    assert error.row == 2
    assert DEVICE in error.reason and "doorNo=3, cardReaderNo=2" in error.reason
    assert "doors.devices" in error.reason
    assert status(store).error_kind == ""  # the device answered: it is fine, one event is not
    # The cursor moves past it: re-reading cannot map it until the config names the reader.
    assert last_state(store, config.doors.devices[0])["last_serial"] == 3


# ---- dropped files ----------------------------------------------------------------------------


def dropped(tmp_path: Path, name: str, source: Path = PAGES_FILE) -> Path:
    path = tmp_path / name
    shutil.copy(source, path)
    return path


def test_a_dropped_export_named_after_the_device_is_stored(
    store: Store, config_file: Any, tmp_path: Path
) -> None:
    config = make_config(config_file, tmp_path, "")  # a device without url: files only
    result = ingest_file(store, config, "door", dropped(tmp_path, f"{DEVICE}_2026-11.json"))
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 7, 0)
    stored = events(store)
    assert [e[1:5] for e in stored] == EXPECTED
    assert stored[0][0] == datetime(2026, 11, 2, 0, 31, 5, tzinfo=UTC)
    [batch] = batches(store)
    detail = json.loads(batch.detail)
    assert detail["format"] == "hikvision-acsevent" and detail["device"] == DEVICE
    assert detail["ignored_events"] == {"major 5 minor 25": 1, "major 5 minor 26": 1, "major 5 minor 21": 1}


def test_events_polled_live_and_dropped_as_a_file_are_stored_once(
    store: Store, config_file: Any, tmp_path: Path, fake: FakeDevice
) -> None:
    fake.events = file_items()
    config = make_config(config_file, tmp_path, fake.url)
    assert poll_doors(store, config, NOW)["events"] == 7
    result = ingest_file(store, config, "door", dropped(tmp_path, f"{DEVICE}-导出.json"))
    assert (result.status, result.rows_ok, result.rows_duplicate) == ("accepted", 0, 7)
    assert len(events(store)) == 7


def test_a_file_named_after_no_device_is_rejected_naming_its_stem(
    store: Store, config_file: Any, tmp_path: Path
) -> None:
    config = make_config(config_file, tmp_path, "")
    result = ingest_file(store, config, "door", dropped(tmp_path, "AcsEvent_export.json"))
    assert result.status == "rejected"
    assert result.problem is not None
    assert "AcsEvent_export" in result.problem.en and repr(DEVICE) in result.problem.en
    assert "AcsEvent_export" in result.reason and DEVICE in result.reason  # in the site's language
    assert events(store) == []
    [batch] = batches(store)
    assert batch.status == "rejected" and batch.rows_ok == 0


def test_invalid_json_is_rejected_with_its_line_and_column(
    store: Store, config_file: Any, tmp_path: Path
) -> None:
    config = make_config(config_file, tmp_path, "")
    path = tmp_path / f"{DEVICE}_broken.json"
    path.write_text('{"AcsEvent": {\n  "InfoList": [\n    {"major": 5,}\n  ]\n}}\n', encoding="utf-8")
    result = ingest_file(store, config, "door", path)
    assert result.status == "rejected"
    assert result.problem is not None and "line 3 column 17" in result.problem.en, result.problem.en
    assert events(store) == []
