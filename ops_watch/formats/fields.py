"""Cell parsers shared by the kinds. Each takes (cell, ParseContext) and returns the value or raises CellError.

Cells come as text from CSV and as text, numbers, booleans or datetimes from XLSX; every parser takes both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from ops_watch.formats.spec import (
    FAST_CHOICE,
    FAST_TEXT,
    CellError,
    CellParser,
    ParseContext,
    fast_path,
    normalize_header,
)
from ops_watch.timeutil import parse_date, parse_datetime


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


def date_value() -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> date:
        try:
            m = _ISO_DATE.match(value) if isinstance(value, str) else None
            if m:  # the common case, fast (strptime costs ~50 µs a call)
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return parse_date(value)
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
