"""The contractor score's arithmetic without a store: points, rescaling over what has evidence, the bands and
consequences at their edges, the scoring period of calendar and non-calendar contract years, the quarterly fee
a deduction applies to, and the [score] section's validation."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.money.score.model import (
    ScoreSection,
    assemble,
    contractor_score,
    points_for,
    quarter_fee,
    score_period,
    score_terms,
)
from ops_watch.core.contract import parse_contract
from ops_watch.findings.indicators import IndicatorValue, percent

ZONE = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 23, 12, 0, tzinfo=ZONE)

plugins.load()


def contract(text: str) -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def problems_of(text: str) -> list[str]:
    problems: list[str] = []
    parse_contract(tomllib.loads(text), "contract.toml", problems)
    return problems


ONE = """
[score]
indicators = [{ key = "backup_success_rate", weight = 100, target = 100 }]
"""
HALVES = """
[score]
indicators = [
  { key = "backup_success_rate", name = "备份成功率", weight = 50, target = 99 },
  { key = "satisfaction", weight = 50, target = 90 },
]
"""


def scored(
    text: str, values: dict[str, Decimal | None], fee: Decimal | None = None, language: str = "zh"
) -> Any:
    c = contract(text)
    terms = score_terms(c)
    given = {k: IndicatorValue(v, missing="" if v is not None else "无") for k, v in values.items()}
    return assemble(terms, score_period(c, ZONE, AT), AT, given, language, (fee, "[score] fee_per_quarter"))


def test_percent_and_points_round_half_up_to_two_decimals() -> None:
    assert percent(5, 6) == Decimal("83.33") and percent(2, 3) == Decimal("66.67") and percent(1, 0) is None
    assert percent(1, 8) == Decimal("12.50")
    assert points_for(Decimal(25), Decimal(95), Decimal("83.33")) == Decimal("21.93")
    assert points_for(Decimal(20), Decimal(99), Decimal("100.00")) == Decimal("20.00")  # capped at the weight
    assert points_for(Decimal(10), Decimal(90), Decimal("0")) == Decimal("0.00")


@pytest.mark.parametrize(
    ("value", "band", "rectify", "ineligible"),
    [
        ("100", "优", False, False),
        ("90.00", "优", False, False),
        ("89.99", "良", False, False),
        ("80.00", "良", False, False),
        ("79.99", "中", True, False),
        ("60.00", "中", True, False),
        ("59.99", "差", True, False),
        ("59.00", "差", True, True),
        ("0", "差", True, True),
    ],
)
def test_bands_and_consequences_at_their_edges(
    value: str, band: str, rectify: bool, ineligible: bool
) -> None:
    s = scored(ONE, {"backup_success_rate": Decimal(value)}, fee=Decimal("718175.00"))
    assert s.score == Decimal(value).quantize(Decimal("0.01"))
    assert (s.band, s.rectification, s.ineligible) == (band, rectify, ineligible)
    kinds = [c.split("：")[0] for c in s.consequences]
    assert kinds == [k for k, on in (("低于 80 分", rectify), ("59 分及以下", ineligible)) if on]
    # 5 % of the quarter's fee, to the fen.
    assert s.deduction == (Decimal("35908.75") if rectify else None)
    assert s.incomplete == ""


def test_a_missing_indicator_is_rescaled_out_not_scored_zero() -> None:
    s = scored(HALVES, {"backup_success_rate": Decimal("99.00"), "satisfaction": None})
    assert (s.points, s.measured_weight, s.missing_weight, s.score, s.band) == (
        Decimal("50.00"),
        Decimal(50),
        Decimal(50),
        Decimal("100.00"),
        "优",
    )
    assert [r.key for r in s.missing] == ["satisfaction"] and s.missing[0].points is None
    assert s.incomplete == ("不完整：50 分权重无证据（满意度 50）；得分为有证据的 50 分权重折算为百分制")
    low = scored(HALVES, {"backup_success_rate": Decimal("49.50"), "satisfaction": None})
    # 50 × 49.5 / 99 = 25 of 50 → 50.00: the consequences follow the rescaled score, flagged incomplete.
    assert low.score == Decimal("50.00") and low.rectification and low.ineligible and low.incomplete
    nothing = scored(HALVES, {"backup_success_rate": None, "satisfaction": None})
    assert nothing.score is None and nothing.band is None and nothing.consequences == []
    assert nothing.incomplete == "没有任何指标有证据，无法评分"


def test_unknown_fee_and_english() -> None:
    s = scored(ONE, {"backup_success_rate": Decimal("70")}, language="en")
    assert s.consequences == [
        "below 80: rectification, and 5% of the quarter's fee deducted (the quarterly fee is unknown: set "
        "fee_per_quarter in [score] of contract.toml)"
    ]
    assert s.indicators[0].name == "backup success"


def test_custom_bands_and_thresholds() -> None:
    text = ONE + '\nbands = { "合格" = 70, "不合格" = 30 }\nrectify_below = 70\nineligible_at_or_below = 40\n'
    assert scored(text, {"backup_success_rate": Decimal("69.99")}).band == "不合格"
    # Under the lowest band's bound: the lowest band.
    low = scored(text, {"backup_success_rate": Decimal("10")})
    assert low.band == "不合格" and low.ineligible


@pytest.mark.parametrize(
    ("meta", "kind", "at", "label", "first", "last"),
    [
        ("start = 2026-01-01\nend = 2026-12-31", "year", AT, "2026", date(2026, 1, 1), date(2026, 12, 31)),
        (
            "start = 2026-01-01\nend = 2026-12-31",
            "quarter",
            AT,
            "2026-Q4",
            date(2026, 10, 1),
            date(2026, 12, 31),
        ),
        ("", "year", AT, "2026", date(2026, 1, 1), date(2026, 12, 31)),
        ("", "quarter", datetime(2026, 5, 2, tzinfo=ZONE), "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        # Midnight belongs to the day before: the score as of 2027-01-01 00:00 is 2026's.
        ("", "year", datetime(2027, 1, 1, tzinfo=ZONE), "2026", date(2026, 1, 1), date(2026, 12, 31)),
        # A contract year from March 1 (the new-generation platform's service period).
        (
            "start = 2021-03-01\nend = 2024-02-29",
            "year",
            datetime(2023, 5, 10, tzinfo=ZONE),
            "2023-03-01～2024-02-29",
            date(2023, 3, 1),
            date(2024, 2, 29),
        ),
        (
            "start = 2021-03-01\nend = 2024-02-29",
            "quarter",
            datetime(2023, 5, 10, tzinfo=ZONE),
            "2023-03-01～2023-05-31",
            date(2023, 3, 1),
            date(2023, 5, 31),
        ),
        (
            "start = 2021-03-01\nend = 2024-02-29",
            "year",
            datetime(2023, 2, 28, 23, tzinfo=ZONE),
            "2022-03-01～2023-02-28",
            date(2022, 3, 1),
            date(2023, 2, 28),
        ),
    ],
)
def test_the_scoring_period(meta: str, kind: str, at: datetime, label: str, first: date, last: date) -> None:
    c = contract(f"[contract]\n{meta}\n")
    p = score_period(c, ZONE, at.astimezone(UTC), kind)
    assert (p.label, p.first_day, p.last_day, p.started) == (label, first, last, True)
    assert p.start == datetime.combine(first, datetime.min.time(), tzinfo=ZONE) and p.end == at


def test_after_the_contract_the_period_ends_with_it_and_before_it_nothing_is_scored() -> None:
    c = contract("[contract]\nstart = 2026-01-01\nend = 2026-09-30\n")
    p = score_period(c, ZONE, AT.astimezone(UTC))
    assert (p.label, p.last_day, p.end) == ("2026", date(2026, 9, 30), datetime(2026, 10, 1, tzinfo=ZONE))
    before = score_period(c, ZONE, datetime(2025, 12, 1, tzinfo=ZONE))
    assert not before.started and before.end == before.start
    s = contractor_score(None, c, ZONE, datetime(2025, 12, 1, tzinfo=ZONE))  # type: ignore[arg-type]
    assert s.score is None and all(r.result.missing == "合同 2026-01-01 才开始" for r in s.indicators)


def test_the_quarterly_fee() -> None:
    platforms = """
[platforms."新一代公安信息网云平台"]
billing = "fixed_fee"
fee_per_quarter = "718175.00"
service_start = 2021-03-01
service_end = 2024-03-01

[platforms."警务云"]
billing = "unit_price"
vcpu_month = 80.0
memory_gb_month = 20.0
storage_gb_month = 0.6
"""
    c = contract(platforms)
    assert quarter_fee(c, date(2023, 5, 1)) == (
        Decimal("718175.00"),
        "[platforms] fee_per_quarter: 新一代公安信息网云平台",
    )
    assert quarter_fee(c, date(2024, 3, 1)) == (None, "")  # out of its service period
    own = contract(platforms + "\n[score]\nfee_per_quarter = 100000\n")
    assert quarter_fee(own, date(2023, 5, 1)) == (Decimal(100000), "[score] fee_per_quarter")


def test_defaults_are_the_demo_contracts_terms() -> None:
    terms = ScoreSection()
    assert [(i.key, i.weight, i.target) for i in terms.indicators] == [
        ("staffing_rate", 25, 95),
        ("handover_verified_rate", 15, 95),
        ("drill_completion_rate", 20, 100),
        ("backup_success_rate", 20, 99),
        ("findings_on_time_rate", 10, 90),
        ("audit_timeliness_rate", 5, 100),
        ("satisfaction", 5, 90),
    ]
    assert list(terms.bands.items()) == [("优", 90), ("良", 80), ("中", 60), ("差", 0)]
    assert (terms.rectify_below, terms.ineligible_at_or_below, terms.at_risk_below, terms.period) == (
        80,
        59,
        85,
        "year",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            'indicators = [{ key = "uptime", weight = 100, target = 99 }]',
            "score.indicators: [0].key: unknown indicator 'uptime' (known: staffing_rate,",
        ),
        (
            'indicators = [{ key = "satisfaction", weight = 50, target = 90 },'
            ' { key = "satisfaction", weight = 50, target = 90 }]',
            "score.indicators: [1].key: 'satisfaction' is listed twice",
        ),
        (
            'indicators = [{ key = "satisfaction", weight = 95, target = 90 }]',
            "the weights add up to 95 points; make them add up to 100",
        ),
        ('indicators = [{ key = "satisfaction", weight = 100, target = 0 }]', "target"),
        ("bands = {}", "give at least one band"),
        ('bands = { "优" = 120 }', "优: a band starts at a score from 0 to 100, not 120"),
        ('period = "month"', "period"),
        ("rectify_below = 101", "rectify_below"),
    ],
)
def test_the_score_section_is_validated(body: str, message: str) -> None:
    problems = problems_of("[score]\n" + body + "\n")
    assert any(message in p and p.startswith("contract.toml: score") for p in problems), problems
