"""Rendering rows for the terminal: an aligned table (CJK counts double width) in the user's language and
fitted to the terminal, JSON, CSV for Excel/WPS, or an XLSX workbook.

What the user chose for this command (--lang, --wide, --header, the terminal's width) is the `Style`; the CLI
sets it once per command (`use_style`), so every `render` call of the command follows it. JSON keeps the
stable English field names and raw values (machines read it); CSV does too, unless `--header zh` asks for
Chinese column titles for people opening it in Excel."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from ops_watch.core.labels import header_label, value_label

FORMATS = ("table", "json", "csv", "xlsx")
MIN_FOLDED = 12  # a text column is clipped to no fewer display columns than this before columns are dropped


@dataclass(frozen=True)
class Style:
    lang: str = "zh"  # the table's column titles and status words (the config's default site language)
    header: str = "en"  # the CSV/XLSX header row: "en" (stable field names) or "zh"
    width: int | None = None  # fit the table to this many columns (a terminal); None: as wide as it is
    lang_given: bool = False  # --lang was given: the site's language does not override it


_STYLE: ContextVar[Style | None] = ContextVar("ops_watch_output_style", default=None)


def current_style() -> Style:
    return _STYLE.get() or Style()


def begin_command() -> Any:
    """A fresh style for one command; returns what puts the previous one back (tests run many in a process)."""
    token = _STYLE.set(Style())
    return lambda: _STYLE.reset(token)


def use_style(**changes: Any) -> Style:
    """Change this command's style (the CLI's output options, then the site's language)."""
    style = replace(current_style(), **changes)
    _STYLE.set(style)
    return style


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _clip(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


def _shown(value: Any, column: str, lang: str) -> str:
    """A table cell: booleans and status words in the user's language, the rest as stored."""
    if isinstance(value, bool) or (isinstance(value, str) and value):
        return value_label(column, value, lang)
    return _cell(value)


GAP = 2  # spaces between columns


def _fit(widths: list[int], limit: int) -> tuple[list[int], list[int]]:
    """Which columns to keep and how wide, so a line fits `limit`. The first column (what the row is: an id, a
    name) stays whole. The widest of the others gives up a column at a time, so long texts shrink evenly (to
    MIN_FOLDED at least); then the last columns are left out. Returns (kept indexes, their widths)."""
    keep = list(range(len(widths)))
    widths = list(widths)

    def total() -> int:
        return sum(widths[i] for i in keep) + GAP * (len(keep) - 1)

    while total() > limit and len(keep) > 1:
        widest = max(keep[1:], key=lambda i: widths[i])
        if widths[widest] > MIN_FOLDED:
            widths[widest] -= 1
        else:
            keep.pop()
    return keep, [widths[i] for i in keep]


def _title(column: str, lang: str, titles: dict[str, str] | None) -> str:
    if lang == "zh" and titles and column in titles:
        return titles[column]
    return header_label(column, lang)


def render_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    max_width: int = 60,
    style: Style | None = None,
    titles: dict[str, str] | None = None,
    codes: Sequence[str] = (),
) -> str:
    """`titles`: Chinese titles of this table's own (a column whose usual title means something else here).
    `codes`: columns whose values are codes the user types next (`--area records`): shown as stored."""
    style = style or current_style()
    if not rows:
        return "（无）" if style.lang == "zh" else "(none)"
    titles_shown = [_title(c, style.lang, titles) for c in columns]
    langs = ["en" if c in codes else style.lang for c in columns]
    cells = [
        [
            _clip(_shown(r.get(c), c, lang).replace("\n", " "), max_width)
            for c, lang in zip(columns, langs, strict=True)
        ]
        for r in rows
    ]
    widths = [
        max([display_width(t)] + [display_width(row[i]) for row in cells]) for i, t in enumerate(titles_shown)
    ]
    keep = list(range(len(columns)))
    dropped: list[str] = []
    if style.width is not None:
        keep, kept_widths = _fit(widths, style.width)
        dropped = [titles_shown[i] for i in range(len(columns)) if i not in keep]
        for i, w in zip(keep, kept_widths, strict=True):
            widths[i] = w
        cells = [
            [_clip(row[i], widths[i]) if i in keep else "" for i in range(len(columns))] for row in cells
        ]
        titles_shown = [_clip(t, widths[i]) for i, t in enumerate(titles_shown)]

    def line(values: Sequence[str]) -> str:
        return (
            (" " * GAP).join(values[i] + " " * (widths[i] - display_width(values[i])) for i in keep).rstrip()
        )

    out = [line(titles_shown), line(["-" * w for w in widths])] + [line(r) for r in cells]
    if dropped:
        sep = "、" if style.lang == "zh" else ", "
        out.append(
            f"（未显示 {len(dropped)} 列：{sep.join(dropped)}；加 --wide 显示全部）"
            if style.lang == "zh"
            else f"({len(dropped)} column(s) not shown: {sep.join(dropped)}; --wide shows all)"
        )
    return "\n".join(out)


# OWASP's CSV-injection rule: a cell starting with = + - @, a tab, CR or LF (or their full-width forms, which
# Excel and WPS take as the same signs) may be run as a formula; an apostrophe in front keeps it text.
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def excel_safe(text: str) -> str:
    """Keep a cell from being run as a formula when the file is opened in Excel or WPS (text from evidence
    written by others may start with = + - @ or a control character). A plain number (-3, -0.5) stays a
    number; "-1+1" or "-2+3+cmd|..." does not pass as one."""
    if text[:1] in _FORMULA_START and not (text[:1] == "-" and _PLAIN_NUMBER.fullmatch(text)):
        return "'" + text
    return text


def render_xlsx(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    style: Style | None = None,
    titles: dict[str, str] | None = None,
) -> bytes:
    """One sheet: the header row (English field names, or Chinese with --header zh), then the rows; numbers
    stay numbers, text is formula-safe as in CSV, the header is frozen and the columns sized to their text."""
    from openpyxl import Workbook  # start-up: only a command asked for --format xlsx pays for openpyxl

    style = style or current_style()
    wb = Workbook()
    ws = wb.active
    header = [_title(c, style.header, titles) for c in columns]
    ws.append(header)
    widths = [display_width(t) for t in header]
    for r in rows:
        values: list[Any] = []
        for i, c in enumerate(columns):
            v = r.get(c)
            if isinstance(v, bool) or v is None:
                cell: Any = "" if v is None else v
            elif isinstance(v, int | float):
                cell = v
            else:
                cell = excel_safe(_cell(v))
            values.append(cell)
            widths[i] = max(widths[i], min(display_width(_cell(cell)), 60))
        ws.append(values)
    ws.freeze_panes = "A2"
    for i, w in enumerate(widths):
        ws.column_dimensions[_column_letter(i)].width = w + 2
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    style: Style | None = None,
    titles: dict[str, str] | None = None,
    codes: Sequence[str] = (),
) -> str:
    """Rows as a table, JSON, or CSV for Excel (UTF-8 with a BOM, so Chinese opens right; formula-safe).
    XLSX is bytes: `render_xlsx`."""
    style = style or current_style()
    if fmt == "json":
        return json.dumps(
            [{c: r.get(c) for c in columns} for r in rows], ensure_ascii=False, indent=2, default=_cell
        )
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        buf.write("\ufeff")
        writer.writerow([excel_safe(_title(str(c), style.header, titles)) for c in columns])
        for r in rows:
            writer.writerow([excel_safe(_cell(r.get(c))) for c in columns])
        return buf.getvalue().rstrip("\n")
    if fmt == "xlsx":
        raise ValueError("render: xlsx is binary, use render_xlsx")
    return render_table(rows, columns, style=style, titles=titles, codes=codes)
