"""Issue 22: a scheduled verify that finds a break leaves its outcome in the store, and the check
`evidence_tampered` turns it into one critical finding naming the first break; a later clean verify resolves
it. The check judges as of its time: an outcome recorded after that time is not yet known."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, load_rules
from ops_watch.store import Store
from ops_watch.store.schema import Finding
from ops_watch.trail import outcome
from ops_watch.trail.breaks import Break

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 16, 0, 10, tzinfo=ZONE)


def _only_tampered() -> RuleSet:
    rules = load_rules(ROOT / "rules")
    rules.rules = [r for r in rules.rules if r.check.name == "evidence_tampered"]
    assert len(rules.rules) == 1
    return rules


def _findings(store: Store) -> list[Finding]:
    with store.session() as s:
        return list(s.scalars(select(Finding).where(Finding.check == "evidence_tampered")))


def test_a_break_found_by_verify_is_one_critical_finding_until_verify_runs_clean(store: Store) -> None:
    rules = _only_tampered()
    engine.evaluate(store, rules, at=AT, zone=ZONE)
    assert _findings(store) == []  # never verified yet: nothing to say
    breaks = [
        Break("row_changed", "evidence", 17, "evidence_batches:4", "door_events", "D-1", detail="at: a -> b"),
        *[Break("unsealed_batch", "evidence", None, f"evidence_batches:{n}") for n in range(30)],
    ]
    with store.session() as s:
        outcome.record(s, AT, full=False, breaks=breaks)
    engine.evaluate(store, rules, at=AT - timedelta(minutes=1), zone=ZONE)
    assert _findings(store) == []  # a replay before the verify ran does not know of it
    engine.evaluate(store, rules, at=AT + timedelta(minutes=5), zone=ZONE)
    (finding,) = _findings(store)
    assert finding.severity == "critical" and finding.status == "open"
    assert finding.evidence["breaks"] == 31
    assert "door_events D-1" in finding.evidence["first_break"] and "证据行被改动" in finding.summary
    assert len(finding.evidence["listed_breaks"]) == outcome.KEPT_BREAKS
    with store.session() as s:
        outcome.record(s, AT + timedelta(days=1), full=True, breaks=[])
    engine.evaluate(store, rules, at=AT + timedelta(days=1, minutes=5), zone=ZONE)
    (finding,) = _findings(store)
    assert finding.status == "resolved"
