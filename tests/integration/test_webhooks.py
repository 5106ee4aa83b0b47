"""Chat robots and webhooks: messages from the outbox reach real HTTP servers on 127.0.0.1 playing DingTalk,
WeCom and a generic receiver, which check what the real ones check (DingTalk recomputes the 加签 signature
from its own copy of the secret, WeCom refuses markdown over 4096 bytes, the generic receiver verifies the
HMAC). Failures leave the message pending with backoff and an error that never shows a token or a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import dump_toml

from ops_watch.config import Config, load_config
from ops_watch.notify.outbox import backoff, deliver_due
from ops_watch.notify.render import md_escape
from ops_watch.notify.webhook import (
    CUT_NOTE,
    DINGTALK_MAX_BYTES,
    WECOM_MAX_BYTES,
    cut_utf8,
    dingtalk_sign,
    dingtalk_url,
    webhook_signature,
)
from ops_watch.store.schema import OutboxMessage

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
DING_TOKEN = "4f1c2e7a9b0d3e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f"
DING_SECRET = "SEC9d2f41c7a05e3b86d1f0a4c29e7b35d8f6a1c0e4b7d92f3a58c6e1b04d7f29a3"
WECOM_KEY = "693a91f6-7d2c-4bc4-97a0-0ec2f1fa5aaa"
HOOK_SECRET = "hook-Secret-5b1e9c0d7a"
ZH = "机房 A 的数据库备份连续 3 次失败，请值班人员（张伟）核查"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests honours proxy variables; the servers here are on loopback.
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


# ---- the signatures, against vectors computed independently -------------------------------------


def test_dingtalk_sign_matches_an_independent_vector():
    # printf '1700000000000\nSECabc123' | openssl dgst -sha256 -hmac SECabc123 -binary | base64
    assert dingtalk_sign("SECabc123", 1700000000000) == "N5P09a4%2Bp1AMJIJWnIvQd2Yxw9%2Bfu%2FoEBnPrjCcsLXk%3D"
    # ... and the same computed by hand here, for another secret and time
    secret, ts = DING_SECRET, 1762045200123
    raw = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    by_hand = base64.b64encode(raw).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    assert dingtalk_sign(secret, ts) == by_hand


def test_dingtalk_url_keeps_the_token_and_adds_timestamp_and_sign():
    url = dingtalk_url(
        f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}", "SECabc123", 1700000000000
    )
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "access_token": [DING_TOKEN],
        "timestamp": ["1700000000000"],
        "sign": ["N5P09a4+p1AMJIJWnIvQd2Yxw9+fu/oEBnPrjCcsLXk="],  # decoded back to the Base64 text
    }


def test_webhook_signature_matches_an_independent_vector():
    # printf '1700000000.{"a":"告警"}' | openssl dgst -sha256 -hmac hook-secret
    body = '{"a":"告警"}'.encode()
    expected = "sha256=85ec6093651e32653a432594f6c7cae2bc5eac13e0485fe2d799be6c15c38314"
    assert webhook_signature("hook-secret", 1700000000, body) == expected


@pytest.mark.parametrize("limit", [40, 41, 42, 43, 100, 4096])
def test_cut_utf8_stays_within_the_limit_on_a_character_boundary(limit):
    text = "\n".join(f"- 第{i}项：磁盘使用率超过 90% \\[警告\\]" for i in range(400))
    cut, was_cut = cut_utf8(text, limit, note="…(截断)")
    assert was_cut
    data = cut.encode("utf-8")
    assert len(data) <= limit
    assert data.decode("utf-8") == cut  # valid UTF-8, nothing half
    assert cut.endswith("…(截断)")
    head = cut.removesuffix("…(截断)")
    assert text.startswith(head)
    assert (len(head) - len(head.rstrip("\\"))) % 2 == 0  # no lone escape left to eat the note


def test_cut_utf8_leaves_text_that_fits_alone():
    assert cut_utf8("告警" * 10, 60) == ("告警" * 10, False)
    assert cut_utf8("告" * 20, 60) == ("告" * 20, False)  # exactly 60 bytes fits


# ---- fake servers --------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, Any]  # status, JSON-able body (or bytes as they are)


class Server:
    """A ThreadingHTTPServer on 127.0.0.1, port 0, answering POSTs with `respond` and recording them."""

    def __init__(self, respond: Callable[[Request], Reply]):
        self.respond = respond
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    parts.path,
                    {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                server.requests.append(req)
                status, body = server.respond(req)
                data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout test): nothing to answer to
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Request], Reply]], Server]]:
    started: list[Server] = []

    def start(respond: Callable[[Request], Reply]) -> Server:
        started.append(Server(respond))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _sign(secret: str, ts: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()


@dataclass
class FakeDingTalk:
    """Checks what DingTalk checks: the token, the signature (recomputed here), the hour, the size."""

    token: str = DING_TOKEN
    secret: str = DING_SECRET
    clock_skew: float = 0.0  # seconds this "DingTalk" is ahead of the client
    accepted: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, req: Request) -> Reply:
        if req.path != "/robot/send" or req.query.get("access_token") != self.token:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        if self.secret:
            ts, sign = req.query.get("timestamp", ""), req.query.get("sign", "")
            now_ms = (time.time() + self.clock_skew) * 1000
            fresh = ts.isdigit() and abs(now_ms - int(ts)) <= 3600 * 1000
            if not fresh or not hmac.compare_digest(sign, _sign(self.secret, ts)):
                return 200, {
                    "errcode": 310000,
                    "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com]",
                }
        doc = json.loads(req.body.decode("utf-8"))  # strict: invalid UTF-8 fails the test here
        if len(doc["markdown"]["text"].encode()) > DINGTALK_MAX_BYTES:
            return 200, {"errcode": 460101, "errmsg": "message too long"}
        self.accepted.append(doc)
        return 200, {"errcode": 0, "errmsg": "ok"}


@dataclass
class FakeWeCom:
    key: str = WECOM_KEY
    accepted: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, req: Request) -> Reply:
        if req.path != "/cgi-bin/webhook/send" or req.query.get("key") != self.key:
            # WeCom's answer names the key it was given: the client must not repeat it.
            given = req.query.get("key", "")
            return 200, {"errcode": 93000, "errmsg": f"invalid webhook url, hint: [key={given}]"}
        doc = json.loads(req.body.decode("utf-8"))
        if len(doc["markdown"]["content"].encode()) > WECOM_MAX_BYTES:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        self.accepted.append(doc)
        return 200, {"errcode": 0, "errmsg": "ok"}


@dataclass
class FakeHook:
    """A generic receiver: verifies the HMAC over "<timestamp>.<body>" when it has a secret."""

    secret: str = HOOK_SECRET
    header: str = "x-ops-watch-signature"
    statuses: list[int] = field(default_factory=list)  # answered first, one per request
    accepted: list[Request] = field(default_factory=list)

    def __call__(self, req: Request) -> Reply:
        if self.statuses:
            return self.statuses.pop(0), b"<html>upstream broke \xe9</html>"
        if self.secret:
            ts = req.headers.get("x-ops-watch-timestamp", "")
            expected = (
                "sha256=" + hmac.new(self.secret.encode(), f"{ts}.".encode() + req.body, "sha256").hexdigest()
            )
            if not hmac.compare_digest(req.headers.get(self.header, ""), expected):
                return 401, {"error": "bad signature"}
            if abs(time.time() - int(ts)) > 300:
                return 401, {"error": "stale"}
        self.accepted.append(req)
        return 204, b""


# ---- config and outbox rows ---------------------------------------------------------------------


def _secret_file(tmp_path: Path, name: str, value: str) -> Path:
    path = tmp_path / name
    path.write_text(value + "\n", encoding="utf-8")
    return path


def _config(config_file, receivers: list[dict[str, Any]]) -> Config:
    return load_config(config_file(dump_toml({"notify": {"receivers": receivers}})))


def _ding_receiver(tmp_path: Path, server: Server, **extra: Any) -> dict[str, Any]:
    url = _secret_file(tmp_path, "dingtalk-url", f"{server.base}/robot/send?access_token={DING_TOKEN}")
    secret = _secret_file(tmp_path, "dingtalk-secret", DING_SECRET)
    return {"url_file": str(url), "secret_file": str(secret), "timeout": "5s", **extra}


def _wecom_receiver(tmp_path: Path, server: Server, key: str = WECOM_KEY) -> dict[str, Any]:
    url = _secret_file(tmp_path, "wecom-url", f"{server.base}/cgi-bin/webhook/send?key={key}")
    return {"url_file": str(url), "timeout": "5s"}


def _markdown(summary: str = ZH) -> str:
    return "\n".join(
        [
            f"### {md_escape('[ops-watch][严重] ' + summary)}",
            "",
            "**新增**",
            "",
            f"- [严重] {md_escape(summary)} (#12)",
            "",
            "详情：ops-watch findings show <编号>",
        ]
    )


def _payload(severity: str = "critical", state: str = "new") -> dict[str, Any]:
    return {
        "source": "ops-watch",
        "site": "示例大数据中心",
        "status": "firing",
        "subject": f"[ops-watch][严重] {ZH}",
        "findings": [
            {"id": 12, "state": state, "severity": severity, "summary": ZH, "rule": "backup-failed"}
        ],
    }


def _add(store, channel: str, receiver: str, n: int = 1, **fields: Any) -> list[int]:
    ids = []
    with store.session() as s:
        for i in range(n):
            msg = OutboxMessage(
                channel=channel,
                receiver=receiver,
                created_at=T0,
                recipients=[],
                subject=fields.get("subject", f"[ops-watch][严重] {ZH}"),
                body_text=fields.get("body_text", _markdown()),
                body_html="",
                message_id=f"<{channel}.{receiver}.{i}.{len(ids)}.{time.monotonic_ns()}@ops-watch.local>",
                references="",
                payload=fields.get("payload", _payload()),
                status="pending",
                attempts=0,
                next_attempt_at=T0,
                last_error="",
            )
            s.add(msg)
            s.flush()
            ids.append(msg.id)
    return ids


def _row(store, mid: int) -> OutboxMessage:
    with store.session() as s:
        row = s.get(OutboxMessage, mid)
        s.expunge(row)
        return row


def _no_secrets(text: str) -> None:
    for secret in (DING_TOKEN, DING_SECRET, WECOM_KEY, HOOK_SECRET, "access_token=4f", "key=693a"):
        assert secret not in text


# ---- DingTalk -------------------------------------------------------------------------------------


def test_dingtalk_signed_message_is_sent_once_with_its_markdown_and_mentions(
    store, config_file, tmp_path, serve
):
    ding = FakeDingTalk()
    server = serve(ding)
    receiver = {"name": "duty-chat", "dingtalk": _ding_receiver(tmp_path, server, at_mobiles=["13800138000"])}
    cfg = _config(config_file, [receiver])
    (critical,) = _add(store, "dingtalk", "duty-chat")
    (warning,) = _add(store, "dingtalk", "duty-chat", payload=_payload("warning"))

    result = deliver_due(store, cfg, T0)
    assert (result.sent, result.failed) == (2, 0), result.errors
    assert deliver_due(store, cfg, T0 + timedelta(hours=1)).sent == 0  # sent once, not again
    assert len(ding.accepted) == 2
    first, second = ding.accepted
    assert first["msgtype"] == "markdown"
    assert first["markdown"]["title"] == f"[ops-watch][严重] {ZH}"
    assert first["markdown"]["text"].startswith(_markdown())  # Chinese and escapes arrive intact
    # A critical finding @s the duty phones, in the "at" list and in the text (DingTalk needs both).
    assert first["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}
    assert first["markdown"]["text"].endswith("@13800138000")
    assert second["at"] == {"atMobiles": [], "isAtAll": False}
    assert second["markdown"]["text"] == _markdown()
    assert server.requests[0].headers["content-type"].startswith("application/json")
    for mid in (critical, warning):
        row = _row(store, mid)
        assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
        assert row.sent_at is not None


def test_dingtalk_without_a_signing_secret_sends_no_signature(store, config_file, tmp_path, serve):
    ding = FakeDingTalk(secret="")
    server = serve(ding)
    url = _secret_file(tmp_path, "dingtalk-url", f"{server.base}/robot/send?access_token={DING_TOKEN}")
    cfg = _config(config_file, [{"name": "chat", "dingtalk": {"url_file": str(url)}}])
    (mid,) = _add(store, "dingtalk", "chat")
    assert deliver_due(store, cfg, T0).sent == 1
    assert "sign" not in server.requests[0].query and "timestamp" not in server.requests[0].query
    assert _row(store, mid).status == "sent"


@pytest.mark.parametrize(
    "fake, words",
    [
        (FakeDingTalk(secret="SECsomeone-else-s-secret-0000"), "310000"),  # a wrong signing secret
        (FakeDingTalk(clock_skew=2 * 3600), "310000"),  # this server's clock two hours behind DingTalk's
    ],
    ids=["wrong-secret", "clock-off"],
)
def test_dingtalk_refusal_keeps_the_message_pending_with_backoff(
    store, config_file, tmp_path, serve, fake, words
):
    fake.accepted.clear()
    server = serve(fake)
    cfg = _config(config_file, [{"name": "duty-chat", "dingtalk": _ding_receiver(tmp_path, server)}])
    (mid,) = _add(store, "dingtalk", "duty-chat")

    result = deliver_due(store, cfg, T0)
    assert (result.sent, result.failed) == (0, 1)
    row = _row(store, mid)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == T0 + backoff(cfg, 1)
    assert "dingtalk receiver 'duty-chat'" in row.last_error
    assert "the robot refused the message: errcode 310000" in row.last_error
    assert words in row.last_error and "clock" in row.last_error  # the hint says what to check
    assert f"{server.base}/robot/send" in row.last_error  # the URL, without its query
    _no_secrets(row.last_error)
    _no_secrets(json.dumps(result.errors))
    assert fake.accepted == []
    # Not due again before the backoff ends.
    assert deliver_due(store, cfg, T0 + backoff(cfg, 1) - timedelta(seconds=1)).failed == 0
    assert _row(store, mid).attempts == 1


def test_dingtalk_long_markdown_is_cut_under_the_limit(store, config_file, tmp_path, serve):
    ding = FakeDingTalk()
    server = serve(ding)
    receiver = {"name": "duty-chat", "dingtalk": _ding_receiver(tmp_path, server, at_mobiles=["13800138000"])}
    cfg = _config(config_file, [receiver])
    lines = [f"- [警告] 第 {i} 台云主机 `vm-{i}` 磁盘使用率 95\\.{i % 10}% (#{i})" for i in range(1500)]
    long = _markdown() + "\n" + "\n".join(lines)
    assert len(long.encode()) > 2 * DINGTALK_MAX_BYTES
    (mid,) = _add(store, "dingtalk", "duty-chat", body_text=long)

    assert deliver_due(store, cfg, T0).sent == 1
    text = ding.accepted[0]["markdown"]["text"]
    assert len(text.encode("utf-8")) <= DINGTALK_MAX_BYTES
    assert text.startswith(_markdown())
    assert CUT_NOTE in text and text.endswith("@13800138000")  # the @ survives the cut
    assert "ops-watch" in text  # a robot's keyword security (关键词) still finds its word
    assert "cut to" in _row(store, mid).last_error  # the note of a sent message says so


# ---- WeCom ---------------------------------------------------------------------------------------


def test_wecom_message_is_sent_and_long_markdown_is_cut_to_4096_bytes(store, config_file, tmp_path, serve):
    wecom = FakeWeCom()
    server = serve(wecom)
    cfg = _config(config_file, [{"name": "ops-group", "wecom": _wecom_receiver(tmp_path, server)}])
    (short,) = _add(store, "wecom", "ops-group")
    long = (
        _markdown()
        + "\n"
        + "\n".join(f"- [严重] 门禁「东{i}门」无人值守超过 2 小时 (#{i})" for i in range(400))
    )
    (cut,) = _add(store, "wecom", "ops-group", body_text=long)

    assert deliver_due(store, cfg, T0).sent == 2
    first, second = wecom.accepted
    assert first == {"msgtype": "markdown", "markdown": {"content": _markdown()}}
    content = second["markdown"]["content"]
    assert len(content.encode("utf-8")) <= WECOM_MAX_BYTES
    assert content.startswith(_markdown()) and content.endswith(CUT_NOTE)
    assert _row(store, short).last_error == ""
    assert "4096" in _row(store, cut).last_error


def test_wecom_invalid_key_is_refused_without_showing_the_key(store, config_file, tmp_path, serve):
    server = serve(FakeWeCom(key="another-key-0000"))
    cfg = _config(config_file, [{"name": "ops-group", "wecom": _wecom_receiver(tmp_path, server)}])
    (mid,) = _add(store, "wecom", "ops-group")
    assert deliver_due(store, cfg, T0).failed == 1
    row = _row(store, mid)
    assert row.status == "pending"
    assert "wecom receiver 'ops-group'" in row.last_error and "errcode 93000" in row.last_error
    assert "url_file" in row.last_error  # what to check
    _no_secrets(row.last_error)  # even though the server echoed the key


@pytest.mark.parametrize(
    "reply, words",
    [
        ((500, b"internal error"), "HTTP 500"),
        ((200, b"<html>gateway login</html>"), "not JSON"),
        ((200, {"ok": True}), "no errcode"),
        ((200, {"errcode": 45009, "errmsg": "api freq out of limit"}), "too fast"),
        ((302, b""), "HTTP 302"),  # a redirect is not followed
    ],
    ids=["500", "not-json", "no-errcode", "rate-limit", "redirect"],
)
def test_wecom_bad_answers_are_failures_retried_later(store, config_file, tmp_path, serve, reply, words):
    replies = [reply]

    def respond(req: Request) -> Reply:
        return replies.pop(0) if replies else FakeWeCom()(req)

    server = serve(respond)
    cfg = _config(config_file, [{"name": "ops-group", "wecom": _wecom_receiver(tmp_path, server)}])
    (mid,) = _add(store, "wecom", "ops-group")
    assert deliver_due(store, cfg, T0).failed == 1
    row = _row(store, mid)
    assert row.status == "pending" and words in row.last_error
    _no_secrets(row.last_error)
    assert deliver_due(store, cfg, row.next_attempt_at).sent == 1  # the retry goes through
    assert _row(store, mid).status == "sent"


# ---- generic webhook -----------------------------------------------------------------------------


def test_generic_webhook_posts_the_payload_with_a_verifiable_hmac(store, config_file, tmp_path, serve):
    hook = FakeHook()
    server = serve(hook)
    secret = _secret_file(tmp_path, "hook-secret", HOOK_SECRET)
    receiver = {
        "name": "itsm",
        "webhook": {"url": f"{server.base}/hooks/ops-watch", "hmac_secret_file": str(secret)},
    }
    cfg = _config(config_file, [receiver])
    (mid,) = _add(store, "webhook", "itsm")
    message_id = _row(store, mid).message_id

    assert deliver_due(store, cfg, T0).sent == 1
    (req,) = hook.accepted  # the server verified the signature
    assert req.path == "/hooks/ops-watch"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-ops-watch-message-id"] == message_id
    assert json.loads(req.body.decode("utf-8")) == _payload()
    assert ZH.encode("utf-8") in req.body  # UTF-8, not \\u escapes
    assert b": " not in req.body and b", " not in req.body  # compact
    assert _row(store, mid).status == "sent"


def test_generic_webhook_signed_with_another_secret_is_refused(store, config_file, tmp_path, serve):
    server = serve(FakeHook(secret="the-receiver-s-own-secret"))
    secret = _secret_file(tmp_path, "hook-secret", HOOK_SECRET)
    receiver = {"name": "itsm", "webhook": {"url": f"{server.base}/hooks/x", "hmac_secret_file": str(secret)}}
    cfg = _config(config_file, [receiver])
    (mid,) = _add(store, "webhook", "itsm")
    assert deliver_due(store, cfg, T0).failed == 1
    row = _row(store, mid)
    assert "webhook receiver 'itsm'" in row.last_error and "HTTP 401" in row.last_error
    _no_secrets(row.last_error)


def test_generic_webhook_without_secret_has_no_signature(store, config_file, tmp_path, serve):
    hook = FakeHook(secret="")
    server = serve(hook)
    cfg = _config(config_file, [{"name": "itsm", "webhook": {"url": f"{server.base}/hooks/x"}}])
    _add(store, "webhook", "itsm")
    assert deliver_due(store, cfg, T0).sent == 1
    assert "x-ops-watch-signature" not in hook.accepted[0].headers
    assert hook.accepted[0].headers["x-ops-watch-timestamp"].isdigit()


def test_a_failing_receiver_does_not_hold_up_another(store, config_file, tmp_path, serve):
    broken = serve(FakeHook(secret="", statuses=[500] * 10))
    wecom = FakeWeCom()
    good = serve(wecom)
    cfg = _config(
        config_file,
        [
            {"name": "itsm", "webhook": {"url": f"{broken.base}/hooks/x?token=query-token-123456"}},
            {"name": "ops-group", "wecom": _wecom_receiver(tmp_path, good)},
        ],
    )
    first, second = _add(store, "webhook", "itsm", n=2)
    (other,) = _add(store, "wecom", "ops-group")

    result = deliver_due(store, cfg, T0)
    assert (result.sent, result.failed) == (1, 1)
    assert _row(store, other).status == "sent" and len(wecom.accepted) == 1
    row = _row(store, first)
    assert row.status == "pending" and "HTTP 500" in row.last_error and "upstream broke" in row.last_error
    assert "query-token-123456" not in row.last_error and f"{broken.base}/hooks/x" in row.last_error
    # The second message for the failing receiver waits for the next pass instead of failing too.
    assert _row(store, second).attempts == 0 and len(broken.requests) == 1


# ---- the server down, slow, or a secret missing -----------------------------------------------------


def test_robot_down_then_back_is_retried_and_sent(store, config_file, tmp_path, serve):
    ding = FakeDingTalk()
    server = serve(ding)
    receiver = {"name": "duty-chat", "dingtalk": _ding_receiver(tmp_path, server)}
    cfg = _config(config_file, [receiver])
    server.stop()  # nothing listens on its port any more
    (mid,) = _add(store, "dingtalk", "duty-chat")

    assert deliver_due(store, cfg, T0).failed == 1
    row = _row(store, mid)
    assert row.status == "pending" and "cannot connect" in row.last_error
    assert "dingtalk receiver 'duty-chat'" in row.last_error
    _no_secrets(row.last_error)

    # The robot is back, on another address: the URL file is read again at each send.
    back = serve(ding)
    _secret_file(tmp_path, "dingtalk-url", f"{back.base}/robot/send?access_token={DING_TOKEN}")
    assert deliver_due(store, cfg, row.next_attempt_at).sent == 1
    row = _row(store, mid)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(ding.accepted) == 1


def test_a_robot_that_does_not_answer_times_out(store, config_file, tmp_path, serve):
    release = threading.Event()

    def hang(req: Request) -> Reply:
        release.wait(30)
        return 200, {"errcode": 0, "errmsg": "ok"}

    server = serve(hang)
    url = _secret_file(tmp_path, "wecom-url", f"{server.base}/cgi-bin/webhook/send?key={WECOM_KEY}")
    cfg = _config(config_file, [{"name": "ops-group", "wecom": {"url_file": str(url), "timeout": "1s"}}])
    (mid,) = _add(store, "wecom", "ops-group")
    try:
        assert deliver_due(store, cfg, T0).failed == 1
    finally:
        release.set()
    row = _row(store, mid)
    assert row.status == "pending" and "no answer within 1s" in row.last_error
    _no_secrets(row.last_error)


@pytest.mark.parametrize("missing", ["dingtalk-secret", "dingtalk-url"])
def test_a_secret_that_cannot_be_read_is_a_delivery_error_naming_the_setting(
    store, config_file, tmp_path, serve, missing
):
    ding = FakeDingTalk()
    server = serve(ding)
    cfg = _config(config_file, [{"name": "duty-chat", "dingtalk": _ding_receiver(tmp_path, server)}])
    (tmp_path / missing).unlink()  # after the config was loaded (and checked)
    (mid,) = _add(store, "dingtalk", "duty-chat")

    result = deliver_due(store, cfg, T0)
    assert result.failed == 1
    row = _row(store, mid)
    setting = "secret_file" if missing == "dingtalk-secret" else "url_file"
    assert row.status == "pending"
    assert f"notify.receivers['duty-chat'].dingtalk.{setting}" in row.last_error
    assert "cannot read" in row.last_error and "Error:" not in row.last_error  # not a crash
    assert server.requests == []
    _no_secrets(row.last_error)


def test_nothing_listening_on_the_generic_url(store, config_file):
    with socket.socket() as s:  # a port that was free a moment ago, now closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = _config(
        config_file, [{"name": "itsm", "webhook": {"url": f"http://user:pw-123456@127.0.0.1:{port}/h"}}]
    )
    (mid,) = _add(store, "webhook", "itsm")
    assert deliver_due(store, cfg, T0).failed == 1
    row = _row(store, mid)
    assert f"(http://127.0.0.1:{port}/h): cannot connect" in row.last_error
    assert "pw-123456" not in row.last_error
