"""A batch's index: which row is which ("key -> row digest" of every row, by table), sealed in the evidence chain
after the batch's own seal, so verify can name the row that changed and a receipt can prove one row (docs/trail.md,
"Index").

A batch's seal holds a digest of its rows taken a column at a time as they were written (trail/evidence.py): cheap
enough for any ingest, but it cannot say which row differs. The trail job indexes the batches sealed since its last
run: it reads their rows back, and only when they still give their seal's digest does it seal their entries
(kind "index", the batch's subject; body "of" = {"batch_seal": seq, "entries": {table: {"count", "digest"}}},
trail_seals.entries the packed entries). A batch whose rows no longer match is left unindexed: verify reports it.
Before an upsert replaces an earlier batch's rows, or a purge deletes them, that batch is indexed on the spot
(`ensure`), so its other rows can still be named.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.core.log import get_logger
from ops_watch.store.schema import StoreState, TrailSeal
from ops_watch.trail import chain
from ops_watch.trail.canonical import entries_digest
from ops_watch.trail.rows import ORPHANS, BatchRead, batch_of, batch_tables, read_batches, subject_of

log = get_logger(__name__)

INDEX = "index"
SEALED = ("batch", "genesis")  # the seal kinds an index follows
STATE_NAME = "trail_indexed_evidence"  # the last batch seal's seq the job considered
ROWS_PER_PASS = 250_000  # sealed rows indexed per read of a table: the entries of a pass are held in memory
SUBJECTS_PER_QUERY = 500


def append_index(session: Session, seal: TrailSeal, entries: dict[str, dict[str, bytes]]) -> TrailSeal | None:
    """Seal a batch's entries by table, read from rows that give its seal's digests (None: it has no rows)."""
    held = {t: e for t, e in sorted(entries.items()) if e}
    if not held:
        return None
    body = {
        "batch_seal": seal.seq,
        "entries": {t: {"count": len(e), "digest": entries_digest(e)} for t, e in held.items()},
    }
    return chain.append(session, chain.EVIDENCE, INDEX, seal.subject, body, chain.pack_entries(held))


def index_new(session: Session) -> tuple[int, list[int]]:
    """Index every batch sealed since the last run (in the caller's transaction). Returns (batches indexed, ids of
    the batches whose rows no longer give their seal's digest: left unindexed, for verify to report)."""
    after = _watermark(session)
    seals = list(
        session.scalars(
            select(TrailSeal)
            .where(TrailSeal.chain == chain.EVIDENCE, TrailSeal.seq > after, TrailSeal.kind.in_(SEALED))
            .order_by(TrailSeal.seq)
        )
    )
    if not seals:
        return 0, []
    done = indexed(session, [b for s in seals if (b := batch_of(s.subject)) is not None])
    pending = [s for s in seals if batch_of(s.subject) not in done]
    count, failed = _index(session, pending)
    _set_watermark(session, max(s.seq for s in seals))
    return count, failed


def ensure(session: Session, batch_ids: Iterable[int]) -> list[int]:
    """Index these batches now unless they are (before their rows change lawfully). Returns the ids that could not
    be: their rows no longer give their seal's digest."""
    ids = set(batch_ids) - indexed(session, batch_ids)
    if not ids:
        return []
    seals = [s for s in _batch_seals(session, ids).values() if s.kind in SEALED]
    return _index(session, sorted(seals, key=lambda s: s.seq))[1]


def indexed(session: Session, batch_ids: Iterable[int]) -> set[int]:
    """Which of these batches have an index seal."""
    return set(_batch_seals(session, set(batch_ids), kind=INDEX))


def index_seals(session: Session, batch_ids: Iterable[int]) -> dict[int, TrailSeal]:
    """{batch id: its index seal}."""
    return _batch_seals(session, set(batch_ids), kind=INDEX)


def _batch_seals(session: Session, ids: set[int], kind: str | None = None) -> dict[int, TrailSeal]:
    """{batch id: its first seal of `kind` (any but an index: its batch seal)}."""
    out: dict[int, TrailSeal] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), SUBJECTS_PER_QUERY):
        subjects = {subject_of(b): b for b in ordered[start : start + SUBJECTS_PER_QUERY]}
        stmt = select(TrailSeal).where(
            TrailSeal.chain == chain.EVIDENCE, TrailSeal.subject.in_(list(subjects))
        )
        stmt = stmt.where(TrailSeal.kind == kind) if kind else stmt.where(TrailSeal.kind != INDEX)
        for seal in session.scalars(stmt.order_by(TrailSeal.seq.desc())):
            out[subjects[seal.subject]] = seal  # the lowest seq wins
    return out


def _index(session: Session, seals: list[TrailSeal]) -> tuple[int, list[int]]:
    """Index the batches of these seals, a pass of up to ROWS_PER_PASS sealed rows at a time."""
    count, failed = 0, []
    group: list[tuple[TrailSeal, dict[str, tuple[int, str]]]] = []
    rows = 0
    for seal in seals:
        sealed = _sealed_rows(seal)
        if not sealed or seal.subject == ORPHANS:
            continue  # nothing to name (a file refused whole without row errors); orphans are indexed at genesis
        group.append((seal, sealed))
        rows += sum(n for n, _ in sealed.values())
        if rows >= ROWS_PER_PASS:
            done, bad = _index_group(session, group)
            count, failed, group, rows = count + done, failed + bad, [], 0
    if group:
        done, bad = _index_group(session, group)
        count, failed = count + done, failed + bad
    return count, failed


def _index_group(
    session: Session, group: list[tuple[TrailSeal, dict[str, tuple[int, str]]]]
) -> tuple[int, list[int]]:
    """One read of each table the group's batches wrote, smallest first: a batch is indexed as soon as its last
    table is read, so what is held at once is about one batch's entries (a large file's), not the group's."""
    by_id = {b: (seal, sealed) for seal, sealed in group if (b := batch_of(seal.subject)) is not None}
    ids = sorted(by_id)
    if not ids:
        return 0, []
    tables = {t.name: t for t in batch_tables()}
    sizes: dict[str, int] = {}
    for _, sealed in by_id.values():
        for name, (n, _) in sealed.items():
            sizes[name] = sizes.get(name, 0) + n
    reads: dict[int, dict[str, BatchRead]] = {}
    done: set[int] = set()
    differ: set[int] = set()
    for name in sorted(sizes, key=lambda t: (sizes[t], t)):
        table = tables.get(name)
        if table is None:
            continue  # a table this version no longer has: the batch stays unindexed, verify names it
        where = [table.c.batch_id >= ids[0], table.c.batch_id <= ids[-1]]
        for read in read_batches(session, table, *where, entries=True):
            held = by_id.get(read.batch_id) if read.batch_id is not None else None
            if held is None or name not in held[1]:
                continue
            batch_id = read.batch_id
            assert batch_id is not None
            now = reads.setdefault(batch_id, {})
            now[name] = read
            if len(now) < len(held[1]):
                continue  # another table of the batch is still to be read
            del reads[batch_id]
            (done if _index_batch(session, held[0], held[1], now) else differ).add(batch_id)
    failed = [b for b in ids if b not in done]
    for batch_id in failed:
        if batch_id not in differ:
            log.warning("evidence batch not indexed: rows of a table it sealed are gone", batch=batch_id)
    return len(done), failed


def _index_batch(
    session: Session, seal: TrailSeal, sealed: dict[str, tuple[int, str]], now: dict[str, BatchRead]
) -> bool:
    if all((now[t].count, now[t].digest) == s for t, s in sealed.items()):
        append_index(session, seal, {t: r.entries or {} for t, r in now.items()})
        return True
    log.warning(
        "evidence batch not indexed: its rows differ from its seal", batch=seal.subject, seal=seal.seq
    )
    return False


def _sealed_rows(seal: TrailSeal) -> dict[str, tuple[int, str]]:
    try:
        rows: dict[str, Any] = json.loads(seal.body)["of"].get("rows") or {}
        return {str(t): (int(v["count"]), str(v["digest"])) for t, v in rows.items() if int(v["count"])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}  # a damaged seal: verify reports it


def _watermark(session: Session) -> int:
    row = session.get(StoreState, STATE_NAME)
    try:
        return 0 if row is None else int(row.value)
    except ValueError:
        return 0


def _set_watermark(session: Session, seq: int) -> None:
    row = session.get(StoreState, STATE_NAME)
    if row is None:
        session.add(StoreState(name=STATE_NAME, value=str(seq)))
    else:
        row.value = str(seq)
