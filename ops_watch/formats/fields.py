"""Cell parsers shared by the kinds. Each takes (cell, ParseContext) and returns the value or raises CellError.

Cells come as text from CSV and as text, numbers, booleans or datetimes from XLSX; every parser takes both.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ops_watch.core.timeutil import as_utc, parse_date, parse_datetime
from ops_watch.formats.spec import (
    FAST_CHOICE,
    FAST_TEXT,
    CellError,
    CellParser,
    ParseContext,
    fast_path,
    normalize_header,
)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an XLSX number cell holding an id: 1001.0 -> "1001"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def text(max_length: int = 256) -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> str:
        out = _as_text(value)
        if len(out) > max_length:
            raise CellError(
                f"过长（{len(out)} 个字符，最多 {max_length}）",
                f"too long ({len(out)} characters, at most {max_length})",
            )
        return out

    # A str cell is its stripped text when short enough: the row parser does that without the call.
    return fast_path(parse, FAST_TEXT, max_length)


def _number_text(value: Any, suffixes: tuple[str, ...]) -> str:
    """`1,024`, ` 16 GB `, `8核` -> the bare number."""
    out = "".join(unicodedata.normalize("NFKC", str(value)).split()).replace(",", "")
    for suffix in sorted(suffixes, key=len, reverse=True):
        if out.casefold().endswith(suffix.casefold()):
            return out[: -len(suffix)].strip()
    return out


def _to_float(value: Any, suffixes: tuple[str, ...]) -> float | None:
    try:
        return float(value)  # the common case, fast: a plain number
    except ValueError:
        pass
    try:
        return float(_number_text(value, suffixes))
    except ValueError:
        return None


def _not_negative(number: float, minimum: float | None) -> None:
    if minimum is not None and number < minimum:
        if minimum == 0:
            raise CellError("不能为负数", "must not be negative")
        raise CellError(f"不能小于 {minimum:g}", f"must be at least {minimum:g}")


def integer(minimum: int | None = 0, suffixes: tuple[str, ...] = ()) -> CellParser:
    """A whole number; `suffixes` are units people write after it (e.g. 核)."""

    def parse(value: Any, _ctx: ParseContext) -> int:
        if isinstance(value, bool):
            raise CellError("应为整数", "not a whole number")
        if isinstance(value, int):
            number: float = value
        elif isinstance(value, float):
            number = value
        else:
            parsed = _to_float(value, suffixes)
            if parsed is None:
                raise CellError("应为整数", "not a whole number")
            number = parsed
        if not math.isfinite(number):
            raise CellError("应为整数", "not a whole number")
        _not_negative(number, minimum)
        if not float(number).is_integer():
            raise CellError("应为整数（不能有小数）", "must be a whole number (no decimals)")
        return int(number)

    return parse


def number(minimum: float | None = 0, suffixes: tuple[str, ...] = ()) -> CellParser:
    """A decimal number; `suffixes` are units people write after it (e.g. GB, G)."""

    def parse(value: Any, _ctx: ParseContext) -> float:
        if isinstance(value, bool):
            raise CellError("应为数字", "not a number")
        if isinstance(value, (int, float)):  # noqa: UP038 - the tuple is faster, and this runs per cell
            out = float(value)
        else:
            parsed = _to_float(value, suffixes)
            if parsed is None:
                raise CellError("应为数字", "not a number")
            out = parsed
        if not math.isfinite(out):
            raise CellError("应为数字", "not a number")
        _not_negative(out, minimum)
        return out

    return parse


_TRUE = {"是", "需要", "要", "需", "有", "必须", "yes", "y", "true", "t", "1", "√", "✓", "✔", "☑", "on"}
# 无 (none) is read as an empty cell before it reaches here (formats/spec.NO_VALUE): a required yes/no column
# refuses it as empty rather than guess whether 无 says "no backup" or "not filled in".
_FALSE = {
    "否",
    "不需要",
    "不要",
    "不需",
    "没有",
    "不",
    "no",
    "n",
    "false",
    "f",
    "0",
    "×",
    "✗",
    "✘",
    "☐",
    "off",
}


def boolean() -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> bool:
        if isinstance(value, bool):
            return value
        key = unicodedata.normalize("NFKC", _as_text(value)).casefold()  # Ｙ, ｙｅｓ
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise CellError(
            "应为 是 或 否（也可写 有/没有、√/×、yes/no、true/false、1/0、Y/N）",
            "must be yes or no (是/否, 有/没有, √/×, true/false, 1/0, Y/N)",
        )

    return parse


_ISO_DATE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})\s*$")

# --- dates and times as exports write them ----------------------------------------------------------------
# The fast paths (ISO text, strptime of the common Excel styles, datetime cells) come first; what they miss is
# folded here: full-width digits and colons (NFKC), 年月日/时分秒/点, 上午/下午 and AM/PM, dots for dashes,
# 20261103, fractions of a second, an offset, Excel serial numbers, and a day/month/year order only when the
# numbers settle it (03/11/2026 is refused: 3 November or March 11th?).

_MERIDIEM = re.compile(r"(上午|早上|早晨|凌晨|中午|下午|晚上|傍晚|夜间|[ap]\.?m\.?)", re.IGNORECASE)
_MERIDIEM_PM = {"下午", "晚上", "傍晚", "夜间", "pm", "p.m.", "p.m", "pm."}
_TIME_PART = (
    r"(?:[ T]*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2}|(?:UTC|GMT)[+-]\d{1,2}(?::?\d{2})?)?"
)
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME_PART + "$", re.IGNORECASE)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[ T]?(\d{2}):?(\d{2})(?::?(\d{2}))?)?$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})" + _TIME_PART + "$", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,]\d+)?)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug, serials after 60 fit)
_SERIAL_TEXT = re.compile(r"^\d{5}(?:\.\d+)?$")


class Ambiguous(ValueError):
    """A value that reads two ways: refused, never guessed."""


def _fold(text: str) -> tuple[str, str]:
    """Width-folded text with Chinese date/time markers turned into separators, and the AM/PM marker found."""
    out = " ".join(unicodedata.normalize("NFKC", text).split())
    meridiem = ""
    m = _MERIDIEM.search(out)
    if m:
        meridiem = m.group(1).casefold()
        out = (out[: m.start()] + " " + out[m.end() :]).strip()
    if any(ch in out for ch in "年月日号时点分秒"):
        out = re.sub(r"\s*年\s*", "-", out)
        out = re.sub(r"\s*月\s*", "-", out)
        out = re.sub(r"\s*[日号]\s*", " ", out)
        out = re.sub(r"(\d)\s*[时点]\s*$", r"\1:00", out)
        out = re.sub(r"\s*[时点]\s*", ":", out)
        out = re.sub(r"\s*分\s*", ":", out)
        out = re.sub(r"\s*秒\s*", "", out)
        out = " ".join(out.rstrip(":-").split())
    return out, meridiem


def _hour(hour: int, meridiem: str, written: str) -> int:
    if not meridiem:
        return hour
    if meridiem == "中午":
        return hour + 12 if hour < 11 else hour
    if meridiem in _MERIDIEM_PM:
        if hour > 12:
            return hour  # 下午17:30: the clock already says it
        return 12 if hour == 12 else hour + 12
    if hour > 12:
        raise ValueError(f"{written!r}: {meridiem} and hour {hour} contradict each other")
    return 0 if hour == 12 else hour


def _zone_of(text: str | None) -> timezone | None:
    if not text:
        return None
    folded = text.upper()
    if folded in ("Z", "UTC", "GMT"):
        return UTC
    m = re.match(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$", folded)
    if not m:
        raise ValueError(f"unknown offset {text!r}")
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    return timezone(-delta if m.group(1) == "-" else delta)


def _excel_serial(number: float) -> datetime | None:
    """An Excel date serial (a date cell read without its format, or saved as text): 46329.34 -> 2026-11-03 08:09."""
    if not 20000 <= number < 80000:  # 1954-10-03 .. 2119-01-10: the range of plausible evidence
        return None
    return _EXCEL_EPOCH + timedelta(seconds=round(number * 86400))


def read_datetime(value: Any) -> tuple[datetime, bool]:
    """A time cell in any common export form -> (naive or aware datetime, whether a time of day was written).

    Raises Ambiguous for a day/month order the numbers do not settle, ValueError for anything else.
    """
    if isinstance(value, datetime):
        return value, True
    if isinstance(value, date):
        return datetime.combine(value, time()), False
    if isinstance(value, bool):
        raise ValueError("a yes/no cell is not a time")
    if isinstance(value, int | float):
        if isinstance(value, int) or value.is_integer():
            whole = int(value)
            if 19000101 <= whole <= 21001231:  # 20261103 typed into a number cell
                return datetime.strptime(str(whole), "%Y%m%d"), False
        serial = _excel_serial(float(value))
        if serial is None:
            raise ValueError(f"the number {value!r} is no date")
        return serial, not float(value).is_integer()
    text, meridiem = _fold(str(value))
    if _SERIAL_TEXT.match(text):
        serial = _excel_serial(float(text))
        if serial is not None and not meridiem:
            return serial, "." in text
    m = _YMD.match(text)
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        clock = m.groups()[3:]
    elif m := _COMPACT.match(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        clock = (*m.groups()[3:], None, None)
    elif m := _DMY.match(text):
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if first > 12 and second <= 12:
            day, month = first, second
        elif second > 12 and first <= 12:
            month, day = first, second
        elif first == second:
            day = month = first
        else:
            raise Ambiguous(str(value).strip())
        clock = m.groups()[3:]
    else:
        raise ValueError(f"{value!r} is not a time")
    hour_text, minute, second, fraction, zone = clock
    if hour_text is None:
        if meridiem:
            raise ValueError(f"{value!r}: {meridiem} without a time of day")
        return datetime(year, month, day), False
    hour = _hour(int(hour_text), meridiem, str(value))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    out = datetime(year, month, day, hour, int(minute), int(second or 0), micro, tzinfo=_zone_of(zone))
    return out, True


def read_time_of_day(value: Any) -> time | None:
    """`8:05`, `08:05:00`, `8点05分`, `１７：３０`, `上午8:05`, `下午5:30`, `8:05 PM`, an Excel time cell (or its
    day fraction) -> a time of day; None when the cell is not one (it may be a full date and time)."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, float) and 0 <= value < 1:  # an Excel time cell read without its format
        seconds = round(value * 86400)
        return time(seconds // 3600 % 24, seconds // 60 % 60, seconds % 60)
    if not isinstance(value, str):
        return None
    text, meridiem = _fold(value)
    m = _CLOCK.match(text)
    if m is None:
        return None
    hour = _hour(int(m.group(1)), meridiem, value)
    minute, second = int(m.group(2)), int(m.group(3) or 0)
    if hour == 24 and minute == 0 and second == 0:
        return None  # 24:00 is the next day's 00:00: a date is needed to say which
    return time(hour, minute, second)


def ambiguous_date(written: str) -> CellError:
    return CellError(
        f"「{written}」的日和月无法区分（可能是 日/月/年，也可能是 月/日/年）：请写成 2026-11-03 这样的年-月-日",
        f"{written!r} is ambiguous (day/month/year or month/day/year?): write the date as year-month-day, "
        "e.g. 2026-11-03",
    )


def read_date(value: Any) -> date:
    """A date cell in any common export form; a date with a time of day is its date as written (site time)."""
    m = _ISO_DATE.match(value) if isinstance(value, str) else None
    if m:  # the common case, fast (strptime costs ~50 µs a call)
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return read_datetime(value)[0].date()
    except Ambiguous:
        raise
    except ValueError:
        return parse_date(value)  # whatever else the older reader took


def date_value() -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> date:
        try:
            return read_date(value)
        except Ambiguous:
            raise ambiguous_date(shown_text(value)) from None
        except (ValueError, OverflowError):
            raise CellError(
                "不是日期（应为 2026-11-02、2026/11/2、2026年11月2日 或 20261102 这样的写法）",
                "not a date (write e.g. 2026-11-02, 2026/11/2, 2026年11月2日 or 20261102)",
            ) from None

    return parse


def shown_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else str(value)


def datetime_value() -> CellParser:
    """A time; without a zone it is the site's local time. A date alone is its midnight."""

    def parse(value: Any, ctx: ParseContext) -> datetime:
        if value.__class__ is str:
            try:  # ISO 8601 (2026-11-02 08:30:00, with T, an offset or a fraction): the fast path
                return as_utc(datetime.fromisoformat(value.strip()), ctx.zone)
            except ValueError:
                pass
        elif isinstance(value, datetime | date):
            return parse_datetime(value, ctx.zone)
        try:
            return as_utc(read_datetime(value)[0], ctx.zone)
        except Ambiguous:
            raise ambiguous_date(shown_text(value)) from None
        except (ValueError, OverflowError):
            pass
        try:
            return parse_datetime(value, ctx.zone)  # whatever else the older reader took
        except ValueError:
            raise CellError(
                "不是时间（应为 2026-11-02 08:30:00、2026/11/2 8:30 或 2026年11月2日 8时30分 这样的写法）",
                "not a time (write e.g. 2026-11-02 08:30:00, 2026/11/2 8:30 or 2026-11-02T08:30:00+08:00)",
            ) from None

    return parse


def moment() -> CellParser:
    """A time as datetime_value, or a time of day alone (`08:05`, an Excel time cell) as a `time`: for exports
    that split the date and the time into two columns; the kind's build puts them together."""
    full = datetime_value()

    def parse(value: Any, ctx: ParseContext) -> datetime | time:
        if value.__class__ is str:
            try:  # the fast path, as datetime_value's
                return as_utc(datetime.fromisoformat(value.strip()), ctx.zone)
            except ValueError:
                pass
        if not isinstance(value, datetime):
            try:
                of_day = read_time_of_day(value)
            except ValueError:
                of_day = None
            if of_day is not None:
                return of_day
        return full(value, ctx)  # type: ignore[no-any-return]

    return parse


# --- durations and sizes ------------------------------------------------------------------------------------

_DURATION_SECONDS = {
    "天": 86400, "d": 86400, "day": 86400, "days": 86400,
    "小时": 3600, "个小时": 3600, "钟头": 3600, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "分钟": 60, "分": 60, "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "秒钟": 1, "秒": 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
}  # fmt: skip
# Longest unit first, so 45min is 45 minutes, not 45 m and a stray "in".
_DURATION_PARTS = re.compile(
    r"(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(map(re.escape, _DURATION_SECONDS), key=len, reverse=True)) + ")",
    re.IGNORECASE,
)

_HMS = re.compile(r"^(\d+):(\d{1,2})(?::(\d{1,2}))?$")


def read_minutes(value: Any) -> float:
    """A duration in minutes: 90 (a bare number is minutes), 90分钟, 1小时30分, 1.5h, 1h30m, 01:30:00 and 1:30
    (hours:minutes, as a stopwatch column or Excel's [h]:mm writes it), an Excel time cell (its day fraction)."""
    if isinstance(value, bool):
        raise ValueError("a yes/no cell is not a duration")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, time):
        return value.hour * 60 + value.minute + value.second / 60
    text = "".join(unicodedata.normalize("NFKC", str(value)).split()).replace(",", "")
    try:
        return float(text)
    except ValueError:
        pass
    m = _HMS.match(text)
    if m:
        return int(m.group(1)) * 60 + int(m.group(2)) + int(m.group(3) or 0) / 60
    total, at = 0.0, 0
    for part in _DURATION_PARTS.finditer(text):
        if part.start() != at:
            break
        total += float(part.group(1)) * _DURATION_SECONDS[part.group(2).casefold()] / 60
        at = part.end()
    if at == 0 or at != len(text):
        raise ValueError(f"{value!r} is not a duration")
    return total


def minutes(minimum: float = 0) -> CellParser:
    """A duration stored as minutes (see read_minutes)."""

    def parse(value: Any, _ctx: ParseContext) -> float:
        try:
            out = read_minutes(value)
        except ValueError:
            raise CellError(
                "不是时长（应为 90、90分钟、1小时30分、1.5h 或 01:30:00 这样的写法）",
                "not a duration (write e.g. 90, 90分钟, 1小时30分, 1.5h or 01:30:00)",
            ) from None
        if not math.isfinite(out):
            raise CellError("不是时长", "not a duration")
        _not_negative(out, minimum)
        return out

    return parse


_SIZE = re.compile(r"^((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)([a-z]*)$")  # 1,024.5GB: groups of three
_GB_FACTOR = {
    "": 1.0, "g": 1.0, "gb": 1.0, "gib": 1.0,
    "t": 1024.0, "tb": 1024.0, "tib": 1024.0,
    "p": 1024.0**2, "pb": 1024.0**2, "pib": 1024.0**2,
    "m": 1 / 1024, "mb": 1 / 1024, "mib": 1 / 1024,
}  # fmt: skip


def gigabytes(minimum: float = 0) -> CellParser:
    """A size stored in GB, for a column whose unit is GB: 16, 1,024, 16GB, 16 G, 2T/2TB (× 1024), 512MB (÷ 1024),
    full-width digits. Binary units throughout (1 TB = 1024 GB), as consoles and `df -h` count."""

    def parse(value: Any, _ctx: ParseContext) -> float:
        if isinstance(value, bool):
            raise CellError("应为数字", "not a number")
        if isinstance(value, int | float):
            out = float(value)
        else:
            try:
                out = float(value)  # the common case, fast: a plain number
            except ValueError:
                text = "".join(unicodedata.normalize("NFKC", str(value)).split()).casefold()
                m = _SIZE.match(text)
                if m is None or m.group(2) not in _GB_FACTOR:
                    raise CellError(
                        "应为以 GB 计的数字（如 500、1,024、16GB、2TB、512MB）",
                        "not a size in GB (write e.g. 500, 1,024, 16GB, 2TB or 512MB)",
                    ) from None
                out = float(m.group(1).replace(",", "")) * _GB_FACTOR[m.group(2)]
        if not math.isfinite(out):
            raise CellError("应为数字", "not a number")
        _not_negative(out, minimum)
        return out

    return parse


def choice(values: Mapping[str, str]) -> CellParser:
    """One of a fixed set; `values` maps every accepted spelling to the stored value."""
    table = {normalize_header(k): v for k, v in values.items()}
    exact = {**table, **values}
    canonical = sorted(set(values.values()))
    spellings_zh = "、".join(values)

    def parse(value: Any, _ctx: ParseContext) -> str:
        out = exact.get(value) if isinstance(value, str) else None
        if out is None:
            out = table.get(normalize_header(_as_text(value)))
        if out is None:
            raise CellError(
                f"未知取值，可用：{spellings_zh}", f"unknown value; use one of: {', '.join(canonical)}"
            )
        return out

    # A str cell spelled exactly as listed is looked up by the row parser without the call.
    return fast_path(parse, FAST_CHOICE, exact)


def text_list(separators: str, max_item: int = 128) -> CellParser:
    """Several values in one cell, split at any of `separators` (a regex character class body)."""
    splitter = re.compile(f"[{separators}]+")

    def parse(value: Any, _ctx: ParseContext) -> list[str]:
        items = [item.strip() for item in splitter.split(_as_text(value)) if item.strip()]
        for item in items:
            if len(item) > max_item:
                raise CellError(
                    f"「{item[:20]}…」过长（最多 {max_item} 个字符）",
                    f"item {item[:20]!r}… is too long (at most {max_item})",
                )
        return items

    return parse


# --- exact numbers: money and decimals, never through float arithmetic ------------------------------------

CENT = Decimal("0.01")
_WAN = Decimal(10000)
_TOO_LARGE = Decimal(10) ** 15  # a quadrillion yuan: a typo (a pasted account number), not an amount
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,234,567.89: every group of three
_PLAIN = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")
_CURRENCY_PREFIXES = ("人民币", "rmb", "cny", "¥")  # NFKC folds the full-width ￥ into ¥
_CURRENCY_SUFFIXES = ("人民币", "rmb", "cny", "元")
_WAN_SUFFIXES = ("万元", "万")
_MINUS = ("-", "\u2212")  # NFKC folds the full-width － into -, but not the minus sign U+2212


def _strip_prefix(text: str, prefixes: tuple[str, ...]) -> tuple[str, bool]:
    folded = text.casefold()
    for prefix in prefixes:
        if folded.startswith(prefix):
            return text[len(prefix) :], True
    return text, False


def _strip_suffix(text: str, suffixes: tuple[str, ...]) -> tuple[str, str]:
    folded = text.casefold()
    for suffix in sorted(suffixes, key=len, reverse=True):
        if suffix and folded.endswith(suffix.casefold()):
            return text[: -len(suffix)], suffix
    return text, ""


def _float_decimal(value: float) -> Decimal | None:
    """An Excel number cell as the Decimal the person sees: 15 significant digits, as Excel shows it.

    Not Decimal(value), which is the binary float exactly (0.1 -> 0.1000000000000000055...), and not repr,
    which keeps a formula's noise (=A2*B2 stored as 1234.5600000000001 shows as 1234.56 in Excel).
    """
    if not math.isfinite(value):
        return None
    return Decimal(format(value, ".15g"))


def _read_decimal(value: Any, suffixes: tuple[str, ...]) -> tuple[Decimal, str] | None:
    """A cell -> (the number with its sign, the unit suffix written after it), or None when it is no number.

    Text is width-folded (１２３，４５６ is 123,456) and may carry a sign, parentheses for a negative (the
    accountants' (3,000)), a currency (¥, 人民币, RMB, CNY, 元) and one of `suffixes`.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return (value, "") if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value), ""
    if isinstance(value, float):
        number = _float_decimal(value)
        return None if number is None else (number, "")
    if not isinstance(value, str):
        return None  # a date or time cell
    text = "".join(unicodedata.normalize("NFKC", value).split())
    negative = False
    unit = ""
    # A few rounds, since people combine them in any order: ¥-1,234, -¥1,234, (¥3,000), ¥(3,000), (3,000)元.
    for _ in range(4):
        before = text
        if not negative and len(text) > 2 and text[0] == "(" and text[-1] == ")":
            negative, text = True, text[1:-1]
        if not negative and text[:1] in _MINUS:
            negative, text = True, text[1:]
        elif text[:1] == "+":
            text = text[1:]
        text, _ = _strip_prefix(text, _CURRENCY_PREFIXES)
        if not unit:
            text, unit = _strip_suffix(text, suffixes)
        text, _ = _strip_suffix(text, _CURRENCY_SUFFIXES)
        if text == before:
            break
    if not (_PLAIN.match(text) or _GROUPED.match(text)):
        return None
    number = Decimal(text.replace(",", ""))
    return (-number if negative else number), unit


def _places_exceeded(number: Decimal, places: int) -> bool:
    try:
        return number != number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        return True


def money(allow_negative: bool = False) -> CellParser:
    """CNY -> a Decimal with exactly two places (to the fen), never through float.

    Reads 1,234.56 / 1234.5 / ¥1,234.56 / 1234.56元 / 12.5万元 and 12.5万 (× 10,000; a 万 figure is rounded
    half up to the fen, as the center's 万元 documents round) / -3,000, (3,000) and （3,000） as negatives when
    `allow_negative` / Excel number cells / full-width digits and commas. Refuses text, a yuan figure with
    more than two decimals (12.345: which fen was meant?), NaN and infinity, and negatives unless allowed.
    """

    def parse(value: Any, _ctx: ParseContext) -> Decimal:
        read = _read_decimal(value, _WAN_SUFFIXES)
        if read is None:
            raise CellError(
                "不是金额（应为 1,234.56、¥1,234.56、1234.56元 或 12.5万元 这样的写法）",
                "not an amount of money (write e.g. 1,234.56, ¥1,234.56, 1234.56元 or 12.5万元)",
            )
        amount, unit = read
        if abs(amount) >= _TOO_LARGE:
            raise CellError("金额过大，请检查", "the amount is implausibly large: check the cell")
        if unit:
            amount = (amount * _WAN).quantize(CENT, ROUND_HALF_UP)
        elif _places_exceeded(amount, 2):
            raise CellError("金额最多两位小数（精确到分）", "an amount has at most 2 decimals (to the fen)")
        if amount < 0 and not allow_negative:
            raise CellError("金额不能为负数", "the amount must not be negative")
        # quantize is exact here (at most two places); abs() turns -0.00 into 0.00
        amount = amount.quantize(CENT, ROUND_HALF_UP)
        return abs(amount) if amount == 0 else amount

    return parse


def decimal_value(
    minimum: Decimal | int | None = 0, places: int = 4, suffixes: tuple[str, ...] = ()
) -> CellParser:
    """An exact decimal (a quantity, a unit price) read like money() but without 万 scaling.

    At most `places` decimals (trailing zeros beyond them are dropped); `suffixes` are units people write
    after the number (核, GB, 元/核·月). A currency sign (¥, 元) is accepted as for money.
    """
    lowest = None if minimum is None else Decimal(minimum)

    def parse(value: Any, _ctx: ParseContext) -> Decimal:
        read = _read_decimal(value, suffixes)
        if read is None:
            raise CellError("应为数字（如 1,234.5）", "not a number (write e.g. 1,234.5)")
        number, _unit = read
        if abs(number) >= _TOO_LARGE:
            raise CellError("数值过大，请检查", "the number is implausibly large: check the cell")
        if _places_exceeded(number, places):
            raise CellError(f"最多 {places} 位小数", f"at most {places} decimals")
        if lowest is not None and number < lowest:
            if lowest == 0:
                raise CellError("不能为负数", "must not be negative")
            raise CellError(f"不能小于 {lowest}", f"must be at least {lowest}")
        if number.as_tuple().exponent < -places:  # type: ignore[operator]
            number = number.quantize(Decimal(1).scaleb(-places))
        return abs(number) if number == 0 else number

    return parse


# --- the period a file's name states ---------------------------------------------------------------------

_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}
# Most precise first: a span one pattern takes is blanked before the next looks, so 2026-11-15 is a day, not
# also the month 2026-11. Years are 2000-2099 and never part of a longer number (a serial, a phone number).
_NAME_PERIODS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("day", re.compile(r"(?<!\d)(20\d{2})\s*[-_./年]\s*(\d{1,2})\s*[-_./月]\s*(\d{1,2})(?!\d)")),
    ("day", re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?=(?:[T_\- ]?\d{4,6})?(?!\d))")),
    ("month", re.compile(r"(?<!\d)(20\d{2})\s*(?:[-_./]|年)\s*(\d{1,2})(?:\s*月)?(?![-_./]?\d)")),
    ("month", re.compile(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(?!\d)")),
    ("quarter", re.compile(r"(?<!\d)(20\d{2})\s*[-_.]?\s*q([1-4])(?!\d)", re.IGNORECASE)),
    ("quarter", re.compile(r"(?<!\d)(20\d{2})\s*年?\s*度?\s*第?\s*([1-4一二三四])\s*季")),
    ("half", re.compile(r"(?<!\d)(20\d{2})\s*[-_.]?\s*h([12])(?!\d)", re.IGNORECASE)),
    ("half", re.compile(r"(?<!\d)(20\d{2})\s*年?\s*度?\s*(上|下)\s*半年")),
    ("year", re.compile(r"(?<!\d)(20\d{2})\s*年\s*度?")),
)


def _period_start(what: str, year: int, part: str, day: str) -> date:
    if what == "day":
        return date(year, int(part), int(day))
    if what == "month":
        return date(year, int(part), 1)
    if what == "quarter":
        quarter = _CN_DIGIT.get(part) or int(part)
        return date(year, 3 * quarter - 2, 1)
    if what == "half":
        return date(year, 1 if part in ("1", "上") else 7, 1)
    return date(year, 1, 1)


def stated_start(name: str) -> date | None:
    """The first day of the earliest period a file name states: a day (2026-11-15, 20261115, 2026年11月15日),
    a month (2026-11, 202611, 2026年11月), a quarter (2026-Q3, 2026年第三季度), a half (2026H2, 2026年下半年) or
    a year (2026年度); None when it states none. A range (2026-11-01_2026-11-30) starts at its first day."""
    text = unicodedata.normalize("NFKC", name.rsplit(".", 1)[0] if "." in name else name)
    found: list[date] = []
    for what, pattern in _NAME_PERIODS:
        for m in pattern.finditer(text):
            groups = [*m.groups(), "", ""]
            try:
                found.append(_period_start(what, int(groups[0]), groups[1], groups[2]))
            except ValueError:
                continue  # 2026-13 or 20261345: not a period at all
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return min(found) if found else None
