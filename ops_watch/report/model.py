"""What a weekly report holds, built for one language: the areas with their figures, findings, tables and
charts, and the evidence gaps. Plain data: `gather` fills it from the store, the renderers (HTML, text,
XLSX, charts) only read it, so the same store gives the same report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from ops_watch.core.when import parse_week

if TYPE_CHECKING:
    from ops_watch.trail.chain import Head

Status = Literal["green", "amber", "red", "none"]  # none: the area had no evidence at all that week
CellKind = Literal["text", "int", "float", "pct", "money", "date", "datetime"]


@dataclass(frozen=True)
class Week:
    """An ISO week (Monday to Sunday) at the site; `start`/`end` are its UTC bounds, end exclusive."""

    year: int
    number: int
    zone: ZoneInfo

    @property
    def iso(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, time(), tzinfo=self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.monday + timedelta(days=7), time(), tzinfo=self.zone).astimezone(UTC)

    def shifted(self, weeks: int) -> Week:
        return Week.containing(self.monday + timedelta(weeks=weeks), self.zone)

    @classmethod
    def containing(cls, day: date, zone: ZoneInfo) -> Week:
        year, number, _ = day.isocalendar()
        return cls(year, number, zone)

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Week:
        """'2026-W47' (or 2026W47, 2026年第47周: core.when.parse_week); a ValueError says what to write."""
        year, number = parse_week(text)
        return cls(year, number, zone)

    @classmethod
    def last_complete(cls, now: datetime, zone: ZoneInfo) -> Week:
        """The latest week that has ended by `now` (on Monday morning: the week before)."""
        return cls.containing(now.astimezone(zone).date(), zone).shifted(-1)


@dataclass(frozen=True)
class Figure:
    """A key figure with last week's beside it. `value` None: no evidence to compute it from."""

    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str = ""  # "%", "vCPU", "GB", "元", ...
    better: Literal["up", "down", ""] = ""  # which way is an improvement; "" = neither
    decimals: int = 1
    note: str = ""  # how it was computed, or why it is missing (e.g. "13/15 个班次")

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend(self) -> Literal["better", "worse", "same", ""]:
        change = self.change
        if change is None or not self.better:
            return ""
        if abs(change) < 0.5 * 10**-self.decimals:
            return "same"
        return "better" if (change > 0) == (self.better == "up") else "worse"


@dataclass(frozen=True)
class FindingLine:
    id: int
    area: str
    check: str
    severity: str  # info | warning | critical
    subject: str
    summary: str
    # When the problem began: the start of the period it is about (a shift, a look-back window) when that is
    # earlier than when ops-watch first saw it (evidence that arrived late). "Opened in the week" uses it.
    opened_at: datetime  # aware UTC
    first_seen: datetime  # aware UTC: when ops-watch first saw it (the rectification clock starts here)
    resolved_at: datetime | None
    status: str  # as of the week's end: open | acknowledged | silenced | resolved
    age_days: float  # from opened_at to the week's end (or until resolved)
    deadline: datetime | None  # when it should have been rectified (contract [rectification])
    overdue: bool  # still open at the week's end, past its deadline


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: CellKind = "text"
    width: int = 0  # characters in the XLSX; 0 = from the content
    mail: bool = True  # shown in the email's table too (the XLSX has every column): keep it 600 px wide


@dataclass
class Table:
    """One table of the report: also one sheet of the XLSX (`sheet` names it, at most 31 characters)."""

    key: str
    title: str
    sheet: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""  # shown under the table (e.g. "前 50 条，全部见附件")
    # XLSX only: a second header line by column key (e.g. a day's weekday under its number), and how many
    # columns stay in view when scrolling right (e.g. the names)
    subtitles: dict[str, str] = field(default_factory=dict)
    freeze_columns: int = 0


@dataclass
class Chart:
    key: str
    title: str
    png: bytes
    alt: str  # what the chart says, for readers without images


@dataclass
class AreaReport:
    key: str  # resources | staffing | continuity | governance | evidence ...
    title: str
    status: Status
    figures: list[Figure] = field(default_factory=list)
    opened: list[FindingLine] = field(default_factory=list)  # opened_at in the week
    resolved: list[FindingLine] = field(default_factory=list)  # resolved in the week
    still_open: list[FindingLine] = field(default_factory=list)  # open at the week's end, oldest first
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def overdue(self) -> list[FindingLine]:
        return [f for f in self.still_open if f.overdue]


@dataclass(frozen=True)
class Gap:
    """Evidence that did not arrive or did not fit: a silent source, a rejected file, refused rows, a dead
    message (an alert that never reached anyone)."""

    kind: Literal["silent_source", "rejected_file", "refused_rows", "dead_message"]
    subject: str
    detail: str
    at: datetime | None


@dataclass
class Trend:
    """Findings opened and resolved per area over the last weeks (oldest first)."""

    weeks: list[str]
    areas: list[str]  # area keys
    area_titles: dict[str, str]
    opened: dict[str, list[int]]
    resolved: dict[str, list[int]]


@dataclass
class WeeklyReport:
    week: Week
    language: str
    site: str
    areas: list[AreaReport]
    gaps: list[Gap]
    trend: Trend
    charts: list[Chart] = field(default_factory=list)  # report-wide (the findings trend)
    tables: list[Table] = field(default_factory=list)  # report-wide (all findings, gaps)
    notes: list[str] = field(default_factory=list)  # about the report itself (e.g. no CJK font for charts)
    # The evidence trail's heads as of the build and their printed code ("" without seals): report/trail.py
    trail: list[Head] = field(default_factory=list)
    trail_code: str = ""

    @property
    def empty(self) -> bool:
        """No evidence and no finding at all in the week: the report says so instead of showing zeros."""
        return all(a.status == "none" for a in self.areas) and not self.gaps

    @property
    def status(self) -> Status:
        order = {"none": 0, "green": 1, "amber": 2, "red": 3}
        return max((a.status for a in self.areas), key=order.__getitem__, default="none")

    def all_tables(self) -> list[Table]:
        return [*self.tables, *(t for a in self.areas for t in a.tables)]

    def all_charts(self) -> list[Chart]:
        return [*(c for a in self.areas for c in a.charts), *self.charts]
