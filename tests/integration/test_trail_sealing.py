"""Issue 22: every batch is sealed as it is stored, from digests its writers computed, and those digests are the
ones a read of the store gives back; on SQLite and PostgreSQL alike, to the byte. Decisions are sealed in the
transaction that writes them; a store upgraded to the trail starts with a complete chain (genesis)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ops_watch.config import Config
from ops_watch.findings import engine
from ops_watch.findings.rules import load_rules
from ops_watch.ingest import ingest_drop_folder, ingest_file
from ops_watch.store import Store, open_store
from ops_watch.store.schema import EvidenceBatch, Finding, FindingEvent, TrailSeal
from ops_watch.trail import chain, index
from ops_watch.trail import rows as trail_rows
from ops_watch.trail.canonical import entries_digest
from ops_watch.trail.decisions import decision_tables
from ops_watch.trail.hooks import DECISION_TABLES

ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)


def _config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var"), "rules_dir": str(ROOT / "rules")},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
        }
    )


def _drop_examples(config: Config) -> None:
    shutil.copytree(ROOT / "examples", config.drop_dir)
    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZONE).timestamp()
    for path in config.drop_dir.rglob("*"):
        os.utime(path, (produced, produced))


def _sealed_vs_stored(store: Store) -> dict[str, dict[str, Any]]:
    """For every batch seal, by the batch's source: the rows it sealed (count and batch digest) beside those the
    store gives back now, and, once the trail job has indexed the batches, its index's entries beside the rows'
    keys and digests read now."""
    out: dict[str, dict[str, Any]] = {}
    with store.session() as s:
        index.index_new(s)
    with store.session() as s:
        now: dict[int | None, dict[str, Any]] = {}
        entries: dict[int | None, dict[str, dict[str, bytes]]] = {}
        for table in trail_rows.batch_tables():
            for read in trail_rows.read_batches(s, table, entries=True):
                now.setdefault(read.batch_id, {})[table.name] = {"count": read.count, "digest": read.digest}
                entries.setdefault(read.batch_id, {})[table.name] = read.entries
        seals = s.scalars(
            select(TrailSeal)
            .where(TrailSeal.chain == chain.EVIDENCE, TrailSeal.kind != index.INDEX)
            .order_by(TrailSeal.seq)
        ).all()
        indexes = index.index_seals(s, [b for x in seals if (b := trail_rows.batch_of(x.subject))])
        for seal in seals:
            batch_id = trail_rows.batch_of(seal.subject)
            batch = s.get(EvidenceBatch, batch_id)
            assert batch is not None
            body = json.loads(seal.body)["of"]
            indexed = chain.unpack_entries(indexes[batch_id].entries) if batch_id in indexes else {}
            if batch_id in indexes:
                of = json.loads(indexes[batch_id].body)["of"]
                assert of["batch_seal"] == seal.seq
                assert {t: {"count": len(e), "digest": entries_digest(e)} for t, e in indexed.items()} == of[
                    "entries"
                ]
            out[f"{batch.kind}/{batch.source}"] = {
                "sealed": body["rows"],
                "stored": now.get(batch.id, {}),
                "indexed": indexed,
                "entries": entries.get(batch.id, {}),
                "body": body,
            }
    return out


def test_every_example_kind_is_sealed_with_the_digests_a_read_gives_back(
    store: Store, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    _drop_examples(config)
    results = ingest_drop_folder(store, config, at=AS_OF)
    assert results and all(r.batch_id for r in results)
    seen = _sealed_vs_stored(store)
    with store.session() as s:
        batches = s.scalar(select(func.count()).select_from(EvidenceBatch)) or 0
    assert len(seen) == batches  # one seal per batch, none missing
    kinds = {name.split("/")[0] for name in seen}
    assert {"door", "handover", "inventory", "staff", "statement", "utilization"} <= kinds
    for name, got in seen.items():
        assert got["sealed"] == got["stored"], name
        assert got["indexed"] == got["entries"], name
    # Refusals are sealed with their batch: the inventory's planted bad rows are in its seal.
    inventory = next(v for k, v in seen.items() if k.startswith("inventory/"))
    assert inventory["body"]["rows"]["row_errors"]["count"] >= 2


@pytest.mark.postgres
def test_sqlite_and_postgresql_seal_the_same_evidence_alike(
    pg_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A registry row keeps when it was written (updated_at): both stores are written "at" the same moment.
    monkeypatch.setattr(
        "ops_watch.ingest.utcnow", lambda: datetime(2026, 11, 16, 1, 0, tzinfo=ZoneInfo("UTC"))
    )
    digests = []
    for name, url in (
        ("sqlite", f"sqlite:///{tmp_path / 'store.db'}"),
        ("postgresql", pg_server.create_database()),
    ):
        config = _config(tmp_path / name)
        _drop_examples(config)
        store = open_store(url)
        try:
            ingest_drop_folder(store, config, at=AS_OF)
            seen = _sealed_vs_stored(store)
        finally:
            store.dispose()
        # Row errors are keyed by their id, which each database numbers its own way; everything else alike.
        digests.append(
            {
                source: {t: (got["sealed"][t], got["indexed"][t]) for t in got["sealed"] if t != "row_errors"}
                for source, got in seen.items()
            }
        )
    assert digests[0] == digests[1]


def test_a_refused_file_is_sealed_with_its_refusals_and_a_failed_load_leaves_no_seal(
    store: Store, tmp_path: Path
) -> None:
    config = _config(tmp_path)
    bad = tmp_path / "door.csv"
    bad.write_text("nothing,that,fits\n1,2,3\n", encoding="utf-8")
    result = ingest_file(store, config, "door", bad, at=AS_OF)
    assert result.status == "rejected"
    with store.session() as s:
        seal = s.scalars(
            select(TrailSeal).where(TrailSeal.subject == trail_rows.subject_of(result.batch_id))
        ).one()
        body = json.loads(seal.body)["of"]
    assert body["batch"]["status"] == "rejected"
    assert len(body["file_sha256"]) == 64  # the refused bytes are named too
    assert body["rows"].get("row_errors", {}).get("count", 0) >= 1


def test_decisions_are_sealed_in_the_transaction_that_writes_them(store: Store, tmp_path: Path) -> None:
    config = _config(tmp_path)
    shutil.copytree(ROOT / "examples" / "door", config.drop_dir / "door")
    shutil.copytree(ROOT / "examples" / "handover", config.drop_dir / "handover")
    shutil.copytree(ROOT / "examples" / "staff", config.drop_dir / "staff")
    ingest_drop_folder(store, config, at=AS_OF)
    engine.evaluate(store, load_rules(ROOT / "rules"), at=AS_OF, zone=ZONE)
    with store.session() as s:
        finding = s.scalars(select(Finding).order_by(Finding.id)).first()
        assert finding is not None
        events = s.scalar(select(func.count()).select_from(FindingEvent)) or 0
    engine.acknowledge(store, finding.id, "张三", "已联系运维方整改", at=AS_OF)
    with store.session() as s:
        sealed = s.scalars(
            select(TrailSeal).where(TrailSeal.chain == chain.DECISIONS).order_by(TrailSeal.seq)
        ).all()
        last = s.scalars(select(FindingEvent).order_by(FindingEvent.id.desc())).first()
    assert len(sealed) == events + 1
    assert [s.seq for s in sealed] == list(range(1, len(sealed) + 1))
    assert all(b.prev == a.hash for a, b in zip(sealed, sealed[1:], strict=False))
    body = json.loads(sealed[-1].body)["of"]
    assert sealed[-1].subject == f"finding_events:{last.id}"
    assert "已联系运维方整改" in body["row"] and "张三" in body["row"]
    assert set(decision_tables()) == DECISION_TABLES


@pytest.mark.postgres
def test_two_writers_at_once_keep_one_unbroken_chain(pg_server: Any) -> None:
    url = pg_server.create_database()
    store = open_store(url)
    try:
        with store.session() as s:
            finding_id = _a_finding(s)
        start = threading.Barrier(4)

        def writer(n: int) -> None:
            start.wait()
            for i in range(25):
                with store.session() as s:
                    s.add(
                        FindingEvent(
                            finding_id=finding_id, at=AS_OF, action="acknowledged", reason=f"{n}.{i}"
                        )
                    )

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        with store.session() as s:
            sealed = s.scalars(
                select(TrailSeal).where(TrailSeal.chain == chain.DECISIONS).order_by(TrailSeal.seq)
            ).all()
    finally:
        store.dispose()
    assert [s.seq for s in sealed] == list(range(1, 101))
    assert all(b.prev == a.hash for a, b in zip(sealed, sealed[1:], strict=False))
    assert all(chain.seal_hash(s.prev, s.body) == s.hash for s in sealed)


def test_a_store_upgraded_to_the_trail_starts_with_a_complete_chain(store_url: str, tmp_path: Path) -> None:
    from alembic import command

    from ops_watch.store.db import _alembic_config

    config = _config(tmp_path)
    shutil.copytree(ROOT / "examples" / "door", config.drop_dir / "door")
    shutil.copytree(ROOT / "examples" / "handover", config.drop_dir / "handover")
    store = open_store(store_url)
    try:
        ingest_drop_folder(store, config, at=AS_OF)
        with store.session() as s:
            before = {
                seal.subject: json.loads(seal.body)["of"]["rows"]
                for seal in s.scalars(
                    select(TrailSeal).where(TrailSeal.chain == chain.EVIDENCE, TrailSeal.kind != index.INDEX)
                )
            }
            s.add(
                FindingEvent(finding_id=_a_finding(s), at=AS_OF, action="opened", reason="before the trail")
            )
        command.downgrade(_alembic_config(store.engine), "0015")  # a store of the release before the trail
        store.upgrade()
        with store.session() as s:
            seals = s.scalars(select(TrailSeal).order_by(TrailSeal.chain, TrailSeal.seq)).all()
            received = [
                b.id
                for b in s.scalars(
                    select(EvidenceBatch).order_by(EvidenceBatch.received_at, EvidenceBatch.id)
                )
            ]
    finally:
        store.dispose()
    evidence_seals = [x for x in seals if x.chain == chain.EVIDENCE and x.kind != index.INDEX]
    assert {x.kind for x in seals} == {"genesis", index.INDEX}  # each batch indexed at once
    indexed = [x for x in seals if x.kind == index.INDEX]
    assert [x.subject for x in indexed] == [x.subject for x in evidence_seals]
    assert [int(x.subject.split(":")[1]) for x in evidence_seals] == received  # in arrival order
    assert {x.subject: json.loads(x.body)["of"]["rows"] for x in evidence_seals} == before
    decisions = [x for x in seals if x.chain == chain.DECISIONS]
    assert len(decisions) == 1 and "before the trail" in json.loads(decisions[0].body)["of"]["row"]


def _a_finding(s: Any) -> int:
    finding = Finding(
        fingerprint="genesis",
        rule_id="r",
        check="c",
        severity="warning",
        status="open",
        subject="s",
        summary="",
        first_seen=AS_OF,
        last_seen=AS_OF,
    )
    s.add(finding)
    s.flush()
    return finding.id


def test_rows_a_later_file_repeats_stay_the_earlier_batch_s(store: Store, tmp_path: Path) -> None:
    """Two exports that overlap: the second batch's seal holds only the rows it stored; the repeats (ignored on
    insert) stay sealed with the first. A key with a time in it is looked up by its parsed value."""
    config = _config(tmp_path)
    lines = (
        (ROOT / "examples" / "utilization" / "utilization-jwy-2026-11-02.csv")
        .read_text("utf-8-sig")
        .splitlines()
    )
    header, rows = lines[0], lines[1:]
    first, second = tmp_path / "utilization-a.csv", tmp_path / "utilization-b.csv"
    first.write_text("\n".join([header, *rows[:120]]) + "\n", encoding="utf-8")
    second.write_text("\n".join([header, *rows[60:200]]) + "\n", encoding="utf-8")
    a = ingest_file(store, config, "utilization", first, at=AS_OF)
    b = ingest_file(store, config, "utilization", second, at=AS_OF)
    assert (a.rows_ok, b.rows_ok, b.rows_duplicate) == (120, 80, 60)
    seen = _sealed_vs_stored(store)
    for name, got in seen.items():
        assert got["sealed"] == got["stored"], name
        assert got["indexed"] == got["entries"], name
    got_b = seen["utilization/utilization-b.csv"]
    assert got_b["sealed"]["utilization_samples"]["count"] == 80
    assert len(got_b["indexed"]["utilization_samples"]) == 80
