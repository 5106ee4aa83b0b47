"""The contract's shifts, the official day types (chinesecalendar) and shift instances."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from ops_watch.areas.staffing.shifts import (
    StaffingSection,
    day_type,
    shift_instances,
    staffing_terms,
    uncovered_dates,
)
from ops_watch.config import ConfigError
from ops_watch.findings.rules import load_rules

REPO = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")

STAFFING = """
[staffing]
grace_minutes = 10
onsite_doors = ["机房A门", "运维值班室"]

[staffing.calendar_overrides]
2026-11-20 = "holiday"

[[staffing.shifts]]
name = "白班"
start = "08:00"
end = "20:00"
days = "all"
min_headcount = { workday = 2, rest_day = 1, holiday = 1 }
required_roles = ["值班长"]
required_certificates = ["CISP"]

[[staffing.shifts]]
name = "夜班"
start = "20:00"
end = "08:00"
days = ["workdays", "rest_days"]
min_headcount = 1
"""


def _rules_dir(tmp_path: Path, contract: str) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "contract.toml").write_text(contract, encoding="utf-8")
    return d


def _staffing(tmp_path: Path, text: str = STAFFING) -> StaffingSection:
    section = load_rules(_rules_dir(tmp_path, text)).contract["staffing"]
    assert isinstance(section, StaffingSection)
    return section


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_rules(_rules_dir(tmp_path, text))
    return exc.value.problems


def _sole_weekend_workday(year: int) -> date:
    """A Saturday or Sunday the library itself lists as a make-up workday (调休)."""
    days = sorted(d for d in chinese_calendar.workdays if d.year == year and d.weekday() >= 5)
    assert days, f"chinesecalendar lists no make-up workday in {year}"
    return days[0]


def test_the_repository_contract_states_its_shifts_and_a_contract_without_them_has_none(tmp_path):
    rules = load_rules(REPO / "rules")
    staffing = rules.contract["staffing"]
    assert [s.name for s in staffing.shifts] == ["白班", "夜班"] and staffing.judge_from == date(2026, 10, 19)
    assert len(shift_instances(staffing, date(2026, 11, 1), date(2026, 11, 30), SHANGHAI)) == 60
    assert staffing_terms({}).shifts == []
    d = tmp_path / "r"
    shutil.copytree(REPO / "rules", d)
    text = (d / "contract.toml").read_text(encoding="utf-8")
    (d / "contract.toml").write_text(text[: text.index("\n[staffing]\n")], encoding="utf-8")
    without = load_rules(d).contract["staffing"]
    assert without.shifts == []
    assert shift_instances(without, date(2026, 11, 1), date(2026, 11, 30), SHANGHAI) == []


def test_the_section_loads_from_contract_toml(tmp_path):
    staffing = _staffing(tmp_path)
    assert [s.name for s in staffing.shifts] == ["白班", "夜班"]
    assert staffing.grace == timedelta(minutes=10)
    assert staffing.onsite_doors == ["机房A门", "运维值班室"]
    assert staffing.calendar_overrides == {date(2026, 11, 20): "holiday"}
    assert staffing.shift("夜班").crosses_midnight and not staffing.shift("白班").crosses_midnight
    assert staffing_terms({"staffing": staffing}) is staffing


def test_night_shift_crosses_midnight_in_utc(tmp_path):
    staffing = _staffing(tmp_path)
    monday = date(2026, 11, 16)
    instances = shift_instances(staffing, monday, monday, SHANGHAI)
    assert [(i.shift, i.start, i.end) for i in instances] == [
        ("白班", datetime(2026, 11, 16, 0, 0, tzinfo=UTC), datetime(2026, 11, 16, 12, 0, tzinfo=UTC)),
        ("夜班", datetime(2026, 11, 16, 12, 0, tzinfo=UTC), datetime(2026, 11, 17, 0, 0, tzinfo=UTC)),
    ]
    night = instances[1]
    assert night.key == (monday, "夜班")
    assert night.day_type == "workday" and night.covered
    assert night.contains(datetime(2026, 11, 16, 23, 59, tzinfo=UTC))  # 07:59 on Tuesday, site time
    assert not night.contains(datetime(2026, 11, 17, 0, 5, tzinfo=UTC))
    assert night.contains(datetime(2026, 11, 17, 0, 5, tzinfo=UTC), grace=staffing.grace)
    assert instances[0].min_headcount == 2
    assert instances[0].required_roles == ("值班长",) and instances[0].required_certificates == ("CISP",)


def test_national_day_is_a_holiday_and_shifts_follow_their_days(tmp_path):
    staffing = _staffing(tmp_path)
    assert day_type(date(2026, 10, 1)) == ("holiday", True)
    instances = shift_instances(staffing, date(2026, 10, 1), date(2026, 10, 1), SHANGHAI)
    # the night shift runs on workdays and rest days only; the day shift needs one person on a holiday
    assert [(i.shift, i.day_type, i.min_headcount) for i in instances] == [("白班", "holiday", 1)]


def test_an_ordinary_weekend_is_a_rest_day(tmp_path):
    saturday = date(2026, 11, 14)
    assert not chinese_calendar.is_workday(saturday)
    assert day_type(saturday) == ("rest_day", True)
    instances = shift_instances(_staffing(tmp_path), saturday, saturday, SHANGHAI)
    assert [(i.shift, i.day_type, i.min_headcount) for i in instances] == [
        ("白班", "rest_day", 1),
        ("夜班", "rest_day", 1),
    ]


def test_a_make_up_workday_on_a_weekend_is_a_workday(tmp_path):
    make_up = _sole_weekend_workday(2026)
    assert make_up.weekday() >= 5 and chinese_calendar.is_workday(make_up)
    assert day_type(make_up) == ("workday", True)
    instances = shift_instances(_staffing(tmp_path), make_up, make_up, SHANGHAI)
    assert {(i.shift, i.day_type) for i in instances} == {("白班", "workday"), ("夜班", "workday")}
    assert next(i for i in instances if i.shift == "白班").min_headcount == 2


def test_workday_only_shift_is_not_instantiated_on_rest_days(tmp_path):
    text = """
[staffing]
[[staffing.shifts]]
name = "白班"
start = "09:00"
end = "17:30"
days = "workdays"
min_headcount = 1
"""
    staffing = _staffing(tmp_path, text)
    week = shift_instances(staffing, date(2026, 11, 9), date(2026, 11, 15), SHANGHAI)  # Monday..Sunday
    assert [i.day for i in week] == [date(2026, 11, d) for d in range(9, 14)]
    assert week[0].end - week[0].start == timedelta(hours=8, minutes=30)


def test_overrides_win_over_the_library(tmp_path):
    overrides = {date(2026, 10, 1): "workday", date(2026, 11, 14): "holiday", date(2031, 3, 1): "workday"}
    assert day_type(date(2026, 10, 1), overrides) == ("workday", True)
    assert day_type(date(2026, 11, 14), overrides) == ("holiday", True)
    assert day_type(date(2031, 3, 1), overrides) == ("workday", True)  # a Saturday, declared by the contract
    staffing = _staffing(tmp_path)  # overrides 2026-11-20 (a Friday) to a holiday
    assert day_type(date(2026, 11, 20)) == ("workday", True)
    friday = shift_instances(staffing, date(2026, 11, 20), date(2026, 11, 20), SHANGHAI)
    assert [(i.shift, i.day_type) for i in friday] == [("白班", "holiday")]


def test_a_year_the_library_does_not_cover_falls_back_to_monday_to_friday(tmp_path):
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2031, 10, 1))
    assert day_type(date(2031, 10, 1)) == ("workday", False)  # a Wednesday; really National Day
    assert day_type(date(2031, 10, 4)) == ("rest_day", False)  # a Saturday
    instances = shift_instances(_staffing(tmp_path), date(2031, 10, 1), date(2031, 10, 1), SHANGHAI)
    assert {(i.day_type, i.covered) for i in instances} == {("workday", False)}
    assert uncovered_dates(date(2026, 9, 30), date(2026, 10, 2)) == []
    assert uncovered_dates(date(2031, 1, 1), date(2031, 1, 2), {date(2031, 1, 1): "holiday"}) == [
        date(2031, 1, 2)
    ]


def test_no_section_means_no_shifts_but_an_empty_section_is_an_error(tmp_path):
    assert StaffingSection().shifts == []
    problems = _problems(tmp_path, "[staffing]\ngrace_minutes = 5\n")
    assert problems == [
        "contract.toml: staffing.shifts: the [staffing] section needs at least one [[staffing.shifts]] entry"
    ]


@pytest.mark.parametrize(
    ("shifts", "expected"),
    [
        (
            '[[staffing.shifts]]\nname = "白班"\nstart = "25:00"\nend = "08:00"\nmin_headcount = 1\n',
            "contract.toml: staffing.shifts[0].start: '25:00' is not a time of day HH:MM (00:00 to 23:59)",
        ),
        (
            '[[staffing.shifts]]\nname = "白班"\nstart = "08:00"\nend = "20:00"\nmin_headcount = 1\n'
            '[[staffing.shifts]]\nname = "白班"\nstart = "20:00"\nend = "08:00"\nmin_headcount = 1\n',
            "contract.toml: staffing.shifts: shift name '白班' is used by shifts[0] and shifts[1]",
        ),
        (
            '[[staffing.shifts]]\nname = "白班"\nstart = "08:00"\nend = "20:00"\nmin_headcount = 1\n'
            'days = ["workdays", "weekends"]\n',
            "contract.toml: staffing.shifts[0].days[1]: input should be 'workdays', 'rest_days', 'holidays' "
            "or 'all'",
        ),
        (
            '[[staffing.shifts]]\nname = "白班"\nstart = "08:00"\nend = "20:00"\n'
            "min_headcount = { workday = 2 }\n",
            "contract.toml: staffing.shifts[0]: give min_headcount.rest_day (the shift runs on rest days), "
            "min_headcount.holiday (the shift runs on holidays)",
        ),
        (
            '[[staffing.shifts]]\nname = "白班"\nstart = "08:00"\nend = "20:00"\nmin_headcount = 1\n'
            '[staffing.calendar_overrides]\n2026-10-08 = "day_off"\n',
            "contract.toml: staffing.calendar_overrides.2026-10-08: input should be 'workday', 'rest_day' or "
            "'holiday'",
        ),
    ],
    ids=["bad-time", "duplicate-name", "unknown-day-type", "headcount-missing", "bad-override"],
)
def test_validation_errors_name_the_key_path(tmp_path, shifts, expected):
    # The line reads "file: key: reason", with pydantic's reason followed by its Chinese where it has one.
    assert any(
        p == expected or p.startswith(expected + "（") for p in _problems(tmp_path, "[staffing]\n" + shifts)
    )


def test_unknown_keys_are_refused(tmp_path):
    text = STAFFING.replace('name = "白班"', 'name = "白班"\nheadcount = 3')
    problems = _problems(tmp_path, text)
    assert any(p.startswith("contract.toml: staffing.shifts[0].headcount: unknown setting") for p in problems)


def test_zones_and_every_on_duty_certificates(tmp_path: Path) -> None:
    zoned = STAFFING.replace(
        "[staffing.calendar_overrides]",
        '[staffing.zones]\nperimeter = ["大楼入口"]\ninner = ["机房A门"]\n\n[staffing.calendar_overrides]',
    ).replace(
        'required_certificates = ["CISP"]',
        'required_certificates = ["CISP"]\nevery_on_duty_certificates = ["电工证"]',
    )
    staffing = _staffing(tmp_path, zoned)
    # onsite_doors in no zone (运维值班室) are inner: they prove presence and never end a stay.
    assert staffing.presence_doors == ["大楼入口", "机房A门", "运维值班室"]
    assert staffing.inner_doors == frozenset({"机房A门", "运维值班室"})
    (day,) = [
        i
        for i in shift_instances(staffing, date(2026, 11, 2), date(2026, 11, 2), SHANGHAI)
        if i.shift == "白班"
    ]
    assert (day.required_certificates, day.every_on_duty_certificates) == (("CISP",), ("电工证",))
    # Without zones: the on-site doors, none of them inner.
    plain = staffing_terms(
        {
            "staffing": StaffingSection.model_validate(
                {"shifts": [], "onsite_doors": ["A"]}, context={"section_present": False}
            )
        }
    )
    assert plain.presence_doors == ["A"] and plain.inner_doors == frozenset()
    both = zoned.replace('inner = ["机房A门"]', 'inner = ["机房A门", "大楼入口"]')
    (tmp_path / "both").mkdir()
    (problem,) = _problems(tmp_path / "both", both)
    assert "staffing.zones" in problem and "'大楼入口' is in both" in problem
