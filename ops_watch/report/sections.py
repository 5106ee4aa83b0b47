"""Where the report's areas plug in: each area registers a builder that adds its figures, tables and charts.

The report core (gather.py) gives every area its findings, status and overdue list from the findings table;
a builder adds what only that area knows. A new area registers here and needs nothing else of the core; an
area that has findings but no builder still gets its section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ops_watch.config import Config
from ops_watch.core.registry import Registry
from ops_watch.core.vocabulary import AREA_ZH, text
from ops_watch.report.model import Chart, Figure, FindingLine, Gap, Table, Week


@dataclass
class AreaContext:
    session: Session
    config: Config
    contract: Mapping[str, Any]
    week: Week
    language: str
    font: Path | None  # a CJK font for the charts, None when the machine has none
    gaps: list[Gap]  # the week's evidence gaps (gathered once; the evidence area shows them)
    lines: list[FindingLine]  # the week's findings as of its end (gathered once)

    @property
    def zone(self) -> ZoneInfo:
        return self.week.zone

    @property
    def previous(self) -> Week:
        return self.week.shifted(-1)

    @property
    def max_rows(self) -> int:
        return self.config.report.max_rows

    def t(self, zh: str, en: str) -> str:
        return text(self.language, zh, en)


@dataclass
class AreaData:
    """What a builder adds. `has_evidence` False (and no findings): the area says "no evidence this week"."""

    has_evidence: bool
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Builder = Callable[[AreaContext], AreaData]


@dataclass(frozen=True)
class AreaSpec:
    key: str
    order: int
    title_zh: str
    title_en: str
    build: Builder | None

    def title(self, language: str) -> str:
        return self.title_zh if language == "zh" else self.title_en


SECTIONS: Registry[AreaSpec] = Registry("report section")


def report_area(key: str, order: int, title_zh: str, title_en: str) -> Callable[[Builder], Builder]:
    """Register `fn` as the builder of area `key` (the `area` of its checks' findings)."""
    return SECTIONS.decorator(key, lambda fn: AreaSpec(key, order, title_zh, title_en, fn))


def spec_for(key: str) -> AreaSpec:
    """A registered area, or a plain one for findings of an area without a builder."""
    if key in SECTIONS:
        return SECTIONS[key]
    return AreaSpec(key, 1000, AREA_ZH.get(key, key or "其他"), key or "other", None)
