"""Time helpers: the store keeps UTC, people see the site's local time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_duration(text: str | int | float) -> timedelta:
    """'90s', '15m', '24h', '7d', '2w' -> timedelta; a bare number is seconds."""
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=text)
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a duration: write a number and a unit, e.g. 90s, 15m, 24h, 7d")
    return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()])


_NAIVE_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def as_utc(value: datetime, site_zone: ZoneInfo) -> datetime:
    """A naive time is in the site zone; an aware one keeps its zone. Either becomes UTC."""
    if value.tzinfo is None and value.__class__ is datetime and site_zone is not UTC:
        # value.replace(tzinfo=site_zone).astimezone(UTC), done by arithmetic: replace() costs about a
        # microsecond in CPython and this runs for every time of every row. utcoffset() of the naive value
        # is the offset astimezone() would use (same wall time, same fold), so the result is the same.
        # (With UTC itself as the zone astimezone() hands the value back as it is, fold and all.)
        offset = site_zone.utcoffset(value)
        if offset is None:  # a tzinfo that does not know: leave it to astimezone
            return value.replace(tzinfo=site_zone).astimezone(UTC)
        return _UTC_EPOCH + (value - offset - _NAIVE_EPOCH)
    if value.tzinfo is None:
        value = value.replace(tzinfo=site_zone)
    return value.astimezone(UTC)


def from_store(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were written as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y%m%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


def parse_datetime(value: object, site_zone: ZoneInfo) -> datetime:
    """Parse a time as found in evidence (ISO 8601, Chinese Excel styles, an Excel cell) into UTC."""
    if isinstance(value, datetime):
        return as_utc(value, site_zone)
    if isinstance(value, date):
        return as_utc(datetime.combine(value, time()), site_zone)
    text = str(value).strip()
    if not text:
        raise ValueError("empty time")
    try:
        return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")), site_zone)
    except ValueError:
        pass
    for fmt in _TIME_FORMATS + _DATE_FORMATS:
        try:
            return as_utc(datetime.strptime(text, fmt), site_zone)
        except ValueError:
            continue
    raise ValueError(
        f"{text!r} is not a time (expected e.g. 2026-11-02 08:30:00 or 2026-11-02T08:30:00+08:00)"
    )


def parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        raise ValueError("empty date")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise ValueError(f"{text!r} is not a date (expected e.g. 2026-11-02)") from None


def local_day_bounds(day: date, site_zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of a calendar day at the site."""
    start = datetime.combine(day, time(), tzinfo=site_zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=site_zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def format_local(value: datetime | None, site_zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    value = from_store(value)
    assert value is not None
    return value.astimezone(site_zone).strftime(fmt)
