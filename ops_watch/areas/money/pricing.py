"""The contract's prices per platform (contract.toml `[platforms.*]`) and what capacity costs per month.

Two ways a platform is paid for (the performance-evaluation report describes both):

- `unit_price`: billed at fixed unit prices for the resources allocated (警务云: reconciled monthly, settled
  quarterly). Reclaiming a vCPU saves `vcpu_month` every month: the monthly cost is real money.
- `fixed_fee`: one fee for the whole service period whatever is allocated (新一代公安信息网云平台). Reclaiming
  saves nothing this period; `notional` prices, when given, only show what idle capacity is worth, for
  the next contract's sizing. Findings say so.

Prices are CNY per month: per vCPU, per GB of memory, per GB of storage. Later areas (the monthly bill
reconciliation, R11) add the fee per quarter and the service period to `PlatformTerms`; keep every new field
optional so older contract files stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, RootModel, model_validator

from ops_watch.core.contract import CONTRACT_SECTIONS
from ops_watch.core.models import Strict

CURRENCY = "CNY"
CostBasis = Literal["unit_price", "notional"]


class UnitPrices(Strict):
    """CNY per month for one unit of each resource."""

    vcpu_month: float = Field(ge=0)
    memory_gb_month: float = Field(ge=0)
    storage_gb_month: float = Field(ge=0)


class PlatformTerms(Strict):
    """How one platform is paid for.

    `unit_price` platforms give `vcpu_month`, `memory_gb_month` and `storage_gb_month`; `fixed_fee` platforms
    may give `notional` prices (same three keys), used only to show what idle capacity is worth.
    """

    billing: Literal["unit_price", "fixed_fee"]
    vcpu_month: float | None = Field(default=None, ge=0)
    memory_gb_month: float | None = Field(default=None, ge=0)
    storage_gb_month: float | None = Field(default=None, ge=0)
    notional: UnitPrices | None = None
    # fixed_fee: the fee per quarter (CNY, paid by the contract's instalments) and the service period
    # (新一代公安信息网云平台: 2021-03-01 to 2024-03-01); money stays Decimal (TOML "718175.00" or 718175.00).
    fee_per_quarter: Decimal | None = Field(default=None, ge=0)
    service_start: date | None = None
    service_end: date | None = None

    @model_validator(mode="after")
    def _prices_fit_billing(self) -> PlatformTerms:
        direct = {
            "vcpu_month": self.vcpu_month,
            "memory_gb_month": self.memory_gb_month,
            "storage_gb_month": self.storage_gb_month,
        }
        if self.billing == "unit_price":
            missing = [k for k, v in direct.items() if v is None]
            if missing:
                raise ValueError(f"billing = 'unit_price' needs {', '.join(missing)} (CNY per month)")
            if self.notional is not None:
                raise ValueError(
                    "notional prices are for fixed_fee platforms; unit_price ones bill their own"
                )
        if self.billing == "unit_price" and self.fee_per_quarter is not None:
            raise ValueError(
                "fee_per_quarter is for fixed_fee platforms; unit_price ones bill what is allocated"
            )
        if self.service_start and self.service_end and self.service_end <= self.service_start:
            raise ValueError("service_end must be after service_start")
        if self.billing != "unit_price":
            given = [k for k, v in direct.items() if v is not None]
            if given:
                raise ValueError(
                    f"billing = 'fixed_fee' has no unit prices ({', '.join(given)}): "
                    "write them as notional = { vcpu_month = …, memory_gb_month = …, storage_gb_month = … } "
                    "if you want idle capacity valued"
                )
        return self

    def prices(self) -> tuple[UnitPrices | None, CostBasis | None]:
        """The prices to value capacity with, and whether that value is money actually paid."""
        if self.billing == "unit_price":
            assert self.vcpu_month is not None and self.memory_gb_month is not None
            assert self.storage_gb_month is not None
            return (
                UnitPrices(
                    vcpu_month=self.vcpu_month,
                    memory_gb_month=self.memory_gb_month,
                    storage_gb_month=self.storage_gb_month,
                ),
                "unit_price",
            )
        if self.notional is not None:
            return self.notional, "notional"
        return None, None


class PlatformsSection(RootModel[dict[str, PlatformTerms]]):
    """contract.toml `[platforms."<platform name as in the inventory>"]` tables."""

    root: dict[str, PlatformTerms] = Field(default_factory=dict)

    def get(self, platform: str) -> PlatformTerms | None:
        return self.root.get(platform)


CONTRACT_SECTIONS.add("platforms", PlatformsSection)


@dataclass(frozen=True)
class Cost:
    """What some capacity costs per month. `amount` is None when the platform has no prices to value it by."""

    amount: float | None
    basis: CostBasis | None  # unit_price: money actually paid; notional: worth only, under a fixed fee
    billing: str | None  # the platform's billing, None when the contract does not list the platform

    def as_evidence(self) -> dict[str, Any]:
        return {
            "monthly_cost": self.amount,
            "currency": CURRENCY,
            "cost_basis": self.basis,
            "billing": self.billing,
        }


def platform_terms(contract: dict[str, Any], platform: str) -> PlatformTerms | None:
    section = contract.get("platforms")
    if isinstance(section, PlatformsSection):
        return section.get(platform)
    if isinstance(section, dict):  # a contract built by hand (tests, tools)
        raw = section.get(platform)
        if isinstance(raw, PlatformTerms):
            return raw
        return PlatformTerms.model_validate(raw) if raw is not None else None
    return None


def monthly_cost(
    contract: dict[str, Any], platform: str, vcpu: float = 0, memory_gb: float = 0, storage_gb: float = 0
) -> Cost:
    """The monthly cost of `vcpu` vCPUs, `memory_gb` GB of memory and `storage_gb` GB of storage on `platform`."""
    terms = platform_terms(contract, platform)
    if terms is None:
        return Cost(None, None, None)
    prices, basis = terms.prices()
    if prices is None:
        return Cost(None, None, terms.billing)
    amount = (
        vcpu * prices.vcpu_month + memory_gb * prices.memory_gb_month + storage_gb * prices.storage_gb_month
    )
    return Cost(round(amount, 2), basis, terms.billing)


def cost_phrase(cost: Cost, language: str) -> str:
    """How a summary states the cost, saying plainly when it is only notional or unknown."""
    if cost.amount is None:
        if cost.billing == "fixed_fee":
            return (
                "（固定费用平台，合同未给参考单价，未计费用）"
                if language == "zh"
                else " (fixed-fee platform without notional prices: not valued)"
            )
        return (
            "（合同未列该平台单价，未计费用）" if language == "zh" else " (no unit prices for this platform)"
        )
    if cost.basis == "notional":
        return (
            f"，按参考单价约每月 {cost.amount:,.2f} 元（固定费用合同，回收不减少本期支出，仅示意闲置容量的价值）"
            if language == "zh"
            else f", worth about {cost.amount:,.2f} CNY a month at notional prices "
            "(fixed fee: reclaiming saves nothing this period; shown for sizing only)"
        )
    return (
        f"，按合同单价每月 {cost.amount:,.2f} 元"
        if language == "zh"
        else f", {cost.amount:,.2f} CNY a month at the contract's unit prices"
    )
