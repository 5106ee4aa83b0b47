"""The contract's shifts (contract.toml `[staffing]`), the official Chinese day types, and shift instances.

A pure module: no store. Later staffing checks take `shift_instances(...)` for a period and compare each
instance with the handover sheets and the door evidence.

Day types come from the `chinesecalendar` package (the State Council's yearly holiday notices, including the
make-up workdays, 调休): any day of an official holiday period is a `holiday`, a weekend that is not a make-up
workday is a `rest_day`, every other day (make-up Saturdays and Sundays included) is a `workday`. For a year
the installed package does not cover yet, days fall back to Monday–Friday workdays with `covered=False`, so a
check can raise one warning instead of crashing. `calendar_overrides` in the contract win over both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from datetime import tzinfo as TzInfo
from typing import Any, Literal

import chinese_calendar
from pydantic import Field, ValidationInfo, field_validator, model_validator

from ops_watch.core.contract import CONTRACT_SECTIONS, section_of
from ops_watch.core.models import Strict

DayType = Literal["workday", "rest_day", "holiday"]
DaySelector = Literal["workdays", "rest_days", "holidays", "all"]
DAY_TYPES: tuple[str, ...] = ("workday", "rest_day", "holiday")
_SELECTED: dict[str, frozenset[str]] = {
    "workdays": frozenset({"workday"}),
    "rest_days": frozenset({"rest_day"}),
    "holidays": frozenset({"holiday"}),
    "all": frozenset(DAY_TYPES),
}
_PLURAL = {"workday": "workdays", "rest_day": "rest days", "holiday": "holidays"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class Headcount(Strict):
    """The minimum on-site headcount per day type; a day type the shift does not run on may be left out."""

    workday: int | None = Field(default=None, ge=0)
    rest_day: int | None = Field(default=None, ge=0)
    holiday: int | None = Field(default=None, ge=0)


class Shift(Strict):
    """One contracted shift. `end <= start` means the shift ends on the next day (a night shift)."""

    name: str = Field(min_length=1)
    start: time
    end: time
    days: list[DaySelector] = Field(default_factory=lambda: ["all"])
    min_headcount: int | Headcount
    required_roles: list[str] = Field(default_factory=list)
    # "At least one valid holder of X on the shift".
    required_certificates: list[str] = Field(default_factory=list)
    # "Every person on duty holds a valid X".
    every_on_duty_certificates: list[str] = Field(default_factory=list)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if isinstance(value, time):  # a TOML local time, e.g. start = 08:00:00
            if value.tzinfo is not None:
                raise ValueError("give a local time of day without a zone (the site zone applies)")
            return value
        if isinstance(value, str):
            m = _TIME.match(value.strip())
            if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
                return time(int(m.group(1)), int(m.group(2)))
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 23:59)")

    @field_validator("days", mode="before")
    @classmethod
    def _some_days(cls, value: Any) -> Any:
        if isinstance(value, str):  # days = "workdays" is days = ["workdays"]
            return [value]
        if isinstance(value, list) and not value:
            raise ValueError("list at least one of workdays, rest_days, holidays, all")
        return value

    @field_validator("min_headcount")
    @classmethod
    def _non_negative(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 0:
            raise ValueError("must be 0 or more")
        return value

    @model_validator(mode="after")
    def _headcount_for_every_day_type(self) -> Shift:
        if isinstance(self.min_headcount, Headcount):
            missing = [t for t in DAY_TYPES if t in self.day_types and getattr(self.min_headcount, t) is None]
            if missing:
                need = ", ".join(f"min_headcount.{t} (the shift runs on {_PLURAL[t]})" for t in missing)
                raise ValueError(f"give {need}")
        return self

    @property
    def day_types(self) -> frozenset[str]:
        return frozenset().union(*(_SELECTED[s] for s in self.days))

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def headcount(self, day_type: str) -> int:
        if isinstance(self.min_headcount, int):
            return self.min_headcount
        return getattr(self.min_headcount, day_type) or 0


class Zones(Strict):
    """`[staffing.zones]`: the site's doors by where they lead. A perimeter door's entry opens a stay on site and
    its exit ends it; an inner door (a machine room inside the site) proves presence at its event, in or out,
    and never ends a stay."""

    perimeter: list[str] = Field(default_factory=list)
    inner: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_zone_per_door(self) -> Zones:
        both = [door for door in self.inner if door in self.perimeter]
        if both:
            names = ", ".join(repr(d) for d in both)
            raise ValueError(
                f"door {names} is in both staffing.zones.perimeter and staffing.zones.inner: a door leads either "
                "out of the site or into a room inside it"
            )
        return self


class StaffingSection(Strict):
    """contract.toml `[staffing]`: shifts, grace minutes, on-site doors and calendar overrides.

    Without the section there are no shifts and the staffing checks do nothing; when the section is
    present it must name at least one shift.
    """

    shifts: list[Shift] = Field(default_factory=list, validate_default=True)
    grace_minutes: int = Field(default=15, ge=0, le=24 * 60)
    onsite_doors: list[str] = Field(default_factory=list)
    # None: every on-site door opens and closes stays (onsite_doors). Given: only the perimeter's exits end a stay.
    zones: Zones | None = None
    # The first day whose shifts are judged (the day the contractor's sheets and door records start being kept
    # in ops-watch); None: every day the checks look back over.
    judge_from: date | None = None
    calendar_overrides: dict[date, DayType] = Field(default_factory=dict)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> StaffingSection:  # type: ignore[override]
        # Validating a body means contract.toml has the section; StaffingSection() is "no section".
        context = dict(kwargs.pop("context", None) or {})
        context.setdefault("section_present", True)
        return super().model_validate(obj, *args, context=context, **kwargs)

    @field_validator("shifts")
    @classmethod
    def _shifts(cls, value: list[Shift], info: ValidationInfo) -> list[Shift]:
        if not value and (info.context or {}).get("section_present"):
            raise ValueError("the [staffing] section needs at least one [[staffing.shifts]] entry")
        first: dict[str, int] = {}
        for index, shift in enumerate(value):
            if shift.name in first:
                raise ValueError(
                    f"shift name {shift.name!r} is used by shifts[{first[shift.name]}] and shifts[{index}]"
                )
            first[shift.name] = index
        return value

    def shift(self, name: str) -> Shift | None:
        return next((s for s in self.shifts if s.name == name), None)

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.grace_minutes)

    @property
    def presence_doors(self) -> list[str]:
        """The doors whose events prove presence; empty: every door."""
        if self.zones is None:
            return list(self.onsite_doors)
        return list(dict.fromkeys([*self.zones.perimeter, *self.zones.inner, *self.onsite_doors]))

    @property
    def inner_doors(self) -> frozenset[str]:
        """Doors whose events prove presence but never end a stay: the inner zone, and with zones, an on-site
        door listed in no zone."""
        if self.zones is None:
            return frozenset()
        return frozenset(self.presence_doors) - frozenset(self.zones.perimeter)


CONTRACT_SECTIONS.add("staffing", StaffingSection)


def staffing_terms(contract: Mapping[str, Any]) -> StaffingSection:
    """The contract's staffing terms; no shifts when the contract has no [staffing] section."""
    return section_of(contract, "staffing", StaffingSection)


def calendar_version() -> str:
    return str(getattr(chinese_calendar, "__version__", "unknown"))


def day_type(d: date, overrides: Mapping[date, str] | None = None) -> tuple[str, bool]:
    """("workday" | "rest_day" | "holiday", covered). covered=False: the calendar library has no data for
    the year, and the day was typed Monday–Friday = workday; an override always counts as covered."""
    if overrides and d in overrides:
        return overrides[d], True
    try:
        on_holiday, holiday_name = chinese_calendar.get_holiday_detail(d)
    except NotImplementedError:
        return ("workday" if d.weekday() < 5 else "rest_day"), False
    if not on_holiday:
        return "workday", True  # includes make-up workdays (调休) on a Saturday or Sunday
    return ("holiday" if holiday_name is not None else "rest_day"), True


def uncovered_dates(start: date, end: date, overrides: Mapping[date, str] | None = None) -> list[date]:
    """The days in [start, end] typed by the Monday–Friday fallback (the library does not cover them)."""
    days = []
    d = start
    while d <= end:
        if not day_type(d, overrides)[1]:
            days.append(d)
        d += timedelta(days=1)
    return days


@dataclass(frozen=True)
class ShiftInstance:
    """One occurrence of a contracted shift: it starts on local day `day` and runs [start, end) in UTC."""

    shift: str
    day: date
    start: datetime
    end: datetime
    day_type: str
    covered: bool
    min_headcount: int
    required_roles: tuple[str, ...]
    required_certificates: tuple[str, ...]
    every_on_duty_certificates: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[date, str]:
        """How a handover sheet row names the instance: (date, shift name)."""
        return (self.day, self.shift)

    def contains(self, at: datetime, grace: timedelta = timedelta(0)) -> bool:
        return self.start - grace <= at < self.end + grace


def shift_instances(staffing: StaffingSection, start: date, end: date, zone: TzInfo) -> list[ShiftInstance]:
    """Every contracted shift that starts on a local day in [start, end], ordered by start time.

    A shift runs only on the day types its `days` select; a night shift starting on day d ends on d+1.
    """
    instances: list[ShiftInstance] = []
    d = start
    while d <= end:
        kind, covered = day_type(d, staffing.calendar_overrides)
        for shift in staffing.shifts:
            if kind not in shift.day_types:
                continue
            end_day = d + timedelta(days=1) if shift.crosses_midnight else d
            instances.append(
                ShiftInstance(
                    shift=shift.name,
                    day=d,
                    start=datetime.combine(d, shift.start, tzinfo=zone).astimezone(UTC),
                    end=datetime.combine(end_day, shift.end, tzinfo=zone).astimezone(UTC),
                    day_type=kind,
                    covered=covered,
                    min_headcount=shift.headcount(kind),
                    required_roles=tuple(shift.required_roles),
                    required_certificates=tuple(shift.required_certificates),
                    every_on_duty_certificates=tuple(shift.every_on_duty_certificates),
                )
            )
        d += timedelta(days=1)
    instances.sort(key=lambda i: (i.start, i.shift))
    return instances


__all__ = [
    "DAY_TYPES",
    "Headcount",
    "Shift",
    "ShiftInstance",
    "StaffingSection",
    "calendar_version",
    "day_type",
    "shift_instances",
    "staffing_terms",
    "uncovered_dates",
    "Zones",
]
