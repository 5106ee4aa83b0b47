"""Who was on site when: the staff registry, the presence model, and each contracted shift's evidence.

This is the one place that joins the contract's shifts, the handover sheets and the door events. The staffing
checks, `ops-watch staffing shifts` and `ops-watch staffing rate` all read the same `StaffingView`, so a
finding, the table handed to the contractor and the rate can never disagree.

Presence model (docs/staffing.md explains it to the center):
- Only granted events at the on-site doors count (`[staffing] onsite_doors`, or with `[staffing.zones]` the
  perimeter's and inner rooms' doors; none listed = every door). Events are matched to a registered person by
  staff id, then by card number.
- An entry ("in", or a reader without direction) opens a stay. A later "out" of the same person closes it
  (paired readers), unless the "out" comes more than MAX_PAIRED after the entry (a lost badge, not a stay).
  With zones, only a perimeter door's "out" is an exit: an inner door's event, in or out, is presence (like
  an entry: it opens a stay or extends the open one) and never ends a stay.
  Without an "out", the stay lasts until the end of the shift the entry falls in (the latest-starting shift
  whose [start - 1 h, end) holds it: people come in before their shift): an entry-only reader proves presence from entry to the end of that
  shift, unless a later event says otherwise. An entry in no shift is a moment only.
- An "out" with no open stay is a moment of presence (the person was inside just before).
- A listed person is evidenced on a shift when a stay overlaps [start - grace, end + grace] (else a ghost), and
  late when their first stay begins after start + grace. A listed person counts in the shift's headcount when
  their stays cover at least half of it: the night worker arriving at 19:40 or leaving at 08:05 does not count
  for the day shift, someone two hours late does. People on site but not on the sheet do not count (the sheet
  is the contractor's claim); for a shift with no sheet row, everyone registered on site counts.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ops_watch.areas.staffing.kind_handover import ON_DUTY_SEPARATORS
from ops_watch.areas.staffing.shifts import (
    ShiftInstance,
    StaffingSection,
    shift_instances,
    staffing_terms,
    uncovered_dates,
)
from ops_watch.core.timeutil import format_local, from_store, local_day_bounds
from ops_watch.core.when import month_bounds  # named in __all__: the console and commands import it from here
from ops_watch.store.loading import loading_batches
from ops_watch.store.schema import DoorEvent, EvidenceBatch, HandoverShift, StaffMember

MAX_PAIRED = timedelta(hours=24)  # an in/out pair longer than this is a lost badge, not one stay
EARLY_ARRIVAL = timedelta(hours=1)  # an entry this long before a shift starts belongs to that shift
_SPLIT = re.compile(f"[{re.escape(ON_DUTY_SEPARATORS)}]")


# --- the registry --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    role: str
    cards: tuple[str, ...]
    active_from: date | None
    active_to: date | None
    certificates: tuple[tuple[str, date | None], ...]  # (name, expires or None = no expiry)
    batch_id: int | None = None  # the registry file (evidence batch) the person's row came from

    def active_on(self, day: date) -> bool:
        return (self.active_from is None or self.active_from <= day) and (
            self.active_to is None or day <= self.active_to
        )

    def certificate(self, name: str) -> list[date | None]:
        """The expiry dates of every certificate of that name the person holds ([] = holds none)."""
        return [expires for n, expires in self.certificates if n == name]

    def holds_valid(self, name: str, day: date) -> bool:
        return any(expires is None or expires >= day for expires in self.certificate(name))

    @property
    def label(self) -> str:
        return f"{self.name}（{self.person_id}）"


@dataclass(frozen=True)
class SheetName:
    """A name or id written on a handover sheet, and whom it resolves to."""

    text: str
    person: Person | None
    problem: str = ""  # "unknown" | "ambiguous" | "inactive"
    candidates: tuple[str, ...] = ()  # person ids, when ambiguous


class Registry:
    """The staff registry as it stands: lookups by id, card and name."""

    def __init__(self, people: Iterable[Person]):
        self.people = {p.person_id: p for p in people}
        self.by_card: dict[str, Person] = {}
        self.by_name: dict[str, list[Person]] = defaultdict(list)
        for p in self.people.values():
            for card in p.cards:
                self.by_card[card] = p
            self.by_name[p.name].append(p)

    @classmethod
    def load(cls, session: Session) -> Registry:
        people = []
        # The registry as it stands, whenever its file arrived: rows are upserted (a person's earlier version is
        # gone), so hiding a later file would not show the earlier registry but make its people unknown.
        for m in session.scalars(select(StaffMember)):
            certs = []
            for c in m.certificates or []:
                expires = c.get("expires")
                certs.append((str(c.get("name", "")), date.fromisoformat(expires) if expires else None))
            people.append(
                Person(
                    m.person_id,
                    m.name,
                    m.role or "",
                    tuple(str(c) for c in (m.card_numbers or [])),
                    m.active_from,
                    m.active_to,
                    tuple(certs),
                    m.batch_id,
                )
            )
        return cls(people)

    def for_event(self, person_id: str, card_no: str) -> Person | None:
        """A door event's person: by staff id, else by card number."""
        return self.people.get(person_id) or self.by_card.get(card_no)

    def for_sheet(self, text: str, day: date) -> SheetName:
        """A sheet's name or id: the id first, then the name (which must be unique)."""
        text = text.strip()
        person = self.people.get(text)
        if person is None:
            matches = self.by_name.get(text, [])
            if len(matches) > 1:
                active = [p for p in matches if p.active_on(day)]
                if len(active) != 1:
                    return SheetName(text, None, "ambiguous", tuple(p.person_id for p in matches))
                matches = active
            if not matches:
                return SheetName(text, None, "unknown")
            person = matches[0]
        if not person.active_on(day):
            return SheetName(text, person, "inactive")
        return SheetName(text, person)


def split_names(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


# --- presence ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """A granted door event, as the staffing checks need it."""

    id: int
    at: datetime
    door: str
    direction: str
    person_id: str  # as the door system wrote it
    card_no: str
    name: str

    def shown(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": format_local(self.at, zone, "%Y-%m-%d %H:%M:%S"),
            "door": self.door,
            "direction": self.direction or "-",
            "card_no": self.card_no,
        }


@dataclass(frozen=True)
class Stay:
    """A span the person is evidenced on site, and the events that prove it."""

    start: datetime
    end: datetime
    how: str  # "paired" (in..out) | "until_shift_end" (no out seen) | "moment"
    badges: tuple[Badge, ...]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start <= end and start <= self.end


class _ShiftEnds:
    """The end of the latest-starting shift whose [start - early, end) holds a time (early: an hour, or the
    grace if longer: people come in before their shift starts). Instances sorted by start, so each badge
    looks only at the shifts that can hold it (a year's view has ~730 of them, a person thousands of badges)."""

    def __init__(self, instances: Sequence[ShiftInstance], grace: timedelta):
        self.early = max(grace, EARLY_ARRIVAL)
        self.items = sorted(instances, key=lambda inst: inst.start)  # stable: equal starts keep their order
        self.starts = [inst.start for inst in self.items]
        self.longest = max((inst.end - inst.start for inst in self.items), default=timedelta(0))

    def end_for(self, at: datetime) -> datetime | None:
        # A holder starts at most `early` after `at` and, ending after `at`, at most `longest` before it.
        lo = bisect_left(self.starts, at - self.longest)
        hi = bisect_right(self.starts, at + self.early)
        best: ShiftInstance | None = None
        for inst in self.items[lo:hi]:
            if inst.start - self.early <= at < inst.end and (best is None or inst.start > best.start):
                best = inst
        return best.end if best else None


def stays(
    badges: Sequence[Badge],
    instances: Sequence[ShiftInstance],
    grace: timedelta,
    inner: frozenset[str] = frozenset(),
) -> list[Stay]:
    """One person's stays from their badges (time order), per the presence model above. `inner`: doors whose
    events prove presence and never end a stay (the inner zone)."""
    out: list[Stay] = []
    open_start: datetime | None = None
    open_bound: datetime | None = None
    open_badges: list[Badge] = []
    ends = _ShiftEnds(instances, grace)

    def close(end: datetime, how: str) -> None:
        nonlocal open_start, open_bound, open_badges
        assert open_start is not None
        out.append(Stay(open_start, max(end, open_start), how, tuple(open_badges)))
        open_start, open_bound, open_badges = None, None, []

    for b in badges:
        if b.direction == "out" and b.door not in inner:
            if open_start is None:
                out.append(Stay(b.at, b.at, "moment", (b,)))
            elif b.at - open_start <= MAX_PAIRED:  # the exit of this stay, even after the shift's end
                open_badges.append(b)
                close(b.at, "paired")
            else:  # an exit a day later: the exit of the stay was lost
                close(open_bound or open_start, "until_shift_end")
                out.append(Stay(b.at, b.at, "moment", (b,)))
            continue
        if open_start is not None and open_bound is not None and b.at > open_bound:
            close(open_bound, "until_shift_end" if open_bound > open_start else "moment")
        bound = ends.end_for(b.at) or b.at
        if open_start is None:
            open_start, open_bound, open_badges = b.at, bound, [b]
        else:  # another entry while inside: the stay goes on, to the later shift end
            open_badges.append(b)
            open_bound = max(open_bound or bound, bound)
    if open_start is not None:
        assert open_bound is not None
        close(open_bound, "until_shift_end" if open_bound > open_start else "moment")
    return out


# --- the view ------------------------------------------------------------------------------------------


@dataclass
class ShiftEvidence:
    """One contracted shift: what the sheet says, who the doors show, and the verdicts."""

    instance: ShiftInstance
    sheet: HandoverShift | None
    listed: list[SheetName] = field(default_factory=list)
    givers: list[SheetName] = field(default_factory=list)
    takers: list[SheetName] = field(default_factory=list)
    handover_at: datetime | None = None
    onsite: list[Person] = field(default_factory=list)  # on site for at least half the shift (headcount)
    ghosts: list[Person] = field(default_factory=list)  # listed, registered, no presence at all
    late: dict[str, datetime] = field(default_factory=dict)  # person id -> first arrival
    handover_missing: list[SheetName] = field(default_factory=list)  # giver/taker not on site at handover
    ended: bool = False

    @property
    def required(self) -> int:
        return self.instance.min_headcount

    @property
    def evidenced(self) -> int:
        """Person-shifts evidenced, capped at the requirement (extra staff on one shift hide no gap on another)."""
        return min(len(self.onsite), self.required)

    @property
    def handover_verified(self) -> bool | None:
        """None: nothing to verify (no sheet row)."""
        if self.sheet is None:
            return None
        return (
            self.handover_at is not None
            and bool(self.givers)
            and bool(self.takers)
            and not self.handover_missing
        )


@dataclass
class StaffingView:
    terms: StaffingSection
    zone: ZoneInfo
    at: datetime
    first_day: date
    last_day: date
    registry: Registry
    shifts: list[ShiftEvidence]
    badges: list[Badge]  # every granted on-site badge in the window (with margins)
    stays: dict[str, list[Stay]]  # person id -> stays
    unmatched: list[Badge]  # granted on-site entries matching no registered person
    sheets_unmatched: list[HandoverShift]  # rows naming a shift the contract does not have that day
    uncovered: list[date]  # days the calendar package does not cover

    def on_duty(self, person_id: str, at: datetime, margin: timedelta) -> bool:
        """Is the person listed on a shift whose [start - margin, end + margin] holds `at`?"""
        for s in self.shifts:
            inst = s.instance
            if inst.start - margin <= at <= inst.end + margin and any(
                n.person is not None and n.person.person_id == person_id for n in s.listed
            ):
                return True
        return False

    def shift_at(self, at: datetime, margin: timedelta) -> list[ShiftEvidence]:
        return [s for s in self.shifts if s.instance.start - margin <= at <= s.instance.end + margin]


def _badges(session: Session, start: datetime, end: datetime, doors: list[str]) -> list[Badge]:
    query = select(
        DoorEvent.id,
        DoorEvent.at,
        DoorEvent.door,
        DoorEvent.direction,
        DoorEvent.person_id,
        DoorEvent.card_no,
        DoorEvent.name,
    ).where(DoorEvent.at >= start, DoorEvent.at <= end, DoorEvent.result == "granted")
    if doors:
        query = query.where(DoorEvent.door.in_(doors))
    return [
        Badge(r.id, from_store(r.at), r.door, r.direction, r.person_id, r.card_no, r.name)  # type: ignore[arg-type]
        for r in session.execute(query.order_by(DoorEvent.at, DoorEvent.id))
    ]


def around(person_stays: Sequence[Stay], start: datetime, end: datetime) -> list[Stay]:
    """The stays that overlap [start, end]. One person's stays are in time order and never overlap each
    other, so their ends are in order too: a bisection finds the first, not a walk through a year of them
    for every shift (the score reads a year of shifts for 50 people)."""
    i = bisect_left(person_stays, start, key=lambda s: s.end)
    found = []
    while i < len(person_stays) and person_stays[i].start <= end:
        found.append(person_stays[i])
        i += 1
    return found


def _overlap(person_stays: Sequence[Stay], start: datetime, end: datetime) -> timedelta:
    """How long the stays cover [start, end] (stays of one person never overlap each other)."""
    total = timedelta(0)
    for s in around(person_stays, start, end):
        lo, hi = max(s.start, start), min(s.end, end)
        if hi > lo:
            total += hi - lo
    return total


def _handover_time(raw: datetime | None, inst: ShiftInstance, grace: timedelta) -> datetime | None:
    """The sheet's handover time; a time of day that falls before the shift (a night shift written "08:00")
    is read on the next morning."""
    if raw is None:
        return None
    raw = from_store(raw)
    assert raw is not None
    if raw < inst.start - grace:
        later = raw + timedelta(days=1)
        if inst.start - grace <= later <= inst.end + grace:
            return later
    return raw


def build_view(
    session: Session,
    contract: Mapping[str, Any],
    zone: ZoneInfo,
    at: datetime,
    first_day: date,
    last_day: date,
    arrived: Callable[[Any], Any] | None = None,
) -> StaffingView:
    """The evidence of every contracted shift starting on a local day in [first_day, last_day].

    `arrived` (a check's CheckContext.arrived): only the sheets whose file had arrived by the check's time
    count; None (the commands): every sheet stored."""
    terms = staffing_terms(contract)
    grace = terms.grace
    if terms.judge_from is not None:
        first_day = max(first_day, terms.judge_from)
    # Shifts one day either side give the presence model its shift ends; only [first_day, last_day] is judged.
    context = shift_instances(terms, first_day - timedelta(days=1), last_day + timedelta(days=1), zone)
    judged = [i for i in context if first_day <= i.day <= last_day]
    registry = Registry.load(session)
    window_start = local_day_bounds(first_day, zone)[0] - timedelta(days=1)
    window_end = min(local_day_bounds(last_day, zone)[1] + timedelta(days=1), at)
    badges = _badges(session, window_start, window_end, terms.presence_doors)
    per_person: dict[str, list[Badge]] = defaultdict(list)
    unmatched = []
    for b in badges:
        person = registry.for_event(b.person_id, b.card_no)
        if person is None or not person.active_on(b.at.astimezone(zone).date()):
            if b.direction != "out":
                unmatched.append(b)
            if person is None:
                continue
        per_person[person.person_id].append(b)
    inner = terms.inner_doors
    stays_by_person = {pid: stays(bs, context, grace, inner) for pid, bs in per_person.items()}

    query = select(HandoverShift).where(HandoverShift.date >= first_day, HandoverShift.date <= last_day)
    if arrived is not None:
        query = query.where(arrived(HandoverShift))
    sheets = {(row.date, row.shift): row for row in session.scalars(query)}
    shifts = []
    for inst in judged:
        sheet = sheets.pop(inst.key, None)
        ev = ShiftEvidence(inst, sheet, ended=inst.end + grace <= at)
        wide = (inst.start - grace, inst.end + grace)
        # Headcount: the people the sheet lists who were on site for at least half the shift; without a
        # sheet row, everyone registered who was (missing_handover reports the missing row).
        if sheet is not None:
            counted = {
                p.person_id for n in sheet.on_duty or [] if (p := registry.for_sheet(n, inst.day).person)
            }
        else:
            counted = set(stays_by_person)
        for pid in sorted(counted):
            if _overlap(stays_by_person.get(pid, []), inst.start, inst.end) * 2 >= inst.end - inst.start:
                ev.onsite.append(registry.people[pid])
        if sheet is not None:
            ev.listed = [registry.for_sheet(n, inst.day) for n in (sheet.on_duty or [])]
            ev.givers = [registry.for_sheet(n, inst.day) for n in split_names(sheet.handed_over_by)]
            ev.takers = [registry.for_sheet(n, inst.day) for n in split_names(sheet.taken_over_by)]
            ev.handover_at = _handover_time(sheet.handover_at, inst, grace)
            for n in ev.listed:
                if n.person is None:
                    continue
                person_stays = stays_by_person.get(n.person.person_id, [])
                touching = around(person_stays, *wide)
                if not touching:
                    if ev.ended:  # during the shift they may still come: late, not yet a ghost
                        ev.ghosts.append(n.person)
                    continue
                first = min(s.start for s in touching)
                covering = any(s.start <= inst.start + grace <= s.end for s in touching)
                if first > inst.start + grace and not covering:
                    ev.late[n.person.person_id] = first
            if ev.handover_at is not None:
                h = ev.handover_at
                for n in ev.givers + ev.takers:
                    if n.person is None:
                        ev.handover_missing.append(n)
                        continue
                    person_stays = stays_by_person.get(n.person.person_id, [])
                    if not around(person_stays, h - grace, h + grace):
                        ev.handover_missing.append(n)
        shifts.append(ev)
    return StaffingView(
        terms=terms,
        zone=zone,
        at=at,
        first_day=first_day,
        last_day=last_day,
        registry=registry,
        shifts=shifts,
        badges=badges,
        stays=stays_by_person,
        unmatched=unmatched,
        sheets_unmatched=sorted(sheets.values(), key=lambda r: (r.date, r.shift)),
        uncovered=uncovered_dates(first_day, last_day, terms.calendar_overrides),
    )


# --- one view per evaluation ---------------------------------------------------------------------------

_CACHE: dict[str, StaffingView] = {}


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever door events, sheets or the registry change (ids only grow; upserts touch updated_at; a
    dropped batch lowers a count) or a batch ends its loading (its rows become visible). On the Core tables,
    with the loading batches named apart: counted through the ORM's hiding criterion, a year of door events
    is a full scan (200 ms at a million), as the tables themselves they are an index's count."""

    def of(table: Any, newest: Any) -> Any:
        return session.execute(select(func.max(newest), func.count()).select_from(table)).one()

    doors, sheets, staff = DoorEvent.__table__, HandoverShift.__table__, StaffMember.__table__
    return (
        tuple(session.scalars(loading_batches().order_by(EvidenceBatch.__table__.c.id))),
        tuple(of(doors, doors.c.id)),
        tuple(of(sheets, sheets.c.updated_at)),
        tuple(of(staff, staff.c.updated_at)),
    )


def first_judged_day(contract: Mapping[str, Any], zone: ZoneInfo, at: datetime, lookback: timedelta) -> date:
    """The first local day a check with this look-back judges: `at - lookback`, never before judge_from."""
    first = (at - lookback).astimezone(zone).date()
    judge_from = staffing_terms(contract).judge_from
    return first if judge_from is None else max(first, judge_from)


def view_for(
    session: Session,
    contract: Mapping[str, Any],
    zone: ZoneInfo,
    at: datetime,
    lookback: timedelta,
    arrived: Callable[[Any], Any] | None = None,
) -> StaffingView:
    """The view every staffing check of one evaluation shares: days from `at - lookback` to `at`'s day.

    Built once per evaluation (the checks run one after another with the same `at`) and rebuilt when any of
    its evidence changed. `arrived`: as build_view.
    """
    terms = staffing_terms(contract)
    first = (at - lookback).astimezone(zone).date()
    last = at.astimezone(zone).date()
    key = hashlib.sha256(
        json.dumps(
            [
                at.isoformat(),
                str(zone),
                first.isoformat(),
                terms.model_dump(mode="json"),
                repr(data_version(session)),
                arrived is not None,
            ],
            default=str,
        ).encode()
    ).hexdigest()
    view = _CACHE.get(key)
    if view is None:
        _CACHE.clear()
        view = _CACHE[key] = build_view(session, contract, zone, at, first, last, arrived)
    return view


@dataclass(frozen=True)
class Rate:
    label: str
    required: int
    evidenced: int

    @property
    def rate(self) -> float | None:
        return None if self.required == 0 else self.evidenced / self.required


def rates(view: StaffingView, by: str) -> list[Rate]:
    """The staffing rate (人员到位率) of ended shifts, grouped by "shift", "day", "week" or "all"."""
    groups: dict[str, list[ShiftEvidence]] = defaultdict(list)
    for s in view.shifts:
        if not s.ended:
            continue
        day = s.instance.day
        if by == "shift":
            label = f"{day.isoformat()} {s.instance.shift}"
        elif by == "day":
            label = day.isoformat()
        elif by == "week":
            iso = day.isocalendar()
            label = f"{iso.year}-W{iso.week:02d}"
        elif by == "shift_name":
            label = s.instance.shift
        else:
            label = "all"
        groups[label].append(s)
    return [
        Rate(label, sum(s.required for s in ss), sum(s.evidenced for s in ss)) for label, ss in groups.items()
    ]


def rate_rows(view: StaffingView, by: str, month: str, language: str = "zh") -> list[dict[str, Any]]:
    """`staffing rate` as rows: period, required, evidenced, rate (percent, 1 decimal; None without shifts),
    grouped `by` (month: the total only), the month's total always last. The console's API shows the same."""
    groups = [] if by == "month" else rates(view, by)
    zh = language == "zh"
    rows = [
        {
            "period": r.label,
            "required": r.required,
            "evidenced": r.evidenced,
            "rate": None if r.rate is None else round(r.rate * 100, 1),
        }
        for r in groups
    ]
    for r in rates(view, "all"):
        rows.append(
            {
                "period": f"{month} {'合计' if zh else 'total'}",
                "required": r.required,
                "evidenced": r.evidenced,
                "rate": None if r.rate is None else round(r.rate * 100, 1),
            }
        )
    if not rows:
        rows.append({"period": month, "required": 0, "evidenced": 0, "rate": None})
    return rows


SHIFT_COLUMNS = [
    "day",
    "shift",
    "day_type",
    "required",
    "on_sheet",
    "evidenced",
    "on_site",
    "late",
    "ghosts",
    "handover",
    "status",
]


def shift_rows(view: StaffingView, language: str = "zh") -> list[dict[str, Any]]:
    """The shift-by-shift evidence table (what `ops-watch staffing shifts` prints and the center hands over)."""
    zh = language == "zh"
    sep = "、" if zh else ", "
    kinds = {"workday": "工作日", "rest_day": "休息日", "holiday": "节假日"} if zh else {}
    rows = []
    for s in view.shifts:
        inst = s.instance
        if s.sheet is None:
            handover = "无交接记录" if zh else "no sheet row"
        elif s.handover_verified:
            handover = "已核实" if zh else "verified"
        else:
            handover = "未核实" if zh else "not verified"
        problems = []
        if s.ended:
            if len(s.onsite) < s.required:
                problems.append("人员不足" if zh else "understaffed")
            if s.ghosts:
                problems.append("有人未到" if zh else "ghost")
            if s.sheet is None:
                problems.append("缺交接" if zh else "no sheet")
            elif not s.handover_verified:
                problems.append("交接未核实" if zh else "handover unverified")
        status = ("进行中" if zh else "in progress") if not s.ended else (sep.join(problems) or "OK")
        rows.append(
            {
                "day": inst.day.isoformat(),
                "shift": inst.shift,
                "day_type": kinds.get(inst.day_type, inst.day_type),
                "start": format_local(inst.start, view.zone),
                "end": format_local(inst.end, view.zone),
                "required": inst.min_headcount,
                "on_sheet": sep.join(n.person.name if n.person else n.text for n in s.listed),
                "evidenced": len(s.onsite),
                "on_site": sep.join(p.name for p in s.onsite),
                "late": sep.join(
                    f"{view.registry.people[pid].name} {format_local(t, view.zone, '%H:%M')}"
                    for pid, t in s.late.items()
                ),
                "ghosts": sep.join(p.name for p in s.ghosts),
                "handover": handover,
                "handover_time": format_local(s.handover_at, view.zone) if s.handover_at else "",
                "status": status,
            }
        )
    return rows


def utc_day_start(day: date, zone: ZoneInfo) -> datetime:
    return local_day_bounds(day, zone)[0]


__all__ = [
    "SHIFT_COLUMNS",
    "rate_rows",
    "shift_rows",
    "Badge",
    "Person",
    "Rate",
    "Registry",
    "SheetName",
    "ShiftEvidence",
    "StaffingView",
    "Stay",
    "build_view",
    "month_bounds",
    "rates",
    "split_names",
    "stays",
    "view_for",
]
