"""`ops-watch audit status`: each audit material's periods, their deadlines and what was handed in (R6)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from ops_watch.areas.governance.audit.model import (
    audit_terms,
    default_start,
    rate_of,
    status_row,
    timeliness,
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
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.core.when import parse_date

STATUS_COLUMNS = [
    "material",
    "period",
    "deadline",
    "submitted",
    "status",
    "late_by",
    "submitted_by",
    "document",
]


@command
@click.group("audit")
def audit_group() -> None:
    """审计材料报送：期限与及时率 / Audit materials (审计材料报送): deadlines, submissions and the timeliness rate (报送及时率)."""


@audit_group.command("status")
@click.option(
    "--from",
    "from_text",
    help="显示的第一个截止日（站点日期）；默认 [contract] 开始日，否则结束日前 400 天 / First deadline day shown (site date); default the [contract] start, else 400 days before the end.",
)
@click.option(
    "--to",
    "to_text",
    help="显示的最后一个截止日（站点日期）；默认至 --at；--at 之后到期的显示为未到期 / Last deadline day shown (site date); default up to --at. Periods due after --at show as not due.",
)
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在；此后的报送不计 / As of this time (site time unless it has a zone); default now. Submissions after it are not seen.",
)
@format_option
@click.pass_context
def audit_status_cmd(
    ctx: click.Context, from_text: str | None, to_text: str | None, at_text: str | None, fmt: str
) -> None:
    """审计材料：期限与报送情况 / One row per material and period whose deadline falls in the range: the deadline, the first submission,
    on time (按期) / late (迟交, and by how much) / missing (未报送) / no time recorded (未记录时间), by whom and
    which document. Periods not yet due that already have a submission are listed as 未到期 (not counted).
    Then the timeliness rate: on time ÷ due; a submission without a recorded time counts as not on time."""

    with runtime(ctx) as rt:
        zone = rt.config.site.zone
        contract = rt.rules.contract
        terms = audit_terms(contract)
        if not terms.materials:
            fail(
                "contract.toml: [audit] lists no materials: add [[audit.materials]] entries (docs/audit.md)",
                EXIT_CONFIG,
            )
        try:
            # --to names the last deadline day shown; what is known is judged as of now (or --at).
            as_of = at_time(at_text, rt.config)
            end = local_day_bounds(parse_date(to_text), zone)[1] if to_text else as_of
            as_of = min(as_of, end)
            if from_text:
                start = local_day_bounds(parse_date(from_text), zone)[0]
            else:
                start = default_start(contract, zone, end)
        except ValueError as exc:
            fail(f"--from/--to: {exc}", EXIT_CONFIG)
        if end < start:
            fail("the range ends before it starts: check --from and --to/--at", EXIT_CONFIG)
        with rt.store.session() as session:
            rows = timeliness(session, contract, zone, start, end, as_of=as_of, upcoming=True)
        language = output_language()
        rate = rate_of(rows)
        table = [status_row(r, zone, language) for r in rows]
        if fmt == "json":
            out = {
                "from": start.astimezone(zone).isoformat(),
                "to": end.astimezone(zone).isoformat(),
                "as_of": as_of.astimezone(zone).isoformat(),
                "rows": [_json_row(r, zone) for r in rows],
                "rate": rate.as_dict(),
                "rate_text": rate.text(language),
            }
            click.echo(json.dumps(out, ensure_ascii=False, indent=2))
            return
        show(table, STATUS_COLUMNS, fmt)
        if fmt == "table":
            click.echo(rate.text(language))
        else:  # csv stays one clean sheet for Excel
            click.echo(rate.text(language), err=True)


def local_time(value: datetime | None, zone: ZoneInfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat()


def _json_row(r: Any, zone: ZoneInfo) -> dict[str, Any]:
    late = r.late_by
    return {
        "material": r.material.key,
        "name": r.material.name_zh,
        "period": r.period.key,
        "due": r.due.isoformat(),
        "deadline": local_time(r.deadline, zone),
        "grace_seconds": int(r.grace.total_seconds()),
        "status": r.status,
        "submitted_at": local_time(r.first_at, zone),
        "date_only": r.date_only,
        "late_seconds": None if late is None else int(late.total_seconds()),
        "submitted_by": r.submitted_by,
        "document": r.document,
        "source": r.source,
        "received": r.received,
    }
