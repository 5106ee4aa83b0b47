"""The weekly report at scale: a year of data for 5,000 resources, 20 staff and 10 systems, one report built.

    python bench/weekly_report.py                     # full size, SQLite in a temporary directory
    python bench/weekly_report.py --keep /tmp/wr      # ... and keep the data there
    python bench/weekly_report.py --reuse /tmp/wr     # build again from data kept before (or make it)
    python bench/weekly_report.py --days 60 --resources 1000   # smaller

Measured (issue 7): the time and peak RSS of building one weekly report (2026-W47, Chinese) from the store:
`ops_watch.report.weekly.build` (findings, the areas' figures, gaps, trend, the charts) and `files_of` (HTML,
text, XLSX), in a child process so that its peak RSS is the build's own (imports, store, report), not the
generator's. Targets: under 15 s and under 500 MB. Printed: the rows generated per table and how long that
took, the build's wall and CPU seconds and peak RSS, the report's status and per-area counts, the sizes of
its files, and PASS/MISS lines. `--profile` also prints where the build's time goes (cProfile, build only).

The data, seeded (the same arguments give the same database), as the daemon would hold them on Monday
2026-11-23 09:00 (Asia/Shanghai), the 365 days up to the week's Sunday (`--days`; 326 gives 2026-01-01 on):
- inventory: 5,000 resources on the two platforms of rules/contract.toml (警务云 at unit prices,
  新一代公安信息网云平台 fixed fee), 40 tenant units; VMs, a few bare-metal hosts, a tenth volumes; some
  allocated during the year, some reclaimed, some silent for the last days;
- utilization_hourly: every hour of every resource while allocated (~42.5 M rows: 43.8 M less the hours
  before a resource was allocated, after it was reclaimed or went silent), written by SQLite itself (INSERT … SELECT of a resource table × an hourly pattern table: ~140 CPU/memory patterns — normal
  with a working-day curve, idle, oversized, nightly batch, busy — scaled per resource), in key order,
  with its hour index dropped during the load and built again after (as the store declares it);
- findings, ~2,400 over the year: the resource checks' (idle/oversized CPU, idle storage, stale, with the
  evidence the checks write and prices from the contract), staffing (ghosts, missing or short shifts,
  unverified handovers, unknown cards, off-shift entries), continuity (failed backups, drills overdue,
  failed, incomplete), evidence (refused files, failed collection, silent sources, dead messages); open,
  acknowledged, silenced and resolved;
- 20 staff on the contract's shifts (白班 08–20, 夜班 20–08), ~100,000 door events (their entries and exits
  each shift, trips out and back, the duty room, plus ~55 office workers at the lobby and office doors,
  visitors, denied swipes, a few unknown cards), one handover sheet row per shift (a few missing);
- 10 systems: the contract's 4 plus 6 appended to a copy of rules/ in the working folder; a backup run per
  system per day, drills on (or off) the contract's cadence, drill plans;
- ~19,000 evidence batches (some partial, a few rejected), ~1,200 sent alert messages and 12 dead ones.

The copy of rules/ also judges staffing from the first generated day (the demo's judge_from is 2026-10-19);
the report's weeks are after both. Generating the full size takes about 3.5 minutes on the 2-core machine
(half of it SQLite sorting the hour index): --keep DIR, then --reuse DIR, builds again without it.

Caveats: the hourly rows are written in key order, so their pages are full and in file order: a store
filled hour by hour over a year is less compact, and a cold read of it slower. The database (~7.5 GB at
full size) is mostly in the OS page cache right after it is generated; with --reuse on a later day it may
be cold. The store never runs ANALYZE and neither does this bench: the query plans are the store's own.
Peak RSS is the child's VmHWM (Linux), not ru_maxrss, which a child inherits from its parent's size at
fork. On a shared machine the figures vary from run to run: compare runs made back to back (--runs N).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ZONE_NAME = "Asia/Shanghai"
ZONE = ZoneInfo(ZONE_NAME)
WEEK = "2026-W47"
LAST_DAY = date(2026, 11, 22)  # the week's Sunday: the data end with it
AS_OF = datetime(2026, 11, 23, 9, 0, tzinfo=ZONE)  # the store as the daemon holds it on Monday morning
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.000000"  # how SQLAlchemy keeps a DateTime in SQLite (naive UTC)
TARGET_SECONDS = 15.0
TARGET_RSS_MB = 500.0
SLOW_GENERATION_S = 180.0
META = "bench-meta.json"
DB_NAME = "ops-watch.db"
FONT_DIR = ROOT / ".cache" / "tools" / "usr" / "share" / "fonts"  # scripts/install-test-deps.sh puts one here

PLATFORMS = (("警务云", "JWY"), ("新一代公安信息网云平台", "XYD"))
UNITS = tuple(
    f"{city}{unit}"
    for city in ("市局", "东城分局", "西城分局", "南区分局", "北区分局")
    for unit in (
        "指挥中心",
        "刑侦支队",
        "治安支队",
        "交警支队",
        "网安支队",
        "出入境管理处",
        "科信处",
        "法制处",
    )
)
# The contract's 4 systems plus 6 more (appended to the copied contract.toml): 10 in all.
EXTRA_SYSTEMS = (
    ("指挥调度系统", "critical"),
    ("电子卷宗系统", "critical"),
    ("出入境管理系统", "important"),
    ("交通管理平台", "important"),
    ("移动警务平台", "important"),
    ("情报分析平台", "important"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟 芳 娜 敏 静 强 磊 军 洋 勇 艳 杰 涛 明 超 秀英 建国 志强 海燕 晓东 文博 子涵 浩然".split()
# Doors: (door, direction, device). The contract's on-site doors are 机房A区门 and 运维值班室.
ROOM_IN = ("机房A区门", "in", "DS-K1T671-A-IN")
ROOM_OUT = ("机房A区门", "out", "DS-K1T671-A-OUT")
DUTY_ROOM = ("运维值班室", "", "DS-K1T341-DUTY")
LOBBY_IN = ("大厅门禁", "in", "DS-K5671-LOBBY-IN")
LOBBY_OUT = ("大厅门禁", "out", "DS-K5671-LOBBY-OUT")
OFFICE = ("办公区门", "", "DS-K1T671-OFFICE")


# --- small helpers --------------------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    """This process's peak RSS. On Linux VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's
    RSS when it forked (kept across exec), and the parent here has just held gigabytes of generated data."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _local(day: date, hour: int = 0, minute: float = 0.0) -> datetime:
    """A site-local time of `day` as an aware UTC datetime."""
    return (datetime.combine(day, dtime(), tzinfo=ZONE) + timedelta(hours=hour, minutes=minute)).astimezone(
        UTC
    )


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


@dataclass(frozen=True)
class Span:
    """The generated days [first_day, LAST_DAY] (site-local), hour 0 at the first day's local midnight."""

    first_day: date
    last_day: date = LAST_DAY

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def hours(self) -> int:
        return self.days * 24  # Asia/Shanghai has no daylight saving: 24 hours a day

    @property
    def start(self) -> datetime:
        return _local(self.first_day)

    def hour(self, h: float) -> datetime:
        return self.start + timedelta(hours=h)

    def day_list(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]


def _fingerprint(rule_id: str, subject: str, start: datetime | None, end: datetime | None) -> str:
    # As FindingDraft.fingerprint: one row per (rule, subject, period).
    parts = [rule_id, subject, start.isoformat() if start else "", end.isoformat() if end else ""]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


class Findings:
    """The findings the rules would have written over the year, with their lifecycle as of AS_OF."""

    def __init__(self, rules: Any, rng: random.Random):
        self.rules = rules
        self.rng = rng
        self.rows: list[dict[str, Any]] = []
        self.silences: list[dict[str, Any]] = []
        self._seen: set[str] = set()

    def status(self, open_: float, acknowledged: float, silenced: float) -> str:
        """A status drawn with these weights for open, acknowledged, silenced; resolved the rest."""
        x = self.rng.random()
        for name, weight in (("open", open_), ("acknowledged", acknowledged), ("silenced", silenced)):
            if x < weight:
                return name
            x -= weight
        return "resolved"

    def add(
        self,
        rule_id: str,
        subject: str,
        summary: str,
        first_seen: datetime,
        status: str = "open",
        *,
        resolved_at: datetime | None = None,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        rule = self.rules.get(rule_id)
        if rule is None:
            raise SystemExit(f"rules/: no rule {rule_id!r} (the bench names the rules of rules/*.toml)")
        fp = _fingerprint(rule_id, subject, period_start, period_end)
        if fp in self._seen or first_seen >= AS_OF:
            return
        self._seen.add(fp)
        if status == "resolved" and resolved_at is None:
            resolved_at = first_seen + timedelta(hours=self.rng.uniform(6, 24 * 14))
        if resolved_at is not None and resolved_at >= AS_OF:
            status, resolved_at = "acknowledged", None  # resolved later than the store's "now": not yet
        if status != "resolved":
            resolved_at = None
        silenced_until = AS_OF + timedelta(days=self.rng.randint(3, 40)) if status == "silenced" else None
        last_seen = resolved_at - timedelta(hours=1) if resolved_at else AS_OF - timedelta(minutes=5)
        self.rows.append(
            {
                "fingerprint": fp,
                "rule_id": rule_id,
                "check": rule.check.name,
                "area": rule.check.area,
                "severity": rule.severity,
                "status": status,
                "subject": subject,
                "period_start": period_start,
                "period_end": period_end,
                "summary": summary,
                "evidence": evidence or {},
                "first_seen": first_seen,
                "last_seen": max(first_seen, last_seen),
                "resolved_at": resolved_at,
                "silenced_until": silenced_until,
                "notified_status": status if status != "silenced" else "open",
                "thread_message_id": f"<finding.{fp[:16]}@ops-watch.local>",
            }
        )
        if silenced_until is not None:
            self.silences.append(
                {
                    "matchers": {"rule": rule_id, "subject": subject},
                    "starts_at": first_seen + timedelta(days=1),
                    "ends_at": silenced_until,
                    "created_by": "值班长",
                    "reason": "已报备，整改排期中",
                    "created_at": first_seen + timedelta(days=1),
                }
            )

    def count(self, area: str) -> int:
        return sum(1 for r in self.rows if r["area"] == area)


# --- the rules folder: rules/ with 10 systems ------------------------------------------------------------


def prepare_rules(workdir: Path, span: Span) -> Path:
    """A copy of rules/ whose contract lists 10 systems and judges staffing from the first generated day."""
    rules_dir = workdir / "rules"
    if rules_dir.exists():
        shutil.rmtree(rules_dir)
    shutil.copytree(ROOT / "rules", rules_dir)
    contract = rules_dir / "contract.toml"
    text = contract.read_text(encoding="utf-8")
    if "judge_from = 2026-10-19" in text:  # the demo's start; a year of sheets is judged from its first day
        text = text.replace("judge_from = 2026-10-19", f"judge_from = {span.first_day.isoformat()}", 1)
    text += "\n# bench/weekly_report.py: six more protected systems (ten in all).\n"
    for name, klass in EXTRA_SYSTEMS:
        text += f'\n[[continuity.systems]]\nname = "{name}"\nclass = "{klass}"\n'
    contract.write_text(text, encoding="utf-8")
    return rules_dir


# --- resources and their hourly roll-ups -----------------------------------------------------------------


@dataclass
class Res:
    rid: str
    platform: str
    unit: str
    type: str
    vcpu: int
    memory_gb: float
    storage_gb: float
    profile: str  # normal | idle | oversized | batch | busy | stale | volume | volume_idle
    share: float  # storage used share at the start
    growth: float  # storage GB added per hour
    scale: float  # CPU multiplier on its pattern
    variant: int = 0
    start_h: int = 0  # hours of the span with roll-ups: [start_h, stop_h)
    stop_h: int = 0
    allocated_from: date | None = None
    allocated_to: date | None = None
    reclaimed: bool = False


# A VM's or host's profile: (name, upper bound of a uniform draw), close to bench/idle_eval.py's mix.
COMPUTE_PROFILES = (
    ("idle", 0.09),
    ("oversized", 0.19),
    ("batch", 0.24),
    ("busy", 0.29),
    ("stale", 0.305),
    ("normal", 1.01),
)


def plan_resources(rng: random.Random, count: int, span: Span) -> list[Res]:
    out = []
    for i in range(count):
        platform, prefix = PLATFORMS[0] if rng.random() < 0.6 else PLATFORMS[1]
        x = rng.random()
        kind = "volume" if x < 0.1 else ("host" if x < 0.12 else "vm")
        if kind == "vm":
            vcpu = rng.choices((2, 4, 8, 16, 32), (20, 35, 25, 15, 5))[0]
            memory, storage = float(vcpu * rng.choice((2, 4, 8))), float(rng.choice((100, 200, 500, 1000)))
        elif kind == "host":
            vcpu = rng.choice((48, 64, 96))
            memory, storage = float(rng.choice((256, 512))), float(rng.choice((2000, 4000, 8000)))
        else:
            vcpu, memory, storage = 0, 0.0, float(rng.choice((200, 500, 1024, 2048, 4096)))
        if kind == "volume":
            profile = "volume_idle" if rng.random() < 0.2 else "volume"
        else:
            y = rng.random()
            profile = next(name for name, below in COMPUTE_PROFILES if y < below)
        share = rng.uniform(0.03, 0.2) if profile == "volume_idle" else rng.uniform(0.3, 0.8)
        code = {"vm": "VM", "host": "BM", "volume": "VOL"}[kind]
        # The fixed-fee platform is the less used one (the contract's sizing question).
        scale = rng.uniform(0.85, 1.0) if prefix == "JWY" else rng.uniform(0.6, 0.8)
        res = Res(
            rid=f"{prefix}-{code}-{i:05d}",
            platform=platform,
            unit=rng.choice(UNITS),
            type=kind,
            vcpu=vcpu,
            memory_gb=memory,
            storage_gb=storage,
            profile=profile,
            share=share,
            growth=storage * rng.uniform(0.0, 0.12) / span.hours,
            scale=scale,
            stop_h=span.hours,
            allocated_from=date(2024, 1, 1) + timedelta(days=rng.randint(0, 600)),
        )
        z = rng.random()
        if z < 0.04 and span.days > 60:  # allocated during the year
            day = rng.randint(10, span.days - 30)
            res.start_h, res.allocated_from = day * 24 + 10, span.first_day + timedelta(days=day)
        elif z < 0.06 and span.days > 60:  # reclaimed during the year: its roll-ups stop
            day = rng.randint(30, span.days - 10)
            res.stop_h, res.allocated_to = day * 24 + 15, span.first_day + timedelta(days=day)
            res.reclaimed = profile == "idle"
        if profile == "stale":  # silent for the last 4 to 30 days
            res.stop_h = min(res.stop_h, span.hours - rng.randint(4, 30) * 24 - rng.randint(0, 23))
        res.start_h = min(res.start_h, res.stop_h)
        out.append(res)
    out.sort(key=lambda r: r.rid)
    return out


# Hourly patterns: (profile, variants). A resource takes one variant of its profile, its CPU scaled.
PATTERNS = (
    ("normal", 96),
    ("idle", 12),
    ("oversized", 12),
    ("batch", 8),
    ("busy", 8),
    ("volume", 1),
)
VARIANT_STRIDE = 100_000  # pattern key = variant × stride + hour: up to 4,166 days


def _diurnal(span: Span) -> Any:
    """0..1 per hour: the working-day curve at the site (work hours 1, nights low, weekends half)."""
    import numpy as np

    curve = np.array(
        [0.12, 0.1, 0.1, 0.1, 0.1, 0.12, 0.2, 0.4, 0.7, 1.0, 1.0, 1.0, 0.7, 0.75]
        + [1.0, 1.0, 1.0, 1.0, 0.7, 0.45, 0.4, 0.35, 0.25, 0.15]
    )
    hours = np.arange(span.hours)
    weekday = (span.first_day.weekday() + hours // 24) % 7
    return curve[hours % 24] * np.where(weekday >= 5, 0.5, 1.0)


def pattern_rows(span: Span, seed: int) -> Iterator[tuple[Any, ...]]:
    """Rows (key, hour text, cpu mean/max/p95, mem mean/max/p95, hour) of every variant of every profile."""
    import numpy as np

    rng = np.random.default_rng(seed)
    d = _diurnal(span)
    n = span.hours
    local_hour = np.arange(n) % 24
    texts = [span.hour(h).strftime(SQLITE_TIME) for h in range(n)]
    hours = list(range(n))
    variant = 0
    for profile, count in PATTERNS:
        for _ in range(count):
            u = rng.random(n)
            if profile == "normal":
                level = rng.uniform(12, 50)
                cpu = level * (0.35 + 0.9 * d) + rng.normal(0, 3, n)
                mem = rng.uniform(30, 70) + 8 * d + rng.normal(0, 2, n)
            elif profile == "idle":
                cpu, mem = 0.2 + 1.8 * u, rng.uniform(8, 20) + rng.normal(0, 1, n)
            elif profile == "oversized":
                cpu = (3 + 9 * u) * (0.6 + 0.5 * d)
                mem = rng.uniform(15, 40) + rng.normal(0, 2, n)
            elif profile == "batch":
                cpu = np.where((local_hour == 1) | (local_hour == 2), 80 + 15 * u, 0.5 + 2 * u)
                mem = rng.uniform(20, 40) + 20 * ((local_hour == 1) | (local_hour == 2))
            elif profile == "busy":
                cpu = 62 + 20 * d + 8 * u
                mem = rng.uniform(70, 88) + rng.normal(0, 2, n)
            else:
                cpu = mem = None
            base = variant * VARIANT_STRIDE
            keys = range(base, base + n)
            if cpu is None:
                none = [None] * n
                yield from zip(keys, texts, none, none, none, none, none, none, hours, strict=True)
            else:
                cpu = np.clip(cpu, 0.2, 97.0)
                mem = np.clip(mem, 2.0, 95.0)
                yield from zip(
                    keys,
                    texts,
                    cpu.tolist(),
                    np.minimum(100.0, cpu * 1.6 + 1).tolist(),
                    np.minimum(100.0, cpu * 1.25).tolist(),
                    mem.tolist(),
                    np.minimum(100.0, mem * 1.1).tolist(),
                    np.minimum(100.0, mem * 1.05).tolist(),
                    hours,
                    strict=True,
                )
            variant += 1


def assign_variants(rng: random.Random, plan: list[Res]) -> None:
    first, start = {}, 0
    for profile, count in PATTERNS:
        first[profile] = (start, count)
        start += count
    alias = {"stale": "normal", "volume_idle": "volume"}
    for r in plan:
        lo, count = first[alias.get(r.profile, r.profile)]
        r.variant = lo + rng.randrange(count)


_HOURLY_INSERT = """
INSERT INTO utilization_hourly (resource_id, hour, samples, cpu_mean, cpu_max, cpu_p95, mem_mean, mem_max,
    mem_p95, storage_used_gb, storage_total_gb)
SELECT g.rid, p.hour, 12, g.k * p.c1, g.k * p.c2, g.k * p.c3, p.m1, p.m2, p.m3, g.su + g.sg * p.h, g.st
FROM bench_res AS g CROSS JOIN bench_pattern AS p
WHERE g.r >= ? AND g.r < ? AND p.vh >= g.lo AND p.vh < g.hi
"""


def write_hourly(db: Path, plan: list[Res], span: Span, seed: int) -> dict[str, float]:
    """Every hour of every resource while allocated, by SQLite: resources (outer, in key order) × their
    pattern's hours, so the WITHOUT ROWID table is appended to in key order. The hour index is dropped for
    the load and built again after (a sort, instead of 40 M inserts at random places)."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        mode = con.execute("PRAGMA journal_mode=OFF").fetchone()[0]
        if mode != "off":
            raise SystemExit(f"{db}: could not switch off the journal for the bulk load (it is {mode})")
        for pragma in ("synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY", "threads=2"):
            con.execute(f"PRAGMA {pragma}")
        # The store's own secondary indexes (the hour index), to drop for the load and create as they were.
        indexes = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'utilization_hourly' "
            "AND sql IS NOT NULL"
        ).fetchall()
        t0 = time.perf_counter()
        con.execute(
            "CREATE TEMP TABLE bench_pattern (vh INTEGER PRIMARY KEY, hour TEXT, c1 REAL, c2 REAL, c3 REAL, "
            "m1 REAL, m2 REAL, m3 REAL, h INTEGER)"
        )
        con.execute("BEGIN")
        con.executemany("INSERT INTO bench_pattern VALUES (?,?,?,?,?,?,?,?,?)", pattern_rows(span, seed))
        con.execute(
            "CREATE TEMP TABLE bench_res (r INTEGER PRIMARY KEY, rid TEXT, k REAL, su REAL, sg REAL, st REAL, "
            "lo INTEGER, hi INTEGER)"
        )
        con.executemany(
            "INSERT INTO bench_res VALUES (?,?,?,?,?,?,?,?)",
            (
                (
                    i,
                    r.rid,
                    r.scale,
                    r.storage_gb * r.share,
                    r.growth,
                    r.storage_gb,
                    r.variant * VARIANT_STRIDE + r.start_h,
                    r.variant * VARIANT_STRIDE + r.stop_h,
                )
                for i, r in enumerate(plan)
            ),
        )
        con.execute("COMMIT")
        patterns_s = time.perf_counter() - t0
        for name, _sql in indexes:
            con.execute(f'DROP INDEX "{name}"')
        t0 = time.perf_counter()
        rows = 0
        step = 250
        for lo in range(0, len(plan), step):
            con.execute("BEGIN")
            rows += con.execute(_HOURLY_INSERT, (lo, lo + step)).rowcount
            con.execute("COMMIT")
            done = min(lo + step, len(plan))
            if done == len(plan) or done % 1000 == 0:  # a line now and then: a full load takes minutes
                rate = rows / (time.perf_counter() - t0)
                print(
                    f"  utilization_hourly: {done:,}/{len(plan):,} resources, {rows:,} rows ({rate:,.0f}/s)"
                )
                sys.stdout.flush()
        insert_s = time.perf_counter() - t0
        con.execute("DROP TABLE bench_pattern")
        con.execute("DROP TABLE bench_res")
        con.execute("PRAGMA temp_store=DEFAULT")  # the index's sort spills to files, not to gigabytes of RAM
        t0 = time.perf_counter()
        for _name, sql in indexes:
            con.execute(sql)
        index_s = time.perf_counter() - t0
        con.execute("PRAGMA journal_mode=WAL")  # as the store keeps it
    finally:
        con.close()
    return {"rows": rows, "patterns_s": patterns_s, "insert_s": insert_s, "index_s": index_s}


def inventory_rows(plan: list[Res]) -> list[dict[str, Any]]:
    updated = AS_OF.astimezone(UTC) - timedelta(hours=8)
    return [
        {
            "resource_id": r.rid,
            "platform": r.platform,
            "tenant_unit": r.unit,
            "type": r.type,
            "vcpu": r.vcpu,
            "memory_gb": r.memory_gb,
            "storage_gb": r.storage_gb,
            "backup_required": False,  # the continuity systems are the contract's ten
            "address": "" if r.type == "volume" else f"10.{20 + i // 60000}.{(i // 250) % 240}.{i % 250 + 2}",
            "collect_via": "" if r.type == "volume" else "ssh",
            "allocated_from": r.allocated_from,
            "allocated_to": r.allocated_to,
            "batch_id": None,
            "updated_at": updated,
        }
        for i, r in enumerate(plan)
    ]


# --- resource findings -----------------------------------------------------------------------------------


def _res_evidence(
    contract: Any, r: Res, end: datetime, days: float, figures: dict[str, Any], action: str, **reclaim: Any
) -> tuple[dict[str, Any], Any]:
    from ops_watch.areas.money.pricing import monthly_cost

    vcpu = reclaim.get("reclaim_vcpu", 0)
    mem = reclaim.get("reclaim_memory_gb", 0.0)
    disk = reclaim.get("reclaim_storage_gb", 0.0)
    cost = monthly_cost(contract, r.platform, vcpu, mem, disk)
    evidence = {
        "resource_id": r.rid,
        "platform": r.platform,
        "tenant_unit": r.unit,
        "type": r.type,
        "vcpu": r.vcpu,
        "memory_gb": r.memory_gb,
        "storage_gb": r.storage_gb,
        "window_days": days,
        "window_start": (end - timedelta(days=days)).isoformat(),
        "window_end": end.isoformat(),
        "coverage": 1.0 if action != "verify" else 0.0,
        **figures,
        "reclaim_vcpu": vcpu,
        "reclaim_memory_gb": round(mem, 2),
        "reclaim_storage_gb": round(disk, 2),
        "recommended_vcpu": reclaim.get("recommended_vcpu"),
        "action": action,
        **cost.as_evidence(),
    }
    return evidence, cost


def _cost_zh(cost: Any) -> str:
    if cost.amount is None:
        return ""
    if cost.basis == "notional":
        return f"，按合同单价折算每月 {cost.amount:,.2f} 元（固定费用平台，不直接节省）"
    return f"，每月约 {cost.amount:,.2f} 元"


def _cpu_figures(rng: random.Random, low: float, high: float) -> dict[str, Any]:
    p95 = rng.uniform(low, high)
    return {
        "cpu_p95_pct": round(p95, 2),
        "cpu_mean_pct": round(p95 * rng.uniform(0.5, 0.8), 2),
        "cpu_max_pct": round(min(100.0, p95 * rng.uniform(1.3, 2.5)), 2),
        "busiest_hour_pct": round(min(100.0, p95 * rng.uniform(1.1, 1.6)), 2),
    }


def resource_findings(f: Findings, plan: list[Res], span: Span, contract: Any) -> None:
    rng = f.rng
    floor = AS_OF.astimezone(UTC).replace(minute=0, second=0, microsecond=0)

    def idle(r: Res, first: datetime, status: str, resolved: datetime | None) -> None:
        end = (resolved - timedelta(hours=1)) if resolved else floor
        figures = _cpu_figures(rng, 0.4, 2.9) | {"busy_days": [], "max_p95_pct": 3.0, "busy_hour_pct": 10.0}
        ev, cost = _res_evidence(
            contract, r, end, 14.0, figures, "reclaim", reclaim_vcpu=r.vcpu, reclaim_memory_gb=r.memory_gb
        )
        summary = (
            f"{r.unit}的{r.platform}资源 {r.rid} 近 14 天 CPU 闲置：小时 CPU P95 {figures['cpu_p95_pct']:.1f}%，"
            f"最忙一小时平均 {figures['busiest_hour_pct']:.1f}%，数据覆盖 100%。"
            f"可回收 {r.vcpu} vCPU、{r.memory_gb:g} GB 内存{_cost_zh(cost)}。"
        )
        f.add("idle-cpu", r.rid, summary, first, status, resolved_at=resolved, evidence=ev)

    def oversized(r: Res, first: datetime, status: str, resolved: datetime | None) -> None:
        end = (resolved - timedelta(hours=1)) if resolved else floor
        recommended = max(1, r.vcpu // rng.choice((2, 4)))
        figures = _cpu_figures(rng, 4.0, 16.0) | {"needed_vcpu": recommended * 0.8, "target_pct": 70.0}
        ev, cost = _res_evidence(
            contract,
            r,
            end,
            14.0,
            figures,
            "resize",
            reclaim_vcpu=r.vcpu - recommended,
            recommended_vcpu=recommended,
        )
        summary = (
            f"{r.unit}的{r.platform}资源 {r.rid} 配置 {r.vcpu} vCPU，近 14 天 CPU P95 仅 "
            f"{figures['cpu_p95_pct']:.1f}%：建议缩至 {recommended} vCPU，可回收 {r.vcpu - recommended} vCPU"
            f"{_cost_zh(cost)}。"
        )
        f.add("oversized-cpu", r.rid, summary, first, status, resolved_at=resolved, evidence=ev)

    def idle_storage(r: Res, first: datetime, status: str, resolved: datetime | None) -> None:
        end = (resolved - timedelta(hours=1)) if resolved else floor
        used = r.storage_gb * r.share
        keep = max(50.0, 50.0 * -(-used * 1.3 // 50))
        if keep >= r.storage_gb:
            return
        figures = {
            "storage_used_max_gb": round(used * 1.02, 2),
            "storage_used_mean_gb": round(used, 2),
            "storage_used_share": round(used / r.storage_gb, 4),
            "storage_total_seen_gb": r.storage_gb,
            "keep_gb": keep,
            "max_used_share": 0.3,
        }
        ev, cost = _res_evidence(
            contract, r, end, 30.0, figures, "shrink", reclaim_storage_gb=r.storage_gb - keep
        )
        summary = (
            f"{r.unit}的{r.platform}存储 {r.rid} 分配 {r.storage_gb:g} GB，近 30 天最多使用 {used:.0f} GB："
            f"保留 {keep:g} GB 即可，可回收 {r.storage_gb - keep:g} GB{_cost_zh(cost)}。"
        )
        f.add("idle-storage", r.rid, summary, first, status, resolved_at=resolved, evidence=ev)

    for r in plan:
        opened_h = r.start_h + 14 * 24 + rng.randint(1, 47)
        first = span.hour(opened_h) + timedelta(minutes=rng.randint(1, 9))
        if opened_h >= r.stop_h + 72 and r.profile != "stale":
            continue
        if r.profile == "idle":
            resolved = span.hour(r.stop_h + 2) if r.reclaimed else None
            idle(r, first, "resolved" if resolved else f.status(0.5, 0.3, 0.1), resolved)
        elif r.profile == "oversized":
            oversized(r, first, f.status(0.55, 0.35, 0.05), None)
        elif r.profile == "volume_idle":
            idle_storage(r, first + timedelta(days=16), f.status(0.6, 0.3, 0.05), None)
        elif r.profile == "stale":
            silent_from = span.hour(r.stop_h)
            seen = silent_from + timedelta(days=3, minutes=rng.randint(1, 59))
            ev, cost = _res_evidence(
                contract,
                r,
                seen,
                3.0,
                {"last_sample": silent_from.isoformat(), "silent_days": 3.0, "max_silence_days": 3.0},
                "verify",
                reclaim_vcpu=r.vcpu,
                reclaim_memory_gb=r.memory_gb,
                reclaim_storage_gb=r.storage_gb,
            )
            shown = silent_from.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
            summary = (
                f"{r.unit}的{r.platform}资源 {r.rid} 已 3.0 天没有利用率数据（最后一次 {shown}）：可能已停用或"
                f"未纳入监测，请核实。若确已停用，可回收 {r.vcpu} vCPU、{r.memory_gb:g} GB 内存、"
                f"{r.storage_gb:g} GB 存储{_cost_zh(cost)}。"
            )
            f.add("stale-resource", r.rid, summary, seen, f.status(0.7, 0.3, 0.0), evidence=ev)
    # Spells of the year that ended: a resource idle or oversized for a few weeks, then used again.
    normal = [r for r in plan if r.profile in ("normal", "batch", "busy") and r.stop_h - r.start_h > 60 * 24]
    volumes = [r for r in plan if r.profile == "volume" and r.stop_h - r.start_h > 60 * 24]
    for _ in range(min(700, len(normal))):
        x = rng.random()
        pool = volumes if x < 0.2 and volumes else normal
        r = rng.choice(pool)
        h = rng.randint(r.start_h + 14 * 24, max(r.start_h + 14 * 24, r.stop_h - 24))
        first = span.hour(h) + timedelta(minutes=rng.randint(1, 9))
        resolved = first + timedelta(days=rng.uniform(3, 56))
        if pool is volumes:
            idle_storage(r, first, "resolved", resolved)
        elif x < 0.6:
            idle(r, first, "resolved", resolved)
        else:
            oversized(r, first, "resolved", resolved)
    # The fixed-fee platform's utilization stayed low for months (the contract's sizing question).
    for month in (3, 7, 10):
        start = _local(date(2026, month, 1))
        if start < span.start:
            continue
        plat = PLATFORMS[1][0]
        f.add(
            "platform-utilization",
            plat,
            f"{plat} 近 14 天 vCPU 平均使用率 11.8%，P95 24.5%，低于 30%。",
            start + timedelta(hours=9),
            "resolved" if month < 10 else "acknowledged",
            resolved_at=start + timedelta(days=rng.randint(20, 40)),
            period_start=start - timedelta(days=14),
        )


# --- staffing: registry, door events, handover sheets ----------------------------------------------------


@dataclass(frozen=True)
class Person:
    pid: str
    name: str
    card: str


@dataclass
class Staffing:
    staff: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[datetime, tuple[str, str, str], str, str, str, str]] = field(default_factory=list)
    sheets: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[tuple[str, Any, Any]] = field(default_factory=list)  # (kind, shift instance or time, who)


def _people(rng: random.Random, prefix: str, count: int, start: int, taken: set[str]) -> list[Person]:
    """People with names unique among `taken` (a sheet names people: two of one name would be ambiguous)."""
    out = []
    for i in range(count):
        name = _name(rng)
        while name in taken:
            name = _name(rng)
        taken.add(name)
        out.append(Person(f"{prefix}{start + i:03d}", name, f"30051{rng.randrange(10**5):05d}"))
    return out


def _visit(
    st: Staffing, who: Person, at: datetime, door: tuple[str, str, str], result: str = "granted"
) -> None:
    st.events.append((at, door, who.pid, who.name, who.card, result))


def _shift_events(rng: random.Random, st: Staffing, who: Person, inst: Any, late: bool) -> None:
    start, end = inst.start, inst.end
    arrive = start + timedelta(minutes=70) if late else start - timedelta(minutes=rng.uniform(8, 25))
    leave = end + timedelta(minutes=rng.uniform(2, 19))
    _visit(st, who, arrive - timedelta(minutes=rng.uniform(3, 8)), LOBBY_IN)
    _visit(st, who, arrive, ROOM_IN)
    hours = (end - start).total_seconds() / 3600
    trips = 3 if hours >= 12 and start.astimezone(ZONE).hour < 12 else 1
    for at in sorted(rng.uniform(1, hours - 1.5) for _ in range(trips)):
        out = start + timedelta(hours=at)
        _visit(st, who, out, ROOM_OUT)
        _visit(st, who, out + timedelta(minutes=rng.uniform(10, 40)), ROOM_IN)
    for _ in range(2):
        _visit(st, who, start + timedelta(hours=rng.uniform(0.5, hours - 0.5)), DUTY_ROOM)
    _visit(st, who, leave, ROOM_OUT)
    _visit(st, who, leave + timedelta(minutes=rng.uniform(3, 8)), LOBBY_OUT)


def staffing_data(rng: random.Random, contract: Any, span: Span) -> Staffing:
    from ops_watch.areas.staffing.shifts import day_type, shift_instances, staffing_terms

    st = Staffing()
    taken: set[str] = set()
    leads, day_crew = _people(rng, "YW", 6, 1, taken), _people(rng, "YW", 8, 7, taken)
    night_crew = _people(rng, "YW", 6, 15, taken)
    updated = AS_OF.astimezone(UTC) - timedelta(days=3)
    for i, p in enumerate(leads + day_crew + night_crew):
        certs = [{"name": "CISP", "expires": "2028-06-30"}] if i < 6 or i % 3 == 0 else []
        if i == 4:
            certs = [{"name": "CISP", "expires": "2026-09-30"}]  # expired: the shifts needing it say so
            st.incidents.append(("expired", _local(date(2026, 10, 1)), p))
        st.staff.append(
            {
                "person_id": p.pid,
                "name": p.name,
                "card_numbers": [p.card],
                "role": "值班长" if i < 6 else "运维工程师",
                "employer": "某某信息技术有限公司",
                "active_from": date(2024, 3, 1),
                "active_to": None,
                "certificates": certs,
                "batch_id": None,
                "updated_at": updated,
            }
        )
    instances = shift_instances(staffing_terms(contract), span.first_day, span.last_day, ZONE)
    turn: dict[str, int] = {}
    teams = []
    for inst in instances:
        n = turn.get(inst.shift, 0)
        turn[inst.shift] = n + 1
        crew = day_crew if 6 <= inst.start.astimezone(ZONE).hour < 18 else night_crew
        team = [leads[n % len(leads)]] if inst.required_roles else []
        while len(team) < inst.min_headcount:
            team.append(crew[(2 * n + len(team)) % len(crew)])
        teams.append(team)
    for k, (inst, team) in enumerate(zip(instances, teams, strict=True)):
        taker = teams[k + 1][0] if k + 1 < len(teams) else team[0]
        x = rng.random()
        kind = (
            "ghost"
            if x < 0.012
            else "late"
            if x < 0.024
            else "missing_row"
            if x < 0.032
            else "short"
            if x < 0.044 and len(team) > 1
            else "no_handover"
            if x < 0.052
            else ""
        )
        listed = team[:-1] if kind == "short" else team
        for i, who in enumerate(listed):
            if kind == "ghost" and i == len(listed) - 1:
                continue
            _shift_events(rng, st, who, inst, late=kind == "late" and i == 0)
        if kind:
            st.incidents.append((kind, inst, listed[-1]))
        if kind == "missing_row":
            continue
        st.sheets.append(
            {
                "date": inst.day,
                "shift": inst.shift,
                "on_duty": [p.name for p in listed],
                "handover_at": None if kind == "no_handover" else inst.end,
                "handed_over_by": listed[0].name,
                "taken_over_by": taker.name,
                "notes": "" if rng.random() < 0.9 else "巡检正常，无异常告警",
                "batch_id": None,
                "updated_at": inst.end + timedelta(hours=1),
            }
        )
    office = _people(rng, "ZX", 55, 1, set())
    visitors = _people(rng, "FK", 300, 1, set())
    for day in span.day_list():
        if day_type(day)[0] == "workday":
            for who in office:
                if rng.random() < 0.92:
                    _office_day(rng, st, who, day)
        for _ in range(6):
            who = rng.choice(visitors)
            at = _local(day, 9, rng.uniform(0, 480))
            _visit(st, who, at, LOBBY_IN, "granted" if rng.random() < 0.9 else "denied")
    _access_incidents(rng, st, span, day_crew)
    return st


def _office_day(rng: random.Random, st: Staffing, who: Person, day: date) -> None:
    at = _local(day, 8, rng.uniform(0, 70))
    _visit(st, who, at, LOBBY_IN, "granted" if rng.random() < 0.99 else "denied")
    _visit(st, who, at + timedelta(minutes=rng.uniform(2, 5)), OFFICE)
    lunch = _local(day, 11, rng.uniform(50, 80))
    _visit(st, who, lunch, LOBBY_OUT)
    back = lunch + timedelta(minutes=rng.uniform(40, 80))
    _visit(st, who, back, LOBBY_IN)
    _visit(st, who, back + timedelta(minutes=rng.uniform(2, 5)), OFFICE)
    if rng.random() < 0.5:
        _visit(st, who, _local(day, 14, rng.uniform(0, 180)), OFFICE)
    _visit(st, who, _local(day, 17, rng.uniform(30, 120)), LOBBY_OUT)


def _access_incidents(rng: random.Random, st: Staffing, span: Span, crew: list[Person]) -> None:
    """A few unknown cards and off-shift entries at the machine room a month; a denied burst a quarter."""
    for day in span.day_list():
        x = rng.random()
        if x < 0.05:
            card = f"30099{rng.randrange(10**5):05d}"
            at = _local(day, rng.randint(9, 17), rng.uniform(0, 59))
            st.events.append((at, ROOM_IN, "", "", card, "granted"))
            st.incidents.append(("unknown_entry", at, card))
        elif x < 0.1:
            who = rng.choice(crew)
            at = _local(day, 22, rng.uniform(0, 90))
            _visit(st, who, at, ROOM_IN)
            _visit(st, who, at + timedelta(minutes=rng.uniform(10, 40)), ROOM_OUT)
            st.incidents.append(("off_shift", at, who))
        elif x < 0.112:
            card = f"30098{rng.randrange(10**5):05d}"
            at = _local(day, rng.randint(0, 23), rng.uniform(0, 50))
            for i in range(6):
                st.events.append((at + timedelta(seconds=40 * i), ROOM_IN, "", "", card, "denied"))
            st.incidents.append(("denied_burst", at, card))


def door_rows(events: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Events in time order, numbered by each device as door controllers do."""
    from ops_watch.areas.staffing.kind_door import dedupe_key

    events.sort(key=lambda e: e[0])
    serials: dict[str, int] = {}
    rows = []
    for at, (door, direction, device), pid, name, card, result in events:
        serials[device] = serial = serials.get(device, 100000) + 1
        at = at.replace(microsecond=0)
        rows.append(
            {
                "at": at,
                "person_id": pid,
                "name": name,
                "card_no": card,
                "door": door,
                "direction": direction,
                "result": result,
                "device": device,
                "serial_no": str(serial),
                "dedupe_key": dedupe_key(at, pid, card, door, device, str(serial)),
                "batch_id": None,
            }
        )
    return rows


def staffing_findings(f: Findings, st: Staffing) -> None:
    rng = f.rng
    for kind, what, who in st.incidents:
        if kind in ("unknown_entry", "off_shift", "denied_burst", "expired"):
            at: datetime = what
            day = at.astimezone(ZONE).date()
            seen = at + timedelta(minutes=rng.randint(5, 30))
            if kind == "unknown_entry":
                f.add(
                    "unknown-entry",
                    f"{who} {day.isoformat()}",
                    f"未登记的卡 {who} 于 {at.astimezone(ZONE):%H:%M} 获准进入 机房A区门，不在驻场人员名册中",
                    seen,
                    f.status(0.15, 0.6, 0.0),
                    period_start=_local(day),
                )
            elif kind == "off_shift":
                f.add(
                    "off-shift-entry",
                    f"{who.pid} {day.isoformat()}",
                    f"{who.name}（{who.pid}）于 {at.astimezone(ZONE):%m-%d %H:%M} 进入 机房A区门，当时不在任何值班班次",
                    seen,
                    f.status(0.2, 0.5, 0.0),
                    period_start=_local(day),
                )
            elif kind == "denied_burst":
                f.add(
                    "access-denied-burst",
                    f"机房A区门 {at.astimezone(ZONE):%Y-%m-%d %H:%M}",
                    f"机房A区门 5 分钟内 6 次刷卡被拒（卡号 {who}）",
                    seen,
                    f.status(0.1, 0.7, 0.0),
                    period_start=at,
                    period_end=at + timedelta(minutes=5),
                )
            else:
                f.add(
                    "expired-qualification",
                    f"{who.pid} CISP",
                    f"{who.name}（{who.pid}）的「CISP」证书已于 2026-09-30 过期，仍在需要该证书的班次值班",
                    at + timedelta(hours=10),
                    "open",
                    period_start=at,
                )
            continue
        inst = what
        label = f"{inst.day.isoformat()} {inst.shift}"
        seen = inst.end + timedelta(minutes=rng.randint(20, 180))
        status = f.status(0.25, 0.45, 0.0)
        common = {"period_start": inst.start, "period_end": inst.end}
        if kind == "ghost":
            f.add(
                "ghost-on-duty",
                f"{label} {who.pid}",
                f"{label}：交接班表列出的 {who.name}（{who.pid}）在班次内没有任何门禁记录",
                seen,
                status,
                **common,
            )
            f.add("understaffed-shift", label, f"{label} 门禁实到人数少于应到", seen, status, **common)
        elif kind == "missing_row":
            f.add("missing-handover", label, f"{label} 没有交接班记录", seen, status, **common)
        elif kind == "short":
            f.add(
                "understaffed-shift",
                label,
                f"{label} 应到 {inst.min_headcount} 人，交接班表与门禁均只有 {inst.min_headcount - 1} 人",
                seen,
                status,
                **common,
            )
        elif kind == "no_handover":
            f.add("handover-unverified", label, f"{label} 交接班表：未填写交接时间", seen, status, **common)


# --- continuity: backups, drills, plans ------------------------------------------------------------------


def continuity_data(rng: random.Random, contract: Any, span: Span, f: Findings) -> dict[str, list[dict]]:
    from ops_watch.areas.continuity.kind_backup import dedupe_key
    from ops_watch.areas.continuity.model import continuity_terms

    terms = continuity_terms(contract)
    systems = [(s.name, s.class_) for s in terms.systems]
    jobs: list[dict[str, Any]] = []
    for i, (system, _klass) in enumerate(systems):
        size = rng.uniform(50, 2000)
        broken = span.days - rng.randint(20, max(21, span.days - 1)) if i == 3 else -1
        streak: datetime | None = None
        for n, day in enumerate(span.day_list()):
            started = _local(day, 1, 12 * i + rng.uniform(0, 10))
            x = rng.random()
            status = (
                "failed" if (x < 0.025 or broken <= n < broken + 3) else "partial" if x < 0.035 else "success"
            )
            minutes = rng.uniform(20, 120) if status != "failed" else rng.uniform(3, 30)
            finished = started + timedelta(minutes=minutes)
            size *= 1.0005
            jobs.append(
                {
                    "system": system,
                    "job": f"{system}-每日备份",
                    "started": started,
                    "finished": finished,
                    "status": status,
                    "size_gb": None if status == "failed" else round(size * rng.uniform(0.97, 1.03), 2),
                    "dedupe_key": dedupe_key(system, f"{system}-每日备份", started),
                    "batch_id": None,
                }
            )
            if status != "success" and streak is None:
                streak = started
            elif status == "success" and streak is not None:
                _backup_finding(f, system, streak, finished + timedelta(minutes=30))
                streak = None
        if streak is not None:
            _backup_finding(f, system, streak, None)
    drills, plans = drill_data(rng, terms, span, f)
    return {"backup_jobs": jobs, "drills": drills, "drill_plans": plans}


def _backup_finding(f: Findings, system: str, since: datetime, resolved: datetime | None) -> None:
    shown = since.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
    f.add(
        "backup-failed",
        system,
        f"{system} 自 {shown} 起备份异常：最近一次备份失败",
        since + timedelta(hours=2),
        "resolved" if resolved else "open",
        resolved_at=resolved,
        period_start=since,
    )


def drill_data(rng: random.Random, terms: Any, span: Span, f: Findings) -> tuple[list[dict], list[dict]]:
    """Drills on each system's cadence from judge_from, mostly a few days early; some late, failed or
    missing a field; one missed (overdue at the week's end). Every drill was planned."""
    from ops_watch.areas.continuity.model import DRILL_TYPE_ZH

    origin = terms.judge_from or span.first_day
    drills, plans = [], []
    roster = [_name(rng) for _ in range(12)]  # who takes part in drills
    for i, system in enumerate(terms.systems):
        klass = terms.classes.get(system.class_)
        cadence = dict((klass.drill_every_days if klass else None) or {})
        rto_target = (klass.rto_minutes if klass else None) or 240
        for kind, days in sorted(cadence.items()):
            when = origin - timedelta(days=rng.randint(20, 60))  # one before the contract's clock started
            due = origin + timedelta(days=days)
            while when <= span.last_day:
                if when >= span.first_day:
                    _drill(rng, drills, plans, f, system.name, kind, when, rto_target, roster)
                if due > span.last_day:
                    break
                if i == 1 and kind == "restore" and due + timedelta(days=days) > span.last_day:
                    seen = _local(due + timedelta(days=1), 8, 5)
                    label = DRILL_TYPE_ZH[kind]
                    f.add(
                        "drill-overdue",
                        f"{system.name} {kind}",
                        f"{system.name} 的{label}已逾期（每 {days} 天一次，应于 {due.isoformat()} 前完成）",
                        seen,
                        "open",
                        period_start=_local(due),
                    )
                    plans.append(_plan(system.name, kind, due - timedelta(days=3)))
                    break
                when = (
                    due - timedelta(days=rng.randint(1, 20))
                    if rng.random() < 0.9
                    else due + timedelta(days=9)
                )
                due = when + timedelta(days=days)
    return drills, plans


def _plan(system: str, kind: str, day: date) -> dict[str, Any]:
    return {
        "date": day,
        "system": system,
        "type": kind,
        "batch_id": None,
        "updated_at": _local(day - timedelta(days=20), 10),
    }


def _drill(
    rng: random.Random,
    drills: list[dict],
    plans: list[dict],
    f: Findings,
    system: str,
    kind: str,
    day: date,
    rto_target: float,
    roster: list[str],
) -> None:
    from ops_watch.areas.continuity.model import DRILL_TYPE_ZH

    passed = rng.random() < 0.9
    rto = rng.uniform(0.3, 1.25) * rto_target
    incomplete = rng.random() < 0.12
    drills.append(
        {
            "date": day,
            "system": system,
            "type": kind,
            "scenario": f"{system}{DRILL_TYPE_ZH[kind]}：模拟主库故障，从备份恢复至备用环境",
            "result": "pass" if passed else "fail",
            "rto_minutes": round(rto, 1),
            "rpo_minutes": round(rng.uniform(5, 600), 1),
            "participants": [] if incomplete else rng.sample(roster, rng.randint(2, 4)),
            "evidence": f"演练报告-{system}-{day.isoformat()}.pdf",
            "batch_id": None,
            "updated_at": _local(day + timedelta(days=2), 10),
        }
    )
    plans.append(_plan(system, kind, day))
    label = f"{system} {kind} {day.isoformat()}"
    seen = _local(day + timedelta(days=2), 10, 30)
    if incomplete:
        f.add(
            "drill-record-incomplete",
            label,
            f"{system} 于 {day.isoformat()} 的{DRILL_TYPE_ZH[kind]}记录缺少：参与人员",
            seen,
            f.status(0.3, 0.3, 0.0),
            period_start=_local(day),
        )
    if rto > rto_target:
        f.add(
            "drill-rto-exceeded",
            label,
            f"{system} 于 {day.isoformat()} 的{DRILL_TYPE_ZH[kind]}恢复用时 {rto:.0f} 分钟，超过 RTO {rto_target:g} 分钟",
            seen,
            f.status(0.3, 0.5, 0.0),
            period_start=_local(day),
        )
    if not passed:
        f.add(
            "drill-failed-unresolved",
            label,
            f"{system} 于 {day.isoformat()} 的{DRILL_TYPE_ZH[kind]}失败，未在 30 天内重新演练通过",
            _local(day + timedelta(days=31), 8, 5),
            f.status(0.3, 0.3, 0.0),
            period_start=_local(day),
        )


# --- evidence: batches, outbox, collection -------------------------------------------------------------


def evidence_data(rng: random.Random, span: Span, plan: list[Res], f: Findings) -> dict[str, list[dict]]:
    """Files and polls as they arrive: daily exports, hourly door polls and utilization files, weekly staff
    registers, monthly drill files; some partial, a few rejected. Sent and dead alert messages."""
    batches: list[dict[str, Any]] = []
    sources = (
        ("inventory", "资源清单-{d:%Y%m%d}.xlsx", 5000, 0.1, 0.01, (10,)),
        ("handover", "交接班表-{d:%Y%m%d}.xlsx", 2, 0.03, 0.0, (9,)),
        ("backup", "备份作业-{d:%Y%m%d}.csv", 10, 0.02, 0.005, (7,)),
        ("door", "hikvision:机房A区门控制器", 12, 0.005, 0.0, tuple(range(24))),
        ("utilization", "utilization-{d:%Y%m%d}{h:02d}.csv", 5000, 0.012, 0.002, tuple(range(24))),
    )
    for day in span.day_list():
        todo = list(sources)
        if day.weekday() == 0:
            todo.append(("staff", "驻场人员名册-{d:%Y%m%d}.xlsx", 20, 0.05, 0.0, (11,)))
        if day.day == 1:
            todo.append(("drill", "演练记录-{d:%Y%m}.xlsx", 4, 0.1, 0.0, (15,)))
            todo.append(("drill_plan", "演练计划-{d:%Y%m}.xlsx", 4, 0.0, 0.0, (15,)))
        for kind, pattern, rows, partial, rejected, hours in todo:
            for h in hours:
                received = _local(day, h, rng.uniform(1, 20))
                x = rng.random()
                status = "rejected" if x < rejected else "partial" if x < rejected + partial else "accepted"
                total = max(1, int(rows * rng.uniform(0.9, 1.1)))
                bad = (
                    total
                    if status == "rejected"
                    else rng.randint(1, max(1, total // 50))
                    if status == "partial"
                    else 0
                )
                source = pattern.format(d=day, h=h)
                batch_id = len(batches) + 1
                batches.append(
                    {
                        "id": batch_id,
                        "kind": kind,
                        "source": source,
                        "sha256": hashlib.sha256(f"{kind}|{source}|{batch_id}".encode()).hexdigest(),
                        "received_at": received,
                        "evidence_time": received - timedelta(minutes=rng.uniform(5, 50)),
                        "status": status,
                        "rows_total": total,
                        "rows_ok": total - bad,
                        "rows_bad": bad,
                        "rows_duplicate": rng.randint(0, 3) if kind == "door" else 0,
                        "detail": "" if status == "accepted" else f"{bad} 行有错，见 row_errors",
                        "stored_path": f"var/evidence/{day:%Y/%m}/{batch_id}-{source.replace(':', '_')}",
                    }
                )
                if status != "accepted":
                    what = "整个文件被拒收" if status == "rejected" else f"{total} 行中 {bad} 行被拒"
                    f.add(
                        "evidence-refused",
                        f"{kind}/{source}#{batch_id}",
                        f"证据文件 {source}（{kind}）：{what}",
                        received + timedelta(minutes=5),
                        "resolved" if rng.random() < 0.7 else "acknowledged",
                        resolved_at=received + timedelta(days=7, minutes=10),
                        period_start=received,
                    )
    _silent_spells(rng, span, f)
    _collection_failures(rng, span, plan, f)
    return {"evidence_batches": batches, "outbox_messages": outbox_rows(rng, span, f)}


def _silent_spells(rng: random.Random, span: Span, f: Findings) -> None:
    for rule_id, kind, max_age in (
        ("door-fresh", "door", timedelta(days=1)),
        ("handover-fresh", "handover", timedelta(days=3)),
        ("backup-fresh", "backup", timedelta(days=2)),
        ("utilization-fresh", "utilization", timedelta(hours=2)),
    ):
        for _ in range(3):
            last = span.hour(rng.uniform(0, span.hours - 48))
            f.add(
                rule_id,
                kind,
                f"「{kind}」证据已 {max_age.total_seconds() / 3600:g} 小时未更新（最后一次 "
                f"{last.astimezone(ZONE):%Y-%m-%d %H:%M}）",
                last + max_age + timedelta(minutes=5),
                "resolved",
                resolved_at=last + max_age + timedelta(hours=rng.uniform(1, 30)),
                period_start=last,
            )


def _collection_failures(rng: random.Random, span: Span, plan: list[Res], f: Findings) -> None:
    """SSH targets that failed for a while (most recovered; the stale resources still fail), and the door
    controller's bad days."""
    compute = [r for r in plan if r.type != "volume"]
    for _ in range(150):
        r = rng.choice(compute)
        since = span.hour(rng.uniform(r.start_h, max(r.start_h + 1, r.stop_h - 1)))
        f.add(
            "collection-failed",
            f"ssh/{r.rid}",
            f"ssh 采集 {r.rid} 失败：连接超时（自 {since.astimezone(ZONE):%Y-%m-%d %H:%M} 起）",
            since + timedelta(minutes=5),
            "resolved",
            resolved_at=since + timedelta(hours=rng.uniform(0.2, 72)),
            period_start=since,
        )
    for r in plan:
        if r.profile == "stale" and r.stop_h < span.hours:
            since = span.hour(r.stop_h)
            f.add(
                "collection-failed",
                f"ssh/{r.rid}",
                f"ssh 采集 {r.rid} 失败：主机不可达（自 {since.astimezone(ZONE):%Y-%m-%d %H:%M} 起）",
                since + timedelta(minutes=5),
                "open",
                period_start=since,
            )
    for _ in range(8):
        since = span.hour(rng.uniform(0, span.hours - 10))
        f.add(
            "door-collection-failed",
            "hikvision/机房A区门控制器",
            "hikvision 采集 机房A区门控制器 失败：登录被拒",
            since + timedelta(minutes=10),
            "resolved",
            resolved_at=since + timedelta(hours=rng.uniform(0.5, 8)),
            period_start=since,
        )


def outbox_rows(rng: random.Random, span: Span, f: Findings) -> list[dict[str, Any]]:
    """An alert mail per warning or critical finding (sent), the weekly reports, and 12 dead messages: 2 in the
    report's week, 1 the week before."""
    rows: list[dict[str, Any]] = []

    def message(at: datetime, subject: str, status: str, channel: str = "email") -> dict[str, Any]:
        n = len(rows) + 1
        return {
            "channel": channel,
            "receiver": "default" if channel == "email" else "duty-robot",
            "created_at": at,
            "recipients": ["duty@center.example"] if channel == "email" else [],
            "subject": subject,
            "body_text": f"{subject}\n\n详情见 ops-watch findings show。" * 3,
            "body_html": "",
            "message_id": f"<alert.{n}.{at.timestamp():.0f}@ops-watch.local>",
            "references": "",
            "finding_id": None,
            "group_id": None,
            "payload": {},
            "status": status,
            "attempts": 1 if status == "sent" else 8,
            "next_attempt_at": at + timedelta(minutes=1),
            "last_error": "" if status == "sent" else "钉钉机器人返回 errcode 310000：关键词不匹配",
            "sent_at": at + timedelta(seconds=20) if status == "sent" else None,
        }

    for r in f.rows:
        if r["severity"] in ("warning", "critical") and rng.random() < 0.8:
            rows.append(
                message(r["first_seen"] + timedelta(seconds=30), f"[ops-watch] {r['summary'][:60]}", "sent")
            )
    week_start = _local(LAST_DAY - timedelta(days=6))
    dead_times = [span.hour(rng.uniform(0, span.hours - 24 * 14)) for _ in range(9)]
    dead_times += [week_start - timedelta(days=3), week_start + timedelta(days=2, hours=3)]
    dead_times += [week_start + timedelta(days=5, hours=14)]
    for at in sorted(t for t in dead_times if t >= span.start):
        rows.append(message(at, "[ops-watch] 告警：机房A区门未登记卡进入", "dead", "dingtalk"))
        n = len(rows)
        f.add(
            "notification-dead",
            f"message {n}",
            f"告警消息 #{n}（dingtalk）发送 8 次均失败，已停止重试：机房A区门未登记卡进入",
            at + timedelta(hours=2),
            "resolved" if at < week_start else "open",
            resolved_at=at + timedelta(days=1),
            period_start=at,
        )
    rows.sort(key=lambda m: m["created_at"])
    return rows


# --- generation ------------------------------------------------------------------------------------------


def generate(workdir: Path, resources: int, days: int, seed: int) -> dict[str, Any]:
    """The database and the rules folder in `workdir`; returns what was generated and how long it took."""
    from sqlalchemy import insert

    from ops_watch import plugins
    from ops_watch.findings.rules import load_rules
    from ops_watch.store import open_store
    from ops_watch.store.schema import (
        BackupJob,
        DoorEvent,
        Drill,
        DrillPlan,
        EvidenceBatch,
        Finding,
        HandoverShift,
        InventoryResource,
        OutboxMessage,
        Silence,
        StaffMember,
    )

    db = workdir / DB_NAME
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    span = Span(LAST_DAY - timedelta(days=days - 1))
    rules_dir = prepare_rules(workdir, span)
    plugins.load()  # every area, as the CLI loads them
    rules = load_rules(rules_dir)
    contract = rules.contract
    rng = random.Random(seed)
    t_all = time.perf_counter()
    plan = plan_resources(rng, resources, span)
    assign_variants(rng, plan)
    findings = Findings(rules, rng)
    t0 = time.perf_counter()
    resource_findings(findings, plan, span, contract)
    st = staffing_data(rng, contract, span)
    doors = door_rows(st.events)
    staffing_findings(findings, st)
    cont = continuity_data(rng, contract, span, findings)
    ev = evidence_data(rng, span, plan, findings)
    prepare_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    store = open_store(f"sqlite:///{db}")
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (EvidenceBatch, ev["evidence_batches"]),
        (InventoryResource, inventory_rows(plan)),
        (StaffMember, st.staff),
        (DoorEvent, doors),
        (HandoverShift, st.sheets),
        (BackupJob, cont["backup_jobs"]),
        (Drill, cont["drills"]),
        (DrillPlan, _unique(cont["drill_plans"], ("date", "system", "type"))),
        (Finding, findings.rows),
        (Silence, findings.silences),
        (OutboxMessage, ev["outbox_messages"]),
    ]
    rows: dict[str, int] = {}
    with store.engine.begin() as conn:
        for table, data in tables:
            for i in range(0, len(data), 10_000):
                conn.execute(insert(table), data[i : i + 10_000])
            rows[table.__tablename__] = len(data)
    store.dispose()
    other_s = time.perf_counter() - t0
    hourly = write_hourly(db, plan, span, seed)
    rows["utilization_hourly"] = int(hourly["rows"])
    by_area = {a: findings.count(a) for a in ("resources", "staffing", "continuity", "evidence")}
    return {
        "params": {"resources": resources, "days": days, "seed": seed},
        "first_day": span.first_day.isoformat(),
        "last_day": span.last_day.isoformat(),
        "rows": rows,
        "findings_by_area": by_area,
        "findings_by_status": _by(findings.rows, "status"),
        "seconds": {
            "total": time.perf_counter() - t_all,
            "python_rows": prepare_s,
            "other_tables": other_s,
            "hourly_patterns": hourly["patterns_s"],
            "hourly_insert": hourly["insert_s"],
            "hourly_index": hourly["index_s"],
        },
        "db_bytes": sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()),
    }


def _unique(rows: list[dict[str, Any]], key: Sequence[str]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        seen.setdefault(tuple(r[k] for k in key), r)
    return list(seen.values())


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r[key]] = out.get(r[key], 0) + 1
    return dict(sorted(out.items()))


# --- the measured build (child process) ------------------------------------------------------------------


def child(spec: dict[str, Any]) -> int:
    """One build of the report in this process; prints its figures as JSON on the last line."""
    from ops_watch import plugins
    from ops_watch.config import Config
    from ops_watch.findings.rules import load_rules
    from ops_watch.report.model import Week
    from ops_watch.report.weekly import build, files_of
    from ops_watch.store import open_store

    plugins.load()  # every area, as the CLI loads them

    store = open_store(spec["url"])
    config = Config.model_validate(
        {
            "site": {"timezone": ZONE_NAME},
            "paths": {"state_dir": spec["state_dir"], "rules_dir": spec["rules_dir"]},
            "report": {"font_dirs": spec["font_dirs"]},
        }
    )
    contract = load_rules(Path(spec["rules_dir"])).contract
    week = Week.parse(spec["week"], ZONE)
    baseline = _peak_rss_mib()
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0, c0 = time.perf_counter(), _cpu_seconds()
    report = build(store, config, contract, week, spec["language"])
    t1 = time.perf_counter()
    files = files_of(report, config)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    peak = _peak_rss_mib()
    store.dispose()
    if spec.get("out"):
        out = Path(spec["out"])
        for name, data in files.files.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(data)
    areas = []
    for a in report.areas:
        areas.append(
            {
                "key": a.key,
                "status": a.status,
                "figures": {f.key: f.value for f in a.figures},
                "opened": len(a.opened),
                "resolved": len(a.resolved),
                "still_open": len(a.still_open),
                "overdue": len(a.overdue),
                "tables": {t.key: len(t.rows) for t in a.tables},
                "charts": [c.key for c in a.charts],
            }
        )
    figures = {
        "seconds": seconds,
        "build_seconds": t1 - t0,
        "files_seconds": seconds - (t1 - t0),
        "cpu_seconds": cpu,
        "rss_mib": peak,
        "baseline_mib": baseline,
        "status": report.status,
        "areas": areas,
        "gaps": len(report.gaps),
        "tables": {t.key: len(t.rows) for t in report.tables},
        "notes": report.notes,
        "sizes": {name: len(data) for name, data in files.files.items()},
        "xlsx": files.xlsx,
    }
    print(json.dumps(figures, ensure_ascii=False))
    return 0


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"the build failed (exit {out.returncode}): see its output above")
    return json.loads(out.stdout.strip().splitlines()[-1])


def calibration() -> float:
    """A fixed pure-Python loop, to compare figures between machines."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i % 7
    return round(time.perf_counter() - started, 3)


# --- printing --------------------------------------------------------------------------------------------


def print_generation(meta: dict[str, Any], reused: bool) -> None:
    s = meta["seconds"]
    print(
        f"data         {meta['first_day']} .. {meta['last_day']} ({meta['params']['days']} days, site time)"
    )
    for table, n in meta["rows"].items():
        print(f"  {table:<22} {n:>12,} rows")
    print(
        "  findings by area: "
        + ", ".join(f"{k} {v:,}" for k, v in meta["findings_by_area"].items())
        + "; by status: "
        + ", ".join(f"{k} {v:,}" for k, v in meta["findings_by_status"].items())
    )
    print(
        f"generation   {s['total']:.1f} s{' (earlier run, reused)' if reused else ''}: utilization_hourly "
        f"{s['hourly_insert']:.1f} s + its hour index {s['hourly_index']:.1f} s + patterns "
        f"{s['hourly_patterns']:.1f} s; other tables {s['python_rows'] + s['other_tables']:.1f} s; "
        f"database {meta['db_bytes'] / 1e9:.2f} GB"
    )
    if s["total"] > SLOW_GENERATION_S:
        print(
            f"             generation took over {SLOW_GENERATION_S / 60:g} minutes: keep the data with --keep DIR "
            "and build again with --reuse DIR, or scale it with --days / --resources"
        )


def print_build(label: str, r: dict[str, Any]) -> None:
    print(
        f"{label:<12} {r['seconds']:.2f} s wall ({r['build_seconds']:.2f} s build: findings, areas, charts; "
        f"{r['files_seconds']:.2f} s files_of: HTML, text, XLSX), {r['cpu_seconds']:.2f} s CPU, "
        f"peak RSS {r['rss_mib']:.0f} MiB ({r['baseline_mib']:.0f} MiB before the build)"
    )


def print_report(r: dict[str, Any]) -> None:
    print(f"report       status {r['status']}, {r['gaps']} evidence gaps, tables " + _tables(r["tables"]))
    for a in r["areas"]:
        figures = ", ".join(f"{k} {_num(v)}" for k, v in a["figures"].items())
        print(
            f"  {a['key']:<11} {a['status']:<6} opened {a['opened']}, resolved {a['resolved']}, still open "
            f"{a['still_open']} ({a['overdue']} overdue); tables {_tables(a['tables']) or '-'}; "
            f"charts {', '.join(a['charts']) or '-'}"
        )
        print(f"  {'':<11} {figures}")
    for note in r["notes"]:
        print(f"  note: {note}")
    sizes = r["sizes"]
    charts = {k: v for k, v in sizes.items() if k.startswith("charts/")}
    print(
        f"files        report.html {sizes.get('report.html', 0) / 1024:,.0f} KiB, report.txt "
        f"{sizes.get('report.txt', 0) / 1024:,.0f} KiB, {r['xlsx']} {sizes.get(r['xlsx'], 0) / 1024:,.0f} KiB, "
        f"{len(charts)} charts {sum(charts.values()) / 1024:,.0f} KiB ("
        + ", ".join(f"{k[7:]} {v / 1024:,.0f}" for k, v in charts.items())
        + ")"
    )


def _tables(tables: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in tables.items())


def _num(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    print(f"\nprofile      {path}  (python -m pstats {path})")
    print("ops-watch's functions in the build, by cumulative time:")
    stats.sort_stats("cumulative").print_stats(r"/ops_watch/", top)
    print("every function, by own time:")
    stats.sort_stats("tottime").print_stats(15)


# --- main ------------------------------------------------------------------------------------------------


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child(json.loads(sys.argv[2]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--days", type=int, default=365, help="days of data up to 2026-11-22 (default 365)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--week", default=WEEK)
    parser.add_argument("--lang", default="zh", choices=("zh", "en"))
    parser.add_argument("--runs", type=int, default=1, help="builds, each in a fresh process (default 1)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--keep", type=Path, help="generate into DIR (replacing what is there) and keep it")
    where.add_argument("--reuse", type=Path, help="build from DIR's data if generated with these arguments")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the (first) build")
    args = parser.parse_args()
    if args.days < 14 or args.days > 4000 or args.resources < 10:
        parser.error("--days must be 14..4000 and --resources at least 10")

    folder = args.keep or args.reuse
    workdir = folder.resolve() if folder else Path(tempfile.mkdtemp(prefix="ops-watch-weekly-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    params = {"resources": args.resources, "days": args.days, "seed": args.seed}
    try:
        meta_path = workdir / META
        meta = json.loads(meta_path.read_text()) if args.reuse and meta_path.exists() else None
        reused = bool(meta and meta.get("params") == params and (workdir / DB_NAME).exists())
        if not reused:
            if args.reuse and meta:
                print(f"reuse        {workdir} holds other data ({meta.get('params')}): generating again")
            print(f"generating   {args.resources:,} resources × {args.days} days into {workdir} ...")
            meta = generate(workdir, args.resources, args.days, args.seed)
            meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        assert meta is not None
        print_generation(meta, reused)
        before = calibration()
        print(f"calibration  a fixed Python loop: {before} s (to compare machines and runs)")
        font_dirs = [str(FONT_DIR)] if FONT_DIR.exists() else []
        if not font_dirs:
            print(
                "fonts        no CJK font in .cache/tools (scripts/install-test-deps.sh): the system's, if any"
            )
        results = []
        for run in range(max(1, args.runs)):
            profile = workdir / "build.prof" if args.profile and run == 0 else None
            spec = {
                "url": f"sqlite:///{workdir / DB_NAME}",
                "state_dir": str(workdir / "var"),
                "rules_dir": str(workdir / "rules"),
                "week": args.week,
                "language": args.lang,
                "font_dirs": font_dirs,
                "profile": str(profile) if profile else None,
                "out": str(workdir / "report" / args.week) if folder else None,
            }
            r = run_child(spec)
            results.append(r)
            print_build(f"build {run + 1}" + (" (cProfile)" if profile else ""), r)
        print(
            f"calibration  after the builds: {calibration()} s (before: {before} s; more means a busier machine)"
        )
        print_report(results[0])
        if folder:
            print(f"             the files are in {workdir / 'report' / args.week}")
        measured = [r for i, r in enumerate(results) if not (args.profile and i == 0)] or results
        worst = max(measured, key=lambda r: r["seconds"])
        worst_s, worst_cpu = worst["seconds"], worst["cpu_seconds"]
        worst_mb = max(r["rss_mib"] for r in measured) * 2**20 / 1e6
        print()
        if args.profile and len(results) == 1:
            print("(the only build ran under cProfile, which slows it: run again without --profile to judge)")
        # The CPU seconds beside: on a busy shared machine the wall time says more about the neighbours.
        print(
            f"target       one weekly report under {TARGET_SECONDS:g} s: {worst_s:.2f} s (CPU {worst_cpu:.2f} s)  "
            f"{_verdict(worst_s < TARGET_SECONDS)}"
        )
        print(
            f"target       peak RSS under {TARGET_RSS_MB:g} MB: {worst_mb:.0f} MB  {_verdict(worst_mb < TARGET_RSS_MB)}"
        )
        if args.profile:
            print_profile(workdir / "build.prof")
    finally:
        if folder:
            print(f"kept         {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
