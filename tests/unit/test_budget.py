"""Budget execution and its forecast (ops_watch.areas.money.budget.model), computed from event lists: the evaluation report's own
figures (30.17 M budgeted, 10.21 M taken back, 15.3803 M paid -> 77.06 %, 457.97 万元 carried over), a
forecast from fixed-fee instalments and quarterly settlements, a year without events, the [budget] section's
validation, and Decimal exactness (no float anywhere)."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.money.budget.model import (
    BudgetEntry,
    BudgetStatus,
    MonthBill,
    cny,
    compute_status,
    percent,
    status_lines,
    wan,
)
from ops_watch.core.contract import parse_contract

plugins.load()  # registers [platforms] and [budget]

D = Decimal
JWY, XYD = "警务云", "新一代公安信息网云平台"


def contract(text: str = "") -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def problems_of(text: str) -> list[str]:
    problems: list[str] = []
    parse_contract(tomllib.loads(text), "contract.toml", problems)
    return problems


def ev(day: str, kind: str, amount: str, note: str = "") -> BudgetEntry:
    return BudgetEntry(date.fromisoformat(day), kind, D(amount), note)


# The evaluation report: 年初预算资金 3017 万元，年中调剂、收回预算资金共 1021 万元，全年实际预算资金为 1996 万元，
# 实际支出 1538.03 万元，预算执行率 77.06%，年末 457.97 万元结转下年.
REPORT_YEAR = [
    ev("2023-01-16", "initial", "30170000.00", "年初预算"),
    ev("2023-03-31", "payment", "3620000.00", "第一季度"),
    ev("2023-06-30", "payment", "3845000.00", "第二季度"),
    ev("2023-07-20", "adjustment", "-6000000.00", "年中调剂"),
    ev("2023-09-15", "adjustment", "-4210000.00", "收回"),
    ev("2023-09-30", "payment", "3915300.00", "第三季度"),
    ev("2023-12-29", "payment", "4000000.00", "第四季度"),
]


def test_the_reports_own_figures():
    s = compute_status({}, 2023, date(2023, 12, 31), REPORT_YEAR)
    assert s.initial == D("30170000.00")
    assert s.adjustments == D("-10210000.00")
    assert s.final == D("19960000.00")
    assert s.paid == D("15380300.00")
    assert s.execution_rate == D("77.06")
    assert s.carry_over == D("4579700.00")
    assert (wan(s.initial), wan(s.adjustments), wan(s.final)) == ("3,017.00", "-1,021.00", "1,996.00")
    assert (wan(s.paid), wan(s.carry_over)) == ("1,538.03", "457.97")
    assert cny(s.paid) == "15,380,300.00"
    # Nothing planned: the forecast is where the year ended.
    assert s.planned == [] and s.missing == []
    assert (s.forecast_paid, s.forecast_rate, s.forecast_carry_over) == (s.paid, D("77.06"), s.carry_over)
    assert s.below_target
    # Handing back h now gives paid / (final - h) = 90 %: h = 19,960,000 - 15,380,300 / 0.9.
    assert s.hand_back_minimum == D("2870777.78")
    assert D("15380300.00") / (s.final - s.hand_back_minimum) >= D("0.9")
    assert [e.kind for e in s.events] == [
        "initial",
        "payment",
        "payment",
        "adjustment",
        "adjustment",
        "payment",
        "payment",
    ]


def test_as_of_counts_only_the_events_up_to_that_day():
    s = compute_status({}, 2023, date(2023, 8, 31), REPORT_YEAR)
    assert (s.initial, s.adjustments, s.paid) == (D("30170000.00"), D("-6000000.00"), D("7465000.00"))
    assert s.final == D("24170000.00")
    assert s.execution_rate == D("30.89")  # 7,465,000 / 24,170,000 = 30.885…
    assert len(s.events) == 4
    # Another year's events never count.
    other = compute_status({}, 2024, date(2024, 12, 31), REPORT_YEAR)
    assert other.events == [] and other.execution_rate is None


def test_lines_in_yuan_and_wan():
    rows = {r["item"]: r for r in status_lines(compute_status({}, 2023, date(2023, 12, 31), REPORT_YEAR))}
    assert rows["final"]["cny"] == "19,960,000.00" and rows["final"]["wan"] == "1,996.00"
    assert rows["execution_rate"]["rate"] == "77.06%"
    assert rows["carry_over"]["wan"] == "457.97"
    assert rows["forecast_rate"]["rate"] == "77.06%"
    en = {r["item"]: r for r in status_lines(compute_status({}, 2023, date(2023, 12, 31), REPORT_YEAR), "en")}
    assert en["final"]["label"] == "final budget"


# --- the forecast ------------------------------------------------------------------------------------------

PLAN = f"""
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

YEAR_2026 = [
    ev("2026-01-05", "initial", "5400000.00", "2026年度运维服务预算"),
    ev("2026-03-31", "payment", "183564.00", f"{JWY}2026年第一季度结算"),
    ev("2026-03-31", "payment", "718175.00", f"{XYD}2026年第一季度服务费"),
    ev("2026-05-20", "payment", "96000.00", "等保测评服务费"),
    ev("2026-06-30", "payment", "183564.00", f"{JWY}2026年第二季度结算"),
    ev("2026-06-30", "payment", "718175.00", f"{XYD}2026年第二季度服务费"),
    ev("2026-07-15", "adjustment", "-800000.00", "年中收回"),
    ev("2026-09-10", "adjustment", "-200000.00", "调剂"),
    ev("2026-09-30", "payment", "181432.50", f"{JWY}2026年第三季度结算"),
    ev("2026-09-30", "payment", "718175.00", f"{XYD}2026年第三季度服务费"),
]

# 警务云 statements: January to October (October's total split over two lines, as a statement lists items).
BILLS = [MonthBill(JWY, f"2026-{m:02d}", D("61188.00")) for m in range(1, 10)] + [
    MonthBill(JWY, "2026-10", D("40000.00")),
    MonthBill(JWY, "2026-10", D("19650.50")),
    MonthBill(JWY, "2026-12", D("99999.99")),  # not yet issued on the day: ignored
]


def test_forecast_from_fixed_fee_instalments_and_quarterly_settlements():
    s = compute_status(contract(PLAN), 2026, date(2026, 11, 16), YEAR_2026, BILLS)
    assert s.final == D("4400000.00")
    assert s.paid == D("2799085.50")
    assert s.execution_rate == D("63.62")
    by_source = {p.source: p for p in s.planned}
    assert set(by_source) == {"settlement", "fixed_fee", "contract"}
    # 警务云 Q4: October's statement (59,650.50) + November and December at the average of January–October
    # ((9 × 61,188.00 + 59,650.50) / 10 = 61,034.25).
    q4 = by_source["settlement"]
    assert (q4.platform, q4.date, q4.amount, q4.estimated) == (JWY, date(2026, 12, 31), D("181719.00"), True)
    fee = by_source["fixed_fee"]
    assert (fee.platform, fee.date, fee.amount, fee.status) == (
        XYD,
        date(2026, 12, 31),
        D("718175.00"),
        "due",
    )
    third_party = by_source["contract"]
    assert (third_party.date, third_party.amount, third_party.platform) == (
        date(2026, 12, 15),
        D("80000.00"),
        "",
    )
    assert s.planned_total == D("979894.00")
    assert s.forecast_paid == D("3778979.50")
    assert s.forecast_rate == D("85.89")  # 3,778,979.50 / 4,400,000 = 85.886…
    assert s.forecast_carry_over == D("621020.50")
    assert s.below_target and s.missing == []


def test_an_estimate_is_the_exact_sum_rounded_once():
    odd = BILLS[:9] + [MonthBill(JWY, "2026-10", D("59650.57"))]
    s = compute_status(contract(PLAN), 2026, date(2026, 11, 16), YEAR_2026, odd)
    q4 = next(p for p in s.planned if p.source == "settlement")
    # Average (9 × 61,188.00 + 59,650.57) / 10 = 61,034.257; Q4 = 59,650.57 + 2 × 61,034.257 = 181,719.084.
    assert q4.amount == D("181719.08")


def test_an_unpaid_quarter_is_overdue_and_still_forecast():
    events = [e for e in YEAR_2026 if not (e.note.startswith(XYD) and "第三季度" in e.note)]
    s = compute_status(contract(PLAN), 2026, date(2026, 11, 16), events, BILLS)
    fees = [p for p in s.planned if p.source == "fixed_fee"]
    # The two payments naming the platform settle Q1 and Q2; Q3 (due 09-30) is owed, Q4 is to come.
    assert [(p.date, p.status) for p in fees] == [(date(2026, 9, 30), "overdue"), (date(2026, 12, 31), "due")]
    assert sorted((p.status, p.amount) for p in fees) == [
        ("due", D("718175.00")),
        ("overdue", D("718175.00")),
    ]
    assert all(p.counted for p in fees)


def test_a_settlement_lag_pays_the_fourth_quarter_next_year():
    lagged = PLAN.replace('warn_from = "06-30"', 'warn_from = "06-30"\nsettlement_lag_days = 15')
    events = [
        ev("2026-01-05", "initial", "4000000.00"),
        # January: last year's fourth quarter, due 2026-01-15.
        ev("2026-01-14", "payment", "718175.00", f"{XYD} 2025年第四季度"),
        ev("2026-04-10", "payment", "718175.00", f"{XYD} 2026年第一季度"),
    ]
    s = compute_status(contract(lagged), 2026, date(2026, 8, 1), events, BILLS)
    fees = [(p.date, p.status, p.counted) for p in s.planned if p.source == "fixed_fee"]
    # Q2 was due 07-15 and is not paid: overdue; Q3 due 10-15; Q4 due 2027-01-15: after the year, not counted.
    assert fees == [
        (date(2026, 7, 15), "overdue", True),
        (date(2026, 10, 15), "due", True),
        (date(2027, 1, 15), "after_year", False),
    ]
    settlements = [p for p in s.planned if p.source == "settlement"]
    assert [p.date for p in settlements] == [
        date(2026, 1, 15),
        date(2026, 4, 15),
        date(2026, 7, 15),
        date(2026, 10, 15),
        date(2027, 1, 15),
    ]
    # Last year's fourth quarter has no statements: all three months at this year's average (to July).
    assert settlements[0].amount == D("183564.00") and settlements[0].estimated
    after = [p for p in s.planned if not p.counted]
    assert s.forecast_paid == s.paid + sum(p.amount for p in s.planned) - sum(p.amount for p in after)


def test_service_period_shares_a_quarters_fee_by_months_served():
    ending = PLAN.replace("service_end = 2027-03-01", "service_end = 2026-11-01")
    s = compute_status(contract(ending), 2026, date(2026, 11, 16), YEAR_2026, BILLS)
    fee = next(p for p in s.planned if p.source == "fixed_fee")
    assert fee.amount == D("239391.67")  # October only: 718,175.00 / 3
    assert "1" in fee.note
    over = PLAN.replace("service_end = 2027-03-01", "service_end = 2025-03-01").replace(
        "service_start = 2024-03-01", "service_start = 2022-03-01"
    )
    s = compute_status(contract(over), 2026, date(2026, 11, 16), YEAR_2026, BILLS)
    assert [p for p in s.planned if p.source == "fixed_fee"] == []


def test_contract_instalments_win_over_derived_ones():
    own = PLAN + "".join(
        f"""
[[budget.planned]]
date = {day}
amount = "650000.00"
platform = "{XYD}"
note = "合同约定第{n}期"
"""
        for n, day in enumerate(["2026-12-20", "2026-03-31", "2026-06-30", "2026-09-30"], start=1)
    )
    s = compute_status(contract(own), 2026, date(2026, 11, 16), YEAR_2026, BILLS)
    xyd = [p for p in s.planned if p.platform == XYD]
    # No derived quarterly fee; the three payments naming the platform settle the three earliest instalments.
    assert [(p.date, p.amount, p.source, p.note) for p in xyd] == [
        (date(2026, 12, 20), D("650000.00"), "contract", "合同约定第1期")
    ]


def test_a_contract_instalment_without_platform_is_paid_by_an_equal_payment():
    paid = YEAR_2026 + [ev("2026-11-10", "payment", "80000.00", "绩效评价费")]
    s = compute_status(contract(PLAN), 2026, date(2026, 11, 16), paid, BILLS)
    assert [p for p in s.planned if p.source == "contract"] == []


def test_the_longest_platform_name_in_a_note_wins():
    text = PLAN.replace(f'[platforms."{XYD}"]', '[platforms."警务云二期"]')
    events = [
        ev("2026-01-05", "initial", "4000000.00"),
        ev("2026-03-31", "payment", "718175.00", "警务云二期 第一季度"),
    ]
    s = compute_status(contract(text), 2026, date(2026, 5, 1), events, BILLS)
    fees = [p for p in s.planned if p.platform == "警务云二期"]
    settlements = [p for p in s.planned if p.platform == JWY]
    assert len(fees) == 3  # Q1 settled by the payment naming 警务云二期
    assert len(settlements) == 4  # 警务云's Q1 is still open (overdue)
    assert settlements[0].status == "overdue"


def test_what_the_forecast_lacks_is_said():
    bare = f"""
[platforms."{JWY}"]
billing = "unit_price"
vcpu_month = 80.0
memory_gb_month = 20.0
storage_gb_month = 0.6

[platforms."{XYD}"]
billing = "fixed_fee"
"""
    s = compute_status(contract(bare), 2026, date(2026, 11, 16), YEAR_2026, [])
    assert s.planned == []
    assert len(s.missing) == 2
    assert any(JWY in m and "对账单" in m for m in s.missing)
    assert any(XYD in m and "fee_per_quarter" in m and "service_start" in m for m in s.missing)
    en = compute_status(contract(bare), 2026, date(2026, 11, 16), YEAR_2026, [], language="en")
    assert any("no billing statements for 2026" in m for m in en.missing)
    # Without the lacking parts, the forecast is what was paid.
    assert s.forecast_paid == s.paid


def test_a_year_with_no_events_has_no_rate_and_says_so():
    s = compute_status({}, 2026, date(2026, 11, 16), [])
    assert (s.initial, s.final, s.paid) == (D("0.00"), D("0.00"), D("0.00"))
    assert s.execution_rate is None and s.forecast_rate is None
    assert not s.below_target and s.hand_back_minimum == D("0.00")
    assert len(s.missing) == 1 and "没有 2026 年的预算事件" in s.missing[0]
    rows = {r["item"]: r for r in status_lines(s)}
    assert rows["execution_rate"]["rate"] == "-"
    assert rows["missing"]["label"] == s.missing[0]
    en = compute_status({}, 2026, date(2026, 11, 16), [], language="en")
    assert en.missing[0].startswith("no budget events for 2026")


def test_payments_without_an_initial_budget_say_so():
    s = compute_status({}, 2026, date(2026, 11, 16), [ev("2026-03-31", "payment", "1000.00")])
    assert s.execution_rate is None
    assert any("全年预算为 0.00 元" in m for m in s.missing)
    assert any("没有 2026 年的年初预算记录" in m for m in s.missing)


# --- exactness ---------------------------------------------------------------------------------------------


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return [value]


def test_money_is_decimal_with_two_places_and_never_float():
    s = compute_status(contract(PLAN), 2026, date(2026, 11, 16), YEAR_2026, BILLS)
    assert isinstance(s, BudgetStatus)
    money_fields = ["initial", "adjustments", "final", "paid", "carry_over", "forecast_paid"]
    money_fields += ["forecast_carry_over", "planned_total", "hand_back_minimum"]
    for name in money_fields:
        value = getattr(s, name)
        assert type(value) is Decimal, name
        assert value.as_tuple().exponent == -2, (name, value)
    for name in ("execution_rate", "forecast_rate", "target_rate"):
        value = getattr(s, name)
        assert type(value) is Decimal and value.as_tuple().exponent == -2, (name, value)
    for p in s.planned:
        assert type(p.amount) is Decimal and p.amount.as_tuple().exponent == -2
    # JSON (and finding evidence) carries money as exact strings: no float anywhere.
    flat = _walk(s.as_dict())
    assert not any(isinstance(v, float) for v in flat)
    assert s.as_dict()["forecast_rate"] == "85.89" and s.as_dict()["paid"] == "2799085.50"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        wan(1538.03)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cny(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        compute_status({}, 2026, date(2026, 12, 31), [BudgetEntry(date(2026, 1, 1), "initial", 100.0)])  # type: ignore[arg-type]


def test_formats():
    assert cny(D("15380300")) == "15,380,300.00"
    assert cny(D("-0.5")) == "-0.50"
    assert wan(D("15380300.00")) == "1,538.03"
    assert wan(D("12345.67")) == "1.23"  # two decimals, as accountants write 万元
    assert wan(D("2855005.00")) == "285.50"  # not 285.5005
    assert wan(D("12350.00")) == "1.24"  # half up, not to even
    assert wan(D("4579700.00")) == "457.97"
    assert wan(D("0")) == "0.00"
    assert wan(D("-0.004")) == "0.00"
    assert percent(D("1"), D("3")) == D("33.33")
    assert percent(D("2"), D("3")) == D("66.67")
    assert percent(D("1"), D("0")) is None


# --- the [budget] section ----------------------------------------------------------------------------------


def test_budget_section_defaults_and_errors():
    terms = contract("")["budget"]
    assert terms.target_rate == 90 and terms.warn_date(2026) == date(2026, 6, 30)
    assert terms.settlement_lag_days == 0 and terms.planned == []
    assert contract('[budget]\nwarn_from = "9-1"')["budget"].warn_date(2026) == date(2026, 9, 1)
    assert contract('[budget]\nwarn_from = "02-29"')["budget"].warn_date(2026) == date(2026, 3, 1)
    bad = problems_of('[budget]\nwarn_from = "6/30"\ntarget_rate = 120')
    assert any("budget.warn_from" in p and "MM-DD" in p for p in bad)
    assert any("budget.target_rate" in p for p in bad)
    cents = problems_of('[[budget.planned]]\ndate = 2026-12-15\namount = "80000.001"')
    assert any("budget.planned[0].amount" in p and "two decimals" in p for p in cents), cents
    unknown = problems_of("[budget]\ntarget = 90")
    assert any("budget.target" in p for p in unknown)
    # A TOML number is accepted as money too, and stays exact.
    planned = contract("[[budget.planned]]\ndate = 2026-12-15\namount = 80000.5")["budget"].planned[0]
    assert planned.amount == D("80000.50") and type(planned.amount) is Decimal
