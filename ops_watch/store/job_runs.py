"""Each daemon job's runs as the daemon last recorded them, in the store: the console's /metrics (another
process) and the daemon's own metrics listener read them (docs/metrics.md).

One row per job in store_state (`job:<name>`, JSON): when it last started and ended, whether it succeeded,
when it last succeeded, how long it took, and how many runs and failures it has had since the store began
(kept across restarts: a Prometheus counter may only reset when the process does, and a rate() over a
restart is still right when it does not)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from ops_watch.store.db import Store
from ops_watch.store.schema import StoreState

PREFIX = "job:"


@dataclass(frozen=True)
class JobRun:
    name: str
    last_start: datetime | None = None
    last_end: datetime | None = None
    last_ok: bool | None = None
    last_success: datetime | None = None
    duration_seconds: float | None = None
    runs: int = 0
    failures: int = 0
    last_error: str = ""


def _load(name: str, text: str) -> JobRun:
    try:
        raw = json.loads(text or "{}")
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        raw = {}

    def when(key: str) -> datetime | None:
        value = raw.get(key)
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def count(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    ok = raw.get("last_ok")
    duration = raw.get("duration_seconds")
    return JobRun(
        name=name,
        last_start=when("last_start"),
        last_end=when("last_end"),
        last_ok=ok if isinstance(ok, bool) else None,
        last_success=when("last_success"),
        duration_seconds=float(duration) if isinstance(duration, int | float) else None,
        runs=count("runs"),
        failures=count("failures"),
        last_error=str(raw.get("last_error") or "")[:500],
    )


def record_run(
    store: Store, name: str, started: datetime, ended: datetime, ok: bool, error: str = ""
) -> JobRun:
    """Add one run of job `name` to its record; the record as it now stands."""
    key = PREFIX + name
    with store.session() as s:
        row = s.get(StoreState, key)
        before = _load(name, row.value if row is not None else "")
        after = JobRun(
            name=name,
            last_start=started,
            last_end=ended,
            last_ok=ok,
            last_success=ended if ok else before.last_success,
            duration_seconds=round(max(0.0, (ended - started).total_seconds()), 3),
            runs=before.runs + 1,
            failures=before.failures + (0 if ok else 1),
            last_error="" if ok else error[:500],
        )
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(after).items()}
        data.pop("name")
        text = json.dumps(data, ensure_ascii=False)
        if row is None:
            s.add(StoreState(name=key, value=text))
        else:
            row.value = text
    return after


def job_runs(store: Store) -> dict[str, JobRun]:
    """Every job's record, by job name."""
    with store.session() as s:
        rows = s.execute(select(StoreState.name, StoreState.value).where(StoreState.name.startswith(PREFIX)))
        return {name[len(PREFIX) :]: _load(name[len(PREFIX) :], value) for name, value in rows}


__all__ = ["JobRun", "job_runs", "record_run"]
