"""The continuity checks on hand-made backup runs, drills and plans: backup episodes opened and resolved, the RPO,
drill cadences across a year end, failed drills re-drilled in time or not, measured RTO/RPO against the
targets, incomplete records, missed plans, unknown systems, and the contract section's validation.
On SQLite and PostgreSQL (`store`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.continuity import checks
from ops_watch.areas.continuity.kind_backup import dedupe_key
from ops_watch.areas.continuity.model import drill_completion, drill_schedule, status_rows, systems
from ops_watch.core.contract import parse_contract
from ops_watch.core.timeutil import from_store
from ops_watch.findings import engine
from ops_watch.findings.registry import CHECKS, CheckContext, FindingDraft
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.store import Store
from ops_watch.store.schema import (
    BackupJob,
    Drill,
    DrillPlan,
    EvidenceBatch,
    Finding,
    FindingEvent,
    InventoryResource,
)

ZONE = ZoneInfo("Asia/Shanghai")
RULES = Path(__file__).resolve().parents[2] / "rules" / "continuity.toml"
CONTRACT = """
[contract]
start = 2026-01-01

[continuity]
inventory_class = "vm"

[continuity.defaults]
redrill_days = 30

[continuity.classes.critical]
rpo_hours = 12
rto_minutes = 120
drill_every_days = { restore = 90, emergency = 180 }

[continuity.classes.vm]
rpo_hours = 26
require_evidence = false

[[continuity.systems]]
name = "警综"
class = "critical"

[[continuity.systems]]
name = "档案"
backup = false
drill_every_days = { restore = 365 }
require_participants = false
require_measurements = false
"""

plugins.load()


def contract(text: str = CONTRACT) -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def run(
    store: Store, fn: Callable[..., Iterable[FindingDraft]], at: str, **params: Any
) -> dict[str, FindingDraft]:
    name = next(n for n, c in CHECKS.items() if c.fn is fn)
    with store.session() as s:
        ctx = CheckContext(session=s, at=local(at).astimezone(UTC), zone=ZONE, contract=contract())
        return {d.subject: d for d in fn(ctx, CHECKS[name].params(**params))}


def backup(
    store: Store, system: str, started: str, status: str = "success", minutes: int = 30, job: str = "全量"
) -> None:
    start = local(started).astimezone(UTC)
    with store.session() as s:
        s.add(
            BackupJob(
                system=system,
                job=job,
                started=start,
                finished=start + timedelta(minutes=minutes),
                status=status,
                size_gb=10.0,
                dedupe_key=dedupe_key(system, job, start),
            )
        )


def drill(
    store: Store,
    day: str,
    system: str = "警综",
    kind: str = "restore",
    result: str = "pass",
    rto: float | None = 60,
    rpo: float | None = 10,
    participants: tuple[str, ...] = ("王建国",),
    evidence: str = "报告.pdf",
) -> None:
    with store.session() as s:
        s.add(
            Drill(
                date=date.fromisoformat(day),
                system=system,
                type=kind,
                scenario="",
                result=result,
                rto_minutes=rto,
                rpo_minutes=rpo,
                participants=list(participants),
                evidence=evidence,
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def inventory(store: Store, rid: str, known_from: str | None = None, to: date | None = None) -> None:
    """An inventory resource marked 需备份; with known_from, from a batch a check sees only from then on."""
    with store.session() as s:
        batch = None
        if known_from is not None:
            batch = EvidenceBatch(
                kind="inventory",
                source="inventory.csv",
                received_at=local(known_from).astimezone(UTC),
                known_from=local(known_from).astimezone(UTC),
                status="accepted",
            )
            s.add(batch)
            s.flush()
        s.add(
            InventoryResource(
                resource_id=rid,
                platform="警务云",
                tenant_unit="刑侦",
                type="vm",
                backup_required=True,
                allocated_from=date(2025, 1, 1),
                allocated_to=to,
                batch_id=batch.id if batch else None,
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def plan(store: Store, day: str, system: str = "警综", kind: str = "failover") -> None:
    with store.session() as s:
        s.add(
            DrillPlan(
                date=date.fromisoformat(day),
                system=system,
                type=kind,
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


# --- schedules -----------------------------------------------------------------------------------------


def test_drill_schedule_across_a_year_end() -> None:
    plan_ = drill_schedule(date(2026, 11, 1), 90, [date(2027, 1, 20)], date(2027, 6, 1))
    assert [(d.date, d.met) for d in plan_.history] == [(date(2027, 1, 30), True), (date(2027, 4, 20), False)]
    assert plan_.overdue_since == date(2027, 4, 20) and plan_.next == date(2027, 7, 19)


def test_an_early_drill_moves_the_due_date_and_a_late_one_restarts_the_clock() -> None:
    early = drill_schedule(date(2026, 1, 1), 30, [date(2026, 1, 10), date(2026, 2, 5)], date(2026, 3, 1))
    assert [(d.date, d.met) for d in early.history] == [(date(2026, 1, 31), True), (date(2026, 2, 9), True)]
    assert early.next == date(2026, 3, 7) and early.overdue_since is None
    late = drill_schedule(date(2026, 1, 1), 30, [date(2026, 2, 10)], date(2026, 3, 20))
    assert [(d.date, d.met, d.passed_on) for d in late.history] == [
        (date(2026, 1, 31), False, date(2026, 2, 10)),  # missed, then done late: the clock restarts
        (date(2026, 3, 12), False, None),
    ]
    assert late.overdue_since == date(2026, 3, 12) and late.next == date(2026, 4, 11)


def test_the_drill_completion_rate(store: Store) -> None:
    # 警综: restore due 04-01 (met 03-20), 06-18 (missed), emergency due 06-30 (met 06-01); 档案 restore
    # due 2027-01-01, outside the period.
    drill(store, "2026-03-20")
    drill(store, "2026-06-01", kind="emergency")
    with store.session() as s:
        figures = drill_completion(s, contract(), date(2026, 1, 1), date(2026, 6, 30))
    assert (figures.due, figures.done) == (3, 2) and figures.rate == pytest.approx(2 / 3)


# --- backups -------------------------------------------------------------------------------------------


def test_a_backup_failure_streak_is_one_finding_that_stays_once_it_recovered(store: Store) -> None:
    rules = ruleset("backup_failed")
    backup(store, "警综", "2026-11-01 00:30")
    backup(store, "警综", "2026-11-01 12:30", "failed")
    backup(store, "警综", "2026-11-02 00:30", "partial")
    first = engine.evaluate(store, rules, local("2026-11-02 09:00"), zone=ZONE)
    assert len(first.opened) == 1
    found = run(store, checks.backup_failed, "2026-11-02 09:00")["警综"]
    assert (
        found.period_start == local("2026-11-01 12:30")
        and "失败 1 次" in found.summary
        and "部分成功 1 次" in found.summary
        and "尚未恢复" in found.summary
    )
    assert found.evidence["last_good_run"]["started"] == "2026-11-01 00:30"
    assert [r["status"] for r in found.evidence["failed_runs"]] == ["failed", "partial"]
    backup(store, "警综", "2026-11-02 12:30", "failed")  # still the same streak: no second finding
    second = engine.evaluate(store, rules, local("2026-11-02 20:00"), zone=ZONE)
    assert second.opened == [] and second.still_open == 1
    # The next success ends the streak: the finding keeps its period, says when it recovered, and is resolved
    # as over (it never reopens while the streak is still in the window).
    backup(store, "警综", "2026-11-03 00:30")
    third = engine.evaluate(store, rules, local("2026-11-03 09:00"), zone=ZONE)
    assert (third.opened, third.resolved, third.still_open) == ([], first.opened, 0)
    found = run(store, checks.backup_failed, "2026-11-03 09:00")["警综"]
    assert found.ended
    assert found.period_start == local("2026-11-01 12:30") and found.evidence["failed_count"] == 3
    assert found.evidence["recovered"] == "2026-11-03 01:00" and "2026-11-03 01:00 恢复成功" in found.summary
    assert "48.0 小时没有成功备份，超过 RPO 12 小时" in found.summary  # 11-01 01:00 to 11-03 01:00
    assert found.evidence["recovered_by"]["id"] is not None
    backup(store, "警综", "2026-11-04 00:30", "failed")  # a new streak: a new finding
    fourth = engine.evaluate(store, rules, local("2026-11-04 09:00"), zone=ZONE)
    assert len(fourth.opened) == 1 and fourth.opened != first.opened
    # Out of the window (35 days), a streak's finding is left as it is, not resolved.
    backup(store, "警综", "2026-11-04 12:30")
    later = engine.evaluate(store, rules, local("2026-12-20 09:00"), zone=ZONE)
    assert later.resolved == [] and later.still_open == 0


def test_a_streak_that_recovered_before_the_window_is_not_judged_again(store: Store) -> None:
    backup(store, "警综", "2026-09-01 00:30")
    backup(store, "警综", "2026-09-01 12:30", "failed")
    backup(store, "警综", "2026-09-02 00:30")
    backup(store, "警综", "2026-10-20 00:30", "failed")  # starts in the window of 11-10 (from 10-06)
    found = run(store, checks.backup_failed, "2026-11-10 09:00")
    assert [d.period_start for d in found.values()] == [local("2026-10-20 00:30")]
    assert found["警综"].evidence["last_success"] == "2026-09-02 01:00"  # the state the window opened in


def test_backups_that_stopped_are_missing_not_failed(store: Store) -> None:
    backup(store, "警综", "2026-11-01 00:30", minutes=30)  # ended 01:00; RPO 12 h
    assert run(store, checks.backup_missing, "2026-11-01 13:00") == {}  # losing exactly the RPO is allowed
    found = run(store, checks.backup_missing, "2026-11-01 13:01")["警综"]
    assert run(store, checks.backup_failed, "2026-11-01 13:01") == {}  # nothing ran, so nothing failed
    assert found.period_start == local("2026-11-01 13:00") and "超过 RPO 12 小时" in found.summary
    assert found.evidence["last_run"]["started"] == "2026-11-01 00:30" and found.evidence["next_run"] is None
    # Two days later a run comes: the gap closed, and it is still a finding about its period.
    backup(store, "警综", "2026-11-03 09:00")
    closed = run(store, checks.backup_missing, "2026-11-03 12:00")["警综"]
    assert closed.period_start == found.period_start and closed.fingerprint("r") == found.fingerprint("r")
    assert closed.evidence["next_run"]["started"] == "2026-11-03 09:00"
    assert (
        closed.evidence["hours_without_run"] == 56.0 and "2026-11-03 09:00 才有下一次作业" in closed.summary
    )


def test_a_run_still_going_is_a_run_but_not_yet_a_success_or_a_failure(store: Store) -> None:
    backup(store, "警综", "2026-11-01 00:30")  # ended 01:00: the RPO runs out at 13:00
    backup(store, "警综", "2026-11-01 12:30", "failed", minutes=120)  # going until 14:30
    assert run(store, checks.backup_missing, "2026-11-01 13:30") == {}  # a run is going: not stopped
    assert run(store, checks.backup_failed, "2026-11-01 13:30") == {}  # not failed yet
    assert "警综" in run(store, checks.backup_failed, "2026-11-01 14:30")
    # A run that failed and then nothing: both what happened (the failure) and what did not (no run since).
    assert set(run(store, checks.backup_missing, "2026-11-02 02:31")) == {"警综"}
    assert run(store, checks.backup_missing, "2026-11-02 02:30") == {}


def test_backup_missing_and_inventory_systems(store: Store) -> None:
    with store.session() as s:
        for rid, to in (("VM-1", None), ("VM-2", date(2026, 10, 31))):
            s.add(
                InventoryResource(
                    resource_id=rid,
                    platform="警务云",
                    tenant_unit="刑侦",
                    type="vm",
                    backup_required=True,
                    allocated_from=date(2025, 1, 1),
                    allocated_to=to,
                    updated_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
    backup(store, "警综", "2026-11-10 00:30")
    found = run(store, checks.backup_missing, "2026-11-10 09:00")
    assert set(found) == {"VM-1"}  # 档案 needs no backup; VM-2 was reclaimed
    assert "资源清单标为需备份" in found["VM-1"].summary
    with store.session() as s:
        vm = systems(s, contract(), date(2026, 11, 10))["VM-1"]
    assert (vm.klass, vm.rpo_hours, vm.require_evidence, vm.drill_every_days) == ("vm", 26, False, {})


# --- drills --------------------------------------------------------------------------------------------


def test_drill_overdue_a_spell_a_late_drill_ended_stays_and_an_on_time_record_clears_it(store: Store) -> None:
    drill(store, "2026-03-20")
    drill(store, "2026-06-01", kind="emergency")
    found = run(store, checks.drill_overdue, "2026-07-01 09:00")
    assert set(found) == {"警综 restore"} and found["警综 restore"].period_start == local("2026-06-18 00:00")
    assert "已逾期 13 天" in found["警综 restore"].summary
    drill(store, "2026-06-20", result="fail")
    assert "警综 restore" in run(
        store, checks.drill_overdue, "2026-07-01 09:00"
    )  # a failed drill is no drill
    # A late passing drill ends the spell without undoing it: the same finding, saying when the drill came.
    drill(store, "2026-06-25")
    late = run(store, checks.drill_overdue, "2026-07-01 09:00")["警综 restore"]
    assert late.fingerprint("r") == found["警综 restore"].fingerprint("r")
    assert "逾期 7 天" in late.summary and "2026-06-25 才通过" in late.summary
    assert late.evidence["passed_late"] == "2026-06-25"
    # A record of a drill done in time, arriving later, clears it.
    drill(store, "2026-06-10")
    assert run(store, checks.drill_overdue, "2026-07-01 09:00") == {}


def test_a_failed_drill_redrilled_in_time_late_or_not_yet(store: Store) -> None:
    drill(store, "2026-03-01", result="fail")
    drill(store, "2026-03-25")  # within 30 days
    drill(store, "2026-05-01", kind="emergency", result="fail")
    drill(store, "2026-06-15", kind="emergency")  # 15 days late
    drill(store, "2026-07-01", result="fail")  # deadline 07-31
    assert set(run(store, checks.drill_failed_unresolved, "2026-07-20 09:00")) == {
        "警综 emergency 2026-05-01"
    }
    found = run(store, checks.drill_failed_unresolved, "2026-08-01 09:00")
    assert set(found) == {"警综 emergency 2026-05-01", "警综 restore 2026-07-01"}
    assert "2026-06-15 才通过，晚 15 天" in found["警综 emergency 2026-05-01"].summary


@pytest.mark.parametrize("rto, rpo, flagged", [(120, 720, set()), (121, 720, {"rto"}), (120, 721, {"rpo"})])
def test_measured_times_against_the_targets_are_inclusive(
    store: Store, rto: float, rpo: float, flagged: set[str]
) -> None:
    drill(store, "2026-03-20", rto=rto, rpo=rpo)
    got = set()
    if run(store, checks.drill_rto_exceeded, "2026-04-01 09:00"):
        got.add("rto")
    if run(store, checks.drill_rpo_exceeded, "2026-04-01 09:00"):
        got.add("rpo")
    assert got == flagged


def test_an_incomplete_record_names_what_it_lacks_by_the_systems_requirements(store: Store) -> None:
    drill(store, "2026-03-20", participants=(), evidence="", rto=None, rpo=None)
    drill(store, "2026-03-21", kind="emergency", rpo=None)  # an emergency drill needs no RPO
    drill(
        store, "2026-03-22", system="档案", participants=(), rto=None, rpo=None
    )  # 档案 requires evidence only
    found = run(store, checks.drill_record_incomplete, "2026-04-01 09:00")
    assert set(found) == {"警综 restore 2026-03-20"}
    assert found["警综 restore 2026-03-20"].evidence["missing"] == [
        "evidence",
        "participants",
        "measured RTO",
        "measured RPO",
    ]


@pytest.mark.parametrize(
    "done_on, missed", [("2026-10-23", False), ("2026-11-06", False), ("2026-11-07", True), (None, True)]
)
def test_a_planned_drill_must_happen_within_the_days_either_side(
    store: Store, done_on: str | None, missed: bool
) -> None:
    plan(store, "2026-10-30")
    if done_on:
        drill(store, done_on, kind="failover", result="fail")  # it took place (failing is another check's)
    assert run(store, checks.drill_plan_missed, "2026-11-06 09:00") == {}  # not yet past the 7 days
    found = run(store, checks.drill_plan_missed, "2026-11-07 09:00", within_days=7)
    assert bool(found) == missed


def test_records_naming_an_unknown_system(store: Store) -> None:
    backup(store, "警综平台", "2026-11-01 00:30")
    drill(store, "2026-03-20", system="警综平台")
    plan(store, "2026-03-20", system="警宗")
    # The contract makes inventory resources systems: until an inventory has arrived, no name is unknown yet.
    inventory(store, "VM-1", known_from="2026-11-05 00:00")
    assert run(store, checks.continuity_unknown_system, "2026-11-02 09:00") == {}
    found = run(store, checks.continuity_unknown_system, "2026-11-05 09:00")
    assert set(found) == {"警综平台", "警宗"}
    assert found["警综平台"].evidence["records"] == {"backup_jobs": 1, "drills": 1}
    assert run(store, checks.drill_rto_exceeded, "2026-11-02 09:00") == {}  # never judged against a guess
    assert run(store, checks.drill_plan_missed, "2026-11-02 09:00") == {}


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[continuity.systems]]\nname = "a"\ndrill_every_days = { audit = 30 }', "drill_every_days.audit"),
        (
            '[[continuity.systems]]\nname = "a"\ndrill_every_days = { restore = 0 }',
            "a cadence is a number of days above 0",
        ),
        ('[[continuity.systems]]\nname = "a"\nclass = "gold"', "class 'gold' is not defined (classes: none)"),
        ('inventory_class = "x"', "inventory_class 'x' is not a class"),
        (
            '[[continuity.systems]]\nname = "a"\n[[continuity.systems]]\nname = "a"',
            "system 'a' is listed twice",
        ),
        ("[continuity.defaults]\nrpo_hours = 0", "continuity.defaults.rpo_hours"),
    ],
)
def test_the_continuity_section_is_validated(body: str, message: str) -> None:
    problems: list[str] = []
    parse_contract(tomllib.loads("[continuity]\n" + body + "\n"), "contract.toml", problems)
    assert any(message in p and p.startswith("contract.toml: continuity") for p in problems), problems


def ruleset(check_name: str) -> RuleSet:
    problems: list[str] = []
    rules = parse_rules(
        tomllib.loads(f'[[rule]]\nid = "r"\ncheck = "{check_name}"\nseverity = "warning"\n'),
        "x.toml",
        problems,
    )
    assert problems == []
    return RuleSet(rules=rules, contract=contract())


def continuity_rules(terms: dict[str, Any]) -> RuleSet:
    """Every rule of rules/continuity.toml, under the contract `terms`."""
    problems: list[str] = []
    rules = parse_rules(tomllib.loads(RULES.read_text(encoding="utf-8")), RULES.name, problems)
    assert problems == [] and len(rules) == 9
    return RuleSet(rules=rules, contract=terms)


def ever_opened(store: Store) -> set[tuple[str, str, datetime | None, datetime | None]]:
    with store.session() as s:
        return {
            (f.rule_id, f.subject, from_store(f.period_start), from_store(f.period_end))
            for f in s.scalars(select(Finding))
        }


# --- the month judged once and day by day ----------------------------------------------------------------


def test_every_episode_of_the_month_judged_once_is_what_the_replay_opened(store: Store) -> None:
    # A failure streak that recovered, a gap that closed, a gap still open at the end, an overdue spell a late
    # drill ended, a failed drill re-drilled late, a planned drill not done.
    for day in range(1, 31):
        if day in (5, 6):
            continue  # 11-04 12:30's run ended 12:40: no run until 11-07 00:30
        if day <= 27:
            backup(store, "警综", f"2026-11-{day:02d} 00:30", "failed" if day in (10, 11) else "success")
            backup(store, "警综", f"2026-11-{day:02d} 12:30", minutes=10)
    drill(store, "2026-07-01", kind="emergency", result="fail")  # re-drill due by 07-31
    drill(store, "2026-08-10", kind="emergency")
    drill(
        store, "2026-11-20"
    )  # restore: due 04-01 (missed: no drill since the start) ... passed late on 11-20
    plan(store, "2026-11-12", kind="failover")
    rules = continuity_rules(contract())
    end = local("2026-11-30 23:59:59")
    assert engine.evaluate(store, rules, end, zone=ZONE).failed_rules == {}
    once = ever_opened(store)
    with store.session() as s:
        s.execute(delete(FindingEvent))
        s.execute(delete(Finding))
    days = engine.replay(store, rules, date(2026, 11, 1), date(2026, 11, 30), zone=ZONE)
    assert all(d.failed_rules == {} for d in days)
    assert ever_opened(store) == once
    by_rule = {(rule, subject, start) for rule, subject, start, _ in once}
    assert {
        ("backup-failed", "警综", local("2026-11-10 00:30")),
        ("backup-missing", "警综", local("2026-11-05 00:40")),  # 11-04 12:40 + 12 h
        ("backup-missing", "警综", local("2026-11-28 00:40")),  # 11-27 12:40 + 12 h, still open
        ("drill-overdue", "警综 restore", local("2026-04-01 00:00")),
        ("drill-failed-unresolved", "警综 emergency 2026-07-01", local("2026-07-01 00:00")),
        ("drill-plan-missed", "警综 failover 2026-11-12", local("2026-11-12 00:00")),
    } <= by_rule
    with store.session() as s:
        status = {(f.rule_id, f.subject): f.status for f in s.scalars(select(Finding))}
    # Recovered: still a finding about its period, resolved as over; the gap going on at the end is open.
    assert status[("backup-failed", "警综")] == "resolved"


# --- contract terms as contracts write them -----------------------------------------------------------------

DRILL_RPO = CONTRACT.replace("[continuity.defaults]\n", "[continuity.defaults]\ndrill_rpo_minutes = 60\n")


def test_a_drill_rpo_set_apart_from_the_backup_rpo(store: Store) -> None:
    # Backups: RPO 12 h (the class). Drills: 60 minutes (the defaults), whatever the backup RPO.
    with store.session() as s:
        vm = systems(s, contract(DRILL_RPO))["警综"]
    assert (vm.rpo_hours, vm.drill_rpo) == (12, (60, "drill_rpo_minutes"))
    drill(store, "2026-03-20", rpo=60)
    drill(store, "2026-03-21", kind="emergency", rpo=61)
    with store.session() as s:
        ctx = CheckContext(session=s, at=local("2026-04-01 09:00"), zone=ZONE, contract=contract(DRILL_RPO))
        found = {d.subject: d for d in checks.drill_rpo_exceeded(ctx, CHECKS["drill_rpo_exceeded"].params())}
    assert set(found) == {"警综 emergency 2026-03-21"}
    evidence = found["警综 emergency 2026-03-21"].evidence
    assert (evidence["target_minutes"], evidence["target_key"]) == (60, "drill_rpo_minutes")
    assert "超过目标 60 分钟" in found["警综 emergency 2026-03-21"].summary
    # Unset: the drill is held to the RPO, as before (720 minutes).
    assert run(store, checks.drill_rpo_exceeded, "2026-04-01 09:00") == {}
    # The backups keep their own RPO: a run 12 h apart is no gap.
    backup(store, "警综", "2026-11-01 00:30")
    backup(store, "警综", "2026-11-01 12:30")
    with store.session() as s:
        ctx = CheckContext(session=s, at=local("2026-11-01 13:00"), zone=ZONE, contract=contract(DRILL_RPO))
        assert list(checks.backup_missing(ctx, CHECKS["backup_missing"].params())) == []


EITHER = CONTRACT.replace(
    "drill_every_days = { restore = 90, emergency = 180 }",
    'drill_every_days = { restore = 90, "failover | emergency" = 180 }',
)


def test_a_cadence_met_by_any_of_several_drill_types(store: Store) -> None:
    terms = contract(EITHER)
    with store.session() as s:
        assert systems(s, terms)["警综"].drill_every_days == {"restore": 90, "emergency|failover": 180}

    def overdue(at: str) -> dict[str, FindingDraft]:
        with store.session() as s:
            ctx = CheckContext(session=s, at=local(at).astimezone(UTC), zone=ZONE, contract=terms)
            return {d.subject: d for d in checks.drill_overdue(ctx, CHECKS["drill_overdue"].params())}

    drill(store, "2026-03-20")
    drill(store, "2026-06-05")
    # Due 06-30 (180 days from 01-01): an emergency or a failover drill. None yet on 07-01.
    found = overdue("2026-07-01 09:00")["警综 emergency|failover"]
    assert "应急演练或切换演练已逾期 1 天" in found.summary and found.evidence["type"] == "emergency|failover"
    drill(store, "2026-06-20", kind="failover")  # a failover drill meets it
    assert overdue("2026-07-01 09:00") == {}
    with store.session() as s:
        rows = {r["system"]: r for r in status_rows(s, terms, local("2026-07-01 09:00"), ZONE)}
        figures = drill_completion(s, terms, date(2026, 1, 1), date(2026, 6, 30))
    assert rows["警综"]["next_due"] == "应急演练或切换演练 2026-12-17；备份恢复演练 2026-09-03"
    assert "切换演练 2026-06-20 通过" in rows["警综"]["drills"]
    # restore 04-01 (met 03-20), 06-18 (met 06-05); emergency|failover 06-30 (met 06-20).
    assert (figures.due, figures.done) == (3, 3)
    assert {i["type"] for i in figures.items} == {"restore", "emergency|failover"}


@pytest.mark.parametrize(
    "cadence, message",
    [
        (
            '{ "emergency|audit" = 180 }',
            "drill_every_days.emergency|audit.[key]: 'audit' is not a drill type",
        ),
        ('{ "restore|restore" = 90 }', "'restore|restore' names a drill type twice"),
        (
            '{ "emergency|failover" = 180, "failover|emergency" = 90 }',
            "'emergency|failover' and 'failover|emergency' are the same drill types",
        ),
        ('{ "|" = 90 }', "'' is not a drill type"),
    ],
)
def test_a_cadence_of_several_types_is_validated_naming_its_key(cadence: str, message: str) -> None:
    problems: list[str] = []
    text = f"[continuity]\n[continuity.classes.gold]\ndrill_every_days = {cadence}\n"
    parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert any(
        message in p and p.startswith("contract.toml: continuity.classes.gold.drill_every_days")
        for p in problems
    ), problems


# --- terms the site never wrote -----------------------------------------------------------------------------


def test_without_a_continuity_section_nothing_continuity_is_judged(store: Store) -> None:
    # Evidence of every kind, each of which the terms above would judge: failed and missing backups, a failed
    # drill never re-drilled, measurements over any target, an incomplete record, a missed plan, unknown names.
    backup(store, "警综", "2026-11-01 00:30", "failed")
    backup(store, "别的系统", "2026-11-01 00:30")
    drill(store, "2026-03-20", result="fail", rto=9999, rpo=9999, participants=(), evidence="")
    plan(store, "2026-10-01")
    inventory(store, "VM-1")
    bare = contract("[contract]\nstart = 2026-01-01\n")
    rules = continuity_rules(bare)
    result = engine.evaluate(store, rules, local("2026-11-20 09:00"), zone=ZONE)
    assert result.failed_rules == {} and result.opened == []
    # The same evidence under the terms is judged: the test above is not empty by accident.
    judged = engine.evaluate(store, continuity_rules(contract()), local("2026-11-20 09:00"), zone=ZONE)
    with store.session() as s:
        checks_found = {f.check for f in s.scalars(select(Finding)) if f.id in judged.opened}
    assert checks_found >= {
        "backup_failed",
        "backup_missing",
        "drill_failed_unresolved",
        "drill_rto_exceeded",
        "drill_record_incomplete",
        "drill_plan_missed",
        "continuity_unknown_system",
    }
