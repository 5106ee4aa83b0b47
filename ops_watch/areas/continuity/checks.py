"""Continuity checks (R3): every protected system held to its backup and drill obligations.

The obligations come from `[continuity]` in contract.toml (ops_watch.areas.continuity.model resolves them per system).
Backup findings are episodes: a failure streak (backup_failed: from the first failed run to the next success)
or a gap (backup_missing: from the RPO running out after a run to the next run). An episode that has ended is
still a finding about its period, as an overdue spell a late drill ended is, so the month judged once and the
month replayed day by day give the same findings; backup checks judge a window (`lookback`) and leave findings
about older episodes as they are (`ctx.scope_start`). Without a [continuity] section there is no system, and
nothing is judged. Drill findings are about a record or a due date, and carry the drill (or the plan) that
justifies them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import func, select

from ops_watch.areas.continuity.model import (
    FailureStreak,
    Gap,
    System,
    backup_gaps,
    continuity_terms,
    drill_label,
    drill_schedule,
    drills_by,
    drills_for,
    failure_streaks,
    obligations_start,
    overdue_spells,
    passes_of,
    plans,
    run_done,
    runs_for_window,
    systems,
)
from ops_watch.config import Duration
from ops_watch.core.timeutil import format_local, from_store, local_day_bounds
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, Params, check
from ops_watch.store.schema import BackupJob, Drill, DrillPlan, InventoryResource

STATUS_ZH = {"success": "成功", "failed": "失败", "partial": "部分成功"}
MAX_LISTED = 20


def _today(ctx: CheckContext) -> date:
    return ctx.at.astimezone(ctx.zone).date()


def _day_start(ctx: CheckContext, day: date) -> datetime:
    return local_day_bounds(day, ctx.zone)[0]


def _kind(ctx: CheckContext, kind: str) -> str:
    return ctx.t(drill_label(kind, True), f"{drill_label(kind, False)} drill")


def _systems(ctx: CheckContext) -> dict[str, System]:
    """The protected systems as known at ctx.at: the contract's, and those of an inventory that had arrived
    by then. No [continuity] section: none, so no continuity check judges anything."""
    return systems(ctx.session, ctx.contract, _today(ctx), ctx.arrived(InventoryResource))


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


class BackupParams(Params):
    # How far back each evaluation judges backup episodes: every episode reaching into it is reported, the
    # ones that ended too. Findings about episodes that ended before it are left as they are.
    lookback: Duration = timedelta(days=35)


def _window(ctx: CheckContext, params: BackupParams) -> datetime:
    ctx.scope_start = ctx.at - params.lookback
    return ctx.scope_start


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}"


@check(
    "backup_failed",
    params=BackupParams,
    area="continuity",
    terms="continuity",
    example="""
[[rule]]
id = "backup-failed"
check = "backup_failed"
severity = "warning"
title = "备份作业失败（直到下一次成功备份）"
[rule.params]
lookback = "35d"
""",
)
def backup_failed(ctx: CheckContext, params: BackupParams) -> Iterator[FindingDraft]:
    """A run that ran and failed: one finding per system and failure streak, from the first failed or partial
    run after a success to the next successful run. A streak that has recovered is still a finding about its
    period (the recovery is in its evidence), so a month judged once and day by day say the same. A system
    with no run at all is backup_missing's."""
    # runs_for_window() reads the runs without ctx.arrived: each streak rests on their seals.
    ctx.reads(BackupJob)
    scope_start = _window(ctx, params)
    for system in _systems(ctx).values():
        if not system.backup:
            continue
        runs = runs_for_window(ctx.session, system.name, scope_start, ctx.at)
        for streak in failure_streaks(runs, ctx.at):
            if streak.end is not None and streak.end < scope_start:
                continue
            yield _streak_finding(ctx, system, streak)


def _streak_finding(ctx: CheckContext, system: System, streak: FailureStreak) -> FindingDraft:
    start, end, last_good = streak.start, streak.end, streak.last_good
    ok_at = run_done(last_good) if last_good is not None else None
    counts: dict[str, int] = defaultdict(int)
    for j in streak.failed:
        counts[j.status] += 1
    zh = ["、".join(f"{STATUS_ZH.get(k, k)} {n} 次" for k, n in sorted(counts.items()))]
    en = [", ".join(f"{n} {k}" for k, n in sorted(counts.items()))]
    if ok_at is None:
        zh.append("此前从未成功备份")
        en.append("never backed up successfully before")
    else:
        zh.append(f"此前最近一次成功备份在 {format_local(ok_at, ctx.zone)}")
        en.append(f"last success before it {format_local(ok_at, ctx.zone)}")
    if end is not None:
        zh.append(f"{format_local(end, ctx.zone)} 恢复成功")
        en.append(f"recovered {format_local(end, ctx.zone)}")
    else:
        zh.append("尚未恢复")
        en.append("not recovered yet")
    # Past the RPO without a success (until the recovery, or now): the data at risk, said with the failures.
    without = ((end or ctx.at) - ok_at) if ok_at is not None else None
    if without is not None and without > system.rpo:
        zh.append(f"{_hours(without)} 小时没有成功备份，超过 RPO {_num(system.rpo_hours)} 小时")
        en.append(f"{_hours(without)} h without a success, beyond the RPO of {_num(system.rpo_hours)} h")
    return FindingDraft(
        subject=system.name,
        period_start=start,
        ended=end is not None,  # recovered: a finding about the streak, already over
        summary=ctx.t(
            f"{system.name} 自 {format_local(start, ctx.zone)} 起备份失败：" + "；".join(zh),
            f"{system.name}: backups failing since {format_local(start, ctx.zone)}: " + "; ".join(en),
        ),
        evidence={
            "system": system.name,
            "rpo_hours": system.rpo_hours,
            "last_success": format_local(ok_at, ctx.zone) if ok_at else None,
            "last_good_run": _run(ctx, last_good) if last_good is not None else None,
            "first_failed_run": _run(ctx, streak.failed[0]),  # the streak's start, however long it grew
            "failed_runs": [_run(ctx, j) for j in streak.failed[-MAX_LISTED:]],
            "failed_count": len(streak.failed),
            "recovered": format_local(end, ctx.zone) if end else None,
            "recovered_by": _run(ctx, streak.recovered_by) if streak.recovered_by is not None else None,
        },
    )


@check(
    "backup_missing",
    params=BackupParams,
    area="continuity",
    terms="continuity",
    example="""
[[rule]]
id = "backup-missing"
check = "backup_missing"
severity = "warning"
title = "需备份的系统没有备份作业（从未备份，或停止备份超过 RPO）"
[rule.params]
lookback = "35d"
""",
)
def backup_missing(ctx: CheckContext, params: BackupParams) -> Iterator[FindingDraft]:
    """No backup run at all: a system that must be backed up and has never had a run (one finding per system,
    until its first run), or whose backups stopped: no run of any status for longer than the RPO after a run,
    one finding per gap from when the RPO ran out to the next run (a gap that later closed too). A run that
    ran and failed is backup_failed's."""
    # The runs are read below without ctx.arrived: a gap or a system never backed up rests on them.
    ctx.reads(BackupJob)
    scope_start = _window(ctx, params)
    known = set(ctx.session.scalars(select(BackupJob.system).where(BackupJob.started <= ctx.at).distinct()))
    for system in _systems(ctx).values():
        if not system.backup:
            continue
        if system.name not in known:
            where = ctx.t("合同约定" if system.source == "contract" else "资源清单标为需备份", system.source)
            yield FindingDraft(
                subject=system.name,
                summary=ctx.t(
                    f"{system.name}（{where}）须备份，但没有任何备份作业记录",
                    f"{system.name} ({where}) must be backed up, but no backup run has ever been recorded",
                ),
                evidence={"system": system.name, "class": system.klass, "source": system.source},
            )
            continue
        runs = runs_for_window(ctx.session, system.name, scope_start, ctx.at)
        for gap in backup_gaps(runs, system.rpo, ctx.at):
            if gap.end is not None and gap.end < scope_start:
                continue
            yield _gap_finding(ctx, system, gap, runs)


def _gap_finding(ctx: CheckContext, system: System, gap: Gap, runs: list[BackupJob]) -> FindingDraft:
    last_end = run_done(gap.after)
    good = [r for r in runs if r.status == "success" and run_done(r) <= last_end]
    ok_at = max((run_done(r) for r in good), default=None)
    end = gap.end
    silent = (end or ctx.at) - last_end
    last_zh = f"最近一次备份作业（{STATUS_ZH.get(gap.after.status, gap.after.status)}）{format_local(last_end, ctx.zone)} 结束"
    last_en = f"the last run ({gap.after.status}) ended {format_local(last_end, ctx.zone)}"
    if end is not None:
        zh = f"，直到 {format_local(end, ctx.zone)} 才有下一次作业，{_hours(silent)} 小时没有任何备份作业"
        en = f"; the next run started only {format_local(end, ctx.zone)}, {_hours(silent)} h without any run"
    else:
        zh = f"，此后 {_hours(silent)} 小时没有任何备份作业"
        en = f"; no run at all for {_hours(silent)} h since"
    return FindingDraft(
        subject=system.name,
        period_start=gap.start,
        ended=end is not None,  # the backups resumed: a finding about the gap, already over
        summary=ctx.t(
            f"{system.name} 停止备份：{last_zh}{zh}，超过 RPO {_num(system.rpo_hours)} 小时",
            f"{system.name}: backups stopped: {last_en}{en}, beyond the RPO of {_num(system.rpo_hours)} h",
        ),
        evidence={
            "system": system.name,
            "rpo_hours": system.rpo_hours,
            "rpo_ran_out": format_local(gap.start, ctx.zone),
            "last_run": _run(ctx, gap.after),
            "last_success": format_local(ok_at, ctx.zone) if ok_at else None,
            "next_run": _run(ctx, gap.ended_by) if gap.ended_by is not None else None,
            "hours_without_run": round(silent.total_seconds() / 3600, 1),
        },
    )


# --- drills --------------------------------------------------------------------------------------------


@check(
    "drill_overdue",
    params=NoParams,
    area="continuity",
    terms="continuity",
    example="""
[[rule]]
id = "drill-overdue"
check = "drill_overdue"
severity = "warning"
title = "演练逾期未做"
""",
)
def drill_overdue(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """No passing drill of a type (or of any type of a cadence like "emergency|failover") by its due date: one
    finding per system, cadence and overdue spell. A late passing drill ends the spell but does not undo it:
    the finding stays, saying when the drill came (as drill_failed_unresolved does), so the month judged once
    and day by day say the same."""
    # drills_by() reads the drill records itself: an overdue drill rests on them (their seals).
    ctx.reads(Drill)
    today = _today(ctx)
    by = drills_by(ctx.session, today)
    for system in _systems(ctx).values():
        origin = obligations_start(ctx.contract, system)
        if origin is None:
            continue
        for kind, cadence in sorted(system.drill_every_days.items()):
            done = drills_for(by, system.name, kind)
            passes = passes_of(done)
            plan = drill_schedule(origin, cadence, passes, today)
            for spell in overdue_spells(plan):
                yield _overdue_finding(ctx, system, kind, cadence, spell.since, spell.until, done)


def _overdue_finding(
    ctx: CheckContext,
    system: System,
    kind: str,
    cadence: int,
    since: date,
    late: date | None,
    done: list[Drill],
) -> FindingDraft:
    today = _today(ctx)
    before = [p for p in passes_of(done) if p <= since]
    last = max(before) if before else None
    if late is None:
        zh = f"已逾期 {(today - since).days} 天"
        en = f"overdue by {(today - since).days} days"
        tail_zh, tail_en = "", ""
    else:
        zh = f"逾期 {(late - since).days} 天"
        en = f"overdue for {(late - since).days} days"
        tail_zh, tail_en = f"；{late.isoformat()} 才通过", f"; passed only on {late}"
    return FindingDraft(
        subject=f"{system.name} {kind}",
        period_start=_day_start(ctx, since),
        ended=late is not None,  # a late drill passed: a finding about the overdue spell, already over
        summary=ctx.t(
            f"{system.name} 的{_kind(ctx, kind)}{zh}（每 {cadence} 天一次，"
            f"应在 {since.isoformat()} 前完成；上次通过：{last.isoformat() if last else '无'}）{tail_zh}",
            f"{system.name}: {drill_label(kind, False)} drill {en} (every {cadence} days, "
            f"due {since}; last passed: {last or 'never'}){tail_en}",
        ),
        evidence={
            "system": system.name,
            "type": kind,
            "cadence_days": cadence,
            "due": since.isoformat(),
            "last_pass": last.isoformat() if last else None,
            "passed_late": late.isoformat() if late else None,
            "drills": [_drill_evidence(d) for d in [d for d in done if d.date <= (late or today)][-5:]],
        },
    )


@check(
    "drill_failed_unresolved",
    params=NoParams,
    area="continuity",
    terms="continuity",
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
    # drills_by() reads the drill records itself: the failed drill and its re-drills are grounds.
    ctx.reads(Drill)
    today = _today(ctx)
    known = _systems(ctx)
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
    # The drill records are read below without ctx.arrived (drill_rto_exceeded, drill_rpo_exceeded).
    ctx.reads(Drill)
    today = _today(ctx)
    known = _systems(ctx)
    for d in ctx.session.scalars(select(Drill).where(Drill.date <= today).order_by(Drill.date, Drill.system)):
        system = known.get(d.system)
        value = getattr(d, field)
        if system is None or value is None:
            continue
        target, key = target_of(system)
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
            evidence={**_drill_evidence(d), "target_minutes": target, "target_key": key},
        )


@check(
    "drill_rto_exceeded",
    params=NoParams,
    area="continuity",
    terms="continuity",
    example="""
[[rule]]
id = "drill-rto-exceeded"
check = "drill_rto_exceeded"
severity = "warning"
title = "演练恢复时间超过 RTO"
""",
)
def drill_rto_exceeded(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    yield from _measured_over(
        ctx, "rto_minutes", lambda s: (s.rto_minutes, "rto_minutes"), "恢复用时", "recovery time"
    )


@check(
    "drill_rpo_exceeded",
    params=NoParams,
    area="continuity",
    terms="continuity",
    example="""
[[rule]]
id = "drill-rpo-exceeded"
check = "drill_rpo_exceeded"
severity = "warning"
title = "演练数据丢失超过 RPO"
""",
)
def drill_rpo_exceeded(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """The measured data loss over the system's drill_rpo_minutes, or its rpo_hours x 60 when the contract sets
    no drill RPO apart."""
    yield from _measured_over(ctx, "rpo_minutes", lambda s: s.drill_rpo, "数据丢失", "data loss")


@check(
    "drill_record_incomplete",
    params=NoParams,
    area="continuity",
    terms="continuity",
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
    # The drill records are read below without ctx.arrived: the finding rests on their seals.
    ctx.reads(Drill)
    today = _today(ctx)
    known = _systems(ctx)
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
    terms="continuity",
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
    # drills_by() reads the drill records itself (the plan comes through ctx.arrived): both are grounds.
    ctx.reads(Drill)
    today = _today(ctx)
    by = drills_by(ctx.session, today)
    known = _systems(ctx)
    slack = timedelta(days=params.within_days)
    for plan in plans(ctx.session, today, ctx.arrived(DrillPlan)):
        if plan.system not in known:
            continue  # continuity_unknown_system's (no [continuity]: nothing is judged)
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
    terms="continuity",
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
    # The runs, drills and plans naming systems are read below without ctx.arrived: all are grounds.
    ctx.reads(BackupJob, Drill, DrillPlan)
    known = _systems(ctx)
    if not known:
        return  # no [continuity] terms: nothing to compare with
    if continuity_terms(ctx.contract).inventory_class and not ctx.session.scalar(
        select(func.count()).select_from(InventoryResource).where(ctx.arrived(InventoryResource))
    ):
        return  # the inventory that names the other systems has not arrived yet: no name is unknown so far
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
