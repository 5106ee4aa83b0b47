"""How long the contractor has to rectify a finding, by severity (contract.toml [rectification]).

A finding still open past `first_seen + its severity's term` is overdue: the weekly report lists it, and the
contractor score (findings resolved within their deadline) counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import field_validator
from sqlalchemy import and_, or_

from ops_watch.core.contract import CONTRACT_SECTIONS
from ops_watch.core.models import Strict
from ops_watch.core.timeutil import parse_duration
from ops_watch.store.schema import Finding


class RectificationSection(Strict):
    """Terms per severity, as durations ("24h", "7d"). Defaults: a day, a week, a month."""

    critical: timedelta = timedelta(days=1)
    warning: timedelta = timedelta(days=7)
    info: timedelta = timedelta(days=30)

    @field_validator("critical", "warning", "info", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("critical", "warning", "info")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError('must be longer than zero, e.g. "24h" or "7d"')
        return value

    def term(self, severity: str) -> timedelta:
        return getattr(self, severity, self.info)


CONTRACT_SECTIONS.add("rectification", RectificationSection)


def rectification_terms(contract: Mapping[str, Any]) -> RectificationSection:
    section = contract.get("rectification")
    if isinstance(section, RectificationSection):
        return section
    if isinstance(section, Mapping):
        return RectificationSection.model_validate(dict(section))
    return RectificationSection()


def deadline(first_seen: datetime, severity: str, terms: RectificationSection) -> datetime:
    return first_seen + terms.term(severity)


def due_before(moment: datetime, terms: RectificationSection) -> Any:
    """SQL: a finding's rectification deadline (first seen + its severity's term) is before `moment` (the
    console's overdue list and /metrics count by it; `deadline` is the same rule in Python)."""
    named = ("critical", "warning", "info")
    return or_(
        *(and_(Finding.severity == sev, Finding.first_seen < moment - terms.term(sev)) for sev in named),
        and_(Finding.severity.notin_(named), Finding.first_seen < moment - terms.term("")),
    )
