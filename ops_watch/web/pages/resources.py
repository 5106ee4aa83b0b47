"""资源: the reclaim list with its costs and the usage per platform (the figures of `ops-watch resources idle`
and `resources usage`, by the same functions), and a resource's hourly utilization chart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request

from ops_watch.areas.resources.utilization import (
    hour_start,
    hourly_rows,
    lookback_window,
    reclaim_list,
    reclaim_totals,
    usage_summary,
)
from ops_watch.core.timeutil import utcnow
from ops_watch.store.schema import InventoryResource
from ops_watch.web.frame import Refused, Viewer, console, render

router = APIRouter()
DAYS = (14, 30)
STATS = ("p95", "mean")
# the CLI's columns (RECLAIM_COLUMNS of `resources idle`, its table view)
RECLAIM_COLUMNS = (
    ("resource_id", "资源", "Resource"),
    ("platform", "平台", "Platform"),
    ("tenant_unit", "租户单位", "Tenant unit"),
    ("check", "检查", "Check"),
    ("action", "建议", "Action"),
    ("reclaim_vcpu", "可回收 vCPU", "vCPU"),
    ("reclaim_memory_gb", "内存 GB", "Memory GB"),
    ("reclaim_storage_gb", "存储 GB", "Storage GB"),
    ("recommended_vcpu", "建议 vCPU", "Recommended vCPU"),
    ("monthly_cost", "月费用", "Monthly cost"),
    ("currency", "币种", "Currency"),
    ("cost_basis", "计价依据", "Cost basis"),
)
USAGE_COLUMNS = (
    ("platform", "平台", "Platform"),
    ("tenant_unit", "租户单位", "Tenant unit"),
    ("resources", "资源数", "Resources"),
    ("measured", "有采样", "Measured"),
    ("vcpu", "vCPU", "vCPU"),
    ("used_vcpu_mean", "平均使用 vCPU", "Used vCPU (mean)"),
    ("cpu_pct", "CPU %", "CPU %"),
    ("cpu_p95_pct", "CPU p95 %", "CPU p95 %"),
    ("memory_gb", "内存 GB", "Memory GB"),
    ("memory_pct", "内存 %", "Memory %"),
    ("storage_gb", "存储 GB", "Storage GB"),
    ("storage_pct", "存储 %", "Storage %"),
)


def _one_of(request: Request, name: str, allowed: tuple[Any, ...]) -> Any:
    value = request.query_params.get(name, "").strip()
    if not value:
        return allowed[0]
    for a in allowed:
        if value == str(a):
            return a
    choices = ", ".join(str(a) for a in allowed)
    raise Refused(
        400,
        f"参数 {name}={value!r} 无效：可选 {choices}。",
        f"{name}={value!r} is not valid: choose {choices}.",
    )


@router.get("/resources")
def resources_page(request: Request, session: Viewer) -> Any:
    c = console(request)
    days = _one_of(request, "days", DAYS)
    at = utcnow()
    with c.runtime.store.session() as s:
        rows = reclaim_list(s, at)
        usage = usage_summary(s, at, timedelta(days=days), None, zone=c.runtime.config.site.zone)
    return render(
        request,
        "resources.html",
        {
            "rows": rows,
            "totals": reclaim_totals(rows),
            "usage": usage,
            "days": days,
            "day_choices": DAYS,
            "reclaim_columns": [(k, c.t(zh, en)) for k, zh, en in RECLAIM_COLUMNS],
            "usage_columns": [(k, c.t(zh, en)) for k, zh, en in USAGE_COLUMNS],
        },
    )


@router.get("/resources/{resource_id:path}")
def resource_page(request: Request, resource_id: str, session: Viewer) -> Any:
    c = console(request)
    days = _one_of(request, "days", DAYS)
    stat = _one_of(request, "stat", STATS)
    zone = c.runtime.config.site.zone
    win = lookback_window(utcnow(), timedelta(days=days))
    columns = ["cpu_p95", "mem_p95"] if stat == "p95" else ["cpu_mean", "mem_mean"]
    with c.runtime.store.session() as s:
        resource = s.get(InventoryResource, resource_id)
        if resource is None:
            raise Refused(404, f"没有资源 {resource_id!r}。", f"No resource {resource_id!r}.")
        info = {
            "resource_id": resource.resource_id,
            "platform": resource.platform,
            "tenant_unit": resource.tenant_unit,
            "type": resource.type,
            "vcpu": resource.vcpu,
            "memory_gb": resource.memory_gb,
            "storage_gb": resource.storage_gb,
            "allocated_from": resource.allocated_from,
            "allocated_to": resource.allocated_to,
        }
        hours = hourly_rows(s, win, [resource_id], columns).get(resource_id, [])
        findings = [r for r in reclaim_list(s, utcnow()) if r.get("resource_id") == resource_id]

    def rounded(v: Any) -> float | None:
        return None if v is None else round(float(v), 1)

    chart = {
        "title": c.t(f"每小时 CPU / 内存（{stat}，%）", f"Hourly CPU / memory ({stat}, %)"),
        "unit": "%",
        "x": [f"{hour_start(h).astimezone(zone):%Y-%m-%d %H:00}" for h, *_ in hours],
        "series": [
            {"name": "CPU", "data": [rounded(v[1]) for v in hours]},
            {"name": c.t("内存", "Memory"), "data": [rounded(v[2]) for v in hours]},
        ],
    }
    return render(
        request,
        "resource.html",
        {
            "info": info,
            "chart": chart,
            "hours": len(hours),
            "days": days,
            "stat": stat,
            "day_choices": DAYS,
            "stats": STATS,
            "rows": findings,
            "reclaim_columns": [(k, c.t(zh, en)) for k, zh, en in RECLAIM_COLUMNS],
        },
    )
