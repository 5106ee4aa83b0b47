"""Ingest a large door-event CSV and compare it with the sqlite3 shell's `.import` of the same file.

    python bench/door_ingest.py                  # 1,000,000 rows, SQLite in a temporary directory
    python bench/door_ingest.py --rows 200000 --keep

Printed, not asserted: the rows, seconds (wall and CPU), rows/s and peak RSS of ops-watch's ingest of the
file into a fresh SQLite store, beside the time of `sqlite3 fresh.db -cmd ".mode csv" ".import file.csv
door_events"` (the floor: the same bytes into a new table without parsing, checks or indexes). Targets:
within 4x of `.import`, peak RSS under 300 MB.

Three more figures say where the time goes:
- "store only": the sqlite3 shell inserting the imported rows into door_events of a fresh ops-watch store
  (its unique key and indexes, WAL, foreign keys): SQLite's own share of an ingest, without any Python.
- "driver floor": the same rows, read into memory first, handed to a fresh store by Python's sqlite3
  `executemany` in the ingest's chunks: what any ingest written in Python pays at least, with no parsing,
  checks or ORM at all (the driver binds each of the 11 values of each row).
- "duplicates": a second ingest of a copy whose bytes differ (its last line ends otherwise, so the sha256
  differs and it is not refused as the same file) but whose rows are the same: every row already stored.

Each ingest runs in a child process, so its peak RSS is the ingest's own (imports, store, streaming), not the
generator's. The file is what a door system exports: Chinese header, ~50 people, a few doors with readers
in and out, times over a year in site time (Asia/Shanghai), mostly with device and serial number, one event
in ten without a serial so the who-where-when dedupe key is used, some denied entries, UTF-8.
On a shared machine the figures vary from run to run: compare runs made back to back.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "时间,工号,姓名,卡号,门禁点,方向,结果,设备,流水号\r\n"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟 芳 娜 敏 静 强 磊 军 洋 勇 艳 杰 涛 明 超 秀英 建国".split()
DOORS = ("机房A门", "机房B门", "监控室", "配电室", "大厅门禁", "运维值班室")
SITE_ZONE = "Asia/Shanghai"
TARGET_RATIO = 4.0
TARGET_RSS_MB = 300.0


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_door_events(path: Path, rows: int, seed: int = 7) -> None:
    """Write `rows` events in time order over a year, as a door system's export would hold them."""
    rng = random.Random(seed)
    people = [
        (f"YW-{i:04d}", rng.choice(SURNAMES) + rng.choice(GIVEN), f"30051{rng.randrange(10**5):05d}")
        for i in range(1, 51)
    ]
    # Each door has a reader in and a reader out: a device each, numbering its events itself.
    readers = [
        (door, way, f"DS-K1T671-{d:02d}{'IO'[w]}")
        for d, door in enumerate(DOORS)
        for w, way in enumerate("进出")
    ]
    serials = {device: 100000 for _, _, device in readers}
    start = datetime(2025, 1, 1)
    step = 365 * 86400 / rows  # seconds between events on average
    at = 0.0
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        block: list[str] = []
        for _ in range(rows):
            at += rng.expovariate(1 / step)
            when = (start + timedelta(seconds=int(at))).strftime("%Y-%m-%d %H:%M:%S")
            person_id, name, card = rng.choice(people)
            door, way, device = rng.choice(readers)
            serials[device] += 1
            result = "成功" if rng.random() < 0.97 else "失败"
            # One event in ten comes from an export without serials: the who-where-when key.
            serial = "" if rng.random() < 0.1 else str(serials[device])
            block.append(f"{when},{person_id},{name},{card},{door},{way},{result},{device},{serial}\r\n")
            if len(block) >= 10_000:
                f.write("".join(block))
                block.clear()
        f.write("".join(block))


def changed_copy(src: Path, dst: Path) -> None:
    """The same rows in other bytes (the last CRLF becomes LF plus a blank line, which the reader skips), so
    the sha256 differs and the copy is ingested row by row rather than refused as the same file."""
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(0, 2)
        f.seek(f.tell() - 2)
        tail = f.read(2)
        assert tail == b"\r\n", tail
        f.seek(f.tell() - 2)
        f.write(b"\n\n")  # the last line now ends LF, then a blank line: the same rows, other bytes


def _sqlite_shell() -> str | None:
    return shutil.which("sqlite3") or ("/usr/bin/sqlite3" if Path("/usr/bin/sqlite3").exists() else None)


def time_sqlite_import(shell: str, csv_path: Path, db_path: Path) -> float:
    """Seconds for the sqlite3 shell to import the file into a new table (the floor of the target)."""
    db_path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run(
        [shell, str(db_path), "-cmd", ".mode csv", f".import {csv_path} door_events"],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - t0
    out = subprocess.run(
        [shell, str(db_path), "SELECT count(*) FROM door_events"], check=True, capture_output=True, text=True
    )
    print(f"floor        sqlite3 .import into a new table: {int(out.stdout):,} rows in {seconds:.2f} s")
    return seconds


# The imported rows into door_events of a fresh ops-watch store, by SQLite alone: the store's own share of
# an ingest (its unique key and three indexes, WAL, foreign keys), with no Python. Times stay site text and
# the dedupe key is built in SQL; the work per row is the store's.
_STORE_ONLY_SQL = """
PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;
ATTACH '{imported}' AS src;
INSERT INTO evidence_batches (id, kind, source, received_at, evidence_time, status, rows_total, rows_ok,
    rows_bad, rows_duplicate, detail, stored_path)
VALUES (1, 'door', 'bench', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000', 'accepted',
    0, 0, 0, 0, '', '');
INSERT INTO door_events (at, person_id, name, card_no, door, direction, result, device, serial_no,
    dedupe_key, batch_id)
SELECT "时间" || '.000000', "工号", "姓名", "卡号", "门禁点",
    CASE "方向" WHEN '进' THEN 'in' WHEN '出' THEN 'out' ELSE '' END,
    CASE "结果" WHEN '成功' THEN 'granted' ELSE 'denied' END, "设备", "流水号",
    CASE WHEN "设备" != '' AND "流水号" != '' THEN 'dev:' || "设备" || '#' || "流水号"
         ELSE 'evt:' || "工号" || '|' || "门禁点" || '|' || "时间" END, 1
FROM src.door_events WHERE true ON CONFLICT (dedupe_key) DO NOTHING;
"""


def time_store_only(shell: str, imported: Path, tmp_path: Path) -> float:
    """Seconds for the sqlite3 shell to insert the imported rows into a fresh store's door_events."""
    db = tmp_path / "store-only.db"
    schema = f"from ops_watch.store import open_store; open_store({f'sqlite:///{db}'!r}).dispose()"
    subprocess.run([sys.executable, "-c", schema], check=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    t0 = time.perf_counter()
    subprocess.run([shell, str(db)], input=_STORE_ONLY_SQL.format(imported=imported), check=True, text=True)
    seconds = time.perf_counter() - t0
    out = subprocess.run(
        [shell, str(db), "SELECT count(*) FROM door_events"], check=True, capture_output=True, text=True
    )
    print(
        f"store only   sqlite3 INSERT .. SELECT of them into door_events: {int(out.stdout):,} rows in {seconds:.2f} s"
    )
    return seconds


# The rows as the store holds them, handed to Python's sqlite3 driver: what any ingest written in Python pays
# at least, whatever its parsing costs. Run in a child (the rows are read into memory before the clock starts).
_DRIVER_FLOOR = """
import sqlite3, sys, time
src, dst = sys.argv[1], sys.argv[2]
cols = "at, person_id, name, card_no, door, direction, result, device, serial_no, dedupe_key, batch_id"
with sqlite3.connect(src) as con:
    rows = con.execute(f"SELECT {cols} FROM door_events ORDER BY id").fetchall()
    batch = con.execute("SELECT * FROM evidence_batches").fetchall()
con = sqlite3.connect(dst, isolation_level=None)
for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
    con.execute(f"PRAGMA {pragma}")
con.execute("BEGIN")
con.executemany(f"INSERT INTO evidence_batches VALUES ({','.join('?' * len(batch[0]))})", batch)
sql = f"INSERT INTO door_events ({cols}) VALUES ({','.join('?' * 11)}) ON CONFLICT (dedupe_key) DO NOTHING"
t0 = time.perf_counter()
for i in range(0, len(rows), 10000):  # the chunks an ingest writes
    con.executemany(sql, rows[i : i + 10000])
con.execute("COMMIT")
print(time.perf_counter() - t0)
"""


def time_driver_floor(stored: Path, tmp_path: Path) -> float:
    """Seconds for Python's sqlite3 executemany to insert the stored rows into a fresh store's door_events."""
    db = tmp_path / "driver-floor.db"
    schema = f"from ops_watch.store import open_store; open_store({f'sqlite:///{db}'!r}).dispose()"
    subprocess.run([sys.executable, "-c", schema], check=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    out = subprocess.run(
        [sys.executable, "-c", _DRIVER_FLOOR, str(stored), str(db)],
        check=True,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seconds = float(out.stdout.strip().splitlines()[-1])
    print(f"driver floor Python sqlite3 executemany of the prepared rows into door_events: {seconds:.2f} s")
    return seconds


def child(store_url: str, state_dir: str, csv_path: str) -> int:
    """One ingest in this process; prints its figures as JSON on the last line."""
    sys.path.insert(0, str(ROOT))
    from ops_watch import plugins
    from ops_watch.config import Config
    from ops_watch.ingest import ingest_file
    from ops_watch.store import open_store

    plugins.load()  # every area, as the CLI loads them

    store = open_store(store_url)
    config = Config.model_validate({"site": {"timezone": SITE_ZONE}, "paths": {"state_dir": state_dir}})
    baseline = _peak_rss_mib()
    t0, c0 = time.perf_counter(), _cpu_seconds()
    result = ingest_file(store, config, "door", Path(csv_path))
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    store.dispose()
    figures = {
        "status": result.status,
        "total": result.rows_total,
        "ok": result.rows_ok,
        "bad": result.rows_bad,
        "duplicate": result.rows_duplicate,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_mib": _peak_rss_mib(),
        "baseline_mib": baseline,
    }
    print(json.dumps(figures))
    return 0


def run_child(store_url: str, state_dir: Path, csv_path: Path, profile: Path | None) -> dict:
    cmd = [sys.executable]
    if profile is not None:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += [__file__, "--child", store_url, str(state_dir), str(csv_path)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        return child(*sys.argv[2:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the working folder and print where it is")
    parser.add_argument(
        "--profile", action="store_true", help="write a cProfile of the first ingest (slower)"
    )
    parser.add_argument(
        "--no-store-only",
        action="store_true",
        help="skip the sqlite3 shell's insert of the rows into door_events (the store's own share)",
    )
    args = parser.parse_args()

    tmp_path = Path(tempfile.mkdtemp(prefix="ops-watch-door-bench-"))
    try:
        csv_path = tmp_path / "door-events.csv"
        t0 = time.perf_counter()
        write_door_events(csv_path, args.rows)
        size_mib = csv_path.stat().st_size / 2**20
        print(f"generated    {args.rows:,} events, {size_mib:.1f} MiB in {time.perf_counter() - t0:.1f} s")

        shell = _sqlite_shell()
        floor = store_only = driver = None
        if shell is None:
            print("floor        no sqlite3 shell (apt-get install sqlite3): the .import figure is skipped")
        else:
            floor = time_sqlite_import(shell, csv_path, tmp_path / "import.db")
            if not args.no_store_only:
                store_only = time_store_only(shell, tmp_path / "import.db", tmp_path)
                driver = time_driver_floor(tmp_path / "store-only.db", tmp_path)

        url = f"sqlite:///{tmp_path / 'ops-watch.db'}"
        profile = tmp_path / "ingest.prof" if args.profile else None
        first = run_child(url, tmp_path / "var", csv_path, profile)
        copy = tmp_path / "door-events-again.csv"
        changed_copy(csv_path, copy)
        again = run_child(url, tmp_path / "var", copy, None)

        print()
        print(
            f"{'ingest':<12} {'status':<9} {'rows':>10} {'stored':>10} {'dup':>10} {'bad':>5} "
            f"{'seconds':>8} {'cpu s':>7} {'rows/s':>8} {'x import':>8} {'peak RSS':>8}"
        )
        if store_only is not None and floor:
            print(
                f"{'store only':<12} {'':<9} {args.rows:>10,} {'':>10} {'':>10} {'':>5} {store_only:>8.2f} "
                f"{'':>7} {args.rows / store_only:>8,.0f} {store_only / floor:>8.2f} {'':>8}"
            )
        if driver is not None and floor:
            print(
                f"{'driver floor':<12} {'':<9} {args.rows:>10,} {'':>10} {'':>10} {'':>5} {driver:>8.2f} "
                f"{'':>7} {args.rows / driver:>8,.0f} {driver / floor:>8.2f} {'':>8}"
            )
        for label, r in (("ops-watch", first), ("duplicates", again)):
            ratio = f"{r['seconds'] / floor:.2f}" if floor else "-"
            print(
                f"{label:<12} {r['status']:<9} {r['total']:>10,} {r['ok']:>10,} {r['duplicate']:>10,} "
                f"{r['bad']:>5,} {r['seconds']:>8.2f} {r['cpu_seconds']:>7.2f} {r['total'] / r['seconds']:>8,.0f} "
                f"{ratio:>8} {r['rss_mib']:>4.0f} MiB"
            )
        print(
            f"(peak RSS of each ingest's process; {first['baseline_mib']:.0f} MiB of it before the ingest: "
            "imports and the open store. 'duplicates': a changed copy of the file, every row already stored.)"
        )
        print()
        if floor:
            ratio = first["seconds"] / floor
            print(
                f"target       within {TARGET_RATIO:g}x of .import: {ratio:.2f}x  {_verdict(ratio <= TARGET_RATIO)}"
            )
        else:
            print(f"target       within {TARGET_RATIO:g}x of .import: not measured (no sqlite3 shell)")
        rss_mb = max(first["rss_mib"], again["rss_mib"]) * 2**20 / 1e6
        print(
            f"target       peak RSS under {TARGET_RSS_MB:g} MB: {rss_mb:.0f} MB  {_verdict(rss_mb < TARGET_RSS_MB)}"
        )
        if profile is not None:
            print(f"profile      {profile}  (python -m pstats {profile})")
    finally:
        if args.keep or args.profile:
            print(f"kept         {tmp_path}")
        else:
            shutil.rmtree(tmp_path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
