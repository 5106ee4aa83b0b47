"""Sealing a batch of evidence: the digests of the rows it stored, by table, sealed with the batch's own record
and its file's sha256 into the evidence chain, in the transaction that makes the batch visible.

The writers (ingest's RecordWriter, the utilization collector) hand their rows to `note_rows` as they write
them, so the digests come from values already in memory: reading a batch back to seal it would cost its
ingest a fifth more (issue 22's bench). A batch no writer noted is read back. An upsert writer's note also
records which earlier batch owned each key it is about to replace ("superseded"): verify then expects that
row gone from the earlier batch, lawfully.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Table, func, select, tuple_
from sqlalchemy.orm import Session

from ops_watch.store.schema import (
    Base,
    BatchRows,
    DecimalText,
    EvidenceBatch,
    Money,
    TrailSeal,
    UTCDateTime,
    declare_all,
)
from ops_watch.trail import chain
from ops_watch.trail.canonical import (
    NULL,
    column_lines,
    entries_digest,
    key_text,
    keyed_digests,
    row_columns,
    table_key,
    value_text,
)
from ops_watch.trail.keys import NOTES

SEALED_FIELDS = (
    "id",
    "kind",
    "source",
    "sha256",
    "received_at",
    "evidence_time",
    "known_from",
    "status",
    "rows_total",
    "rows_ok",
    "rows_bad",
    "rows_duplicate",
)
# Not sealed: `stored_path`, where the file lies now (the move to processed/ happens after the commit and may
# land on another name; verify hashes whatever file the batch names against the sealed file_sha256), and
# `detail` (notes added later, e.g. the archived copy's own digest).
KEYS_PER_QUERY = 500
READ_ROWS = 5000  # rows read, and digested a column at a time, per step


@dataclass
class Written:
    """One table's rows of a batch as its writers wrote them: their entry lines, digested and packed as they come
    (nothing of the batch is held: a million-row file seals in the memory of one chunk)."""

    table: str
    mode: str
    source: Table  # the table written (a writer may write one no BatchRows mixin declares)
    count: int = 0
    digest: Any = field(default_factory=hashlib.sha256)
    packer: Any = field(default_factory=chain.entries_packer)
    parts: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.parts.append(self.packer.compress(f"{self.table}\n".encode()))

    def add(self, lines: str, count: int) -> None:
        data = lines.encode()
        self.digest.update(data)
        self.parts.append(self.packer.compress(data))
        self.count += count

    def packed(self) -> bytes:
        return b"".join([*self.parts, self.packer.flush()])


@dataclass
class Notes:
    """What the writers of one batch wrote, by table, and the keys an upsert took over from earlier batches."""

    written: dict[str, Written] = field(default_factory=dict)
    superseded: dict[str, dict[str, int]] = field(default_factory=dict)


def subject_of(batch_id: int) -> str:
    return f"evidence_batches:{batch_id}"


def _notes(session: Session, batch_id: int) -> Notes:
    return session.info.setdefault(NOTES, {}).setdefault(batch_id, Notes())


def expect_no_rows(session: Session, batch_id: int) -> None:
    """This batch stores no rows but its refusals (a file refused whole): nothing to read back."""
    _notes(session, batch_id)


def expect_rows(session: Session, batch_id: int, table: Table, mode: str = "ignore") -> Written:
    """This batch's rows of `table` all come through note_rows (none noted: it stored none of them)."""
    notes = _notes(session, batch_id)
    written = notes.written.get(table.name)
    if written is None:
        written = notes.written[table.name] = Written(table.name, mode, table)
    return written


def note_rows(
    session: Session,
    batch_id: int,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    mode: str = "ignore",
) -> None:
    """Rows about to be written for the batch, as tuples in `columns` order (note_columns)."""
    if not rows:
        expect_rows(session, batch_id, table, mode)
        return
    by_column = zip(*rows, strict=True)
    note_columns(session, batch_id, table, dict(zip(columns, by_column, strict=True)), len(rows), mode)


def note_columns(
    session: Session,
    batch_id: int,
    table: Table,
    by_name: dict[str, Sequence[Any]],
    count: int,
    mode: str = "ignore",
    given: dict[str, Sequence[str]] | None = None,
) -> None:
    """Rows about to be written for the batch, a column at a time (`by_name`; `given`: columns the writer already
    rendered as their canonical text). Call before the write: an upsert's earlier owners are read here."""
    written = expect_rows(session, batch_id, table, mode)
    if not count:
        return
    wanted = row_columns(table)
    key = table_key(table)
    for name in (*wanted, *key):
        if name not in by_name:  # a column the writer leaves to its default: the value the store will hold
            by_name = {**by_name, name: (_default(table, name),) * count}
    if given:  # a writer's text of its times and dates: NULL where it passes None
        given = {
            n: [NULL if v is None else v for v in col] if None in col else col for n, col in given.items()
        }
    lines = column_lines(by_name, key, wanted, given)
    if mode == "upsert":
        keys = [line.rpartition("\t")[0] for line in lines.split("\n")[:-1]]
        took = {
            k: b for k, b in _owners(session, table, key, keys).items() if b is not None and b != batch_id
        }
        if took:
            _notes(session, batch_id).superseded.setdefault(table.name, {}).update(took)
    written.add(lines, count)


def _default(table: Table, name: str) -> Any:
    default = table.c[name].default
    if default is not None and default.is_scalar:
        return default.arg
    return None


def _owners(session: Session, table: Table, key: Sequence[str], keys: list[str]) -> dict[str, int | None]:
    """{key text: batch_id} of the stored rows with these keys."""
    out: dict[str, int | None] = {}
    wanted = set(keys)
    cols = [table.c[c] for c in key]
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start : start + KEYS_PER_QUERY]
        values = [key_values(table, key, k) for k in chunk]
        match = cols[0].in_([v[0] for v in values]) if len(cols) == 1 else tuple_(*cols).in_(values)
        for row in session.execute(select(*cols, table.c.batch_id).where(match)):
            k = key_text(row[:-1])
            if k in wanted:
                out[k] = row[-1]
    return out


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


def batch_tables() -> list[Table]:
    """Every table whose rows come with a batch (the BatchRows mixin)."""
    declare_all()
    return sorted(
        (m.class_.__table__ for m in Base.registry.mappers if issubclass(m.class_, BatchRows)),
        key=lambda t: t.name,
    )


def read_rows(
    session: Session, table: Table, *where: Any, by_batch: bool = False
) -> Iterator[tuple[int | None, str, bytes]]:
    """(batch_id, key text, row digest) of the stored rows of `table` matching `where`, in the order they were
    written (`id`); `by_batch`: in batch_id order first, so a reader can take them a batch at a time."""
    wanted = row_columns(table)
    key = table_key(table)
    names = ["batch_id", *dict.fromkeys((*key, *wanted))]
    stmt = select(*(table.c[n] for n in names)).where(*where)
    order = [table.c.batch_id] if by_batch else []
    if "id" in table.c:
        order.append(table.c.id)
    result = session.execute(stmt.order_by(*order).execution_options(yield_per=READ_ROWS))
    for part in result.partitions():
        keys, digests = keyed_digests(names, key, wanted, part)
        yield from zip((row[0] for row in part), keys, digests, strict=True)


def batch_record(batch: EvidenceBatch) -> dict[str, str]:
    """The batch's own record as sealed: each field's canonical text."""
    return {name: value_text(getattr(batch, name)) for name in SEALED_FIELDS}


def file_sha256(batch: EvidenceBatch) -> str:
    """The sha256 of the bytes the batch was read from ("" for a poll): a refused file keeps it in detail."""
    if batch.sha256:
        return batch.sha256
    try:
        return str(json.loads(batch.detail or "{}").get("sha256") or "")
    except ValueError:
        return ""


def is_sealed(session: Session, batch_id: int) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(TrailSeal)
            .where(TrailSeal.chain == chain.EVIDENCE, TrailSeal.subject == subject_of(batch_id))
        )
        or 0
    ) > 0


def batch_rows(session: Session, batch: EvidenceBatch) -> dict[str, tuple[int, str, bytes]]:
    """{table: (rows, digest, packed entries)} of the rows the batch holds now: from its writers' notes, else
    read back."""
    notes: Notes | None = session.info.get(NOTES, {}).pop(batch.id, None)
    tables = {t.name: t for t in batch_tables()}
    if notes is None:
        return {
            t.name: _summed(t.name, found)
            for t in tables.values()
            if (found := {k: d for _, k, d in read_rows(session, t, t.c.batch_id == batch.id)})
        }
    out: dict[str, tuple[int, str, bytes]] = {}
    for name, written in notes.written.items():
        if not written.count:
            continue
        if written.mode == "upsert":
            kept = _as_stored(written, last_wins=True)
        elif written.count == _stored_count(session, written.source, batch, len(notes.written)):
            out[name] = (written.count, written.digest.hexdigest(), written.packed())
            continue
        else:  # some rows were already stored by an earlier batch (duplicates): they stay that batch's
            kept = _owned(session, written.source, batch.id, _as_stored(written, last_wins=False))
        if kept:
            out[name] = _summed(name, kept)
    errors = tables["row_errors"]
    found = {k: d for _, k, d in read_rows(session, errors, errors.c.batch_id == batch.id)}
    if found:
        out["row_errors"] = _summed("row_errors", found)
    return out


def _summed(table: str, entries: dict[str, bytes]) -> tuple[int, str, bytes]:
    return len(entries), entries_digest(entries), chain.pack_entries({table: entries})


def _as_stored(written: Written, last_wins: bool) -> dict[str, bytes]:
    """The written entries by key, a key written twice kept as the store keeps it (an upsert: the last row; an
    insert that ignores conflicts: the first)."""
    out: dict[str, bytes] = {}
    for _, lines in chain.table_lines(written.packed()):
        for line in lines:
            key, _, digest = line.rpartition("\t")
            if last_wins:
                out.pop(key, None)
                out[key] = bytes.fromhex(digest)
            else:
                out.setdefault(key, bytes.fromhex(digest))
    return out


def _stored_count(session: Session, table: Table, batch: EvidenceBatch, tables: int) -> int:
    """How many rows of `table` the batch stored: its own count when it writes one table (no query)."""
    if tables == 1 and batch.rows_ok:
        return int(batch.rows_ok)
    return session.scalar(select(func.count()).select_from(table).where(table.c.batch_id == batch.id)) or 0


def superseded_of(session: Session, batch_id: int) -> dict[str, dict[str, int]]:
    notes: Notes | None = session.info.get(NOTES, {}).get(batch_id)
    return {} if notes is None else {t: dict(sorted(m.items())) for t, m in notes.superseded.items() if m}


def _owned(session: Session, table: Table, batch_id: int, offered: dict[str, bytes]) -> dict[str, bytes]:
    """The offered rows the batch holds: an ignored duplicate stays its earlier batch's."""
    owners = _owners(session, table, table_key(table), list(offered))
    return {k: d for k, d in offered.items() if owners.get(k) == batch_id}


def seal_batch(session: Session, batch: EvidenceBatch) -> TrailSeal:
    """Append the batch's seal to the evidence chain (in the caller's transaction)."""
    superseded = superseded_of(session, batch.id)
    rows = batch_rows(session, batch)
    body = _body(batch, rows, superseded)
    return chain.append(session, chain.EVIDENCE, "batch", subject_of(batch.id), body, _packed(rows))


def _body(
    batch: EvidenceBatch, rows: dict[str, tuple[int, str, bytes]], superseded: dict[str, dict[str, int]]
) -> dict[str, Any]:
    return {
        "batch": batch_record(batch),
        "file_sha256": file_sha256(batch),
        "rows": {t: {"count": n, "digest": d} for t, (n, d, _) in sorted(rows.items())},
        "superseded": superseded,
    }


def _packed(rows: dict[str, tuple[int, str, bytes]]) -> bytes | None:
    return b"".join(packed for _, (_, _, packed) in sorted(rows.items())) or None


ORPHANS = "orphans"


def genesis(session: Session) -> int:
    """Seal the evidence stored before the trail existed (migration 0016): one seal per batch, in arrival order,
    and one for rows whose batch record is gone. Each table is read once. Returns the seals written."""
    by_batch: dict[int | None, dict[str, dict[str, bytes]]] = {}
    for table in batch_tables():
        for batch_id, key, digest in read_rows(session, table):
            by_batch.setdefault(batch_id, {}).setdefault(table.name, {})[key] = digest
    batches = session.scalars(
        select(EvidenceBatch)
        .where(EvidenceBatch.status != "loading")
        .order_by(EvidenceBatch.received_at, EvidenceBatch.id)
    ).all()
    sealed = 0
    for batch in batches:
        rows = {t: _summed(t, e) for t, e in by_batch.pop(batch.id, {}).items()}
        chain.append(
            session, chain.EVIDENCE, "genesis", subject_of(batch.id), _body(batch, rows, {}), _packed(rows)
        )
        sealed += 1
    orphans = {t: _summed(t, e) for t, e in by_batch.pop(None, {}).items()}
    if orphans:
        body = {"rows": {t: {"count": n, "digest": d} for t, (n, d, _) in sorted(orphans.items())}}
        chain.append(session, chain.EVIDENCE, "genesis", ORPHANS, body, _packed(orphans))
        sealed += 1
    return sealed
