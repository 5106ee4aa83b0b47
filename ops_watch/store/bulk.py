"""INSERT … ON CONFLICT in the store's dialect (SQLite or PostgreSQL), shared by every writer of records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Date, DateTime, Table
from sqlalchemy.orm import Session

RowsWriter = Callable[[list[tuple[Any, ...]]], None]
# Shown each chunk before it is written, a column at a time: (values by column, how many rows, the columns whose
# values are also given as the store's text of them: times and dates). The evidence trail digests rows here.
Observer = Callable[[dict[str, Sequence[Any]], int, dict[str, Sequence[str]]], None]


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


def rows_writer(
    session: Session,
    table: Table,
    key: Sequence[str],
    columns: Sequence[str],
    mode: Literal["upsert", "ignore"] = "ignore",
    observe: Observer | None = None,
) -> RowsWriter:
    """A function writing rows given as tuples in `columns` order, with conflict_insert's statement; `observe`
    sees each chunk first.

    On SQLite the statement is compiled once and each call is one executemany of the driver, the columns'
    bind processing (UTCDateTime, Date, JSON) applied here a column at a time: SQLAlchemy's per-row
    parameter handling costs more than SQLite's insert. The values stored are the same, and errors come
    wrapped as SQLAlchemy's. On PostgreSQL the rows go through session.execute as dicts, as they always have.
    """
    names = list(columns)
    stmt = conflict_insert(session, table, key, names, mode)
    dialect = session.get_bind().dialect
    if dialect.name == "sqlite":
        compiled = stmt.compile(dialect=dialect, column_keys=names)
        order = list(compiled.positiontup or ())
        if compiled.positional and sorted(order) == sorted(names) and not compiled.literal_execute_params:
            positions = [names.index(name) for name in order]
            processors = []
            as_text: list[
                tuple[int, str]
            ] = []  # processed cells that are the values' own text (times, dates)
            for i, name in enumerate(order):
                type_ = table.c[name].type
                process = type_.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors.append((i, _utc_datetime_text(process)))
                    if isinstance(getattr(type_, "impl", type_), DateTime | Date):
                        as_text.append((i, name))
            return _driver_writer(session, compiled.string, names, positions, processors, observe, as_text)

    def write(rows: list[tuple[Any, ...]]) -> None:
        if observe is not None and rows:
            observe(dict(zip(names, zip(*rows, strict=True), strict=True)), len(rows), {})
        session.execute(stmt, [dict(zip(names, row, strict=True)) for row in rows])

    return write


# Times whose text the shortcut must match exactly: the widths of every field, both ends of the range.
_PROBES = (
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(5, 6, 7, 8, 9, 10, 11, tzinfo=UTC),
    datetime(2026, 11, 2, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)


def _utc_datetime_text(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A column's processor, with a shortcut for aware UTC times if it is a datetime column's.

    On SQLite a UTCDateTime becomes naive UTC text through astimezone(), replace() and a %-format, which
    together cost several times isoformat(). The shortcut is taken only when the processor gives the same
    text for the probes (so a changed type or storage format turns it off), and only for values of exactly
    the kind probed: anything else still goes through the processor, errors included.
    """
    try:
        agrees = all(process(t) == t.isoformat(" ", "microseconds")[:-6] for t in _PROBES)
    except Exception:  # a processor refusing the probes has no shortcut
        agrees = False
    if not agrees:
        return process

    def text(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is UTC:
            return value.isoformat(" ", "microseconds")[:-6]  # without "+00:00"
        return process(value)

    return text


def _driver_writer(
    session: Session,
    sql: str,
    names: list[str],
    positions: list[int],
    processors: list[tuple[int, Callable[[Any], Any]]],
    observe: Observer | None = None,
    as_text: list[tuple[int, str]] | None = None,
) -> RowsWriter:
    reorder = positions != list(range(len(positions)))

    def write(rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if session.autoflush:
            session.flush()  # as session.execute would: pending ORM changes go first
        if reorder or processors or observe is not None:
            # Column-wise: one map() per processed column instead of a Python loop per row.
            by_column = list(zip(*rows, strict=True))
            cells = [by_column[i] for i in positions]
            for i, process in processors:
                cells[i] = tuple(map(process, cells[i]))
            if observe is not None:
                given = {name: cells[i] for i, name in as_text or ()}
                observe(dict(zip(names, by_column, strict=True)), len(rows), given)
            rows = list(zip(*cells, strict=True))
        session.connection().exec_driver_sql(sql, rows)

    return write
