"""Door events pushed by a Hikvision device (ISAPI HTTP listening) to the real console on loopback, over a real
store (SQLite and PostgreSQL): the recorded body shapes (multipart JSON with a picture, plain JSON, XML
EventNotificationAlert, heartbeats, non-access events), the refusals (secret, device, address, size, XML
declarations), a replay and the same event exported as a file (stored once), and a burst of 1,000 events/s
for 10 s from a few threads with none lost."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import structlog
import test_web_console
from click.testing import CliRunner
from conftest import dump_toml
from sqlalchemy import func, select

from ops_watch.ingest import ingest_file
from ops_watch.store.schema import DoorEvent, EvidenceBatch, RowError

Console = test_web_console.Console
make_console = test_web_console.make_console  # the fixture, shared

DEVICE = "机房A区门禁"
OTHER = "大厅人脸机"  # configured, pushes nothing (no secret)
SECRET = "push-7f3a9c1e5b"
READERS = [
    {"door_no": 1, "reader_no": 1, "door": "机房A区门", "direction": "in"},
    {"door_no": 1, "reader_no": 2, "door": "机房A区门", "direction": "out"},
    {"door_no": 2, "reader_no": 1, "door": "运维值班室", "direction": ""},
]
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(range(256)) * 200 + b"\xff\xd9"


def access_event(
    serial: int,
    local_time: str = "08:31:05",
    minor: int = 75,
    door: int = 1,
    reader: int = 1,
    status: str = "undefined",
    major: int = 5,
) -> dict[str, Any]:
    """A DS-K1T671 push as recorded: the JSON document of the event_log part."""
    return {
        "ipAddress": "10.20.1.31",
        "portNo": 80,
        "protocol": "HTTP",
        "macAddress": "44:a6:42:1b:2c:3d",
        "channelID": 1,
        "dateTime": f"2026-11-02T{local_time}+08:00",
        "activePostCount": 1,
        "eventType": "AccessControllerEvent",
        "eventState": "active",
        "eventDescription": "Access Controller Event",
        "AccessControllerEvent": {
            "deviceName": "DS-K1T671MF",
            "majorEventType": major,
            "subEventType": minor,
            "name": "张伟",
            "cardReaderKind": 1,
            "cardReaderNo": reader,
            "verifyNo": 211,
            "employeeNoString": "YW-0007",
            "serialNo": serial,
            "userType": "normal",
            "currentVerifyMode": "cardOrFaceOrFp",
            "frontSerialNo": serial - 1,
            "attendanceStatus": status,
            "label": "",
            "statusValue": 0,
            "mask": "no",
            "picturesNumber": 1,
            "purePwdVerifyEnable": True,
            "doorNo": door,
        },
    }


HEARTBEAT = {
    "ipAddress": "10.20.1.31",
    "portNo": 80,
    "protocol": "HTTP",
    "dateTime": "2026-11-02T08:30:00+08:00",
    "activePostCount": 0,
    "eventType": "heartBeat",
    "eventState": "active",
    "eventDescription": "heartBeat",
}
XML_EVENT = """<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>10.20.1.31</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<channelID>1</channelID>
<dateTime>2026-11-02T09:15:00+08:00</dateTime>
<activePostCount>1</activePostCount>
<eventType>AccessControllerEvent</eventType>
<eventState>active</eventState>
<eventDescription>Access Controller Event</eventDescription>
<AccessControllerEvent>
<deviceName>DS-K2604T</deviceName>
<majorEventType>5</majorEventType>
<subEventType>1</subEventType>
<cardNo>3005120417</cardNo>
<cardType>1</cardType>
<name>张伟</name>
<cardReaderKind>1</cardReaderKind>
<cardReaderNo>2</cardReaderNo>
<doorNo>1</doorNo>
<employeeNoString>YW-0007</employeeNoString>
<serialNo>{serial}</serialNo>
<attendanceStatus>undefined</attendanceStatus>
</AccessControllerEvent>
</EventNotificationAlert>
"""
XML_HEARTBEAT = """<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>10.20.1.31</ipAddress>
<dateTime>2026-11-02T09:00:00+08:00</dateTime>
<activePostCount>0</activePostCount>
<eventType>heartBeat</eventType>
<eventState>active</eventState>
</EventNotificationAlert>
"""


def multipart(document: dict[str, Any], part: str = "event_log", picture: bool = True) -> tuple[bytes, str]:
    """The body a face terminal sends: the JSON part, then the face picture (CRLF, as recorded)."""
    boundary = "MIME_boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{part}"\r\n'
        f"Content-Type: application/json\r\nContent-Length: 0\r\n\r\n"
    ).encode() + json.dumps(document, ensure_ascii=False).encode("utf-8")
    if picture:
        body += (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="Picture"; filename="Picture.jpg"\r\n'
            f"Content-Type: image/jpeg\r\nContent-Length: {len(JPEG)}\r\nContent-ID: pictureImage\r\n\r\n"
        ).encode() + JPEG
    body += f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def push_console(store: Any, make_console: Callable[..., Console], tmp_path: Path) -> Callable[..., Console]:  # noqa: F811
    """push_console(**device settings) -> a console whose DEVICE pushes with SECRET (from a file)."""
    (tmp_path / "push-secret").write_text(SECRET + "\n", encoding="utf-8")

    def make(**settings: Any) -> Console:
        device = {
            "name": DEVICE,
            "vendor": "hikvision",
            "readers": READERS,
            "push_secret_file": "push-secret",
            **settings,
        }
        other = {"name": OTHER, "vendor": "hikvision", "door": "大厅"}
        return make_console(store, dump_toml({"doors": {"devices": [device, other]}}))

    return make


@pytest.fixture
def web(push_console: Callable[..., Console]) -> Console:
    return push_console()


def push_url(web: Console, device: str = DEVICE, secret: str = SECRET) -> str:
    return web.url(f"/ingest/hikvision/{quote(device, safe='')}/{quote(secret, safe='')}")


def post_json(web: Console, document: Any, url: str | None = None, **kw: Any) -> requests.Response:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return requests.post(
        url or push_url(web), data=body, headers={"Content-Type": "application/json"}, timeout=10, **kw
    )


def stored(web: Console) -> list[tuple[str, str, str, str, str, str]]:
    with web.store.session() as s:
        rows = s.execute(
            select(
                DoorEvent.person_id,
                DoorEvent.door,
                DoorEvent.direction,
                DoorEvent.result,
                DoorEvent.device,
                DoorEvent.dedupe_key,
            ).order_by(DoorEvent.dedupe_key)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def basic(user: str, password: str) -> dict[str, str]:
    """HTTP basic authentication in UTF-8 (requests' auth= takes Latin-1 only; a device name is Chinese)."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def count(web: Console, table: Any) -> int:
    with web.store.session() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


# ---- the body shapes -------------------------------------------------------------------------------------


def test_multipart_event_log_with_a_picture_is_stored_and_the_picture_is_not(
    web: Console, tmp_path: Path
) -> None:
    before = {p for p in tmp_path.rglob("*") if ".db" not in p.name}
    body, ctype = multipart(access_event(1001, status="checkIn"))
    answer = requests.post(push_url(web), data=body, headers={"Content-Type": ctype}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == 1
    assert answer.headers["x-frame-options"] == "DENY"  # the console's security headers still apply
    assert stored(web) == [("YW-0007", "机房A区门", "in", "granted", DEVICE, f"dev:{DEVICE}#1001")]
    with web.store.session() as s:
        [batch] = s.scalars(select(EvidenceBatch)).all()
        assert (batch.kind, batch.source, batch.rows_ok, batch.stored_path) == (
            "door",
            f"push:{DEVICE}",
            1,
            "",
        )
        assert "JFIF" not in batch.detail
        for row in s.execute(select(DoorEvent)).scalars():
            assert not any(b"JFIF" in str(v).encode() for v in vars(row).values())
    after = {p for p in tmp_path.rglob("*") if ".db" not in p.name}
    assert after == before  # no file written: the picture went nowhere


def test_an_access_controller_event_part_name_and_no_picture(web: Console) -> None:
    body, ctype = multipart(access_event(1002, reader=2), part="AccessControllerEvent", picture=False)
    answer = requests.post(push_url(web), data=body, headers={"Content-Type": ctype}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert stored(web)[0][1:3] == ("机房A区门", "out")


def test_plain_json_takes_the_direction_from_attendance_status(web: Console) -> None:
    # reader 1 of door 1 is "in", but the person pressed checkOut; door 2 reader 1 has no direction: breakIn
    assert post_json(web, access_event(1003, status="checkOut")).status_code == 200
    assert (
        post_json(web, access_event(1004, door=2, status="breakIn", local_time="08:40:00")).status_code == 200
    )
    assert post_json(web, access_event(1005, door=2, local_time="08:41:00")).status_code == 200
    assert [r[1:3] for r in stored(web)] == [("机房A区门", "out"), ("运维值班室", "in"), ("运维值班室", "")]


def test_xml_event_notification_alert(web: Console) -> None:
    answer = requests.post(
        push_url(web),
        data=XML_EVENT.format(serial=1006).encode("utf-8"),
        headers={"Content-Type": "application/xml"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert stored(web) == [("YW-0007", "机房A区门", "out", "granted", DEVICE, f"dev:{DEVICE}#1006")]


def test_heartbeats_and_non_access_events_are_answered_and_not_stored(web: Console) -> None:
    assert post_json(web, HEARTBEAT).status_code == 200
    xml = requests.post(
        push_url(web), data=XML_HEARTBEAT.encode(), headers={"Content-Type": "text/xml"}, timeout=10
    )
    assert xml.status_code == 200
    assert post_json(web, {**HEARTBEAT, "eventType": "videoloss"}).status_code == 200
    assert post_json(web, access_event(1007, major=3, minor=1024)).status_code == 200  # an operation event
    assert post_json(web, access_event(1008, minor=22)).status_code == 200  # door opened: no passage
    empty = requests.post(push_url(web), data=b"", timeout=10)  # some firmware's keep-alive
    assert empty.status_code == 200
    assert count(web, DoorEvent) == 0
    assert count(web, EvidenceBatch) == 0


def test_an_unknown_reader_is_a_row_error_not_a_loss(web: Console) -> None:
    answer = post_json(web, access_event(1009, door=3))
    assert answer.status_code == 200
    with web.store.session() as s:
        [reason] = s.scalars(select(RowError.reason)).all()
    assert "readers" in reason


# ---- refusals: nothing stored ------------------------------------------------------------------------------


def test_wrong_secret_device_or_push_off_is_401_logged_and_nothing_stored(web: Console) -> None:
    event = access_event(1010)
    with structlog.testing.capture_logs() as logs:
        wrong = post_json(web, event, url=push_url(web, secret="guess"))
        unknown = post_json(web, event, url=push_url(web, device="没有这个设备"))
        off = post_json(web, event, url=push_url(web, device=OTHER, secret=SECRET))
        basic_wrong = requests.post(
            web.url(f"/ingest/hikvision/{quote(DEVICE)}"),
            json=event,
            headers=basic(DEVICE, "guess"),
            timeout=10,
        )
        basic_other_user = requests.post(
            web.url(f"/ingest/hikvision/{quote(DEVICE)}"),
            json=event,
            headers=basic(OTHER, SECRET),
            timeout=10,
        )
    for answer in (wrong, unknown, off, basic_wrong, basic_other_user):
        assert answer.status_code == 401, answer.text
        assert "Traceback" not in answer.text
    assert count(web, DoorEvent) == 0 and count(web, EvidenceBatch) == 0
    refusals = [e for e in logs if e["event"].startswith("door push refused")]
    assert len(refusals) == 5 and refusals[0]["device"] == DEVICE and refusals[0]["address"] == "127.0.0.1"
    assert SECRET not in json.dumps(logs, ensure_ascii=False, default=str)


def test_basic_authentication_with_the_device_name(web: Console) -> None:
    answer = requests.post(
        web.url(f"/ingest/hikvision/{quote(DEVICE)}"),
        data=json.dumps(access_event(1011)).encode(),
        headers={**basic(DEVICE, SECRET), "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert count(web, DoorEvent) == 1


def test_an_address_outside_push_from_is_403(push_console: Callable[..., Console]) -> None:
    web = push_console(push_from=["10.20.1.0/24"])
    answer = post_json(web, access_event(1012))
    assert answer.status_code == 403
    assert count(web, DoorEvent) == 0


def test_an_address_inside_push_from_is_served(push_console: Callable[..., Console]) -> None:
    web = push_console(push_from=["10.20.1.0/24", "127.0.0.1"])
    assert post_json(web, access_event(1013)).status_code == 200
    assert count(web, DoorEvent) == 1


def test_too_big_bodies_and_xml_declarations_are_refused(web: Console) -> None:
    big = {**access_event(1014), "padding": "x" * (2 * 1024 * 1024)}
    assert post_json(web, big).status_code == 413
    body, ctype = multipart({**access_event(1015), "padding": "x" * (2 * 1024 * 1024)})
    assert (
        requests.post(push_url(web), data=body, headers={"Content-Type": ctype}, timeout=10).status_code
        == 413
    )
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<EventNotificationAlert><eventType>&lol2;</eventType></EventNotificationAlert>"
    )
    refused = requests.post(
        push_url(web), data=bomb.encode(), headers={"Content-Type": "application/xml"}, timeout=10
    )
    assert refused.status_code == 400 and "DOCTYPE" in refused.json()["error"]
    assert post_json(web, ["not", "an", "object"]).status_code == 400
    assert count(web, DoorEvent) == 0 and count(web, EvidenceBatch) == 0


def test_the_push_route_needs_no_session_and_the_console_still_does(web: Console) -> None:
    assert requests.get(web.url("/findings"), allow_redirects=False, timeout=10).status_code == 303
    assert post_json(web, access_event(1016)).status_code == 200  # no cookie, no CSRF token


# ---- stored once ------------------------------------------------------------------------------------------


def test_a_replay_is_stored_once(web: Console) -> None:
    events = [access_event(1100 + n, local_time=f"10:{n:02d}:00") for n in range(5)]
    for _ in range(2):
        for event in events:
            assert post_json(web, event).status_code == 200
    assert count(web, DoorEvent) == 5
    with web.store.session() as s:
        assert s.scalar(select(func.sum(EvidenceBatch.rows_duplicate))) == 5


def test_a_pushed_event_exported_as_a_file_too_is_stored_once(web: Console, tmp_path: Path) -> None:
    events = [access_event(1200 + n, local_time=f"11:{n:02d}:00", reader=1 + n % 2) for n in range(4)]
    for event in events:
        assert post_json(web, event).status_code == 200
    pushed = stored(web)
    # The same events as the device's AcsEvent search answers them (a poll, or its export dropped as a file).
    info = [
        {
            "major": 5,
            "minor": e["AccessControllerEvent"]["subEventType"],
            "time": e["dateTime"],
            "cardReaderNo": e["AccessControllerEvent"]["cardReaderNo"],
            "doorNo": 1,
            "employeeNoString": "YW-0007",
            "name": "张伟",
            "serialNo": e["AccessControllerEvent"]["serialNo"],
        }
        for e in events
    ]
    path = tmp_path / f"{DEVICE}_export.json"
    page = {"AcsEvent": {"searchID": "x", "responseStatusStrg": "OK", "numOfMatches": 4, "InfoList": info}}
    path.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
    result = ingest_file(web.store, web.rt.config, "door", path)
    assert (result.status, result.rows_ok, result.rows_duplicate) == ("accepted", 0, 4)
    assert stored(web) == pushed


# ---- load -------------------------------------------------------------------------------------------------

BURST_RATE, BURST_SECONDS, BURST_THREADS = 1000, 10, 50


def test_a_burst_of_1000_events_a_second_for_10_seconds_loses_none(web: Console) -> None:
    total = BURST_RATE * BURST_SECONDS
    failures: list[str] = []
    start = time.monotonic() + 0.2

    def sender(k: int) -> None:
        http = requests.Session()
        url = push_url(web)
        for n in range(k, total, BURST_THREADS):
            due = start + n / BURST_RATE
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            body = json.dumps(access_event(100_000 + n, local_time="12:00:00")).encode()
            answer = http.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
            if answer.status_code != 200 or answer.json().get("events") != 1:
                failures.append(f"{n}: {answer.status_code} {answer.text[:200]}")

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(BURST_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    assert not failures, failures[:5]
    assert count(web, DoorEvent) == total
    print(f"burst: {total} events in {took:.1f} s ({total / took:.0f}/s)")


# ---- push-config ------------------------------------------------------------------------------------------


def test_push_config_prints_the_http_hosts_settings(web: Console) -> None:
    from ops_watch.cli import main

    runner = CliRunner()
    result = runner.invoke(
        main,
        ["--config", str(web.config_path), "doors", "push-config", DEVICE, "--url", "https://10.0.0.9:8443"],
    )
    assert result.exit_code == 0, result.output
    path = f"/ingest/hikvision/{quote(DEVICE, safe='')}/<push-secret>"
    assert f"https://10.0.0.9:8443{path}" in result.output
    assert "<HttpHostNotificationList" in result.output and "<portNo>8443</portNo>" in result.output
    assert "<protocolType>HTTPS</protocolType>" in result.output and SECRET not in result.output
    shown = runner.invoke(
        main,
        [
            "--config",
            str(web.config_path),
            "doors",
            "push-config",
            DEVICE,
            "--url",
            web.base,
            "--show-secret",
        ],
    )
    assert shown.exit_code == 0, shown.output
    url = next(
        line.split(": ", 1)[1]
        for line in shown.output.splitlines()
        if line.startswith(("URL", "设备推送地址"))
    )
    # the printed URL is the one the console answers
    assert post_json(web, access_event(1300), url=url).status_code == 200
    off = runner.invoke(main, ["--config", str(web.config_path), "doors", "push-config", OTHER])
    assert off.exit_code == 2 and "push_secret_file" in off.output
