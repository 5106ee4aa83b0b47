"""Audit materials the contractor must hand in (审计材料报送, R6): contract.toml `[audit]`, deadlines, timeliness.

Each material has a cadence (monthly, quarterly, yearly) and a deadline: `due_day` (that day of the month after
the period ends: 5 -> October's report is due by November 5) or `due_days` (days after the period's last day:
10 -> Q3's scan is due by October 10). A deadline is the END of that day, site time; `grace` (default 0) is
slack added to every deadline before a submission is late or missing.

A submission is a row of AuditSubmission: from the register (审计材料报送登记) or a document dropped in the
folder (its arrival time). Per material and period, the FIRST submission time decides: on time, late; no row
at all is missing; rows none of which has a time are "unrecorded" - exactly what the evaluators could not
verify, so the timeliness rate (报送及时率) counts them as not on time.

A register that writes only a date (2026-11-04) is taken as the end of that day (deadlines are whole days, so
the date alone still decides on time or late) and kept as 23:59:59.999999 site time: the marker by which
ops-watch shows it as "date only" (仅日期) wherever it is listed.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_watch.core.contract import CONTRACT_SECTIONS, ContractMeta, section_of
from ops_watch.core.models import Strict
from ops_watch.core.timeutil import as_utc, format_local, from_store, local_day_bounds, parse_duration
from ops_watch.core.vocabulary import text as _t
from ops_watch.findings.indicators import IndicatorInputs, IndicatorValue, indicator, percent
from ops_watch.store.schema import AuditSubmission

Cadence = Literal["monthly", "quarterly", "yearly"]
CADENCE_ZH = {"monthly": "月度", "quarterly": "季度", "yearly": "年度"}
# How far back a deadline can lie from its period's last day: due_days is at most 366, due_day a month.
_LONGEST_OFFSET = timedelta(days=370)


def fold(text: str) -> str:
    """How names written by people are compared: width- and case-folded, without spaces, _, - or ·."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "_-·")


class AuditMaterial(Strict):
    """One material: `key` is what the store keeps; the names are how a register or a file may call it."""

    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(default="", max_length=128)
    aliases: tuple[str, ...] = ()
    cadence: Cadence
    due_day: int | None = Field(default=None, ge=1, le=31)
    due_days: int | None = Field(default=None, ge=0, le=366)
    start: date | None = None

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for alias in value:
            if not fold(alias):
                raise ValueError("an empty alias names nothing: remove it")
        return value

    @model_validator(mode="after")
    def _one_deadline(self) -> AuditMaterial:
        if (self.due_day is None) == (self.due_days is None):
            raise ValueError(
                f"material {self.key}: give its deadline as ONE of due_day (that day of the month after the "
                f"period, e.g. due_day = 5) or due_days (days after the period ends, e.g. due_days = 10)"
            )
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.key, self.name_zh, self.name_en, *self.aliases) if n)

    def name(self, language: str) -> str:
        return self.name_zh if language == "zh" or not self.name_en else self.name_en

    def deadline_text(self, language: str) -> str:
        if self.due_day is not None:
            return f"次月 {self.due_day} 日" if language == "zh" else f"day {self.due_day} of the next month"
        return (
            f"期末后 {self.due_days} 天"
            if language == "zh"
            else f"{self.due_days} days after the period ends"
        )


class AuditSection(Strict):
    """contract.toml `[audit]`: the materials and the slack allowed on every deadline."""

    grace: timedelta = timedelta(0)
    materials: tuple[AuditMaterial, ...] = ()

    @field_validator("grace", mode="before")
    @classmethod
    def _grace(cls, value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            try:
                return parse_duration(value)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("grace")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError('cannot be negative: write e.g. "0h" or "2h"')
        return value

    @field_validator("materials")
    @classmethod
    def _distinct(cls, value: tuple[AuditMaterial, ...]) -> tuple[AuditMaterial, ...]:
        owner: dict[str, str] = {}
        for material in value:
            if material.key in {m.key for m in value if m is not material}:
                raise ValueError(f"material key {material.key!r} is listed twice")
            for name in material.names:
                other = owner.setdefault(fold(name), material.key)
                if other != material.key:
                    raise ValueError(
                        f"the name {name!r} is used by materials {other} and {material.key}: give each "
                        f"material names of its own"
                    )
        return value

    def get(self, key: str) -> AuditMaterial | None:
        return next((m for m in self.materials if m.key == key), None)

    def known_text(self, language: str) -> str:
        if not self.materials:
            return (
                "合同未列出审计材料（contract.toml 的 [audit] materials）"
                if language == "zh"
                else "the contract lists no audit materials ([audit] materials in contract.toml)"
            )
        if language == "zh":
            return "、".join(f"{m.name_zh}（{m.key}）" for m in self.materials)
        return ", ".join(f"{m.name_en or m.name_zh} ({m.key})" for m in self.materials)


CONTRACT_SECTIONS.add("audit", AuditSection)


def audit_terms(contract: Mapping[str, Any]) -> AuditSection:
    return section_of(contract, "audit", AuditSection)


# --- names -------------------------------------------------------------------------------------------


def resolve_material(terms: AuditSection, text: str) -> AuditMaterial | None:
    """The material a name written by people means: its key, Chinese or English name, or an alias."""
    wanted = fold(text)
    if not wanted:
        return None
    return next((m for m in terms.materials if wanted in {fold(n) for n in m.names}), None)


def materials_named_in(terms: AuditSection, text: str) -> list[AuditMaterial]:
    """The materials whose names occur in `text` (a file name). A name found inside a longer name of another
    material does not count: "安全审计报告" inside "月度安全审计报告" is the longer one's."""
    haystack = fold(text)
    spans: list[tuple[int, int, AuditMaterial]] = []
    for material in terms.materials:
        for name in material.names:
            needle = fold(name)
            at = haystack.find(needle)
            while at >= 0:
                spans.append((at, at + len(needle), material))
                at = haystack.find(needle, at + 1)
    kept = [
        (a, b, m)
        for a, b, m in spans
        if not any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) and m2 is not m for a2, b2, m2 in spans)
    ]
    found: list[AuditMaterial] = []
    for _, _, m in kept:
        if m not in found:
            found.append(m)
    return found


# --- periods and deadlines ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    """A material's period: a month (2026-10), a quarter (2026-Q3) or a year (2026), with its site days."""

    first: date
    last: date
    key: str
    cadence: str


def period_for(cadence: str, day: date) -> Period:
    """The period of `cadence` that contains `day`."""
    if cadence == "monthly":
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        return Period(day.replace(day=1), last, f"{day.year:04d}-{day.month:02d}", cadence)
    if cadence == "quarterly":
        quarter = (day.month - 1) // 3 + 1
        end_month = quarter * 3
        last = date(day.year, end_month, calendar.monthrange(day.year, end_month)[1])
        return Period(date(day.year, end_month - 2, 1), last, f"{day.year:04d}-Q{quarter}", cadence)
    if cadence == "yearly":
        return Period(date(day.year, 1, 1), date(day.year, 12, 31), f"{day.year:04d}", cadence)
    raise ValueError(f"unknown cadence {cadence!r} (monthly, quarterly or yearly)")


_KEY_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_KEY_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_KEY_YEAR = re.compile(r"^(\d{4})$")


def parse_period(key: str) -> Period:
    """A stored period key ("2026-10", "2026-Q3", "2026") -> its Period; ValueError for anything else."""
    if m := _KEY_MONTH.match(key):
        month = int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"{key!r}: no month {month}")
        return period_for("monthly", date(int(m[1]), month, 1))
    if m := _KEY_QUARTER.match(key):
        return period_for("quarterly", date(int(m[1]), int(m[2]) * 3, 1))
    if m := _KEY_YEAR.match(key):
        return period_for("yearly", date(int(m[1]), 1, 1))
    raise ValueError(f"{key!r} is not a period (2026-10, 2026-Q3 or 2026)")


def cadence_of(key: str) -> str:
    return parse_period(key).cadence


def next_period(period: Period) -> Period:
    return period_for(period.cadence, period.last + timedelta(days=1))


def due_date(material: AuditMaterial, period: Period) -> date:
    """The last day to hand in `period`'s material. due_day past the month's end is its last day (31 in
    a 30-day month: the 30th)."""
    if material.due_day is not None:
        following = period.last + timedelta(days=1)
        last_day = calendar.monthrange(following.year, following.month)[1]
        return following.replace(day=min(material.due_day, last_day))
    assert material.due_days is not None
    return period.last + timedelta(days=material.due_days)


def deadline(material: AuditMaterial, period: Period, zone: ZoneInfo) -> datetime:
    """The end of the due day at the site, aware UTC: a submission before it is on time."""
    return local_day_bounds(due_date(material, period), zone)[1]


def required_span(material: AuditMaterial, contract: Mapping[str, Any]) -> tuple[date | None, date | None]:
    """The days whose periods the material is owed for: from its `start` (else the contract's start) to the
    contract's end; None where the contract says nothing."""
    meta = contract.get("contract")
    start = meta.start if isinstance(meta, ContractMeta) else None
    end = meta.end if isinstance(meta, ContractMeta) else None
    return material.start or start, end


def periods_overlapping(
    material: AuditMaterial, contract: Mapping[str, Any], first: date, last: date
) -> Iterator[Period]:
    """The material's required periods that overlap [first, last] (days)."""
    since, until = required_span(material, contract)
    if since is not None and since > first:
        first = since
    if until is not None and until < last:
        last = until
    if first > last:
        return
    period = period_for(material.cadence, first)
    while period.first <= last:
        yield period
        period = next_period(period)


def periods_due(
    material: AuditMaterial,
    contract: Mapping[str, Any],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    grace: timedelta = timedelta(0),
) -> list[Period]:
    """The material's required periods whose deadline (+ grace) falls in (start, end]. A deadline is the end of
    a day, so from the start of day A to the end of day B this is the periods due on A through B, and
    adjoining ranges never count a period twice."""
    first = (start - _LONGEST_OFFSET - grace).astimezone(zone).date()
    last = end.astimezone(zone).date()
    return [
        p
        for p in periods_overlapping(material, contract, first, last)
        if start < deadline(material, p, zone) + grace <= end
    ]


# --- submission times --------------------------------------------------------------------------------


def date_only_time(day: date, zone: ZoneInfo) -> datetime:
    """A submission whose register gives only the day: the end of that day, kept so it reads as date-only."""
    return as_utc(datetime.combine(day, time.max), zone)


def is_date_only(at: datetime, zone: ZoneInfo) -> bool:
    return at.astimezone(zone).time() == time.max


def duration_text(span: timedelta, language: str) -> str:
    """3 days 4 hours / 3 天 4 小时 (minutes only under a day)."""
    total = int(span.total_seconds() // 60)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    zh = language == "zh"
    parts: list[str] = []
    if days:
        parts.append(f"{days} 天" if zh else f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} 小时" if zh else f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} 分钟" if zh else f"{minutes} min")
    return " ".join(parts) or ("不到 1 分钟" if zh else "under a minute")


# --- timeliness --------------------------------------------------------------------------------------

Status = Literal["on_time", "late", "missing", "unrecorded", "not_due"]
STATUS_ZH = {
    "on_time": "按期",
    "late": "迟交",
    "missing": "未报送",
    "unrecorded": "未记录时间",
    "not_due": "未到期",
}


@dataclass(frozen=True)
class Timeliness:
    """One material's period as of `end`: its deadline and what was handed in for it."""

    material: AuditMaterial
    period: Period
    due: date
    deadline: datetime  # aware UTC, the end of `due` at the site
    grace: timedelta
    status: Status
    first_at: datetime | None  # the earliest submission time seen (None: missing or unrecorded)
    date_only: bool  # first_at stands for a day the register gave without a time
    submitted_by: str
    document: str
    source: str  # register | drop | ""
    received: int  # submission rows seen for the period

    @property
    def due_by(self) -> datetime:
        return self.deadline + self.grace

    @property
    def late_by(self) -> timedelta | None:
        if self.status != "late" or self.first_at is None:
            return None
        if self.date_only:  # a day late, not a day minus a microsecond
            return timedelta(days=(self.first_at - self.deadline).days + 1)
        return self.first_at - self.deadline

    def late_text(self, language: str) -> str:
        late = self.late_by
        return "" if late is None else duration_text(late, language)

    def submitted_text(self, zone: ZoneInfo, language: str) -> str:
        zh = language == "zh"
        if self.first_at is None:
            if self.status != "unrecorded":
                return ""
            return "（未记录时间）" if zh else "(no time recorded)"
        if self.date_only:
            day = self.first_at.astimezone(zone).date().isoformat()
            return f"{day}（仅日期）" if zh else f"{day} (date only)"
        return format_local(self.first_at, zone)

    def deadline_text(self, language: str) -> str:
        zh = language == "zh"
        text = f"{self.due.isoformat()}（当天结束）" if zh else f"{self.due.isoformat()} (end of day)"
        if self.grace:
            grace = duration_text(self.grace, language)
            text += f"，宽限 {grace}" if zh else f", grace {grace}"
        return text


@dataclass(frozen=True)
class _Row:
    submitted_at: datetime | None
    submitted_by: str
    document: str
    source: str
    id: int


def _submissions(session: Session, keys: Iterable[str]) -> dict[tuple[str, str], list[_Row]]:
    keys = list(keys)
    out: dict[tuple[str, str], list[_Row]] = defaultdict(list)
    if not keys:
        return out
    query = select(
        AuditSubmission.item,
        AuditSubmission.period,
        AuditSubmission.submitted_at,
        AuditSubmission.submitted_by,
        AuditSubmission.document,
        AuditSubmission.source,
        AuditSubmission.id,
    ).where(AuditSubmission.item.in_(keys))
    for item, period, at, by, document, source, row_id in session.execute(query.order_by(AuditSubmission.id)):
        out[(item, period)].append(_Row(from_store(at), by or "", document or "", source or "", row_id))
    return out


def _judge(
    material: AuditMaterial,
    period: Period,
    rows: list[_Row],
    terms: AuditSection,
    zone: ZoneInfo,
    as_of: datetime,
) -> Timeliness:
    # Evidence up to `as_of` only; a row without a time cannot be placed in time, so it is always seen.
    seen = [r for r in rows if r.submitted_at is None or r.submitted_at <= as_of]
    timed = sorted((r for r in seen if r.submitted_at is not None), key=lambda r: (r.submitted_at, r.id))
    limit = deadline(material, period, zone)
    first = timed[0] if timed else (seen[0] if seen else None)
    at = first.submitted_at if first is not None else None
    status: Status
    if limit + terms.grace > as_of:
        status = "not_due"
    elif at is not None:
        status = "on_time" if at < limit + terms.grace else "late"
    else:
        status = "unrecorded" if seen else "missing"
    return Timeliness(
        material=material,
        period=period,
        due=due_date(material, period),
        deadline=limit,
        grace=terms.grace,
        status=status,
        first_at=at,
        date_only=at is not None and is_date_only(at, zone),
        submitted_by=first.submitted_by if first else "",
        document=first.document if first else "",
        source=first.source if first else "",
        received=len(seen),
    )


def judge(
    session: Session,
    terms: AuditSection,
    zone: ZoneInfo,
    as_of: datetime,
    periods: Iterable[tuple[AuditMaterial, Period]],
) -> list[Timeliness]:
    """Each (material, period) as of `as_of`, in material order then period order."""
    wanted = list(periods)
    stored = _submissions(session, {m.key for m, _ in wanted})
    order = {m.key: i for i, m in enumerate(terms.materials)}
    out = [_judge(m, p, stored.get((m.key, p.key), []), terms, zone, as_of) for m, p in wanted]
    return sorted(out, key=lambda t: (order.get(t.material.key, 0), t.period.first))


def timeliness(
    session: Session,
    contract: Mapping[str, Any],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime | None = None,
    upcoming: bool = False,
) -> list[Timeliness]:
    """One row per (material, period) whose deadline (+ grace) falls in (start, end], judged as of `as_of`
    (default `end`; a period not due by then is not_due, never counted). With `upcoming`, also the periods due
    after `end` that already have a submission seen by `as_of`."""
    as_of = end if as_of is None else as_of
    terms = audit_terms(contract)
    wanted = [
        (m, p) for m in terms.materials for p in periods_due(m, contract, zone, start, end, terms.grace)
    ]
    if upcoming and terms.materials:
        listed = {(m.key, p.key) for m, p in wanted}
        for (item, key), rows in _submissions(session, [m.key for m in terms.materials]).items():
            material = terms.get(item)
            try:
                period = parse_period(key)
            except ValueError:
                continue
            if material is None or period.cadence != material.cadence or (item, key) in listed:
                continue
            visible = any(r.submitted_at is None or r.submitted_at <= as_of for r in rows)
            if visible and deadline(material, period, zone) + terms.grace > end:
                wanted.append((material, period))
    return judge(session, terms, zone, as_of, wanted)


@dataclass(frozen=True)
class Rate:
    """报送及时率 = on time ÷ due; unrecorded counts as not on time (its timeliness cannot be verified)."""

    due: int
    on_time: int
    late: int
    missing: int
    unrecorded: int
    date_only: int  # on time or late by a date the register gave without a time

    @property
    def value(self) -> Decimal | None:
        return percent(self.on_time, self.due)

    def text(self, language: str) -> str:
        value = self.value
        shown = "—" if value is None else f"{value}%"
        if language == "zh":
            return (
                f"报送及时率：{shown}（按期 {self.on_time} / 应报送 {self.due}；迟交 {self.late}，"
                f"未报送 {self.missing}，未记录报送时间 {self.unrecorded}，仅记录日期 {self.date_only}）"
                f"。公式：按期报送的材料期次 ÷ 截止时间已到的材料期次 × 100%；未记录报送时间的计为未按期（无法核实）"
            )
        return (
            f"timeliness rate: {shown} ({self.on_time} on time of {self.due} due; {self.late} late, "
            f"{self.missing} missing, {self.unrecorded} without a submission time, {self.date_only} by date "
            f"only). Formula: on time ÷ due × 100%; a submission without a recorded time counts as NOT on "
            f"time (it cannot be verified)"
        )

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        return {
            "value": None if value is None else str(value),
            "due": self.due,
            "on_time": self.on_time,
            "late": self.late,
            "missing": self.missing,
            "unrecorded": self.unrecorded,
            "date_only": self.date_only,
        }


DEFAULT_LOOKBACK = timedelta(days=400)


def default_start(contract: Mapping[str, Any], zone: ZoneInfo, end: datetime) -> datetime:
    """Where `audit status` starts without --from: the [contract] start, else 400 days before `end`."""
    meta = contract.get("contract")
    first = meta.start if isinstance(meta, ContractMeta) else None
    return local_day_bounds(first, zone)[0] if first else end - DEFAULT_LOOKBACK


def status_row(r: Timeliness, zone: ZoneInfo, language: str) -> dict[str, Any]:
    """A row of `ops-watch audit status` (and the console's 管理资料 page), in `language`."""
    return {
        "material": r.material.name(language),
        "period": r.period.key,
        "deadline": r.deadline_text(language),
        "submitted": r.submitted_text(zone, language),
        "status": STATUS_ZH[r.status] if language == "zh" else r.status.replace("_", " "),
        "late_by": r.late_text(language),
        "submitted_by": r.submitted_by,
        "document": r.document,
    }


def rate_of(rows: Iterable[Timeliness]) -> Rate:
    due = [r for r in rows if r.status != "not_due"]
    count = {s: sum(1 for r in due if r.status == s) for s in ("on_time", "late", "missing", "unrecorded")}
    return Rate(
        due=len(due),
        on_time=count["on_time"],
        late=count["late"],
        missing=count["missing"],
        unrecorded=count["unrecorded"],
        date_only=sum(1 for r in due if r.date_only),
    )


# --- the score indicator -----------------------------------------------------------------------------


def shortfall_line(row: Timeliness, zone: ZoneInfo, language: str) -> str:
    """What is wrong with a period not on time, in one line."""
    what = f"{row.material.name(language)} {row.period.key}"
    due = row.deadline_text(language)
    if row.status == "late":
        when = row.submitted_text(zone, language)
        return _t(
            language,
            f"{what}：截止 {due}，{when} 报送，迟交 {row.late_text(language)}",
            f"{what}: due {due}, handed in {when}, {row.late_text(language)} late",
        )
    if row.status == "unrecorded":
        return _t(
            language,
            f"{what}：截止 {due}，有 {row.received} 条报送记录但都未记录报送时间（计为未按期）",
            f"{what}: due {due}, {row.received} submission(s) without a recorded time (counted as not on time)",
        )
    return _t(language, f"{what}：截止 {due}，未报送", f"{what}: due {due}, nothing handed in")


@indicator("audit_timeliness_rate", name_zh="审计材料及时率", name_en="audit material on time")
def audit_timeliness_rate(inputs: IndicatorInputs) -> IndicatorValue:
    session, contract, zone, start, end, language = inputs
    formula = _t(
        language,
        "按期报送的材料期次 ÷ 截止时间落在考核期内的材料期次 × 100%（截止 = 合同约定报送日当天结束（现场时间）"
        "+ 宽限；以首次报送时间为准；未记录报送时间的计为未按期：无法核实）",
        "material periods handed in on time ÷ material periods whose deadline fell in the period × 100% "
        "(deadline = the end of the contract's due day, site time, + grace; the first submission counts; a "
        "submission without a recorded time counts as NOT on time: it cannot be verified)",
    )
    terms = audit_terms(contract)
    if not terms.materials:
        return IndicatorValue(None, formula=formula, missing=terms.known_text(language))
    rows = timeliness(session, contract, zone, start, end)
    rate = rate_of(rows)
    if rate.due == 0:
        return IndicatorValue(
            None,
            formula=formula,
            missing=_t(
                language, "考核期内没有到截止时间的审计材料", "no audit material fell due in the period"
            ),
        )
    # Not a single submission anywhere: the register never reached ops-watch, which is not the same as every
    # material missed (audit_missing reports each meanwhile).
    if not _submissions(session, [m.key for m in terms.materials]):
        return IndicatorValue(
            None,
            formula=formula,
            missing=_t(
                language,
                f"ops-watch 没有任何审计材料报送记录（考核期内应报送 {rate.due} 期）",
                f"ops-watch holds no audit-material submission at all ({rate.due} fell due in the period)",
            ),
        )
    lines = [shortfall_line(r, zone, language) for r in rows if r.status in ("late", "missing", "unrecorded")]
    first_day = start.astimezone(zone).date()
    last_day = (end - timedelta(microseconds=1)).astimezone(zone).date()
    hint = _t(
        language,
        f"逐项明细：ops-watch audit status --from {first_day} --to {last_day}",
        f"item by item: ops-watch audit status --from {first_day} --to {last_day}",
    )
    more = len(lines) - 20
    listed = lines[:20] + ([_t(language, f"……另有 {more} 条", f"… and {more} more")] if more > 0 else [])
    return IndicatorValue(
        rate.value,
        rate.on_time,
        rate.due,
        formula,
        {k: v for k, v in rate.as_dict().items() if k != "value"},
        _t(
            language,
            f"按期 {rate.on_time} 期 / 应报送 {rate.due} 期（迟交 {rate.late}，未报送 {rate.missing}，"
            f"未记录时间 {rate.unrecorded}）",
            f"{rate.on_time} of {rate.due} on time ({rate.late} late, {rate.missing} missing, "
            f"{rate.unrecorded} without a time)",
        ),
        [hint, *listed],
    )
