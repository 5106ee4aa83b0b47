"""The score's indicators: each contract area registers the ones its evidence measures, and the score
(areas/money/score) weighs them as contract.toml's [score] says.

An indicator is a function of one IndicatorInputs returning an IndicatorValue: the percentage (two decimals,
rounded half up), its numerator and denominator, the formula in the user's language, the inputs, the evidence
lines the contractor can check, or why there is no evidence (`missing`): never a zero for lack of evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ops_watch.core.registry import Registry
from ops_watch.core.vocabulary import text

ZERO, HUNDRED, CENT = Decimal(0), Decimal(100), Decimal("0.01")
MAX_EVIDENCE = 20  # evidence lines per indicator; the rest are counted


def q2(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def percent(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """numerator ÷ denominator × 100 with two decimals; None when there is nothing to divide by."""
    if not denominator:
        return None
    return q2(Decimal(numerator) * HUNDRED / Decimal(denominator))


def num(value: Decimal) -> str:
    """80 -> '80', 99.50 -> '99.5' (thresholds and weights as people write them)."""
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class IndicatorValue:
    """What one indicator measured over the period. `value` None: no evidence (`missing` says why)."""

    value: Decimal | None  # percent, two decimals
    numerator: int | Decimal | None = None
    denominator: int | Decimal | None = None
    formula: str = ""  # how ops-watch computes it, in the user's language
    inputs: dict[str, Any] = field(default_factory=dict)  # stable keys, for JSON and tests
    inputs_text: str = ""  # the same inputs, for people
    evidence: list[str] = field(default_factory=list)  # what the contractor can check, line by line
    missing: str = ""


class IndicatorInputs(NamedTuple):
    """What every indicator is computed from: the store, the contract, and the period [start, end) in the
    site's zone. A NamedTuple, so an indicator may take the fields apart in one line."""

    session: Session
    contract: Mapping[str, Any]
    zone: ZoneInfo
    start: datetime
    end: datetime
    language: str

    def t(self, zh: str, en: str) -> str:
        return text(self.language, zh, en)


IndicatorFn = Callable[[IndicatorInputs], IndicatorValue]


@dataclass(frozen=True)
class IndicatorSpec:
    key: str
    name_zh: str
    name_en: str
    fn: IndicatorFn


INDICATORS: Registry[IndicatorSpec] = Registry("score indicator")


def indicator(key: str, *, name_zh: str, name_en: str) -> Callable[[IndicatorFn], IndicatorFn]:
    """Register `fn` as the evidence of indicator `key` (the [score] terms of contract.toml weigh it)."""
    return INDICATORS.decorator(key, lambda fn: IndicatorSpec(key, name_zh, name_en, fn))


def listed(lines: list[str], language: str, total: int | None = None) -> list[str]:
    """The first MAX_EVIDENCE lines and how many more there are; `total`: the count when only the first lines
    were written out (a year of findings need not all be formatted to be counted)."""
    total = len(lines) if total is None else total
    if total <= MAX_EVIDENCE:
        return lines
    more = total - MAX_EVIDENCE
    return lines[:MAX_EVIDENCE] + [text(language, f"……另有 {more} 条", f"… and {more} more")]


def local_days(zone: ZoneInfo, start: datetime, end: datetime) -> tuple[date, date]:
    """The local days [start, end) covers."""
    return start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()


__all__ = [
    "HUNDRED",
    "INDICATORS",
    "MAX_EVIDENCE",
    "ZERO",
    "IndicatorFn",
    "IndicatorInputs",
    "IndicatorSpec",
    "IndicatorValue",
    "indicator",
    "listed",
    "local_days",
    "num",
    "percent",
    "q2",
]
