"""Monthly billing reconciliation and cost targets (R11): what the inventory says a month should cost, against
the contractor's statement (对账单), line by line; and the cost indicators' actuals against their targets.

The measured month
------------------
- `unit_price` platforms: per item (vcpu, memory_gb, storage_gb) the quantity is Σ over the inventory's
  resources of units × (days allocated in the month ÷ days in the month). A resource counts for the days it
  was allocated: `allocated_from` to `allocated_to`, both inclusive (the day a resource is reclaimed is still
  billed, as `utilization.allocated_filter` counts it); an empty date is open. The amount is
  Σ units × days × unit price ÷ days in the month, rounded once to the fen (half up); the quantity is shown to
  four decimals. A resource allocated from the 16th of a 30-day month counts 15/30 of a month.
- `fixed_fee` platforms: one line `fixed_fee` of fee_per_quarter ÷ 3 for a month inside the service period,
  pro rata by days for a month the period starts or ends in. `service_start` is the first day served and
  `service_end` the first day no longer served (2021-03-01 to 2024-03-01 is 36 whole months).
- Only platforms listed in contract.toml `[platforms]` are measured (the others have no prices).

Money is Decimal end to end: the contract's unit prices are floats in `pricing` and are read as
`Decimal(str(x))`, inventory units likewise; amounts are CNY with two places.

Limitation: the inventory table holds the current state of each resource (the latest export wins). A resource
deleted from the inventory export before its month is reconciled is not counted any more, and a resource whose
size changed during the month counts at its current size for the whole of it. Ingest the month's own
inventory export (with reclaimed resources still listed with their 回收日期) before reconciling the month.

Reconciliation
--------------
Statement lines (`BillingStatement`) meet measured lines by (platform, item). A matched line differs when the
difference exceeds BOTH `tolerance_amount` (CNY) and `tolerance_pct` (of the measured amount). A statement
line with nothing to meet it is unmatched (an unknown item such as "GPU", a platform the contract does not
list, an item the platform's billing model does not bill, or a unit-price item nothing was allocated for);
a measured line with no statement line is "not billed".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.areas.money.pricing import CURRENCY, PlatformsSection, PlatformTerms, platform_terms
from ops_watch.core.contract import CONTRACT_SECTIONS
from ops_watch.core.models import Strict
from ops_watch.core.when import month_bounds, parse_month
from ops_watch.store.schema import BillingStatement, IndicatorExplanation, InventoryResource

CENT = Decimal("0.01")
QUANTITY_PLACES = Decimal("0.0001")
PCT_PLACES = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_LISTED = 20  # partially allocated resources listed in a line's evidence

RESOURCE_ITEMS = ("vcpu", "memory_gb", "storage_gb")
FIXED_FEE = "fixed_fee"
ITEMS = (*RESOURCE_ITEMS, FIXED_FEE)
ITEM_ZH = {"vcpu": "vCPU", "memory_gb": "内存", "storage_gb": "存储", FIXED_FEE: "固定服务费"}
ITEM_EN = {"vcpu": "vCPU", "memory_gb": "memory", "storage_gb": "storage", FIXED_FEE: "fixed fee"}
UNIT_ZH = {"vcpu": "vCPU·月", "memory_gb": "GB·月", "storage_gb": "GB·月", FIXED_FEE: "月"}
UNIT_EN = {"vcpu": "vCPU-months", "memory_gb": "GB-months", "storage_gb": "GB-months", FIXED_FEE: "months"}
PRICE_KEYS = {"vcpu": "vcpu_month", "memory_gb": "memory_gb_month", "storage_gb": "storage_gb_month"}

Status = Literal["ok", "mismatch", "unmatched", "not_billed"]
STATUS_ZH = {"ok": "一致", "mismatch": "超出容差", "unmatched": "无对应资源", "not_billed": "未计费"}
STATUS_EN = {
    "ok": "ok",
    "mismatch": "out of tolerance",
    "unmatched": "no matching resource",
    "not_billed": "not billed",
}

# Why a statement line meets no measured line.
REASON_ZH = {
    "unknown_platform": "合同 [platforms] 未列该云平台",
    "unknown_item": "合同没有该计费项目",
    "wrong_item": "该平台的计费方式不按此项目计费",
    "nothing_allocated": "当月资源清单中没有分配该项资源",
    "no_fee": "合同未给该固定费用平台的 fee_per_quarter",
    "outside_service": "当月不在该平台的服务期内",
    "not_billed": "账单没有此项",
}
REASON_EN = {
    "unknown_platform": "the contract's [platforms] does not list this platform",
    "unknown_item": "the contract has no such billing item",
    "wrong_item": "this platform's billing model does not bill this item",
    "nothing_allocated": "the inventory allocates none of it in the month",
    "no_fee": "the contract gives no fee_per_quarter for this fixed-fee platform",
    "outside_service": "the month is outside the platform's service period",
    "not_billed": "the statement has no such line",
}

_PERIOD = re.compile(r"(\d{4})(?:-Q([1-4])|-(\d{1,2}))?")


# --- months and periods ----------------------------------------------------------------------------------


# parse_month ('2026-10', '2026/10', '2026年10月' -> '2026-10') and month_bounds are core.when's, the same for
# every command and console page; imported at the top so `billing.model.parse_month` keeps working.


def _next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(text: str) -> str:
    """A cost target's period: a year '2026', a quarter '2026-Q3' or a month '2026-10' (normalized)."""
    m = _PERIOD.fullmatch(str(text).strip().upper())
    if not m or (m.group(3) is not None and not 1 <= int(m.group(3)) <= 12):
        raise ValueError(
            f"{text!r} is not a period (write a year 2026, a quarter 2026-Q3 or a month 2026-10)"
        )
    year = int(m.group(1))
    if m.group(2):
        return f"{year:04d}-Q{m.group(2)}"
    if m.group(3):
        return f"{year:04d}-{int(m.group(3)):02d}"
    return f"{year:04d}"


def period_bounds(period: str) -> tuple[date, date]:
    """The first and last day of a period '2026', '2026-Q3' or '2026-10'."""
    period = parse_period(period)
    year = int(period[:4])
    if len(period) == 4:
        return date(year, 1, 1), date(year, 12, 31)
    if period[5] == "Q":
        first = date(year, 3 * int(period[6]) - 2, 1)
        return first, _next_month(_next_month(_next_month(first))) - timedelta(days=1)
    return month_bounds(period)


def period_months(period: str) -> list[str]:
    """The months of a period, in order."""
    first, last = period_bounds(period)
    out, day = [], first
    while day <= last:
        out.append(month_of(day))
        day = _next_month(day)
    return out


# --- the contract's [billing] section --------------------------------------------------------------------


class CostTarget(Strict):
    """A cost indicator of the performance targets: what a period (and optionally one platform) should cost."""

    indicator: str = Field(min_length=1, max_length=256)
    period: str
    platform: str | None = None  # None: every platform's statement lines
    target: Decimal = Field(gt=0)  # CNY

    @field_validator("indicator")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> str:
        return parse_period(str(value))


class BillingSection(Strict):
    """contract.toml `[billing]`: the reconciliation tolerance and the cost indicators' targets."""

    # A line differs when the difference exceeds BOTH: a percentage of the measured amount and an amount.
    tolerance_pct: Decimal = Field(default=Decimal("1.0"), ge=0)
    tolerance_amount: Decimal = Field(default=Decimal("100.00"), ge=0)
    # A cost indicator whose actual is more than this % off its target needs an explanation in the register.
    deviation_pct: Decimal = Field(default=Decimal("10"), gt=0)
    cost_targets: list[CostTarget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_targets(self) -> BillingSection:
        seen: set[tuple[str, str]] = set()
        for t in self.cost_targets:
            key = (t.indicator, t.period)
            if key in seen:
                raise ValueError(
                    f"cost_targets: {t.indicator!r} for {t.period} is given twice "
                    "(an explanation is recorded per indicator and period: give each indicator its own name)"
                )
            seen.add(key)
        return self


CONTRACT_SECTIONS.add("billing", BillingSection)


def billing_terms(contract: Mapping[str, Any]) -> BillingSection:
    section = contract.get("billing")
    if isinstance(section, BillingSection):
        return section
    if isinstance(section, Mapping):
        return BillingSection.model_validate(dict(section))
    return BillingSection()


def contract_platforms(contract: Mapping[str, Any]) -> dict[str, PlatformTerms]:
    """The platforms of contract.toml `[platforms]`, in the file's order."""
    section = contract.get("platforms")
    if isinstance(section, PlatformsSection):
        names = list(section.root)
    elif isinstance(section, Mapping):
        names = list(section)
    else:
        names = []
    out = {}
    for name in names:
        terms = platform_terms(dict(contract), name)
        if terms is not None:
            out[name] = terms
    return out


def unit_price(terms: PlatformTerms, item: str) -> Decimal | None:
    """The contract's price of one unit of `item` for a month, exact (floats in pricing read as their text)."""
    if terms.billing != "unit_price" or item not in PRICE_KEYS:
        return None
    value = getattr(terms, PRICE_KEYS[item])
    return None if value is None else Decimal(str(value))


# --- the measured month ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceDays:
    """One resource's part of a line: its units and the days of the month it was allocated."""

    resource_id: str
    units: Decimal
    first_day: date
    last_day: date
    days: int


@dataclass(frozen=True)
class MeasuredLine:
    """What one (platform, item) should cost in the month, with its computation."""

    month: str
    platform: str
    item: str
    quantity: Decimal  # units × months, four decimals
    unit_price: Decimal  # CNY per unit-month (fixed_fee: fee_per_quarter ÷ 3, exact)
    amount: Decimal  # CNY, two decimals
    days_in_month: int
    unit_days: Decimal  # Σ units × days allocated (fixed_fee: days in service)
    resources: tuple[ResourceDays, ...] = ()
    fee_per_quarter: Decimal | None = None
    service_start: date | None = None
    service_end: date | None = None

    def computation(self) -> dict[str, Any]:
        """The computation as evidence (money and quantities as strings)."""
        out: dict[str, Any] = {
            "quantity": str(self.quantity),
            "unit_price": str(self.unit_price.quantize(CENT, ROUND_HALF_UP)),
            "amount": str(self.amount),
            "days_in_month": self.days_in_month,
        }
        if self.item == FIXED_FEE:
            out.update(
                basis="fixed_fee",
                fee_per_quarter=str(self.fee_per_quarter),
                service_start=self.service_start.isoformat() if self.service_start else None,
                service_end=self.service_end.isoformat() if self.service_end else None,
                days_in_service=int(self.unit_days),
                formula=f"{self.fee_per_quarter} ÷ 3 × {int(self.unit_days)} ÷ {self.days_in_month}",
            )
            return out
        partial = [r for r in self.resources if r.days < self.days_in_month]
        out.update(
            basis="allocated",
            resources=len(self.resources),
            full_month=len(self.resources) - len(partial),
            unit_days=_plain(self.unit_days),
            formula=f"Σ units × days ({_plain(self.unit_days)}) × {out['unit_price']} ÷ {self.days_in_month}",
            partial=[
                {
                    "resource_id": r.resource_id,
                    "units": _plain(r.units),
                    "from": r.first_day.isoformat(),
                    "to": r.last_day.isoformat(),
                    "days": r.days,
                }
                for r in partial[:MAX_LISTED]
            ],
        )
        if len(partial) > MAX_LISTED:
            out["partial_more"] = len(partial) - MAX_LISTED
        return out


def _plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 1180.5000 -> '1180.5', 64.0 -> '64'."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _days_in(first: date, last: date, start: date | None, end: date | None) -> tuple[date, date, int]:
    """The part of [first, last] inside [start, end] (inclusive; None open) and its number of days."""
    lo = max(first, start) if start else first
    hi = min(last, end) if end else last
    return lo, hi, max(0, (hi - lo).days + 1)


def _resource_lines(
    session: Session, month: str, platforms: dict[str, PlatformTerms], first: date, last: date
) -> list[MeasuredLine]:
    inv = InventoryResource
    names = [name for name, terms in platforms.items() if terms.billing == "unit_price"]
    if not names:
        return []
    rows = session.execute(
        select(
            inv.resource_id,
            inv.platform,
            inv.vcpu,
            inv.memory_gb,
            inv.storage_gb,
            inv.allocated_from,
            inv.allocated_to,
        )
        .where(
            inv.platform.in_(names),
            inv.allocated_from.is_(None) | (inv.allocated_from <= last),
            inv.allocated_to.is_(None) | (inv.allocated_to >= first),
        )
        .order_by(inv.resource_id)
    ).all()
    dim = (last - first).days + 1
    parts: dict[tuple[str, str], list[ResourceDays]] = defaultdict(list)
    for rid, platform, vcpu, memory_gb, storage_gb, start, end in rows:
        lo, hi, days = _days_in(first, last, start, end)
        if days == 0:
            continue
        for item, units in (("vcpu", vcpu), ("memory_gb", memory_gb), ("storage_gb", storage_gb)):
            amount = Decimal(str(units or 0))
            if amount > 0:
                parts[(platform, item)].append(ResourceDays(rid, amount, lo, hi, days))
    lines = []
    for name in names:
        for item in RESOURCE_ITEMS:
            resources = parts.get((name, item))
            price = unit_price(platforms[name], item)
            if not resources or price is None:
                continue
            unit_days = sum((r.units * r.days for r in resources), Decimal(0))
            lines.append(
                MeasuredLine(
                    month=month,
                    platform=name,
                    item=item,
                    quantity=(unit_days / dim).quantize(QUANTITY_PLACES, ROUND_HALF_UP),
                    unit_price=price,
                    amount=(unit_days * price / dim).quantize(CENT, ROUND_HALF_UP),
                    days_in_month=dim,
                    unit_days=unit_days,
                    resources=tuple(resources),
                )
            )
    return lines


def _fixed_fee_line(
    month: str, name: str, terms: PlatformTerms, first: date, last: date
) -> MeasuredLine | None:
    if terms.billing != "fixed_fee" or terms.fee_per_quarter is None:
        return None
    end = (
        terms.service_end - timedelta(days=1) if terms.service_end else None
    )  # service_end: first day not served
    _lo, _hi, days = _days_in(first, last, terms.service_start, end)
    if days == 0:
        return None
    dim = (last - first).days + 1
    fee = Decimal(terms.fee_per_quarter)
    return MeasuredLine(
        month=month,
        platform=name,
        item=FIXED_FEE,
        quantity=(Decimal(days) / dim).quantize(QUANTITY_PLACES, ROUND_HALF_UP),
        unit_price=fee / 3,
        amount=(fee * days / (3 * dim)).quantize(CENT, ROUND_HALF_UP),
        days_in_month=dim,
        unit_days=Decimal(days),
        fee_per_quarter=fee,
        service_start=terms.service_start,
        service_end=terms.service_end,
    )


def measured_month(session: Session, contract: Mapping[str, Any], month: str) -> list[MeasuredLine]:
    """What each (platform, item) of the contract should cost in `month` ('2026-10'), from the inventory
    (unit-price platforms, pro rata by days allocated) and the fixed fees (fee_per_quarter ÷ 3 in service).
    Lines with nothing to bill are left out. In the contract's platform order, then vcpu, memory, storage."""
    month = parse_month(month)
    first, last = month_bounds(month)
    platforms = contract_platforms(contract)
    by_key = {(m.platform, m.item): m for m in _resource_lines(session, month, platforms, first, last)}
    for name, terms in platforms.items():
        line = _fixed_fee_line(month, name, terms, first, last)
        if line is not None:
            by_key[(name, FIXED_FEE)] = line
    return [by_key[(name, item)] for name in platforms for item in ITEMS if (name, item) in by_key]


# --- the statement and the reconciliation ----------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One line of the contractor's statement, as stored."""

    month: str
    platform: str
    item: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    batch_id: int | None = None

    def computation(self) -> dict[str, Any]:
        return {
            "quantity": None if self.quantity is None else str(self.quantity),
            "unit_price": None if self.unit_price is None else str(self.unit_price),
            "amount": str(self.amount),
            "batch_id": self.batch_id,
        }


def statement_lines(session: Session, month: str) -> list[StatementLine]:
    month = parse_month(month)
    rows = session.scalars(
        select(BillingStatement)
        .where(BillingStatement.month == month)
        .order_by(BillingStatement.platform, BillingStatement.item)
    )
    return [
        StatementLine(r.month, r.platform, r.item, r.quantity, r.unit_price, Decimal(r.amount), r.batch_id)
        for r in rows
    ]


def statement_months(session: Session, before: str | None = None) -> list[str]:
    """Months with statement lines, newest first (only those before month `before` when given)."""
    stmt = select(BillingStatement.month).distinct()
    if before is not None:
        stmt = stmt.where(BillingStatement.month < before)
    return sorted(set(session.scalars(stmt)), reverse=True)


@dataclass(frozen=True)
class LineResult:
    """One (platform, item) of the month: the statement's computation beside the measured one."""

    month: str
    platform: str
    item: str
    status: Status
    billed: StatementLine | None
    measured: MeasuredLine | None
    difference: Decimal | None = None  # billed − measured, CNY
    difference_pct: Decimal | None = None  # of the measured amount, two decimals
    reason: str | None = None  # unmatched / not_billed: a key of REASON_ZH
    notes: tuple[str, ...] = ()  # keys of NOTE_ZH: the statement's own arithmetic or prices differ
    tolerance_pct: Decimal | None = None
    tolerance_amount: Decimal | None = None

    @property
    def within_tolerance(self) -> bool:
        return self.status == "ok"

    @property
    def subject(self) -> str:
        return f"{self.month} {self.platform} {self.item}"


NOTE_ZH = {
    "unit_price_differs": "账单单价与合同单价不同",
    "amount_not_quantity_times_price": "账单金额不等于数量 × 单价",
}
NOTE_EN = {
    "unit_price_differs": "the billed unit price is not the contract's",
    "amount_not_quantity_times_price": "the billed amount is not quantity × unit price",
}


@dataclass(frozen=True)
class Reconciliation:
    month: str
    tolerance_pct: Decimal
    tolerance_amount: Decimal
    lines: list[LineResult] = field(default_factory=list)

    @property
    def has_statement(self) -> bool:
        return any(line.billed is not None for line in self.lines)

    @property
    def billed_total(self) -> Decimal:
        return sum((line.billed.amount for line in self.lines if line.billed), Decimal("0.00"))

    @property
    def measured_total(self) -> Decimal:
        return sum((line.measured.amount for line in self.lines if line.measured), Decimal("0.00"))

    @property
    def difference(self) -> Decimal:
        return self.billed_total - self.measured_total

    @property
    def findings(self) -> list[LineResult]:
        """The lines out of tolerance or unmatched (either way)."""
        return [line for line in self.lines if line.status != "ok"]

    def totals(self) -> dict[str, Any]:
        counts = {s: sum(1 for line in self.lines if line.status == s) for s in STATUS_ZH}
        unmatched = sum(
            (line.billed.amount for line in self.lines if line.status == "unmatched" and line.billed),
            Decimal("0.00"),
        )
        return {
            "month": self.month,
            "billed_amount": str(self.billed_total),
            "measured_amount": str(self.measured_total),
            "difference": str(self.difference),
            "billed_unmatched_amount": str(unmatched),
            "currency": CURRENCY,
            "tolerance_pct": str(self.tolerance_pct),
            "tolerance_amount": str(self.tolerance_amount),
            **{f"lines_{s}": n for s, n in counts.items()},
        }


def _unmatched_reason(line: StatementLine, platforms: dict[str, PlatformTerms]) -> str:
    terms = platforms.get(line.platform)
    if terms is None:
        return "unknown_platform"
    if line.item not in ITEMS:
        return "unknown_item"
    if (terms.billing == "fixed_fee") != (line.item == FIXED_FEE):
        return "wrong_item"
    if line.item != FIXED_FEE:
        return "nothing_allocated"
    if terms.fee_per_quarter is None:
        return "no_fee"
    return "outside_service"


def _notes(billed: StatementLine, measured: MeasuredLine) -> tuple[str, ...]:
    notes = []
    if billed.unit_price is not None:
        contract_price = measured.unit_price.quantize(CENT, ROUND_HALF_UP)
        if billed.unit_price.quantize(CENT, ROUND_HALF_UP) != contract_price:
            notes.append("unit_price_differs")
    if billed.quantity is not None and billed.unit_price is not None:
        if abs(billed.quantity * billed.unit_price - billed.amount) > CENT:
            notes.append("amount_not_quantity_times_price")
    return tuple(notes)


def compare(
    billed: StatementLine, measured: MeasuredLine, tolerance_pct: Decimal, tolerance_amount: Decimal
) -> LineResult:
    """A statement line against its measured line: out of tolerance when the difference exceeds both."""
    diff = billed.amount - measured.amount
    pct = (diff * HUNDRED / measured.amount).quantize(PCT_PLACES, ROUND_HALF_UP) if measured.amount else None
    over_amount = abs(diff) > tolerance_amount
    over_pct = pct is None or abs(diff * HUNDRED) > tolerance_pct * abs(measured.amount)  # exact, not rounded
    status: Status = "mismatch" if over_amount and over_pct else "ok"
    return LineResult(
        billed.month,
        billed.platform,
        billed.item,
        status,
        billed,
        measured,
        difference=diff,
        difference_pct=pct,
        notes=_notes(billed, measured),
        tolerance_pct=tolerance_pct,
        tolerance_amount=tolerance_amount,
    )


def reconcile(session: Session, contract: Mapping[str, Any], month: str) -> Reconciliation:
    """The month's statement against the measured month, line by line (matched lines in the contract's
    order, then the statement's unmatched lines, then the measured lines not billed)."""
    month = parse_month(month)
    terms = billing_terms(contract)
    platforms = contract_platforms(contract)
    measured = {(m.platform, m.item): m for m in measured_month(session, contract, month)}
    billed = {(s.platform, s.item): s for s in statement_lines(session, month)}
    tolerance = {"tolerance_pct": terms.tolerance_pct, "tolerance_amount": terms.tolerance_amount}
    matched, unmatched, not_billed = [], [], []
    for key, m in measured.items():
        s = billed.get(key)
        if s is None:
            not_billed.append(
                LineResult(month, m.platform, m.item, "not_billed", None, m, reason="not_billed", **tolerance)
            )
        else:
            matched.append(compare(s, m, terms.tolerance_pct, terms.tolerance_amount))
    for key, s in billed.items():
        if key not in measured:
            reason = _unmatched_reason(s, platforms)
            unmatched.append(
                LineResult(month, s.platform, s.item, "unmatched", s, None, reason=reason, **tolerance)
            )
    return Reconciliation(
        month, terms.tolerance_pct, terms.tolerance_amount, matched + unmatched + not_billed
    )


# --- how a line reads ------------------------------------------------------------------------------------


def money_text(amount: Decimal) -> str:
    """1234.5 -> '1,234.50'."""
    return f"{amount.quantize(CENT, ROUND_HALF_UP):,.2f}"


def signed_money(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + money_text(amount)


def quantity_text(quantity: Decimal) -> str:
    """1180.5000 -> '1,180.5'; 1234 -> '1,234' (four decimals at most)."""
    text = f"{quantity.quantize(QUANTITY_PLACES, ROUND_HALF_UP):,.4f}"
    return text.rstrip("0").rstrip(".")


def pct_text(pct: Decimal) -> str:
    return ("+" if pct > 0 else "") + f"{pct.quantize(Decimal('0.1'), ROUND_HALF_UP)}"


def item_label(item: str, language: str) -> str:
    return (ITEM_ZH if language == "zh" else ITEM_EN).get(item, item)


def _billed_phrase(s: StatementLine, language: str) -> str:
    zh = language == "zh"
    unit = (UNIT_ZH if zh else UNIT_EN).get(s.item)  # an unknown item ("GPU") has no unit we know
    yuan = " 元" if zh else " CNY"
    if s.quantity is not None and s.unit_price is not None:
        quantity = quantity_text(s.quantity) + (f" {unit}" if unit else "")
        return f"{quantity} × {money_text(s.unit_price)} = {money_text(s.amount)}{yuan}"
    return f"{money_text(s.amount)}{yuan}"


def _measured_phrase(m: MeasuredLine, language: str) -> str:
    zh = language == "zh"
    unit = (UNIT_ZH if zh else UNIT_EN)[m.item]
    head = f"{quantity_text(m.quantity)} {unit} × {money_text(m.unit_price)} = {money_text(m.amount)}"
    if m.item == FIXED_FEE:
        fee, days = money_text(m.fee_per_quarter or Decimal(0)), f"{int(m.unit_days)}/{m.days_in_month}"
        how = (
            f"（季度费 {fee} 元 ÷ 3，服务期内 {days} 天）"
            if zh
            else f" (quarterly fee {fee} ÷ 3, {days} days in service)"
        )
    else:
        n, partial = len(m.resources), sum(1 for r in m.resources if r.days < m.days_in_month)
        if zh:
            how = (
                f"（资源 {n} 个，其中 {partial} 个按当月分配天数折算）"
                if partial
                else f"（资源 {n} 个，均为整月）"
            )
        else:
            how = (
                f" ({n} resources, {partial} of them pro rata by days allocated)"
                if partial
                else f" ({n} resources, all the whole month)"
            )
    return head + (" 元" if zh else " CNY") + how


def _tolerance_text(line: LineResult, language: str) -> str:
    pct, amount = line.tolerance_pct or Decimal(0), money_text(line.tolerance_amount or Decimal(0))
    return f"±{_plain(pct)} % 且 ±{amount} 元" if language == "zh" else f"±{_plain(pct)} % and ±{amount} CNY"


def line_summary(line: LineResult, language: str) -> str:
    """One sentence with both computations side by side."""
    zh = language == "zh"
    head = f"{line.month} {line.platform} {item_label(line.item, language)}" + ("：" if zh else ": ")
    if line.status == "not_billed":
        assert line.measured is not None
        measured = _measured_phrase(line.measured, language)
        return head + (
            f"实测 {measured}，账单没有此项" if zh else f"measured {measured}; the statement has no such line"
        )
    assert line.billed is not None
    billed = _billed_phrase(line.billed, language)
    if line.status == "unmatched":
        why = (REASON_ZH if zh else REASON_EN)[line.reason or "unknown_item"]
        return head + (
            f"账单 {billed}，无对应资源（{why}）" if zh else f"billed {billed}, no matching resource ({why})"
        )
    assert line.measured is not None and line.difference is not None
    measured = _measured_phrase(line.measured, language)
    pct = "" if line.difference_pct is None else f"（{pct_text(line.difference_pct)} %）"
    notes = [(NOTE_ZH if zh else NOTE_EN)[n] for n in line.notes]
    tolerance = _tolerance_text(line, language)
    if zh:
        verdict = f"超出容差（{tolerance}）" if line.status == "mismatch" else f"在容差（{tolerance}）之内"
        tail = "".join(f"；{n}" for n in notes)
        return f"{head}账单 {billed}；实测 {measured}；差额 {signed_money(line.difference)} 元{pct}，{verdict}{tail}"
    pct = pct.replace("（", " (").replace("）", ")")
    verdict = "beyond" if line.status == "mismatch" else "within"
    tail = "".join(f"; {n}" for n in notes)
    return (
        f"{head}billed {billed}; measured {measured}; difference {signed_money(line.difference)} CNY{pct}, "
        f"{verdict} the tolerance ({tolerance}){tail}"
    )


def line_evidence(line: LineResult) -> dict[str, Any]:
    """Both computations of a line as a finding's evidence (money and quantities as strings)."""
    return {
        "month": line.month,
        "platform": line.platform,
        "item": line.item,
        "status": line.status,
        "reason": line.reason,
        "billed": line.billed.computation() if line.billed else None,
        "measured": line.measured.computation() if line.measured else None,
        "difference": None if line.difference is None else str(line.difference),
        "difference_pct": None if line.difference_pct is None else str(line.difference_pct),
        "tolerance_pct": None if line.tolerance_pct is None else str(line.tolerance_pct),
        "tolerance_amount": None if line.tolerance_amount is None else str(line.tolerance_amount),
        "notes": list(line.notes),
        "currency": CURRENCY,
    }


ROW_COLUMNS = (
    "month",
    "platform",
    "item",
    "status",
    "billed_quantity",
    "billed_unit_price",
    "billed_amount",
    "measured_quantity",
    "measured_unit_price",
    "measured_amount",
    "difference",
    "difference_pct",
    "resources",
    "note",
)


def line_row(line: LineResult, language: str) -> dict[str, Any]:
    """A line as a flat row (money, quantities and percentages as exact strings; codes, not labels, for
    month, platform, item and status; `note` says why in the user's language)."""
    zh = language == "zh"
    b, m = line.billed, line.measured
    notes = [(REASON_ZH if zh else REASON_EN)[line.reason]] if line.reason else []
    notes += [(NOTE_ZH if zh else NOTE_EN)[n] for n in line.notes]
    return {
        "month": line.month,
        "platform": line.platform,
        "item": line.item,
        "status": line.status,
        "billed_quantity": _text(b.quantity) if b else None,
        "billed_unit_price": _text(b.unit_price) if b else None,
        "billed_amount": str(b.amount) if b else None,
        "measured_quantity": _plain(m.quantity) if m else None,
        "measured_unit_price": str(m.unit_price.quantize(CENT, ROUND_HALF_UP)) if m else None,
        "measured_amount": str(m.amount) if m else None,
        "difference": None if line.difference is None else str(line.difference),
        "difference_pct": None if line.difference_pct is None else str(line.difference_pct),
        "resources": len(m.resources) if m and m.item != FIXED_FEE else None,
        "note": ("；" if zh else "; ").join(notes),
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)  # as the statement wrote it


# --- cost indicators against their targets ---------------------------------------------------------------


@dataclass(frozen=True)
class CostActual:
    """A cost target's period as the statements have it: Σ statement amounts of its months (and platform)."""

    target: CostTarget
    first: date
    last: date
    by_month: dict[str, Decimal]  # months with statement lines -> their amount
    missing: tuple[str, ...]  # months of the period without a statement line (the actual is incomplete)

    @property
    def actual(self) -> Decimal:
        return sum(self.by_month.values(), Decimal("0.00"))

    @property
    def deviation_pct(self) -> Decimal:
        """(actual − target) ÷ target, in percent with two decimals."""
        return ((self.actual - self.target.target) * HUNDRED / self.target.target).quantize(
            PCT_PLACES, ROUND_HALF_UP
        )

    def deviates(self, threshold_pct: Decimal) -> bool:
        """More than `threshold_pct` off the target (compared exactly, not on the rounded percentage)."""
        return abs(self.actual - self.target.target) * HUNDRED > threshold_pct * self.target.target

    def evidence(self) -> dict[str, Any]:
        return {
            "indicator": self.target.indicator,
            "period": self.target.period,
            "platform": self.target.platform,
            "period_first_day": self.first.isoformat(),
            "period_last_day": self.last.isoformat(),
            "target": str(self.target.target.quantize(CENT, ROUND_HALF_UP)),
            "actual": str(self.actual),
            "deviation": str(self.actual - self.target.target.quantize(CENT, ROUND_HALF_UP)),
            "deviation_pct": str(self.deviation_pct),
            "by_month": {m: str(a) for m, a in sorted(self.by_month.items())},
            "months_without_statement": list(self.missing),
            "currency": CURRENCY,
        }


def cost_actual(session: Session, target: CostTarget) -> CostActual:
    months = period_months(target.period)
    stmt = select(BillingStatement.month, BillingStatement.amount).where(BillingStatement.month.in_(months))
    if target.platform is not None:
        stmt = stmt.where(BillingStatement.platform == target.platform)
    by_month: dict[str, Decimal] = {}
    for month, amount in session.execute(stmt).all():
        by_month[month] = by_month.get(month, Decimal("0.00")) + Decimal(amount)
    first, last = period_bounds(target.period)
    return CostActual(target, first, last, by_month, tuple(m for m in months if m not in by_month))


def explanation_for(session: Session, indicator: str, period: str) -> IndicatorExplanation | None:
    """The register's explanation of an indicator's deviation in a period, if the center recorded one."""
    return session.scalars(
        select(IndicatorExplanation).where(
            IndicatorExplanation.indicator == indicator, IndicatorExplanation.period == parse_period(period)
        )
    ).first()


def table_row(row: dict[str, Any], language: str) -> dict[str, Any]:
    """Money with thousands separators, labels instead of codes: for people reading the terminal."""

    out = dict(row)
    out["item"] = item_label(row["item"], language)
    out["status"] = (STATUS_ZH if language == "zh" else STATUS_EN)[row["status"]]
    for key in ("billed_unit_price", "billed_amount", "measured_unit_price", "measured_amount"):
        if row.get(key) is not None:
            out[key] = money_text(Decimal(row[key]))
    for key in ("billed_quantity", "measured_quantity"):
        if row.get(key) is not None:
            out[key] = quantity_text(Decimal(row[key]))
    if row.get("difference") is not None:
        diff = Decimal(row["difference"])
        out["difference"] = ("+" if diff > 0 else "") + money_text(diff)
    if row.get("difference_pct") is not None:
        out["difference_pct"] = pct_text(Decimal(row["difference_pct"])) + " %"
    return out


def totals_lines(month: str, totals: dict[str, Any], language: str) -> list[str]:
    """The two lines under `billing reconcile`'s table (and the console's): the totals, then the line counts."""
    zh = language == "zh"
    lines: list[str] = []
    pct = f"{Decimal(totals['tolerance_pct']).normalize():f}"
    tolerance = f"±{pct} % / ±{money_text(Decimal(totals['tolerance_amount']))}"
    diff = Decimal(totals["difference"])
    sign = "+" if diff > 0 else ""
    if zh:
        lines.append(
            f"{month} 合计：账单 {money_text(Decimal(totals['billed_amount']))} 元，"
            f"核算 {money_text(Decimal(totals['measured_amount']))} 元，差额 {sign}{money_text(diff)} 元"
            f"（容差 {tolerance} 元，两者都超出才算不符）"
        )
        lines.append(
            f"超出容差 {totals['lines_mismatch']} 行，无对应资源 {totals['lines_unmatched']} 行"
            f"（计 {money_text(Decimal(totals['billed_unmatched_amount']))} 元），"
            f"未计费 {totals['lines_not_billed']} 行，一致 {totals['lines_ok']} 行"
        )
    else:
        lines.append(
            f"{month} totals: billed {money_text(Decimal(totals['billed_amount']))} CNY, "
            f"measured {money_text(Decimal(totals['measured_amount']))} CNY, "
            f"difference {sign}{money_text(diff)} CNY (tolerance {tolerance} CNY: a line differs beyond both)"
        )
        lines.append(
            f"{totals['lines_mismatch']} out of tolerance, {totals['lines_unmatched']} with no matching "
            f"resource ({money_text(Decimal(totals['billed_unmatched_amount']))} CNY), "
            f"{totals['lines_not_billed']} not billed, {totals['lines_ok']} ok"
        )
    return lines
