"""A collection cycle: samples and per-target status into the store; failures become findings, never crashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.evidence.collection import CollectionFailedParams
from ops_watch.collect import collect_cycle, inventory_targets
from ops_watch.config import load_config
from ops_watch.findings import engine
from ops_watch.findings.registry import CHECKS
from ops_watch.findings.rules import Rule, RuleSet
from ops_watch.sources import CollectResult, Sample, Target, TargetStatus
from ops_watch.sources.local import LocalCollector
from ops_watch.store.schema import (
    CollectionStatus,
    EvidenceBatch,
    Finding,
    InventoryResource,
    UtilizationSample,
)

T0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")


class Scripted:
    """A collector whose answers the test sets: the cycle's own logic is under test, not a transport."""

    name = "scripted"

    def __init__(self) -> None:
        self.answers: list[CollectResult | Exception] = []
        self.seen: list[list[Target]] = []

    def collect(self, targets: list[Target], now: datetime) -> CollectResult:
        self.seen.append(targets)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        pass


def _inventory(store) -> None:
    with store.session() as s:
        for rid, addr, to in [
            ("vm-1", "127.0.0.1", None),
            ("vm-2", "127.0.0.2:2222", None),
            ("vm-old", "127.0.0.3", datetime(2026, 10, 1).date()),
        ]:
            s.add(
                InventoryResource(
                    resource_id=rid,
                    platform="警务云",
                    tenant_unit="刑侦支队",
                    type="vm",
                    vcpu=4,
                    memory_gb=8,
                    storage_gb=100,
                    backup_required=False,
                    address=addr,
                    allocated_to=to,
                    updated_at=T0,
                )
            )


def _rules() -> RuleSet:
    plugins.load()
    return RuleSet(
        rules=[
            Rule(
                "collection-failed",
                CHECKS["collection_failed"],
                "warning",
                "",
                True,
                CollectionFailedParams(min_failures=2),
                "t.toml",
            )
        ]
    )


def test_samples_statuses_and_a_failure_spell_that_opens_and_resolves(store, config_file):
    cfg = load_config(config_file())
    _inventory(store)
    c = Scripted()
    ok = CollectResult(
        samples=[Sample("vm-1", T0, 12.5, 40.0, 30.0, 100.0)],
        statuses=[TargetStatus("vm-1", True), TargetStatus("vm-2", False, "timeout", "vm-2: timed out")],
    )
    c.answers = [
        ok,
        ok,
        CollectResult(
            samples=[Sample("vm-2", T0 + timedelta(minutes=10), 5.0)],
            statuses=[TargetStatus("vm-1", True), TargetStatus("vm-2", True)],
        ),
    ]

    counts = collect_cycle(store, cfg, {"scripted": c}, T0)
    assert counts["samples"] == 1 and counts["failed"] == 1
    assert [t.resource_id for t in c.seen[0]] == ["vm-1", "vm-2"]  # vm-old's allocation ended
    engine.evaluate(store, _rules(), T0, zone=ZONE)
    with store.session() as s:
        assert s.scalars(select(Finding)).all() == []  # one failure is below min_failures=2

    counts = collect_cycle(store, cfg, {"scripted": c}, T0 + timedelta(minutes=5))
    assert counts["samples"] == 0  # the same sample again is not stored twice
    with store.session() as s:
        st = s.get(CollectionStatus, ("scripted", "vm-2"))
        assert (st.consecutive_failures, st.error_kind, st.failing_since) == (2, "timeout", T0)
        assert s.get(CollectionStatus, ("scripted", "vm-1")).last_success == T0 + timedelta(minutes=5)
    engine.evaluate(store, _rules(), T0 + timedelta(minutes=5), zone=ZONE)
    with store.session() as s:
        [f] = s.scalars(select(Finding)).all()
        assert f.subject == "scripted/vm-2" and f.status == "open" and "超时" in f.summary
        assert f.evidence["error"] == "vm-2: timed out"

    collect_cycle(store, cfg, {"scripted": c}, T0 + timedelta(minutes=10))
    engine.evaluate(store, _rules(), T0 + timedelta(minutes=10), zone=ZONE)
    with store.session() as s:
        assert s.scalars(select(Finding)).one().status == "resolved"
        assert s.get(CollectionStatus, ("scripted", "vm-2")).failing_since is None
        [last] = inventory_targets(s, T0.date())[1:2]
        assert last.last_sample_at == T0 + timedelta(minutes=10)


def test_a_collector_that_raises_is_recorded_and_the_others_still_run(store, config_file):
    cfg = load_config(config_file())
    broken = Scripted()
    broken.answers = [RuntimeError("bug in a parser")]
    local = LocalCollector("this-host")
    counts = collect_cycle(store, cfg, {"broken": broken, "local": local}, T0)
    assert counts["local"] == {"samples": 1, "failed": 0}
    assert counts["broken"] == {"samples": 0, "failed": 1}
    with store.session() as s:
        st = s.get(CollectionStatus, ("broken", "*"))
        assert st.error_kind == "config" and "bug in a parser" in st.last_error
        sample = s.scalars(select(UtilizationSample)).one()
        assert (
            sample.resource_id == "this-host" and 0 <= sample.mem_pct <= 100 and sample.storage_total_gb > 0
        )
        kinds = {(b.source, b.status, b.rows_ok) for b in s.scalars(select(EvidenceBatch))}
        assert kinds == {("broken", "rejected", 0), ("local", "accepted", 1)}
