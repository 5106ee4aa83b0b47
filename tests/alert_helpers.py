"""Findings put straight into the store, and the outbox read back, for the alerting tests.

The rules engine is not needed to test grouping and delivery: the tests insert Finding rows (and their
FindingEvent audit rows) as the engine and `ops-watch findings ack|silence` would leave them, and move their
status by hand.
tests/ is on sys.path (see conftest.py): `from alert_helpers import ...`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ops_watch.store.schema import Finding, FindingEvent, OutboxMessage

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def add_findings(
    store: Any,
    n: int = 1,
    *,
    area: str = "evidence",
    severity: str = "warning",
    rule: str = "inventory-fresh",
    check: str = "evidence_freshness",
    subject: str | None = None,
    summary: str | None = None,
    status: str = "open",
    at: datetime = T0,
) -> list[int]:
    """`n` findings with these labels, opened at `at`; each has its own fingerprint, subject and summary."""
    with store.session() as s:
        rows = []
        for i in range(n):
            tag = uuid.uuid4().hex
            rows.append(
                Finding(
                    fingerprint=tag[:40],
                    rule_id=rule,
                    check=check,
                    area=area,
                    severity=severity,
                    status=status,
                    subject=subject if subject is not None else f"{area}-{severity}-{i}-{tag[:6]}",
                    summary=summary if summary is not None else f"「{area}」问题 {i} ({tag[:6]})",
                    evidence={"kind": "test"},
                    first_seen=at,
                    last_seen=at,
                    notified_status="",
                    thread_message_id="",
                )
            )
        s.add_all(rows)
        s.flush()
        s.add_all(FindingEvent(finding_id=f.id, at=at, action="opened", reason=f.summary) for f in rows)
        return [f.id for f in rows]


def add_finding(store: Any, **kw: Any) -> int:
    return add_findings(store, 1, **kw)[0]


def set_status(store: Any, ids: int | Iterable[int], status: str, at: datetime = T0) -> None:
    """What the engine (resolve, reopen, end of a silence) or a person (ack, silence) does to a finding."""
    with store.session() as s:
        for fid in [ids] if isinstance(ids, int) else list(ids):
            f = s.get(Finding, fid)
            assert f is not None, f"no finding {fid}"
            before = f.status
            if status == "open":
                action = {"resolved": "reopened", "silenced": "unsilenced"}.get(before, "opened")
                f.last_seen = at
            else:
                action = status
            f.status = status
            f.resolved_at = at if status == "resolved" else None
            f.silenced_until = at + timedelta(days=7) if status == "silenced" else None
            s.add(
                FindingEvent(
                    finding_id=fid,
                    at=at,
                    action=action,
                    actor="ops-watch" if action in ("reopened", "unsilenced", "resolved") else "值班员",
                    reason="test",
                    until=f.silenced_until,
                )
            )


def outbox(store: Any, **where: Any) -> list[OutboxMessage]:
    """The outbox rows in the order they were written, optionally filtered by column values."""
    with store.session() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    return [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]


def notified(store: Any, ids: Iterable[int]) -> list[str]:
    """Each finding's notified_status (what the center was last told), in the order of `ids`."""
    with store.session() as s:
        return [s.get(Finding, fid).notified_status for fid in ids]  # type: ignore[union-attr]


__all__ = ["T0", "add_finding", "add_findings", "notified", "outbox", "set_status"]
