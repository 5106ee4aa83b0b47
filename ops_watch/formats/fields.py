"""Cell parsers shared by the kinds. Each takes (cell, ParseContext) and returns the value or raises CellError.

Cells come as text from CSV and as text, numbers, booleans or datetimes from XLSX; every parser takes both.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ops_watch.core.timeutil import parse_date, parse_datetime
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
    out = str(value).strip().replace(",", "").replace("，", "").replace(" ", "")
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


_TRUE = {"是", "需要", "要", "yes", "y", "true", "t", "1", "√", "✓"}
_FALSE = {"否", "不需要", "不要", "no", "n", "false", "f", "0", "×", "✗"}


def boolean() -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> bool:
        if isinstance(value, bool):
            return value
        key = _as_text(value).casefold()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise CellError(
            "应为 是 或 否（也可写 yes/no、true/false、1/0、Y/N）",
            "must be yes or no (是/否, true/false, 1/0, Y/N)",
        )

    return parse


_ISO_DATE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})\s*$")
# A date written with a time of day (a "创建时间" column exported into a date field): its date, as written.
_WITH_TIME = re.compile(r"^\s*(\S+?)(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*$")


def date_value() -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> date:
        try:
            m = _ISO_DATE.match(value) if isinstance(value, str) else None
            if m:  # the common case, fast (strptime costs ~50 µs a call)
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            try:
                return parse_date(value)
            except ValueError:
                timed = _WITH_TIME.match(value) if isinstance(value, str) else None
                if timed is None:
                    raise
                return parse_date(timed.group(1))
        except ValueError:
            raise CellError(
                "不是日期（应为 2026-11-02 或 2026/11/02 这样的写法）", "not a date (write e.g. 2026-11-02)"
            ) from None

    return parse


def datetime_value() -> CellParser:
    """A time; without a zone it is the site's local time."""

    def parse(value: Any, ctx: ParseContext) -> datetime:
        try:
            return parse_datetime(value, ctx.zone)
        except ValueError:
            raise CellError(
                "不是时间（应为 2026-11-02 08:30:00 这样的写法）",
                "not a time (write e.g. 2026-11-02 08:30:00)",
            ) from None

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
