"""Door events pushed by a Hikvision device to the console: sustained events/s accepted, p50/p99 latency,
beside the file ingest's door rows per second.

    python bench/door_push.py                          # SQLite in a temporary directory, 1,000/s for 10 s
    python bench/door_push.py --rate 2000 --seconds 30 --clients 100
    python bench/door_push.py --store-url postgresql+psycopg://user@127.0.0.1:5432/bench

Starts the console as `ops-watch serve` in its own process (one uvicorn worker, as deployed; as bench/web.py
does) with one Hikvision device pushing (a push secret file, readers mapped), then `--clients` threads, each
on its own keep-alive connection as devices are, post one AccessControllerEvent JSON per request (the shape a
DS-K1T671 sends) paced to `--rate` events/s in total for `--seconds`. Printed: events sent, answered 200,
stored (door_events rows counted in the store afterwards), the rate achieved, and the client latency p50/p99
(send to whole answer read; the answer comes after the commit). Then a door CSV of `--file-rows` rows is
ingested as a dropped file (ingest_file, in this process) for its rows/s.

Target (issue 19 §2, the tests' burst): 1,000 events/s for 10 s with none lost and p99 < 200 ms: printed
PASS or MISS. On a shared machine the figures vary from run to run: compare runs made back to back.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import console_site  # noqa: E402
from console_site import free_port, start_server  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from ops_watch import plugins  # noqa: E402
from ops_watch.config import load_config  # noqa: E402
from ops_watch.ingest import ingest_file  # noqa: E402
from ops_watch.store import open_store  # noqa: E402
from ops_watch.store.schema import DoorEvent  # noqa: E402

plugins.load()

DEVICE = "机房A区门禁"
SECRET = "bench-push-4e1d2c"
TARGET_RATE = 1000.0  # events/s, all stored
TARGET_P99_MS = 200.0


def write_config(workdir: Path, url: str, port: int) -> Path:
    (workdir / "push-secret").write_text(SECRET + "\n", encoding="utf-8")
    return console_site.write_config(
        workdir,
        url,
        port,
        f"""
[[doors.devices]]
name = "{DEVICE}"
vendor = "hikvision"
push_secret_file = "push-secret"
readers = [
  {{ door_no = 1, reader_no = 1, door = "机房A区门", direction = "in" }},
  {{ door_no = 1, reader_no = 2, door = "机房A区门", direction = "out" }},
]
""",
    )


def event(serial: int) -> bytes:
    second = serial % 86400
    local = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    document: dict[str, Any] = {
        "ipAddress": "10.20.1.31",
        "dateTime": f"2026-11-02T{local}+08:00",
        "activePostCount": 1,
        "eventType": "AccessControllerEvent",
        "eventState": "active",
        "AccessControllerEvent": {
            "majorEventType": 5,
            "subEventType": 75,
            "name": "张伟",
            "cardReaderNo": 1 + serial % 2,
            "doorNo": 1,
            "employeeNoString": f"YW-{serial % 50:04d}",
            "serialNo": serial,
            "attendanceStatus": "undefined",
        },
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def push(port: int, rate: float, seconds: float, clients: int) -> tuple[int, int, list[float], float]:
    """(sent, answered 200, latencies ms, wall seconds)."""
    total = int(rate * seconds)
    path = f"/ingest/hikvision/{quote(DEVICE, safe='')}/{SECRET}"
    latencies: list[list[float]] = [[] for _ in range(clients)]
    ok = [0] * clients
    start = time.monotonic() + 0.5

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(k, total, clients):
            pause = start + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            body = event(n + 1)
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
                answer = conn.getresponse()
                answer.read()
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies[k].append((time.perf_counter() - began) * 1000)
            ok[k] += answer.status == 200

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    return total, sum(ok), [x for per in latencies for x in per], wall


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def file_ingest(cfg: Path, workdir: Path, rows: int) -> float:
    """Door rows per second of a dropped CSV (the file ingest's path), in this process."""
    path = workdir / "doors.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("时间,工号,姓名,卡号,门禁点,方向,结果,设备,流水号\r\n")
        for n in range(rows):
            second = n % 86400
            f.write(
                f"2026-11-03 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d},YW-{n % 50:04d},"
                f"张伟,,机房A区门,进,成功,export,{n}\r\n"
            )
    config = load_config(cfg)
    store = open_store(config.store_url)
    began = time.perf_counter()
    result = ingest_file(store, config, "door", path)
    took = time.perf_counter() - began
    store.dispose()
    if result.rows_ok != rows:
        print(f"file ingest: {result.status}, {result.rows_ok} of {rows} rows stored", flush=True)
    return rows / took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="events/s in total")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50, help="connections (devices) posting at once")
    parser.add_argument("--store-url", default="", help="default: SQLite in the temporary directory")
    parser.add_argument("--file-rows", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ops-watch-push-"))
    url = args.store_url or f"sqlite:///{workdir / 'bench.db'}"
    port = free_port()
    cfg = write_config(workdir, url, port)
    open_store(url).dispose()  # created and migrated before the server starts
    proc = start_server(cfg, port, workdir / "server.log")
    try:
        sent, answered, latencies, wall = push(port, args.rate, args.seconds, args.clients)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    store = open_store(url)
    with store.session() as s:
        stored = s.scalar(select(func.count()).select_from(DoorEvent)) or 0
    store.dispose()
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    achieved = answered / wall if wall > 0 else 0.0
    print(
        f"push: {sent} events sent by {args.clients} clients at {args.rate:.0f}/s for {args.seconds:.0f} s; "
        f"{answered} answered 200, {stored} stored; {achieved:.0f} events/s accepted over {wall:.1f} s; "
        f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        flush=True,
    )
    rows_per_s = file_ingest(cfg, workdir, args.file_rows)
    print(
        f"file ingest: {args.file_rows} door rows from a dropped CSV at {rows_per_s:.0f} rows/s", flush=True
    )
    met = (
        stored == sent == answered
        and achieved >= 0.95 * TARGET_RATE
        and args.rate >= TARGET_RATE
        and args.seconds >= 10
        and p99 < TARGET_P99_MS
    )
    print(
        f"target: {TARGET_RATE:.0f} events/s for 10 s, none lost, p99 < {TARGET_P99_MS:.0f} ms: "
        + ("PASS" if met else "MISS"),
        flush=True,
    )
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
