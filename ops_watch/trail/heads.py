"""Chain heads published where they cannot be rewritten quietly: each site day's heads in `trail_heads` (and the
log, and the archive mailbox the daily job mails them to), each weekly report's heads printed as a short code
and kept in its manifest. A head seen outside the store pins every seal before it: verify holds the chain to
every published head it can read (`published`).

The printed code: one token per chain that has seals, evidence first, separated by a space —
`E<seq>-<first 8 hex digits of the hash>` for the evidence chain, `D<seq>-<…>` for the decisions chain, e.g.
`E1234-7f3a9c21 D56-0b1c2d3e`. The letter names the chain, the decimal number its seal, the lower-case hex
digits after the dash the seal's hash. `parse_code` reads it back as a person types it (any case, extra spaces,
commas), and takes a longer hash prefix too.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ops_watch.core.log import get_logger
from ops_watch.core.manifest import MANIFEST
from ops_watch.core.timeutil import from_store, local_day_bounds, utcnow
from ops_watch.store.schema import TrailHead, TrailSeal
from ops_watch.trail.breaks import PublishedHead
from ops_watch.trail.chain import CHAINS, DECISIONS, EVIDENCE, Head

if TYPE_CHECKING:
    from ops_watch.config import Config

log = get_logger(__name__)

LETTERS = {EVIDENCE: "E", DECISIONS: "D"}
CHAIN_OF = {letter: chain for chain, letter in LETTERS.items()}
PREFIX = 8  # hex digits of a hash in the printed code: 32 bits, enough to catch a rewritten chain by eye
_TOKEN = re.compile(r"([A-Za-z])(\d+)-([0-9A-Fa-f]+)")
_HASH = re.compile(r"[0-9a-f]{64}")


class HeadsError(ValueError):
    """A code that cannot be read, or a published head that is malformed (names the file or the token)."""


# ---- heads at a moment ------------------------------------------------------------------------------------


def head_at(session: Session, chain: str, at: datetime) -> Head | None:
    """The chain's head as of `at`: its last seal sealed before that moment (None: no seal yet)."""
    row = session.execute(
        select(TrailSeal.seq, TrailSeal.hash)
        .where(TrailSeal.chain == chain, TrailSeal.sealed_at < at)
        .order_by(TrailSeal.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else Head(chain, row.seq, row.hash)


def heads_at(session: Session, at: datetime) -> list[Head]:
    """Both chains' heads as of `at`, evidence first; a chain without a seal yet is left out."""
    return [h for c in CHAINS if (h := head_at(session, c, at)) is not None]


# ---- the printed code -------------------------------------------------------------------------------------


def code(heads: list[Head]) -> str:
    """The short code printed in a report: `E1234-7f3a9c21 D56-0b1c2d3e` ("" without heads)."""
    ordered = sorted(heads, key=lambda h: CHAINS.index(h.chain))
    return " ".join(f"{LETTERS[h.chain]}{h.seq}-{h.hash[:PREFIX].lower()}" for h in ordered)


def parse_code(text: str) -> list[tuple[str, int, str]]:
    """A code as a person types it back from a printed report: [(chain, seq, hash prefix in lower case)]."""
    tokens = [t for t in re.split(r"[\s,;，；、]+", text.strip()) if t]
    if not tokens:
        raise HeadsError(
            "证据链校验码为空：请照周报抄写，如 E1234-7f3a9c21 D56-0b1c2d3e / "
            "the evidence chain code is empty: copy it from a weekly report, e.g. E1234-7f3a9c21 D56-0b1c2d3e"
        )
    out: list[tuple[str, int, str]] = []
    for token in tokens:
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise HeadsError(
                f"证据链校验码中的 {token!r} 无法识别：应为字母 E 或 D、序号、短横线和 {PREFIX} 位十六进制数，"
                f"如 E1234-7f3a9c21 / {token!r} in the code is not a chain head: write E or D, the seal's "
                f"number, a dash and {PREFIX} hex digits, e.g. E1234-7f3a9c21"
            )
        letter, seq, prefix = match.groups()
        chain = CHAIN_OF.get(letter.upper())
        if chain is None:
            raise HeadsError(
                f"{token!r}：链字母 {letter!r} 未知（E = 证据链，D = 决定链） / {token!r}: unknown chain "
                f"letter {letter!r} (E = evidence, D = decisions)"
            )
        if not PREFIX <= len(prefix) <= 64:
            raise HeadsError(
                f"{token!r}：短横线后应为 {PREFIX} 位十六进制数（当前 {len(prefix)} 位） / {token!r}: "
                f"{PREFIX} hex digits after the dash (found {len(prefix)})"
            )
        if int(seq) < 1:
            raise HeadsError(f"{token!r}：序号从 1 开始 / {token!r}: seal numbers start at 1")
        if any(c == chain for c, _, _ in out):
            raise HeadsError(
                f"{token!r}：{chain} 链出现了两次，每条链只写一次 / {token!r}: the {chain} chain is given "
                "twice; give each chain once"
            )
        out.append((chain, int(seq), prefix.lower()))
    return out


def typed_heads(text: str, where: str = "--code") -> list[PublishedHead]:
    """A typed code as published heads for verify: `hash` holds the typed prefix, so verify compares the chain's
    hash by its start (`startswith`), not whole."""
    return [PublishedHead(chain, seq, prefix, where) for chain, seq, prefix in parse_code(text)]


# ---- the daily heads --------------------------------------------------------------------------------------


def publish_day(session: Session, day: date, zone: ZoneInfo, at: datetime | None = None) -> list[TrailHead]:
    """Record each chain's head at the end of site day `day` in trail_heads (TrailHead rows, evidence first).
    A day published before keeps its first record, which is returned; a day whose head did not move is recorded
    all the same (the record says the chain stood still). A chain without a seal by then gets none."""
    at = at or utcnow()
    _, end = local_day_bounds(day, zone)
    if end > at:
        raise ValueError(
            f"{day} 尚未结束（站点时间），次日零点后再公布 / {day} has not ended at the site yet: publish it "
            "after midnight"
        )
    kept = {
        r.chain: r
        for r in session.scalars(select(TrailHead).where(TrailHead.day == day))  # one query for both
    }
    out = []
    for chain in CHAINS:
        row = kept.get(chain)
        if row is None:
            head = head_at(session, chain, end)
            if head is None:
                continue
            row = TrailHead(chain=chain, day=day, seq=head.seq, hash=head.hash, published_at=at)
            session.add(row)
            session.flush()
            # journald keeps this line: the log is one more place the head was published
            log.info("chain head published", chain=chain, day=day.isoformat(), seq=head.seq, hash=head.hash)
        out.append(row)
    return out


def due_days(session: Session, config: Config, now: datetime) -> list[date]:
    """The site days whose heads are due and not yet published: from the day after the last one published (or
    the first seal's day) to the last day whose publishing time ([trail] publish_at, the next day) has come."""
    zone = config.site.zone
    local = now.astimezone(zone)
    last_due = local.date() - timedelta(days=1 if local.time() >= config.trail.publish_time else 2)
    last = session.scalar(select(func.max(TrailHead.day)))
    if last is not None:
        first = last + timedelta(days=1)
    else:
        sealed = from_store(session.scalar(select(func.min(TrailSeal.sealed_at))))
        if sealed is None:
            return []
        first = sealed.astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last_due - first).days + 1)]


def publish_due(session: Session, config: Config, now: datetime) -> list[TrailHead]:
    """Publish every due day (`due_days`), oldest first: a daemon that was down catches up. Returns the rows."""
    out: list[TrailHead] = []
    for day in due_days(session, config, now):
        out += publish_day(session, day, config.site.zone, now)
    return out


def mail_text(rows: list[TrailHead], site: str) -> tuple[str, str]:
    """(subject, plain text) of the mail that sends a day's heads to [trail] archive_mailbox (the daily job queues
    it in the outbox when `publish_due` published anything)."""
    if not rows:
        raise ValueError("no chain heads to mail: publish a day first (publish_due)")
    days = sorted({r.day for r in rows})
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]}—{days[-1]}"
    subject = f"【证据链链头】{site} {span} / Evidence chain heads"
    lines = [
        f"{site} 证据链每日链头 / daily evidence chain heads, {span}",
        "请保存本邮件：日后可用 ops-watch verify 核对存储中的证据链是否被改动。",
        "Keep this mail: ops-watch verify checks the stored chains against it.",
        "",
    ]
    for day in days:
        of_day = [Head(r.chain, r.seq, r.hash) for r in rows if r.day == day]
        lines.append(f"{day}  {code(of_day)}")
        lines += [f"  {h.chain} #{h.seq} {h.hash}" for h in of_day]
    return subject, "\n".join(lines) + "\n"


# ---- what verify reads --------------------------------------------------------------------------------------


def published(session: Session, reports_dir: Path) -> list[PublishedHead]:
    """Every head published where verify can read it: each trail_heads row, then the "trail" field of every
    archived weekly report's manifest. An unreadable manifest is skipped with a warning (verify checks the
    archive itself); a malformed trail field is an error naming the file."""
    out = [
        PublishedHead(r.chain, r.seq, r.hash, f"trail_heads {r.day.isoformat()}")
        for r in session.scalars(select(TrailHead).order_by(TrailHead.day, TrailHead.chain))
    ]
    if not reports_dir.is_dir():
        return out
    for folder in sorted(reports_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue  # a build under way or left half done (report/archive.py)
        file = folder / MANIFEST
        try:
            manifest = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("report manifest skipped: cannot read it", file=str(file), error=str(exc))
            continue
        if isinstance(manifest, dict) and "trail" in manifest:
            shown = f"{reports_dir.name}/{folder.name}/{MANIFEST}"
            out += manifest_heads(manifest["trail"], shown, file)
    return out


def manifest_field(heads: list[Head]) -> dict[str, dict[str, Any]]:
    """The "trail" field a report's manifest keeps: {chain: {"seq": n, "hash": "…"}}."""
    return {h.chain: {"seq": h.seq, "hash": h.hash} for h in heads}


def manifest_heads(field: Any, shown: str, file: Path) -> list[PublishedHead]:
    """A manifest's "trail" field read back, each value checked; HeadsError names the file and the key."""

    def bad(what: str) -> HeadsError:
        return HeadsError(
            f"{file}: 周报清单的 trail 字段有误：{what}；该文件可能被改动，请与邮件中的周报核对 / the report "
            f"manifest's trail field is malformed: {what}; the file may have been altered: compare it with the "
            "report as mailed"
        )

    if not isinstance(field, dict):
        raise bad(f"expected {{chain: {{seq, hash}}}}, found {type(field).__name__}")
    out = []
    for chain, value in field.items():
        if chain not in CHAINS:
            raise bad(f"unknown chain {chain!r} (known: {', '.join(CHAINS)})")
        if not isinstance(value, dict) or set(value) != {"seq", "hash"}:
            raise bad(f"trail.{chain} must hold exactly seq and hash")
        seq, hash_ = value["seq"], value["hash"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise bad(f"trail.{chain}.seq {seq!r} is not a seal number (1, 2, …)")
        if not isinstance(hash_, str) or not _HASH.fullmatch(hash_):
            raise bad(f"trail.{chain}.hash {hash_!r} is not 64 lower-case hex digits")
        out.append(PublishedHead(chain, seq, hash_, shown))
    return out
