"""A finding as a row, the same for every reader: the CLI's `findings list|show` and the web console (and its
CSV/XLSX export) show the same columns with the same values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from ops_watch.config import Config
from ops_watch.core.timeutil import format_local
from ops_watch.store.schema import Finding, FindingEvent

FINDING_COLUMNS = [
    "id",
    "rule",
    "check",
    "area",  # what `findings list --area` filters on, so a filtered export says it
    "severity",
    "status",
    "subject",
    "period_start",
    "period_end",
    "summary",
    "evidence",
    "first_seen",
    "last_seen",
    "resolved_at",
]
FINDING_TABLE = ["id", "severity", "status", "rule", "subject", "summary", "first_seen"]


def local_time(cfg: Config) -> Callable[[datetime | None], str]:
    return lambda value: format_local(value, cfg.site.zone)


def finding_row(f: Any, cfg: Config, *, local_times: bool) -> dict[str, Any]:
    show = local_time(cfg) if local_times else (lambda v: v.isoformat() if v else None)
    return {
        "id": f.id,
        "rule": f.rule_id,
        "check": f.check,
        "area": f.area,
        "severity": f.severity,
        "status": f.status,
        "subject": f.subject,
        "period_start": show(f.period_start),
        "period_end": show(f.period_end),
        "summary": f.summary,
        "evidence": f.evidence,
        "first_seen": show(f.first_seen),
        "last_seen": show(f.last_seen),
        "resolved_at": show(f.resolved_at),
        "silenced_until": show(f.silenced_until),
    }


def list_query(
    status: str = "active",
    rule_id: str | None = None,
    severity: str | None = None,
    area: str | None = None,
    first_seen_from: datetime | None = None,
    first_seen_before: datetime | None = None,
) -> Select[Any]:
    """The findings `findings list` shows (newest first): status active (= not resolved), one status or all;
    one rule, one severity, one area; first seen at or after `first_seen_from` and before
    `first_seen_before` (aware times: the column keeps UTC on SQLite and PostgreSQL alike). The JSON API
    uses the same query."""
    query = select(Finding).order_by(Finding.first_seen.desc(), Finding.id.desc())
    if status == "active":
        query = query.where(Finding.status != "resolved")
    elif status != "all":
        query = query.where(Finding.status == status)
    if rule_id:
        query = query.where(Finding.rule_id == rule_id)
    if severity:
        query = query.where(Finding.severity == severity)
    if area:
        query = query.where(Finding.area == area)
    if first_seen_from is not None:
        query = query.where(Finding.first_seen >= first_seen_from)
    if first_seen_before is not None:
        query = query.where(Finding.first_seen < first_seen_before)
    return query


def history_rows(events: Any, cfg: Config, *, local_times: bool) -> list[dict[str, Any]]:
    """A finding's events as `findings show` prints them: at, action, by, why, until."""
    return [
        {
            "at": format_local(e.at, cfg.site.zone) if local_times else e.at.isoformat(),
            "action": e.action,
            "by": e.actor,
            "why": e.reason,
            "until": e.until.isoformat() if e.until else None,
        }
        for e in events
    ]


def history_query(finding_id: int) -> Select[Any]:
    return select(FindingEvent).where(FindingEvent.finding_id == finding_id).order_by(FindingEvent.id)


__all__ = [
    "FINDING_COLUMNS",
    "FINDING_TABLE",
    "finding_row",
    "history_query",
    "history_rows",
    "list_query",
    "local_time",
]
