"""Resource checks (R1, R2): idle and oversized CPU, idle storage, low platform utilization, silent resources.

Every check reads the hourly roll-ups (`utilization_hourly`, see ops_watch/areas/resources/utilization.py) of the resources
the inventory says are allocated on the day of ctx.at, over a look-back window of whole hours ending at
ctx.at. A resource is judged only with enough data: `min_coverage` of the window's hours sampled. One
with too little data is not idle, it is unmeasured; `stale_resource` names those that went silent.

How the thresholds were chosen (docs/resources.md has the long version):
- Azure Advisor recommends shutting a VM down when its P95 CPU stayed under 3 % for 7 days.
- AWS Trusted Advisor calls an instance low-utilization when daily CPU was ≤ 10 % on 4 of 14 days.
- Google's idle-VM recommender: under 0.03 vCPU used for 97 % of 14 days.
Our defaults: 14 days (as AWS and Google: a weekly job is seen twice), the p95 over the window's hours of
the hourly CPU p95 at or below 3 % (Azure's figure, applied to an upper estimate of the raw p95), AND no day
whose busiest hour averaged over 10 % (AWS's figure, applied to every day as a ceiling instead of to 4 days
as an average). The second condition is what keeps a VM running a nightly batch in use: two busy hours a
day are under 5 % of the hours and would pass a p95 test alone. Google's absolute 0.03 vCPU is stricter
than the operating system's own background load on a large VM, so a percentage is used.

Every finding's evidence carries resource_id, platform, tenant_unit, type, window_days, coverage, the
figures that decided it, reclaim_vcpu, reclaim_memory_gb, reclaim_storage_gb, recommended_vcpu,
monthly_cost (CNY at the contract's prices, None without prices), currency, cost_basis and action: the
reclaim list (`ops-watch resources idle`) and the weekly report read them. Fingerprints carry no period:
a resource stays one finding while it stays idle, and it resolves when it is used again.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import case, func, select

from ops_watch.areas.money import pricing
from ops_watch.areas.resources.utilization import (
    HOUR,
    CpuFigures,
    Resource,
    Window,
    above_allowed,
    allocated_resources,
    coverage,
    figures_of,
    hour_start,
    hourly_rows,
    last_sample_hours,
    local_days,
    lookback_window,
    resource_subquery,
    sampled_since,
    usage_summary,
    window_p95,
)
from ops_watch.config import Duration
from ops_watch.core.timeutil import format_local
from ops_watch.findings.registry import CheckContext, FindingDraft, Params, check
from ops_watch.store.schema import UtilizationHourly

_H = UtilizationHourly.__table__.c
ComputeType = Literal["vm", "host"]
AnyType = Literal["vm", "host", "volume"]
DEFAULT_SIZES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128)


# --- shared ----------------------------------------------------------------------------------------------


class WindowParams(Params):
    lookback: Duration = timedelta(days=14)
    # Sampled hours ÷ window hours needed before a resource is judged (below: unmeasured, not idle).
    min_coverage: float = Field(default=0.8, gt=0, le=1)

    @field_validator("lookback")
    @classmethod
    def _at_least_a_day(cls, v: timedelta) -> timedelta:
        if v < timedelta(days=1):
            raise ValueError("lookback must be at least 1d")
        return v


def _day(ctx: CheckContext) -> date:
    return ctx.at.astimezone(ctx.zone).date()


def _aggregate(
    ctx: CheckContext, win: Window, types: Sequence[str], *columns: Any
) -> dict[str, tuple[Any, ...]]:
    """One aggregate row per allocated resource of `types`, over the window's roll-ups (driven by the inventory)."""
    stmt = (
        select(_H.resource_id, *columns)
        .where(
            _H.resource_id.in_(resource_subquery(_day(ctx), types)),
            _H.hour >= win.start,
            _H.hour < win.end,
        )
        .group_by(_H.resource_id)
    )
    return {row[0]: tuple(row[1:]) for row in ctx.session.execute(stmt).all()}


@dataclass
class CpuProfile:
    """A resource's CPU over the window, and its busy days when they were looked for."""

    figures: CpuFigures
    # Site dates whose busiest hour was over the line; None when not looked for (no busy day allowed:
    # then the window's busiest hour alone decides).
    busy_days: list[str] | None = None

    @property
    def p95(self) -> float:
        return self.figures.p95


def cpu_profile(
    rows: Sequence[tuple[Any, ...]], day_of: dict[int, date], busy_hour_pct: float
) -> CpuProfile | None:
    """rows: (hour number, cpu_mean, cpu_p95, cpu_max) by hour; day_of: hour number -> site date."""
    figures = figures_of(rows)
    if figures is None:
        return None
    by_day: dict[date, float] = defaultdict(float)
    for hour, mean, _p95, _max in rows:
        if mean is not None:
            d = day_of[hour]
            if mean > by_day[d]:
                by_day[d] = mean
    return CpuProfile(figures, sorted(d.isoformat() for d, peak in by_day.items() if peak > busy_hour_pct))


CPU_STATS = (
    func.count(_H.cpu_p95),
    func.avg(_H.cpu_mean),
    func.max(_H.cpu_max),
    func.max(_H.cpu_mean),
)  # n, mean, max, busiest hour: the figures of a profile that an aggregate gives


def cpu_profiles(
    ctx: CheckContext,
    win: Window,
    stats: dict[str, tuple[Any, ...]],
    busy_hour_pct: float,
    need_days: bool,
) -> dict[str, CpuProfile]:
    """Profiles of the resources in `stats` (rid -> CPU_STATS values). Without need_days the aggregate's
    figures plus one p95 query a resource do; busy days (a rule allowing some) need every hour read."""
    if need_days:
        day_of = local_days(win, ctx.zone)
        profiles = {}
        for rid, rows in _cpu_rows(ctx, win, list(stats)).items():
            profile = cpu_profile(rows, day_of, busy_hour_pct)
            if profile is not None:
                profiles[rid] = profile
        return profiles
    p95 = window_p95(ctx.session, win, {rid: s[0] for rid, s in stats.items()})
    return {
        rid: CpuProfile(
            CpuFigures(
                hours=n,
                p95=p95[rid],
                mean=mean,
                max_pct=top if top is not None else busiest,
                busiest_hour_pct=busiest,
            )
        )
        for rid, (n, mean, top, busiest) in stats.items()
        if n and rid in p95
    }


def is_idle(profile: CpuProfile, max_p95_pct: float, busy_hour_pct: float, max_busy_days: int) -> bool:
    """The p95 within the line, and no more busy days than allowed (a day whose busiest hour was over
    busy_hour_pct: a nightly batch)."""
    if profile.p95 > max_p95_pct:
        return False
    if profile.busy_days is None:
        return profile.figures.busiest_hour_pct <= busy_hour_pct  # not one busy day
    return len(profile.busy_days) <= max_busy_days


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


def _cpu_rows(ctx: CheckContext, win: Window, ids: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    return hourly_rows(ctx.session, win, ids, ("cpu_mean", "cpu_p95", "cpu_max"))


def _r2(value: float) -> float:
    return round(value, 2)


# --- idle_cpu --------------------------------------------------------------------------------------------


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
    """A VM (or host) whose CPU stayed near zero all window: the p95 of its hourly CPU p95 at or below
    max_p95_pct, and no day whose busiest hour averaged above busy_hour_pct (a nightly batch is use).
    Reclaimable: all its vCPU and memory (its storage is judged by idle_storage)."""
    win = lookback_window(ctx.at, params.lookback)
    resources = {r.resource_id: r for r in allocated_resources(ctx.session, _day(ctx), params.types)}
    stats = _aggregate(
        ctx, win, params.types, *CPU_STATS, func.sum(case((_H.cpu_p95 > params.max_p95_pct, 1), else_=0))
    )
    candidates = {
        rid: values[:4]
        for rid, values in stats.items()
        if rid in resources
        and coverage(win, values[0]) >= params.min_coverage
        and (values[4] or 0) <= above_allowed(values[0])
        and (params.max_busy_days > 0 or (values[3] is not None and values[3] <= params.busy_hour_pct))
    }
    # With no busy day allowed the counts above decide exactly (nearest rank); the figures are for the evidence.
    profiles = cpu_profiles(ctx, win, candidates, params.busy_hour_pct, params.max_busy_days > 0)
    for rid, profile in sorted(profiles.items()):
        if not is_idle(profile, params.max_p95_pct, params.busy_hour_pct, params.max_busy_days):
            continue
        r = resources[rid]
        f = profile.figures
        cov = coverage(win, f.hours)
        evidence, cost = _evidence(
            ctx,
            r,
            win,
            cov,
            {
                "cpu_p95_pct": _r2(f.p95),
                "cpu_mean_pct": _r2(f.mean),
                "cpu_max_pct": _r2(f.max_pct),
                "busiest_hour_pct": _r2(f.busiest_hour_pct),
                "busiest_hour": hour_start(f.busiest_hour).isoformat()
                if f.busiest_hour is not None
                else None,
                "busy_days": profile.busy_days or [],
                "max_p95_pct": params.max_p95_pct,
                "busy_hour_pct": params.busy_hour_pct,
            },
            action="reclaim",
            reclaim_vcpu=r.vcpu,
            reclaim_memory_gb=r.memory_gb,
        )
        days = f"{win.days:g}"
        busiest_at = (
            f"（{format_local(hour_start(f.busiest_hour), ctx.zone)}）" if f.busiest_hour is not None else ""
        )
        amounts = _amounts(ctx, r.vcpu, r.memory_gb, 0)
        yield FindingDraft(
            subject=rid,
            summary=ctx.t(
                f"{_subject_zh(r)}近 {days} 天 CPU 闲置：小时 CPU P95 {f.p95:.1f}%，"
                f"最忙一小时平均 {f.busiest_hour_pct:.1f}%{busiest_at}，数据覆盖 {cov:.0%}。"
                f"可回收 {amounts}{_cost_text(ctx, cost)}。",
                f"{_subject_en(r)} idle for {days} days: hourly CPU p95 {f.p95:.1f} %, busiest hour "
                f"{f.busiest_hour_pct:.1f} %, coverage {cov:.0%}. "
                f"Reclaimable: {amounts}{_cost_text(ctx, cost)}.",
            ),
            evidence=evidence,
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
    A VM that is idle (by the idle_* params) is idle_cpu's, never reported here too."""
    win = lookback_window(ctx.at, params.lookback)
    resources = {r.resource_id: r for r in allocated_resources(ctx.session, _day(ctx), params.types)}
    # Flagging needs recommended ≤ vCPU × (1 - share), so p95 ≤ target × (1 - share): count in SQL first.
    # A VM whose p95 is within the idle line and whose busiest hour is too is idle for sure: idle_cpu's.
    ceiling = params.target_pct * (1 - params.min_reclaim_share)
    stats = _aggregate(
        ctx,
        win,
        params.types,
        *CPU_STATS,
        func.sum(case((_H.cpu_p95 > ceiling, 1), else_=0)),
        func.sum(case((_H.cpu_p95 > params.idle_max_p95_pct, 1), else_=0)),
    )
    candidates = {
        rid: (n, mean, top, busiest)
        for rid, (n, mean, top, busiest, above, above_idle) in stats.items()
        if rid in resources
        and resources[rid].vcpu > 0
        and coverage(win, n) >= params.min_coverage
        and (above or 0) <= above_allowed(n)
        and not (
            (above_idle or 0) <= above_allowed(n)
            and busiest is not None
            and busiest <= params.idle_busy_hour_pct
        )
    }
    profiles = cpu_profiles(ctx, win, candidates, params.idle_busy_hour_pct, params.idle_max_busy_days > 0)
    for rid, profile in sorted(profiles.items()):
        if is_idle(profile, params.idle_max_p95_pct, params.idle_busy_hour_pct, params.idle_max_busy_days):
            continue
        r = resources[rid]
        f = profile.figures
        needed, recommended = recommend_vcpu(r.vcpu, f.p95, params.target_pct, params.sizes)
        reclaim = r.vcpu - recommended
        if reclaim < params.min_reclaim_vcpu or reclaim < r.vcpu * params.min_reclaim_share - 1e-9:
            continue
        cov = coverage(win, f.hours)
        evidence, cost = _evidence(
            ctx,
            r,
            win,
            cov,
            {
                "cpu_p95_pct": _r2(f.p95),
                "cpu_mean_pct": _r2(f.mean),
                "cpu_max_pct": _r2(f.max_pct),
                "busiest_hour_pct": _r2(f.busiest_hour_pct),
                "needed_vcpu": _r2(needed),
                "target_pct": params.target_pct,
            },
            action="resize",
            reclaim_vcpu=reclaim,
            recommended_vcpu=recommended,
        )
        days = f"{win.days:g}"
        headroom = 100 - params.target_pct
        yield FindingDraft(
            subject=rid,
            summary=ctx.t(
                f"{_subject_zh(r)}近 {days} 天 CPU 配置远大于需求：小时 CPU P95 {f.p95:.1f}%，"
                f"留 {headroom:g}% 余量只需 {needed:.1f} 核，建议由 {r.vcpu} 核调整为 {recommended} 核，"
                f"可回收 {reclaim} vCPU{_cost_text(ctx, cost)}。",
                f"{_subject_en(r)} oversized over {days} days: hourly CPU p95 {f.p95:.1f} % needs "
                f"{needed:.1f} vCPU with {headroom:g} % headroom; resize {r.vcpu} → {recommended} vCPU, "
                f"reclaiming {reclaim} vCPU{_cost_text(ctx, cost)}.",
            ),
            evidence=evidence,
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
    """Allocated storage mostly unused all window: the peak used at or below max_used_share of the allocation.
    Reclaimable: the allocation minus the peak use with headroom (rounded up to step_gb)."""
    win = lookback_window(ctx.at, params.lookback)
    resources = {
        r.resource_id: r
        for r in allocated_resources(ctx.session, _day(ctx), params.types)
        if r.storage_gb > 0
    }
    stats = _aggregate(
        ctx,
        win,
        params.types,
        func.count(_H.storage_used_gb),
        func.max(_H.storage_used_gb),
        func.avg(_H.storage_used_gb),
        func.max(_H.storage_total_gb),
    )
    for rid, (n, used_max, used_mean, seen_total) in sorted(stats.items()):
        r = resources.get(rid)
        if r is None or used_max is None:
            continue
        cov = coverage(win, n)
        if cov < params.min_coverage or used_max > params.max_used_share * r.storage_gb:
            continue
        keep = keep_gb(used_max, params.headroom, params.step_gb)
        reclaim = r.storage_gb - keep
        if reclaim < params.min_reclaim_gb or reclaim <= 0:
            continue
        share = used_max / r.storage_gb
        evidence, cost = _evidence(
            ctx,
            r,
            win,
            cov,
            {
                "storage_used_max_gb": _r2(used_max),
                "storage_used_mean_gb": _r2(used_mean),
                "storage_used_share": round(share, 4),
                "storage_total_seen_gb": seen_total,
                "keep_gb": keep,
                "max_used_share": params.max_used_share,
                "headroom": params.headroom,
            },
            action="shrink",
            reclaim_storage_gb=reclaim,
        )
        days = f"{win.days:g}"
        yield FindingDraft(
            subject=rid,
            summary=ctx.t(
                f"{_subject_zh(r)}近 {days} 天存储大部分未用：分配 {r.storage_gb:g} GB，最多只用 "
                f"{used_max:,.0f} GB（{share:.0%}）；留 {params.headroom:.0%} 余量保留 {keep:g} GB，"
                f"可回收 {reclaim:g} GB 存储{_cost_text(ctx, cost)}。",
                f"{_subject_en(r)} storage mostly unused over {days} days: {r.storage_gb:g} GB allocated, "
                f"at most {used_max:,.0f} GB used ({share:.0%}); keeping {keep:g} GB with "
                f"{params.headroom:.0%} headroom frees {reclaim:g} GB{_cost_text(ctx, cost)}.",
            ),
            evidence=evidence,
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
    enough (mean use over the window). The evidence values the capacity unused on average (allocated minus
    mean use) of what is judged at the platform's prices; nothing is reclaimed by this finding itself: the
    per-resource findings say what to reclaim."""
    rows = usage_summary(
        ctx.session, ctx.at, params.lookback, zone=ctx.zone, min_coverage=params.min_coverage, p95=False
    )
    win = lookback_window(ctx.at, params.lookback)
    units: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["tenant_unit"] is not None:
            units[row["platform"]].append(row)
    for row in rows:
        if (row["tenant_unit"] is None) != (params.group_by == "platform"):
            continue
        if params.platforms and row["platform"] not in params.platforms:
            continue
        below = []
        for target_key, figure, capacity, name_zh, name_en in _DIMENSIONS:
            target = getattr(params, target_key)
            if target is None or not row[capacity] or row[figure] is None:
                continue
            if row[figure] < target:
                below.append((row[figure], target, name_zh, name_en))
        if not below:
            continue
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
        subject = (
            row["platform"] if row["tenant_unit"] is None else f"{row['platform']} / {row['tenant_unit']}"
        )
        figures_zh = "、".join(f"{zh} {v:.1f}%（目标 ≥ {t:g}%）" for v, t, zh, _ in below)
        figures_en = ", ".join(f"{en} {v:.1f} % (target ≥ {t:g} %)" for v, t, _, en in below)
        days = f"{win.days:g}"
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
                for u in units[row["platform"]]
            ]
        idle = _amounts(
            ctx,
            round(unused_vcpu) if params.min_cpu_pct is not None else 0,
            round(unused_mem) if params.min_memory_pct is not None else 0,
            round(unused_storage) if params.min_storage_pct is not None else 0,
        )
        yield FindingDraft(
            subject=subject,
            summary=ctx.t(
                f"{subject} 近 {days} 天资源利用率低于目标：{figures_zh}（已测 {row['measured']}/"
                f"{row['resources']} 项资源）。未用容量约 {idle}{_cost_text(ctx, cost)}。",
                f"{subject} utilization below target over {days} days: {figures_en} ({row['measured']} of "
                f"{row['resources']} resources measured). Unused capacity about {idle}{_cost_text(ctx, cost)}.",
            ),
            evidence=evidence,
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
    """Allocated but no sample for max_silence: gone (reclaim it) or not monitored (measure it). A resource
    allocated less than max_silence ago has time to report first. The reclaim figures are its whole
    allocation, marked action = verify: a saving only once someone confirms it is gone."""
    day = _day(ctx)
    since = ctx.at - params.max_silence
    resources = allocated_resources(ctx.session, day, params.types)
    recent = sampled_since(ctx.session, day, since, ctx.at)
    started_by = since.astimezone(ctx.zone).date()
    silent = [
        r
        for r in resources
        if r.resource_id not in recent and (r.allocated_from is None or r.allocated_from <= started_by)
    ]
    last = last_sample_hours(ctx.session, [r.resource_id for r in silent], ctx.at)
    days_allowed = params.max_silence / timedelta(days=1)
    for r in silent:
        last_hour = last.get(r.resource_id)
        last_seen = last_hour + HOUR if last_hour else None
        silent_days = (ctx.at - last_seen) / timedelta(days=1) if last_seen else None
        win = Window(since, ctx.at)
        evidence, cost = _evidence(
            ctx,
            r,
            win,
            0.0,
            {
                "last_sample": last_seen.isoformat() if last_seen else None,
                "silent_days": round(silent_days, 2) if silent_days is not None else None,
                "max_silence_days": round(days_allowed, 2),
            },
            action="verify",
            reclaim_vcpu=r.vcpu,
            reclaim_memory_gb=r.memory_gb,
            reclaim_storage_gb=r.storage_gb,
        )
        amounts = _amounts(ctx, r.vcpu, r.memory_gb, r.storage_gb)
        if last_seen is None:
            what_zh, what_en = "从未收到利用率数据", "has never reported utilization"
        else:
            shown = format_local(last_seen, ctx.zone)
            what_zh = f"已 {silent_days:.1f} 天没有利用率数据（最后一次 {shown}）"
            what_en = f"has reported no utilization for {silent_days:.1f} days (last {shown})"
        yield FindingDraft(
            subject=r.resource_id,
            summary=ctx.t(
                f"{_subject_zh(r)}{what_zh}：可能已停用或未纳入监测，请核实。若确已停用，可回收 "
                f"{amounts}{_cost_text(ctx, cost)}。",
                f"{_subject_en(r)} {what_en}: it may be gone or unmonitored; please verify. If it is gone, "
                f"{amounts} can be reclaimed{_cost_text(ctx, cost)}.",
            ),
            evidence=evidence,
        )


__all__ = [
    "CpuProfile",
    "IdleCpuParams",
    "IdleStorageParams",
    "OversizedCpuParams",
    "PlatformUtilizationParams",
    "StaleResourceParams",
    "cpu_profile",
    "is_idle",
    "keep_gb",
    "recommend_vcpu",
]
