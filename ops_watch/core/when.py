"""Dates, months, weeks and years as the center's staff type them: on the command line and in the console.

One set of parsers for every flag that takes a time (`--at`, `--from`, `--month`, `--week`, `--year`, …):
ISO, and the forms people write by hand — `2026/11/16`, `2026.11.16`, `2026年11月16日`, `2026年11月`,
`2026年第47周`. Full-width digits and punctuation from a Chinese IME (２０２６／１１, `：`) are folded first.

Evidence cells are not read here: `timeutil.parse_datetime`/`parse_date` read those (Excel serials,
compact `20261102 08:30:00`, …) and are kept as they are, so loading evidence gives what it gave before.
A value none of the forms here matches is still offered to them, so nothing a flag took before is refused.

Each refusal is a ValueError that names the value and the forms to write; the command puts its flag in
front (`--month: '2026-13' is not a month (…)`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ops_watch.core import timeutil

MONTH_FORMS = "2026-11, 2026/11 or 2026年11月"
DATE_FORMS = "2026-11-16, 2026/11/16, 2026.11.16 or 2026年11月16日"
DATETIME_FORMS = "2026-11-16 09:30, 2026/11/16 09:30, 2026年11月16日 09:30 or 2026-11-16T09:30:00+08:00"
WEEK_FORMS = "2026-W47, 2026W47 or 2026年第47周"
YEAR_FORMS = "2026 or 2026年"
FIRST_YEAR, LAST_YEAR = 1900, 2199

# Spaces around the Chinese unit characters are the IME's or the hand's, not meaning: "2026年 11 月".
_AROUND_UNITS = re.compile(r"\s*([年月日号时点點分秒第周])\s*")
_DATE = re.compile(
    r"(?P<y>\d{4})(?:(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})|年(?P<m2>\d{1,2})月(?P<d2>\d{1,2})[日号]?)"
)
_TIME = re.compile(
    r"(?P<H>\d{1,2})(?::(?P<M>\d{2})(?::(?P<S>\d{2}))?|[时点點](?:(?P<M2>\d{1,2})分?(?:(?P<S2>\d{1,2})秒)?)?)"
)
_DATETIME = re.compile(rf"(?P<date>{_DATE.pattern})(?:(?:\s+|T)?(?P<time>{_TIME.pattern}))?")
_MONTH = re.compile(r"(\d{4})(?:\s*([-/.])\s*(\d{1,2})|年(\d{1,2})月?)")
_COMPACT_MONTH = re.compile(r"(\d{4})(\d{2})")
_WEEK = re.compile(r"(\d{4})(?:-?w(\d{1,2})|年第(\d{1,2})周)", re.IGNORECASE)
_YEAR = re.compile(r"(\d{4})年?")


def _year(given: str, year: int) -> int:
    # A year this far out is a slip of the keyboard (0226, 2926), not a day anyone means to look at.
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{given!r}: the year {year:04d} is not {FIRST_YEAR}–{LAST_YEAR}; check the digits")
    return year


def normalise(text: object) -> str:
    """Full-width digits and punctuation folded (NFKC), the ends stripped, spaces around 年/月/日… dropped."""
    folded = unicodedata.normalize("NFKC", str(text)).strip()
    return _AROUND_UNITS.sub(r"\1", folded)


# --- months ------------------------------------------------------------------------------------------------


def parse_month(text: object) -> str:
    """'2026-11', '2026/11', '2026.11', '2026年11月' (or '2026-1') -> '2026-11', as the store keeps months."""
    given = normalise(text)
    m = _MONTH.fullmatch(given)
    if not m:
        if _COMPACT_MONTH.fullmatch(given):  # reads as a date or a number as easily as a month
            raise ValueError(
                f"{given!r} is not a month: six digits in a row are not read as one; write {MONTH_FORMS}"
            )
        raise ValueError(f"{given!r} is not a month: write {MONTH_FORMS}")
    year, month = _year(given, int(m.group(1))), int(m.group(3) or m.group(4))
    if not 1 <= month <= 12:
        raise ValueError(f"{given!r} is not a month (month {month} is not 1–12): write {MONTH_FORMS}")
    return f"{year:04d}-{month:02d}"


def month_bounds(month: object) -> tuple[date, date]:
    """The first and the last day of a month, given in any form parse_month takes."""
    key = parse_month(month)
    first = date(int(key[:4]), int(key[5:]), 1)
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


# --- days and times ----------------------------------------------------------------------------------------


def _day(given: str, year: int, month: int, day: int, forms: str, what: str) -> date:
    if not 1 <= month <= 12:
        raise ValueError(f"{given!r} is not {what} (month {month} is not 1–12): write {forms}")
    last = month_bounds(f"{year:04d}-{month:02d}")[1].day
    if not 1 <= day <= last:
        raise ValueError(f"{given!r} is not {what} ({year}-{month:02d} has days 1–{last}): write {forms}")
    return date(year, month, day)


def _date_of(m: re.Match[str], given: str, forms: str, what: str) -> date:
    month, day = m.group("m") or m.group("m2"), m.group("d") or m.group("d2")
    return _day(given, _year(given, int(m.group("y"))), int(month), int(day), forms, what)


def parse_date(value: object) -> date:
    """'2026-11-16', '2026/11/16', '2026.11.16', '2026年11月16日', '2026/1/5' -> a date (ISO, e.g. 20261116,
    as before)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    given = normalise(value)
    if not given:
        raise ValueError(f"no date given: write {DATE_FORMS}")
    m = _DATE.fullmatch(given)
    if m:
        return _date_of(m, given, DATE_FORMS, "a date")
    try:
        return timeutil.parse_date(given)
    except ValueError:
        raise ValueError(f"{given!r} is not a date: write {DATE_FORMS}") from None


def _clock(given: str, m: re.Match[str]) -> time:
    hour = int(m.group("H"))
    minute = int(m.group("M") or m.group("M2") or 0)
    second = int(m.group("S") or m.group("S2") or 0)
    for amount, unit, top in ((hour, "hour", 23), (minute, "minute", 59), (second, "second", 59)):
        if amount > top:
            raise ValueError(
                f"{given!r} is not a time ({unit} {amount} is not 0–{top}): write {DATETIME_FORMS}"
            )
    return time(hour, minute, second)


def parse_datetime(value: object, site_zone: ZoneInfo) -> datetime:
    """A day with an optional time of day ('2026/11/16 09:30', '2026年11月16日9时30分') in site time, or
    ISO with or without a zone, -> UTC. A day alone is its midnight."""
    if isinstance(value, date):  # a datetime too: the caller already has a time
        return timeutil.parse_datetime(value, site_zone)
    given = normalise(value)
    if not given:
        raise ValueError(f"no time given: write {DATETIME_FORMS}")
    m = _DATETIME.fullmatch(given)
    if m:
        day = _date_of(m, given, DATETIME_FORMS, "a time")
        clock = _clock(given, m) if m.group("time") else time()
        return timeutil.as_utc(datetime.combine(day, clock), site_zone)
    try:
        return timeutil.parse_datetime(given, site_zone)
    except ValueError:
        raise ValueError(f"{given!r} is not a time: write {DATETIME_FORMS}") from None


# --- weeks and years ---------------------------------------------------------------------------------------


def parse_week(text: object) -> tuple[int, int]:
    """'2026-W47', '2026W47', '2026-w47', '2026年第47周' -> (ISO year, week number)."""
    given = normalise(text)
    m = _WEEK.fullmatch(given)
    if not m:
        raise ValueError(f"{given!r} is not an ISO week: write it like {WEEK_FORMS}")
    year, number = _year(given, int(m.group(1))), int(m.group(2) or m.group(3))
    weeks = date(year, 12, 28).isocalendar()[1]  # 28 December is always in the year's last ISO week
    if not 1 <= number <= weeks:
        raise ValueError(f"{given!r}: {year} has no ISO week {number} (its weeks are 1–{weeks})")
    return year, number


def parse_year(text: object) -> int:
    """'2026' or '2026年' -> 2026. The range a command allows is the command's to check."""
    given = normalise(text)
    m = _YEAR.fullmatch(given)
    if not m:
        raise ValueError(f"{given!r} is not a year: write four digits, {YEAR_FORMS}")
    return _year(given, int(m.group(1)))
