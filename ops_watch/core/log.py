"""structlog set-up: JSON lines under systemd, readable console on a TTY, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"(pass(word|phrase)?|secret|token|authorization|api_key|credential)", re.IGNORECASE
)
_secret_values: set[str] = set()
_lock = threading.Lock()
MASK = "***"


def register_secret(value: str) -> None:
    """Every occurrence of `value` in a log line becomes ***. Short values would mask ordinary words."""
    if value and len(value) >= 4:
        with _lock:
            _secret_values.add(value)


# Secrets written into URLs and query strings (a robot's ?access_token=, a signed ?sign=, a form body's
# client_secret=, user:password@host), whatever logged them: our code, urllib3's or paramiko's debug lines.
_QUERY_SECRET = re.compile(
    r"(?<![\w.-])((?:[\w.-]*[_.-])?(?:access[_-]?token|token|key|apikey|secret|pass(?:word|wd)?|pwd|sign"
    r"|signature|sig|auth|credential|credentials|ticket|session(?:id)?)=)[^&;\s#\"'<>]+",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE)
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{6,}")


def redact_text(text: str) -> str:
    with _lock:
        values = sorted(_secret_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    if "=" in text:
        text = _QUERY_SECRET.sub(rf"\g<1>{MASK}", text)
    if "://" in text:
        text = _URL_USERINFO.sub(rf"\g<1>{MASK}@", text)
    return _AUTH_SCHEME.sub(rf"\g<1> {MASK}", text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (MASK if _SECRET_KEYS.search(str(k)) and v else _redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    return value


def redact_processor(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in event_dict.items():
        if _SECRET_KEYS.search(key) and value:
            out[key] = MASK
        else:
            out[key] = _redact(value if isinstance(value, str | dict | list | tuple) else value)
    return out


def _redact_rendered(_logger: Any, _name: str, rendered: Any) -> Any:
    # Exceptions are rendered to text after the event processors ran: scrub the final line too.
    return redact_text(rendered) if isinstance(rendered, str) else rendered


def setup_logging(level: str = "info", fmt: str = "auto", stream: Any = None) -> None:
    stream = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and hasattr(stream, "isatty") and stream.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if use_console
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_processor,
    ]
    if not use_console:
        processors.append(structlog.processors.format_exc_info)
    processors += [renderer, _redact_rendered]
    # Libraries (apscheduler, paramiko, alembic) log through stdlib logging: route it to the same stream.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    writer = _LineWriter(stream, handler)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *_args: writer,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if level != "debug" else logging.DEBUG)


class _LineWriter:
    """Writes each rendered event as one line, under the stdlib handler's lock: the scheduler's threads log
    through both, and a line must never be cut by another (journald and `ops-watch` tests read JSON lines)."""

    def __init__(self, stream: Any, handler: logging.Handler):
        self._stream = stream
        self._handler = handler

    def msg(self, message: str) -> None:
        self._handler.acquire()
        try:
            self._stream.write(message + "\n")
            self._stream.flush()
        finally:
            self._handler.release()

    log = debug = info = warning = warn = error = err = critical = exception = fatal = failure = msg


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def get_logger(name: str = "ops_watch") -> Any:
    return structlog.get_logger(name)
