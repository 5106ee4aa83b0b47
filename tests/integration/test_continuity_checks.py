"""The continuity checks on hand-made backup runs, drills and plans: backup episodes opened and resolved, the RPO,
drill cadences across a year end, failed drills re-drilled in time or not, measured RTO/RPO against the
targets, incomplete records, missed plans, unknown systems, and the contract section's validation.
On SQLite and PostgreSQL (`store`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.continuity import checks
from ops_watch.areas.continuity.kind_backup import dedupe_key
from ops_watch.areas.continuity.model import drill_completion, drill_schedule, systems
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.registry import CHECKS, CheckContext, FindingDraft
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.store import Store
from ops_watch.store.schema import BackupJob, Drill, DrillPlan, InventoryResource

ZONE = ZoneInfo("Asia/Shanghai")
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


def test_a_backup_failure_episode_opens_once_and_resolves_on_the_next_success(store: Store) -> None:
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
    )
    backup(store, "警综", "2026-11-02 12:30", "failed")  # still the same episode: no second finding
    second = engine.evaluate(store, rules, local("2026-11-02 20:00"), zone=ZONE)
    assert second.opened == [] and second.still_open == 1
    backup(store, "警综", "2026-11-03 00:30")
    third = engine.evaluate(store, rules, local("2026-11-03 09:00"), zone=ZONE)
    assert third.resolved == first.opened
    backup(store, "警综", "2026-11-04 00:30", "failed")  # a new episode: a new finding
    fourth = engine.evaluate(store, rules, local("2026-11-04 09:00"), zone=ZONE)
    assert len(fourth.opened) == 1 and fourth.opened != first.opened


def test_no_success_within_the_rpo_is_an_episode_even_without_failures(store: Store) -> None:
    backup(store, "警综", "2026-11-01 00:30", minutes=30)  # finished 01:00; RPO 12 h
    assert run(store, checks.backup_failed, "2026-11-01 12:59") == {}
    found = run(store, checks.backup_failed, "2026-11-01 13:00")["警综"]
    assert found.period_start == local("2026-11-01 13:00") and "超过 RPO 12 小时" in found.summary


def test_a_run_still_going_is_not_yet_a_success(store: Store) -> None:
    backup(store, "警综", "2026-11-01 00:30")
    backup(store, "警综", "2026-11-01 12:30", minutes=120)  # finishes 14:30
    assert "警综" in run(store, checks.backup_failed, "2026-11-01 13:30")  # the RPO ran out at 13:00
    assert run(store, checks.backup_failed, "2026-11-01 14:30") == {}


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


def test_drill_overdue_and_resolved_by_a_passing_drill(store: Store) -> None:
    drill(store, "2026-03-20")
    drill(store, "2026-06-01", kind="emergency")
    found = run(store, checks.drill_overdue, "2026-07-01 09:00")
    assert set(found) == {"警综 restore"} and found["警综 restore"].period_start == local("2026-06-18 00:00")
    assert "已逾期 13 天" in found["警综 restore"].summary
    drill(store, "2026-06-20", result="fail")
    assert "警综 restore" in run(
        store, checks.drill_overdue, "2026-07-01 09:00"
    )  # a failed drill is no drill
    drill(store, "2026-06-25")
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
    found = run(store, checks.continuity_unknown_system, "2026-11-02 09:00")
    assert set(found) == {"警综平台", "警宗"}
    assert found["警综平台"].evidence["records"] == {"backup_jobs": 1, "drills": 1}
    assert run(store, checks.drill_rto_exceeded, "2026-11-02 09:00") == {}  # never judged against a guess


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
