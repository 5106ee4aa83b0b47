"""Writes deploy/grafana/ops-watch.json, the Grafana board on ops-watch's metrics (docs/metrics.md):

    python scripts/grafana_board.py

Edit the panels here, not the JSON; tests/integration/test_metrics.py checks the board and runs every query."""

import json
from pathlib import Path

DS = {"type": "prometheus", "uid": "${datasource}"}
panels = []


def panel(pid, title, kind, exprs, x, y, w=8, h=8, unit=None, legend=None, extra=None):
    p = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [
            {
                "refId": chr(65 + i),
                "datasource": DS,
                "expr": e,
                "legendFormat": (legend[i] if legend else "__auto"),
                "instant": kind in ("stat", "bargauge", "table"),
                "range": kind == "timeseries",
            }
            for i, e in enumerate(exprs)
        ],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {},
    }
    if unit:
        p["fieldConfig"]["defaults"]["unit"] = unit
    if extra:
        p.update(extra)
    panels.append(p)


def row(pid: int, title: str, y: int) -> None:
    panels.append(
        {
            "id": pid,
            "type": "row",
            "title": title,
            "collapsed": False,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
            "panels": [],
        }
    )


row(1, "问题 / Findings", 0)
panel(
    2,
    "各领域未关闭问题 / Active findings by area",
    "bargauge",
    ['sum by (area) (ops_watch_findings{job=~"$job", status!="resolved"})'],
    0,
    1,
    legend=["{{area}}"],
)
panel(
    3,
    "逾期未整改 / Overdue rectifications",
    "bargauge",
    ['ops_watch_findings_overdue{job=~"$job"}'],
    8,
    1,
    legend=["{{area}}"],
)
panel(
    4,
    "未关闭问题（按级别）/ Active findings by severity",
    "timeseries",
    ['sum by (severity) (ops_watch_findings{job=~"$job", status!="resolved"})'],
    16,
    1,
    legend=["{{severity}}"],
)
row(5, "合同指标 / Contract figures", 9)
panel(
    6,
    "人员到位率 / Staffing rate",
    "stat",
    ['ops_watch_staffing_rate_ratio{job=~"$job"}'],
    0,
    10,
    w=6,
    h=6,
    unit="percentunit",
    legend=["{{period}}"],
)
panel(
    7,
    "承包商考核得分 / Contractor score",
    "stat",
    ['ops_watch_contractor_score{job=~"$job"}'],
    6,
    10,
    w=6,
    h=6,
    unit="none",
)
panel(
    8,
    "预算执行率 / Budget execution",
    "stat",
    ['ops_watch_budget_rate_ratio{job=~"$job"}'],
    12,
    10,
    w=6,
    h=6,
    unit="percentunit",
    legend=["{{kind}}"],
)
panel(
    9,
    "可回收资源月成本 / Reclaimable monthly cost",
    "stat",
    ['sum by (basis) (ops_watch_reclaimable_monthly_cost{job=~"$job"})'],
    18,
    10,
    w=6,
    h=6,
    unit="currencyCNY",
    legend=["{{basis}}"],
)
panel(
    10,
    "人员到位率趋势 / Staffing rate over time",
    "timeseries",
    ['ops_watch_staffing_rate_ratio{job=~"$job"}'],
    0,
    16,
    w=12,
    unit="percentunit",
    legend=["{{period}}"],
)
panel(
    11,
    "可回收 vCPU 与内存 / Reclaimable vCPUs and memory",
    "timeseries",
    ['ops_watch_reclaimable_vcpus{job=~"$job"}', 'ops_watch_reclaimable_memory_bytes{job=~"$job"}'],
    12,
    16,
    w=12,
    legend=["vCPU", "memory"],
    extra={
        "fieldConfig": {
            "defaults": {},
            "overrides": [
                {
                    "matcher": {"id": "byName", "options": "memory"},
                    "properties": [
                        {"id": "unit", "value": "bytes"},
                        {"id": "custom.axisPlacement", "value": "right"},
                    ],
                }
            ],
        }
    },
)
row(12, "任务与送达 / Jobs and delivery", 24)
panel(
    13,
    "任务上次是否成功 / Last run succeeded",
    "stat",
    ['ops_watch_job_succeeded{job=~"$job"}'],
    0,
    25,
    w=8,
    legend=["{{job}}"],
    extra={
        "fieldConfig": {
            "defaults": {
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "0": {"text": "失败 failed", "color": "red"},
                            "1": {"text": "成功 ok", "color": "green"},
                        },
                    }
                ]
            },
            "overrides": [],
        }
    },
)
panel(
    14,
    "距上次成功 / Since last success",
    "bargauge",
    ['time() - ops_watch_job_last_success_timestamp_seconds{job=~"$job"}'],
    8,
    25,
    w=8,
    unit="s",
    legend=["{{job}}"],
)
panel(
    15,
    "任务耗时 / Job duration",
    "timeseries",
    ['ops_watch_job_duration_seconds{job=~"$job"}'],
    16,
    25,
    w=8,
    unit="s",
    legend=["{{job}}"],
)
panel(
    16,
    "发件箱 / Outbox by status",
    "timeseries",
    ['sum by (status) (ops_watch_outbox_messages{job=~"$job"})'],
    0,
    33,
    w=8,
    legend=["{{status}}"],
)
panel(
    17,
    "最久未发消息 / Oldest unsent message",
    "stat",
    ['ops_watch_outbox_oldest_unsent_age_seconds{job=~"$job"}'],
    8,
    33,
    w=8,
    unit="s",
)
panel(
    18,
    "证据距今 / Evidence age",
    "bargauge",
    ['time() - ops_watch_evidence_newest_timestamp_seconds{job=~"$job"}'],
    16,
    33,
    w=8,
    unit="s",
    legend=["{{kind}}"],
)
panel(
    19,
    "采集轮次耗时 / Collection round duration",
    "timeseries",
    ['ops_watch_collection_round_duration_seconds{job=~"$job"}'],
    0,
    41,
    w=12,
    unit="s",
    legend=["{{source}}"],
)
panel(
    20,
    "采集目标 / Collection targets",
    "bargauge",
    ['sum by (state) (ops_watch_collection_targets{job=~"$job"})'],
    12,
    41,
    w=12,
    legend=["{{state}}"],
)
dash = {
    "title": "ops-watch 运维监管 / ops-watch supervision",
    "uid": "ops-watch",
    "description": "ops-watch's findings, contract figures, jobs and delivery (docs/metrics.md).",
    "tags": ["ops-watch"],
    "timezone": "browser",
    "editable": True,
    "schemaVersion": 39,
    "version": 1,
    "refresh": "1m",
    "time": {"from": "now-7d", "to": "now"},
    "templating": {
        "list": [
            {
                "name": "datasource",
                "label": "数据源 / Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
                "refresh": 1,
                "options": [],
            },
            {
                "name": "job",
                "label": "抓取任务 / Scrape job",
                "type": "query",
                "datasource": DS,
                "definition": "label_values(ops_watch_info, job)",
                "query": {"query": "label_values(ops_watch_info, job)", "refId": "job"},
                "current": {},
                "includeAll": True,
                "allValue": ".*",
                "multi": False,
                "refresh": 1,
                "hide": 0,
                "options": [],
                "sort": 1,
            },
        ]
    },
    "annotations": {"list": []},
    "panels": panels,
}
open(
    Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "ops-watch.json", "w", encoding="utf-8"
).write(json.dumps(dash, ensure_ascii=False, indent=2) + "\n")
print(f"{len(panels)} panels written")
