"""Secrets never reach a log line."""

from __future__ import annotations

import io
import json

from ops_watch.log import get_logger, register_secret, setup_logging


def test_json_lines_redact_registered_secrets_and_secret_keys():
    stream = io.StringIO()
    setup_logging("info", "json", stream=stream)
    register_secret("Tr0ub4dor&3")
    log = get_logger("t")
    log.info(
        "login failed",
        password="whatever",
        detail="server said: bad password Tr0ub4dor&3",
        nested={"token": "abc", "host": "127.0.0.1"},
    )
    try:
        raise RuntimeError("auth with Tr0ub4dor&3 refused")
    except RuntimeError:
        log.error("boom", exc_info=True)
    out = stream.getvalue()
    assert "Tr0ub4dor&3" not in out and "whatever" not in out
    first = json.loads(out.splitlines()[0])
    assert first["password"] == "***"
    assert first["detail"] == "server said: bad password ***"
    assert first["nested"] == {"token": "***", "host": "127.0.0.1"}
    assert first["event"] == "login failed" and first["level"] == "info"


def test_console_format_is_readable_text():
    stream = io.StringIO()
    setup_logging("info", "console", stream=stream)
    get_logger("t").info("hello", job="ingest")
    line = stream.getvalue()
    assert "hello" in line and "job=ingest" in line and not line.startswith("{")


def test_level_filters_lower_events():
    stream = io.StringIO()
    setup_logging("warning", "json", stream=stream)
    get_logger("t").info("quiet")
    get_logger("t").warning("loud")
    assert [json.loads(x)["event"] for x in stream.getvalue().splitlines()] == ["loud"]
