"""A store upgraded to the trail starts with a complete chain: what it already holds is sealed once, evidence in
arrival order, then the decisions in the order they were written (migration 0016)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import utcnow
from ops_watch.trail import chain, decisions, evidence, rollups

log = get_logger(__name__)


def seal_existing(session: Session) -> dict[str, int]:
    """Genesis seals of every stored batch and decision; nothing if the chains already hold seals."""
    if chain.head(session, chain.EVIDENCE) or chain.head(session, chain.DECISIONS):
        return {"evidence": 0, "decisions": 0}
    batches = evidence.genesis(session)
    batches += len(rollups.seal_over(session, utcnow()))  # the hourly roll-ups of each day over, a seal a day
    events = 0
    for name, table in decisions.decision_tables().items():
        for (row_id,) in session.execute(select(table.c.id).order_by(table.c.id)):
            body = {"table": name, "id": row_id, **(decisions.row_record(session, table, row_id) or {})}
            chain.append(session, chain.DECISIONS, "genesis", decisions.subject_of(name, row_id), body)
            events += 1
    if batches or events:
        log.info("stored evidence and decisions sealed (genesis)", evidence=batches, decisions=events)
    return {"evidence": batches, "decisions": events}
