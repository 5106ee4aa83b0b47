"""The weekly report's XLSX attachment: one sheet per table, typed cells, that Excel and WPS open cleanly.

Each sheet: the table's title (row 1), the column titles (row 2, and the table's `subtitles` in row 3 when it
has any; frozen, with the first `freeze_columns` columns, and an autofilter over header and data), the rows
typed by `Column.kind`, then the table's note. Text from evidence never becomes a formula,
characters XML forbids are dropped and Excel's limits are kept, so no input makes writing fail or the file
"need repair". The same tables and `fixed_time` give the same bytes, so the archive's sha256 is stable.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Sequence
from copy import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.fonts import DEFAULT_FONT
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from ops_watch.core.output import display_width, excel_safe
from ops_watch.report.model import CellKind, Column, Table

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

MAX_ROWS = 1_048_576  # rows in one sheet (Excel 2007+)
MAX_CELL = 32_767  # characters (UTF-16 units) in one cell
MAX_SHEET_NAME = 31
MAX_WIDTH = 60  # column width, in characters
MIN_WIDTH = 6
EXACT_INT = 10**15  # Excel keeps 15 significant digits: longer integers (ids) are written as text

FORMATS: dict[str, str] = {
    "float": "#,##0.0",
    "pct": "0.0%",
    "money": "#,##0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}

_TEXTS = {
    "zh": {
        "empty_sheet": "无数据",
        "empty": "本周无数据",
        "capped": "仅列出前 {shown:,} 行（共 {total:,} 行）：超出 Excel 单表行数上限",
    },
    "en": {
        "empty_sheet": "No data",
        "empty": "No data this week",
        "capped": "Only the first {shown:,} of {total:,} rows: Excel's limit for one sheet",
    },
}

# XML 1.0 forbids these (openpyxl raises IllegalCharacterError on the control characters; lone surrogates
# fail when the file is encoded). Tab, newline and carriage return are allowed.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _font(**emphasis: bool) -> Font:
    # The default font (Calibri 11, theme minor: CJK from the theme's 宋体) plus emphasis: a bare
    # Font(bold=True) has no name or size, which WPS and LibreOffice fill in differently from Excel.
    font = copy(DEFAULT_FONT)
    for key, on in emphasis.items():
        setattr(font, key, on)
    return font


_BOLD = _font(b=True)
_ITALIC = _font(i=True)
_HEADER_FILL = PatternFill(fill_type="solid", fgColor="DDEBF7")


def write_workbook(
    tables: Sequence[Table], title: str, week_iso: str, language: str, fixed_time: datetime
) -> bytes:
    """The workbook as bytes: one sheet per table, in order (or one sheet saying there is no data).
    `fixed_time` stamps the document properties and the zip entries (aware, or naive UTC)."""
    lang = "en" if language.lower().startswith("en") else "zh"
    texts = _TEXTS[lang]
    wb = Workbook(write_only=True)
    if tables:
        for table, name in zip(tables, sheet_names([t.sheet for t in tables]), strict=True):
            _write_table(wb.create_sheet(name), table, texts)
    else:
        ws = wb.create_sheet(texts["empty_sheet"])
        ws.column_dimensions["A"].width = MAX_WIDTH
        ws.append([_text_cell(ws, title, _BOLD)])
        ws.append([_text_cell(ws, f"{week_iso} {texts['empty']}".strip())])

    stamp = _naive_utc(fixed_time)
    props = wb.properties
    props.title = _clean(title)
    props.subject = _clean(week_iso)
    props.creator = props.lastModifiedBy = "ops-watch"
    props.language = "en" if lang == "en" else "zh-CN"
    props.created = props.modified = stamp

    buf = io.BytesIO()
    # ExcelWriter rather than wb.save(): save() stamps `modified` with the current time.
    ExcelWriter(wb, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    return _stable_zip(buf.getvalue(), stamp)


def sheet_names(wanted: Sequence[str]) -> list[str]:
    """Names Excel accepts, unique ignoring case: forbidden characters become "_", long names are cut to
    31 characters, a clash gets " (2)", " (3)"..., an empty name becomes "Sheet<position>"."""
    taken: set[str] = set()
    names = []
    for position, raw in enumerate(wanted, 1):
        base = _SHEET_FORBIDDEN.sub("_", _XML_ILLEGAL.sub("", raw or ""))
        base = re.sub(r"\s+", " ", base).strip().strip("'").strip()  # no apostrophe first or last
        if base.casefold() == "history":  # reserved by Excel for tracked changes
            base += "_"
        base = _cut(base, MAX_SHEET_NAME).rstrip() or f"Sheet{position}"
        name, n = base, 2
        while name.casefold() in taken:
            suffix = f" ({n})"
            name = _cut(base, MAX_SHEET_NAME - len(suffix)).rstrip() + suffix
            n += 1
        taken.add(name.casefold())
        names.append(name)
    return names


def _write_table(ws: WriteOnlyWorksheet, table: Table, texts: dict[str, str]) -> None:
    columns = table.columns
    headers = 2 if table.subtitles else 1
    room = MAX_ROWS - 2 - headers  # title, header(s) and note rows
    rows = table.rows[:room]
    note = table.note
    if len(table.rows) > room:
        capped = texts["capped"].format(shown=room, total=len(table.rows))
        note = f"{note} {capped}" if note else capped

    # write-only mode: widths, panes and the filter must be set before the first row
    for index, width in enumerate(_widths(columns, rows, table.subtitles), 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    if columns:
        ws.freeze_panes = f"{get_column_letter(table.freeze_columns + 1)}{2 + headers}"
        ws.auto_filter.ref = f"A{1 + headers}:{get_column_letter(len(columns))}{1 + headers + len(rows)}"

    ws.append([_text_cell(ws, table.title, _BOLD)])
    if columns:
        lines = [[c.title or c.key for c in columns]]
        if table.subtitles:
            lines.append([table.subtitles.get(c.key, "") for c in columns])
        for line in lines:
            header = [_text_cell(ws, text, _BOLD) for text in line]
            for cell in header:
                if cell is not None:
                    cell.fill = _HEADER_FILL
            ws.append(header)
    for row in rows:
        ws.append([_data_cell(ws, row.get(c.key), c.kind) for c in columns])
    if note:
        ws.append([_text_cell(ws, note, _ITALIC)])


def _data_cell(ws: WriteOnlyWorksheet, value: Any, kind: CellKind) -> WriteOnlyCell | None:
    if value is None:
        return None
    typed = _typed(value, kind)
    if typed is None:
        return _text_cell(ws, _as_text(value))
    number, number_format = typed
    cell = WriteOnlyCell(ws)
    if number_format:
        cell.number_format = number_format  # first: given a date, openpyxl would register its own format
    cell.value = number
    return cell


def _typed(value: Any, kind: CellKind) -> tuple[Any, str] | None:
    """The value Excel should hold and its number format; None: write it as text (the kind is "text", or
    the value does not fit its kind — a wrong type is shown, never raised)."""
    if kind in ("date", "datetime"):
        if not isinstance(value, date) or value.year < 1900:  # Excel has no dates before 1900
            return None
        if not isinstance(value, datetime):
            return value, FORMATS["date"]
        # Excel has no zones: keep the wall time in the datetime's own zone (the caller's local time)
        local = value.replace(tzinfo=None)
        return (local.date(), FORMATS["date"]) if kind == "date" else (local, FORMATS["datetime"])
    if kind not in ("int", "float", "pct", "money"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if not _finite(value):
        return None
    if kind == "int":
        if value != int(value):
            return value, ""  # a fraction in a count: show it as it is
        return (int(value), "") if abs(value) < EXACT_INT else None
    if kind == "pct":
        # 93.3 -> 0.933 exactly: float division would store 0.9329999999999999
        scaled = (value if isinstance(value, Decimal) else Decimal(repr(value))).scaleb(-2)
        return (scaled if isinstance(value, Decimal) else float(scaled)), FORMATS["pct"]
    return value, FORMATS[kind]


def _finite(value: int | float | Decimal) -> bool:
    """Whether Excel can hold it as a number: not NaN, not infinite, not beyond a double's range."""
    try:
        return math.isfinite(float(value))
    except (OverflowError, ValueError):  # a huge int; a signalling NaN
        return False


def _text_cell(ws: WriteOnlyWorksheet, value: str, font: Font | None = None) -> WriteOnlyCell | None:
    text = _clean(value)
    if not text:
        return None
    cell = WriteOnlyCell(ws, text)
    # openpyxl makes "=..." a formula and "#N/A" an error cell: text stays text
    cell.data_type = "s"
    # quotePrefix is the XLSX form of the apostrophe excel_safe puts before such text in CSV: Excel and WPS
    # show the text as it is and keep it text when someone edits the cell. A text starting with "-" (even
    # "-0.5", which excel_safe leaves alone as a number in CSV) is text in a text column too.
    if excel_safe(text) != text or text.startswith("-"):
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    return cell


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _clean(text: str) -> str:
    return _fit(_XML_ILLEGAL.sub("", text), MAX_CELL)


def _utf16_units(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _cut(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units (Excel's count: a character outside the BMP takes two)."""
    head = text[:limit]
    excess, end = _utf16_units(head) - limit, len(head)
    while excess > 0:
        end -= 1
        excess -= 2 if ord(head[end]) > 0xFFFF else 1
    return head[:end]


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit // 2 or _utf16_units(text) <= limit:
        return text
    return _cut(text, limit - 1) + "…"


def _widths(
    columns: Sequence[Column], rows: Sequence[dict[str, Any]], subtitles: dict[str, str] | None = None
) -> list[float]:
    """Column widths in characters: `Column.width`, else the widest header or cell as shown (CJK counts
    double), with room for the filter button, capped at MAX_WIDTH."""
    widths = []
    for column in columns:
        if column.width > 0:
            widths.append(float(min(column.width, 255)))  # 255: Excel's own maximum
            continue
        titles = [column.title or column.key, (subtitles or {}).get(column.key, "")]
        widest = max(display_width(_clean(t)) for t in titles) + 3  # bold, and the filter button
        for row in rows:
            value = row.get(column.key)
            if value is not None:
                widest = max(widest, _shown_width(value, column.kind))
                if widest >= MAX_WIDTH:
                    break
        widths.append(float(min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)))
    return widths


def _shown_width(value: Any, kind: CellKind) -> int:
    typed = _typed(value, kind)
    if typed is None:
        text = _XML_ILLEGAL.sub("", _as_text(value))
        # the first MAX_WIDTH characters of a line are enough to reach the cap
        return max((display_width(line[:MAX_WIDTH]) for line in text.split("\n")), default=0)
    number, number_format = typed
    if isinstance(number, datetime):
        return 16
    if isinstance(number, date):
        return 10
    if number_format == FORMATS["pct"]:
        return len(f"{number * 100:.1f}%")
    if number_format in (FORMATS["float"], FORMATS["money"]):
        return len(f"{number:,.{1 if number_format == FORMATS['float'] else 2}f}")
    return len(str(number))


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def _stable_zip(raw: bytes, stamp: datetime) -> bytes:
    """The same archive with every entry dated `stamp` (zip dates cannot precede 1980) and the same
    attributes on every platform: the same workbook gives the same bytes."""
    date_time = max(stamp, datetime(1980, 1, 1)).timetuple()[:6]
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0  # MS-DOS, as Excel writes it; the default depends on the platform
            entry.external_attr = 0
            target.writestr(entry, source.read(info), compresslevel=6)
    return out.getvalue()
