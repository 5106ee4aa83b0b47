"""管理资料: audit materials with their submission times (`ops-watch audit status`), survey coverage (`survey
coverage`), the archive (`archive status`); and, for the center's roles only (operator and up: the plan must not
reach the contractor), the month's inspection plan (`inspections show`) with a form to record an inspection's
result (`inspections record`: the same kind.build and kind.save_record)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ops_watch.areas.governance.archive.model import (
    STATUS_COLUMNS as ARCHIVE_COLUMNS,
)
from ops_watch.areas.governance.archive.model import (
    archive_terms,
    bind_rules_dir,
    scan,
    status_rows,
    statuses,
)
from ops_watch.areas.governance.audit.model import (
    audit_terms,
    default_start,
    rate_of,
    status_row,
    timeliness,
)
from ops_watch.areas.governance.inspections.kind import RESULTS, build, save_record
from ops_watch.areas.governance.inspections.model import (
    STATUS_ZH,
    inspection_terms,
    parse_month,
    planned_statuses,
    stored_plan,
    unplanned_records,
)
from ops_watch.areas.governance.survey.model import (
    COVERAGE_COLUMNS,
    coverage_days,
    coverage_line,
    coverage_rows,
    period_containing,
    survey_terms,
)
from ops_watch.core.timeutil import parse_date, utcnow
from ops_watch.formats import fields
from ops_watch.formats.spec import CellError, ParseContext
from ops_watch.web.frame import Console, Operator, OperatorForm, Refused, Viewer, console, record, render

router = APIRouter()

AUDIT_TITLES = {
    "material": ("材料", "Material"),
    "period": ("期间", "Period"),
    "deadline": ("截止", "Deadline"),
    "submitted": ("报送时间", "Submitted"),
    "status": ("状态", "Status"),
    "late_by": ("迟交", "Late by"),
    "submitted_by": ("报送人", "By"),
    "document": ("文件", "Document"),
}
SURVEY_TITLES = {
    "unit": ("租户单位", "Unit"),
    "responses": ("答卷", "Responses"),
    "respondents": ("答题人数", "Respondents"),
    "mean": ("平均分", "Mean"),
    "note": ("说明", "Note"),
}
ARCHIVE_TITLES = {
    "year": ("年度", "Year"),
    "document": ("文件", "Document"),
    "status": ("状态", "Status"),
    "due": ("应归档", "Due"),
    "files": ("文件", "Files"),
    "retention_until": ("保管至", "Kept until"),
}
PLAN_TITLES = {
    "day": ("日期", "Day"),
    "name": ("检查区域", "Area"),
    "status": ("状态", "Status"),
    "inspector": ("检查人", "Inspector"),
    "result": ("结果", "Result"),
    "record_day": ("记录日期", "Recorded for"),
}
RECORD_TITLES = {
    "day": ("日期", "Day"),
    "name": ("检查区域", "Area"),
    "inspector": ("检查人", "Inspector"),
    "result": ("结果", "Result"),
    "problems": ("发现问题", "Problems"),
    "rectify_by": ("整改期限", "Rectify by"),
    "rectified_on": ("整改完成", "Rectified on"),
}


def _columns(c: Console, keys: list[str], titles: dict[str, tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, c.t(*titles.get(k, (k, k)))) for k in keys]


@router.get("/governance")
def governance_page(request: Request, session: Viewer) -> Response:
    c = console(request)
    rt = c.runtime
    zone, language = rt.config.site.zone, rt.config.language
    now = utcnow()
    today = now.astimezone(zone).date()
    contract = dict(rt.rules.contract)
    context: dict[str, Any] = {}
    # the sections contract.toml itself has (a missing one is a note on the page, not its defaults)
    written = rt.rules.written if rt.rules.written is not None else frozenset(contract)

    audit = audit_terms(contract)
    if "audit" in written and audit.materials:
        with rt.store.session() as s:
            rows = timeliness(
                s, contract, zone, default_start(contract, zone, now), now, as_of=now, upcoming=True
            )
        context["audit"] = {
            "rows": [status_row(r, zone, language) for r in rows],
            "rate": rate_of(rows).text(language),
        }
    context["audit_columns"] = _columns(c, list(AUDIT_TITLES), AUDIT_TITLES)

    if "survey" in written:
        terms = survey_terms(contract)  # the round of today, as `survey coverage` without options
        period = period_containing(today, terms.period)
        until = min(period.last, today)
        with rt.store.session() as s:
            cov = coverage_days(s, terms, period.first, until)
        context["survey"] = {
            "label": f"{period.label} ({period.first.isoformat()} ~ {until.isoformat()})",
            "rows": coverage_rows(cov, terms, language, False),
            "line": coverage_line(cov, terms, language),
        }
    context["survey_columns"] = _columns(c, COVERAGE_COLUMNS, SURVEY_TITLES)

    bind_rules_dir(contract, rt.config.rules_dir)
    archive = archive_terms(contract)
    folder = archive.folder()
    if "archive" in written and folder is not None:
        result = scan(folder, archive.documents)
        context["archive"] = {
            "error": result.error,
            "rows": [] if result.error else status_rows(statuses(archive, contract, result, today), language),
        }
    context["archive_columns"] = _columns(c, ARCHIVE_COLUMNS, ARCHIVE_TITLES)
    return render(request, "governance.html", context)


def _month(c: Console, request: Request, today: date) -> str:
    text = request.query_params.get("month", "").strip()
    if not text:
        return f"{today:%Y-%m}"
    try:
        return parse_month(text)
    except ValueError:
        raise Refused(
            400,
            f"参数 month={text!r} 无效：请写成 2026-11。",
            f"month={text!r} is not valid: write e.g. 2026-11.",
        ) from None


def _inspections(
    request: Request, month: str, form: dict[str, str] | None = None, message: str = "", status: int = 200
) -> Response:
    c = console(request)
    rt = c.runtime
    zone, language = rt.config.site.zone, rt.config.language
    today = utcnow().astimezone(zone).date()
    terms = inspection_terms(rt.rules.contract)
    plan = stored_plan(rt.store, month)
    with rt.store.session() as s:
        plan_rows = [
            {
                "day": p.day.isoformat(),
                "name": terms.name_of(p.area, language),
                "status": STATUS_ZH[p.status] if language == "zh" else p.status,
                "inspector": p.record.inspector if p.record else "",
                "result": p.record.result if p.record else "",
                "record_day": p.record.day.isoformat() if p.record else "",
            }
            for p in planned_statuses(s, terms, today, month)
        ]
        extra = [
            {
                "day": r.day.isoformat(),
                "name": terms.name_of(r.area, language),
                "inspector": r.inspector,
                "result": r.result,
                "problems": r.problems,
                "rectify_by": r.rectify_by.isoformat() if r.rectify_by else "",
                "rectified_on": r.rectified_on.isoformat() if r.rectified_on else "",
            }
            for r in unplanned_records(s, terms, month, today)
        ]
    return render(
        request,
        "inspections.html",
        {
            "month": month,
            "plan": plan,
            "plan_rows": plan_rows,
            "plan_columns": _columns(c, list(PLAN_TITLES), PLAN_TITLES),
            "extra": extra,
            "record_columns": _columns(c, list(RECORD_TITLES), RECORD_TITLES),
            "areas": [(a.key, a.name(language)) for a in terms.areas],
            "form": form or {"date": today.isoformat(), "result": "pass"},
            "message": message,
            "today": today.isoformat(),
        },
        status=status,
    )


@router.get("/governance/inspections")
def inspections_page(request: Request, session: Operator) -> Response:
    c = console(request)
    today = utcnow().astimezone(c.runtime.config.site.zone).date()
    return _inspections(request, _month(c, request, today))


@router.post("/governance/inspections")
def record_inspection(
    request: Request,
    session: OperatorForm,
    day: str = Form("", alias="date"),
    area: str = Form(""),
    inspector: str = Form(""),
    result: str = Form(""),
    problems: str = Form(""),
    rectify_by: str = Form(""),
    note: str = Form(""),
) -> Response:
    c = console(request)
    rt = c.runtime
    zone = rt.config.site.zone
    today = utcnow().astimezone(zone).date()
    form = {
        "date": day,
        "area": area,
        "inspector": inspector,
        "result": result,
        "problems": problems,
        "rectify_by": rectify_by,
        "note": note,
    }
    month = f"{today:%Y-%m}"

    def refuse(zh: str, en: str) -> Response:
        record(request, "inspection", ok=False, detail=f"{day} {area}: {en}")
        return _inspections(request, month, form, c.t(zh, en), status=400)

    try:
        when = parse_date(day)
    except ValueError:
        return refuse("检查日期无效：请写成 2026-11-05。", "The day is not a date: write e.g. 2026-11-05.")
    month = f"{when:%Y-%m}"
    if when > today:
        return refuse(f"{when} 还没到，不能记录。", f"{when} is in the future.")
    terms = inspection_terms(rt.rules.contract)
    found = terms.area(area)
    if found is None:
        return refuse(f"未知的检查区域：{terms.known('zh')}", f"Unknown area: use one of {terms.known('en')}")
    pctx = ParseContext(zone=zone, contract=rt.rules.contract)
    try:
        outcome = fields.choice(RESULTS)(result, pctx)
    except CellError:
        return refuse("检查结果应为合格或发现问题。", "The result is pass or problems.")
    if not inspector.strip():
        return refuse("请写检查人姓名。", "Give the inspector's name.")
    deadline = None
    if rectify_by.strip():
        try:
            deadline = parse_date(rectify_by)
        except ValueError:
            return refuse(
                "整改期限不是日期：请写成 2026-11-12。", "The deadline is not a date: write e.g. 2026-11-12."
            )
    values = {
        "day": when,
        "area": found.key,
        "inspector": inspector.strip()[:128],
        "result": outcome,
        "problems": problems.strip(),
        "rectify_by": deadline,
        "rectified_on": None,
        "note": note.strip(),
    }
    try:
        row = build(values, pctx)
    except CellError as exc:
        return refuse(exc.problem.text("zh"), exc.problem.text("en"))
    replaced = save_record(rt.store, row, f"控制台 console: {session.account.name}")
    record(
        request,
        "inspection",
        ok=True,
        detail=f"{'replaced' if replaced else 'recorded'} {row.day} {row.area} {row.result}",
    )
    return RedirectResponse(f"/governance/inspections?month={month}", status_code=303)
