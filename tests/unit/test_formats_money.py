"""Money and the three money kinds: billing statements, budget events and indicator explanations.

fields.money and fields.decimal_value read amounts as people write them (¥, 元, 万元, thousands separators,
accountants' parentheses, full-width digits, Excel number cells) into exact Decimals, never through float;
then each kind's columns, its checks across columns, and XLSX cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import format_cases
import openpyxl
import pytest

from ops_watch.areas.money.billing.kind import ITEMS, month_of
from ops_watch.areas.money.budget.kind import EVENT_KINDS, STORED_KINDS
from ops_watch.areas.money.budget.kind_explanation import period_of
from ops_watch.formats import KINDS, fields, get_kind
from ops_watch.formats.spec import CellError, Column, Fault, ParseContext, RecordKind, match_header, parse_row
from ops_watch.store.schema import BillingStatement, BudgetEvent, IndicatorExplanation

CTX = ParseContext()
STATEMENT = get_kind("statement")
BUDGET = get_kind("budget")
EXPLANATION = get_kind("explanation")


def parse_one(
    kind: RecordKind, header: Sequence[str], cells: Sequence[object]
) -> tuple[Any | None, list[Fault]]:
    header_map, _ = match_header(kind, header)
    return parse_row(kind, header_map, cells, CTX)


def column(kind: RecordKind, name: str) -> Column:
    return next(c for c in kind.columns if c.name == name)


def refusal(parse: Any, cell: object) -> CellError:
    with pytest.raises(CellError) as err:
        parse(cell, CTX)
    return err.value


# --- money


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("1,234.56", "1234.56"),
        ("1234.5", "1234.50"),
        ("1234", "1234.00"),
        ("¥1,234.56", "1234.56"),
        ("￥1,234.56", "1234.56"),  # the full-width yuan sign
        ("¥ 1,234.56", "1234.56"),
        ("1234.56元", "1234.56"),
        ("1,234.56 元", "1234.56"),
        ("RMB 1,000", "1000.00"),
        ("人民币1000元", "1000.00"),
        ("12.5万元", "125000.00"),
        ("12.5万", "125000.00"),
        ("1538.03万元", "15380300.00"),
        ("0.0001万", "1.00"),
        ("12.345678万", "123456.78"),  # a 万 figure may have more decimals than a yuan one
        ("12.3456789万", "123456.79"),  # ... and is rounded half up to the fen
        ("12.3456749万", "123456.75"),
        ("１２３，４５６．７８", "123456.78"),  # full-width digits and comma
        ("  88.8  ", "88.80"),
        (".5", "0.50"),
        ("0", "0.00"),
        (3000, "3000.00"),
        (0.1, "0.10"),
        (1234.56, "1234.56"),
        (0.1 + 0.2, "0.30"),  # 0.30000000000000004: what Excel shows, not the float's noise
        (1234.5600000000002, "1234.56"),  # a formula's result, shown 1234.56 in Excel
        (Decimal("7.1"), "7.10"),
    ],
)
def test_money_as_people_write_it(cell: object, text: str) -> None:
    amount = fields.money()(cell, CTX)
    assert isinstance(amount, Decimal)
    assert str(amount) == text  # exactly two places, the digits intended


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("-3,000", "-3000.00"),
        ("−3,000", "-3000.00"),  # the minus sign U+2212
        ("－3,000", "-3000.00"),  # full-width hyphen-minus
        ("(3,000)", "-3000.00"),
        ("（3,000）", "-3000.00"),
        ("(¥3,000.50)", "-3000.50"),
        ("¥(3,000)", "-3000.00"),
        ("-¥1,234", "-1234.00"),
        ("¥-1,234", "-1234.00"),
        ("(3,000)元", "-3000.00"),
        ("-12.5万元", "-125000.00"),
        ("+500", "500.00"),
        (-250, "-250.00"),
        (-0.1, "-0.10"),
        ("-0", "0.00"),  # no negative zero
    ],
)
def test_negative_money_when_allowed(cell: object, text: str) -> None:
    assert str(fields.money(allow_negative=True)(cell, CTX)) == text


@pytest.mark.parametrize("cell", ["-3,000", "(3,000)", "（3,000）", -1, "-0.01", "-1万"])
def test_negative_money_is_refused_when_not_allowed(cell: object) -> None:
    err = refusal(fields.money(), cell)
    assert err.problem.zh == "金额不能为负数"
    assert err.problem.en == "the amount must not be negative"


@pytest.mark.parametrize("cell", ["12.345", "0.001", "1,234.567", "1234.5601元", 12.345, 0.001])
def test_a_yuan_figure_with_more_than_two_decimals_is_refused(cell: object) -> None:
    err = refusal(fields.money(), cell)
    assert "金额最多两位小数" in err.problem.zh
    assert "at most 2 decimals" in err.problem.en


@pytest.mark.parametrize(
    "cell",
    [
        "abc",
        "约一万元",
        "1,23,4",  # separators out of place: 1,234 or 12,34 (a European 12.34)?
        "1,2345",
        "1.234,56",
        "1,234.5.6",
        "1e5",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        True,
        "--5",
        "(-5)",
        "()",
        "¥",
        "万元",
        "12.5亿",
        datetime(2026, 10, 1),
        date(2026, 10, 1),
    ],
)
def test_what_is_not_an_amount_is_refused_in_both_languages(cell: object) -> None:
    err = refusal(fields.money(allow_negative=True), cell)
    assert err.problem.zh.startswith("不是金额")
    assert err.problem.en.startswith("not an amount of money")


def test_an_implausibly_large_amount_is_refused() -> None:
    err = refusal(fields.money(), "1" + "0" * 15)
    assert "金额过大" in err.problem.zh and "implausibly large" in err.problem.en
    assert str(fields.money()("999,999,999,999,999.99", CTX)) == "999999999999999.99"


def test_money_never_goes_through_float_arithmetic() -> None:
    # Each of these loses its last digits, or gains noise, as a float sum; exact as Decimal.
    parse = fields.money()
    cells = ["0.10", "0.20", "12,345,678,901,234.56", "0.01"]
    total = sum((parse(c, CTX) for c in cells), Decimal(0))
    assert total == Decimal("12345678901234.87")
    assert sum(float(c.replace(",", "")) for c in cells) != float(total)


# --- decimal_value


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("1280", "1280"),
        ("1,280", "1280"),
        ("0.35", "0.35"),
        ("0.3456", "0.3456"),
        ("1.23450", "1.2345"),  # zeros beyond four places are dropped, not refused
        ("¥35", "35"),
        ("35元", "35"),
        ("８", "8"),
        (8, "8"),
        (0.1, "0.1"),
        (1.1 * 3, "3.3"),
    ],
)
def test_decimal_values(cell: object, text: str) -> None:
    value = fields.decimal_value()(cell, CTX)
    assert isinstance(value, Decimal) and str(value) == text


def test_decimal_value_units_places_and_minimum() -> None:
    parse = fields.decimal_value(0, 4, ("核", "元/核·月"))
    assert parse("8核", CTX) == Decimal(8)
    assert parse("35元/核·月", CTX) == Decimal(35)
    err = refusal(parse, "1.23456")
    assert (err.problem.zh, err.problem.en) == ("最多 4 位小数", "at most 4 decimals")
    err = refusal(parse, "-1")
    assert (err.problem.zh, err.problem.en) == ("不能为负数", "must not be negative")
    err = refusal(parse, "12万")  # no 万 scaling for a quantity or a unit price
    assert err.problem.zh.startswith("应为数字") and err.problem.en.startswith("not a number")
    assert refusal(parse, "8TB").problem.en.startswith("not a number")
    assert fields.decimal_value(None)("-1.5", CTX) == Decimal("-1.5")
    assert refusal(fields.decimal_value(1), "0.5").problem.en == "must be at least 1"
    assert str(fields.decimal_value(0, 2)("1.230", CTX)) == "1.23"
    assert refusal(fields.decimal_value(0, 2), "1.234").problem.en == "at most 2 decimals"


# --- statement

STATEMENT_HEADER = ("月份", "云平台", "项目", "数量", "单价", "金额")


def statement_row(*cells: object) -> tuple[Any | None, list[Fault]]:
    return parse_one(STATEMENT, STATEMENT_HEADER, cells)


@pytest.mark.parametrize(
    "cell",
    [
        "2026-10",
        "2026/10",
        "2026.10",
        "2026-10-01",
        "2026/10/31",
        "2026年10月",
        "2026 年 10 月",
        "２０２６－１０",
        "202610",
        "2026年10月1日",
        datetime(2026, 10, 1),  # Excel makes a typed 2026-10 this
        date(2026, 10, 15),
    ],
)
def test_statement_months(cell: object) -> None:
    assert month_of(cell) == "2026-10"
    assert column(STATEMENT, "month").parse(cell, CTX) == "2026-10"


def test_a_single_digit_month_and_the_refused_ones() -> None:
    assert month_of("2026-3") == month_of("2026年3月") == "2026-03"
    for cell in ("2026-13", "2026-00", "10月", "2026", "26-10", "十月", True):
        err = refusal(column(STATEMENT, "month").parse, cell)
        assert err.problem.zh.startswith("不是月份") and err.problem.en.startswith("not a month")
    # Excel stores a typed 2026.10 as the number 2026.1: October or January? Refused with the way out.
    err = refusal(column(STATEMENT, "month").parse, 2026.1)
    assert "2026-10" in err.problem.zh and "format the cell as text" in err.problem.en


@pytest.mark.parametrize(("written", "stored"), sorted(ITEMS.items()))
def test_every_statement_item_spelling(written: str, stored: str) -> None:
    parse = column(STATEMENT, "item").parse
    for cell in (written, written.upper(), written.lower(), f"  {written} "):
        assert parse(cell, CTX) == stored, cell
    record, faults = statement_row("2026-10", "警务云", written.lower(), "", "", "100")
    assert faults == [] and record.item == stored


def test_an_unknown_item_is_kept_as_written() -> None:
    record, faults = statement_row("2026-10", "警务云", " GPU卡 ", "2", "", "3,000")
    assert faults == [] and record.item == "GPU卡"
    record, faults = statement_row("2026-10", "警务云", "安全服务", "", "", "3,000")
    assert faults == [] and record.item == "安全服务"
    record, faults = statement_row("2026-10", "警务云", "x" * 65, "", "", "3,000")
    assert record is None and [f.column for f in faults] == ["item"]


def test_the_stored_items_are_the_ones_the_reconciliation_expects() -> None:
    assert set(ITEMS.values()) == {"vcpu", "memory_gb", "storage_gb", "fixed_fee"}
    assert all(ITEMS[v] == v for v in ITEMS.values())  # a stored value read back is itself


def test_a_statement_line_is_exact_decimals() -> None:
    record, faults = statement_row("2026年10月", "警务云", "vCPU", "1,280核", "¥35.00", "44,800.00")
    assert faults == []
    assert (record.month, record.platform, record.item) == ("2026-10", "警务云", "vcpu")
    assert (record.quantity, record.unit_price, record.amount) == (Decimal(1280), Decimal(35), Decimal(44800))
    assert str(record.amount) == "44800.00"
    assert STATEMENT.to_row(record) == {
        "month": "2026-10",
        "platform": "警务云",
        "item": "vcpu",
        "quantity": Decimal("1280"),
        "unit_price": Decimal("35.00"),
        "amount": Decimal("44800.00"),
    }


def test_the_amount_must_be_quantity_times_unit_price_to_the_fen() -> None:
    # 3 × 0.3333 = 0.9999 -> 1.00; within 0.01 either side is accepted
    for amount in ("1.00", "0.99", "1.01"):
        record, faults = statement_row("2026-10", "警务云", "内存", "3", "0.3333", amount)
        assert faults == [], amount
    record, faults = statement_row("2026-10", "警务云", "内存", "3", "0.3333", "1.02")
    assert record is None
    # 1 × 0.005 rounds half up to 0.01 (half-even would give 0.00, 0.02 away from the amount)
    record, faults = statement_row("2026-10", "警务云", "存储", "1", "0.005", "0.02")
    assert faults == []
    record, faults = statement_row("2026-10", "警务云", "存储", "1", "0.005", "0.03")
    assert record is None


def test_a_line_whose_amount_is_not_its_product_names_the_amount_and_both_figures() -> None:
    record, faults = statement_row("2026-10", "警务云", "vCPU", "8", "150", "1,234")
    assert record is None
    (fault,) = faults
    assert (fault.column, fault.label, fault.value) == ("amount", "金额", "1,234")
    assert fault.problem.zh == "金额 1,234.00 与 数量×单价 1,200.00（8 × 150）不符"
    assert fault.problem.en == "amount 1,234.00 does not match quantity × unit price 1,200.00 (8 × 150)"


def test_a_line_with_only_an_amount_or_without_one_of_the_factors_is_not_checked() -> None:
    record, faults = parse_one(
        STATEMENT, ("月份", "平台", "计费项", "金额"), ["2026-10", "新一代平台", "服务费", "5,250,000"]
    )
    assert faults == [] and record.item == "fixed_fee"
    assert (record.quantity, record.unit_price, record.amount) == (None, None, Decimal("5250000.00"))
    record, faults = statement_row("2026-10", "警务云", "存储", "51,200", "", "12,345.67")
    assert faults == [] and record.unit_price is None


def test_a_statement_amount_is_never_negative_and_is_required() -> None:
    record, faults = statement_row("2026-10", "警务云", "vCPU", "", "", "(3,000)")
    assert record is None and faults[0].problem.en == "the amount must not be negative"
    record, faults = statement_row("2026-10", "警务云", "vCPU", "", "", "")
    assert record is None and [f.column for f in faults] == ["amount"]


def test_every_bad_cell_of_a_statement_row_is_reported_in_both_languages() -> None:
    record, faults = statement_row("十月", "警务云", "vCPU", "很多", "1.23456", "12.345")
    assert record is None
    assert [f.column for f in faults] == ["month", "quantity", "unit_price", "amount"]
    assert all(f.problem.zh and f.problem.en and f.problem.zh != f.problem.en for f in faults)


def test_a_statement_xlsx_with_a_title_row_date_and_number_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2026年10月对账单"])
    ws.append(["账期", "平台", "计费项", "计费数量", "单价(元)", "金额(元)"])
    ws.append([datetime(2026, 10, 1), "警务云", "vCPU", 1280, 35, 44800])
    ws.append([datetime(2026, 10, 1), "警务云", "内存", 2560.5, 0.1, 256.05])
    ws.append([datetime(2026, 10, 1), "警务云", "存储", 51200, 0.35, "=D5*E5"])  # a formula: no cached value
    ws.append(["2026-10", "新一代平台", "固定服务费", None, None, 1750000.1 + 0.2])
    path = tmp_path / "statement.xlsx"
    wb.save(path)
    out = format_cases.run_case("statement", path, CTX)
    assert out["header_row"] == 2
    assert out["records"] == [
        {
            "amount": "44800.00",
            "item": "vcpu",
            "month": "2026-10",
            "platform": "警务云",
            "quantity": "1280",
            "unit_price": "35",
        },
        {
            "amount": "256.05",
            "item": "memory_gb",
            "month": "2026-10",
            "platform": "警务云",
            "quantity": "2560.5",
            "unit_price": "0.1",
        },
        {
            "amount": "1750000.30",
            "item": "fixed_fee",
            "month": "2026-10",
            "platform": "新一代平台",
            "quantity": None,
            "unit_price": None,
        },
    ]
    # openpyxl has no value for a formula Excel never calculated: the row says what to fix, it is not zero
    assert [(row, label) for row, label, _ in out["faults"]] == [(5, "金额(元)")]


# --- budget

BUDGET_HEADER = ("日期", "类型", "金额", "备注")


def budget_row(kind: str, amount: object, note: str = "") -> tuple[Any | None, list[Fault]]:
    return parse_one(BUDGET, BUDGET_HEADER, ["2026-07-15", kind, amount, note])


@pytest.mark.parametrize(("written", "said"), sorted(EVENT_KINDS.items()))
def test_every_budget_kind_spelling(written: str, said: str) -> None:
    assert column(BUDGET, "kind").parse(written, CTX) == said
    assert column(BUDGET, "kind").parse(written.upper(), CTX) == said
    record, faults = budget_row(written, "1,000")
    assert faults == [] and record.kind == STORED_KINDS[said]


def test_the_stored_kinds_are_the_ones_the_table_and_checks_expect() -> None:
    assert set(STORED_KINDS.values()) == {"initial", "adjustment", "payment"}
    assert set(STORED_KINDS) == set(EVENT_KINDS.values())


@pytest.mark.parametrize(
    ("kind", "amount", "stored_kind", "stored"),
    [
        ("年初预算", "30,170,000", "initial", "30170000.00"),
        ("收回", "10,210,000", "adjustment", "-10210000.00"),  # written positive: taken back
        ("收回", "-1021万", "adjustment", "-10210000.00"),  # written negative: the same
        ("预算收回", "(1021万元)", "adjustment", "-10210000.00"),
        ("追加", "500,000", "adjustment", "500000.00"),
        ("调剂", "-200,000", "adjustment", "-200000.00"),  # an adjustment keeps the sign written
        ("调剂", "200,000", "adjustment", "200000.00"),
        ("支付", "1538.03万元", "payment", "15380300.00"),
        ("拨付", "¥1,250,000.00", "payment", "1250000.00"),
    ],
)
def test_budget_amounts_carry_the_sign_of_their_effect(
    kind: str, amount: str, stored_kind: str, stored: str
) -> None:
    record, faults = budget_row(kind, amount)
    assert faults == []
    assert record.kind == stored_kind and str(record.amount) == stored


@pytest.mark.parametrize(
    ("kind", "amount", "zh", "en"),
    [
        ("支付", "-1,000", "支付的金额应为正数", "the amount of a payment must be positive"),
        ("付款", "0", "支付的金额应为正数", "the amount of a payment must be positive"),
        ("追加", "(500)", "追加的金额应为正数", "the amount of an addition must be positive"),
        ("初始预算", "-1", "初始预算的金额应为正数", "the amount of an initial budget must be positive"),
        ("收回", "0", "收回的金额不能为 0", "a withdrawal of 0 is no event"),
    ],
)
def test_budget_signs_that_contradict_the_kind_are_refused_naming_the_amount(
    kind: str, amount: str, zh: str, en: str
) -> None:
    record, faults = budget_row(kind, amount)
    assert record is None
    (fault,) = faults
    assert (fault.column, fault.label, fault.value) == ("amount", "金额", amount)
    assert (fault.problem.zh, fault.problem.en) == (zh, en)


def test_a_budget_event_without_a_note_and_an_unknown_kind() -> None:
    record, faults = parse_one(BUDGET, ("日期", "类型", "金额"), ["2026/3/1", "预算下达", "3017万"])
    assert faults == []
    assert (record.date, record.kind, record.amount, record.note) == (
        date(2026, 3, 1),
        "initial",
        Decimal("30170000.00"),
        "",
    )
    record, faults = budget_row("冻结", "100")
    assert record is None and [f.column for f in faults] == ["kind"]
    assert "收回" in faults[0].problem.zh and "unknown value" in faults[0].problem.en


# --- explanation


@pytest.mark.parametrize(
    ("cell", "period"),
    [
        ("2026", "2026"),
        ("2026年", "2026"),
        ("2026年度", "2026"),
        (2026, "2026"),
        (2026.0, "2026"),
        ("2026-Q3", "2026-Q3"),
        ("2026Q3", "2026-Q3"),
        ("2026 q3", "2026-Q3"),
        ("2026/Q3", "2026-Q3"),
        ("２０２６－Ｑ３", "2026-Q3"),
        ("2026年第三季度", "2026-Q3"),
        ("2026年第3季度", "2026-Q3"),
        ("2026年三季度", "2026-Q3"),
        ("2026年度第一季度", "2026-Q1"),
        ("2026第4季", "2026-Q4"),
        ("2026-10", "2026-10"),
        ("2026/10", "2026-10"),
        ("2026年10月", "2026-10"),
        ("2026-3", "2026-03"),
        (datetime(2026, 10, 1), "2026-10"),
    ],
)
def test_explanation_periods(cell: object, period: str) -> None:
    assert period_of(cell) == period
    assert column(EXPLANATION, "period").parse(cell, CTX) == period


@pytest.mark.parametrize(
    "cell", ["2026-Q5", "2026-Q0", "2026年第五季度", "2026年13月", "上半年", "26", "abc", True]
)
def test_periods_that_are_refused(cell: object) -> None:
    err = refusal(column(EXPLANATION, "period").parse, cell)
    assert err.problem.zh.startswith("不是期间") and err.problem.en.startswith("not a period")


def test_an_explanation_row() -> None:
    header = ("指标", "期间", "原因", "记录人", "记录日期")
    record, faults = parse_one(
        EXPLANATION, header, ["运维服务费", "2026年第三季度", "年中收回1021万元", "李科长", "2026/10/12"]
    )
    assert faults == []
    assert EXPLANATION.to_row(record) == {
        "indicator": "运维服务费",
        "period": "2026-Q3",
        "explanation": "年中收回1021万元",
        "recorded_by": "李科长",
        "recorded_on": date(2026, 10, 12),
    }
    record, faults = parse_one(
        EXPLANATION, ("指标", "期间", "说明"), ["运维服务费", "2026", "预算执行率偏低"]
    )
    assert faults == [] and (record.recorded_by, record.recorded_on) == ("", None)
    record, faults = parse_one(EXPLANATION, ("指标", "期间", "说明"), ["运维服务费", "2026", ""])
    assert record is None and [f.column for f in faults] == ["explanation"]


# --- the kinds


def test_the_money_kinds_are_registered_and_written_as_documented() -> None:
    assert {"statement", "budget", "explanation"} <= set(KINDS)
    assert (STATEMENT.table, STATEMENT.write_mode, STATEMENT.key) == (
        BillingStatement,
        "upsert",
        ("month", "platform", "item"),
    )
    assert (BUDGET.table, BUDGET.write_mode, BUDGET.key) == (
        BudgetEvent,
        "append",
        ("date", "kind", "amount", "note"),
    )
    assert (EXPLANATION.table, EXPLANATION.write_mode, EXPLANATION.key) == (
        IndicatorExplanation,
        "upsert",
        ("indicator", "period"),
    )
    assert all(k.time_column is None for k in (STATEMENT, BUDGET, EXPLANATION))


def test_the_issue_s_chinese_and_english_headers_both_match() -> None:
    for header in (
        ("月份", "云平台", "项目", "数量", "单价", "金额"),
        ("month", "platform", "item", "quantity", "unit_price", "amount"),
    ):
        header_map, matched = match_header(STATEMENT, header)
        assert matched == 6 and header_map.ignored == ()
    for header in (("日期", "类型", "金额", "备注"), ("date", "kind", "amount", "note")):
        assert match_header(BUDGET, header)[1] == 4
    for header in (
        ("指标", "期间", "说明", "记录人", "记录日期"),
        ("indicator", "period", "explanation", "recorded_by", "recorded_on"),
    ):
        assert match_header(EXPLANATION, header)[1] == 5
