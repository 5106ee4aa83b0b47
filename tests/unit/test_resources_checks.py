"""The resource checks on hand-made roll-ups: thresholds and their boundaries, coverage, the nightly batch,
oversized rounding, storage headroom, prices (unit, notional, none), the reclaim list, the lifecycle.

Checks read the store, so these run on SQLite and on PostgreSQL (`store`, tests/conftest.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import delete, insert, select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.money import pricing
from ops_watch.areas.resources import utilization
from ops_watch.areas.resources.checks import (
    IdleCpuParams,
    IdleStorageParams,
    OversizedCpuParams,
    PlatformUtilizationParams,
    StaleResourceParams,
    idle_cpu,
    idle_storage,
    keep_gb,
    oversized_cpu,
    platform_utilization,
    recommend_vcpu,
    stale_resource,
)
from ops_watch.areas.resources.sampling import parse_interval
from ops_watch.config import ConfigError
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.registry import CheckContext, FindingDraft, Params
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.store import Store
from ops_watch.store.schema import Finding, InventoryResource, UtilizationHourly

ZONE = ZoneInfo("Asia/Shanghai")
# Judged: each complete site day of November up to the 15th; the last day's window is the 336 hours before
# Monday 00:00 (site time), the hours HOURS fills.
AT = datetime(2026, 11, 16, 0, 20, tzinfo=ZONE)
END = datetime(2026, 11, 15, 16, tzinfo=UTC)
HOURS = [END - timedelta(hours=k) for k in range(336, 0, -1)]
JWY, XYD = "警务云", "新一代公安信息网云平台"
CONTRACT_TOML = """
[platforms."警务云"]
billing = "unit_price"
vcpu_month = 80.0
memory_gb_month = 20.0
storage_gb_month = 0.6

[platforms."新一代公安信息网云平台"]
billing = "fixed_fee"
notional = { vcpu_month = 80.0, memory_gb_month = 20.0, storage_gb_month = 0.6 }

[platforms."政务外网云"]
billing = "fixed_fee"
"""
REQUIRED_KEYS = {
    "resource_id",
    "platform",
    "tenant_unit",
    "type",
    "window_days",
    "coverage",
    "reclaim_vcpu",
    "reclaim_memory_gb",
    "reclaim_storage_gb",
    "recommended_vcpu",
    "monthly_cost",
    "currency",
}

plugins.load()


def contract() -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(CONTRACT_TOML), "contract.toml", problems)
    assert problems == []
    return out


def resource(
    store: Store,
    rid: str,
    *,
    type: str = "vm",
    vcpu: int = 8,
    memory_gb: float = 16,
    storage_gb: float = 500,
    platform: str = JWY,
    unit: str = "刑侦支队",
    allocated_from: date | None = date(2025, 1, 1),
    allocated_to: date | None = None,
    sample_interval: str | None = None,
) -> None:
    with store.session() as s:
        s.add(
            InventoryResource(
                resource_id=rid,
                platform=platform,
                tenant_unit=unit,
                type=type,
                vcpu=vcpu,
                memory_gb=memory_gb,
                storage_gb=storage_gb,
                backup_required=False,
                address="",
                allocated_from=allocated_from,
                allocated_to=allocated_to,
                sample_interval_s=parse_interval(sample_interval) if sample_interval else None,
                updated_at=END,
            )
        )


def hours(
    store: Store,
    rid: str,
    cpu: Callable[[datetime], float | None] | float | None = None,
    *,
    mem: float | None = 50.0,
    used: float | None = None,
    p95: Callable[[datetime], float | None] | None = None,
    when: Iterable[datetime] = HOURS,
    samples: int = 12,
) -> None:
    """Hourly roll-ups of `rid` (`samples` raw samples each: 12 is every 5 minutes): cpu is a figure or a
    function of the hour (UTC start)."""
    rows = []
    for h in when:
        value = cpu(h) if callable(cpu) else cpu
        rows.append(
            {
                "resource_id": rid,
                "hour": h,
                "samples": samples,
                "cpu_mean": value,
                "cpu_max": None if value is None else min(100.0, value * 1.5),
                "cpu_p95": (p95(h) if p95 else value) if value is not None else None,
                "mem_mean": None if value is None else mem,
                "mem_max": None if value is None else mem,
                "mem_p95": None if value is None else mem,
                "storage_used_gb": used,
                "storage_total_gb": None,
            }
        )
    with store.session() as s:
        s.execute(insert(UtilizationHourly), rows)


def run(
    store: Store, fn: Callable[..., Iterable[FindingDraft]], params: Params, language: str = "zh"
) -> dict[str, FindingDraft]:
    with store.session() as s:
        ctx = CheckContext(session=s, at=AT, zone=ZONE, contract=contract(), language=language)
        return {d.subject: d for d in fn(ctx, params)}


def local_hour(h: datetime) -> int:
    return h.astimezone(ZONE).hour


# --- idle_cpu ----------------------------------------------------------------------------------------------


def test_an_idle_vm_is_reclaimable_whole_at_unit_prices(store: Store) -> None:
    resource(store, "vm-idle")
    hours(store, "vm-idle", lambda h: 0.5 + (h.hour % 3) * 0.5)
    found = run(store, idle_cpu, IdleCpuParams())
    assert list(found) == ["vm-idle"]
    d = found["vm-idle"]
    assert REQUIRED_KEYS <= set(d.evidence)
    e = d.evidence
    assert (e["reclaim_vcpu"], e["reclaim_memory_gb"], e["reclaim_storage_gb"]) == (8, 16.0, 0.0)
    assert (e["monthly_cost"], e["currency"], e["cost_basis"], e["action"]) == (
        960.0,
        "CNY",
        "unit_price",
        "reclaim",
    )
    assert (e["window_days"], e["coverage"], e["cpu_p95_pct"], e["busiest_hour_pct"]) == (14.0, 1.0, 1.5, 1.5)
    assert e["busy_days"] == [] and e["platform"] == JWY and e["type"] == "vm"
    # One finding per idle spell: its period starts with the first day judged idle (the first whose 14-day
    # window holds 80 % of the samples expected), and it is still going on.
    assert (d.period_start, d.period_end, d.ended) == (datetime(2026, 11, 13, tzinfo=ZONE), None, False)
    assert (e["first_day"], e["last_day"], e["ongoing"]) == ("2026-11-13", "2026-11-15", True)
    assert (e["sample_interval"], e["sample_interval_source"]) == ("5m", "inferred")
    assert "可回收 8 vCPU、16 GB 内存" in d.summary and "每月 960.00 元" in d.summary


def test_a_nightly_batch_vm_is_in_use_even_when_its_p95_is_low(store: Store) -> None:
    # One hour a night at 90 %: 14 of 336 hours, under 5 %, so the p95 alone would call it idle.
    resource(store, "vm-batch")
    hours(store, "vm-batch", lambda h: 90.0 if local_hour(h) == 1 else 1.0)
    assert run(store, idle_cpu, IdleCpuParams()) == {}
    # A rule that tolerates 14 busy days calls it idle: the days, not the p95, decided.
    lenient = run(store, idle_cpu, IdleCpuParams(max_busy_days=14))
    assert lenient["vm-batch"].evidence["cpu_p95_pct"] == 1.0
    assert len(lenient["vm-batch"].evidence["busy_days"]) == 14


def test_busy_days_are_site_days_and_counted(store: Store) -> None:
    resource(store, "vm-rare")
    busy = {datetime(2026, 11, 10, 2, tzinfo=ZONE), datetime(2026, 11, 12, 23, tzinfo=ZONE)}
    hours(store, "vm-rare", lambda h: 50.0 if h in busy else 1.0)
    assert run(store, idle_cpu, IdleCpuParams(max_busy_days=1)) == {}
    found = run(store, idle_cpu, IdleCpuParams(max_busy_days=2))
    assert found["vm-rare"].evidence["busy_days"] == ["2026-11-10", "2026-11-12"]


@pytest.mark.parametrize(("p95", "idle"), [(3.0, True), (3.01, False)])
def test_the_p95_threshold_is_inclusive(store: Store, p95: float, idle: bool) -> None:
    resource(store, "vm-1")
    hours(store, "vm-1", 1.0, p95=lambda h: p95)
    assert ("vm-1" in run(store, idle_cpu, IdleCpuParams())) is idle


def test_five_percent_of_hours_may_sit_above_the_p95_line(store: Store) -> None:
    # Nearest rank over 336 hours: rank 320, so 16 hours above the line still leave the p95 on it.
    for rid, above in (("vm-16", 16), ("vm-17", 17)):
        resource(store, rid)
        hours(store, rid, 1.0, p95=lambda h, above=above: 8.0 if HOURS.index(h) < above else 2.0)
    found = run(store, idle_cpu, IdleCpuParams())
    assert list(found) == ["vm-16"] and found["vm-16"].evidence["cpu_p95_pct"] == 2.0


@pytest.mark.parametrize(("peak", "idle"), [(10.0, True), (10.01, False)])
def test_the_busy_hour_threshold_is_inclusive(store: Store, peak: float, idle: bool) -> None:
    resource(store, "vm-1")
    hours(store, "vm-1", lambda h: peak if h == HOURS[100] else 1.0, p95=lambda h: 1.0)
    assert ("vm-1" in run(store, idle_cpu, IdleCpuParams())) is idle


@pytest.mark.parametrize(("sampled", "judged"), [(269, True), (268, False)])
def test_too_little_data_is_not_idle(store: Store, sampled: int, judged: bool) -> None:
    # 80 % of 336 hours is 268.8: 269 sampled hours are enough, 268 are not.
    resource(store, "vm-1")
    hours(store, "vm-1", 1.0, when=HOURS[-sampled:])
    found = run(store, idle_cpu, IdleCpuParams())
    assert ("vm-1" in found) is judged
    if judged:
        assert found["vm-1"].evidence["coverage"] == round(269 / 336, 3)


def test_hosts_are_judged_volumes_never_and_unallocated_resources_not_at_all(store: Store) -> None:
    resource(store, "host-1", type="host", vcpu=64, memory_gb=512)
    resource(store, "gone", allocated_to=date(2026, 10, 31))
    resource(store, "not-yet", allocated_from=date(2026, 11, 20))
    resource(store, "vol-1", type="volume", vcpu=0, memory_gb=0, storage_gb=1000)
    for rid in ("host-1", "gone", "not-yet"):
        hours(store, rid, 1.0)
    hours(store, "vol-1", None, used=900.0)
    assert list(run(store, idle_cpu, IdleCpuParams())) == ["host-1"]
    assert run(store, idle_cpu, IdleCpuParams(types=["vm"])) == {}
    with pytest.raises(ValidationError):
        IdleCpuParams.model_validate({"types": ["volume"]})


# --- oversized_cpu -----------------------------------------------------------------------------------------


def test_an_oversized_vm_gets_the_smallest_size_that_holds_its_p95(store: Store) -> None:
    resource(store, "vm-big", vcpu=32, memory_gb=128)
    hours(store, "vm-big", lambda h: 20.0 if 9 <= local_hour(h) < 18 else 6.0)
    d = run(store, oversized_cpu, OversizedCpuParams())["vm-big"]
    e = d.evidence
    assert REQUIRED_KEYS <= set(e)
    # 32 × 20 % ÷ 70 % = 9.14 vCPU -> size 12; 20 of 32 reclaimed.
    assert (e["cpu_p95_pct"], e["needed_vcpu"], e["recommended_vcpu"], e["reclaim_vcpu"]) == (
        20.0,
        9.14,
        12,
        20,
    )
    assert (e["reclaim_memory_gb"], e["monthly_cost"], e["action"]) == (0.0, 1600.0, "resize")
    assert "由 32 核调整为 12 核" in d.summary and "每月 1,600.00 元" in d.summary


@pytest.mark.parametrize(("p95", "recommended"), [(35.0, 8), (35.1, None)])
def test_oversized_on_the_size_boundary(store: Store, p95: float, recommended: int | None) -> None:
    # 16 × 35 % ÷ 70 % = 8.0 exactly: size 8 holds it and half the vCPUs go. A hair more needs 12: a trim.
    resource(store, "vm-16", vcpu=16)
    hours(store, "vm-16", p95 - 10, p95=lambda h: p95)
    found = run(store, oversized_cpu, OversizedCpuParams())
    assert (found["vm-16"].evidence["recommended_vcpu"] if found else None) == recommended


def test_recommendation_rounding() -> None:
    sizes = [1, 2, 4, 8, 12, 16, 24, 32]
    assert recommend_vcpu(32, 20.0, 70.0, sizes) == pytest.approx((9.142857, 12))
    assert recommend_vcpu(16, 35.0, 70.0, sizes)[1] == 8
    assert recommend_vcpu(8, 0.0, 70.0, sizes)[1] == 1
    assert recommend_vcpu(6, 90.0, 70.0, sizes)[1] == 6  # never above the current size
    assert recommend_vcpu(64, 95.0, 70.0, sizes)[1] == 64  # nothing on the ladder holds it


def test_an_idle_vm_is_reported_once_by_idle_cpu_not_again_as_oversized(store: Store) -> None:
    resource(store, "vm-idle", vcpu=32)
    resource(store, "vm-busy", vcpu=32)
    hours(store, "vm-idle", 1.0)
    hours(store, "vm-busy", 80.0)
    assert list(run(store, idle_cpu, IdleCpuParams())) == ["vm-idle"]
    assert run(store, oversized_cpu, OversizedCpuParams()) == {}
    # The same VM a little busier than idle is oversized (32 -> 1 would be absurd: the ladder starts at 1).
    assert list(run(store, oversized_cpu, OversizedCpuParams(idle_max_p95_pct=0.5))) == ["vm-idle"]


def test_a_short_nightly_job_is_use_for_idle_cpu_and_its_size_follows_the_p95(store: Store) -> None:
    # One hour a night at 90 %: not idle (a busy hour every day), and the p95 (1 %) sizes it. The evidence
    # shows the busiest hour, so whoever resizes sees the job it will slow down.
    resource(store, "vm-job", vcpu=16)
    hours(store, "vm-job", lambda h: 90.0 if local_hour(h) == 1 else 1.0)
    assert run(store, idle_cpu, IdleCpuParams()) == {}
    e = run(store, oversized_cpu, OversizedCpuParams())["vm-job"].evidence
    assert (e["cpu_p95_pct"], e["busiest_hour_pct"], e["recommended_vcpu"]) == (1.0, 90.0, 1)


def test_oversized_needs_coverage_and_applies_to_vms_only(store: Store) -> None:
    resource(store, "vm-short", vcpu=32)
    resource(store, "host-1", type="host", vcpu=64)
    hours(store, "vm-short", 10.0, when=HOURS[-100:])
    hours(store, "host-1", 10.0)
    assert run(store, oversized_cpu, OversizedCpuParams()) == {}
    with pytest.raises(ValidationError):
        OversizedCpuParams.model_validate({"types": ["host"]})


# --- idle_storage ------------------------------------------------------------------------------------------


def test_idle_storage_keeps_peak_use_plus_headroom(store: Store) -> None:
    resource(store, "vol-big", type="volume", vcpu=0, memory_gb=0, storage_gb=8192)
    hours(store, "vol-big", None, used=900.0)
    hours(store, "vol-big", None, used=920.0, when=[END + timedelta(hours=5)])  # after the window: unseen
    with store.session() as s:
        s.execute(
            UtilizationHourly.__table__.update()
            .where(UtilizationHourly.resource_id == "vol-big", UtilizationHourly.hour == HOURS[7])
            .values(storage_used_gb=920.0)
        )
    d = run(store, idle_storage, IdleStorageParams())["vol-big"]
    e = d.evidence
    assert REQUIRED_KEYS <= set(e)
    # ceil(920 × 1.3 ÷ 10) × 10 = 1200 kept; 8192 - 1200 = 6992 GB at 0.6 = 4195.20 a month.
    assert (e["storage_used_max_gb"], e["keep_gb"], e["reclaim_storage_gb"]) == (920.0, 1200.0, 6992.0)
    assert (e["reclaim_vcpu"], e["monthly_cost"], e["action"]) == (0, 4195.2, "shrink")
    assert "可回收 6992 GB 存储" in d.summary


@pytest.mark.parametrize(("used", "flagged"), [(300.0, True), (300.5, False)])
def test_the_used_share_threshold_is_inclusive(store: Store, used: float, flagged: bool) -> None:
    resource(store, "vol-1", type="volume", vcpu=0, memory_gb=0, storage_gb=1000)
    hours(store, "vol-1", None, used=used)
    assert ("vol-1" in run(store, idle_storage, IdleStorageParams())) is flagged


def test_small_reclaims_are_not_worth_a_finding(store: Store) -> None:
    resource(store, "vol-200", type="volume", vcpu=0, memory_gb=0, storage_gb=200)
    resource(store, "vol-100", type="volume", vcpu=0, memory_gb=0, storage_gb=100)
    hours(store, "vol-200", None, used=10.0)
    hours(store, "vol-100", None, used=10.0)
    found = run(store, idle_storage, IdleStorageParams())
    assert list(found) == ["vol-200"]  # keeps 20 GB, frees 180; the 100 GB one would free 80 (< 100)
    assert keep_gb(1500.0, 0.3, 10.0) == 1950.0  # 1500 × 1.3 is 1950.0000000000002 in floating point
    assert keep_gb(0.0, 0.3, 10.0) == 10.0


# --- prices ------------------------------------------------------------------------------------------------


def test_costs_at_notional_prices_and_without_prices_say_so(store: Store) -> None:
    resource(store, "xyd-idle", platform=XYD)
    resource(store, "gov-idle", platform="政务外网云")
    resource(store, "other-idle", platform="某区县云")
    for rid in ("xyd-idle", "gov-idle", "other-idle"):
        hours(store, rid, 1.0)
    found = run(store, idle_cpu, IdleCpuParams())
    notional = found["xyd-idle"].evidence
    assert (notional["monthly_cost"], notional["cost_basis"], notional["billing"]) == (
        960.0,
        "notional",
        "fixed_fee",
    )
    assert "参考单价" in found["xyd-idle"].summary and "回收不减少本期支出" in found["xyd-idle"].summary
    for rid, words in (("gov-idle", "固定费用平台"), ("other-idle", "合同未列该平台单价")):
        e = found[rid].evidence
        assert (e["monthly_cost"], e["cost_basis"], e["currency"]) == (None, None, "CNY")
        assert words in found[rid].summary
    english = run(store, idle_cpu, IdleCpuParams(), language="en")
    assert "no unit prices" in english["other-idle"].summary
    assert "notional prices" in english["xyd-idle"].summary


def test_the_platforms_contract_section_is_validated() -> None:
    problems: list[str] = []
    parse_contract(
        tomllib.loads(
            """
[platforms.a]
billing = "unit_price"
vcpu_month = 80.0

[platforms.b]
billing = "fixed_fee"
vcpu_month = 80.0

[platforms.c]
billing = "unit_price"
vcpu_month = 1
memory_gb_month = 1
storage_gb_month = 1
colour = "red"
"""
        ),
        "contract.toml",
        problems,
    )
    text = "\n".join(problems)
    assert "platforms.a" in text and "memory_gb_month" in text
    assert "platforms.b" in text and "notional" in text
    assert "platforms.c.colour" in text
    assert pricing.monthly_cost({}, "anything", 1, 1, 1) == pricing.Cost(None, None, None)


# --- platform_utilization ----------------------------------------------------------------------------------


def test_a_platform_below_target_is_flagged_and_one_above_is_not(store: Store) -> None:
    resource(store, "jwy-1", vcpu=16, memory_gb=64)
    resource(store, "xyd-1", vcpu=16, memory_gb=64, platform=XYD, unit="交警支队")
    resource(store, "xyd-2", vcpu=16, memory_gb=64, platform=XYD, unit="网安支队")
    resource(store, "xyd-silent", vcpu=64, memory_gb=256, platform=XYD, unit="网安支队")
    hours(store, "jwy-1", 40.0, mem=60.0)
    hours(store, "xyd-1", 10.0, mem=30.0)
    hours(store, "xyd-2", 20.0, mem=50.0)
    hours(store, "xyd-silent", 90.0, mem=90.0, when=HOURS[:50])  # too little data: not counted
    found = run(store, platform_utilization, PlatformUtilizationParams())
    assert list(found) == [XYD]
    e = found[XYD].evidence
    assert REQUIRED_KEYS <= set(e)
    assert (e["resource_id"], e["tenant_unit"], e["type"]) == (None, None, None)
    assert (e["cpu_pct"], e["memory_pct"], e["measured"], e["resources"]) == (15.0, 40.0, 2, 3)
    assert [b["figure"] for b in e["below"]] == ["CPU mean"]  # 40 % memory is on the target, not below
    assert (e["reclaim_vcpu"], e["recommended_vcpu"], e["cost_basis"]) == (0, None, "notional")
    # Unused on average: 32 - 4.8 = 27.2 vCPU judged (memory is not below, but is judged: 128 - 51.2).
    assert e["unused_vcpu"] == 27.2 and e["monthly_cost"] == pytest.approx(27.2 * 80 + 76.8 * 20)
    assert {u["tenant_unit"] for u in e["tenant_units"]} == {"交警支队", "网安支队"}
    assert "CPU 平均 15.0%（目标 ≥ 20%）" in found[XYD].summary

    by_unit = run(store, platform_utilization, PlatformUtilizationParams(group_by="tenant_unit"))
    assert set(by_unit) == {f"{XYD} / 交警支队"}  # 网安支队: 20 % CPU and 50 % memory, on target
    with pytest.raises(ValidationError):
        PlatformUtilizationParams(min_cpu_pct=None, min_memory_pct=None)


# --- stale_resource ----------------------------------------------------------------------------------------


def test_silent_resources_are_stale_new_and_reclaimed_ones_are_not(store: Store) -> None:
    resource(store, "vm-quiet", vcpu=4, memory_gb=16, storage_gb=300)
    resource(store, "vm-never")
    resource(store, "vm-new", allocated_from=date(2026, 11, 15))
    resource(store, "vm-gone", allocated_to=date(2026, 11, 1))
    resource(store, "vm-fine")
    resource(store, "vol-fine", type="volume", vcpu=0, memory_gb=0)
    hours(store, "vm-quiet", 30.0, when=HOURS[:-100])  # the last 100 hours silent: 4.2 days
    hours(store, "vm-fine", 30.0)
    hours(store, "vol-fine", None, used=100.0)
    found = run(store, stale_resource, StaleResourceParams())
    assert set(found) == {"vm-quiet", "vm-never"}
    e = found["vm-quiet"].evidence
    assert REQUIRED_KEYS <= set(e)
    assert e["last_sample"] == (END - timedelta(hours=100)).isoformat()
    assert e["silent_days"] == round((AT - (END - timedelta(hours=100))) / timedelta(days=1), 2)
    # If it is gone, all of it comes back: 4 × 80 + 16 × 20 + 300 × 0.6 = 820; to be verified first.
    assert (e["reclaim_vcpu"], e["reclaim_memory_gb"], e["reclaim_storage_gb"]) == (4, 16.0, 300.0)
    assert (e["monthly_cost"], e["action"]) == (820.0, "verify")
    assert "请核实" in found["vm-quiet"].summary and "最后一次 2026-11-11 20:00" in found["vm-quiet"].summary
    # The silence is the finding's period: it began when the samples stopped.
    assert found["vm-quiet"].period_start == END - timedelta(hours=100) and not found["vm-quiet"].ended
    assert (
        "从未收到利用率数据" in found["vm-never"].summary
        and found["vm-never"].evidence["last_sample"] is None
    )
    assert set(run(store, stale_resource, StaleResourceParams(max_silence="5d"))) == {"vm-never"}


# --- through the engine: one finding per idle spell, the reclaim list --------------------------------------

RULES = """
[[rule]]
id = "idle-cpu"
check = "idle_cpu"
severity = "warning"

[[rule]]
id = "oversized-cpu"
check = "oversized_cpu"
severity = "info"

[[rule]]
id = "idle-storage"
check = "idle_storage"
severity = "info"

[[rule]]
id = "stale-resource"
check = "stale_resource"
severity = "warning"
"""


def ruleset() -> RuleSet:
    problems: list[str] = []
    rules = parse_rules(tomllib.loads(RULES), "resources.toml", problems)
    if problems:
        raise ConfigError(problems)
    return RuleSet(rules=rules, contract=contract())


def test_a_finding_stays_one_while_idle_and_resolves_when_used(store: Store) -> None:
    resource(store, "vm-idle")
    hours(store, "vm-idle", 1.0)
    hours(store, "vm-idle", 1.0, when=[END + timedelta(hours=k) for k in range(48)])
    rules = ruleset()
    first = engine.evaluate(store, rules, AT, zone=ZONE)
    second = engine.evaluate(store, rules, AT + timedelta(days=1), zone=ZONE)
    assert len(first.opened) == 1 and second.opened == [] and second.still_open == 1

    with store.session() as s:  # it gets used again: the next evaluation resolves it
        s.execute(delete(UtilizationHourly).where(UtilizationHourly.hour >= END + timedelta(hours=24)))
    hours(store, "vm-idle", 60.0, when=[END + timedelta(hours=24 + k) for k in range(24)])
    third = engine.evaluate(store, rules, AT + timedelta(days=2), zone=ZONE)
    assert third.resolved == first.opened


def test_the_reclaim_list_and_its_totals(store: Store) -> None:
    resource(store, "vm-idle")  # 960 at unit prices
    resource(store, "vm-big", vcpu=32)  # 20 vCPU: 1600
    resource(store, "xyd-idle", platform=XYD)  # 960, notional
    resource(store, "vm-quiet", vcpu=4, memory_gb=16, storage_gb=300)  # 820, to verify
    hours(store, "vm-idle", 1.0)
    hours(store, "vm-big", 20.0)
    hours(store, "xyd-idle", 1.0)
    engine.evaluate(store, ruleset(), AT, zone=ZONE)
    with store.session() as s:
        rows = utilization.reclaim_list(s, AT)
        assert utilization.reclaim_list(s, AT - timedelta(days=1)) == []  # before anything was found
    assert [(r["resource_id"], r["check"], r["monthly_cost"]) for r in rows] == [
        ("vm-big", "oversized_cpu", 1600.0),
        ("vm-idle", "idle_cpu", 960.0),
        ("xyd-idle", "idle_cpu", 960.0),
        ("vm-quiet", "stale_resource", 820.0),
    ]
    assert all(r["status"] == "open" and r["finding_id"] for r in rows)
    totals = utilization.reclaim_totals(rows)
    assert (totals["monthly_saving"], totals["notional_monthly"], totals["to_verify_monthly"]) == (
        2560.0,
        960.0,
        820.0,
    )
    assert (totals["reclaim_vcpu"], totals["reclaim_memory_gb"], totals["unpriced"]) == (36, 32.0, 0)


def test_usage_summary_per_platform_and_tenant_unit(store: Store) -> None:
    resource(store, "a", vcpu=10, memory_gb=10, storage_gb=100, unit="u1")
    resource(store, "b", vcpu=30, memory_gb=30, storage_gb=300, unit="u2")
    resource(store, "c", vcpu=8, unit="u2")  # no data: allocated, not measured
    hours(store, "a", 50.0, mem=20.0, used=50.0)
    hours(store, "b", lambda h: 30.0 if HOURS.index(h) % 2 else 10.0, mem=40.0, used=150.0)
    with store.session() as s:
        rows = utilization.usage_summary(s, AT, timedelta(days=14), zone=ZONE)
        assert utilization.usage_summary(s, AT, timedelta(days=14), platform="nowhere", zone=ZONE) == []
    by = {(r["platform"], r["tenant_unit"]): r for r in rows}
    assert [(r["platform"], r["tenant_unit"]) for r in rows] == [(JWY, None), (JWY, "u1"), (JWY, "u2")]
    total = by[(JWY, None)]
    assert (total["resources"], total["measured"], total["vcpu"]) == (3, 2, 48)
    # Used vCPU: 10 × 50 % + 30 × 20 % = 11 of the 40 measured: 27.5 %. Hour by hour it is 5 + 9 = 14 or
    # 5 + 3 = 8, so the p95 of the platform's use is 14 vCPU (35 %).
    assert (total["used_vcpu_mean"], total["cpu_pct"]) == (11.0, 27.5)
    assert (total["used_vcpu_p95"], total["cpu_p95_pct"]) == (14.0, 35.0)
    assert (total["used_memory_gb"], total["memory_pct"]) == (14.0, 35.0)
    assert (total["used_storage_gb"], total["storage_pct"]) == (200.0, 50.0)
    assert (by[(JWY, "u2")]["measured"], by[(JWY, "u2")]["cpu_pct"]) == (1, 20.0)


# --- sampling: each resource at its own interval ----------------------------------------------------------


def every(step: int, offset: int = 0) -> list[datetime]:
    """The hours of the window at which a source sampling every `step` hours took its samples."""
    return [h for h in HOURS if (local_hour(h) - offset) % step == 0]


def test_a_volume_sampled_every_6_hours_is_judged_at_that_interval(store: Store) -> None:
    # 4 samples a day, all there: counted in hours it would look 5/6 missing and never be judged.
    resource(store, "vol-6h", type="volume", vcpu=0, memory_gb=0, storage_gb=2000)
    hours(store, "vol-6h", None, used=125.0, when=every(6, offset=2), samples=1)
    found = run(store, idle_storage, IdleStorageParams())
    e = found["vol-6h"].evidence
    assert (e["sample_interval"], e["sample_interval_source"], e["coverage"]) == ("6h", "inferred", 1.0)
    assert (e["samples_present"], e["samples_expected"], e["reclaim_storage_gb"]) == (56, 56.0, 1830.0)
    assert "采样间隔 6h（按样本推断）" in found["vol-6h"].summary
    # A few missing samples do not move the inferred interval: 7 of 56 missing is 87.5 %.
    with store.session() as s:
        s.execute(delete(UtilizationHourly).where(UtilizationHourly.hour.in_(every(6, offset=2)[::9])))
    e = run(store, idle_storage, IdleStorageParams())["vol-6h"].evidence
    assert (e["sample_interval"], e["samples_present"], e["coverage"]) == ("6h", 49, 0.875)


def test_a_stated_interval_counts_what_is_missing(store: Store) -> None:
    # The inventory says every 6 h; the console delivered one sample in 12 h: half missing, not judged.
    resource(store, "vol-stated", type="volume", vcpu=0, memory_gb=0, storage_gb=2000, sample_interval="6h")
    resource(store, "vol-12h", type="volume", vcpu=0, memory_gb=0, storage_gb=2000)
    for rid in ("vol-stated", "vol-12h"):
        hours(store, rid, None, used=125.0, when=every(12), samples=1)
    found = run(store, idle_storage, IdleStorageParams())
    assert set(found) == {"vol-12h"}  # inferred: 12 h, all present
    assert found["vol-12h"].evidence["sample_interval"] == "12h"
    assert (
        run(store, idle_storage, IdleStorageParams(min_coverage=0.5))["vol-stated"].evidence[
            "sample_interval_source"
        ]
        == "stated"
    )


def test_a_vm_sampled_once_a_day_is_judged_and_an_hourly_one_with_gaps_is_not(store: Store) -> None:
    resource(store, "vm-daily")
    resource(store, "vm-gappy")
    hours(store, "vm-daily", 1.0, when=every(24, offset=10), samples=1)
    # Hourly on 10 of the 14 days: still hourly (the median day), 71 % of its samples: unmeasured.
    hours(
        store, "vm-gappy", 1.0, when=[h for h in HOURS if h.astimezone(ZONE).day % 7 not in (1, 2)], samples=1
    )
    found = run(store, idle_cpu, IdleCpuParams())
    assert set(found) == {"vm-daily"}
    e = found["vm-daily"].evidence
    assert (e["sample_interval"], e["samples_present"], e["coverage"]) == ("1d", 14, 1.0)


# --- episodes: the month judged once says what the month replayed day by day said ------------------------


def test_a_spell_that_ended_is_judged_once_as_it_was_replayed(store: Store, tmp_path: Any) -> None:
    """Idle for the first two weeks of November, busy after: judged on 1 December it is still a finding
    about its period (resolved: it is over), the same one the replay opened on the 1st and closed on the 15th."""
    start = datetime(2026, 10, 19, tzinfo=ZONE).astimezone(UTC)
    busy_from = datetime(2026, 11, 15, tzinfo=ZONE).astimezone(UTC)
    month = [
        start + timedelta(hours=k)
        for k in range(int((END + timedelta(days=16) - start) / timedelta(hours=1)))
    ]
    resource(store, "vm-spell")
    hours(store, "vm-spell", lambda h: 1.0 if h < busy_from else 60.0, when=month)
    rules = ruleset()
    once_at = datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=ZONE)
    replayed = engine.replay(store, rules, date(2026, 11, 2), date(2026, 12, 1), zone=ZONE)
    assert replayed[-1].at == once_at
    with store.session() as s:
        replay_found = {(f.rule_id, f.subject, f.period_start, f.status) for f in s.scalars(select(Finding))}
        s.execute(delete(Finding))
    engine.evaluate(store, rules, once_at, zone=ZONE)
    with store.session() as s:
        once_found = {(f.rule_id, f.subject, f.period_start, f.status) for f in s.scalars(select(Finding))}
        spell = s.scalars(select(Finding).where(Finding.rule_id == "idle-cpu")).one()
        assert (spell.evidence["first_day"], spell.evidence["last_day"]) == ("2026-11-01", "2026-11-14")
        assert spell.evidence["ongoing"] is False and "已结束" in spell.summary
    assert (
        once_found
        == replay_found
        == {("idle-cpu", "vm-spell", datetime(2026, 11, 1, tzinfo=ZONE).astimezone(UTC), "resolved")}
    )
