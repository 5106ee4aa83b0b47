"""`ops-watch survey coverage`: which tenant units and how many people answered the satisfaction survey (R8)."""

from __future__ import annotations

import json
from datetime import date

import click

from ops_watch.areas.governance.survey.model import (
    COVERAGE_COLUMNS,
    coverage_days,
    coverage_json,
    coverage_line,
    coverage_rows,
    parse_period,
    period_containing,
    survey_terms,
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
from ops_watch.core.when import parse_date


@command
@click.group("survey")
def survey_group() -> None:
    """满意度调查：覆盖单位与人数 / The satisfaction survey (满意度调查): units and respondents covered, not only the mean."""


@survey_group.command("coverage")
@click.option(
    "--period",
    "period_text",
    help="调查轮次：年 2026、半年 2026-H2 或季度 2026-Q3；默认 --at 所在轮次 / The survey round: a year 2026, a half 2026-H2 or a quarter 2026-Q3; default the round ([survey] "
    "period) of --at.",
)
@click.option(
    "--from",
    "from_text",
    help="起始日（站点日期），代替 --period / First day (site date), instead of --period, e.g. 2026-10-01.",
)
@click.option("--to", "to_text", help="最后一天，与 --from 同用 / Last day, with --from.")
@click.option(
    "--at",
    "at_text",
    help="截至此日（站点时间，除非带时区）；默认现在；此后的答卷不计 / As of this day (site time unless it has a zone); default now. Later answers are left out.",
)
@format_option
@click.pass_context
def survey_coverage_cmd(
    ctx: click.Context,
    period_text: str | None,
    from_text: str | None,
    to_text: str | None,
    at_text: str | None,
    fmt: str,
) -> None:
    """各单位满意度调查覆盖情况 / Per tenant unit: answers, respondents (each person once) and the mean out of 100; units without an
    answer with 0; answers from units that are not tenant units apart; then the total and the coverage line.
    The tenant units are [survey] units in contract.toml, else the inventory's."""

    if period_text and (from_text or to_text):
        fail("give either --period or --from/--to, not both", EXIT_CONFIG)
    if bool(from_text) != bool(to_text):
        fail("--from and --to go together, e.g. --from 2026-10-01 --to 2026-12-31", EXIT_CONFIG)
    with runtime(ctx) as rt:
        today = at_time(at_text, rt.config).astimezone(rt.config.site.zone).date()
        terms = survey_terms(rt.rules.contract)
        label = ""
        if from_text and to_text:
            first, last = _days(from_text, to_text)
        else:
            try:
                period = parse_period(period_text) if period_text else period_containing(today, terms.period)
            except ValueError as exc:
                fail(f"--period: {exc}", EXIT_CONFIG)
            first, last, label = period.first, period.last, period.label
        if first > today:
            fail(
                f"{first.isoformat()} is after the as-of day {today.isoformat()}: nothing can have been answered "
                "yet (give --at a later day)",
                EXIT_CONFIG,
            )
        until = min(last, today)
        with rt.store.session() as session:
            cov = coverage_days(session, terms, first, until)
        if fmt == "json":
            data = {"period": label, "as_of": today.isoformat(), **coverage_json(cov, terms)}
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        language = output_language()
        show(coverage_rows(cov, terms, language, fmt != "table"), COVERAGE_COLUMNS, fmt)
        if fmt == "table":
            zh = language == "zh"
            span = f"{first.isoformat()}～{until.isoformat()}"
            name = f"{label}（{span}）" if zh and label else f"{label} ({span})" if label else span
            source = (
                ("合同 [survey] units" if cov.units_from == "contract" else "资源清单")
                if zh
                else ("[survey] units" if cov.units_from == "contract" else "the inventory")
            )
            click.echo(
                f"{name}：{coverage_line(cov, terms, language)}；租户单位取自{source}"
                if zh
                else f"{name}: {coverage_line(cov, terms, language)}; tenant units from {source}"
            )


def _days(from_text: str, to_text: str) -> tuple[date, date]:
    try:
        first, last = parse_date(from_text), parse_date(to_text)
    except ValueError as exc:
        fail(f"--from/--to: {exc}", EXIT_CONFIG)
    if last < first:
        fail(f"--to {last} is before --from {first}", EXIT_CONFIG)
    return first, last
