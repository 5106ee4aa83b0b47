"""Parsers of /proc/stat, /proc/meminfo and `df -P -k`: data-file cases, then CPU % from counter deltas.

Each tests/data/procfs/<case>.json holds the command output, which parser reads it, and either the
expected value (the parsed fields) or a piece of the expected ParseError's message.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ops_watch.sources.procfs import (
    SNAPSHOT_SCRIPT,
    CpuCounters,
    ParseError,
    cpu_percent,
    parse_df,
    parse_meminfo,
    parse_proc_stat,
    parse_snapshot,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "procfs"
CASES = sorted(DATA.glob("*.json"))


def as_dict(value: Any) -> Any:
    """A parser's result in the shape of the data files: fields plus the derived figures."""
    if not dataclasses.is_dataclass(value):
        return value
    if isinstance(value, CpuCounters):
        return dataclasses.asdict(value)
    out = {f.name: as_dict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    for derived in ("used_percent", "used_gb", "total_gb"):
        if hasattr(value, derived):
            out[derived] = getattr(value, derived)
    return out


PARSERS = {
    "proc_stat": parse_proc_stat,
    "meminfo": parse_meminfo,
    "df": parse_df,
    "snapshot": parse_snapshot,
}


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_data_file_case(case: Path) -> None:
    spec = json.loads(case.read_text(encoding="utf-8"))
    parse = PARSERS[spec["parser"]]
    if "error" in spec:
        with pytest.raises(ParseError) as caught:
            parse(spec["output"])
        assert spec["error"] in str(caught.value)
    else:
        assert as_dict(parse(spec["output"])) == spec["expected"]


def test_every_parser_has_cases() -> None:
    kinds = {json.loads(c.read_text(encoding="utf-8"))["parser"] for c in CASES}
    assert kinds == set(PARSERS)


def counters(user: int, system: int, idle: int, iowait: int = 0, steal: int = 0) -> CpuCounters:
    return CpuCounters(user=user, nice=0, system=system, idle=idle, iowait=iowait, steal=steal)


def test_cpu_percent_from_deltas() -> None:
    prev = counters(1000, 500, 10_000)
    cur = counters(1000 + 150, 500 + 50, 10_000 + 800)  # 200 busy of 1000
    assert cpu_percent(prev, cur) == 20.0


def test_cpu_percent_counts_iowait_as_waiting_and_steal_as_busy() -> None:
    prev = counters(0, 0, 0)
    cur = counters(100, 0, 600, iowait=200, steal=100)  # busy = 1000 - 600 - 200
    assert cpu_percent(prev, cur) == 20.0


def test_cpu_percent_first_poll_is_none() -> None:
    assert cpu_percent(None, counters(1, 1, 1)) is None


def test_cpu_percent_no_time_passed_is_none() -> None:
    c = counters(5, 5, 5)
    assert cpu_percent(c, c) is None


def test_cpu_percent_after_reboot_or_wrap_is_none() -> None:
    before = counters(900_000, 100_000, 9_000_000)
    after_reboot = counters(1_000, 500, 20_000)
    assert cpu_percent(before, after_reboot) is None
    # one counter wrapped (a 32-bit kernel), the others went on
    assert cpu_percent(before, counters(900_100, 100_050, 5)) is None


def test_cpu_percent_between_two_real_readings() -> None:
    a = parse_proc_stat("cpu  186822 0 47073 1599343 2722 0 887 1291 0 0\n")
    b = parse_proc_stat("cpu  186941 0 47082 1599461 2722 0 1213 1565 0 0\n")
    # total delta 119+9+118+326+274 = 846, waiting 118: busy 728
    assert cpu_percent(a, b) == round(100 * 728 / 846, 2)


def test_snapshot_script_runs_on_this_host() -> None:
    """The command the SSH source sends, run by the local POSIX sh: every section parses."""
    done = subprocess.run(["sh", "-c", SNAPSHOT_SCRIPT], capture_output=True, text=True, timeout=30)
    snapshot = parse_snapshot(done.stdout)
    assert snapshot.cpu.total > 0
    assert 0 <= snapshot.memory.used_percent <= 100
    assert snapshot.disk.total_kb >= snapshot.disk.used_kb > 0
    assert done.stdout.rstrip("\n").endswith("@@ops-watch end")
