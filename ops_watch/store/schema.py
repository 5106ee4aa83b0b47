"""Every table, declared in one place: here, and in store/tables.py, which this module stands for. Times are stored
as UTC and come back timezone-aware on every backend.

Start-up: declaring a table costs its mapping (all 35 took ~0.1 s of the 0.7 s `ops-watch findings list` took,
issue 21). This module declares the column types, the base and the tables reading findings needs (with the
batches every ORM query filters on: store/loading.py); the others are declared in store/tables.py the first
time one of them is named here: `from ops_watch.store.schema import DoorEvent` works as before. Whatever walks
every table (Base.metadata, Base.registry) calls declare_all() first. A new table goes in store/tables.py,
unless `findings list` reads it (tests/unit/test_schema_lazy.py).
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from types import ModuleType
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; SQLite keeps naive UTC text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} reached the store: give it a zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """CNY as whole fen (分) in the store: exact on SQLite (which has no decimal type) and PostgreSQL alike;
    Decimal with two places in Python. Never a float."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"money as float {value!r} reached the store: use Decimal")
        return int(Decimal(value).quantize(CENT, ROUND_HALF_UP) * 100)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else (Decimal(value) / 100).quantize(CENT)


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal (a quantity, a unit price) kept as its text: SQLite would round a NUMERIC to a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"decimal as float {value!r} reached the store: use Decimal")
        return str(Decimal(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BatchRows:
    """A table whose rows came with an evidence batch (`batch_id`): its rows of a batch still loading are hidden
    from readers (store.loading). A row outlives its batch's record (SET NULL); RowError's go with it."""

    batch_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_batches.id", ondelete="SET NULL"))


class EvidenceBatch(Base):
    """One arrival of evidence: a dropped or hand-ingested file, or one poll of a source."""

    __tablename__ = "evidence_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(1024))  # file name or source name
    sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # When the evidence was produced: a dropped file's modification time, a poll's time. A month exported at
    # once and dropped later is judged by this, not by when it arrived.
    evidence_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # When a check may first see this evidence ("arrived"): the start of the period or day the file states
    # (its name or its rows), else its evidence_time. A check as of T sees a batch only if known_from <= T,
    # so replaying a past month never judges by an inventory that came later. None: evidence_time.
    known_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # accepted | partial | rejected
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_ok: Mapped[int] = mapped_column(Integer, default=0)
    rows_bad: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    stored_path: Mapped[str] = mapped_column(String(1024), default="")


class Finding(Base):
    __tablename__ = "findings"
    # The console's list pages by status and time, the overview reads the last days (migration 0014); the
    # implicit rowid at the end of each makes "…, id" orders free.
    __table_args__ = (
        Index("ix_findings_status_first_seen", "status", "first_seen"),
        Index("ix_findings_first_seen", "first_seen"),
        Index("ix_findings_last_seen", "last_seen"),
        Index("ix_findings_resolved_at", "resolved_at"),
        Index("ix_findings_severity", "severity"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    rule_id: Mapped[str] = mapped_column(String(128), index=True)
    check: Mapped[str] = mapped_column(String(128))
    area: Mapped[str] = mapped_column(String(64), default="")
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | acknowledged | silenced | resolved
    subject: Mapped[str] = mapped_column(String(512))
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The status the center was last told about ("" = never); the notifier works from the difference.
    notified_status: Mapped[str] = mapped_column(String(16), default="")
    # Message-ID of the first mail about this finding: later mails reply to it, so they thread together.
    thread_message_id: Mapped[str] = mapped_column(String(256), default="")


class FindingEvent(Base):
    """Every change of a finding's status, with who and why: the audit trail."""

    __tablename__ = "finding_events"
    # The score reads which findings were ever reopened (migration 0014).
    __table_args__ = (Index("ix_finding_events_action", "action", "finding_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(
        String(32)
    )  # opened | reopened | acknowledged | silenced | unsilenced | resolved
    actor: Mapped[str] = mapped_column(String(128), default="ops-watch")
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Silence(Base):
    """A silence by matcher: findings it matches are silenced from starts_at to ends_at, with who and why."""

    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # rule, check, area, severity, subject
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


def declare_all() -> ModuleType:
    """Declare every table (store/tables.py too), so Base.metadata and Base.registry hold them all; returns that
    module. For Alembic's comparisons and what walks every table (store/loading.drop_batch)."""
    # start-up: imported by name, on first use (module docstring); tables.py imports this module, not the reverse
    return importlib.import_module("ops_watch.store.tables")


def __getattr__(name: str) -> Any:
    """A table declared in store/tables.py, declared on first use (module docstring)."""
    if not name.startswith("__"):
        tables = declare_all()
        value = getattr(tables, name, None)
        if isinstance(value, type) and value.__module__ == tables.__name__:
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
