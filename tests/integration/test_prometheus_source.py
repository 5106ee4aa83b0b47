"""The Prometheus source against a real Prometheus scraping a real node_exporter, and against a replay server.

Two peers, the same assertions:
- "real": Debian's `prometheus` and `prometheus-node-exporter` started here on 127.0.0.1 (skips when they
  are missing; CI installs them, so it never skips there);
- "replay": a local HTTP server answering with API responses recorded from that real Prometheus
  (tests/data/prometheus/*.json), timestamps moved to the request's. The replay server also tests what a
  real one cannot be made to do on demand: auth refused, HTTP 500, a hang, error JSON, invalid JSON.

To record the replay files again: OPS_WATCH_RECORD_PROMETHEUS=1 pytest tests/integration/test_prometheus_source.py
"""

from __future__ import annotations

import atexit
import base64
import copy
import json
import os
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

import psutil
import pytest
import requests
from conftest import REPO, require_component
from sqlalchemy import select

from ops_watch.collect import collect_cycle
from ops_watch.config import load_config
from ops_watch.core.timeutil import from_store
from ops_watch.sources import Sample, Target, prometheus
from ops_watch.sources.prometheus import (
    GB,
    SKIP_FSTYPES,
    PrometheusCollector,
    PrometheusError,
    build,
    host_of,
    label_regex,
)
from ops_watch.store.schema import CollectionStatus, InventoryResource, UtilizationSample

DATA = REPO / "tests" / "data" / "prometheus"
RECORD = os.environ.get("OPS_WATCH_RECORD_PROMETHEUS", "") not in ("", "0")
KINDS = ("cpu", "mem", "storage_used", "storage_total", "up")
PASSWORD = "s3cret-Pa55word"
TOKEN = "tok-0123456789abcdef"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query_kind(query: str) -> str:
    """Which of the collector's queries this is (the replay server's key, and the recorder's)."""
    if "node_cpu_seconds_total" in query:
        return "cpu"
    if "node_memory_MemTotal_bytes" in query:
        return "mem"
    if "node_filesystem_free_bytes" in query:
        return "storage_used"
    if "node_filesystem_size_bytes" in query:
        return "storage_total"
    if "up{" in query or query.strip() == "up":
        return "up"
    raise ValueError(f"unexpected query {query!r}")


# ---- the real Prometheus ------------------------------------------------------------------------


@dataclass
class Api:
    kind: str  # "real" or "replay"
    url: str
    replay: Replay | None = None


def _wait_ready(url: str, deadline: float) -> None:
    """Until `up` exists and a rate() over the CPU counters has a value (two scrapes at least)."""
    wanted = 'rate(node_cpu_seconds_total{mode="idle"}[5m])'
    last = ""
    while time.monotonic() < deadline:
        try:
            up = requests.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=2).json()
            rate = requests.get(f"{url}/api/v1/query", params={"query": wanted}, timeout=2).json()
            if up["data"]["result"] and rate["data"]["result"]:
                return
            last = f"up: {up['data']['result']}, rate: {rate['data']['result']}"
        except (requests.RequestException, ValueError, KeyError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise TimeoutError(f"Prometheus at {url} has no node_exporter data after 40s ({last})")


@pytest.fixture(scope="module")
def real_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prom = require_component("prometheus", "apt-get install prometheus (scripts/install-test-deps.sh)")
    exporter = require_component(
        "prometheus-node-exporter", "apt-get install prometheus-node-exporter (scripts/install-test-deps.sh)"
    )
    work = tmp_path_factory.mktemp("prometheus")
    exporter_port, prom_port = _free_port(), _free_port()
    (work / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: node\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter_port}']\n",
        encoding="utf-8",
    )
    procs: list[subprocess.Popen[bytes]] = []
    logs = []

    def stop() -> None:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for log_file in logs:
            log_file.close()

    atexit.register(stop)  # even if the session is interrupted before the fixture's teardown
    try:
        for name, cmd in [
            (
                "node-exporter",
                [
                    exporter,
                    f"--web.listen-address=127.0.0.1:{exporter_port}",
                    "--collector.disable-defaults",
                    "--collector.cpu",
                    "--collector.meminfo",
                    "--collector.filesystem",
                ],
            ),
            (
                "prometheus",
                [
                    prom,
                    f"--config.file={work / 'prometheus.yml'}",
                    f"--storage.tsdb.path={work / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
            ),
        ]:
            log_file = (work / f"{name}.log").open("wb")
            logs.append(log_file)
            procs.append(subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, cwd=work))
        url = f"http://127.0.0.1:{prom_port}"
        try:
            _wait_ready(url, time.monotonic() + 40)
        except TimeoutError as exc:
            tails = "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(work.glob("*.log")))
            pytest.fail(f"{exc}\n{tails}", pytrace=False)
        time.sleep(3)  # a few seconds of history for the back-fill test
        yield url
    finally:
        stop()
        atexit.unregister(stop)


# ---- the replay server --------------------------------------------------------------------------


@dataclass
class Replay:
    """Answers /api/v1/query and /api/v1/query_range from the recorded files, moved to the request's time."""

    url: str = ""
    auth: tuple[str, ...] = ()  # ("basic", user, password) or ("bearer", token)
    fail: str = ""  # "", "500", "hang", "error_json", "error_json_200", "invalid_json"
    hang_seconds: float = 1.0
    extra_instances: list[str] = field(default_factory=list)  # copies of every series under these
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # query kind -> response
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, query kind)

    def answer(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        kind = query_kind(params["query"])
        name = "query_range" if path.endswith("query_range") else "query"
        payload = copy.deepcopy(
            self.overrides.get(kind) or json.loads((DATA / f"{name}_{kind}.json").read_text(encoding="utf-8"))
        )
        result = payload["data"]["result"]
        recorded = list(result)
        for extra in [] if kind in self.overrides else self.extra_instances:
            for series in recorded:
                clone = copy.deepcopy(series)
                clone["metric"]["instance"] = extra
                result.append(clone)
        for series in result:
            if name == "query":
                series["value"][0] = float(params.get("time", time.time()))
            else:  # recorded values, re-stamped on the request's grid
                start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
                recorded = [v for _, v in series["values"]]
                count = int((end - start) // step) + 1
                series["values"] = [[start + i * step, recorded[i % len(recorded)]] for i in range(count)]
        return payload


class _Handler(BaseHTTPRequestHandler):
    replay: Replay

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        auth = self.replay.auth
        header = self.headers.get("Authorization", "")
        if not auth:
            return True
        if auth[0] == "basic":
            expected = base64.b64encode(f"{auth[1]}:{auth[2]}".encode()).decode()
            return header == f"Basic {expected}"
        return header == f"Bearer {auth[1]}"

    def _handle(self, params: dict[str, str]) -> None:
        path = urlsplit(self.path).path
        replay = self.replay
        replay.requests.append((self.command, path, query_kind(params.get("query", "up"))))
        if not self._authorized():
            self._send(401, b"Unauthorized\n", {"WWW-Authenticate": 'Basic realm="prometheus"'})
            return
        if replay.fail == "500":
            self._send(500, b"internal error: the TSDB is on fire\n")
            return
        if replay.fail == "hang":
            time.sleep(replay.hang_seconds)
        if replay.fail in ("error_json", "error_json_200"):
            body = {"status": "error", "errorType": "bad_data", "error": "parse error at char 7: boom"}
            self._send(400 if replay.fail == "error_json" else 200, json.dumps(body).encode())
            return
        if replay.fail == "invalid_json":
            self._send(200, b"<html>proxy login page</html>")
            return
        self._send(200, json.dumps(replay.answer(path, params)).encode())

    def do_GET(self) -> None:  # noqa: N802
        query = parse_qs(urlsplit(self.path).query)
        self._handle({k: v[-1] for k, v in query.items()})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        self._handle({k: v[-1] for k, v in form.items()})


@pytest.fixture
def replay() -> Iterator[Replay]:
    state = Replay()
    handler = type("Handler", (_Handler,), {"replay": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(params=["real", "replay"])
def api(request: pytest.FixtureRequest) -> Api:
    if request.param == "real":
        return Api("real", request.getfixturevalue("real_prometheus"))
    state = request.getfixturevalue("replay")
    return Api("replay", state.url, state)


# ---- helpers ------------------------------------------------------------------------------------


def _collector(config_file, url: str, **settings: Any) -> PrometheusCollector:
    table = {"enabled": True, "url": url, **settings}
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items())
    config = load_config(config_file(f"[collect.local]\nenabled = false\n[collect.prometheus]\n{body}\n"))
    collector = build(config)
    assert isinstance(collector, PrometheusCollector)
    return collector


def _recorder(collector: PrometheusCollector) -> None:
    """Save every API answer the collector gets as tests/data/prometheus/<endpoint>_<kind>.json."""
    DATA.mkdir(parents=True, exist_ok=True)

    def save(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        body = resp.request.body
        params = parse_qs(body if isinstance(body, str) else (body or b"").decode()) or parse_qs(
            urlsplit(resp.request.url or "").query
        )
        endpoint = urlsplit(resp.request.url or "").path.rsplit("/", 1)[-1]
        kind = query_kind(params["query"][-1])
        (DATA / f"{endpoint}_{kind}.json").write_text(
            json.dumps(resp.json(), indent=1) + "\n", encoding="utf-8"
        )

    collector.session.hooks["response"].append(save)


def _instance(url: str) -> str:
    """The instance label of the one node_exporter the API knows."""
    answer = requests.get(
        f"{url}/api/v1/query", params={"query": 'max by (instance) (up{job="node"})'}, timeout=10
    )
    return answer.json()["data"]["result"][0]["metric"]["instance"]


def _by_id(samples: list[Sample], rid: str) -> list[Sample]:
    return sorted((s for s in samples if s.resource_id == rid), key=lambda s: s.at)


def _assert_sane(s: Sample) -> None:
    assert s.at.tzinfo is not None and s.at.utcoffset() == timedelta(0)
    assert s.cpu_pct is not None and 0 <= s.cpu_pct <= 100
    assert s.mem_pct is not None and 0 < s.mem_pct < 100
    assert s.storage_total_gb is not None and s.storage_total_gb > 0
    assert s.storage_used_gb is not None and 0 < s.storage_used_gb <= s.storage_total_gb


# ---- both peers ---------------------------------------------------------------------------------


def test_local_host_sampled_and_an_unknown_target_fails(api: Api, config_file):
    collector = _collector(config_file, api.url, step="1s")
    now = datetime.now(UTC)
    targets = [Target("local", "127.0.0.1"), Target("ghost", "127.0.0.99:22"), Target("volume-1", "")]
    result = collector.collect(targets, now)
    collector.close()

    (sample,) = result.samples
    assert sample.resource_id == "local"
    _assert_sane(sample)
    assert abs((sample.at - now).total_seconds()) < 0.002  # the query's time, not the data's
    statuses = {s.target: s for s in result.statuses}
    assert set(statuses) == {"local", "ghost"}  # a target without an address is not this source's
    assert statuses["local"].ok
    ghost = statuses["ghost"]
    assert (ghost.ok, ghost.error_kind) == (False, "unreachable")
    assert "instance=127.0.0.99" in ghost.error and "not scraped" in ghost.error


def test_matching_by_address_ignores_ports_and_by_resource_id_uses_the_label(api: Api, config_file):
    instance = _instance(api.url)
    assert host_of(instance) == "127.0.0.1"
    now = datetime.now(UTC)
    by_address = _collector(config_file, api.url)
    result = by_address.collect([Target("a", "127.0.0.1:2222"), Target("b", "127.0.0.1")], now)
    assert [s.resource_id for s in result.samples] == ["a", "b"]
    assert all(s.ok for s in result.statuses)

    by_id = _collector(config_file, api.url, match_to="resource_id")
    result = by_id.collect([Target(instance, "10.0.0.1"), Target("127.0.0.1", "127.0.0.1")], now)
    assert [s.resource_id for s in result.samples] == [instance]
    failed = {s.target: s for s in result.statuses if not s.ok}
    assert list(failed) == ["127.0.0.1"] and failed["127.0.0.1"].error_kind == "unreachable"


def test_backfill_reads_the_gap_with_range_queries(api: Api, config_file):
    collector = _collector(config_file, api.url, step="1s", backfill_max="1h")
    if RECORD and api.kind == "real":
        _recorder(collector)
    now = datetime.now(UTC)
    last = now - timedelta(seconds=3.5)
    targets = [
        Target("stale", "127.0.0.1", last_sample_at=last),
        Target("fresh", "127.0.0.1:1", last_sample_at=now),
    ]
    result = collector.collect(targets, now)

    assert all(s.ok for s in result.statuses)
    stale, fresh = _by_id(result.samples, "stale"), _by_id(result.samples, "fresh")
    assert len(fresh) == 1 and fresh[0].at == stale[-1].at  # fresh: only now
    assert len(stale) >= 3
    assert all(last < s.at <= now for s in stale)
    assert len({s.at for s in stale}) == len(stale)
    assert all(s.mem_pct is not None and s.storage_total_gb for s in stale)
    assert all(s.at.microsecond == 0 for s in stale[:-1])  # whole steps
    if api.replay is not None:
        ranges = [r for r in api.replay.requests if r[1] == "/api/v1/query_range"]
        assert sorted(kind for _, _, kind in ranges) == sorted(KINDS[:4])  # one per metric


def test_real_prometheus_agrees_with_psutil(real_prometheus: str, config_file):
    """The same host, through Prometheus and through psutil: the same definitions of memory % and storage."""
    collector = _collector(config_file, real_prometheus)
    (sample,) = collector.collect([Target("local", "127.0.0.1")], datetime.now(UTC)).samples
    mem = psutil.virtual_memory()
    assert sample.mem_pct == pytest.approx(mem.percent, abs=5)
    used = total = 0
    devices = set()
    skip_mounts = ("/dev", "/proc", "/run", "/sys", "/mnt", "/media")  # node_exporter's default exclusion
    for part in psutil.disk_partitions(all=False):
        skipped = part.fstype in SKIP_FSTYPES
        in_skipped_mount = any(
            part.mountpoint == m or part.mountpoint.startswith(m + "/") for m in skip_mounts
        )
        if skipped or in_skipped_mount or part.device in devices:
            continue
        devices.add(part.device)
        usage = psutil.disk_usage(part.mountpoint)
        used, total = used + usage.used, total + usage.total
    assert sample.storage_total_gb == pytest.approx(total / GB, rel=0.01)
    assert sample.storage_used_gb == pytest.approx(used / GB, rel=0.05, abs=1.0)  # size - free, as df


# ---- the replay server only ---------------------------------------------------------------------


def test_basic_auth_required_and_the_password_never_shown(replay: Replay, config_file, monkeypatch):
    replay.auth = ("basic", "opswatch", PASSWORD)
    targets = [Target("local", "127.0.0.1"), Target("other", "127.0.0.2")]
    now = datetime.now(UTC)

    anonymous = _collector(config_file, replay.url).collect(targets, now)
    assert [(s.ok, s.error_kind) for s in anonymous.statuses] == [(False, "auth")] * 2
    assert "HTTP 401" in anonymous.statuses[0].error and replay.url in anonymous.statuses[0].error

    monkeypatch.setenv("PROM_PW", "wrong-" + PASSWORD)
    wrong = _collector(config_file, replay.url, username="opswatch", password_env="PROM_PW").collect(
        targets, now
    )
    assert {s.error_kind for s in wrong.statuses} == {"auth"}
    assert all(PASSWORD not in s.error for s in wrong.statuses)

    inline = f"http://opswatch:{PASSWORD}@{replay.url.removeprefix('http://')}"
    replay.fail = "500"
    leaked = _collector(config_file, inline).collect(targets, now)
    assert {s.error_kind for s in leaked.statuses} == {"http"}  # the URL's own credentials were accepted
    assert all(PASSWORD not in s.error and "opswatch@" not in s.error for s in leaked.statuses)
    replay.fail = ""

    monkeypatch.setenv("PROM_PW", PASSWORD)
    right = _collector(config_file, replay.url, username="opswatch", password_env="PROM_PW").collect(
        targets, now
    )
    assert [s.resource_id for s in right.samples] == ["local"]
    assert {s.target: s.error_kind for s in right.statuses} == {"local": "", "other": "unreachable"}


def test_bearer_token_from_a_file(replay: Replay, config_file, tmp_path: Path):
    replay.auth = ("bearer", TOKEN)
    (tmp_path / "token").write_text("wrong-token\n", encoding="utf-8")
    collector = _collector(config_file, replay.url, bearer_token_file="token")
    now = datetime.now(UTC)
    refused = collector.collect([Target("local", "127.0.0.1")], now)
    assert refused.statuses[0].error_kind == "auth" and "wrong-token" not in refused.statuses[0].error

    (tmp_path / "token").write_text(TOKEN + "\n", encoding="utf-8")  # rotated: read at use
    accepted = collector.collect([Target("local", "127.0.0.1")], now)
    assert accepted.statuses[0].ok and len(accepted.samples) == 1


@pytest.mark.parametrize(
    ("fail", "words"),
    [
        ("500", ["HTTP 500", "TSDB is on fire"]),
        ("error_json", ["HTTP 400", "bad_data", "parse error at char 7"]),
        ("error_json_200", ["bad_data", "parse error at char 7"]),
        ("invalid_json", ["not JSON"]),
        ("hang", ["no answer within 0.3s"]),
    ],
)
def test_an_api_failure_fails_every_target_without_raising(replay: Replay, config_file, fail: str, words):
    replay.fail = fail
    collector = _collector(config_file, replay.url, timeout="0.3s")
    targets = [Target(f"vm-{i}", f"10.0.0.{i}") for i in range(1, 4)]
    result = collector.collect(targets, datetime.now(UTC))
    assert result.samples == []
    assert [s.target for s in result.statuses] == ["vm-1", "vm-2", "vm-3"]
    for status in result.statuses:
        assert (status.ok, status.error_kind) == (False, "http")
        assert f"{replay.url}/api/v1/query" in status.error
        for word in words:
            assert word in status.error
    assert len(replay.requests) == 1  # the first failure ends the cycle: no waiting on every query


def test_connection_refused_is_an_http_failure(config_file):
    url = f"http://127.0.0.1:{_free_port()}"
    result = _collector(config_file, url).collect([Target("local", "127.0.0.1")], datetime.now(UTC))
    (status,) = result.statuses
    assert (status.ok, status.error_kind) == (False, "http")
    assert url in status.error and "cannot connect" in status.error


def test_several_series_per_target_nan_skipped_and_strangers_ignored(replay: Replay, config_file):
    """Two exporters on one host: CPU is their mean, a device counts once; a NaN series is left out."""
    cpu = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"instance": "127.0.0.1:9100"}, "value": [0, "10"]},
                {"metric": {"instance": "127.0.0.1:9200"}, "value": [0, "30"]},
                {"metric": {"instance": "127.0.0.1:9300"}, "value": [0, "NaN"]},
                {"metric": {"instance": "127.0.0.5:9100"}, "value": [0, "+Inf"]},
            ],
        },
    }
    replay.overrides["cpu"] = cpu
    replay.extra_instances = ["127.0.0.1:9200", "192.0.2.7:9100"]  # a second exporter here; a stranger
    collector = _collector(config_file, replay.url)
    result = collector.collect(
        [Target("local", "127.0.0.1:22"), Target("five", "127.0.0.5")], datetime.now(UTC)
    )
    (sample,) = result.samples
    assert sample.cpu_pct == 20.0
    replay.extra_instances, replay.overrides = [], {}
    (alone,) = collector.collect([Target("local", "127.0.0.1")], datetime.now(UTC)).samples
    assert sample.storage_total_gb == alone.storage_total_gb  # not doubled
    assert sample.mem_pct == alone.mem_pct
    five = {s.target: s for s in result.statuses}["five"]
    assert five.error_kind == "unreachable"  # its only CPU value was +Inf, and it has nothing else


def test_a_long_backfill_list_goes_in_a_post_body(replay: Replay, config_file):
    """After an outage of ops-watch at a large site: a set of range queries per batch of at most BATCH_KEYS
    hosts (here 401 hosts: two batches), sent as POST."""
    now = datetime.now(UTC)
    hosts = [f"10.1.{i // 250}.{i % 250}" for i in range(400)]
    replay.extra_instances = [f"{h}:9100" for h in hosts]
    targets = [Target(f"vm-{i}", h, last_sample_at=now - timedelta(minutes=1)) for i, h in enumerate(hosts)]
    targets.append(Target("local", "127.0.0.1", last_sample_at=now - timedelta(minutes=3)))
    targets.append(Target("down", "10.2.0.1", last_sample_at=now - timedelta(hours=1)))
    collector = _collector(config_file, replay.url, step="10s")
    result = collector.collect(targets, now)
    ranges = [r for r in replay.requests if r[1] == "/api/v1/query_range"]
    assert prometheus.BATCH_KEYS == 250
    assert sorted(kind for _, _, kind in ranges) == sorted(KINDS[:4] * 2)
    assert {method for method, _, _ in ranges[:4]} == {"POST"}  # the batch of 250: too long for a URL
    assert [s.target for s in result.statuses if not s.ok] == ["down"]  # not back-filled: nothing to read
    assert (
        6 <= len(_by_id(result.samples, "vm-7")) <= 7
    )  # the minute since its last sample at 10s steps, and now
    assert 18 <= len(_by_id(result.samples, "local")) <= 19


def test_backfill_budget_defers_the_rest_to_later_cycles(replay: Replay, config_file, monkeypatch):
    monkeypatch.setattr(prometheus, "BACKFILL_BUDGET", 30)
    collector = _collector(config_file, replay.url, step="10s")
    hosts = {f"vm-{i:02d}": f"10.3.0.{i}" for i in range(1, 13)}
    replay.extra_instances = [f"{h}:9100" for h in hosts.values()]
    now = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    first_last = {rid: now - timedelta(minutes=1, seconds=i) for i, rid in enumerate(hosts)}
    last = dict(first_last)
    stored: dict[str, list[datetime]] = {rid: [] for rid in hosts}
    filled_per_cycle = []
    for _cycle in range(6):
        targets = [Target(rid, addr, last_sample_at=last[rid]) for rid, addr in hosts.items()]
        result = collector.collect(targets, now)
        assert all(s.ok for s in result.statuses) and len(result.statuses) == len(hosts)
        got = {s.resource_id for s in result.samples}
        filled_per_cycle.append(got)
        for s in result.samples:
            stored[s.resource_id].append(s.at)
            last[s.resource_id] = max(last[s.resource_id], s.at)
        now += timedelta(seconds=10)
        if all(stored.values()):
            break
    assert all(stored.values()), filled_per_cycle
    assert 1 <= len(filled_per_cycle[0]) < len(hosts)  # the budget held the rest back
    assert "vm-12" in filled_per_cycle[0]  # the longest-waiting first
    for rid, times in stored.items():  # each gap read whole: from just after the old last sample, every step
        times.sort()
        assert first_last[rid] < times[0] <= first_last[rid] + timedelta(seconds=10), rid
        assert all(b - a <= timedelta(seconds=10) for a, b in zip(times, times[1:], strict=False)), rid


def test_a_failed_backfill_keeps_the_gap_for_the_next_cycle(replay: Replay, config_file):
    now = datetime.now(UTC)
    collector = _collector(config_file, replay.url, step="1s")

    def failing_range(query: str, start: float, end: float):
        raise PrometheusError("http", f"{replay.url}/api/v1/query_range: HTTP 503 Service Unavailable: busy")

    collector.range = failing_range  # type: ignore[method-assign]
    targets = [
        Target("stale", "127.0.0.1", last_sample_at=now - timedelta(minutes=10)),
        Target("fresh", "127.0.0.1"),
    ]
    result = collector.collect(targets, now)
    assert [s.resource_id for s in result.samples] == ["fresh"]
    stale = {s.target: s for s in result.statuses}["stale"]
    assert (stale.ok, stale.error_kind) == (False, "http") and "back-fill failed" in stale.error


def test_a_cycle_into_the_store_backfills_after_downtime(replay: Replay, store, config_file):
    """Through collect_cycle: the newest stored sample drives the back-fill, and nothing is stored twice."""
    t0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    with store.session() as s:
        for rid, address in [("vm-local", "127.0.0.1:22"), ("vm-gone", "127.0.0.9")]:
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
                    address=address,
                    updated_at=t0,
                )
            )
    collector = _collector(config_file, replay.url, step="1m")
    config = load_config(
        config_file(f'[collect.prometheus]\nenabled = true\nurl = "{replay.url}"\nstep = "1m"\n')
    )
    first = collect_cycle(store, config, {"prometheus": collector}, t0)
    assert (first["samples"], first["failed"]) == (1, 1)
    # A new target: its backfill_max (7 days) of history as hourly rows; no raw samples but now's.
    assert first["prometheus"]["hourly"] == 7 * 24
    # One batch, two chunks (at 1m steps: 166 hours a query): CPU and memory raw, storage 3 columns each.
    assert len([r for r in replay.requests if r[1].endswith("query_range")]) == 2 * 5
    replay.requests.clear()

    later = t0 + timedelta(minutes=30)  # the daemon was down for half an hour
    second = collect_cycle(store, config, {"prometheus": collector}, later)
    assert second["samples"] == 30  # 29 back-filled minutes and now
    again = collect_cycle(store, config, {"prometheus": collector}, later)
    assert again["samples"] == 0
    with store.session() as s:
        times = s.scalars(
            select(UtilizationSample.at)
            .where(UtilizationSample.resource_id == "vm-local")
            .order_by(UtilizationSample.at)
        ).all()
        status = s.get(CollectionStatus, ("prometheus", "vm-gone"))
    assert len(times) == 31
    assert [from_store(t) for t in times[:2]] == [t0, t0 + timedelta(minutes=1)]
    assert (status.error_kind, status.consecutive_failures) == ("unreachable", 3)


def test_label_regex_selects_hosts_with_any_port():

    pattern = label_regex(["127.0.0.1", "::1", "db.example"], "address").removeprefix("(?i)")
    for value in ["127.0.0.1:9100", "127.0.0.1", "[::1]:9100", "DB.example:9100"]:
        assert re.fullmatch(pattern, value, re.IGNORECASE), value
    for value in ["127.0.0.10:9100", "x127.0.0.1", "db-example:9100"]:
        assert not re.fullmatch(pattern, value, re.IGNORECASE), value
    assert label_regex(["vm-1", "a.b"], "resource_id") == "a\\.b|vm-1"
    assert [host_of(a) for a in ["h:22", "[::1]:9100", "::1", "u@H.Example.", "http://x:9/p"]] == [
        "h",
        "::1",
        "::1",
        "h.example",
        "x",
    ]
