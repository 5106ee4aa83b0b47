"""A warning is a warning in the journal's own terms: `journalctl -p warning` can filter the daemon's log.

systemd connects a service's stderr to a journald stream socket and names it in $JOURNAL_STREAM
(device:inode). journald reads the stream line by line and, with SyslogLevelPrefix=yes (the default), takes a
leading "<N>" (one digit 0-7) as the line's PRIORITY and the rest as MESSAGE; a line without one gets the
stream's default priority (SyslogLevel=, info). systemd is not PID 1 in the test container, so the test plays
systemd's and journald's parts: a real child process logs through setup_logging with its stderr on a Unix
stream socket named in $JOURNAL_STREAM, and the lines read back are parsed with journald's rules
(syslog_parse_priority in systemd's src/basic/syslog-util.c).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOG_INFO = 6  # the stream's default priority: SyslogLevel=info

# The daemon's own events through structlog, a library's through stdlib logging (with a traceback).
CHILD = r"""
import logging
from ops_watch.core.log import get_logger, setup_logging

setup_logging("debug", "auto")
log = get_logger("ops_watch.test")
log.debug("detail", job="ingest")
log.info("ingested", job="ingest", rows=12)
log.warning("door silent", device="door-1", area="门禁", minutes=95)
log.error("smtp refused", receiver="ops@example.org")
log.critical("store unreachable", backend="postgresql")
try:
    raise RuntimeError("boom")
except RuntimeError:
    log.exception("job failed", job="evaluate")
    logging.getLogger("apscheduler.executors").error("Job raised", exc_info=True)
logging.getLogger("paramiko.transport").warning("host key changed for 10.0.0.5")
"""


def parse_priority(line: str) -> tuple[int, str]:
    """journald's reading of one stream line: (PRIORITY, MESSAGE). Like syslog_parse_priority without facility:
    "<" then one to three digits then ">", accepted only as a single digit 0-7; anything else stays text."""
    if line.startswith("<") and ">" in line:
        for k in (2, 3, 4):
            if len(line) > k and line[k] == ">":
                digits = line[1:k]
                if digits.isdigit() and int(digits) <= 7:
                    return int(digits), line[k + 1 :]
                return LOG_INFO, line
    return LOG_INFO, line


def run_child(stderr: int, journal_stream: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "INVOCATION_ID")}
    if journal_stream is not None:
        env["JOURNAL_STREAM"] = journal_stream
    out = subprocess.run(
        [sys.executable, "-c", CHILD], stderr=stderr, stdout=subprocess.PIPE, env=env, cwd=ROOT, timeout=60
    )
    assert out.returncode == 0, out.stdout


def device_inode(fd: int) -> str:
    st = os.fstat(fd)
    return f"{st.st_dev}:{st.st_ino}"


def read_journal_stream() -> list[str]:
    """The lines journald would read from the service's stderr, as systemd would have connected it."""
    journal, service_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with journal, service_end:
        run_child(service_end.fileno(), device_inode(service_end.fileno()))
        service_end.close()
        data = b""
        while chunk := journal.recv(65536):
            data += chunk
    return data.decode("utf-8").splitlines()


def test_each_line_reaches_the_journal_with_its_level_and_its_json_fields() -> None:
    entries = [parse_priority(line) for line in read_journal_stream()]
    events = {}
    for priority, message in entries:
        if message.startswith("{"):
            fields = json.loads(message)  # the JSON after the prefix is intact
            events[fields["event"]] = (priority, fields)
    assert {event: p for event, (p, _) in events.items()} == {
        "detail": 7,
        "ingested": 6,
        "door silent": 4,
        "smtp refused": 3,
        "store unreachable": 2,
        "job failed": 3,
    }
    _, warning = events["door silent"]
    assert warning["level"] == "warning"
    assert (warning["device"], warning["area"], warning["minutes"]) == ("door-1", "门禁", 95)
    assert "RuntimeError: boom" in events["job failed"][1]["exception"]

    # Library lines: every line of a traceback keeps the record's level, or journald would file it as info.
    library = [(p, m) for p, m in entries if not m.startswith("{")]
    raised = [
        p for p, m in library if m.startswith("ERROR apscheduler") or m.startswith(("Traceback", "  ", "Run"))
    ]
    assert len(raised) >= 4 and set(raised) == {3}, library
    assert (4, "WARNING paramiko.transport: host key changed for 10.0.0.5") in library
    # Nothing fell back to the default priority: the filter `journalctl -p warning` sees exactly these.
    assert sorted({p for p, _ in entries}) == [2, 3, 4, 6, 7]
    assert all(not m.startswith("<") for _, m in entries)


@pytest.mark.parametrize("case", ["no JOURNAL_STREAM", "JOURNAL_STREAM of another socket", "garbage"])
def test_outside_the_journal_lines_stay_as_they_are(case: str) -> None:
    """A terminal, a file or a pipe (StandardError=file:, `ops-watch ... 2>log`) gets no "<N>"."""
    other, _peer = socket.socketpair()
    with other, _peer, tempfile.TemporaryFile() as log_file:
        named = {
            "no JOURNAL_STREAM": None,
            "JOURNAL_STREAM of another socket": device_inode(other.fileno()),
            "garbage": "journal",
        }[case]
        run_child(log_file.fileno(), named)
        log_file.seek(0)
        lines = log_file.read().decode("utf-8").splitlines()
    json_lines = [line for line in lines if line.startswith("{")]
    assert [json.loads(line)["level"] for line in json_lines] == [
        "debug",
        "info",
        "warning",
        "error",
        "critical",
        "error",
    ]
    assert "WARNING paramiko.transport: host key changed for 10.0.0.5" in lines
    assert not any(line.startswith("<") for line in lines), lines


@pytest.mark.parametrize("unit", ["ops-watch", "ops-watch-web"])
def test_the_shipped_units_let_journald_read_the_prefix(unit: str) -> None:
    settings = [
        line.strip().partition("=")
        for line in (ROOT / "deploy" / "systemd" / f"{unit}.service").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith(("#", ";"))
    ]
    values = {
        key.strip(): [v.strip() for k, _, v in settings if k.strip() == key.strip()] for key, _, _ in settings
    }
    assert values.get("SyslogLevelPrefix", ["yes"])[-1] == "yes"  # "no" would leave "<4>" in MESSAGE
    assert values["SyslogIdentifier"] == [unit]
    # The journal is where stderr goes (a StandardError=file: would get plain lines, and no PRIORITY).
    assert values.get("StandardError", ["journal"])[-1] in ("journal", "inherit")
    assert values.get("StandardOutput", ["journal"])[-1] == "journal"
