"""Chat robots and webhooks: DingTalk (钉钉) and WeCom (企业微信) group robots, and a generic JSON POST.

The outbox (ops_watch.notify.outbox) builds one transport per channel and receiver for a delivery pass and
calls it once per message. A transport returns "" (or a note, e.g. that the markdown was cut) when the robot
or server accepted the message, and raises DeliveryError otherwise; the outbox retries with backoff.

- DingTalk: a markdown message; with the robot's signing secret (加签) the URL gets `timestamp` and `sign`.
  DingTalk answers HTTP 200 with {"errcode": 0, "errmsg": "ok"}; any other errcode is a refusal.
- WeCom: a markdown message to the URL with its key; answers like DingTalk.
- Generic webhook: the message's payload as compact UTF-8 JSON; with a secret, an HMAC-SHA256 signature over
  "<timestamp>.<body>" in a header. Any 2xx is accepted.

A robot's URL carries its access token (DingTalk) or key (WeCom), so it is a secret like a password: errors
show the URL without its query string or user:password, and every secret value is scrubbed from error text.
Secrets are read at each send, so a rotated file is picked up without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

from ops_watch import __version__
from ops_watch.config import DingTalkReceiver, Receiver, WebhookReceiver
from ops_watch.core.http import error_reason, shown_url
from ops_watch.core.log import redact_text
from ops_watch.notify.email import DeliveryError
from ops_watch.store.schema import OutboxMessage

Transport = Callable[[OutboxMessage], str]

# DingTalk documents about 20,000 bytes for a markdown text; WeCom 4,096 bytes (UTF-8) for markdown content.
DINGTALK_MAX_BYTES = 20_000
WECOM_MAX_BYTES = 4_096
# Appended to a cut message. Both languages: the transport does not know the reader's.
CUT_NOTE = "\n\n……（消息过长，已截断；完整内容见 ops-watch findings / message cut: too long, see ops-watch findings）"
READ_LIMIT = 64 * 1024  # at most this much of an answer is read: a robot's answer is a few bytes
EXCERPT = 200  # characters of an unexpected answer quoted in an error
TIMESTAMP_HEADER = "X-Ops-Watch-Timestamp"
MESSAGE_ID_HEADER = "X-Ops-Watch-Message-Id"
USER_AGENT = f"ops-watch/{__version__}"
JSON_UTF8 = "application/json; charset=utf-8"  # DingTalk asks for the charset to be given

# What a known refusal means, and what to do about it.
ROBOT_HINTS: dict[tuple[str, int], str] = {
    ("dingtalk", 310000): (
        "the robot's security settings refused it: check the signing secret (secret_file / secret_env), "
        "this server's clock (DingTalk allows 1 hour), and the robot's keywords and IP allow-list"
    ),
    ("dingtalk", 130101): "sending too fast (a robot takes 20 messages a minute); retried later",
    ("wecom", 93000): "the webhook URL or its key is not valid: check url_file / url_env",
    ("wecom", 45009): "sending too fast (a robot takes 20 messages a minute); retried later",
}
# Query parameters that carry a credential, masked in any text even when their value is not known here.
_SECRET_PARAM = re.compile(r"(\b(?:access_token|key|sign|token|secret)=)[^&\s'\"()]+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# ---- pure helpers ---------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签 value, ready for the query string.

    As documented: the string to sign is "<timestamp>\\n<secret>", signed with HMAC-SHA256 keyed by the
    secret (UTF-8), then Base64-encoded, then URL-encoded.
    """
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot URL with `timestamp` and `sign` added to its query (which holds the access_token)."""
    parts = urlsplit(url)
    extra = f"timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The generic webhook's signature header value: "sha256=" + hex HMAC-SHA256 of b"<timestamp>." + body."""
    signed = f"{timestamp}.".encode("ascii") + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def cut_utf8(text: str, limit: int, note: str = CUT_NOTE) -> tuple[str, bool]:
    """`text` within `limit` UTF-8 bytes: unchanged if it fits, else cut (with `note`) and True.

    The cut falls on a character boundary, preferably at the end of a line (a finding's line is kept
    whole), and never leaves a dangling markdown escape.
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    budget = max(0, limit - len(note.encode("utf-8")))
    head = data[:budget].decode("utf-8", errors="ignore")  # drops a partial character at the end
    line_end = head.rfind("\n")
    if line_end >= len(head) // 2:
        head = head[:line_end]
    head = head.rstrip()
    if (len(head) - len(head.rstrip("\\"))) % 2:  # a lone backslash would escape the note's first character
        head = head[:-1]
    if not budget:  # a limit smaller than the note: the note alone, itself cut
        return note.encode("utf-8")[:limit].decode("utf-8", errors="ignore"), True
    return head + note, True


def mentions(cfg: DingTalkReceiver, payload: dict[str, Any]) -> list[str]:
    """Phone numbers to @: the receiver's at_mobiles when the message tells of a critical finding not resolved."""
    findings = payload.get("findings") if isinstance(payload, dict) else None
    if not cfg.at_mobiles or not isinstance(findings, list):
        return []
    critical = any(
        isinstance(f, dict) and f.get("severity") == "critical" and f.get("state") != "resolved"
        for f in findings
    )
    return list(cfg.at_mobiles) if critical else []


class _Scrubber:
    """Removes a transport's secrets (URL, token, key, signing secret) from text before it is shown."""

    def __init__(self, url: str, *secrets: str):
        parts = urlsplit(url)
        values = {url, *secrets, parts.query, parts.password or ""}
        values |= {v for _, v in parse_qsl(parts.query, keep_blank_values=True)}
        values |= {quote(v, safe="") for v in list(values)} | {quote_plus(v) for v in list(values)}
        # Short values would mask ordinary words; a real token or key is long.
        self.values = sorted((v for v in values if len(v) >= 6), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, "***")
        return redact_text(_SECRET_PARAM.sub(r"\1***", text))


def _excerpt(content: bytes) -> str:
    text = content[: EXCERPT * 4].decode("utf-8", errors="replace")
    return " ".join(text.split())[:EXCERPT] or "(empty)"


# ---- HTTP ---------------------------------------------------------------------------------------


class _Poster:
    """One receiver's channel: a kept requests.Session, its timeout, and the words errors start with."""

    def __init__(self, channel: str, receiver: str, timeout: float):
        self.channel = channel
        self.receiver = receiver
        self.timeout = max(0.1, timeout)
        # start-up: requests (5 MiB) loads when a webhook is used, not in every daemon (issue 17: its RSS)
        import requests

        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def where(self, url: str = "") -> str:
        shown = f" ({shown_url(url)})" if url else ""
        return f"{self.channel} receiver {self.receiver!r}{shown}"

    def post(
        self, url: str, body: bytes, headers: dict[str, str], scrub: _Scrubber
    ) -> tuple[int, str, bytes]:
        """POST and read (a bounded part of) the answer: (status, reason, content); DeliveryError if none."""
        where = self.where(url)
        # start-up: requests (5 MiB) loads when a webhook is used, not in every daemon (issue 17: its RSS)
        import requests

        try:
            # No redirects: a redirect would send the message (and a token in the URL) somewhere else.
            resp = self.session.post(
                url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False, stream=True
            )
            try:
                content = b""
                for chunk in resp.iter_content(8192):
                    content += chunk
                    if len(content) >= READ_LIMIT:
                        break
            finally:
                resp.close()
        except requests.Timeout:
            raise DeliveryError(f"{where}: no answer within {self.timeout:g}s") from None
        except requests.exceptions.SSLError as exc:
            raise DeliveryError(scrub(f"{where}: TLS error: {error_reason(exc)}")) from None
        except requests.ConnectionError as exc:
            if "timed out" in str(exc):  # the answer's body stalled: requests wraps that read timeout
                raise DeliveryError(f"{where}: the answer stalled for {self.timeout:g}s") from None
            raise DeliveryError(scrub(f"{where}: cannot connect: {error_reason(exc)}")) from None
        except requests.RequestException as exc:
            raise DeliveryError(scrub(f"{where}: {error_reason(exc)}")) from None
        return resp.status_code, resp.reason or "", content[:READ_LIMIT]

    def robot_answer(self, url: str, answer: tuple[int, str, bytes], scrub: _Scrubber) -> None:
        """A robot accepted the message only with HTTP 2xx and {"errcode": 0}."""
        where = self.where(url)
        status, reason, content = answer
        if not 200 <= status < 300:
            raise DeliveryError(scrub(f"{where}: HTTP {status} {reason}: {_excerpt(content)}"))
        try:
            doc = json.loads(content)
        except ValueError:
            raise DeliveryError(scrub(f"{where}: the answer is not JSON: {_excerpt(content)}")) from None
        if not isinstance(doc, dict) or "errcode" not in doc:
            raise DeliveryError(scrub(f"{where}: the answer has no errcode: {_excerpt(content)}"))
        try:
            code = int(doc["errcode"])
        except (TypeError, ValueError):
            raise DeliveryError(
                scrub(f"{where}: the answer's errcode is not a number: {_excerpt(content)}")
            ) from None
        if code != 0:
            errmsg = " ".join(str(doc.get("errmsg", "")).split())[:EXCERPT]
            hint = ROBOT_HINTS.get((self.channel, code))
            text = f"{where}: the robot refused the message: errcode {code} {errmsg!r}"
            raise DeliveryError(scrub(f"{text}; {hint}" if hint else text))


def _read(where: str, setting: str, read: Callable[[], str]) -> str:
    """A secret's value; one that cannot be read is a DeliveryError naming the setting (retried later)."""
    try:
        return read()
    except ValueError as exc:
        raise DeliveryError(f"{where}: cannot read {setting}: {exc}") from None


def _setting(receiver: str, channel: str, name: str, file: Path | None) -> str:
    return f"notify.receivers[{receiver!r}].{channel}.{name}_{'file' if file is not None else 'env'}"


# ---- the transports -----------------------------------------------------------------------------


def dingtalk_transport(receiver: Receiver, base: Path) -> Transport:
    cfg = receiver.dingtalk
    assert cfg is not None
    poster = _Poster("dingtalk", receiver.name, cfg.timeout.total_seconds())

    def send(msg: OutboxMessage) -> str:
        where = poster.where()
        url = _read(
            where, _setting(receiver.name, "dingtalk", "url", cfg.url_file), lambda: cfg.url_value(base)
        )
        secret = _read(
            where,
            _setting(receiver.name, "dingtalk", "secret", cfg.secret_file),
            lambda: cfg.secret_value(base),
        )
        scrub = _Scrubber(url, secret)
        at = mentions(cfg, msg.payload or {})
        # DingTalk shows the @ only when the text names the number too.
        tail = ("\n\n" + " ".join(f"@{m}" for m in at)) if at else ""
        text, cut = cut_utf8(msg.body_text, DINGTALK_MAX_BYTES - len(tail.encode("utf-8")))
        body = {
            "msgtype": "markdown",
            "markdown": {"title": msg.subject, "text": text + tail},
            "at": {"atMobiles": at, "isAtAll": False},
        }
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        # The signature is good for an hour, so it is made for each request, never reused.
        target = dingtalk_url(url, secret, int(time.time() * 1000)) if secret else url
        answer = poster.post(target, data, {"Content-Type": JSON_UTF8}, scrub)
        poster.robot_answer(url, answer, scrub)
        return f"markdown cut to {DINGTALK_MAX_BYTES} bytes (DingTalk's limit)" if cut else ""

    return send


def wecom_transport(receiver: Receiver, base: Path) -> Transport:
    cfg = receiver.wecom
    assert cfg is not None
    poster = _Poster("wecom", receiver.name, cfg.timeout.total_seconds())

    def send(msg: OutboxMessage) -> str:
        where = poster.where()
        url = _read(where, _setting(receiver.name, "wecom", "url", cfg.url_file), lambda: cfg.url_value(base))
        scrub = _Scrubber(url)
        text, cut = cut_utf8(msg.body_text, WECOM_MAX_BYTES)
        body = {"msgtype": "markdown", "markdown": {"content": text}}
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        answer = poster.post(url, data, {"Content-Type": JSON_UTF8}, scrub)
        poster.robot_answer(url, answer, scrub)
        return f"markdown cut to {WECOM_MAX_BYTES} bytes (WeCom's limit)" if cut else ""

    return send


def generic_transport(receiver: Receiver, base: Path) -> Transport:
    cfg: WebhookReceiver | None = receiver.webhook
    assert cfg is not None
    poster = _Poster("webhook", receiver.name, cfg.timeout.total_seconds())

    def send(msg: OutboxMessage) -> str:
        where = poster.where(cfg.url)
        setting = _setting(receiver.name, "webhook", "hmac_secret", cfg.hmac_secret_file)
        secret = _read(where, setting, lambda: cfg.secret_value(base))
        scrub = _Scrubber(cfg.url, secret)
        payload = msg.payload or {"source": "ops-watch", "subject": msg.subject, "text": msg.body_text}
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            # Delivery is at-least-once: the receiver drops a message id it has seen.
            MESSAGE_ID_HEADER: _CONTROL.sub("", msg.message_id),
        }
        if secret:
            headers[cfg.header] = webhook_signature(secret, timestamp, data)
        status, reason, content = poster.post(cfg.url, data, headers, scrub)
        if not 200 <= status < 300:
            raise DeliveryError(scrub(f"{where}: HTTP {status} {reason}: {_excerpt(content)}"))
        return ""

    return send


TRANSPORTS: dict[str, Callable[[Receiver, Path], Transport]] = {
    "dingtalk": dingtalk_transport,
    "wecom": wecom_transport,
    "webhook": generic_transport,
}


def webhook_transport(channel: str, receiver: Receiver, base: Path) -> Transport:
    """The transport for `channel` of `receiver`; `base` is where relative secret files are looked up."""
    build = TRANSPORTS.get(channel)
    if build is None:
        raise DeliveryError(f"unknown channel {channel!r} (known: email, {', '.join(TRANSPORTS)})")
    if getattr(receiver, channel) is None:
        raise DeliveryError(
            f"receiver {receiver.name!r} has no {channel} settings any more (check the config)"
        )
    return build(receiver, base)


__all__ = [
    "CUT_NOTE",
    "DINGTALK_MAX_BYTES",
    "WECOM_MAX_BYTES",
    "cut_utf8",
    "dingtalk_sign",
    "dingtalk_url",
    "mentions",
    "webhook_signature",
    "webhook_transport",
]
