"""One collection cycle: targets from the inventory, each collector's samples and statuses into the store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ops_watch.config import Config
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import utcnow
from ops_watch.sources import Collector, CollectResult, Sample, Target, TargetStatus
from ops_watch.store import Store
from ops_watch.store.bulk import conflict_insert, rows_writer
from ops_watch.store.schema import (
    CollectionStatus,
    EvidenceBatch,
    InventoryResource,
    UtilizationHourly,
    UtilizationSample,
)
from ops_watch.trail.evidence import expect_rows, note_rows
from ops_watch.trail.rollups import seal_written

log = get_logger(__name__)
CHUNK = 5000


def inventory_targets(session: Session, today: date) -> list[Target]:
    """Every resource still allocated, with the time of its newest stored sample."""
    latest = dict(
        session.execute(
            select(UtilizationSample.resource_id, func.max(UtilizationSample.at)).group_by(
                UtilizationSample.resource_id
            )
        ).all()
    )
    targets = []
    for r in session.scalars(select(InventoryResource).order_by(InventoryResource.resource_id)):
        if r.allocated_to is not None and r.allocated_to < today:
            continue
        targets.append(
            Target(
                r.resource_id,
                r.address,
                r.platform,
                r.type,
                r.collect_via or "",
                last_sample_at=latest.get(r.resource_id),
            )
        )
    return targets


def targets_for(source: str, targets: list[Target]) -> list[Target]:
    """What one source should try: machines (a volume is measured through its host), unless meant for another."""
    return [t for t in targets if t.type != "volume" and t.collect_via in ("", source)]


def store_samples(session: Session, samples: list[Sample], source: str, batch_id: int | None) -> int:
    """Insert samples, ignoring any already stored for the same resource and time; returns how many were new."""
    table = UtilizationSample.__table__
    if batch_id is not None:
        expect_rows(session, batch_id, table)
    if not samples:
        return 0
    before = session.scalar(select(func.count()).select_from(table).where(table.c.batch_id == batch_id)) or 0
    rows = [{**asdict(s), "source": source, "batch_id": batch_id} for s in samples]
    columns = list(rows[0])
    if batch_id is not None:  # the batch's seal takes these rows' digests (trail/evidence.py)
        note_rows(session, batch_id, table, columns, [tuple(r.values()) for r in rows])
    stmt = conflict_insert(session, table, ("resource_id", "at"), columns, "ignore")
    for i in range(0, len(rows), CHUNK):
        session.execute(stmt, rows[i : i + CHUNK])
    after = session.scalar(select(func.count()).select_from(table).where(table.c.batch_id == batch_id)) or 0
    return after - before


# utilization_hourly's columns in their order: what a source's hourly row holds, field by field.
HOURLY_COLUMNS = tuple(c.name for c in UtilizationHourly.__table__.columns)


_HOURLY_VALUES = attrgetter(*HOURLY_COLUMNS)


def hourly_sink(store: Store, counts: dict[str, int]) -> Callable[[list[Any]], None]:
    """Where a source writes hourly roll-ups it read directly (the Prometheus back-fill): each call is one
    transaction, so a long back-fill holds neither its rows in memory nor the store for long.

    Rows are dataclasses with HOURLY_COLUMNS' fields in that order (sources.prometheus.HourlyRow). They are
    for hours without raw samples of the resource, so the roll-up (which recomputes only hours touched by new
    raw samples, above its watermark) never rewrites them; an hour already stored is kept as it is.
    """

    def write(rows: list[Any]) -> None:
        with store.session() as session:
            insert = rows_writer(session, UtilizationHourly.__table__, HOURLY_COLUMNS[:2], HOURLY_COLUMNS)
            insert(list(map(_HOURLY_VALUES, rows)))
            # Sealed in the same transaction: the days that are over, and a sealed day's chunks it changed.
            written = {(r.resource_id, r.hour.astimezone(UTC).date()) for r in rows}
            seal_written(session, utcnow(), written)
        counts["hourly"] = counts.get("hourly", 0) + len(rows)

    return write


def record_statuses(session: Session, source: str, statuses: list[TargetStatus], now: datetime) -> None:
    known = {
        s.target: s
        for s in session.scalars(select(CollectionStatus).where(CollectionStatus.source == source))
    }
    for st in statuses:
        row = known.get(st.target)
        if row is None:
            row = CollectionStatus(
                source=source, target=st.target, consecutive_failures=0, error_kind="", last_error=""
            )
            session.add(row)
            known[st.target] = row
        row.last_attempt = now
        if st.ok:
            row.last_success, row.failing_since = now, None
            row.consecutive_failures, row.error_kind, row.last_error = 0, "", ""
        else:
            row.failing_since = row.failing_since or now
            row.consecutive_failures = (row.consecutive_failures or 0) + 1
            row.error_kind, row.last_error = st.error_kind, st.error


def collect_cycle(
    store: Store, config: Config, collectors: Mapping[str, Collector], now: datetime | None = None
) -> dict[str, Any]:
    """Run every collector once. A collector that raises is logged and recorded; the others still run."""
    now = now or utcnow()
    with store.session() as session:
        targets = inventory_targets(session, now.astimezone(config.site.zone).date())
    counts: dict[str, Any] = {"targets": len(targets), "samples": 0, "failed": 0}
    for name, collector in collectors.items():
        started = time.monotonic()
        hourly: dict[str, int] = {}
        try:
            chosen = targets_for(name, targets)
            collect_hourly = getattr(collector, "collect_hourly", None)
            if collect_hourly is not None:  # back-fills whole hours as roll-ups, straight into the store
                result = collect_hourly(chosen, now, hourly_sink(store, hourly))
            else:
                result = collector.collect(chosen, now)
        except Exception as exc:  # a broken collector must not stop the others
            log.error("collector failed", source=name, error=str(exc), exc_info=True)
            result = CollectResult(
                statuses=[TargetStatus("*", False, "config", f"{type(exc).__name__}: {exc}")]
            )
        took = round(
            time.monotonic() - started, 3
        )  # the round's duration: /metrics serves it (docs/metrics.md)
        failed = [s for s in result.statuses if not s.ok]
        for st in failed:
            log.warning(
                "collection failed", source=name, target=st.target, kind=st.error_kind, error=st.error
            )
        with store.session() as session:
            batch = EvidenceBatch(
                kind="utilization",
                source=name,
                sha256=None,
                received_at=now,
                status="accepted" if result.samples or not failed else "rejected",
                rows_total=len(result.samples),
                rows_ok=0,
                rows_bad=0,
                rows_duplicate=0,
                detail=json.dumps({"round_seconds": took, "targets": len(result.statuses)}),
                stored_path="",
            )
            session.add(batch)
            session.flush()
            new = store_samples(session, result.samples, name, batch.id)
            batch.rows_ok, batch.rows_duplicate = new, len(result.samples) - new
            record_statuses(session, name, result.statuses, now)
        counts["samples"] += new
        counts["failed"] += len(failed)
        counts[name] = {"samples": new, "failed": len(failed), **hourly}
    return counts
