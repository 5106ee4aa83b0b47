"""The check registry: a check is a plain function registered under a name with its params model.

Rule files (data only) name a check and give its params; the registry validates both at load, so an
unknown check or a wrong param is caught before anything runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from ops_watch.core.models import NoParams, Strict
from ops_watch.core.registry import Registry
from ops_watch.core.vocabulary import AREAS, SEVERITIES, text
from ops_watch.trail.grounds import known_by

# Base of every check's params: unknown keys are errors.
Params = Strict


@dataclass
class CheckContext:
    session: Session
    at: datetime  # evaluation time, aware UTC; checks see only evidence up to it
    zone: ZoneInfo
    contract: dict[str, Any]
    language: str = "zh"
    # Set by a check that judges only a window (e.g. the shifts of the last 35 days): its findings about
    # periods that start before this time are left as they are, not resolved because the window moved on.
    scope_start: datetime | None = None
    # Shared by every check of one evaluation (engine.evaluate creates it once; all see the same evidence):
    # what several checks read alike is read once. Keys are "<area>.<what>", e.g. "resources.daily".
    memo: dict[str, Any] = field(default_factory=dict)
    # The batch tables this check read through `arrived` (one context per check): the engine names the seals of
    # their batches in each finding's evidence, what the finding rests on (trail/grounds.py).
    tables_read: set[str] = field(default_factory=set)

    def t(self, zh: str, en: str) -> str:
        """Pick the user's language for a summary."""
        return text(self.language, zh, en)

    def reads(self, *models: Any) -> None:
        """Note batch tables the check judges by without going through `arrived` (a view kept for several
        checks, read once by the first): the finding's evidence names their seals too."""
        self.tables_read.update(m.__table__.name for m in models)

    def arrived(self, model: Any) -> ColumnElement[bool]:
        """A WHERE clause keeping the rows of `model` (a table with batch_id) whose evidence had arrived by `at`
        (the batch's known_from, see EvidenceBatch): a check as of a past time never judges by a file that came
        later, so a replay says what the daemon would have said then. Rows without a batch are kept.
        The table is noted as read (`tables_read`): the finding's evidence names the seals it rests on."""
        self.tables_read.add(model.__table__.name)
        return or_(model.batch_id.is_(None), model.batch_id.in_(known_by(self.at)))


@dataclass
class FindingDraft:
    """What a check reports; the engine turns it into a finding with a lifecycle."""

    subject: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    period_start: datetime | None = None
    period_end: datetime | None = None
    severity: str | None = None  # None: the rule's severity
    # A violation episode that was over when it was judged (a failure streak that later recovered, a silence
    # that the evidence later broke): the finding is recorded about its period and resolved at once, and one
    # still open is resolved. So a month judged once at its end and the same month replayed day by day record
    # the same findings (rule, subject, period).
    ended: bool = False
    # Where the evidence the finding rests on starts, when before its period: a deadline missed rests on the
    # record (or the plan) that set it (trail/grounds.py, the seals a finding names). None: its period's start.
    grounds_from: datetime | None = None

    def fingerprint(self, rule_id: str) -> str:
        parts = [
            rule_id,
            self.subject,
            self.period_start.isoformat() if self.period_start else "",
            self.period_end.isoformat() if self.period_end else "",
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


CheckFn = Callable[[CheckContext, Any], Iterable[FindingDraft]]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    fn: CheckFn
    params: type[Params]
    area: str
    example: str  # a TOML rule using this check; a test loads every example
    # The contract section (contract.toml table) holding the terms this check judges: a contract without it
    # never agreed to them, so the check does not run. None: the check judges evidence alone.
    terms: str | None = None


CHECKS: Registry[CheckSpec] = Registry("check")


def check(
    name: str, *, params: type[Params], area: str, example: str, terms: str | None = None
) -> Callable[[CheckFn], CheckFn]:
    """Register a check function under `name`; `terms` names the contract section it judges, if any."""
    if area not in AREAS:
        raise ValueError(f"check {name}: unknown area {area!r}")

    return CHECKS.decorator(
        name,
        lambda fn: CheckSpec(
            name=name, fn=fn, params=params, area=area, example=example.strip(), terms=terms
        ),
    )


# Steps run before the checks at every evaluation, live or replayed (e.g. rolling new utilization samples up
# into hours): name -> fn(session, at) returning how many things it did. Evidence stored but not yet prepared
# must never look missing to a check, so the engine runs these first, on every path.
PrepareFn = Callable[[Session, datetime], int]
BEFORE_JUDGING: Registry[PrepareFn] = Registry("step before judging")


__all__ = [
    "AREAS",
    "BEFORE_JUDGING",
    "CHECKS",
    "CheckContext",
    "CheckFn",
    "CheckSpec",
    "FindingDraft",
    "NoParams",
    "Params",
    "SEVERITIES",
    "check",
]
