"""The demo's continuity story: examples/ (the inventory, a month of backup runs, half a year of drills and the
drill plan) through the drop folder and rules/, evaluated as of 2026-11-16 09:00 +08:00, give exactly the
planted continuity findings (scripts/make-continuity-examples.py lists them); replaying the last quarter day
by day ends with the same findings, and the month of backup runs judged once at its end gives the findings
its day-by-day replay opened, each with the same subject and period. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from ops_watch.areas.continuity.model import backup_success_rates, drill_completion, status_rows
from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, load_rules
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store
from ops_watch.store.schema import Finding, FindingEvent

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)

PLANTED = {
    ("backup_failed", "JWY-VM-0007"),
    ("backup_failed", "视频图像平台"),  # failed twice on 11-10, recovered 11-11: a finding about that streak
    ("backup_missing", "案件管理系统"),
    ("drill_overdue", "人口信息库 restore"),
    ("drill_failed_unresolved", "视频图像平台 emergency 2026-08-20"),
    ("drill_rto_exceeded", "警务综合平台 restore 2026-09-01"),
    ("drill_rpo_exceeded", "视频图像平台 restore 2026-07-15"),
    ("drill_record_incomplete", "人口信息库 emergency 2026-10-22"),
    ("drill_plan_missed", "警务综合平台 failover 2026-10-30"),
}


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> tuple[Store, RuleSet]:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    config = Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var")},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
            "backups": example["backups"],  # the restic entry the example snapshots file is named after
        }
    )
    for kind in ("inventory", "backup", "drill", "drill_plan"):
        shutil.copytree(ROOT / "examples" / kind, config.drop_dir / kind)
    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZONE).timestamp()
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (produced, produced))
    results = {r.path.name: (r.status, r.rows_bad) for r in ingest_drop_folder(store, config)}
    assert results == {
        "inventory-2026-11.csv": ("partial", 2),  # the inventory's own planted bad rows
        "备份作业_2026-10-17_11-16.csv": ("accepted", 0),
        "jzpt-files_snapshots.json": ("accepted", 0),
        "演练记录_2026H2.xlsx": ("accepted", 0),
        "演练计划_2026H2.xlsx": ("accepted", 0),
    }
    return store, load_rules(ROOT / "rules")


def continuity_findings(store: Store) -> set[tuple[str, str]]:
    """The continuity findings recorded, open or about an episode already over (a streak that recovered)."""
    with store.session() as s:
        return {
            (f.check, f.subject)
            for f in s.scalars(select(Finding).where(Finding.area == "continuity"))
            if f.status != "resolved" or _ended(s, f)
        }


def _ended(session, finding: Finding) -> bool:
    reasons = session.scalars(
        select(FindingEvent.reason).where(
            FindingEvent.finding_id == finding.id, FindingEvent.action == "resolved"
        )
    )
    return engine.ENDED_REASON in set(reasons)


def test_exactly_the_planted_continuity_findings(loaded: tuple[Store, RuleSet]) -> None:
    store, rules = loaded
    result = engine.evaluate(store, rules, AS_OF, zone=ZONE)
    assert result.failed_rules == {}
    assert continuity_findings(store) == PLANTED
    with store.session() as s:
        found = {
            (f.check, f.subject): f for f in s.scalars(select(Finding).where(Finding.area == "continuity"))
        }
        fresh = set(s.scalars(select(Finding.rule_id).where(Finding.rule_id == "backup-fresh")))
    assert fresh == set()  # the runs go up to that morning
    failed = found[("backup_failed", "JWY-VM-0007")]
    assert failed.evidence["failed_count"] == 3 and failed.evidence["last_success"] == "2026-11-13 02:34"
    assert failed.evidence["recovered"] is None and failed.evidence["last_good_run"]["status"] == "success"
    recovered = found[("backup_failed", "视频图像平台")]
    assert recovered.period_start.astimezone(ZONE).date() == date(2026, 11, 10)
    assert recovered.evidence["failed_count"] == 2 and recovered.evidence["recovered"].startswith(
        "2026-11-11 0"
    )
    assert [r["status"] for r in recovered.evidence["failed_runs"]] == ["failed", "failed"]
    assert "超过 RPO 12 小时" in recovered.summary  # 11-09 12:4x to 11-11 0x:xx without a success
    assert "晚 20 天" in found[("drill_failed_unresolved", "视频图像平台 emergency 2026-08-20")].summary
    assert found[("drill_rto_exceeded", "警务综合平台 restore 2026-09-01")].evidence["target_minutes"] == 120


def test_figures_and_status(loaded: tuple[Store, RuleSet]) -> None:
    store, rules = loaded
    engine.evaluate(store, rules, AS_OF, zone=ZONE)
    with store.session() as s:
        drills = drill_completion(s, rules.contract, date(2026, 5, 18), date(2026, 11, 16))
        rates = backup_success_rates(s, datetime(2026, 10, 17, tzinfo=ZONE), AS_OF)
        rows = {r["system"]: r for r in status_rows(s, rules.contract, AS_OF, ZONE)}
    # Due in the half year: 警务综合平台 restore 08-16 and 09-08 (met 06-10, 09-01), emergency 11-14 (met
    # 10-15); 视频图像平台 restore 08-16 and 10-13 (met 07-15, 10-10), emergency 11-14 (met by the re-drill of
    # 10-09: late as a re-drill, in time for the cadence); 人口信息库 restore 11-14 (missed); 案件管理系统
    # restore 11-14 (met 09-25).
    assert (drills.due, drills.done) == (8, 7)
    # 10-17 00:00 to 11-16 09:00: 61 runs of the platform (2 failed), 31 of the VM (2 failed, 1 partial).
    assert rates["视频图像平台"] == (59, 61) and rates["JWY-VM-0007"] == (28, 31)
    assert rates["警务综合平台"] == (61 + 30, 61 + 30)  # the console's runs and the restic snapshots
    assert rows["人口信息库"]["next_due"] == "备份恢复演练 逾期自 2026-11-14"
    assert rows["案件管理系统"]["last_backup"] == "-" and rows["案件管理系统"]["open_findings"] == 1


def test_replaying_the_quarter_opens_and_resolves_what_happened_in_it(loaded: tuple[Store, RuleSet]) -> None:
    store, everything = loaded
    rules = RuleSet(
        rules=[r for r in everything.rules if r.check.area == "continuity"], contract=everything.contract
    )
    results = engine.replay(store, rules, date(2026, 8, 17), date(2026, 11, 15), zone=ZONE)
    assert all(r.failed_rules == {} for r in results)
    engine.evaluate(store, rules, AS_OF, zone=ZONE)
    assert continuity_findings(store) == PLANTED
    with store.session() as s:
        episodes = {
            f.subject: [
                e.action for e in s.scalars(select(FindingEvent).where(FindingEvent.finding_id == f.id))
            ]
            for f in s.scalars(select(Finding).where(Finding.check == "backup_failed"))
        }
        unresolved = s.scalars(select(Finding).where(Finding.check == "drill_failed_unresolved")).one()
    # The 11-10 streak opened that night and was resolved as over, keeping its period, once it recovered.
    assert episodes == {"视频图像平台": ["opened", "resolved"], "JWY-VM-0007": ["opened"]}
    assert unresolved.first_seen.astimezone(ZONE).date() == date(2026, 9, 20)  # the day after its deadline


def _ever_opened(store: Store) -> set[tuple[str, str, str, str]]:
    with store.session() as s:
        return {
            (
                f.rule_id,
                f.subject,
                f.period_start.isoformat() if f.period_start else "",
                f.period_end.isoformat() if f.period_end else "",
            )
            for f in s.scalars(select(Finding).where(Finding.area == "continuity"))
        }


def test_the_month_judged_once_gives_what_its_replay_day_by_day_opened(loaded: tuple[Store, RuleSet]) -> None:
    """Judged once at the end, every episode of the month is a finding (the streak of 11-10 that recovered
    too), with the subject and period the daily replay gave it: nothing only one of them says."""
    store, everything = loaded
    rules = RuleSet(
        rules=[r for r in everything.rules if r.check.area == "continuity"], contract=everything.contract
    )
    end = datetime(2026, 11, 15, 23, 59, 59, 999999, tzinfo=ZONE)
    once = engine.evaluate(store, rules, end, zone=ZONE)
    assert once.failed_rules == {}
    judged_once = _ever_opened(store)
    with store.session() as s:
        s.execute(delete(FindingEvent))
        s.execute(delete(Finding))
    days = engine.replay(store, rules, date(2026, 10, 17), date(2026, 11, 15), zone=ZONE)
    assert len(days) == 30 and all(d.failed_rules == {} for d in days)
    replayed = _ever_opened(store)
    assert judged_once == replayed, (sorted(judged_once - replayed), sorted(replayed - judged_once))
    rules_subjects = {(rule, subject) for rule, subject, _, _ in judged_once}
    assert {("backup-failed", "视频图像平台"), ("drill-overdue", "人口信息库 restore")} <= rules_subjects
    streak = next(k for k in judged_once if k[:2] == ("backup-failed", "视频图像平台"))
    assert streak[2].startswith("2026-11-09T16:30")  # 11-10 00:30 +08:00, the first failed run
