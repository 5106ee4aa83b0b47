"""The console's shared figures (store/shared.py): computed once for everyone, again when evidence arrives or
the entry is old, never twice at once, and a bounded number kept."""

from __future__ import annotations

import threading
import time
from typing import Any

from ops_watch.core.timeutil import utcnow
from ops_watch.store.schema import EvidenceBatch
from ops_watch.store.shared import ViewCache


def _batch(store: Any, n: int) -> int:
    with store.session() as s:
        b = EvidenceBatch(
            kind="door_events",
            source=f"f{n}.csv",
            sha256=f"{n:064d}",
            received_at=utcnow(),
            status="accepted",
        )
        s.add(b)
        s.flush()
        return b.id


def _settle(cache: ViewCache, computed: int) -> None:
    """Wait for the background computation that brings `cache.computed` to `computed`."""
    deadline = time.monotonic() + 10
    while cache.computed < computed:
        assert time.monotonic() < deadline, "the background computation did not finish"
        time.sleep(0.01)
    time.sleep(0.05)  # its thread lets go of the key


def test_computed_once_then_again_in_the_background_when_evidence_arrives_or_goes(store: Any) -> None:
    cache = ViewCache(store)
    calls: list[int] = []

    def count() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("k", count) == 1
    assert cache.get("k", count) == 1
    assert cache.get("other", lambda: "x") == "x"
    first = _batch(store, 1)
    assert cache.get("k", count) == 1  # what was computed, at once; the new figures are being computed
    _settle(cache, 3)
    assert cache.get("k", count) == 2
    _batch(store, 2)
    cache.get("k", count)
    _settle(cache, 4)
    assert cache.get("k", count) == 3
    with store.session() as s:  # a dropped batch (the newest id stays the same)
        s.delete(s.get(EvidenceBatch, first))
    cache.get("k", count)
    _settle(cache, 5)
    assert cache.get("k", count) == 4
    assert cache.computed == 5 and len(calls) == 4


def test_an_old_entry_is_computed_again(store: Any) -> None:
    cache = ViewCache(store, ttl=0.05)
    values = iter(range(10))
    assert cache.get("k", lambda: next(values)) == 0
    assert cache.get("k", lambda: next(values)) == 0
    time.sleep(0.1)
    assert cache.get("k", lambda: next(values)) == 0
    _settle(cache, 2)
    assert cache.get("k", lambda: next(values)) == 1


def test_a_failed_recomputation_keeps_the_figures_and_is_tried_again(store: Any) -> None:
    cache = ViewCache(store, ttl=0.01)
    assert cache.get("k", lambda: "good") == "good"
    time.sleep(0.05)

    def broken() -> str:
        raise RuntimeError("store went away")

    assert cache.get("k", broken) == "good"
    time.sleep(0.2)
    assert cache.get("k", lambda: "better") == "good"  # still the old one; this request asked again
    _settle(cache, 2)
    assert cache.get("k", lambda: "unused") == "better"


def test_the_background_computes_one_at_a_time_and_once_per_key(store: Any) -> None:
    cache = ViewCache(store, ttl=0.01)
    for key in ("a", "b"):
        cache.get(key, lambda: 0)
    time.sleep(0.05)
    running, most = [0], [0]
    guard = threading.Lock()

    def slow() -> int:
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.1)
        with guard:
            running[0] -= 1
        return 1

    for _ in range(5):
        for key in ("a", "b"):
            assert cache.get(key, slow) == 0
    _settle(cache, 4)
    assert most[0] == 1 and cache.computed == 4  # a and b once each, never both at once


def test_people_asking_at_once_wait_for_one_computation(store: Any) -> None:
    cache = ViewCache(store)
    started = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait(5)
        return "view"

    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("month", slow))) for _ in range(8)]
    threads[0].start()
    assert started.wait(5)
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)
    release.set()
    for t in threads:
        t.join(5)
    assert got == ["view"] * 8 and len(calls) == 1


def test_a_bounded_number_of_entries_and_no_lock_left_per_key(store: Any) -> None:
    cache = ViewCache(store, size=3)
    for month in range(1, 13):
        cache.get(("staffing", month), lambda m=month: m)
    assert len(cache._entries) == 3 and not cache._computing
    calls: list[int] = []
    assert cache.get(("staffing", 12), lambda: calls.append(1) or 0) == 12 and not calls  # kept: the newest
    assert cache.get(("staffing", 1), lambda: calls.append(1) or 0) == 0 and calls  # dropped: the oldest


def test_a_batch_ending_its_loading_makes_the_figures_stale(store: Any) -> None:
    """A large file's rows are hidden while it loads; when they become visible, the newest batch and the
    number of batches stay the same, yet the figures must be computed again."""
    with store.session(see_loading=True) as s:
        b = EvidenceBatch(
            kind="door_events", source="big.csv", sha256="e" * 64, received_at=utcnow(), status="loading"
        )
        s.add(b)
        s.flush()
        batch = b.id
    cache = ViewCache(store)
    values = iter(range(10))
    assert cache.get("k", lambda: next(values)) == 0
    assert cache.get("k", lambda: next(values)) == 0
    with store.session(see_loading=True) as s:
        s.get(EvidenceBatch, batch).status = "accepted"  # type: ignore[union-attr]
    assert cache.get("k", lambda: next(values)) == 0
    _settle(cache, 2)
    assert cache.get("k", lambda: next(values)) == 1
