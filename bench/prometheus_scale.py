"""The Prometheus source at scale: 14 days of 10,000 node_exporter hosts read from a real Prometheus.

    python bench/prometheus_scale.py                         # 10,000 hosts, 14 days, 15-minute samples
    python bench/prometheus_scale.py --resources 2000 --interval 5m
    python bench/prometheus_scale.py --data /tmp/prom-bench  # keep (and reuse) the staged TSDB

Stages a TSDB with `promtool tsdb create-blocks-from openmetrics` (OpenMetrics text written here, two shards
converted side by side; `--data` keeps it for the next run), starts `prometheus` on 127.0.0.1 on it (no
scrape jobs, retention 60 days), and an ops-watch store (SQLite in a temporary directory) whose inventory
holds one VM per host (address = the host of its `instance` label). Each host has the series the source
queries, one of each to keep the staging within minutes on two cores: node_cpu_seconds_total of one CPU
in modes idle and user, node_memory_MemAvailable_bytes and MemTotal_bytes, node_filesystem_size_bytes and
free_bytes of one ext4 file system; sampled every `--interval` (15 minutes by default: 80 M samples; 5
minutes triples the samples Prometheus reads, and the staging time). The collector's step is the interval.

Measured, each in a fresh process (collect_cycle as the daemon's collect job runs it, so the set-up's
memory does not count), and judged:
- back-fill: the first cycle of a new inventory, as of the data's last hour: 14 days of every host read in
  bounded range queries (BATCH_KEYS hosts a query) as hourly roll-ups written straight into
  utilization_hourly. Targets: under 5 minutes, peak RSS under 300 MB.
- hourly cycle: the next cycle an hour later: the instant queries and the hour's gap as raw samples.
  Target: under 30 s.
The figures depend on the machine: Prometheus and the collector share its cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from ops_watch import plugins  # noqa: E402
from ops_watch.collect import collect_cycle  # noqa: E402
from ops_watch.config import load_config  # noqa: E402
from ops_watch.core.timeutil import parse_duration  # noqa: E402
from ops_watch.sources import build_collectors  # noqa: E402
from ops_watch.store import open_store  # noqa: E402
from ops_watch.store.schema import UtilizationHourly, UtilizationSample  # noqa: E402

plugins.load()

TARGET_BACKFILL_S = 300.0
TARGET_CYCLE_S = 30.0
TARGET_RSS_MB = 300.0
GIB = 1024**3
SHARDS = 2  # one per core: generation and promtool run side by side
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.000000"


def host(i: int) -> str:
    return f"10.{i // 62500}.{i // 250 % 250}.{i % 250}"


# ---- staging --------------------------------------------------------------------------------------


def write_openmetrics(path: Path, first: int, last: int, start: int, end: int, interval: int) -> int:
    """Series of hosts [first, last) sampled at start, start + interval, ..., end; returns the samples written."""
    import numpy as np

    ts = np.arange(start, end + 1, interval)
    stamps = [str(t) for t in ts.tolist()]
    day = (ts % 86400) / 86400 * 2 * math.pi
    written = 0

    def series(f, prefix: str, values: list[str]) -> None:
        nonlocal written
        f.write("".join([prefix + v + " " + t + "\n" for v, t in zip(values, stamps, strict=True)]))
        written += len(values)

    with path.open("w", encoding="ascii", buffering=1 << 22) as f:
        f.write("# TYPE node_cpu_seconds counter\n")
        for i in range(first, last):
            labels = f'instance="{host(i)}:9100",job="node"'
            # Busy fraction by host and hour of the day: a tenth of the hosts idle (2 %), the rest 5-65 %.
            level = 0.02 if i % 10 == 0 else 0.05 + 0.6 * ((i * 37) % 100) / 100
            busy = level * (0.6 + 0.4 * np.sin(day + i))
            for mode, share in (("idle", 1 - busy), ("user", busy)):
                values = np.round(np.cumsum(share * interval), 2).astype(str).tolist()
                series(f, f'node_cpu_seconds_total{{cpu="0",{labels},mode="{mode}"}} ', values)
        for name, kind in (("node_memory_MemTotal_bytes", 0), ("node_memory_MemAvailable_bytes", 1)):
            f.write(f"# TYPE {name} gauge\n")
            for i in range(first, last):
                total = (4 << (i % 4)) * GIB
                if kind == 0:
                    values = [str(total)] * len(stamps)
                else:
                    free = total * (0.5 + 0.3 * np.sin(ts / 7200 + i))
                    values = free.astype(np.int64).astype(str).tolist()
                series(f, f'{name}{{instance="{host(i)}:9100",job="node"}} ', values)
        for name, kind in (("node_filesystem_size_bytes", 0), ("node_filesystem_free_bytes", 1)):
            f.write(f"# TYPE {name} gauge\n")
            for i in range(first, last):
                size = (100 + 50 * (i % 5)) * GIB
                fs = f'device="/dev/vda1",fstype="ext4",instance="{host(i)}:9100",job="node",mountpoint="/"'
                if kind == 0:
                    values = [str(size)] * len(stamps)
                else:
                    free = size * (0.7 - 0.2 * (ts - start) / max(1, end - start))
                    values = free.astype(np.int64).astype(str).tolist()
                series(f, f"{name}{{{fs}}} ", values)
        f.write("# EOF\n")
    return written


def stage(data: Path, resources: int, start: int, end: int, interval: int) -> tuple[int, float]:
    """The TSDB blocks of every host in `data`; returns (samples, seconds)."""
    t0 = time.perf_counter()
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    per = math.ceil(resources / SHARDS)
    procs = []
    for k in range(SHARDS):
        first, last = k * per, min(resources, (k + 1) * per)
        code = (
            "import sys, json; sys.path.insert(0, sys.argv[1]); import prometheus_scale as b;"
            " n = b.write_openmetrics(b.Path(sys.argv[2]), *map(int, sys.argv[3:]));"
            " print(n)"
        )
        om = data / f"shard{k}.om"
        gen = [sys.executable, "-c", code, str(Path(__file__).parent), str(om)]
        gen += [str(first), str(last), str(start), str(end), str(interval)]
        # One pass over the text for the whole 14 days (--max-block-duration): the default cuts 2-hour blocks,
        # reading the whole file again for each.
        convert = f"promtool tsdb create-blocks-from openmetrics -q --max-block-duration=1000h {om} {data}"
        script = f"{' '.join(map(repr, gen))} && {convert} && rm -f {om}"
        procs.append(subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, text=True))
    samples = 0
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            sys.exit(f"staging failed (exit {proc.returncode}): {out}")
        samples += int(out.split()[0])
    (data / "staged.json").write_text(
        json.dumps(
            {"resources": resources, "start": start, "end": end, "interval": interval, "samples": samples}
        )
    )
    return samples, time.perf_counter() - t0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_prometheus(data: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    (work / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n", encoding="utf-8"
    )
    log = (work / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=60d",  # the staged blocks end now: well within
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    sys.exit(f"prometheus did not start:\n{(work / 'prometheus.log').read_text(errors='replace')[-3000:]}")


# ---- the store and one cycle ----------------------------------------------------------------------


def write_config(work: Path, store_url: str, prom_url: str, interval: int) -> Path:
    path = work / "ops-watch.toml"
    path.write_text(
        f"""[store]
url = "{store_url}"

[collect.local]
enabled = false

[collect.prometheus]
enabled = true
url = "{prom_url}"
step = "{interval}s"
backfill_max = "14d"
timeout = "120s"
""",
        encoding="utf-8",
    )
    return path


def build_inventory(store_url: str, resources: int) -> None:
    store = open_store(store_url)
    now = datetime.now(UTC).strftime(SQLITE_TIME)
    rows = [
        (f"VM-{i:05d}", "政务云", f"单位{i % 40:02d}", "vm", 4, 16.0, 200.0, 0, host(i), now)
        for i in range(resources)
    ]
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO inventory_resources (resource_id, platform, tenant_unit, type, vcpu, memory_gb, "
            "storage_gb, backup_required, address, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )


def run_cycle(config_path: str, at: float) -> dict[str, float]:
    """One collect_cycle as of `at` (this process: its wall time and peak RSS)."""
    config = load_config(Path(config_path))
    store = open_store(config.store.url)
    collectors = build_collectors(config)
    t0 = time.perf_counter()
    counts = collect_cycle(store, config, collectors, datetime.fromtimestamp(at, UTC))
    wall = time.perf_counter() - t0
    for c in collectors.values():
        c.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kib = usage.ru_maxrss  # KiB on Linux
    with store.session() as s:
        hourly = s.scalar(select(func.count()).select_from(UtilizationHourly)) or 0
        raw = s.scalar(select(func.count()).select_from(UtilizationSample)) or 0
    prom = counts.get("prometheus", {})
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,  # the whole process: start-up included
        "peak_rss_mb": peak_kib * 1024 / 1e6,
        "samples": prom.get("samples", 0),
        "hourly": prom.get("hourly", 0),
        "failed": counts["failed"],
        "hourly_total": hourly,
        "raw_total": raw,
    }


def _child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        sys.exit(f"cycle failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument(
        "--interval", default="15m", help="sample interval of the staged series (and the step)"
    )
    parser.add_argument(
        "--data", help="stage the TSDB here and keep it; reused when staged with the same sizes"
    )
    parser.add_argument("--cycle", help=argparse.SUPPRESS)  # config path: run one cycle in this process
    parser.add_argument("--at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cycle:
        print(json.dumps(run_cycle(args.cycle, args.at)))
        return

    interval = int(parse_duration(args.interval).total_seconds())
    if 3600 % interval:
        sys.exit("--interval must divide an hour")
    with tempfile.TemporaryDirectory(prefix="ops-watch-prom-") as tmp:
        work = Path(tmp)
        data = Path(args.data) if args.data else work / "tsdb"
        # The data's last sample: the last whole hour; 14 days and an hour before it the first (the back-fill
        # runs an hour before the end and reads the 14 days before that).
        end = int(time.time()) // 3600 * 3600
        start = end - args.days * 86400 - 3600
        marker = data / "staged.json"
        staged = json.loads(marker.read_text()) if marker.exists() else {}
        same = staged.get("resources") == args.resources and staged.get("interval") == interval
        if same and staged.get("end", 0) - staged.get("start", 0) == end - start:
            end, start = staged["end"], staged["start"]
            print(f"staged TSDB reused: {data}")
        else:
            samples, took = stage(data, args.resources, start, end, interval)
            print(
                f"staged: {args.resources:,} hosts x 6 series (1 CPU idle+user, MemTotal, MemAvailable, 1 file "
                f"system size+free), {args.days} days at {interval // 60} min: {samples:,} samples in {took:.0f} s"
            )
        print(
            f"data: {datetime.fromtimestamp(start, UTC):%Y-%m-%d %H:%M} .. {datetime.fromtimestamp(end, UTC):%Y-%m-%d %H:%M} UTC, "
            f"{sum(f.stat().st_size for f in data.rglob('*') if f.is_file()) >> 20} MiB on disk"
        )
        prom, url = start_prometheus(data, work)
        try:
            store_url = f"sqlite:///{work / 'ops-watch.db'}"
            build_inventory(store_url, args.resources)
            config = write_config(work, store_url, url, interval)
            prom_cpu = psutil.Process(prom.pid)
            before = sum(prom_cpu.cpu_times()[:2])
            fill = _child("--cycle", str(config), "--at", str(end - 3600))
            fill["prom_cpu_s"] = sum(prom_cpu.cpu_times()[:2]) - before
            expected = args.resources * args.days * 24
            print(
                f"back-fill (first cycle, {args.days} days of {args.resources:,} hosts): {fill['wall_s']:.1f} s, "
                f"peak RSS {fill['peak_rss_mb']:.0f} MB, CPU {fill['cpu_s']:.0f} s (Prometheus's: "
                f"{fill['prom_cpu_s']:.0f} s, same {os.cpu_count()} cores); {int(fill['hourly']):,} hourly rows written directly "
                f"(expected {expected:,}), {int(fill['samples']):,} raw samples, {int(fill['failed'])} targets failed"
            )
            before = sum(prom_cpu.cpu_times()[:2])
            cycle = _child("--cycle", str(config), "--at", str(end))
            cycle["prom_cpu_s"] = sum(prom_cpu.cpu_times()[:2]) - before
            print(
                f"hourly cycle (an hour later): {cycle['wall_s']:.1f} s, peak RSS {cycle['peak_rss_mb']:.0f} MB, "
                f"CPU {cycle['cpu_s']:.1f} s (Prometheus's: {cycle['prom_cpu_s']:.1f} s); "
                f"{int(cycle['samples']):,} raw samples (the hour's {3600 // interval} steps of each host), "
                f"{int(cycle['failed'])} targets failed; store: {int(cycle['hourly_total']):,} hourly rows, "
                f"{int(cycle['raw_total']):,} raw samples"
            )
        finally:
            prom.terminate()
            prom.wait(timeout=60)
        verdicts = {
            f"back-fill under {TARGET_BACKFILL_S:.0f} s": fill["wall_s"] < TARGET_BACKFILL_S,
            f"back-fill peak RSS under {TARGET_RSS_MB:.0f} MB": fill["peak_rss_mb"] < TARGET_RSS_MB,
            f"hourly cycle under {TARGET_CYCLE_S:.0f} s": cycle["wall_s"] < TARGET_CYCLE_S,
            f"hourly cycle peak RSS under {TARGET_RSS_MB:.0f} MB": cycle["peak_rss_mb"] < TARGET_RSS_MB,
            "every hour of every host stored, no target failed": fill["hourly"] == expected
            and fill["failed"] == 0
            and cycle["failed"] == 0,
        }
        for what, ok in verdicts.items():
            print(f"target: {what}: {'PASS' if ok else 'FAIL'}")
        if not all(verdicts.values()):
            sys.exit(1)


if __name__ == "__main__":
    if os.environ.get("OPS_WATCH_BENCH_PROFILE"):  # pragma: no cover - a developer's aid
        import cProfile

        cProfile.run("main()", sort="cumtime")
    else:
        main()
