"""Silences by matcher: "everything of rule X on subjects like Y, for a week, because Z" (Alertmanager's silences).

A silence names any of rule, check, area, severity and a subject pattern (shell-style: `JWY-VM-*`,
`2026-11-0? 夜班`); a finding matches when every given matcher holds. While a silence is active, every active
finding it matches is silenced until the silence ends (with an event naming the silence, who and why), so it is
not re-sent; findings that open during the silence are silenced as they open. When the silence ends, the
findings open again if they still hold (the engine's usual silence expiry), and are news again.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.core.timeutil import from_store, utcnow
from ops_watch.findings.registry import AREAS, SEVERITIES
from ops_watch.store import Store
from ops_watch.store.schema import Finding, FindingEvent, Silence

MATCHERS = ("rule", "check", "area", "severity", "subject")


class SilenceError(ValueError):
    """A silence that cannot be made: say what to fix."""


@dataclass(frozen=True)
class Matchers:
    rule: str = ""
    check: str = ""
    area: str = ""
    severity: str = ""
    subject: str = ""  # a shell-style pattern

    def matches(self, finding: Finding) -> bool:
        return (
            (not self.rule or finding.rule_id == self.rule)
            and (not self.check or finding.check == self.check)
            and (not self.area or finding.area == self.area)
            and (not self.severity or finding.severity == self.severity)
            and (not self.subject or fnmatch.fnmatchcase(finding.subject, self.subject))
        )

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in MATCHERS if getattr(self, k)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Matchers:
        return cls(**{k: str(v) for k, v in data.items() if k in MATCHERS})


def validate(m: Matchers, known_rules: set[str] | None = None) -> None:
    if not m.as_dict():
        raise SilenceError("give at least one of --rule, --check, --area, --severity, --subject")
    if m.area and m.area not in AREAS:
        raise SilenceError(f"--area {m.area!r}: not an area ({', '.join(AREAS)})")
    if m.severity and m.severity not in SEVERITIES:
        raise SilenceError(f"--severity {m.severity!r}: not a severity ({', '.join(SEVERITIES)})")
    if known_rules is not None and m.rule and m.rule not in known_rules:
        raise SilenceError(f"--rule {m.rule!r}: no such rule (ops-watch rules list shows them)")


def create(
    store: Store, m: Matchers, ends_at: datetime, by: str, why: str, at: datetime | None = None
) -> tuple[Silence, int]:
    """Store a silence and silence what it matches now; returns it and how many findings it silenced."""
    at = at or utcnow()
    if ends_at <= at:
        raise SilenceError("a silence must end in the future")
    with store.session() as session:
        silence = Silence(
            matchers=m.as_dict(), starts_at=at, ends_at=ends_at, created_by=by, reason=why, created_at=at
        )
        session.add(silence)
        session.flush()
        count = _apply(session, [silence], at)
        session.expunge(silence)
    return silence, count


def expire(store: Store, silence_id: int, by: str, why: str, at: datetime | None = None) -> int:
    """End a silence now: the findings it silenced open again (with an event saying who ended it and why).
    Returns how many; a SilenceError when there is no such silence or it has already ended.

    They open at once rather than at the next evaluation, so `findings list` shows them open right after;
    one that no longer holds is resolved by the next evaluation, as any open finding. One that another active
    silence also matches is silenced by that one at once, as the next evaluation would."""
    at = at or utcnow()
    with store.session() as session:
        silence = session.get(Silence, silence_id)
        if silence is None:
            raise SilenceError(f"no silence #{silence_id} (ops-watch findings silences --all lists them)")
        ends = from_store(silence.ends_at)
        assert ends is not None
        if ends <= at:
            raise SilenceError(f"silence #{silence_id} has already ended (at {ends.isoformat()})")
        silence.ends_at = at
        m = Matchers.from_dict(silence.matchers)
        count = 0
        for finding in session.scalars(select(Finding).where(Finding.status == "silenced")):
            if _silenced_by(finding, ends, m):
                _reopen(session, finding, at, by, f"silence #{silence_id} ended early: {why}")
                count += 1
        session.flush()
        _apply(session, [s for s in active(session, at) if s.id != silence_id], at)
    return count


def unsilence(store: Store, finding_id: int, by: str, why: str, at: datetime | None = None) -> None:
    """End the silence of one finding (`findings silence ID`) now: it is open again. A SilenceError when
    there is no such finding, it is not silenced, or an active silence by matcher holds it (that silence is
    named: ending only the finding's would be undone by the next evaluation)."""
    at = at or utcnow()
    with store.session() as session:
        finding = session.get(Finding, finding_id)
        if finding is None:
            raise SilenceError(f"no finding with id {finding_id}")
        if finding.status != "silenced":
            raise SilenceError(f"finding {finding_id} is {finding.status}, not silenced")
        for silence in active(session, at):
            if _silenced_by(finding, from_store(silence.ends_at), Matchers.from_dict(silence.matchers)):
                raise SilenceError(
                    f"finding {finding_id} is silenced by silence #{silence.id} "
                    f"({', '.join(f'{k}={v}' for k, v in silence.matchers.items())}): end that one with "
                    f"`ops-watch findings silence --expire {silence.id}`"
                )
        _reopen(session, finding, at, by, why)


def _silenced_by(finding: Finding, ends: datetime | None, m: Matchers) -> bool:
    """A silence by matcher made this finding's silence: it matches, and the finding is silenced until the
    silence's end (a finding's own silence has its own end)."""
    return from_store(finding.silenced_until) == ends and m.matches(finding)


def _reopen(session: Session, finding: Finding, at: datetime, by: str, reason: str) -> None:
    finding.status, finding.silenced_until = "open", None
    session.add(FindingEvent(finding_id=finding.id, at=at, action="unsilenced", actor=by, reason=reason))


def active(session: Session, at: datetime) -> list[Silence]:
    return list(
        session.scalars(
            select(Silence).where(Silence.starts_at <= at, Silence.ends_at > at).order_by(Silence.id)
        )
    )


def apply(session: Session, at: datetime) -> int:
    """Silence every active finding an active silence matches (the engine calls this after each evaluation)."""
    silences = active(session, at)
    return _apply(session, silences, at) if silences else 0


def _apply(session: Session, silences: list[Silence], at: datetime) -> int:
    count = 0
    compiled = [(s, Matchers.from_dict(s.matchers)) for s in silences]
    for finding in session.scalars(select(Finding).where(Finding.status == "open")):
        for silence, m in compiled:
            if m.matches(finding):
                until = from_store(silence.ends_at)
                finding.status, finding.silenced_until = "silenced", until
                session.add(
                    FindingEvent(
                        finding_id=finding.id,
                        at=at,
                        action="silenced",
                        actor=silence.created_by,
                        reason=f"silence #{silence.id}: {silence.reason}",
                        until=until,
                    )
                )
                count += 1
                break
    return count


__all__ = [
    "MATCHERS",
    "Matchers",
    "SilenceError",
    "active",
    "apply",
    "create",
    "expire",
    "unsilence",
    "validate",
]
