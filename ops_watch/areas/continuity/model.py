"""Continuity terms (contract.toml `[continuity]`), the protected systems, and the drill and backup figures.

Every protected system has obligations: whether it must be backed up and its RPO (hours of data it may lose:
also the longest a system may go without a backup run), the data a drill may lose (`drill_rpo_minutes`; unset:
the RPO), its RTO target (minutes to recover), a cadence per drill type or set of types (a passing drill every
N days; `"emergency|failover"`: a drill of either type meets it), the days allowed to re-drill after a failed
drill, and what a drill record must carry (evidence, participants, the measured RTO and RPO). Defaults come from
`[continuity.defaults]`, a class (`[continuity.classes.<name>]`) overrides them, a system's own keys override
its class. Systems are listed in `[[continuity.systems]]`; with `inventory_class` set, every inventory
resource marked 需备份 is a system too (named by its resource id, of that class).

Drill due dates: the first drill of a type is due `cadence` days after `judge_from` (the day the contract's
drill obligations started being followed in ops-watch; default the contract's start); after a passing drill
the next is due `cadence` days after it. A due date with no passing drill since the last one is missed; the
next is due `cadence` days after the missed one, or after a late passing drill.

Backup episodes (`failure_streaks`, `backup_gaps`) are computed from the runs alone, so a system judged once at a
month's end and day by day through it gives the same episodes with the same starts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ops_watch.core.contract import CONTRACT_SECTIONS, ContractMeta
from ops_watch.core.models import Strict
from ops_watch.core.timeutil import format_local, from_store
from ops_watch.store.schema import BackupJob, Drill, DrillPlan, Finding, InventoryResource

DRILL_TYPES: tuple[str, ...] = ("restore", "emergency", "failover")
DRILL_TYPE_ZH = {"restore": "备份恢复演练", "emergency": "应急演练", "failover": "切换演练"}
# A cadence key of drill_every_days names one drill type or several joined by "|" ("emergency|failover": "an
# emergency or failover drill every N days"): a passing drill of any of them meets it.
CADENCE_SEPARATOR = "|"


def _cadence_key(key: str) -> str:
    """A cadence key in its one spelling (types in DRILL_TYPES order, no spaces), so that "failover|emergency"
    and "emergency | failover" are the same cadence and keep the same findings."""
    parts = [p.strip() for p in key.split(CADENCE_SEPARATOR)]
    for part in parts:
        if part not in DRILL_TYPES:
            raise ValueError(
                f"{part!r} is not a drill type: restore, emergency or failover, or several joined by "
                f'"{CADENCE_SEPARATOR}" ("emergency|failover": a drill of either type meets the cadence)'
            )
    if len(set(parts)) < len(parts):
        raise ValueError(f"{key!r} names a drill type twice")
    return CADENCE_SEPARATOR.join(sorted(parts, key=DRILL_TYPES.index))


CadenceKey = Annotated[str, AfterValidator(_cadence_key)]


def cadence_types(key: str) -> tuple[str, ...]:
    """The drill types a cadence key names ("emergency|failover" -> ("emergency", "failover"))."""
    return tuple(key.split(CADENCE_SEPARATOR))


def drill_label(key: str, zh: bool) -> str:
    """A cadence key or drill type for people: 应急演练或切换演练 / "emergency or failover"."""
    types = cadence_types(key)
    if zh:
        return "或".join(DRILL_TYPE_ZH.get(t, t) for t in types)
    return " or ".join(types)


class _Strict(Strict):
    # `class` is a keyword: the field is `class_` with the alias "class", and either name is accepted.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Obligations(_Strict):
    """Keys a default, a class or a system may give; unset keys come from the level above."""

    backup: bool | None = None
    rpo_hours: float | None = Field(default=None, gt=0)
    # The data a drill may lose, when the contract sets it apart from the backups' RPO (a drill RPO of 60
    # minutes beside a backup RPO of 24 hours). Unset at every level: rpo_hours x 60.
    drill_rpo_minutes: float | None = Field(default=None, gt=0)
    rto_minutes: float | None = Field(default=None, gt=0)
    drill_every_days: dict[CadenceKey, int] | None = None
    redrill_days: int | None = Field(default=None, ge=0)
    require_evidence: bool | None = None
    require_participants: bool | None = None
    require_measurements: bool | None = None

    @field_validator("drill_every_days", mode="before")
    @classmethod
    def _one_spelling(cls, v: Any) -> Any:
        # Two keys for the same set of types ("emergency|failover" and "failover|emergency") would be two
        # cadences under one name: refused, naming both.
        if isinstance(v, Mapping):
            seen: dict[str, str] = {}
            for key in v:
                try:
                    same = _cadence_key(str(key))
                except ValueError:
                    continue  # the key's own error comes from its validation
                if same in seen:
                    raise ValueError(f"{seen[same]!r} and {key!r} are the same drill types: give one cadence")
                seen[same] = str(key)
        return v

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
    drill_rpo_minutes: float | None = None  # None: a drill is held to the RPO

    @property
    def rpo(self) -> timedelta:
        return timedelta(hours=self.rpo_hours)

    @property
    def drill_rpo(self) -> tuple[float, str]:
        """The data loss a drill may measure, in minutes, and the key it comes from."""
        if self.drill_rpo_minutes is not None:
            return self.drill_rpo_minutes, "drill_rpo_minutes"
        return self.rpo_hours * 60, "rpo_hours"


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


def systems(
    session: Session,
    contract: Mapping[str, Any],
    on: date | None = None,
    arrived: ColumnElement[bool] | None = None,
) -> dict[str, System]:
    """Every protected system by name: those contract.toml lists, then inventory resources marked 需备份
    (still allocated on `on`, when given; of an inventory that had arrived, when `arrived` is a check's
    `ctx.arrived(InventoryResource)`). No [continuity] section: no system, so nothing is judged."""
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
        query = select(InventoryResource).where(InventoryResource.backup_required.is_(True))
        if arrived is not None:
            query = query.where(arrived)
        for r in session.scalars(query.order_by(InventoryResource.resource_id)):
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


@dataclass(frozen=True)
class Spell:
    """An overdue spell: from the first missed due date until the late passing drill that ended it."""

    since: date
    until: date | None  # the late passing drill; None: still overdue
    missed: int  # due dates missed in it


def overdue_spells(schedule: Schedule) -> list[Spell]:
    """Every overdue spell of a schedule, the ones a late drill ended too: a late drill does not undo the
    lateness, so judged once after it or day by day through it, the spell is the same finding."""
    out: list[Spell] = []
    since: date | None = None
    missed = 0
    for due in schedule.history:
        if due.met:
            continue
        if since is None:
            since, missed = due.date, 0
        missed += 1
        if due.passed_on is not None:
            out.append(Spell(since, due.passed_on, missed))
            since = None
    if since is not None:
        out.append(Spell(since, None, missed))
    return out


def drills_for(by: Mapping[tuple[str, str], list[Drill]], system: str, key: str) -> list[Drill]:
    """The drills of a system of the types a cadence key names, by date."""
    found = [d for t in cadence_types(key) for d in by.get((system, t), [])]
    return sorted(found, key=lambda d: (d.date, d.type))


def passes_of(drills: list[Drill]) -> list[date]:
    return [d.date for d in drills if d.result == "pass"]


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
            passes = passes_of(drills_for(by, system.name, kind))
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


def plans(session: Session, until: date, arrived: ColumnElement[bool] | None = None) -> list[DrillPlan]:
    """The planned drills up to `until` (of a plan that had arrived, when `arrived` is a check's
    `ctx.arrived(DrillPlan)`: a plan is a state, replaced as the contractor revises it)."""
    query = select(DrillPlan).where(DrillPlan.date <= until)
    if arrived is not None:
        query = query.where(arrived)
    return list(session.scalars(query.order_by(DrillPlan.date)))


# --- backup episodes -----------------------------------------------------------------------------------


def run_done(job: BackupJob) -> datetime:
    """When a run is known to have ended: its end, or its start when no end is recorded (restic < 0.17)."""
    done = from_store(job.finished or job.started)
    assert done is not None
    return done


@dataclass
class FailureStreak:
    """Failed or partial runs with no success between them: from the first failed run's start to the end of
    the success that ended them (the recovery)."""

    failed: list[BackupJob]
    last_good: BackupJob | None  # the last success before the streak; None: never a success before it
    recovered_by: BackupJob | None = None  # the success that ended it; None: still failing

    @property
    def start(self) -> datetime:
        start = from_store(self.failed[0].started)
        assert start is not None
        return start

    @property
    def end(self) -> datetime | None:
        return run_done(self.recovered_by) if self.recovered_by is not None else None


def failure_streaks(runs: list[BackupJob], at: datetime) -> list[FailureStreak]:
    """A system's failure streaks as of `at`, the recovered ones too. Runs count in the order they ended, and
    only once ended by `at`: a run still going is neither a failure nor a success yet."""
    ended = sorted((r for r in runs if run_done(r) <= at), key=lambda r: (run_done(r), r.started, r.id))
    out: list[FailureStreak] = []
    current: FailureStreak | None = None
    last_good: BackupJob | None = None
    for run in ended:
        if run.status == "success":
            if current is not None:
                current.recovered_by = run
                out.append(current)
                current = None
            last_good = run
        elif current is None:
            current = FailureStreak([run], last_good)
        else:
            current.failed.append(run)
    if current is not None:
        out.append(current)
    return out


@dataclass
class Gap:
    """No backup run at all for longer than the RPO, after a run: the system's backups stopped."""

    after: BackupJob  # the last run before the gap (of any status): the RPO is counted from its end
    start: datetime  # when the RPO ran out with no new run
    ended_by: BackupJob | None = None  # the next run to start; None: still none at `at`

    @property
    def end(self) -> datetime | None:
        return from_store(self.ended_by.started) if self.ended_by is not None else None


def backup_gaps(runs: list[BackupJob], rpo: timedelta, at: datetime) -> list[Gap]:
    """A system's gaps as of `at`, the closed ones too: from the end of a run (runs that overlap count until the
    last of them ended) plus the RPO, until the next run starts. A run still going at `at` is a run: the system
    has not stopped. Losing exactly the RPO is allowed: a run starting at that moment closes no gap."""
    started = sorted(
        (r for r in runs if from_store(r.started) <= at), key=lambda r: (from_store(r.started), r.id)
    )
    out: list[Gap] = []
    last: BackupJob | None = None
    busy_until = at
    for run in started:
        start = from_store(run.started)
        assert start is not None
        if last is not None and start > busy_until + rpo:
            out.append(Gap(last, busy_until + rpo, run))
        if last is None or run_done(run) >= busy_until:
            last, busy_until = run, run_done(run)
    if last is not None and at > busy_until + rpo:
        out.append(Gap(last, busy_until + rpo))
    return out


def runs_for_window(session: Session, system: str, scope_start: datetime, at: datetime) -> list[BackupJob]:
    """A system's runs started by `at` that bear on episodes reaching into [scope_start, at]: from the last
    success that ended before scope_start (the state the window opens in) onwards; every run if none."""
    done = func.coalesce(BackupJob.finished, BackupJob.started)
    anchor = session.scalar(
        select(func.max(done)).where(
            BackupJob.system == system,
            BackupJob.status == "success",
            BackupJob.started <= at,
            done < scope_start,
        )
    )
    query = select(BackupJob).where(BackupJob.system == system, BackupJob.started <= at)
    if anchor is not None:
        query = query.where(done >= anchor)
    return list(session.scalars(query.order_by(BackupJob.started, BackupJob.id)))


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
        for kind in sorted(k for (n, k) in by if n == system.name):
            r = by[(system.name, kind)][-1]
            drills.append(
                f"{drill_label(kind, zh)} {r.date.isoformat()} "
                f"{('通过' if r.result == 'pass' else '失败') if zh else r.result}"
            )
        for kind, cadence in sorted(system.drill_every_days.items()):
            if origin is None:
                continue
            plan = drill_schedule(origin, cadence, passes_of(drills_for(by, system.name, kind)), today)
            label = drill_label(kind, zh)
            if plan.overdue_since is not None:
                dues.append(f"{label} {'逾期自' if zh else 'overdue since'} {plan.overdue_since.isoformat()}")
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
    "CADENCE_SEPARATOR",
    "DRILL_TYPES",
    "DRILL_TYPE_ZH",
    "ContinuitySection",
    "Due",
    "DrillFigures",
    "FailureStreak",
    "Gap",
    "Schedule",
    "Spell",
    "System",
    "backup_gaps",
    "backup_success_rates",
    "cadence_types",
    "continuity_terms",
    "drill_completion",
    "drill_label",
    "drill_schedule",
    "drills_by",
    "drills_for",
    "failure_streaks",
    "last_success",
    "obligations_start",
    "overdue_spells",
    "passes_of",
    "plans",
    "run_done",
    "runs_for_window",
    "systems",
]
