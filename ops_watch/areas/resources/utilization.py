"""Utilization at scale: hourly roll-ups of the raw samples, their retention, and the queries built on them.

Raw samples (`utilization_samples`, one per resource per poll: 5,000 resources every 5 minutes is 1.44 M a
day) are kept `utilization.raw_days` (35); hourly roll-ups (`utilization_hourly`: samples, CPU and memory
mean / max / p95, storage used max, storage total last) are kept `utilization.rollup_days` (400) and are
what the checks and the CLI read, so a year of 5,000 resources is 44 M small rows.

The roll-up model
-----------------
- `rollup(session_or_store, until)` works from a watermark: the highest raw sample id already rolled up,
  kept in `store_state`. Every (resource, hour) touched by a sample above the watermark is recomputed
  **completely from raw** (upsert), so a month-old export dropped today redoes exactly the hours it
  touches, and running it twice changes nothing.
- Every sample stored is rolled up, whatever its time: a sample stored but not rolled up would look
  missing to a check (a replay evaluating as of Sunday once took a whole platform's stored samples for
  silence, because one file's later samples held the watermark back). An hour still going is rolled up as
  far as it goes and recomputed when its next sample comes (it is touched again); the checks' windows end at
  a whole hour or day before their time, so they never read a partial hour. `until` (the evaluation time)
  is only logged. A sample more than a day ahead of the real clock is bogus (a wrong clock): it is logged
  and passed over.
- Hours whose raw samples were purged already (older than `raw_days`, recorded by `purge` in
  `store_state`) cannot be recomputed: late samples for them are merged into the stored row instead
  (count, mean and max exact; p95 the larger of the two, an upper bound).
- p95 of an hour is linear interpolation between closest ranks (Excel PERCENTILE.INC, numpy's default):
  with 12 five-minute samples it sits between the 11th and 12th value instead of being the maximum.
  Checks take the p95 *over the hours of a window* by nearest rank: the value at or below which 95 % of
  the hours fall (`nearest_rank`), which is one of the hours and can be stated and counted in SQL.
- On PostgreSQL the roll-up first waits for the transactions inserting samples to commit (a lock held until
  it commits), so no sample with an id below the watermark can appear afterwards.

Purge (`purge(store, config, now)`) removes raw samples older than `raw_days` that are rolled up, and
roll-ups older than `rollup_days` (whole UTC days), a few hours per transaction so collectors are never blocked
for long.

The trail (issue 22): each roll-up pass seals the UTC days that are over and re-seals a sealed day's chunks it
rewrote (trail/rollups.py); each purge step leaves a purge seal of exactly what it deletes (trail/purge.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from ops_watch.areas.resources import sampling
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import from_store, utcnow
from ops_watch.store import Store
from ops_watch.store.bulk import conflict_insert
from ops_watch.store.loading import loading_batches
from ops_watch.store.schema import (
    EvidenceBatch,
    Finding,
    InventoryResource,
    StoreState,
    UtilizationHourly,
    UtilizationSample,
)
from ops_watch.trail import purge as trail_purge
from ops_watch.trail import rollups as trail_rollups

if TYPE_CHECKING:
    from ops_watch.config import Config

log = get_logger(__name__)

HOUR = timedelta(hours=1)
WATERMARK_KEY = "utilization.rollup.sample_id"
RAW_PURGED_KEY = "utilization.raw_purged_before"
RUN_HOURS = 24  # a query reads at most this many hours of one resource's raw samples
BATCH_RESOURCES = 500  # resource ids per IN (…) list
WRITE_CHUNK = 5000
PURGE_STEP = timedelta(hours=6)  # raw samples deleted per transaction
FUTURE_SLACK = timedelta(days=1)

_SAMPLES = UtilizationSample.__table__
_HOURLY = UtilizationHourly.__table__
_INVENTORY = InventoryResource.__table__


# --- time and statistics ---------------------------------------------------------------------------------


def floor_hour(value: datetime) -> datetime:
    """The start of the UTC hour holding `value`."""
    value = value.astimezone(UTC)
    return value.replace(minute=0, second=0, microsecond=0)


def floor_day(value: datetime) -> datetime:
    """The start of the UTC day holding `value`."""
    return floor_hour(value).replace(hour=0)


def hour_number(value: datetime) -> int:
    """Hours since the epoch: the key of an hour in the hot loops (no datetime objects there)."""
    return int(value.astimezone(UTC).timestamp()) // 3600


def hour_start(number: int) -> datetime:
    return datetime.fromtimestamp(number * 3600, UTC)


def epoch_seconds(column: Any, dialect: str) -> ColumnElement[int]:
    """A stored time as whole seconds since the epoch, computed by the database (SQLite or PostgreSQL)."""
    if dialect == "sqlite":  # stored as naive UTC text
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def linear_percentile(ordered: Sequence[float], q: float = 0.95) -> float:
    """Percentile by linear interpolation between closest ranks (PERCENTILE.INC) of an ascending sequence."""
    n = len(ordered)
    if n == 0:
        raise ValueError("percentile of no values")
    pos = (n - 1) * q
    low = int(pos)
    frac = pos - low
    if frac == 0 or low + 1 >= n:
        return ordered[low]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * frac


def nearest_rank(ordered: Sequence[float], q: float = 0.95) -> float:
    """Nearest-rank percentile of an ascending sequence: the value at rank ceil(q·n)."""
    n = len(ordered)
    if n == 0:
        raise ValueError("percentile of no values")
    return ordered[max(1, math.ceil(round(q * n, 9))) - 1]


def above_allowed(n: int, q: float = 0.95) -> int:
    """How many of n values may exceed a threshold while the nearest-rank q-percentile stays at or below it."""
    return n - max(1, math.ceil(round(q * n, 9))) if n else 0


# --- store_state ---------------------------------------------------------------------------------------


def _state(session: Session, name: str) -> str | None:
    return session.scalar(select(StoreState.value).where(StoreState.name == name))


def _set_state(session: Session, name: str, value: str) -> None:
    stmt = conflict_insert(session, StoreState.__table__, ("name",), ("name", "value"), "upsert")
    session.execute(stmt, [{"name": name, "value": value}])


def watermark(session: Session) -> int:
    """The highest raw sample id rolled up so far (0: none)."""
    value = _state(session, WATERMARK_KEY)
    return int(value) if value else 0


def raw_purged_before(session: Session) -> datetime | None:
    value = _state(session, RAW_PURGED_KEY)
    return datetime.fromisoformat(value) if value else None


# --- roll-up -------------------------------------------------------------------------------------------


def rollup(target: Session | Store, until: datetime) -> int:
    """Roll up every hour touched by raw samples added since the last run (`until`: the evaluation time).

    Returns how many hourly rows were written. Pass a Session (the caller commits) or a Store (committed here).
    """
    if isinstance(target, Store):
        with target.session() as session:
            return _rollup(session, until)
    return _rollup(target, until)


def _settled_max_id(session: Session) -> int | None:
    """The highest sample id, once every transaction that may still insert a lower one has committed."""
    if session.get_bind().dialect.name == "postgresql":
        # Sequence values are handed out before commit, so a lower id could still appear: wait for the
        # inserting transactions (this mode conflicts with their ROW EXCLUSIVE) and hold new inserts until
        # commit. It conflicts with itself too, so two roll-ups take turns.
        session.execute(text("LOCK TABLE utilization_samples IN SHARE ROW EXCLUSIVE MODE"))
    # SQLite has one writer at a time: ids are handed out in commit order.
    top = session.scalar(select(func.max(_SAMPLES.c.id)))
    # A file still loading commits its samples a chunk at a time, unseen (store.loading): the watermark stays
    # below its first sample, or the hours it touches would be rolled up without it and never again. The
    # samples' batch_id has no index, so that scan runs only while such a batch exists.
    loading = loading_batches().where(EvidenceBatch.__table__.c.kind == "utilization")
    if top is not None and session.scalar(loading.limit(1)) is not None:
        first = session.scalar(select(func.min(_SAMPLES.c.id)).where(_SAMPLES.c.batch_id.in_(loading)))
        if first is not None:
            top = min(top, first - 1)
    return top


def _runs(pairs: dict[str, set[int]]) -> dict[tuple[int, int], list[str]]:
    """Touched hours per resource -> contiguous runs [start, end) of at most RUN_HOURS, grouped by span."""
    by_span: dict[tuple[int, int], list[str]] = defaultdict(list)
    for rid, hours in pairs.items():
        ordered = sorted(hours)
        start = prev = ordered[0]
        for h in ordered[1:]:
            if h == prev + 1 and h - start < RUN_HOURS:
                prev = h
                continue
            by_span[(start, prev + 1)].append(rid)
            start = prev = h
        by_span[(start, prev + 1)].append(rid)
    return by_span


def _stats(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    values.sort()
    return sum(values) / len(values), values[-1], linear_percentile(values)


def _values(text_list: str | None) -> list[float]:
    return list(map(float, text_list.split(","))) if text_list else []


_SQLITE_HOUR_TEXT = "substr(at, 1, 13)"  # 'YYYY-MM-DD HH' of SQLAlchemy's SQLite DateTime text (naive UTC)


def _grouped_columns(dialect: str) -> tuple[Any, ...]:
    """Per (resource, hour) of raw samples: hour number, hour as stored, count, CPU and memory values as text
    (the database concatenates them: far fewer rows cross into Python), storage used max, the last total."""
    if dialect == "sqlite":
        return (
            _SAMPLES.c.resource_id,
            text("CAST(strftime('%s', min(at)) AS INTEGER) / 3600"),
            text("substr(min(at), 1, 13) || ':00:00.000000'"),
            func.count(),
            func.group_concat(_SAMPLES.c.cpu_pct),
            func.group_concat(_SAMPLES.c.mem_pct),
            func.max(_SAMPLES.c.storage_used_gb),
            # The latest time's total: max over 'time|total' texts (times sort as text).
            text("max(CASE WHEN storage_total_gb IS NOT NULL THEN at || '|' || storage_total_gb END)"),
        )
    return (
        _SAMPLES.c.resource_id,
        text("CAST(floor(extract(epoch FROM min(at)) / 3600) AS BIGINT)"),
        text("NULL"),
        func.count(),
        text("string_agg(CAST(cpu_pct AS TEXT), ',')"),
        text("string_agg(CAST(mem_pct AS TEXT), ',')"),
        func.max(_SAMPLES.c.storage_used_gb),
        text("(array_agg(storage_total_gb ORDER BY at DESC) FILTER (WHERE storage_total_gb IS NOT NULL))[1]"),
    )


def _group_key(dialect: str) -> Any:
    if dialect == "sqlite":
        return text(_SQLITE_HOUR_TEXT)
    return text("floor(extract(epoch FROM at) / 3600)")


def _collect(
    session: Session, dialect: str, pairs: dict[str, set[int]], ids: tuple[int, int]
) -> Iterator[tuple[Any, ...]]:
    """The hourly rows of the touched (resource, hour) pairs from their raw samples with ids[0] < id <= ids[1].

    A batch of resources and a run of hours per query; the database groups the samples, Python only sorts
    each hour's values for the p95. Yields (resource_id, hour number, hour as stored or None, samples,
    cpu_mean, cpu_max, cpu_p95, mem_mean, mem_max, mem_p95, storage_used_gb, storage_total_gb).
    """
    columns = _grouped_columns(dialect)
    group_key = _group_key(dialect)
    for (start, end), rids in sorted(_runs(pairs).items()):
        for i in range(0, len(rids), BATCH_RESOURCES):
            stmt = (
                select(*columns)
                .where(
                    _SAMPLES.c.resource_id.in_(rids[i : i + BATCH_RESOURCES]),
                    _SAMPLES.c.at >= hour_start(start),
                    _SAMPLES.c.at < hour_start(end),
                    _SAMPLES.c.id > ids[0],
                    _SAMPLES.c.id <= ids[1],
                )
                .group_by(_SAMPLES.c.resource_id, group_key)
            )
            for rid, hour, stored_hour, samples, cpu, mem, used, total in session.execute(stmt).all():
                if hour not in pairs[rid]:
                    continue
                if isinstance(total, str):
                    total = float(total.rsplit("|", 1)[1])
                yield (
                    rid,
                    hour,
                    stored_hour,
                    samples,
                    *_stats(_values(cpu)),
                    *_stats(_values(mem)),
                    used,
                    total,
                )


_ROW_FIELDS = tuple(c.name for c in UtilizationHourly.__table__.columns)  # the insert's order


def _as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """A collected row as the table's columns (the hour as an aware datetime)."""
    rid, hour, _stored, *rest = row
    return dict(zip(_ROW_FIELDS, (rid, hour_start(hour), *rest), strict=True))


def _merged(stored: Any, new: dict[str, Any]) -> dict[str, Any]:
    """A stored hour (raw purged) plus late samples: counts, means and max exact; p95 the larger (an upper bound)."""
    n_old, n_new = stored.samples, new["samples"]
    out = dict(new)
    out["samples"] = n_old + n_new
    for metric in ("cpu", "mem"):
        old_mean, new_mean = getattr(stored, f"{metric}_mean"), new[f"{metric}_mean"]
        if old_mean is None:
            continue
        if new_mean is None:
            for stat in ("mean", "max", "p95"):
                out[f"{metric}_{stat}"] = getattr(stored, f"{metric}_{stat}")
            continue
        out[f"{metric}_mean"] = (old_mean * n_old + new_mean * n_new) / (n_old + n_new)
        out[f"{metric}_max"] = max(getattr(stored, f"{metric}_max"), new[f"{metric}_max"])
        out[f"{metric}_p95"] = max(getattr(stored, f"{metric}_p95"), new[f"{metric}_p95"])
    if stored.storage_used_gb is not None:
        out["storage_used_gb"] = max(stored.storage_used_gb, new["storage_used_gb"] or 0.0)
    if new["storage_total_gb"] is None:
        out["storage_total_gb"] = stored.storage_total_gb
    return out


class _Writer:
    """Upserts hourly rows in chunks. On SQLite the rows go straight to the driver with the hour as SQLAlchemy
    stores it (text, naive UTC): 120,000 rows a day for 5,000 resources, and per-row type processing was
    most of the write time."""

    def __init__(self, session: Session, dialect: str):
        self.session = session
        self.sqlite = dialect == "sqlite"
        self.rows: list[Any] = []
        self.written = 0
        # (resource_id, UTC day number) of what was written: a sealed day's chunk is sealed again if it changed
        self.chunks: set[tuple[str, int]] = set()
        if self.sqlite:
            updates = ", ".join(f"{c} = excluded.{c}" for c in _ROW_FIELDS[2:])
            self.sql = (
                f"INSERT INTO utilization_hourly ({', '.join(_ROW_FIELDS)}) "
                f"VALUES ({', '.join('?' * len(_ROW_FIELDS))}) "
                f"ON CONFLICT (resource_id, hour) DO UPDATE SET {updates}"
            )
        else:
            self.stmt = conflict_insert(session, _HOURLY, ("resource_id", "hour"), _ROW_FIELDS, "upsert")

    def add(self, row: tuple[Any, ...]) -> None:
        """A row as _collect yields it."""
        if self.sqlite:
            rid, hour, stored, *rest = row
            self.rows.append((rid, stored or _sqlite_hour(hour), *rest))
        else:
            self.rows.append(_as_dict(row))
        self.chunks.add((row[0], row[1] // 24))
        if len(self.rows) >= WRITE_CHUNK:
            self.flush()

    def add_dict(self, row: dict[str, Any]) -> None:
        self.add((row["resource_id"], hour_number(row["hour"]), None, *(row[f] for f in _ROW_FIELDS[2:])))

    def flush(self) -> None:
        if not self.rows:
            return
        if self.sqlite:
            self.session.connection().exec_driver_sql(self.sql, self.rows)
        else:
            self.session.execute(self.stmt, self.rows)
        self.written += len(self.rows)
        self.rows = []


def _sqlite_hour(hour: int) -> str:
    return hour_start(hour).strftime("%Y-%m-%d %H:%M:%S.000000")


def _rollup(session: Session, until: datetime) -> int:
    dialect = session.get_bind().dialect.name
    mark = watermark(session)
    top = _settled_max_id(session)
    if top is None or top <= mark:
        trail_rollups.seal_over(session, min(until, utcnow()))  # a day may be over without new samples
        return 0
    # Samples beyond the real clock are bogus and passed over; every other new sample is rolled up, whatever
    # its time: one that waited for its hour held back every sample stored after it (a file's last day once
    # kept the next files' samples from the checks).
    end = utcnow() + FUTURE_SLACK
    new_mark = top
    ids = (mark, new_mark)  # this run rolls up exactly the samples mark < id <= new_mark
    in_run = (_SAMPLES.c.id > mark) & (_SAMPLES.c.id <= new_mark)
    passed_over = session.scalar(
        select(func.count()).where(
            (_SAMPLES.c.id + 0) > mark, (_SAMPLES.c.id + 0) <= new_mark, _SAMPLES.c.at >= end
        )
    )
    if passed_over:
        log.warning("utilization samples dated in the future passed over", samples=passed_over)

    touched: dict[str, set[int]] = defaultdict(set)
    if dialect == "sqlite":  # the hour's text is cheaper than its epoch: few distinct ones, converted once
        numbers: dict[str, int] = {}
        query = select(_SAMPLES.c.resource_id, text(_SQLITE_HOUR_TEXT))
        for rid, hour_text in session.execute(query.where(in_run, _SAMPLES.c.at < end).distinct()).all():
            number = numbers.get(hour_text)
            if number is None:
                number = numbers[hour_text] = hour_number(
                    datetime.fromisoformat(f"{hour_text}:00:00").replace(tzinfo=UTC)
                )
            touched[rid].add(number)
    else:
        hours = epoch_seconds(_SAMPLES.c.at, dialect) // 3600
        for rid, hour in session.execute(
            select(_SAMPLES.c.resource_id, hours).where(in_run, _SAMPLES.c.at < end).distinct()
        ).all():
            touched[rid].add(int(hour))

    purged = raw_purged_before(session)
    purged_hour = hour_number(purged) if purged else None
    fresh: dict[str, set[int]] = {}
    old: dict[str, set[int]] = {}
    for rid, touched_hours in touched.items():
        recent = touched_hours if purged_hour is None else {h for h in touched_hours if h >= purged_hour}
        gone = touched_hours - recent
        if recent:
            fresh[rid] = recent
        if gone:
            old[rid] = gone

    writer = _Writer(session, dialect)
    # Every stored hour reflects exactly the samples with id <= the watermark: recompute with those.
    for row in _collect(session, dialect, fresh, (0, new_mark)):
        writer.add(row)
    if old:
        _merge_old(session, dialect, old, ids, writer)
    writer.flush()
    _set_state(session, WATERMARK_KEY, str(new_mark))
    # The days that are over are sealed, and a sealed day's chunk rewritten (a late sample) sealed again.
    trail_rollups.seal_written(session, min(until, utcnow()), _days(writer.chunks))
    log.debug("utilization rolled up", hours=writer.written, watermark=new_mark, at=until.isoformat())
    return writer.written


def _days(chunks: set[tuple[str, int]]) -> list[tuple[str, date]]:
    """(resource_id, UTC day) of (resource_id, day number since the epoch) pairs."""
    epoch = date(1970, 1, 1)
    return [(rid, epoch + timedelta(days=number)) for rid, number in chunks]


def _merge_old(
    session: Session, dialect: str, old: dict[str, set[int]], ids: tuple[int, int], writer: _Writer
) -> None:
    """Late samples for hours whose raw history is purged: merge them into the stored rows."""
    rows = {(r[0], r[1]): _as_dict(r) for r in _collect(session, dialect, old, ids)}
    if not rows:
        return
    rids = sorted({rid for rid, _ in rows})
    hours = [h for _, h in rows]
    for i in range(0, len(rids), BATCH_RESOURCES):
        stored = session.execute(
            select(_HOURLY).where(
                _HOURLY.c.resource_id.in_(rids[i : i + BATCH_RESOURCES]),
                _HOURLY.c.hour >= hour_start(min(hours)),
                _HOURLY.c.hour <= hour_start(max(hours)),
            )
        )
        for row in stored:
            key = (row.resource_id, hour_number(from_store(row.hour)))  # type: ignore[arg-type]
            if key in rows:
                rows[key] = _merged(row, rows[key])
    for row in rows.values():
        writer.add_dict(row)


# --- purge ---------------------------------------------------------------------------------------------


def purge(store: Store, config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Delete raw samples older than utilization.raw_days (only rolled-up ones) and roll-ups older than
    utilization.rollup_days (from the start of that UTC day: roll-ups are sealed by whole days). Each step
    leaves a purge seal of exactly what it deletes, in its transaction (trail/purge.py, trail/rollups.py).
    Returns the counts and the cut-off times."""
    now = now or utcnow()
    raw_cut = floor_hour(now - timedelta(days=config.utilization.raw_days))
    hourly_cut = floor_day(now - timedelta(days=config.utilization.rollup_days))
    with store.session() as session:
        mark = watermark(session)
        oldest = session.scalar(select(func.min(_SAMPLES.c.at)).where(_SAMPLES.c.id <= mark))
        previous = raw_purged_before(session)
        if previous is None or raw_cut > previous:
            # Recorded first: from now on late samples of these hours are merged, not recomputed.
            _set_state(session, RAW_PURGED_KEY, raw_cut.isoformat())
    samples = 0
    step_start = from_store(oldest)
    while step_start is not None and step_start < raw_cut:
        step_end = min(floor_hour(step_start) + PURGE_STEP, raw_cut)
        with store.session() as session:
            step = (UtilizationSample.at < step_end, UtilizationSample.id <= mark)
            note = f"rolled-up samples older than {step_end.isoformat()} (utilization.raw_days)"
            trail_purge.seal_purge(session, _SAMPLES, *step, note=note)
            samples += session.execute(delete(UtilizationSample).where(*step)).rowcount or 0
        step_start = step_end
    hourly = 0
    with store.session() as session:
        oldest_hour = from_store(session.scalar(select(func.min(_HOURLY.c.hour))))
    step_start = floor_day(oldest_hour) if oldest_hour is not None else None
    while step_start is not None and step_start < hourly_cut:
        step_end = min(step_start + timedelta(days=7), hourly_cut)
        with store.session() as session:
            note = f"hourly roll-ups older than {step_end.isoformat()} (utilization.rollup_days)"
            trail_rollups.seal_purge(session, step_end, note)
            hourly += (
                session.execute(delete(UtilizationHourly).where(UtilizationHourly.hour < step_end)).rowcount
                or 0
            )
        step_start = step_end
    log.info("utilization purged", samples=samples, hourly=hourly, raw_before=raw_cut.isoformat())
    return {
        "samples": samples,
        "hourly": hourly,
        "raw_before": raw_cut.isoformat(),
        "hourly_before": hourly_cut.isoformat(),
    }


# --- what the checks and the CLI read -------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    resource_id: str
    platform: str
    tenant_unit: str
    type: str
    vcpu: int
    memory_gb: float
    storage_gb: float
    allocated_from: date | None
    allocated_to: date | None
    sample_interval_s: int | None = None  # as the inventory states it; None: inferred from the samples
    arrived_at: datetime | None = None  # when its inventory row's evidence arrived (None: no batch)

    def allocated_on(self, day: date) -> bool:
        return (self.allocated_from is None or self.allocated_from <= day) and (
            self.allocated_to is None or self.allocated_to >= day
        )


@dataclass(frozen=True)
class Window:
    """The complete hours [start, end) a check looks back over."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR)

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)


def lookback_window(at: datetime, lookback: timedelta) -> Window:
    """The whole hours of `lookback` before `at` (the current, partial hour is not rolled up yet)."""
    end = floor_hour(at)
    hours = max(1, round(lookback / HOUR))
    return Window(end - hours * HOUR, end)


def allocated_filter(day: date) -> ColumnElement[bool]:
    """Inventory rows allocated on `day` (a site-local date): started (or no date) and not yet reclaimed."""
    started = _INVENTORY.c.allocated_from.is_(None) | (_INVENTORY.c.allocated_from <= day)
    running = _INVENTORY.c.allocated_to.is_(None) | (_INVENTORY.c.allocated_to >= day)
    return started & running


_RESOURCE_COLUMNS = (
    _INVENTORY.c.resource_id,
    _INVENTORY.c.platform,
    _INVENTORY.c.tenant_unit,
    _INVENTORY.c.type,
    _INVENTORY.c.vcpu,
    _INVENTORY.c.memory_gb,
    _INVENTORY.c.storage_gb,
    _INVENTORY.c.allocated_from,
    _INVENTORY.c.allocated_to,
    _INVENTORY.c.sample_interval_s,
)


def allocated_resources(
    session: Session, day: date, types: Iterable[str] | None = None, platform: str | None = None
) -> list[Resource]:
    """The resources allocated on `day`, by id."""
    stmt = select(*_RESOURCE_COLUMNS).where(allocated_filter(day))
    if types is not None:
        stmt = stmt.where(_INVENTORY.c.type.in_(list(types)))
    if platform is not None:
        stmt = stmt.where(_INVENTORY.c.platform == platform)
    return [Resource(*row) for row in session.execute(stmt.order_by(_INVENTORY.c.resource_id))]


def resources_between(
    session: Session, first: date, last: date, types: Iterable[str], arrived: ColumnElement[bool]
) -> dict[str, Resource]:
    """The resources allocated on some day of [first, last] whose inventory row had arrived (`arrived`, the
    check's `ctx.arrived(InventoryResource)`), with when it arrived: a check judges a resource only on the
    days it was allocated, and never by an inventory that came after the check's time."""
    known = func.coalesce(EvidenceBatch.known_from, EvidenceBatch.evidence_time, EvidenceBatch.received_at)
    started = _INVENTORY.c.allocated_from.is_(None) | (_INVENTORY.c.allocated_from <= last)
    running = _INVENTORY.c.allocated_to.is_(None) | (_INVENTORY.c.allocated_to >= first)
    stmt = (
        select(*_RESOURCE_COLUMNS, known)
        .outerjoin(EvidenceBatch, EvidenceBatch.id == _INVENTORY.c.batch_id)
        .where(started, running, _INVENTORY.c.type.in_(list(types)), arrived)
        .order_by(_INVENTORY.c.resource_id)
    )
    return {row[0]: Resource(*row[:-1], arrived_at=from_store(row[-1])) for row in session.execute(stmt)}


def resource_subquery(day: date, types: Iterable[str] | None = None, platform: str | None = None) -> Any:
    """SELECT resource_id of the allocated inventory: drives the roll-up queries by the (resource, hour) key."""
    stmt = select(_INVENTORY.c.resource_id).where(allocated_filter(day))
    if types is not None:
        stmt = stmt.where(_INVENTORY.c.type.in_(list(types)))
    if platform is not None:
        stmt = stmt.where(_INVENTORY.c.platform == platform)
    return stmt


class _HourKeys:
    """The hour of a roll-up as a number, read cheaply: SQLite hands the stored text (a few hundred distinct
    values a window, each converted once), PostgreSQL computes the epoch hour."""

    def __init__(self, dialect: str):
        self.sqlite = dialect == "sqlite"
        self.column: Any = (
            literal_column("utilization_hourly.hour", String)
            if self.sqlite
            else epoch_seconds(_HOURLY.c.hour, dialect) // 3600
        )
        self.cache: dict[Any, int] = {}

    def number(self, value: Any) -> int:
        if not self.sqlite:
            return int(value)
        n = self.cache.get(value)
        if n is None:
            n = self.cache[value] = hour_number(datetime.fromisoformat(value).replace(tzinfo=UTC))
        return n


def hourly_rows(
    session: Session, win: Window, resource_ids: Sequence[str], columns: Sequence[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """The roll-ups of `resource_ids` in the window: resource id -> [(hour number, *columns)] by hour."""
    keys = _HourKeys(session.get_bind().dialect.name)
    cols = [getattr(_HOURLY.c, name) for name in columns]
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    ids = sorted(set(resource_ids))
    number = keys.number
    for i in range(0, len(ids), BATCH_RESOURCES):
        stmt = (
            select(_HOURLY.c.resource_id, keys.column, *cols)
            .where(
                _HOURLY.c.resource_id.in_(ids[i : i + BATCH_RESOURCES]),
                _HOURLY.c.hour >= win.start,
                _HOURLY.c.hour < win.end,
            )
            .order_by(_HOURLY.c.resource_id, _HOURLY.c.hour)
        )
        for rid, hour, *values in session.execute(stmt).all():
            out[rid].append((number(hour), *values))
    return out


@dataclass(frozen=True)
class CpuFigures:
    """A resource's CPU over a window, from its hourly roll-ups."""

    hours: int  # hours with CPU figures
    p95: float  # nearest-rank p95 over the hours of the hourly CPU p95
    mean: float  # mean of the hourly means
    max_pct: float  # the highest sample
    busiest_hour_pct: float  # the highest hourly mean
    busiest_hour: int | None = None  # its hour number (the earliest of equals), when read


def figures_of(rows: Sequence[tuple[Any, ...]]) -> CpuFigures | None:
    """CpuFigures from (hour number, cpu_mean, cpu_p95, cpu_max) rows in hour order."""
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return None
    busiest = rows[0]
    for r in rows:
        if r[1] > busiest[1]:
            busiest = r
    return CpuFigures(
        hours=len(rows),
        p95=nearest_rank(sorted(r[1] if r[2] is None else r[2] for r in rows)),
        mean=sum(r[1] for r in rows) / len(rows),
        max_pct=max(r[1] if r[3] is None else r[3] for r in rows),
        busiest_hour_pct=busiest[1],
        busiest_hour=busiest[0],
    )


def cpu_figures(session: Session, win: Window, resource_ids: Sequence[str]) -> dict[str, CpuFigures]:
    """CpuFigures of each resource that has CPU roll-ups in the window."""
    out = {}
    for rid, rows in hourly_rows(session, win, resource_ids, ("cpu_mean", "cpu_p95", "cpu_max")).items():
        figures = figures_of(rows)
        if figures is not None:
            out[rid] = figures
    return out


def window_p95(
    session: Session, win: Window, counts: dict[str, int], column: str = "cpu_p95"
) -> dict[str, float]:
    """The nearest-rank p95 over the window's hours of `column`, for each resource with its count of hours
    with a value (from an aggregate already run): one small indexed query a resource, sorting its own
    hours in the database, so no hour crosses into Python."""
    col = getattr(_HOURLY.c, column)
    stmt = (
        select(col)
        .where(
            _HOURLY.c.resource_id == bindparam("rid"),
            _HOURLY.c.hour >= win.start,
            _HOURLY.c.hour < win.end,
            col.is_not(None),
        )
        .order_by(col)
        .limit(1)
        .offset(bindparam("k"))
    )
    out = {}
    for rid, n in counts.items():
        if n:
            out[rid] = session.execute(
                stmt, {"rid": rid, "k": math.ceil(round(0.95 * n, 9)) - 1}
            ).scalar_one()
    return out


def last_sample_hours(session: Session, resource_ids: Sequence[str], before: datetime) -> dict[str, datetime]:
    """The latest rolled-up hour before `before` of each resource that has one."""
    out: dict[str, datetime] = {}
    ids = sorted(set(resource_ids))
    for i in range(0, len(ids), BATCH_RESOURCES):
        stmt = (
            select(_HOURLY.c.resource_id, func.max(_HOURLY.c.hour))
            .where(_HOURLY.c.resource_id.in_(ids[i : i + BATCH_RESOURCES]), _HOURLY.c.hour < before)
            .group_by(_HOURLY.c.resource_id)
        )
        for rid, hour in session.execute(stmt).all():
            if hour is not None:
                out[rid] = from_store(hour)  # type: ignore[assignment]
    return out


# --- the reclaim list and the usage summary (for `ops-watch resources idle|usage`) ------------------------

RECLAIM_CHECKS = ("idle_cpu", "oversized_cpu", "idle_storage", "stale_resource")


def reclaim_list(session: Session, at: datetime) -> list[dict[str, Any]]:
    """What can be reclaimed as of `at`: the resource findings active then, largest monthly cost first.

    One row per finding: its evidence (resource_id, platform, tenant_unit, type, reclaim_vcpu,
    reclaim_memory_gb, reclaim_storage_gb, recommended_vcpu, monthly_cost, currency, cost_basis, action, …)
    plus finding_id, rule_id, check, status, summary, first_seen. `action` is reclaim (idle), resize
    (oversized), shrink (idle storage) or verify (stale: reclaimable only if it is really gone).
    Sum with `reclaim_totals`.
    """
    stmt = (
        select(Finding)
        .where(
            Finding.check.in_(RECLAIM_CHECKS),
            Finding.first_seen <= at,
            Finding.status.in_(("open", "acknowledged", "silenced"))
            | (Finding.resolved_at.is_not(None) & (Finding.resolved_at > at)),
        )
        .order_by(Finding.id)
    )
    active = [
        f
        for f in session.scalars(stmt)
        if not (f.status == "resolved" and f.resolved_at is not None and from_store(f.resolved_at) <= at)
    ]
    return reclaim_rows(active)


def reclaim_rows(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """The reclaim list's rows of these resource findings (others, and episodes that are over, are left out),
    largest monthly cost first."""
    rows = []
    for f in findings:
        if f.check not in RECLAIM_CHECKS or (f.evidence or {}).get("ongoing") is False:
            continue  # an episode that is over (idle, then used again) has nothing left to reclaim
        row = dict(f.evidence or {})
        row.update(
            finding_id=f.id,
            rule_id=f.rule_id,
            check=f.check,
            status=f.status,
            summary=f.summary,
            first_seen=from_store(f.first_seen).isoformat() if f.first_seen else None,  # type: ignore[union-attr]
        )
        rows.append(row)
    rows.sort(key=lambda r: (-(r.get("monthly_cost") or 0.0), str(r.get("resource_id")), r["check"]))
    return rows


def reclaim_totals(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Totals of a reclaim list: confirmed savings at unit prices apart from notional and to-verify amounts."""
    totals: dict[str, Any] = {
        "reclaim_vcpu": 0,
        "reclaim_memory_gb": 0.0,
        "reclaim_storage_gb": 0.0,
        "monthly_saving": 0.0,  # unit-price platforms, confirmed (not stale)
        "notional_monthly": 0.0,  # fixed-fee platforms at notional prices: worth, not saving
        "to_verify_monthly": 0.0,  # stale resources: saving only if they are really gone
        "unpriced": 0,
        "currency": "CNY",
    }
    for r in rows:
        verify = r.get("action") == "verify"
        if not verify:
            totals["reclaim_vcpu"] += r.get("reclaim_vcpu") or 0
            totals["reclaim_memory_gb"] += r.get("reclaim_memory_gb") or 0.0
            totals["reclaim_storage_gb"] += r.get("reclaim_storage_gb") or 0.0
        cost = r.get("monthly_cost")
        if cost is None:
            totals["unpriced"] += 1
        elif verify:
            totals["to_verify_monthly"] += cost
        elif r.get("cost_basis") == "notional":
            totals["notional_monthly"] += cost
        else:
            totals["monthly_saving"] += cost
    for key in ("reclaim_memory_gb", "reclaim_storage_gb", "monthly_saving", "notional_monthly"):
        totals[key] = round(totals[key], 2)
    totals["to_verify_monthly"] = round(totals["to_verify_monthly"], 2)
    return totals


def resource_usage(
    session: Session, day: date, win: Window, platform: str | None = None
) -> dict[str, dict[str, Any]]:
    """Per allocated resource over the window: for CPU %, memory % and storage used, the hours sampled, the
    samples, the days with a sample and the mean (keys cpu_hours, cpu_samples, cpu_days, cpu_mean, mem_…,
    storage_…, storage_used_mean).

    One aggregate query driven by the inventory (it reads the (resource, hour) key range of each resource).
    """
    h = _HOURLY.c
    day_of = func.substr(h.hour, 1, 10) if session.get_bind().dialect.name == "sqlite" else func.date(h.hour)
    columns: list[Any] = []
    for col in (h.cpu_mean, h.mem_mean, h.storage_used_gb):
        columns += [
            func.count(col),
            func.sum(case((col.is_not(None), h.samples), else_=0)),
            func.count(func.distinct(case((col.is_not(None), day_of)))),
            func.avg(col),
        ]
    stmt = (
        select(h.resource_id, *columns)
        .where(
            h.resource_id.in_(resource_subquery(day, platform=platform)),
            h.hour >= win.start,
            h.hour < win.end,
        )
        .group_by(h.resource_id)
    )
    out = {}
    for rid, *values in session.execute(stmt).all():
        row: dict[str, Any] = {}
        for k, metric in enumerate(("cpu", "mem", "storage")):
            hours, samples, days, mean = values[4 * k : 4 * k + 4]
            row[f"{metric}_hours"], row[f"{metric}_samples"], row[f"{metric}_days"] = (
                hours,
                samples or 0,
                days,
            )
            row["storage_used_mean" if metric == "storage" else f"{metric}_mean"] = mean
        out[rid] = row
    return out


def measured(r: Resource, u: dict[str, Any], metric: str, win: Window, min_coverage: float) -> bool:
    """Whether the window holds enough of the resource's samples of `metric` (cpu, mem, storage) at its own
    interval (stated, else inferred from the window's samples per sampled hour and sampled hours per day)."""
    hours, days = u.get(f"{metric}_hours") or 0, u.get(f"{metric}_days") or 0
    if not hours:
        return False
    samples = u.get(f"{metric}_samples") or 0
    cadence = sampling.sampling_of(r.sample_interval_s, [(hours / max(days, 1), samples / max(days, 1))])
    seconds = (win.end - win.start).total_seconds()
    return cadence.coverage(seconds, hours, samples) >= min_coverage


def used_vcpu_by_hour(
    session: Session, win: Window, resource_ids: Sequence[str]
) -> dict[tuple[str, str], dict[int, float]]:
    """Hour by hour, the vCPU in use (Σ vCPU × hourly mean CPU %) of `resource_ids` per (platform, tenant unit).

    Summed by the database, so the answer is groups × hours however many resources there are.
    """
    dialect = session.get_bind().dialect.name
    h, inv = _HOURLY.c, _INVENTORY.c
    hour = epoch_seconds(h.hour, dialect) // 3600
    out: dict[tuple[str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    ids = sorted(set(resource_ids))
    for i in range(0, len(ids), BATCH_RESOURCES):
        stmt = (
            select(inv.platform, inv.tenant_unit, hour, func.sum(inv.vcpu * h.cpu_mean))
            .join_from(_HOURLY, _INVENTORY, inv.resource_id == h.resource_id)
            .where(
                h.resource_id.in_(ids[i : i + BATCH_RESOURCES]),
                h.hour >= win.start,
                h.hour < win.end,
                h.cpu_mean.is_not(None),
            )
            .group_by(inv.platform, inv.tenant_unit, hour)
        )
        for platform, unit, hour_no, used in session.execute(stmt).all():
            out[(platform, unit)][hour_no] += (used or 0.0) / 100
    return out


def _group_p95(series: Iterable[dict[int, float]]) -> float:
    """Nearest-rank p95 over the hours of the sum of several hourly series."""
    total: dict[int, float] = defaultdict(float)
    for s in series:
        for hour, value in s.items():
            total[hour] += value
    return nearest_rank(sorted(total.values())) if total else 0.0


def usage_summary(
    session: Session,
    at: datetime,
    window: timedelta = timedelta(days=14),
    platform: str | None = None,
    *,
    zone: Any = None,
    min_coverage: float = 0.8,
    p95: bool = True,
) -> list[dict[str, Any]]:
    """Allocated and used capacity per platform and per tenant unit over the `window` before `at`.

    One row per platform (tenant_unit None, listed first) and per tenant unit of it, with: resources,
    measured (resources with `min_coverage` of the window's samples present, at each one's own interval), allocated vcpu / memory_gb /
    storage_gb of all of them; and of the measured ones: used_vcpu_mean (Σ vCPU × mean CPU %),
    used_vcpu_p95 (the p95 over the hours of the group's vCPU in use), used_memory_gb (mean), used_storage_gb
    (mean) and cpu_pct / cpu_p95_pct / memory_pct / storage_pct = used ÷ allocated of the measured resources.
    `zone` is the site's zone (for which resources are allocated on the day of `at`); default UTC.
    `p95=False` leaves used_vcpu_p95 and cpu_p95_pct None and saves the hour-by-hour query (the checks do).
    """
    win = lookback_window(at, window)
    day = (at.astimezone(zone) if zone is not None else at).date()
    resources = allocated_resources(session, day, platform=platform)
    usage = resource_usage(session, day, win, platform)
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    cpu_measured: list[str] = []
    for r in resources:
        u = usage.get(r.resource_id, {})
        cpu_ok = bool(r.vcpu) and measured(r, u, "cpu", win, min_coverage)
        mem_ok = bool(r.memory_gb) and measured(r, u, "mem", win, min_coverage)
        disk_ok = bool(r.storage_gb) and measured(r, u, "storage", win, min_coverage)
        if cpu_ok:
            cpu_measured.append(r.resource_id)
        for key in ((r.platform, None), (r.platform, r.tenant_unit)):
            g = groups.get(key)
            if g is None:
                g = groups[key] = empty_group(*key)
            g["resources"] += 1
            g["measured"] += int(cpu_ok or mem_ok or disk_ok)
            g["vcpu"] += r.vcpu
            g["memory_gb"] += r.memory_gb
            g["storage_gb"] += r.storage_gb
            if cpu_ok:
                g["measured_vcpu"] += r.vcpu
                g["used_vcpu_mean"] += r.vcpu * u["cpu_mean"] / 100
            if mem_ok:
                g["measured_memory_gb"] += r.memory_gb
                g["used_memory_gb"] += r.memory_gb * u["mem_mean"] / 100
            if disk_ok:
                g["measured_storage_gb"] += r.storage_gb
                g["used_storage_gb"] += u["storage_used_mean"]
    hourly = used_vcpu_by_hour(session, win, cpu_measured) if p95 else {}
    rows = []
    for (plat, unit), g in groups.items():
        g["cpu_pct"] = percent_of(g["used_vcpu_mean"], g["measured_vcpu"])
        if p95:
            series = [v for (p, t), v in hourly.items() if p == plat and (unit is None or t == unit)]
            g["used_vcpu_p95"] = round(_group_p95(series), 2)
            g["cpu_p95_pct"] = percent_of(g["used_vcpu_p95"], g["measured_vcpu"])
        else:
            g["used_vcpu_p95"] = g["cpu_p95_pct"] = None
        g["memory_pct"] = percent_of(g["used_memory_gb"], g["measured_memory_gb"])
        g["storage_pct"] = percent_of(g["used_storage_gb"], g["measured_storage_gb"])
        for key in ("used_vcpu_mean", "used_memory_gb", "used_storage_gb"):
            g[key] = round(g[key], 2)
        g["window_days"] = round(win.days, 2)
        rows.append(g)
    rows.sort(key=lambda g: (g["platform"], g["tenant_unit"] is not None, g["tenant_unit"] or ""))
    return rows


def empty_group(platform: str, tenant_unit: str | None) -> dict[str, Any]:
    """The running totals of one platform (tenant_unit None) or one tenant unit of it, all at zero."""
    return {
        "platform": platform,
        "tenant_unit": tenant_unit,
        "resources": 0,
        "measured": 0,
        "vcpu": 0,
        "memory_gb": 0.0,
        "storage_gb": 0.0,
        "measured_vcpu": 0,
        "measured_memory_gb": 0.0,
        "measured_storage_gb": 0.0,
        "used_vcpu_mean": 0.0,
        "used_vcpu_p95": 0.0,
        "used_memory_gb": 0.0,
        "used_storage_gb": 0.0,
    }


def percent_of(used: float, allocated: float) -> float | None:
    return round(100 * used / allocated, 1) if allocated else None
