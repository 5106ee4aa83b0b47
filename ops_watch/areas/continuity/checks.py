"""Continuity checks (R3): every protected system held to its backup and drill obligations.

The obligations come from `[continuity]` in contract.toml (ops_watch.areas.continuity.model resolves them per system).
Backup findings are episodes: one per system from the first failure (or the RPO running out) to the next
successful run. Drill findings are about a record or a due date, and carry the drill (or the plan) that
justifies them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import select

from ops_watch.areas.continuity.model import (
    DRILL_TYPE_ZH,
    System,
    drill_schedule,
    drills_by,
    obligations_start,
    plans,
    systems,
)
from ops_watch.core.timeutil import format_local, from_store, local_day_bounds
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, Params, check
from ops_watch.store.schema import BackupJob, Drill, DrillPlan

STATUS_ZH = {"success": "成功", "failed": "失败", "partial": "部分成功"}
MAX_LISTED = 20


def _today(ctx: CheckContext) -> date:
    return ctx.at.astimezone(ctx.zone).date()


def _day_start(ctx: CheckContext, day: date) -> datetime:
    return local_day_bounds(day, ctx.zone)[0]


def _kind(ctx: CheckContext, kind: str) -> str:
    return ctx.t(DRILL_TYPE_ZH.get(kind, kind), f"{kind} drill")


def _drill_evidence(d: Drill) -> dict[str, Any]:
    return {
        "date": d.date.isoformat(),
        "system": d.system,
        "type": d.type,
        "scenario": d.scenario,
        "result": d.result,
        "rto_minutes": d.rto_minutes,
        "rpo_minutes": d.rpo_minutes,
        "participants": list(d.participants or []),
        "evidence": d.evidence,
        "batch_id": d.batch_id,
    }


def _num(value: float) -> str:
    return f"{value:g}"


# --- backups -------------------------------------------------------------------------------------------


def _run(ctx: CheckContext, job: BackupJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "job": job.job,
        "started": format_local(from_store(job.started), ctx.zone),
        "finished": format_local(from_store(job.finished), ctx.zone) if job.finished else None,
        "status": job.status,
        "size_gb": job.size_gb,
        "batch_id": job.batch_id,
    }


@check(
    "backup_failed",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "backup-failed"
check = "backup_failed"
severity = "warning"
title = "备份失败或超过 RPO 没有成功备份"
""",
)
def backup_failed(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """One finding per system and episode: from the first failed or partial run after the last success, or
    from the moment the RPO ran out without a success, until the next successful run."""
    for system in systems(ctx.session, ctx.contract, _today(ctx)).values():
        if not system.backup:
            continue
        jobs = list(
            ctx.session.scalars(
                select(BackupJob)
                .where(BackupJob.system == system.name, BackupJob.started <= ctx.at)
                .order_by(BackupJob.started)
            )
        )
        if not jobs:
            continue  # backup_missing's
        # A success counts from when it finished: at `at`, a run still going is not yet known to succeed.
        successes = [
            j for j in jobs if j.status == "success" and from_store(j.finished or j.started) <= ctx.at
        ]
        last_ok = successes[-1] if successes else None
        since_ok = [j for j in jobs if last_ok is None or j.started > last_ok.started]
        failures = [
            j for j in since_ok if j.status != "success" and from_store(j.finished or j.started) <= ctx.at
        ]
        ok_at = from_store(last_ok.finished or last_ok.started) if last_ok else None
        starts = [from_store(failures[0].started)] if failures else []
        rpo_out = ok_at + system.rpo if ok_at else None
        if rpo_out is not None and rpo_out <= ctx.at:
            starts.append(rpo_out)
        if not starts:
            continue
        start = min(s for s in starts if s is not None)
        zh, en = [], []
        if failures:
            counts: dict[str, int] = defaultdict(int)
            for j in failures:
                counts[j.status] += 1
            zh.append("、".join(f"{STATUS_ZH[k]} {n} 次" for k, n in sorted(counts.items())))
            en.append(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        if ok_at is None:
            zh.append("从未成功备份")
            en.append("never backed up successfully")
        elif rpo_out is not None and rpo_out <= ctx.at:
            hours = (ctx.at - ok_at).total_seconds() / 3600
            zh.append(
                f"最近一次成功备份在 {format_local(ok_at, ctx.zone)}，已 {hours:.1f} 小时，超过 RPO {_num(system.rpo_hours)} 小时"
            )
            en.append(
                f"last success {format_local(ok_at, ctx.zone)}, {hours:.1f} h ago, beyond the RPO of {_num(system.rpo_hours)} h"
            )
        yield FindingDraft(
            subject=system.name,
            period_start=start,
            summary=ctx.t(
                f"{system.name} 自 {format_local(start, ctx.zone)} 起备份异常：" + "；".join(zh),
                f"{system.name}: backups failing since {format_local(start, ctx.zone)}: " + "; ".join(en),
            ),
            evidence={
                "system": system.name,
                "rpo_hours": system.rpo_hours,
                "last_success": format_local(ok_at, ctx.zone) if ok_at else None,
                "failed_runs": [_run(ctx, j) for j in failures[-MAX_LISTED:]],
                "failed_count": len(failures),
            },
        )


@check(
    "backup_missing",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "backup-missing"
check = "backup_missing"
severity = "warning"
title = "需备份的系统没有任何备份记录"
""",
)
def backup_missing(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    known = set(ctx.session.scalars(select(BackupJob.system).where(BackupJob.started <= ctx.at).distinct()))
    for system in systems(ctx.session, ctx.contract, _today(ctx)).values():
        if system.backup and system.name not in known:
            where = ctx.t("合同约定" if system.source == "contract" else "资源清单标为需备份", system.source)
            yield FindingDraft(
                subject=system.name,
                summary=ctx.t(
                    f"{system.name}（{where}）须备份，但没有任何备份作业记录",
                    f"{system.name} ({where}) must be backed up, but no backup run has ever been recorded",
                ),
                evidence={"system": system.name, "class": system.klass, "source": system.source},
            )


# --- drills --------------------------------------------------------------------------------------------


@check(
    "drill_overdue",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "drill-overdue"
check = "drill_overdue"
severity = "warning"
title = "演练逾期未做"
""",
)
def drill_overdue(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """No passing drill of a type within its cadence: one finding per system, type and overdue spell."""
    today = _today(ctx)
    by = drills_by(ctx.session, today)
    for system in systems(ctx.session, ctx.contract, _today(ctx)).values():
        origin = obligations_start(ctx.contract, system)
        if origin is None:
            continue
        for kind, cadence in sorted(system.drill_every_days.items()):
            done = by.get((system.name, kind), [])
            passes = [d.date for d in done if d.result == "pass"]
            plan = drill_schedule(origin, cadence, passes, today)
            if plan.overdue_since is None:
                continue
            since = plan.overdue_since
            last = max(passes) if passes else None
            yield FindingDraft(
                subject=f"{system.name} {kind}",
                period_start=_day_start(ctx, since),
                summary=ctx.t(
                    f"{system.name} 的{_kind(ctx, kind)}已逾期 {(today - since).days} 天（每 {cadence} 天一次，"
                    f"应在 {since.isoformat()} 前完成；上次通过：{last.isoformat() if last else '无'}）",
                    f"{system.name}: {kind} drill overdue by {(today - since).days} days (every {cadence} days, "
                    f"due {since}; last passed: {last or 'never'})",
                ),
                evidence={
                    "system": system.name,
                    "type": kind,
                    "cadence_days": cadence,
                    "due": since.isoformat(),
                    "last_pass": last.isoformat() if last else None,
                    "drills": [_drill_evidence(d) for d in done[-5:]],
                },
            )


@check(
    "drill_failed_unresolved",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "drill-failed-unresolved"
check = "drill_failed_unresolved"
severity = "warning"
title = "演练失败后未按时重新演练"
""",
)
def drill_failed_unresolved(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """A failed drill with no passing re-drill of the same type within the allowed days (a late re-drill does
    not undo the delay: the finding stays, saying when it came)."""
    today = _today(ctx)
    known = systems(ctx.session, ctx.contract, _today(ctx))
    for (name, kind), done in sorted(drills_by(ctx.session, today).items()):
        system = known.get(name)
        if system is None:
            continue
        for failed in (d for d in done if d.result == "fail"):
            deadline = failed.date + timedelta(days=system.redrill_days)
            redrills = [d.date for d in done if d.result == "pass" and d.date > failed.date]
            if redrills and redrills[0] <= deadline:
                continue
            if today <= deadline:
                continue  # still time to re-drill
            late = redrills[0] if redrills else None
            yield FindingDraft(
                subject=f"{name} {kind} {failed.date.isoformat()}",
                period_start=_day_start(ctx, failed.date),
                summary=ctx.t(
                    f"{name} 于 {failed.date.isoformat()} 的{_kind(ctx, kind)}失败，未在 {system.redrill_days} 天内"
                    f"（{deadline.isoformat()} 前）重新演练通过"
                    + (f"；{late.isoformat()} 才通过，晚 {(late - deadline).days} 天" if late else ""),
                    f"{name}: the {kind} drill of {failed.date} failed and was not passed again within "
                    f"{system.redrill_days} days (by {deadline})"
                    + (f"; passed on {late}, {(late - deadline).days} days late" if late else ""),
                ),
                evidence={
                    **_drill_evidence(failed),
                    "deadline": deadline.isoformat(),
                    "redrilled": late.isoformat() if late else None,
                },
            )


def _measured_over(
    ctx: CheckContext, field: str, target_of: Any, label_zh: str, label_en: str
) -> Iterator[FindingDraft]:
    today = _today(ctx)
    known = systems(ctx.session, ctx.contract, _today(ctx))
    for d in ctx.session.scalars(select(Drill).where(Drill.date <= today).order_by(Drill.date, Drill.system)):
        system = known.get(d.system)
        value = getattr(d, field)
        if system is None or value is None:
            continue
        target = target_of(system)
        if value <= target:
            continue
        yield FindingDraft(
            subject=f"{d.system} {d.type} {d.date.isoformat()}",
            period_start=_day_start(ctx, d.date),
            summary=ctx.t(
                f"{d.system} 于 {d.date.isoformat()} 的{_kind(ctx, d.type)}{label_zh} {_num(value)} 分钟，"
                f"超过目标 {_num(target)} 分钟",
                f"{d.system}: the {d.type} drill of {d.date} measured {label_en} {_num(value)} min, "
                f"over the target of {_num(target)} min",
            ),
            evidence={**_drill_evidence(d), "target_minutes": target},
        )


@check(
    "drill_rto_exceeded",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "drill-rto-exceeded"
check = "drill_rto_exceeded"
severity = "warning"
title = "演练恢复时间超过 RTO"
""",
)
def drill_rto_exceeded(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    yield from _measured_over(ctx, "rto_minutes", lambda s: s.rto_minutes, "恢复用时", "recovery time")


@check(
    "drill_rpo_exceeded",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "drill-rpo-exceeded"
check = "drill_rpo_exceeded"
severity = "warning"
title = "演练数据丢失超过 RPO"
""",
)
def drill_rpo_exceeded(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    yield from _measured_over(ctx, "rpo_minutes", lambda s: s.rpo_hours * 60, "数据丢失", "data loss")


@check(
    "drill_record_incomplete",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "drill-record-incomplete"
check = "drill_record_incomplete"
severity = "warning"
title = "演练记录不完整"
""",
)
def drill_record_incomplete(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """A drill record without what the contract requires: evidence, participants, the measured RTO (and RPO
    for restore and failover drills)."""
    today = _today(ctx)
    known = systems(ctx.session, ctx.contract, _today(ctx))
    for d in ctx.session.scalars(select(Drill).where(Drill.date <= today).order_by(Drill.date, Drill.system)):
        system = known.get(d.system)
        if system is None:
            continue
        missing: list[tuple[str, str]] = []
        if system.require_evidence and not d.evidence.strip():
            missing.append(("佐证材料", "evidence"))
        if system.require_participants and not d.participants:
            missing.append(("参与人员", "participants"))
        if system.require_measurements:
            if d.rto_minutes is None:
                missing.append(("恢复时间", "measured RTO"))
            if d.rpo_minutes is None and d.type in ("restore", "failover"):
                missing.append(("数据丢失", "measured RPO"))
        if not missing:
            continue
        yield FindingDraft(
            subject=f"{d.system} {d.type} {d.date.isoformat()}",
            period_start=_day_start(ctx, d.date),
            summary=ctx.t(
                f"{d.system} 于 {d.date.isoformat()} 的{_kind(ctx, d.type)}记录缺少："
                + "、".join(z for z, _ in missing),
                f"{d.system}: the {d.type} drill record of {d.date} lacks "
                + ", ".join(e for _, e in missing),
            ),
            evidence={**_drill_evidence(d), "missing": [e for _, e in missing]},
        )


class PlanParams(Params):
    # A planned drill counts as done when a drill of that system and type took place this many days either side.
    within_days: int = Field(default=7, ge=0, le=90)


@check(
    "drill_plan_missed",
    params=PlanParams,
    area="continuity",
    example="""
[[rule]]
id = "drill-plan-missed"
check = "drill_plan_missed"
severity = "warning"
title = "计划的演练未按期进行"
[rule.params]
within_days = 7
""",
)
def drill_plan_missed(ctx: CheckContext, params: PlanParams) -> Iterator[FindingDraft]:
    today = _today(ctx)
    by = drills_by(ctx.session, today)
    slack = timedelta(days=params.within_days)
    for plan in plans(ctx.session, today):
        deadline = plan.date + slack
        if today <= deadline:
            continue
        done = [d for d in by.get((plan.system, plan.type), []) if plan.date - slack <= d.date <= deadline]
        if done:
            continue
        yield FindingDraft(
            subject=f"{plan.system} {plan.type} {plan.date.isoformat()}",
            period_start=_day_start(ctx, plan.date),
            summary=ctx.t(
                f"{plan.system} 计划于 {plan.date.isoformat()} 进行的{_kind(ctx, plan.type)}未进行"
                f"（前后 {params.within_days} 天内没有该类演练记录）",
                f"{plan.system}: the {plan.type} drill planned for {plan.date} did not take place "
                f"(no such drill within {params.within_days} days of it)",
            ),
            evidence={
                "system": plan.system,
                "type": plan.type,
                "planned": plan.date.isoformat(),
                "batch_id": plan.batch_id,
            },
        )


@check(
    "continuity_unknown_system",
    params=NoParams,
    area="continuity",
    example="""
[[rule]]
id = "continuity-unknown-system"
check = "continuity_unknown_system"
severity = "warning"
title = "备份或演练记录中的系统不在合同或资源清单中"
""",
)
def continuity_unknown_system(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """Backup runs, drills or plans naming a system that is neither in contract.toml nor in the inventory: a
    typo, or a system nobody holds to any obligation. One finding per name."""
    known = systems(ctx.session, ctx.contract, _today(ctx))
    if not known:
        return  # no [continuity] terms: nothing to compare with
    today = _today(ctx)
    seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for table, column, when in (
        (BackupJob, BackupJob.system, BackupJob.started <= ctx.at),
        (Drill, Drill.system, Drill.date <= today),
        (DrillPlan, DrillPlan.system, DrillPlan.date <= today),
    ):
        for name in ctx.session.scalars(select(column).where(when)):
            if name not in known:
                seen[name][table.__tablename__] += 1
    labels = {
        "backup_jobs": ("备份作业", "backup runs"),
        "drills": ("演练记录", "drills"),
        "drill_plans": ("演练计划", "planned drills"),
    }
    for name, counts in sorted(seen.items()):
        yield FindingDraft(
            subject=name,
            summary=ctx.t(
                f"「{name}」不在合同的系统清单或资源清单中，却有 "
                + "、".join(f"{labels[t][0]} {n} 条" for t, n in sorted(counts.items()))
                + "：名称写错，或该系统未纳入合同",
                f"{name!r} is in neither the contract's systems nor the inventory, yet has "
                + ", ".join(f"{n} {labels[t][1]}" for t, n in sorted(counts.items()))
                + ": a misspelt name, or a system outside the contract",
            ),
            evidence={"system": name, "records": dict(counts), "known": sorted(known)[:50]},
        )


__all__ = ["System"]
