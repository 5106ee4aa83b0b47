"""`ops-watch continuity`: each protected system's backups and drills."""

from __future__ import annotations

import click

from ops_watch.areas.continuity.model import STATUS_COLUMNS, continuity_terms, status_rows
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


@command
@click.group("continuity")
def continuity_group() -> None:
    """备份与演练 / Backups and drills of the protected systems (备份与演练)."""


@continuity_group.command("status")
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def continuity_status(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    """各系统的备份与演练情况 / One line per protected system: last backup, last drill per type, next due date, open findings."""

    with runtime(ctx) as rt:
        terms = continuity_terms(rt.rules.contract)
        if not terms.systems and not terms.inventory_class:
            fail(
                "contract.toml has no [continuity] systems: nothing to show (docs/continuity.md)", EXIT_CONFIG
            )
        at = at_time(at_text, rt.config)
        with rt.store.session() as session:
            rows = status_rows(session, rt.rules.contract, at, rt.config.site.zone, output_language())
        if fmt == "table":
            for row in rows:
                rate = row["backup_rate_30d"]
                row["backup_rate_30d"] = "-" if rate is None else f"{rate:.1f}%"
        show(rows, STATUS_COLUMNS, fmt)
