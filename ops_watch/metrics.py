"""ops-watch's state as Prometheus metrics (docs/metrics.md): read from the store on each scrape, so the
console's /metrics and the daemon's own listener say the same, whichever process serves them.

Names follow Prometheus conventions: the `ops_watch_` prefix, base units (seconds, bytes, ratios 0–1),
`_total` for counters, `_timestamp_seconds` for Unix times. Labels are bounded: areas, severities,
statuses, jobs, evidence kinds, sources, receivers — never a finding, a person or a resource.

Counting is cheap (indexed GROUP BYs). The contract figures (staffing rate, score, budget, reclaimable
resources) read weeks to a year of evidence: they are computed by the same functions as the CLI, once, and
shared until new evidence arrives (store/shared.py), so a scrape never waits for them after the first."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import case, func, select

from ops_watch import __version__
from ops_watch.areas.evidence.checks import FreshnessParams, latest_evidence_time
from ops_watch.areas.money.budget.model import budget_status
from ops_watch.areas.money.score.model import contractor_score
from ops_watch.areas.resources.utilization import reclaim_list, reclaim_totals
from ops_watch.areas.staffing.presence import build_view, rates, staffing_terms
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import from_store, utcnow
from ops_watch.findings.engine import ACTIVE
from ops_watch.findings.rectification import due_before, rectification_terms
from ops_watch.findings.registry import CheckContext
from ops_watch.jobs import JOBS
from ops_watch.runtime import Runtime
from ops_watch.store.cluster import cluster_view
from ops_watch.store.job_runs import job_runs
from ops_watch.store.schema import CollectionStatus, EvidenceBatch, Finding, OutboxMessage
from ops_watch.store.shared import ViewCache

log = get_logger(__name__)
GIB = 1024**3
UNSENT = ("pending", "sending")


def _ts(value: datetime | None) -> float | None:
    at = from_store(value)
    return at.timestamp() if at is not None else None


def _findings(rt: Runtime, now: datetime) -> Iterator[Metric]:
    by = GaugeMetricFamily(
        "ops_watch_findings", "Findings by area, severity and status.", labels=["area", "severity", "status"]
    )
    overdue = GaugeMetricFamily(
        "ops_watch_findings_overdue",
        "Active findings past their rectification deadline (contract [rectification]), silenced ones left out.",
        labels=["area"],
    )
    terms = rectification_terms(rt.rules.contract)
    with rt.store.session() as s:
        for area, severity, status, n in s.execute(
            select(Finding.area, Finding.severity, Finding.status, func.count()).group_by(
                Finding.area, Finding.severity, Finding.status
            )
        ):
            by.add_metric([area or "", severity, status], n)
        late = dict(
            s.execute(
                select(Finding.area, func.count())
                .where(
                    Finding.status.in_([x for x in ACTIVE if x != "silenced"]),
                    due_before(now, terms),
                )
                .group_by(Finding.area)
            ).all()
        )
    for area in sorted(
        set(late) | {"resources", "staffing", "continuity", "money", "governance", "evidence"}
    ):
        overdue.add_metric([area or ""], late.get(area, 0))
    yield by
    yield overdue


def job_interval(rt: Runtime, name: str, now: datetime) -> float | None:
    """Seconds between two runs of the job as scheduled ([schedule]): its `every`, or the gap between a cron
    entry's next two times (a weekly report: a week). None: not scheduled."""
    entry = getattr(rt.config.schedule, name, None)
    if entry is None or not entry.enabled:
        return None
    if entry.every is not None:
        return float(entry.every.total_seconds())
    trigger = CronTrigger.from_crontab(entry.cron, timezone=rt.config.site.zone)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    return (second - first).total_seconds() if first and second else None


def _jobs(rt: Runtime, now: datetime) -> Iterator[Metric]:
    runs = job_runs(rt.store)
    interval = GaugeMetricFamily(
        "ops_watch_job_interval_seconds",
        "Seconds between two scheduled runs of the job ([schedule]).",
        labels=["job"],
    )
    last_run = GaugeMetricFamily(
        "ops_watch_job_last_run_timestamp_seconds", "When the job's last run ended.", labels=["job"]
    )
    last_ok = GaugeMetricFamily(
        "ops_watch_job_last_success_timestamp_seconds",
        "When the job last ended without an error.",
        labels=["job"],
    )
    duration = GaugeMetricFamily(
        "ops_watch_job_duration_seconds", "How long the job's last run took.", labels=["job"]
    )
    up = GaugeMetricFamily(
        "ops_watch_job_succeeded", "1 if the job's last run succeeded, else 0.", labels=["job"]
    )
    total = CounterMetricFamily(
        "ops_watch_job_runs", "Runs of the job since the store began.", labels=["job"]
    )
    failed = CounterMetricFamily(
        "ops_watch_job_failures", "Failed runs of the job since the store began.", labels=["job"]
    )
    for name in sorted(set(JOBS) | set(runs)):
        every = job_interval(rt, name, now)
        if every is not None:
            interval.add_metric([name], every)
        run = runs.get(name)
        total.add_metric([name], run.runs if run else 0)
        failed.add_metric([name], run.failures if run else 0)
        if run is None:
            continue
        if run.last_end is not None:
            last_run.add_metric([name], run.last_end.timestamp())
        if run.last_success is not None:
            last_ok.add_metric([name], run.last_success.timestamp())
        if run.duration_seconds is not None:
            duration.add_metric([name], run.duration_seconds)
        if run.last_ok is not None:
            up.add_metric([name], 1 if run.last_ok else 0)
    yield from (interval, last_run, last_ok, duration, up, total, failed)


def _outbox(rt: Runtime, now: datetime) -> Iterator[Metric]:
    messages = GaugeMetricFamily(
        "ops_watch_outbox_messages",
        "Outbox messages by status (pending, sending, sent, dead) and receiver.",
        labels=["status", "receiver"],
    )
    oldest = GaugeMetricFamily(
        "ops_watch_outbox_oldest_unsent_age_seconds", "Age of the oldest message not yet sent (0: none)."
    )
    with rt.store.session() as s:
        for status, receiver, n in s.execute(
            select(OutboxMessage.status, OutboxMessage.receiver, func.count()).group_by(
                OutboxMessage.status, OutboxMessage.receiver
            )
        ):
            messages.add_metric([status, receiver or ""], n)
        first = _ts(
            s.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status.in_(UNSENT)))
        )
    oldest.add_metric([], max(0.0, now.timestamp() - first) if first is not None else 0.0)
    yield messages
    yield oldest


def _cluster(rt: Runtime, now: datetime) -> Iterator[Metric]:
    """The instances of `ops-watch run` on this store (store/cluster.py): who leads, and each one's heartbeat."""
    view = cluster_view(rt.store)
    leader = GaugeMetricFamily(
        "ops_watch_cluster_leader",
        "1 for the instance the store names as leader (its heartbeat says whether it still lives).",
        labels=["instance", "node"],
    )
    epoch = GaugeMetricFamily("ops_watch_cluster_leader_epoch", "Leaderships so far: +1 at each takeover.")
    beat = GaugeMetricFamily(
        "ops_watch_cluster_heartbeat_timestamp_seconds",
        "Each instance's last heartbeat, by its role (leader, standby; stopped ones left out).",
        labels=["instance", "node", "role"],
    )
    nodes = {i.instance: i.node for i in view.instances}
    if view.leader:
        leader.add_metric([view.leader, nodes.get(view.leader, "")], 1)
    epoch.add_metric([], view.epoch)
    for i in view.instances:
        if i.role != "stopped":
            beat.add_metric([i.instance, i.node, i.role], i.heartbeat_at.timestamp())
    yield from (leader, epoch, beat)


def _evidence(rt: Runtime, now: datetime) -> Iterator[Metric]:
    newest = GaugeMetricFamily(
        "ops_watch_evidence_newest_timestamp_seconds",
        "When the newest evidence of the kind was produced (as the evidence_freshness check judges it).",
        labels=["kind"],
    )
    limit = GaugeMetricFamily(
        "ops_watch_evidence_max_age_seconds",
        "The freshness rule's limit for the kind (rules/: evidence_freshness max_age).",
        labels=["kind"],
    )
    files = CounterMetricFamily(
        "ops_watch_evidence_files_refused", "Evidence files refused whole, by kind.", labels=["kind"]
    )
    rows = CounterMetricFamily(
        "ops_watch_evidence_rows_refused", "Evidence rows refused, by kind.", labels=["kind"]
    )
    limits: dict[str, timedelta] = {}
    for rule in rt.rules.enabled:
        if rule.check.name == "evidence_freshness" and isinstance(rule.params, FreshnessParams):
            kind = rule.params.kind
            limits[kind] = min(rule.params.max_age, limits.get(kind, rule.params.max_age))
    with rt.store.session() as s:
        refused = {
            kind: (rejected or 0, bad or 0)
            for kind, rejected, bad in s.execute(
                select(
                    EvidenceBatch.kind,
                    func.sum(case((EvidenceBatch.status == "rejected", 1), else_=0)),
                    func.sum(EvidenceBatch.rows_bad),
                ).group_by(EvidenceBatch.kind)
            )
        }
        ctx = CheckContext(
            session=s, at=now, zone=rt.config.site.zone, contract=rt.rules.contract, language="en"
        )
        for kind in sorted(set(limits) | set(refused)):
            at = _ts(latest_evidence_time(ctx, kind))
            if at is not None:
                newest.add_metric([kind], at)
            if kind in limits:
                limit.add_metric([kind], limits[kind].total_seconds())
            files.add_metric([kind], refused.get(kind, (0, 0))[0])
            rows.add_metric([kind], refused.get(kind, (0, 0))[1])
    yield from (newest, limit, files, rows)


def _collection(rt: Runtime, now: datetime) -> Iterator[Metric]:
    targets = GaugeMetricFamily(
        "ops_watch_collection_targets",
        "Collection targets by source (ssh, prometheus, local, door devices…) and state (ok, failed, never).",
        labels=["source", "state"],
    )
    success = GaugeMetricFamily(
        "ops_watch_collection_last_success_timestamp_seconds",
        "The newest successful collection of any target of the source.",
        labels=["source"],
    )
    rounds = GaugeMetricFamily(
        "ops_watch_collection_round_duration_seconds",
        "How long the source's last collection round took (every target of it: SSH hosts, Prometheus queries).",
        labels=["source"],
    )
    counts: dict[tuple[str, str], int] = {}
    newest: dict[str, float] = {}
    with rt.store.session() as s:
        last = (
            select(func.max(EvidenceBatch.id))
            .where(EvidenceBatch.kind == "utilization")
            .group_by(EvidenceBatch.source)
        )
        for source, detail in s.execute(
            select(EvidenceBatch.source, EvidenceBatch.detail).where(EvidenceBatch.id.in_(last))
        ):
            try:
                took = json.loads(detail or "{}").get("round_seconds")
            except (ValueError, AttributeError):
                took = None
            if isinstance(took, int | float):
                rounds.add_metric([source], float(took))
        for row in s.scalars(select(CollectionStatus)):
            state = "never" if row.last_success is None else ("failed" if row.consecutive_failures else "ok")
            counts[(row.source, state)] = counts.get((row.source, state), 0) + 1
            ok = _ts(row.last_success)
            if ok is not None:
                newest[row.source] = max(ok, newest.get(row.source, 0.0))
    for source in sorted({k[0] for k in counts}):
        for state in ("ok", "failed", "never"):
            targets.add_metric([source, state], counts.get((source, state), 0))
    for source, at in sorted(newest.items()):
        success.add_metric([source], at)
    yield targets
    yield success
    yield rounds


def contract_figures(rt: Runtime, now: datetime) -> dict[str, Any]:
    """The figures of the contract as the CLI computes them: staffing rate this week and month (ended
    shifts), the contractor's running score and band, the budget's execution and forecast rate this year,
    and what can be reclaimed (`resources idle` totals)."""
    contract = rt.rules.contract
    zone = rt.config.site.zone
    today = now.astimezone(zone).date()
    written = rt.rules.written if rt.rules.written is not None else frozenset(contract)
    out: dict[str, Any] = {}
    with rt.store.session() as s:
        if staffing_terms(contract).shifts:
            monday = today - timedelta(days=today.weekday())
            for period, first in (("week", monday), ("month", today.replace(day=1))):
                view = build_view(s, contract, zone, now, first, today)
                total = rates(view, "all")
                out[f"staffing_{period}"] = total[0].rate if total and total[0].rate is not None else None
        if "score" in written:
            score = contractor_score(s, contract, zone, now, "zh")
            out["score"] = score.score
            out["band"] = score.band
        if "budget" in written:
            budget = budget_status(s, contract, today.year, today)
            out["budget_execution"] = budget.execution_rate
            out["budget_forecast"] = budget.forecast_rate
        out["reclaim"] = reclaim_totals(reclaim_list(s, now))
    return out


def _percent_ratio(value: Any) -> float | None:
    """A percent (Decimal 0–100, as the money modules give it) as a ratio."""
    return None if value is None else float(Decimal(value) / 100)


def _contract(rt: Runtime, now: datetime, shared: ViewCache) -> Iterator[Metric]:
    figures = shared.get(("metrics", "contract"), lambda: contract_figures(rt, now))
    staffing = GaugeMetricFamily(
        "ops_watch_staffing_rate_ratio",
        "Staffing rate (人员到位率) of the shifts ended so far this week or month, 0–1.",
        labels=["period"],
    )
    for period in ("week", "month"):
        value = figures.get(f"staffing_{period}")
        if value is not None:
            staffing.add_metric([period], float(value))
    yield staffing
    score = GaugeMetricFamily(
        "ops_watch_contractor_score", "The contractor's running score (0–100 points, contract [score])."
    )
    band = GaugeMetricFamily("ops_watch_contractor_score_band", "1 for the score's band.", labels=["band"])
    if figures.get("score") is not None:
        score.add_metric([], float(figures["score"]))
        band.add_metric([figures.get("band") or ""], 1)
    yield score
    yield band
    budget = GaugeMetricFamily(
        "ops_watch_budget_rate_ratio",
        "This year's budget: paid ÷ final budget so far (execution) and at the year's end (forecast), 0–1.",
        labels=["kind"],
    )
    for kind, key in (("execution", "budget_execution"), ("forecast", "budget_forecast")):
        ratio = _percent_ratio(figures.get(key))
        if ratio is not None:
            budget.add_metric([kind], ratio)
    yield budget
    reclaim = figures.get("reclaim") or {}
    vcpu = GaugeMetricFamily("ops_watch_reclaimable_vcpus", "vCPUs that can be reclaimed (resources idle).")
    vcpu.add_metric([], float(reclaim.get("reclaim_vcpu") or 0))
    memory = GaugeMetricFamily("ops_watch_reclaimable_memory_bytes", "Memory that can be reclaimed.")
    memory.add_metric([], float(reclaim.get("reclaim_memory_gb") or 0) * GIB)
    storage = GaugeMetricFamily("ops_watch_reclaimable_storage_bytes", "Storage that can be reclaimed.")
    storage.add_metric([], float(reclaim.get("reclaim_storage_gb") or 0) * GIB)
    cost = GaugeMetricFamily(
        "ops_watch_reclaimable_monthly_cost",
        "Monthly cost of what can be reclaimed, in the contract's currency: saving (unit prices), notional "
        "(fixed-fee platforms), to_verify (stale resources).",
        labels=["basis", "currency"],
    )
    currency = str(reclaim.get("currency") or "CNY")
    for basis, key in (
        ("saving", "monthly_saving"),
        ("notional", "notional_monthly"),
        ("to_verify", "to_verify_monthly"),
    ):
        cost.add_metric([basis, currency], float(reclaim.get(key) or 0))
    yield from (vcpu, memory, storage, cost)


class StoreCollector(Collector):
    """Everything above, on each scrape; a part that fails is left out (and logged), the rest still served."""

    def __init__(self, runtime: Callable[[], Runtime], shared: Callable[[Runtime], ViewCache]) -> None:
        self.runtime = runtime  # the current one: the daemon's changes on a reload
        self.shared = shared

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        info = GaugeMetricFamily("ops_watch_info", "ops-watch's version.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        rt = self.runtime()
        shared = self.shared(rt)
        parts = (
            ("findings", lambda: _findings(rt, now)),
            ("jobs", lambda: _jobs(rt, now)),
            ("outbox", lambda: _outbox(rt, now)),
            ("cluster", lambda: _cluster(rt, now)),
            ("evidence", lambda: _evidence(rt, now)),
            ("collection", lambda: _collection(rt, now)),
            ("contract", lambda: _contract(rt, now, shared)),
        )
        failed = GaugeMetricFamily(
            "ops_watch_metrics_part_failed",
            "1 when a part of this scrape could not be read.",
            labels=["part"],
        )
        for name, part in parts:
            try:
                families = list(part())
            except Exception as exc:  # a locked or unreachable store: say so, serve the rest
                log.warning("a part of /metrics could not be read", part=name, error=str(exc))
                failed.add_metric([name], 1)
                continue
            failed.add_metric([name], 0)
            yield from families
        yield failed


def registry(runtime: Callable[[], Runtime], shared: ViewCache | None = None) -> CollectorRegistry:
    """A registry of ops-watch's metrics only (not the client library's process defaults, which would
    describe whichever process serves them). `runtime` gives the current runtime; `shared`: the console's
    cache of derived figures (the daemon's listener keeps one per store)."""
    caches: dict[int, ViewCache] = {}

    def cache_for(rt: Runtime) -> ViewCache:
        if shared is not None:
            return shared
        if id(rt.store) not in caches:  # a reload may open another store
            caches.clear()
            caches[id(rt.store)] = ViewCache(rt.store)
        return caches[id(rt.store)]

    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(runtime, cache_for))
    return reg


def serve(runtime: Callable[[], Runtime], listen: str) -> Any:
    """The daemon's own /metrics listener on `listen` (host:port), in a thread; the server (shutdown() stops
    it). For a site that runs no console: the console serves /metrics on its own listener."""
    from prometheus_client import start_http_server  # start-up: only when [metrics] listen is set

    host, _, port = listen.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host.strip("[]"), registry=registry(runtime))
    return server


__all__ = ["StoreCollector", "contract_figures", "registry", "serve"]
