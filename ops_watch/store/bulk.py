"""INSERT … ON CONFLICT in the store's dialect (SQLite or PostgreSQL), shared by every writer of records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Table
from sqlalchemy.orm import Session


def conflict_insert(
    session: Session,
    table: Table,
    key: Sequence[str],
    columns: Sequence[str],
    mode: Literal["upsert", "ignore"] = "ignore",
) -> Any:
    """A statement for executemany: `upsert` overwrites the non-key columns, `ignore` keeps the stored row."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - the store refuses other databases
        raise ValueError(f"the store supports SQLite and PostgreSQL, not {dialect}")
    stmt = dialect_insert(table)
    if mode == "upsert":
        updates = {c: stmt.excluded[c] for c in columns if c not in key}
        return stmt.on_conflict_do_update(index_elements=list(key), set_=updates)
    return stmt.on_conflict_do_nothing(index_elements=list(key))
