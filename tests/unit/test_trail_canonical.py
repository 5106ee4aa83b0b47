"""The canonical text of a stored row (trail/canonical.py, docs/trail.md "Canonical rows"): what a seal hashes and
verify recomputes, so each value type's text is fixed here, with the escapes, NULL and the key of each table."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

import pytest

from ops_watch.store.schema import DoorEvent, HandoverShift, RowError, StaffMember, UtilizationSample
from ops_watch.trail import chain
from ops_watch.trail.canonical import (
    NULL,
    ColumnsDigest,
    column_texts,
    entries_digest,
    key_text,
    row_columns,
    row_digest,
    row_text,
    table_key,
    text_entries,
    value_text,
)

CST = timezone(timedelta(hours=8))


class Shift(StrEnum):
    DAY = "白班"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        ("王建国", "王建国"),
        ("", ""),
        (Shift.DAY, "白班"),  # a str subclass: its value
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-42, "-42"),
        (12345678901234, "12345678901234"),
        (0.1, "0.1"),
        (1.0, "1.0"),
        (1e-7, "1e-07"),
        (37.5, "37.5"),
        (Decimal("12.50"), "12.50"),
        (Decimal("-3"), "-3"),
        (date(2026, 11, 2), "2026-11-02"),
        (datetime(2026, 11, 2, 1, 2, 3, tzinfo=UTC), "2026-11-02 01:02:03.000000"),
        (datetime(2026, 11, 2, 9, 2, 3, 5, tzinfo=CST), "2026-11-02 01:02:03.000005"),  # in UTC
        ({"b": 1, "a": ["x", "张"]}, '{"a":["x","张"],"b":1}'),  # sorted keys, compact, not ASCII-escaped
        (["YW-001", "YW-002"], '["YW-001","YW-002"]'),
    ],
)
def test_each_value_types_text(value: object, text: str) -> None:
    assert value_text(value) == text


def test_escapes_as_copy_text_format() -> None:
    assert value_text("a\tb") == "a\\tb"
    assert value_text("line1\nline2\r") == "line1\\nline2\\r"
    assert value_text("C:\\evidence") == "C:\\\\evidence"
    assert value_text("\\N") == "\\\\N"  # a text that reads like NULL is not NULL
    assert value_text("\\N") != NULL
    # JSON escapes its own control characters: the text holds no raw tab, only JSON's escape, escaped again
    assert value_text({"note": "a\tb"}) == '{"note":"a\\\\tb"}'


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive time"):
        value_text(datetime(2026, 11, 2, 1, 2, 3))


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(TypeError, match="no canonical text for bytes"):
        value_text(b"\x00")


def test_a_row_is_its_values_tab_separated_and_its_digest_the_first_16_bytes_of_sha256() -> None:
    values = ("YW-001", None, 3, "a\tb")
    assert row_text(values) == "YW-001\t\\N\t3\ta\\tb"
    assert row_digest(values) == hashlib.sha256(b"YW-001\t\\N\t3\ta\\tb").digest()[:16]
    assert key_text((date(2026, 10, 19), "白班")) == "2026-10-19\t白班"


def test_the_key_of_each_table() -> None:
    assert table_key(DoorEvent.__table__) == ("dedupe_key",)  # its unique column
    assert table_key(HandoverShift.__table__) == ("date", "shift")  # its unique constraint
    assert table_key(StaffMember.__table__) == ("person_id",)  # its primary key
    assert table_key(UtilizationSample.__table__) == ("resource_id", "at")
    assert table_key(RowError.__table__) == ("id",)  # no key of its own: its id


def test_a_rows_text_leaves_out_batch_id_and_a_surrogate_id() -> None:
    doors = row_columns(DoorEvent.__table__)
    assert "batch_id" not in doors and "id" not in doors and doors[0] == "at" and "dedupe_key" in doors
    errors = row_columns(RowError.__table__)
    assert errors[0] == "id" and "batch_id" not in errors  # the id is the key here: kept


def test_the_entries_digest_is_over_the_entries_in_the_order_the_seal_lists_them() -> None:
    """A seal digests its rows as written (no batch is held whole to sort it); the lines are kept in that order,
    so the digest can be recomputed from them, and verify compares rows by key whatever the table's order."""
    rows = {"k1": b"\x01" * 16, "k2": b"\x02" * 16, "a\tb": b"\x03" * 16}
    expected = hashlib.sha256("".join(f"{k}\t{d.hex()}\n" for k, d in rows.items()).encode()).hexdigest()
    assert entries_digest(rows) == expected
    assert entries_digest(dict(reversed(list(rows.items())))) != expected
    assert entries_digest({**rows, "k1": b"\x09" * 16}) != expected
    packed = chain.pack_entries({"door_events": rows})
    assert list(chain.unpack_entries(packed)["door_events"].items()) == list(rows.items())  # order kept


def test_entries_pack_and_unpack_keys_with_tabs() -> None:
    entries = {"handover_shifts": {"2026-10-19\t白班": b"\x01" * 16}, "staff": {"YW-001": b"\x02" * 16}}
    assert chain.unpack_entries(chain.pack_entries(entries)) == entries


def test_a_column_at_a_time_gives_what_row_by_row_gives() -> None:
    """The writers and verify digest rows a column at a time (canonical.text_entries over column_texts): the same keys and
    digests as key_text and row_digest row by row, for every kind of value, escapes and NULLs included."""
    table = HandoverShift.__table__
    names = [c.name for c in table.columns]
    at = datetime(2026, 10, 19, 0, 30, tzinfo=UTC)
    rows = [
        (1, date(2026, 10, 19), "白班", ["王建国", "张伟"], at, "王建国", "张伟", "机房巡检\n正常", at, 17),
        (2, date(2026, 10, 19), "夜班", [], None, "", "a\\b\tc", None, at.astimezone(CST), None),
        (3, date(2026, 10, 20), "白班", {"b": 1, "a": [Decimal("1.50")]}, at, None, "", "", at, 17),
    ]
    key, wanted = table_key(table), row_columns(table)
    by_column = list(zip(*rows, strict=True))
    keys, digests = text_entries({n: column_texts(by_column[i]) for i, n in enumerate(names)}, key, wanted)
    where = {n: i for i, n in enumerate(names)}
    for row, got_key, got in zip(rows, keys, digests, strict=True):
        assert got_key == key_text([row[where[c]] for c in key])
        assert got == row_digest([row[where[c]] for c in wanted])
    mixed = (1, 2.5, True, "x", None)  # a column of mixed kinds falls back to value_text per value
    assert list(column_texts(mixed)) == [value_text(v) for v in mixed]


def test_the_writers_batch_digest_is_the_one_value_by_value_texts_give() -> None:
    """The writers' fast path (ColumnsDigest.add_values: text columns taken as they are, escapes checked once per
    column) gives the digest each value's canonical text gives (add_texts, as verify reads): plain chunks, values
    that need an escape, NULLs, a text that looks like NULL, and times the writer already rendered."""
    table = DoorEvent.__table__
    names = [c.name for c in table.columns if c.name not in ("id", "batch_id")]
    at = datetime(2026, 10, 19, 0, 30, tzinfo=UTC)

    def row(i: int, name: str = "王建国", serial: str | None = "S1") -> tuple[object, ...]:
        values = {n: f"{n}-{i}" for n in names}
        values.update(at=at + timedelta(seconds=i), name=name, serial_no=serial, dedupe_key=f"K{i}")
        return tuple(values[n] for n in names)

    wanted = row_columns(table)
    chunks = [
        [row(i) for i in range(5)],
        [row(1), row(2, name="a\tb"), row(3, name="c\\N")],
        [row(1), row(2, serial=None), row(3, serial="\\N")],
        [row(1, name="换\n行"), row(2, name="\r")],
    ]

    def by_value(chunks: list[list[tuple[object, ...]]]) -> str:
        digest = ColumnsDigest(wanted)
        for rows in chunks:
            texts = {n: [value_text(r[names.index(n)]) for r in rows] for n in wanted}
            digest.add_texts(texts, len(rows))
        return digest.hexdigest()

    fast, given = ColumnsDigest(wanted), ColumnsDigest(wanted)
    for rows in chunks:
        by_name = dict(zip(names, zip(*rows, strict=True), strict=True))
        fast.add_values(by_name, len(rows))
        given.add_values(by_name, len(rows), {"at": [value_text(v) for v in by_name["at"]]})
    assert fast.count == given.count == sum(map(len, chunks))
    assert fast.hexdigest() == given.hexdigest() == by_value(chunks)
    # Which rows, in which order, and every value count: a row moved, dropped or changed gives another digest.
    assert by_value([chunks[0][::-1], *chunks[1:]]) != fast.hexdigest()
    assert by_value([chunks[0][1:], *chunks[1:]]) != fast.hexdigest()
    assert by_value([[row(0, name="王建军"), *chunks[0][1:]], *chunks[1:]]) != fast.hexdigest()
    # NULL and a text reading \N differ (the text's backslash is escaped).
    assert by_value([[row(2, serial=None)]]) != by_value([[row(2, serial="\\N")]])


def test_every_batch_tables_key_reads_back_from_its_text() -> None:
    """A repeated or replaced row is looked up by its key's text parsed back by the column's type (a time, a
    date, money, an exact decimal, a number, text with escapes): every batch table's key round-trips."""
    from sqlalchemy import Boolean, Date, Float, Integer

    from ops_watch.store.schema import DecimalText, Money, UTCDateTime
    from ops_watch.trail.rows import batch_tables, key_values

    def sample(column: object) -> object:
        kind = column.type  # type: ignore[attr-defined]
        if isinstance(kind, UTCDateTime):
            return datetime(2026, 11, 2, 1, 2, 3, 456, tzinfo=UTC)
        if isinstance(kind, Money):
            return Decimal("30170000.00")
        if isinstance(kind, DecimalText):
            return Decimal("3.140")
        if isinstance(kind, Date):
            return date(2026, 11, 2)
        if isinstance(kind, Boolean):
            return True
        if isinstance(kind, Integer):
            return 17
        if isinstance(kind, Float):
            return 2.5
        return "a\tb\\c 王"

    for table in batch_tables():
        key = table_key(table)
        values = [sample(table.c[name]) for name in key]
        text = key_text(values)
        assert key_text(key_values(table, key, text)) == text, table.name
