"""Door events pushed by the devices (Hikvision ISAPI "HTTP listening", issue 19 §2, docs/doors.md).

`POST /ingest/hikvision/<device>/<secret>`, or `POST /ingest/hikvision/<device>` with HTTP basic
authentication (user: the device's name, password: its secret). A device pushes only when its
`[[doors.devices]]` entry has push_secret_file / push_secret_env; `push_from` limits the addresses it may push
from (the client address behind a trusted proxy, frame.client_address).

No session and no CSRF token: a device is not a browser, and the route takes none of the console's login
dependencies; the secret is its login. The security headers still apply (app.SecurityHeaders wraps
everything). A refusal (unknown device, push off, wrong secret: 401; address not allowed: 403; too big: 413;
unreadable body: 400) stores nothing and is logged with the device and the address, never the secret.

Each access event goes through formats.hikvision.acs_rows, as a polled or exported one does, and is stored by
web.door_writer (the POSTs of the same moment in one transaction, one EvidenceBatch per device, source
"push:<device>", through polled.store_rows), committed before the 200: an event the device saw acknowledged is
in the store; an event it did not (a busy store answers 503) it sends again, and the dedupe key stores it once.
Heartbeats and non-access events are answered 200 and only counted in the debug log. Pictures are skipped in
the body and never stored.

The routes are `async`, unlike the pages: a request waits for its commit on a future, not in one of the
console's few page threads (app.PAGE_THREADS), so a burst of pushes never starves the pages. The loop itself
only authenticates, reads the body (bounded) and parses at most MAX_DATA of JSON or XML.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ops_watch.config import DoorDevice
from ops_watch.core.log import get_logger
from ops_watch.formats.hikvision_push import MAX_BODY, MAX_DATA, PushRefused, access_items, documents, too_big
from ops_watch.store import store_locked
from ops_watch.web.door_writer import Post, PushWriter
from ops_watch.web.frame import client_address, console

log = get_logger(__name__)
router = APIRouter()
PATH = "/ingest/hikvision/{device}"


@dataclass(frozen=True)
class Pushed:
    """An authenticated POST: the device, where it came from, and its body."""

    device: DoorDevice
    address: str
    body: bytes
    content_type: str


def _basic_credentials(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return user, password


def _allowed(device: DoorDevice, address: str) -> bool:
    if not device.push_from:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in device.push_from)


def _check(request: Request) -> tuple[DoorDevice, str]:
    """The pushing device and its address; PushRefused when it may not push."""
    config = console(request).runtime.config
    name = request.path_params.get("device", "")
    address = client_address(request)
    secret = request.path_params.get("secret")
    if secret is None:  # basic authentication: the user must be the device of the path
        user, secret = _basic_credentials(request)
        if user != name:
            secret = ""
    device = config.doors.device(name)
    if device is None or device.vendor != "hikvision" or not device.pushes:
        raise PushRefused(
            401,
            "未配置推送的门禁设备",
            "no Hikvision device of that name is configured to push (push_secret_file)",
        )
    try:
        expected = device.push_key(config.config_dir).get_secret_value()
    except ValueError as exc:
        log.error("door push: the device's secret cannot be read", device=name, error=str(exc))
        raise PushRefused(503, "设备推送密钥无法读取", "the device's push secret cannot be read") from None
    if not expected or not hmac.compare_digest(secret.encode("utf-8"), expected.encode("utf-8")):
        raise PushRefused(401, "推送密钥错误", "wrong push secret")
    if not _allowed(device, address):
        raise PushRefused(
            403, "该地址不在设备的 push_from 中", "the address is not in the device's push_from"
        )
    return device, address


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) as soon as it passes its limit: pictures allowed in a multipart body only."""
    multipart = request.headers.get("content-type", "").lower().startswith("multipart/")
    limit = MAX_BODY if multipart else MAX_DATA
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_big(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(request: Request, exc: PushRefused) -> JSONResponse:
    log.warning(
        "door push refused / 门禁推送被拒绝",
        device=request.path_params.get("device", ""),
        address=client_address(request),
        status=exc.status,
        reason=exc.en,
    )
    return JSONResponse({"error": exc.en}, status_code=exc.status)


async def _pushed(request: Request) -> Pushed | JSONResponse:
    """Authenticate, then read the body (in the event loop: the route's thread only parses and stores)."""
    try:
        device, address = _check(request)
        body = await _read_body(request)
    except PushRefused as exc:
        return _refusal(request, exc)
    return Pushed(device, address, body, request.headers.get("content-type", ""))


PushedBody = Annotated[Any, Depends(_pushed)]  # a Pushed, or the refusal to answer with


async def receive(request: Request, pushed: Pushed | JSONResponse) -> JSONResponse:
    """Parse the body (bounded: MAX_DATA), hand its access events to the writer, answer once they are
    committed. Waiting is an await, not one of the console's few page threads: a burst of pushes does not
    starve the pages."""
    if isinstance(pushed, JSONResponse):
        return pushed
    device = pushed.device
    try:
        items, ignored = access_items(documents(pushed.body, pushed.content_type), _codes(request).major)
    except PushRefused as exc:
        return _refusal(request, exc)
    if not items:
        log.debug("door push: nothing to store", device=device.name, ignored=ignored)
        return JSONResponse({"events": 0, "ignored": sum(ignored.values())})
    done = _writer(request).submit(Post(device, pushed.address, items, ignored))
    try:
        await asyncio.wrap_future(done)
    except Exception as exc:
        # Not acknowledged, so the device sends it again: a busy store is a 503 the device retries.
        status = 503 if store_locked(exc) else 500
        log.warning(
            "door push not stored / 门禁推送未能保存", device=device.name, error=str(exc), status=status
        )
        return JSONResponse({"error": "the store is busy: send again"}, status_code=status)
    return JSONResponse({"events": len(items), "ignored": sum(ignored.values())})


def _codes(request: Request) -> Any:
    return console(request).runtime.config.doors.hikvision


_WRITER_LOCK = threading.Lock()


def _writer(request: Request) -> PushWriter:
    """The app's writer, made on the first push (one per console: app.state holds it)."""
    state = request.app.state
    with _WRITER_LOCK:
        writer = getattr(state, "door_push_writer", None)
        if writer is None:
            runtime = console(request).runtime
            writer = state.door_push_writer = PushWriter(runtime.store, runtime.config)
    return writer  # type: ignore[no-any-return]


@router.post(PATH + "/{secret}", include_in_schema=False)
async def push_with_secret(request: Request, pushed: PushedBody) -> JSONResponse:
    return await receive(request, pushed)


@router.post(PATH, include_in_schema=False)
async def push_with_basic_auth(request: Request, pushed: PushedBody) -> JSONResponse:
    return await receive(request, pushed)


__all__ = ["PATH", "Pushed", "receive", "router"]
