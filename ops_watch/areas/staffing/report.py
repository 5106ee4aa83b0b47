"""Staffing and access (R4, R5) in the weekly report: the staffing rate, handovers verified, the day × shift
coverage, and the shift-by-shift table."""

from __future__ import annotations

from sqlalchemy import func, select

from ops_watch.areas.staffing.presence import SHIFT_COLUMNS, build_view, shift_rows, staffing_terms
from ops_watch.report.model import Column, Figure, Table, Week
from ops_watch.report.sections import AreaContext, AreaData, report_area
from ops_watch.store.schema import DoorEvent, HandoverShift


def _view(ctx: AreaContext, week: Week):  # type: ignore[no-untyped-def]
    return build_view(ctx.session, ctx.contract, ctx.zone, week.end, week.monday, week.sunday)


def _rates(view) -> tuple[float | None, int, int, float | None, int, int]:  # type: ignore[no-untyped-def]
    ended = [s for s in view.shifts if s.ended]
    required = sum(s.required for s in ended)
    evidenced = sum(s.evidenced for s in ended)
    with_sheet = [s for s in ended if s.sheet is not None]
    verified = sum(1 for s in with_sheet if s.handover_verified)
    staffing = None if required == 0 else evidenced / required * 100
    handover = None if not ended else verified / len(ended) * 100
    return staffing, evidenced, required, handover, verified, len(ended)


def _has_evidence(ctx: AreaContext) -> bool:
    week = ctx.week
    doors = ctx.session.scalar(
        select(func.count()).select_from(DoorEvent).where(DoorEvent.at >= week.start, DoorEvent.at < week.end)
    )
    sheets = ctx.session.scalar(
        select(func.count())
        .select_from(HandoverShift)
        .where(HandoverShift.date >= week.monday, HandoverShift.date <= week.sunday)
    )
    return bool(doors or sheets)


@report_area("staffing", 20, "人员与门禁", "Staffing and access")
def staffing(ctx: AreaContext) -> AreaData:
    from ops_watch.report import charts  # start-up time: matplotlib loads only when a chart is drawn

    zh = ctx.language == "zh"
    if not staffing_terms(ctx.contract).shifts:
        return AreaData(
            has_evidence=False,
            notes=[
                ctx.t("合同未约定班次（contract.toml 没有 [staffing]）。", "The contract names no shifts.")
            ],
        )
    view = _view(ctx, ctx.week)
    before = _view(ctx, ctx.previous)
    rate, evidenced, required, handover, verified, ended = _rates(view)
    rate_b, _, _, handover_b, _, _ = _rates(before)
    figures = [
        Figure(
            "staffing_rate",
            ctx.t("人员到位率", "staffing rate"),
            rate,
            rate_b,
            "%",
            "up",
            1,
            note=ctx.t(f"{evidenced}/{required} 人次", f"{evidenced} of {required} person-shifts"),
        ),
        Figure(
            "handover_verified_rate",
            ctx.t("交接班核实率", "handovers verified"),
            handover,
            handover_b,
            "%",
            "up",
            1,
            note=ctx.t(f"{verified}/{ended} 个班次", f"{verified} of {ended} shifts"),
        ),
    ]
    data = AreaData(has_evidence=_has_evidence(ctx), figures=figures)
    shift_names = list(dict.fromkeys(s.instance.shift for s in view.shifts))
    evidenced_map = {
        (s.instance.day, s.instance.shift): (len(s.onsite) if s.ended else None) for s in view.shifts
    }
    required_map = {(s.instance.day, s.instance.shift): s.required for s in view.shifts}
    chart = charts.coverage_heatmap(
        ctx.week.days, shift_names, evidenced_map, required_map, ctx.language, ctx.font
    )
    if chart is not None:
        data.charts.append(chart)
    titles_zh = {
        "day": "日期",
        "shift": "班次",
        "day_type": "日类型",
        "required": "应到",
        "on_sheet": "交接表在岗",
        "evidenced": "门禁实到",
        "on_site": "实到人员",
        "late": "迟到",
        "ghosts": "表上有、门禁无",
        "handover": "交接",
        "status": "结论",
    }
    kinds = {"required": "int", "evidenced": "int", "day": "date"}
    in_mail = {"day", "shift", "required", "evidenced", "handover", "status"}
    columns = [
        Column(c, titles_zh[c] if zh else c, kinds.get(c, "text"), mail=c in in_mail)  # type: ignore[arg-type]
        for c in SHIFT_COLUMNS
    ]
    rows = shift_rows(view, ctx.language)
    from datetime import date

    for r in rows:
        r["day"] = date.fromisoformat(r["day"])
    data.tables.append(
        Table(
            key="staffing_shifts",
            title="本周各班次人员到位情况" if zh else "Shifts of the week",
            sheet="班次到位" if zh else "Staffing shifts",
            columns=columns,
            rows=rows,
        )
    )
    if view.uncovered:
        data.notes.append(
            ctx.t(
                "节假日日历未覆盖的日期按周一至周五为工作日计算："
                + "、".join(d.isoformat() for d in view.uncovered),
                "Days the holiday calendar does not cover were taken as Monday–Friday workdays: "
                + ", ".join(d.isoformat() for d in view.uncovered),
            )
        )
    return data
