"""Hourly roll-ups of the raw samples, on SQLite and PostgreSQL: the figures, the watermark, late samples, purge.

`store` (tests/conftest.py) runs each test on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from ops_watch.areas.resources import utilization
from ops_watch.areas.resources.utilization import RAW_PURGED_KEY, rollup, watermark
from ops_watch.config import Config
from ops_watch.store import Store
from ops_watch.store.schema import StoreState, UtilizationHourly, UtilizationSample

H0 = datetime(2026, 11, 2, 0, tzinfo=UTC)  # an hour start, well in the past of any test run
MIN5 = timedelta(minutes=5)
HOUR = timedelta(hours=1)


def add(store: Store, *samples: dict[str, Any]) -> None:
    """Insert raw samples as given (ids in this order)."""
    rows = [
        {
            "cpu_pct": None,
            "mem_pct": None,
            "storage_used_gb": None,
            "storage_total_gb": None,
            "source": "test",
            **s,
        }
        for s in samples
    ]
    with store.session() as session:
        session.execute(insert(UtilizationSample), rows)


def sample(rid: str, at: datetime, cpu: float | None = None, **more: Any) -> dict[str, Any]:
    return {"resource_id": rid, "at": at, "cpu_pct": cpu, **more}


def hourly(store: Store) -> dict[tuple[str, datetime], UtilizationHourly]:
    with store.session() as session:
        return {(r.resource_id, r.hour): r for r in session.scalars(select(UtilizationHourly))}


def raw_count(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(UtilizationSample)) or 0


def test_an_hour_rolls_up_to_count_mean_max_p95_and_storage(store: Store) -> None:
    # The last sample of the hour is inserted first: "total last" goes by time, not by arrival.
    add(
        store,
        sample("vm-1", H0 + 11 * MIN5, 12.0, mem_pct=60.0, storage_used_gb=50.0, storage_total_gb=120.0),
    )
    add(
        store,
        *(
            sample(
                "vm-1",
                H0 + k * MIN5,
                float(k + 1),
                mem_pct=5.0 * (k + 1),
                storage_used_gb=40.0 + k,
                storage_total_gb=100.0,
            )
            for k in range(11)
        ),
        sample("vol-1", H0, storage_used_gb=700.0, storage_total_gb=1000.0),
        sample("vol-1", H0 + 6 * MIN5, storage_used_gb=710.0),
    )
    assert rollup(store, H0 + 2 * HOUR) == 2
    rows = hourly(store)
    vm = rows[("vm-1", H0)]
    assert vm.samples == 12
    assert (vm.cpu_mean, vm.cpu_max) == (6.5, 12.0)
    # Linear interpolation: rank 0.95 × 11 = 10.45 -> 11 + 0.45 × (12 - 11).
    assert vm.cpu_p95 == pytest.approx(11.45)
    assert (vm.mem_mean, vm.mem_max, vm.mem_p95) == pytest.approx((32.5, 60.0, 57.25))
    assert vm.storage_used_gb == 50.0  # the hour's largest
    assert vm.storage_total_gb == 120.0  # the latest sample's
    vol = rows[("vol-1", H0)]
    assert (vol.samples, vol.cpu_mean, vol.cpu_p95, vol.mem_max) == (2, None, None, None)
    assert (vol.storage_used_gb, vol.storage_total_gb) == (710.0, 1000.0)


def test_an_hour_still_going_rolls_up_as_far_as_it_goes_and_again_when_it_grows(store: Store) -> None:
    add(store, *(sample("vm-1", H0 + k * MIN5, 10.0) for k in range(12)))
    add(store, *(sample("vm-1", H0 + HOUR + k * MIN5, 30.0) for k in range(6)))
    assert rollup(store, H0 + HOUR + 30 * timedelta(minutes=1)) == 2
    assert hourly(store)[("vm-1", H0 + HOUR)].samples == 6
    with store.session() as session:
        assert watermark(session) == 18  # nothing waits: a stored sample is never left out

    add(store, *(sample("vm-1", H0 + HOUR + k * MIN5, 50.0) for k in range(6, 12)))
    assert rollup(store, H0 + 2 * HOUR) == 1  # the grown hour, recomputed from raw
    current = hourly(store)[("vm-1", H0 + HOUR)]
    assert (current.samples, current.cpu_mean, current.cpu_max) == (12, 40.0, 50.0)
    with store.session() as session:
        assert watermark(session) == 24


def test_late_samples_of_an_old_hour_recompute_it_completely_from_raw(store: Store) -> None:
    month_ago, today = H0 - 30 * 24 * HOUR, H0
    add(store, *(sample("vm-1", month_ago + k * MIN5, 10.0) for k in range(0, 12, 2)))
    add(store, *(sample("vm-2", month_ago + k * MIN5, 5.0) for k in range(12)))
    assert rollup(store, today) == 2
    assert hourly(store)[("vm-1", month_ago)].samples == 6

    # A month-old export dropped today: the missing half of vm-1's hour; and today's samples.
    add(store, *(sample("vm-1", month_ago + k * MIN5, 40.0) for k in range(1, 12, 2)))
    add(store, sample("vm-1", today, 1.0))
    assert rollup(store, today + HOUR) == 2  # the old hour and today's, nothing else
    rows = hourly(store)
    old = rows[("vm-1", month_ago)]
    assert (old.samples, old.cpu_mean, old.cpu_max) == (12, 25.0, 40.0)
    assert rows[("vm-2", month_ago)].samples == 12  # untouched
    assert rows[("vm-1", today)].samples == 1


def test_running_it_again_changes_nothing(store: Store) -> None:
    add(store, *(sample(f"vm-{i}", H0 + k * MIN5, float(i + k)) for i in range(3) for k in range(24)))
    assert rollup(store, H0 + 3 * HOUR) == 6
    before = {k: (r.samples, r.cpu_mean, r.cpu_p95) for k, r in hourly(store).items()}
    assert rollup(store, H0 + 3 * HOUR) == 0
    assert rollup(store, H0 + 5 * HOUR) == 0
    assert {k: (r.samples, r.cpu_mean, r.cpu_p95) for k, r in hourly(store).items()} == before


def test_a_session_that_inserted_samples_can_roll_them_up_before_commit(store: Store) -> None:
    with store.session() as session:
        session.execute(insert(UtilizationSample), [sample("vm-1", H0, 5.0, source="test")])
        assert rollup(session, H0 + HOUR) == 1  # on PostgreSQL its own lock does not block it
    assert hourly(store)[("vm-1", H0)].cpu_mean == 5.0


def test_samples_after_the_evaluation_time_never_hold_back_the_ones_stored_after_them(store: Store) -> None:
    # The demo's Sunday: one platform's export ends on Monday morning, the next platform's file is stored after
    # it. Evaluating as of Sunday must see the second file's samples too (they were once left "never received").
    add(
        store,
        sample("jwy-1", H0, 5.0),
        sample("jwy-1", H0 + 5 * HOUR, 7.0),  # after the evaluation time
        sample("xyd-1", H0, 9.0),
    )
    assert rollup(store, H0 + HOUR) == 3
    with store.session() as session:
        assert watermark(session) == 3
    rows = hourly(store)
    assert rows[("xyd-1", H0)].cpu_mean == 9.0
    assert rows[("jwy-1", H0 + 5 * HOUR)].cpu_mean == 7.0  # stored; no check as of H0 + 1 h reads that hour
    add(store, sample("jwy-1", H0 + 10 * MIN5, 11.0))
    assert rollup(store, H0 + 6 * HOUR) == 1  # H0 of jwy-1 with its late sample, recomputed from raw
    assert (hourly(store)[("jwy-1", H0)].samples, hourly(store)[("jwy-1", H0)].cpu_mean) == (2, 8.0)


def test_samples_dated_beyond_the_clock_are_passed_over(store: Store) -> None:
    now = datetime.now(UTC)
    add(store, sample("vm-1", now + timedelta(days=3), 5.0), sample("vm-1", H0, 1.0))
    assert rollup(store, now) == 1
    with store.session() as session:
        assert watermark(session) == 2  # the bogus sample cannot hold the watermark back
    assert list(hourly(store)) == [("vm-1", H0)]


def test_purge_drops_old_raw_and_rollups_but_never_what_is_not_rolled_up(store: Store) -> None:
    config = Config.model_validate({"utilization": {"raw_days": 7, "rollup_days": 30}})
    now = H0
    very_old, old, recent = now - 35 * 24 * HOUR, now - 10 * 24 * HOUR, now - 2 * HOUR
    add(store, *(sample("vm-1", t + k * MIN5, 10.0 + k) for t in (very_old, old, recent) for k in range(12)))
    assert rollup(store, now) == 3
    # A late sample for the old hour arrives before the purge and is not rolled up yet.
    add(store, sample("vm-1", old + 59 * timedelta(minutes=1), 90.0))

    counts = utilization.purge(store, config, now)
    assert counts["samples"] == 24  # very_old and old, the rolled-up ones; the late one stays
    assert counts["hourly"] == 1  # very_old's roll-up is past 30 days
    assert raw_count(store) == 13
    with store.session() as session:
        state = session.get(StoreState, RAW_PURGED_KEY)
        assert state is not None and datetime.fromisoformat(state.value) == now - 7 * 24 * HOUR

    # The old hour's raw history is gone: the late sample is merged into its stored row, not recomputed.
    assert rollup(store, now) == 1
    merged = hourly(store)[("vm-1", old)]
    assert merged.samples == 13
    assert merged.cpu_max == 90.0
    assert merged.cpu_mean == pytest.approx((sum(10.0 + k for k in range(12)) + 90.0) / 13)
    assert merged.cpu_p95 >= 90.0 - 1e-9  # an upper bound once merged
    assert set(hourly(store)) == {("vm-1", old), ("vm-1", recent)}

    # A second purge removes the merged raw sample and nothing else.
    assert utilization.purge(store, config, now)["samples"] == 1
    assert raw_count(store) == 12


def test_percentile_definitions() -> None:
    values = [float(v) for v in range(1, 21)]
    assert utilization.nearest_rank(values) == 19.0  # rank ceil(0.95 × 20) = 19
    assert utilization.linear_percentile(values) == pytest.approx(19.05)
    assert utilization.nearest_rank([4.0]) == utilization.linear_percentile([4.0]) == 4.0
    # How many may exceed a line with the nearest-rank p95 still on it: 1 of 20, 0 of 19, 5 of 100.
    assert [utilization.above_allowed(n) for n in (20, 19, 100, 0)] == [1, 0, 5, 0]
    with pytest.raises(ValueError):
        utilization.nearest_rank([])
