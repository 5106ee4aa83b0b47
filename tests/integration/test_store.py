"""The store's contract, run on SQLite and on PostgreSQL from the same test functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from ops_watch.store import Store, StoreError, open_store
from ops_watch.store.db import head_revision
from ops_watch.store.schema import Base, EvidenceBatch, Finding, RowError, StaffMember

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _finding(fingerprint: str, at: datetime, **over: Any) -> Finding:
    values: dict[str, Any] = {
        "fingerprint": fingerprint,
        "rule_id": "evidence.door.fresh",
        "check": "evidence_freshness",
        "severity": "warning",
        "status": "open",
        "subject": "door",
        "summary": "门禁记录超过 24 小时未更新",
        "evidence": {},
        "first_seen": at,
        "last_seen": at,
    }
    values.update(over)
    return Finding(**values)


def _batch(sha: str = "a" * 64) -> EvidenceBatch:
    return EvidenceBatch(
        kind="staff",
        source="人员名册.xlsx",
        sha256=sha,
        received_at=datetime(2024, 3, 1, 9, 30, tzinfo=SHANGHAI),
        status="accepted",
    )


def test_new_database_is_migrated_to_head(store: Store) -> None:
    assert store.current_revision() == head_revision()
    tables = set(inspect(store.engine).get_table_names())
    expected = {
        "evidence_batches",
        "row_errors",
        "inventory_resources",
        "staff",
        "findings",
        "outbox_messages",
    }
    assert expected <= tables
    assert "alembic_version" in tables


def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    """A column added to schema.py without a migration (or the reverse) shows up here."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_aware_datetimes_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    local = datetime(2024, 3, 1, 8, 0, 0, tzinfo=SHANGHAI)  # 2024-03-01 00:00 UTC
    with store.session() as s:
        s.add(_finding("fp-time", local, period_start=local, period_end=local + timedelta(days=1)))

    with store.session() as s:
        got = s.scalars(select(Finding).where(Finding.fingerprint == "fp-time")).one()
        raw = s.execute(text("SELECT first_seen FROM findings WHERE fingerprint = 'fp-time'")).scalar_one()

    for value in (got.first_seen, got.period_start):
        assert value == local
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        assert (value.year, value.month, value.day, value.hour) == (2024, 3, 1, 0)
    assert got.period_end == datetime(2024, 3, 2, 0, 0, tzinfo=UTC)
    # What the database itself holds is UTC: naive UTC text on SQLite, timestamptz on PostgreSQL.
    if isinstance(raw, str):
        assert raw.startswith("2024-03-01 00:00:00")
    else:
        assert raw == datetime(2024, 3, 1, 0, 0, tzinfo=UTC)


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.session() as s:
        s.add(_finding("fp-naive", datetime(2024, 3, 1, 8, 0)))
        s.flush()


def test_json_columns_round_trip_chinese_text(store: Store) -> None:
    at = datetime(2024, 3, 2, 10, 0, tzinfo=SHANGHAI)
    evidence = {
        "说明": "机房门禁记录缺失",
        "最后记录": "2024-03-01 07:59",
        "次数": 3,
        "人员": ["张伟", "李娜"],
    }
    certificates = [{"名称": "信息安全工程师", "expires": "2025-06-30"}, {"名称": "CISP", "expires": None}]
    with store.session() as s:
        s.add(_finding("fp-json", at, evidence=evidence))
        s.add(
            StaffMember(
                person_id="E001",
                name="王芳",
                card_numbers=["0012345678", "门禁卡-2"],
                role="驻场运维工程师",
                certificates=certificates,
                updated_at=at,
            )
        )

    with store.session() as s:
        finding = s.scalars(select(Finding).where(Finding.fingerprint == "fp-json")).one()
        staff = s.get(StaffMember, "E001")
        assert staff is not None
        assert finding.evidence == evidence
        assert finding.summary == "门禁记录超过 24 小时未更新"
        assert staff.name == "王芳"
        assert staff.card_numbers == ["0012345678", "门禁卡-2"]
        assert staff.certificates == certificates


def test_finding_fingerprint_is_unique(store: Store) -> None:
    at = datetime(2024, 3, 1, 8, 0, tzinfo=SHANGHAI)
    with store.session() as s:
        s.add(_finding("fp-dup", at))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(_finding("fp-dup", at + timedelta(hours=1), subject="backup"))
    with store.session() as s:
        assert s.scalar(select(Finding.subject).where(Finding.fingerprint == "fp-dup")) == "door"


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(RowError(batch_id=987654, row=2, column="工号", value="", reason="missing"))
    # With the batch present the same row is accepted, and deleting the batch cascades to it.
    with store.session() as s:
        batch = _batch()
        s.add(batch)
        s.flush()
        s.add(RowError(batch_id=batch.id, row=2, column="工号", value="", reason="missing"))
        batch_id = batch.id
    with store.session() as s:
        s.execute(text("DELETE FROM evidence_batches WHERE id = :id"), {"id": batch_id})
    with store.session() as s:
        assert s.scalar(select(RowError).where(RowError.batch_id == batch_id)) is None


def test_sqlite_uses_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "ops-watch.db"
    store = open_store(f"sqlite:///{db}", busy_timeout_ms=1234)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with store.session() as s:
            s.add(_batch())
        assert db.with_name(db.name + "-wal").exists()
    finally:
        store.dispose()


def test_database_from_a_newer_ops_watch_is_refused(store_url: str) -> None:
    first = open_store(store_url)
    try:
        with first.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        first.dispose()

    for upgrade in (True, False):
        with pytest.raises(StoreError) as info:
            open_store(store_url, upgrade=upgrade)
        message = str(info.value)
        assert "9999_future" in message
        assert "written by a newer" in message

    # Refusing left the database as it was: nothing was migrated or stamped.
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "9999_future"
    finally:
        engine.dispose()


def test_opening_twice_is_idempotent(store_url: str) -> None:
    first = open_store(store_url)
    try:
        with first.session() as s:
            s.add(_batch("b" * 64))
        before = first.current_revision()
        tables = set(inspect(first.engine).get_table_names())
    finally:
        first.dispose()

    second = open_store(store_url)
    try:
        assert second.current_revision() == before == head_revision()
        assert set(inspect(second.engine).get_table_names()) == tables
        assert second.upgrade() == (head_revision(), head_revision())
        with second.session() as s:
            assert s.scalars(select(EvidenceBatch.sha256)).all() == ["b" * 64]
            with second.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        second.dispose()
