"""The shipped systemd unit: its shape, and systemd's own rating of its sandbox."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import component_missing, require_component

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNIT = DEPLOY / "ops-watch.service"
SYSUSERS = DEPLOY / "ops-watch.sysusers.conf"
MAX_EXPOSURE = 2.0


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> every value given (systemd keys may repeat; comments and blanks skipped)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: {line!r} before any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return parse_unit(UNIT)["Service"]


def one(service: dict[str, list[str]], key: str) -> str:
    values = service.get(key)
    assert values, f"{key}= is not set"
    assert len(values) == 1, f"{key}= is set {len(values)} times"
    return values[0]


def test_unit_is_a_notify_service_running_the_daemon(service: dict[str, list[str]]) -> None:
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    exec_start = one(service, "ExecStart").split()
    assert exec_start[0] == "/opt/ops-watch/venv/bin/ops-watch"
    assert exec_start[-1] == "run"
    assert exec_start[1:3] == ["--config", "/etc/ops-watch/config.toml"]
    assert one(service, "ExecReload") == "/bin/kill -HUP $MAINPID"


def test_unit_has_a_watchdog_and_restarts_on_failure(service: dict[str, list[str]]) -> None:
    watchdog = one(service, "WatchdogSec")
    assert re.fullmatch(r"\d+", watchdog) and int(watchdog) > 0, watchdog
    assert one(service, "Restart") == "on-failure"
    # SIGTERM stops the daemon within 10 s; systemd must give it at least that before SIGKILL.
    assert int(one(service, "TimeoutStopSec")) >= 10


def test_unit_runs_as_the_sysusers_user_with_its_own_directories(service: dict[str, list[str]]) -> None:
    assert one(service, "User") == "ops-watch"
    assert one(service, "Group") == "ops-watch"
    assert one(service, "DynamicUser") == "no"
    for key in ("StateDirectory", "ConfigurationDirectory", "LogsDirectory"):
        assert one(service, key) == "ops-watch"
    assert one(service, "WorkingDirectory") == "/var/lib/ops-watch"
    entries = [
        line.split()
        for line in SYSUSERS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    users = [fields[1] for fields in entries if fields[0] == "u"]
    assert users == ["ops-watch"]


def test_unit_drops_every_capability_and_confines_the_file_system(service: dict[str, list[str]]) -> None:
    assert service["CapabilityBoundingSet"] == [""]
    assert service["AmbientCapabilities"] == [""]
    assert one(service, "NoNewPrivileges") == "yes"
    assert one(service, "ProtectSystem") == "strict"
    assert one(service, "RestrictAddressFamilies").split() == ["AF_UNIX", "AF_INET", "AF_INET6"]
    assert service["SystemCallFilter"][0] == "@system-service"


def test_systemd_rates_the_sandbox_at_most_2(tmp_path: Path) -> None:
    analyze = require_component("systemd-analyze", "apt-get install systemd")
    out = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in out.stderr and "unrecognized option" in out.stderr:
        component_missing(f"{analyze} is too old for --offline (systemd 250 or newer needed)")
    assert out.returncode == 0, out.stderr
    # A misspelt key or a value systemd cannot parse is ignored with a warning (and would not count).
    problems = [line for line in out.stderr.splitlines() if f"{UNIT.name}:" in line]
    assert problems == []
    m = re.search(r"Overall exposure level for ops-watch\.service: (\d+\.\d+)", out.stdout)
    assert m, out.stdout[-2000:]
    assert float(m.group(1)) <= MAX_EXPOSURE, out.stdout


WEB_UNIT = DEPLOY / "ops-watch-web.service"


def test_the_console_unit_serves_as_the_daemons_user_with_the_same_sandbox(service) -> None:
    web = parse_unit(WEB_UNIT)["Service"]
    assert one(web, "ExecStart").split()[-1] == "serve"
    assert "/etc/ops-watch/config.toml" in one(web, "ExecStart")
    for key in ("User", "Group", "StateDirectory", "WorkingDirectory", "UMask", "ProtectSystem"):
        assert one(web, key) == one(service, key), key
    assert web["CapabilityBoundingSet"] == [""]
    assert one(web, "NoNewPrivileges") == "yes"
    assert one(web, "ProcSubset") == "pid"  # it reads nothing host-wide
    assert "LogsDirectory" not in web  # it writes only to the store


def test_systemd_rates_the_console_sandbox_at_most_2() -> None:
    analyze = require_component("systemd-analyze", "apt-get install systemd")
    out = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(WEB_UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in out.stderr and "unrecognized option" in out.stderr:
        component_missing(f"{analyze} is too old for --offline (systemd 250 or newer needed)")
    assert out.returncode == 0, out.stderr
    assert [line for line in out.stderr.splitlines() if f"{WEB_UNIT.name}:" in line] == []
    m = re.search(r"Overall exposure level for ops-watch-web\.service: (\d+\.\d+)", out.stdout)
    assert m, out.stdout[-2000:]
    assert float(m.group(1)) <= MAX_EXPOSURE, out.stdout
