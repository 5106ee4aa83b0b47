"""The demo's story: examples/ (inventory + two weeks of console exports) through the drop folder, the
roll-up and the rules of rules/, evaluated as of 2026-11-16 09:00 +08:00, give exactly the planted resource
findings with the monthly costs computed here by hand. On SQLite and PostgreSQL (`store`).

Planted (scripts/make-utilization-examples.py writes the exports):
- idle_cpu: JWY-VM-0003 (警务云), XYD-VM-0004 (新一代, a fixed-fee platform: notional prices);
- oversized_cpu: JWY-VM-0004 (32 -> 12 vCPU), XYD-VM-0002 (32 -> 8 vCPU);
- idle_storage: JWY-VOL-0002 (peak 920 GB of 8192), XYD-VOL-0001 (peak 1500 GB of 10240);
- stale_resource: JWY-VM-0008 (silent since 2026-11-11 10:00), XYD-VM-0003 (since 2026-11-09 18:00);
- platform_utilization: 新一代公安信息网云平台;
and not flagged: JWY-VM-0001 (busy), JWY-VM-0002 (a nightly batch at 90 % 01:00-03:00), the rest.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ops_watch.areas.resources import utilization
from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import load_rules
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store
from ops_watch.store.schema import Finding

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)
JWY, XYD = "警务云", "新一代公安信息网云平台"
VCPU, MEM, DISK = 80.0, 20.0, 0.6  # CNY a month, rules/contract.toml (both platforms; XYD's are notional)


def _keep(peak_gb: float) -> float:
    return math.ceil(peak_gb * 1.3 / 10 - 1e-9) * 10  # peak + 30 % headroom in 10 GB steps


PLANTED = {
    # (check, subject): (reclaim_vcpu, reclaim_memory_gb, reclaim_storage_gb, monthly_cost, cost_basis)
    ("idle_cpu", "JWY-VM-0003"): (8, 16.0, 0.0, 8 * VCPU + 16 * MEM, "unit_price"),  # 960
    ("idle_cpu", "XYD-VM-0004"): (8, 16.0, 0.0, 8 * VCPU + 16 * MEM, "notional"),  # 960
    ("oversized_cpu", "JWY-VM-0004"): (20, 0.0, 0.0, 20 * VCPU, "unit_price"),  # 1600
    ("oversized_cpu", "XYD-VM-0002"): (24, 0.0, 0.0, 24 * VCPU, "notional"),  # 1920
    ("idle_storage", "JWY-VOL-0002"): (
        0,
        0.0,
        8192 - _keep(920),
        (8192 - 1200) * DISK,
        "unit_price",
    ),  # 4195.2
    ("idle_storage", "XYD-VOL-0001"): (
        0,
        0.0,
        10240 - _keep(1500),
        (10240 - 1950) * DISK,
        "notional",
    ),  # 4974
    ("stale_resource", "JWY-VM-0008"): (
        4,
        16.0,
        300.0,
        4 * VCPU + 16 * MEM + 300 * DISK,
        "unit_price",
    ),  # 820
    ("stale_resource", "XYD-VM-0003"): (16, 32.0, 1024.0, 16 * VCPU + 32 * MEM + 1024 * DISK, "notional"),
    ("platform_utilization", XYD): (0, 0.0, 0.0, None, "notional"),  # valued from its own figures below
}


@pytest.fixture
def evaluated(store: Store, tmp_path: Path) -> Store:
    config = Config.model_validate(
        {"paths": {"state_dir": str(tmp_path / "var")}, "ingest": {"drop_dir": str(tmp_path / "drop")}}
    )
    for kind in ("inventory", "utilization"):
        shutil.copytree(ROOT / "examples" / kind, config.drop_dir / kind)
    settled = time.time() - 60
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (settled, settled))
    results = {r.path.name: r for r in ingest_drop_folder(store, config)}
    assert {name: r.status for name, r in results.items() if name.startswith("utilization")} == {
        "utilization-jwy-2026-11-02.csv": "accepted",
        "utilization-jwy-2026-11-09.csv": "accepted",
        "utilization-xyd-2026-11-02.csv": "accepted",
        "utilization-xyd-2026-11-09.csv": "accepted",
    }
    assert utilization.rollup(store, AS_OF) > 0
    result = engine.evaluate(store, load_rules(ROOT / "rules"), AS_OF, zone=ZONE)
    assert result.failed_rules == {}
    return store


def test_exactly_the_planted_resources_are_found_with_their_monthly_cost(evaluated: Store) -> None:
    with evaluated.session() as s:
        findings = s.scalars(select(Finding).where(Finding.area == "resources")).all()
        found = {(f.check, f.subject): f for f in findings}
        assert set(found) == set(PLANTED)  # nothing more, nothing less: the busy and the batch VMs stay out
        for key, (vcpu, mem, disk, cost, basis) in PLANTED.items():
            e = found[key].evidence
            assert (e["reclaim_vcpu"], e["reclaim_memory_gb"], e["reclaim_storage_gb"]) == (
                vcpu,
                mem,
                disk,
            ), key
            assert (e["cost_basis"], e["currency"]) == (basis, "CNY"), key
            if cost is not None:
                assert e["monthly_cost"] == pytest.approx(cost), key
            assert all(f.status == "open" for f in findings)

        oversized = {k[1]: found[k].evidence["recommended_vcpu"] for k in found if k[0] == "oversized_cpu"}
        assert oversized == {"JWY-VM-0004": 12, "XYD-VM-0002": 8}
        platform = found[("platform_utilization", XYD)].evidence
        assert platform["cpu_pct"] < 20 and platform["memory_pct"] < 40
        assert platform["monthly_cost"] == pytest.approx(
            platform["unused_vcpu"] * VCPU + platform["unused_memory_gb"] * MEM, abs=0.5
        )
        idle = found[("idle_cpu", "JWY-VM-0003")]
        assert "可回收 8 vCPU、16 GB 内存，按合同单价每月 960.00 元" in idle.summary
        assert "回收不减少本期支出" in found[("idle_cpu", "XYD-VM-0004")].summary
        assert "最后一次 2026-11-11 10:00" in found[("stale_resource", "JWY-VM-0008")].summary

        rows = utilization.reclaim_list(s, AS_OF)
        totals = utilization.reclaim_totals(rows)
        usage = utilization.usage_summary(s, AS_OF, zone=ZONE)
    assert {(r["check"], r["resource_id"]) for r in rows} == {
        k for k in PLANTED if k[0] != "platform_utilization"
    }
    # Saved at unit prices (警务云): 960 + 1600 + 4195.20; worth at notional prices (新一代): 960 + 1920 + 4974;
    # to verify first (stale): 820 + 2534.40.
    assert totals["monthly_saving"] == pytest.approx(960 + 1600 + 4195.2)
    assert totals["notional_monthly"] == pytest.approx(960 + 1920 + 4974)
    assert totals["to_verify_monthly"] == pytest.approx(820 + 2534.4)
    platforms = {r["platform"]: r for r in usage if r["tenant_unit"] is None}
    assert platforms[JWY]["cpu_pct"] >= 20 and platforms[JWY]["memory_pct"] >= 40
    assert platforms[XYD]["cpu_pct"] < 20


def test_the_busy_and_the_nightly_batch_vms_are_measured_and_left_alone(evaluated: Store) -> None:
    with evaluated.session() as s:
        win = utilization.lookback_window(AS_OF, utilization.HOUR * 24 * 14)
        figures = utilization.cpu_figures(s, win, ["JWY-VM-0001", "JWY-VM-0002"])
        subjects = set(s.scalars(select(Finding.subject).where(Finding.area == "resources")))
    assert figures["JWY-VM-0001"].mean > 60  # busy
    batch = figures["JWY-VM-0002"]
    assert batch.mean < 10 and batch.busiest_hour_pct > 85  # quiet all day, 90 % in the night
    assert batch.hours / win.hours >= 0.8  # measured well enough to be judged: judged in use
    assert not {"JWY-VM-0001", "JWY-VM-0002"} & subjects
