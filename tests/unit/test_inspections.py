"""The inspection plan's draw, the [inspections] terms and the `inspection` kind's rows, without a store."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from datetime import date

import pytest

from ops_watch.areas.governance.inspections.model import (
    InspectionsSection,
    PlanError,
    draw,
    inspection_terms,
    parse_month,
    reminder_text,
    working_days,
)
from ops_watch.core.contract import parse_contract
from ops_watch.formats import get_kind
from ops_watch.formats.spec import ParseContext, match_header, row_parser

AREAS = ["site", "records", "continuity"]
OCTOBER_HOLIDAY = [date(2026, 10, d) for d in range(1, 8)]  # National Day and Mid-Autumn, 2026-10-01..07


def contract(text: str) -> dict:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def contract_problems(text: str) -> list[str]:
    problems: list[str] = []
    parse_contract(tomllib.loads(text), "contract.toml", problems)
    return problems


# --- the draw ----------------------------------------------------------------------------------------------


def test_same_seed_same_plan_other_seed_other_plan():
    first = draw("2026-12", "5f0c8e2a9d41b7c3", 4, AREAS)
    assert draw("2026-12", "5f0c8e2a9d41b7c3", 4, AREAS) == first
    others = [draw("2026-12", seed, 4, AREAS) for seed in ("5f0c8e2a9d41b7c4", "00", "ffff", "a1b2c3")]
    assert all(o != first for o in others)
    # The month is part of the draw: the same seed gives other days in another month.
    assert [d.day for d, _ in draw("2027-03", "5f0c8e2a9d41b7c3", 4, AREAS)] != [d.day for d, _ in first]


def test_draw_is_the_same_in_another_python_process_whatever_the_hash_seed():
    code = "from ops_watch.areas.governance.inspections.model import draw; print(draw('2026-12', 'cafe01', 5, ['site', 'records', 'continuity']))"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "2", "random")
    }
    assert outputs == {repr(draw("2026-12", "cafe01", 5, AREAS)) + "\n"}


def test_only_working_days_with_the_make_up_saturday_and_without_national_day():
    days, uncovered = working_days("2026-10")
    assert uncovered == []
    assert date(2026, 10, 10) in days  # a Saturday, a make-up workday (调休) for National Day
    assert not set(OCTOBER_HOLIDAY) & set(days)
    assert date(2026, 10, 11) not in days and date(2026, 10, 17) not in days  # plain weekend days
    # Drawing every working day gives exactly the working days, each once.
    plan = draw("2026-10", "seed", len(days), AREAS)
    assert [d for d, _ in plan] == days
    for seed in ("a", "b", "c", "d", "e", "f", "g", "h"):
        for d, _ in draw("2026-10", seed, 6, AREAS):
            assert d in days and d.month == 10


def test_draw_from_a_day_and_without_excluded_days():
    plan = draw("2026-11", "x", 5, AREAS, first_day=date(2026, 11, 16), exclude={date(2026, 11, 20)})
    assert all(d >= date(2026, 11, 16) and d != date(2026, 11, 20) for d, _ in plan)
    assert len({d for d, _ in plan}) == 5


def test_the_contract_calendar_overrides_win():
    overrides = {date(2026, 12, d): "holiday" for d in range(1, 32) if date(2026, 12, d).weekday() < 5}
    overrides[date(2026, 12, 5)] = "workday"  # a Saturday the contract makes a workday
    days, _ = working_days("2026-12", overrides=overrides)
    assert days == [date(2026, 12, 5)]


@pytest.mark.parametrize("count", [3, 4, 7, 12])
def test_every_area_is_visited_when_there_are_enough_inspections(count):
    for seed in ("s1", "s2", "s3", "s4", "s5", "s6"):
        plan = draw("2026-11", seed, count, AREAS)
        assert len(plan) == count and len({d for d, _ in plan}) == count
        assert {a for _, a in plan} == set(AREAS)
        # Whole rounds: no area comes up twice before every other has come up once.
        counts = [sum(1 for _, a in plan if a == area) for area in AREAS]
        assert max(counts) - min(counts) <= 1


def test_fewer_inspections_than_areas_draws_the_areas_at_random():
    seen = {a for i in range(40) for _, a in draw("2026-11", f"s{i}", 1, AREAS)}
    assert seen == set(AREAS)


def test_more_inspections_than_working_days_is_a_clear_error():
    days, _ = working_days("2026-10")
    with pytest.raises(PlanError) as exc:
        draw("2026-10", "seed", len(days) + 1, AREAS)
    assert f"only {len(days)} working days" in exc.value.en and "per_month" in exc.value.en
    assert f"只有 {len(days)} 个工作日" in exc.value.zh
    with pytest.raises(PlanError, match="from 2026-10-30"):
        draw("2026-10", "seed", 3, AREAS, first_day=date(2026, 10, 30))


def test_a_year_the_calendar_does_not_cover_falls_back_to_monday_to_friday_and_says_so():
    days, uncovered = working_days("2099-03")
    assert uncovered and all(d.year == 2099 for d in uncovered)
    assert days and all(d.weekday() < 5 for d in days)


def test_parse_month():
    assert parse_month("2026-12") == parse_month("2026/12") == parse_month("2026年12月") == "2026-12"
    assert parse_month(" 2026-1 ") == "2026-01"
    for bad in ("2026-13", "12-2026", "", "2026"):
        with pytest.raises(ValueError, match="not a month"):
            parse_month(bad)


# --- the terms ---------------------------------------------------------------------------------------------


def test_defaults_without_the_section():
    terms = inspection_terms({})
    assert terms.per_month == 0 and terms.grace_days == 2 and terms.rectify_days == 7
    assert [a.key for a in terms.areas] == AREAS
    assert str(terms.remind_at) == "08:00:00" and terms.recipients == []


def test_section_values_and_custom_areas_keep_the_default_guides():
    terms = inspection_terms(
        contract(
            """
[inspections]
per_month = 2
remind_at = "07:30"
grace_days = 1
rectify_days = 10
recipients = ["lee@center.example"]
areas = [
  { key = "site", name_zh = "现场", name_en = "site" },
  { key = "network", name_zh = "网络安全", name_en = "network security", aliases = ["网安"], guide_zh = "查看防火墙日志", guide_en = "read the firewall log" },
]
"""
        )
    )
    assert terms.per_month == 2 and str(terms.remind_at) == "07:30:00" and terms.rectify_days == 10
    assert terms.areas[0].guide_zh.startswith("到机房现场")  # the default guide of "site"
    assert terms.area("网安").key == "network"
    assert terms.area("机房") is None  # the default alias belongs to the default area only


def test_bad_sections_name_the_key_and_say_what_to_fix():
    problems = contract_problems(
        '[inspections]\nper_month = -1\nremind_at = "8 am"\nrecipients = ["nobody"]\n'
    )
    text = "\n".join(problems)
    assert "inspections.per_month" in text and "inspections.remind_at" in text
    assert '"HH:MM"' in text and "'nobody' is not an email address" in text
    clash = contract_problems(
        '[inspections]\nareas = [{ key = "a", name_zh = "机房", name_en = "room" }, '
        '{ key = "b", name_zh = "记录", name_en = "records", aliases = ["机房"] }]\n'
    )
    assert any("'机房' names both 'a' and 'b'" in p for p in clash), clash
    twice = contract_problems(
        '[inspections]\nareas = [{ key = "a", name_zh = "甲", name_en = "x" }, { key = "a", name_zh = "乙", name_en = "y" }]\n'
    )
    assert any("key 'a' is listed twice" in p for p in twice), twice
    assert contract_problems("[inspections]\nareas = []\n")
    assert contract_problems('[inspections]\nareas = [{ key = "a b", name_zh = "甲", name_en = "x" }]\n')


def test_area_resolution():
    terms = InspectionsSection()
    assert terms.area("site").key == "site"
    assert terms.area("机房现场").key == "site"
    assert terms.area(" 机房 ").key == "site"  # an alias, spaces around
    assert terms.area("ＳＩＴＥ").key == "site"  # full-width, upper case
    assert terms.area("备份与演练证据").key == "continuity"
    assert terms.area("Operations Records").key == "records"
    assert terms.area("食堂") is None and terms.area("") is None


def test_reminder_says_what_to_look_at_and_how_to_record():
    terms = InspectionsSection()
    subject, body = reminder_text(date(2026, 11, 10), ["site", "continuity"], terms, "zh")
    assert "2026-11-10" in subject and "机房现场" in subject and "备份与演练证据" in subject
    assert "驻场人员名册" in body and "门禁记录" in body and "最近一次备份报告" in body and "演练记录" in body
    assert "--date 2026-11-10 --area site" in body and "2026-11-12 前记录" in body and "2026-11-17" in body
    assert "请勿提前告知运维单位" in body
    subject_en, body_en = reminder_text(date(2026, 11, 10), ["records"], terms, "en")
    assert subject_en.startswith("Unannounced inspection today (2026-11-10") and "handover sheets" in body_en
    assert "signed" in body_en and "by 2026-11-12" in body_en


# --- the `inspection` kind ---------------------------------------------------------------------------------

HEADER = ["检查日期", "检查区域", "检查人", "检查结果", "发现问题", "整改期限", "整改完成日期", "备注"]


def parse(cells: list[object], ctx: ParseContext | None = None, header: list[str] = HEADER):
    kind = get_kind("inspection")
    header_map, matched = match_header(kind, header)
    assert matched == len(header)
    return row_parser(kind, header_map)(cells, ctx or ParseContext())


def test_result_spellings():
    for text in ("合格", "通过", "正常", "pass", "PASS", "Passed"):
        record, faults = parse(["2026-11-06", "site", "李科长", text, "", "", "", ""])
        assert faults == [] and record.result == "pass", text
    for text in ("发现问题", "不合格", "问题", "problems", "有问题"):
        record, faults = parse(["2026-11-06", "site", "李科长", text, "门未上锁", "", "", ""])
        assert faults == [] and record.result == "problems", text
    _, faults = parse(["2026-11-06", "site", "李科长", "还行", "", "", "", ""])
    assert [f.column for f in faults] == ["result"] and "合格" in faults[0].problem.zh


def test_a_good_row_with_the_default_deadline():
    record, faults = parse(
        ["2026/11/04", "运维记录", "李科长", "发现问题", "交接班表无签字", "", "", "当场告知"]
    )
    assert faults == []
    assert (record.day, record.area, record.rectify_by) == (date(2026, 11, 4), "records", date(2026, 11, 11))
    ctx = ParseContext(contract=contract("[inspections]\nrectify_days = 3\n"))
    record, _ = parse(["2026-11-04", "records", "李科长", "问题", "交接班表无签字", "", "", ""], ctx)
    assert record.rectify_by == date(2026, 11, 7)


def test_nothing_written_as_none_counts_as_empty():
    record, faults = parse(["2026-11-06", "机房", "李科长", "合格", "无", "/", "—", ""])
    assert faults == [] and record.problems == "" and record.rectify_by is None


def test_bad_rows_say_what_to_fix():
    _, faults = parse(["2026-11-06", "site", "李科长", "合格", "门未上锁", "", "", ""])
    assert [f.column for f in faults] == ["problems"]
    assert "改为「发现问题」" in faults[0].problem.zh and "make the result problems" in faults[0].problem.en
    _, faults = parse(["2026-11-06", "site", "李科长", "发现问题", "", "", "", ""])
    assert [f.column for f in faults] == ["problems"] and "写明" in faults[0].problem.zh
    _, faults = parse(["2026-11-06", "site", "李科长", "合格", "", "2026-11-10", "", ""])
    assert [f.column for f in faults] == ["rectify_by"]
    _, faults = parse(["2026-11-06", "site", "李科长", "问题", "门未上锁", "2026-11-01", "", ""])
    assert [f.column for f in faults] == ["rectify_by"] and "早于检查日期" in faults[0].problem.zh
    _, faults = parse(["2026-11-06", "site", "李科长", "问题", "门未上锁", "", "2026-11-02", ""])
    assert [f.column for f in faults] == ["rectified_on"]
    _, faults = parse(["2026-11-06", "", "李科长", "合格", "", "", "", ""])
    assert [f.column for f in faults] == ["area"]


def test_an_unknown_area_names_the_known_ones():
    _, faults = parse(["2026-11-06", "食堂", "李科长", "合格", "", "", "", ""])
    assert [f.column for f in faults] == ["area"]
    assert (
        "site（机房现场）" in faults[0].problem.zh and "continuity（备份与演练证据）" in faults[0].problem.zh
    )
    assert "site (the machine room)" in faults[0].problem.en
    ctx = ParseContext(
        contract=contract('[inspections]\nareas = [{ key = "net", name_zh = "网络", name_en = "network" }]\n')
    )
    _, faults = parse(["2026-11-06", "site", "李科长", "合格", "", "", "", ""], ctx)
    assert "net（网络）" in faults[0].problem.zh and "site" not in faults[0].problem.zh


def test_header_aliases_and_optional_columns():
    header = ["date", "检查内容", "检查人员", "结果"]
    record, faults = parse(["2026-11-06", "备份演练", "张三", "正常"], header=header)
    assert faults == [] and record.area == "continuity" and record.note == "" and record.rectified_on is None
