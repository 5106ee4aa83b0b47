"""The center's own unannounced inspections (不定期检查, R7): the terms, the monthly plan, the reminders.

contract.toml `[inspections]` says how many inspections a month (`per_month`), over which areas (default: the
machine room, the operations records, the backup and drill evidence), when the center is reminded on the day,
how many days a planned inspection may be recorded late (`grace_days`) and the default rectification term.

The plan: `plan_month` draws `per_month` distinct working days (official calendar, with 调休 and the contract's
own calendar overrides) from the day it is drawn to the end of the month, and an area for each. The draw is
`random.Random` seeded by a string made of the month and a seed from `secrets.token_hex(16)`: the same seed
gives the same days on any machine and Python run, and without the seed (kept in InspectionPlan, printed only
on request) the days cannot be foreseen from the code. A plan, once drawn, is kept: drawing again returns it;
`redraw` replaces only the inspections from today on that were not reminded yet.

Reminders: the daemon's `inspections` job (`run_reminders`) draws the current month's plan when there is none
(on the 1st just after midnight when the daemon runs all along; from the day it starts otherwise, with a
pro-rata count), and on a planned day at or after `remind_at` (site time) queues one email to the center for
that day, with a stable Message-ID: a restart never sends it twice, and a dead mail server only delays it (the
outbox retries). Next month's plan is not drawn ahead: the fewer days a plan exists before its dates, the
fewer people can read it.
"""

from __future__ import annotations

import math
import random
import re
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ops_watch.areas.staffing.shifts import day_type, staffing_terms
from ops_watch.core.contract import CONTRACT_SECTIONS, section_of
from ops_watch.core.log import get_logger
from ops_watch.core.models import Strict
from ops_watch.core.timeutil import utcnow
from ops_watch.core.when import month_bounds
from ops_watch.core.when import parse_month as parse_month  # the commands and the console import it from here
from ops_watch.formats.spec import normalize_header
from ops_watch.store.schema import InspectionPlan, InspectionRecord, PlannedInspection

if TYPE_CHECKING:
    from ops_watch.store import Store

log = get_logger(__name__)

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
WEEKDAY_ZH = "一二三四五六日"


class Area(Strict):
    """One thing an inspection looks at. `guide_zh`/`guide_en`: what to do there, for the reminder email."""

    key: str = Field(min_length=1, max_length=64)
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=128)
    aliases: list[str] = Field(default_factory=list)
    guide_zh: str = ""
    guide_en: str = ""

    @field_validator("key")
    @classmethod
    def _plain_key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError(
                f"{value!r}: a key is letters, digits, _ . - only (e.g. site), used on the command line"
            )
        return value

    def name(self, language: str) -> str:
        return self.name_zh if language == "zh" else self.name_en

    def spellings(self) -> tuple[str, ...]:
        return (self.key, self.name_zh, self.name_en, *self.aliases)


DEFAULT_AREAS: tuple[Area, ...] = (
    Area(
        key="site",
        name_zh="机房现场",
        name_en="the machine room",
        aliases=["现场", "机房", "机房现场检查", "在岗人员", "门禁"],
        guide_zh="到机房现场，对照驻场人员名册核对在岗人员（人数、姓名、岗位和证书）；调阅门禁记录和机房出入登记，"
        "核对进出人员与当班人员一致、无陌生人员；查看机房门是否关闭上锁。",
        guide_en="Go to the machine room: compare the people on duty with the staff list (headcount, names, roles, "
        "certificates); read the door records and the visitor log and check that whoever went in is on the shift; "
        "check that the doors are closed and locked.",
    ),
    Area(
        key="records",
        name_zh="运维记录",
        name_en="operations records",
        aliases=["交接班", "交接班记录", "运维日志", "值班记录"],
        guide_zh="调阅最近几天的交接班表和运维日志：每一班是否都有交接班表并由交接双方签字，日志是否记录了变更、"
        "故障及处理结果；与 ops-watch 收到的交接班记录对照，看有无补填或不一致。",
        guide_en="Ask for the last days' handover sheets and operations logs: does every shift have a sheet signed "
        "by both sides, does the log record the changes, incidents and what was done; compare them with the "
        "handover sheets ops-watch received, looking for rows filled in afterwards or not matching.",
    ),
    Area(
        key="continuity",
        name_zh="备份与演练证据",
        name_en="backup and drill evidence",
        aliases=["备份", "演练", "备份演练", "备份与演练", "备份和演练"],
        guide_zh="索取最近一次备份报告和最近一次演练记录：备份是否按时成功、能否当场出示恢复验证；演练记录是否有"
        "参演人员、实测恢复时间（RTO/RPO）和佐证材料，与 ops-watch 收到的记录是否一致。",
        guide_en="Ask for the last backup report and the last drill record: did the backups succeed on time, can a "
        "restore check be shown on the spot; does the drill record carry the participants, the measured recovery "
        "times (RTO/RPO) and supporting material, and does it match what ops-watch received.",
    ),
)


class InspectionsSection(Strict):
    """contract.toml `[inspections]`. Without it: no plan is drawn (per_month 0), the default areas."""

    per_month: int = Field(
        default=0, ge=0, le=23
    )  # 0: no plan is drawn; 23: about the working days of a month
    areas: list[Area] = Field(default_factory=lambda: list(DEFAULT_AREAS), min_length=1)
    remind_at: time = time(8, 0)
    grace_days: int = Field(default=2, ge=0, le=31)
    rectify_days: int = Field(default=7, ge=1, le=366)
    recipients: list[str] = Field(default_factory=list)  # empty: the weekly report's recipients

    @field_validator("remind_at", mode="before")
    @classmethod
    def _time_of_day(cls, value: Any) -> Any:
        if isinstance(value, time):  # a TOML local time, remind_at = 08:00:00
            if value.tzinfo is not None:
                raise ValueError("give a local time of day without a zone (the site zone applies)")
            return value
        if isinstance(value, str):
            m = _TIME.match(value.strip())
            if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
                return time(int(m.group(1)), int(m.group(2)))
        raise ValueError(f'{value!r} is not a time of day "HH:MM" (00:00 to 23:59), e.g. "08:00"')

    @field_validator("areas")
    @classmethod
    def _default_guides(cls, value: list[Area]) -> list[Area]:
        """An area listed with a default key and no guide keeps the default's guide for the reminder."""
        defaults = {a.key: a for a in DEFAULT_AREAS}
        out = []
        for area in value:
            base = defaults.get(area.key)
            if base is not None and not (area.guide_zh or area.guide_en):
                area = area.model_copy(update={"guide_zh": base.guide_zh, "guide_en": base.guide_en})
            out.append(area)
        return out

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for addr in value:
            if "@" not in addr:
                raise ValueError(f"{addr!r} is not an email address")
        return value

    @model_validator(mode="after")
    def _areas_distinct(self) -> InspectionsSection:
        seen: dict[str, str] = {}
        for area in self.areas:
            if area.key in {a.key for a in self.areas if a is not area}:
                raise ValueError(f"areas: key {area.key!r} is listed twice")
            for spelling in area.spellings():
                norm = normalize_header(spelling)
                other = seen.setdefault(norm, area.key)
                if other != area.key:
                    raise ValueError(
                        f"areas: {spelling!r} names both {other!r} and {area.key!r}: give each area its own "
                        "names and aliases"
                    )
        return self

    def area(self, text: object) -> Area | None:
        """The area a cell or an option names: its key, Chinese or English name or an alias (spaces, case and
        full-width letters do not matter)."""
        norm = normalize_header(text)
        if not norm:
            return None
        for area in self.areas:
            if any(normalize_header(s) == norm for s in area.spellings()):
                return area
        return None

    def known(self, language: str) -> str:
        if language == "zh":
            return "、".join(f"{a.key}（{a.name_zh}）" for a in self.areas)
        return ", ".join(f"{a.key} ({a.name_en})" for a in self.areas)

    def name_of(self, key: str, language: str) -> str:
        """An area's name; a key no longer in the contract (an old plan) as it is."""
        for area in self.areas:
            if area.key == key:
                return area.name(language)
        return key


CONTRACT_SECTIONS.add("inspections", InspectionsSection)


def inspection_terms(contract: Mapping[str, Any]) -> InspectionsSection:
    return section_of(contract, "inspections", InspectionsSection)


class PlanError(ValueError):
    """A plan that cannot be drawn, said in both languages."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh, self.en = zh, en

    def text(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


# --- months and working days -----------------------------------------------------------------------------


# parse_month ("2026-12", "2026/12", "2026年12月" -> "2026-12") and month_bounds are core.when's, imported at the
# top so the commands and the console keep importing them from here.


def working_days(
    month: str, first_day: date | None = None, overrides: Mapping[date, str] | None = None
) -> tuple[list[date], list[date]]:
    """(working days of the month from `first_day` on, days typed by the Monday–Friday fallback because the
    installed chinesecalendar does not cover their year). Working days include 调休 Saturdays and Sundays and
    exclude official holidays; the contract's [staffing] calendar_overrides win."""
    start, end = month_bounds(month)
    d = max(start, first_day) if first_day else start
    days: list[date] = []
    uncovered: list[date] = []
    while d <= end:
        kind, covered = day_type(d, overrides)
        if not covered:
            uncovered.append(d)
        if kind == "workday":
            days.append(d)
        d += timedelta(days=1)
    return days, uncovered


def draw(
    month: str,
    seed: str,
    count: int,
    areas: Sequence[str],
    first_day: date | None = None,
    overrides: Mapping[date, str] | None = None,
    exclude: Collection[date] = (),
) -> list[tuple[date, str]]:
    """`count` distinct working days of `month` (from `first_day` on, not in `exclude`), each with an area,
    sorted by day. With count >= len(areas) every area is visited; fewer: the areas are drawn at random, so
    nobody can tell which area a month leaves out. Deterministic in (month, seed, the rest); PlanError when
    the month has fewer working days left than `count`."""
    if count < 0:
        raise PlanError("检查次数不能为负数", "the number of inspections must not be negative")
    if not areas:
        raise PlanError(
            "没有可检查的区域（[inspections] areas 为空）", "no areas to inspect ([inspections] areas)"
        )
    days, _ = working_days(month, first_day, overrides)
    days = [d for d in days if d not in exclude]
    if count > len(days):
        since = f"自 {first_day.isoformat()} 起" if first_day else ""
        raise PlanError(
            f"{month} {since}只有 {len(days)} 个工作日，排不下 {count} 次检查：请减少 per_month（或 --count）",
            f"{month} has only {len(days)} working days"
            f"{f' from {first_day.isoformat()}' if first_day else ''}: {count} inspections do not fit; "
            "lower per_month (or --count)",
        )
    # A str seed goes through SHA-512 (random.seed version 2): the same on every platform and Python run,
    # whatever PYTHONHASHSEED says.
    rng = random.Random(f"ops-watch/inspections/{month}/{seed}")
    chosen = sorted(rng.sample(days, count))
    order = list(areas)
    rng.shuffle(order)
    pool = [order[i % len(order)] for i in range(count)]  # whole rounds first: every area once per round
    rng.shuffle(pool)
    return list(zip(chosen, pool, strict=True))


def new_seed() -> str:
    return secrets.token_hex(16)


# --- the plan ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRow:
    day: date
    area: str
    reminded_at: datetime | None = None


@dataclass
class PlanResult:
    month: str
    seed: str
    count: int
    areas: list[str]
    drawn_at: datetime
    drawn_by: str
    rows: list[PlannedRow]
    created: bool = False  # drawn now (False: the stored plan, unchanged)
    redrawn_from: date | None = None  # redraw: the days from this one on were drawn again
    kept: int = 0  # redraw: inspections kept (past, or already announced)
    uncovered: list[date] = field(default_factory=list)

    def notes(self, language: str, zone: ZoneInfo) -> list[str]:
        zh = language == "zh"
        drawn = self.drawn_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        out = []
        if not self.created:
            out.append(
                f"{self.month} 的检查计划已于 {drawn} 抽取，沿用原计划（重新抽取用 --redraw）"
                if zh
                else f"the plan of {self.month} was drawn at {drawn} and is kept (--redraw draws it again)"
            )
        if self.redrawn_from is not None:
            out.append(
                f"已重新抽取 {self.redrawn_from.isoformat()} 起的检查；保留已过去或已提醒的 {self.kept} 次"
                if zh
                else f"inspections from {self.redrawn_from.isoformat()} on were drawn again; {self.kept} past or "
                "already reminded kept"
            )
        if self.uncovered:
            out.append(
                f"节假日日历（chinesecalendar）不含 {self.uncovered[0].year} 年：按周一至周五为工作日抽取。"
                "请升级 chinesecalendar，或在 [staffing.calendar_overrides] 写明节假日"
                if zh
                else f"the holiday calendar (chinesecalendar) does not cover {self.uncovered[0].year}: days were "
                "drawn from Monday-Friday. Upgrade chinesecalendar or list the holidays in "
                "[staffing.calendar_overrides]"
            )
        return out


def _overrides(contract: Mapping[str, Any]) -> Mapping[date, str]:
    try:
        return staffing_terms(contract).calendar_overrides
    except ValueError:
        return {}


def _result(plan: InspectionPlan, rows: Iterable[PlannedInspection], **kw: Any) -> PlanResult:
    return PlanResult(
        month=plan.month,
        seed=plan.seed,
        count=plan.count,
        areas=list(plan.areas or []),
        drawn_at=plan.drawn_at,
        drawn_by=plan.drawn_by,
        rows=sorted((PlannedRow(r.day, r.area, r.reminded_at) for r in rows), key=lambda r: (r.day, r.area)),
        **kw,
    )


def stored_plan(store: Store, month: str) -> PlanResult | None:
    with store.session() as session:
        plan = session.scalar(select(InspectionPlan).where(InspectionPlan.month == month))
        if plan is None:
            return None
        rows = session.scalars(select(PlannedInspection).where(PlannedInspection.month == month)).all()
        return _result(plan, rows)


def plan_month(
    store: Store,
    contract: Mapping[str, Any],
    zone: ZoneInfo,
    month: str,
    drawn_by: str,
    redraw: bool = False,
    now: datetime | None = None,
    count: int | None = None,
    seed: str | None = None,
) -> PlanResult:
    """The month's plan: the stored one, or drawn now (days from today on, site time) and stored.

    `count` default: per_month, pro rata to the working days left when the month has begun. `seed` default a
    fresh random one (give one only to rebuild a lost plan from its recorded seed). `redraw`: the stored
    plan's inspections from today on that were not reminded yet are drawn again with a new seed.
    """
    now = now or utcnow()
    today = now.astimezone(zone).date()
    first, last = month_bounds(month)
    existing = stored_plan(store, month)
    if existing is not None and not redraw:
        return existing
    if last < today:
        raise PlanError(
            f"{month} 已经过去，不能再抽取检查计划",
            f"{month} is over: a plan cannot be drawn for it any more",
        )
    terms = inspection_terms(contract)
    overrides = _overrides(contract)
    first_day = max(first, today)
    keys = [a.key for a in terms.areas]
    kept: list[PlannedRow] = []
    if existing is not None:
        kept = [r for r in existing.rows if r.day < today or r.reminded_at is not None]
        total = existing.count if count is None else count
        wanted = max(0, total - len(kept))
    else:
        total = wanted = (
            count if count is not None else _pro_rata(terms.per_month, month, first_day, overrides)
        )
    if wanted == 0 and existing is None:
        raise PlanError(
            "[inspections] per_month 为 0：合同未要求不定期检查。请在 contract.toml 设置 per_month，或用 --count 指定次数",
            "[inspections] per_month is 0: no inspections are required. Set per_month in contract.toml or "
            "give --count",
        )
    seed = seed or new_seed()
    kept_days = {r.day for r in kept}
    drawn = draw(month, seed, wanted, keys, first_day, overrides, exclude=kept_days)
    _, uncovered = working_days(month, first_day, overrides)
    try:
        with store.session() as session:
            plan = session.scalar(select(InspectionPlan).where(InspectionPlan.month == month))
            if plan is None:
                plan = InspectionPlan(month=month)
                session.add(plan)
            plan.seed, plan.count, plan.areas = seed, total, keys
            plan.drawn_at, plan.drawn_by = now, drawn_by[:128]
            gone = select(PlannedInspection.id).where(PlannedInspection.month == month)
            if kept:
                gone = gone.where(PlannedInspection.day >= today, PlannedInspection.reminded_at.is_(None))
            session.execute(delete(PlannedInspection).where(PlannedInspection.id.in_(gone)))
            session.flush()
            session.add_all(PlannedInspection(month=month, day=d, area=a) for d, a in drawn)
            session.flush()
            rows = session.scalars(select(PlannedInspection).where(PlannedInspection.month == month)).all()
            result = _result(
                plan,
                rows,
                created=True,
                redrawn_from=first_day if existing is not None else None,
                kept=len(kept),
                uncovered=uncovered,
            )
    except IntegrityError:
        # Drawn at the same moment by another process (the daemon and a person): theirs stands.
        again = stored_plan(store, month)
        if again is None:
            raise
        return again
    log.info("inspection plan drawn", month=month, count=len(drawn), redraw=existing is not None, by=drawn_by)
    return result


def _pro_rata(per_month: int, month: str, first_day: date, overrides: Mapping[date, str]) -> int:
    """per_month for a whole month; for the rest of a begun month, its share of the working days, rounded up
    (a plan drawn on the 20th does not crowd a month's inspections into ten days)."""
    every, _ = working_days(month, None, overrides)
    left, _ = working_days(month, first_day, overrides)
    if not every or len(left) == len(every):
        return per_month  # the whole month: draw() says so when they do not fit
    return min(len(left), math.ceil(per_month * len(left) / len(every)))


# --- how each planned inspection stands --------------------------------------------------------------------

STATUSES = ("upcoming", "due", "done", "missed")
STATUS_ZH = {"upcoming": "待检查", "due": "待记录", "done": "已完成", "missed": "未按时检查"}


@dataclass(frozen=True)
class PlannedStatus:
    day: date
    area: str
    status: str  # upcoming | due | done | missed
    reminded_at: datetime | None
    record: InspectionRecord | None  # the record that fulfils it (status done)


def fulfilling(
    records: Sequence[InspectionRecord], day: date, area: str, grace_days: int
) -> InspectionRecord | None:
    """The record of `area` dated from the planned day to `grace_days` after it (the earliest), if any."""
    last = day + timedelta(days=grace_days)
    hits = [r for r in records if r.area == area and day <= r.day <= last]
    return min(hits, key=lambda r: r.day) if hits else None


def planned_statuses(
    session: Any, terms: InspectionsSection, today: date, month: str | None = None
) -> list[PlannedStatus]:
    """Every planned inspection (of `month`, or all) as it stands on `today` (site date). Records dated after
    `today` are not seen: a check as of a past time sees what was known then."""
    query = select(PlannedInspection).order_by(PlannedInspection.day, PlannedInspection.area)
    if month is not None:
        query = query.where(PlannedInspection.month == month)
    planned = session.scalars(query).all()
    if not planned:
        return []
    lo = min(p.day for p in planned)
    records = session.scalars(
        select(InspectionRecord).where(InspectionRecord.day >= lo, InspectionRecord.day <= today)
    ).all()
    out = []
    for p in planned:
        record = fulfilling(records, p.day, p.area, terms.grace_days)
        if record is not None:
            status = "done"
        elif p.day > today:
            status = "upcoming"
        elif p.day + timedelta(days=terms.grace_days) >= today:
            status = "due"
        else:
            status = "missed"
        out.append(PlannedStatus(p.day, p.area, status, p.reminded_at, record))
    return out


def unplanned_records(
    session: Any, terms: InspectionsSection, month: str, today: date
) -> list[InspectionRecord]:
    """The month's records that fulfil no planned inspection (inspections the center made on its own)."""
    first, last = month_bounds(month)
    records = session.scalars(
        select(InspectionRecord)
        .where(InspectionRecord.day >= first, InspectionRecord.day <= min(last, today))
        .order_by(InspectionRecord.day, InspectionRecord.area)
    ).all()
    used = {s.record.id for s in planned_statuses(session, terms, today, None) if s.record is not None}
    return [r for r in records if r.id not in used]


# --- reminders ---------------------------------------------------------------------------------------------


def reminder_message_id(day: date) -> str:
    """One reminder a day, always the same Message-ID: queued once however often the job runs."""
    return f"<inspection.{day.isoformat()}@ops-watch.local>"


def reminder_text(
    day: date, areas: Sequence[str], terms: InspectionsSection, language: str, drop_hint: str = "var/drop"
) -> tuple[str, str]:
    """(subject, body) of the morning reminder: what to look at in each area, and how to record the result."""
    zh = language == "zh"
    by_key = {a.key: a for a in terms.areas}
    names = [terms.name_of(k, language) for k in areas]
    last = day + timedelta(days=terms.grace_days)
    rectify = day + timedelta(days=terms.rectify_days)
    if zh:
        subject = f"【不定期检查提醒】今天（{day.isoformat()} 周{WEEKDAY_ZH[day.weekday()]}）检查：{'、'.join(names)}"
        lines = [
            f"按照本月的不定期检查计划，今天（{day.isoformat()}）请对运维单位做以下检查。",
            "本提醒只发给中心，请勿提前告知运维单位。",
            "",
        ]
        for i, key in enumerate(areas, 1):
            area = by_key.get(key)
            lines.append(f"{i}. {terms.name_of(key, 'zh')}（{key}）")
            lines.append(
                f"   {area.guide_zh if area and area.guide_zh else '按合同要求检查该项内容，记录发现的问题。'}"
            )
            lines.append("")
        lines += [
            f"检查后请在 {last.isoformat()} 前记录结果（逾期未记录视为未检查），任选一种方式：",
            f"  ops-watch inspections record --date {day.isoformat()} --area {areas[0]} --inspector 姓名 --result pass",
            f'  发现问题时：--result problems --problems "问题描述" --rectify-by {rectify.isoformat()}'
            f"（不写整改期限则为检查日后 {terms.rectify_days} 天）",
            f"  或填写检查记录表（列：检查日期、检查区域、检查人、检查结果、发现问题、整改期限、整改完成日期、备注），"
            f"放入投递目录 {drop_hint}/inspection/。",
            "问题整改完成后：ops-watch inspections rectified --date 检查日期 --area 区域 --on 完成日期",
            "",
            "—— ops-watch（运维合规监督）",
        ]
    else:
        subject = f"Unannounced inspection today ({day.isoformat()} {day:%a}): {', '.join(names)}"
        lines = [
            f"The month's unannounced inspection plan has an inspection of the contractor today ({day.isoformat()}).",
            "This reminder goes to the center only: do not tell the contractor beforehand.",
            "",
        ]
        for i, key in enumerate(areas, 1):
            area = by_key.get(key)
            lines.append(f"{i}. {terms.name_of(key, 'en')} ({key})")
            lines.append(
                f"   {area.guide_en if area and area.guide_en else 'Inspect it as the contract requires and note any problem.'}"
            )
            lines.append("")
        lines += [
            f"Afterwards record the result by {last.isoformat()} (later, the inspection counts as missed), either:",
            f"  ops-watch inspections record --date {day.isoformat()} --area {areas[0]} --inspector NAME --result pass",
            f'  with problems: --result problems --problems "what was found" --rectify-by {rectify.isoformat()} '
            f"(without a deadline: {terms.rectify_days} days after the inspection)",
            "  or fill in the inspection sheet (columns: 检查日期, 检查区域, 检查人, 检查结果, 发现问题, 整改期限, "
            f"整改完成日期, 备注) and drop it into {drop_hint}/inspection/.",
            "When a problem is fixed: ops-watch inspections rectified --date DAY --area AREA --on DATE",
            "",
            "-- ops-watch",
        ]
    return subject, "\n".join(lines) + "\n"
