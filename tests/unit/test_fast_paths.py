"""The ingest's fast paths give what the plain code gave: each is compared with a copy of the code it replaced.

- times: as_utc/parse_datetime by arithmetic instead of replace()+astimezone(), across zones with and without
  daylight saving (gaps, folds, half-hour shifts, odd historic offsets) and odd inputs;
- rows: row_parser (prepared once per header, with shortcuts for text and choice cells) against the old
  parse_row, on random rows of every kind: empty, padded, too long, unknown, non-text cells, short rows;
- CSV: lines decoded a block at a time against line by line, with blocks cut at every place, bad bytes,
  encodings settled late, long lines, quoted line breaks;
- the store: rows written through the SQLite driver (with the UTC time shortcut) against session.execute,
  compared as stored.
"""

from __future__ import annotations

import csv
import random
import zoneinfo
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import sqlite

from ops_watch.areas.staffing import kind_door as door
from ops_watch.core.timeutil import _DATE_FORMATS, _TIME_FORMATS, as_utc, parse_datetime
from ops_watch.formats import KINDS, tabular
from ops_watch.formats.records import read_records
from ops_watch.formats.spec import (
    NO_DEFAULT,
    CellError,
    Fault,
    HeaderMap,
    ParseContext,
    Problem,
    RecordKind,
    match_header,
    parse_row,
    row_parser,
    shown,
)
from ops_watch.formats.tabular import SourceRow, Table, open_table
from ops_watch.ingest import RecordWriter
from ops_watch.store import open_store
from ops_watch.store.bulk import _utc_datetime_text, conflict_insert
from ops_watch.store.schema import DoorEvent, EvidenceBatch

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"

# --- times -----------------------------------------------------------------------------------------------


def _old_as_utc(value: datetime, site_zone: Any) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=site_zone)
    return value.astimezone(UTC)


def _old_parse_datetime(value: object, site_zone: Any) -> datetime:
    if isinstance(value, datetime):
        return _old_as_utc(value, site_zone)
    if isinstance(value, date):
        return _old_as_utc(datetime.combine(value, time()), site_zone)
    text = str(value).strip()
    if not text:
        raise ValueError("empty time")
    try:
        return _old_as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")), site_zone)
    except ValueError:
        pass
    for fmt in _TIME_FORMATS + _DATE_FORMATS:
        try:
            return _old_as_utc(datetime.strptime(text, fmt), site_zone)
        except ValueError:
            continue
    raise ValueError(
        f"{text!r} is not a time (expected e.g. 2026-11-02 08:30:00 or 2026-11-02T08:30:00+08:00)"
    )


def _outcome(fn: Any, *args: Any) -> tuple[str, Any, Any]:
    """What a call gives, comparable: the value with its zone object and fold, or the exception and message."""
    try:
        out = fn(*args)
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return ("value", (out, type(out), out.tzinfo, out.fold), out.isoformat())


# Zones with daylight saving (north and south), half-hour and 45-minute offsets and shifts, a negative
# "summer" time, a skipped calendar day, historic local mean time with seconds, and none of that.
ZONES = [
    "Asia/Shanghai",
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Europe/Dublin",
    "Pacific/Apia",
    "America/Santiago",
    "Asia/Tehran",
    "Africa/Casablanca",
    "Pacific/Kiritimati",
]


def _changes(zone: ZoneInfo, first_year: int, last_year: int) -> Iterator[datetime]:
    """The local midnights of days within which the zone's offset changes."""
    day = datetime(first_year, 1, 1)
    before = zone.utcoffset(day)
    while day.year <= last_year:
        following = day + timedelta(days=1)
        after = zone.utcoffset(following)
        if after != before:
            yield day
        day, before = following, after


def _around(day: datetime) -> Iterator[datetime]:
    """Every 15 minutes of a day and its neighbours' edges, and each hour's last and first seconds."""
    for minutes in range(-120, 26 * 60, 15):
        yield day + timedelta(minutes=minutes)
    for hour in range(25):
        edge = day + timedelta(hours=hour)
        yield edge - timedelta(seconds=1)
        yield edge + timedelta(seconds=1, microseconds=250)
        yield (edge - timedelta(minutes=30)).replace(fold=1)


@pytest.mark.parametrize("zone_name", ZONES)
def test_site_times_become_the_same_utc_across_every_offset_change(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    checked = 0
    for day in _changes(zone, 1890, 2040):
        for naive in _around(day):
            assert _outcome(as_utc, naive, zone) == _outcome(_old_as_utc, naive, zone), naive
            text = naive.isoformat(" ", "seconds")
            assert _outcome(parse_datetime, text, zone) == _outcome(_old_parse_datetime, text, zone), text
            checked += 1
    rng = random.Random(zone_name)
    for _ in range(2000):  # and anywhere else
        naive = datetime(1, 1, 1) + timedelta(
            seconds=rng.randrange(int(3.1e11)), microseconds=rng.randrange(10**6)
        )
        assert _outcome(as_utc, naive, zone) == _outcome(_old_as_utc, naive, zone), naive
    assert checked or zone_name == "UTC"


def test_every_available_zone_converts_site_times_the_same() -> None:
    rng = random.Random(7)
    starts = [datetime(2025, 3, 30), datetime(2025, 10, 26), datetime(2025, 3, 9), datetime(2025, 11, 2)]
    for name in sorted(zoneinfo.available_timezones()):
        zone = ZoneInfo(name)
        for start in starts:
            for minutes in range(0, 24 * 60, 30):
                naive = start + timedelta(minutes=minutes)
                assert as_utc(naive, zone) == _old_as_utc(naive, zone), (name, naive)
        for _ in range(40):
            naive = datetime(1900, 1, 1) + timedelta(seconds=rng.randrange(int(4.7e9)))
            assert _outcome(as_utc, naive, zone) == _outcome(_old_as_utc, naive, zone), (name, naive)


class _WallClock(datetime):
    """A datetime subclass, as a library might hand over."""


class _NoOffset(tzinfo):
    """A tzinfo that answers None for the offset (datetime then takes the machine's local time)."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "unknown"


ODD_TIMES: list[object] = [
    "2026-11-02 08:30:00",
    " 2026-11-02 08:30:00 ",
    "2026-11-02T08:30:00",
    "2026-11-02T08:30",
    "2026-11-02 08:30:00.123456",
    "2026-11-02T08:30:00Z",
    "2026-11-02T08:30:00+08:00",
    "2026-11-02T08:30:00-03:30",
    "2026-11-02",
    "20261102T083000",
    "2026/11/02 08:30",
    "2026/11/02 08:30:00",
    "2026年11月02日 08:30",
    "20261102 08:30:00",
    "2026.11.02",
    "2025-03-30 02:30:00",  # not on Berlin's clocks
    "2025-10-26 02:30:00",  # twice on Berlin's clocks
    "0001-01-01 00:00:00",  # before the first UTC time in zones east of Greenwich
    "9999-12-31 23:59:59",  # after the last in zones west of it
    "2026-13-02 08:30:00",
    "2026-02-30 08:30:00",
    "2026-11-02 24:00:00",
    "08:30",
    "",
    "   ",
    "not a time",
    "２０２６-11-02 08:30:00",
    45000,
    45000.5,
    datetime(2026, 11, 2, 8, 30),
    datetime(2025, 10, 26, 2, 30, fold=1),
    datetime(2026, 11, 2, 8, 30, tzinfo=ZoneInfo("America/New_York")),
    datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
    date(2026, 11, 2),
    datetime(1, 1, 1),
    _WallClock(2026, 11, 2, 8, 30),
]


@pytest.mark.parametrize("zone", [ZoneInfo(z) for z in ZONES] + [timezone(timedelta(hours=8)), UTC])
@pytest.mark.parametrize("value", ODD_TIMES, ids=[repr(v)[:40] for v in ODD_TIMES])
def test_odd_times_parse_as_before(value: object, zone: Any) -> None:
    assert _outcome(parse_datetime, value, zone) == _outcome(_old_parse_datetime, value, zone)


def test_a_zone_without_an_offset_is_left_to_astimezone() -> None:
    naive = datetime(2026, 11, 2, 8, 30)
    assert _outcome(as_utc, naive, _NoOffset()) == _outcome(_old_as_utc, naive, _NoOffset())


# --- rows ------------------------------------------------------------------------------------------------


def _old_parse_row(
    kind: RecordKind, header_map: HeaderMap, cells: Sequence[object], ctx: ParseContext
) -> tuple[Any | None, list[Fault]]:
    values: dict[str, Any] = {}
    faults: list[Fault] = []
    for col in kind.columns:
        pos = header_map.positions.get(col.name)
        raw = cells[pos] if pos is not None and pos < len(cells) else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if col.default is NO_DEFAULT:
                faults.append(
                    Fault(
                        col.name,
                        header_map.label(col.name),
                        "",
                        Problem("必填，不能为空", "required: the cell is empty"),
                    )
                )
            else:
                values[col.name] = col.default
            continue
        try:
            values[col.name] = col.parse(raw, ctx)
        except CellError as exc:
            faults.append(Fault(col.name, header_map.label(col.name), shown(raw), exc.problem))
        except (ValueError, TypeError, ArithmeticError) as exc:
            faults.append(
                Fault(col.name, header_map.label(col.name), shown(raw), Problem(str(exc), str(exc)))
            )
    if faults:
        return None, faults
    try:
        return kind.build(values, ctx), []
    except CellError as exc:
        # A whole-row refusal shows the blamed cell as the file writes it (a parsed time would be UTC).
        name = exc.column or ""
        pos = header_map.positions.get(name, -1) if name else -1
        value = shown(cells[pos]) if 0 <= pos < len(cells) else ""
        return None, [Fault(name, header_map.label(name) if name else "", value, exc.problem)]


class _Padded(str):
    """A str subclass, as a library might hand over: it takes the parsers' own path."""


# Cells of every shape a file or a vendor adapter hands over; mixed with each column's own example.
CELLS: list[object] = [
    None,
    "",
    "   ",
    "\t",
    "x",
    " x ",
    "x" * 129,
    "x" * 257,
    "y" * 4001,
    "进",
    " 进 ",
    "进门",
    "IN",
    "Out",
    "entry",
    "成功",
    "失败",
    "granted",
    " Denied ",
    "通过",
    "虚拟机",
    "vm",
    "是",
    "否",
    "yes",
    "0",
    "-4",
    "1,024",
    "8核",
    "16 GB",
    "2.5",
    "nan",
    "inf",
    "2026-11-02",
    "2026/11/02",
    "2026-11-02 08:30:00",
    "2026-11-02T08:30:00+08:00",
    "2025-03-30 02:30:00",
    "2026-13-40",
    "张伟、李娜",
    "A;B;;C",
    0,
    7,
    -1,
    1.5,
    1001.0,
    float("nan"),
    True,
    False,
    datetime(2026, 11, 2, 8, 30),
    date(2026, 11, 2),
    time(8, 30),
    _Padded(" 进 "),
    _Padded("  "),
]


def _outcome_of_row(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("value", fn(*args))
    except Exception as exc:  # a kind's build failing in an unplanned way must fail the same way
        return ("raised", (type(exc), str(exc)))


# Document kinds (contract, audit_doc) have no columns: a file is one document, not rows.
@pytest.mark.parametrize("kind_name", sorted(k for k, v in KINDS.items() if v.read_document is None))
def test_rows_parse_as_before(kind_name: str) -> None:
    kind = KINDS[kind_name]
    rng = random.Random(kind_name)
    ctx = ParseContext(zone=ZoneInfo("Europe/Berlin"))
    examples = [c.example for c in kind.columns if c.example]
    for _ in range(60):  # headers: optional columns left out, columns shuffled, unknown columns between
        columns = [c for c in kind.columns if c.required or rng.random() < 0.7]
        header: list[object] = [rng.choice(c.accepted_names) for c in columns]
        header += ["备注列", "ignored"][: rng.randrange(3)]
        rng.shuffle(header)
        header_map, _matched = match_header(kind, header)
        parse = row_parser(kind, header_map)
        by_position = {pos: name for name, pos in header_map.positions.items()}
        example = {c.name: c.example for c in kind.columns}
        for _ in range(40):
            cells: list[object] = []
            for pos in range(len(header)):
                pick = rng.random()
                if pick < 0.55:  # mostly good rows, so builds run too
                    cells.append(example.get(by_position.get(pos, ""), "") or rng.choice(examples))
                else:
                    cells.append(rng.choice(CELLS + examples))
            if rng.random() < 0.1:
                cells = cells[: rng.randrange(len(cells) + 1)]  # a short row
            old = _outcome_of_row(_old_parse_row, kind, header_map, cells, ctx)
            assert _outcome_of_row(parse, cells, ctx) == old, (header, cells)
            assert _outcome_of_row(parse_row, kind, header_map, cells, ctx) == old, (header, cells)


def _old_door_build(values: dict[str, Any], _ctx: ParseContext) -> door.DoorRecord:
    if not values["person_id"] and not values["card_no"]:
        raise CellError(
            "工号和卡号都为空：至少填一项", "neither person_id nor card_no is given", column="person_id"
        )
    key = door.dedupe_key(
        values["at"],
        values["person_id"],
        values["card_no"],
        values["door"],
        values["device"],
        values["serial_no"],
    )
    return door.DoorRecord(**values, dedupe_key=key)


def test_door_records_are_built_as_before() -> None:
    at = datetime(2026, 11, 2, 0, 31, 5, tzinfo=UTC)
    for device, serial in (("DEV1", "77"), ("", "77"), ("DEV1", ""), ("", "")):
        values = {
            "at": at,
            "person_id": "YW-1",
            "name": "张伟",
            "card_no": "300",
            "door": "A门",
            "direction": "in",
            "result": "granted",
            "device": device,
            "serial_no": serial,
        }
        assert door.build(dict(values), ParseContext()) == _old_door_build(dict(values), ParseContext())


# --- CSV -------------------------------------------------------------------------------------------------


class _OldCsvLines(tabular._CsvLines):
    """The reader line by line, as before the blocks: every line decoded and judged alone by tabular's rules
    (`_long_line`, `_decode`: MAX_LINE, the other encoding's lines), so only the reading in blocks differs."""

    def _read(self) -> Iterator[str]:
        while (line := self._long_line()) is not None:
            yield line


def _read_all(path: Path, lines_type: Any) -> tuple[list[SourceRow], dict[str, str]]:
    """tabular's CSV opening with the given line reader: the rows and the table's detail."""
    with open(path, "rb") as f:
        encoding, skip, sure = tabular._detect_encoding(f)
        f.seek(skip)
        first = f.readline(tabular.MAX_LINE)
        f.seek(skip)
        delimiter = tabular._delimiter(first.decode(encoding, errors="replace"))
        table = Table(
            path, {"format": "csv", "encoding": "utf-8-sig" if skip else encoding, "delimiter": delimiter}
        )
        rows = list(tabular._csv_rows(lines_type(f, encoding, sure), delimiter, table))
        return rows, dict(table.detail)


def _csv_bytes(rng: random.Random) -> bytes:
    header = "时间,工号,姓名,卡号,门禁点,方向,结果,设备,流水号"
    lines = []
    for i in range(rng.randrange(1, 40)):
        cells = [
            f"2026-11-02 08:{i % 60:02d}:00",
            f"YW-{i}",
            rng.choice(["张伟", "李娜", "Ann"]),
            "300",
            "机房A门",
        ]
        cells += [rng.choice(["进", "出", ""]), "成功", "D1", str(i)]
        if rng.random() < 0.15:
            cells[2] = '"多行\n备注"'  # a quoted line break
        if rng.random() < 0.1:
            cells[2] = "x" * rng.randrange(50, 300)  # longer than small blocks and small MAX_LINE
        if rng.random() < 0.1:  # characters str.splitlines() would break a line at; readline() does not
            cells[4] = "门" + rng.choice(["\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]) + "A"
        lines.append(",".join(cells))
    ending = rng.choice(["\n", "\r\n"])
    text = header + ending + ending.join(lines) + rng.choice(["", ending, ending + ending])
    encoding = rng.choice(["utf-8", "gb18030", "utf-8-sig"])
    data = bytearray(text.encode(encoding))
    for _ in range(rng.randrange(3)):  # bytes of neither encoding, or a line of the other encoding
        at = rng.randrange(len(data))
        data[at:at] = rng.choice([b"\xff\xfe", b"\x80", "门禁".encode("gb18030"), "门禁".encode()])
    if rng.random() < 0.2:
        data[:0] = b"a,b,c\n" * rng.randrange(1, 30)  # an ASCII start: UTF-8 is a guess until a later line
    if rng.random() < 0.1:
        data += b"\r"  # a stray CR at the very end
    return bytes(data)


@pytest.mark.parametrize("block", [1, 2, 5, 16, 64, 4096, 256 * 1024])
def test_csv_lines_read_in_blocks_are_the_lines_read_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(tabular, "BLOCK", block)
    rng = random.Random(block)
    for case in range(120):
        path = tmp_path / f"case{case}.csv"
        path.write_bytes(_csv_bytes(rng))
        if case % 3 == 0:
            monkeypatch.setattr(tabular, "MAX_LINE", rng.choice([40, 100, 1024 * 1024]))
        try:
            old = _read_all(path, _OldCsvLines)
        except tabular.TableError:
            continue  # refused as a whole: the same code before either reader
        assert _read_all(path, tabular._CsvLines) == old, path.read_bytes()[:200]
        monkeypatch.setattr(tabular, "MAX_LINE", 1024 * 1024)


def test_csv_files_of_the_test_data_read_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(DATA.glob("*/*.csv"))
    assert files
    for block in (3, 4096):
        monkeypatch.setattr(tabular, "BLOCK", block)
        for path in files:
            try:
                old = _read_all(path, _OldCsvLines)
            except tabular.TableError:
                continue
            assert _read_all(path, tabular._CsvLines) == old, path


# --- the store -------------------------------------------------------------------------------------------


def _stored(store: Any, table: str) -> list[tuple[Any, ...]]:
    """Every row as SQLite holds it: each value quoted with its type, so text and numbers cannot pass as equal."""
    with store.engine.connect() as conn:
        names = [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")]
        quoted = ", ".join(f"quote({n}), typeof({n})" for n in names)
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {quoted} FROM {table} ORDER BY rowid")]


def _new_batch(session: Any) -> int:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    batch = EvidenceBatch(
        kind="test",
        source="x",
        sha256=None,
        received_at=now,
        evidence_time=now,
        status="accepted",
        rows_total=0,
        rows_ok=0,
        rows_bad=0,
        rows_duplicate=0,
        detail="",
        stored_path="",
    )
    session.add(batch)
    session.flush()
    return batch.id


def _records(kind: RecordKind) -> list[Any]:
    out = []
    for path in sorted((DATA / kind.name).glob("*.csv")):
        with open_table(path) as table:
            try:
                rows = list(read_records(kind, table.rows(), ParseContext()).rows)
            except Exception:
                continue
        out += [r.record for r in rows if r.record is not None]
    return out


STABLE_KINDS = ["door", "inventory", "staff", "handover", "utilization"]


@pytest.mark.parametrize("kind_name", STABLE_KINDS)
def test_records_are_stored_as_session_execute_stored_them(tmp_path: Path, kind_name: str) -> None:
    kind = KINDS[kind_name]
    records = _records(kind)
    assert records, f"no records in tests/data/formats/{kind.name}"
    records = records * 2  # every key twice: the conflict rules run too
    now = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    fast_store = open_store(f"sqlite:///{tmp_path / 'fast.db'}")
    plain_store = open_store(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        with fast_store.session() as session:
            writer = RecordWriter(session, kind, _new_batch(session), now)
            for i, record in enumerate(records):
                if i % 2:
                    writer.add_record(record)
                else:
                    writer.add(kind.to_row(record))  # both ways in
            writer.flush()
            assert writer._write is not None
            assert writer._write.__qualname__.startswith("_driver_writer"), "the driver path was not taken"
        with plain_store.session() as session:
            batch_id = _new_batch(session)
            extra: dict[str, Any] = {"batch_id": batch_id}
            if "updated_at" in kind.table.__table__.columns:
                extra["updated_at"] = now
            rows = [{**kind.to_row(r), **extra} for r in records]
            mode = "upsert" if kind.write_mode == "upsert" else "ignore"
            stmt = conflict_insert(session, kind.table.__table__, kind.key, list(rows[0]), mode)
            for row in rows:  # a row at a time: no chunk can hide a difference
                session.execute(stmt, [row])
        assert _stored(fast_store, kind.table.__tablename__) == _stored(plain_store, kind.table.__tablename__)
    finally:
        fast_store.dispose()
        plain_store.dispose()


def test_the_utc_time_shortcut_writes_what_the_type_writes() -> None:
    dialect = sqlite.dialect()
    process = DoorEvent.__table__.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    fast = _utc_datetime_text(process)
    assert fast is not process, "the shortcut should be taken for UTCDateTime on SQLite"
    rng = random.Random(3)
    times = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    times += [
        datetime(1, 1, 1, tzinfo=UTC)
        + timedelta(seconds=rng.randrange(int(3.1e11)), microseconds=rng.randrange(10**6))
        for _ in range(5000)
    ]
    for t in times:
        assert fast(t) == process(t), t
    # Anything else goes through the type: other zones converted, None kept, naive times refused alike.
    berlin = datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Berlin"))
    assert fast(berlin) == process(berlin)
    assert fast(None) == process(None) is None
    assert fast(_WallClock(2026, 11, 2, tzinfo=UTC)) == process(_WallClock(2026, 11, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive datetime") as fast_error:
        fast(datetime(2026, 11, 2))
    with pytest.raises(ValueError) as type_error:
        process(datetime(2026, 11, 2))
    assert str(fast_error.value) == str(type_error.value)


def test_a_processor_that_writes_times_otherwise_gets_no_shortcut() -> None:
    def other_format(value: Any) -> Any:
        return None if value is None else value.strftime("%Y%m%d%H%M%S")

    def refuses(value: Any) -> Any:
        raise TypeError("not this type")

    assert _utc_datetime_text(other_format) is other_format
    assert _utc_datetime_text(refuses) is refuses


def test_a_write_error_comes_wrapped_as_before(tmp_path: Path) -> None:
    """A failing insert is an SQLAlchemy error naming the statement, as through session.execute."""
    from sqlalchemy.exc import IntegrityError

    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), store.session() as session:
            writer = RecordWriter(
                session, door.KIND, 9999, datetime(2026, 11, 2, tzinfo=UTC)
            )  # no such batch
            writer.add_record(_records(door.KIND)[0])
            writer.flush()
        with store.engine.connect() as conn:
            assert conn.execute(sql_text("SELECT count(*) FROM door_events")).scalar() == 0
    finally:
        store.dispose()


def test_csv_module_is_fed_lines_with_their_line_breaks() -> None:
    """The quoted line break survives only when each line keeps its newline (as readline gives it)."""
    assert list(csv.reader(iter(['a,"x\n', 'y"\n']))) == [["a", "x\ny"]]
