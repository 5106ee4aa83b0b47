"""The canonical text of a stored row, the same on SQLite and PostgreSQL and whatever order the table keeps its
rows in (docs/trail.md, "Canonical rows"): what a seal hashes and what verify recomputes.

A row is one line in PostgreSQL's COPY text format: its values in the table's column order, separated by a tab,
NULL as \\N, a backslash, tab, newline or carriage return inside a value escaped as \\\\, \\t, \\n, \\r. Values:
text as it is; integers in decimal; floats as Python's shortest round-trip repr (both databases keep IEEE
doubles); booleans true/false; times in UTC as "YYYY-MM-DD HH:MM:SS.ffffff"; dates "YYYY-MM-DD"; exact
decimals as Python's str of the Decimal (money with its two places); JSON compact, keys sorted, not ASCII-escaped.

Left out of an evidence row: `batch_id` (the seal says the batch) and a surrogate `id` where the table has a key
of its own (a database numbers rows in its own way; the key names the row). The row's key is its table's unique
key (the one ingest writes by), else its `id`.

A batch's rows of a table are sealed by their batch digest (ColumnsDigest: the values a column at a time); each
row's digest (the first 16 bytes of sha256 of its line) is what a batch's index holds (trail/index.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Integer, Table, UniqueConstraint

NULL = "\\N"
DIGEST_BYTES = 16  # per row: a row's digest names it; the chain itself uses whole sha256 hashes
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text_value(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def time_text(value: datetime) -> str:
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError(f"naive time {value!r} in a sealed row")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:-6]


def value_text(value: Any) -> str:
    """Any stored value's canonical text (the column's type decides nothing here: the value's does)."""
    if value is None:
        return NULL
    kind = value.__class__
    if kind is str:
        return text_value(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return repr(value)
    if kind is datetime:
        return time_text(value)
    if kind is date:
        return value.isoformat()
    if kind is Decimal:
        return str(value)
    if isinstance(value, dict | list):
        return text_value(json_text(value))
    if isinstance(value, str):  # a str subclass (an enum's value)
        return text_value(str(value))
    raise TypeError(f"no canonical text for {kind.__name__} {value!r}")


def row_text(values: Iterable[Any]) -> str:
    return "\t".join(map(value_text, values))


def row_digest(values: Iterable[Any]) -> bytes:
    return hashlib.sha256(row_text(values).encode()).digest()[:DIGEST_BYTES]


def key_text(values: Iterable[Any]) -> str:
    return row_text(values)


def table_key(table: Table) -> tuple[str, ...]:
    """The columns naming a row of `table`: its unique key (what ingest writes by), else the primary key."""
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    if uniques:
        return tuple(c.name for c in uniques[0].columns)
    single = [c.name for c in table.columns if c.unique]
    if single:
        return (single[0],)
    return tuple(c.name for c in table.primary_key.columns)


def row_columns(table: Table) -> tuple[str, ...]:
    """The columns a row's canonical text holds, in the table's order."""
    key = table_key(table)
    surrogate = "id" not in key
    return tuple(
        c.name
        for c in table.columns
        if c.name != "batch_id" and not (surrogate and c.name == "id" and _serial(c))
    )


def _serial(column: Column[Any]) -> bool:
    return bool(column.primary_key and isinstance(column.type, Integer))


def entries_digest(entries: dict[str, bytes]) -> str:
    """The digest of entries (a batch's index, a purge, a day of roll-ups): sha256 over "key<TAB>row digest
    hex<LF>" in the order the seal lists them (trail/chain.py keeps that order), so a seal never has to hold a
    whole batch to sort it. Verify compares rows by key, whatever order the table keeps them in."""
    return lines_digest(f"{key}\t{digest.hex()}\n" for key, digest in entries.items())


def lines_digest(lines: Iterable[str]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
    return h.hexdigest()


class ColumnsDigest:
    """The digest of one table's rows of a batch, taken a column at a time as the rows come (docs/trail.md,
    "Batch digests"): per column, sha256 over each value's canonical text followed by "\n", in the rows' order
    (the order they were written: their `id`); the digest is sha256 over "column<TAB>that hash hex<LF>" in the
    columns' order. A value's canonical text never holds a raw newline (it is escaped), so the stream is
    unambiguous; no Python code runs per row, which is what keeps sealing a large ingest cheap (issue 22)."""

    def __init__(self, columns: Sequence[str]):
        self.columns = tuple(columns)
        self.count = 0
        self._hashes = {name: hashlib.sha256() for name in self.columns}

    def add_texts(self, texts: Mapping[str, Sequence[str]], count: int) -> None:
        """Rows given as each column's canonical texts."""
        if not count:
            return
        for name in self.columns:
            self._hashes[name].update(("\n".join(texts[name]) + "\n").encode())
        self.count += count

    def add_values(
        self,
        by_name: Mapping[str, Sequence[Any]],
        count: int,
        given: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Rows given as each column's values (`given`: columns already in their canonical text, e.g. a writer's
        own rendering of times). A text column is taken as it is and its escapes checked once over the joined
        column: only a column that holds a tab, newline, carriage return or backslash is rendered value by
        value."""
        if not count:
            return
        for name in self.columns:
            if given and name in given:
                joined = "\n".join(given[name])
            else:
                joined = _plain_column(by_name[name])
            self._hashes[name].update((joined + "\n").encode())
        self.count += count

    def hexdigest(self) -> str:
        return columns_digest({name: self._hashes[name].hexdigest() for name in self.columns})


def columns_digest(hashes: Mapping[str, str]) -> str:
    """sha256 over "column<TAB>column hash hex<LF>" in the given order (ColumnsDigest)."""
    return lines_digest(f"{name}\t{digest}\n" for name, digest in hashes.items())


def _plain_column(values: Sequence[Any]) -> str:
    """One column's canonical texts joined by "\n": text values as they are when none needs an escape."""
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        nulls = values.count(None) if type(None) in kinds else 0
        present = [NULL if v is None else v for v in values] if nulls else values
        joined = "\n".join(present)
        # Every backslash a NULL's; no tab, carriage return, or newline but the joins: nothing to escape.
        if (
            joined.count("\\") == nulls
            and "\t" not in joined
            and "\r" not in joined
            and joined.count("\n") == len(values) - 1
        ):
            return joined
    return "\n".join(column_texts(values))


def column_texts(values: Sequence[Any]) -> Sequence[str]:
    """value_text of every value of one column, a column at a time: what a row-by-row value_text gives, for a
    fraction of its cost on the common columns (text without escapes, UTC times, numbers)."""
    kinds = set(map(type, values))
    has_null = type(None) in kinds
    kinds.discard(type(None))
    if kinds <= {str}:
        present = [v for v in values if v is not None] if has_null else values
        joined = "\x00".join(present)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return [value_text(v) for v in values]
        return [NULL if v is None else v for v in values] if has_null else values
    if kinds == {datetime}:
        return [
            NULL
            if v is None
            else (v.isoformat(" ", "microseconds")[:-6] if v.tzinfo is UTC else time_text(v))
            for v in values
        ]
    if kinds == {int} and not has_null:
        return list(map(str, values))
    if kinds == {float} and not has_null:
        return list(map(repr, values))
    return [value_text(v) for v in values]


def text_entries(
    texts: Mapping[str, Sequence[str]], key: Sequence[str], wanted: Sequence[str]
) -> tuple[list[str], list[bytes]]:
    """(key texts, row digests) of rows given as each column's canonical texts: what key_text and row_digest give
    row by row."""
    row_texts = joined(texts, wanted)
    sha, size = hashlib.sha256, DIGEST_BYTES
    return joined(texts, key), [sha(t.encode()).digest()[:size] for t in row_texts]


def joined(texts: Mapping[str, Sequence[str]], names: Sequence[str]) -> list[str]:
    """Each row's texts of `names`, tab-separated."""
    if len(names) == 1:
        return list(texts[names[0]])
    return list(map("\t".join, zip(*(texts[n] for n in names), strict=True)))
