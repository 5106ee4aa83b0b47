"""`ops-watch billing reconcile`: a month's statement beside what the inventory says it should cost (R11)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click

from ops_watch.areas.money.billing.model import (
    ROW_COLUMNS,
    STATUS_EN,
    STATUS_ZH,
    item_label,
    line_row,
    money_text,
    parse_month,
    pct_text,
    quantity_text,
    reconcile,
)
from ops_watch.cli.common import EXIT_CONFIG, command, fail, format_option, runtime
from ops_watch.core.output import render

TABLE_COLUMNS = [c for c in ROW_COLUMNS if c not in ("month", "resources")]  # the month is the title


@command
@click.group("billing")
def billing_group() -> None:
    """Monthly billing reconciliation (R11): the contractor's statement against the inventory."""


def _table_row(row: dict[str, Any], language: str) -> dict[str, Any]:
    """Money with thousands separators, labels instead of codes: for people reading the terminal."""

    out = dict(row)
    out["item"] = item_label(row["item"], language)
    out["status"] = (STATUS_ZH if language == "zh" else STATUS_EN)[row["status"]]
    for key in ("billed_unit_price", "billed_amount", "measured_unit_price", "measured_amount"):
        if row.get(key) is not None:
            out[key] = money_text(Decimal(row[key]))
    for key in ("billed_quantity", "measured_quantity"):
        if row.get(key) is not None:
            out[key] = quantity_text(Decimal(row[key]))
    if row.get("difference") is not None:
        diff = Decimal(row["difference"])
        out["difference"] = ("+" if diff > 0 else "") + money_text(diff)
    if row.get("difference_pct") is not None:
        out["difference_pct"] = pct_text(Decimal(row["difference_pct"])) + " %"
    return out


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
        click.echo(render([_table_row(r, language) for r in rows], TABLE_COLUMNS, "table"))
        click.echo("")
        pct = f"{Decimal(totals['tolerance_pct']).normalize():f}"
        tolerance = f"±{pct} % / ±{money_text(Decimal(totals['tolerance_amount']))}"
        diff = Decimal(totals["difference"])
        sign = "+" if diff > 0 else ""
        if zh:
            click.echo(
                f"{month} 合计：账单 {money_text(Decimal(totals['billed_amount']))} 元，"
                f"核算 {money_text(Decimal(totals['measured_amount']))} 元，差额 {sign}{money_text(diff)} 元"
                f"（容差 {tolerance} 元，两者都超出才算不符）"
            )
            click.echo(
                f"超出容差 {totals['lines_mismatch']} 行，无对应资源 {totals['lines_unmatched']} 行"
                f"（计 {money_text(Decimal(totals['billed_unmatched_amount']))} 元），"
                f"未计费 {totals['lines_not_billed']} 行，一致 {totals['lines_ok']} 行"
            )
        else:
            click.echo(
                f"{month} totals: billed {money_text(Decimal(totals['billed_amount']))} CNY, "
                f"measured {money_text(Decimal(totals['measured_amount']))} CNY, "
                f"difference {sign}{money_text(diff)} CNY (tolerance {tolerance} CNY: a line differs beyond both)"
            )
            click.echo(
                f"{totals['lines_mismatch']} out of tolerance, {totals['lines_unmatched']} with no matching "
                f"resource ({money_text(Decimal(totals['billed_unmatched_amount']))} CNY), "
                f"{totals['lines_not_billed']} not billed, {totals['lines_ok']} ok"
            )
