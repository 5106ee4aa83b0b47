"""Resource checks (R1, R2): idle and oversized CPU, idle storage, low platform utilization, silent resources.

The windowed checks (idle_cpu, oversized_cpu, idle_storage, platform_utilization) judge each complete site
day of their scope (ops_watch/areas/resources/daily.py): the verdict of day d is over the `lookback` whole days
ending with d, read from the hourly roll-ups (`utilization_hourly`, see utilization.py) summed per site day.
The scope is the calendar month of the last complete day; consecutive days with the same verdict are one
episode, one finding whose period starts with the episode's first day (period_end None: the evidence says how
far it went and whether it is `ongoing`). An episode that ended (idle for two weeks, then busy) stays a finding
about its period, so the month judged once gives the findings the month replayed day by day gives; the reclaim
list only lists the ongoing ones. A resource is judged on a day only if the inventory says it was allocated
that day and its inventory row had arrived by the check's time (`ctx.arrived`).

Every windowed statistic follows the resource's own sampling interval (sampling.py): stated by the inventory
(采样间隔) or inferred from its samples. A resource is judged only with enough data: `min_coverage` of the samples
expected at that interval over the window. One with too little data is not idle, it is unmeasured;
`stale_resource` names those that went silent. The evidence says which interval was used and how it was known.

How the thresholds were chosen (docs/resources.md has the long version):
- Azure Advisor recommends shutting a VM down when its P95 CPU stayed under 3 % for 7 days.
- AWS Trusted Advisor calls an instance low-utilization when daily CPU was ≤ 10 % on 4 of 14 days.
- Google's idle-VM recommender: under 0.03 vCPU used for 97 % of 14 days.
Our defaults: 14 days (as AWS and Google: a weekly job is seen twice), the p95 over the window's hours of
the hourly CPU p95 at or below 3 % (Azure's figure, applied to an upper estimate of the raw p95), AND no day
whose busiest hour averaged over 10 % (AWS's figure, applied to every day as a ceiling instead of to 4 days
as an average). The second condition is what keeps a VM running a nightly batch in use: two busy hours a
day are under 5 % of the hours and would pass a p95 test alone. Google's absolute 0.03 vCPU is stricter
than the operating system's own background load on a large VM, so a percentage is used. The p95 tests are
exact counts: the nearest-rank p95 is at or below a line when at most `above_allowed(n)` values exceed it.

Every finding's evidence carries resource_id, platform, tenant_unit, type, window_days, coverage, the
sampling it judged by (sample_interval, sample_interval_source, samples_present, samples_expected), the
figures that decided it, first_day, last_day, ongoing, reclaim_vcpu, reclaim_memory_gb, reclaim_storage_gb,
recommended_vcpu, monthly_cost (CNY at the contract's prices, None without prices), currency, cost_basis and
action: the reclaim list (`ops-watch resources idle`) and the weekly report read them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select

from ops_watch.areas.money import pricing
from ops_watch.areas.resources.daily import COLUMN, DAY, METRICS, Scope, daily, runs, scope_of
from ops_watch.areas.resources.sampling import Sampling, interval_text, sampling_of
from ops_watch.areas.resources.utilization import (
    HOUR,
    Resource,
    Window,
    above_allowed,
    empty_group,
    hour_number,
    hour_start,
    hourly_rows,
    last_sample_hours,
    percent_of,
    resources_between,
    window_p95,
)
from ops_watch.config import Duration
from ops_watch.core.timeutil import format_local, from_store
from ops_watch.findings.registry import CheckContext, FindingDraft, Params, check
from ops_watch.store.schema import InventoryResource, UtilizationHourly, UtilizationSample

_H = UtilizationHourly.__table__.c
ComputeType = Literal["vm", "host"]
AnyType = Literal["vm", "host", "volume"]
DEFAULT_SIZES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128)


# --- shared ----------------------------------------------------------------------------------------------


class WindowParams(Params):
    lookback: Duration = timedelta(days=14)
    # Samples present ÷ samples expected at the resource's own interval, needed before a resource is judged
    # (below: unmeasured, not idle).
    min_coverage: float = Field(default=0.8, gt=0, le=1)

    @field_validator("lookback")
    @classmethod
    def _at_least_a_day(cls, v: timedelta) -> timedelta:
        if v < timedelta(days=1):
            raise ValueError("lookback must be at least 1d")
        return v


def _judged(
    ctx: CheckContext, params: WindowParams, types: Sequence[str]
) -> tuple[Scope, dict[str, Resource]]:
    """The scope of this evaluation (set as ctx.scope_start) and the resources allocated on one of its days
    whose inventory had arrived by ctx.at."""
    scope = scope_of(ctx.at, ctx.zone, params.lookback)
    ctx.scope_start = scope.start
    resources = resources_between(
        ctx.session, scope.days[0], scope.days[-1], types, ctx.arrived(InventoryResource)
    )
    return scope, resources


@dataclass(frozen=True)
class Verdict:
    """One day judged: the span's days [lo, hi) its window covers (offsets from the span's first day)."""

    day: date
    lo: int
    hi: int
    window: Window

    @property
    def seconds(self) -> float:
        return (self.window.end - self.window.start).total_seconds()


def _grid(scope: Scope) -> list[Verdict]:
    """The verdict days of the scope with their windows."""
    first = scope.span_days[0]
    out = []
    for day in scope.days:
        hi = (day - first).days + 1
        out.append(Verdict(day, max(0, hi - scope.window_days), hi, scope.window(day)))
    return out


class Days:
    """A resource's roll-ups summed per site day (daily.COLUMN) over the scope's span, and its sampling of the
    metric judged (daily.METRICS). Sums over a verdict's days come from running totals, so each verdict costs
    a subtraction. Shared by the checks of an evaluation (`_days_of`): a running total is kept under a key
    that names all it depends on."""

    def __init__(
        self, per_day: dict[date, tuple[Any, ...]], sampling: Sampling, span: Sequence[date], metric: str
    ):
        self.per_day = per_day
        self.sampling = sampling
        self.span = span
        self.hours_i, self.samples_i = METRICS[metric]
        self._rows = [per_day.get(day) for day in span]  # the span's days in order (None: no roll-up)
        self._runs: dict[Any, list[float]] = {}

    def run(self, index: int) -> list[float]:
        """Running totals of column `index` over the span (run[k]: the sum over the first k days)."""
        run = self._runs.get(index)
        if run is None:
            values = ((v[index] or 0) if v is not None else 0 for v in self._rows)
            run = self._runs[index] = list(accumulate(values, initial=0.0))
        return run

    def count_run(self, key: Any, test: Callable[[tuple[Any, ...]], bool]) -> list[float]:
        """Running counts of the span's days whose values pass `test` (kept under `key`: name its params)."""
        run = self._runs.get(key)
        if run is None:
            values = (1 if v is not None and test(v) else 0 for v in self._rows)
            run = self._runs[key] = list(accumulate(values, initial=0.0))
        return run

    def sum_run(self, key: Any, per_day: dict[date, int]) -> list[float]:
        """Running totals of per-day figures read apart (Daily.above), kept under `key`."""
        run = self._runs.get(key)
        if run is None:
            run = self._runs[key] = list(accumulate((per_day.get(d, 0) for d in self.span), initial=0.0))
        return run

    def total(self, v: Verdict, index: int) -> Any:
        run = self.run(index)
        return run[v.hi] - run[v.lo]

    def days(self, v: Verdict) -> Sequence[date]:
        return self.span[v.lo : v.hi]

    def top(self, v: Verdict, index: int) -> Any:
        values = [self.per_day[d][index] for d in self.days(v) if d in self.per_day]
        values = [x for x in values if x is not None]
        return max(values) if values else None

    def coverage(self, v: Verdict) -> float:
        return self.sampling.coverage(v.seconds, self.total(v, self.hours_i), self.total(v, self.samples_i))

    def sampling_evidence(self, v: Verdict) -> dict[str, Any]:
        return self.sampling.evidence(v.seconds, self.total(v, self.hours_i), self.total(v, self.samples_i))


def _days_of(ctx: CheckContext, scope: Scope, resources: dict[str, Resource], metric: str) -> dict[str, Days]:
    """Per resource with a roll-up in the scope's span: its sums per site day, and its sampling of `metric`:
    the inventory's stated interval, else inferred from the metric's daily counts. Read once an evaluation
    (daily.Daily) and shared by the checks that judge the same span and metric."""
    sums = daily(ctx)
    span = scope.span_days
    known = sums.shared.setdefault(("days", tuple(span), metric), {})
    missing = [rid for rid in resources if rid not in known]
    if missing:
        h, n = METRICS[metric]
        for rid, per_day in sums.sums(ctx.session, span, missing).items():
            cadence = sampling_of(resources[rid].sample_interval_s, ((v[h], v[n]) for v in per_day.values()))
            known[rid] = Days(per_day, cadence, span, metric)
        for rid in missing:
            known.setdefault(rid, None)  # no roll-up in the span
    return {rid: d for rid in resources if (d := known[rid]) is not None}


def _above(
    ctx: CheckContext, scope: Scope, data: dict[str, Days], line: float, resource_ids: Iterable[str]
) -> dict[str, list[float]]:
    """Running counts of the hours whose CPU p95 is above `line`, for these resources (the nearest-rank p95
    test: at most above_allowed(n) of n hours above the line)."""
    counts = daily(ctx).above(ctx.session, scope.span_days, "cpu_p95", line, resource_ids)
    return {rid: data[rid].sum_run(("above", line), counts.get(rid, {})) for rid in resource_ids}


@dataclass(frozen=True)
class Episode:
    """Consecutive verdict days of one resource (or platform): one finding."""

    subject: str
    days: list[date]
    ongoing: bool  # it reaches the scope's last day

    @property
    def last(self) -> date:
        return self.days[-1]


def episodes(scope: Scope, verdicts: dict[str, list[date]]) -> Iterator[Episode]:
    """The runs of verdict days of each subject, by subject."""
    for subject in sorted(verdicts):
        for days in runs(verdicts[subject]):
            yield Episode(subject, days, days[-1] == scope.days[-1])


def _draft(
    ctx: CheckContext,
    scope: Scope,
    episode: Episode,
    summary_zh: str,
    summary_en: str,
    evidence: dict[str, Any],
) -> FindingDraft:
    """A finding about one episode: its period starts with its first verdict day."""
    first, last = episode.days[0], episode.last
    evidence.update(first_day=first.isoformat(), last_day=last.isoformat(), ongoing=episode.ongoing)
    if episode.ongoing:
        when_zh = f"自 {first.isoformat()} 起（持续至今）" if first != last else ""
        when_en = f" since {first.isoformat()} (still so)" if first != last else ""
    else:
        when_zh = f"{first.isoformat()} 至 {last.isoformat()} 期间（已结束）"
        when_en = f" from {first.isoformat()} to {last.isoformat()} (over)"
    return FindingDraft(
        subject=episode.subject,
        period_start=scope.day_start(first),
        ended=not episode.ongoing,
        summary=ctx.t(when_zh + summary_zh, summary_en.replace(" — ", when_en + " — ", 1)),
        evidence=evidence,
    )


def _subject_zh(r: Resource) -> str:
    return f"{r.resource_id}（{r.platform}／{r.tenant_unit}）"


def _subject_en(r: Resource) -> str:
    return f"{r.resource_id} ({r.platform} / {r.tenant_unit})"


def _amounts(ctx: CheckContext, vcpu: float, memory_gb: float, storage_gb: float) -> str:
    zh, en = [], []
    if vcpu:
        zh.append(f"{vcpu:g} vCPU")
        en.append(f"{vcpu:g} vCPU")
    if memory_gb:
        zh.append(f"{memory_gb:g} GB 内存")
        en.append(f"{memory_gb:g} GB memory")
    if storage_gb:
        zh.append(f"{storage_gb:g} GB 存储")
        en.append(f"{storage_gb:g} GB storage")
    return ctx.t("、".join(zh) or "0", ", ".join(en) or "nothing")


def _evidence(
    ctx: CheckContext,
    r: Resource,
    win: Window,
    cov: float,
    figures: dict[str, Any],
    *,
    action: str,
    reclaim_vcpu: int = 0,
    reclaim_memory_gb: float = 0.0,
    reclaim_storage_gb: float = 0.0,
    recommended_vcpu: int | None = None,
) -> tuple[dict[str, Any], pricing.Cost]:
    cost = pricing.monthly_cost(ctx.contract, r.platform, reclaim_vcpu, reclaim_memory_gb, reclaim_storage_gb)
    evidence = {
        "resource_id": r.resource_id,
        "platform": r.platform,
        "tenant_unit": r.tenant_unit,
        "type": r.type,
        "vcpu": r.vcpu,
        "memory_gb": r.memory_gb,
        "storage_gb": r.storage_gb,
        "window_days": round(win.days, 2),
        "window_start": win.start.isoformat(),
        "window_end": win.end.isoformat(),
        "coverage": round(cov, 3),
        **figures,
        "reclaim_vcpu": reclaim_vcpu,
        "reclaim_memory_gb": round(reclaim_memory_gb, 2),
        "reclaim_storage_gb": round(reclaim_storage_gb, 2),
        "recommended_vcpu": recommended_vcpu,
        "action": action,
        **cost.as_evidence(),
    }
    return evidence, cost


def _cost_text(ctx: CheckContext, cost: pricing.Cost) -> str:
    return pricing.cost_phrase(cost, ctx.language)


def _r2(value: float) -> float:
    return round(value, 2)


_CPU_HOURS, _CPU_MEAN_SUM, _CPU_MEAN_N, _BUSIEST, _CPU_MAX = (
    COLUMN[name] for name in ("cpu_hours", "cpu_mean_sum", "cpu_mean_hours", "busiest", "cpu_max")
)


def _busy(busy_hour_pct: float) -> Callable[[tuple[Any, ...]], bool]:
    """A site day whose busiest hour averaged over busy_hour_pct: a day in use."""
    return lambda v: v[_BUSIEST] is not None and v[_BUSIEST] > busy_hour_pct


def _busy_days(d: Days, v: Verdict, busy_hour_pct: float) -> list[str]:
    test = _busy(busy_hour_pct)
    return [day.isoformat() for day in d.days(v) if day in d.per_day and test(d.per_day[day])]


def _cpu_figures(ctx: CheckContext, rid: str, d: Days, v: Verdict) -> dict[str, Any]:
    """The CPU figures of a verdict's window, for the evidence: the exact nearest-rank p95 read once."""
    n = d.total(v, _CPU_HOURS)
    p95 = window_p95(ctx.session, v.window, {rid: n}).get(rid, 0.0)
    mean_n = d.total(v, _CPU_MEAN_N)
    busiest = d.top(v, _BUSIEST) or 0.0
    top = d.top(v, _CPU_MAX)
    return {
        "cpu_p95_pct": _r2(p95),
        "cpu_mean_pct": _r2(d.total(v, _CPU_MEAN_SUM) / mean_n) if mean_n else 0.0,
        "cpu_max_pct": _r2(top if top is not None else busiest),
        "busiest_hour_pct": _r2(busiest),
    }


def _window_text(days: int) -> str:
    return f"{days:g}"


class IdleCpuParams(WindowParams):
    # The p95 over the window's hours of the hourly CPU p95 must be at or below this (Azure Advisor: 3 %).
    max_p95_pct: float = Field(default=3.0, ge=0, le=100)
    # A day whose busiest hour averaged above this is a day in use (AWS Trusted Advisor's 10 %)...
    busy_hour_pct: float = Field(default=10.0, ge=0, le=100)
    # ... and an idle resource may have at most this many such days in the window (0: every day quiet).
    max_busy_days: int = Field(default=0, ge=0)
    # Hosts are bare-metal servers allocated to a tenant unit: idle, they are the largest single waste.
    types: list[ComputeType] = Field(default_factory=lambda: ["vm", "host"], min_length=1)


@check(
    "idle_cpu",
    params=IdleCpuParams,
    area="resources",
    example="""
[[rule]]
id = "idle-cpu"
check = "idle_cpu"
severity = "warning"
title = "虚拟机 CPU 长期闲置，可回收"
[rule.params]
lookback = "14d"
min_coverage = 0.8
max_p95_pct = 3.0
busy_hour_pct = 10.0
max_busy_days = 0
types = ["vm", "host"]
""",
)
def idle_cpu(ctx: CheckContext, params: IdleCpuParams) -> Iterator[FindingDraft]:
    """A VM (or host) whose CPU stayed near zero over the window: the p95 of its hourly CPU p95 at or below
    max_p95_pct, and no more than max_busy_days days whose busiest hour averaged above busy_hour_pct (a nightly
    batch is use). Judged each day of the scope; one finding per episode. Reclaimable: all its vCPU and memory
    (its storage is judged by idle_storage)."""
    # The hourly roll-ups (utilization_hourly, read through daily(ctx) and the window's p95) have no batch of
    # their own: they are utilization_samples' evidence, whose seals the finding names.
    ctx.reads(UtilizationSample)
    scope, resources = _judged(ctx, params, params.types)
    grid = _grid(scope)
    data = _days_of(ctx, scope, resources, "cpu")
    # The days that pass every test but the p95's; the hours above max_p95_pct are counted for those only.
    candidates: dict[str, list[Verdict]] = {}
    for rid, d in data.items():
        r = resources[rid]
        hours, samples = d.run(d.hours_i), d.run(d.samples_i)
        busy = d.count_run(("busy", params.busy_hour_pct), _busy(params.busy_hour_pct))
        days = [
            v
            for v in grid
            if (n := hours[v.hi] - hours[v.lo])
            and busy[v.hi] - busy[v.lo] <= params.max_busy_days
            and r.allocated_on(v.day)
            and d.sampling.coverage(v.seconds, n, samples[v.hi] - samples[v.lo]) >= params.min_coverage
        ]
        if days:
            candidates[rid] = days
    verdicts: dict[str, list[date]] = defaultdict(list)
    for rid, above in _above(ctx, scope, data, params.max_p95_pct, candidates).items():
        hours = data[rid].run(data[rid].hours_i)
        for v in candidates[rid]:
            if above[v.hi] - above[v.lo] <= above_allowed(int(hours[v.hi] - hours[v.lo])):
                verdicts[rid].append(v.day)
    by_day = {v.day: v for v in grid}
    for ep in episodes(scope, verdicts):
        r, d, v = resources[ep.subject], data[ep.subject], by_day[ep.last]
        f = _cpu_figures(ctx, ep.subject, d, v)
        cov = d.coverage(v)
        evidence, cost = _evidence(
            ctx,
            r,
            v.window,
            cov,
            {
                **f,
                **d.sampling_evidence(v),
                "busy_days": _busy_days(d, v, params.busy_hour_pct),
                "max_p95_pct": params.max_p95_pct,
                "busy_hour_pct": params.busy_hour_pct,
            },
            action="reclaim",
            reclaim_vcpu=r.vcpu,
            reclaim_memory_gb=r.memory_gb,
        )
        n_days = _window_text(scope.window_days)
        amounts = _amounts(ctx, r.vcpu, r.memory_gb, 0)
        yield _draft(
            ctx,
            scope,
            ep,
            f"{_subject_zh(r)}近 {n_days} 天 CPU 闲置：小时 CPU P95 {f['cpu_p95_pct']:.1f}%，"
            f"最忙一小时平均 {f['busiest_hour_pct']:.1f}%，数据覆盖 {cov:.0%}（{d.sampling.text('zh')}）。"
            f"可回收 {amounts}{_cost_text(ctx, cost)}。",
            f"{_subject_en(r)} idle for {n_days} days — hourly CPU p95 {f['cpu_p95_pct']:.1f} %, busiest hour "
            f"{f['busiest_hour_pct']:.1f} %, coverage {cov:.0%} ({d.sampling.text('en')}). "
            f"Reclaimable: {amounts}{_cost_text(ctx, cost)}.",
            evidence,
        )


# --- oversized_cpu ---------------------------------------------------------------------------------------


class OversizedCpuParams(WindowParams):
    # After resizing, the window's p95 CPU should use at most this share of the new size (30 % headroom).
    target_pct: float = Field(default=70.0, gt=0, le=100)
    # Flag only when at least this share of the vCPUs, and at least min_reclaim_vcpu of them, can go:
    # "fits in far fewer vCPUs", not a one-size trim.
    min_reclaim_share: float = Field(default=0.5, ge=0, lt=1)
    min_reclaim_vcpu: int = Field(default=2, ge=1)
    # The flavour sizes a VM can be resized to; the recommendation is the smallest that fits.
    sizes: list[int] = Field(default_factory=lambda: list(DEFAULT_SIZES), min_length=1)
    # A VM idle by these (keep them equal to the idle_cpu rule's) is left to idle_cpu: never reported twice.
    idle_max_p95_pct: float = Field(default=3.0, ge=0, le=100)
    idle_busy_hour_pct: float = Field(default=10.0, ge=0, le=100)
    idle_max_busy_days: int = Field(default=0, ge=0)
    # Hosts are physical machines: their cores cannot be resized.
    types: list[Literal["vm"]] = Field(default_factory=lambda: ["vm"], min_length=1)

    @field_validator("sizes")
    @classmethod
    def _positive_sizes(cls, v: list[int]) -> list[int]:
        if any(s < 1 for s in v):
            raise ValueError("sizes must be whole numbers of vCPU ≥ 1")
        return sorted(set(v))


def recommend_vcpu(vcpu: int, p95_pct: float, target_pct: float, sizes: Sequence[int]) -> tuple[float, int]:
    """The vCPU the window's p95 needs at target_pct, and the smallest size that holds it (never above vcpu)."""
    needed = vcpu * p95_pct / target_pct
    fitting = [s for s in sizes if s >= needed - 1e-9]
    recommended = min(fitting) if fitting else vcpu
    return needed, min(recommended, vcpu)


def _oversize_line(vcpu: int, params: OversizedCpuParams) -> float | None:
    """The highest window p95 at which a VM of `vcpu` is oversized: the largest size leaving at least
    min_reclaim_share and min_reclaim_vcpu of its vCPUs, times target_pct ÷ vcpu (None: no size does)."""
    fits = [
        s
        for s in params.sizes
        if s <= vcpu
        and vcpu - s >= params.min_reclaim_vcpu
        and vcpu - s >= vcpu * params.min_reclaim_share - 1e-9
    ]
    return max(fits) * params.target_pct / vcpu + 1e-9 if fits else None


@check(
    "oversized_cpu",
    params=OversizedCpuParams,
    area="resources",
    example="""
[[rule]]
id = "oversized-cpu"
check = "oversized_cpu"
severity = "info"
title = "虚拟机 CPU 配置过大，建议缩容"
[rule.params]
lookback = "14d"
target_pct = 70.0
min_reclaim_share = 0.5
min_reclaim_vcpu = 2
sizes = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64]
""",
)
def oversized_cpu(ctx: CheckContext, params: OversizedCpuParams) -> Iterator[FindingDraft]:
    """A VM in use whose peak need fits in far fewer vCPUs: needed = vCPU × p95 ÷ target_pct, rounded up to
    the next size; flagged when at least min_reclaim_share (and min_reclaim_vcpu) of the vCPUs can go.
    A VM that is idle (by the idle_* params) is idle_cpu's, never reported here too. Judged each day of the
    scope; one finding per episode."""
    # The hourly roll-ups it reads are utilization_samples' evidence (no batch of their own): name those seals.
    ctx.reads(UtilizationSample)
    scope, resources = _judged(ctx, params, params.types)
    grid = _grid(scope)
    data = _days_of(ctx, scope, resources, "cpu")
    # Per oversize line (it depends on the size), the days measured enough on which the VM was allocated; the
    # hours above a line are counted for those only.
    by_line: dict[float, dict[str, list[Verdict]]] = defaultdict(dict)
    for rid, d in data.items():
        r = resources[rid]
        line = _oversize_line(r.vcpu, params) if r.vcpu > 0 else None
        if line is None:
            continue
        hours, samples = d.run(d.hours_i), d.run(d.samples_i)
        days = [
            v
            for v in grid
            if (n := hours[v.hi] - hours[v.lo])
            and r.allocated_on(v.day)
            and d.sampling.coverage(v.seconds, n, samples[v.hi] - samples[v.lo]) >= params.min_coverage
        ]
        if days:
            by_line[line][rid] = days
    verdicts: dict[str, list[date]] = defaultdict(list)
    # Days that fit the smaller size: oversized unless idle (idle_cpu's). A day in use (a busy day too many)
    # is not idle; the others are idle unless more hours than allowed are above idle_max_p95_pct.
    maybe_idle: dict[str, list[Verdict]] = defaultdict(list)
    for line, group in sorted(by_line.items()):
        for rid, above in _above(ctx, scope, data, line, group).items():
            d = data[rid]
            hours = d.run(d.hours_i)
            busy = d.count_run(("busy", params.idle_busy_hour_pct), _busy(params.idle_busy_hour_pct))
            for v in group[rid]:
                if above[v.hi] - above[v.lo] > above_allowed(int(hours[v.hi] - hours[v.lo])):
                    continue
                if busy[v.hi] - busy[v.lo] > params.idle_max_busy_days:
                    verdicts[rid].append(v.day)
                else:
                    maybe_idle[rid].append(v)
    for rid, above in _above(ctx, scope, data, params.idle_max_p95_pct, maybe_idle).items():
        hours = data[rid].run(data[rid].hours_i)
        for v in maybe_idle[rid]:
            if above[v.hi] - above[v.lo] > above_allowed(int(hours[v.hi] - hours[v.lo])):
                verdicts[rid].append(v.day)
    by_day = {v.day: v for v in grid}
    for ep in episodes(scope, verdicts):
        r, d, v = resources[ep.subject], data[ep.subject], by_day[ep.last]
        f = _cpu_figures(ctx, ep.subject, d, v)
        needed, recommended = recommend_vcpu(r.vcpu, f["cpu_p95_pct"], params.target_pct, params.sizes)
        reclaim = r.vcpu - recommended
        cov = d.coverage(v)
        evidence, cost = _evidence(
            ctx,
            r,
            v.window,
            cov,
            {
                **f,
                **d.sampling_evidence(v),
                "needed_vcpu": _r2(needed),
                "target_pct": params.target_pct,
            },
            action="resize",
            reclaim_vcpu=reclaim,
            recommended_vcpu=recommended,
        )
        n_days = _window_text(scope.window_days)
        headroom = 100 - params.target_pct
        p95 = f["cpu_p95_pct"]
        yield _draft(
            ctx,
            scope,
            ep,
            f"{_subject_zh(r)}近 {n_days} 天 CPU 配置远大于需求：小时 CPU P95 {p95:.1f}%，"
            f"留 {headroom:g}% 余量只需 {needed:.1f} 核，建议由 {r.vcpu} 核调整为 {recommended} 核，"
            f"可回收 {reclaim} vCPU{_cost_text(ctx, cost)}。",
            f"{_subject_en(r)} oversized over {n_days} days — hourly CPU p95 {p95:.1f} % needs "
            f"{needed:.1f} vCPU with {headroom:g} % headroom; resize {r.vcpu} → {recommended} vCPU, "
            f"reclaiming {reclaim} vCPU{_cost_text(ctx, cost)}.",
            evidence,
        )


# --- idle_storage ----------------------------------------------------------------------------------------


class IdleStorageParams(WindowParams):
    # Mostly unused: the most used in the window (hourly maximum) at or below this share of the allocation.
    max_used_share: float = Field(default=0.3, gt=0, le=1)
    # Keep the peak use plus this headroom for growth, rounded up to step_gb; the rest is reclaimable.
    headroom: float = Field(default=0.3, ge=0)
    step_gb: float = Field(default=10.0, gt=0)
    min_reclaim_gb: float = Field(default=100.0, ge=0)
    types: list[AnyType] = Field(default_factory=lambda: ["vm", "host", "volume"], min_length=1)


_USED_MAX = COLUMN["storage_max"]


def keep_gb(used_max: float, headroom: float, step_gb: float) -> float:
    """The storage to keep: the peak use plus headroom, rounded up to a whole step (at least one step)."""
    steps = math.ceil(used_max * (1 + headroom) / step_gb - 1e-9)  # 1500 × 1.3 is 1950.0000000000002
    return max(1, steps) * step_gb


@check(
    "idle_storage",
    params=IdleStorageParams,
    area="resources",
    example="""
[[rule]]
id = "idle-storage"
check = "idle_storage"
severity = "info"
title = "存储长期大部分未用，可回收"
[rule.params]
lookback = "14d"
max_used_share = 0.3
headroom = 0.3
step_gb = 10
min_reclaim_gb = 100
""",
)
def idle_storage(ctx: CheckContext, params: IdleStorageParams) -> Iterator[FindingDraft]:
    """Allocated storage mostly unused over the window: the peak used at or below max_used_share of the
    allocation. Reclaimable: the allocation minus the peak use with headroom (rounded up to step_gb). Judged
    each day of the scope; one finding per episode."""
    # The hourly roll-ups it reads are utilization_samples' evidence (no batch of their own): name those seals.
    ctx.reads(UtilizationSample)
    scope, resources = _judged(ctx, params, params.types)
    resources = {rid: r for rid, r in resources.items() if r.storage_gb > 0}
    grid = _grid(scope)
    data = _days_of(ctx, scope, resources, "storage")
    verdicts: dict[str, list[date]] = defaultdict(list)
    for rid, d in data.items():
        r = resources[rid]
        line = params.max_used_share * r.storage_gb
        # Days whose peak is over the line: a window holding one of them is not mostly unused.
        over = d.count_run(
            ("over", line), lambda v, line=line: v[_USED_MAX] is not None and v[_USED_MAX] > line
        )
        hours, samples = d.run(d.hours_i), d.run(d.samples_i)
        for v in grid:
            n = hours[v.hi] - hours[v.lo]
            if not n or over[v.hi] - over[v.lo] or not r.allocated_on(v.day):
                continue
            if d.sampling.coverage(v.seconds, n, samples[v.hi] - samples[v.lo]) < params.min_coverage:
                continue
            reclaim = r.storage_gb - keep_gb(d.top(v, _USED_MAX), params.headroom, params.step_gb)
            if reclaim >= params.min_reclaim_gb and reclaim > 0:
                verdicts[rid].append(v.day)
    by_day = {v.day: v for v in grid}
    for ep in episodes(scope, verdicts):
        r, d, v = resources[ep.subject], data[ep.subject], by_day[ep.last]
        used_max = d.top(v, _USED_MAX)
        keep = keep_gb(used_max, params.headroom, params.step_gb)
        reclaim = r.storage_gb - keep
        share = used_max / r.storage_gb
        cov = d.coverage(v)
        hours = d.total(v, d.hours_i)
        evidence, cost = _evidence(
            ctx,
            r,
            v.window,
            cov,
            {
                "storage_used_max_gb": _r2(used_max),
                "storage_used_mean_gb": _r2(d.total(v, COLUMN["storage_sum"]) / hours) if hours else 0.0,
                "storage_used_share": round(share, 4),
                "storage_total_seen_gb": d.top(v, COLUMN["storage_total_max"]),
                "keep_gb": keep,
                "max_used_share": params.max_used_share,
                "headroom": params.headroom,
                **d.sampling_evidence(v),
            },
            action="shrink",
            reclaim_storage_gb=reclaim,
        )
        n_days = _window_text(scope.window_days)
        yield _draft(
            ctx,
            scope,
            ep,
            f"{_subject_zh(r)}近 {n_days} 天存储大部分未用：分配 {r.storage_gb:g} GB，最多只用 "
            f"{used_max:,.0f} GB（{share:.0%}，{d.sampling.text('zh')}）；留 {params.headroom:.0%} 余量保留 "
            f"{keep:g} GB，可回收 {reclaim:g} GB 存储{_cost_text(ctx, cost)}。",
            f"{_subject_en(r)} storage mostly unused over {n_days} days — {r.storage_gb:g} GB allocated, "
            f"at most {used_max:,.0f} GB used ({share:.0%}, {d.sampling.text('en')}); keeping {keep:g} GB with "
            f"{params.headroom:.0%} headroom frees {reclaim:g} GB{_cost_text(ctx, cost)}.",
            evidence,
        )


# --- platform_utilization --------------------------------------------------------------------------------


class PlatformUtilizationParams(WindowParams):
    # One finding per platform, or per tenant unit of each platform.
    group_by: Literal["platform", "tenant_unit"] = "platform"
    # Targets: used ÷ allocated of the measured resources (None: that resource is not judged).
    min_cpu_pct: float | None = Field(default=20.0, ge=0, le=100)
    min_memory_pct: float | None = Field(default=40.0, ge=0, le=100)
    min_storage_pct: float | None = Field(default=None, ge=0, le=100)
    platforms: list[str] = []  # empty: every platform

    @model_validator(mode="after")
    def _some_target(self) -> PlatformUtilizationParams:
        if self.min_cpu_pct is None and self.min_memory_pct is None and self.min_storage_pct is None:
            raise ValueError("give at least one of min_cpu_pct, min_memory_pct, min_storage_pct")
        return self


_DIMENSIONS = (
    # target param, figure key, measured capacity key, zh name, en name
    ("min_cpu_pct", "cpu_pct", "measured_vcpu", "CPU 平均", "CPU mean"),
    ("min_memory_pct", "memory_pct", "measured_memory_gb", "内存", "memory"),
    ("min_storage_pct", "storage_pct", "measured_storage_gb", "存储", "storage"),
)


_METRICS = (
    # metric, its counts (daily.METRICS), the column of its sum, capacity attribute
    ("cpu", "cpu_mean", "cpu_mean_sum", "vcpu"),
    ("mem", "mem", "mem_sum", "memory_gb"),
    ("storage", "storage", "storage_sum", "storage_gb"),
)


@dataclass(frozen=True)
class _Metric:
    """One metric of a resource, ready for its verdicts: running totals of hours, samples and values."""

    name: str
    hours: list[float]
    samples: list[float]
    sums: list[float]
    sampling: Sampling


def _metrics(ctx: CheckContext, scope: Scope, resources: dict[str, Resource]) -> dict[str, list[_Metric]]:
    """Per resource with a roll-up in the span: the metrics whose capacity it has (a volume's CPU is not
    judged), each with its sampling of that metric."""
    out: dict[str, list[_Metric]] = {}
    for metric, counts, column, capacity in _METRICS:
        having = {rid: r for rid, r in resources.items() if getattr(r, capacity)}
        for rid, d in _days_of(ctx, scope, having, counts).items():
            m = _Metric(metric, d.run(d.hours_i), d.run(d.samples_i), d.run(COLUMN[column]), d.sampling)
            out.setdefault(rid, []).append(m)
    return out


def _usage_on(
    v: Verdict, resources: dict[str, Resource], metrics: dict[str, list[_Metric]], min_coverage: float
) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Allocated and used capacity per platform and per tenant unit over a verdict's window (the figures of
    utilization.usage_summary, with each resource measured at its own interval)."""
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    lo, hi, day, seconds = v.lo, v.hi, v.day, v.seconds
    for rid, r in resources.items():
        if not r.allocated_on(day):
            continue
        means: dict[str, float] = {}
        for m in metrics.get(rid, ()):
            hours = m.hours[hi] - m.hours[lo]
            if hours and m.sampling.coverage(seconds, hours, m.samples[hi] - m.samples[lo]) >= min_coverage:
                means[m.name] = (m.sums[hi] - m.sums[lo]) / hours
        for key in ((r.platform, None), (r.platform, r.tenant_unit)):
            g = groups.get(key)
            if g is None:
                g = groups[key] = empty_group(*key)
            g["resources"] += 1
            g["measured"] += int(bool(means))
            g["vcpu"] += r.vcpu
            g["memory_gb"] += r.memory_gb
            g["storage_gb"] += r.storage_gb
            if "cpu" in means:
                g["measured_vcpu"] += r.vcpu
                g["used_vcpu_mean"] += r.vcpu * means["cpu"] / 100
            if "mem" in means:
                g["measured_memory_gb"] += r.memory_gb
                g["used_memory_gb"] += r.memory_gb * means["mem"] / 100
            if "storage" in means:
                g["measured_storage_gb"] += r.storage_gb
                g["used_storage_gb"] += means["storage"]
    for g in groups.values():
        g["cpu_pct"] = percent_of(g["used_vcpu_mean"], g["measured_vcpu"])
        g["memory_pct"] = percent_of(g["used_memory_gb"], g["measured_memory_gb"])
        g["storage_pct"] = percent_of(g["used_storage_gb"], g["measured_storage_gb"])
        for key in ("used_vcpu_mean", "used_memory_gb", "used_storage_gb"):
            g[key] = round(g[key], 2)
    return groups


def _below(row: dict[str, Any], params: PlatformUtilizationParams) -> list[tuple[float, float, str, str]]:
    below = []
    for target_key, figure, capacity, name_zh, name_en in _DIMENSIONS:
        target = getattr(params, target_key)
        if target is None or not row[capacity] or row[figure] is None:
            continue
        if row[figure] < target:
            below.append((row[figure], target, name_zh, name_en))
    return below


@check(
    "platform_utilization",
    params=PlatformUtilizationParams,
    area="resources",
    example="""
[[rule]]
id = "platform-utilization"
check = "platform_utilization"
severity = "warning"
title = "云平台资源利用率低于目标"
[rule.params]
lookback = "14d"
group_by = "platform"
min_cpu_pct = 20.0
min_memory_pct = 40.0
""",
)
def platform_utilization(ctx: CheckContext, params: PlatformUtilizationParams) -> Iterator[FindingDraft]:
    """Used ÷ allocated per platform (or per tenant unit) below a target, over the resources measured well
    enough (mean use over the window, each resource at its own sampling interval). Judged each day of the
    scope; one finding per episode. The evidence values the capacity unused on average (allocated minus mean
    use) of what is judged at the platform's prices; nothing is reclaimed by this finding itself: the
    per-resource findings say what to reclaim."""
    # The hourly roll-ups it reads are utilization_samples' evidence (no batch of their own): name those seals.
    ctx.reads(UtilizationSample)
    scope, resources = _judged(ctx, params, ["vm", "host", "volume"])
    metrics = _metrics(ctx, scope, resources)
    verdicts: dict[str, list[date]] = defaultdict(list)
    judged: dict[tuple[str, date], tuple[dict[str, Any], list[Any], list[dict[str, Any]]]] = {}
    for v in _grid(scope):
        day = v.day
        groups = _usage_on(v, resources, metrics, params.min_coverage)
        units: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for (plat, unit), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            if unit is not None:
                units[plat].append(g)
        for (plat, unit), row in groups.items():
            if (unit is None) != (params.group_by == "platform"):
                continue
            if params.platforms and plat not in params.platforms:
                continue
            below = _below(row, params)
            if below:
                subject = plat if unit is None else f"{plat} / {unit}"
                verdicts[subject].append(day)
                judged[(subject, day)] = (row, below, units[plat])
    for ep in episodes(scope, verdicts):
        row, below, unit_rows = judged[(ep.subject, ep.last)]
        win = scope.window(ep.last)
        unused_vcpu = max(0.0, row["measured_vcpu"] - row["used_vcpu_mean"])
        unused_mem = max(0.0, row["measured_memory_gb"] - row["used_memory_gb"])
        unused_storage = max(0.0, row["measured_storage_gb"] - row["used_storage_gb"])
        # Valued: the unused capacity of what is judged (the figures with a target).
        cost = pricing.monthly_cost(
            ctx.contract,
            row["platform"],
            unused_vcpu if params.min_cpu_pct is not None else 0,
            unused_mem if params.min_memory_pct is not None else 0,
            unused_storage if params.min_storage_pct is not None else 0,
        )
        figures_zh = "、".join(f"{zh} {v:.1f}%（目标 ≥ {t:g}%）" for v, t, zh, _ in below)
        figures_en = ", ".join(f"{en} {v:.1f} % (target ≥ {t:g} %)" for v, t, _, en in below)
        evidence: dict[str, Any] = {
            "resource_id": None,
            "platform": row["platform"],
            "tenant_unit": row["tenant_unit"],
            "type": None,
            "window_days": round(win.days, 2),
            "window_start": win.start.isoformat(),
            "window_end": win.end.isoformat(),
            "coverage": round(row["measured"] / row["resources"], 3) if row["resources"] else 0.0,
            "resources": row["resources"],
            "measured": row["measured"],
            "cpu_pct": row["cpu_pct"],
            "memory_pct": row["memory_pct"],
            "storage_pct": row["storage_pct"],
            "min_cpu_pct": params.min_cpu_pct,
            "min_memory_pct": params.min_memory_pct,
            "min_storage_pct": params.min_storage_pct,
            "below": [{"figure": en, "value": v, "target": t} for v, t, _, en in below],
            "vcpu": row["vcpu"],
            "memory_gb": row["memory_gb"],
            "storage_gb": row["storage_gb"],
            "used_vcpu_mean": row["used_vcpu_mean"],
            "used_memory_gb": row["used_memory_gb"],
            "used_storage_gb": row["used_storage_gb"],
            "unused_vcpu": _r2(unused_vcpu),
            "unused_memory_gb": _r2(unused_mem),
            "unused_storage_gb": _r2(unused_storage),
            "reclaim_vcpu": 0,
            "reclaim_memory_gb": 0.0,
            "reclaim_storage_gb": 0.0,
            "recommended_vcpu": None,
            "action": "review",
            **cost.as_evidence(),
        }
        if row["tenant_unit"] is None:
            evidence["tenant_units"] = [
                {
                    "tenant_unit": u["tenant_unit"],
                    "resources": u["resources"],
                    "vcpu": u["vcpu"],
                    "cpu_pct": u["cpu_pct"],
                    "memory_pct": u["memory_pct"],
                    "storage_pct": u["storage_pct"],
                }
                for u in unit_rows
            ]
        idle = _amounts(
            ctx,
            round(unused_vcpu) if params.min_cpu_pct is not None else 0,
            round(unused_mem) if params.min_memory_pct is not None else 0,
            round(unused_storage) if params.min_storage_pct is not None else 0,
        )
        n_days = _window_text(scope.window_days)
        yield _draft(
            ctx,
            scope,
            ep,
            f"{ep.subject} 近 {n_days} 天资源利用率低于目标：{figures_zh}（已测 {row['measured']}/"
            f"{row['resources']} 项资源）。未用容量约 {idle}{_cost_text(ctx, cost)}。",
            f"{ep.subject} utilization below target over {n_days} days — {figures_en} ({row['measured']} of "
            f"{row['resources']} resources measured). Unused capacity about {idle}{_cost_text(ctx, cost)}.",
            evidence,
        )


# --- stale_resource --------------------------------------------------------------------------------------


class StaleResourceParams(Params):
    # No sample for this long: the resource is gone, or nobody measures it.
    max_silence: Duration = timedelta(days=3)
    types: list[AnyType] = Field(default_factory=lambda: ["vm", "host", "volume"], min_length=1)

    @field_validator("max_silence")
    @classmethod
    def _at_least_hours(cls, v: timedelta) -> timedelta:
        if v < timedelta(hours=2):
            raise ValueError("max_silence must be at least 2h (roll-ups are hourly)")
        return v


@dataclass(frozen=True)
class Silence:
    """A stretch without samples: from `since` (the end of the last sampled hour, or when the resource was
    first to report) to `until` (the next sampled hour; None: still silent)."""

    since: datetime
    until: datetime | None
    last_sample: datetime | None  # None: it had never reported before


def _platform_first_hours(ctx: CheckContext, platforms: set[str]) -> dict[str, datetime]:
    """The first rolled-up hour of any resource of each platform: its monitoring began then, so none of its
    resources is silent before it (a replay of the days before the first export judges nothing missing)."""
    out = {}
    for platform in sorted(platforms):
        ids = select(InventoryResource.resource_id).where(InventoryResource.platform == platform)
        first = ctx.session.scalar(
            select(_H.hour).where(_H.resource_id.in_(ids), _H.hour < ctx.at).order_by(_H.hour).limit(1)
        )
        if first is not None:
            out[platform] = from_store(first)
    return out


def _empty_run(present: Sequence[bool]) -> int:
    """The longest run of days without a sample, not counting one at the start (see at_start)."""
    longest = run = 0
    seen = False
    for p in present:
        if p:
            seen, run = True, 0
        elif seen:
            run += 1
            longest = max(longest, run)
    return longest


def _first_due(r: Resource, first_hours: dict[str, datetime], current: Scope, scope: Scope) -> datetime:
    """When a resource without an earlier sample was first due to report: the latest of its platform's first
    sample, its inventory's arrival and its allocation date (none known: the scope's start)."""
    starts = [first_hours.get(r.platform), r.arrived_at]
    if r.allocated_from is not None:
        starts.append(current.day_start(r.allocated_from))
    return max((s for s in starts if s is not None), default=scope.start)


def _silences(
    hours: Sequence[int],
    before: int | None,
    start: datetime | None,
    at: datetime,
    silence: timedelta,
    still: bool = True,
) -> Iterator[Silence]:
    """Silences of at least `silence` among sampled hour numbers (in order, all before `at`), the last
    sampled hour `before` them (if any), and `start`: when the resource was first to report (without an
    earlier sample). One going on at `at` is still going on (`still`), or ends there (the allocation did)."""
    seen: datetime | None
    last: datetime | None
    if before is not None:
        last = seen = hour_start(before) + HOUR
    else:
        last, seen = None, start
    for h in hours:
        at_hour = hour_start(h)
        if seen is not None and at_hour - seen >= silence:
            yield Silence(seen, at_hour, last)
        last = seen = at_hour + HOUR
    if seen is not None and at - seen >= silence:
        yield Silence(seen, None if still else at, last)


@check(
    "stale_resource",
    params=StaleResourceParams,
    area="resources",
    example="""
[[rule]]
id = "stale-resource"
check = "stale_resource"
severity = "warning"
title = "已分配资源长期没有利用率数据"
[rule.params]
max_silence = "3d"
""",
)
def stale_resource(ctx: CheckContext, params: StaleResourceParams) -> Iterator[FindingDraft]:
    """Allocated but no sample for max_silence (or two of its sampling intervals, when longer): gone (reclaim
    it) or not monitored (measure it). Each silence is one finding whose period starts when the samples stopped
    (or, never sampled, when the resource was first to report: allocated, its inventory arrived and its
    platform monitored); a silence that ended inside the scope (the month so far) is still reported, so the
    month judged once says what the month replayed day by day said. The reclaim figures are its whole
    allocation, marked action = verify: a saving only once someone confirms it is gone."""
    # The hourly roll-ups it reads are utilization_samples' evidence (no batch of their own): name those seals.
    ctx.reads(UtilizationSample)
    scope = scope_of(ctx.at, ctx.zone, DAY)
    ctx.scope_start = scope.start
    today = ctx.at.astimezone(ctx.zone).date()
    resources = resources_between(
        ctx.session, scope.days[0], today, params.types, ctx.arrived(InventoryResource)
    )
    # Daily counts up to at's own day: the sampled days, and the interval (stated, else inferred).
    current = Scope((*scope.days, today), 1, ctx.zone)
    hours_i, samples_i = METRICS["any"]
    counts = {
        rid: {day: (row[hours_i], row[samples_i]) for day, row in per_day.items()}
        for rid, per_day in daily(ctx).sums(ctx.session, current.span_days, resources).items()
    }
    silence_of: dict[str, timedelta] = {}
    cadence: dict[str, Sampling] = {}
    # Only resources whose days could hold a silence are read hour by hour: a silence of S (two days or
    # more) leaves ceil(S / 1 day) − 1 whole site days in a row without a sample, or runs on at the end, or
    # began before the scope's first sampled day.
    run_days = max(1, math.ceil(params.max_silence / DAY) - 1)
    candidates, at_start = [], []
    for rid, r in resources.items():
        per_day = counts.get(rid, {})
        cadence[rid] = sampling_of(r.sample_interval_s, per_day.values())
        silence_of[rid] = max(params.max_silence, 2 * timedelta(seconds=cadence[rid].seconds))
        present = [d in per_day for d in scope.days]
        if params.max_silence < 2 * DAY or not present[-1] or _empty_run(present) >= run_days:
            candidates.append(rid)
        elif not present[0]:
            at_start.append(rid)
    first_hours = _platform_first_hours(ctx, {resources[rid].platform for rid in candidates + at_start})
    before = last_sample_hours(ctx.session, candidates + at_start, scope.start)
    for rid in at_start:  # silent from before its first sampled day of the scope: for long enough?
        r = resources[rid]
        first_day = next(d for d in scope.days if d in counts[rid])
        prior = before.get(rid)
        since = prior + HOUR if prior else _first_due(r, first_hours, current, scope)
        if current.day_start(first_day) + DAY - since >= silence_of[rid]:
            candidates.append(rid)
    rows = hourly_rows(ctx.session, Window(scope.start, ctx.at), candidates, ())
    for rid in candidates:
        r = resources[rid]
        start = _first_due(r, first_hours, current, scope)
        # A silence counts while the resource is allocated: one that was reclaimed ends its silence there.
        end = ctx.at
        if r.allocated_to is not None:
            end = min(end, current.day_start(r.allocated_to + DAY))
        prior = before.get(rid)
        hours = [row[0] for row in rows.get(rid, ()) if hour_start(row[0]) < end]
        gaps = _silences(
            hours, hour_number(prior) if prior else None, start, end, silence_of[rid], end == ctx.at
        )
        for gap in gaps:
            if gap.until is not None and gap.until <= scope.start:
                continue  # over before this month: a past month's finding
            yield _stale_draft(ctx, params, r, gap, silence_of[rid], cadence[rid])


def _stale_draft(
    ctx: CheckContext,
    params: StaleResourceParams,
    r: Resource,
    gap: Silence,
    silence: timedelta,
    cadence: Sampling,
) -> FindingDraft:
    end = gap.until or ctx.at
    silent_days = (end - gap.since) / DAY
    win = Window(gap.since, end)
    evidence, cost = _evidence(
        ctx,
        r,
        win,
        0.0,
        {
            "last_sample": gap.last_sample.isoformat() if gap.last_sample else None,
            "silent_since": gap.since.isoformat(),
            "silent_until": gap.until.isoformat() if gap.until else None,
            "ongoing": gap.until is None,
            "silent_days": round(silent_days, 2),
            "max_silence_days": round(silence / DAY, 2),
            "sample_interval": interval_text(cadence.seconds),
            "sample_interval_source": cadence.how,
        },
        action="verify",
        reclaim_vcpu=r.vcpu,
        reclaim_memory_gb=r.memory_gb,
        reclaim_storage_gb=r.storage_gb,
    )
    amounts = _amounts(ctx, r.vcpu, r.memory_gb, r.storage_gb)
    if gap.last_sample is None:
        since = format_local(gap.since, ctx.zone)
        what_zh, what_en = (
            f"从未收到利用率数据（自 {since} 起应有）",
            f"has never reported utilization (due since {since})",
        )
    else:
        shown = format_local(gap.last_sample, ctx.zone)
        what_zh = f"已 {silent_days:.1f} 天没有利用率数据（最后一次 {shown}）"
        what_en = f"has reported no utilization for {silent_days:.1f} days (last {shown})"
    if gap.until is not None:
        back = format_local(gap.until, ctx.zone)
        what_zh += f"，{back} 恢复上报"
        what_en += f", reporting again from {back}"
    return FindingDraft(
        subject=r.resource_id,
        period_start=gap.since,
        ended=gap.until is not None,
        summary=ctx.t(
            f"{_subject_zh(r)}{what_zh}：可能已停用或未纳入监测，请核实。若确已停用，可回收 "
            f"{amounts}{_cost_text(ctx, cost)}。",
            f"{_subject_en(r)} {what_en}: it may be gone or unmonitored; please verify. If it is gone, "
            f"{amounts} can be reclaimed{_cost_text(ctx, cost)}.",
        ),
        evidence=evidence,
    )


__all__ = [
    "IdleCpuParams",
    "IdleStorageParams",
    "OversizedCpuParams",
    "PlatformUtilizationParams",
    "StaleResourceParams",
    "keep_gb",
    "recommend_vcpu",
]
