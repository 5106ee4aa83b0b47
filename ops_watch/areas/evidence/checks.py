"""Checks of the evidence itself: kinds that went silent, files and rows that were refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pydantic import field_validator
from sqlalchemy import func, select

from ops_watch.config import Duration
from ops_watch.core.timeutil import format_local, from_store
from ops_watch.findings.registry import CheckContext, FindingDraft, NoParams, Params, check
from ops_watch.formats import KINDS
from ops_watch.store.schema import EvidenceBatch
from ops_watch.trail import outcome

# Kinds that arrive from collectors only and have no RecordKind, but do write batches. (utilization is a
# RecordKind now: console exports come through the drop folder, and freshness counts by the samples' time.)
COLLECTED_KINDS: dict[str, tuple[str, str]] = {}


def _kind_titles() -> dict[str, tuple[str, str]]:
    titles = {name: (k.title_zh, name) for name, k in KINDS.items()}
    titles.update(COLLECTED_KINDS)
    return titles


class FreshnessParams(Params):
    kind: str
    max_age: Duration
    # How far back silent spells are looked for: a spell that ended inside it is still a finding about its
    # period, so a month judged once at its end finds what the daemon, running all along, found.
    lookback: Duration = timedelta(days=35)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        titles = _kind_titles()
        if v not in titles:
            raise ValueError(f"unknown evidence kind {v!r} (known: {', '.join(sorted(titles))})")
        return v

    @field_validator("max_age", "lookback")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("must be positive")
        return v


def _evidence_times(kind: str) -> tuple[Any, tuple[Any, ...]]:
    """The time column that dates the evidence of `kind`, and the conditions a row must meet to count.

    Kinds whose records carry their own time (door events, backups) count by that time, so a month
    dropped at once is judged as it happened; other kinds count by when a batch with usable rows was produced
    (a dropped file's modification time, a poll's time)."""
    spec = KINDS.get(kind)
    if spec is not None and spec.time_column:
        return getattr(spec.table, spec.time_column), ()
    produced = func.coalesce(EvidenceBatch.evidence_time, EvidenceBatch.received_at)
    return produced, (EvidenceBatch.kind == kind, EvidenceBatch.rows_ok > 0)


def latest_evidence_time(ctx: CheckContext, kind: str) -> datetime | None:
    """When the newest evidence of `kind` up to ctx.at was produced."""
    column, where = _evidence_times(kind)
    return ctx.session.scalar(select(func.max(column)).where(*where, column <= ctx.at))


def silent_spells(
    ctx: CheckContext, kind: str, max_age: timedelta, since: datetime
) -> list[tuple[datetime, datetime | None]]:
    """The spells after `since` (and up to ctx.at) in which `kind` had no new evidence for longer than max_age:
    (last evidence before the spell, first evidence after it, None while it lasts). Nothing before the kind's
    first evidence counts: the source had not started.

    Walked by index probes, one per max_age of evidence (a month of 5-minute samples of a thousand hosts is
    ~400 probes for a 2-hour max_age, not millions of rows)."""
    column, where = _evidence_times(kind)

    def probe(fn: Any, *conditions: Any) -> datetime | None:
        return from_store(ctx.session.scalar(select(fn(column)).where(*where, *conditions)))

    current = probe(func.max, column < since) or probe(func.min, column >= since, column <= ctx.at)
    spells: list[tuple[datetime, datetime | None]] = []
    while current is not None:
        reach = min(current + max_age, ctx.at)
        later = probe(func.max, column > current, column <= reach)
        if later is not None:
            current = later
            continue
        following = probe(func.min, column > current, column <= ctx.at)
        if following is None:
            if ctx.at - current > max_age:
                spells.append((current, None))
            break
        spells.append((current, following))
        current = following
    return spells


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f}"


@check(
    "evidence_freshness",
    params=FreshnessParams,
    area="evidence",
    example="""
[[rule]]
id = "inventory-fresh"
check = "evidence_freshness"
severity = "warning"
title = "资源清单超过 35 天未更新"
[rule.params]
kind = "inventory"
max_age = "35d"
""",
)
def evidence_freshness(ctx: CheckContext, params: FreshnessParams) -> Iterator[FindingDraft]:
    """One finding per silent spell, found within `lookback`: the one going on now is open; one the evidence
    later broke is a finding about its period, already over (so a month judged once finds every spell)."""
    spec = KINDS.get(params.kind)
    if spec is not None and spec.time_column:
        # Counted by the records' own time (_evidence_times): a silence rests on that table's rows (their seals).
        ctx.reads(spec.table)
    title_zh, title_en = _kind_titles()[params.kind]
    latest = latest_evidence_time(ctx, params.kind)
    if latest is None:
        yield FindingDraft(
            subject=params.kind,
            summary=ctx.t(
                f"尚未收到任何「{title_zh}」证据", f"no {title_en} evidence has ever been received"
            ),
            evidence={"kind": params.kind, "latest": None, "max_age_hours": float(_hours(params.max_age))},
        )
        return
    since = ctx.at - params.lookback
    ctx.scope_start = since  # spells that began before the look-back are left as they are
    allowed = _hours(params.max_age)
    for last, broken_by in silent_spells(ctx, params.kind, params.max_age, since):
        shown = format_local(last, ctx.zone)
        age = (broken_by or ctx.at) - last
        evidence = {
            "kind": params.kind,
            "latest": last.isoformat(),
            "age_hours": round(age.total_seconds() / 3600, 2),
            "max_age_hours": round(params.max_age.total_seconds() / 3600, 2),
        }
        if broken_by is None:
            summary = ctx.t(
                f"「{title_zh}」已 {_hours(age)} 小时没有新证据（上次 {shown}，允许 {allowed} 小时）",
                f"no new {title_en} for {_hours(age)} h (last {shown}, allowed {allowed} h)",
            )
        else:
            until = format_local(broken_by, ctx.zone)
            evidence["resumed"] = broken_by.isoformat()
            summary = ctx.t(
                f"「{title_zh}」曾 {_hours(age)} 小时没有新证据（{shown} 至 {until}，允许 {allowed} 小时）",
                f"no new {title_en} for {_hours(age)} h ({shown} to {until}, allowed {allowed} h)",
            )
        # One finding per silent spell: it starts at the last evidence, so a later spell is a new finding.
        yield FindingDraft(
            subject=params.kind,
            period_start=last,
            summary=summary,
            evidence=evidence,
            ended=broken_by is not None,
        )


def batch_detail(text: str) -> dict[str, Any]:
    """The batch's detail is JSON written by ingest; an old or hand-made row may hold plain text."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {"reason": text}
    return value if isinstance(value, dict) else {"reason": text}


class RefusedParams(Params):
    within: Duration = timedelta(days=7)
    kinds: list[str] = []  # empty: every kind

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, v: list[str]) -> list[str]:
        titles = _kind_titles()
        unknown = [k for k in v if k not in titles]
        if unknown:
            raise ValueError(f"unknown evidence kind(s) {unknown} (known: {', '.join(sorted(titles))})")
        return v


@check(
    "evidence_refused",
    params=RefusedParams,
    area="evidence",
    example="""
[[rule]]
id = "evidence-refused"
check = "evidence_refused"
severity = "warning"
title = "证据文件被拒收或有行被拒"
[rule.params]
within = "7d"
""",
)
def evidence_refused(ctx: CheckContext, params: RefusedParams) -> Iterator[FindingDraft]:
    """A file rejected whole, or rows of it refused, in the last `within`: the evidence it held is missing.

    One finding per file; it resolves once `within` has passed (time for the sender to correct and
    resend) or earlier when acknowledged.
    """
    produced = func.coalesce(EvidenceBatch.evidence_time, EvidenceBatch.received_at)
    query = select(EvidenceBatch).where(
        produced <= ctx.at,
        produced > ctx.at - params.within,
        (EvidenceBatch.rows_bad > 0) | (EvidenceBatch.status == "rejected"),
    )
    if params.kinds:
        query = query.where(EvidenceBatch.kind.in_(params.kinds))
    titles = _kind_titles()
    for batch in ctx.session.scalars(query.order_by(EvidenceBatch.id)):
        title_zh, title_en = titles.get(batch.kind, (batch.kind, batch.kind))
        detail = batch_detail(batch.detail)
        reason = ctx.t(detail.get("reason_zh") or detail.get("reason", ""), detail.get("reason", ""))
        if batch.status == "rejected":
            summary = ctx.t(
                f"「{title_zh}」文件 {batch.source} 被拒收：{reason}",
                f"{title_en} file {batch.source} rejected: {reason}",
            )
        else:
            summary = ctx.t(
                f"「{title_zh}」文件 {batch.source} 有 {batch.rows_bad} 行被拒（共 {batch.rows_total} 行）",
                f"{title_en} file {batch.source}: {batch.rows_bad} of {batch.rows_total} rows refused",
            )
        yield FindingDraft(
            subject=f"{batch.kind}/{batch.source}#{batch.id}",
            summary=summary,
            period_start=from_store(batch.evidence_time or batch.received_at),
            evidence={
                "batch_id": batch.id,
                "kind": batch.kind,
                "file": batch.source,
                "status": batch.status,
                "rows_total": batch.rows_total,
                "rows_ok": batch.rows_ok,
                "rows_bad": batch.rows_bad,
                "reason": reason,
                "stored_at": batch.stored_path,
            },
        )


@check(
    "evidence_tampered",
    params=NoParams,
    area="evidence",
    example="""
[[rule]]
id = "evidence-tampered"
check = "evidence_tampered"
severity = "critical"
title = "证据链校验失败：证据或决定记录被改动"
""",
)
def evidence_tampered(ctx: CheckContext, params: NoParams) -> Iterator[FindingDraft]:
    """The last scheduled verify (the `trail` job; docs/trail.md) found the evidence chain or the decisions
    chain broken: one finding naming the first break and how many there are. It stays open while verify
    keeps finding them, and resolves once a verify runs clean (the store restored from a backup)."""
    with_outcome = outcome.last(ctx.session)
    if with_outcome is None or with_outcome.ok or with_outcome.at > ctx.at:
        return
    first = with_outcome.breaks[0]
    when = format_local(with_outcome.at, ctx.zone)
    yield FindingDraft(
        subject="evidence_trail",
        summary=ctx.t(
            f"{when} 校验证据链发现 {with_outcome.total} 处不符，第一处：{first.text('zh')}",
            f"verify at {when} found {with_outcome.total} break(s) in the evidence trail; the first: "
            f"{first.text('en')}",
        ),
        evidence={
            "verified_at": with_outcome.at.isoformat(),
            "full_verify": with_outcome.full,
            "breaks": with_outcome.total,
            "first_break": first.text(ctx.language),
            "listed_breaks": [b.text(ctx.language) for b in with_outcome.breaks],
        },
    )
