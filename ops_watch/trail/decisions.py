"""Sealing decisions: every finding event (opened, acknowledged, silenced, resolved, reopened, with who and
why), every silence and every entry of the console's audit trail, sealed into the decisions chain in the
transaction that writes it, as its whole row's canonical text (a later change of the row is sealed again)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ops_watch.store.schema import FindingEvent, Silence, TrailSeal, declare_all
from ops_watch.trail import chain
from ops_watch.trail.canonical import row_text


def decision_tables() -> dict[str, Table]:
    """The tables whose rows are decisions, by name."""
    tables = declare_all()
    return {t.name: t for t in (FindingEvent.__table__, Silence.__table__, tables.AuthEvent.__table__)}


def columns_of(table: Table) -> list[str]:
    return [c.name for c in table.columns]


def subject_of(table: str, row_id: int) -> str:
    return f"{table}:{row_id}"


def row_record(session: Session, table: Table, row_id: int) -> dict[str, Any] | None:
    """The row as sealed: {"columns": [...], "row": canonical text}; None if it is gone."""
    row = session.execute(select(*table.columns).where(table.c.id == row_id)).first()
    if row is None:
        return None
    return {"columns": columns_of(table), "row": row_text(row)}


def seal_decision(session: Session, table: Table, row_id: int, op: str) -> TrailSeal | None:
    record = row_record(session, table, row_id)
    if record is None:
        return None  # written and deleted in one transaction: nothing stands to be sealed
    body = {"table": table.name, "id": row_id, **record}
    return chain.append(session, chain.DECISIONS, op, subject_of(table.name, row_id), body)
