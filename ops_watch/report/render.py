"""The weekly report as an HTML email body (inline CSS, charts by cid:, readable without images) and as plain
text, in the reader's conventions: 2026年11月23日 and 1,234.5 in Chinese, 23 Nov 2026 in English.

Evidence text (names, subjects, summaries) is autoescaped in HTML; nothing in the page loads from anywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from ops_watch.core.vocabulary import SEVERITY_COLOUR, SEVERITY_ZH
from ops_watch.report.model import Figure, FindingLine, Table, WeeklyReport
from ops_watch.report.trail import LABEL as TRAIL_LABEL
from ops_watch.report.trail import check_command

STATUS_ZH = {"green": "正常", "amber": "需关注", "red": "严重", "none": "无数据"}
STATUS_EN = {"green": "OK", "amber": "attention", "red": "serious", "none": "no evidence"}
STATUS_COLOUR = {"green": "#2e7d32", "amber": "#b36b00", "red": "#c0392b", "none": "#757575"}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fmt_number(value: Any, decimals: int = 1) -> str:
    """1234.5 -> '1,234.5' (both languages group by thousands with a comma); None -> '—'."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return f"{value:,.{decimals}f}"
    return str(value)


def fmt_date(value: date | datetime | None, language: str, with_time: bool = False) -> str:
    if value is None:
        return "—"
    if language == "zh":
        text = f"{value.year}年{value.month}月{value.day}日"
    else:
        text = f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"
    if with_time and isinstance(value, datetime):
        text += f" {value:%H:%M}"
    return text


def fmt_cell(value: Any, kind: str, language: str) -> str:
    if value is None or value == "":
        return "—" if kind != "text" else ""
    if kind == "int" and isinstance(value, int | float):
        return fmt_number(value, 0)
    if kind == "float" and isinstance(value, int | float):
        return fmt_number(value, 1)
    if kind == "money" and isinstance(value, int | float | Decimal):
        return fmt_number(value, 2)
    if kind == "pct" and isinstance(value, int | float):
        return fmt_number(value, 1) + "%"
    if kind == "date" and isinstance(value, date):
        return fmt_date(value, language)
    if kind == "datetime" and isinstance(value, datetime):
        return fmt_date(value, language, with_time=True)
    return str(value)


def fmt_figure(fig: Figure) -> str:
    if fig.value is None:
        return "—"
    unit = fig.unit
    text = fmt_number(fig.value, fig.decimals)
    return text + ("%" if unit == "%" else (f" {unit}" if unit else ""))


def fmt_previous(fig: Figure) -> str:
    if fig.previous is None:
        return "—"
    return fmt_number(fig.previous, fig.decimals) + ("%" if fig.unit == "%" else "")


def fmt_change(fig: Figure) -> str:
    change = fig.change
    if change is None:
        return ""
    arrow = "▲" if change > 0 else ("▼" if change < 0 else "＝")
    unit = " 个百分点" if fig.unit == "%" else ""
    return f"{arrow} {fmt_number(abs(change), fig.decimals)}{unit}" if change else "＝"


def fmt_change_en(fig: Figure) -> str:
    change = fig.change
    if change is None:
        return ""
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    unit = " pts" if fig.unit == "%" else ""
    return f"{sign}{fmt_number(abs(change), fig.decimals)}{unit}"


def trend_colour(fig: Figure) -> str:
    return {"better": "#2e7d32", "worse": "#c0392b"}.get(fig.trend, "#555555")


def _env(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("ops_watch.report", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters.update(
        number=fmt_number,
        figure=fmt_figure,
        previous=fmt_previous,
        change=fmt_change,
        change_en=fmt_change_en,
        trend_colour=trend_colour,
    )
    return env


def _context(report: WeeklyReport, cids: dict[str, str], max_rows: int) -> dict[str, Any]:
    lang = report.language
    zh = lang == "zh"
    week = report.week

    def t(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    def when(value: datetime | None) -> str:
        return fmt_date(value.astimezone(week.zone), lang, with_time=True) if value else "—"

    def cell(value: Any, kind: str) -> str:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(week.zone)
        return fmt_cell(value, kind, lang)

    def headline(f: FindingLine, limit: int = 140) -> str:
        """One line per finding: its summary (which mostly names the subject already), cut for the mail."""
        text = f.summary if f.subject and f.summary.startswith(f.subject) else f"{f.subject} — {f.summary}"
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def severity(f: FindingLine) -> str:
        return SEVERITY_ZH.get(f.severity, f.severity) if zh else f.severity

    def rows_of(table: Table) -> list[dict[str, Any]]:
        return table.rows[:max_rows]

    statuses = STATUS_ZH if zh else STATUS_EN
    return {
        "r": report,
        "zh": zh,
        "t": t,
        "when": when,
        "cell": cell,
        "severity": severity,
        "headline": headline,
        "severity_colour": SEVERITY_COLOUR,
        "status_text": statuses,
        "status_colour": STATUS_COLOUR,
        "cids": cids,
        "rows_of": rows_of,
        "max_rows": max_rows,
        "monday": fmt_date(week.monday, lang),
        "sunday": fmt_date(week.sunday, lang),
        "days": lambda f: fmt_number(f.age_days, 1),
        "trail_label": TRAIL_LABEL,
        "trail_check": check_command(report.trail_code) if report.trail_code else "",
    }


def render(report: WeeklyReport, cids: dict[str, str], max_rows: int = 50) -> tuple[str, str, str]:
    """(subject, plain text, HTML). `cids`: chart key -> Content-ID (without <>), as the email carries them."""
    ctx = _context(report, cids, max_rows)
    text = _env(False).get_template("weekly.txt.j2").render(**ctx)
    html = _env(True).get_template("weekly.html.j2").render(**ctx)
    zh = report.language == "zh"
    status = (STATUS_ZH if zh else STATUS_EN)[report.status]
    subject = (
        f"【运维合规周报】{report.week.iso}（{fmt_date(report.week.monday, 'zh')}—{fmt_date(report.week.sunday, 'zh')}）：{status}"
        if zh
        else f"[ops-watch weekly] {report.week.iso} ({fmt_date(report.week.monday, 'en')} – "
        f"{fmt_date(report.week.sunday, 'en')}): {status}"
    )
    return subject, text, html
