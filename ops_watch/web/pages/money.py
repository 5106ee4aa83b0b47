"""经费与考核: a month's billing reconciliation (`ops-watch billing reconcile`), the year's budget execution and
forecast (`budget status`) and the contractor score with each indicator's formula, inputs and points (`score`),
computed by the same functions as the CLI."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ops_watch.areas.money.billing.model import (
    ROW_COLUMNS,
    line_row,
    parse_month,
    reconcile,
    table_row,
    totals_lines,
)
from ops_watch.areas.money.budget.model import (
    LINE_COLUMNS,
    PLANNED_COLUMNS,
    budget_status,
    planned_rows,
    status_lines,
)
from ops_watch.areas.money.score.model import Score, contractor_score, indicator_rows, summary_lines
from ops_watch.core.timeutil import utcnow
from ops_watch.web.frame import Console, Refused, Viewer, console, render

router = APIRouter()
FIRST_YEAR = 2000

TITLES = {
    "platform": ("平台", "Platform"),
    "item": ("项目", "Item"),
    "status": ("状态", "Status"),
    "billed_quantity": ("账单数量", "Billed qty"),
    "billed_unit_price": ("账单单价", "Billed unit price"),
    "billed_amount": ("账单金额", "Billed"),
    "measured_quantity": ("核算数量", "Measured qty"),
    "measured_unit_price": ("合同单价", "Contract unit price"),
    "measured_amount": ("核算金额", "Measured"),
    "difference": ("差额", "Difference"),
    "difference_pct": ("差额 %", "Difference %"),
    "note": ("说明", "Note"),
    "label": ("项目", "Item"),
    "cny": ("元", "CNY"),
    "wan": ("万元", "10k CNY"),
    "rate": ("比率", "Rate"),
    "date": ("日期", "Date"),
    "indicator": ("指标", "Indicator"),
    "formula": ("公式", "Formula"),
    "inputs": ("输入", "Inputs"),
    "value": ("值", "Value"),
    "target": ("目标", "Target"),
    "weight": ("权重", "Weight"),
    "points": ("得分", "Points"),
    "evidence": ("依据", "Evidence"),
}
BILLING_COLUMNS = [k for k in ROW_COLUMNS if k not in ("month", "resources")]  # as `billing reconcile`
SCORE_COLUMNS = ["indicator", "formula", "inputs", "value", "target", "weight", "points", "evidence"]


def _columns(c: Console, keys: list[str]) -> list[tuple[str, str]]:
    return [(k, c.t(*TITLES.get(k, (k, k)))) for k in keys]


def _month(request: Request, today: date) -> str:
    text = request.query_params.get("month", "").strip()
    if not text:  # the month before this one: the statement usually comes after the month
        first = today.replace(day=1)
        last_month = (
            first.replace(year=first.year - 1, month=12)
            if first.month == 1
            else first.replace(month=first.month - 1)
        )
        return f"{last_month:%Y-%m}"
    try:
        return parse_month(text)
    except ValueError:
        raise Refused(
            400,
            f"参数 month={text!r} 无效：请写成 2026-10。",
            f"month={text!r} is not valid: write e.g. 2026-10.",
        ) from None


def _year(request: Request, today: date) -> int:
    text = request.query_params.get("year", "").strip()
    if not text:
        return today.year
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= today.year:
        raise Refused(
            400,
            f"参数 year={text!r} 无效：请写 {FIRST_YEAR}～{today.year} 之间的年份。",
            f"year={text!r} is not valid: give a year from {FIRST_YEAR} to {today.year}.",
        )
    return int(text)


def shared_score(c: Console, now: datetime) -> Score:
    """The contractor's running score (`ops-watch score`), shared by this page and the overview: a year of
    findings and shifts is read (store/shared.py)."""
    rt = c.runtime

    def compute() -> Score:
        with rt.store.session() as s:
            return contractor_score(s, rt.rules.contract, rt.config.site.zone, now, c.language)

    return c.views.get(("score", c.language), compute)


@router.get("/money")
def money_page(request: Request, session: Viewer) -> Response:
    c = console(request)
    rt = c.runtime
    zone, language = rt.config.site.zone, rt.config.language
    contract = rt.rules.contract
    now = utcnow()
    today = now.astimezone(zone).date()
    month = _month(request, today)
    year = _year(request, today)
    context: dict[str, Any] = {"month": month, "year": year}
    # the sections contract.toml itself has (a missing one is a note on the page, not its defaults)
    written = rt.rules.written if rt.rules.written is not None else frozenset(contract)
    with rt.store.session() as s:
        if "billing" in written:
            rec = reconcile(s, contract, month)
            rows = [line_row(line, language) for line in rec.lines]
            totals = rec.totals()
            context["billing"] = {
                "has_statement": rec.has_statement,
                "rows": [table_row(r, language) for r in rows],
                "lines": totals_lines(month, totals, language),
            }
        if "budget" in written:
            status = budget_status(s, contract, year, min(today, date(year, 12, 31)), language=language)
            context["budget"] = {
                "lines": status_lines(status, language, details=False),
                "planned": planned_rows(status, language),
                "missing": status.missing,
            }
        if "score" in written:
            score = shared_score(c, now)
            context["score"] = {
                "rows": indicator_rows(score, "table"),
                "lines": summary_lines(score),
                "as_of": score.as_of,
            }
    context.update(
        billing_columns=_columns(c, BILLING_COLUMNS),
        budget_columns=_columns(c, [k for k in LINE_COLUMNS if k != "item"]),
        planned_columns=_columns(c, PLANNED_COLUMNS),
        score_columns=_columns(c, SCORE_COLUMNS),
    )
    return render(request, "money.html", context)
