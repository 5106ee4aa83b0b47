"""structlog set-up: JSON lines under systemd (with the journal's <N> priority), readable console on a TTY,
secrets redacted."""

from __future__ import annotations

import logging
import os
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


# syslog priorities (sd-daemon(3)): journald strips a leading "<N>" from each line of a service's output and
# stores N as PRIORITY (SyslogLevelPrefix=yes, systemd's default), so `journalctl -p warning` can filter.
_PRIORITY = {
    "debug": 7,
    "info": 6,
    "notice": 5,
    "warning": 4,
    "warn": 4,
    "error": 3,
    "err": 3,
    "exception": 3,
    "failure": 3,
    "critical": 2,
    "fatal": 2,
}


def is_journal_stream(stream: Any) -> bool:
    """True when `stream` is the journal itself: systemd puts the device:inode of the stream it connected to
    stdout/stderr in $JOURNAL_STREAM (systemd.exec(5)). Not $INVOCATION_ID: a unit with StandardError=file:
    or a shell redirect under systemd-run has it too, and a "<4>" there would only be noise."""
    dev, sep, ino = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not (sep and dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.StringIO and closed streams have no usable fileno
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def _with_priority(text: str, priority: int) -> str:
    # journald parses the prefix per line: a traceback's later lines would otherwise fall back to info.
    prefix = f"<{priority}>"
    return prefix + text.replace("\n", "\n" + prefix)


def _priority_prefix(_logger: Any, name: str, rendered: Any) -> Any:
    return _with_priority(rendered, _PRIORITY.get(name, 6)) if isinstance(rendered, str) else rendered


def setup_logging(level: str = "info", fmt: str = "auto", stream: Any = None) -> None:
    stream = stream or sys.stderr
    journal = is_journal_stream(stream)
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
    if journal:
        processors.append(_priority_prefix)
    # Libraries (apscheduler, paramiko, alembic) log through stdlib logging: route it to the same stream.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_RedactingFormatter("%(levelname)s %(name)s: %(message)s", journal=journal))
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
    def __init__(self, fmt: str, journal: bool = False):
        super().__init__(fmt)
        self._journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = redact_text(super().format(record))
        if self._journal:
            # By number, not name: a library's own level (e.g. TRACE 5) still lands in the right band.
            n = record.levelno
            text = _with_priority(
                text, 2 if n >= 50 else 3 if n >= 40 else 4 if n >= 30 else 6 if n >= 20 else 7
            )
        return text


def get_logger(name: str = "ops_watch") -> Any:
    return structlog.get_logger(name)
