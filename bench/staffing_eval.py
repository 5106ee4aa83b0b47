"""The staffing checks at scale: a year of door events and handover sheets for 20 people and 3 shifts.

    python bench/staffing_eval.py                  # SQLite in a temporary directory
    python bench/staffing_eval.py --keep /tmp/staffing.db

Prints, each measured in a fresh process (so the set-up's memory does not count):
- year (2025): every rule of rules/staffing.toml through engine.evaluate with a look-back of 366 days, i.e. a whole
  year of shifts judged at once — the first run (opens the findings) and a second (updates them): wall
  seconds and peak RSS. Target (issue 4): under 10 s.
- daily: the daemon's steady case, one evaluation with the default 35-day look-back.
- replay: `check --since --until` over a month (31 evaluations, 35-day look-back each).
- calibration: a fixed pure-Python loop, to compare figures between machines.

The year: 2025, shifts 早班 00:00–08:00, 白班 08:00–16:00, 中班 16:00–24:00 (2 people each on workdays, 1 on
rest days and holidays), 20 people in rotation, each in through a paired reader before the shift, a visit to
an entry-only duty-room reader, out after; a sheet row per shift. About 1 % of the shifts carry an anomaly
(a ghost, a late arrival, a missing row), so the checks have findings to write.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.staffing.kind_door import dedupe_key  # noqa: E402
from ops_watch.areas.staffing.shifts import shift_instances  # noqa: E402
from ops_watch.core.contract import parse_contract  # noqa: E402
from ops_watch.findings import engine  # noqa: E402
from ops_watch.findings.rules import RuleSet, load_rules  # noqa: E402
from ops_watch.store import open_store  # noqa: E402
from ops_watch.store.schema import DoorEvent, Finding, HandoverShift, StaffMember  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
YEAR = 2025  # a past year: a replay stops at today
AT = datetime(YEAR, 12, 31, 23, 0, tzinfo=ZONE)
PEOPLE = [(f"P{i:02d}", f"员工{i:02d}") for i in range(20)]
CONTRACT = """
[staffing]
grace_minutes = 15
onsite_doors = ["机房门", "值班室"]

[[staffing.shifts]]
name = "早班"
start = "00:00"
end = "08:00"
min_headcount = { workday = 2, rest_day = 1, holiday = 1 }

[[staffing.shifts]]
name = "白班"
start = "08:00"
end = "16:00"
min_headcount = { workday = 2, rest_day = 1, holiday = 1 }
required_roles = ["值班长"]

[[staffing.shifts]]
name = "中班"
start = "16:00"
end = "00:00"
min_headcount = { workday = 2, rest_day = 1, holiday = 1 }
"""


def contract() -> dict:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(CONTRACT), "contract.toml", problems)
    assert not problems, problems
    return out


def ruleset(lookback: timedelta) -> RuleSet:
    """rules/staffing.toml with the look-back set, on this bench's contract."""
    rules = load_rules(ROOT / "rules")
    staffing = [r for r in rules.rules if r.check.area == "staffing"]
    out = [
        dataclasses.replace(r, params=r.params.model_copy(update={"lookback": lookback})) for r in staffing
    ]
    return RuleSet(rules=out, contract=contract())


def build(url: str) -> dict[str, int]:
    rng = random.Random(2026)
    store = open_store(url)
    with store.session() as s:
        s.execute(
            insert(StaffMember),
            [
                {
                    "person_id": pid,
                    "name": name,
                    "card_numbers": [f"C{pid}"],
                    "role": "值班长" if i < 6 else "工程师",
                    "employer": "运维公司",
                    "active_from": date(2020, 1, 1),
                    "active_to": None,
                    "certificates": [],
                    "updated_at": datetime(YEAR, 1, 1, tzinfo=UTC),
                }
                for i, (pid, name) in enumerate(PEOPLE)
            ],
        )
    terms = contract()["staffing"]
    instances = shift_instances(terms, date(YEAR, 1, 1), date(YEAR, 12, 31), ZONE)
    events, sheets, serial = [], [], 0
    for k, inst in enumerate(instances):
        leads = [PEOPLE[(k * 7 + j) % 6] for j in range(1)]
        others = [PEOPLE[6 + (k * 5 + j) % 14] for j in range(max(0, inst.min_headcount - 1))]
        team = leads + others
        anomaly = rng.random()
        listed = [name for _, name in team]
        for pid, _ in team:
            if anomaly < 0.003 and pid == team[-1][0]:
                continue  # a ghost
            arrive = inst.start - timedelta(minutes=rng.randint(6, 25))
            if anomaly > 0.995 and pid == team[0][0]:
                arrive = inst.start + timedelta(minutes=70)  # late
            visit = inst.start + (inst.end - inst.start) / 2 + timedelta(minutes=rng.randint(-60, 60))
            leave = inst.end + timedelta(minutes=rng.randint(2, 19))
            for at, door, direction in (
                (arrive, "机房门", "in"),
                (visit, "值班室", ""),
                (leave, "机房门", "out"),
            ):
                serial += 1
                at = at.astimezone(UTC)
                events.append(
                    {
                        "at": at,
                        "person_id": pid,
                        "name": "",
                        "card_no": f"C{pid}",
                        "door": door,
                        "direction": direction,
                        "result": "granted",
                        "device": "bench",
                        "serial_no": str(serial),
                        "dedupe_key": dedupe_key(at, pid, f"C{pid}", door, "bench", str(serial)),
                        "batch_id": None,
                    }
                )
        if 0.003 <= anomaly < 0.006:
            continue  # a missing row
        sheets.append(
            {
                "date": inst.day,
                "shift": inst.shift,
                "on_duty": listed,
                "handover_at": inst.end,
                "handed_over_by": listed[0],
                "taken_over_by": PEOPLE[((k + 1) * 7) % 6][1],
                "notes": "",
                "batch_id": None,
                "updated_at": datetime(YEAR, 1, 1, tzinfo=UTC),
            }
        )
    with store.session() as s:
        for i in range(0, len(events), 5000):
            s.execute(insert(DoorEvent), events[i : i + 5000])
        s.execute(insert(HandoverShift), sheets)
    store.dispose()
    return {"shifts": len(instances), "door_events": len(events), "sheet_rows": len(sheets)}


def measure(url: str, what: str) -> dict[str, float]:
    plugins.load()
    store = open_store(url)
    started = time.perf_counter()
    if what == "replay":
        rules = ruleset(timedelta(days=35))
        engine.replay(store, rules, date(YEAR, 12, 1), date(YEAR, 12, 31), zone=ZONE)
    else:
        rules = ruleset(timedelta(days=366 if what.startswith("year") else 35))
        result = engine.evaluate(store, rules, AT, zone=ZONE)
        assert result.failed_rules == {}, result.failed_rules
    seconds = time.perf_counter() - started
    with store.session() as s:
        findings = s.scalar(select(func.count()).select_from(Finding)) or 0
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "findings": findings,
    }


def calibration() -> float:
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i % 7
    return round(time.perf_counter() - started, 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="Write the SQLite database here and keep it.")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.url, args.measure)))
        return
    workdir = Path(tempfile.mkdtemp(prefix="ops-watch-bench-"))
    db = args.keep or workdir / "staffing.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    started = time.perf_counter()
    sizes = build(url)
    print(
        f"set-up: {sizes['shifts']} shifts, {sizes['door_events']:,} door events, {sizes['sheet_rows']} sheet rows "
        f"in {time.perf_counter() - started:.1f} s"
    )
    print(f"calibration loop: {calibration()} s")

    def child(what: str) -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, __file__, "--measure", what, "--url", url],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    year1, year2 = child("year-first"), child("year-again")
    daily, replay = child("daily"), child("replay")
    print("")
    print(f"{'run':<40} {'seconds':>8} {'peak RSS MiB':>13} {'findings':>9}")
    for label, r in (
        ("a year judged at once (first run)", year1),
        ("a year judged at once (again)", year2),
        ("one evaluation, 35-day look-back", daily),
        ("replay of December (31 evaluations)", replay),
    ):
        print(f"{label:<40} {r['seconds']:>8} {r['peak_rss_mib']:>13} {r['findings']:>9}")
    worst = max(year1["seconds"], year2["seconds"])
    print("")
    print(f"target: a year of staffing checks under 10 s: {'PASS' if worst < 10 else 'MISS'} ({worst} s)")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
