"""What a finding rests on: the evidence seals of the batches that hold the rows, inside the finding's window,
of the tables its check read (issue 22, "Receipts"). The engine writes them into the finding's evidence
(`seals`, with `seals_total`, `seals_tables` and the window `seals_from` … `seals_to`); a receipt
(trail/receipt.py) carries the rows and the seals themselves, to be checked without the store.

The window is the finding's period (period_start … period_end, both included). A finding without a period
judges a state as it stood when judged (a certificate expired, a resource without backups): its window is the
WINDOW_DAYS before that evaluation, the longest any check looks back (the staffing checks' 35 days), so its seals
name every batch the check could have drawn rows from; a period open at one end takes that much on its open side.
The window is written into the evidence in site time, so a receipt selects the same rows later (dates are the
site's dates). Tables without a time of their own (the staff registry, the inventory, the contract texts, the
refused rows) count whole: every batch holding a row the check could see. Only batches that had arrived by the
evaluation (the rule of CheckContext.arrived) are named: a replay names what the check saw then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, Table, func, select, true
from sqlalchemy.orm import Session

from ops_watch.core.timeutil import from_store
from ops_watch.store.schema import EvidenceBatch

if TYPE_CHECKING:
    from ops_watch.store.schema import TrailSeal

WINDOW_DAYS = 35
SEALS_SHOWN = 50  # the evidence lists this many seals (the earliest); `seals_total` counts them all
KEYS = ("seals_from", "seals_to", "seals_tables", "seals", "seals_total")
HASH_SHOWN = 16  # hex digits of a seal's hash in the evidence (the receipt carries the whole hash)

# Each batch table's own time: (column, kind). kind "time" (an instant), "date" (a site day) or "period" (a
# period key: "2026-10", "2026-Q3" or "2026"). None: the table is a state, not a log, and counts whole.
# tests/unit/test_trail_grounds.py holds this to cover every table with batch rows.
TIME_COLUMNS: dict[str, tuple[str, str] | None] = {
    "audit_submissions": ("period", "period"),
    "backup_jobs": ("started", "time"),
    "billing_statements": ("month", "period"),
    "budget_events": ("date", "date"),
    "contract_reviews": None,
    "door_events": ("at", "time"),
    "drill_plans": ("date", "date"),
    "drills": ("date", "date"),
    "handover_shifts": ("date", "date"),
    "indicator_explanations": ("period", "period"),
    "inspection_records": ("day", "date"),
    "inventory_resources": None,
    "row_errors": None,
    "staff": None,
    "survey_responses": ("day", "date"),
    "utilization_samples": ("at", "time"),
}


@dataclass(frozen=True)
class Window:
    start: datetime  # aware, in site time
    end: datetime


def known_by(at: datetime) -> Select[tuple[int]]:
    """The ids of the batches whose evidence had arrived by `at` (its known_from, else its evidence time, else
    when it was received): what a check as of `at` may see (CheckContext.arrived)."""
    known = func.coalesce(EvidenceBatch.known_from, EvidenceBatch.evidence_time, EvidenceBatch.received_at)
    return select(EvidenceBatch.id).where(known <= at)


def window_of(
    period_start: datetime | None, period_end: datetime | None, at: datetime, zone: ZoneInfo
) -> Window:
    start, end = from_store(period_start), from_store(period_end)
    if end is None:
        end = max(start, at) if start is not None else at
    if start is None:
        start = end - timedelta(days=WINDOW_DAYS)
    return Window(start.astimezone(zone), end.astimezone(zone))


def window_from(evidence: dict[str, Any]) -> Window:
    """The window a finding's evidence names (seals_from … seals_to, ISO with the site's offset)."""
    return Window(
        datetime.fromisoformat(str(evidence["seals_from"])), datetime.fromisoformat(str(evidence["seals_to"]))
    )


def period_keys(first: date, last: date) -> list[str]:
    """Every period key (month, quarter, year) overlapping the days first … last."""
    keys: dict[str, None] = {}
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        keys[f"{year:04d}-{month:02d}"] = None
        keys[f"{year:04d}-Q{(month - 1) // 3 + 1}"] = None
        keys[f"{year:04d}"] = None
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(keys)


def in_window(table: Table, window: Window) -> ColumnElement[bool]:
    """The rows of `table` inside `window` (every row, for a table without a time of its own)."""
    spec = TIME_COLUMNS[table.name]
    if spec is None:
        return true()
    column, kind = table.c[spec[0]], spec[1]
    if kind == "time":
        return column.between(window.start, window.end)
    first, last = window.start.date(), window.end.date()
    if kind == "date":
        return column.between(first, last)
    return column.in_(period_keys(first, last))


def batches_of(session: Session, table: Table, window: Window, at: datetime | None) -> set[int]:
    """The batches holding rows of `table` inside `window` (arrived by `at`, when given): one query."""
    stmt = select(table.c.batch_id).distinct().where(table.c.batch_id.is_not(None), in_window(table, window))
    if at is not None:
        stmt = stmt.where(table.c.batch_id.in_(known_by(at)))
    return {batch_id for (batch_id,) in session.execute(stmt)}


def tables_named(names: Iterable[str]) -> list[Table]:
    """The batch tables among `names` (a check may read others through CheckContext.arrived: none today)."""
    # start-up: the checks' registry imports this module; the trail's tables load when a finding is grounded
    from ops_watch.trail.rows import batch_tables

    wanted = set(names)
    return [t for t in batch_tables() if t.name in wanted]


def evidence_seals(session: Session, batch_ids: Iterable[int]) -> dict[int, TrailSeal]:
    """{batch id: its seal in the evidence chain} (a batch's first: a batch is sealed once when stored)."""
    # start-up: as tables_named (the trail's tables, declared with the first seal looked up)
    from ops_watch.store.schema import TrailSeal
    from ops_watch.trail.chain import EVIDENCE  # start-up: as above
    from ops_watch.trail.rows import subject_of  # start-up: as above

    ids = sorted(set(batch_ids))
    out: dict[int, TrailSeal] = {}
    for start in range(0, len(ids), 500):
        subjects = {subject_of(b): b for b in ids[start : start + 500]}
        stmt = (
            select(TrailSeal)
            .where(
                TrailSeal.chain == EVIDENCE, TrailSeal.subject.in_(list(subjects)), TrailSeal.kind != "index"
            )
            .order_by(TrailSeal.seq.desc())
        )
        for seal in session.scalars(stmt):
            out[subjects[seal.subject]] = seal  # the lowest seq wins
    return out


def grounds(
    session: Session,
    tables: Iterable[str],
    period_start: datetime | None,
    period_end: datetime | None,
    at: datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """The evidence keys naming what a finding rests on (KEYS); {} when its check read no batch table."""
    read = tables_named(tables)
    if not read:
        return {}
    window = window_of(period_start, period_end, at, zone)
    ids: set[int] = set()
    for table in read:
        ids |= batches_of(session, table, window, at)
    seals = evidence_seals(session, ids)
    refs = sorted(
        ({"batch": b, "seq": s.seq, "hash": s.hash[:HASH_SHOWN]} for b, s in seals.items()),
        key=lambda r: r["seq"],
    )
    # A batch without a seal is listed too (verify reports it as unsealed): the evidence hides nothing.
    refs += [{"batch": b, "seq": None, "hash": ""} for b in sorted(ids - set(seals))]
    return {
        "seals_from": window.start.isoformat(timespec="seconds"),
        "seals_to": window.end.isoformat(timespec="seconds"),
        "seals_tables": [t.name for t in read],
        "seals": refs[:SEALS_SHOWN],
        "seals_total": len(refs),
    }


def without_grounds(evidence: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in evidence.items() if k not in KEYS}
