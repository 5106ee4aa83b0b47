"""Verify the trail: recompute both chains from the store and the archived files and name every break, first one
first (issue 22; docs/trail.md). What is checked:

- each chain's links: seqs 1..n without a gap, each `prev` the hash before it, each `hash` its body's;
- each sealed batch: its evidence_batches record, its rows now against the rows it sealed (less the keys a later
  upsert took over, "superseded", and the rows a later purge seal removed with the same digest), its file;
- every batch no longer loading has a seal; every stored row belongs to a sealed batch (or to the "orphans"
  genesis seal);
- each decision (finding_events, silences, auth_events) against its last seal; every decision sealed;
- the published heads against the recomputed chain.

Each table is read once, in batch order, a batch at a time: a batch's rows are compared by the digest its seal
holds (count and batch digest, canonical.ColumnsDigest), and only a batch that differs, or that an upsert or a
purge touched, is read again row by row and compared with its index (trail/index.py) to say which row. Incremental runs (`since`) re-check the links from the last verified
seal and the rows of the batches sealed after it; `days` limits the rows and files to the seals of those days.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select, tuple_
from sqlalchemy.orm import Session

from ops_watch.store.loading import LOADING
from ops_watch.store.schema import EvidenceBatch, StoreState, TrailSeal
from ops_watch.trail import chain, decisions, evidence, index, rollups, rows
from ops_watch.trail.breaks import Break, PublishedHead
from ops_watch.trail.canonical import DIGEST_BYTES, NULL, entries_digest, key_text, row_text, table_key

STATE_NAMES = {chain.EVIDENCE: "trail_verified_evidence", chain.DECISIONS: "trail_verified_decisions"}
LISTED = (
    50  # rows named one by one per batch, table and kind of break; the rest are counted in one more break
)
IDS_PER_QUERY = 500


@dataclass
class Report:
    """What verify read and what it found. `verified`: each chain's last seal as checked, (seq, hash)."""

    seals: int = 0
    batches: int = 0
    rows: int = 0
    files: int = 0
    decisions: int = 0
    heads: int = 0
    breaks: list[Break] = field(default_factory=list)
    verified: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> Break | None:
        return self.breaks[0] if self.breaks else None

    def counts(self) -> dict[str, int]:
        return {
            "seals": self.seals,
            "batches": self.batches,
            "rows": self.rows,
            "files": self.files,
            "decisions": self.decisions,
            "heads": self.heads,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.counts(),
            "verified": {c: {"seq": s, "hash": h} for c, (s, h) in sorted(self.verified.items())},
            "first": self.first.as_dict() if self.first else None,
            "breaks": [b.as_dict() for b in self.breaks],
        }


@dataclass
class _BatchSeal:
    """What a batch's seal says, kept for the row, record and file checks (its entries are read on demand)."""

    seq: int
    batch_id: int | None  # None: the "orphans" genesis seal
    day: date
    record: dict[str, str]
    file_sha256: str
    rows: dict[str, tuple[int, str]]  # table: (count, batch digest)


@dataclass
class _Evidence:
    """The evidence chain as walked: the batch seals, and what later seals say about earlier batches' rows."""

    batches: dict[int | None, _BatchSeal] = field(default_factory=dict)
    superseded: dict[tuple[str, int], set[str]] = field(default_factory=lambda: defaultdict(set))
    # Each batch's index seal: (seq, {table: (count, entries digest)}).
    indexes: dict[int | None, tuple[int, dict[str, tuple[int, str]]]] = field(default_factory=dict)
    # The purge seals of each (table, batch) their body names; (table, None) also holds those naming no batch.
    purges: dict[tuple[str, int | None], list[int]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class _Decision:
    seq: int
    day: date
    table: str
    row_id: int
    columns: list[str]
    row: str | None


def verify(
    session: Session,
    *,
    heads: Sequence[PublishedHead] = (),
    files: bool = True,
    since: dict[str, int] | None = None,
    days: tuple[date | None, date | None] | None = None,
    zone: tzinfo = UTC,
) -> Report:
    """Recompute both chains and check what they seal. `since` {chain: seq}: incremental from that seal (its
    hash must still be the one recorded then); `days` (first, last) site dates in `zone`, either open: the rows,
    records and files only of the seals sealed on those days (the links are always checked whole)."""
    report = Report()
    found: list[Break] = []
    since = since or {}
    remembered = _remembered(session)
    wanted = {(h.chain, h.seq) for h in heads}
    recomputed: dict[tuple[str, int], str] = {}
    in_days = _day_filter(days)

    walked = _Evidence()
    first_of_days: int | None = None  # the first seal on the `days`: the hourly roll-ups are checked from it
    for seal, body in _walk(session, chain.EVIDENCE, since.get(chain.EVIDENCE), remembered, report, found):
        _note_evidence(seal, body, walked, zone)
        if first_of_days is None and in_days(_site_day(seal.sealed_at, zone)):
            first_of_days = seal.seq
        if (chain.EVIDENCE, seal.seq) in wanted:
            recomputed[(chain.EVIDENCE, seal.seq)] = chain.seal_hash(seal.prev, seal.body)
    first_new = since.get(chain.EVIDENCE, 0) + 1 if chain.EVIDENCE in since else 1

    def in_scope(sealed: _BatchSeal) -> bool:
        return sealed.seq >= first_new and in_days(sealed.day)

    scope = {b for b, s in walked.batches.items() if in_scope(s)}
    whole = not since and days is None
    checker = _EvidenceCheck(session, walked, found, report)
    checker.batches(scope, files, whole_walk=chain.EVIDENCE not in since)
    checker.rows(scope, whole)
    if whole:
        found.extend(rollups.verify_rollups(session, _rollup_seals(session)))
    elif first_of_days is not None:
        first = max(first_new, first_of_days)
        found.extend(rollups.verify_rollups_since(session, _rollup_seals(session), first))

    sealed_decisions: dict[str, _Decision] = {}
    decision_purges: list[int] = []
    for seal, body in _walk(session, chain.DECISIONS, since.get(chain.DECISIONS), remembered, report, found):
        of = body.get("of") or {}
        if seal.kind == "purge":
            decision_purges.append(seal.seq)
        elif isinstance(of, dict) and "table" in of and "id" in of:
            sealed_decisions[f"{of['table']}:{of['id']}"] = _Decision(
                seal.seq,
                _site_day(seal.sealed_at, zone),
                str(of["table"]),
                int(of["id"]),
                of.get("columns") or [],
                of.get("row"),
            )
        if (chain.DECISIONS, seal.seq) in wanted:
            recomputed[(chain.DECISIONS, seal.seq)] = chain.seal_hash(seal.prev, seal.body)
    first_decision = since.get(chain.DECISIONS, 0) + 1 if chain.DECISIONS in since else 1
    scoped = {s: d for s, d in sealed_decisions.items() if d.seq >= first_decision and in_days(d.day)}
    _check_decisions(session, scoped, decision_purges, whole, found, report)

    _check_heads(session, heads, recomputed, found, report)
    report.breaks = _ordered(found)
    return report


# --- the chains' links --------------------------------------------------------------------------------------


def _walk(
    session: Session,
    name: str,
    since: int | None,
    remembered: dict[str, tuple[int, str]],
    report: Report,
    found: list[Break],
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The seals of chain `name` in seq order from `since` (its own hash re-checked and not yielded), each link
    checked; yields (seal row, body) of every seal after it whose body can be read."""
    cols = TrailSeal.__table__.c
    stmt = select(cols.seq, cols.kind, cols.subject, cols.sealed_at, cols.body, cols.prev, cols.hash).where(
        cols.chain == name
    )
    if since:
        stmt = stmt.where(cols.seq >= since)
    expected_seq, expected_prev, offset = (since or 0) + 1, chain.GENESIS, 0
    started = not since
    last: tuple[int, str] | None = None
    for seal in session.execute(stmt.order_by(cols.seq).execution_options(yield_per=1000)):
        own = chain.seal_hash(seal.prev, seal.body)
        if not started:  # the last verified seal: still as it was then?
            started = True
            if seal.seq == since:
                was = remembered.get(name)
                if own != seal.hash or (was is not None and was[0] == since and was[1] != seal.hash):
                    found.append(
                        Break(
                            "seal_changed", name, seal.seq, seal.subject, detail=_since_detail(seal, own, was)
                        )
                    )
                expected_prev, last = seal.hash, (seal.seq, seal.hash)
                report.seals += 1
                continue
            found.append(
                Break("seal_missing", name, since, detail=f"the last verified seal #{since} is gone")
            )
        report.seals += 1
        if seal.seq != expected_seq:
            found.append(
                Break(
                    "seal_missing",
                    name,
                    seal.seq,
                    detail=f"seq {expected_seq}..{seal.seq - 1} missing / 缺少序号 {expected_seq}..{seal.seq - 1}",
                )
            )
        elif seal.prev != expected_prev:
            found.append(
                Break(
                    "link_broken",
                    name,
                    seal.seq,
                    seal.subject,
                    detail=f"prev {seal.prev[:16]}…, the seal before it has {expected_prev[:16]}…",
                )
            )
        expected_seq, expected_prev, last = seal.seq + 1, seal.hash, (seal.seq, seal.hash)
        if own != seal.hash:
            found.append(
                _changed_seal(name, seal, f"recorded {seal.hash[:16]}…, its body hashes to {own[:16]}…")
            )
        try:
            body = json.loads(seal.body)
        except ValueError:
            found.append(_changed_seal(name, seal, "its body is not JSON"))
            continue
        told = body.get("seq") if isinstance(body, dict) else None
        if not isinstance(body, dict) or told is None:
            found.append(_changed_seal(name, seal, "its body is not a seal's"))
            continue
        # A seal moved to another place (renumbered) keeps its body: say so once for a run of moved seals.
        moved = told - seal.seq if isinstance(told, int) else 0
        if moved != offset and moved:
            found.append(_changed_seal(name, seal, f"its body says it is #{told}"))
        elif (
            body.get("chain") != name or body.get("subject") != seal.subject or body.get("kind") != seal.kind
        ):
            said = f"its body says {body.get('chain')} {body.get('kind')} {body.get('subject')}"
            found.append(_changed_seal(name, seal, said))
        offset = moved
        yield seal, body
    if since and not started:
        found.append(Break("seal_missing", name, since, detail=f"the last verified seal #{since} is gone"))
    if last is not None:
        report.verified[name] = last


def _changed_seal(chain_name: str, seal: Any, detail: str) -> Break:
    return Break("seal_changed", chain_name, seal.seq, seal.subject, detail=detail)


def _since_detail(seal: Any, own: str, was: tuple[int, str] | None) -> str:
    remembered = f", {was[1][:16]}… when last verified" if was else ""
    return f"recorded {seal.hash[:16]}…, its body hashes to {own[:16]}…{remembered}"


def _note_evidence(seal: Any, body: dict[str, Any], walked: _Evidence, zone: tzinfo) -> None:
    of = body.get("of") or {}
    if not isinstance(of, dict):
        return
    if seal.kind == "purge":
        table = str(of.get("table", ""))
        batches = of.get("batches") or {}
        for batch_id in batches if isinstance(batches, dict) else ():
            walked.purges[(table, int(batch_id) if str(batch_id).isdigit() else None)].append(seal.seq)
        if not batches:
            walked.purges[(table, None)].append(seal.seq)
        return
    if seal.kind == "rollup":
        return  # the hourly roll-ups, sealed by day: trail/rollups.py checks them
    subject = str(body.get("subject", ""))
    batch_id = None if subject == rows.ORPHANS else rows.batch_of(subject)
    if batch_id is None and subject != rows.ORPHANS:
        return
    if seal.kind == index.INDEX:
        walked.indexes[batch_id] = (seal.seq, _summary(of.get("entries")))
        return
    walked.batches[batch_id] = _BatchSeal(
        seal.seq,
        batch_id,
        _site_day(seal.sealed_at, zone),
        dict(of.get("batch") or {}),
        str(of.get("file_sha256") or ""),
        _summary(of.get("rows")),
    )
    for table, keys in (of.get("superseded") or {}).items():
        for key, earlier in (keys or {}).items():
            walked.superseded[(str(table), int(earlier))].add(key)


def _summary(tables: Any) -> dict[str, tuple[int, str]]:
    """{table: (count, digest)} of a seal body's "rows" or "entries"."""
    if not isinstance(tables, dict):
        return {}
    return {
        str(t): (int(v.get("count", 0)), str(v.get("digest", "")))
        for t, v in tables.items()
        if isinstance(v, dict)
    }


# --- evidence: records, files, rows -------------------------------------------------------------------------


class _EvidenceCheck:
    """The batches' records, files and rows against their seals."""

    def __init__(self, session: Session, walked: _Evidence, found: list[Break], report: Report):
        self.session = session
        self.walked = walked
        self.found = found
        self.report = report
        self.loading: set[int] = set()
        self.unsealed: set[int] = set()
        self._purged: dict[int, dict[str, bytes]] = {}
        self.paths: dict[
            int, str
        ] = {}  # where each batch's file lies now (not sealed: evidence.SEALED_FIELDS)

    def batches(self, scope: set[int | None], files: bool, whole_walk: bool) -> None:
        """Every batch record: sealed unless loading, and as sealed; every sealed batch still there."""
        cols = EvidenceBatch.__table__.c
        present: set[int] = set()
        # An incremental walk starts after most seals: which batches they hold, from one query of the subjects.
        sealed_before = set() if whole_walk else _sealed_batches(self.session)
        for batch in self.session.execute(
            select(*(cols[n] for n in (*evidence.SEALED_FIELDS, "detail", "stored_path")))
        ):
            present.add(batch.id)
            self.paths[batch.id] = batch.stored_path or ""
            if batch.status == LOADING:
                self.loading.add(batch.id)
                continue
            sealed = self.walked.batches.get(batch.id)
            if sealed is None:
                if batch.id not in sealed_before:
                    self.unsealed.add(batch.id)
                    self.found.append(
                        Break(
                            "unsealed_batch",
                            chain.EVIDENCE,
                            None,
                            rows.subject_of(batch.id),
                            detail=f"{batch.kind} {batch.source} received {batch.received_at}",
                        )
                    )
                continue
            if batch.id not in scope:
                continue
            self.report.batches += 1
            now = evidence.batch_record(batch)
            for name in evidence.SEALED_FIELDS:
                was = sealed.record.get(name)
                if was != now[name]:
                    self.found.append(
                        Break(
                            "batch_changed",
                            chain.EVIDENCE,
                            sealed.seq,
                            rows.subject_of(batch.id),
                            detail=f"{name}: sealed {_quote(was)}, now {_quote(now[name])}",
                        )
                    )
        for batch_id, sealed in self.walked.batches.items():
            if batch_id is not None and batch_id not in present and batch_id in scope:
                self.found.append(
                    Break(
                        "batch_removed",
                        chain.EVIDENCE,
                        sealed.seq,
                        rows.subject_of(batch_id),
                        detail=f"{sealed.record.get('kind', '')} {sealed.record.get('source', '')}",
                    )
                )
        if files:
            for batch_id in sorted(b for b in scope if b is not None):
                self._file(self.walked.batches[batch_id])

    def _file(self, sealed: _BatchSeal) -> None:
        stored = self.paths.get(sealed.batch_id or 0) or sealed.record.get("stored_path", "")
        if not sealed.file_sha256 or not stored or stored == NULL:
            return
        path = Path(stored)
        subject = rows.subject_of(sealed.batch_id or 0)
        try:
            with open(path, "rb") as f:
                now = hashlib.file_digest(f, "sha256").hexdigest()
        except FileNotFoundError:
            self.found.append(Break("file_missing", chain.EVIDENCE, sealed.seq, subject, file=stored))
            return
        except OSError as exc:
            self.found.append(
                Break(
                    "file_missing",
                    chain.EVIDENCE,
                    sealed.seq,
                    subject,
                    file=stored,
                    detail=f"cannot read it ({exc.strerror or exc}): give verify read access",
                )
            )
            return
        self.report.files += 1
        if now != sealed.file_sha256:
            self.found.append(
                Break(
                    "file_changed",
                    chain.EVIDENCE,
                    sealed.seq,
                    subject,
                    file=stored,
                    detail=f"sha256 sealed {sealed.file_sha256}, now {now}",
                )
            )

    def rows(self, scope: set[int | None], whole: bool) -> None:
        """Each table read once in batch order; each batch's rows compared with its seal."""
        ids = [b for b in scope if b is not None] + list(self.unsealed)
        if not whole and not ids:
            return
        for table in rows.batch_tables():
            where = [] if whole else [table.c.batch_id >= min(ids), table.c.batch_id <= max(ids)]
            seen: set[int | None] = set()
            for read in rows.read_batches(self.session, table, *where):
                batch_id = read.batch_id
                wanted = whole or batch_id in scope or batch_id in self.unsealed
                if batch_id in self.loading or not wanted:
                    continue  # a batch still loading, or not in this run's scope
                self.report.rows += read.count
                seen.add(batch_id)
                self._compare(table, read)
            for batch_id in scope - seen:
                sealed = self.walked.batches.get(batch_id)
                if sealed is not None and table.name in sealed.rows:
                    self._compare(table, rows.read_batch(self.session, table, batch_id, entries=False))

    def _compare(self, table: Table, read: rows.BatchRead) -> None:
        name, batch_id = table.name, read.batch_id
        sealed = self.walked.batches.get(batch_id)
        subject = rows.ORPHANS if batch_id is None else rows.subject_of(batch_id)
        if sealed is None:
            current = self._current(table, batch_id)
            self._list("row_added", None, subject, table, current.items(), "no seal holds its batch")
            return
        summary = sealed.rows.get(name)
        if summary is None and not read.count:
            return
        if summary == (read.count, read.digest):
            return  # as sealed (the common case: one digest per batch and table)
        current = self._current(table, batch_id)
        held = self.walked.indexes.get(batch_id)
        if held is None:
            self._unindexed(sealed, subject, table, summary, len(current))
            return
        seq, summaries = held
        entries = self._entries(seq).get(name, {})
        if (len(entries), entries_digest(entries)) != summaries.get(name, (0, entries_digest({}))):
            self.found.append(
                Break(
                    "seal_changed",
                    chain.EVIDENCE,
                    seq,
                    subject,
                    table=name,
                    detail="its index's entries do not match the digest its body seals",
                )
            )
        superseded = self.walked.superseded.get((name, batch_id), set()) if batch_id is not None else set()
        expected = {k: d for k, d in entries.items() if k not in superseded}
        removed = [(k, d) for k, d in expected.items() if k not in current]
        if removed:
            lawful = self._purged_lawfully(name, batch_id, sealed.seq)
            removed = [(k, d) for k, d in removed if lawful(k) != d]
        added = [(k, d) for k, d in current.items() if k not in expected]
        changed = [(k, d) for k, d in current.items() if k in expected and expected[k] != d]
        self._list("row_removed", sealed.seq, subject, table, removed)
        self._list("row_added", sealed.seq, subject, table, added)
        self._list("row_changed", sealed.seq, subject, table, changed, expected=expected)

    def _current(self, table: Table, batch_id: int | None) -> dict[str, bytes]:
        return rows.read_batch(self.session, table, batch_id).entries or {}

    def _unindexed(
        self, sealed: _BatchSeal, subject: str, table: Table, summary: tuple[int, str] | None, now: int
    ) -> None:
        """A batch whose rows differ from its seal before the trail indexed them: the rows cannot be named one by
        one; the count says whether rows were added, removed or changed, and the file is where to compare."""
        was = summary[0] if summary else 0
        what = "row_added" if now > was else "row_removed" if now < was else "row_changed"
        stored = self.paths.get(sealed.batch_id or 0, "")
        self.found.append(
            Break(
                what,
                chain.EVIDENCE,
                sealed.seq,
                subject,
                table=table.name,
                file="" if stored in ("", NULL) else stored,
                detail=(
                    f"封印时 {was} 行，现在 {now} 行；该批次在建立行索引之前被改动，无法逐行指出，请与其文件核对 / "
                    f"sealed {was} rows, now {now}: changed before the trail indexed the batch, so its rows "
                    "cannot be named one by one; compare them with its file"
                ),
            )
        )

    def _list(
        self,
        what: str,
        seq: int | None,
        subject: str,
        table: Table,
        rows: Iterable[tuple[str, bytes]],
        detail: str = "",
        expected: dict[str, bytes] | None = None,
    ) -> None:
        listed = sorted(rows)
        ids = (
            _current_ids(self.session, table, [k for k, _ in listed[:LISTED]])
            if what == "row_changed"
            else {}
        )
        for key, digest in listed[:LISTED]:
            said = detail
            if expected is not None:
                said = f"row digest sealed {expected[key].hex()}, now {digest.hex()}"
            if key in ids:
                said = f"id {ids[key]}; {said}"
            self.found.append(
                Break(what, chain.EVIDENCE, seq, subject, table=table.name, key=key, detail=said)
            )
        if len(listed) > LISTED:
            more = len(listed) - LISTED
            self.found.append(
                Break(
                    what,
                    chain.EVIDENCE,
                    seq,
                    subject,
                    table=table.name,
                    detail=f"另有 {more} 行未逐一列出 / and {more} more rows, not listed",
                )
            )

    def _entries(self, seq: int) -> dict[str, dict[str, bytes]]:
        return _entries_of(self.session, chain.EVIDENCE, seq)

    def _purged_lawfully(self, table: str, batch_id: int | None, after: int) -> Callable[[str], bytes | None]:
        """key -> the digest a purge seal after the batch's seal removed it with (None: no purge did)."""
        seqs = sorted(
            {*self.walked.purges.get((table, batch_id), ()), *self.walked.purges.get((table, None), ())}
        )
        held = [self._purge(seq, table) for seq in seqs if seq > after]

        def lookup(key: str) -> bytes | None:
            for entries in held:
                if key in entries:
                    return entries[key]
            return None

        return lookup

    def _purge(self, seq: int, table: str) -> dict[str, bytes]:
        """A purge seal's entries of `table`; the last few kept (a purge may hold a day of samples)."""
        if seq not in self._purged:
            if len(self._purged) >= 2:
                self._purged.pop(next(iter(self._purged)))
            self._purged[seq] = self._entries(seq).get(table, {})
        return self._purged[seq]


def _rollup_seals(session: Session) -> list[TrailSeal]:
    """The seals of the hourly roll-ups (trail/rollups.py checks them: sealed by day, in chunks), in seq order."""
    subject = TrailSeal.subject
    return list(
        session.scalars(
            select(TrailSeal)
            .where(
                TrailSeal.chain == chain.EVIDENCE,
                ((subject >= rollups.SUBJECT_PREFIX) & (subject < "rollup;"))
                | (subject == rollups.PURGE_SUBJECT),
            )
            .order_by(TrailSeal.seq)
        )
    )


def _sealed_batches(session: Session) -> set[int]:
    cols = TrailSeal.__table__.c
    subjects = session.scalars(select(cols.subject).where(cols.chain == chain.EVIDENCE))
    return {b for s in subjects if (b := rows.batch_of(s)) is not None}


def _entries_of(session: Session, name: str, seq: int) -> dict[str, dict[str, bytes]]:
    blob = session.scalar(select(TrailSeal.entries).where(TrailSeal.chain == name, TrailSeal.seq == seq))
    try:
        return chain.unpack_entries(blob)
    except (ValueError, zlib.error):  # damaged: the body's digest no longer matches, which is reported
        return {}


def _current_ids(session: Session, table: Table, keys: list[str]) -> dict[str, int]:
    """{key: id} of the rows with these keys, where the table numbers its rows (to find a changed row by)."""
    if "id" not in table.c or not keys:
        return {}
    key = table_key(table)
    if key == ("id",):
        return {}
    wanted = set(keys)
    out: dict[str, int] = {}
    cols = [table.c[c] for c in key]
    for start in range(0, len(keys), IDS_PER_QUERY):
        chunk = keys[start : start + IDS_PER_QUERY]
        values = [rows.key_values(table, key, k) for k in chunk]
        match = cols[0].in_([v[0] for v in values]) if len(cols) == 1 else tuple_(*cols).in_(values)
        for row in session.execute(select(table.c.id, *cols).where(match)):
            k = key_text(row[1:])
            if k in wanted:
                out[k] = row[0]
    return out


# --- decisions ------------------------------------------------------------------------------------------------


def _check_decisions(
    session: Session,
    sealed: dict[str, _Decision],
    purges: list[int],
    whole: bool,
    found: list[Break],
    report: Report,
) -> None:
    """Each sealed decision's row now against its last seal; in a whole run, every row sealed."""
    tables = decisions.decision_tables()
    covered = None if whole else _sealed_subjects(session)
    seen: set[str] = set()
    for name, table in tables.items():
        if whole:
            found_rows: Iterable[Any] = session.execute(
                select(*table.columns).order_by(table.c.id).execution_options(yield_per=2000)
            )
        else:
            ids = sorted(d.row_id for d in sealed.values() if d.table == name)
            found_rows = _rows_by_id(session, table, ids)
        for row in found_rows:
            subject = decisions.subject_of(name, row.id)
            seen.add(subject)
            was = sealed.get(subject)
            if was is None:
                if covered is None or subject not in covered:
                    found.append(Break("decision_added", chain.DECISIONS, None, subject, name, str(row.id)))
                continue
            report.decisions += 1
            now = row_text(row)
            if now != was.row:
                found.append(_changed(was, decisions.columns_of(table), now, subject))
        if not whole:
            _unsealed_decisions(session, table, covered or set(), found)
    purged = _purged_decisions(session, purges)
    for subject, was in sealed.items():
        if subject in seen or was.table not in tables:
            continue
        digest = hashlib.sha256((was.row or "").encode()).digest()[:DIGEST_BYTES]
        if purged.get(was.table, {}).get(str(was.row_id)) == digest:
            continue
        found.append(Break("decision_removed", chain.DECISIONS, was.seq, subject, was.table, str(was.row_id)))


def _changed(was: _Decision, columns: list[str], now: str, subject: str) -> Break:
    """decision_changed naming each column whose value differs, with both values."""
    before = dict(zip(was.columns, (was.row or "").split("\t"), strict=False))
    after = dict(zip(columns, now.split("\t"), strict=False))
    differ = [c for c in dict.fromkeys((*was.columns, *columns)) if before.get(c) != after.get(c)]
    detail = "; ".join(f"{c}: sealed {_quote(before.get(c))}, now {_quote(after.get(c))}" for c in differ)
    return Break(
        "decision_changed",
        chain.DECISIONS,
        was.seq,
        subject,
        was.table,
        str(was.row_id),
        detail=detail or "the row's text differs",
    )


def _rows_by_id(session: Session, table: Table, ids: list[int]) -> Iterator[Any]:
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        yield from session.execute(select(*table.columns).where(table.c.id.in_(chunk)).order_by(table.c.id))


def _sealed_subjects(session: Session) -> set[str]:
    cols = TrailSeal.__table__.c
    return set(session.scalars(select(cols.subject).where(cols.chain == chain.DECISIONS)))


def _unsealed_decisions(session: Session, table: Table, covered: set[str], found: list[Break]) -> None:
    """An incremental run still finds a decision written outside ops-watch: ids only, against every subject."""
    for row_id in session.scalars(select(table.c.id).order_by(table.c.id)):
        subject = decisions.subject_of(table.name, row_id)
        if subject not in covered:
            found.append(Break("decision_added", chain.DECISIONS, None, subject, table.name, str(row_id)))


def _purged_decisions(session: Session, purges: list[int]) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {}
    for seq in purges:
        for table, entries in _entries_of(session, chain.DECISIONS, seq).items():
            out.setdefault(table, {}).update(entries)
    return out


# --- heads ----------------------------------------------------------------------------------------------------


def _check_heads(
    session: Session,
    heads: Sequence[PublishedHead],
    recomputed: dict[tuple[str, int], str],
    found: list[Break],
    report: Report,
) -> None:
    for head in heads:
        report.heads += 1
        now = recomputed.get((head.chain, head.seq))
        if now is None:  # before an incremental run's start: the seal as stored
            seal = session.execute(
                select(TrailSeal.prev, TrailSeal.body).where(
                    TrailSeal.chain == head.chain, TrailSeal.seq == head.seq
                )
            ).first()
            if seal is None:
                found.append(
                    Break(
                        "head_beyond",
                        head.chain,
                        head.seq,
                        detail=f"published in {head.where}: #{head.seq} {head.hash[:16]}…; the chain ends before it",
                    )
                )
                continue
            now = chain.seal_hash(seal.prev, seal.body)
        if not now.startswith(head.hash):  # a code typed from a printed report gives the hash's start
            found.append(
                Break(
                    "head_mismatch",
                    head.chain,
                    head.seq,
                    detail=f"published in {head.where}: {head.hash}; the chain now: {now}",
                )
            )


# --- incremental state ------------------------------------------------------------------------------------


def remember(session: Session, report: Report) -> bool:
    """Keep each chain's last verified seal (seq, hash) in store_state for the next incremental run; only an
    intact report moves it on (a break stays found until it is dealt with). Returns whether it was kept."""
    if not report.ok:
        return False
    for name, (seq, hash_) in report.verified.items():
        value = json.dumps({"seq": seq, "hash": hash_})
        row = session.get(StoreState, STATE_NAMES[name])
        if row is None:
            session.add(StoreState(name=STATE_NAMES[name], value=value))
        else:
            row.value = value
    return True


def last_verified(session: Session) -> dict[str, int]:
    """{chain: seq} of the last verified seals (an empty dict before the first intact run)."""
    return {name: seq for name, (seq, _) in _remembered(session).items()}


def _remembered(session: Session) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for name, state in STATE_NAMES.items():
        value = session.scalar(select(StoreState.value).where(StoreState.name == state))
        try:
            kept = json.loads(value or "")
            out[name] = (int(kept["seq"]), str(kept["hash"]))
        except (ValueError, KeyError, TypeError):
            continue
    return out


# --- small pieces ---------------------------------------------------------------------------------------------


def _site_day(at: datetime, zone: tzinfo) -> date:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).date()


def _day_filter(days: tuple[date | None, date | None] | None) -> Callable[[date], bool]:
    if days is None:
        return lambda _day: True
    first, last = days
    return lambda day: (first is None or day >= first) and (last is None or day <= last)


def _quote(value: str | None) -> str:
    if value is None:
        return "(none)"
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _ordered(found: list[Break]) -> list[Break]:
    """Chain by chain (evidence, then decisions), seal by seal; breaks of no seal (unsealed) after the seals."""
    order = {name: i for i, name in enumerate(chain.CHAINS)}
    indexed = sorted(
        enumerate(found),
        key=lambda p: (order.get(p[1].chain, len(order)), p[1].seq is None, p[1].seq or 0, p[0]),
    )
    return [b for _, b in indexed]
