"""The monthly attendance sheet (考勤月报): each person × day of a month, from the same `StaffingView` as the
shift table and the staffing rate, so the three never disagree.

Per person and local day:
- on-site hours: the person's door stays (the presence model, presence.py) clipped to the day at the site and
  to the view's `at` (a night shift's hours fall on the two days it spans);
- shifts worked: the ended shifts starting that day the person counts for in the headcount (`onsite`), the
  very person-shifts the staffing rate counts before its cap;
- marks, the view's own verdicts: 迟 late (`late`), 缺 absent (`ghosts`: on the sheet, no presence), and 未登记
  (a shift with a sheet row that does not list the person, though their stays cover at least half of it: the
  headcount's test, applied to the people the sheet leaves out; people listed on an overlapping shift are not
  marked).

`attendance(view, first, last)` computes it; `attendance_workbook` and `shifts_workbook` write the XLSX files
the center hands to the contractor (with report.xlsx, the project's one XLSX writer). docs/staffing.md,
"考勤月报 / attendance sheet", explains each mark to the reader.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ops_watch.areas.staffing.presence import (
    SHIFT_COLUMNS,
    ShiftEvidence,
    StaffingView,
    Stay,
    _overlap,
    shift_rows,
)
from ops_watch.areas.staffing.shifts import day_type
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.core.vocabulary import text
from ops_watch.findings.rules import RuleSet
from ops_watch.report.model import CellKind, Column, Table

WEEKDAYS_ZH = "一二三四五六日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MARKS = ("absent", "late", "unregistered")  # the order marks are shown in a cell
_MARK_TEXT = {"absent": ("缺", "absent"), "late": ("迟", "late"), "unregistered": ("未登记", "unlisted")}


@dataclass(frozen=True)
class PersonDay:
    """One person on one local day. Shift names are of the shifts starting that day."""

    person_id: str
    name: str
    day: date
    minutes: int  # on site within the day (whole minutes)
    present: bool  # any presence evidence that day (a moment at a door counts, with 0 minutes)
    shifts: tuple[str, ...] = ()  # worked: counted in the headcount of an ended shift
    listed: tuple[str, ...] = ()  # on the shift's sheet row
    late: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    unregistered: tuple[str, ...] = ()

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    @property
    def marks(self) -> tuple[str, ...]:
        return tuple(m for m in MARKS if getattr(self, m))

    def cell(self, language: str) -> float | str | None:
        """The grid's short cell: the hours as a number, or the marks (with the hours, when on site)."""
        if not self.marks:
            return self.hours if self.present else None
        shown = "/".join(text(language, *_MARK_TEXT[m]) for m in self.marks)
        return f"{shown} {self.hours:.1f}" if self.present else shown


@dataclass(frozen=True)
class PersonTotals:
    person_id: str
    name: str
    days_on_site: int
    minutes: int
    shifts: int
    late: int
    absent: int
    unregistered: int

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


@dataclass(frozen=True)
class DayTotals:
    day: date
    day_type: str  # workday | rest_day | holiday (the staffing calendar, shifts.day_type)
    covered: bool  # False: the calendar package does not cover the year (typed Monday–Friday)
    required: int  # contracted person-shifts of the ended shifts starting that day
    evidenced: int  # the staffing rate's evidenced person-shifts (each shift capped at its minimum)
    worked: int  # person-shifts worked (the headcount, uncapped)
    people_on_site: int
    minutes: int
    late: int
    absent: int
    unregistered: int

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


@dataclass
class Attendance:
    first: date  # the month's first and last day
    last: date
    judged_from: date  # the view's first day (judge_from may start it later): earlier days are empty
    at: datetime
    zone: ZoneInfo
    people: list[tuple[str, str]]  # (person id, name), in id order
    cells: dict[tuple[str, date], PersonDay] = field(default_factory=dict)
    totals: list[PersonTotals] = field(default_factory=list)
    days: list[DayTotals] = field(default_factory=list)
    has_evidence: bool = False  # any door stay or sheet row in the month

    @property
    def month(self) -> str:
        return f"{self.first.year}-{self.first.month:02d}"

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _minutes(person_stays: Iterable[Stay], start: datetime, end: datetime) -> tuple[int, bool]:
    """Whole minutes the stays cover [start, end), and whether any stay is within it (a moment at a door
    counts; a stay ending exactly at `start` does not)."""
    total = timedelta(0)
    present = False
    for s in person_stays:
        lo, hi = max(s.start, start), min(s.end, end)
        if hi > lo:
            total += hi - lo
            present = True
        elif s.start == s.end and start <= s.start < end:
            present = True
    return int(total.total_seconds() // 60), present


def _listed_ids(s: ShiftEvidence) -> set[str]:
    return {n.person.person_id for n in s.listed if n.person is not None}


def exempt_roles(rules: RuleSet) -> frozenset[str]:
    """The roles the enabled `off_shift_entry` rules exempt (e.g. 项目经理): people whose job takes them on site
    outside shifts. The attendance sheet never marks them 未登记, as that check never reports them."""
    return frozenset(
        role
        for rule in rules.enabled
        if rule.check.name == "off_shift_entry"
        for role in getattr(rule.params, "exempt_roles", ())
    )


def attendance(
    view: StaffingView, first: date, last: date, exempt: frozenset[str] = frozenset()
) -> Attendance:
    """Each person × day of [first, last] (the view must cover those days). `exempt`: roles never marked
    未登记 (`exempt_roles(rules)`)."""
    registry = view.registry
    start_day = max(first, view.first_day)
    days = [start_day + timedelta(days=i) for i in range((last - start_day).days + 1)]
    shifts = [s for s in view.shifts if first <= s.instance.day <= last]
    by_day: dict[date, list[ShiftEvidence]] = defaultdict(list)
    for s in shifts:
        by_day[s.instance.day].append(s)

    # per person and day: shift names by verdict
    verdicts: dict[tuple[str, date], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for s in shifts:
        inst = s.instance
        key_day = inst.day
        listed = _listed_ids(s)
        for pid in sorted(listed):
            verdicts[(pid, key_day)]["listed"].append(inst.shift)
        for pid in s.late:
            verdicts[(pid, key_day)]["late"].append(inst.shift)
        if not s.ended:
            continue
        for p in s.onsite:
            verdicts[(p.person_id, key_day)]["shifts"].append(inst.shift)
        for p in s.ghosts:
            verdicts[(p.person_id, key_day)]["absent"].append(inst.shift)
        if s.sheet is None:
            continue  # no sheet row: everyone on site counts (onsite); the missing row is the shift table's
        beside = set().union(
            *(
                _listed_ids(o)
                for o in view.shifts
                if o is not s and o.instance.start < inst.end and inst.start < o.instance.end
            )
        )
        for pid, person_stays in view.stays.items():
            if pid in listed or pid in beside or registry.people[pid].role in exempt:
                continue
            if _overlap(person_stays, inst.start, inst.end) * 2 >= inst.end - inst.start:
                verdicts[(pid, key_day)]["unregistered"].append(inst.shift)

    ids = {
        pid
        for pid, p in registry.people.items()
        if (p.active_from is None or p.active_from <= last) and (p.active_to is None or first <= p.active_to)
    }
    ids |= {pid for pid, _ in verdicts}
    month_start, month_end = local_day_bounds(start_day, view.zone)[0], local_day_bounds(last, view.zone)[1]
    ids |= {
        pid for pid, ss in view.stays.items() if any(month_start <= x.end and x.start < month_end for x in ss)
    }
    result = Attendance(first, last, view.first_day, view.at, view.zone, [])
    for pid in sorted(ids):
        person = registry.people[pid]
        person_stays = view.stays.get(pid, [])
        for day in days:
            lo, hi = local_day_bounds(day, view.zone)
            minutes, present = _minutes(person_stays, lo, min(hi, view.at)) if lo < view.at else (0, False)
            v = verdicts.get((pid, day), {})
            if not present and not v:
                continue
            result.cells[(pid, day)] = PersonDay(
                pid,
                person.name,
                day,
                minutes,
                present,
                **{k: tuple(v.get(k, ())) for k in ("shifts", "listed", "late", "absent", "unregistered")},
            )
        result.people.append((pid, person.name))

    for pid, name in result.people:
        mine = [c for (p, _), c in result.cells.items() if p == pid]
        result.totals.append(
            PersonTotals(
                pid,
                name,
                days_on_site=sum(c.present for c in mine),
                minutes=sum(c.minutes for c in mine),
                shifts=sum(len(c.shifts) for c in mine),
                late=sum(len(c.late) for c in mine),
                absent=sum(len(c.absent) for c in mine),
                unregistered=sum(len(c.unregistered) for c in mine),
            )
        )
    for day in result.dates():  # every day of the month (those before judge_from empty)
        todays = [c for (_, d), c in result.cells.items() if d == day]
        ended = [s for s in by_day.get(day, []) if s.ended]
        kind, covered = day_type(day, view.terms.calendar_overrides)
        result.days.append(
            DayTotals(
                day,
                kind,
                covered,
                required=sum(s.required for s in ended),
                evidenced=sum(s.evidenced for s in ended),
                worked=sum(len(s.onsite) for s in ended),
                people_on_site=sum(c.present for c in todays),
                minutes=sum(c.minutes for c in todays),
                late=sum(len(c.late) for c in todays),
                absent=sum(len(c.absent) for c in todays),
                unregistered=sum(len(c.unregistered) for c in todays),
            )
        )
    result.has_evidence = any(c.present for c in result.cells.values()) or any(s.sheet for s in shifts)
    return result


# --- rows for the CLI (and the API) --------------------------------------------------------------------

SUMMARY_COLUMNS = ["person_id", "name", "days_on_site", "hours", "shifts", "late", "absent", "unregistered"]
DETAIL_COLUMNS = ["day", "person_id", "name", "hours", "shifts", "listed", "late", "absent", "unregistered"]


def _total_row(t: PersonTotals) -> dict[str, Any]:
    return {
        "person_id": t.person_id,
        "name": t.name,
        "days_on_site": t.days_on_site,
        "hours": t.hours,
        "shifts": t.shifts,
        "late": t.late,
        "absent": t.absent,
        "unregistered": t.unregistered,
    }


def summary_rows(att: Attendance) -> list[dict[str, Any]]:
    """One row per person: the month's totals (counts are person-shifts; hours a number)."""
    return [_total_row(t) for t in att.totals]


def detail_rows(att: Attendance) -> list[dict[str, Any]]:
    """One row per person and day with anything to show; shift names as lists."""
    return [
        {
            "day": c.day,
            "person_id": c.person_id,
            "name": c.name,
            "hours": c.hours if c.present else None,
            "shifts": list(c.shifts),
            "listed": list(c.listed),
            "late": list(c.late),
            "absent": list(c.absent),
            "unregistered": list(c.unregistered),
        }
        for (_, _), c in sorted(att.cells.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


# --- the workbooks -------------------------------------------------------------------------------------

_DAY_TYPE = {
    "workday": ("工作日", "workday"),
    "rest_day": ("休息日", "rest day"),
    "holiday": ("节假日", "holiday"),
}


def _day_mark(day: date, kind: str, language: str) -> str:
    """The header's mark under a day: 节 a public holiday, 休 a weekend rest day, 班 a make-up workday."""
    if kind == "holiday":
        return text(language, "节", "hol")
    if kind == "rest_day":
        return text(language, "休", "off")
    if day.weekday() >= 5:
        return text(language, "班", "work")
    return ""


def _weekday(day: date, language: str) -> str:
    return WEEKDAYS_ZH[day.weekday()] if language == "zh" else WEEKDAYS_EN[day.weekday()]


def _grid(att: Attendance, site_name: str, language: str) -> Table:
    t = lambda zh, en: text(language, zh, en)  # noqa: E731
    dates = att.dates()
    kinds = {d.day: d.day_type for d in att.days}
    columns = [Column("person_id", t("工号", "Staff ID")), Column("name", t("姓名", "Name"))]
    subtitles: dict[str, str] = {}
    for d in dates:
        key = f"d{d.day:02d}"
        columns.append(Column(key, str(d.day), "float"))
        subtitles[key] = f"{_weekday(d, language)} {_day_mark(d, kinds[d], language)}".strip()
    columns += [
        Column("days_on_site", t("出勤天数", "Days on site"), "int"),
        Column("hours", t("在场工时", "Hours on site"), "float"),
        Column("shifts", t("班次", "Shifts"), "int"),
        Column("late", t("迟到", "Late"), "int"),
        Column("absent", t("缺勤", "Absent"), "int"),
        Column("unregistered", t("未登记", "Unlisted"), "int"),
    ]
    rows: list[dict[str, Any]] = []
    for total in att.totals:
        row: dict[str, Any] = {"person_id": total.person_id, "name": total.name}
        for d in dates:
            cell = att.cells.get((total.person_id, d))
            if cell is not None:
                row[f"d{d.day:02d}"] = cell.cell(language)
        row.update({k: v for k, v in _total_row(total).items() if k not in ("person_id", "name")})
        rows.append(row)
    if rows:
        footer: dict[str, Any] = {"name": t("合计", "Total")}
        today = att.at.astimezone(att.zone).date()
        for d in att.days:
            if att.judged_from <= d.day <= today:  # days not judged, or still to come, stay empty
                footer[f"d{d.day.day:02d}"] = d.hours
        for key in ("days_on_site", "shifts", "late", "absent", "unregistered"):
            footer[key] = sum(r[key] for r in rows)
        footer["hours"] = round(sum(x.minutes for x in att.totals) / 60, 1)
        rows.append(footer)
    notes = []
    if not rows:
        notes.append(
            t(
                f"{att.month} 没有可列的人员：名册中无在职人员，也没有门禁或交接班证据。"
                "请放入驻场人员名册、门禁记录和交接班表后重新导出（docs/formats.md）。",
                f"{att.month} has nobody to list: no active person in the staff registry and no door or "
                "handover evidence. Drop the staff registry, door events and handover sheets, then export "
                "again (docs/formats.md).",
            )
        )
    elif not att.has_evidence:
        notes.append(
            t(
                f"{att.month} 没有门禁记录和交接班记录：表中全部为空。请确认门禁和交接班表已导入。",
                f"{att.month} has no door events and no handover sheets: the sheet is empty. Check that the "
                "door records and handover sheets were ingested.",
            )
        )
    if att.judged_from > att.first:
        notes.append(
            t(
                f"{att.judged_from} 之前不评判（contract.toml staffing.judge_from），这些日期为空。",
                f"Days before {att.judged_from} are not judged (contract.toml staffing.judge_from): left empty.",
            )
        )
    uncovered = [d.day.isoformat() for d in att.days if not d.covered]
    if uncovered:
        notes.append(
            t(
                f"节假日日历未覆盖 {uncovered[0]} 起的日期，按周一至周五为工作日标注：请升级 chinesecalendar。",
                f"The holiday calendar does not cover {uncovered[0]} on: typed Monday–Friday as workdays; "
                "upgrade chinesecalendar.",
            )
        )
    notes.append(
        t(
            f"截至 {att.at.astimezone(att.zone).strftime('%Y-%m-%d %H:%M')}；标记说明见“说明”页。",
            f"As of {att.at.astimezone(att.zone).strftime('%Y-%m-%d %H:%M')}; the marks are explained "
            "on the Legend sheet.",
        )
    )
    return Table(
        key="attendance",
        title=t(f"{site_name} 考勤月报 {att.month}", f"{site_name} attendance sheet {att.month}"),
        sheet=t("考勤月报", "Attendance"),
        columns=columns,
        rows=rows,
        note=" ".join(notes),
        subtitles=subtitles,
        freeze_columns=2,
    )


def _legend(language: str, grace_minutes: int) -> Table:
    t = lambda zh, en: text(language, zh, en)  # noqa: E731
    g = grace_minutes
    rows = [
        (
            "8.5",
            t("当日在场工时（小时）", "Hours on site that day"),
            t(
                "当日（现场时区 0:00–24:00）门禁证明在场的时长：进门到出门；只有进门记录的，算到所在班次结束。"
                "跨零点的夜班分别计入两天。",
                "Time the door records prove on site within the day (site time, 0:00–24:00): entry to exit; "
                "with an entry only, to the end of the shift it falls in. A night shift's hours fall on both days.",
            ),
        ),
        (
            t("迟", "late"),
            t("迟到", "Late"),
            t(
                f"交接班表列出此人，其首次到场晚于班次开始 {g} 分钟以上，且开始时不在场。",
                f"On the handover sheet, first on site more than {g} min after the shift began, and not on site "
                "at its start.",
            ),
        ),
        (
            t("缺", "absent"),
            t("缺勤", "Absent"),
            t(
                f"交接班表列出此人，但班次前后 {g} 分钟内没有任何在场门禁证据（班次结束后判定）。",
                f"On the handover sheet, but no door evidence of presence from {g} min before the shift to "
                f"{g} min after it (judged once the shift has ended).",
            ),
        ),
        (
            t("未登记", "unlisted"),
            t("在场但未列入交接班表", "On site, not on the sheet"),
            t(
                "班次有交接班记录但未列此人，而其在场时间覆盖该班次一半以上（与人员到位率的计数规则相同）。"
                "列在同时段其他班次的人、off_shift_entry 规则豁免的岗位（如项目经理）不标。",
                "The shift's sheet row does not list the person, yet their stays cover at least half of the "
                "shift (the headcount's rule). People listed on an overlapping shift, and the roles the "
                "off_shift_entry rule exempts (e.g. the project manager), are not marked.",
            ),
        ),
        (
            t("班次", "Shifts"),
            t("出勤班次", "Shifts worked"),
            t(
                "已结束的班次中，此人计入人数的次数：列在表上且在场覆盖班次一半以上；无交接记录的班次，"
                "在场覆盖一半以上的登记人员均计入。与 ops-watch staffing rate 的计数一致（到位率另按每班最低人数封顶）。",
                "Ended shifts the person counts for: on the sheet and on site for at least half of the shift; "
                "for a shift with no sheet row, every registered person on site that long. The same count as "
                "ops-watch staffing rate (which caps each shift at its minimum).",
            ),
        ),
        (
            t("节 / 休 / 班", "hol / off / work"),
            t("日期类型", "Day type"),
            t(
                "表头日期下：节＝法定节假日，休＝周末休息日，班＝周末调休上班；无标记为普通工作日"
                "（chinesecalendar 与 contract.toml calendar_overrides）。",
                "Under a day's number: hol = public holiday, off = weekend rest day, work = make-up workday on a "
                "weekend; none = an ordinary workday (chinesecalendar and contract.toml calendar_overrides).",
            ),
        ),
    ]
    return Table(
        key="legend",
        title=t("标记说明（详见 docs/staffing.md）", "What the marks mean (docs/staffing.md)"),
        sheet=t("说明", "Legend"),
        columns=[
            Column("mark", t("标记", "Mark"), width=14),
            Column("meaning", t("含义", "Meaning"), width=24),
            Column("rule", t("判定方法", "How it is judged"), width=100),
        ],
        rows=[{"mark": m, "meaning": a, "rule": r} for m, a, r in rows],
    )


def _daily(att: Attendance, language: str) -> Table:
    t = lambda zh, en: text(language, zh, en)  # noqa: E731
    rows = [
        {
            "day": d.day,
            "weekday": _weekday(d.day, language),
            "day_type": text(language, *_DAY_TYPE[d.day_type]) + ("" if d.covered else " ?"),
            "required": d.required,
            "evidenced": d.evidenced,
            "worked": d.worked,
            "people_on_site": d.people_on_site,
            "hours": d.hours,
            "late": d.late,
            "absent": d.absent,
            "unregistered": d.unregistered,
        }
        for d in att.days
    ]
    return Table(
        key="daily",
        title=t(f"每日合计 {att.month}", f"Per day {att.month}"),
        sheet=t("每日合计", "Per day"),
        columns=[
            Column("day", t("日期", "Day"), "date"),
            Column("weekday", t("星期", "Weekday")),
            Column("day_type", t("日期类型", "Day type")),
            Column("required", t("应到人次", "Required"), "int"),
            Column("evidenced", t("到位人次（计入到位率）", "Evidenced (rate)"), "int"),
            Column("worked", t("出勤人次", "Worked"), "int"),
            Column("people_on_site", t("在场人数", "People on site"), "int"),
            Column("hours", t("在场工时", "Hours on site"), "float"),
            Column("late", t("迟到", "Late"), "int"),
            Column("absent", t("缺勤", "Absent"), "int"),
            Column("unregistered", t("未登记", "Unlisted"), "int"),
        ],
        rows=rows,
        note=t("应到、到位人次只计已结束的班次。", "Required and evidenced count ended shifts only."),
    )


def _detail(att: Attendance, language: str) -> Table:
    t = lambda zh, en: text(language, zh, en)  # noqa: E731
    sep = t("、", ", ")
    rows = [
        {k: sep.join(v) if isinstance(v, list) else v for k, v in row.items()} for row in detail_rows(att)
    ]
    return Table(
        key="detail",
        title=t(f"考勤明细 {att.month}", f"Attendance detail {att.month}"),
        sheet=t("明细", "Detail"),
        columns=[
            Column("day", t("日期", "Day"), "date"),
            Column("person_id", t("工号", "Staff ID")),
            Column("name", t("姓名", "Name")),
            Column("hours", t("在场工时", "Hours on site"), "float"),
            Column("shifts", t("出勤班次", "Shifts worked")),
            Column("listed", t("交接班表所列班次", "On the sheet for")),
            Column("late", t("迟到班次", "Late on")),
            Column("absent", t("缺勤班次", "Absent from")),
            Column("unregistered", t("未登记班次", "Unlisted on")),
        ],
        rows=rows,
    )


def attendance_workbook(att: Attendance, site_name: str, language: str, grace_minutes: int) -> bytes:
    """考勤月报 as XLSX: the grid (person × day), the legend, per-day totals and the detail rows."""
    title = text(language, f"{site_name} 考勤月报 {att.month}", f"{site_name} attendance sheet {att.month}")
    tables = [_grid(att, site_name, language), _legend(language, grace_minutes), _daily(att, language)]
    tables.append(_detail(att, language))
    from ops_watch.report.xlsx import write_workbook  # start-up: openpyxl only when a workbook is asked for

    return write_workbook(tables, title, att.month, language, att.at)


SHIFT_TITLES_ZH = {
    "day": "日期",
    "shift": "班次",
    "day_type": "日期类型",
    "start": "开始",
    "end": "结束",
    "required": "最低人数",
    "on_sheet": "交接班表所列",
    "evidenced": "在场人数",
    "on_site": "在场人员",
    "late": "迟到",
    "ghosts": "未到",
    "handover": "交接",
    "handover_time": "交接时间",
    "status": "状态",
}
_SHIFT_KINDS: dict[str, CellKind] = {
    "day": "date",
    "start": "datetime",
    "end": "datetime",
    "handover_time": "datetime",
    "required": "int",
    "evidenced": "int",
}


def shifts_workbook(view: StaffingView, site_name: str, language: str) -> bytes:
    """The shift-by-shift proof table (`ops-watch staffing shifts`) of the view's days as XLSX: days as dates,
    times as local date-times, counts as numbers."""
    rows = shift_rows(view, language)
    for row, s in zip(rows, view.shifts, strict=True):
        row["day"] = s.instance.day
        row["start"] = s.instance.start.astimezone(view.zone)
        row["end"] = s.instance.end.astimezone(view.zone)
        row["handover_time"] = s.handover_at.astimezone(view.zone) if s.handover_at else None
    keys = list(rows[0]) if rows else [*SHIFT_COLUMNS[:3], "start", "end", *SHIFT_COLUMNS[3:]]
    zh = language == "zh"
    span = f"{view.first_day.isoformat()} – {view.last_day.isoformat()}"
    title = text(language, f"{site_name} 班次到岗证明 {span}", f"{site_name} shift proof {span}")
    table = Table(
        key="shifts",
        title=title,
        sheet=text(language, "班次", "Shifts"),
        columns=[Column(k, SHIFT_TITLES_ZH[k] if zh else k, _SHIFT_KINDS.get(k, "text")) for k in keys],
        rows=rows,
        note=""
        if rows
        else text(
            language,
            "此期间没有合同约定的班次（或都在 staffing.judge_from 之前）。",
            "No contracted shift in this period (or all before staffing.judge_from).",
        ),
        freeze_columns=2,
    )
    from ops_watch.report.xlsx import write_workbook  # start-up: openpyxl only when a workbook is asked for

    return write_workbook([table], title, span, language, view.at)
