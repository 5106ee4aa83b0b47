"""Paperwork (R6–R10) in the weekly report: audit materials' timeliness, the center's inspection plan, survey
coverage, contracts linted on arrival and the archive.

Each figure is as of the week's end with the previous week's beside it; every part is read only when its
contract section asks for it, so a site that keeps no such paperwork gets no empty tables.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ops_watch.areas.governance.archive.model import archive_terms, scan, statuses
from ops_watch.areas.governance.audit.model import audit_terms, rate_of, timeliness
from ops_watch.areas.governance.inspections.model import inspection_terms, planned_statuses
from ops_watch.areas.governance.survey.model import coverage, period_containing, survey_terms
from ops_watch.core.timeutil import format_local, local_day_bounds
from ops_watch.report.model import Column, Figure, Table, Week
from ops_watch.report.sections import AreaContext, AreaData, report_area
from ops_watch.store.schema import ContractReview, InspectionRecord

# The audit table lists the periods whose deadline fell in the last quarter up to the week's end (the rate is
# the year's): older ones are in `ops-watch audit status`.
AUDIT_TABLE_DAYS = 92


def _year_start(ctx: AreaContext, week: Week) -> datetime:
    return local_day_bounds(date(week.sunday.year, 1, 1), ctx.zone)[0]


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


# --- audit materials (R6) -----------------------------------------------------------------------------------


def _audit_rate(ctx: AreaContext, week: Week) -> Any:
    return rate_of(timeliness(ctx.session, ctx.contract, ctx.zone, _year_start(ctx, week), week.end))


def _audit(ctx: AreaContext, data: AreaData) -> None:
    if not audit_terms(ctx.contract).materials:
        return
    rate, before = _audit_rate(ctx, ctx.week), _audit_rate(ctx, ctx.previous)
    data.figures.append(
        Figure(
            "audit_timeliness_rate",
            ctx.t("审计材料报送及时率（本年至今）", "audit material on time (year to date)"),
            _pct(rate.value),
            _pct(before.value),
            "%",
            "up",
            2,  # as the score and `audit status` show it (86.96 %, not 87.0 %)
            note=ctx.t(
                f"按期 {rate.on_time}/{rate.due}；迟交 {rate.late}，未报送 {rate.missing}，"
                f"未记录时间 {rate.unrecorded}",
                f"{rate.on_time} of {rate.due} on time; {rate.late} late, {rate.missing} missing, "
                f"{rate.unrecorded} without a time",
            ),
        )
    )
    data.has_evidence = data.has_evidence or rate.due > 0
    start = ctx.week.end - timedelta(days=AUDIT_TABLE_DAYS)
    rows = timeliness(ctx.session, ctx.contract, ctx.zone, start, ctx.week.end, upcoming=True)
    status_zh = {
        "on_time": "按期",
        "late": "迟交",
        "missing": "未报送",
        "unrecorded": "未记录时间",
        "not_due": "未到期",
    }
    status_en = {
        "on_time": "on time",
        "late": "late",
        "missing": "missing",
        "unrecorded": "no time",
        "not_due": "not due",
    }
    statuses = status_zh if ctx.language == "zh" else status_en
    data.tables.append(
        Table(
            key="audit",
            title=ctx.t(
                "审计材料报送（近三个月到期的期次）", "Audit materials (periods due in the last three months)"
            ),
            sheet=ctx.t("审计材料", "Audit materials"),
            columns=[
                Column("material", ctx.t("材料", "material")),
                Column("period", ctx.t("期间", "period")),
                Column("due", ctx.t("截止日期", "due"), "date"),
                Column("submitted", ctx.t("报送时间", "submitted")),
                Column("status", ctx.t("状态", "status")),
                Column("late", ctx.t("迟交", "late by")),
                Column("by", ctx.t("报送人", "by"), mail=False),
                Column("document", ctx.t("文件", "document"), mail=False),
            ],
            rows=[
                {
                    "material": r.material.name(ctx.language),
                    "period": r.period.key,
                    "due": r.due,
                    "submitted": r.submitted_text(ctx.zone, ctx.language),
                    "status": statuses.get(r.status, r.status),
                    "late": r.late_text(ctx.language),
                    "by": r.submitted_by,
                    "document": r.document,
                }
                for r in sorted(rows, key=lambda r: (r.due, r.material.key), reverse=True)
            ],
        )
    )


# --- inspections (R7) ---------------------------------------------------------------------------------------


def _inspections_done(ctx: AreaContext, week: Week) -> tuple[int, int, list[Any]]:
    month = f"{week.sunday:%Y-%m}"
    items = planned_statuses(ctx.session, inspection_terms(ctx.contract), week.sunday, month)
    judged = [s for s in items if s.status in ("done", "missed")]
    return sum(1 for s in judged if s.status == "done"), len(judged), items


def _inspections(ctx: AreaContext, data: AreaData) -> None:
    terms = inspection_terms(ctx.contract)
    done, judged, items = _inspections_done(ctx, ctx.week)
    done_b, judged_b, _ = _inspections_done(ctx, ctx.previous)
    sunday = ctx.week.sunday
    following = f"{(sunday.replace(day=1) + timedelta(days=32)):%Y-%m}"
    items += planned_statuses(ctx.session, terms, sunday, following)
    open_problems = ctx.session.scalars(
        select(InspectionRecord).where(
            InspectionRecord.result == "problems",
            InspectionRecord.day <= sunday,
            InspectionRecord.rectified_on.is_(None),
        )
    ).all()
    if terms.per_month == 0 and not items and not open_problems:
        return
    data.has_evidence = data.has_evidence or bool(items) or bool(open_problems)
    data.figures.append(
        Figure(
            "inspections_done",
            ctx.t("本月检查完成率", "inspections done this month"),
            None if judged == 0 else done / judged * 100,
            None if judged_b == 0 else done_b / judged_b * 100,
            "%",
            "up",
            0,
            note=ctx.t(
                f"已到期 {judged} 次，完成 {done} 次；待整改问题 {len(open_problems)} 项",
                f"{done} of {judged} due done; {len(open_problems)} problem(s) awaiting rectification",
            ),
        )
    )
    names = {a.key: (a.name_zh if ctx.language == "zh" else a.name_en) for a in terms.areas}
    status_zh = {"upcoming": "待检查", "due": "宽限期内", "done": "已完成", "missed": "未检查"}
    status_en = {"upcoming": "to come", "due": "in grace", "done": "done", "missed": "missed"}
    statuses = status_zh if ctx.language == "zh" else status_en
    data.tables.append(
        Table(
            key="inspection_plan",
            title=ctx.t("检查计划（本月及下月）", "Inspection plan (this month and next)"),
            sheet=ctx.t("检查计划", "Inspection plan"),
            columns=[
                Column("day", ctx.t("日期", "date"), "date"),
                Column("area", ctx.t("检查内容", "area")),
                Column("status", ctx.t("状态", "status")),
                Column("reminded", ctx.t("已提醒", "reminded"), mail=False),
            ],
            rows=[
                {
                    "day": s.day,
                    "area": names.get(s.area, s.area),
                    "status": statuses.get(s.status, s.status),
                    "reminded": format_local(s.reminded_at, ctx.zone) if s.reminded_at else "",
                }
                for s in items
            ],
            note=ctx.t(
                "检查计划不事先通知承包方：请勿转发本报告给承包方。",
                "The inspections are unannounced: do not forward this report to the contractor.",
            ),
        )
    )
    if open_problems:
        data.tables.append(
            Table(
                key="inspection_problems",
                title=ctx.t("检查发现、尚未整改的问题", "Problems found by inspections, not yet rectified"),
                sheet=ctx.t("检查问题", "Inspection problems"),
                columns=[
                    Column("day", ctx.t("检查日期", "inspected"), "date"),
                    Column("area", ctx.t("检查内容", "area")),
                    Column("problems", ctx.t("问题", "problems")),
                    Column("rectify_by", ctx.t("整改期限", "rectify by"), "date"),
                    Column("inspector", ctx.t("检查人", "inspector"), mail=False),
                ],
                rows=[
                    {
                        "day": r.day,
                        "area": names.get(r.area, r.area),
                        "problems": r.problems,
                        "rectify_by": r.rectify_by,
                        "inspector": r.inspector,
                    }
                    for r in sorted(open_problems, key=lambda r: (r.rectify_by or date.max, r.day))
                ],
            )
        )


# --- survey coverage (R8) -----------------------------------------------------------------------------------


def _survey(ctx: AreaContext, data: AreaData) -> None:
    terms = survey_terms(ctx.contract)

    def of(week: Week) -> Any:
        period = period_containing(week.sunday, terms.period)
        return coverage(
            ctx.session, ctx.contract, ctx.zone, local_day_bounds(period.first, ctx.zone)[0], week.end
        )

    now, before = of(ctx.week), of(ctx.previous)
    if not now.responses and not before.responses:
        return
    data.has_evidence = True
    data.figures.append(
        Figure(
            "survey_coverage",
            ctx.t("满意度调查单位覆盖率", "survey coverage of tenant units"),
            _pct(now.coverage),
            _pct(before.coverage),
            "%",
            "up",
            0,
            note=ctx.t(
                f"{len(now.answered)}/{len(now.expected)} 个单位，{now.respondents} 人作答，"
                f"平均 {now.mean if now.mean is not None else '—'} 分（百分制）",
                f"{len(now.answered)} of {len(now.expected)} units, {now.respondents} respondents, mean "
                f"{now.mean if now.mean is not None else '—'} of 100",
            ),
        )
    )


# --- contracts and the archive (R9, R10) --------------------------------------------------------------------


def _contracts(ctx: AreaContext, data: AreaData) -> None:
    reviews = ctx.session.scalars(
        select(ContractReview)
        .where(ContractReview.arrived_at < ctx.week.end)
        .order_by(ContractReview.document)
    ).all()
    if not reviews:
        return
    data.has_evidence = True

    def count(review: ContractReview, kind: str) -> int:
        return sum(1 for p in review.problems or [] if p.get("kind") == kind)

    data.tables.append(
        Table(
            key="contracts",
            title=ctx.t("合同文本审查", "Contract texts reviewed"),
            sheet=ctx.t("合同文本", "Contract texts"),
            columns=[
                Column("document", ctx.t("文件", "document")),
                Column("arrived", ctx.t("收到时间", "arrived")),
                Column("repealed", ctx.t("引用已废止法律", "repealed laws cited"), "int"),
                Column("missing", ctx.t("缺少条款", "clauses missing"), "int"),
            ],
            rows=[
                {
                    "document": r.document,
                    "arrived": format_local(r.arrived_at, ctx.zone),
                    "repealed": count(r, "repealed_law"),
                    "missing": count(r, "clause_missing"),
                }
                for r in reviews
            ],
        )
    )


def _archive(ctx: AreaContext, data: AreaData) -> None:
    terms = archive_terms(ctx.contract)
    folder = terms.folder()
    if folder is None:
        return
    result = scan(folder, terms.documents)
    if result.error:
        data.notes.append(
            ctx.t(f"无法读取归档目录：{result.error}", f"cannot read the archive folder: {result.error}")
        )
        return
    # Only the years whose due day has passed: a document filed early is not yet owed.
    items = [s for s in statuses(terms, ctx.contract, result, ctx.week.sunday) if s.due < ctx.week.sunday]
    before = [
        s for s in statuses(terms, ctx.contract, result, ctx.previous.sunday) if s.due < ctx.previous.sunday
    ]
    if not items:
        return
    data.has_evidence = True
    present = sum(1 for s in items if s.status == "present")
    present_b = sum(1 for s in before if s.status == "present")
    data.figures.append(
        Figure(
            "archive_complete",
            ctx.t("应归档文件齐全率", "required documents archived"),
            present / len(items) * 100,
            None if not before else present_b / len(before) * 100,
            "%",
            "up",
            0,
            note=ctx.t(f"{present}/{len(items)} 份已归档", f"{present} of {len(items)} archived"),
        )
    )
    missing = [s for s in items if s.status == "missing"]
    if missing:
        data.tables.append(
            Table(
                key="archive_missing",
                title=ctx.t("缺失的归档文件", "Documents missing from the archive"),
                sheet=ctx.t("归档缺失", "Archive missing"),
                columns=[
                    Column("year", ctx.t("年度", "year")),  # text: a year is not 2,025
                    Column("document", ctx.t("文件", "document")),
                    Column("due", ctx.t("应归档日期", "due"), "date"),
                ],
                rows=[{"year": str(s.year), "document": s.doc.name, "due": s.due} for s in missing],
            )
        )


@report_area("governance", 35, "管理资料", "Paperwork")
def governance(ctx: AreaContext) -> AreaData:
    data = AreaData(has_evidence=False)
    for part in (_audit, _inspections, _survey, _contracts, _archive):
        part(ctx, data)
    return data
