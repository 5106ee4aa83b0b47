"""statement: the contractor's monthly statement (对账单), one row per billed item; upsert by (month, platform,
item): a corrected statement wins.

`item` is what the line bills: vcpu, memory_gb, storage_gb (metered resources) or fixed_fee (a platform billed
by the quarter). Any other text is kept as written: billing_mismatch reports it as an item the contract does
not price. `amount` is money (Decimal, to the fen); `quantity` and `unit_price` exact decimals. When a line
gives both, its amount must be their product to the fen: a statement whose own arithmetic is wrong is refused
before anyone reconciles it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ops_watch.core.timeutil import parse_date
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import (
    FAST_CHOICE,
    CellError,
    CellParser,
    Column,
    ParseContext,
    RecordKind,
    fast_path,
    normalize_header,
)
from ops_watch.store.schema import BillingStatement

ITEMS = {
    "vcpu": "vcpu",
    "vCPU": "vcpu",
    "CPU": "vcpu",
    "计算": "vcpu",
    "计算资源": "vcpu",
    "memory_gb": "memory_gb",
    "memory": "memory_gb",
    "内存": "memory_gb",
    "内存(GB)": "memory_gb",
    "storage_gb": "storage_gb",
    "storage": "storage_gb",
    "存储": "storage_gb",
    "存储(GB)": "storage_gb",
    "fixed_fee": "fixed_fee",
    "固定服务费": "fixed_fee",
    "服务费": "fixed_fee",
}
ITEM_MAX = 64  # BillingStatement.item
QUANTITY_UNITS = ("核", "核·月", "核月", "GB", "G", "GB·月", "GB月", "个月", "月", "季度")
PRICE_UNITS = ("元/核·月", "元/核/月", "元/GB·月", "元/GB/月", "元/月", "元/季度")
TOLERANCE = Decimal("0.01")

_MONTH = re.compile(r"^(\d{4})(?:[-/.]|年)(\d{1,2})月?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
_NOT_A_MONTH = (
    "不是月份（应为 2026-10、2026/10 或 2026年10月 这样的写法）",
    "not a month (write e.g. 2026-10)",
)


def month_of(value: Any) -> str:
    """A month cell -> "YYYY-MM": 2026-10, 2026/10, 2026.10, 2026年10月, 202610, a date, an Excel date cell.

    Excel turns a typed 2026-10 into the date 2026-10-01; a date in the month is read as its month. A number
    cell like 2026.1 is refused: Excel stores a typed 2026.10 that way, so it cannot tell October from January.
    """
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, bool):
        raise CellError(*_NOT_A_MONTH)
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(
                f"Excel 把月份存成了数字 {value:g}（2026.10 会变成 2026.1）：请写 2026-10，或把单元格设为文本",
                f"Excel stored the month as the number {value:g} (a typed 2026.10 becomes 2026.1): "
                "write 2026-10, or format the cell as text",
            )
        value = int(value)
    text = "".join(unicodedata.normalize("NFKC", str(value)).split())
    m = _MONTH.match(text) or _MONTH_COMPACT.match(text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        try:
            day = parse_date(text)
        except ValueError:
            raise CellError(*_NOT_A_MONTH) from None
        year, month = day.year, day.month
    if not 1 <= month <= 12:
        raise CellError(*_NOT_A_MONTH)
    return f"{year:04d}-{month:02d}"


def month_value() -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> str:
        return month_of(value)

    return parse


def item_value() -> CellParser:
    """A billed item: one of ITEMS' spellings (case, width and spaces ignored) or, otherwise, the text as
    written, which the reconciliation reports as an item the contract does not price."""
    table = {normalize_header(k): v for k, v in ITEMS.items()}
    as_text = fields.text(ITEM_MAX)

    def parse(value: Any, ctx: ParseContext) -> str:
        text = as_text(value, ctx)
        return table.get(normalize_header(text), text)

    # A str cell spelled exactly as listed is looked up by the row parser without the call.
    return fast_path(parse, FAST_CHOICE, dict(ITEMS))


COLUMNS = (
    Column(
        "month",
        (
            "月份",
            "账期",
            "计费月份",
            "结算月份",
            "账单月份",
            "所属月份",
            "计费周期",
            "结算周期",
            "账单周期",
            "费用月份",
            "结算月",
            "账单月",
        ),
        month_value(),
        type_doc="month: 2026-10, 2026/10, 2026年10月, or an Excel date cell",
        example="2026-10",
    ),
    Column(
        "platform",
        (
            "云平台",
            "平台",
            "所属平台",
            "所属云平台",
            "平台名称",
            "云平台名称",
            "资源池",
            "云平台名",
        ),
        fields.text(128),
        example="警务云",
    ),
    Column(
        "item",
        (
            "项目",
            "计费项",
            "计费项目",
            "费用项目",
            "收费项目",
            "服务项目",
            "计费类型",
            "资源类型",
            "费用类型",
            "费用名称",
            "计费项名称",
        ),
        item_value(),
        type_doc="vcpu (vCPU, CPU, 计算), memory_gb (内存), storage_gb (存储), fixed_fee (固定服务费, 服务费); "
        "other text is kept as written",
        example="vCPU",
    ),
    Column(
        "quantity",
        (
            "数量",
            "计费数量",
            "用量",
            "使用量",
            "计费量",
            "结算数量",
            "计费用量",
        ),
        fields.decimal_value(0, 4, QUANTITY_UNITS),
        required=False,
        type_doc="exact number ≥ 0, up to 4 decimals; empty = not given",
        example="1280",
    ),
    Column(
        "unit_price",
        (
            "单价",
            "单价(元)",
            "unit price",
            "计费单价",
            "合同单价",
            "计费单价(元)",
            "合同单价(元)",
            "结算单价",
            "单价(元/月)",
        ),
        fields.decimal_value(0, 4, PRICE_UNITS),
        required=False,
        type_doc="CNY, exact, ≥ 0, up to 4 decimals; empty = not given",
        example="35.00",
    ),
    Column(
        "amount",
        (
            "金额",
            "金额(元)",
            "费用",
            "应付金额",
            "费用(元)",
            "应付金额(元)",
            "结算金额",
            "结算金额(元)",
            "计费金额",
            "计费金额(元)",
            "amount",
            "费用金额",
            "合计金额",
            "实际金额",
            "小计",
        ),
        fields.money(),
        type_doc="CNY ≥ 0 to the fen: 1,234.56, ¥1,234.56, 1234.56元, 12.5万元",
        example="44,800.00",
    ),
)


@dataclass(slots=True)
class StatementRecord:
    month: str
    platform: str
    item: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal


def _yuan(value: Decimal) -> str:
    return f"{value:,.2f}"


def build(values: dict[str, Any], _ctx: ParseContext) -> StatementRecord:
    quantity, unit_price, amount = values["quantity"], values["unit_price"], values["amount"]
    if quantity is not None and unit_price is not None:
        product = (quantity * unit_price).quantize(fields.CENT, ROUND_HALF_UP)
        if abs(amount - product) > TOLERANCE:
            raise CellError(
                f"金额 {_yuan(amount)} 与 数量×单价 {_yuan(product)}（{quantity} × {unit_price}）不符",
                f"amount {_yuan(amount)} does not match quantity × unit price {_yuan(product)} "
                f"({quantity} × {unit_price})",
                column="amount",
            )
    return StatementRecord(**values)


KIND = RecordKind(
    name="statement",
    title_zh="对账单",
    title_en="billing statements",
    columns=COLUMNS,
    record_type=StatementRecord,
    build=build,
    table=BillingStatement,
    write_mode="upsert",
    key=("month", "platform", "item"),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
