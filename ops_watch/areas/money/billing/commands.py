"""`ops-watch billing reconcile`: a month's statement beside what the inventory says it should cost (R11)."""

from __future__ import annotations

import json

import click

from ops_watch.areas.money.billing.model import (
    ROW_COLUMNS,
    line_row,
    parse_month,
    reconcile,
    table_row,
    totals_lines,
)
from ops_watch.cli.common import EXIT_CONFIG, command, fail, format_option, runtime
from ops_watch.core.output import render

TABLE_COLUMNS = [c for c in ROW_COLUMNS if c not in ("month", "resources")]  # the month is the title


@command
@click.group("billing")
def billing_group() -> None:
    """Monthly billing reconciliation (账单核对): the contractor's statement against the inventory."""


@billing_group.command("reconcile")
@click.option("--month", required=True, help="The month to reconcile, e.g. 2026-10.")
@format_option
@click.pass_context
def billing_reconcile(ctx: click.Context, month: str, fmt: str) -> None:
    """The month's statement lines beside the measured ones (units × days allocated ÷ days in the month ×
    the contract's unit price; fixed fees ÷ 3 a month), their difference, the totals and the lines that meet
    nothing. Money is CNY; JSON and CSV give it as exact decimal strings."""

    try:
        month = parse_month(month)
    except ValueError as exc:
        fail(f"--month: {exc}", EXIT_CONFIG)
    with runtime(ctx) as rt:
        language = rt.config.language
        zh = language == "zh"
        with rt.store.session() as session:
            rec = reconcile(session, rt.rules.contract, month)
        rows = [line_row(line, language) for line in rec.lines]
        totals = rec.totals()
        if fmt == "json":
            body = {"month": month, "has_statement": rec.has_statement, "lines": rows, "totals": totals}
            click.echo(json.dumps(body, ensure_ascii=False, indent=2))
            return
        if fmt == "csv":
            total_row = {
                "month": month,
                "platform": "合计" if zh else "total",
                "billed_amount": totals["billed_amount"],
                "measured_amount": totals["measured_amount"],
                "difference": totals["difference"],
            }
            click.echo(render([*rows, total_row], list(ROW_COLUMNS), fmt))
            return
        if not rec.has_statement:
            click.echo(
                f"{month} 没有对账单（ops-watch ingest statement 文件）；以下为按资源清单核算的金额"
                if zh
                else f"no statement for {month} ingested (ops-watch ingest statement FILE); measured lines only",
                err=True,
            )
        click.echo(render([table_row(r, language) for r in rows], TABLE_COLUMNS, "table"))
        click.echo("")
        for line in totals_lines(month, totals, language):
            click.echo(line)
