"""Where sealing happens: two events on every session of the store. After each flush the batches and decisions
the flush wrote are noted; before the commit the batches that became visible (no longer loading) and the
decisions are sealed, in the same transaction, so nothing is stored unsealed and no seal outlives a rollback.

Start-up: a session that writes nothing to seal (reading findings) loads none of the sealing code, nor the
tables it needs (store/schema.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from ops_watch.store.loading import LOADING
from ops_watch.store.schema import EvidenceBatch
from ops_watch.trail.keys import DECIDED, HEADS_CACHED, NOTES, TOUCHED

# The tables whose rows are decisions (trail/decisions.py seals them).
DECISION_TABLES = frozenset({"finding_events", "silences", "auth_events"})


def install(sessions: sessionmaker[Any]) -> None:
    @event.listens_for(sessions, "after_flush")
    def _note(session: Session, _context: Any) -> None:
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, EvidenceBatch):
                session.info.setdefault(TOUCHED, set()).add(obj.id)
            elif getattr(obj, "__tablename__", "") in DECISION_TABLES:
                op = "insert" if obj in session.new else "update"
                session.info.setdefault(DECIDED, {}).setdefault((obj.__tablename__, obj.id), op)

    @event.listens_for(sessions, "before_commit")
    def _seal(session: Session) -> None:
        if session.info.get(TOUCHED) or session.info.get(DECIDED) or session.new or session.dirty:
            seal_pending(session)

    @event.listens_for(sessions, "after_commit")
    def _committed(session: Session) -> None:
        session.info.pop(HEADS_CACHED, None)

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        for name in (TOUCHED, DECIDED, NOTES, HEADS_CACHED):
            session.info.pop(name, None)


def seal_pending(session: Session) -> None:
    """Seal what this transaction stored: batches no longer loading, then decisions, in the order written."""
    session.flush()
    touched = sorted(session.info.pop(TOUCHED, ()))
    decided: dict[tuple[str, int], str] = session.info.pop(DECIDED, {})
    if not touched and not decided:
        return
    # start-up: the sealing code loads with the first write that needs it (module docstring)
    from ops_watch.trail import decisions, evidence

    for batch_id in touched:
        batch = session.get(EvidenceBatch, batch_id)
        if batch is None or batch.status == LOADING or evidence.is_sealed(session, batch_id):
            continue
        evidence.seal_batch(session, batch)
    if decided:
        tables = decisions.decision_tables()
        for (name, row_id), op in decided.items():
            decisions.seal_decision(session, tables[name], row_id, op)
    session.flush()
