"""`ops-watch budget status`: the year's budget execution and its year-end forecast (R11)."""

from __future__ import annotations

import json
from datetime import date

import click

from ops_watch.areas.money.budget.model import (
    LINE_COLUMNS,
    PLANNED_COLUMNS,
    budget_status,
    planned_rows,
    status_lines,
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
from ops_watch.core.when import parse_year

FIRST_YEAR, LAST_YEAR = 2000, 2100


@command
@click.group("budget")
def budget_group() -> None:
    """预算执行：执行率、结转与预测 / Budget execution (预算执行): execution rate, carry-over and the year-end forecast."""


@budget_group.command("status")
@click.option(
    "--year",
    "year_text",
    help="预算年度，如 2026；默认 --at 所在年 / The budget year, e.g. 2026; default the year of --at.",
)
@click.option(
    "--at",
    "at_text",
    help="截至此日（站点时间，除非带时区）；默认现在；此后的事件不计 / As of this day (site time unless it has a zone); default now. Events after it are not counted.",
)
@format_option
@click.pass_context
def budget_status_cmd(ctx: click.Context, year_text: str | None, at_text: str | None, fmt: str) -> None:
    """预算执行情况与年末预测 / Initial budget, adjustments, final budget, paid, execution rate and carry-over, then the forecast: the
    planned payments still to come, the year-end rate and carry-over. Amounts in 元 and 万元; JSON gives money
    as exact strings."""

    with runtime(ctx) as rt:
        at_day = at_time(at_text, rt.config).astimezone(rt.config.site.zone).date()
        year = _year(year_text, at_day)
        # A past year is shown as it ended; the current one as of the day.
        as_of = min(at_day, date(year, 12, 31))
        with rt.store.session() as session:
            status = budget_status(session, rt.rules.contract, year, as_of, language=output_language())
        if fmt == "json":
            click.echo(json.dumps(status.as_dict(), ensure_ascii=False, indent=2))
            return
        language = output_language()
        if fmt == "csv":  # one sheet for Excel: the lines, then the planned payments and what is lacking
            show(status_lines(status, language), LINE_COLUMNS, fmt)
            return
        zh = language == "zh"
        show(status_lines(status, language, details=False), LINE_COLUMNS, fmt)
        click.echo()
        click.echo("尚未支付的计划付款：" if zh else "Planned payments not yet made:")
        show(planned_rows(status, language), PLANNED_COLUMNS, fmt)
        for text in status.missing:
            click.echo(f"（预测缺：{text}）" if zh else f"(the forecast lacks: {text})")


def _year(text: str | None, at_day: date) -> int:
    if text is None:
        return at_day.year
    try:
        year = parse_year(text)
    except ValueError as exc:
        fail(f"--year: {exc}", EXIT_CONFIG)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        fail(
            f"--year: {year} is out of range ({FIRST_YEAR}–{LAST_YEAR}), e.g. --year {at_day.year}",
            EXIT_CONFIG,
        )
    if year > at_day.year:
        fail(
            f"--year: {year} has not started as of {at_day.isoformat()}: choose {at_day.year} or earlier, or give "
            f"--at a day in {year}",
            EXIT_CONFIG,
        )
    return year
