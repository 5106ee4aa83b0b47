"""`ops-watch resources`: the reclaim list and the usage of each resource."""

from __future__ import annotations

import click

from ops_watch.areas.resources.utilization import reclaim_list, reclaim_totals, usage_summary
from ops_watch.cli.common import at_time, command, format_option, output_language, runtime, show


@command
@click.group("resources")
def resources_group() -> None:
    """资源利用率与可回收资源 / Utilization and what can be reclaimed (资源利用率与可回收资源)."""


RECLAIM_COLUMNS = [
    "resource_id",
    "platform",
    "tenant_unit",
    "check",
    "action",
    "reclaim_vcpu",
    "reclaim_memory_gb",
    "reclaim_storage_gb",
    "recommended_vcpu",
    "monthly_cost",
    "currency",
    "cost_basis",
    "status",
    "finding_id",
    "summary",
]


@resources_group.command("idle")
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def resources_idle(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    """可回收资源清单及节省金额 / The reclaim list: idle and oversized resources with what they cost per month, and the total saving."""

    with runtime(ctx) as rt:
        at = at_time(at_text, rt.config)
        with rt.store.session() as session:
            rows = reclaim_list(session, at)
        totals = reclaim_totals(rows)
        if fmt == "json":
            import json

            click.echo(
                json.dumps(
                    {"at": at.isoformat(), "items": rows, "totals": totals},
                    ensure_ascii=False,
                    indent=2,
                    default=str,
                )
            )
            return
        columns = RECLAIM_COLUMNS if fmt in ("csv", "xlsx") else RECLAIM_COLUMNS[:12]
        show(rows, columns, fmt)
        if fmt == "table":
            zh = output_language() == "zh"
            cur = totals["currency"]
            click.echo("")
            click.echo(
                ("可回收：" if zh else "reclaimable: ")
                + f"{totals['reclaim_vcpu']} vCPU, {totals['reclaim_memory_gb']:g} GB "
                + ("内存" if zh else "memory")
                + f", {totals['reclaim_storage_gb']:g} GB "
                + ("存储" if zh else "storage")
            )
            click.echo(
                ("每月可节省（按合同单价）：" if zh else "monthly saving at contract unit prices: ")
                + f"{totals['monthly_saving']:,.2f} {cur}"
            )
            if totals["notional_monthly"]:
                click.echo(
                    (
                        "固定费用平台闲置资源折算（不直接节省）："
                        if zh
                        else "idle capacity on fixed-fee platforms, notional (no direct saving): "
                    )
                    + f"{totals['notional_monthly']:,.2f} {cur}"
                )
            if totals["to_verify_monthly"]:
                click.echo(
                    ("待核实（无采样数据的资源）：" if zh else "to verify (resources without samples): ")
                    + f"{totals['to_verify_monthly']:,.2f} {cur}"
                )
            if totals["unpriced"]:
                click.echo(
                    ("无单价的条目：" if zh else "items without a unit price: ") + str(totals["unpriced"])
                )


USAGE_COLUMNS = [
    "platform",
    "tenant_unit",
    "resources",
    "measured",
    "vcpu",
    "used_vcpu_mean",
    "cpu_pct",
    "cpu_p95_pct",
    "memory_gb",
    "memory_pct",
    "storage_gb",
    "storage_pct",
]


@resources_group.command("usage")
@click.option("--platform", help="只看此平台 / Only this platform.")
@click.option(
    "--days", type=click.IntRange(1, 400), default=14, show_default=True, help="回看天数 / Look-back window."
)
@click.option(
    "--at",
    "at_text",
    help="截至此时间（站点时间，除非带时区）；默认现在 / As of this time (site time unless it has a zone); default now.",
)
@format_option
@click.pass_context
def resources_usage(
    ctx: click.Context, platform: str | None, days: int, at_text: str | None, fmt: str
) -> None:
    """各平台与单位的分配与使用量 / Allocated and used capacity per platform and tenant unit over the window."""
    from datetime import timedelta

    with runtime(ctx) as rt:
        at = at_time(at_text, rt.config)
        with rt.store.session() as session:
            rows = usage_summary(session, at, timedelta(days=days), platform, zone=rt.config.site.zone)
        if fmt == "table":
            for r in rows:
                r["tenant_unit"] = r.get("tenant_unit") or (
                    "（全平台）" if output_language() == "zh" else "(all)"
                )
                for key in ("cpu_pct", "cpu_p95_pct", "memory_pct", "storage_pct", "used_vcpu_mean"):
                    if isinstance(r.get(key), float):
                        r[key] = f"{r[key]:.1f}"
        show(rows, USAGE_COLUMNS if fmt == "table" else list(rows[0]) if rows else USAGE_COLUMNS, fmt)
