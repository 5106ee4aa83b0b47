"""The last scheduled verify's outcome, kept in store_state for the check that turns a break into the critical
finding `evidence_tampered` (areas/evidence/checks.py): the job verifies, the check judges, as everywhere else."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ops_watch.store.schema import StoreState
from ops_watch.trail.breaks import Break

STATE_NAME = "trail_last_verify"
FULL_STATE_NAME = "trail_last_full_verify"  # when the last whole verify ran (its time, ISO)
KEPT_BREAKS = 20  # named in the finding; the count says how many more


@dataclass(frozen=True)
class Outcome:
    at: datetime
    full: bool
    ok: bool
    total: int  # breaks found
    breaks: list[Break] = field(default_factory=list)  # the first KEPT_BREAKS, first one first


def record(session: Session, at: datetime, full: bool, breaks: list[Break]) -> Outcome:
    outcome = Outcome(at, full, not breaks, len(breaks), list(breaks[:KEPT_BREAKS]))
    value = json.dumps(
        {
            "at": at.isoformat(),
            "full": full,
            "ok": outcome.ok,
            "total": outcome.total,
            "breaks": [b.as_dict() for b in outcome.breaks],
        },
        ensure_ascii=False,
    )
    _set(session, STATE_NAME, value)
    if full:
        _set(session, FULL_STATE_NAME, at.isoformat())
    return outcome


def last_full(session: Session) -> datetime | None:
    """When the last whole verify ran (scheduled or by `ops-watch verify`); None before the first."""
    row = session.get(StoreState, FULL_STATE_NAME)
    try:
        return None if row is None else datetime.fromisoformat(row.value)
    except ValueError:
        return None


def _set(session: Session, name: str, value: str) -> None:
    row = session.get(StoreState, name)
    if row is None:
        session.add(StoreState(name=name, value=value))
    else:
        row.value = value


def last(session: Session) -> Outcome | None:
    """The last outcome recorded; None before the first scheduled verify (or if the record is unreadable)."""
    row = session.get(StoreState, STATE_NAME)
    if row is None:
        return None
    try:
        data: dict[str, Any] = json.loads(row.value)
        return Outcome(
            at=datetime.fromisoformat(data["at"]),
            full=bool(data["full"]),
            ok=bool(data["ok"]),
            total=int(data["total"]),
            breaks=[Break(**b) for b in data.get("breaks", [])],
        )
    except (ValueError, KeyError, TypeError):
        return None
