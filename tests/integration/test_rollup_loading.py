"""The roll-up never passes over the samples of a file still loading (store.loading, issue 17 #6).

A utilization file commits its samples a chunk at a time under a batch that stays "loading". The roll-up works
from a watermark (the highest sample id rolled up): were it to move past a loading file's first sample, the hours
that file touches would be rolled up without it and never again. It stops below, and takes them once the batch
is complete.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ops_watch.areas.resources.utilization import rollup, watermark
from ops_watch.store.loading import LOADING
from ops_watch.store.schema import EvidenceBatch, UtilizationHourly, UtilizationSample

HOUR = datetime(2026, 11, 2, 3, tzinfo=UTC)


def _batch(session, status: str) -> int:
    batch = EvidenceBatch(kind="utilization", source=f"{status}.csv", received_at=HOUR, status=status)
    session.add(batch)
    session.flush()
    return batch.id


def _samples(session, batch_id: int, resource: str, cpu: float) -> list[int]:
    rows = [
        UtilizationSample(
            resource_id=resource, at=HOUR + timedelta(minutes=5 * i), cpu_pct=cpu, batch_id=batch_id
        )
        for i in range(12)
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]


def _hour(store, resource: str) -> UtilizationHourly | None:
    with store.session() as s:
        return s.scalars(select(UtilizationHourly).where(UtilizationHourly.resource_id == resource)).first()


def test_the_watermark_waits_below_a_loading_file_and_takes_it_once_complete(store) -> None:
    with store.session(see_loading=True) as s:
        done = _samples(s, _batch(s, "accepted"), "vm-a", 10.0)
        loading_batch = _batch(s, LOADING)
        half = _samples(s, loading_batch, "vm-b", 50.0)  # its first chunk, committed
        later = _samples(s, _batch(s, "accepted"), "vm-c", 30.0)  # another file, complete, after it

    rollup(store, HOUR + timedelta(hours=2))
    with store.session() as s:
        assert watermark(s) == min(half) - 1
    assert _hour(store, "vm-a").samples == 12
    assert _hour(store, "vm-b") is None  # not judged on half a file
    assert _hour(store, "vm-c") is None  # waits behind it: ids above the watermark

    with store.session(see_loading=True) as s:
        s.get(EvidenceBatch, loading_batch).status = "accepted"
    rollup(store, HOUR + timedelta(hours=2))
    with store.session() as s:
        assert watermark(s) == max(later) > max(done)
    assert _hour(store, "vm-b").samples == 12 and _hour(store, "vm-b").cpu_mean == 50.0
    assert _hour(store, "vm-c").samples == 12
