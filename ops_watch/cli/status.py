"""`ops-watch status`: which instance leads, since when, each instance's last heartbeat, the jobs' last runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import click

from ops_watch.cli.common import command, format_option, output_language, runtime, show
from ops_watch.core.output import render_table
from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.store.cluster import ClusterView, InstanceView, cluster_view
from ops_watch.store.job_runs import JobRun, job_runs
from ops_watch.store.leader import SQLITE_BEAT_SECONDS

INSTANCE_COLUMNS = [
    "instance",
    "role",
    "state",
    "leading_since",
    "heartbeat",
    "heartbeat_age_s",
    "started",
    "version",
]
JOB_COLUMNS = ["job", "last_start", "seconds", "ok", "last_success", "runs", "failures", "last_error"]


def _state(row: InstanceView, now: datetime, silent_after: timedelta) -> str:
    """alive, silent (no heartbeat for longer than a leader may lead without one: presumed gone) or stopped."""
    if row.role == "stopped":
        return "stopped"
    return "silent" if now - row.heartbeat_at > silent_after else "alive"


def _summary(view: ClusterView, states: dict[str, str], local: Any, lang: str) -> str:
    zh = lang == "zh"
    if not view.leader:
        return (
            "主节点：尚无（还没有 ops-watch run 在此存储上运行过）"
            if zh
            else ("leader: none yet (no ops-watch run has led on this store)")
        )
    state = states.get(view.leader, "gone")
    since = local(view.since)
    if state == "gone":  # its row went: a `run --once` when it ended, or an instance forgotten after a week
        return (
            f"主节点：当前无运行中的主节点；上一次为 {view.leader}（{since} 起），已结束"
            "（一次 run --once，或已停止一周的实例）"
            if zh
            else f"leader: none running; the last was {view.leader} from {since}, which has ended (a `run --once`, "
            "or an instance gone for a week)"
        )
    if state == "alive":
        return (
            f"主节点：{view.leader}，自 {since} 起（第 {view.epoch} 任）"
            if zh
            else f"leader: {view.leader} since {since} (epoch {view.epoch})"
        )
    return (
        f"主节点：当前无；原主节点 {view.leader}（自 {since} 起）已{'失联' if state == 'silent' else '停止'}，"
        "备节点（如有）将在下次尝试时接管"
        if zh
        else f"leader: none now: {view.leader}, leader since {since}, is {state}; a standby, if one runs, takes "
        "over at its next try"
    )


@command
@click.command("status")
@format_option
@click.pass_context
def status(ctx: click.Context, fmt: str) -> None:
    """运行状态：主节点与心跳 / Which ops-watch run leads (two nodes on PostgreSQL: docs/install.md), each instance's last heartbeat, and
    every job's last run (csv/xlsx: the jobs' rows)."""

    with runtime(ctx, rules=False) as rt:
        zone = rt.config.site.zone
        view = cluster_view(rt.store)
        runs = job_runs(rt.store)
        sqlite = rt.store.engine.dialect.name == "sqlite"
    beat = max(rt.config.ha.heartbeat.total_seconds(), SQLITE_BEAT_SECONDS if sqlite else 0)
    silent_after = max(rt.config.ha.lease, timedelta(seconds=3 * beat))
    now = utcnow()

    def local(when: datetime | None) -> str:
        return format_local(when, zone) if when else ""

    states = {r.instance: _state(r, now, silent_after) for r in view.instances}
    instances = [
        {
            "instance": r.instance,
            "node": r.node,
            "pid": r.pid,
            "role": r.role if states[r.instance] == "alive" else "-",
            "state": states[r.instance],
            "leading_since": local(r.leading_since) if states[r.instance] == "alive" else "",
            "heartbeat": local(r.heartbeat_at),
            "heartbeat_age_s": round((now - r.heartbeat_at).total_seconds(), 1),
            "started": local(r.started_at),
            "stopped": local(r.stopped_at),
            "version": r.version,
        }
        for r in view.instances
    ]
    jobs = [_job_row(run, local) for _, run in sorted(runs.items())]
    if fmt == "json":
        leader_state = states.get(view.leader, "gone") if view.leader else ""
        doc = {
            "leader": {
                "instance": view.leader if leader_state == "alive" else "",
                "last": view.leader,
                "state": leader_state,
                "epoch": view.epoch,
                "since": view.since.isoformat() if view.since else None,
            },
            "instances": instances,
            "jobs": jobs,
        }
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    if fmt in ("csv", "xlsx"):
        show(jobs, JOB_COLUMNS, fmt)
        return
    click.echo(_summary(view, states, local, output_language()))
    click.echo("")
    click.echo(render_table(instances, INSTANCE_COLUMNS))
    click.echo("")
    click.echo(render_table(jobs, JOB_COLUMNS))


def _job_row(run: JobRun, local: Any) -> dict[str, Any]:
    return {
        "job": run.name,
        "last_start": local(run.last_start),
        "last_end": local(run.last_end),
        "seconds": run.duration_seconds,
        "ok": run.last_ok,
        "last_success": local(run.last_success),
        "runs": run.runs,
        "failures": run.failures,
        "last_error": run.last_error,
    }
