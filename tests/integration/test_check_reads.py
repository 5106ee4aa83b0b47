"""Every check names the batch tables it judges by (issue 22, "Receipts"): a finding's evidence names the seals
of the batches of the tables its check declared (`CheckContext.arrived` / `CheckContext.reads`, collected in
`tables_read`), so a check that queries a batch table without declaring it leaves those seals out of the receipt.

The demo's evidence (examples/ through the drop folder, the repository's rules) is judged as of 2026-11-16 09:00
+08:00; then each rule's check runs once more on its own, with SQLAlchemy's `before_execute` on the store's engine
recording the batch tables each statement touches, and `tables_read` must cover them:
- run cold (a memo of its own: the check builds every shared view itself, so every query it depends on is seen);
- run warm (the memo of an evaluation where every check ran before it: a view kept in the memo queries nothing,
  and the check must still declare what the view was built from).
A roll-up (utilization_hourly) has no batch of its own: a check reading it judges by utilization_samples.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, event
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import TextClause

from ops_watch import plugins
from ops_watch.areas.governance.inspections.model import plan_month
from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.registry import CHECKS, CheckContext
from ops_watch.findings.rules import Rule, RuleSet, load_rules
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store
from ops_watch.store.schema import UtilizationHourly, UtilizationSample
from ops_watch.trail.rows import batch_tables

plugins.load()
ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)
NOVEMBER = datetime(2026, 11, 1, 0, 0, tzinfo=ZONE)
# Tables without batches whose rows are made from a batch table's: reading them is judging by that table.
ROLLED_UP = {UtilizationHourly.__table__.name: UtilizationSample.__table__.name}


def _config(tmp_path: Path) -> Config:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var"), "rules_dir": str(ROOT / "rules")},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
            "doors": example["doors"],
        }
    )


def _drop_examples(config: Config) -> None:
    shutil.copytree(ROOT / "examples", config.drop_dir)
    produced = datetime(
        2026, 11, 16, 8, 0, tzinfo=ZONE
    ).timestamp()  # sent that Monday morning, as in the demo
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (produced, produced))


def _tables_of(statement: Any) -> set[str]:
    """The names of the tables a statement names anywhere (FROM, JOIN, subqueries in WHERE)."""
    if isinstance(statement, TextClause):
        return {t.name for t in batch_tables() if t.name in statement.text}
    return {el.name for el in visitors.iterate(statement) if isinstance(el, Table)}


@contextmanager
def _recording(store: Store) -> Iterator[set[str]]:
    """The batch tables (and those rolled up from them) the statements run inside the block read."""
    batch = {t.name for t in batch_tables()}
    seen: set[str] = set()

    def note(conn: Any, clauseelement: Any, *args: Any) -> None:
        for name in _tables_of(clauseelement):
            name = ROLLED_UP.get(name, name)
            if name in batch:
                seen.add(name)

    event.listen(store.engine, "before_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_execute", note)


def _run(store: Store, rules: RuleSet, rule: Rule, memo: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Run one rule's check as the engine does; (the batch tables it queried, the tables it declared)."""
    with _recording(store) as queried, store.session() as session:
        ctx = CheckContext(session=session, at=AS_OF, zone=ZONE, contract=rules.contract, memo=memo)
        list(rule.check.fn(ctx, rule.params))
        session.expunge_all()  # as engine._discard: what the memo keeps stays readable, nothing is written
        session.rollback()
    return set(queried), set(ctx.tables_read)


@pytest.fixture
def judged(store: Store, tmp_path: Path) -> tuple[Store, RuleSet]:
    config = _config(tmp_path)
    _drop_examples(config)
    results = ingest_drop_folder(store, config, at=AS_OF)
    assert results and all(r.batch_id for r in results)
    rules = load_rules(ROOT / "rules")
    # November's unannounced inspections as the demo draws them (scripts/demo.sh): inspection_missed judges them.
    plan_month(store, rules.contract, ZONE, "2026-11", "test", now=NOVEMBER, count=3, seed="0123456789abcdef")
    assert engine.evaluate(store, rules, AS_OF, zone=ZONE).failed_rules == {}
    return store, rules


def test_every_check_declares_the_batch_tables_it_queries(judged: tuple[Store, RuleSet]) -> None:
    store, rules = judged
    enabled = list(rules.enabled)
    # Every check of ops-watch judges the demo through some rule (a check without one is not held to this);
    # checks other tests register for themselves are not ops-watch's.
    ours = {name for name in CHECKS.names() if CHECKS[name].fn.__module__.startswith("ops_watch.")}
    assert ours - {r.check.name for r in enabled} == set(), "checks without a rule in rules/"

    cold = {r.id: _run(store, rules, r, {}) for r in enabled}
    warm_memo: dict[str, Any] = {}
    for rule in enabled:  # an evaluation's memo: every shared view built by the check that came first
        _run(store, rules, rule, warm_memo)
    warm = {r.id: _run(store, rules, r, warm_memo) for r in enabled}

    undeclared = []
    for rule in enabled:
        queried, declared_cold = cold[rule.id]
        _, declared_warm = warm[rule.id]
        for how, declared in (
            ("alone", declared_cold),
            ("after the others (views from the memo)", declared_warm),
        ):
            for table in sorted(queried - declared):
                undeclared.append(f"check {rule.check.name} (rule {rule.id}), run {how}: reads {table}")
    assert undeclared == [], (
        "declare these with ctx.reads(Model) at the start of the check, or in the shared view it uses:\n"
        + "\n".join(undeclared)
    )
    # The engine names the seals of every declared table: at least one check reads each batch table of the demo.
    assert set().union(*(q for q, _ in cold.values())) >= {
        "door_events",
        "handover_shifts",
        "utilization_samples",
    }
