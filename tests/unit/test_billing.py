"""Billing reconciliation (R11) on hand-made inventories and statements: pro rata by days allocated, fixed fees
by the month in service, the tolerance (both the percentage and the amount), every kind of unmatched line,
cost targets and their explanations, Decimal exactness, and the two checks with their lifecycle.

The measured month reads the store, so these run on SQLite and on PostgreSQL (`store`, tests/conftest.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.money.billing import checks
from ops_watch.areas.money.billing import model as billing
from ops_watch.areas.money.billing.model import (
    BillingSection,
    CostTarget,
    cost_actual,
    explanation_for,
    line_evidence,
    line_row,
    line_summary,
    measured_month,
    month_bounds,
    parse_month,
    period_bounds,
    period_months,
    reconcile,
)
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.registry import CHECKS, CheckContext, FindingDraft
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.store import Store
from ops_watch.store.schema import BillingStatement, Finding, IndicatorExplanation, InventoryResource

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
JWY, XYD, GOV = "警务云", "新一代公安信息网云平台", "政务外网云"
CONTRACT_TOML = """
[platforms."警务云"]
billing = "unit_price"
vcpu_month = 80.0
memory_gb_month = 20.0
storage_gb_month = 0.6

[platforms."新一代公安信息网云平台"]
billing = "fixed_fee"
fee_per_quarter = "718175.00"
service_start = 2021-03-01
service_end = 2024-03-01

[platforms."政务外网云"]
billing = "fixed_fee"

[billing]
tolerance_pct = 1.0
tolerance_amount = "100.00"
deviation_pct = 10

[[billing.cost_targets]]
indicator = "警务云月度费用"
period = "2026-10"
platform = "警务云"
target = "10000.00"

[[billing.cost_targets]]
indicator = "云平台三季度费用"
period = "2026-Q3"
target = 30000
"""

plugins.load()


def contract(text: str = CONTRACT_TOML) -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def resource(
    store: Store,
    rid: str,
    *,
    vcpu: int = 8,
    memory_gb: float = 16,
    storage_gb: float = 500,
    platform: str = JWY,
    allocated_from: date | None = date(2025, 1, 1),
    allocated_to: date | None = None,
) -> None:
    with store.session() as s:
        s.add(
            InventoryResource(
                resource_id=rid,
                platform=platform,
                tenant_unit="刑侦支队",
                type="vm",
                vcpu=vcpu,
                memory_gb=memory_gb,
                storage_gb=storage_gb,
                backup_required=False,
                address="",
                allocated_from=allocated_from,
                allocated_to=allocated_to,
                updated_at=NOW,
            )
        )


def bill(
    store: Store,
    month: str,
    item: str,
    amount: str,
    quantity: str | None = None,
    unit_price: str | None = None,
    platform: str = JWY,
) -> None:
    with store.session() as s:
        s.add(
            BillingStatement(
                month=month,
                platform=platform,
                item=item,
                quantity=None if quantity is None else Decimal(quantity),
                unit_price=None if unit_price is None else Decimal(unit_price),
                amount=Decimal(amount),
                updated_at=NOW,
            )
        )


def explain(store: Store, indicator: str, period: str, text: str = "扩容") -> None:
    with store.session() as s:
        s.add(
            IndicatorExplanation(
                indicator=indicator,
                period=period,
                explanation=text,
                recorded_by="王五",
                recorded_on=date(2026, 11, 10),
                updated_at=NOW,
            )
        )


def lines(store: Store, month: str, terms: dict[str, Any] | None = None) -> dict[tuple[str, str], Any]:
    with store.session() as s:
        return {(m.platform, m.item): m for m in measured_month(s, terms or contract(), month)}


def reconciled(store: Store, month: str, terms: dict[str, Any] | None = None) -> billing.Reconciliation:
    with store.session() as s:
        return reconcile(s, terms or contract(), month)


def by_subject(rec: billing.Reconciliation) -> dict[str, billing.LineResult]:
    return {line.subject: line for line in rec.lines}


def run(
    store: Store,
    fn: Callable[..., Iterable[FindingDraft]],
    at: datetime,
    terms: dict[str, Any] | None = None,
    **params: Any,
) -> dict[str, FindingDraft]:
    name = next(n for n, c in CHECKS.items() if c.fn is fn)
    with store.session() as s:
        ctx = CheckContext(session=s, at=at.astimezone(UTC), zone=ZONE, contract=terms or contract())
        return {d.subject: d for d in fn(ctx, CHECKS[name].params(**params))}


def floats_in(value: Any) -> list[Any]:
    """Every float anywhere in a structure (money must never be one)."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in floats_in(v)]
    if isinstance(value, list | tuple):
        return [f for v in value for f in floats_in(v)]
    return []


# --- months, periods and the contract section ------------------------------------------------------------


def test_months_and_periods() -> None:
    assert parse_month("2026-1") == "2026-01" and parse_month(" 2026-10 ") == "2026-10"
    assert parse_month("2026/10") == parse_month("2026年10月") == "2026-10"  # core.when: as people write them
    for bad in ("2026-13", "10-2026", "2026-00", "", "202610"):
        with pytest.raises(ValueError, match="not a month"):
            parse_month(bad)
    assert month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_bounds("2026") == (date(2026, 1, 1), date(2026, 12, 31))
    assert period_bounds("2026-q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert period_months("2026-Q3") == ["2026-07", "2026-08", "2026-09"]
    assert period_months("2026-10") == ["2026-10"]
    assert len(period_months("2026")) == 12
    with pytest.raises(ValueError, match="not a period"):
        billing.parse_period("2026-Q5")


def test_billing_section_defaults_and_problems() -> None:
    assert BillingSection() == BillingSection(
        tolerance_pct=Decimal("1.0"), tolerance_amount=Decimal("100.00"), deviation_pct=Decimal(10)
    )
    terms = billing.billing_terms(contract())
    assert terms.tolerance_amount == Decimal("100.00") and isinstance(terms.tolerance_pct, Decimal)
    assert terms.cost_targets[1].target == Decimal(30000) and terms.cost_targets[1].period == "2026-Q3"
    assert billing.billing_terms({}) == BillingSection()  # no [billing]: the defaults
    problems: list[str] = []
    bad = """
[billing]
tolerance_amount = -1

[[billing.cost_targets]]
indicator = "x"
period = "2026-Q9"
target = 10
"""
    parse_contract(tomllib.loads(bad), "contract.toml", problems)
    text = "\n".join(problems)
    assert (
        "billing.tolerance_amount" in text and "billing.cost_targets[0].period" in text and "2026-Q9" in text
    )
    problems = []
    twice = '[[billing.cost_targets]]\nindicator = "x"\nperiod = "2026"\ntarget = 1\n' * 2
    parse_contract(tomllib.loads("[billing]\n" + twice.replace("[[", "\n[[")), "contract.toml", problems)
    assert any("given twice" in p for p in problems), problems


# --- the measured month ----------------------------------------------------------------------------------


def test_a_resource_allocated_mid_month_counts_pro_rata(store: Store) -> None:
    """November 2026 has 30 days: allocated from the 16th = 15/30 of a month; reclaimed on the 10th = 10/30
    (the day reclaimed still counts); outside the month or on a platform without prices: nothing."""
    resource(store, "FULL", vcpu=16, memory_gb=64, storage_gb=1000)
    resource(store, "MID", vcpu=8, memory_gb=32, storage_gb=0, allocated_from=date(2026, 11, 16))
    resource(store, "GONE", vcpu=4, memory_gb=8, storage_gb=300, allocated_to=date(2026, 11, 10))
    resource(store, "LATER", vcpu=64, allocated_from=date(2026, 12, 1))
    resource(store, "EARLIER", vcpu=64, allocated_to=date(2026, 10, 31))
    resource(store, "OPEN", vcpu=2, memory_gb=4, storage_gb=0, allocated_from=None)
    resource(store, "GOVVM", vcpu=99, platform=GOV)
    resource(store, "ELSEWHERE", vcpu=99, platform="某未知平台")
    got = lines(store, "2026-11")
    assert set(got) == {(JWY, "vcpu"), (JWY, "memory_gb"), (JWY, "storage_gb")}
    vcpu = got[(JWY, "vcpu")]
    # 16 + 2 whole months, 8 × 15/30, 4 × 10/30
    assert vcpu.unit_days == Decimal(16 * 30 + 2 * 30 + 8 * 15 + 4 * 10)
    assert vcpu.quantity == Decimal("23.3333")
    assert vcpu.amount == Decimal("1866.67")  # 700 × 80 ÷ 30 = 1866.666…, rounded once
    assert vcpu.unit_price == Decimal("80.0") and vcpu.days_in_month == 30
    mid = next(r for r in vcpu.resources if r.resource_id == "MID")
    assert (mid.first_day, mid.last_day, mid.days) == (date(2026, 11, 16), date(2026, 11, 30), 15)
    gone = next(r for r in vcpu.resources if r.resource_id == "GONE")
    assert (gone.first_day, gone.last_day, gone.days) == (date(2026, 11, 1), date(2026, 11, 10), 10)
    assert got[(JWY, "memory_gb")].amount == Decimal("1733.33")  # (64×30 + 4×30 + 32×15 + 8×10) × 20 ÷ 30
    storage = got[(JWY, "storage_gb")]
    assert storage.quantity == Decimal(1100) and storage.amount == Decimal("660.00")  # 1000 + 300 × 10/30
    assert {r.resource_id for r in storage.resources} == {"FULL", "GONE"}  # no storage, no part of the line

    evidence = vcpu.computation()
    assert evidence["resources"] == 4 and evidence["full_month"] == 2
    assert {p["resource_id"]: p["days"] for p in evidence["partial"]} == {"MID": 15, "GONE": 10}
    assert evidence["amount"] == "1866.67" and evidence["unit_price"] == "80.00"
    assert evidence["formula"] == "Σ units × days (700) × 80.00 ÷ 30"
    assert floats_in(evidence) == []


def test_decimal_exact_where_floats_would_drift(store: Store) -> None:
    """0.6 × 0.1 GB summed a thousand times is not 60.00 in floats; in Decimal it is."""
    for k in range(1000):
        resource(store, f"R{k:04d}", vcpu=0, memory_gb=0, storage_gb=0.1)
    storage = lines(store, "2026-10")[(JWY, "storage_gb")]
    assert sum([0.1] * 1000) != 100  # why floats are not money
    assert storage.quantity == Decimal(100) and storage.amount == Decimal("60.00")
    for value in (storage.quantity, storage.unit_price, storage.amount, storage.unit_days):
        assert isinstance(value, Decimal)
    assert str(storage.amount) == "60.00"


def test_fixed_fee_by_the_month_in_service(store: Store) -> None:
    """fee_per_quarter ÷ 3 a month inside the service period (2021-03-01 up to, not including, 2024-03-01)."""
    resource(store, "XYD-VM", platform=XYD)  # a fixed fee does not depend on what is allocated
    inside = lines(store, "2023-10")[(XYD, "fixed_fee")]
    assert inside.amount == Decimal("239391.67") and inside.quantity == Decimal(1)
    assert inside.unit_price == Decimal("718175.00") / 3
    assert inside.computation()["days_in_service"] == 31
    assert inside.computation()["unit_price"] == "239391.67"
    assert lines(store, "2021-03")[(XYD, "fixed_fee")].amount == Decimal("239391.67")  # the first month
    assert lines(store, "2024-02")[(XYD, "fixed_fee")].amount == Decimal("239391.67")  # the last month
    assert (XYD, "fixed_fee") not in lines(store, "2024-03")  # service_end is the first day not served
    assert (XYD, "fixed_fee") not in lines(store, "2021-02")
    assert (GOV, "fixed_fee") not in lines(store, "2023-10")  # no fee_per_quarter: nothing to measure
    # A service period starting mid-month: pro rata by the days in service.
    mid = contract(CONTRACT_TOML.replace("service_start = 2021-03-01", "service_start = 2021-03-17"))
    first = lines(store, "2021-03", mid)[(XYD, "fixed_fee")]
    assert first.quantity == Decimal("0.4839") and first.amount == Decimal("115834.68")  # × 15/31


# --- the reconciliation ----------------------------------------------------------------------------------


def test_lines_within_and_beyond_the_tolerance(store: Store) -> None:
    resource(store, "A", vcpu=100, memory_gb=500, storage_gb=100000)  # 8,000 / 10,000 / 60,000 a month
    bill(store, "2026-10", "vcpu", "8400.00", "105", "80.00")  # +400 and +5 %: both exceeded
    bill(store, "2026-10", "memory_gb", "10090.00", "504.5", "20.00")  # +90 (+0.9 %): within both
    bill(store, "2026-10", "storage_gb", "60540.00", "100900", "0.60")  # +540 (+0.9 %): amount only
    rec = reconciled(store, "2026-10")
    got = by_subject(rec)
    vcpu = got["2026-10 警务云 vcpu"]
    assert vcpu.status == "mismatch" and not vcpu.within_tolerance
    assert (vcpu.difference, vcpu.difference_pct) == (Decimal("400.00"), Decimal("5.00"))
    assert got["2026-10 警务云 memory_gb"].status == "ok"
    assert got["2026-10 警务云 storage_gb"].status == "ok"  # 540 CNY but 0.9 %: a mismatch needs both
    assert [line.subject for line in rec.findings] == ["2026-10 警务云 vcpu"]
    assert rec.billed_total == Decimal("79030.00") and rec.measured_total == Decimal("78000.00")
    assert rec.totals()["difference"] == "1030.00" and rec.totals()["lines_mismatch"] == 1

    summary = line_summary(vcpu, "zh")
    assert "账单 105 vCPU·月 × 80.00 = 8,400.00 元" in summary
    assert "实测 100 vCPU·月 × 80.00 = 8,000.00 元" in summary
    assert "差额 +400.00 元（+5.0 %）" in summary and "超出容差（±1 % 且 ±100.00 元）" in summary
    english = line_summary(vcpu, "en")
    assert "billed 105 vCPU-months × 80.00 = 8,400.00 CNY" in english
    assert "measured 100 vCPU-months × 80.00 = 8,000.00 CNY" in english and "(+5.0 %)" in english
    evidence = line_evidence(vcpu)
    assert evidence["billed"]["amount"] == "8400.00" and evidence["measured"]["amount"] == "8000.00"
    assert evidence["difference"] == "400.00" and evidence["difference_pct"] == "5.00"
    assert floats_in(evidence) == []


def test_tolerance_boundaries_are_inclusive(store: Store) -> None:
    """Exactly 100.00 CNY and exactly 1 % over is still within: a mismatch exceeds both."""
    resource(store, "A", vcpu=125, memory_gb=0, storage_gb=0)  # 10,000.00
    bill(store, "2026-10", "vcpu", "10100.00")  # +100.00 = +1.00 %
    assert by_subject(reconciled(store, "2026-10"))["2026-10 警务云 vcpu"].status == "ok"
    with store.session() as s:
        s.query(BillingStatement).update({"amount": Decimal("10100.01")})
    line = by_subject(reconciled(store, "2026-10"))["2026-10 警务云 vcpu"]
    assert line.status == "mismatch" and line.difference == Decimal("100.01")


def test_unbilled_underbilled_and_lines_with_no_matching_resource(store: Store) -> None:
    resource(store, "A", vcpu=10, memory_gb=0, storage_gb=100, allocated_from=date(2020, 1, 1))
    resource(store, "X", platform=XYD)
    bill(store, "2023-10", "vcpu", "690.00", "8.625", "80.00")  # -110.00 (-13.75 %): under-billed, beyond
    bill(store, "2023-10", "GPU", "6000.00", "2", "3000.00")  # an item the contract does not price
    bill(store, "2023-10", "memory_gb", "20.00", "1", "20.00")  # nothing allocated has memory
    bill(store, "2023-10", "vcpu", "80.00", platform="某未知平台")  # not in [platforms]
    bill(store, "2023-10", "vcpu", "80.00", platform=XYD)  # a fixed-fee platform bills no vCPU
    bill(store, "2023-10", "fixed_fee", "80.00", platform=JWY)  # a unit-price platform bills no fixed fee
    bill(store, "2023-10", "fixed_fee", "1000.00", platform=GOV)  # a fixed fee the contract gives no amount
    bill(store, "2024-04", "fixed_fee", "239391.67", platform=XYD)  # after the service period
    got = by_subject(reconciled(store, "2023-10"))
    reasons = {s: (line.status, line.reason) for s, line in got.items()}
    assert reasons == {
        "2023-10 警务云 vcpu": ("mismatch", None),  # under-billing differs too: the statement is wrong
        "2023-10 警务云 GPU": ("unmatched", "unknown_item"),
        "2023-10 警务云 memory_gb": ("unmatched", "nothing_allocated"),
        "2023-10 某未知平台 vcpu": ("unmatched", "unknown_platform"),
        f"2023-10 {XYD} vcpu": ("unmatched", "wrong_item"),
        "2023-10 警务云 fixed_fee": ("unmatched", "wrong_item"),
        f"2023-10 {GOV} fixed_fee": ("unmatched", "no_fee"),
        "2023-10 警务云 storage_gb": ("not_billed", "not_billed"),
        f"2023-10 {XYD} fixed_fee": ("not_billed", "not_billed"),
    }
    assert "账单 2 × 3,000.00 = 6,000.00 元，无对应资源（合同没有该计费项目）" in line_summary(
        got["2023-10 警务云 GPU"], "zh"
    )
    assert "账单没有此项" in line_summary(got["2023-10 警务云 storage_gb"], "zh")
    fee = line_summary(got[f"2023-10 {XYD} fixed_fee"], "zh")
    assert "1 月 × 239,391.67 = 239,391.67 元（季度费 718,175.00 元 ÷ 3，服务期内 31/31 天）" in fee
    after = by_subject(reconciled(store, "2024-04"))[f"2024-04 {XYD} fixed_fee"]
    assert (after.status, after.reason) == ("unmatched", "outside_service")
    row = line_row(got["2023-10 警务云 GPU"], "en")
    assert row["billed_amount"] == "6000.00" and row["measured_amount"] is None
    assert row["note"] == "the contract has no such billing item"


def test_a_month_without_statement_has_only_measured_lines(store: Store) -> None:
    resource(store, "A", vcpu=1, memory_gb=0, storage_gb=0)
    rec = reconciled(store, "2026-10")
    assert not rec.has_statement and [line.status for line in rec.lines] == ["not_billed"]
    assert rec.billed_total == Decimal("0.00") and rec.measured_total == Decimal("80.00")


# --- cost targets ----------------------------------------------------------------------------------------


def test_cost_actual_of_a_period_and_its_explanation(store: Store) -> None:
    bill(store, "2026-10", "vcpu", "9000.00")
    bill(store, "2026-10", "memory_gb", "2500.50")
    bill(store, "2026-10", "fixed_fee", "239391.67", platform=XYD)
    bill(store, "2026-07", "vcpu", "10000.00")
    bill(store, "2026-08", "vcpu", "10000.00")
    targets = billing.billing_terms(contract()).cost_targets
    with store.session() as s:
        october = cost_actual(s, targets[0])  # 警务云 only
        q3 = cost_actual(s, targets[1])
        assert explanation_for(s, "警务云月度费用", "2026-10") is None
    assert october.actual == Decimal("11500.50") and october.deviation_pct == Decimal("15.01")
    assert october.deviates(Decimal(10)) and not october.deviates(Decimal("15.005"))
    assert october.missing == () and october.evidence()["actual"] == "11500.50"
    assert q3.missing == ("2026-09",) and q3.actual == Decimal("20000.00")
    explain(store, "警务云月度费用", "2026-10")
    with store.session() as s:
        found = explanation_for(s, "警务云月度费用", "2026-10")
        assert found is not None and found.explanation == "扩容"
    assert floats_in(october.evidence()) == []
    assert CostTarget(indicator=" x ", period="2026-q3", target=Decimal(1)).period == "2026-Q3"


# --- the checks ------------------------------------------------------------------------------------------

AT = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)


def test_billing_mismatch_one_finding_per_line_out_of_tolerance_or_unmatched(store: Store) -> None:
    resource(store, "A", vcpu=100, memory_gb=500, storage_gb=0)  # 8,000 and 10,000 a month
    bill(store, "2026-10", "vcpu", "8400.00", "105", "80.00")  # +5 %
    bill(store, "2026-10", "memory_gb", "10050.00", "502.5", "20.00")  # within
    bill(store, "2026-10", "GPU", "6000.00", "2", "3000.00")
    bill(store, "2026-11", "vcpu", "1.00")  # the current month is not complete: not judged yet
    found = run(store, checks.billing_mismatch, AT)
    assert set(found) == {"2026-10 警务云 vcpu", "2026-10 警务云 GPU"}
    vcpu = found["2026-10 警务云 vcpu"]
    assert vcpu.severity is None  # the rule's
    assert vcpu.period_start == datetime(2026, 10, 1, tzinfo=ZONE)
    assert vcpu.period_end == datetime(2026, 11, 1, tzinfo=ZONE)
    assert vcpu.evidence["billed"]["amount"] == "8400.00" and vcpu.evidence["measured"]["amount"] == "8000.00"
    assert "账单 105 vCPU·月 × 80.00 = 8,400.00 元" in vcpu.summary and "实测 100 vCPU·月" in vcpu.summary
    assert floats_in([d.evidence for d in found.values()]) == []
    assert "无对应资源" in found["2026-10 警务云 GPU"].summary


def test_billing_mismatch_not_billed_is_info_and_months_back_counts_months_with_statements(
    store: Store,
) -> None:
    resource(store, "A", vcpu=10, memory_gb=0, storage_gb=100, allocated_from=date(2026, 1, 1))
    for month in ("2026-03", "2026-07", "2026-09", "2026-10"):
        bill(store, month, "vcpu", "800.00", "10", "80.00")  # storage is never billed
    found = run(store, checks.billing_mismatch, AT, months_back=2)
    assert set(found) == {"2026-09 警务云 storage_gb", "2026-10 警务云 storage_gb"}  # 07 and 03 are older
    assert {d.severity for d in found.values()} == {"info"}
    assert "账单没有此项" in found["2026-10 警务云 storage_gb"].summary
    assert set(run(store, checks.billing_mismatch, AT, months_back=4)) == {
        f"2026-{m} 警务云 storage_gb" for m in ("03", "07", "09", "10")
    }


def rules_of(text: str) -> RuleSet:
    problems: list[str] = []
    rules = parse_rules(tomllib.loads(text), "billing.toml", problems)
    assert problems == []
    return RuleSet(rules=rules, contract=contract())


def test_findings_are_resolved_by_a_corrected_statement_and_kept_when_their_month_leaves_the_window(
    store: Store,
) -> None:
    resource(store, "A", vcpu=10, memory_gb=0, storage_gb=0, allocated_from=date(2026, 1, 1))
    bill(store, "2026-09", "vcpu", "960.00", "12", "80.00")  # +160.00 (+20 %) on 800.00
    bill(store, "2026-10", "vcpu", "960.00", "12", "80.00")
    rules = rules_of(CHECKS["billing_mismatch"].example.replace("months_back = 3", "months_back = 2"))
    first = engine.evaluate(store, rules, AT, zone=ZONE)
    assert len(first.opened) == 2 and first.failed_rules == {}
    with store.session() as s:  # the contractor corrects October
        s.query(BillingStatement).filter_by(month="2026-10").update(
            {"amount": Decimal("800.00"), "quantity": Decimal(10)}
        )
        s.add(
            BillingStatement(
                month="2026-11", platform=JWY, item="vcpu", amount=Decimal("800.00"), updated_at=NOW
            )
        )
    later = engine.evaluate(store, rules, datetime(2026, 12, 2, 9, tzinfo=ZONE), zone=ZONE)
    assert later.opened == [] and len(later.resolved) == 1  # October's; September left the window: kept
    with store.session() as s:
        status = {f.subject: f.status for f in s.query(Finding)}
    assert status == {"2026-09 警务云 vcpu": "open", "2026-10 警务云 vcpu": "resolved"}


def test_cost_deviation_without_and_with_an_explanation(store: Store) -> None:
    bill(store, "2026-10", "vcpu", "9000.00")
    bill(store, "2026-10", "memory_gb", "2500.00")  # 11,500: +15 % on 10,000
    bill(store, "2026-10", "fixed_fee", "50000.00", platform=XYD)  # another platform: not in the target
    found = run(store, checks.cost_deviation_unexplained, AT)
    assert set(found) == {"2026-10 警务云月度费用"}  # Q3 lacks September's statement: not judged
    d = found["2026-10 警务云月度费用"]
    assert "实际 11,500.00 元，目标 10,000.00 元，偏差 +15.0 %，超过 ±10 %" in d.summary
    assert d.evidence["actual"] == "11500.00" and d.evidence["target"] == "10000.00"
    assert d.evidence["deviation_pct"] == "15.00" and d.evidence["explanation"] is None
    assert d.period_start == datetime(2026, 10, 1, tzinfo=ZONE)
    assert floats_in(d.evidence) == []
    # Not over yet: the period must have ended as of the evaluation.
    assert run(store, checks.cost_deviation_unexplained, datetime(2026, 10, 31, 23, tzinfo=ZONE)) == {}
    explain(store, "警务云月度费用", "2026-10")
    assert run(store, checks.cost_deviation_unexplained, AT) == {}


def test_cost_deviation_within_the_threshold_or_below_the_target(store: Store) -> None:
    for month in ("2026-07", "2026-08", "2026-09"):
        bill(store, month, "vcpu", "11000.00")  # Q3: 33,000 on 30,000 = +10 %: not more than 10
    bill(store, "2026-10", "vcpu", "8999.99")  # -10.0001 %: more than 10 below the target is a deviation too
    found = run(store, checks.cost_deviation_unexplained, AT)
    assert (
        set(found) == {"2026-10 警务云月度费用"}
        and found["2026-10 警务云月度费用"].evidence["deviation_pct"] == "-10.00"
    )
    bill(store, "2026-09", "fixed_fee", "0.01", platform=XYD)  # every platform counts: now more than 10 %
    assert "2026-Q3 云平台三季度费用" in run(store, checks.cost_deviation_unexplained, AT)


def test_a_line_says_when_the_statement_prices_or_multiplies_differently(store: Store) -> None:
    resource(store, "A", vcpu=100, memory_gb=10, storage_gb=0)
    bill(store, "2026-10", "vcpu", "8500.00", "100", "85.00")  # the contract says 80.00
    bill(store, "2026-10", "memory_gb", "250.00", "10", "20.00")  # 10 × 20 is 200.00
    got = by_subject(reconciled(store, "2026-10"))
    vcpu, memory = got["2026-10 警务云 vcpu"], got["2026-10 警务云 memory_gb"]
    assert vcpu.notes == ("unit_price_differs",) and memory.notes == ("amount_not_quantity_times_price",)
    assert line_summary(vcpu, "zh").endswith("超出容差（±1 % 且 ±100.00 元）；账单单价与合同单价不同")
    assert memory.status == "ok"  # +50.00 is within the amount: the note is all there is
    assert line_row(memory, "zh")["note"] == "账单金额不等于数量 × 单价"
