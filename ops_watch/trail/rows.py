"""Reading a batch table's rows as the trail sees them: each batch's rows in their order (by `id`, where the table
numbers its rows; else by key), as a batch digest (canonical.ColumnsDigest) and, where a row must be named, as
"key -> row digest" entries. Sealing, indexing, purging and verifying all read through here, so they agree."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Table, select
from sqlalchemy.orm import Session

from ops_watch.store.schema import Base, BatchRows, DecimalText, Money, UTCDateTime, declare_all
from ops_watch.trail.canonical import (
    ColumnsDigest,
    column_texts,
    joined,
    row_columns,
    table_key,
    text_entries,
)

BATCH_PREFIX = "evidence_batches:"
ORPHANS = "orphans"  # the genesis seal of rows whose batch record was gone
READ_ROWS = 5000  # rows read, and digested a column at a time, per step


def subject_of(batch_id: int) -> str:
    return f"{BATCH_PREFIX}{batch_id}"


def batch_of(subject: str) -> int | None:
    """The batch id a seal's subject names (None: not a batch's)."""
    rest = subject[len(BATCH_PREFIX) :] if subject.startswith(BATCH_PREFIX) else ""
    return int(rest) if rest.isdigit() else None


def batch_tables() -> list[Table]:
    """Every table whose rows come with a batch (the BatchRows mixin)."""
    declare_all()
    return sorted(
        (m.class_.__table__ for m in Base.registry.mappers if issubclass(m.class_, BatchRows)),
        key=lambda t: t.name,
    )


@dataclass
class BatchRead:
    """One batch's rows of one table as read now."""

    batch_id: int | None
    count: int
    digest: str  # the batch digest (canonical.ColumnsDigest)
    entries: dict[str, bytes] | None = None  # key text -> row digest, in the rows' order (when asked for)


def read_batches(session: Session, table: Table, *where: Any, entries: bool = False) -> Iterator[BatchRead]:
    """Each batch's rows of `table` matching `where`, a batch at a time in batch_id order (NULL first or last, as
    the database sorts it); `entries`: with every row's key and digest too."""
    wanted = row_columns(table)
    key = table_key(table)
    names = list(dict.fromkeys((*key, *wanted)))
    numbered = "id" in table.c
    order = [table.c.batch_id, table.c.id] if numbered else [table.c.batch_id]
    stmt = select(table.c.batch_id, *(table.c[n] for n in names)).where(*where).order_by(*order)
    result = session.execute(stmt.execution_options(yield_per=READ_ROWS))
    current: _Batch | None = None
    for part in result.partitions():
        for batch_id, run in groupby(part, key=itemgetter(0)):
            if current is not None and current.batch_id != batch_id:
                yield current.done()
                current = None
            if current is None:
                current = _Batch(batch_id, names, key, wanted, entries, ordered=numbered)
            current.add(list(run))
    if current is not None:
        yield current.done()


def read_batch(session: Session, table: Table, batch_id: int | None, entries: bool = True) -> BatchRead:
    """One batch's rows of `table` (none: count 0)."""
    where = table.c.batch_id.is_(None) if batch_id is None else table.c.batch_id == batch_id
    for read in read_batches(session, table, where, entries=entries):
        return read
    return BatchRead(batch_id, 0, ColumnsDigest(row_columns(table)).hexdigest(), {} if entries else None)


class _Batch:
    """One batch's rows as they are read, digested a run of rows at a time; a table without `id` is held and put
    in key order first (its rows are few: registries)."""

    def __init__(
        self,
        batch_id: int | None,
        names: list[str],
        key: Sequence[str],
        wanted: Sequence[str],
        entries: bool,
        ordered: bool,
    ):
        self.batch_id = batch_id
        self.where = {name: i + 1 for i, name in enumerate(names)}  # +1: batch_id comes first
        self.key, self.wanted = key, wanted
        self.digest = ColumnsDigest(wanted)
        self.entries: dict[str, bytes] | None = {} if entries else None
        self.held: list[Any] | None = None if ordered else []

    def add(self, rows: list[Any]) -> None:
        if self.held is not None:
            self.held.extend(rows)
        else:
            self._digest(rows)

    def done(self) -> BatchRead:
        if self.held:
            keyed = sorted(zip(self._keys(self.held), self.held, strict=True), key=itemgetter(0))
            self._digest([row for _, row in keyed])
        return BatchRead(self.batch_id, self.digest.count, self.digest.hexdigest(), self.entries)

    def _texts(self, rows: list[Any]) -> dict[str, Sequence[str]]:
        by_column = list(zip(*rows, strict=True))
        return {name: column_texts(by_column[i]) for name, i in self.where.items()}

    def _keys(self, rows: list[Any]) -> list[str]:
        return joined(self._texts(rows), self.key)

    def _digest(self, rows: list[Any]) -> None:
        texts = self._texts(rows)
        self.digest.add_texts(texts, len(rows))
        if self.entries is not None:
            keys, digests = text_entries(texts, self.key, self.wanted)
            self.entries.update(zip(keys, digests, strict=True))


def read_rows(session: Session, table: Table, *where: Any) -> Iterator[tuple[int | None, str, bytes]]:
    """(batch_id, key text, row digest) of the stored rows of `table` matching `where`, batch by batch."""
    for read in read_batches(session, table, *where, entries=True):
        assert read.entries is not None
        for key, digest in read.entries.items():
            yield read.batch_id, key, digest


def key_values(table: Table, key: Sequence[str], text: str) -> tuple[Any, ...]:
    """A key text back to values the database compares: a key's canonical text parsed by its columns' types."""
    parts = text.split("\t")
    return tuple(_parse(table.c[name], part) for name, part in zip(key, parts, strict=True))


def _parse(column: Any, text: str) -> Any:
    if text == "\\N":
        return None
    type_ = column.type  # the value's Python type decides its canonical text (trail/canonical.value_text)
    if isinstance(type_, UTCDateTime | DateTime):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if isinstance(type_, Money | DecimalText):  # exact decimals, stored as fen or text
        return Decimal(text)
    if isinstance(type_, Date):
        return date.fromisoformat(text)
    if isinstance(type_, Boolean):
        return text == "true"
    if isinstance(type_, Integer):
        return int(text)
    if isinstance(type_, Float):
        return float(text)
    return text.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\\\", "\\")
