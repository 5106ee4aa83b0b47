"""Secrets never reach a log line."""

from __future__ import annotations

import io
import json

from ops_watch.core.log import get_logger, register_secret, setup_logging


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


def test_lines_from_many_threads_never_cut_each_other():
    """The scheduler's threads log through structlog and through stdlib logging at once: every line stays whole."""
    import io
    import logging
    import threading
    import time

    class Pipe(io.StringIO):
        """Like a pipe to journald: each write lets the other threads run (a syscall releases the GIL)."""

        def write(self, s: str) -> int:
            n = super().write(s)
            time.sleep(0)
            return n

    stream = Pipe()
    setup_logging("debug", "json", stream=stream)
    log = get_logger("t")
    lib = logging.getLogger("apscheduler.test")

    def ours(n: int) -> None:
        for i in range(300):
            log.info("job done", worker=n, i=i, text="x" * (i % 50))

    def theirs() -> None:
        for i in range(300):
            lib.debug("Looking for jobs to run %d", i)

    threads = [threading.Thread(target=ours, args=(n,)) for n in range(4)] + [
        threading.Thread(target=theirs) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 8 * 300
    ours_lines = [line for line in lines if line.startswith("{")]
    assert len(ours_lines) == 4 * 300 and all(json.loads(line)["event"] == "job done" for line in ours_lines)
    assert all(
        line.startswith("DEBUG apscheduler.test: Looking for jobs")
        for line in lines
        if not line.startswith("{")
    )
