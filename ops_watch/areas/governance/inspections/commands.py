"""`ops-watch inspections plan|show|record|rectified`: the center's unannounced inspections (R7)."""

from __future__ import annotations

import dataclasses
import getpass
import json
from datetime import date, datetime
from typing import Any

import click

from ops_watch.areas.governance.inspections.kind import RESULTS, InspectionRow, build, save_record
from ops_watch.areas.governance.inspections.model import (
    STATUS_ZH,
    WEEKDAY_ZH,
    PlanError,
    inspection_terms,
    parse_month,
    plan_month,
    planned_statuses,
    stored_plan,
    unplanned_records,
)
from ops_watch.cli.common import (
    EXIT_CONFIG,
    at_time,
    command,
    fail,
    format_option,
    output_language,
    runtime,
    show,
)
from ops_watch.core.timeutil import format_local
from ops_watch.core.vocabulary import text as in_language
from ops_watch.core.when import parse_date
from ops_watch.formats import fields
from ops_watch.formats.spec import CellError, ParseContext
from ops_watch.runtime import Runtime
from ops_watch.store.schema import InspectionRecord

AREA_CODES = ("area",)  # what --area takes: shown as typed, the name column beside it says it in words
AREA_TITLE = {"area": "区域代码"}  # an inspection's area, not a finding's (领域)
PLAN_COLUMNS = ["day", "weekday", "area", "name"]
SHOW_COLUMNS = [
    "day",
    "weekday",
    "area",
    "name",
    "status",
    "reminded_at",
    "inspector",
    "result",
    "record_day",
]
RECORD_COLUMNS = ["day", "area", "name", "inspector", "result", "problems", "rectify_by", "rectified_on"]


def _t(rt: Runtime, zh: str, en: str) -> str:
    return in_language(output_language(), zh, en)


def _weekday(day: date, language: str) -> str:
    return f"周{WEEKDAY_ZH[day.weekday()]}" if language == "zh" else day.strftime("%a")


def _month(text: str | None, at: datetime, rt: Runtime) -> str:
    if text is None:
        return f"{at.astimezone(rt.config.site.zone):%Y-%m}"
    try:
        return parse_month(text)
    except ValueError as exc:
        fail(f"--month: {exc}", EXIT_CONFIG)


def _day(option: str, text: str) -> date:
    try:
        return parse_date(text)
    except ValueError as exc:
        fail(f"{option}: {exc}", EXIT_CONFIG)


def _area(rt: Runtime, text: str) -> str:
    terms = inspection_terms(rt.rules.contract)
    area = terms.area(text)
    if area is None:
        fail(
            _t(
                rt,
                f"--area：未知的检查区域 {text!r}，可用：{terms.known('zh')}",
                f"--area: unknown area {text!r}; use one of: {terms.known('en')}",
            ),
            EXIT_CONFIG,
        )
    return area.key


@command
@click.group("inspections")
def inspections_group() -> None:
    """不定期检查：计划、记录、整改 / The center's unannounced inspections (不定期检查): the monthly plan, the records, the rectifications."""


@inspections_group.command("plan")
@click.option(
    "--month", "month_text", required=True, help="要安排的月份，如 2026-12 / The month to plan, e.g. 2026-12."
)
@click.option(
    "--redraw",
    is_flag=True,
    help="重新抽取今天起尚未提醒的检查（已过的保留） / Draw again the inspections from today on that were not reminded yet (past ones are kept).",
)
@click.option(
    "--count",
    type=click.IntRange(0, 23),
    help="检查次数；默认 [inspections] per_month / How many inspections; default [inspections] per_month.",
)
@click.option(
    "--seed",
    help="用此种子抽取，而非新的随机种子：仅用于按记录的种子重建丢失的计划 / Draw from this seed instead of a fresh random one: only to rebuild a lost plan from its recorded seed.",
)
@click.option(
    "--by",
    "drawn_by",
    help="抽取计划的人（随计划保存）；默认登录名 / Who draws the plan (kept with it); default the login name.",
)
@click.option(
    "--show-seed",
    is_flag=True,
    help="同时显示种子（知道种子即可预知检查日） / Also print the seed (whoever has it can foresee the days).",
)
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def plan_cmd(
    ctx: click.Context,
    month_text: str,
    redraw: bool,
    count: int | None,
    seed: str | None,
    drawn_by: str | None,
    show_seed: bool,
    at_text: str | None,
    fmt: str,
) -> None:
    """抽取并保存本月检查计划 / Draw the month's inspection days (random working days from today on) and areas, and store the plan. A
    month already planned is shown as it was drawn, not drawn again (unless --redraw)."""

    with runtime(ctx) as rt:
        at = at_time(at_text, rt.config)
        month = _month(month_text, at, rt)
        if seed is not None and not (8 <= len(seed) <= 64 and seed.isalnum()):
            fail("--seed: give the recorded seed (8 to 64 letters and digits)", EXIT_CONFIG)
        try:
            result = plan_month(
                rt.store,
                rt.rules.contract,
                rt.config.site.zone,
                month,
                drawn_by or _login(),
                redraw=redraw,
                now=at,
                count=count,
                seed=seed,
            )
        except PlanError as exc:
            fail(exc.text(output_language()), EXIT_CONFIG)
        language = output_language()
        terms = inspection_terms(rt.rules.contract)
        rows = [
            {
                "day": r.day.isoformat(),
                "weekday": _weekday(r.day, language),
                "area": r.area,
                "name": terms.name_of(r.area, language),
            }
            for r in result.rows
        ]
        if fmt == "json":
            data: dict[str, Any] = {
                "month": result.month,
                "count": result.count,
                "drawn_at": result.drawn_at.isoformat(),
                "drawn_by": result.drawn_by,
                "created": result.created,
                "notes": result.notes(language, rt.config.site.zone),
                "inspections": rows,
            }
            if show_seed:
                data["seed"] = result.seed
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        if fmt == "table":
            for note in result.notes(language, rt.config.site.zone):
                click.echo(note)
            click.echo(
                _t(
                    rt,
                    f"{result.month} 不定期检查计划：{len(result.rows)} 次（{result.drawn_by} 抽取）",
                    f"Unannounced inspections of {result.month}: {len(result.rows)} (drawn by {result.drawn_by})",
                )
            )
        show(rows, PLAN_COLUMNS, fmt, titles=AREA_TITLE, codes=AREA_CODES)
        if show_seed and fmt == "table":
            click.echo(_t(rt, f"种子：{result.seed}（请妥善保管）", f"seed: {result.seed} (keep it private)"))


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@inspections_group.command("show")
@click.option(
    "--month",
    "month_text",
    help="月份，如 2026-11；默认 --at 所在月 / The month, e.g. 2026-11; default the month of --at.",
)
@click.option("--show-seed", is_flag=True, help="同时显示计划的种子 / Also print the plan's seed.")
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def show_cmd(
    ctx: click.Context, month_text: str | None, show_seed: bool, at_text: str | None, fmt: str
) -> None:
    """本月检查计划及各项状态 / The month's plan with each inspection's status (upcoming 待检查, due 待记录, done 已完成, missed 未按时检查),
    when the center was reminded, the record that fulfils it; then the month's inspections made off the plan."""

    with runtime(ctx) as rt:
        at = at_time(at_text, rt.config)
        zone = rt.config.site.zone
        today = at.astimezone(zone).date()
        month = _month(month_text, at, rt)
        language = output_language()
        terms = inspection_terms(rt.rules.contract)
        plan = stored_plan(rt.store, month)
        with rt.store.session() as session:
            statuses = planned_statuses(session, terms, today, month)
            rows = [
                {
                    "day": s.day.isoformat(),
                    "weekday": _weekday(s.day, language),
                    "area": s.area,
                    "name": terms.name_of(s.area, language),
                    "status": STATUS_ZH[s.status] if language == "zh" else s.status,
                    "reminded_at": format_local(s.reminded_at, zone) if s.reminded_at else "",
                    "inspector": s.record.inspector if s.record else "",
                    "result": s.record.result if s.record else "",
                    "record_day": s.record.day.isoformat() if s.record else "",
                }
                for s in statuses
            ]
            extra = [_record_row(r, terms, language) for r in unplanned_records(session, terms, month, today)]
        if fmt == "json":
            data: dict[str, Any] = {
                "month": month,
                "as_of": today.isoformat(),
                "planned": plan is not None,
                "drawn_at": plan.drawn_at.isoformat() if plan else None,
                "drawn_by": plan.drawn_by if plan else None,
                "inspections": rows,
                "unplanned_records": extra,
            }
            if show_seed and plan is not None:
                data["seed"] = plan.seed
            click.echo(json.dumps(data, ensure_ascii=False, default=str, indent=2))
            return
        if fmt in ("csv", "xlsx"):
            show(rows, SHOW_COLUMNS, fmt, titles=AREA_TITLE, codes=AREA_CODES)
            return
        if plan is None:
            click.echo(
                _t(
                    rt,
                    f"{month} 还没有检查计划（ops-watch inspections plan --month {month} 抽取）",
                    f"{month} has no plan yet (ops-watch inspections plan --month {month} draws one)",
                )
            )
        else:
            click.echo(
                _t(
                    rt,
                    f"{month} 不定期检查计划（{plan.drawn_by} 于 {format_local(plan.drawn_at, zone)} 抽取），"
                    f"截至 {today.isoformat()}：",
                    f"Unannounced inspections of {month} (drawn by {plan.drawn_by} at "
                    f"{format_local(plan.drawn_at, zone)}), as of {today.isoformat()}:",
                )
            )
            show(rows, SHOW_COLUMNS, fmt, titles=AREA_TITLE, codes=AREA_CODES)
            if show_seed:
                click.echo(_t(rt, f"种子：{plan.seed}", f"seed: {plan.seed}"))
        if extra:
            click.echo()
            click.echo(_t(rt, "计划外的检查记录：", "Inspections recorded off the plan:"))
            show(extra, RECORD_COLUMNS, fmt, titles=AREA_TITLE, codes=AREA_CODES)


def _record_row(r: Any, terms: Any, language: str) -> dict[str, Any]:
    return {
        "day": r.day.isoformat(),
        "area": r.area,
        "name": terms.name_of(r.area, language),
        "inspector": r.inspector,
        "result": r.result,
        "problems": r.problems,
        "rectify_by": r.rectify_by.isoformat() if r.rectify_by else "",
        "rectified_on": r.rectified_on.isoformat() if r.rectified_on else "",
    }


@inspections_group.command("record")
@click.option(
    "--date",
    "date_text",
    required=True,
    help="检查日期，如 2026-11-05 / The day of the inspection, e.g. 2026-11-05.",
)
@click.option(
    "--area",
    "area_text",
    required=True,
    help="区域：site、records、continuity（或名称/别名） / The area: site, records, continuity (or a name/alias).",
)
@click.option("--inspector", required=True, help="Who inspected (检查人).")
@click.option("--result", "result_text", required=True, help="pass (合格) or problems (发现问题).")
@click.option(
    "--problems",
    default="",
    help="发现的问题（--result problems 时必填） / What was found (required with --result problems).",
)
@click.option(
    "--rectify-by",
    "rectify_text",
    help="整改期限；默认检查日 + rectify_days / Rectification deadline; default the day + rectify_days.",
)
@click.option("--note", default="", help="随记录保存的备注 / A note kept with the record.")
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@click.pass_context
def record_cmd(
    ctx: click.Context,
    date_text: str,
    area_text: str,
    inspector: str,
    result_text: str,
    problems: str,
    rectify_text: str | None,
    note: str,
    at_text: str | None,
) -> None:
    """记录一次检查结果 / Keep an inspection's result (replaces the record of the same day and area)."""

    with runtime(ctx) as rt:
        today = at_time(at_text, rt.config).astimezone(rt.config.site.zone).date()
        day = _day("--date", date_text)
        if day > today:
            fail(
                _t(rt, f"--date：{day} 还没到，不能记录", f"--date: {day} is in the future"),
                EXIT_CONFIG,
            )
        area = _area(rt, area_text)
        pctx = ParseContext(zone=rt.config.site.zone, contract=rt.rules.contract)
        try:
            result = fields.choice(RESULTS)(result_text, pctx)
        except CellError:
            fail(
                _t(
                    rt, "--result：应为 pass（合格）或 problems（发现问题）", "--result: use pass or problems"
                ),
                EXIT_CONFIG,
            )
        if not inspector.strip():
            fail(_t(rt, "--inspector：请写检查人姓名", "--inspector: give the inspector's name"), EXIT_CONFIG)
        values = {
            "day": day,
            "area": area,
            "inspector": inspector.strip()[:128],
            "result": result,
            "problems": problems.strip(),
            "rectify_by": _day("--rectify-by", rectify_text) if rectify_text else None,
            "rectified_on": None,
            "note": note.strip(),
        }
        try:
            row = build(values, pctx)
        except CellError as exc:
            fail(
                f"--{(exc.column or 'result').replace('_', '-')}: {exc.problem.text(output_language())}",
                EXIT_CONFIG,
            )
        replaced = save_record(rt.store, row, f"ops-watch inspections record ({_login()})")
        verb = _t(rt, "已替换" if replaced else "已记录", "replaced" if replaced else "recorded")
        text = f"{verb}{_t(rt, '：', ': ')}{row.day} {area} {row.result}"
        if row.rectify_by:
            text += _t(rt, f"，整改期限 {row.rectify_by}", f", to be rectified by {row.rectify_by}")
        click.echo(text)


@inspections_group.command("rectified")
@click.option(
    "--date",
    "date_text",
    required=True,
    help="发现问题的那次检查的日期 / The day of the inspection that found the problems.",
)
@click.option("--area", "area_text", required=True, help="该次检查的区域 / Its area.")
@click.option(
    "--on", "on_text", required=True, help="问题整改完成的日期 / The day the problems were rectified."
)
@click.pass_context
def rectified_cmd(ctx: click.Context, date_text: str, area_text: str, on_text: str) -> None:
    """记录整改完成 / Record that an inspection's problems were rectified (整改完成)."""
    from sqlalchemy import select

    with runtime(ctx) as rt:
        day, on = _day("--date", date_text), _day("--on", on_text)
        area = _area(rt, area_text)
        with rt.store.session() as session:
            record = session.scalar(
                select(InspectionRecord).where(InspectionRecord.day == day, InspectionRecord.area == area)
            )
            if record is None:
                same_day = session.scalars(
                    select(InspectionRecord.area).where(InspectionRecord.day == day)
                ).all()
                fail(
                    _t(
                        rt,
                        f"没有 {day} {area} 的检查记录（当天有：{'、'.join(same_day) or '无'}）",
                        f"no inspection record of {day} {area} (that day: {', '.join(same_day) or 'none'})",
                    )
                )
            if record.result != "problems":
                fail(
                    _t(
                        rt,
                        f"{day} {area} 的检查结果为合格，没有要整改的问题",
                        f"{day} {area} passed: nothing to rectify",
                    )
                )
            if on < day:
                fail(_t(rt, f"--on：早于检查日期 {day}", f"--on: before the inspection ({day})"), EXIT_CONFIG)
            late = (on - record.rectify_by).days if record.rectify_by and on > record.rectify_by else 0
            kept = {f.name: getattr(record, f.name) for f in dataclasses.fields(InspectionRow)}
            row = InspectionRow(**{**kept, "rectified_on": on})
        # A new record of its own (sealed, naming who entered it) replaces the one the file or command brought.
        save_record(rt.store, row, f"ops-watch inspections rectified ({_login()})")
        text = _t(rt, f"已记录整改完成：{day} {area}，{on}", f"rectified: {day} {area} on {on}")
        if late:
            text += _t(rt, f"（超过期限 {late} 天）", f" ({late} day(s) after the deadline)")
        click.echo(text)
