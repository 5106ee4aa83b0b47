"""budget: a budget line's events (预算事件), appended; the same event in two files is stored once.

`kind` is initial (the year's budget as first issued), adjustment (调剂: either way; 收回: money taken back;
追加: money added) or payment (支付). The store keeps the amount with the sign of its effect on the budget:
money taken back is negative, however the sheet writes it — finance sheets list a 收回 of 10,210,000 as a
positive figure in a "收回" row. So a 收回 written positive is stored negative, a 追加 must be positive, and
so must a payment and an initial budget.

An event's identity is the whole row (date, kind, amount, note): there is no event number in the sheets the
center keeps, and a budget line may well see two payments of the same amount on one day with different notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, ParseContext, RecordKind
from ops_watch.store.schema import BudgetEvent

# Spelling -> what the row says. "withdrawal" and "addition" are adjustments whose sign the word fixes.
EVENT_KINDS = {
    "initial": "initial",
    "初始预算": "initial",
    "年初预算": "initial",
    "预算下达": "initial",
    "adjustment": "adjustment",
    "调剂": "adjustment",
    "调整": "adjustment",
    "预算调整": "adjustment",
    "withdrawal": "withdrawal",
    "收回": "withdrawal",
    "预算收回": "withdrawal",
    "addition": "addition",
    "追加": "addition",
    "预算追加": "addition",
    "payment": "payment",
    "支付": "payment",
    "付款": "payment",
    "拨付": "payment",
}
# What the store keeps (BudgetEvent.kind).
STORED_KINDS = {
    "initial": "initial",
    "adjustment": "adjustment",
    "withdrawal": "adjustment",
    "addition": "adjustment",
    "payment": "payment",
}

COLUMNS = (
    Column(
        "date",
        (
            "日期",
            "发生日期",
            "业务日期",
            "记账日期",
            "支付日期",
            "下达日期",
            "业务发生日期",
            "凭证日期",
        ),
        fields.date_value(),
        type_doc="date",
        example="2026-07-15",
    ),
    Column(
        "kind",
        (
            "类型",
            "事项",
            "事件类型",
            "业务类型",
            "事项类型",
            "类别",
            "业务事项",
            "事项类别",
        ),
        fields.choice(EVENT_KINDS),
        type_doc="initial (初始预算, 年初预算, 预算下达), adjustment (调剂, 调整; 收回: money taken back; 追加: "
        "money added), payment (支付, 付款, 拨付)",
        example="支付",
    ),
    Column(
        "amount",
        ("金额", "金额(元)", "发生额", "发生金额", "发生额(元)", "发生金额(元)"),
        fields.money(allow_negative=True),
        type_doc="CNY to the fen: 1,234.56, ¥1,234.56, 12.5万元; negative as -3,000 or (3,000)",
        example="1,250,000.00",
    ),
    Column(
        "note",
        (
            "备注",
            "摘要",
            "说明",
            "用途",
            "事由",
            "用途说明",
            "附言",
        ),
        fields.text(512),
        required=False,
        default="",
        example="第三季度运维服务费",
    ),
)


@dataclass(slots=True)
class BudgetEventRecord:
    date: date
    kind: str
    amount: Decimal
    note: str


def _must_be_positive(amount: Decimal, zh: str, en: str) -> None:
    if amount <= 0:
        raise CellError(f"{zh}的金额应为正数", f"the amount of {en} must be positive", column="amount")


def build(values: dict[str, Any], _ctx: ParseContext) -> BudgetEventRecord:
    said, amount = values["kind"], values["amount"]
    if said == "withdrawal":
        if amount == 0:
            raise CellError("收回的金额不能为 0", "a withdrawal of 0 is no event", column="amount")
        amount = -abs(amount)
    elif said == "addition":
        _must_be_positive(amount, "追加", "an addition")
    elif said == "payment":
        _must_be_positive(amount, "支付", "a payment")
    elif said == "initial":
        _must_be_positive(amount, "初始预算", "an initial budget")
    return BudgetEventRecord(date=values["date"], kind=STORED_KINDS[said], amount=amount, note=values["note"])


KIND = RecordKind(
    name="budget",
    title_zh="预算事件",
    title_en="budget events",
    columns=COLUMNS,
    record_type=BudgetEventRecord,
    build=build,
    table=BudgetEvent,
    write_mode="append",
    key=("date", "kind", "amount", "note"),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
