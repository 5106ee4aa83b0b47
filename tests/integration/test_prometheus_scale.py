"""The Prometheus source's bounded back-fill against a real Prometheus holding two days of 12 synthetic hosts.

The TSDB is staged as bench/prometheus_scale.py stages 10,000 hosts: OpenMetrics text converted by
`promtool tsdb create-blocks-from openmetrics`, then `prometheus` started on it (no scraping). Failures a
real Prometheus cannot produce on demand (HTTP 503, "too many samples") come from a small proxy in front of
it that fails chosen requests and forwards the rest.
"""

from __future__ import annotations

import json
import math
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import require_component
from sqlalchemy import select

from ops_watch.areas.resources import utilization
from ops_watch.collect import collect_cycle, store_samples
from ops_watch.config import load_config
from ops_watch.core.timeutil import from_store
from ops_watch.sources import Target, prometheus
from ops_watch.sources.prometheus import HOURLY_FIELDS, PrometheusCollector, build
from ops_watch.store.schema import CollectionStatus, InventoryResource, UtilizationHourly

HOSTS = [f"10.9.0.{i}" for i in range(1, 13)]
STEP = 300  # the staged samples' interval and the collector's step
GIB = 1024**3
END = int(time.time()) // 3600 * 3600  # the data's last sample: the last whole hour
START = END - 2 * 86400


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openmetrics(path: Path) -> None:
    """Every 5 minutes for two days: CPU (idle, user), memory, one file system, each host its own shape."""
    stamps = list(range(START, END + 1, STEP))
    lines = ["# TYPE node_cpu_seconds counter"]
    for n, host in enumerate(HOSTS):
        idle = user = 0.0
        labels = f'instance="{host}:9100",job="node"'
        idle_lines, user_lines = [], []
        for k, ts in enumerate(stamps):
            busy = 0.05 + 0.9 * ((k * 7 + n * 13) % 17) / 17  # jumps about: the hour's max and p95 differ
            idle += STEP * (1 - busy)
            user += STEP * busy
            idle_lines.append(f'node_cpu_seconds_total{{cpu="0",{labels},mode="idle"}} {idle:.3f} {ts}')
            user_lines.append(f'node_cpu_seconds_total{{cpu="0",{labels},mode="user"}} {user:.3f} {ts}')
        lines += idle_lines + user_lines
    gauges = {
        "node_memory_MemTotal_bytes": lambda n, k: 8 * GIB,
        "node_memory_MemAvailable_bytes": lambda n, k: int(8 * GIB * (0.2 + 0.7 * ((k * 5 + n) % 11) / 11)),
        "node_filesystem_size_bytes": lambda n, k: 100 * GIB,
        "node_filesystem_free_bytes": lambda n, k: int(100 * GIB * (0.9 - 0.3 * ((k * 3 + n) % 13) / 13)),
    }
    for name, value in gauges.items():
        lines.append(f"# TYPE {name} gauge")
        fs = ',device="/dev/vda1",fstype="ext4",mountpoint="/"' if "filesystem" in name else ""
        for n, host in enumerate(HOSTS):
            for k, ts in enumerate(stamps):
                lines.append(f'{name}{{instance="{host}:9100",job="node"{fs}}} {value(n, k)} {ts}')
    path.write_text("\n".join(lines) + "\n# EOF\n", encoding="ascii")


@pytest.fixture(scope="module")
def staged_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prom = require_component("prometheus", "apt-get install prometheus (scripts/install-test-deps.sh)")
    promtool = require_component("promtool", "apt-get install prometheus (scripts/install-test-deps.sh)")
    work = tmp_path_factory.mktemp("prometheus-scale")
    _openmetrics(work / "series.om")
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", "--max-block-duration=1000h"]
        + [str(work / "series.om"), str(work / "data")],
        check=True,
        capture_output=True,
    )
    (work / "prometheus.yml").write_text("scrape_configs: []\n", encoding="utf-8")
    port = _free_port()
    log = (work / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            prom,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(f"{url}/api/v1/query", params={"query": "up or vector(0)"}, timeout=2)
                probe = requests.get(
                    f"{url}/api/v1/query",
                    params={"query": "count(node_memory_MemTotal_bytes)", "time": str(END)},
                    timeout=2,
                )
                if answer.ok and probe.json()["data"]["result"]:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"prometheus did not start: {(work / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@dataclass
class Proxy:
    """Forwards to the real Prometheus; range queries matching `fail_when` are answered with `failure` instead,
    `fail_times` times (0: always). Every range query's form is kept in `ranges`."""

    upstream: str
    url: str = ""
    fail_when: str = "\x00"  # a substring of the query
    fail_times: int = 0
    failure: tuple[int, dict[str, Any]] = (
        503,
        {"status": "error", "errorType": "unavailable", "error": "busy"},
    )
    failed: int = 0
    ranges: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _ProxyHandler(BaseHTTPRequestHandler):
    proxy: Proxy

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self, params: dict[str, str]) -> None:
        proxy, path = self.proxy, urlsplit(self.path).path
        if path.endswith("query_range"):
            with proxy.lock:
                proxy.ranges.append(params)
                fail = proxy.fail_when in params.get("query", "") and (
                    proxy.fail_times == 0 or proxy.failed < proxy.fail_times
                )
                proxy.failed += fail
            if fail:
                code, body = proxy.failure
                self._send(code, json.dumps(body).encode())
                return
        answer = requests.post(proxy.upstream + path, data=params, timeout=60)
        self._send(answer.status_code, answer.content)

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._forward({k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        self._forward({k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()})


@pytest.fixture
def proxy(staged_prometheus: str) -> Iterator[Proxy]:
    state = Proxy(staged_prometheus)
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_ProxyHandler,), {"proxy": state}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _config(config_file, url: str, **settings: Any):
    table = {"enabled": True, "url": url, "step": f"{STEP}s", "backfill_max": "1d", **settings}
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items())
    return load_config(config_file(f"[collect.local]\nenabled = false\n[collect.prometheus]\n{body}\n"))


def _collector(config) -> PrometheusCollector:
    collector = build(config)
    assert isinstance(collector, PrometheusCollector)
    return collector


def _inventory(store, rids_hosts: list[tuple[str, str]]) -> None:
    with store.session() as s:
        for rid, host in rids_hosts:
            s.add(
                InventoryResource(
                    resource_id=rid,
                    platform="政务云",
                    tenant_unit="大数据局",
                    type="vm",
                    vcpu=4,
                    memory_gb=8,
                    storage_gb=100,
                    backup_required=False,
                    address=host,
                    updated_at=datetime.fromtimestamp(END, UTC),
                )
            )


def _hourly(store, prefix: str) -> dict[tuple[str, datetime], tuple[Any, ...]]:
    with store.session() as s:
        rows = s.execute(
            select(UtilizationHourly).where(UtilizationHourly.resource_id.like(f"{prefix}%"))
        ).scalars()
        return {
            (r.resource_id.split("-", 1)[1], from_store(r.hour)): tuple(getattr(r, f) for f in HOURLY_FIELDS)
            for r in rows
        }


def _hosts_in(query: str) -> list[str]:
    """The hosts of a query's instance regex."""
    match = re.search(r'instance=~"\(\?i\)\(\?:(.*?)\)\(\?::', query)
    assert match, query
    return match.group(1).replace("\\\\.", ".").split("|")


# ---- the tests ----------------------------------------------------------------------------------


def test_hourly_rows_stored_directly_equal_the_rollup_of_the_raw_samples(
    staged_prometheus, store, config_file
):
    """Same Prometheus data, two ways: hourly rows written by the back-fill, and raw samples rolled up."""
    now = datetime.fromtimestamp(END, UTC)
    _inventory(store, [(f"direct-{h}", h) for h in HOSTS])
    config = _config(config_file, staged_prometheus)
    counts = collect_cycle(store, config, {"prometheus": _collector(config)}, now)
    assert counts["failed"] == 0
    assert counts["prometheus"]["hourly"] == 24 * len(HOSTS)  # a day of history of each new target
    assert counts["prometheus"]["samples"] == len(HOSTS)  # and now's instant sample, raw

    # The other way: the day as raw samples at the same step (the plain collect()), then the roll-up.
    raw = _collector(_config(config_file, staged_prometheus, backfill_max="2d"))
    last = now - timedelta(days=1, seconds=STEP)
    result = raw.collect([Target(f"raw-{h}", h, last_sample_at=last) for h in HOSTS], now)
    assert all(s.ok for s in result.statuses)
    with store.session() as s:
        store_samples(s, result.samples, "prometheus", None)
        utilization.rollup(s, now)

    direct, rolled = _hourly(store, "direct-"), _hourly(store, "raw-")
    # The day's 24 hours, and the hour now begins (its instant sample, rolled up from raw in both).
    hours = sorted({hour for _, hour in direct})
    assert hours == [now - timedelta(hours=k) for k in range(24, -1, -1)]
    assert set(direct) == set(rolled)
    differing = []
    for key, row in direct.items():
        assert row[0] == rolled[key][0] == (1 if key[1] == now else 12), key  # 12 samples at 5 minutes
        assert all(v is not None for v in row), key
        if row != pytest.approx(rolled[key], rel=1e-9, abs=1e-9):
            differing.append((key, row, rolled[key]))
    assert not differing, differing[:3]
    # The data moves within the hour: max, p95 and mean all differ (the comparison means something).
    cpu_mean, cpu_max, cpu_p95 = next(iter(direct.values()))[1:4]
    assert cpu_mean < cpu_p95 < cpu_max

    # The next roll-up leaves the direct hours alone: the watermark covers only raw samples.
    with store.session() as s:
        assert utilization.rollup(s, now) == 0
    assert _hourly(store, "direct-") == direct


def test_many_targets_are_read_in_bounded_batches(proxy: Proxy, store, config_file, monkeypatch):
    monkeypatch.setattr(prometheus, "BATCH_KEYS", 5)
    now = datetime.fromtimestamp(END, UTC)
    _inventory(store, [(f"vm-{h}", h) for h in HOSTS])
    config = _config(config_file, proxy.url)
    counts = collect_cycle(store, config, {"prometheus": _collector(config)}, now)
    assert counts["failed"] == 0 and counts["prometheus"]["hourly"] == 24 * len(HOSTS)

    batches = [_hosts_in(p["query"]) for p in proxy.ranges]
    assert all(1 <= len(hosts) <= 5 for hosts in batches)  # no query names more than BATCH_KEYS hosts
    # Per batch (a day: one chunk): CPU and memory at the step, storage's three columns at 1h.
    assert len(proxy.ranges) == math.ceil(len(HOSTS) / 5) * 5
    steps = [p["step"] for p in proxy.ranges]
    assert (steps.count(str(STEP)), steps.count("3600")) == (2 * 3, 3 * 3)
    assert sorted({h for hosts in batches for h in hosts}) == sorted(HOSTS)
    seen: dict[str, int] = {}
    for hosts in batches:
        for h in set(hosts):
            seen[h] = seen.get(h, 0) + 1
    assert set(seen.values()) == {5}  # each host in exactly one batch


@pytest.mark.parametrize(
    "failure",
    [
        (503, {"status": "error", "errorType": "unavailable", "error": "restarting"}),
        (
            422,
            {
                "status": "error",
                "errorType": "execution",
                "error": "query processing would load too many samples into memory in query execution",
            },
        ),
    ],
    ids=["503", "too-many-samples"],
)
def test_a_transient_failure_is_retried_with_back_off(proxy: Proxy, config_file, monkeypatch, failure):
    pauses: list[float] = []
    monkeypatch.setattr(prometheus.time, "sleep", pauses.append)
    cpu = "100 * (1 - sum by"  # the CPU query, not memory's
    proxy.fail_when, proxy.fail_times, proxy.failure = cpu, 2, failure
    now = datetime.fromtimestamp(END, UTC)
    collector = _collector(_config(config_file, proxy.url))
    rows: list[Any] = []
    result = collector.collect_hourly([Target("vm-1", HOSTS[0])], now, rows.extend)
    assert [s.ok for s in result.statuses] == [True]
    assert len(rows) == 24 and all(r.cpu_mean is not None and r.mem_mean is not None for r in rows)
    assert proxy.failed == 2
    # The CPU query asked three times: two failures, then the answer; the other metrics once each.
    assert len([p for p in proxy.ranges if p["query"].startswith(cpu)]) == 3
    assert len(proxy.ranges) == 5 + 2
    assert pauses == [prometheus.BACKOFF, 2 * prometheus.BACKOFF]  # doubling pauses


def test_a_batch_that_keeps_failing_fails_only_its_targets(proxy: Proxy, store, config_file, monkeypatch):
    monkeypatch.setattr(prometheus, "BATCH_KEYS", 4)
    monkeypatch.setattr(prometheus.time, "sleep", lambda s: None)
    bad = HOSTS[
        5
    ]  # sorted keys: its batch is 10.9.0.3 .. 10.9.0.6 (text order: 1, 10, 11, 12 | 2, 3, 4, 5 | ...)
    proxy.fail_when, proxy.fail_times = bad.replace(".", "\\\\."), 0
    now = datetime.fromtimestamp(END, UTC)
    _inventory(store, [(f"vm-{h}", h) for h in HOSTS])
    config = _config(config_file, proxy.url)
    counts = collect_cycle(store, config, {"prometheus": _collector(config)}, now)

    batches = {tuple(_hosts_in(p["query"])) for p in proxy.ranges}
    (failing,) = [b for b in batches if bad in b]
    assert counts["failed"] == len(failing) == 4
    with store.session() as s:
        statuses = {st.target: st for st in s.scalars(select(CollectionStatus))}
    for host in HOSTS:
        st = statuses[f"vm-{host}"]
        if host in failing:
            assert (st.error_kind, st.consecutive_failures) == ("http", 1)
            assert f"vm-{host}" in st.last_error and f"instance {host}" in st.last_error
            assert proxy.url in st.last_error and "HTTP 503" in st.last_error
        else:
            assert st.error_kind == "" and st.last_error == "", host
    direct = _hourly(store, "vm-")
    assert {h for h, _ in direct} == set(HOSTS) - set(failing)
    assert len(direct) == 24 * (len(HOSTS) - len(failing))
    assert len(proxy.ranges) >= (prometheus.RETRIES + 1)  # the failing batch was retried before giving up
