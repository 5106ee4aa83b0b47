"""Sealing the hourly utilization roll-ups: what the checks read and what stays once raw samples are purged.

`utilization_hourly` has no batch (the roll-up and the Prometheus back-fill write it), and a row each is too
many to seal one by one (a year of 1,000 resources is 8.76 M rows). It is sealed in chunks: one resource's
rows of one UTC day, key "<resource_id><TAB><YYYY-MM-DD>", digest = the first 16 bytes of sha256 over the
rows' canonical texts (trail/canonical.py, every column) joined by newlines in hour order.

- A day is sealed once it is over (its end at least LATENESS before now): a "rollup" seal in the evidence
  chain, subject "rollup:<first day>..<last day>", body "of" = {"table", "days", "rows": {"count" (chunks),
  "digest"}, "hours", "superseded": {"utilization_hourly": {chunk key: seq of the earlier seal}}}, entries
  {"utilization_hourly": {chunk key: digest}}.
- A sealed day's chunk rewritten later (late samples merged, a back-fill) is sealed again; the new seal
  supersedes the earlier one for that chunk.
- A purge of old roll-ups leaves a "purge" seal (subject "purge:utilization_hourly") holding the chunks it
  deleted, so verify tells it from a deletion.

`verify_rollups` recomputes every chunk from the table, read once in (resource_id, hour) order, against the
latest seal of each.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import count, groupby
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ops_watch.core.timeutil import from_store
from ops_watch.store.schema import TrailSeal, UtilizationHourly
from ops_watch.trail import chain
from ops_watch.trail.breaks import Break
from ops_watch.trail.canonical import DIGEST_BYTES, entries_digest, row_columns, row_text, text_value

TABLE = UtilizationHourly.__table__
NAME = TABLE.name
COLUMNS = row_columns(TABLE)  # every column: the key is (resource_id, hour), there is no surrogate id
ROLLUP = "rollup"
PURGE = "purge"
SUBJECT_PREFIX = "rollup:"
PURGE_SUBJECT = f"purge:{NAME}"
# The roll-up recomputes any hour a new sample touches, however late (areas/resources/utilization.py has no
# lateness cut-off of its own): a day is sealed once it has been over this long, and a later rewrite of one
# of its chunks is sealed again.
LATENESS = timedelta(hours=2)
DAY = timedelta(days=1)
FETCH = 20_000  # rows per fetch from the cursor
IN_LIST = 500  # resource ids per IN (…)
SHORT_RANGE = timedelta(days=8)  # SQLite reads a range of hours up to this long by its index


@dataclass(frozen=True)
class Chunk:
    resource: str  # the resource id's canonical text (as in the key)
    day: str  # YYYY-MM-DD (UTC)
    hours: int
    digest: bytes

    @property
    def key(self) -> str:
        return f"{self.resource}\t{self.day}"


def chunk_key(resource_id: str, day: date | str) -> str:
    return f"{text_value(resource_id)}\t{day if isinstance(day, str) else day.isoformat()}"


def day_of(key: str) -> str:
    return key.rpartition("\t")[2]


def day_start(day: date | str) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def subject_of(days: Sequence[str]) -> str:
    return f"{SUBJECT_PREFIX}{days[0]}..{days[-1]}"


def subject_days(subject: str) -> tuple[str, str] | None:
    """The (first, last) day a roll-up seal's subject names; None for another seal's."""
    if not subject.startswith(SUBJECT_PREFIX):
        return None
    first, _, last = subject[len(SUBJECT_PREFIX) :].partition("..")
    return first, last or first


def last_over_day(now: datetime) -> date:
    """The last UTC day whose end is LATENESS or more before `now`."""
    return (now.astimezone(UTC) - LATENESS).date() - DAY


# --- the chunks as stored now ---------------------------------------------------------------------------


def chunks(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    resources: Sequence[str] | None = None,
) -> Iterator[Chunk]:
    """The chunks of the stored rows with start <= hour < end (of `resources` if given), read in one ordered
    pass (on SQLite the table is kept in that order), one resource's rows held at a time."""
    if resources is not None:
        ordered = sorted(set(resources))
        for i in range(0, len(ordered), IN_LIST):
            yield from _read(session, start, end, ordered[i : i + IN_LIST])
        return
    yield from _read(session, start, end, None)


def _read(
    session: Session, start: datetime | None, end: datetime | None, resources: Sequence[str] | None
) -> Iterator[Chunk]:
    if session.get_bind().dialect.name == "sqlite":
        return _chunks(_sqlite_rows(session, start, end, resources))
    return _chunks(_pg_rows(session, start, end, resources))


def _digest(text: bytes) -> bytes:
    return hashlib.sha256(text).digest()[:DIGEST_BYTES]


def _canonical(rows: Sequence[Sequence[Any]]) -> bytes:
    """The chunk's text the canonical way: each row by trail/canonical.py, joined by newlines."""
    return "\n".join(map(row_text, rows)).encode()


# The fast way (a year of 1,000 resources is 8.76 M rows, and Python's float repr alone would take most of
# verify's minute): rows straight from the driver, the hour as its canonical text ("YYYY-MM-DD
# HH:MM:SS.ffffff", UTC: SQLite keeps exactly that text, PostgreSQL prints it so), and a day of a resource
# printed at once by orjson. orjson prints integers and floats as canonical.value_text does (the shortest
# round-trip digits) except in exponent form, below 1e-4 and for inf / NaN (as null): a chunk holding any of
# those, or whose resource id would need escaping, is printed the canonical way instead.
# tests/integration/test_trail_rollups.py holds the two ways equal on both backends.
_EXPONENT = re.compile(rb"[0-9]e")
_PLAIN_ID = re.compile(r'[^\x00-\x1f",\\\x7f]*')
_TABS = bytes.maketrans(b",", b"\t")
_NOT_LETTERS = bytes(c for c in range(256) if not chr(c).isalpha())


def _chunks(rows: Iterable[Sequence[Any]]) -> Iterator[Chunk]:
    """Rows (hour as text) in (resource_id, hour) order -> a Chunk per resource and day. A resource's rows are
    printed at once (the common case); if any of them cannot be, each day's on its own."""
    for rid, of_resource in groupby(rows, itemgetter(0)):
        held = list(of_resource)
        plain = isinstance(rid, str) and _PLAIN_ID.fullmatch(rid) is not None and "null" not in rid
        own_e = rid.count("e") if plain else 0  # the letters e the id itself brings to each printed row
        lines = _printed(held, own_e) if plain else None
        key = text_value(str(rid))
        for day, i, j in _days([row[1] for row in held]):
            if lines is not None:
                text: bytes | None = b"\n".join(lines[i:j])
            else:
                part = held[i:j]
                found = _printed(part, own_e) if plain else None
                text = b"\n".join(found) if found is not None else _canonical(part)
            yield Chunk(key, day, j - i, _digest(text))


def _days(hours: list[Any]) -> Iterator[tuple[str, int, int]]:
    """(day, first index, index past the last) of each day in `hours` (ascending canonical texts)."""
    i, n = 0, len(hours)
    while i < n:
        day = str(hours[i])[:10]
        try:
            j = bisect_left(hours, day + "~", i)  # "~" sorts after every character of a time
        except TypeError:  # not an hour as the store writes it: one row at a time
            j = i + 1
            while j < n and str(hours[j])[:10] == day:
                j += 1
        yield day, i, j
        i = j


def _printed(rows: list[Sequence[Any]], own_e: int) -> list[bytes] | None:
    """The rows' canonical texts printed by orjson, or None where any would differ (see above)."""
    try:
        out = orjson.dumps(rows)
    except TypeError:
        return None
    # A number below 1e-4 printed without an exponent starts "0.0000" after a comma (or "-"). Each aligned
    # hour ("…:00:00.000000") holds "0.0000" once: the exact search (slower) runs only when there are more
    # (40.00001 holds one too). An hour not aligned changes the chunk's text anyway: verify names it.
    if out.count(b"0.0000") != len(rows) and (b",0.0000" in out or b",-0.0000" in out):
        return None
    letters = out.translate(None, _NOT_LETTERS)  # what is left: the ids' letters, e of exponents, null
    if letters.count(b"e") != own_e * len(rows) and _EXPONENT.search(out):
        return None
    text = out[2:-2].translate(_TABS, b'"')
    if b"l" in letters:  # null is a whole field (an id holds no "null"): None, or an infinite value
        nulls = text.count(b"null")
        if nulls and nulls != sum(map(_nulls, rows)):
            return None
        text = text.replace(b"null", b"\\N")
    return text.split(b"]\t[")


def _nulls(row: Sequence[Any]) -> int:
    return row.count(None)


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _where(
    start: datetime | None,
    end: datetime | None,
    resources: Sequence[str] | None,
    mark: str,
    time: Any,
    hour: str = "hour",
) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if start is not None:
        where.append(f"{hour} >= {mark}")
        params.append(time(start))
    if end is not None:
        where.append(f"{hour} < {mark}")
        params.append(time(end))
    if resources is not None:
        where.append(f"resource_id IN ({', '.join([mark] * len(resources))})")
        params.extend(resources)
    return (" WHERE " + " AND ".join(where) if where else ""), params


def _sqlite_rows(
    session: Session, start: datetime | None, end: datetime | None, resources: Sequence[str] | None
) -> Iterator[Sequence[Any]]:
    # A day, or the oldest hours (a purge): by the hour index, then sorted. Many days (a genesis): the table in
    # its own order, filtered ("+hour" keeps SQLite off the index, which would sort millions of rows).
    long = start is not None and end is not None and end - start > SHORT_RANGE
    where, params = _where(start, end, resources, "?", _sqlite_time, "+hour" if long else "hour")
    sql = f"SELECT {', '.join(COLUMNS)} FROM {NAME}{where} ORDER BY resource_id, hour"
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.arraysize = FETCH
    return cursor.execute(sql, params)  # type: ignore[no-any-return]  # iterated by the driver; closed when dropped


_CURSORS = count(1)


def _pg_rows(
    session: Session, start: datetime | None, end: datetime | None, resources: Sequence[str] | None
) -> Iterator[Sequence[Any]]:
    where, params = _where(start, end, resources, "%s", lambda t: t)
    hour = "to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    columns = ", ".join(hour if c == "hour" else c for c in COLUMNS)
    sql = f"SELECT {columns} FROM {NAME}{where} ORDER BY resource_id, hour"
    connection = session.connection().connection.dbapi_connection
    name = f"trail_rollup_chunks_{next(_CURSORS)}"  # a server-side cursor, streamed
    with connection.cursor(name=name) as cursor:  # type: ignore[union-attr]
        cursor.itersize = FETCH
        cursor.execute(sql, params)
        yield from cursor


# --- what the chain holds --------------------------------------------------------------------------------


def _of(seal: Any) -> dict[str, Any]:
    return _of_body(seal.body)


def _of_body(body: str) -> dict[str, Any]:
    of: dict[str, Any] = json.loads(body)["of"]
    return of


def _entries(blob: bytes | None) -> Iterator[tuple[str, str, bytes]]:
    """(resource text, day, digest) of a seal's chunks (trail/chain.py: entry lines "key<TAB>digest hex")."""
    intern = sys.intern
    for table, lines in chain.table_lines(blob):
        if table != NAME:
            continue
        for line in lines:
            key, _, digest = line.rpartition("\t")
            rid, _, day = key.rpartition("\t")
            yield intern(rid), intern(day), bytes.fromhex(digest)


def _sealed_subjects(session: Session) -> list[tuple[int, str]]:
    """(seq, subject) of every roll-up seal, in seq order (a range of the subject index)."""
    s = TrailSeal.__table__.c
    return [
        (seq, subject)
        for seq, subject in session.execute(
            select(s.seq, s.subject)
            .where(s.chain == chain.EVIDENCE, s.subject >= SUBJECT_PREFIX, s.subject < "rollup;")
            .order_by(s.seq)
        )
    ]


def last_sealed_day(session: Session) -> str | None:
    days = [d[1] for _, subject in _sealed_subjects(session) if (d := subject_days(subject))]
    return max(days) if days else None


def sealed_chunks(session: Session, days: Iterable[str]) -> dict[str, tuple[bytes, int]]:
    """{chunk key: (digest, seq)} as the chain holds them now for these days: the latest roll-up seal of each
    chunk, less what a purge seal removed after it."""
    wanted = set(days)
    if not wanted:
        return {}
    lo, hi = min(wanted), max(wanted)
    s = TrailSeal.__table__.c
    seqs = [
        seq
        for seq, subject in _sealed_subjects(session)
        if (d := subject_days(subject)) and d[0] <= hi and d[1] >= lo
    ]
    for seq, body in session.execute(
        select(s.seq, s.body).where(s.chain == chain.EVIDENCE, s.subject == PURGE_SUBJECT)
    ):
        if wanted & set(_of_body(body).get("days", ())):
            seqs.append(seq)
    out: dict[str, tuple[bytes, int]] = {}
    for i in range(0, len(seqs), IN_LIST):
        rows = session.execute(
            select(s.seq, s.kind, s.entries).where(
                s.chain == chain.EVIDENCE, s.seq.in_(seqs[i : i + IN_LIST])
            )
        )
        for seq, kind, blob in sorted(rows):
            for rid, day, digest in _entries(blob):
                if day not in wanted:
                    continue
                if kind == PURGE:
                    out.pop(f"{rid}\t{day}", None)
                else:
                    out[f"{rid}\t{day}"] = (digest, seq)
    return out


# --- sealing ---------------------------------------------------------------------------------------------


def seal_days(
    session: Session, days: Sequence[date | str], only: dict[str, Chunk] | None = None
) -> TrailSeal | None:
    """One roll-up seal of every chunk of `days` (or of the chunks `only`, already computed, for a re-seal),
    naming the earlier seal of each chunk it supersedes. None when there are no days."""
    names = sorted({d if isinstance(d, str) else d.isoformat() for d in days})
    if not names:
        return None
    if only is None:
        found: dict[str, Chunk] = {}
        for name in names:
            start = day_start(name)
            found.update((c.key, c) for c in chunks(session, start, start + DAY))
    else:
        found = only
    earlier = sealed_chunks(session, names)
    superseded = {k: earlier[k][1] for k in sorted(found) if k in earlier}
    entries = {k: found[k].digest for k in sorted(found)}  # sealed, and digested, in key order
    body = {
        "table": NAME,
        "days": names,
        "rows": {"count": len(entries), "digest": entries_digest(entries)},
        "hours": sum(c.hours for c in found.values()),
        "superseded": {NAME: superseded} if superseded else {},
    }
    packed = chain.pack_entries({NAME: entries}) if entries else None
    return chain.append(session, chain.EVIDENCE, ROLLUP, subject_of(names), body, packed)


def seal_written(session: Session, now: datetime, written: Iterable[tuple[str, date]]) -> list[TrailSeal]:
    """After hourly rows were written (`written`: their (resource_id, UTC day)), in the writer's transaction:
    re-seal the chunks of already sealed days that changed, then seal every day over (by `now`) and not
    sealed yet, one seal a day (from the first day with rows when nothing is sealed yet)."""
    seals: list[TrailSeal] = []
    last = last_sealed_day(session)
    touched: dict[str, set[str]] = {}
    if last is not None:
        for rid, day in written:
            name = day.isoformat()
            if name <= last:
                touched.setdefault(name, set()).add(rid)
    if touched:
        resealed = reseal(session, touched)
        if resealed is not None:
            seals.append(resealed)
    seals.extend(seal_over(session, now, last))
    return seals


def reseal(session: Session, touched: dict[str, set[str]]) -> TrailSeal | None:
    """One seal of the chunks of these days and resources whose rows differ from what the chain holds."""
    changed: dict[str, Chunk] = {}
    for day, rids in sorted(touched.items()):
        start = day_start(day)
        now_held = {c.key: c for c in chunks(session, start, start + DAY, sorted(rids))}
        sealed = sealed_chunks(session, [day])
        changed.update((k, c) for k, c in now_held.items() if sealed.get(k, (b"", 0))[0] != c.digest)
    if not changed:
        return None
    return seal_days(session, sorted({c.day for c in changed.values()}), only=changed)


def seal_over(session: Session, now: datetime, last: str | None = None) -> list[TrailSeal]:
    """Seal each day that is over (by `now`) and not sealed yet, one seal a day (days without rows too: rows
    put in such a day later are then found)."""
    last = last if last is not None else last_sealed_day(session)
    end = last_over_day(now)
    if last is None:
        first_hour = from_store(session.scalar(select(func.min(TABLE.c.hour))))
        if first_hour is None:
            return []
        first = first_hour.date()
    else:
        first = date.fromisoformat(last) + DAY
    if first > end:
        return []
    by_day: dict[str, dict[str, Chunk]] = {}
    for c in chunks(session, day_start(first), day_start(end) + DAY):  # one pass, however many days
        by_day.setdefault(c.day, {})[c.key] = c
    seals = []
    while first <= end:
        seal = seal_days(session, [first], only=by_day.pop(first.isoformat(), {}))
        if seal is not None:
            seals.append(seal)
        first += DAY
    return seals


def seal_purge(session: Session, before: datetime, note: str) -> TrailSeal | None:
    """Before `DELETE … WHERE hour < before`, in its transaction: a purge seal of the chunks it deletes (whole
    days: the caller purges by UTC day). None if nothing matches."""
    entries: dict[str, bytes] = {}
    days: set[str] = set()
    hours = 0
    for c in chunks(session, None, before):
        entries[c.key] = c.digest
        days.add(c.day)
        hours += c.hours
    if not entries:
        return None
    entries = dict(
        sorted(entries.items())
    )  # key order, on either backend (PostgreSQL sorts ids by collation)
    body = {
        "table": NAME,
        "note": note,
        "days": sorted(days),
        "rows": {"count": len(entries), "digest": entries_digest(entries)},
        "hours": hours,
    }
    packed = chain.pack_entries({NAME: entries})
    return chain.append(session, chain.EVIDENCE, PURGE, PURGE_SUBJECT, body, packed)


# --- verifying -------------------------------------------------------------------------------------------


@dataclass
class _Held:
    """The chain's view of the roll-ups: per day, {resource text: digest} of the latest seal of each chunk."""

    latest: dict[str, dict[str, bytes]]
    first_seal: dict[str, TrailSeal]  # day -> the seal that first sealed it
    touching: dict[str, list[TrailSeal]]  # day -> the seals holding or purging chunks of it, in seq order


def _held(seals: Iterable[Any], days: set[str] | None) -> _Held:
    held = _Held({}, {}, {})
    for seal in seals:
        purge = seal.subject == PURGE_SUBJECT
        if not purge and not seal.subject.startswith(SUBJECT_PREFIX):
            continue
        if days is not None and not purge:
            first, last = subject_days(seal.subject) or ("", "")
            if not any(first <= day <= last for day in days):
                continue  # an incremental run: a seal of other days (its entries are not even unpacked)
        of = _of(seal)
        mine = False
        for day in of.get("days", ()):
            if days is not None and day not in days:
                continue
            mine = True
            held.touching.setdefault(day, []).append(seal)
            if not purge:
                held.first_seal.setdefault(day, seal)
        if not mine:
            continue
        for rid, day, digest in _entries(seal.entries):
            if days is not None and day not in days:
                continue
            of_day = held.latest.setdefault(day, {})
            if purge:
                of_day.pop(rid, None)
            else:
                of_day[rid] = digest
    return held


def verify_rollups(session: Session, seals: Sequence[Any]) -> list[Break]:
    """Every stored chunk of a sealed day against the latest seal holding it (`seals`: every evidence seal,
    in seq order); days not sealed yet (today) are not looked at. Breaks in chain order."""
    held = _held(seals, None)
    return _compare(held, chunks(session))


def verify_rollups_since(session: Session, seals: Sequence[Any], first_seq: int) -> list[Break]:
    """The same for the days sealed, re-sealed or purged by the seals from `first_seq` on only (incremental)."""
    days: set[str] = set()
    for seal in seals:
        if seal.seq >= first_seq and (
            seal.subject == PURGE_SUBJECT or seal.subject.startswith(SUBJECT_PREFIX)
        ):
            days.update(_of(seal).get("days", ()))
    if not days:
        return []
    held = _held(seals, days)

    def stored() -> Iterator[Chunk]:
        for day in sorted(days):
            start = day_start(day)
            yield from chunks(session, start, start + DAY)

    return _compare(held, stored())


def _compare(held: _Held, stored: Iterable[Chunk]) -> list[Break]:
    found: list[tuple[int, str, str, Break]] = []

    def add(seal: Any, what: str, c_rid: str, day: str, detail: str) -> None:
        key = f"{c_rid}\t{day}"
        brk = Break(what, chain.EVIDENCE, seal.seq, seal.subject, NAME, key, detail=detail)
        found.append((seal.seq, day, c_rid, brk))

    latest = held.latest
    for c in stored:
        first = held.first_seal.get(c.day)
        if first is None:
            continue  # a day not sealed yet
        of_day = latest.get(c.day)
        sealed = of_day.pop(c.resource, None) if of_day else None
        if sealed is None:
            add(
                first,
                "row_added",
                c.resource,
                c.day,
                _said(c.day, f"{c.hours} 小时 hours", "no seal holds them"),
            )
        elif sealed != c.digest:
            seal = _holder(held, c.resource, c.day)
            add(
                seal,
                "row_changed",
                c.resource,
                c.day,
                _said(c.day, f"{c.hours} 小时 hours", _hex(sealed, c.digest)),
            )
    for day, left in latest.items():
        for rid in left:
            add(
                _holder(held, rid, day),
                "row_removed",
                rid,
                day,
                _said(day, "0 小时 hours", "sealed, now gone"),
            )
    found.sort(key=lambda f: f[:3])
    return [f[3] for f in found]


def _said(day: str, hours: str, what: str) -> str:
    return f"{day} (UTC) · {hours} · {what}"


def _hex(sealed: bytes, now: bytes) -> str:
    return f"sealed {sealed.hex()} ≠ now {now.hex()}"


def _holder(held: _Held, rid: str, day: str) -> Any:
    """The latest seal holding the chunk (read again: breaks are rare, keeping every seq would cost memory)."""
    holder = None
    for seal in held.touching.get(day, ()):
        if seal.subject == PURGE_SUBJECT:
            continue
        if any(r == rid and d == day for r, d, _ in _entries(seal.entries)):
            holder = seal
    return holder if holder is not None else held.first_seal[day]
