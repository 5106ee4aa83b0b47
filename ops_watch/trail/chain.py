"""The two hash chains, `evidence` and `decisions`: appending a seal and reading a chain's head.

A seal's hash is sha256 over its predecessor's hash (64 zeros for the first), a newline, and its body: canonical
JSON (keys sorted, compact, not ASCII-escaped) of what it seals. Changing any sealed fact changes every hash
after it; the heads published each day (trail/heads.py) pin them.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ops_watch.core.timeutil import utcnow
from ops_watch.store.schema import TrailSeal
from ops_watch.trail.canonical import time_text
from ops_watch.trail.keys import HEADS_CACHED

EVIDENCE = "evidence"
DECISIONS = "decisions"
CHAINS = (EVIDENCE, DECISIONS)
GENESIS = "0" * 64

# PostgreSQL: appends to one chain take this transaction lock in turn (SQLite has one writer anyway).
_LOCK_KEYS = {EVIDENCE: 0x7472_6169_6C01, DECISIONS: 0x7472_6169_6C02}


@dataclass(frozen=True)
class Head:
    chain: str
    seq: int
    hash: str

    @property
    def short(self) -> str:
        return self.hash[:12]


def body_text(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def seal_hash(prev: str, body: str) -> str:
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


def entries_packer() -> Any:
    """A zlib stream for entry lines: Huffman coding only, the fastest (the digests are random hex, which only
    Huffman coding shrinks; the keys would gain a little more from matching, at twice the time)."""
    return zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_HUFFMAN_ONLY)


def pack_lines(table: str, lines: Iterable[str]) -> bytes:
    """One table's entries as one zlib stream: a line naming the table, then its entry lines "key<TAB>row digest
    hex<LF>" in the seal's order. A seal's entries are such streams one after the other."""
    packer = entries_packer()
    parts = [packer.compress(f"{table}\n".encode())]
    parts.extend(packer.compress(line.encode()) for line in lines)
    parts.append(packer.flush())
    return b"".join(parts)


def pack_entries(entries: dict[str, dict[str, bytes]]) -> bytes:
    """{table: {key: digest}} packed in the dicts' order (pack_lines)."""
    return b"".join(
        pack_lines(table, (f"{key}\t{digest.hex()}\n" for key, digest in rows.items()))
        for table, rows in entries.items()
        if rows
    )


def unpack_entries(blob: bytes | None) -> dict[str, dict[str, bytes]]:
    """The entries of a seal, {table: {key: digest}} in the order they were sealed."""
    out: dict[str, dict[str, bytes]] = {}
    for table, lines in table_lines(blob):
        rows = out.setdefault(table, {})
        for line in lines:
            key, _, digest = line.rpartition("\t")
            rows[key] = bytes.fromhex(digest)
    return out


def table_lines(blob: bytes | None) -> Iterator[tuple[str, list[str]]]:
    """(table, its entry lines without their "\\n") of a seal's entries, in order."""
    rest = blob or b""
    while rest:
        unpacker = zlib.decompressobj()
        text = unpacker.decompress(rest) + unpacker.flush()
        rest = unpacker.unused_data
        # Only "\n" ends a line: a key may hold other line separators (\x1c, \u2028) as they were written.
        table, *lines = text.decode().split("\n")
        yield table, lines[:-1]


def framed(
    chain: str, seq: int, kind: str, subject: str, at: datetime, body: dict[str, Any]
) -> dict[str, Any]:
    """The whole sealed statement: where the seal stands and when, around what it seals (`of`)."""
    return {
        "chain": chain,
        "seq": seq,
        "kind": kind,
        "subject": subject,
        "sealed_at": time_text(at),
        "of": body,
    }


def head(session: Session, chain: str) -> Head | None:
    row = session.execute(
        select(TrailSeal.seq, TrailSeal.hash)
        .where(TrailSeal.chain == chain)
        .order_by(TrailSeal.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else Head(chain, row.seq, row.hash)


def append(
    session: Session,
    chain: str,
    kind: str,
    subject: str,
    body: dict[str, Any],
    entries: bytes | None = None,
    at: datetime | None = None,
) -> TrailSeal:
    """Seal `body` as the next link of `chain`, in the caller's transaction: it commits with what it seals."""
    cached: dict[str, Head] = session.info.setdefault(HEADS_CACHED, {})
    last = cached.get(chain)
    if last is None:
        if session.get_bind().dialect.name == "postgresql":  # held to the commit: the cache stays true
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEYS[chain]})
        last = head(session, chain)
    prev, seq = (GENESIS, 1) if last is None else (last.hash, last.seq + 1)
    at = at or utcnow()
    subject = subject[:128]
    sealed = body_text(framed(chain, seq, kind, subject, at, body))
    seal = TrailSeal(
        chain=chain,
        seq=seq,
        kind=kind,
        subject=subject,
        sealed_at=at,
        body=sealed,
        entries=entries,
        prev=prev,
        hash=seal_hash(prev, sealed),
    )
    session.add(seal)
    session.flush()
    cached[chain] = Head(chain, seq, seal.hash)
    return seal
