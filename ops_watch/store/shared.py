"""Figures the pages derive from a month or a year of evidence (a month's shift proof, the contractor's score),
computed once and shared by every viewer.

A staffing view of a month reads every badge of that month (about half a second at 50 people, a year of the
score several seconds); twenty supervisors opening the page at nine would compute it twenty times. An entry
is fresh while the evidence is the same (the newest batch, the number of batches and those still loading: a
new file, a poll, a dropped batch, a large file's rows becoming visible each change it) and for at most
`ttl` seconds, which bounds what the version cannot see: the passing of time (a shift that has just ended
is judged within five minutes).

- Nothing computed yet: the request computes it; the others asking for the same entry meanwhile wait for
  that result instead of computing it again.
- Computed, no longer fresh: the request gets what was computed and one thread computes it again in the
  background, so nobody waits seconds because a door poll arrived; the pages say when their figures were
  computed (a view's or score's own "as of" time), and the next request has the new ones.
- Entries are computed one at a time, so the console's memory holds one month or year of evidence at once,
  not one per page thread (under the GIL, computing two at once would not be faster)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select

from ops_watch.core.log import get_logger
from ops_watch.store import Store
from ops_watch.store.loading import loading_batches
from ops_watch.store.schema import EvidenceBatch

log = get_logger(__name__)

T = TypeVar("T")
TTL_SECONDS = 300.0
SIZE = 32  # entries: a few months of staffing views and scores, a few MB each at most


@dataclass
class _Entry:
    version: tuple[Any, ...]
    at: float  # time.monotonic() when computed
    value: Any


class ViewCache:
    def __init__(self, store: Store, ttl: float = TTL_SECONDS, size: int = SIZE) -> None:
        self.store = store
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}  # a lock per entry being computed now
        self._one_at_a_time = threading.RLock()  # re-entrant: a computation may ask for another entry
        self.computed = 0  # how many times an entry was computed (tests read it)

    def version(self) -> tuple[Any, ...]:
        """What changes whenever evidence arrives, is dropped or ends its loading (two indexed queries)."""
        with self.store.session(see_loading=True) as s:
            row = s.execute(select(func.max(EvidenceBatch.id), func.count(EvidenceBatch.id))).one()
            loading = tuple(s.scalars(loading_batches().order_by(EvidenceBatch.__table__.c.id)))
        return (*row, loading)

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        version = self.version()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            return self._compute(key, version, compute, wait=True)  # type: ignore[no-any-return]
        if entry.version != version or time.monotonic() - entry.at > self.ttl:
            self._refresh(key, version, compute)
        return entry.value  # type: ignore[no-any-return]

    def _refresh(self, key: Hashable, version: tuple[Any, ...], compute: Callable[[], Any]) -> None:
        """Compute `key` again in a thread of its own, unless that is under way already."""
        with self._lock:
            if key in self._computing:
                return
            self._computing[key] = threading.Lock()

        def run() -> None:
            try:
                self._compute(key, version, compute, wait=False)
            except Exception as exc:  # the page keeps its figures; the next request tries again
                log.warning("recomputing a shared view failed", key=repr(key)[:200], error=str(exc))
            finally:
                with self._lock:
                    self._computing.pop(key, None)

        threading.Thread(target=run, name="ops-watch-view-refresh", daemon=True).start()

    def _compute(
        self, key: Hashable, version: tuple[Any, ...], compute: Callable[[], Any], wait: bool
    ) -> Any:
        if wait:
            with self._lock:
                guard = self._computing.setdefault(key, threading.Lock())
            with guard:
                with self._lock:
                    entry = self._entries.get(key)
                if entry is not None:  # computed by the request this one waited for
                    return entry.value
                try:
                    return self._store(key, version, compute)
                finally:
                    with self._lock:  # any key can be asked for (?month=…): keep no lock per key
                        if self._computing.get(key) is guard:
                            del self._computing[key]
        return self._store(key, version, compute)

    def _store(self, key: Hashable, version: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        with self._one_at_a_time:
            value = compute()
        with self._lock:
            self.computed += 1
            self._entries[key] = _Entry(version, time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
