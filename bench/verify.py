"""A year of one site's evidence, sealed: what verifying it costs, and what sealing adds to an ingest (issue 22).

    python bench/verify.py                 # the year at full size (about ten minutes on 2 cores)
    python bench/verify.py --scale 0.05    # a quick run: every size times 0.05 (the year stays a year)
    python bench/verify.py --keep          # keep the working folder (store, files) and print where it is

The year, built in a fresh SQLite store in a temporary folder:
- 1,000,000 door events in 52 weekly CSV files in the door system's export shape (bench/door_ingest.py's
  columns, people and doors; device serials run on from week to week), each ingested by
  ops_watch.ingest.ingest_file: 52 sealed batches, then indexed as the trail job indexes them (trail/index.py);
- a year of hourly utilization for 1,000 resources (8.76 M rows of utilization_hourly) written by the driver's
  executemany, as the Prometheus back-fill writes them, then sealed by UTC day (trail/rollups.seal_days);
- 10,000 finding events (2,500 findings, four events each) written through Store.session() in chunks: each
  commit seals them into the decisions chain (trail/hooks.py).

Measured, each in a child process of its own (its peak RSS is its own, not the generator's):
1. sealing's cost to an ingest: bench/door_ingest.py's 200,000-row file into a fresh store, with the trail and
   with sealing turned off in the child (the writers' notes and the commit's sealing made no-ops), three runs
   each, alternating; medians of rows/s. Target: slowed by less than 10 %. The trail job's later indexing of
   the sealed file (which row is which) is timed too and printed beside it: it is not part of the ingest.
2. a full verify of the year (archived files re-hashed, the chains' heads of before checked): wall seconds
   and peak RSS. Target: under 60 s. It must find the store intact: a break is this bench's bug, and it stops.
3. the daily incremental verify: after the full verify is remembered, one more day (a day's door file, that
   day's hourly rows sealed, 30 finding events), the trail job's indexing of the day's batch, then
   verify(since=last_verified): wall seconds. Targets: verify < 2 s, and indexing and verify together < 2 s.
4. the store's size, trail_seals' rows and bytes, its seals per chain and kind.

Each phase prints its cost per row: a phase whose time grows faster than its input shows as a per-row cost
that grows between a --scale run and a full one. A target missed prints FAIL and the exit status is 1; at a
--scale under 1 the verdicts are about the smaller year. On a shared machine the figures vary from run to
run: the load average is printed beside each measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from door_ingest import DOORS, GIVEN, HEADER, SITE_ZONE, SURNAMES, write_door_events

ROOT = Path(__file__).resolve().parents[1]
YEAR = 2025  # the door events' site days and the utilization's UTC days
NEXT_DAY = date(YEAR + 1, 1, 1)  # the day the incremental verify adds
WEEKS = 52  # the 52nd file holds the year's last eight days
DOOR_EVENTS = 1_000_000
RESOURCES = 1_000
FINDING_EVENTS = 10_000
EVENTS_PER_FINDING = 4
INGEST_ROWS = 200_000
RUNS = 3
DAY_FINDING_EVENTS = 30
FINDINGS_PER_COMMIT = 100
RESOURCES_PER_COMMIT = 25
DAYS_PER_COMMIT = 31

TARGET_SLOWDOWN = 0.10
TARGET_FULL_S = 60.0
TARGET_DAILY_S = 2.0

HOURLY_SQL = (
    "INSERT INTO utilization_hourly (resource_id, hour, samples, cpu_mean, cpu_max, cpu_p95, mem_mean, "
    "mem_max, mem_p95, storage_used_gb, storage_total_gb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# --- the year's evidence, generated ---------------------------------------------------------------------


class DoorSite:
    """One site's door system: ~50 people, six doors with a reader in and out; each reader numbers its events
    itself, on from file to file (so a week's export never repeats another's key)."""

    def __init__(self, seed: int = 11):
        self.rng = random.Random(seed)
        rng = self.rng
        self.people = [
            (f"YW-{i:04d}", rng.choice(SURNAMES) + rng.choice(GIVEN), f"30051{rng.randrange(10**5):05d}")
            for i in range(1, 51)
        ]
        self.readers = [
            (door, way, f"DS-K1T671-{d:02d}{'IO'[w]}")
            for d, door in enumerate(DOORS)
            for w, way in enumerate("进出")
        ]
        self.serials = {device: 100000 for _, _, device in self.readers}

    def write(self, path: Path, start: datetime, seconds: float, rows: int) -> None:
        """`rows` events at random times in [start, start + seconds), site time, in time order."""
        rng = self.rng
        offsets = sorted(rng.random() * seconds for _ in range(rows))
        lines = [HEADER]
        for offset in offsets:
            when = (start + timedelta(seconds=int(offset))).strftime("%Y-%m-%d %H:%M:%S")
            person_id, name, card = rng.choice(self.people)
            door, way, device = rng.choice(self.readers)
            self.serials[device] += 1
            result = "成功" if rng.random() < 0.97 else "失败"
            # One event in ten comes from an export without serials: the who-where-when key.
            serial = "" if rng.random() < 0.1 else str(self.serials[device])
            lines.append(f"{when},{person_id},{name},{card},{door},{way},{result},{device},{serial}\r\n")
        path.write_text("".join(lines), encoding="utf-8", newline="")


def write_year(folder: Path, site: DoorSite, rows: int) -> list[Path]:
    """The year's door events in 52 weekly files, rows in proportion to each file's days."""
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(YEAR, 1, 1)
    year_s = (datetime(YEAR + 1, 1, 1) - start).total_seconds()
    files = []
    for week in range(WEEKS):
        first = start + timedelta(weeks=week)
        last = datetime(YEAR + 1, 1, 1) if week == WEEKS - 1 else first + timedelta(weeks=1)
        span = (last - first).total_seconds()
        path = folder / f"门禁记录-{YEAR}-W{week + 1:02d}.csv"
        site.write(path, first, span, round(rows * span / year_s))
        files.append(path)
    return files


def hour_texts(first: datetime, hours: int) -> list[str]:
    """Each hour's start as SQLite keeps a UTC time ("YYYY-MM-DD HH:MM:SS.ffffff"), worked out once."""
    return [(first + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S.%f") for h in range(hours)]


def resource_id(i: int) -> str:
    return f"vm-{i:05d}"


def hourly_rows(rng: random.Random, rid: str, hours: list[str], i: int) -> list[tuple[Any, ...]]:
    """A resource's hourly roll-ups: a CPU and memory level of its own with noise, a slowly filling disk."""
    base = 5.0 + (i * 37 % 60)
    total = 500.0
    rows = []
    for h, hour in enumerate(hours):
        r = rng.random()
        cpu = base * (0.5 + r)
        mem = 30.0 + base / 2 + 10 * r
        rows.append(
            (rid, hour, 60, cpu, cpu * 1.6, cpu * 1.4, mem, mem + 4.5, mem + 3.25, 100.0 + h / 100, total)
        )
    return rows


def write_hourly(store: Any, resources: int, first: datetime, hours: int, seed: int) -> int:
    """Hourly rows of every resource, resource by resource (the table's own order), by the driver's
    executemany as the Prometheus back-fill writes; a transaction per RESOURCES_PER_COMMIT resources."""
    rng = random.Random(seed)
    texts = hour_texts(first, hours)
    written = 0
    raw = store.engine.raw_connection()  # the store's own connection setup (WAL, synchronous=NORMAL)
    try:
        cursor = raw.cursor()
        for i in range(resources):
            rows = hourly_rows(rng, resource_id(i), texts, i)
            cursor.executemany(HOURLY_SQL, rows)
            written += len(rows)
            if (i + 1) % RESOURCES_PER_COMMIT == 0:
                raw.commit()
        raw.commit()
    finally:
        raw.close()
    return written


def seal_hourly(store: Any, days: list[date]) -> None:
    """Seal the hourly rows by UTC day, one roll-up seal a day, as the roll-up job does once a day is over."""
    from ops_watch.trail import rollups  # start-up: in the child, after the store is open

    for i in range(0, len(days), DAYS_PER_COMMIT):
        with store.session() as session:
            for day in days[i : i + DAYS_PER_COMMIT]:
                rollups.seal_days(session, [day])


def write_findings(store: Any, events: int, first: datetime, span: timedelta, tag: str) -> int:
    """`events` finding events over `span` from `first`, four per finding (opened, acknowledged with who and
    why, resolved, reopened), through Store.session(): each commit seals them into the decisions chain."""
    from ops_watch.store.schema import Finding, FindingEvent  # start-up: in the child

    actions = (
        ("opened", "ops-watch", ""),
        ("acknowledged", "张三", "已通知承包商，核实中 / contractor told, checking"),
        ("resolved", "ops-watch", ""),
        ("reopened", "ops-watch", "再次出现 / seen again"),
    )
    findings = -(-events // EVENTS_PER_FINDING)
    written = 0
    for start in range(0, findings, FINDINGS_PER_COMMIT):
        with store.session() as session:
            made = []
            for n in range(start, min(findings, start + FINDINGS_PER_COMMIT)):
                at = first + span * n / findings
                finding = Finding(
                    fingerprint=f"bench-{tag}-{n}",
                    rule_id="resources.idle_cpu",
                    check="idle_cpu",
                    area="resources",
                    severity="warning",
                    status="open",
                    subject=resource_id(n % RESOURCES),
                    summary=f"CPU 闲置 / idle CPU ({tag} #{n})",
                    evidence={"resource": resource_id(n % RESOURCES), "cpu_p95": 3.5},
                    first_seen=at,
                    last_seen=at,
                )
                session.add(finding)
                made.append((finding, at))
            session.flush()
            for finding, at in made:
                for k, (action, actor, reason) in enumerate(actions):
                    if written == events:
                        break
                    session.add(
                        FindingEvent(
                            finding_id=finding.id,
                            at=at + timedelta(hours=k),
                            action=action,
                            actor=actor,
                            reason=reason,
                        )
                    )
                    written += 1
    return written


# --- the children ---------------------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _open(params: dict[str, Any]) -> tuple[Any, Any]:
    """The child's store and config, every area loaded as the CLI loads them."""
    sys.path.insert(0, str(ROOT))
    from ops_watch import plugins  # start-up: the child imports ops-watch itself (its RSS is its own)
    from ops_watch.config import Config  # start-up: as above
    from ops_watch.store import open_store  # start-up: as above

    plugins.load()
    store = open_store(params["url"])
    config = Config.model_validate(
        {"site": {"timezone": SITE_ZONE}, "paths": {"state_dir": params["state_dir"]}}
    )
    return store, config


def _sealing_off() -> None:
    """Turn sealing off in this process: the writers' notes and the commit's sealing become no-ops. ingest.py
    holds its own references to the note functions, so they are replaced there too."""
    from ops_watch import ingest  # start-up: in the child
    from ops_watch.trail import evidence, hooks  # start-up: in the child

    def nothing(*_args: Any, **_kwargs: Any) -> None:
        return None

    for module in (evidence, ingest):
        for name in ("note_rows", "note_columns", "expect_rows", "expect_no_rows"):
            if hasattr(module, name):
                setattr(module, name, nothing)
    hooks.seal_pending = nothing  # type: ignore[assignment]  # looked up at each commit


def child_ingest(params: dict[str, Any]) -> dict[str, Any]:
    """One ingest of the file into a fresh store, with the trail or without."""
    store, config = _open(params)
    if not params["sealing"]:
        _sealing_off()
    from ops_watch.ingest import ingest_file  # start-up: after sealing is turned off (or not)

    t0 = time.perf_counter()
    result = ingest_file(store, config, "door", Path(params["csv"]))
    seconds = time.perf_counter() - t0
    with store.engine.connect() as conn:
        seals = conn.exec_driver_sql("SELECT count(*) FROM trail_seals").scalar()
    index_seconds = None
    if params["sealing"]:  # the rest of the trail's work on the file, done later by the trail job: its index
        rss = _peak_rss_mib()
        t0 = time.perf_counter()
        indexed = _index(store)
        index_seconds = time.perf_counter() - t0
        if indexed != 1:
            raise SystemExit(f"the trail job indexed {indexed} batches of the one file ingested: a bug")
    store.dispose()
    return {
        "status": result.status,
        "rows": result.rows_total,
        "stored": result.rows_ok,
        "seconds": seconds,
        "seals": seals,
        "rss_mib": rss if params["sealing"] else _peak_rss_mib(),
        "index_seconds": index_seconds,
    }


def _index(store: Any) -> int:
    """What the trail job does first: index the batches sealed since its last run. Returns how many."""
    from ops_watch.trail import index  # start-up: in the child

    with store.session() as session:
        done, failed = index.index_new(session)
    if failed:
        raise SystemExit(
            f"batches {failed} not indexed: their rows differ from their seals in an untouched store"
        )
    return done


def child_build(params: dict[str, Any]) -> dict[str, Any]:
    """The year: door files ingested, hourly rows written and sealed by day, finding events written."""
    store, config = _open(params)
    from ops_watch.ingest import ingest_file  # start-up: in the child

    phases: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    stored = total = 0
    for path in sorted(Path(params["door_dir"]).glob("*.csv")):
        result = ingest_file(store, config, "door", path)
        if result.status not in ("accepted", "partial"):
            raise SystemExit(f"{path}: ingest {result.status}: {result.reason}; the bench's files are wrong")
        stored += result.rows_ok
        total += result.rows_total
    phases["door ingest"] = {"seconds": time.perf_counter() - t0, "rows": total, "stored": stored}
    t0 = time.perf_counter()
    _index(store)
    phases["door index"] = {"seconds": time.perf_counter() - t0, "rows": stored}

    first = datetime(YEAR, 1, 1, tzinfo=UTC)
    hours = (datetime(YEAR + 1, 1, 1, tzinfo=UTC) - first) // timedelta(hours=1)
    t0 = time.perf_counter()
    rows = write_hourly(store, params["resources"], first, hours, seed=3)
    phases["hourly write"] = {"seconds": time.perf_counter() - t0, "rows": rows}

    days = [first.date() + timedelta(days=d) for d in range(hours // 24)]
    t0 = time.perf_counter()
    seal_hourly(store, days)
    phases["hourly seal"] = {"seconds": time.perf_counter() - t0, "rows": rows, "days": len(days)}

    t0 = time.perf_counter()
    events = write_findings(store, params["finding_events"], first, timedelta(days=364), "year")
    phases["finding events"] = {"seconds": time.perf_counter() - t0, "rows": events}
    store.dispose()
    return {"phases": phases, "rss_mib": _peak_rss_mib()}


def _verify_heads(session: Any) -> list[Any]:
    """Each chain's head as it stands before the verify, as if published: verify holds the chain to it."""
    from ops_watch.trail import chain  # start-up: in the child
    from ops_watch.trail.breaks import PublishedHead  # start-up: in the child

    return [
        PublishedHead(c, h.seq, h.hash, "bench: the head before verify")
        for c in chain.CHAINS
        if (h := chain.head(session, c)) is not None
    ]


def _report(report: Any, seconds: float, baseline: float) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "ok": report.ok,
        "counts": report.counts(),
        "breaks": len(report.breaks),
        "first_breaks": [b.text("en") for b in report.breaks[:5]],
        "rss_mib": _peak_rss_mib(),
        "baseline_mib": baseline,
    }


def child_verify(params: dict[str, Any]) -> dict[str, Any]:
    """A full verify of the store, remembered for the next incremental run when intact."""
    from zoneinfo import ZoneInfo  # start-up: in the child

    store, _ = _open(params)
    from ops_watch.trail.verify import remember, verify  # start-up: in the child

    baseline = _peak_rss_mib()
    with store.session(see_loading=True) as session:
        heads = _verify_heads(session)
        t0 = time.perf_counter()
        report = verify(session, heads=heads, files=True, zone=ZoneInfo(SITE_ZONE))
        seconds = time.perf_counter() - t0
        remember(session, report)
    out = _report(report, seconds, baseline)
    with store.engine.connect() as conn:
        out["hourly_rows"] = conn.exec_driver_sql("SELECT count(*) FROM utilization_hourly").scalar()
    store.dispose()
    return out


def child_daily(params: dict[str, Any]) -> dict[str, Any]:
    """One more day (door file, hourly rows sealed, finding events), then the incremental verify."""
    from zoneinfo import ZoneInfo  # start-up: in the child

    store, config = _open(params)
    from ops_watch.ingest import ingest_file  # start-up: in the child
    from ops_watch.trail.verify import last_verified, remember, verify  # start-up: in the child

    t0 = time.perf_counter()
    result = ingest_file(store, config, "door", Path(params["csv"]))
    if result.status not in ("accepted", "partial"):
        raise SystemExit(
            f"{params['csv']}: ingest {result.status}: {result.reason}; the bench's file is wrong"
        )
    first = datetime(NEXT_DAY.year, NEXT_DAY.month, NEXT_DAY.day, tzinfo=UTC)
    hourly = write_hourly(store, params["resources"], first, 24, seed=5)
    seal_hourly(store, [NEXT_DAY])
    events = write_findings(store, DAY_FINDING_EVENTS, first, timedelta(hours=20), "day")
    added = time.perf_counter() - t0
    t0 = time.perf_counter()
    _index(store)
    index_seconds = time.perf_counter() - t0

    baseline = _peak_rss_mib()
    with store.session(see_loading=True) as session:
        since = last_verified(session)
        if not since:
            raise SystemExit("no verified seal remembered: the full verify did not run or found a break")
        heads = _verify_heads(session)
        t0 = time.perf_counter()
        report = verify(session, heads=heads, files=True, since=since, zone=ZoneInfo(SITE_ZONE))
        seconds = time.perf_counter() - t0
        remember(session, report)
    store.dispose()
    out = _report(report, seconds, baseline)
    out.update(
        added_seconds=added,
        index_seconds=index_seconds,
        door_rows=result.rows_total,
        hourly_rows=hourly,
        events=events,
        since=since,
    )
    return out


CHILDREN = {"ingest": child_ingest, "build": child_build, "verify": child_verify, "daily": child_daily}


def run_child(mode: str, params: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, json.dumps(params)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"the {mode} child failed (exit {out.returncode}): its error is above")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


# --- the parent -----------------------------------------------------------------------------------------


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def _us(seconds: float, rows: float) -> str:
    return f"{seconds / rows * 1e6:8.2f} µs/row" if rows else "       - µs/row"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def measure_ingest(tmp: Path, rows: int, runs: int) -> tuple[float, float, float]:
    """Median rows/s of the same file into fresh stores with sealing and without, runs alternating; and the median
    time the trail job then takes to index the sealed file."""
    csv_path = tmp / "door-ingest.csv"
    write_door_events(csv_path, rows)
    rates: dict[bool, list[float]] = {True: [], False: []}
    indexing: list[float] = []
    for run in range(runs):
        for sealing in (True, False):
            where = tmp / f"ingest-{run}-{'on' if sealing else 'off'}"
            params = {
                "url": f"sqlite:///{where / 'ops-watch.db'}",
                "state_dir": str(where / "var"),
                "csv": str(csv_path),
                "sealing": sealing,
            }
            r = run_child("ingest", params)
            shutil.rmtree(where, ignore_errors=True)
            if sealing and r["seals"] < 1 or not sealing and r["seals"]:
                raise SystemExit(
                    f"ingest child sealing={sealing} wrote {r['seals']} seals: the switch is wrong"
                )
            rate = r["rows"] / r["seconds"]
            rates[sealing].append(rate)
            later = ""
            if sealing:
                indexing.append(r["index_seconds"])
                later = f"; indexed later in {r['index_seconds']:.2f} s"
            print(
                f"  ingest run {run + 1} {'sealed  ' if sealing else 'unsealed'} {r['rows']:>9,} rows "
                f"{r['seconds']:7.2f} s {rate:>9,.0f} rows/s {_us(r['seconds'], r['rows'])} "
                f"{r['rss_mib']:5.0f} MiB{later}  {_load()}",
                flush=True,
            )
    return statistics.median(rates[True]), statistics.median(rates[False]), statistics.median(indexing)


def sizes(db: Path) -> dict[str, Any]:
    """The store's size and trail_seals' rows and bytes, read by the sqlite3 module after the children."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        out: dict[str, Any] = {"store_bytes": db.stat().st_size}
        row = con.execute(
            "SELECT count(*), coalesce(sum(length(entries)), 0), coalesce(sum(length(body)), 0) FROM trail_seals"
        ).fetchone()
        out["seals"], out["entries_bytes"], out["body_bytes"] = row
        out["by_chain"] = con.execute(
            "SELECT chain, kind, count(*) FROM trail_seals GROUP BY chain, kind ORDER BY chain, kind"
        ).fetchall()
        try:
            out["table_bytes"] = con.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name = 'trail_seals' OR tbl_name = 'trail_seals'"
            ).fetchone()[0]
        except sqlite3.OperationalError:  # SQLite built without the dbstat table
            out["table_bytes"] = None
        return out
    finally:
        con.close()


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="every size times this (e.g. 0.05)")
    parser.add_argument("--runs", type=int, default=RUNS, help="ingest runs with and without sealing, each")
    parser.add_argument("--keep", action="store_true", help="keep the working folder and print where it is")
    args = parser.parse_args()
    if not 0 < args.scale <= 1:
        parser.error("--scale is a fraction of the full year's sizes: 0 < scale <= 1")

    def scaled(n: int) -> int:
        return max(1, round(n * args.scale))

    door_events, resources = scaled(DOOR_EVENTS), scaled(RESOURCES)
    finding_events, ingest_rows = scaled(FINDING_EVENTS), scaled(INGEST_ROWS)
    print(
        f"scale {args.scale:g}: {door_events:,} door events, {resources:,} resources' hours, "
        f"{finding_events:,} finding events; ingest file {ingest_rows:,} rows; {os.cpu_count()} cores, {_load()}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="ops-watch-verify-bench-"))
    failed = False
    try:
        print(f"\n1. sealing's cost to an ingest ({args.runs} runs each, alternating)", flush=True)
        sealed, unsealed, indexing = measure_ingest(tmp, ingest_rows, args.runs)
        slowdown = 1 - sealed / unsealed

        t0 = time.perf_counter()
        site = DoorSite()
        door_files = write_year(tmp / "doors", site, door_events)
        day_file = tmp / f"门禁记录-{NEXT_DAY.isoformat()}.csv"
        day_start = datetime(NEXT_DAY.year, NEXT_DAY.month, NEXT_DAY.day)
        site.write(day_file, day_start, 86400, max(1, door_events // 365))
        mib = sum(p.stat().st_size for p in door_files) / 2**20
        print(
            f"\ngenerated {len(door_files)} weekly door files, {mib:.1f} MiB, in {time.perf_counter() - t0:.1f} s"
        )

        store = {"url": f"sqlite:///{tmp / 'ops-watch.db'}", "state_dir": str(tmp / "var")}
        print(f"\nbuilding the year  ({_load()})", flush=True)
        t0 = time.perf_counter()
        built = run_child(
            "build",
            {
                **store,
                "door_dir": str(tmp / "doors"),
                "resources": resources,
                "finding_events": finding_events,
            },
        )
        print(
            f"  built in {time.perf_counter() - t0:.1f} s (child peak RSS {built['rss_mib']:.0f} MiB)  {_load()}"
        )
        for name, p in built["phases"].items():
            extra = f" ({p['stored']:,} stored)" if "stored" in p else ""
            print(
                f"  {name:<15} {p['rows']:>10,} rows {p['seconds']:8.2f} s {_us(p['seconds'], p['rows'])}{extra}"
            )

        print(f"\n2. full verify of the year  ({_load()})", flush=True)
        full = run_child("verify", store)
        if not full["ok"]:
            print("\n".join(full["first_breaks"]))
            raise SystemExit(
                f"the full verify found {full['breaks']} breaks in a store nothing tampered with: a bug"
            )
        checked = full["counts"]["rows"] + full["hourly_rows"] + full["counts"]["decisions"]
        print(f"  {full['counts']}; hourly rows {full['hourly_rows']:,}")
        print(
            f"  {full['seconds']:.2f} s, {_us(full['seconds'], checked).strip()} over {checked:,} rows; "
            f"peak RSS {full['rss_mib']:.0f} MiB ({full['baseline_mib']:.0f} MiB before verify)  {_load()}"
        )

        print(f"\n3. daily incremental verify  ({_load()})", flush=True)
        daily = run_child("daily", {**store, "csv": str(day_file), "resources": resources})
        if not daily["ok"]:
            print("\n".join(daily["first_breaks"]))
            raise SystemExit(
                f"the daily verify found {daily['breaks']} breaks after an intact day's writes: a bug"
            )
        day_rows = daily["door_rows"] + daily["hourly_rows"] + daily["events"]
        print(
            f"  the day added: {daily['door_rows']:,} door rows, {daily['hourly_rows']:,} hourly rows, "
            f"{daily['events']} finding events in {daily['added_seconds']:.2f} s; the trail job indexed the "
            f"day's batch in {daily['index_seconds']:.2f} s; verify since {daily['since']}"
        )
        print(
            f"  {daily['counts']}\n  {daily['seconds']:.2f} s, {_us(daily['seconds'], day_rows).strip()} over the "
            f"day's {day_rows:,} rows; peak RSS {daily['rss_mib']:.0f} MiB  {_load()}"
        )

        size = sizes(tmp / "ops-watch.db")
        table = f", {size['table_bytes'] / 2**20:.1f} MiB with its indexes" if size["table_bytes"] else ""
        print("\n4. the store")
        print(f"  store {size['store_bytes'] / 2**20:,.1f} MiB")
        print(
            f"  trail_seals {size['seals']:,} rows: entries {size['entries_bytes'] / 2**20:.1f} MiB, "
            f"bodies {size['body_bytes'] / 2**20:.1f} MiB{table}"
        )
        for chain_name, kind, n in size["by_chain"]:
            print(f"  {chain_name:<10} {kind:<8} {n:>8,} seals")

        print()
        print(
            f"ingest       sealed {sealed:,.0f} rows/s, unsealed {unsealed:,.0f} rows/s (medians): "
            f"slowed by {slowdown:.1%}; the trail job indexes the file later in {indexing:.2f} s "
            f"({_us(indexing, ingest_rows).strip()})"
        )
        checks = [
            (f"ingest slowed by < {TARGET_SLOWDOWN:.0%}: {slowdown:.1%}", slowdown < TARGET_SLOWDOWN),
            (f"full verify < {TARGET_FULL_S:g} s: {full['seconds']:.2f} s", full["seconds"] < TARGET_FULL_S),
            (
                f"daily verify < {TARGET_DAILY_S:g} s: {daily['seconds']:.2f} s",
                daily["seconds"] < TARGET_DAILY_S,
            ),
            (
                f"daily index + verify < {TARGET_DAILY_S:g} s: {daily['index_seconds'] + daily['seconds']:.2f} s",
                daily["index_seconds"] + daily["seconds"] < TARGET_DAILY_S,
            ),
        ]
        for text, ok in checks:
            print(f"target       {text}  {_verdict(ok)}")
            failed = failed or not ok
        if args.scale < 1:
            print(f"(at --scale {args.scale:g}: the verdicts are about a smaller year than the issue's)")
    finally:
        if args.keep:
            print(f"kept         {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
