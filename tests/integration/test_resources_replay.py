"""The resource checks as a replay sees them, on the examples (inventory + two weeks of console exports):

- the month judged once and the month replayed day by day open the same resource findings (rule, subject,
  period), and the episodes that ended are resolved in both;
- judged on the demo's Sunday evening, with the files stored and their later samples too, nothing is "never
  received" (the samples of the second platform's files were once held back from the roll-up);
- a check as of a time before the inventory had arrived judges nothing.

Each store starts from the same drop folder; the roll-ups run before each day's checks (the engine's steps).
"""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from ops_watch import plugins
from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, load_rules
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store
from ops_watch.store.db import open_store
from ops_watch.store.schema import EvidenceBatch, Finding

plugins.load()
ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 10, 30), date(2026, 11, 16)
AS_OF = datetime(2026, 11, 16, 23, 59, 59, 999999, tzinfo=ZONE)  # the replay's last evaluation
SUNDAY = datetime(2026, 11, 15, 22, 0, tzinfo=ZONE)


def _resource_rules() -> RuleSet:
    rules = load_rules(ROOT / "rules")
    rules.rules = [r for r in rules.rules if r.check.area == "resources"]
    return rules


def _loaded(tmp_path: Path, name: str) -> Store:
    config = Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / name / "var")},
            "ingest": {"drop_dir": str(tmp_path / name / "drop")},
        }
    )
    for kind in ("inventory", "utilization"):
        shutil.copytree(ROOT / "examples" / kind, config.drop_dir / kind)
    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZONE).timestamp()  # sent that Monday, as in the demo
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (produced, produced))
    store = open_store(f"sqlite:///{tmp_path / name / 'ops-watch.db'}")
    results = ingest_drop_folder(store, config)
    assert [
        r.path.name for r in results if r.status == "rejected"
    ] == []  # two inventory rows are bad on purpose
    return store


def _findings(store: Store) -> dict[tuple[str, str, str], str]:
    with store.session() as s:
        return {
            (f.rule_id, f.subject, f.period_start.isoformat() if f.period_start else ""): f.status
            for f in s.scalars(select(Finding).where(Finding.area == "resources"))
        }


def test_the_month_judged_once_equals_the_month_replayed_day_by_day(tmp_path: Path) -> None:
    rules = _resource_rules()
    once_store = _loaded(tmp_path, "once")
    once = engine.evaluate(once_store, rules, AS_OF, zone=ZONE)
    assert once.failed_rules == {} and once.failed_steps == {}

    replay_store = _loaded(tmp_path, "replay")
    days = engine.replay(replay_store, rules, FIRST, LAST, zone=ZONE)
    assert [d.at for d in days][-1] == AS_OF
    assert all(d.failed_rules == {} and d.failed_steps == {} for d in days)

    judged_once, replayed = _findings(once_store), _findings(replay_store)
    assert set(judged_once) == set(replayed)
    assert judged_once == replayed  # the same status too: an ended episode is resolved in both
    rules_found = {rule for rule, _, _ in judged_once}
    assert {
        "idle-cpu",
        "oversized-cpu",
        "idle-storage",
        "stale-resource",
        "platform-utilization",
    } <= rules_found
    # Nothing before the first export was judged missing: no finding "never received" in the replay.
    with replay_store.session() as s:
        summaries = list(s.scalars(select(Finding.summary).where(Finding.check == "stale_resource")))
    assert summaries and not [x for x in summaries if "从未收到利用率数据" in x]


def test_judged_on_sunday_evening_no_stored_sample_looks_missing(tmp_path: Path) -> None:
    # The demo: files produced on Monday morning (their samples run to Monday 08:00) judged as of Sunday
    # 22:00. Every platform's samples up to Sunday count; only the two planted silences are stale.
    store = _loaded(tmp_path, "sunday")
    result = engine.evaluate(store, _resource_rules(), SUNDAY, zone=ZONE)
    assert result.failed_rules == {}
    with store.session() as s:
        stale = {
            f.subject: f.summary for f in s.scalars(select(Finding).where(Finding.check == "stale_resource"))
        }
    assert set(stale) == {"JWY-VM-0008", "XYD-VM-0003"}
    assert not [x for x in stale.values() if "从未收到利用率数据" in x]


def test_a_check_before_the_inventory_arrived_judges_nothing(tmp_path: Path) -> None:
    store = _loaded(tmp_path, "late")
    arrived = datetime(2026, 11, 20, 8, 0, tzinfo=ZONE)  # the inventory came after the period it describes
    with store.session() as s:
        s.execute(
            update(EvidenceBatch)
            .where(EvidenceBatch.kind == "inventory")
            .values(known_from=arrived, evidence_time=arrived)
        )
    rules = _resource_rules()
    before = engine.evaluate(store, rules, arrived - timedelta(hours=1), zone=ZONE)
    assert before.failed_rules == {} and before.opened == []
    after = engine.evaluate(store, rules, arrived + timedelta(hours=1), zone=ZONE)
    assert after.failed_rules == {} and after.opened
