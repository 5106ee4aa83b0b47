"""Resources (R1, R2) in the weekly report: idle capacity and what it costs, usage per platform, the reclaim list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ops_watch.areas.resources.utilization import RECLAIM_CHECKS, reclaim_rows, reclaim_totals, usage_summary
from ops_watch.core.timeutil import from_store
from ops_watch.report.gather import findings_of_week
from ops_watch.report.model import Column, Figure, Table, Week
from ops_watch.report.sections import AreaContext, AreaData, report_area
from ops_watch.store.schema import Finding, InventoryResource, UtilizationHourly

ACTION_ZH = {"reclaim": "回收", "resize": "缩容", "shrink": "缩减存储", "verify": "核实"}


def _totals(ctx: AreaContext, week: Week) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The reclaim list at the week's end: the resource findings whose problem was there and not resolved."""

    open_ids = {
        line.id
        for line in (ctx.lines if week == ctx.week else findings_of_week(ctx.session, week, ctx.contract))
        if line.status != "resolved" and line.check in RECLAIM_CHECKS
    }
    findings = ctx.session.scalars(select(Finding).where(Finding.check.in_(RECLAIM_CHECKS)))
    rows = reclaim_rows(f for f in findings if f.id in open_ids)
    return rows, reclaim_totals(rows)


def _platform_usage(ctx: AreaContext, at: datetime) -> dict[str, dict[str, Any]]:
    rows = usage_summary(ctx.session, at, timedelta(days=7), zone=ctx.zone, p95=False)
    return {r["platform"]: r for r in rows if r["tenant_unit"] is None}


def hourly_by_platform(ctx: AreaContext) -> dict[str, list[tuple[datetime, float | None, float | None]]]:
    """Mean CPU and memory % over each platform's resources, hour by hour through the week."""
    week = ctx.week
    h = UtilizationHourly
    platforms = ctx.session.scalars(
        select(InventoryResource.platform).distinct().order_by(InventoryResource.platform)
    ).all()
    series: dict[str, list[tuple[datetime, float | None, float | None]]] = {}
    for platform in platforms:
        # A query per platform with its resources as IN (…): SQLite reads each resource's week through the
        # (resource_id, hour) key. Joined on the inventory it walked the hour index and looked every row of the
        # week up in the table: 6-8 s of a 13 s report for 5,000 resources (bench/weekly_report.py).
        ids = select(InventoryResource.resource_id).where(InventoryResource.platform == platform)
        rows = ctx.session.execute(
            select(h.hour, func.avg(h.cpu_mean), func.avg(h.mem_mean))
            .where(h.resource_id.in_(ids), h.hour >= week.start, h.hour < week.end)
            .group_by(h.hour)
            .order_by(h.hour)
        ).all()
        points = []
        for hour, cpu, mem in rows:
            at = from_store(hour)
            assert at is not None
            points.append((at, None if cpu is None else float(cpu), None if mem is None else float(mem)))
        if points:
            series[platform] = points
    return series


def _reclaim_table(ctx: AreaContext, rows: list[dict[str, Any]]) -> Table:
    zh = ctx.language == "zh"
    cur = "元" if zh else "CNY"
    columns = [
        Column("resource_id", "资源" if zh else "resource"),
        Column("platform", "云平台" if zh else "platform", mail=False),
        Column("tenant_unit", "使用单位" if zh else "tenant unit", mail=False),
        Column("action", "建议" if zh else "action"),
        Column("reclaim_vcpu", "可回收 vCPU" if zh else "reclaim vCPU", "int"),
        Column("reclaim_memory_gb", "可回收内存 GB" if zh else "reclaim memory GB", "float"),
        Column("reclaim_storage_gb", "可回收存储 GB" if zh else "reclaim storage GB", "float"),
        Column("monthly_cost", f"每月费用（{cur}）" if zh else f"monthly cost ({cur})", "money"),
        Column("cost_basis", "计价" if zh else "cost basis", mail=False),
        Column("summary", "说明" if zh else "summary", mail=False),
    ]
    basis_zh = {"unit_price": "合同单价", "notional": "固定费用折算"}
    out = []
    for r in rows:
        out.append(
            {
                "resource_id": r.get("resource_id"),
                "platform": r.get("platform"),
                "tenant_unit": r.get("tenant_unit"),
                "action": ACTION_ZH.get(r.get("action", ""), r.get("action")) if zh else r.get("action"),
                "reclaim_vcpu": r.get("reclaim_vcpu"),
                "reclaim_memory_gb": r.get("reclaim_memory_gb"),
                "reclaim_storage_gb": r.get("reclaim_storage_gb"),
                "monthly_cost": r.get("monthly_cost"),
                "cost_basis": basis_zh.get(r.get("cost_basis", ""), r.get("cost_basis"))
                if zh
                else r.get("cost_basis"),
                "summary": r.get("summary"),
            }
        )
    return Table(
        key="reclaim",
        title="可回收资源清单（闲置与超配）" if zh else "Reclaim list (idle and oversized resources)",
        sheet="可回收资源" if zh else "Reclaim list",
        columns=columns,
        rows=out,
    )


def _usage_table(
    ctx: AreaContext, now: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]
) -> Table:
    zh = ctx.language == "zh"
    columns = [
        Column("platform", "云平台" if zh else "platform"),
        Column("resources", "资源数" if zh else "resources", "int"),
        Column("measured", "有采样" if zh else "measured", "int"),
        Column("vcpu", "vCPU", "int"),
        Column("cpu_pct", "CPU 使用率" if zh else "CPU used", "pct"),
        Column("cpu_pct_before", "上周 CPU" if zh else "CPU last week", "pct"),
        Column("memory_pct", "内存使用率" if zh else "memory used", "pct"),
        Column("storage_pct", "存储使用率" if zh else "storage used", "pct"),
    ]
    rows = []
    for platform in sorted(now):
        r = now[platform]
        rows.append(
            {
                "platform": platform,
                "resources": r["resources"],
                "measured": r["measured"],
                "vcpu": r["vcpu"],
                "cpu_pct": r["cpu_pct"],
                "cpu_pct_before": before.get(platform, {}).get("cpu_pct"),
                "memory_pct": r["memory_pct"],
                "storage_pct": r["storage_pct"],
            }
        )
    return Table(
        key="platform_usage",
        title="各平台本周平均使用率" if zh else "Mean usage per platform this week",
        sheet="平台使用率" if zh else "Platform usage",
        columns=columns,
        rows=rows,
    )


@report_area("resources", 10, "资源使用", "Resources")
def resources(ctx: AreaContext) -> AreaData:
    from ops_watch.report import charts  # start-up time: matplotlib loads only when a chart is drawn

    zh = ctx.language == "zh"
    rows, totals = _totals(ctx, ctx.week)
    _, before = _totals(ctx, ctx.previous)
    usage = _platform_usage(ctx, ctx.week.end)
    usage_before = _platform_usage(ctx, ctx.previous.end)
    series = hourly_by_platform(ctx)
    cur = "元" if zh else "CNY"
    figures = [
        Figure(
            "idle_vcpu",
            ctx.t("可回收 vCPU", "reclaimable vCPU"),
            totals["reclaim_vcpu"],
            before["reclaim_vcpu"],
            "vCPU",
            "down",
            0,
        ),
        Figure(
            "idle_memory_gb",
            ctx.t("可回收内存", "reclaimable memory"),
            totals["reclaim_memory_gb"],
            before["reclaim_memory_gb"],
            "GB",
            "down",
            0,
        ),
        Figure(
            "idle_storage_gb",
            ctx.t("可回收存储", "reclaimable storage"),
            totals["reclaim_storage_gb"],
            before["reclaim_storage_gb"],
            "GB",
            "down",
            0,
        ),
        Figure(
            "monthly_saving",
            ctx.t("每月可节省（合同单价）", "monthly saving at contract prices"),
            totals["monthly_saving"],
            before["monthly_saving"],
            cur,
            "down",
            2,
            note=ctx.t(
                f"另有固定费用平台闲置折算 {totals['notional_monthly']:,.2f} 元、待核实 {totals['to_verify_monthly']:,.2f} 元",
                f"plus {totals['notional_monthly']:,.2f} notional on fixed-fee platforms and "
                f"{totals['to_verify_monthly']:,.2f} to verify",
            )
            if totals["notional_monthly"] or totals["to_verify_monthly"]
            else "",
        ),
    ]
    for platform in sorted(usage):
        figures.append(
            Figure(
                f"cpu_pct:{platform}",
                ctx.t(f"{platform} CPU 平均使用率", f"{platform} mean CPU use"),
                usage[platform]["cpu_pct"],
                usage_before.get(platform, {}).get("cpu_pct"),
                "%",
                "",
                1,
                note=ctx.t(
                    f"{usage[platform]['measured']}/{usage[platform]['resources']} 台有采样",
                    f"{usage[platform]['measured']} of {usage[platform]['resources']} measured",
                ),
            )
        )
    measured = any(u["measured"] for u in usage.values())
    data = AreaData(has_evidence=bool(series or rows or measured), figures=figures)
    chart = charts.utilization_chart(series, ctx.week, ctx.language, ctx.font)
    if chart is not None:
        data.charts.append(chart)
    data.tables.append(_reclaim_table(ctx, rows))
    if usage:
        data.tables.append(_usage_table(ctx, usage, usage_before))
    if totals["unpriced"]:
        data.notes.append(
            ctx.t(
                f"{totals['unpriced']} 条没有单价，未计入金额（contract.toml 的 [platforms]）。",
                f"{totals['unpriced']} items have no unit price and are not in the amounts "
                "(contract.toml [platforms]).",
            )
        )
    return data
