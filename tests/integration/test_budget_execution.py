"""Budget execution from the store: a budget sheet ingested as the center keeps it (Chinese headers, 万元, a 收回
written positive), statements in the store, `budget_status`, the `budget_execution_risk` check through the
engine (opened from warn_from on, stable between evaluations, resolved once money is handed back) and
`ops-watch budget status` in its three formats. On SQLite and PostgreSQL (`store`, `store_url`).
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.money.budget.checks import budget_execution_risk
from ops_watch.areas.money.budget.model import budget_status, wan
from ops_watch.cli import main
from ops_watch.config import load_config
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.registry import CHECKS, CheckContext
from ops_watch.findings.rules import RuleSet, load_rules, parse_rules
from ops_watch.ingest import ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import BillingStatement, BudgetEvent, Finding

plugins.load()

D = Decimal
ZONE = ZoneInfo("Asia/Shanghai")
JWY, XYD = "警务云", "新一代公安信息网云平台"
REPO = Path(__file__).resolve().parents[2]

CONTRACT = f"""
[platforms."{JWY}"]
billing = "unit_price"
vcpu_month = 80.0
memory_gb_month = 20.0
storage_gb_month = 0.6

[platforms."{XYD}"]
billing = "fixed_fee"
fee_per_quarter = "718175.00"
service_start = 2024-03-01
service_end = 2027-03-01

[budget]
target_rate = 90
warn_from = "06-30"

[[budget.planned]]
date = 2026-12-15
amount = "80000.00"
note = "第三方绩效评价服务费"
"""

# The sheet as the finance office keeps it: Chinese headers, 万元 and 元 figures, a 收回 written positive.
SHEET = f"""日期,类型,金额,备注
2026-01-05,初始预算,540万元,2026年度运维服务预算
2026-03-31,支付,"183,564.00",{JWY}2026年第一季度结算
2026-03-31,支付,"718,175.00",{XYD}2026年第一季度服务费
2026-05-20,支付,"96,000.00",等保测评服务费
2026-06-30,支付,"183,564.00",{JWY}2026年第二季度结算
2026-06-30,支付,"718,175.00",{XYD}2026年第二季度服务费
2026-07-15,收回,"800,000.00",年中收回
2026-09-10,调剂,"-200,000.00",调剂
2026-09-30,支付,"181,432.50",{JWY}2026年第三季度结算
2026-09-30,支付,"718,175.00",{XYD}2026年第三季度服务费
"""


def contract(text: str = CONTRACT) -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def add_statements(store: Store) -> None:
    """警务云 statements January to October: 61,188.00 a month, October 59,650.50 (two lines)."""
    now = datetime.now(UTC)
    with store.session() as s:
        for month in range(1, 10):
            s.add(
                BillingStatement(
                    month=f"2026-{month:02d}", platform=JWY, item="vcpu", amount=D("61188.00"), updated_at=now
                )
            )
        s.add(
            BillingStatement(month="2026-10", platform=JWY, item="vcpu", amount=D("40000.00"), updated_at=now)
        )
        s.add(
            BillingStatement(
                month="2026-10", platform=JWY, item="memory_gb", amount=D("19650.50"), updated_at=now
            )
        )


@pytest.fixture
def config(config_file, tmp_path):
    cfg = load_config(config_file())
    (tmp_path / "rules" / "contract.toml").write_text(CONTRACT, encoding="utf-8")
    return cfg


def ingest_sheet(
    store: Store, config: Any, tmp_path: Path, text: str = SHEET, name: str = "预算执行_2026.csv"
):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return ingest_file(store, config, "budget", path)


def test_ingested_sheet_gives_the_status_and_forecast(store, config, tmp_path):
    result = ingest_sheet(store, config, tmp_path)
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 10, 0)
    add_statements(store)
    with store.session() as s:
        kinds = {e.kind for e in s.scalars(select(BudgetEvent))}
        status = budget_status(s, contract(), 2026, date(2026, 11, 16))
    assert kinds == {"initial", "adjustment", "payment"}
    assert (status.initial, status.adjustments, status.final) == (
        D("5400000.00"),
        D("-1000000.00"),
        D("4400000.00"),
    )
    assert status.paid == D("2799085.50") and status.execution_rate == D("63.62")
    assert [(p.platform, p.amount, p.source) for p in status.planned] == [
        ("", D("80000.00"), "contract"),
        (XYD, D("718175.00"), "fixed_fee"),
        (JWY, D("181719.00"), "settlement"),
    ]
    assert status.forecast_rate == D("85.89") and status.forecast_carry_over == D("621020.50")
    assert all(type(e.amount) is Decimal for e in status.events)
    # The same sheet again changes nothing; as of midsummer only what happened by then counts.
    assert ingest_sheet(store, config, tmp_path).status == "duplicate"
    with store.session() as s:
        assert len(list(s.scalars(select(BudgetEvent)))) == 10
        midsummer = budget_status(s, contract(), 2026, date(2026, 7, 1))
    assert midsummer.final == D("5400000.00") and midsummer.paid == D("1899478.00")


def test_the_reports_year_recomputed_from_a_sheet(store, config, tmp_path):
    sheet = """date,kind,amount,note
2023-01-16,initial,3017万元,年初预算
2023-07-20,调剂,-600万元,年中调剂
2023-09-15,收回,421万元,收回
2023-06-30,payment,"7,465,000.00",上半年
2023-12-29,支付,"7,915,300.00",下半年
"""
    assert ingest_sheet(store, config, tmp_path, sheet, "report.csv").status == "accepted"
    with store.session() as s:
        status = budget_status(s, {}, 2023, date(2023, 12, 31))
    assert status.final == D("19960000.00") and status.paid == D("15380300.00")
    assert status.execution_rate == D("77.06") and wan(status.carry_over) == "457.97"


def run_check(store: Store, at: str, text: str = CONTRACT, language: str = "zh"):
    with store.session() as s:
        ctx = CheckContext(session=s, at=local(at), zone=ZONE, contract=contract(text), language=language)
        return list(budget_execution_risk(ctx, CHECKS["budget_execution_risk"].params()))


def test_check_warns_from_warn_from_with_the_money_to_hand_back(store, config, tmp_path):
    ingest_sheet(store, config, tmp_path)
    add_statements(store)
    assert run_check(store, "2026-06-29 12:00") == []  # before warn_from: too early to judge
    (draft,) = run_check(store, "2026-11-16 09:00")
    assert draft.subject == "预算执行 2026"
    # Dated from warn_from (06-30), when the forecast starts to be judged, not from January 1.
    assert draft.period_start == local("2026-06-30 00:00") and draft.period_end is None
    assert "85.89%" in draft.summary and "90.00%" in draft.summary
    assert "现在即可交回 62.10 万元" in draft.summary  # 621,020.50 CNY
    ev = draft.evidence
    assert ev["hand_back"] == "621020.50" and ev["hand_back_wan"] == "62.10"
    assert ev["forecast_rate"] == "85.89" and ev["final"] == "4400000.00"
    assert len(ev["planned"]) == 3 and ev["missing"] == []
    assert json.loads(json.dumps(ev)) == ev  # plain JSON: money as strings
    (en,) = run_check(store, "2026-11-16 09:00", language="en")
    assert en.subject == draft.subject and "could be handed back now" in en.summary
    # On target: no finding.
    assert (
        run_check(store, "2026-11-16 09:00", CONTRACT.replace("target_rate = 90", "target_rate = 85")) == []
    )


def test_engine_keeps_one_finding_and_resolves_it_when_money_is_handed_back(store, config, tmp_path):
    ingest_sheet(store, config, tmp_path)
    add_statements(store)
    data = tomllib.loads((REPO / "rules" / "budget.toml").read_text(encoding="utf-8"))
    problems: list[str] = []
    rules = RuleSet(rules=parse_rules(data, "budget.toml", problems), contract=contract())
    assert problems == [] and [r.check.name for r in rules.rules] == ["budget_execution_risk"]
    first = engine.evaluate(store, rules, local("2026-11-16 09:00"), zone=ZONE)
    again = engine.evaluate(store, rules, local("2026-11-23 09:00"), zone=ZONE)
    assert len(first.opened) == 1 and again.opened == [] and again.resolved == []
    # The center hands back the least the finding named: the forecast reaches the target, the finding resolves.
    with store.session() as s:
        (finding,) = s.scalars(select(Finding))
        assert finding.area == "money" and finding.subject == "预算执行 2026"
        least = D(finding.evidence["hand_back_minimum"])
        s.add(BudgetEvent(date=date(2026, 11, 24), kind="adjustment", amount=-least, note="提前交回"))
    later = engine.evaluate(store, rules, local("2026-11-24 18:00"), zone=ZONE)
    assert later.resolved == first.opened
    with store.session() as s:
        assert budget_status(s, contract(), 2026, date(2026, 11, 24)).forecast_rate >= D("90")


def test_a_year_without_events_gives_no_finding(store):
    assert run_check(store, "2026-11-16 09:00") == []


def test_repo_rules_load_with_the_budget_rule():
    rules = load_rules(REPO / "rules")
    rule = rules.get("budget-execution-risk")
    assert rule is not None and rule.check.name == "budget_execution_risk" and rule.severity == "warning"


# --- the command -------------------------------------------------------------------------------------------


@pytest.fixture
def cli_config(config_file, tmp_path, store_url):
    path = config_file(f'[store]\nurl = "{store_url}"\n')
    (tmp_path / "rules" / "contract.toml").write_text(CONTRACT, encoding="utf-8")
    return path


def cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def test_budget_status_command(cli_config, tmp_path):
    from ops_watch.store import open_store

    cfg = load_config(cli_config)
    store = open_store(cfg.store_url)
    try:
        ingest_sheet(store, cfg, tmp_path)
        add_statements(store)
    finally:
        store.dispose()
    out = cli(cli_config, "budget", "status", "--year", "2026", "--at", "2026-11-16")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    final = next(line for line in lines if line.startswith("final "))
    assert "4,400,000.00" in final and "440" in final
    assert any(line.startswith("forecast_rate ") and "85.89%" in line for line in lines)
    assert any("第三方绩效评价服务费" in line for line in lines)

    js = cli(cli_config, "budget", "status", "--year", "2026", "--at", "2026-11-16", "--format", "json")
    data = json.loads(js.output)
    assert data["paid"] == "2799085.50" and data["forecast_carry_over"] == "621020.50"
    assert data["execution_rate"] == "63.62" and len(data["events"]) == 10

    sheet = cli(cli_config, "budget", "status", "--year", "2026", "--at", "2026-11-16", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(sheet.output.lstrip("\ufeff"))))
    by_item = {r["item"]: r for r in rows}
    assert by_item["carry_over"]["cny"] == "1,600,914.50" and by_item["carry_over"]["wan"] == "160.09"

    # A past year is shown as it ended; events of another year do not count.
    past = cli(cli_config, "budget", "status", "--year", "2025", "--at", "2026-11-16", "--format", "json")
    assert (
        json.loads(past.output)["as_of"] == "2025-12-31" and json.loads(past.output)["execution_rate"] is None
    )


@pytest.mark.parametrize(
    ("year", "message"),
    [("20x6", "is not a year"), ("1999", "out of range"), ("2027", "has not started as of 2026-11-16")],
)
def test_budget_status_refuses_a_bad_year(cli_config, year, message):
    out = CliRunner().invoke(
        main, ["--config", str(cli_config), "budget", "status", "--year", year, "--at", "2026-11-16"]
    )
    assert out.exit_code == 2
    assert message in out.output


# --- the examples ------------------------------------------------------------------------------------------

# The [budget] terms and platform fees proposed for rules/contract.toml (docs/money.md).
DEMO_CONTRACT = f"""
[platforms."{JWY}"]
billing = "unit_price"
vcpu_month = 80.0
memory_gb_month = 20.0
storage_gb_month = 0.6

[platforms."{XYD}"]
billing = "fixed_fee"
notional = {{ vcpu_month = 80.0, memory_gb_month = 20.0, storage_gb_month = 0.6 }}
fee_per_quarter = "718175.00"
service_start = 2024-03-01
service_end = 2027-03-01

[budget]
target_rate = 90
warn_from = "06-30"

[[budget.planned]]
date = 2026-12-15
amount = "80000.00"
note = "第三方绩效评价服务费"
"""


def test_example_budget_sheet_plants_a_forecast_under_target(store, config):
    sheet = REPO / "examples" / "budget" / "预算执行_2026.csv"
    assert ingest_file(store, config, "budget", sheet).status == "accepted"
    statements = sorted((REPO / "examples" / "statement").glob("*.csv"))
    for path in statements:
        assert ingest_file(store, config, "statement", path).status in ("accepted", "partial")
    with store.session() as s:
        status = budget_status(s, contract(DEMO_CONTRACT), 2026, date(2026, 11, 16))
        jwy_months = {
            r.month for r in s.scalars(select(BillingStatement).where(BillingStatement.platform == JWY))
        }
    assert (status.initial, status.adjustments, status.final) == (
        D("5400000.00"),
        D("-1000000.00"),
        D("4400000.00"),
    )
    assert status.paid == D("2855005.00") and status.execution_rate == D("64.89")
    assert {(p.platform, p.source) for p in status.planned} == {
        ("", "contract"),
        (XYD, "fixed_fee"),
        (JWY, "settlement"),
    }
    assert status.missing == [] and jwy_months  # the example statements give 警务云 its monthly average
    assert status.forecast_rate is not None and status.forecast_rate < D("90")  # the planted risk
    (draft,) = run_check(store, "2026-11-16 09:00", DEMO_CONTRACT)
    assert draft.subject == "预算执行 2026" and draft.evidence["hand_back"] == str(status.forecast_carry_over)
