"""Prometheus: node_exporter metrics read through the Prometheus HTTP API (or a compatible one).

This is the path for sites with thousands of hosts: a Prometheus already scrapes them, and one cycle here
is five instant queries (`/api/v1/query`) whatever the number of hosts. A target whose newest stored
sample is older than two steps is back-filled from Prometheus's history with range queries
(`/api/v1/query_range`), per metric and per batch of at most BATCH_KEYS label values, so neither a request
nor an answer grows with the site. docs/sources.md has the queries and the reasons for them.

Two ways to back-fill:
- `collect(targets, now)`: raw samples at `step`, within a budget of points per cycle (as before);
- `collect_hourly(targets, now, write)` (what collect_cycle uses): the whole hours of a gap are read as hourly
  roll-ups computed by Prometheus (range queries at step 1h over subqueries at `step`: the same samples, the
  same mean / max / p95 / last as ops_watch.areas.resources.utilization computes from raw) and handed to
  `write` a batch at a time, never as raw samples: 14 days of 10,000 hosts is 3.4 M hourly rows instead of
  40 M samples. Only the partial hours at both ends of a gap are read raw, so every hour is either rolled up
  from raw samples or stored directly, never both: the roll-up watermark never sees the direct hours.
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

import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
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
# series per metric, 336 hourly points each for 14 days) whatever the number of targets.
BATCH_KEYS = 250
RETRIES = 3  # further attempts of a range query after a transient failure
BACKOFF = 1.0  # seconds before the first retry, doubled for each next one
HOUR_S = 3600
# Hourly roll-up columns (utilization_hourly's, in its order after resource_id and hour).
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


def build_hourly_queries(
    match_label: str, job: str, window: timedelta, step: timedelta, only: str = ""
) -> dict[str, str]:
    """Per HOURLY_FIELDS, a query giving that roll-up column of each hour, by match label.

    Asked as a range query at step 1h, each evaluated at the hour's start + 1h - `step`: the subquery
    `[1h - 1ms:step]` then holds the points at the hour's start, + step, ... (subquery points are aligned to
    multiples of step, as the raw back-fill's), i.e. exactly the samples the raw back-fill would store for the
    hour. Each point is clamped and rounded as a raw sample is (_clamp_pct, _storage_gb), so the hour's mean,
    max and p95 (quantile_over_time interpolates linearly, as utilization.linear_percentile) are the roll-up's.
    """
    q = build_queries(match_label, job, window, only)
    by, res = match_label, _seconds(step)
    sub = f"[{HOUR_S * 1000 - 1}ms:{res}]"
    cpu = f"round(clamp({q.cpu}, 0, 100), 0.01)"
    mem = f"round(clamp({q.mem}, 0, 100), 0.01)"
    used = f"round(sum by ({by}) ({q.storage_used}) / {GB}, 0.001)"
    total = f"round(sum by ({by}) ({q.storage_total}) / {GB}, 0.001)"
    return {
        # A sample is a time with any metric (as the raw back-fill stores one): cpu, else memory, else storage.
        "samples": f"count_over_time(({cpu} or {mem} or {used} or {total}){sub})",
        "cpu_mean": f"avg_over_time(({cpu}){sub})",
        "cpu_max": f"max_over_time(({cpu}){sub})",
        "cpu_p95": f"quantile_over_time(0.95, ({cpu}){sub})",
        "mem_mean": f"avg_over_time(({mem}){sub})",
        "mem_max": f"max_over_time(({mem}){sub})",
        "mem_p95": f"quantile_over_time(0.95, ({mem}){sub})",
        "storage_used_gb": f"max_over_time(({used}){sub})",
        "storage_total_gb": f"last_over_time(({total}){sub})",
    }


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
            points = [(float(ts), float(value)) for ts, value in raw]
        except (TypeError, ValueError):
            raise PrometheusError("parse", f"bad point in {raw[:3]!r}") from None
        points = [p for p in points if math.isfinite(p[1])]  # "NaN", "+Inf", "-Inf"
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
        try:
            payload = resp.json()
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
                log.info("prometheus retry", url=self.shown_url, attempt=attempt + 1, pause=pause, error=exc.message)
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
            result = self._collect(by_key, now)
        except PrometheusError as exc:
            log.warning("prometheus failed", url=self.shown_url, kind=exc.kind, error=exc.message)
            return CollectResult(
                statuses=[TargetStatus(t.resource_id, False, exc.kind, exc.message) for t in keyed]
            )
        return result

    def _collect(self, by_key: dict[str, list[Target]], now: datetime) -> CollectResult:
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
        backfill, backfill_error, deferred = self._backfill(answering, now, at)
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

    def _backfill(
        self, by_key: dict[str, list[Target]], now: datetime, at: float
    ) -> tuple[dict[str, list[Sample]], dict[str, str], set[str]]:
        """Samples of the gap since each stale target's newest sample: range queries for all of them at once.

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
        queries = build_queries(
            self.cfg.match_label, self.cfg.job, self.window, label_regex(keys, self.cfg.match_to)
        )
        fields: Fields = {}
        try:
            chunk = start
            while chunk < at:
                chunk_end = min(at, chunk + (MAX_POINTS - 1) * step)
                window = (chunk, chunk_end)
                fields.update(self._read(queries, keys, lambda q, w=window: self.range(q, *w), set()))
                chunk = chunk_end + step
        except PrometheusError as exc:
            log.warning(
                "prometheus back-fill failed", url=self.shown_url, targets=len(gaps), error=exc.message
            )
            return {}, {rid: f"back-fill failed: {exc.message}" for _, rid, _ in gaps}, deferred
        by_gap_key: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for after, rid, key in gaps:
            by_gap_key[key].append((rid, after))
        samples: dict[str, list[Sample]] = defaultdict(list)
        for (key, ts), values in sorted(fields.items()):
            if ts >= at:
                continue  # the instant query's sample stands for now
            when = to_datetime(ts)
            for rid, after in by_gap_key.get(key, ()):
                if ts > after:
                    samples[rid].append(Sample(rid, when, **values))
        log.info(
            "prometheus back-fill",
            targets=len(gaps),
            deferred=len(deferred),
            samples=sum(len(v) for v in samples.values()),
            start=to_datetime(start).isoformat(),
        )
        return samples, {}, deferred

    def close(self) -> None:
        self.session.close()


@source("prometheus")
def build(config: Config) -> PrometheusCollector | None:
    cfg = config.collect.prometheus
    if not cfg.enabled:
        return None
    ca_file = config.resolve(cfg.ca_file) if cfg.ca_file is not None else None
    return PrometheusCollector(cfg, config.config_dir, ca_file)
