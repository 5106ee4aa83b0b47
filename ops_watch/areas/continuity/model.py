"""Continuity terms (contract.toml `[continuity]`), the protected systems, and the drill and backup figures.

Every protected system has obligations: whether it must be backed up and its RPO (hours of data it may lose:
also the longest gap between successful backups), its RTO target (minutes to recover), a cadence per drill
type (a passing drill every N days), the days allowed to re-drill after a failed drill, and what a drill
record must carry (evidence, participants, the measured RTO and RPO). Defaults come from
`[continuity.defaults]`, a class (`[continuity.classes.<name>]`) overrides them, a system's own keys override
its class. Systems are listed in `[[continuity.systems]]`; with `inventory_class` set, every inventory
resource marked 需备份 is a system too (named by its resource id, of that class).

Drill due dates: the first drill of a type is due `cadence` days after `judge_from` (the day the contract's
drill obligations started being followed in ops-watch; default the contract's start); after a passing drill
the next is due `cadence` days after it. A due date with no passing drill since the last one is missed; the
next is due `cadence` days after the missed one, or after a late passing drill.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ops_watch.core.contract import CONTRACT_SECTIONS, ContractMeta
from ops_watch.core.models import Strict
from ops_watch.core.timeutil import format_local, from_store
from ops_watch.store.schema import BackupJob, Drill, DrillPlan, Finding, InventoryResource

DrillType = Literal["restore", "emergency", "failover"]
DRILL_TYPES: tuple[str, ...] = ("restore", "emergency", "failover")
DRILL_TYPE_ZH = {"restore": "备份恢复演练", "emergency": "应急演练", "failover": "切换演练"}


class _Strict(Strict):
    # `class` is a keyword: the field is `class_` with the alias "class", and either name is accepted.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Obligations(_Strict):
    """Keys a default, a class or a system may give; unset keys come from the level above."""

    backup: bool | None = None
    rpo_hours: float | None = Field(default=None, gt=0)
    rto_minutes: float | None = Field(default=None, gt=0)
    drill_every_days: dict[DrillType, int] | None = None
    redrill_days: int | None = Field(default=None, ge=0)
    require_evidence: bool | None = None
    require_participants: bool | None = None
    require_measurements: bool | None = None

    @field_validator("drill_every_days")
    @classmethod
    def _positive(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        for kind, days in (v or {}).items():
            if days <= 0:
                raise ValueError(f"{kind}: a cadence is a number of days above 0")
        return v


BUILT_IN = Obligations(
    backup=True,
    rpo_hours=24,
    rto_minutes=240,
    drill_every_days={},
    redrill_days=30,
    require_evidence=True,
    require_participants=True,
    require_measurements=True,
)


class SystemEntry(Obligations):
    name: str = Field(min_length=1, max_length=256)
    class_: str = Field(default="", alias="class")


class ContinuitySection(_Strict):
    defaults: Obligations = Field(default_factory=Obligations)
    classes: dict[str, Obligations] = Field(default_factory=dict)
    systems: list[SystemEntry] = Field(default_factory=list)
    # Inventory resources marked 需备份 are systems of this class; empty: only the systems listed.
    inventory_class: str = ""
    # Drill obligations start here (first due = judge_from + cadence); empty: the contract's start.
    judge_from: date | None = None

    @model_validator(mode="after")
    def _known_classes(self, info: ValidationInfo) -> ContinuitySection:
        names = [s.name for s in self.systems]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"system {name!r} is listed twice")
        for s in self.systems:
            if s.class_ and s.class_ not in self.classes:
                raise ValueError(
                    f"system {s.name!r}: class {s.class_!r} is not defined "
                    f"(classes: {', '.join(sorted(self.classes)) or 'none'})"
                )
        if self.inventory_class and self.inventory_class not in self.classes:
            raise ValueError(
                f"inventory_class {self.inventory_class!r} is not a class of [continuity.classes]"
            )
        return self


CONTRACT_SECTIONS.add("continuity", ContinuitySection)


@dataclass(frozen=True)
class System:
    """A protected system with its obligations resolved (defaults < class < the system's own keys)."""

    name: str
    klass: str
    source: str  # "contract" | "inventory"
    backup: bool
    rpo_hours: float
    rto_minutes: float
    drill_every_days: dict[str, int]
    redrill_days: int
    require_evidence: bool
    require_participants: bool
    require_measurements: bool
    since: date | None = None  # an inventory resource: allocated from

    @property
    def rpo(self) -> timedelta:
        return timedelta(hours=self.rpo_hours)


def continuity_terms(contract: Mapping[str, Any]) -> ContinuitySection:
    section = contract.get("continuity")
    if isinstance(section, ContinuitySection):
        return section
    if isinstance(section, Mapping):
        return ContinuitySection.model_validate(dict(section))
    return ContinuitySection()


def _resolve(levels: list[Obligations]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level in levels:
        for key in Obligations.model_fields:
            value = getattr(level, key)
            if value is not None:
                out[key] = value
    return out


def systems(session: Session, contract: Mapping[str, Any], on: date | None = None) -> dict[str, System]:
    """Every protected system by name: those contract.toml lists, then inventory resources marked 需备份
    (still allocated on `on`, when given)."""
    terms = continuity_terms(contract)
    out: dict[str, System] = {}
    for entry in terms.systems:
        levels = [BUILT_IN, terms.defaults]
        if entry.class_:
            levels.append(terms.classes[entry.class_])
        levels.append(entry)
        out[entry.name] = System(name=entry.name, klass=entry.class_, source="contract", **_resolve(levels))
    if terms.inventory_class:
        levels = [BUILT_IN, terms.defaults, terms.classes[terms.inventory_class]]
        resolved = _resolve(levels)
        for r in session.scalars(
            select(InventoryResource)
            .where(InventoryResource.backup_required.is_(True))
            .order_by(InventoryResource.resource_id)
        ):
            if r.resource_id in out or (
                on is not None and r.allocated_to is not None and r.allocated_to < on
            ):
                continue
            out[r.resource_id] = System(
                name=r.resource_id,
                klass=terms.inventory_class,
                source="inventory",
                since=r.allocated_from,
                **resolved,
            )
    return out


def obligations_start(contract: Mapping[str, Any], system: System) -> date | None:
    """When the system's drill clock starts: judge_from, else the contract's start; never before the
    resource was allocated."""
    terms = continuity_terms(contract)
    meta = contract.get("contract")
    start = terms.judge_from or (meta.start if isinstance(meta, ContractMeta) else None)
    if system.since is not None and (start is None or system.since > start):
        start = system.since
    return start


# --- drill due dates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    date: date
    met: bool
    passed_on: date | None  # the passing drill that met it, or the late one after it


@dataclass(frozen=True)
class Schedule:
    history: list[Due]  # every due date up to `until`
    next: date  # the first due date after `until`
    overdue_since: date | None  # the first missed due date with no passing drill since, as of `until`


def drill_schedule(origin: date, cadence: int, passes: list[date], until: date) -> Schedule:
    """Every due date from origin + cadence up to `until`, whether a passing drill met it (see the module
    docstring), the next due date, and since when the drill is overdue."""
    out: list[Due] = []
    passes = sorted(p for p in passes if p <= until)
    last, due = origin, origin + timedelta(days=cadence)
    overdue: date | None = None
    while due <= until:
        on_time = [p for p in passes if last < p <= due]
        if on_time:
            out.append(Due(due, True, on_time[-1]))
            last, overdue = on_time[-1], None
            due = last + timedelta(days=cadence)
            continue
        late = [p for p in passes if due < p <= due + timedelta(days=cadence)]
        out.append(Due(due, False, late[0] if late else None))
        if late:
            last, overdue = late[0], None
            due = last + timedelta(days=cadence)
        else:
            overdue = overdue or due
            last, due = due, due + timedelta(days=cadence)
    return Schedule(out, due, overdue)


@dataclass
class DrillFigures:
    due: int = 0
    done: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return None if self.due == 0 else self.done / self.due


def drills_by(session: Session, until: date) -> dict[tuple[str, str], list[Drill]]:
    out: dict[tuple[str, str], list[Drill]] = defaultdict(list)
    for d in session.scalars(select(Drill).where(Drill.date <= until).order_by(Drill.date)):
        out[(d.system, d.type)].append(d)
    return out


def drill_completion(
    session: Session, contract: Mapping[str, Any], start: date, end: date, today: date | None = None
) -> DrillFigures:
    """The drill completion rate (演练完成率) over [start, end]: due dates in the period met on time ÷ due."""
    today = today or end
    figures = DrillFigures()
    by = drills_by(session, min(end, today))
    for system in systems(session, contract).values():
        origin = obligations_start(contract, system)
        if origin is None:
            continue
        for kind, cadence in sorted(system.drill_every_days.items()):
            passes = [d.date for d in by.get((system.name, kind), []) if d.result == "pass"]
            for due in drill_schedule(origin, cadence, passes, min(end, today)).history:
                if due.date < start:
                    continue
                figures.due += 1
                figures.done += due.met
                figures.items.append(
                    {"system": system.name, "type": kind, "due": due.date.isoformat(), "met": due.met}
                )
    return figures


def backup_success_rates(session: Session, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Per system: (successful runs, all runs) started in [start, end)."""
    rows = session.execute(
        select(BackupJob.system, BackupJob.status, func.count())
        .where(BackupJob.started >= start, BackupJob.started < end)
        .group_by(BackupJob.system, BackupJob.status)
    ).all()
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for system, status, n in rows:
        out[system][1] += n
        if status == "success":
            out[system][0] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


def last_success(session: Session, system: str, at: datetime) -> datetime | None:
    """The end (or start, when the end is not recorded) of the newest successful run finished by `at`."""
    rows = session.execute(
        select(BackupJob.started, BackupJob.finished)
        .where(BackupJob.system == system, BackupJob.status == "success", BackupJob.started <= at)
        .order_by(BackupJob.started.desc())
        .limit(5)
    ).all()
    for row in rows:  # a run still going at `at` is not yet a success
        done = from_store(row.finished or row.started)
        if done is not None and done <= at:
            return done
    return None


def plans(session: Session, until: date) -> list[DrillPlan]:
    return list(session.scalars(select(DrillPlan).where(DrillPlan.date <= until).order_by(DrillPlan.date)))


STATUS_COLUMNS = [
    "system",
    "class",
    "backup",
    "last_backup",
    "last_success",
    "backup_rate_30d",
    "drills",
    "next_due",
    "open_findings",
]


def status_rows(
    session: Session, contract: Mapping[str, Any], at: datetime, zone: Any, language: str = "zh"
) -> list[dict[str, Any]]:
    """One row per protected system: last backup, last success, the 30-day success rate, the last drill of
    each type, the next due date of each drill type (or since when it is overdue), open findings."""

    zh = language == "zh"
    today = at.astimezone(zone).date()
    by = drills_by(session, today)
    rates = backup_success_rates(session, at - timedelta(days=30), at)
    open_counts: dict[str, int] = defaultdict(int)
    for f in session.scalars(
        select(Finding).where(
            Finding.area == "continuity", Finding.status.in_(("open", "acknowledged", "silenced"))
        )
    ):
        open_counts[str((f.evidence or {}).get("system") or f.subject.split(" ")[0])] += 1
    rows = []
    for system in systems(session, contract, today).values():
        last = session.execute(
            select(BackupJob.started, BackupJob.status)
            .where(BackupJob.system == system.name, BackupJob.started <= at)
            .order_by(BackupJob.started.desc())
            .limit(1)
        ).first()
        ok = last_success(session, system.name, at)
        done, total = rates.get(system.name, (0, 0))
        drills, dues = [], []
        origin = obligations_start(contract, system)
        kinds = sorted(set(system.drill_every_days) | {k for (n, k) in by if n == system.name})
        for kind in kinds:
            records = by.get((system.name, kind), [])
            label = DRILL_TYPE_ZH[kind] if zh else kind
            if records:
                r = records[-1]
                drills.append(
                    f"{label} {r.date.isoformat()} {('通过' if r.result == 'pass' else '失败') if zh else r.result}"
                )
            cadence = system.drill_every_days.get(kind)
            if cadence and origin is not None:
                plan = drill_schedule(origin, cadence, [d.date for d in records if d.result == "pass"], today)
                if plan.overdue_since is not None:
                    dues.append(
                        f"{label} {'逾期自' if zh else 'overdue since'} {plan.overdue_since.isoformat()}"
                    )
                else:
                    dues.append(f"{label} {plan.next.isoformat()}")
        sep = "；" if zh else "; "
        rows.append(
            {
                "system": system.name,
                "class": system.klass,
                "backup": (
                    f"RPO {system.rpo_hours:g}h" if system.backup else ("不需要" if zh else "not required")
                ),
                "last_backup": f"{format_local(from_store(last.started), zone)} {last.status}"
                if last
                else "-",
                "last_success": format_local(ok, zone) if ok else "-",
                "backup_rate_30d": None if total == 0 else round(done / total * 100, 1),
                "drills": sep.join(drills) or "-",
                "next_due": sep.join(dues) or "-",
                "open_findings": open_counts.get(system.name, 0),
            }
        )
    return rows


__all__ = [
    "STATUS_COLUMNS",
    "status_rows",
    "DRILL_TYPES",
    "DRILL_TYPE_ZH",
    "ContinuitySection",
    "Due",
    "DrillFigures",
    "Schedule",
    "System",
    "backup_success_rates",
    "continuity_terms",
    "drill_completion",
    "drills_by",
    "drill_schedule",
    "last_success",
    "obligations_start",
    "plans",
    "systems",
]
