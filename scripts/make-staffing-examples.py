#!/usr/bin/env python3
"""Write the demo's staffing evidence: four weeks of door events and handover sheets (2026-10-19 to 11-15).

Deterministic (a fixed seed): run it again and the files come out the same. The contract (rules/contract.toml
[staffing]) has a day shift 08:00–20:00 (3 people on workdays, 2 on rest days, a 值班长 and a CISP holder
among them) and a night shift 20:00–08:00 (1 person). Door evidence comes from two systems:

  examples/door/机房A区门禁_2026-10-19_11-16.json   Hikvision AcsEvent search responses (pages of 30) from the
                                                  controller of 机房A区门: reader 1 = in, reader 2 = out;
                                                  also "door opened/closed" events, which are not passages
  examples/door/运维值班室门禁_2026-10-19_11-16.csv  the duty room's entry-only reader, the canonical CSV
  examples/handover/交接班表_2026-10-19_11-15.xlsx  the contractor's handover sheets, one row per shift

The story, judged as of 2026-11-16 09:00 +08:00 with rules/staffing.toml (tests/integration/
test_staffing_examples.py checks exactly this):

  ghost_on_duty          2026-11-04 白班: 周杰 (YW-009) listed, no door event that day
  handover_unverified    2026-11-10 白班: the giver 王建国 left at 18:31, the sheet says he handed over at 20:00
  missing_handover       2026-11-07 夜班: no sheet row (孙悦 worked it: her badges are there)
  understaffed_shift     2026-11-08 白班 (Sunday): only 王建国 listed and on site, 2 required
  unknown_entry          2026-10-28: 赵磊's card (left 2026-10-15) let in at 机房A区门;
                         2026-11-12 02:13: card 3005129999, in no registry, let in to 运维值班室
  off_shift_entry        2026-11-14 22:40: 吴婷 (YW-010) into 机房A区门 on no shift
  access_denied_burst    2026-11-05 23:10: 6 denied at 机房A区门 within 4 minutes (card 3005129998)
  expired_qualification  黄敏 (YW-008): CISP expired 2026-10-31, on day shifts requiring it in November
  unregistered_signer    2026-10-24 夜班: the sheet lists 李明, who is in no registry
  not flagged            2026-11-11 白班: 张伟 badged in at 09:41 (late: shown by `staffing shifts`); 徐刚
                         (项目经理, exempt) comes and goes on workdays; everyone else arrives 5–25 minutes
                         before and leaves 2–20 minutes after their shift.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FIRST = date(2026, 10, 19)  # Monday
LAST = date(2026, 11, 15)  # Sunday
END_OF_DATA = datetime(2026, 11, 16, 7, 59)  # the files were exported on the Monday morning

PEOPLE = {  # person id -> (name, card)
    "YW-001": ("王建国", "3005120401"),
    "YW-002": ("李娜", "3005120402"),
    "YW-003": ("张伟", "3005120403"),
    "YW-004": ("刘洋", "3005120404"),
    "YW-005": ("陈静", "3005120405"),
    "YW-006": ("杨帆", "3005120406"),
    "YW-007": ("赵磊", "3005120407"),
    "YW-008": ("黄敏", "3005120408"),
    "YW-009": ("周杰", "3005120409"),
    "YW-010": ("吴婷", "3005120410"),
    "YW-011": ("徐刚", "3005120411"),
    "YW-012": ("孙悦", "3005120412"),
}
LEADS = ["YW-001", "YW-005"]  # 值班长, both CISP
DAY_POOL = ["YW-003", "YW-008", "YW-010", "YW-006"]
NIGHT_POOL = ["YW-002", "YW-004", "YW-009", "YW-012"]
REST_DAYS = {date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 31), date(2026, 11, 1)}
REST_DAYS |= {date(2026, 11, 7), date(2026, 11, 8), date(2026, 11, 14), date(2026, 11, 15)}

rng = random.Random(20261116)


def days() -> list[date]:
    out, d = [], FIRST
    while d <= LAST:
        out.append(d)
        d += timedelta(days=1)
    return out


def roster(k: int, d: date) -> tuple[list[str], str, str]:
    """(day shift people, the day's lead, the night person) for day number k."""
    lead = LEADS[k % 2]
    if d in REST_DAYS:
        others = [DAY_POOL[k % 4]]
    else:
        others = [DAY_POOL[k % 4], DAY_POOL[(k + 1) % 4]]
    return [lead, *others], lead, NIGHT_POOL[k % 4]


# --- events --------------------------------------------------------------------------------------------

hik: list[dict] = []  # (datetime, person, reader) as Hikvision items, serials added at the end
duty_room: list[list[str]] = []


def at(d: date, hh: int, mm: int, plus_days: int = 0) -> datetime:
    return datetime.combine(d + timedelta(days=plus_days), time(hh, mm))


def jitter(base: datetime, lo: int, hi: int) -> datetime:
    return base + timedelta(minutes=rng.randint(lo, hi), seconds=rng.randint(0, 59))


def hik_event(
    when: datetime, pid: str | None, reader: int, minor: int = 1, card: str = "", name: str = ""
) -> None:
    if when > END_OF_DATA:
        return
    if pid is not None:
        name, card = PEOPLE[pid]
    hik.append(
        {
            "when": when,
            "item": {
                "major": 5,
                "minor": minor,
                "time": when.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                "cardNo": card,
                "cardType": 1,
                "name": name,
                "cardReaderNo": reader,
                "doorNo": 1,
                "employeeNoString": pid or "",
                "type": 0,
                "userType": "normal",
                "currentVerifyMode": "cardOrFace",
            },
        }
    )
    if minor == 1 and rng.random() < 0.3:  # the door's own opened/closed events: not passages
        for extra, seconds in ((0x19, 2), (0x1A, 9)):
            hik.append(
                {
                    "when": when + timedelta(seconds=seconds),
                    "item": {
                        "major": 5,
                        "minor": extra,
                        "time": (when + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                        "doorNo": 1,
                        "type": 0,
                    },
                }
            )


def room_event(when: datetime, pid: str | None, card: str = "", name: str = "") -> None:
    if when > END_OF_DATA:
        return
    if pid is not None:
        name, card = PEOPLE[pid]
    duty_room.append(
        [
            when.strftime("%Y-%m-%d %H:%M:%S"),
            pid or "",
            name,
            card,
            "运维值班室",
            "",
            "成功",
            "ZB-READER-02",
            "",
        ]
    )


def work(
    pid: str, start: datetime, end: datetime, arrive: datetime | None = None, leave: datetime | None = None
) -> None:
    """In at 机房A区门 before start, a visit to the duty room, out after end."""
    arrive = arrive or jitter(start, -25, -6)
    leave = leave or jitter(end, 2, 19)
    hik_event(arrive, pid, 1)
    room_event(jitter(start + (end - start) / 2, -90, 90), pid)
    hik_event(leave, pid, 2)


sheet_rows: list[list] = []
all_days = days()
for k, d in enumerate(all_days):
    day_people, lead, night = roster(k, d)
    _, next_lead, _ = roster(k + 1, d + timedelta(days=1))
    day_start, day_end = at(d, 8, 0), at(d, 20, 0)
    night_start, night_end = at(d, 20, 0), at(d, 8, 0, 1)

    listed = list(day_people)
    giver_leaves = None
    if d == date(2026, 11, 4):  # ghost: 周杰 listed, never badges
        listed.append("YW-009")
    if d == date(2026, 11, 8):  # understaffed: only the lead, on a rest day needing 2
        day_people = listed = [lead]
    for pid in day_people:
        arrive = None
        leave = None
        if d == date(2026, 11, 11) and pid == "YW-003":
            arrive = at(d, 9, 41)  # late, not a finding
        if d == date(2026, 11, 10) and pid == lead:
            leave = giver_leaves = at(d, 18, 31)  # left before the handover he signed
        work(pid, day_start, day_end, arrive, leave)
    del giver_leaves
    work(night, night_start, night_end)

    handover_by_day = {"白班": (lead, night), "夜班": (night, next_lead)}
    name = lambda pid: PEOPLE[pid][0]  # noqa: E731
    sheet_rows.append(
        [
            d,
            "白班",
            "、".join(name(p) for p in listed),
            "20:00",
            name(lead),
            name(night),
            "" if k % 5 else "巡检正常",
        ]
    )
    if d == date(2026, 11, 7):
        continue  # missing handover: nobody wrote the night's row
    on_duty = name(night)
    if d == date(2026, 10, 24):
        on_duty += "、李明"  # not in the registry
    giver, taker = handover_by_day["夜班"]
    # Night rows: the handover is next morning; half written as a full date-time, half as "08:00".
    when = f"{(d + timedelta(days=1)).isoformat()} 08:00" if k % 2 else "08:00"
    sheet_rows.append([d, "夜班", on_duty, when, name(giver), name(taker), ""])

# 徐刚, the project manager, on workdays (exempt role): into the duty room mid-morning.
for d in all_days:
    if d not in REST_DAYS:
        room_event(jitter(at(d, 10, 0), 0, 50), "YW-011")

# The day lead of 2026-11-16 arrives before the export.
_, lead16, _ = roster(len(all_days), date(2026, 11, 16))
hik_event(jitter(at(date(2026, 11, 16), 8, 0), -25, -6), lead16, 1)

# unknown_entry: a departed person's card, and a card in no registry.
hik_event(at(date(2026, 10, 28), 14, 20), "YW-007", 1)
hik_event(at(date(2026, 10, 28), 14, 52), "YW-007", 2)
room_event(at(date(2026, 11, 12), 2, 13), None, card="3005129999", name="")
# off_shift_entry: 吴婷 at night on a Saturday.
hik_event(at(date(2026, 11, 14), 22, 40), "YW-010", 1)
hik_event(at(date(2026, 11, 14), 23, 28), "YW-010", 2)
# access_denied_burst: six refusals within four minutes (minor 9 = invalid card).
for secs in (0, 31, 70, 118, 170, 236):
    hik_event(at(date(2026, 11, 5), 23, 10) + timedelta(seconds=secs), None, 1, minor=9, card="3005129998")

# --- write ---------------------------------------------------------------------------------------------

hik.sort(key=lambda e: e["when"])
items = []
for serial, e in enumerate(hik, start=40001):
    items.append({**e["item"], "serialNo": serial})
pages = []
for i in range(0, len(items), 30):
    page = items[i : i + 30]
    last = i + 30 >= len(items)
    pages.append(
        {
            "AcsEvent": {
                "searchID": "ops-watch-example-export",
                "totalMatches": len(items),
                "responseStatusStrg": "OK" if last else "MORE",
                "numOfMatches": len(page),
                "InfoList": page,
            }
        }
    )
door_dir = EXAMPLES / "door"
door_dir.mkdir(parents=True, exist_ok=True)
for old in door_dir.iterdir():
    old.unlink()
(door_dir / "机房A区门禁_2026-10-19_11-16.json").write_text(
    json.dumps(pages, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
)
duty_room.sort(key=lambda r: r[0])
serial = 7001
for row in duty_room:
    row[8] = str(serial)
    serial += 1
with open(door_dir / "运维值班室门禁_2026-10-19_11-16.csv", "w", encoding="utf-8-sig", newline="") as f:
    w = csv.writer(f)
    w.writerow(["时间", "工号", "姓名", "卡号", "门禁点", "方向", "结果", "设备", "流水号"])
    w.writerows(duty_room)

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "交接班记录"
ws.append(["安澜云运维服务有限公司 机房值班交接班表（2026年10月19日—11月15日）"])
ws["A1"].font = Font(bold=True)
ws.append(["日期", "班次", "值班人员", "交接时间", "交班人", "接班人", "备注"])
for row in sheet_rows:
    ws.append(row)
for col, width in zip("ABCDEFG", (12, 8, 28, 18, 10, 10, 16), strict=True):
    ws.column_dimensions[col].width = width
for cell in ws["A"][2:]:
    cell.number_format = "yyyy-mm-dd"
handover_dir = EXAMPLES / "handover"
handover_dir.mkdir(parents=True, exist_ok=True)
for old in handover_dir.iterdir():
    old.unlink()
path = handover_dir / "交接班表_2026-10-19_11-15.xlsx"
wb.save(path)
print(f"{len(items)} Hikvision events, {len(duty_room)} duty-room events, {len(sheet_rows)} sheet rows")
