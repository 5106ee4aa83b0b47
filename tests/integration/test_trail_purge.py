"""Issue 22, retention: a purge leaves a purge seal holding exactly the rows it deleted (their keys and digests
as the chain sealed them), in the transaction that deletes them; nothing deleted, no seal. Raw utilization
samples go in the evidence chain a step at a time; resolved findings' events and old console audit entries in
the decisions chain. On SQLite and PostgreSQL (`store`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from ops_watch import jobs
from ops_watch.areas.resources import utilization
from ops_watch.config import Config
from ops_watch.core.timeutil import utcnow
from ops_watch.runtime import Runtime, load_settings
from ops_watch.store import Store
from ops_watch.store.schema import AuthEvent, Finding, FindingEvent, TrailSeal, UtilizationSample
from ops_watch.trail import chain
from ops_watch.trail import rows as trail_rows
from ops_watch.trail.canonical import entries_digest, row_digest
from ops_watch.trail.purge import seal_purge

NOW = datetime(2026, 11, 20, tzinfo=UTC)
MIN = timedelta(minutes=1)


def purge_seals(store: Store, subject: str) -> list[TrailSeal]:
    with store.session() as s:
        return list(
            s.scalars(
                select(TrailSeal)
                .where(TrailSeal.kind == "purge", TrailSeal.subject == subject)
                .order_by(TrailSeal.seq)
            )
        )


def held(seals: list[TrailSeal], table: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for seal in seals:
        out.update(chain.unpack_entries(seal.entries)[table])
    return out


def of(seal: TrailSeal) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(seal.body)["of"]
    return body


def test_raw_samples_purged_leave_a_seal_a_step_holding_exactly_the_rows_deleted(store: Store) -> None:
    config = Config.model_validate({"utilization": {"raw_days": 7, "rollup_days": 30}})
    old = NOW - timedelta(days=9)
    rows = [
        {"resource_id": rid, "at": old + k * 20 * MIN, "cpu_pct": k * 1.25, "source": "test"}
        for rid in ("vm-1", "vm-2")
        for k in range(30)  # ten hours: two purge steps of six
    ]
    rows.append({"resource_id": "vm-1", "at": NOW - timedelta(hours=3), "cpu_pct": 5.0, "source": "test"})
    with store.session() as s:
        s.execute(insert(UtilizationSample), rows)
    utilization.rollup(store, NOW)
    samples = UtilizationSample.__table__
    with store.session() as s:
        before = {k: d for _, k, d in trail_rows.read_rows(s, samples)}
    recent = [k for k in before if k.startswith("vm-1\t2026-11-19")]

    assert utilization.purge(store, config, NOW)["samples"] == 60
    seals = purge_seals(store, "purge:utilization_samples")
    assert len(seals) == 2 and all(s.chain == chain.EVIDENCE for s in seals)
    gone = {k: d for k, d in before.items() if k not in recent}
    assert held(seals, "utilization_samples") == gone
    assert sum(of(s)["rows"]["count"] for s in seals) == 60
    assert of(seals[0])["rows"]["digest"] == entries_digest(
        chain.unpack_entries(seals[0].entries)[samples.name]
    )
    assert of(seals[0])["batches"] == {"null": of(seals[0])["rows"]["count"]}  # written without a batch
    assert "older than" in of(seals[0])["note"]

    utilization.purge(store, config, NOW)  # nothing left to purge: no seal
    assert len(purge_seals(store, "purge:utilization_samples")) == 2


def _finding(s: Any, name: str, resolved: datetime | None) -> Finding:
    finding = Finding(
        fingerprint=name,
        rule_id="r",
        check="c",
        severity="warning",
        status="resolved" if resolved else "open",
        subject=name,
        summary=name,
        evidence={},
        first_seen=NOW - timedelta(days=400),
        last_seen=NOW - timedelta(days=300),
        resolved_at=resolved,
    )
    s.add(finding)
    s.flush()
    for action, reason in (("opened", "seen"), ("acknowledged", "on it"), ("resolved", "fixed")):
        s.add(FindingEvent(finding_id=finding.id, at=NOW - timedelta(days=300), action=action, reason=reason))
    return finding


def test_jobs_purge_seals_the_findings_events_and_audit_entries_it_deletes(
    store: Store, config_file: Callable[..., Path]
) -> None:
    config, rules = load_settings(config_file("[retention]\ndays = 200\n"), check_secrets=False)
    rt = Runtime(config=config, rules=rules, store=store)
    now = utcnow()
    with store.session() as s:
        old = _finding(s, "old", now - timedelta(days=250))
        _finding(s, "recent", now - timedelta(days=10))
        for days, name in ((201, "old"), (199, "recent")):
            s.add(
                AuthEvent(
                    at=now - timedelta(days=days), user_name=name, action="login", address="::1", ok=True
                )
            )
    events, auth = FindingEvent.__table__, AuthEvent.__table__
    with store.session() as s:
        doomed = {
            str(r.id): row_digest(r) for r in s.execute(select(events).where(events.c.finding_id == old.id))
        }
        doomed_auth = {
            str(r.id): row_digest(r) for r in s.execute(select(auth).where(auth.c.user_name == "old"))
        }
        decided = {
            seal.subject for seal in s.scalars(select(TrailSeal).where(TrailSeal.chain == chain.DECISIONS))
        }
    assert {f"finding_events:{k}" for k in doomed} <= decided  # sealed when written

    done = jobs.purge(rt)
    assert (done["findings"], done["auth_events"]) == (1, 1)
    (sealed_events,) = purge_seals(store, "purge:finding_events")
    (sealed_auth,) = purge_seals(store, "purge:auth_events")
    assert sealed_events.chain == sealed_auth.chain == chain.DECISIONS
    assert held([sealed_events], "finding_events") == doomed and len(doomed) == 3
    assert held([sealed_auth], "auth_events") == doomed_auth
    assert of(sealed_events)["rows"] == {"count": 3, "digest": entries_digest(doomed)}
    assert "batches" not in of(sealed_events)
    with store.session() as s:
        assert not s.scalars(select(FindingEvent).where(FindingEvent.finding_id == old.id)).all()

    jobs.purge(rt)  # nothing more to purge: no more seals
    assert (
        len(purge_seals(store, "purge:finding_events")) == len(purge_seals(store, "purge:auth_events")) == 1
    )


def test_nothing_matched_no_seal(store: Store) -> None:
    with store.session() as s:
        table = UtilizationSample.__table__
        assert seal_purge(s, table, table.c.at < NOW) is None
        assert seal_purge(s, FindingEvent.__table__, FindingEvent.id > 0) is None
