"""Rendering rows for the terminal: an aligned table (CJK counts double width), JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

FORMATS = ("table", "json", "csv")


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


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], max_width: int = 60) -> str:
    if not rows:
        return "(none)"
    cells = [[_clip(_cell(r.get(c)).replace("\n", " "), max_width) for c in columns] for r in rows]
    widths = [
        max([display_width(c)] + [display_width(row[i]) for row in cells]) for i, c in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v + " " * (w - display_width(v)) for v, w in zip(values, widths, strict=True)
        ).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


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


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """Rows as a table, JSON, or CSV for Excel (UTF-8 with a BOM, so Chinese opens right; formula-safe)."""
    if fmt == "json":
        return json.dumps(
            [{c: r.get(c) for c in columns} for r in rows], ensure_ascii=False, indent=2, default=_cell
        )
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        buf.write("\ufeff")
        writer.writerow([excel_safe(str(c)) for c in columns])
        for r in rows:
            writer.writerow([excel_safe(_cell(r.get(c))) for c in columns])
        return buf.getvalue().rstrip("\n")
    return render_table(rows, columns)
