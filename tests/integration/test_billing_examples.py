"""The demo's money story (R11): examples/inventory, examples/statement and examples/explanation through the
drop folder and the rules of rules/, with the [billing] terms this test writes into contract.toml (the ones
docs/money.md proposes), evaluated as of 2026-11-16 09:00 +08:00. Then `ops-watch billing reconcile`.
On SQLite and PostgreSQL (`store`).

Planted in examples/statement/对账单_2026-10.csv, against October from the inventory (12 VMs and hosts,
224 vCPU, 1,096 GB of memory, 35,080 GB of storage on 警务云 all month; 新一代 a fixed fee of 718,175.00 a
quarter):
- vCPU billed 235 × 80.00 = 18,800.00 against 224 × 80.00 = 17,920.00: +880.00 (+4.9 %), a mismatch;
- storage billed 35,100 GB against 35,080: +12.00 (+0.06 %), within the tolerance: no finding;
- a GPU line no resource has: unmatched;
- memory and the fixed fee (718,175.00 ÷ 3 = 239,391.67) as measured.
Cost targets for October: 警务云 55,000.00 (actual 67,780.00, +23.2 %, explained in 偏差说明.csv), 新一代
200,000.00 (actual 239,391.67, +19.7 %, unexplained: a finding), all platforms 300,000.00 (307,171.67, +2.4 %).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import dump_toml
from sqlalchemy import select

from ops_watch.cli import main
from ops_watch.config import load_config
from ops_watch.findings import engine
from ops_watch.findings.rules import load_rules
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store
from ops_watch.store.schema import Finding

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)
JWY, XYD = "警务云", "新一代公安信息网云平台"
FIXED_FEE = {"fee_per_quarter": "718175.00", "service_start": "2024-03-01", "service_end": "2027-03-01"}
BILLING: dict[str, Any] = {
    "tolerance_pct": 1.0,
    "tolerance_amount": "100.00",
    "deviation_pct": 10,
    "cost_targets": [
        {"indicator": "警务云月度资源费", "period": "2026-10", "platform": JWY, "target": "55000.00"},
        {"indicator": "新一代云平台月度服务费", "period": "2026-10", "platform": XYD, "target": "200000.00"},
        {"indicator": "云平台月度总费用", "period": "2026-10", "target": "300000.00"},
    ],
}
PLANTED = {
    ("billing-mismatch", "2026-10 警务云 vcpu"),
    ("billing-mismatch", "2026-10 警务云 GPU"),
    ("cost-deviation-unexplained", "2026-10 新一代云平台月度服务费"),
}
MY_RULES = ("billing-mismatch", "cost-deviation-unexplained")


def contract_text() -> str:
    """The repo's contract.toml with the fixed fee and the [billing] terms (whether or not merged there yet)."""
    data = tomllib.loads((ROOT / "rules" / "contract.toml").read_text(encoding="utf-8"))
    xyd = data["platforms"][XYD]
    xyd.update(
        {k: v if k == "fee_per_quarter" else datetime.fromisoformat(v).date() for k, v in FIXED_FEE.items()}
    )
    data["billing"] = BILLING
    return dump_toml(data)


@pytest.fixture
def demo(store: Store, store_url: str, config_file: Any, tmp_path: Path) -> Path:
    """The examples ingested through the drop folder; returns the config (its rules carry the terms)."""
    config_path = config_file(f'[store]\nurl = "{store_url}"\n')
    (tmp_path / "rules" / "contract.toml").write_text(contract_text(), encoding="utf-8")
    config = load_config(config_path)
    for kind in ("inventory", "statement", "explanation"):
        shutil.copytree(ROOT / "examples" / kind, config.drop_dir / kind)
    settled = time.time() - 60
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (settled, settled))
    results = {r.path.name: (r.status, r.rows_bad) for r in ingest_drop_folder(store, config)}
    assert results["对账单_2026-10.csv"] == ("accepted", 0)
    assert results["偏差说明.csv"] == ("accepted", 0)
    assert results["inventory-2026-11.csv"] == ("partial", 2)  # its own planted bad rows (issue 2)
    return config_path


def test_exactly_the_planted_money_findings(demo: Path, store: Store) -> None:
    rules = load_rules(load_config(demo).rules_dir)
    result = engine.evaluate(store, rules, AS_OF, zone=ZONE)
    assert not set(MY_RULES) & set(result.failed_rules), result.failed_rules
    with store.session() as s:
        found = {
            (f.rule_id, f.subject): f for f in s.scalars(select(Finding).where(Finding.rule_id.in_(MY_RULES)))
        }
        assert set(found) == PLANTED
        vcpu = found[("billing-mismatch", "2026-10 警务云 vcpu")]
        assert vcpu.severity == "warning" and vcpu.status == "open"
        e = vcpu.evidence
        assert (e["billed"]["quantity"], e["billed"]["unit_price"], e["billed"]["amount"]) == (
            "235",
            "80.00",
            "18800.00",
        )
        assert (e["measured"]["quantity"], e["measured"]["amount"], e["measured"]["resources"]) == (
            "224.0000",
            "17920.00",
            12,
        )
        assert (e["difference"], e["difference_pct"]) == ("880.00", "4.91")
        assert (
            "账单 235 vCPU·月 × 80.00 = 18,800.00 元；实测 224 vCPU·月 × 80.00 = 17,920.00 元" in vcpu.summary
        )
        assert "差额 +880.00 元（+4.9 %）" in vcpu.summary
        gpu = found[("billing-mismatch", "2026-10 警务云 GPU")]
        assert gpu.evidence["reason"] == "unknown_item" and gpu.evidence["billed"]["amount"] == "6000.00"
        deviation = found[("cost-deviation-unexplained", "2026-10 新一代云平台月度服务费")].evidence
        assert (deviation["actual"], deviation["target"], deviation["deviation_pct"]) == (
            "239391.67",
            "200000.00",
            "19.70",
        )
    again = engine.evaluate(
        store, rules, AS_OF, zone=ZONE
    )  # stable fingerprints: nothing new, nothing resolved
    assert again.opened == [] and again.resolved == []


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_reconcile_command_shows_both_computations_and_the_totals(demo: Path) -> None:
    out = cli(demo, "billing", "reconcile", "--month", "2026-10", "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    rows = {(r["platform"], r["item"]): r for r in data["lines"]}
    assert {k: r["status"] for k, r in rows.items()} == {
        (JWY, "vcpu"): "mismatch",
        (JWY, "memory_gb"): "ok",
        (JWY, "storage_gb"): "ok",
        (XYD, "fixed_fee"): "ok",
        (JWY, "GPU"): "unmatched",
    }
    assert rows[(JWY, "storage_gb")]["difference"] == "12.00"
    assert rows[(XYD, "fixed_fee")]["measured_amount"] == "239391.67"
    totals = data["totals"]
    assert (totals["billed_amount"], totals["measured_amount"], totals["difference"]) == (
        "307171.67",
        "300279.67",
        "6892.00",
    )
    assert totals["billed_unmatched_amount"] == "6000.00" and totals["lines_mismatch"] == 1

    table = cli(demo, "billing", "reconcile", "--month", "2026-10")
    assert table.exit_code == 0
    assert "18,800.00" in table.output and "17,920.00" in table.output and "+4.9 %" in table.output
    assert "合计：账单 307,171.67 元，核算 300,279.67 元，差额 +6,892.00 元" in table.output
    assert "无对应资源 1 行（计 6,000.00 元）" in table.output

    csv = cli(demo, "billing", "reconcile", "--month", "2026-10", "--format", "csv")
    lines = csv.output.splitlines()
    assert lines[0].startswith("\ufeffmonth,platform,item,status,")
    assert lines[-1].startswith("2026-10,合计,") and "307171.67,,,300279.67,6892.00" in lines[-1]


def test_reconcile_refuses_a_bad_month(demo: Path) -> None:
    out = CliRunner().invoke(main, ["--config", str(demo), "billing", "reconcile", "--month", "2026-13"])
    assert out.exit_code == 2 and "--month" in out.output and "2026-11, 2026/11 or 2026年11月" in out.output


def test_a_month_without_statement_lists_what_should_be_billed(demo: Path) -> None:
    out = cli(demo, "billing", "reconcile", "--month", "2026-09", "--format", "json")
    data = json.loads(out.output)
    assert not data["has_statement"] and {r["status"] for r in data["lines"]} == {"not_billed"}
    # JWY-VM-0010 was refused by the inventory ingest; the rest were all allocated in September.
    vcpu = next(r for r in data["lines"] if r["item"] == "vcpu")
    assert vcpu["measured_amount"] == "17920.00" and vcpu["resources"] == 12
