"""A finding as a row, the same for every reader: the CLI's `findings list|show` and the web console (and its
CSV/XLSX export) show the same columns with the same values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ops_watch.config import Config
from ops_watch.core.timeutil import format_local

FINDING_COLUMNS = [
    "id",
    "rule",
    "check",
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


__all__ = ["FINDING_COLUMNS", "FINDING_TABLE", "finding_row", "local_time"]
