"""A batch still loading is invisible: its rows are committed a chunk at a time, but no reader sees them until the
batch's status flips at the end, so a file's batch stays atomic to readers while the store's write lock is
held only for one chunk at a time (SQLite has one writer: a 200 MB file in one transaction once held it for a
minute, and every other job's writes failed or waited).

Every ORM query of a session from `Store.session()` gets the criteria below (a `do_orm_execute` hook on the
store's sessions); a Core query of a batch-backed table (the roll-up reads raw samples through `__table__`) adds
`loading_batches()` itself. The ingest's own session sees its loading batch (`Store.session(see_loading=True)`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from ops_watch.store.schema import Base, BatchRows, EvidenceBatch, declare_all

LOADING = "loading"


def loading_batches() -> Any:
    """SELECT the ids of the batches still loading (a handful at most: one per ingest running). On the Core table:
    the ORM criteria hiding loading batches must not apply inside the very query that names them."""
    batches = EvidenceBatch.__table__.c
    return select(batches.id).where(batches.status == LOADING)


def _batch_backed() -> list[type]:
    declare_all()  # every table, not only those this process has named so far (store/schema.py)
    return [mapper.class_ for mapper in Base.registry.mappers if issubclass(mapper.class_, BatchRows)]


def hide_loading(sessions: sessionmaker[Any]) -> None:
    """Install the criteria on every session of `sessions` unless the session asked to see loading batches.
    One criterion for every batch-backed table (the BatchRows mixin) keeps each statement's cache key short."""
    options = (
        with_loader_criteria(EvidenceBatch, EvidenceBatch.status != LOADING, include_aliases=True),
        with_loader_criteria(
            BatchRows,
            lambda cls: or_(cls.batch_id.is_(None), cls.batch_id.not_in(loading_batches())),
            include_aliases=True,
        ),
    )

    @event.listens_for(sessions, "do_orm_execute")
    def _hide(state: ORMExecuteState) -> None:
        if state.session.info.get("see_loading"):
            return
        if state.is_select:
            state.statement = state.statement.options(*options)


def drop_batch(session: Session, batch_id: int) -> None:
    """Remove a batch that never finished loading, with every row it wrote (evidence rows only SET NULL their
    batch on delete: they must go first, or a half file would become evidence of no batch)."""
    for model in _batch_backed():
        table = model.__table__
        session.execute(delete(table).where(table.c.batch_id == batch_id))
    batches = EvidenceBatch.__table__
    session.execute(delete(batches).where(batches.c.id == batch_id, batches.c.status == LOADING))
