"""Budget execution (预算执行) and its year-end forecast (R11).

The evaluation found 30.17 M CNY budgeted, 10.21 M taken back mid-year, 19.96 M final, 15.3803 M paid: a
77.06 % execution rate and 4.5797 M carried over. Money that will not be spent is better handed back early
than carried over, so this module states where the year stands and where it is heading:

- from the budget events (BudgetEvent: initial, adjustment — negative when money is taken back —, payment)
  up to a day: the final budget, what was paid, the execution rate (paid ÷ final) and the carry-over;
- from the payment plan: the contract's own instalments (`[[budget.planned]]`), the fixed-fee platforms'
  quarterly fee over their service period, and the unit-price platforms' quarterly settlements estimated
  from this year's monthly statements; the forecast adds what is still to be paid this year.

docs/money.md explains the forecast for the people who read it. Money is Decimal with two places throughout:
a float never enters (the `Money` column refuses one, and `wan`/`cny` too).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.areas.money.pricing import PlatformsSection, PlatformTerms
from ops_watch.core.contract import CONTRACT_SECTIONS, section_of
from ops_watch.core.models import Strict
from ops_watch.core.vocabulary import text as _t
from ops_watch.store.schema import BillingStatement, BudgetEvent

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
EVENT_KINDS = ("initial", "adjustment", "payment")
Source = Literal["contract", "fixed_fee", "settlement"]
PlanStatus = Literal["due", "overdue", "after_year"]
STATUS_ZH = {"due": "待支付", "overdue": "已到期未支付", "after_year": "跨年支付（计入结转）"}
QUARTER_ZH = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def money(value: Decimal | int | str) -> Decimal:
    """Exact CNY with two places; a float is refused (it would already have lost a fen somewhere)."""
    if isinstance(value, float):
        raise TypeError(f"money as float {value!r}: use Decimal or a string")
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def cny(amount: Decimal | int | str) -> str:
    """CNY with thousands separators and two decimals: 15,380,300.00."""
    return f"{money(amount):,.2f}"


def wan(amount: Decimal | int | str) -> str:
    """万元 as accountants write it: two decimals, half up: 15,380,300.00 -> "1,538.03", 2,855,005.00 ->
    "285.50", 30,170,000.00 -> "3,017.00" (the yuan column beside it keeps the exact amount)."""
    value = (money(amount) / 10000).quantize(CENT, ROUND_HALF_UP)
    text = f"{value:,.2f}"
    return "0.00" if text == "-0.00" else text


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """part ÷ whole in percent, two places (ROUND_HALF_UP); None when the whole is not positive."""
    if whole <= 0:
        return None
    return (part * HUNDRED / whole).quantize(CENT, ROUND_HALF_UP)


# --- the contract's terms ------------------------------------------------------------------------------


class PlannedTerm(Strict):
    """An instalment the contract fixes: `[[budget.planned]] date = 2026-12-15, amount = "80000.00"`."""

    date: date
    amount: Decimal = Field(gt=0)
    platform: str = ""  # the platform it pays for; a payment whose note names it settles the instalment
    note: str = ""

    @field_validator("amount")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value != value.quantize(CENT):
            raise ValueError('money has at most two decimals (fen), e.g. "80000.00"')
        return value.quantize(CENT)


class BudgetSection(Strict):
    """contract.toml `[budget]`: the execution target and the payment plan the forecast adds up."""

    target_rate: Decimal = Field(default=Decimal(90), gt=0, le=100)  # percent
    # From this day of the year (MM-DD) a forecast under target is a finding: early enough to hand the
    # money back at the mid-year adjustment rather than carry it over.
    warn_from: str = "06-30"
    # Days after a quarter ends that its settlement or instalment is paid (0: on the quarter's last day).
    # With a lag, the fourth quarter is paid next January: it is listed, and it carries over.
    settlement_lag_days: int = Field(default=0, ge=0, le=92)
    planned: list[PlannedTerm] = Field(default_factory=list)

    @field_validator("warn_from")
    @classmethod
    def _month_day(cls, value: str) -> str:
        try:
            month, day = (int(part) for part in value.split("-"))
            date(2024, month, day)  # a leap year, so 02-29 is accepted (it then means March 1 otherwise)
        except ValueError:
            raise ValueError(f'{value!r} is not a day of the year: write "MM-DD", e.g. "06-30"') from None
        return f"{month:02d}-{day:02d}"

    def warn_date(self, year: int) -> date:
        month, day = (int(part) for part in self.warn_from.split("-"))
        try:
            return date(year, month, day)
        except ValueError:  # 02-29 in a common year
            return date(year, 3, 1)


CONTRACT_SECTIONS.add("budget", BudgetSection)


def budget_terms(contract: Mapping[str, Any]) -> BudgetSection:
    return section_of(contract, "budget", BudgetSection)


def _platforms(contract: Mapping[str, Any]) -> dict[str, PlatformTerms]:
    section = contract.get("platforms")
    if isinstance(section, PlatformsSection):
        return dict(section.root)
    if isinstance(section, Mapping):  # a contract built by hand (tests, tools)
        return {
            name: raw if isinstance(raw, PlatformTerms) else PlatformTerms.model_validate(raw)
            for name, raw in section.items()
        }
    return {}


# --- what the computation sees and gives -----------------------------------------------------------------


@dataclass(frozen=True)
class BudgetEntry:
    """A budget event: `amount` is negative for an adjustment that takes money back."""

    date: date
    kind: str  # initial | adjustment | payment
    amount: Decimal
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "date": self.date.isoformat(),
            "kind": self.kind,
            "amount": str(self.amount),
            "note": self.note,
        }


@dataclass(frozen=True)
class MonthBill:
    """One platform's statement total for one month (the sum of its lines)."""

    platform: str
    month: str  # 2026-10
    amount: Decimal


@dataclass(frozen=True)
class PlannedPayment:
    """A payment the plan still expects. `status`: due (after the day), overdue (its date has passed and no
    payment settled it: still owed, so still forecast), after_year (falls due next year: it carries over)."""

    date: date
    amount: Decimal
    platform: str
    note: str
    source: Source  # contract: [[budget.planned]]; fixed_fee: a quarter's fee; settlement: unit prices
    status: PlanStatus
    estimated: bool = False  # some months of a settlement estimated from the year's average statement

    @property
    def counted(self) -> bool:
        return self.status != "after_year"

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "amount": str(self.amount),
            "platform": self.platform,
            "note": self.note,
            "source": self.source,
            "status": self.status,
            "estimated": self.estimated,
            "counted": self.counted,
        }


@dataclass(frozen=True)
class BudgetStatus:
    """A year's budget as of a day, and the forecast of its end. Money: Decimal, two places; rates: Decimal
    percent, two places, None when there is no positive final budget to divide by."""

    year: int
    as_of: date
    target_rate: Decimal
    initial: Decimal
    adjustments: Decimal
    final: Decimal
    paid: Decimal
    execution_rate: Decimal | None
    carry_over: Decimal
    forecast_paid: Decimal
    forecast_rate: Decimal | None
    forecast_carry_over: Decimal
    planned: list[PlannedPayment] = field(default_factory=list)
    events: list[BudgetEntry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def planned_total(self) -> Decimal:
        """What the forecast adds to `paid` (the planned payments counted this year)."""
        return sum((p.amount for p in self.planned if p.counted), Decimal("0.00"))

    @property
    def below_target(self) -> bool:
        return self.forecast_rate is not None and self.forecast_rate < self.target_rate

    @property
    def hand_back_minimum(self) -> Decimal:
        """The least to hand back now so that the forecast payments reach the target rate of what remains."""
        if self.forecast_rate is None or not self.below_target:
            return Decimal("0.00")
        needed = self.forecast_paid * HUNDRED / self.target_rate
        return max(money(self.final - needed), Decimal("0.00"))

    def as_dict(self) -> dict[str, Any]:
        """For JSON and finding evidence: money and rates as exact strings."""

        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "year": self.year,
            "as_of": self.as_of.isoformat(),
            "currency": "CNY",
            "initial": text(self.initial),
            "adjustments": text(self.adjustments),
            "final": text(self.final),
            "paid": text(self.paid),
            "execution_rate": text(self.execution_rate),
            "carry_over": text(self.carry_over),
            "planned_total": text(self.planned_total),
            "forecast_paid": text(self.forecast_paid),
            "forecast_rate": text(self.forecast_rate),
            "forecast_carry_over": text(self.forecast_carry_over),
            "target_rate": text(self.target_rate),
            "hand_back_minimum": text(self.hand_back_minimum),
            "planned": [p.as_dict() for p in self.planned],
            "missing": list(self.missing),
            "events": [e.as_dict() for e in self.events],
        }


# --- the plan --------------------------------------------------------------------------------------------


def _quarter_months(year: int, quarter: int) -> list[date]:
    return [date(year, 3 * quarter - 2 + i, 1) for i in range(3)]


def _quarter_end(year: int, quarter: int) -> date:
    return (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)


def _candidate_quarters(year: int) -> list[tuple[int, int]]:
    # Last year's fourth quarter falls due in this year when payment lags the quarter's end.
    return [(year - 1, 4)] + [(year, q) for q in (1, 2, 3, 4)]


def _in_service(month_first: date, terms: PlatformTerms) -> bool:
    """A month is served when the service period covers its first day (end exclusive: 2021-03-01 to
    2024-03-01 is 36 months)."""
    if terms.service_start is not None and month_first < terms.service_start.replace(day=1):
        return False
    return not (terms.service_end is not None and month_first >= terms.service_end)


def _names_platform(note: str, platforms: Sequence[str]) -> str | None:
    """The platform a payment's note names; the longest name wins (one name may contain another)."""
    named = [p for p in platforms if p and p in note]
    return max(named, key=len) if named else None


@dataclass
class _Plan:
    payments: list[PlannedPayment] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _settle(
    instalments: list[PlannedPayment], settled_count: int, year: int, as_of: date
) -> list[PlannedPayment]:
    """Drop the instalments the year's payments already settled (earliest due first); date the rest."""
    in_year = sorted((p for p in instalments if p.date.year == year), key=lambda p: p.date)
    later = [p for p in instalments if p.date.year > year]
    remaining = in_year[settled_count:]
    out = [_with_status(p, "overdue" if p.date <= as_of else "due") for p in remaining]
    return out + [_with_status(p, "after_year") for p in later]


def _with_status(p: PlannedPayment, status: PlanStatus) -> PlannedPayment:
    return PlannedPayment(p.date, p.amount, p.platform, p.note, p.source, status, p.estimated)


def _fixed_fee(
    name: str, terms: PlatformTerms, year: int, lag: timedelta, plan: _Plan, language: str
) -> list[PlannedPayment]:
    if terms.fee_per_quarter is None or terms.service_start is None or terms.service_end is None:
        lacks = [k for k in ("fee_per_quarter", "service_start", "service_end") if getattr(terms, k) is None]
        plan.missing.append(
            _t(
                language,
                f'{name}：固定费用平台缺 {", ".join(lacks)}（contract.toml [platforms."{name}"]），'
                "其季度费用未计入预测",
                f"{name}: a fixed-fee platform without {', '.join(lacks)} "
                f'(contract.toml [platforms."{name}"]): its quarterly fees are not in the forecast',
            )
        )
        return []
    out = []
    for y, q in _candidate_quarters(year):
        served = sum(1 for m in _quarter_months(y, q) if _in_service(m, terms))
        if not served:
            continue
        amount = money(terms.fee_per_quarter * served / 3)
        share = (
            ""
            if served == 3
            else _t(language, f"（服务期内 {served} 个月）", f" ({served} months in service)")
        )
        note = _t(language, f"{y}年{QUARTER_ZH[q]}固定费用{share}", f"{y} Q{q} fixed fee{share}")
        out.append(PlannedPayment(_quarter_end(y, q) + lag, amount, name, note, "fixed_fee", "due"))
    return out


def _settlements(
    name: str,
    terms: PlatformTerms,
    bills: Mapping[str, Decimal],
    year: int,
    lag: timedelta,
    plan: _Plan,
    language: str,
) -> list[PlannedPayment]:
    this_year = [amount for month, amount in bills.items() if month.startswith(f"{year:04d}-")]
    average = sum(this_year, Decimal(0)) / len(this_year) if this_year else None
    out, unestimated = [], []
    for y, q in _candidate_quarters(year):
        due = _quarter_end(y, q) + lag
        if due.year < year:
            continue
        months = [m for m in _quarter_months(y, q) if _in_service(m, terms)]
        if not months:
            continue
        known = [bills[m.strftime("%Y-%m")] for m in months if m.strftime("%Y-%m") in bills]
        guessed = len(months) - len(known)
        if guessed and average is None:
            unestimated.append(f"{y}Q{q}")
            continue
        amount = money(sum(known, Decimal(0)) + (average or Decimal(0)) * guessed)
        how = (
            _t(language, "（按对账单）", " (statements)")
            if not guessed
            else _t(
                language, f"（{guessed} 个月按月均估算）", f" ({guessed} month(s) at the monthly average)"
            )
        )
        note = _t(language, f"{y}年{QUARTER_ZH[q]}按量结算{how}", f"{y} Q{q} settlement{how}")
        out.append(PlannedPayment(due, amount, name, note, "settlement", "due", estimated=bool(guessed)))
    if unestimated:
        plan.missing.append(
            _t(
                language,
                f"{name}：{year} 年尚无对账单，无法估算 {'、'.join(unestimated)} 的按量结算，未计入预测",
                f"{name}: no billing statements for {year} yet, so the settlements of "
                f"{', '.join(unestimated)} cannot be estimated and are not in the forecast",
            )
        )
    return out


def build_plan(
    contract: Mapping[str, Any],
    year: int,
    as_of: date,
    payments: Sequence[BudgetEntry],
    bills: Iterable[MonthBill],
    language: str = "zh",
) -> tuple[list[PlannedPayment], list[str]]:
    """The payments still expected this year (and those that fall due after it), with what the plan lacks.

    `payments` are the year's payments up to `as_of`: each one whose note names a platform settles that
    platform's earliest open instalment; a contract instalment with no platform is settled by a payment of
    the same amount.
    """
    terms = budget_terms(contract)
    platforms = _platforms(contract)
    lag = timedelta(days=terms.settlement_lag_days)
    plan = _Plan()
    names = sorted(set(platforms) | {t.platform for t in terms.planned if t.platform})
    by_platform: dict[str | None, list[BudgetEntry]] = defaultdict(list)
    for p in payments:
        by_platform[_names_platform(p.note, names)].append(p)
    bill_totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for b in bills:
        bill_totals[b.platform][b.month] += b.amount

    contract_terms = [t for t in terms.planned if t.date.year == year]
    fixed_by_contract = {t.platform for t in contract_terms if t.platform}
    for platform in sorted(fixed_by_contract):
        own = [
            PlannedPayment(t.date, t.amount, platform, t.note, "contract", "due")
            for t in contract_terms
            if t.platform == platform
        ]
        plan.payments += _settle(own, len(by_platform.get(platform, [])), year, as_of)
    unnamed = [p.amount for p in by_platform.get(None, [])]
    for t in sorted((t for t in contract_terms if not t.platform), key=lambda t: t.date):
        if t.amount in unnamed:  # paid: a payment of that amount naming no platform
            unnamed.remove(t.amount)
            continue
        status: PlanStatus = "overdue" if t.date <= as_of else "due"
        plan.payments.append(PlannedPayment(t.date, t.amount, "", t.note, "contract", status))

    for name, platform in sorted(platforms.items()):
        if name in fixed_by_contract:
            continue  # the contract's own instalments win over derived ones
        if platform.billing == "fixed_fee":
            derived = _fixed_fee(name, platform, year, lag, plan, language)
        else:
            derived = _settlements(name, platform, bill_totals.get(name, {}), year, lag, plan, language)
        derived = [p for p in derived if p.date.year >= year]
        plan.payments += _settle(derived, len(by_platform.get(name, [])), year, as_of)
    plan.payments.sort(key=lambda p: (p.date, p.platform, p.note))
    return plan.payments, plan.missing


# --- the status ------------------------------------------------------------------------------------------


def compute_status(
    contract: Mapping[str, Any],
    year: int,
    as_of: date,
    events: Iterable[BudgetEntry],
    bills: Iterable[MonthBill] = (),
    language: str = "zh",
) -> BudgetStatus:
    """The year's budget as of `as_of` from its events (only those of the year dated up to `as_of` count) and
    the forecast from the plan. Pure: `budget_status` feeds it from the store."""
    used = sorted(
        (e for e in events if e.date.year == year and e.date <= as_of),
        key=lambda e: (e.date, EVENT_KINDS.index(e.kind) if e.kind in EVENT_KINDS else 9, e.note),
    )
    for e in used:
        if isinstance(e.amount, float):
            raise TypeError(f"budget event {e.date} {e.kind}: amount is a float; use Decimal")

    def total(kind: str) -> Decimal:
        return money(sum((e.amount for e in used if e.kind == kind), Decimal(0)))

    initial, adjustments, paid = total("initial"), total("adjustment"), total("payment")
    final = initial + adjustments
    month_end = f"{as_of.year:04d}-{as_of.month:02d}"
    known_bills = [b for b in bills if b.month <= month_end]
    planned, missing = build_plan(
        contract, year, as_of, [e for e in used if e.kind == "payment"], known_bills, language
    )
    forecast_paid = paid + sum((p.amount for p in planned if p.counted), Decimal(0))
    if not used:
        missing.insert(
            0,
            _t(
                language,
                f"截至 {as_of.isoformat()} 没有 {year} 年的预算事件（年初预算、调剂/收回、支付）：执行率无法计算",
                f"no budget events for {year} up to {as_of.isoformat()} (initial budget, adjustments, "
                "payments): no execution rate",
            ),
        )
    elif not any(e.kind == "initial" for e in used):
        missing.insert(
            0,
            _t(
                language,
                f"没有 {year} 年的年初预算记录（类型 初始预算）",
                f"no initial budget recorded for {year} (kind initial)",
            ),
        )
    if used and final <= 0:
        missing.insert(
            0,
            _t(
                language,
                f"{year} 年全年预算为 {cny(final)} 元：执行率无法计算",
                f"the final budget of {year} is {cny(final)} CNY: no execution rate",
            ),
        )
    return BudgetStatus(
        year=year,
        as_of=as_of,
        target_rate=budget_terms(contract).target_rate.quantize(CENT),
        initial=initial,
        adjustments=adjustments,
        final=money(final),
        paid=paid,
        execution_rate=percent(paid, final),
        carry_over=money(final - paid),
        forecast_paid=money(forecast_paid),
        forecast_rate=percent(forecast_paid, final),
        forecast_carry_over=money(final - forecast_paid),
        planned=planned,
        events=used,
        missing=missing,
    )


def load_entries(session: Session, year: int, as_of: date) -> list[BudgetEntry]:
    rows = session.scalars(
        select(BudgetEvent)
        .where(BudgetEvent.date >= date(year, 1, 1), BudgetEvent.date <= min(as_of, date(year, 12, 31)))
        .order_by(BudgetEvent.date, BudgetEvent.id)
    )
    return [BudgetEntry(r.date, r.kind, r.amount, r.note or "") for r in rows]


def load_bills(session: Session, year: int, as_of: date) -> list[MonthBill]:
    """Statement totals per platform and month, from last October (a lagged fourth quarter) to `as_of`."""
    first, last = f"{year - 1:04d}-10", f"{as_of.year:04d}-{as_of.month:02d}"
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in session.scalars(
        select(BillingStatement).where(BillingStatement.month >= first, BillingStatement.month <= last)
    ):
        totals[(row.platform, row.month)] += row.amount
    return [MonthBill(platform, month, amount) for (platform, month), amount in sorted(totals.items())]


def budget_status(
    session: Session, contract: Mapping[str, Any], year: int, as_of: date, *, language: str = "zh"
) -> BudgetStatus:
    """The budget of `year` as of `as_of` (a site date) and its year-end forecast, from the store."""
    return compute_status(
        contract, year, as_of, load_entries(session, year, as_of), load_bills(session, year, as_of), language
    )


# --- lines for people ------------------------------------------------------------------------------------

LINE_COLUMNS = ["item", "label", "cny", "wan", "rate"]


def status_lines(status: BudgetStatus, language: str = "zh", *, details: bool = True) -> list[dict[str, Any]]:
    """The status as lines: each amount in 元 (two decimals) and in 万元, rates in percent; with `details`,
    then a line per planned payment and per thing the forecast lacks. For CSV and the weekly report."""
    zh = language == "zh"

    def amount(item: str, label_zh: str, label_en: str, value: Decimal) -> dict[str, Any]:
        return {
            "item": item,
            "label": label_zh if zh else label_en,
            "cny": cny(value),
            "wan": wan(value),
            "rate": "",
        }

    def rate(item: str, label_zh: str, label_en: str, value: Decimal | None) -> dict[str, Any]:
        shown = "-" if value is None else f"{value}%"
        return {"item": item, "label": label_zh if zh else label_en, "cny": "", "wan": "", "rate": shown}

    as_of = status.as_of.isoformat()
    rows = [
        amount("initial", "年初预算", "initial budget", status.initial),
        amount("adjustments", "调剂/收回", "adjustments (taken back: negative)", status.adjustments),
        amount("final", "全年预算", "final budget", status.final),
        amount("paid", f"已支付（截至 {as_of}）", f"paid (up to {as_of})", status.paid),
        rate("execution_rate", "预算执行率", "execution rate", status.execution_rate),
        amount("carry_over", "如不再支付的结转", "carry-over if nothing more is paid", status.carry_over),
        amount("planned", "计划年内再支付", "still planned this year", status.planned_total),
        amount("forecast_paid", "预计全年支付", "forecast paid by year end", status.forecast_paid),
        rate("forecast_rate", "预计年末执行率", "forecast execution rate", status.forecast_rate),
        amount("forecast_carry_over", "预计结转", "forecast carry-over", status.forecast_carry_over),
        rate("target_rate", "目标执行率", "target rate", status.target_rate),
    ]
    if details:
        for p in status.planned:
            where = f"{p.platform} " if p.platform else ""
            label = f"{p.date.isoformat()} {where}{p.note}：{_status_word(p, language)}"
            rows.append(
                {"item": "planned_payment", "label": label, "cny": cny(p.amount), "wan": wan(p.amount)}
            )
        rows += [{"item": "missing", "label": text} for text in status.missing]
    return [{c: row.get(c, "") for c in LINE_COLUMNS} for row in rows]


PLANNED_COLUMNS = ["date", "platform", "cny", "wan", "status", "note"]


def _status_word(p: PlannedPayment, language: str) -> str:
    return STATUS_ZH[p.status] if language == "zh" else p.status.replace("_", " ")


def planned_rows(status: BudgetStatus, language: str = "zh") -> list[dict[str, Any]]:
    """The planned payments as a table of their own (the terminal shows them under the lines)."""
    return [
        {
            "date": p.date.isoformat(),
            "platform": p.platform or "-",
            "cny": cny(p.amount),
            "wan": wan(p.amount),
            "status": _status_word(p, language),
            "note": p.note,
        }
        for p in status.planned
    ]
