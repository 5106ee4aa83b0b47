"""`ops-watch billing reconcile`: a month's statement beside what the inventory says it should cost (R11)."""

from __future__ import annotations

import json
from datetime import date

import click

from ops_watch.areas.money.billing.model import (
    ROW_COLUMNS,
    line_row,
    month_bounds,
    parse_month,
    reconcile,
    table_row,
    totals_lines,
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

TABLE_COLUMNS = [c for c in ROW_COLUMNS if c not in ("month", "resources")]  # the month is the title


@command
@click.group("billing")
def billing_group() -> None:
    """账单核对：对账单与资源清单 / Monthly billing reconciliation (账单核对): the contractor's statement against the inventory."""


@billing_group.command("reconcile")
@click.option(
    "--month", required=True, help="要核对的月份，如 2026-10 / The month to reconcile, e.g. 2026-10."
)
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在；届时未结束的月份标为不完整 / As of this time (site time unless it has a zone); default now. A month not over by then is "
    "flagged as incomplete: its measured side runs to the month's end.",
)
@format_option
@click.pass_context
def billing_reconcile(ctx: click.Context, month: str, at_text: str | None, fmt: str) -> None:
    """月度账单逐项核对 / The month's statement lines beside the measured ones (units × days allocated ÷ days in the month ×
    the contract's unit price; fixed fees ÷ 3 a month), their difference, the totals and the lines that meet
    nothing. Money is CNY; JSON and CSV give it as exact decimal strings. As of --at, the month is complete
    or not (the check billing_mismatch judges complete months only); the statement and the inventory are as
    stored now, since the store keeps the latest version of each line, not its history."""

    try:
        month = parse_month(month)
    except ValueError as exc:
        fail(f"--month: {exc}", EXIT_CONFIG)
    with runtime(ctx) as rt:
        language = output_language()
        zh = language == "zh"
        as_of = at_time(at_text, rt.config).astimezone(rt.config.site.zone)
        complete = month_over(month, as_of.date())
        with rt.store.session() as session:
            rec = reconcile(session, rt.rules.contract, month)
        rows = [line_row(line, language) for line in rec.lines]
        totals = rec.totals()
        if fmt == "json":
            body = {
                "month": month,
                "as_of": as_of.isoformat(timespec="seconds"),
                "complete": complete,
                "has_statement": rec.has_statement,
                "lines": rows,
                "totals": totals,
            }
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
            return
        if fmt in ("csv", "xlsx"):
            total_row = {
                "month": month,
                "platform": "合计" if zh else "total",
                "billed_amount": totals["billed_amount"],
                "measured_amount": totals["measured_amount"],
                "difference": totals["difference"],
            }
            show([*rows, total_row], list(ROW_COLUMNS), fmt)
            return
        if not complete:
            click.echo(
                f"{month} 截至 {as_of:%Y-%m-%d %H:%M} 尚未结束：核算金额按整月计（至月末的资源分配），"
                "billing_mismatch 检查只核对已结束的月份"
                if zh
                else f"{month} is not over as of {as_of:%Y-%m-%d %H:%M}: the measured side counts the whole "
                "month (allocations to its end); the check billing_mismatch judges complete months only",
                err=True,
            )
        if not rec.has_statement:
            click.echo(
                f"{month} 没有对账单（ops-watch ingest statement 文件）；以下为按资源清单核算的金额"
                if zh
                else f"no statement for {month} ingested (ops-watch ingest statement FILE); measured lines only",
                err=True,
            )
        show([table_row(r, language) for r in rows], TABLE_COLUMNS, fmt)
        click.echo("")
        for line in totals_lines(month, totals, language):
            click.echo(line)


def month_over(month: str, today: date) -> bool:
    """Whether `month` has ended by the site day `today`: as billing_mismatch judges, a month is complete
    from the first day of the next one."""
    return month_bounds(month)[1] < today
