"""Lawful purges: before retention deletes sealed rows, a "purge" seal records exactly which rows go, in the
transaction that deletes them, so verify tells a purge from a deletion (issue 22, "Retention").

The seal (subject "purge:<table>"): body "of" = {"table", "note" (what was purged, e.g. "older than
2026-05-01"), "batches": {batch id: rows} (evidence tables only), "rows": {"count", "digest"}}; entries
{table: {key: digest}} of the rows deleted. Evidence tables go in the evidence chain, keyed and digested as
their batch seals hold them (trail/evidence.py); decisions (finding_events, auth_events, silences) in the
decisions chain, keyed by id, digested over every column. Hourly roll-ups have their own (trail/rollups.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ops_watch.store.schema import TrailSeal
from ops_watch.trail import chain as chains
from ops_watch.trail.canonical import entries_digest, row_digest
from ops_watch.trail.hooks import DECISION_TABLES
from ops_watch.trail.index import ensure
from ops_watch.trail.rows import read_rows

PURGE = "purge"
FETCH = 5000


def subject_of(table: str) -> str:
    return f"purge:{table}"


def chain_of(table: Table) -> str:
    return chains.DECISIONS if table.name in DECISION_TABLES else chains.EVIDENCE


def seal_purge(
    session: Session, table: Table, *where: Any, chain: str | None = None, note: str = ""
) -> TrailSeal | None:
    """Seal the rows of `table` matching `where`, which the caller deletes next in this transaction. The chain
    is the table's (decisions or evidence) unless given. None (no seal) when nothing matches."""
    name = chain or chain_of(table)
    entries: dict[str, bytes] = {}
    body: dict[str, Any] = {"table": table.name, "note": note}
    if name == chains.DECISIONS:
        for key, digest in _decision_rows(session, table, *where):
            entries[key] = digest
    else:
        batches: dict[str, int] = {}
        for batch_id, key, digest in read_rows(session, table, *where):
            entries[key] = digest
            label = "null" if batch_id is None else str(batch_id)
            batches[label] = batches.get(label, 0) + 1
        body["batches"] = batches
        # The batches keep their other rows: their index names them once these are gone (trail/index.py).
        ensure(session, [int(b) for b in batches if b != "null"])
    if not entries:
        return None
    body["rows"] = {"count": len(entries), "digest": entries_digest(entries)}
    packed = chains.pack_entries({table.name: entries})
    return chains.append(session, name, PURGE, subject_of(table.name), body, packed)


def _decision_rows(session: Session, table: Table, *where: Any) -> Iterator[tuple[str, bytes]]:
    """(id as text, digest of every column's value in the table's order) of the matching decisions."""
    stmt = select(*table.columns).where(*where).order_by(table.c.id)
    position = list(table.columns.keys()).index("id")
    for row in session.execute(stmt.execution_options(yield_per=FETCH)):
        yield str(row[position]), row_digest(row)
