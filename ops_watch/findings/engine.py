"""Rules -> checks -> findings, and the findings' lifecycle.

open ──► acknowledged ──► resolved
  │  └─► silenced (until a time) ──► open again when the silence ends
  └──────────────────────────────► resolved ──► reopened (open) if the same fingerprint fails again

A rule whose check raised keeps its findings as they are: a broken check must not look like good news.
A draft marked `ended` (an episode already over when judged) is recorded about its period and resolved at once,
and never reopens: the same episode judged again is the same finding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import from_store, local_day_bounds, utcnow
from ops_watch.findings import silences
from ops_watch.findings.registry import BEFORE_JUDGING, CheckContext, FindingDraft
from ops_watch.findings.rules import Rule, RuleSet
from ops_watch.store import Store
from ops_watch.store.schema import Finding, FindingEvent
from ops_watch.trail.grounds import KEYS as SEAL_KEYS
from ops_watch.trail.grounds import grounds, without_grounds

log = get_logger(__name__)
ACTIVE = ("open", "acknowledged", "silenced")


class FindingError(Exception):
    """A lifecycle action that cannot be done (unknown id, wrong state)."""


@dataclass
class Evaluation:
    at: datetime
    opened: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    still_open: int = 0
    silenced: int = 0
    failed_rules: dict[str, str] = field(default_factory=dict)
    prepared: dict[str, int] = field(default_factory=dict)  # step before judging -> what it did
    failed_steps: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            **self.prepared,
            "opened": len(self.opened),
            "reopened": len(self.reopened),
            "resolved": len(self.resolved),
            "still_open": self.still_open,
            "silenced": self.silenced,
            "failed_rules": len(self.failed_rules),
        }


def _event(
    session: Session,
    finding: Finding,
    at: datetime,
    action: str,
    actor: str = "ops-watch",
    reason: str = "",
    until: datetime | None = None,
) -> None:
    session.add(
        FindingEvent(finding_id=finding.id, at=at, action=action, actor=actor, reason=reason, until=until)
    )


def _grounded(
    session: Session, ctx: CheckContext | None, draft: FindingDraft, before: dict[str, Any] | None
) -> dict[str, Any]:
    """The draft's evidence with the seals it rests on (trail/grounds.py): looked up for a new finding or one
    whose evidence changed, kept as they were otherwise (so an evaluation that changes nothing queries nothing).
    A check that read its tables from a view an earlier check built (no `arrived` this time) keeps the tables
    its finding named before."""
    before = before or {}
    tables = (ctx.tables_read if ctx is not None else set()) or set(before.get("seals_tables") or ())
    if ctx is None or not tables:
        return draft.evidence
    # As stored (JSON): a tuple in the draft is a list in the store, and must not count as a change.
    if (
        "seals" in before
        and tables <= set(before.get("seals_tables") or ())
        and without_grounds(before) == _as_stored(draft.evidence)
    ):
        return {**draft.evidence, **{k: before[k] for k in SEAL_KEYS if k in before}}
    start = draft.grounds_from or draft.period_start
    found = grounds(session, tables, start, draft.period_end, ctx.at, ctx.zone)
    return {**draft.evidence, **found}


def _as_stored(evidence: dict[str, Any]) -> Any:
    return json.loads(json.dumps(evidence))


def _apply(
    session: Session,
    rule: Rule,
    drafts: list[FindingDraft],
    at: datetime,
    result: Evaluation,
    scope_start: datetime | None = None,
    ctx: CheckContext | None = None,
) -> None:
    current = {d.fingerprint(rule.id): d for d in drafts}
    known = {
        f.fingerprint: f
        for f in session.scalars(
            select(Finding).where(
                (Finding.rule_id == rule.id)
                & ((Finding.status.in_(ACTIVE)) | Finding.fingerprint.in_(list(current)))
            )
        )
    }
    for fp, draft in current.items():
        finding = known.get(fp)
        severity = draft.severity or rule.severity
        if finding is None:
            finding = Finding(
                fingerprint=fp,
                rule_id=rule.id,
                check=rule.check.name,
                area=rule.check.area,
                severity=severity,
                status="open",
                subject=draft.subject,
                period_start=draft.period_start,
                period_end=draft.period_end,
                summary=draft.summary,
                evidence=_grounded(session, ctx, draft, None),
                first_seen=at,
                last_seen=at,
                notified_status="",
                thread_message_id="",
            )
            session.add(finding)
            session.flush()
            _event(session, finding, at, "opened", reason=draft.summary)
            result.opened.append(finding.id)
            if draft.ended:  # judged after its period was over: a finding about that period, already closed
                _end(session, finding, at, result)
            continue
        finding.last_seen = max(finding.last_seen, at)
        evidence = _grounded(session, ctx, draft, finding.evidence)
        finding.summary, finding.evidence, finding.severity = draft.summary, evidence, severity
        if draft.ended:
            if finding.status in ACTIVE:
                _end(session, finding, at, result)
            continue
        if finding.status == "resolved":
            finding.status, finding.resolved_at = "open", None
            _event(session, finding, at, "reopened", reason=draft.summary)
            result.reopened.append(finding.id)
        elif finding.status == "silenced" and finding.silenced_until and finding.silenced_until <= at:
            finding.status, finding.silenced_until = "open", None
            _event(session, finding, at, "unsilenced", reason="silence ended")
        result.still_open += 1
    for fp, finding in known.items():
        if fp not in current and finding.status in ACTIVE:
            if scope_start is not None and finding.period_start is not None:
                if from_store(finding.period_start) < scope_start:  # outside what the check judged
                    continue
            finding.status, finding.resolved_at, finding.silenced_until = "resolved", at, None
            _event(session, finding, at, "resolved")
            result.resolved.append(finding.id)


def evaluate(
    store: Store,
    rules: RuleSet,
    at: datetime | None = None,
    *,
    zone: ZoneInfo,
    language: str = "zh",
    dry_run: bool = False,
) -> Evaluation:
    """Prepare the evidence (BEFORE_JUDGING), then run every enabled rule once at `at` (default now) and
    update the findings. The daemon's evaluate job, `check --at` and each day of a replay all come here."""
    at = at or utcnow()
    result = Evaluation(at=at)
    _prepare(store, at, result)
    memo: dict[str, Any] = {}  # CheckContext.memo: one for all the checks of this evaluation
    for rule in rules.enabled:
        with store.session() as session:
            ctx = CheckContext(
                session=session, at=at, zone=zone, contract=rules.contract, language=language, memo=memo
            )
            try:
                drafts = list(rule.check.fn(ctx, rule.params))
            except Exception as exc:  # a broken check is reported, never fatal
                log.error("check failed", rule=rule.id, check=rule.check.name, error=str(exc), exc_info=True)
                result.failed_rules[rule.id] = f"{type(exc).__name__}: {exc}"
                _discard(session)
                continue
            _apply(session, rule, drafts, at, result, ctx.scope_start, ctx)
            if dry_run:
                _discard(session)
    # Rules removed from the files (or whose terms left the contract) leave their findings behind: resolve
    # them, saying why.
    live = {r.id for r in rules.enabled}
    with store.session() as session:
        # Silences by matcher also cover what opened in this evaluation.
        result.silenced = silences.apply(session, at)
        for finding in session.scalars(select(Finding).where(Finding.status.in_(ACTIVE))):
            if finding.rule_id not in live:
                rule = rules.get(finding.rule_id)
                why = (
                    rules.off_reason(rule) if rule and rule.enabled else None
                ) or "rule removed or disabled"
                finding.status, finding.resolved_at = "resolved", at
                _event(session, finding, at, "resolved", reason=why)
                result.resolved.append(finding.id)
        if dry_run:
            _discard(session)
    return result


def _discard(session: Session) -> None:
    """Roll back what this session wrote, leaving what it read readable.

    A rollback expires every object of the session, and the session closes right after: an object a check
    keeps for the next ones (`ctx.memo`, the staffing view of one evaluation) would then fail on its next
    attribute with DetachedInstanceError. Detaching the objects first keeps them as they were read.
    """
    session.expunge_all()
    session.rollback()


ENDED_REASON = "the period it is about has ended (the violation stopped); the finding keeps that period"


def _end(session: Session, finding: Finding, at: datetime, result: Evaluation) -> None:
    finding.status, finding.resolved_at, finding.silenced_until = "resolved", at, None
    _event(session, finding, at, "resolved", reason=ENDED_REASON)
    result.resolved.append(finding.id)


def _prepare(store: Store, at: datetime, result: Evaluation) -> None:
    """Run the steps before judging; a failing step is logged and reported, and the checks still run."""
    for name, step in BEFORE_JUDGING.items():
        with store.session() as session:
            try:
                result.prepared[name] = step(session, at)
            except Exception as exc:
                log.error("step before judging failed", step=name, error=str(exc), exc_info=True)
                result.failed_steps[name] = f"{type(exc).__name__}: {exc}"
                session.rollback()


def replay(
    store: Store, rules: RuleSet, since: date, until: date, *, zone: ZoneInfo, language: str = "zh"
) -> list[Evaluation]:
    """Evaluate at the end of each site-local day from `since` to `until`, as the daemon would have live."""
    if until < since:
        raise ValueError(f"--until {until} is before --since {since}")
    now = utcnow()
    results = []
    day = since
    while day <= until:
        _, end = local_day_bounds(day, zone)
        at = min(end - timedelta(microseconds=1), now)
        results.append(evaluate(store, rules, at, zone=zone, language=language))
        if end > now:
            break
        day += timedelta(days=1)
    return results


def _get(session: Session, finding_id: int) -> Finding:
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise FindingError(f"no finding with id {finding_id}")
    return finding


def acknowledge(store: Store, finding_id: int, by: str, why: str, at: datetime | None = None) -> Finding:
    at = at or utcnow()
    with store.session() as session:
        finding = _get(session, finding_id)
        if finding.status == "resolved":
            raise FindingError(f"finding {finding_id} is already resolved")
        finding.status = "acknowledged"
        _event(session, finding, at, "acknowledged", actor=by, reason=why)
        return finding


def unacknowledge(store: Store, finding_id: int, by: str, why: str, at: datetime | None = None) -> Finding:
    """Take an acknowledgement back: the finding is open again (and news again to the notifier)."""
    at = at or utcnow()
    with store.session() as session:
        finding = _get(session, finding_id)
        if finding.status != "acknowledged":
            raise FindingError(f"finding {finding_id} is {finding.status}, not acknowledged")
        finding.status = "open"
        _event(session, finding, at, "unacknowledged", actor=by, reason=why)
        return finding


def silence(
    store: Store, finding_id: int, until: datetime, by: str, why: str, at: datetime | None = None
) -> Finding:
    at = at or utcnow()
    if until <= at:
        raise FindingError("a silence must end in the future")
    with store.session() as session:
        finding = _get(session, finding_id)
        if finding.status == "resolved":
            raise FindingError(f"finding {finding_id} is already resolved")
        finding.status, finding.silenced_until = "silenced", until
        _event(session, finding, at, "silenced", actor=by, reason=why, until=until)
        return finding
