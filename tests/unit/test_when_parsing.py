"""Dates, months, weeks and years as the center's staff type them (core.when): every accepted form gives the
same value as its ISO spelling, and every refusal names what was given and how to write it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ops_watch.core import timeutil, when

ZONE = ZoneInfo("Asia/Shanghai")

# --- months ------------------------------------------------------------------------------------------------

MONTHS = [
    ("2026-11", "2026-11"),
    ("2026/11", "2026-11"),
    ("2026.11", "2026-11"),
    ("2026年11月", "2026-11"),
    ("2026年 11 月", "2026-11"),
    ("2026 年11月", "2026-11"),
    ("2026年11", "2026-11"),
    ("2026-1", "2026-01"),
    ("2026/1", "2026-01"),
    (" 2026-11 ", "2026-11"),
    ("２０２６／１１", "2026-11"),  # full-width, as a Chinese IME types it
    ("２０２６年１１月", "2026-11"),
    ("2026－11", "2026-11"),
]


@pytest.mark.parametrize(("text", "month"), MONTHS)
def test_months_as_people_write_them(text: str, month: str) -> None:
    assert when.parse_month(text) == month


MONTH_REFUSALS = [
    ("202611", "'202611' is not a month: six digits in a row are not read as one; write 2026-11, 2026/11"),
    ("2026-13", "'2026-13' is not a month (month 13 is not 1–12): write 2026-11, 2026/11 or 2026年11月"),
    ("2026年0月", "'2026年0月' is not a month (month 0 is not 1–12)"),
    ("2026", "'2026' is not a month: write 2026-11, 2026/11 or 2026年11月"),
    ("11-2026", "'11-2026' is not a month"),
    ("2026-11-16", "'2026-11-16' is not a month"),
    ("", "'' is not a month"),
    ("0226-11", "'0226-11': the year 0226 is not 1900–2199; check the digits"),
]


@pytest.mark.parametrize(("text", "message"), MONTH_REFUSALS)
def test_month_refusals_say_what_was_given_and_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        when.parse_month(text)
    assert message in str(caught.value)


def test_month_bounds_take_every_month_form() -> None:
    assert when.month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert when.month_bounds("2026年12月") == (date(2026, 12, 1), date(2026, 12, 31))
    with pytest.raises(ValueError, match="not a month"):
        when.month_bounds("2026-13")


# --- dates -------------------------------------------------------------------------------------------------

DATES = [
    ("2026-11-16", date(2026, 11, 16)),
    ("2026/11/16", date(2026, 11, 16)),
    ("2026.11.16", date(2026, 11, 16)),
    ("2026年11月16日", date(2026, 11, 16)),
    ("2026年11月16号", date(2026, 11, 16)),
    ("2026年 11 月 16 日", date(2026, 11, 16)),
    ("2026/1/5", date(2026, 1, 5)),
    ("2026年1月5日", date(2026, 1, 5)),
    ("2026-1-5", date(2026, 1, 5)),
    ("２０２６／１１／１６", date(2026, 11, 16)),
    ("20261116", date(2026, 11, 16)),  # ISO's basic form, as the flags took it before
    ("2028-02-29", date(2028, 2, 29)),
    (date(2026, 11, 16), date(2026, 11, 16)),
    (datetime(2026, 11, 16, 9, 30), date(2026, 11, 16)),
]


@pytest.mark.parametrize(("text", "day"), DATES)
def test_dates_as_people_write_them(text: object, day: date) -> None:
    assert when.parse_date(text) == day


DATE_REFUSALS = [
    ("2026-02-29", "'2026-02-29' is not a date (2026-02 has days 1–28): write 2026-11-16, 2026/11/16"),
    ("2026/11/31", "'2026/11/31' is not a date (2026-11 has days 1–30)"),
    ("2026-13-01", "'2026-13-01' is not a date (month 13 is not 1–12)"),
    ("2026-11/16", "'2026-11/16' is not a date: write 2026-11-16, 2026/11/16, 2026.11.16 or 2026年11月16日"),
    ("16/11/2026", "'16/11/2026' is not a date"),
    ("someday", "'someday' is not a date"),
    ("", "no date given: write 2026-11-16"),
    ("1899-12-31", "the year 1899 is not 1900–2199"),
]


@pytest.mark.parametrize(("text", "message"), DATE_REFUSALS)
def test_date_refusals_say_what_was_given_and_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        when.parse_date(text)
    assert message in str(caught.value)


# --- date-times --------------------------------------------------------------------------------------------

NINE_THIRTY = datetime(2026, 11, 16, 1, 30, tzinfo=UTC)  # 09:30 at the site (+08:00)
TIMES = [
    ("2026-11-16 09:30", NINE_THIRTY),
    ("2026-11-16 9:30", NINE_THIRTY),
    ("2026-11-16 09:30:00", NINE_THIRTY),
    ("2026/11/16 09:30", NINE_THIRTY),
    ("2026.11.16 09:30", NINE_THIRTY),
    ("2026/11/16 9:30", NINE_THIRTY),
    ("2026年11月16日 09:30", NINE_THIRTY),
    ("2026年11月16日09:30", NINE_THIRTY),
    ("2026年11月16日9时30分", NINE_THIRTY),
    ("2026年11月16日 9点30分", NINE_THIRTY),
    ("2026年11月16日9时30分0秒", NINE_THIRTY),
    ("２０２６年１１月１６日　０９：３０", NINE_THIRTY),
    ("2026-11-16T09:30", NINE_THIRTY),
    ("2026-11-16T09:30:00+08:00", NINE_THIRTY),
    ("2026-11-16T01:30:00Z", NINE_THIRTY),
    ("2026-11-16 09:30:00.000", NINE_THIRTY),
    ("2026年11月16日9时", datetime(2026, 11, 16, 1, 0, tzinfo=UTC)),
    ("2026-11-16", datetime(2026, 11, 15, 16, 0, tzinfo=UTC)),  # a day alone: its midnight at the site
    ("2026年11月16日", datetime(2026, 11, 15, 16, 0, tzinfo=UTC)),
    ("20261116 09:30:00", NINE_THIRTY),  # what parse_datetime took before stays taken
    (datetime(2026, 11, 16, 9, 30), NINE_THIRTY),
]


@pytest.mark.parametrize(("text", "at"), TIMES)
def test_times_as_people_write_them(text: object, at: datetime) -> None:
    got = when.parse_datetime(text, ZONE)
    assert got == at and got.utcoffset() == UTC.utcoffset(None)


TIME_REFUSALS = [
    ("2026-11-16 24:00", "'2026-11-16 24:00' is not a time (hour 24 is not 0–23): write 2026-11-16 09:30,"),
    ("2026-11-16 09:60", "(minute 60 is not 0–59)"),
    ("2026年11月16日9时30分61秒", "(second 61 is not 0–59)"),
    ("2026-02-30 09:30", "'2026-02-30 09:30' is not a time (2026-02 has days 1–28)"),
    (
        "yesterday-ish",
        "'yesterday-ish' is not a time: write 2026-11-16 09:30, 2026/11/16 09:30, 2026年11月16日",
    ),
    ("09:30", "'09:30' is not a time"),
    ("", "no time given"),
]


@pytest.mark.parametrize(("text", "message"), TIME_REFUSALS)
def test_time_refusals_say_what_was_given_and_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        when.parse_datetime(text, ZONE)
    assert message in str(caught.value)


def test_evidence_times_are_still_read_by_timeutil_as_before() -> None:
    # Only the flags read people's forms: an evidence cell "2026年11月16日9时30分" stays a bad cell.
    with pytest.raises(ValueError, match="is not a time"):
        timeutil.parse_datetime("2026年11月16日9时30分", ZONE)


# --- weeks and years ---------------------------------------------------------------------------------------

WEEKS = [
    ("2026-W47", (2026, 47)),
    ("2026W47", (2026, 47)),
    ("2026-w47", (2026, 47)),
    ("2026w47", (2026, 47)),
    ("2026-W7", (2026, 7)),
    ("2026年第47周", (2026, 47)),
    ("2026年 第 47 周", (2026, 47)),
    ("２０２６－Ｗ４７", (2026, 47)),
    ("2026-W53", (2026, 53)),  # 2026 has 53 ISO weeks
]


@pytest.mark.parametrize(("text", "week"), WEEKS)
def test_weeks_as_people_write_them(text: str, week: tuple[int, int]) -> None:
    assert when.parse_week(text) == week


WEEK_REFUSALS = [
    ("2025-W53", "'2025-W53': 2025 has no ISO week 53 (its weeks are 1–52)"),
    ("2026年第54周", "'2026年第54周': 2026 has no ISO week 54 (its weeks are 1–53)"),
    ("2026-W0", "2026 has no ISO week 0"),
    ("47", "'47' is not an ISO week: write it like 2026-W47, 2026W47 or 2026年第47周"),
    ("2026-47", "'2026-47' is not an ISO week"),
]


@pytest.mark.parametrize(("text", "message"), WEEK_REFUSALS)
def test_week_refusals_say_what_was_given_and_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        when.parse_week(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "year"), [("2026", 2026), ("2026年", 2026), (" 2026 年 ", 2026), ("２０２６", 2026)]
)
def test_years_as_people_write_them(text: str, year: int) -> None:
    assert when.parse_year(text) == year


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("26", "'26' is not a year: write four digits, 2026 or 2026年"),
        ("20x6", "'20x6' is not a year"),
        ("2026-11", "'2026-11' is not a year"),
        ("1066", "the year 1066 is not 1900–2199"),
    ],
)
def test_year_refusals_say_what_was_given_and_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        when.parse_year(text)
    assert message in str(caught.value)
