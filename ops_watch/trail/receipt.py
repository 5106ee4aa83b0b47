"""A finding's receipt: a self-contained JSON proof that anyone can check without the store (docs/trail.md,
"Receipts"). It carries the finding; for each batch of evidence it rests on (trail/grounds.py), the batch's seal
and its index seal (trail/index.py), the canonical text of the batch's rows inside the finding's window and the
index's entries; the finding's events with their decision seals; and each chain's path from the earliest seal
used to a published head.

`check` recomputes every digest and hash from the receipt alone: a row's text must give the digest its key has in
the entries, the entries must give the digest the index seal's body states for the batch's seal, each seal's hash
must follow from its predecessor's hash and its body, and the path must end at the head. Anything that does not hold is named
(trail/breaks.py). What it proves: the rows and decisions shown are the ones sealed when they were stored, in a
chain whose head was published on the day named (a head the receipt says is not yet published pins nothing yet:
check it against the next weekly report's code).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ops_watch.core.timeutil import utcnow
from ops_watch.store.schema import Finding, FindingEvent, TrailHead, TrailSeal
from ops_watch.trail import chain, index
from ops_watch.trail.breaks import Break
from ops_watch.trail.canonical import (
    DIGEST_BYTES,
    entries_digest,
    row_columns,
    row_text,
    table_key,
    time_text,
)
from ops_watch.trail.decisions import decision_tables, row_record, subject_of
from ops_watch.trail.grounds import (
    TIME_COLUMNS,  # noqa: F401  (the tables' times: declared with the grounds, named here too)
    Window,
    batches_of,
    evidence_seals,
    in_window,
    tables_named,
    window_from,
    window_of,
)

FORMAT = "ops-watch-receipt/2"  # 2: rows proven by the batch's index seal


class ReceiptError(Exception):
    """A finding that has no receipt (unknown id), or a file that is not a receipt."""


# ---- building (with the store) -----------------------------------------------------------------------------


def build(session: Session, finding_id: int) -> dict[str, Any]:
    """The receipt of finding `finding_id` as a JSON-ready dict."""
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise ReceiptError(f"没有编号为 {finding_id} 的问题 / no finding with id {finding_id}")
    evidence = dict(finding.evidence or {})
    tables, window = _grounds_of(finding, evidence)
    batches = _batches(session, tables, window, finding.last_seen)
    events = _events(session, finding.id)
    silences = _silences(session, events)
    return {
        "format": FORMAT,
        "built_at": time_text(utcnow()),
        "finding": _finding(finding, evidence),
        "window": {
            "from": window.start.isoformat(timespec="seconds"),
            "to": window.end.isoformat(timespec="seconds"),
            "tables": [t.name for t in tables],
        },
        "evidence": {
            "batches": batches,
            **_path(
                session, chain.EVIDENCE, [b[k]["seq"] for b in batches for k in ("seal", "index") if b[k]]
            ),
        },
        "decisions": {
            "events": events,
            "silences": silences,
            **_path(session, chain.DECISIONS, [s["seq"] for e in (*events, *silences) for s in e["seals"]]),
        },
    }


def _grounds_of(finding: Finding, evidence: dict[str, Any]) -> tuple[list[Table], Window]:
    """The tables and window the finding's evidence names; for a finding judged before receipts existed (no
    `seals_tables`): no table, the window of its period (grounds.window_of)."""
    if "seals_tables" in evidence:
        return tables_named(evidence["seals_tables"]), window_from(evidence)
    return [], window_of(finding.period_start, finding.period_end, finding.last_seen, ZoneInfo("UTC"))


def _finding(finding: Finding, evidence: dict[str, Any]) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return None if value is None else time_text(value)

    return {
        "id": finding.id,
        "rule": finding.rule_id,
        "check": finding.check,
        "subject": finding.subject,
        "summary": finding.summary,
        "period_start": when(finding.period_start),
        "period_end": when(finding.period_end),
        "severity": finding.severity,
        "status": finding.status,
        "first_seen": when(finding.first_seen),
        "last_seen": when(finding.last_seen),
        "evidence": evidence,
    }


def _seal(seal: TrailSeal) -> dict[str, Any]:
    return {
        "chain": seal.chain,
        "seq": seal.seq,
        "kind": seal.kind,
        "subject": seal.subject,
        "sealed_at": time_text(seal.sealed_at),
        "body": seal.body,
        "prev": seal.prev,
        "hash": seal.hash,
    }


def _batches(session: Session, tables: list[Table], window: Window, at: datetime) -> list[dict[str, Any]]:
    """Each batch holding rows of `tables` inside `window` (arrived by `at`): its seal, those rows' texts and its
    index entries of each table."""
    ids: dict[int, list[Table]] = {}
    for table in tables:
        for batch_id in batches_of(session, table, window, at):
            ids.setdefault(batch_id, []).append(table)
    seals = evidence_seals(session, ids)
    index.ensure(session, seals)  # a batch sealed since the trail job last ran: its rows named now
    indexes = index.index_seals(session, seals)
    out = []
    # A batch without a seal comes last, with its rows: the check names it (it was written outside ops-watch).
    for batch_id in sorted(ids, key=lambda b: (seals[b].seq, b) if b in seals else (1 << 62, b)):
        seal, indexed = seals.get(batch_id), indexes.get(batch_id)
        entries = chain.unpack_entries(indexed.entries) if indexed is not None else {}
        out.append(
            {
                "batch": batch_id,
                "seal": None if seal is None else _seal(seal),
                "index": None if indexed is None else _seal(indexed),
                "tables": {
                    t.name: {
                        "rows": _rows(session, t, batch_id, window),
                        "entries": [f"{k}\t{d.hex()}" for k, d in entries.get(t.name, {}).items()],
                    }
                    for t in ids[batch_id]
                },
            }
        )
    return out


def _rows(session: Session, table: Table, batch_id: int, window: Window) -> list[list[str]]:
    """[key text, row text] of the batch's rows of `table` inside the window, in key order."""
    wanted, key = row_columns(table), table_key(table)
    names = list(dict.fromkeys((*key, *wanted)))
    where = {n: i for i, n in enumerate(names)}
    stmt = select(*(table.c[n] for n in names)).where(table.c.batch_id == batch_id, in_window(table, window))
    rows = [
        [row_text(row[where[k]] for k in key), row_text(row[where[c]] for c in wanted)]
        for row in session.execute(stmt)
    ]
    return sorted(rows)


def _events(session: Session, finding_id: int) -> list[dict[str, Any]]:
    """The finding's events as stored now, each with every decision seal of its row."""
    ids = session.scalars(select(FindingEvent.id).where(FindingEvent.finding_id == finding_id))
    return _decisions(session, "finding_events", sorted(ids))


def _silences(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The silences (by matcher) that silenced or un-silenced the finding, as their events name them ("silence
    #N: why"), each with every decision seal of its row: who silenced it, until when and why."""
    ids = {
        int(m.group(1))
        for e in events
        if (m := _SILENCE.search(_value(e, "reason"))) and _value(e, "action") in ("silenced", "unsilenced")
    }
    return _decisions(session, "silences", sorted(ids))


_SILENCE = re.compile(r"silence #(\d+)")


def _decisions(session: Session, name: str, ids: list[int]) -> list[dict[str, Any]]:
    table = decision_tables()[name]
    out = []
    for row_id in ids:
        record = row_record(session, table, row_id)
        if record is None:
            continue  # gone (a purge): its seals stay in the chain, verify tells a purge from a deletion
        seals = session.scalars(
            select(TrailSeal)
            .where(TrailSeal.chain == chain.DECISIONS, TrailSeal.subject == subject_of(table.name, row_id))
            .order_by(TrailSeal.seq)
        )
        out.append({"table": table.name, "id": row_id, **record, "seals": [_seal(s) for s in seals]})
    return out


def _path(session: Session, name: str, used: list[int]) -> dict[str, Any]:
    """The chain's seals from the earliest used to the head that pins them: the first head published (trail_heads)
    at or after the last seal used; if none is yet, the chain's current head, marked unpublished."""
    if not used:
        return {"path": [], "head": None}
    first, last = min(used), max(used)
    published = session.scalars(
        select(TrailHead)
        .where(TrailHead.chain == name, TrailHead.seq >= last)
        .order_by(TrailHead.seq, TrailHead.day)
        .limit(1)
    ).first()
    if published is not None:
        head: dict[str, Any] = {
            "chain": name,
            "seq": published.seq,
            "hash": published.hash,
            "day": published.day.isoformat(),
            "published": True,
        }
    else:
        current = chain.head(session, name)
        assert current is not None  # the seals used are in it
        head = {"chain": name, "seq": current.seq, "hash": current.hash, "day": None, "published": False}
    seals = session.scalars(
        select(TrailSeal)
        .where(TrailSeal.chain == name, TrailSeal.seq >= first, TrailSeal.seq <= head["seq"])
        .order_by(TrailSeal.seq)
    )
    path = [{"seq": s.seq, "prev": s.prev, "hash": s.hash, "body": s.body} for s in seals]
    return {"path": path, "head": head}


# ---- checking (without the store) --------------------------------------------------------------------------


@dataclass
class ReceiptCheck:
    """What checking a receipt found: ok when nothing broke; the heads it reached; each break, named."""

    heads: list[dict[str, Any]] = field(default_factory=list)  # chain, seq, hash, day, published
    problems: list[Break] = field(default_factory=list)
    rows: int = 0  # evidence rows checked
    decisions: int = 0  # decision rows checked

    @property
    def ok(self) -> bool:
        return not self.problems


def check(receipt: dict[str, Any]) -> ReceiptCheck:
    """Check a receipt offline: every row against its batch's index entries, the entries against the index seal, each
    seal's hash, and each chain's path to its head."""
    if not isinstance(receipt, dict) or receipt.get("format") != FORMAT:
        found = receipt.get("format") if isinstance(receipt, dict) else type(receipt).__name__
        raise ReceiptError(f"不是 {FORMAT} 格式的收据（{found!r}） / not a {FORMAT} receipt ({found!r})")
    result = ReceiptCheck()
    try:
        evidence, decisions = receipt["evidence"], receipt["decisions"]
        on_path = _walk(chain.EVIDENCE, evidence["path"], evidence["head"], result)
        for batch in evidence["batches"]:
            _check_batch(batch, on_path, result)
        _check_named(receipt["finding"].get("evidence") or {}, evidence["batches"], result)
        on_path = _walk(chain.DECISIONS, decisions["path"], decisions["head"], result)
        for event in decisions["events"]:
            _check_event(event, receipt["finding"]["id"], on_path, result)
        for silence in decisions.get("silences") or []:
            _check_event(silence, None, on_path, result)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReceiptError(
            f"收据不完整或已损坏（{type(exc).__name__}: {exc}） / the receipt is incomplete or damaged ({exc!r})"
        ) from exc
    return result


def _walk(
    name: str, path: list[dict[str, Any]], head: dict[str, Any] | None, result: ReceiptCheck
) -> dict[int, dict[str, Any]]:
    """Walk a chain's path: each hash recomputed, each prev the hash before it, no seq skipped, ending at the head.
    Returns the path's seals by seq."""
    if head is None:
        return {}
    result.heads.append(head)
    by_seq: dict[int, dict[str, Any]] = {}
    before: dict[str, Any] | None = None
    for link in path:
        seq = int(link["seq"])
        by_seq[seq] = link
        if chain.seal_hash(link["prev"], link["body"]) != link["hash"]:
            detail = f"hash {link['hash'][:16]}… ≠ sha256(prev + body)"
            result.problems.append(Break("seal_changed", name, seq, detail=detail))
        elif _framing(link["body"]) != (name, seq):
            result.problems.append(Break("seal_changed", name, seq, detail="its body names another place"))
        if before is not None:
            if seq != before["seq"] + 1:
                gap = f"#{before['seq'] + 1}…#{seq - 1}"
                result.problems.append(Break("seal_missing", name, seq, detail=f"the path lacks {gap}"))
            elif link["prev"] != before["hash"]:
                detail = f"prev {link['prev'][:16]}… ≠ #{before['seq']} {before['hash'][:16]}…"
                result.problems.append(Break("link_broken", name, seq, detail=detail))
        before = link
    end = path[-1] if path else None
    if end is None or int(end["seq"]) != int(head["seq"]) or end["hash"] != head["hash"]:
        reached = "nothing" if end is None else f"#{end['seq']} {end['hash'][:16]}…"
        detail = f"the path ends at {reached}, the head is #{head['seq']} {str(head['hash'])[:16]}…"
        result.problems.append(Break("head_mismatch", name, int(head["seq"]), detail=detail))
    return by_seq


def _framing(body: str) -> tuple[str, int] | None:
    try:
        framed = json.loads(body)
        return str(framed["chain"]), int(framed["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def _on_path(
    seal: dict[str, Any], on_path: dict[int, dict[str, Any]], subject: str, result: ReceiptCheck
) -> bool:
    """The seal is the path's seal of its seq (same body, same hash) and its hash follows from prev and body."""
    name, seq = seal["chain"], int(seal["seq"])
    link = on_path.get(seq)
    if link is None:
        result.problems.append(
            Break("seal_missing", name, seq, subject, detail="not on the path to the head")
        )
        return False
    if link["body"] != seal["body"] or link["hash"] != seal["hash"] or link["prev"] != seal["prev"]:
        result.problems.append(
            Break("seal_changed", name, seq, subject, detail="differs from the path's seal")
        )
        return False
    if chain.seal_hash(seal["prev"], seal["body"]) != seal["hash"]:
        return False  # _walk named it
    return True


def _check_batch(batch: dict[str, Any], on_path: dict[int, dict[str, Any]], result: ReceiptCheck) -> None:
    seal = batch["seal"]
    subject = f"evidence_batches:{batch['batch']}"
    if seal is None:
        result.problems.append(Break("unsealed_batch", chain.EVIDENCE, None, subject))
        return
    if not _on_path(seal, on_path, subject, result):
        return
    of = json.loads(seal["body"])["of"]
    if seal["subject"] != subject or of.get("batch", {}).get("id") != str(batch["batch"]):
        detail = f"the seal is of {seal['subject']}"
        result.problems.append(Break("batch_changed", seal["chain"], seal["seq"], subject, detail=detail))
        return
    indexed = batch.get("index")
    if indexed is None:
        detail = "the batch has no index seal: its rows cannot be proven one by one"
        result.problems.append(Break("seal_missing", seal["chain"], seal["seq"], subject, detail=detail))
        return
    if not _on_path(indexed, on_path, subject, result):
        return
    of_index = json.loads(indexed["body"])["of"]
    if indexed["subject"] != subject or of_index.get("batch_seal") != seal["seq"]:
        detail = f"the index is of {indexed['subject']} #{of_index.get('batch_seal')}"
        result.problems.append(
            Break("seal_changed", indexed["chain"], indexed["seq"], subject, detail=detail)
        )
        return
    for table, held in batch["tables"].items():
        entries = _entries(held["entries"])
        sealed = (of_index.get("entries") or {}).get(table)
        where = {"chain": indexed["chain"], "seq": indexed["seq"], "subject": subject, "table": table}
        if sealed is None or entries_digest(entries) != sealed["digest"] or len(entries) != sealed["count"]:
            stated = "none" if sealed is None else f"{sealed['count']} rows {sealed['digest'][:16]}…"
            detail = (
                f"the entries give {len(entries)} rows {entries_digest(entries)[:16]}…, the index {stated}"
            )
            result.problems.append(Break("row_changed", **where, detail=detail))
            continue
        for key, text in held["rows"]:
            result.rows += 1
            digest = hashlib.sha256(text.encode()).digest()[:DIGEST_BYTES]
            if key not in entries:
                result.problems.append(
                    Break("row_added", **where, key=key, detail="not among the sealed rows")
                )
            elif entries[key] != digest:
                detail = f"sha256 of the row text {digest.hex()} ≠ sealed {entries[key].hex()}"
                result.problems.append(Break("row_changed", **where, key=key, detail=detail))


def _entries(lines: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for line in lines:
        key, _, digest = line.rpartition("\t")
        out[key] = bytes.fromhex(digest)
    return out


def _check_named(evidence: dict[str, Any], batches: list[dict[str, Any]], result: ReceiptCheck) -> None:
    """Every seal the finding's evidence names is among the receipt's batches, with the same hash."""
    held = {b["batch"]: b["seal"] for b in batches if b["seal"]}
    for ref in evidence.get("seals") or []:
        if ref.get("seq") is None:
            continue  # a batch the evidence lists as unsealed: its own check names it
        seal = held.get(ref["batch"])
        subject = f"evidence_batches:{ref['batch']}"
        if seal is None:
            detail = "the finding's evidence names it; the receipt does not hold it"
            result.problems.append(
                Break("seal_missing", chain.EVIDENCE, ref.get("seq"), subject, detail=detail)
            )
        elif seal["seq"] != ref["seq"] or not seal["hash"].startswith(str(ref["hash"])):
            detail = f"the evidence names #{ref['seq']} {ref['hash']}, the receipt #{seal['seq']}"
            result.problems.append(Break("seal_changed", chain.EVIDENCE, seal["seq"], subject, detail=detail))


def _check_event(
    event: dict[str, Any], finding_id: int | None, on_path: dict[int, dict[str, Any]], result: ReceiptCheck
) -> None:
    """A decision row against its last seal; a finding event (`finding_id`) must be one of that finding's."""
    subject = f"{event['table']}:{event['id']}"
    seals = event["seals"]
    result.decisions += 1
    if not seals:
        result.problems.append(Break("decision_added", chain.DECISIONS, None, subject, detail="no seal"))
        return
    if not all(_on_path(s, on_path, subject, result) for s in seals):
        return
    last = seals[-1]
    of = json.loads(last["body"])["of"]
    where = {"chain": chain.DECISIONS, "seq": last["seq"], "subject": subject, "key": str(event["id"])}
    if last["subject"] != subject or of.get("table") != event["table"] or of.get("id") != event["id"]:
        result.problems.append(Break("decision_changed", **where, detail=f"the seal is of {last['subject']}"))
    elif of.get("row") != event["row"] or of.get("columns") != event["columns"]:
        result.problems.append(
            Break("decision_changed", **where, detail="the row differs from its last seal")
        )
    elif finding_id is not None and _value(event, "finding_id") != str(finding_id):
        result.problems.append(
            Break("decision_changed", **where, detail=f"not an event of finding {finding_id}")
        )


def _value(event: dict[str, Any], column: str) -> str:
    columns = event["columns"]
    return event["row"].split("\t")[columns.index(column)] if column in columns else ""
