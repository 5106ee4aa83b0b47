"""Prometheus: node_exporter metrics read through the Prometheus HTTP API (or a compatible one).

This is the path for sites with thousands of hosts: a Prometheus already scrapes them, and one cycle here
is five instant queries (`/api/v1/query`) whatever the number of hosts. A target whose newest stored
sample is older than two steps is back-filled from Prometheus's history with range queries
(`/api/v1/query_range`), per metric and per batch of at most BATCH_KEYS label values, so neither a request
nor an answer grows with the site. docs/sources.md has the queries and the reasons for them.

Two ways to back-fill:
- `collect(targets, now)`: raw samples at `step`, within a budget of points per cycle (as before);
- `collect_hourly(targets, now, write)` (what collect_cycle uses): the whole hours of a gap are handed to
  `write` as hourly roll-ups, a batch of targets and a few hours at a time, never as raw samples: 14 days of
  10,000 hosts is 3.4 M hourly rows instead of 40 M samples. CPU and memory are read at `step` (the samples
  the raw back-fill would store) and rolled up here as ops_watch.areas.resources.utilization rolls raw
  samples up (mean, max, p95 by linear interpolation); storage's columns (largest used, last total) are
  computed by Prometheus at step 1h over a subquery at `step` (cheap: no rate). Asking Prometheus for CPU
  and memory at 1h too costs it three subquery evaluations of each (mean, max, p95): measured 2.5 times the
  Prometheus time of reading them once. Only the partial hours at both ends of a gap are read raw, so every
  hour is either rolled up from raw samples or stored directly, never both: the roll-up watermark never
  sees the direct hours.
  A target with no stored sample yet gets `backfill_max` of history.

Range queries are retried with back-off on transient failures (HTTP 5xx and 429, time-outs, refused
connections, "query processing would load too many samples"); a batch that still fails fails only its own
targets, each named with the URL and the reason. Instant queries are not retried: the next cycle is their retry.

CPU %, memory % and storage are computed the way the local (psutil) and SSH (/proc, df -P) sources
compute them, so numbers from different sources compare (docs/sources.md says how):

- CPU % = 100 x (1 - (idle + iowait) / all modes), summed over the CPUs, over the rate window;
- memory % = 100 x (1 - MemAvailable / MemTotal) (MemFree + Buffers + Cached before Linux 3.14);
- storage used = size - free (df's "Used": blocks reserved for root count as not used), total = size,
  summed over the real file systems, each device once.

Series are mapped to inventory targets by one label (config `match_label`, default `instance`),
compared with the target's resource id or with the host part of its address (any `:port` ignored on
both sides). Failures never raise: every target gets a TargetStatus.
"""

from __future__ import annotations

import gc
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ops_watch.core.http import error_reason
from ops_watch.core.log import get_logger, redact_text
from ops_watch.core.timeutil import from_store
from ops_watch.sources import CollectResult, Sample, Target, TargetStatus, procfs, source

if TYPE_CHECKING:
    from ops_watch.config import Config, PrometheusSourceConfig

log = get_logger(__name__)

GB = 1024**3  # as the local source: GiB, called GB
# File systems that hold no allocated storage of the host (pseudo, in-memory, images, network shares):
# the same set as the SSH source's df parser, so the two sources count the same disks.
SKIP_FSTYPES = procfs.SKIP_FSTYPES
MIN_RATE_WINDOW = timedelta(minutes=5)  # at least 4 scrapes at the common 1m scrape interval
BACKFILL_AFTER_STEPS = 2  # a target whose newest sample is older than this many steps is back-filled
MAX_POINTS = 10_000  # per series per range query (Prometheus refuses more than 11,000)
# Back-fill at most this many points per metric in one cycle (bounded memory and store writes): after a
# week-long outage at a 5,000-host site, about 100 hosts a cycle at the default 5m step.
BACKFILL_BUDGET = 200_000
LONG_QUERY = 4000  # longer queries go in a POST body, clear of URL length limits
# Label values per range query: bounds the request (the regex: about 20 bytes a host) and the answer (this many
# series per metric, over as many hours as POINTS_PER_ANSWER allows) whatever the number of targets.
BATCH_KEYS = 250
POINTS_PER_ANSWER = 60_000  # points of one range query's answer in the hourly back-fill (bounded memory)
QUERY_THREADS = 4  # range queries of a batch in flight at once (requests' Session pool is thread-safe)
RETRIES = 3  # further attempts of a range query after a transient failure
BACKOFF = 1.0  # seconds before the first retry, doubled for each next one
HOUR_S = 3600
# Hourly roll-up columns: utilization_hourly's and HourlyRow's, in their order after resource_id and hour.
HOURLY_FIELDS = (
    "samples",
    "cpu_mean",
    "cpu_max",
    "cpu_p95",
    "mem_mean",
    "mem_max",
    "mem_p95",
    "storage_used_gb",
    "storage_total_gb",
)
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")


class PrometheusError(Exception):
    """A request to the API failed: `kind` is one of ERROR_KINDS, `message` names the URL and the reason."""

    def __init__(self, kind: str, message: str, transient: bool = False):
        self.kind = kind
        self.message = message
        self.transient = transient  # worth another attempt after a pause (overload, restart, time-out)
        super().__init__(message)


def is_transient(status: int, error: str) -> bool:
    """An answer that may succeed when asked again: server errors, throttling, a query over the sample limit
    (the limit is per query and the load of the moment decides whether it is reached)."""
    return status >= 500 or status == 429 or "too many samples" in error


# ---- pure helpers ---------------------------------------------------------------------------------


def host_of(address: str) -> str:
    """The host part of 'host', 'host:port', '[v6]:port', 'user@host' or a URL, lower-cased."""
    text = address.strip()
    if "://" in text:
        text = urlsplit(text).netloc
    text = text.rsplit("@", 1)[-1]
    if text.startswith("["):
        end = text.find("]")
        host = text[1:end] if end > 0 else text[1:]
    elif text.count(":") == 1:
        host = text.split(":", 1)[0]
    else:  # a bare host, or a bare IPv6 address
        host = text
    return host.rstrip(".").lower()


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _re2_escape(value: str) -> str:
    return _RE2_SPECIAL.sub(r"\\\1", value)


def label_regex(keys: Iterable[str], match_to: str) -> str:
    """A regex for the match label that selects exactly these keys (ids, or hosts with any :port)."""
    keys = sorted(set(keys))
    if match_to == "resource_id":
        return "|".join(_re2_escape(k) for k in keys)
    alternatives = []
    for host in keys:
        escaped = _re2_escape(host)
        alternatives.append(f"\\[{escaped}\\]|{escaped}" if ":" in host else escaped)
    return "(?i)(?:" + "|".join(alternatives) + ")(?::[0-9]+)?"


def _seconds(window: timedelta) -> str:
    return f"{max(1, round(window.total_seconds()))}s"


@dataclass(frozen=True)
class Queries:
    """The PromQL of one cycle. Each returns one series per match-label value (storage: per device too)."""

    cpu: str
    mem: str
    storage_total: str
    storage_used: str
    up: str


def build_queries(match_label: str, job: str, window: timedelta, only: str = "") -> Queries:
    """The queries for series of `job` (any job when empty), restricted to match-label values `only` (a regex)."""
    base = []
    if job:
        base.append(f"job={promql_string(job)}")
    if only:
        base.append(f"{match_label}=~{promql_string(only)}")

    def sel(*more: str) -> str:
        matchers = [*base, *more]
        return "{" + ",".join(matchers) + "}" if matchers else ""

    by, w = match_label, _seconds(window)
    idle_modes = sel('mode=~"idle|iowait"')
    idle = f"sum by ({by}) (rate(node_cpu_seconds_total{idle_modes}[{w}]))"
    every_mode = f"sum by ({by}) (rate(node_cpu_seconds_total{sel()}[{w}]))"
    available = (
        f"(sum by ({by}) (node_memory_MemAvailable_bytes{sel()})"
        f" or sum by ({by}) (node_memory_MemFree_bytes{sel()} + node_memory_Buffers_bytes{sel()}"
        f" + node_memory_Cached_bytes{sel()}))"
    )
    fs = sel(f"fstype!~{promql_string('|'.join(_re2_escape(t) for t in sorted(SKIP_FSTYPES)))}")
    return Queries(
        cpu=f"100 * (1 - {idle} / {every_mode})",
        mem=f"100 * (1 - {available} / sum by ({by}) (node_memory_MemTotal_bytes{sel()}))",
        storage_total=f"max by ({by}, device) (node_filesystem_size_bytes{fs})",
        storage_used=f"max by ({by}, device) (node_filesystem_size_bytes{fs} - node_filesystem_free_bytes{fs})",
        up=f"max by ({by}) (up{sel()})",
    )


@dataclass(frozen=True)
class HourlyRow:
    """One hour of one resource as utilization_hourly holds it (`hour`: its start, aware UTC)."""

    resource_id: str
    hour: datetime
    samples: int
    cpu_mean: float | None = None
    cpu_max: float | None = None
    cpu_p95: float | None = None
    mem_mean: float | None = None
    mem_max: float | None = None
    mem_p95: float | None = None
    storage_used_gb: float | None = None
    storage_total_gb: float | None = None


HourlyWrite = Callable[[list[HourlyRow]], None]


def _batches(keys: Iterable[str], size: int) -> list[list[str]]:
    ordered = sorted(set(keys))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value); NaN and infinities left out


_INF = math.inf


def parse_result(data: Any) -> list[Series]:
    """The `data` of a query answer (vector or matrix) as series; raises PrometheusError('parse')."""
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        raise PrometheusError("parse", "answer has no data.result list")
    kind = data.get("resultType")
    if kind not in ("vector", "matrix"):
        raise PrometheusError("parse", f"expected a vector or matrix result, got {kind!r}")
    out = []
    for item in data["result"]:
        if not isinstance(item, dict) or not isinstance(item.get("metric"), dict):
            raise PrometheusError("parse", "a result item has no metric labels")
        raw = [item.get("value")] if kind == "vector" else item.get("values")
        if not isinstance(raw, list):
            raise PrometheusError("parse", "a result item has no value(s)")
        try:
            # One pass over what can be millions of points (a back-fill): "NaN" (v != v), "+Inf" and "-Inf" out.
            points = [(ts, v) for ts, value in raw if (v := float(value)) == v and -_INF < v < _INF]
        except (TypeError, ValueError):
            raise PrometheusError("parse", f"bad point in {raw[:3]!r}") from None
        if points and not isinstance(points[0][0], int | float):
            raise PrometheusError("parse", f"bad time in {raw[:3]!r}")
        out.append(Series({str(k): str(v) for k, v in item["metric"].items()}, points))
    return out


def to_datetime(ts: float) -> datetime:
    """Prometheus's float seconds as an aware UTC datetime (millisecond precision, as Prometheus keeps)."""
    return datetime.fromtimestamp(round(ts, 3), UTC)


def _clamp_pct(value: float) -> float:
    return round(min(100.0, max(0.0, value)), 2)


def _mean_pct(group: list[Series]) -> dict[float, float]:
    """ts -> the mean over the series (several exporters of one target), within 0..100."""
    if len(group) == 1:
        return {ts: _clamp_pct(v) for ts, v in group[0].points}
    values: dict[float, list[float]] = defaultdict(list)
    for s in group:
        for ts, v in s.points:
            values[ts].append(v)
    return {ts: _clamp_pct(sum(vs) / len(vs)) for ts, vs in values.items()}


def _storage_gb(group: list[Series]) -> dict[float, float]:
    """ts -> GB summed over the devices, each device once (mounted twice, or seen by two exporters)."""
    if len(group) == 1:
        return {ts: round(v / GB, 3) for ts, v in group[0].points}
    per_device: dict[float, dict[str, float]] = defaultdict(dict)
    for s in group:
        device = s.labels.get("device", "")
        for ts, v in s.points:
            devices = per_device[ts]
            devices[device] = max(devices.get(device, v), v)
    return {ts: round(sum(devices.values()) / GB, 3) for ts, devices in per_device.items()}


def linear_percentile(ordered: list[float], q: float = 0.95) -> float:
    """As utilization.linear_percentile (PERCENTILE.INC) of an ascending list: the roll-up's p95 of an hour."""
    pos = (len(ordered) - 1) * q
    low = int(pos)
    frac = pos - low
    if frac == 0 or low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * frac


def _pct_stats(values: list[float] | None) -> tuple[float | None, float | None, float | None]:
    """(mean, max, p95) of an hour's values, computed as the roll-up computes them from raw samples."""
    if not values:
        return None, None, None
    values.sort()
    return sum(values) / len(values), values[-1], linear_percentile(values)


@dataclass
class _Hour:
    """What an hour of one target holds while its samples are read."""

    seen: int = 0  # bit k: a sample at the hour's start + k steps (a sample is a time with any metric)
    cpu: list[float] | None = None
    mem: list[float] | None = None
    used: float | None = None  # the largest
    total: float | None = None  # the latest
    storage_seen: int = 0  # times with a storage total


def build_storage_hourly(queries: Queries, match_label: str, step: timedelta) -> dict[str, str]:
    """Storage's roll-up columns of each hour, computed by Prometheus (cheap: no rate, one or two selectors).

    Asked as a range query at step 1h, each point evaluated at the hour's start + 1h - `step`: the subquery
    `[1h - 1ms:step]` then holds the points at the hour's start, + step, ... (subquery points are aligned to
    multiples of step, as the raw back-fill's), exactly the times the raw back-fill samples; each is summed
    over the devices and rounded as _storage_gb does.
    """
    by = match_label
    sub = f"[{HOUR_S * 1000 - 1}ms:{_seconds(step)}]"
    used = f"round(sum by ({by}) ({queries.storage_used}) / {GB}, 0.001)"
    total = f"round(sum by ({by}) ({queries.storage_total}) / {GB}, 0.001)"
    return {
        "storage_used_gb": f"max_over_time(({used}){sub})",
        "storage_total_gb": f"last_over_time(({total}){sub})",
        "storage_samples": f"count_over_time(({total}){sub})",
    }


def _fold(
    hours: dict[tuple[str, float], _Hour], key: str, group: list[Series], step: float, cpu: bool
) -> None:
    """A key's CPU or memory series into its hours, each value clamped and rounded as _mean_pct does.

    The hot loop of a back-fill (millions of points): one series (the usual case) is walked in time order,
    an hour looked up once for all its points."""
    points = group[0].points if len(group) == 1 else sorted(_mean_pct(group).items())
    current, h, values = -1.0, _Hour(), []
    for ts, v in points:
        hour = ts // HOUR_S * HOUR_S
        if hour != current:
            current = hour
            h = hours.get((key, hour)) or hours.setdefault((key, hour), _Hour())
            values = (h.cpu if cpu else h.mem) or []
            if cpu:
                h.cpu = values
            else:
                h.mem = values
        h.seen |= 1 << int((ts - hour) / step + 0.5)
        values.append(round(100.0 if v > 100.0 else 0.0 if v < 0.0 else v, 2))


@contextmanager
def _fewer_gc_passes() -> Iterator[None]:
    """A back-fill allocates millions of small lists and tuples (the answers' points), none of them in a cycle;
    the cyclic collector's passes over them, every 700 allocations, were a third of its CPU. Its thresholds are
    raised while a cycle runs (for the whole process: the daemon's other jobs collect less often meanwhile, and
    free what they drop by reference counting as always), then put back."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 200_000), max(before[1], 50), max(before[2], 50))
    try:
        yield
    finally:
        gc.set_threshold(*before)


# ---- the collector --------------------------------------------------------------------------------


Fields = dict[tuple[str, float], dict[str, float]]  # (match key, ts) -> Sample field -> value


class PrometheusCollector:
    """Reads node_exporter series through one kept requests.Session."""

    name = "prometheus"

    def __init__(self, cfg: PrometheusSourceConfig, base: Path, ca_file: Path | None = None):
        self.cfg = cfg
        self.base = base  # where relative secret files are looked up
        parts = urlsplit(cfg.url.rstrip("/"))
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        # The URL as shown in errors and logs: never any user:password@ written into it.
        try:
            port = parts.port
        except ValueError:  # not a number: every request fails and says so
            port = None
        netloc = f"{host}:{port}" if port else host
        self.shown_url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self.url = cfg.url.rstrip("/")
        self.timeout = max(0.1, cfg.timeout.total_seconds())
        self.step = max(timedelta(seconds=1), cfg.step)
        self.window = max(MIN_RATE_WINDOW, self.step)
        # start-up: requests (5 MiB) loads when Prometheus is read, not in every daemon (issue 17: its RSS)
        import requests

        self.session = requests.Session()
        self.session.verify = str(ca_file) if (ca_file is not None and cfg.verify_tls) else cfg.verify_tls
        self.session.headers["Accept"] = "application/json"
        self._url_password = parts.password or ""  # credentials written into the URL itself
        self._secrets: list[str] = []

    # -- requests --

    def _scrub(self, text: str) -> str:
        for secret in [*self._secrets, self._url_password]:
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)

    def _authenticate(self) -> None:
        """Credentials are read at use, so a rotated password or token file is picked up."""
        cfg = self.cfg
        has_token = cfg.bearer_token_file is not None or cfg.bearer_token_env is not None
        if has_token and cfg.username:
            raise PrometheusError("config", "give a username (basic auth) or a bearer token, not both")
        try:
            password = cfg.secret(self.base).get_secret_value() if cfg.username else ""
            token = cfg.token_value(self.base) if has_token else ""
        except ValueError as exc:
            raise PrometheusError("config", f"collect.prometheus credentials: {exc}") from None
        self._secrets = [s for s in (password, token) if s]
        self.session.auth = (cfg.username, password) if cfg.username else None
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        else:
            self.session.headers.pop("Authorization", None)

    def _api(self, path: str, params: dict[str, str]) -> list[Series]:
        shown = f"{self.shown_url}{path}"
        # start-up: requests (5 MiB) loads when Prometheus is read, not in every daemon (issue 17: its RSS)
        import requests

        try:
            if sum(len(v) for v in params.values()) > LONG_QUERY:
                resp = self.session.post(self.url + path, data=params, timeout=self.timeout)
            else:
                resp = self.session.get(self.url + path, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise PrometheusError("http", f"{shown}: no answer within {self.timeout:g}s", True) from None
        except requests.exceptions.SSLError as exc:
            raise PrometheusError("http", self._scrub(f"{shown}: TLS error: {error_reason(exc)}")) from None
        except requests.ConnectionError as exc:
            raise PrometheusError(
                "http", self._scrub(f"{shown}: cannot connect: {error_reason(exc)}"), True
            ) from None
        except requests.RequestException as exc:
            raise PrometheusError("http", self._scrub(f"{shown}: {error_reason(exc)}")) from None
        import orjson  # start-up: as requests

        try:
            # orjson: a back-fill's answers are hundreds of MB of JSON, and the stdlib parser was a sixth of it.
            payload = orjson.loads(resp.content)
        except ValueError:
            payload = None
        error = ""
        if isinstance(payload, dict) and payload.get("status") == "error":
            error = f"{payload.get('errorType', 'error')}: {payload.get('error', '')}"
        if resp.status_code in (401, 403):
            reason = "check collect.prometheus.username and password, or the bearer token"
            raise PrometheusError("auth", f"{shown}: HTTP {resp.status_code} {resp.reason}: {reason}")
        if not 200 <= resp.status_code < 300:
            detail = error or " ".join(resp.text[:200].split())
            raise PrometheusError(
                "http",
                self._scrub(f"{shown}: HTTP {resp.status_code} {resp.reason}: {detail}"),
                is_transient(resp.status_code, detail),
            )
        if payload is None:
            raise PrometheusError("http", f"{shown}: the answer is not JSON")
        if error:
            raise PrometheusError("http", self._scrub(f"{shown}: {error}"), is_transient(0, error))
        if not isinstance(payload, dict) or payload.get("status") != "success":
            raise PrometheusError("http", f"{shown}: the answer has no status 'success'")
        for warning in payload.get("warnings") or []:
            log.warning("prometheus warning", url=shown, warning=self._scrub(str(warning)))
        try:
            return parse_result(payload.get("data"))
        except PrometheusError as exc:
            raise PrometheusError("parse", f"{shown}: {exc.message}") from None

    def instant(self, query: str, at: float) -> list[Series]:
        """Values at `at` (each series' newest within Prometheus's look-back, 5 minutes by default)."""
        series = self._api("/api/v1/query", {"query": query, "time": f"{at:.3f}"})
        # Stamped with the asked time whatever a compatible server echoes, so the metrics meet in one sample.
        return [Series(s.labels, [(at, v) for _, v in s.points]) for s in series]

    def range(self, query: str, start: float, end: float, step: float | None = None) -> list[Series]:
        """A range query (at `step` seconds, default the configured step), retried on transient failures."""
        step = self.step.total_seconds() if step is None else step
        params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        for attempt in range(RETRIES + 1):
            try:
                return self._api("/api/v1/query_range", params)
            except PrometheusError as exc:
                if not exc.transient or attempt == RETRIES:
                    raise
                pause = BACKOFF * 2**attempt
                log.info(
                    "prometheus retry",
                    url=self.shown_url,
                    attempt=attempt + 1,
                    pause=pause,
                    error=exc.message,
                )
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- mapping series to targets --

    def _key(self, target: Target) -> str:
        if self.cfg.match_to == "resource_id":
            return target.resource_id
        return host_of(target.address) if target.address else ""

    def _label_key(self, value: str) -> str:
        return value if self.cfg.match_to == "resource_id" else host_of(value)

    def _group(self, series: list[Series], keys: set[str], unmatched: set[str]) -> dict[str, list[Series]]:
        """The series of each target key; label values of no target go to `unmatched`."""
        grouped: dict[str, list[Series]] = defaultdict(list)
        for s in series:
            value = s.labels.get(self.cfg.match_label, "")
            key = self._label_key(value)
            if key in keys:
                grouped[key].append(s)
            else:
                unmatched.add(value)
        return grouped

    def _read(
        self, queries: Queries, keys: set[str], fetch: Callable[[str], list[Series]], unmatched: set[str]
    ) -> Fields:
        """Run the four metric queries and combine them per target key and time."""
        fields: Fields = defaultdict(dict)
        for name, field, combine in [
            ("cpu", "cpu_pct", _mean_pct),
            ("mem", "mem_pct", _mean_pct),
            ("storage_total", "storage_total_gb", _storage_gb),
            ("storage_used", "storage_used_gb", _storage_gb),
        ]:
            for key, group in self._group(fetch(getattr(queries, name)), keys, unmatched).items():
                for ts, value in combine(group).items():
                    fields[(key, ts)][field] = value
        return fields

    # -- one cycle --

    def collect(self, targets: list[Target], now: datetime) -> CollectResult:
        """One cycle; gaps back-filled as raw samples within BACKFILL_BUDGET."""
        return self._run(targets, now, None)

    def collect_hourly(self, targets: list[Target], now: datetime, write: HourlyWrite) -> CollectResult:
        """One cycle; the whole hours of each gap handed to `write` as hourly roll-ups, a batch of targets at a
        time (bounded memory however long the gap and however many the targets), the rest as raw samples."""
        with _fewer_gc_passes():
            return self._run(targets, now, write)

    def _run(self, targets: list[Target], now: datetime, write: HourlyWrite | None) -> CollectResult:
        by_key: dict[str, list[Target]] = defaultdict(list)
        for t in targets:
            key = self._key(t)
            if key:
                by_key[key].append(t)
        keyed = [t for ts in by_key.values() for t in ts]
        if not keyed:
            return CollectResult()
        try:
            if not _LABEL_NAME.match(self.cfg.match_label):
                raise PrometheusError(
                    "config", f"collect.prometheus.match_label {self.cfg.match_label!r} is no label"
                )
            self._authenticate()
            result = self._collect(by_key, now, write)
        except PrometheusError as exc:
            log.warning("prometheus failed", url=self.shown_url, kind=exc.kind, error=exc.message)
            return CollectResult(
                statuses=[TargetStatus(t.resource_id, False, exc.kind, exc.message) for t in keyed]
            )
        return result

    def _collect(
        self, by_key: dict[str, list[Target]], now: datetime, write: HourlyWrite | None
    ) -> CollectResult:
        cfg, keys, unmatched = self.cfg, set(by_key), set[str]()
        at = math.floor(now.timestamp() * 1000) / 1000  # Prometheus keeps milliseconds; never after now
        queries = build_queries(cfg.match_label, cfg.job, self.window)
        fields = self._read(queries, keys, lambda q: self.instant(q, at), unmatched)
        up = {
            key: [v for s in group for _, v in s.points]
            for key, group in self._group(self.instant(queries.up, at), keys, unmatched).items()
        }
        if unmatched:
            log.info(
                "prometheus series without a target",
                count=len(unmatched),
                label=cfg.match_label,
                examples=sorted(unmatched)[:5],
            )

        answering = {key: key_targets for key, key_targets in by_key.items() if (key, at) in fields}
        if write is None:
            backfill, backfill_error, deferred = self._backfill(answering, now, at)
        else:
            backfill, backfill_error = self._backfill_hourly(answering, now, at, write)
            deferred = set()
        result = CollectResult()
        for key, key_targets in sorted(by_key.items()):
            values = fields.get((key, at))
            for target in key_targets:
                rid = target.resource_id
                if target.resource_id in backfill_error:
                    result.statuses.append(TargetStatus(rid, False, "http", backfill_error[rid]))
                    continue
                if not values:
                    result.statuses.append(TargetStatus(rid, False, "unreachable", self._missing(key, up)))
                    continue
                result.statuses.append(TargetStatus(rid, True))
                if rid in deferred:
                    continue  # answering, but its gap waits for a later cycle's back-fill budget
                result.samples.extend(backfill.get(rid, []))
                result.samples.append(Sample(rid, to_datetime(at), **values))
        return result

    def _missing(self, key: str, up: dict[str, list[float]]) -> str:
        cfg = self.cfg
        wanted = f"{cfg.match_label}={key}" + ("" if cfg.match_to == "resource_id" else "[:port]")
        where = f" in job {cfg.job!r}" if cfg.job else ""
        scrapes = up.get(key, [])
        if scrapes and max(scrapes) < 1:
            return f"{self.shown_url}: Prometheus scrapes {wanted}{where} but the scrape fails (up=0)"
        if scrapes:
            return f"{self.shown_url}: {wanted}{where} is scraped (up=1) but has no node_exporter metrics"
        return f"{self.shown_url}: no series with {wanted}{where}: the exporter is not scraped by Prometheus"

    def _failed(
        self, rids_keys: Iterable[tuple[str, str]], exc: PrometheusError, errors: dict[str, str]
    ) -> None:
        """Each target of a failed batch, named with its label value; the message names the URL."""
        for rid, key in rids_keys:
            errors[rid] = f"back-fill failed for {rid} ({self.cfg.match_label} {key}): {exc.message}"

    def _backfill(
        self, by_key: dict[str, list[Target]], now: datetime, at: float
    ) -> tuple[dict[str, list[Sample]], dict[str, str], set[str]]:
        """Samples of the gap since each stale target's newest sample, by range queries in batches of targets.

        Returns (resource id -> samples, resource id -> error, deferred resource ids).
        - Only targets that answer now are back-filled: one still down keeps its old newest sample, and
          its whole gap is read when it is back.
        - At most BACKFILL_BUDGET points per cycle, the longest-waiting targets first; the others are
          deferred: they keep no sample this cycle, so their gap (now included) is read in a later one.
        - A target whose back-fill failed is reported failed and keeps no sample either, so the next
          cycle tries the gap again (Prometheus still has it, up to its retention).
        """
        oldest = now - self.cfg.backfill_max
        step = self.step.total_seconds()
        gaps: list[tuple[float, str, str]] = []  # (read points after this time, resource id, key)
        for key, key_targets in by_key.items():
            for t in key_targets:
                last = from_store(t.last_sample_at)  # aware UTC, even if a store handed back a naive time
                if last is not None and now - last > BACKFILL_AFTER_STEPS * self.step:
                    gaps.append((max(last, oldest).timestamp(), t.resource_id, key))
        if not gaps:
            return {}, {}, set()
        gaps.sort()
        start = math.ceil(gaps[0][0] / step) * step  # whole steps: the same times whoever asks
        room = max(1, int(BACKFILL_BUDGET // max(1.0, (at - start) / step)))  # series per metric
        keys: set[str] = set()
        for _, _, key in gaps:
            if len(keys) < room:
                keys.add(key)
        deferred = {rid for _, rid, key in gaps if key not in keys}
        gaps = [g for g in gaps if g[2] in keys]
        samples, errors = self._read_raw(gaps, start, at)
        log.info(
            "prometheus back-fill",
            targets=len(gaps),
            failed=len(errors),
            deferred=len(deferred),
            samples=sum(len(v) for v in samples.values()),
            start=to_datetime(start).isoformat(),
        )
        return samples, errors, deferred

    def _read_raw(
        self, gaps: list[tuple[float, str, str]], start: float, end: float
    ) -> tuple[dict[str, list[Sample]], dict[str, str]]:
        """Samples at each step from `start` (a whole step) to before `end`, of each gap (after, resource id,
        key) the points after its `after`: range queries per metric, per batch of BATCH_KEYS keys and per
        MAX_POINTS steps. Returns (resource id -> samples, resource id -> error of its failed batch)."""
        step = self.step.total_seconds()
        of_key: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for after, rid, key in gaps:
            of_key[key].append((rid, after))
        samples: dict[str, list[Sample]] = defaultdict(list)
        errors: dict[str, str] = {}
        for batch in _batches(of_key, BATCH_KEYS):
            keys = set(batch)
            queries = build_queries(
                self.cfg.match_label, self.cfg.job, self.window, label_regex(keys, self.cfg.match_to)
            )
            fields: Fields = {}
            try:
                chunk = start
                while chunk < end:
                    chunk_end = min(end, chunk + (MAX_POINTS - 1) * step)
                    window = (chunk, chunk_end)
                    fields.update(self._read(queries, keys, lambda q, w=window: self.range(q, *w), set()))
                    chunk = chunk_end + step
            except PrometheusError as exc:
                log.warning(
                    "prometheus back-fill failed", url=self.shown_url, targets=len(batch), error=exc.message
                )
                self._failed(((rid, key) for key in batch for rid, _ in of_key[key]), exc, errors)
                continue
            for (key, ts), values in sorted(fields.items()):
                if ts >= end:
                    continue  # the instant query's sample stands for now
                when = to_datetime(ts)
                for rid, after in of_key[key]:
                    if ts > after:
                        samples[rid].append(Sample(rid, when, **values))
        return samples, errors

    def _backfill_hourly(
        self, by_key: dict[str, list[Target]], now: datetime, at: float, write: HourlyWrite
    ) -> tuple[dict[str, list[Sample]], dict[str, str]]:
        """The gap of each stale (or new) answering target: its whole hours to `write`, the partial hours at its
        ends as raw samples. Returns (resource id -> raw samples, resource id -> error)."""
        oldest = now - self.cfg.backfill_max
        current_hour = math.floor(at / HOUR_S) * HOUR_S  # rolled up from raw as it goes (the instant samples)
        first_whole = math.ceil(oldest.timestamp() / HOUR_S) * HOUR_S
        raw_gaps: dict[float, list[tuple[float, str, str]]] = defaultdict(list)  # end -> (after, rid, key)
        hourly: dict[float, list[tuple[str, str]]] = defaultdict(list)  # first hour -> (rid, key)
        for key, key_targets in by_key.items():
            for t in key_targets:
                rid, last = t.resource_id, from_store(t.last_sample_at)
                if last is not None and now - last <= BACKFILL_AFTER_STEPS * self.step:
                    continue
                if last is None or last < oldest:  # new here (or away longer than backfill_max): history
                    hourly[first_whole].append((rid, key))
                    raw_gaps[at].append((current_hour - 0.001, rid, key))
                    continue
                after = last.timestamp()
                head_end = math.floor(after / HOUR_S) * HOUR_S + HOUR_S  # the hour of `last` has raw samples
                if head_end >= current_hour:
                    raw_gaps[at].append((after, rid, key))
                    continue
                raw_gaps[head_end].append((after, rid, key))
                hourly[head_end].append((rid, key))
                raw_gaps[at].append((current_hour - 0.001, rid, key))
        if not raw_gaps:
            return {}, {}
        step = self.step.total_seconds()
        samples: dict[str, list[Sample]] = defaultdict(list)
        errors: dict[str, str] = {}
        written = 0
        for first, members in sorted(hourly.items()):
            written += self._read_hourly(members, first, current_hour, write, errors)
        for end, gaps in sorted(raw_gaps.items()):
            start = math.ceil(min(g[0] for g in gaps) / step) * step
            got, failed = self._read_raw(gaps, start, end)
            for rid, more in got.items():
                samples[rid].extend(more)
            errors.update(failed)
        for rid_samples in samples.values():
            rid_samples.sort(key=lambda s: s.at)
        log.info(
            "prometheus back-fill",
            targets=len({rid for gaps in raw_gaps.values() for _, rid, _ in gaps}),
            failed=len(errors),
            hourly_rows=written,
            samples=sum(len(v) for v in samples.values()),
        )
        return samples, errors

    def _read_hourly(
        self,
        members: list[tuple[str, str]],
        first: float,
        end: float,
        write: HourlyWrite,
        errors: dict[str, str],
    ) -> int:
        """The hours [first, end) of these (resource id, key) as hourly rows, a batch of keys at a time to
        `write`; a failed batch's targets go to `errors`. Returns the rows written."""
        if first >= end:
            return 0
        of_key: dict[str, list[str]] = defaultdict(list)
        for rid, key in members:
            of_key[key].append(rid)
        lock = threading.Lock()

        def write_one_at_a_time(rows: list[HourlyRow]) -> None:
            with lock:
                write(rows)

        # Two batches in flight: one is rolled up here while Prometheus answers the other's queries.
        with (
            ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="prometheus") as pool,
            ThreadPoolExecutor(2, thread_name_prefix="prometheus-batch") as batches,
        ):
            done = [
                batches.submit(
                    self._read_hourly_batch, batch, of_key, first, end, write_one_at_a_time, errors, pool
                )
                for batch in _batches(of_key, BATCH_KEYS)
            ]
            return sum(f.result() for f in done)

    def _read_hourly_batch(
        self,
        batch: list[str],
        of_key: dict[str, list[str]],
        first: float,
        end: float,
        write: HourlyWrite,
        errors: dict[str, str],
        pool: ThreadPoolExecutor,
    ) -> int:
        """One batch of keys: its hours as rows to `write` (returns how many), or its targets to `errors`.

        The samples are read at `step`, as the raw back-fill reads them, a few hours at a time (at most
        POINTS_PER_ANSWER points an answer), the four metrics' queries side by side (Prometheus evaluates each
        query on one core), and each chunk's hours are rolled up here as utilization rolls raw samples up.
        """
        step = self.step.total_seconds()
        keys = set(batch)
        queries = build_queries(
            self.cfg.match_label, self.cfg.job, self.window, label_regex(keys, self.cfg.match_to)
        )
        storage = build_storage_hourly(queries, self.cfg.match_label, self.step)
        lead = HOUR_S - step  # an hour's storage columns are evaluated at its start + 1h - step
        per_hour = math.ceil(HOUR_S / step)
        hours_per_chunk = max(
            1, min(POINTS_PER_ANSWER // (len(batch) * per_hour), (MAX_POINTS - 1) // per_hour)
        )
        written = 0
        chunk = first
        try:
            while chunk < end:
                chunk_end = min(end, chunk + hours_per_chunk * HOUR_S)
                start, stop = math.ceil(chunk / step) * step, (math.ceil(chunk_end / step) - 1) * step
                # CPU and memory as samples (their mean, max and p95 from one answer each); storage's three
                # columns computed by Prometheus, one point an hour.
                asked = [
                    ("cpu", pool.submit(self.range, queries.cpu, start, stop)),
                    ("mem", pool.submit(self.range, queries.mem, start, stop)),
                ] + [
                    (name, pool.submit(self.range, query, chunk + lead, chunk_end - HOUR_S + lead, HOUR_S))
                    for name, query in storage.items()
                ]
                hours: dict[tuple[str, float], _Hour] = defaultdict(_Hour)
                try:
                    for name, answer in asked:
                        for key, group in self._group(answer.result(), keys, set()).items():
                            if name in ("cpu", "mem"):
                                _fold(hours, key, group, step, name == "cpu")
                                continue
                            for s in group:  # several series of one target (two exporters): the larger
                                for ts, value in s.points:
                                    h = hours[(key, ts - lead)]
                                    if name == "storage_used_gb":
                                        h.used = value if h.used is None else max(h.used, value)
                                    elif name == "storage_total_gb":
                                        h.total = value if h.total is None else max(h.total, value)
                                    else:
                                        h.storage_seen = max(h.storage_seen, min(int(value), per_hour))
                finally:
                    for _, answer in asked:
                        answer.cancel()
                when = {hour: to_datetime(hour) for _, hour in hours}  # one datetime an hour, not a row
                rows = [
                    HourlyRow(
                        rid,
                        when[hour],
                        max(h.seen.bit_count(), h.storage_seen),  # times with any metric (as one scrape)
                        *_pct_stats(h.cpu),
                        *_pct_stats(h.mem),
                        h.used,
                        h.total,
                    )
                    for (key, hour), h in sorted(hours.items())
                    if chunk <= hour < chunk_end
                    for rid in of_key[key]
                ]
                if rows:
                    write(rows)
                    written += len(rows)
                chunk = chunk_end
        except PrometheusError as exc:
            log.warning(
                "prometheus hourly back-fill failed",
                url=self.shown_url,
                targets=len(batch),
                error=exc.message,
            )
            self._failed(((rid, key) for key in batch for rid in of_key[key]), exc, errors)
        return written

    def close(self) -> None:
        self.session.close()


@source("prometheus")
def build(config: Config) -> PrometheusCollector | None:
    cfg = config.collect.prometheus
    if not cfg.enabled:
        return None
    ca_file = config.resolve(cfg.ca_file) if cfg.ca_file is not None else None
    return PrometheusCollector(cfg, config.config_dir, ca_file)
