"""Sealing a batch of evidence: the digest of the rows it stored, by table, sealed with the batch's own record
and its file's sha256 into the evidence chain, in the transaction that makes the batch visible.

The writers (ingest's RecordWriter, the utilization collector) hand their rows to `note_columns` as they write
them, so the batch digests (canonical.ColumnsDigest) come from values already in memory, a column at a time:
reading a batch back, or digesting it row by row, would cost a large ingest a fifth more (issue 22's bench).
Which row is which ("key -> row digest") is recorded later by the batch's index seal (trail/index.py). A batch
no writer noted, an upsert, and a batch some of whose rows were already stored are read back. An upsert writer's
note also records which earlier batch owned each key it is about to replace ("superseded"), after indexing that
batch, so verify can still name its other rows and expect these gone, lawfully.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.orm import Session

from ops_watch.store.schema import EvidenceBatch, TrailSeal
from ops_watch.trail import chain, index
from ops_watch.trail.canonical import (
    NULL,
    ColumnsDigest,
    column_texts,
    joined,
    key_text,
    row_columns,
    table_key,
    value_text,
)
from ops_watch.trail.keys import NOTES
from ops_watch.trail.rows import (
    ORPHANS,
    BatchRead,
    batch_tables,
    key_values,
    read_batch,
    read_batches,
    subject_of,
)

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


@dataclass
class Written:
    """One table's rows of a batch as its writers wrote them, digested as they come (nothing of the batch is held:
    a million-row file seals in the memory of one chunk)."""

    table: str
    mode: str
    source: Table  # the table written (a writer may write one no BatchRows mixin declares)
    digest: ColumnsDigest  # not taken for an upsert: its batch is read back at its seal
    count: int = 0


@dataclass
class Notes:
    """What the writers of one batch wrote, by table, and the keys an upsert took over from earlier batches."""

    written: dict[str, Written] = field(default_factory=dict)
    superseded: dict[str, dict[str, int]] = field(default_factory=dict)


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
        written = notes.written[table.name] = Written(
            table.name, mode, table, ColumnsDigest(row_columns(table))
        )
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
    written.count += count
    if mode != "upsert":
        written.digest.add_values(by_name, count, given)
        return
    # An upsert's batch is read back at its seal (a row it replaces keeps its place): its keys' owners only.
    keys = joined({n: (given or {}).get(n) or column_texts(by_name[n]) for n in key}, key)
    took = {k: b for k, b in _owners(session, table, key, keys).items() if b is not None and b != batch_id}
    if took:
        # The earlier batches' rows are named in their index before this write replaces some of them.
        index.ensure(session, set(took.values()))
        _notes(session, batch_id).superseded.setdefault(table.name, {}).update(took)


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


def batch_rows(session: Session, batch: EvidenceBatch) -> dict[str, tuple[int, str]]:
    """{table: (rows, batch digest)} of the rows the batch holds now: from its writers' notes, else read back."""
    notes: Notes | None = session.info.get(NOTES, {}).pop(batch.id, None)
    tables = {t.name: t for t in batch_tables()}
    if notes is None:
        return {
            t.name: (r.count, r.digest) for t in tables.values() if (r := _read(session, t, batch.id)).count
        }
    out: dict[str, tuple[int, str]] = {}
    for name, written in notes.written.items():
        if not written.count:
            continue
        if written.mode != "upsert" and written.count == _stored_count(
            session, written.source, batch, len(notes.written)
        ):
            out[name] = (written.count, written.digest.hexdigest())
            continue
        # An upsert (replaced rows keep their place) or some rows already stored by an earlier batch: read back.
        read = _read(session, written.source, batch.id)
        if read.count:
            out[name] = (read.count, read.digest)
    errors = _read(session, tables["row_errors"], batch.id)
    if errors.count:
        out["row_errors"] = (errors.count, errors.digest)
    return out


def _read(session: Session, table: Table, batch_id: int) -> BatchRead:
    return read_batch(session, table, batch_id, entries=False)


def _stored_count(session: Session, table: Table, batch: EvidenceBatch, tables: int) -> int:
    """How many rows of `table` the batch stored: its own count when it writes one table (no query)."""
    if tables == 1 and batch.rows_ok:
        return int(batch.rows_ok)
    return session.scalar(select(func.count()).select_from(table).where(table.c.batch_id == batch.id)) or 0


def superseded_of(session: Session, batch_id: int) -> dict[str, dict[str, int]]:
    notes: Notes | None = session.info.get(NOTES, {}).get(batch_id)
    return {} if notes is None else {t: dict(sorted(m.items())) for t, m in notes.superseded.items() if m}


def seal_batch(session: Session, batch: EvidenceBatch) -> TrailSeal:
    """Append the batch's seal to the evidence chain (in the caller's transaction)."""
    superseded = superseded_of(session, batch.id)
    rows = batch_rows(session, batch)
    return chain.append(
        session, chain.EVIDENCE, "batch", subject_of(batch.id), _body(batch, rows, superseded)
    )


def _body(
    batch: EvidenceBatch, rows: dict[str, tuple[int, str]], superseded: dict[str, dict[str, int]]
) -> dict[str, Any]:
    return {
        "batch": batch_record(batch),
        "file_sha256": file_sha256(batch),
        "rows": {t: {"count": n, "digest": d} for t, (n, d) in sorted(rows.items())},
        "superseded": superseded,
    }


def genesis(session: Session) -> int:
    """Seal the evidence stored before the trail existed (migration 0016): one seal per batch, in arrival order,
    each indexed at once, and one for rows whose batch record is gone. Each table is read once. Returns the
    batch seals written."""
    by_batch: dict[int | None, dict[str, BatchRead]] = {}
    for table in batch_tables():
        for read in read_batches(session, table, entries=True):
            by_batch.setdefault(read.batch_id, {})[table.name] = read
    batches = session.scalars(
        select(EvidenceBatch)
        .where(EvidenceBatch.status != "loading")
        .order_by(EvidenceBatch.received_at, EvidenceBatch.id)
    ).all()
    sealed = 0
    for batch in batches:
        reads = by_batch.pop(batch.id, {})
        rows = {t: (r.count, r.digest) for t, r in reads.items()}
        seal = chain.append(session, chain.EVIDENCE, "genesis", subject_of(batch.id), _body(batch, rows, {}))
        index.append_index(session, seal, {t: r.entries or {} for t, r in reads.items()})
        sealed += 1
    orphans = by_batch.pop(None, {})
    if orphans:
        body = {"rows": {t: {"count": r.count, "digest": r.digest} for t, r in sorted(orphans.items())}}
        seal = chain.append(session, chain.EVIDENCE, "genesis", ORPHANS, body)
        index.append_index(session, seal, {t: r.entries or {} for t, r in orphans.items()})
        sealed += 1
    return sealed
