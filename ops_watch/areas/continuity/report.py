"""Continuity (R3) in the weekly report: backup success this week, drill completion this year, the drills due."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from ops_watch.areas.continuity.model import (
    backup_success_rates,
    continuity_terms,
    drill_completion,
    drill_label,
)
from ops_watch.report.model import Column, Figure, Table, Week
from ops_watch.report.sections import AreaContext, AreaData, report_area
from ops_watch.store.schema import BackupJob, Drill


def _backup_rate(ctx: AreaContext, week: Week) -> tuple[float | None, int, int, dict[str, tuple[int, int]]]:
    per_system = backup_success_rates(ctx.session, week.start, week.end)
    ok = sum(v[0] for v in per_system.values())
    total = sum(v[1] for v in per_system.values())
    return (None if total == 0 else ok / total * 100), ok, total, per_system


def _drills(ctx: AreaContext, week: Week):  # type: ignore[no-untyped-def]
    # Drills are due monthly to yearly: the rate is the year's to date, as of the week's Sunday.
    return drill_completion(ctx.session, ctx.contract, date(week.sunday.year, 1, 1), week.sunday)


@report_area("continuity", 30, "备份与演练", "Backups and drills")
def continuity(ctx: AreaContext) -> AreaData:
    zh = ctx.language == "zh"
    rate, ok, total, per_system = _backup_rate(ctx, ctx.week)
    rate_b, _, _, per_system_b = _backup_rate(ctx, ctx.previous)
    drills = _drills(ctx, ctx.week)
    drills_b = _drills(ctx, ctx.previous)
    pct = lambda f: None if f.rate is None else f.rate * 100  # noqa: E731
    figures = [
        Figure(
            "backup_success_rate",
            ctx.t("备份成功率（本周）", "backup success (this week)"),
            rate,
            rate_b,
            "%",
            "up",
            1,
            note=ctx.t(f"{ok}/{total} 次", f"{ok} of {total} runs"),
        ),
        Figure(
            "drill_completion_rate",
            ctx.t("演练完成率（本年至今）", "drill completion (year to date)"),
            pct(drills),
            pct(drills_b),
            "%",
            "up",
            1,
            note=ctx.t(
                f"{drills.done}/{drills.due} 次按期完成", f"{drills.done} of {drills.due} due on time"
            ),
        ),
    ]
    week = ctx.week
    recent = ctx.session.scalar(
        select(func.count())
        .select_from(BackupJob)
        .where(BackupJob.started >= week.start, BackupJob.started < week.end)
    ) or ctx.session.scalar(
        select(func.count()).select_from(Drill).where(Drill.date >= week.monday, Drill.date <= week.sunday)
    )
    terms = continuity_terms(ctx.contract)
    data = AreaData(has_evidence=bool(recent) or bool(drills.due), figures=figures)
    backup_cols = [
        Column("system", "系统" if zh else "system"),
        Column("ok", "成功" if zh else "succeeded", "int"),
        Column("runs", "总次数" if zh else "runs", "int"),
        Column("rate", "成功率" if zh else "success rate", "pct"),
        Column("rate_before", "上周成功率" if zh else "last week", "pct"),
    ]
    backup_rows = []
    for system in sorted(set(per_system) | set(per_system_b)):
        s_ok, s_total = per_system.get(system, (0, 0))
        b_ok, b_total = per_system_b.get(system, (0, 0))
        backup_rows.append(
            {
                "system": system,
                "ok": s_ok,
                "runs": s_total,
                "rate": None if s_total == 0 else s_ok / s_total * 100,
                "rate_before": None if b_total == 0 else b_ok / b_total * 100,
            }
        )
    data.tables.append(
        Table(
            key="backups",
            title="本周备份作业" if zh else "Backup runs this week",
            sheet="备份" if zh else "Backups",
            columns=backup_cols,
            rows=backup_rows,
        )
    )
    drill_cols = [
        Column("system", "系统" if zh else "system"),
        Column("type", "演练类型" if zh else "type"),
        Column("due", "应完成日期" if zh else "due", "date"),
        Column("met", "按期完成" if zh else "done on time"),
    ]
    drill_rows = [
        {
            "system": item["system"],
            "type": drill_label(item["type"], zh),
            "due": date.fromisoformat(item["due"]),
            "met": ("是" if item["met"] else "否") if zh else ("yes" if item["met"] else "no"),
        }
        for item in sorted(drills.items, key=lambda i: (i["due"], i["system"], i["type"]))
    ]
    data.tables.append(
        Table(
            key="drills",
            title=f"{week.sunday.year} 年应完成的演练" if zh else f"Drills due in {week.sunday.year}",
            sheet="演练" if zh else "Drills",
            columns=drill_cols,
            rows=drill_rows,
        )
    )
    if not terms.systems and not terms.classes and not drills.due:
        data.notes.append(
            ctx.t(
                "合同未约定备份与演练要求（contract.toml 的 [continuity]）。",
                "The contract names no continuity terms.",
            )
        )
    return data
