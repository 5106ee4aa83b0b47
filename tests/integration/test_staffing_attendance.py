"""The monthly attendance sheet (考勤月报) and the shift table as XLSX: on the demo's month (examples/) and on a
hand-made one. Hours and marks come from the shift view's own verdicts: the person-shifts the sheet counts are the
staffing rate's; the XLSX read back with openpyxl is typed, frozen at the names, formula-safe; an empty month says
so. On SQLite and PostgreSQL (`store`).
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from openpyxl import load_workbook

from ops_watch.areas.staffing.attendance import (
    Attendance,
    attendance,
    attendance_workbook,
    exempt_roles,
    shifts_workbook,
)
from ops_watch.areas.staffing.presence import build_view, rates
from ops_watch.cli.app import main
from ops_watch.config import Config
from ops_watch.findings.rules import RuleSet
from ops_watch.store import Store
from tests.integration.test_staffing_checks import badge, contract, local, person, sheet, work
from tests.integration.test_staffing_examples import AS_OF, ROOT, ZONE, loaded  # noqa: F401

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def month_view(store: Store, rules_contract: dict[str, Any], at: datetime, first: date, last: date) -> Any:
    with store.session() as s:
        return build_view(s, rules_contract, ZONE, at.astimezone(UTC), first, last)


def shifts_in_sheet(att: Attendance) -> dict[tuple[date, str], set[str]]:
    """(day, shift) -> the people the attendance sheet says worked it."""
    worked: dict[tuple[date, str], set[str]] = defaultdict(set)
    for (pid, day), cell in att.cells.items():
        for shift in cell.shifts:
            worked[(day, shift)].add(pid)
    return worked


def all_cells(path: Path) -> list[Any]:
    wb = load_workbook(path)
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


# --- the demo's month ----------------------------------------------------------------------------------


def test_the_examples_month_agrees_with_the_shift_view_and_the_rate(
    loaded: tuple[Store, Config, RuleSet],  # noqa: F811
) -> None:
    store, _, rules = loaded
    view = month_view(store, rules.contract, AS_OF, *NOVEMBER)
    att = attendance(view, *NOVEMBER, exempt_roles(rules))

    # Shift by shift, the people the sheet counts are the view's headcount; capped, they are the rate's figure.
    worked = shifts_in_sheet(att)
    ended = [s for s in view.shifts if s.ended]
    assert {k: v for k, v in worked.items()} == {
        (s.instance.day, s.instance.shift): {p.person_id for p in s.onsite} for s in ended if s.onsite
    }
    capped = sum(min(len(worked.get((s.instance.day, s.instance.shift), ())), s.required) for s in ended)
    (month,) = rates(view, "all")
    assert capped == month.evidenced == 54
    assert (
        sum(d.evidenced for d in att.days) == 54 and sum(d.required for d in att.days) == month.required == 55
    )
    assert sum(t.shifts for t in att.totals) == sum(len(s.onsite) for s in ended)

    # The marks are the view's verdicts: the planted ghost and the one late arrival, nothing else.
    marked = {(pid, day.isoformat(), m) for (pid, day), c in att.cells.items() for m in c.marks}
    assert marked == {("YW-009", "2026-11-04", "absent"), ("YW-003", "2026-11-11", "late")}
    assert att.cells[("YW-009", date(2026, 11, 4))].absent == ("白班",)
    assert att.cells[("YW-003", date(2026, 11, 11))].late == ("白班",)
    late_shift = next(s for s in view.shifts if s.late)
    assert (late_shift.instance.day, list(late_shift.late)) == (date(2026, 11, 11), ["YW-003"])

    # The project manager is on site on workdays, on no sheet: 未登记 unless the off_shift_entry rule exempts
    # his role, as rules/staffing.toml does (the check and the sheet agree).
    assert exempt_roles(rules) == {"项目经理"}
    manager = next(t for t in att.totals if t.person_id == "YW-011")
    assert (manager.unregistered, manager.shifts) == (0, 0) and manager.days_on_site > 0
    strict = attendance(view, *NOVEMBER)
    unlisted = {(pid, day.weekday()) for (pid, day), c in strict.cells.items() if c.unregistered}
    assert unlisted and {pid for pid, _ in unlisted} == {"YW-011"} and all(wd < 5 for _, wd in unlisted)

    # Hours: within the day, up to `at`; nobody's day holds more than 24 h; the month is the days' sum.
    assert all(0 <= c.minutes <= 24 * 60 for c in att.cells.values())
    assert not any(c.present for (_, day), c in att.cells.items() if day > date(2026, 11, 16))
    for t in att.totals:
        assert t.minutes == sum(c.minutes for (pid, _), c in att.cells.items() if pid == t.person_id)


def test_the_examples_month_from_the_command_as_xlsx_json_and_table(
    loaded: tuple[Store, Config, RuleSet],  # noqa: F811
    store_url: str,
    config_file: Any,
    tmp_path: Path,
) -> None:
    store, _, rules = loaded
    doors = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    doors = doors[doors.index("\n[doors]\n") : doors.index("\n[utilization]\n")]
    config = config_file(f'[store]\nurl = "{store_url}"\n{doors}')
    at = ["--at", "2026-11-16 09:00"]

    def cli(*args: str) -> Any:
        return CliRunner().invoke(main, ["--config", str(config), "staffing", *args])

    out = tmp_path / "考勤月报.xlsx"
    done = cli("attendance", "--month", "2026-11", *at, "--format", "xlsx", "--output", str(out))
    assert done.exit_code == 0, done.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["考勤月报", "说明", "每日合计", "明细"]
    ws = wb["考勤月报"]
    assert ws["A1"].value == "市大数据中心 考勤月报 2026-11"
    assert ws.freeze_panes == "C4"  # the title, day numbers and weekdays above; 工号 and 姓名 to the left
    header = [c.value for c in ws[2]]
    assert header[:4] == ["工号", "姓名", "1", "2"] and header[31] == "30" and header[32] == "出勤天数"
    assert [c.value for c in ws[3]][2:4] == ["日 休", "一"]  # 2026-11-01 is a Sunday
    assert all(ws.column_dimensions[letter].width for letter in ("A", "B", "C", "AF"))

    view = month_view(store, rules.contract, AS_OF, *NOVEMBER)
    att = attendance(view, *NOVEMBER, exempt_roles(rules))
    rows = {r[0].value: r for r in ws.iter_rows(min_row=4) if r[0].value and r[1].value}
    assert set(rows) == {t.person_id for t in att.totals}
    for (pid, day), c in att.cells.items():
        cell = rows[pid][1 + day.day]
        if c.marks:
            assert cell.data_type == "s" and cell.value == c.cell("zh")
        elif c.present:
            assert cell.data_type == "n" and cell.value == c.hours and cell.number_format == "#,##0.0"
    assert rows["YW-003"][1 + 11].value.startswith("迟 ") and rows["YW-009"][1 + 4].value.startswith("缺")
    totals = {t.person_id: t for t in att.totals}
    for pid, r in rows.items():
        assert [x.value for x in r[32:38]] == [
            totals[pid].days_on_site,
            totals[pid].hours,
            totals[pid].shifts,
            totals[pid].late,
            totals[pid].absent,
            totals[pid].unregistered,
        ]
        assert isinstance(r[32].value, int) and r[34].data_type == "n"
    footer = next(r for r in ws.iter_rows(min_row=4) if r[1].value == "合计")
    assert footer[34].value == 54  # shifts worked: the staffing rate's evidenced person-shifts this month
    legend = [r[0] for r in wb["说明"].iter_rows(min_row=3, values_only=True)]
    assert {"迟", "缺", "未登记"} <= set(legend)
    daily = list(wb["每日合计"].iter_rows(min_row=3, max_row=32, values_only=True))
    assert daily[0][0] == datetime(2026, 11, 1) and sum(r[4] for r in daily) == 54
    assert not any(c.data_type == "f" for c in all_cells(out))

    detail = json.loads(cli("attendance", "--month", "2026-11", *at, "--detail", "--format", "json").output)
    ghost = next(r for r in detail if r["person_id"] == "YW-009" and r["day"] == "2026-11-04")
    assert ghost["absent"] == ["白班"] and ghost["listed"] == ["白班"]
    table = cli("attendance", "--month", "2026-11", *at).output
    assert "周杰" in table and "未列入名单" in table.splitlines()[0]

    shifts = tmp_path / "shifts.xlsx"
    done = cli(
        "shifts",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-15",
        *at,
        "--format",
        "xlsx",
        "--output",
        str(shifts),
    )
    assert done.exit_code == 0, done.output
    ws = load_workbook(shifts).active
    assert ws.freeze_panes == "C3" and ws["A2"].value == "日期" and ws["F2"].value == "最低人数"
    first = [c for c in ws[3]]
    assert first[0].value == datetime(2026, 11, 1) and first[0].number_format == "yyyy-mm-dd"
    assert first[3].value == datetime(2026, 11, 1, 8, 0) and isinstance(first[5].value, int)
    assert ws.max_row == 2 + 30  # 15 days x 2 shifts

    # Without --output, the workbook goes to stdout only when it is redirected (a terminal is refused: e2e).
    piped = cli("attendance", "--month", "2026-11", "--format", "xlsx")
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"PK")
    bad = cli("attendance", "--month", "2026-13")
    assert bad.exit_code == 2 and "write 2026-11" in bad.output


# --- a hand-made month ---------------------------------------------------------------------------------

FORMULA_NAME = '=HYPERLINK("http://evil.example/x","点我")'


def a_month_by_hand(store: Store) -> None:
    """Monday 2026-11-02: 王建国 on time, 李娜 late, 刘洋 on the sheet but never at a door, 张伟 on the night,
    and someone not on the sheet (with a formula for a name) on site most of the day."""
    person(store, "A", "王建国", role="值班长", certs=[("CISP", "2027-06-30")])
    person(store, "B", "李娜")
    person(store, "C", "张伟")
    person(store, "D", "刘洋")
    person(store, "E", FORMULA_NAME)
    work(store, "A", "2026-11-02 07:48", "2026-11-02 20:06")  # 12 h 18 min
    work(store, "B", "2026-11-02 09:40", "2026-11-02 20:03")  # 10 h 23 min, late
    work(store, "C", "2026-11-02 19:41", "2026-11-03 08:06")  # 4 h 19 min, then 8 h 06 min
    badge(store, "2026-11-02 08:00", "E", direction="in", door="值班室")
    badge(store, "2026-11-02 19:00", "E", direction="out", door="值班室")  # 11 h, on no sheet
    badge(store, "2026-11-03 12:00", "D", direction="out")  # an exit without an entry: a moment on site
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜", "刘洋"], "2026-11-02 20:00", "王建国", "张伟")
    sheet(store, "2026-11-02", "夜班", ["张伟"], "2026-11-03 08:00", "张伟", "王建国")


def test_a_month_by_hand_hours_marks_and_totals(store: Store, tmp_path: Path) -> None:
    a_month_by_hand(store)
    at = local("2026-11-04 09:00")
    view = month_view(store, contract(), at, *NOVEMBER)
    att = attendance(view, *NOVEMBER)
    d2, d3 = date(2026, 11, 2), date(2026, 11, 3)
    got = {
        (pid, day): (c.hours if c.present else None, c.shifts, c.marks) for (pid, day), c in att.cells.items()
    }
    assert got == {
        ("A", d2): (12.3, ("白班",), ()),
        ("B", d2): (10.4, ("白班",), ("late",)),
        ("C", d2): (4.3, ("夜班",), ()),
        ("C", d3): (8.1, (), ()),
        ("D", d2): (None, (), ("absent",)),
        ("D", d3): (0.0, (), ()),
        ("E", d2): (11.0, (), ("unregistered",)),
    }
    # the view's verdicts, shift by shift
    day_shift = next(s for s in view.shifts if s.instance.key == (d2, "白班"))
    assert list(day_shift.late) == ["B"] and [p.person_id for p in day_shift.ghosts] == ["D"]
    (month,) = rates(view, "all")
    # ended: 11-01 (a Sunday: day 1 + night 1), 11-02 and 11-03 (day 2 + night 1 each)
    assert (month.required, month.evidenced) == (8, 3)
    assert sum(t.shifts for t in att.totals) == 3
    totals = {t.person_id: t for t in att.totals}
    assert (totals["C"].days_on_site, totals["C"].hours, totals["C"].shifts) == (2, 12.4, 1)
    assert (totals["B"].late, totals["D"].absent, totals["E"].unregistered) == (1, 1, 1)
    assert (totals["D"].days_on_site, totals["D"].hours) == (1, 0.0)
    day = next(d for d in att.days if d.day == d2)
    assert (day.required, day.evidenced, day.worked, day.people_on_site) == (3, 3, 3, 4)
    assert (day.late, day.absent, day.unregistered, day.day_type) == (1, 1, 1, "workday")

    path = tmp_path / "month.xlsx"
    path.write_bytes(attendance_workbook(att, "<b>中心</b>", "zh", 15))
    wb = load_workbook(path)
    ws = wb["考勤月报"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=4) if r[0].value and r[1].value}
    assert [rows[p][3].value for p in "ABCDE"] == [12.3, "迟 10.4", 4.3, "缺", "未登记 11.0"]
    assert rows["C"][4].value == 8.1 and rows["C"][4].data_type == "n"
    name = rows["E"][1]
    assert name.value == FORMULA_NAME and name.data_type == "s" and name.quotePrefix  # text, never run
    assert ws["A1"].value == "<b>中心</b> 考勤月报 2026-11"
    assert not any(c.data_type == "f" for c in all_cells(path))
    detail = list(wb["明细"].iter_rows(min_row=3, values_only=True))
    assert (date(2026, 11, 2), "E", FORMULA_NAME) == (detail[4][0].date(), detail[4][1], detail[4][2])

    english = load_workbook(io.BytesIO(attendance_workbook(att, "Centre", "en", 15)))
    assert english.sheetnames == ["Attendance", "Legend", "Per day", "Detail"]
    rows = {r[0].value: r for r in english["Attendance"].iter_rows(min_row=4) if r[0].value}
    assert [rows[p][3].value for p in "BDE"] == ["late 10.4", "absent", "unlisted 11.0"]
    assert [c.value for c in english["Attendance"][3]][2:4] == ["Sun off", "Mon"]

    shifts = load_workbook(
        io.BytesIO(shifts_workbook(month_view(store, contract(), at, d2, d3), "中心", "zh"))
    )
    shifts = shifts.active
    assert [c.value for c in shifts[3]][:2] == [datetime(2026, 11, 2), "白班"] and shifts.max_row == 6


def test_an_empty_month_gives_a_sheet_with_a_note_and_the_calendar_in_the_header(
    store: Store, tmp_path: Path
) -> None:
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    view = month_view(store, contract(), local("2026-11-16 09:00"), first, last)
    att = attendance(view, first, last)
    assert att.people == [] and att.cells == {} and not att.has_evidence
    assert all(d.required > 0 and d.evidenced == 0 for d in att.days)  # owed, not evidenced
    path = tmp_path / "empty.xlsx"
    path.write_bytes(attendance_workbook(att, "中心", "zh", 15))
    ws = load_workbook(path)["考勤月报"]
    assert ws.max_row == 4 and "没有可列的人员" in ws["A4"].value and "docs/formats.md" in ws["A4"].value
    marks = dict(zip([c.value for c in ws[2]][2:33], [c.value for c in ws[3]][2:33], strict=True))
    # 国庆: 10-01 a Thursday holiday, 10-03 a Saturday in the holiday, 10-10 a make-up Saturday
    assert (marks["1"], marks["3"], marks["10"], marks["11"], marks["12"]) == (
        "四 节",
        "六 节",
        "六 班",
        "日 休",
        "一",
    )

    person(store, "A", "王建国")  # a registered person, and still no evidence: listed, empty, said so
    att = attendance(month_view(store, contract(), local("2026-11-16 09:00"), first, last), first, last)
    ws = load_workbook(io.BytesIO(attendance_workbook(att, "中心", "zh", 15)))["考勤月报"]
    assert ws["A4"].value == "A" and "没有门禁记录和交接班记录" in ws.cell(ws.max_row, 1).value
