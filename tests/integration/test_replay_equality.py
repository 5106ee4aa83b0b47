"""The month judged once and the month replayed day by day give the same findings, on the examples of every area.

Judged once at the end, a check reports each violation episode inside its window (a backup failure streak that
later recovered is still a finding about its period); replayed day by day, each day sees only the evidence that
had arrived by then, and the roll-ups run before each day's checks (the engine's one path). Both stores start from
the same drop folder; the findings ever opened (rule, subject, period) must be the same sets.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ops_watch import plugins
from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, load_rules
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store
from ops_watch.store.db import open_store
from ops_watch.store.schema import Finding

plugins.load()
ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
# The replay starts on the first day every kind of the examples had begun (utilization on 2026-11-02; the door
# events and handover sheets on 10-19, which the staffing checks' 35-day window still reaches from 11-02). Before
# a kind's first evidence a live daemon says "never received", which a judgment at the end cannot know.
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 15)
AS_OF = datetime(2026, 11, 15, 23, 59, 59, 999999, tzinfo=ZONE)
# Rules about the state of ops-watch itself when it runs (a source that stopped answering, a message that could
# not be delivered), not about the contract's evidence: a replay of the past cannot say them.
LIVE_ONLY = {"collection_failed", "notification_dead"}

Key = tuple[str, str, str, str]


def _config(tmp_path: Path, name: str) -> Config:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / name / "var"), "rules_dir": str(ROOT / "rules")},
            "ingest": {"drop_dir": str(tmp_path / name / "drop")},
            "doors": example["doors"],
            "backups": example["backups"],
        }
    )


def _loaded(tmp_path: Path, name: str) -> tuple[Store, RuleSet]:
    config = _config(tmp_path, name)
    shutil.copytree(ROOT / "examples", config.drop_dir)
    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZONE).timestamp()  # sent that Monday, as in the demo
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (produced, produced))
    store = open_store(f"sqlite:///{tmp_path / name / 'ops-watch.db'}")
    rules = load_rules(ROOT / "rules")
    results = ingest_drop_folder(store, config, None, rules.contract)
    assert [r.path.name for r in results if r.status == "rejected"] == []
    return store, rules


def _ever_opened(store: Store) -> set[Key]:
    with store.session() as s:
        return {
            (
                f.rule_id,
                f.subject,
                f.period_start.isoformat() if f.period_start else "",
                f.period_end.isoformat() if f.period_end else "",
            )
            for f in s.scalars(select(Finding))
            if f.check not in LIVE_ONLY
        }


def test_the_month_judged_once_equals_the_month_replayed_day_by_day(tmp_path: Path) -> None:
    once_store, rules = _loaded(tmp_path, "once")
    once = engine.evaluate(once_store, rules, AS_OF, zone=ZONE)
    assert once.failed_rules == {} and once.failed_steps == {}

    replay_store, rules = _loaded(tmp_path, "replay")
    days = engine.replay(replay_store, rules, FIRST, LAST, zone=ZONE)
    assert all(d.failed_rules == {} and d.failed_steps == {} for d in days)

    judged_once, replayed = _ever_opened(once_store), _ever_opened(replay_store)
    for store in (once_store, replay_store):  # a finding that cannot name its evidence is a bug
        with store.session() as s:
            bare = [(f.rule_id, f.subject) for f in s.scalars(select(Finding)) if not f.evidence]
        assert bare == []
    areas = {rule.split("-")[0] for rule, *_ in judged_once}
    assert len(judged_once) >= 30 and len(areas) >= 8, sorted(judged_once)  # findings planted in every area
    only_once = sorted(judged_once - replayed)
    only_replayed = sorted(replayed - judged_once)
    assert (only_once, only_replayed) == ([], []), (
        "judged once but never in the replay:\n  "
        + "\n  ".join(map(str, only_once))
        + "\nreplayed but not judged once:\n  "
        + "\n  ".join(map(str, only_replayed))
    )
