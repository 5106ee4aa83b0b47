"""人员: a month's staffing rate beside the month before, the shift-by-shift proof table and the attendance sheet
(考勤月报), each as the CLI computes it (`ops-watch staffing rate|shifts|attendance`), with both as XLSX."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ops_watch.areas.staffing.attendance import (
    SHIFT_TITLES_ZH,
    SUMMARY_COLUMNS,
    attendance,
    attendance_workbook,
    exempt_roles,
    shifts_workbook,
    summary_rows,
)
from ops_watch.areas.staffing.presence import (
    SHIFT_COLUMNS,
    StaffingView,
    build_view,
    month_bounds,
    rate_rows,
    shift_rows,
    staffing_terms,
)
from ops_watch.core.timeutil import utcnow
from ops_watch.web.frame import Console, Refused, Viewer, console, render

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUMMARY_TITLES_ZH = {
    "person_id": "工号",
    "name": "姓名",
    "days_on_site": "出勤天数",
    "hours": "在场工时",
    "shifts": "班次",
    "late": "迟到",
    "absent": "缺勤",
    "unregistered": "未登记",
}


def _month(c: Console, request: Request, at: datetime) -> tuple[str, date, date]:
    """The month asked for (`?month=2026-11`), by default the site's current month."""
    value = request.query_params.get("month", "").strip()
    if not value:
        value = at.astimezone(c.runtime.config.site.zone).strftime("%Y-%m")
    try:
        first, last = month_bounds(value)
    except ValueError:
        raise Refused(
            400,
            f"参数 month={value[:40]!r} 不是月份：请写成 2026-11。",
            f"month={value[:40]!r} is not a month: write e.g. 2026-11.",
        ) from None
    return f"{first.year:04d}-{first.month:02d}", first, last


def _previous(first: date) -> str:
    return f"{first.year - 1:04d}-12" if first.month == 1 else f"{first.year:04d}-{first.month - 1:02d}"


def _view(c: Console, first: date, last: date, at: datetime) -> StaffingView:
    """The view `ops-watch staffing …` builds for these days (commands._staffing_view, without the CLI)."""
    rt = c.runtime
    with rt.store.session() as session:
        return build_view(session, rt.rules.contract, rt.config.site.zone, at, first, last)


def _month_data(c: Console, month: str, first: date, last: date) -> dict[str, Any]:
    """What the page shows of a month, computed from its view and shared by every viewer (store/shared.py): the
    rows, not the view, are kept (a month's badges and stays are several MB)."""

    def compute() -> dict[str, Any]:
        language = c.language
        view = _view(c, first, last, utcnow())
        sheet = attendance(view, first, last, exempt_roles(c.runtime.rules))
        sep = "、" if language == "zh" else ", "
        return {
            "computed_at": view.at,
            "rate": _rate(view, month, language),
            "weeks": rate_rows(view, "week", month, language)[:-1],
            "judged_from": view.first_day if view.first_day > first else None,
            "shifts": shift_rows(view, language),
            "people": [
                {k: sep.join(v) if isinstance(v, list) else v for k, v in r.items()}
                for r in summary_rows(sheet)
            ],
            "has_evidence": sheet.has_evidence,
        }

    return c.views.get(("staffing", first, last, c.language), compute)


def _rate(view: StaffingView, month: str, language: str) -> dict[str, Any]:
    """The month's total as `ops-watch staffing rate --by month` computes it (the last row is the total)."""
    return rate_rows(view, "month", month, language)[-1]


def _no_terms(c: Console) -> bool:
    return not staffing_terms(c.runtime.rules.contract).shifts


def _download(data: bytes, name: str) -> Response:
    """An attachment with an ASCII fallback name and the UTF-8 name (RFC 5987/6266)."""
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    return Response(data, media_type=XLSX, headers={"content-disposition": disposition})


@router.get("/staffing")
def staffing_page(request: Request, session: Viewer) -> Response:
    c = console(request)
    at = utcnow()
    month, first, last = _month(c, request, at)
    context: dict[str, Any] = {"month": month, "previous": _previous(first), "no_terms": _no_terms(c)}
    if context["no_terms"]:
        return render(request, "staffing.html", context)
    data = _month_data(c, month, first, last)
    before = _month_data(c, context["previous"], *month_bounds(context["previous"]))
    zh = c.language == "zh"
    context.update(
        computed_at=data["computed_at"],
        rate=data["rate"],
        weeks=data["weeks"],
        rate_before=before["rate"],
        judged_from=data["judged_from"],
        shifts=data["shifts"],
        shift_columns=[(k, SHIFT_TITLES_ZH[k] if zh else k) for k in SHIFT_COLUMNS],
        people=data["people"],
        people_columns=[(k, SUMMARY_TITLES_ZH[k] if zh else k) for k in SUMMARY_COLUMNS],
        has_evidence=data["has_evidence"],
    )
    return render(request, "staffing.html", context)


def _terms_needed(c: Console) -> None:
    if _no_terms(c):
        raise Refused(
            404,
            "合同（contract.toml）没有 [staffing] 节：没有班次可导出（见 docs/staffing.md）。",
            "contract.toml has no [staffing] section: no shifts to export (docs/staffing.md).",
        )


@router.get("/staffing/shifts.xlsx")
def staffing_shifts_xlsx(request: Request, session: Viewer) -> Response:
    c = console(request)
    month, first, last = _month(c, request, utcnow())
    _terms_needed(c)
    site = c.runtime.config.site.name

    def compute() -> bytes:
        return shifts_workbook(_view(c, first, last, utcnow()), site, c.language)

    data = c.views.get(("shifts.xlsx", first, last, c.language), compute)
    return _download(data, c.t(f"班次到岗证明-{month}.xlsx", f"shifts-{month}.xlsx"))


@router.get("/staffing/attendance.xlsx")
def staffing_attendance_xlsx(request: Request, session: Viewer) -> Response:
    c = console(request)
    month, first, last = _month(c, request, utcnow())
    _terms_needed(c)
    site = c.runtime.config.site.name

    def compute() -> bytes:
        view = _view(c, first, last, utcnow())
        sheet = attendance(view, first, last, exempt_roles(c.runtime.rules))
        return attendance_workbook(sheet, site, c.language, view.terms.grace_minutes)

    data = c.views.get(("attendance.xlsx", first, last, c.language), compute)
    return _download(data, c.t(f"考勤月报-{month}.xlsx", f"attendance-{month}.xlsx"))
