"""What every polled evidence source shares: a batch of rows parsed like a dropped file, and a remembered state.

A poller (door devices, backup tools) brings rows under its kind's canonical header. `store_rows` puts them
through the kind's column parsers (a bad row is a RowError, never a silent drop), writes them with the kind's
write mode as one batch (evidence_time = the poll's time), and counts ok, bad and duplicate rows. The poll's
state (how far it has read) is saved with `save_state` in the same transaction, so a crash between fetching
and storing only means the next poll fetches the rows again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ops_watch.config import Config
from ops_watch.formats.records import FileRejected, read_records
from ops_watch.formats.spec import ParseContext, RecordKind
from ops_watch.formats.tabular import SourceRow
from ops_watch.ingest import RecordWriter
from ops_watch.sources import PollError
from ops_watch.store.schema import EvidenceBatch, RowError, StoreState


def load_state(session: Session, name: str) -> dict[str, Any]:
    row = session.get(StoreState, name[:128])
    if row is None or not row.value:
        return {}
    try:
        value = json.loads(row.value)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def save_state(session: Session, name: str, state: dict[str, Any]) -> None:
    text = json.dumps(state, ensure_ascii=False)
    row = session.get(StoreState, name[:128])
    if row is None:
        session.add(StoreState(name=name[:128], value=text))
    else:
        row.value = text


@dataclass
class Stored:
    total: int = 0
    ok: int = 0
    bad: int = 0
    duplicate: int = 0


def store_rows(
    session: Session,
    config: Config,
    kind: RecordKind,
    header: Sequence[str],
    source: str,
    rows: Iterable[SourceRow],
    now: datetime,
    detail: dict[str, Any],
) -> tuple[EvidenceBatch, Stored]:
    """Parse rows under `header` (the kind's column names) and store them as one batch of `kind`."""
    batch = _new_batch(session, kind, source, now)
    counts = Stored()
    writer = RecordWriter(session, kind, batch.id, now)
    errors: list[dict[str, Any]] = []
    try:
        stream = read_records(kind, [SourceRow(0, list(header)), *rows], ParseContext(zone=config.site.zone))
    except FileRejected as exc:  # the canonical header is the poller's to get right: loud if it ever is not
        raise PollError("parse", "; ".join(f.problem.en for f in exc.faults)) from None
    good = 0
    for parsed in stream.rows:
        counts.total += 1
        if parsed.record is None:
            counts.bad += 1
            for f in parsed.faults:
                if len(errors) < config.ingest.max_bad_rows_reported:
                    errors.append(
                        {
                            "batch_id": batch.id,
                            "row": parsed.number,
                            "column": (f.label or f.column)[:256],
                            "value": f.value,
                            "reason": f.problem.text(config.language),
                        }
                    )
        else:
            good += 1
            writer.add(kind.to_row(parsed.record))
    counts.ok = writer.stored()
    counts.duplicate = good - counts.ok
    if errors:
        session.execute(insert(RowError), errors)
    batch.rows_total, batch.rows_ok = counts.total, counts.ok
    batch.rows_bad, batch.rows_duplicate = counts.bad, counts.duplicate
    if counts.bad and not (counts.ok or counts.duplicate):
        batch.status = "rejected"
    elif counts.bad:
        batch.status = "partial"
    batch.detail = json.dumps(detail, ensure_ascii=False, default=str)
    return batch, counts


def store_records(
    session: Session,
    kind: RecordKind,
    source: str,
    records: Sequence[Any],
    now: datetime,
    detail: dict[str, Any],
) -> EvidenceBatch:
    """Records already built and checked (a command's, a console form's: `kind.build` ran on them) stored as one
    batch of `kind`, with the kind's write mode: sealed like a file's, and a record replacing a stored one takes
    it over from its batch as a corrected file would."""
    batch = _new_batch(session, kind, source, now)
    writer = RecordWriter(session, kind, batch.id, now)
    for record in records:
        writer.add_record(record)
    batch.rows_ok = writer.stored()
    batch.rows_total, batch.rows_duplicate = len(records), len(records) - batch.rows_ok
    batch.detail = json.dumps(detail, ensure_ascii=False, default=str)
    return batch


def _new_batch(session: Session, kind: RecordKind, source: str, now: datetime) -> EvidenceBatch:
    """The batch, flushed for its id; its counts, detail and stored_path are the columns' defaults until set."""
    batch = EvidenceBatch(
        kind=kind.name,
        source=source[:1024],
        sha256=None,
        received_at=now,
        evidence_time=now,
        status="accepted",
    )
    session.add(batch)
    session.flush()
    return batch


__all__ = ["PollError", "Stored", "load_state", "save_state", "store_records", "store_rows"]
