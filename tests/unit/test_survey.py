"""Survey coverage (R8): the [survey] terms and their errors, survey rounds and judge days, the coverage
arithmetic (aliases, units that are not tenant units, each person once, the scale converted to 100), the score
parser's bounds, and the satisfaction indicator. Coverage reads the store, so those run on SQLite and PostgreSQL
(`store`)."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.governance.survey.kind import KIND, score_value
from ops_watch.areas.governance.survey.model import (
    SurveySection,
    coverage,
    coverage_days,
    coverage_rows,
    parse_period,
    period_containing,
    satisfaction,
    survey_terms,
)
from ops_watch.core.contract import parse_contract
from ops_watch.findings.indicators import IndicatorInputs
from ops_watch.formats.spec import CellError, ParseContext, match_header, parse_row
from ops_watch.store import Store
from ops_watch.store.schema import InventoryResource, SurveyResponse

ZONE = ZoneInfo("Asia/Shanghai")
plugins.load()


def terms(text: str = "") -> SurveySection:
    problems: list[str] = []
    contract = parse_contract(tomllib.loads(f"[survey]\n{text}"), "contract.toml", problems)
    assert problems == [], problems
    return survey_terms(contract)


def problems_of(text: str) -> list[str]:
    problems: list[str] = []
    parse_contract(tomllib.loads(f"[survey]\n{text}"), "contract.toml", problems)
    return problems


# --- terms -----------------------------------------------------------------------------------------------


def test_defaults_without_the_section() -> None:
    problems: list[str] = []
    t = survey_terms(parse_contract({}, "contract.toml", problems))
    assert problems == []
    assert (t.scale_max, t.period, t.min_unit_coverage, t.min_respondents_per_unit, t.min_respondents) == (
        100,
        "year",
        80,
        2,
        10,
    )
    assert (t.units, t.unit_aliases, t.target_mean, t.judge_month_day) == ([], {}, 90, (10, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scale_max = 0", "survey.scale_max"),
        ('period = "month"', "survey.period"),
        ("min_unit_coverage = 120", "survey.min_unit_coverage"),
        ("min_respondents = -1", "survey.min_respondents"),
        ('judge_from = "10/01"', 'write it as "MM-DD"'),
        ('judge_from = "02-30"', "not a day of the year"),
        ('period = "quarter"\njudge_from = "10-01"', "a quarter has 3 months"),
        ('units = ["刑侦支队", " 刑侦支队"]', "listed twice"),
        ('units = ["刑侦支队", ""]', "unit name is empty"),
        ('units = ["刑侦支队"]\nunit_aliases = { "交警" = "交警支队" }', "which is not in units"),
        ('units = ["刑侦支队", "刑侦"]\nunit_aliases = { "刑侦" = "刑侦支队" }', "is a unit of its own"),
        ("colour = 1", "survey.colour"),
    ],
)
def test_bad_terms_are_named(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert problems and any(expected in p for p in problems), problems
    assert all(p.startswith("contract.toml: survey.") for p in problems)


def test_rounds_and_judge_days() -> None:
    t = terms()
    year = period_containing(date(2026, 11, 16), "year")
    assert (year.label, year.first, year.last, year.judge_day(t)) == (
        "2026",
        date(2026, 1, 1),
        date(2026, 12, 31),
        date(2026, 10, 1),
    )
    assert year.previous().label == "2025"
    q = period_containing(date(2026, 8, 2), "quarter")
    assert (q.label, q.first, q.last) == ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))
    # judge_from counts the round's own months: the default 03-01 of a quarter is its third month.
    assert q.judge_day(terms('period = "quarter"')) == date(2026, 9, 1)
    h = period_containing(date(2026, 8, 2), "half")
    assert (h.label, h.judge_day(terms('period = "half"\njudge_from = "06-15"'))) == (
        "2026-H2",
        date(2026, 12, 15),
    )
    assert period_containing(date(2026, 1, 5), "quarter").previous().label == "2025-Q4"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2026", "2026"),
        ("2026年", "2026"),
        ("2026-H2", "2026-H2"),
        ("2026年下半年", "2026-H2"),
        ("2026h1", "2026-H1"),
        ("2026-Q3", "2026-Q3"),
        ("2026年第三季度", "2026-Q3"),
        ("２０２６－Ｑ１", "2026-Q1"),
    ],
)
def test_parse_period(text: str, label: str) -> None:
    assert parse_period(text).label == label


def test_parse_period_refuses_with_the_forms() -> None:
    with pytest.raises(ValueError, match="a year 2026, a half 2026-H2 or a quarter 2026-Q3"):
        parse_period("2026-13")


# --- the score cell --------------------------------------------------------------------------------------


def _ctx(scale: float) -> ParseContext:
    return ParseContext(zone=ZONE, contract={"survey": SurveySection(scale_max=scale)})


def test_score_bounds_follow_the_scale() -> None:
    parse = score_value()
    assert parse("5", _ctx(5)) == 5.0 and parse(0, _ctx(5)) == 0.0 and parse("95分", _ctx(100)) == 95.0
    with pytest.raises(CellError) as above:
        parse("6", _ctx(5))
    assert "scale_max = 5" in above.value.problem.zh and "top score 5" in above.value.problem.en
    with pytest.raises(CellError, match="negative"):
        parse("-1", _ctx(5))
    with pytest.raises(CellError, match="not a number"):
        parse("满意", _ctx(100))
    assert parse("100", ParseContext()) == 100.0  # no contract: the default 100-point scale


def test_an_anonymous_row_is_refused_saying_why() -> None:
    header, _ = match_header(KIND, ["单位", "填表人", "日期", "得分"])
    record, faults = parse_row(KIND, header, ["", "王伟", "2026-11-03", "90"], ParseContext())
    assert record is None and faults[0].column == "unit" and "匿名问卷" in faults[0].problem.zh
    record, faults = parse_row(KIND, header, ["刑侦支队", " ", "2026-11-03", "90"], ParseContext())
    assert record is None and faults[0].label == "填表人" and "anonymous" in faults[0].problem.en
    record, faults = parse_row(KIND, header, ["刑侦支队", "王伟", "2026/11/03", "90"], ParseContext())
    assert faults == [] and (record.unit, record.day, record.score, record.comments) == (
        "刑侦支队",
        date(2026, 11, 3),
        90.0,
        "",
    )


# --- coverage --------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def inventory(store: Store, *units: str, allocated_to: date | None = None) -> None:
    with store.session() as s:
        for i, unit in enumerate(units):
            s.add(
                InventoryResource(
                    resource_id=f"{unit}-{i}-{allocated_to}",
                    platform="警务云",
                    tenant_unit=unit,
                    type="vm",
                    allocated_from=date(2024, 1, 1),
                    allocated_to=allocated_to,
                    updated_at=NOW,
                )
            )
        s.commit()


def answers(store: Store, *rows: tuple[str, str, str, float]) -> None:
    with store.session() as s:
        for unit, person, day, score in rows:
            s.add(
                SurveyResponse(
                    unit=unit, respondent=person, day=date.fromisoformat(day), score=score, updated_at=NOW
                )
            )
        s.commit()


def cover(store: Store, t: SurveySection, first: str = "2026-01-01", last: str = "2026-12-31") -> Any:
    with store.session() as s:
        return coverage_days(s, t, date.fromisoformat(first), date.fromisoformat(last))


def test_coverage_arithmetic(store: Store) -> None:
    inventory(store, "刑侦支队", "交警支队", "治安支队", "网安支队", "指挥中心")
    inventory(store, "经侦支队", allocated_to=date(2025, 6, 30))  # gone before the round: not expected
    answers(
        store,
        ("刑侦支队", "王伟", "2026-11-03", 4),
        ("刑侦支队", "王伟", "2026-11-20", 5),  # the same person again: counted once, the later answer
        ("刑侦支队", "李娜", "2026-11-03", 4),
        ("刑侦", "张强", "2026-11-05", 3),  # an alias of 刑侦支队
        ("交警支队 ", "陈明", "2026-11-06", 2),  # a trailing space: the same unit
        ("市局办公室", "刘洋", "2026-11-10", 5),  # not a tenant unit
        ("治安支队", "赵六", "2025-12-31", 5),  # before the round
    )
    t = terms('scale_max = 5\nunit_aliases = { "刑侦" = "刑侦支队" }')
    cov = cover(store, t)
    assert cov.units_from == "inventory"
    assert sorted(cov.expected) == sorted(["刑侦支队", "交警支队", "治安支队", "网安支队", "指挥中心"])
    by = {u.unit: u for u in cov.answered}
    # (5 + 4 + 3) / 3 out of 5 -> 80.00 of 100; 2 of 5 -> 40.00
    assert {k: (u.responses, u.respondents, u.mean) for k, u in by.items()} == {
        "刑侦支队": (4, 3, Decimal("80.00")),
        "交警支队": (1, 1, Decimal("40.00")),
    }
    assert [u.unit for u in cov.answered] == [u for u in cov.expected if u in by]
    assert by["刑侦支队"].spellings == ("刑侦",) and by["交警支队"].spellings == ()
    assert sorted(cov.missing) == ["指挥中心", "治安支队", "网安支队"]
    assert [(u.unit, u.respondents, u.mean) for u in cov.others] == [("市局办公室", 1, Decimal("100.00"))]
    # 2 of 5 units; 4 respondents in tenant units; (100 + 80 + 60 + 40) / 4 = 70
    assert (cov.coverage, cov.respondents, cov.responses, cov.mean) == (
        Decimal("40.00"),
        4,
        5,
        Decimal("70.00"),
    )
    assert [u.unit for u in cov.thin(2)] == ["交警支队"]

    rows = coverage_rows(cov, t, "zh")
    assert [r["unit"] for r in rows] == [
        *(u.unit for u in cov.answered),
        *cov.missing,
        "市局办公室",
        "合计（租户单位）",
    ]
    assert rows[[u.unit for u in cov.answered].index("交警支队")]["note"] == "作答不足 2 人"
    assert rows[-1]["respondents"] == 4 and "5 个租户单位中 2 个作答（覆盖率 40%" in rows[-1]["note"]
    missing_rows = [r for r in rows if r["note"] == "未作答"]
    assert len(missing_rows) == 3 and all(r["responses"] == 0 and r["respondents"] == 0 for r in missing_rows)


def test_contract_units_replace_the_inventory(store: Store) -> None:
    inventory(store, "刑侦支队", "交警支队")
    answers(store, ("刑侦支队", "王伟", "2026-03-01", 90), ("交警支队", "陈明", "2026-03-01", 80))
    cov = cover(store, terms('units = ["刑侦支队", "禁毒支队"]'))
    assert cov.units_from == "contract" and cov.expected == ("刑侦支队", "禁毒支队")
    assert [u.unit for u in cov.answered] == ["刑侦支队"] and cov.missing == ("禁毒支队",)
    assert [u.unit for u in cov.others] == ["交警支队"] and cov.coverage == Decimal("50.00")


def test_no_units_known_means_no_coverage(store: Store) -> None:
    answers(store, ("刑侦支队", "王伟", "2026-03-01", 90))
    cov = cover(store, terms())
    assert cov.expected == () and cov.coverage is None and cov.mean is None
    assert [u.unit for u in cov.others] == ["刑侦支队"]  # kept, not lost


def test_coverage_by_times_takes_the_local_days(store: Store) -> None:
    inventory(store, "刑侦支队")
    answers(store, ("刑侦支队", "王伟", "2026-01-01", 90), ("刑侦支队", "李娜", "2025-12-31", 70))
    start = datetime(2026, 1, 1, tzinfo=ZONE).astimezone(UTC)  # 2025-12-31 16:00 UTC
    end = datetime(2026, 1, 2, tzinfo=ZONE).astimezone(UTC)
    with store.session() as s:
        cov = coverage(s, {}, ZONE, start, end)
    assert (cov.first, cov.last, cov.respondents, cov.mean) == (
        date(2026, 1, 1),
        date(2026, 1, 1),
        1,
        Decimal("90.00"),
    )


def test_satisfaction_indicator(store: Store) -> None:
    start = datetime(2026, 1, 1, tzinfo=ZONE).astimezone(UTC)
    end = datetime(2026, 11, 16, 9, tzinfo=ZONE).astimezone(UTC)
    contract = {"survey": terms("scale_max = 10")}
    inventory(store, "刑侦支队", "交警支队", "治安支队")
    with store.session() as s:
        none = satisfaction(IndicatorInputs(s, contract, ZONE, start, end, "en"))
    assert none.value is None and none.missing == "no satisfaction-survey answer in the period"
    answers(store, ("外单位", "某人", "2026-05-01", 9))
    with store.session() as s:
        others = satisfaction(IndicatorInputs(s, contract, ZONE, start, end, "zh"))
    assert others.value is None and "都不属于租户单位（外单位）" in others.missing
    answers(store, ("刑侦支队", "王伟", "2026-05-01", 9), ("刑侦支队", "李娜", "2026-05-02", 8.5))
    with store.session() as s:
        v = satisfaction(IndicatorInputs(s, contract, ZONE, start, end, "zh"))
    # (90 + 85) / 2 = 87.5 out of 100, from 1 of 3 units: still computed, the evidence says so
    assert (v.value, v.numerator, v.denominator) == (Decimal("87.50"), Decimal("175.00"), 2)
    assert v.inputs["units_answered"] == 1 and v.inputs["units_expected"] == 3
    assert v.evidence[0].startswith("覆盖不足：3 个租户单位中仅 1 个作答（33.33%")
    assert "刑侦支队：2 人作答，平均 87.5 分" in v.evidence
    assert any(line.startswith("未作答：") and "治安支队" in line for line in v.evidence)
    assert any("外单位" in line for line in v.evidence)
