"""Write site B's month of evidence (2026-11, Asia/Shanghai) into tests/site_b/drop/ and delivered.toml.

Site B is a district police data room (江北区公安分局大数据机房) run by another contractor (华信智维), whose
exports come from other products than the demo's: a Hikvision face terminal at the building entrance
(AcsEvent JSON with attendanceStatus, one folder for the device), a ZK-style door controller on the machine
room (GBK CSV), an HR roster in XLSX with a title row and a separate certificate-expiry column, a monthly
handover sheet handed in at the month's end, a backup console's daily CSV report, a cloud console's 5-minute
and hourly VM metrics and a storage console's 6-hourly volume report. tests/site_b/truth.toml lists what was
planted; README.md explains the site. Run from the repository root:

    .venv/bin/python tests/site_b/make_site.py

The output is deterministic (seeded) and committed: the score test reads the committed bytes, never this
script. `delivered.toml` says when each file reached the drop folder (the test sets the files' modification
times from it, since git keeps none).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
DROP = HERE / "drop"
ZONE = ZoneInfo("Asia/Shanghai")
MONTH = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]
FIXED = datetime(2026, 12, 1, 9, 0)  # workbook metadata: the same bytes on every run

ENTRANCE_DEVICE = "大楼入口人脸机"
MACHINE_ROOM = "机房B区门"


# --- people and rosters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    pid: str
    name: str
    role: str
    card: str
    start: str
    certs: str  # the 资质证书 cell as the clerk typed it
    expiry: str  # the 证书有效期 cell


STAFF = [
    Staff("HX-101", "陈立", "驻场组长", "0003719201", "2025/3/1", "CISP", "2027/6/30"),
    Staff("HX-102", "刘洋", "运维工程师", "0003719202", "2025/3/1", "CISP", "2026/11/15"),
    Staff("HX-103", "赵敏", "运维工程师", "0003719203", "2025/9/15", "", ""),
    # 孙浩's two certificates are two rows of the same person (the clerk's habit for a second certificate).
    Staff("HX-104", "孙浩", "动环值守", "0003719204", "2024/12/1", "电工证", "2027/5/31"),
    Staff("HX-104", "孙浩", "动环值守", "0003719204", "2024/12/1", "CISP", "2027/9/30"),
    Staff("HX-105", "周婷", "动环值守", "0003719205", "2025/6/1", "电工证", "2026/11/20"),
    # 吴刚's two certificates share one cell, each with its own expiry written in; the expiry column is empty.
    Staff(
        "HX-106",
        "吴刚",
        "动环值守",
        "0003719206",
        "2025/1/10",
        "电工证（有效期至2028-01-15）；CISP（有效期至2027-08-31）",
        "",
    ),
    Staff("HX-107", "郑凯", "项目经理", "0003719207", "2024/12/1", "PMP", "2028/12/31"),
    Staff("HX-108", "王磊", "运维工程师", "0003719208", "2025/3/1", "CISP", "2027/3/31"),
]
NAME = {s.pid: s.name for s in STAFF}
CARD = {s.pid: s.card for s in STAFF}
NIGHT_ROTA = ["HX-104", "HX-105", "HX-106"]


def day_staff(d: date) -> list[str]:
    """Who the contractor rosters on the day shift (08:30-17:30): two on workdays, 刘洋 alone at weekends."""
    return ["HX-102"] if d.weekday() >= 5 else ["HX-101", "HX-103"]


def night_staff(d: date) -> str:
    """The night shift (17:30-08:30) rotates over three 动环值守."""
    return NIGHT_ROTA[(d - MONTH[0]).days % 3]


# --- planted staffing cases (truth.toml names them) ------------------------------------------------------

GHOST_DAY = date(2026, 11, 9)  # 赵敏 on the sheet, never badged
SICK_DAY = date(2026, 11, 13)  # 赵敏 sick: the sheet lists 陈立 alone
OFF_SHIFT = date(2026, 11, 11)  # 赵敏 back at 22:35 after her day shift
EARLY_EXIT_DAY = date(2026, 11, 20)  # 陈立 leaves at 16:05; the sheet says he handed over at 17:30
NIGHT_LEFT = date(2026, 11, 24)  # 吴刚 leaves the night shift at 23:10; the sheet says 08:30 handover
LEAVER = "HX-108"  # 王磊 left on 11-10 (the 11-12 roster says so); his card opens the machine room on 11-18
LEAVER_DAY = date(2026, 11, 18)
VISITOR_DAY = date(2026, 11, 7)  # an unregistered card at the machine room
VISITOR_CARD = "0009912345"
BURST_AT = datetime(2026, 11, 23, 3, 12)  # six refusals in four minutes at the machine room
BURST_CARD = "0003719299"
SIGNER_DAY = date(2026, 11, 4)  # the night row is signed "孙工"
PM_SUNDAY = date(2026, 11, 15)  # the project manager in the machine room on a Sunday (exempt: no finding)


@dataclass
class Event:
    at: datetime  # site-local, naive
    pid: str | None
    door: str  # "entrance" or "room"
    status: str  # entrance: checkIn/checkOut/breakOut/breakIn; room: 进/出
    granted: bool = True
    card: str | None = None


def at(d: date, hh: int, mm: int, rnd: random.Random, jitter: int = 0) -> datetime:
    moment = datetime.combine(d, time(hh, mm)) + timedelta(minutes=rnd.randint(0, jitter) if jitter else 0)
    return moment + timedelta(seconds=rnd.randint(0, 59))


def day_worker(d: date, pid: str, rnd: random.Random, leave: tuple[int, int] = (17, 36)) -> list[Event]:
    """A day worker: in at the entrance, the machine room twice, lunch out and back, out in the evening."""
    out_h, out_m = leave
    events = [
        Event(at(d, 8, 8, rnd, 14), pid, "entrance", "checkIn"),
        Event(at(d, 9, 0, rnd, 10), pid, "room", "进"),
        Event(at(d, 9, 38, rnd, 8), pid, "room", "出"),
        Event(at(d, 11, 58, rnd, 6), pid, "entrance", "breakOut"),
        Event(at(d, 12, 46, rnd, 8), pid, "entrance", "breakIn"),
        Event(at(d, 14, 28, rnd, 6), pid, "room", "进"),
        Event(at(d, 15, 5, rnd, 8), pid, "room", "出"),
    ]
    events.append(
        Event(at(d, out_h, out_m, rnd, 0 if leave != (17, 36) else 12), pid, "entrance", "checkOut")
    )
    return events


def night_worker(
    d: date, pid: str, rnd: random.Random, left_at: tuple[int, int] | None = None
) -> list[Event]:
    """A night worker: in before 17:30, two rounds of the machine room, out after the 08:30 handover."""
    nxt = d + timedelta(days=1)
    events = [
        Event(at(d, 17, 8, rnd, 14), pid, "entrance", "checkIn"),
        Event(at(d, 21, 0, rnd, 10), pid, "room", "进"),
        Event(at(d, 21, 22, rnd, 8), pid, "room", "出"),
    ]
    if left_at is not None:
        events.append(Event(at(d, *left_at, rnd), pid, "entrance", "checkOut"))
        return events
    events += [
        Event(at(nxt, 2, 0, rnd, 10), pid, "room", "进"),
        Event(at(nxt, 2, 14, rnd, 6), pid, "room", "出"),
        Event(at(nxt, 8, 36, rnd, 14), pid, "entrance", "checkOut"),
    ]
    return events


def month_events(rnd: random.Random) -> list[Event]:
    events: list[Event] = []
    for d in MONTH:
        for pid in day_staff(d):
            if pid == "HX-103" and d in (GHOST_DAY, SICK_DAY):
                continue
            if pid == "HX-101" and d == EARLY_EXIT_DAY:
                events += day_worker(d, pid, rnd, leave=(16, 5))
                continue
            events += day_worker(d, pid, rnd)
        events += night_worker(d, night_staff(d), rnd, left_at=(23, 10) if d == NIGHT_LEFT else None)
        if d.weekday() < 5:  # the project manager keeps office hours, never on a shift
            events += [
                Event(at(d, 8, 50, rnd, 15), "HX-107", "entrance", "checkIn"),
                Event(at(d, 18, 5, rnd, 20), "HX-107", "entrance", "checkOut"),
            ]
    events += [  # the project manager's Sunday look at the machine room: exempt by rules/staffing.toml
        Event(at(PM_SUNDAY, 9, 58, rnd), "HX-107", "entrance", "checkIn"),
        Event(at(PM_SUNDAY, 10, 10, rnd), "HX-107", "room", "进"),
        Event(at(PM_SUNDAY, 10, 50, rnd), "HX-107", "room", "出"),
        Event(at(PM_SUNDAY, 11, 2, rnd), "HX-107", "entrance", "checkOut"),
    ]
    events += [  # 赵敏 comes back at night, off shift
        Event(at(OFF_SHIFT, 22, 35, rnd), "HX-103", "entrance", "checkIn"),
        Event(at(OFF_SHIFT, 22, 41, rnd), "HX-103", "room", "进"),
        Event(at(OFF_SHIFT, 23, 2, rnd), "HX-103", "room", "出"),
        Event(at(OFF_SHIFT, 23, 8, rnd), "HX-103", "entrance", "checkOut"),
    ]
    events += [  # 王磊 left on 11-10, his card still opens the machine room (escorted in past the entrance)
        Event(at(LEAVER_DAY, 14, 20, rnd), LEAVER, "room", "进", card=CARD[LEAVER]),
        Event(at(LEAVER_DAY, 14, 55, rnd), LEAVER, "room", "出", card=CARD[LEAVER]),
    ]
    events += [  # a card nobody registered, at the machine room on a Saturday afternoon
        Event(at(VISITOR_DAY, 15, 12, rnd), None, "room", "进", card=VISITOR_CARD),
        Event(at(VISITOR_DAY, 15, 40, rnd), None, "room", "出", card=VISITOR_CARD),
    ]
    for i in range(6):  # someone tries a dead card again and again at 03:12
        events.append(
            Event(
                BURST_AT + timedelta(seconds=41 * i + rnd.randint(0, 9)),
                None,
                "room",
                "进",
                False,
                BURST_CARD,
            )
        )
    return sorted(events, key=lambda e: e.at)


# --- writers ---------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[str]], encoding: str, line_end: str = "\r\n") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=line_end).writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


def save_workbook(wb: Workbook, path: Path) -> None:
    wb.properties.created = FIXED
    wb.properties.modified = FIXED
    wb.properties.creator = "WPS"
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps each zip entry with the current time: rewrite them with a fixed one, same bytes every run.
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl sets "modified" to now whatever it was given
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-12-01T01:00:00Z", data)
            dst.writestr(info, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def slash_time(moment: datetime, seconds: bool = True) -> str:
    """2026/11/5 8:05:03: how a Chinese Excel or console writes a time (no zero padding)."""
    text = f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02d}"
    return text + (f":{moment.second:02d}" if seconds else "")


def slash_date(d: date) -> str:
    return f"{d.year}/{d.month}/{d.day}"


DELIVERED: dict[str, datetime] = {}


def deliver(path: Path, moment: datetime) -> None:
    DELIVERED[path.relative_to(HERE).as_posix()] = moment


def write_staff() -> None:
    def roster(path: Path, filed: date, leaver_left: str) -> None:
        wb = Workbook()
        ws = wb.active
        ws.title = "花名册"
        ws.append(["华信智维科技有限公司 江北分局大数据机房驻场运维人员花名册"])
        ws.merge_cells("A1:L1")
        ws.append(
            [
                f"填报日期：{filed.year}年{filed.month}月{filed.day}日",
                None,
                None,
                None,
                None,
                None,
                "填报人：郑凯",
            ]
        )
        ws.append(
            ["序号", "员工编号", "姓名", "所属公司", "岗位", "门禁卡号", "到岗日期", "离岗日期", "资质证书",
             "证书有效期", "联系电话", "备注"]
        )  # fmt: skip
        for i, s in enumerate(STAFF, 1):
            left = leaver_left if s.pid == LEAVER else ""
            note = "离职，门禁卡待回收" if left else ""
            # Rows typed at different times: some dates are Excel date cells, some text; a name copied from
            # a chat keeps its full-width space.
            start: object = s.start
            if i % 2 == 0:
                y, m, d = (int(x) for x in s.start.split("/"))
                start = datetime(y, m, d)
            name = s.name + "\u3000" if s.pid == "HX-103" else s.name
            ws.append(
                [i, s.pid, name, "华信智维科技有限公司", s.role, s.card, start, left, s.certs, s.expiry,
                 f"1380000{i:04d}", note]
            )  # fmt: skip
            if isinstance(start, datetime):
                ws.cell(ws.max_row, 7).number_format = "yyyy/m/d"
        ws.append([])
        ws.append(["注：证书以原件核验为准。"])
        save_workbook(wb, path)

    first = DROP / "staff" / "驻场人员花名册_2026-10-28.xlsx"
    roster(first, date(2026, 10, 28), "")
    deliver(first, datetime(2026, 10, 28, 16, 20))
    second = DROP / "staff" / "驻场人员花名册_2026-11-12.xlsx"
    roster(second, date(2026, 11, 12), "2026/11/10")
    deliver(second, datetime(2026, 11, 12, 10, 5))


def hik_item(e: Event, serial: int) -> dict[str, object]:
    offset_time = e.at.replace(tzinfo=ZONE).isoformat()
    stamp = e.at.strftime("%d_%H%M%S")
    return {
        "major": 5,
        "minor": 75,
        "time": offset_time,
        "netUser": "",
        "remoteHostAddr": "0.0.0.0",
        "cardType": 1,
        "name": NAME[e.pid] if e.pid else "",
        "cardReaderNo": 1,
        "doorNo": 1,
        "employeeNoString": e.pid or "",
        "serialNo": serial,
        "userType": "normal",
        "currentVerifyMode": "face",
        "attendanceStatus": e.status,
        "label": {"checkIn": "上班", "checkOut": "下班", "breakOut": "外出", "breakIn": "返回"}[e.status],
        "mask": "no",
        "pictureURL": f"http://10.31.8.20/LOCALS/pic/acsLinkCap/202611_00/{stamp}_{serial}_0.jpeg@WEB00000000",
        "picturesNumber": 1,
        "FaceRect": {"height": 0.281, "width": 0.158, "x": 0.421, "y": 0.295},
    }


def hik_stranger(e: Event, serial: int) -> dict[str, object]:
    """A face the terminal does not know (MINOR_FACE_VERIFY_FAIL): no name, no employee number, no card."""
    return {
        "major": 5,
        "minor": 76,
        "time": e.at.replace(tzinfo=ZONE).isoformat(),
        "netUser": "",
        "remoteHostAddr": "0.0.0.0",
        "cardReaderNo": 1,
        "doorNo": 1,
        "serialNo": serial,
        "currentVerifyMode": "face",
        "mask": "no",
        "pictureURL": f"http://10.31.8.20/LOCALS/pic/acsLinkCap/202611_00/{e.at:%d_%H%M%S}_{serial}_0.jpeg@WEB00000000",
        "picturesNumber": 1,
    }


def write_entrance(events: list[Event], rnd: random.Random) -> None:
    """One AcsEvent search saved per day (iVMS-4200's export: the pages of one search in one JSON list)."""
    serial = 20417
    folder = DROP / "door" / ENTRANCE_DEVICE
    for d in MONTH:
        items: list[dict[str, object]] = []
        day_events = [e for e in events if e.door == "entrance" and e.at.date() == d]
        if d.day % 5 == 3:  # a visitor tries the face terminal: refused, no person, no card (minor 76)
            day_events.append(Event(at(d, 10, 20, rnd, 200), None, "entrance", "checkIn", granted=False))
            day_events.sort(key=lambda e: e.at)
        for e in day_events:
            serial += 1
            items.append(hik_item(e, serial) if e.granted else hik_stranger(e, serial))
            if rnd.random() < 0.15:  # the door's own "unlocked" status event: no passage (ignored_events)
                serial += 1
                items.append(
                    {
                        "major": 5,
                        "minor": 21,
                        "time": (e.at + timedelta(seconds=1)).replace(tzinfo=ZONE).isoformat(),
                        "doorNo": 1,
                        "serialNo": serial,
                        "netUser": "",
                        "remoteHostAddr": "0.0.0.0",
                    }
                )
        pages = []
        search = f"{{5B1E3C2A-{d.strftime('%m%d')}-4C1B-9E7A-6D0C{d.day:08d}}}"
        for i in range(0, len(items), 30):
            chunk = items[i : i + 30]
            more = i + 30 < len(items)
            pages.append(
                {
                    "AcsEvent": {
                        "searchID": search,
                        "totalMatches": len(items),
                        "responseStatusStrg": "MORE" if more else "OK",
                        "numOfMatches": len(chunk),
                        "InfoList": chunk,
                    }
                }
            )
        path = folder / f"AcsEvent_{d.strftime('%Y%m%d')}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
        deliver(path, datetime.combine(d, time(23, 58)))


def write_machine_room(events: list[Event]) -> None:
    """The machine room's controller: its management software's daily CSV (GB18030, trailing empty column)."""
    header = ["序号", "时间", "人员编号", "姓名", "部门", "卡号", "事件点", "进出状态", "验证结果", "验证方式",
              "设备名称", "区域", ""]  # fmt: skip
    for d in MONTH:
        rows = [header]
        for i, e in enumerate((e for e in events if e.door == "room" and e.at.date() == d), 1):
            card = e.card or (CARD[e.pid] if e.pid else "")
            rows.append(
                [str(i), slash_time(e.at), e.pid or "", NAME.get(e.pid or "", ""),
                 "华信智维" if e.pid else "", card, MACHINE_ROOM, e.status, "通过" if e.granted else "失败",
                 "刷卡", "机房B区门禁一体机", "三楼机房", ""]
            )  # fmt: skip
        path = DROP / "door" / f"门禁记录_{d.strftime('%Y%m%d')}.csv"
        write_csv(path, rows, "gb18030")
        deliver(path, datetime.combine(d, time(23, 58)))


def handover_rows(days: list[date], planted: bool) -> list[list[str]]:
    rows = [["值班日期", "班次", "当班人员", "交接时间", "交班人", "接班人", "值班情况", "备注"]]
    for d in days:
        on_day = [p for p in day_staff(d) if not (planted and p == "HX-103" and d == SICK_DAY)]
        night = night_staff(d)
        giver = on_day[0]
        note = "赵敏病假" if planted and d == SICK_DAY else ""
        sep = "，" if d.day % 4 == 0 else "、"  # the clerk's separator depends on the day's mood
        handover_at = "17：30" if d.day in (6, 17) else "17:30"  # typed with the Chinese IME's colon
        rows.append(
            [slash_date(d), "白班", sep.join(NAME[p] for p in on_day), handover_at, NAME[giver], NAME[night],
             "巡检正常", note]
        )  # fmt: skip
        if planted and d == MONTH[-1]:
            break  # the sheet is handed in on the 30th before that night's shift ends
        taker = day_staff(d + timedelta(days=1))[0]
        signer = "孙工" if planted and d == SIGNER_DAY else NAME[night]
        rows.append([slash_date(d), "夜班", NAME[night], "8:30", signer, NAME[taker], "动环巡检正常", ""])
    return rows


def write_handover() -> None:
    october = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]
    path = DROP / "handover" / "值班交接记录_2026-10-31.csv"
    write_csv(path, handover_rows(october, planted=False), "gbk")
    deliver(path, datetime(2026, 10, 31, 18, 0))
    path = DROP / "handover" / "值班交接记录_2026-11-30.csv"
    write_csv(path, handover_rows(MONTH, planted=True), "gbk")
    deliver(path, datetime(2026, 11, 30, 18, 10))


# --- resources -------------------------------------------------------------------------------------------

INVENTORY_HEADER = ["资源编号", "资源名称", "所属平台", "使用单位", "资源类型", "vCPU（核）", "内存（GB）", "存储（GB）",
                    "是否需要备份", "IP地址", "分配日期", "备注"]  # fmt: skip
RESOURCES = [
    ["JB-VM-001", "治安管理-数据库", "政务云", "治安大队", "云主机", "16", "64", "500", "否", "10.31.20.11", "2025/3/1", ""],
    ["JB-VM-002", "治安管理-应用", "政务云", "治安大队", "云主机", "16", "32", "200", "否", "10.31.20.12", "2025/3/1", ""],
    ["JB-VM-003", "出入境-应用", "政务云", "出入境管理大队", "云主机", "8", "16", "200", "否", "10.31.20.21", "2025/5/12", ""],
    ["JB-VM-004", "旧版警务门户", "政务云", "指挥中心", "云主机", "4", "8", "100", "否", "10.31.20.31", "2024/6/1", ""],
    ["JB-VM-006", "网管监控", "政务云", "科信科", "云主机", "4", "8", "100", "否", "10.31.20.41", "2025/8/1", "监控代理待安装"],
    ["JB-VOL-001", "治安管理-归档卷", "政务云", "治安大队", "云硬盘", "", "", "2000", "否", "", "2025/3/1", ""],
    ["JB-VOL-002", "视频联网-存储卷", "政务云", "科信科", "云硬盘", "", "", "4000", "否", "", "2025/3/1", ""],
]  # fmt: skip
NEW_VM = ["JB-VM-005", "视频结构化分析", "政务云", "刑侦大队", "云主机", "16", "64", "300", "否", "10.31.20.51", "2026/11/16", "新增"]  # fmt: skip
NEW_VM_FROM = datetime(2026, 11, 16, 10, 0)


def write_inventory() -> None:
    first = DROP / "inventory" / "云资源台账_2026-11-01.csv"
    write_csv(first, [INVENTORY_HEADER, *RESOURCES], "utf-8-sig")
    deliver(first, datetime(2026, 10, 31, 17, 0))
    mid = DROP / "inventory" / "云资源台账_2026-11-16.csv"
    write_csv(mid, [INVENTORY_HEADER, *RESOURCES, NEW_VM], "utf-8-sig")
    deliver(mid, datetime(2026, 11, 16, 9, 30))


def busy(moment: datetime, rnd: random.Random, base: float, swing: float) -> float:
    """Office-hours load: higher 09:00-18:00, lower at night, with noise."""
    day = 9 <= moment.hour < 18 and moment.weekday() < 5
    value = base + (swing if day else swing * 0.25) + rnd.uniform(-6, 6)
    return round(min(max(value, 1.0), 99.0), 2)


def write_utilization(rnd: random.Random) -> None:
    """The cloud console's daily metrics CSV (UTF-8 BOM): two VMs every 5 minutes, the others hourly."""
    for d in MONTH:
        rows = [["采集时间", "实例ID", "实例名称", "CPU利用率(%)", "内存利用率(%)", "所属平台"]]
        start = datetime.combine(d, time(0, 0))
        for step in range(288):
            moment = start + timedelta(minutes=5 * step)
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
            rows.append([stamp, "JB-VM-001", "治安管理-数据库", f"{busy(moment, rnd, 38, 22)}",
                         f"{busy(moment, rnd, 62, 8)}", "政务云"])  # fmt: skip
            idle_cpu = round(rnd.uniform(0.3, 1.9), 2)
            rows.append(
                [
                    stamp,
                    "JB-VM-004",
                    "旧版警务门户",
                    f"{idle_cpu}",
                    f"{round(rnd.uniform(18, 22), 2)}",
                    "政务云",
                ]
            )
            if step % 12 == 0:
                # The VM's agent restarted on 11-08 02:00-03:00: the console shows "--" for its memory.
                memory = (
                    "--"
                    if d == date(2026, 11, 8) and moment.hour in (2, 3)
                    else f"{busy(moment, rnd, 58, 10)}"
                )
                rows.append(
                    [stamp, "JB-VM-002", "治安管理-应用", f"{busy(moment, rnd, 35, 25)}", memory, "政务云"]
                )
                rows.append([stamp, "JB-VM-003", "出入境-应用", f"{busy(moment, rnd, 40, 25)}",
                             f"{busy(moment, rnd, 55, 10)}", "政务云"])  # fmt: skip
                if moment >= NEW_VM_FROM:
                    rows.append([stamp, "JB-VM-005", "视频结构化分析", f"{busy(moment, rnd, 48, 20)}",
                                 f"{busy(moment, rnd, 66, 6)}", "政务云"])  # fmt: skip
        path = DROP / "utilization" / f"性能数据_政务云_{d.strftime('%Y%m%d')}.csv"
        write_csv(path, rows, "utf-8-sig")
        deliver(path, datetime.combine(d, time(23, 58)))


def write_volumes(rnd: random.Random) -> None:
    """The storage console's daily capacity report (GBK): each volume sampled every 6 hours."""
    for d in MONTH:
        rows = [["时间戳", "卷ID", "卷名称", "已用容量(GB)", "总容量(GB)", "使用率"]]
        for hour in (0, 6, 12, 18):
            stamp = f"{d.year}/{d.month}/{d.day} {hour}:00"
            day_n = (d - MONTH[0]).days
            archive = round(118 + day_n * 0.4 + rnd.uniform(0, 0.3), 1)
            video = round(3050 + day_n * 6 + hour * 0.5 + rnd.uniform(-3, 3), 1)
            rows.append(
                [stamp, "JB-VOL-001", "治安管理-归档卷", f"{archive}", "2000", f"{archive / 20:.1f}%"]
            )
            rows.append([stamp, "JB-VOL-002", "视频联网-存储卷", f"{video}", "4000", f"{video / 40:.1f}%"])
        path = DROP / "utilization" / f"存储卷容量_{d.strftime('%Y%m%d')}.csv"
        write_csv(path, rows, "gbk")
        deliver(path, datetime.combine(d, time(23, 58)))


# --- continuity ------------------------------------------------------------------------------------------

# system -> (full job, incremental job); 测试环境数据库 is backed up by the same console but is not in the contract.
JOBS = {
    "治安管理系统": ("ZAGL_ORA_FULL", "ZAGL_ORA_INCR"),
    "出入境业务系统": ("CRJ_MYSQL_FULL", "CRJ_MYSQL_INCR"),
    "视频联网平台": ("SPLW_CFG_FULL", "SPLW_CFG_INCR"),
    "执法办案系统": ("ZFBA_DB_FULL", "ZFBA_DB_INCR"),
}
STOPPED = ("出入境业务系统", datetime(2026, 11, 12, 0, 0), datetime(2026, 11, 14, 12, 0))  # no job at all
FAILING = ("视频联网平台", datetime(2026, 11, 18, 0, 0), datetime(2026, 11, 20, 12, 0))  # jobs run and fail


def write_backups(rnd: random.Random) -> None:
    """The backup console's daily task report (UTF-8 BOM; sizes with units; durations as H:MM:SS)."""
    task = 880_000
    for d in MONTH:
        rows = [["任务ID", "任务名称", "备份对象", "备份类型", "开始时间", "结束时间", "耗时", "备份数据量",
                 "执行结果", "备注", ""]]  # fmt: skip
        runs: list[tuple[datetime, str, str, str, int, float]] = []
        for system, (full, incr) in JOBS.items():
            runs.append((datetime.combine(d, time(1, rnd.randint(0, 3))), system, full, "完全备份",
                         rnd.randint(35, 55), rnd.uniform(150, 260)))  # fmt: skip
            runs.append((datetime.combine(d, time(13, rnd.randint(0, 3))), system, incr, "增量备份",
                         rnd.randint(6, 14), rnd.uniform(4, 18)))  # fmt: skip
        runs.append(
            (datetime.combine(d, time(3, 0)), "测试环境数据库", "TEST_ORA_FULL", "完全备份", 20, 40.0)
        )
        for started, system, job, kind, minutes, size in sorted(runs):
            started = started + timedelta(seconds=rnd.randint(0, 59))
            if system == STOPPED[0] and STOPPED[1] <= started < STOPPED[2]:
                continue  # the client agent was down: the console ran nothing
            failed = system == FAILING[0] and FAILING[1] <= started < FAILING[2]
            took = timedelta(minutes=3 if failed else minutes, seconds=rnd.randint(0, 59))
            finished = started + took
            task += 1
            rows.append(
                [str(task), job, system, kind, slash_time(started), slash_time(finished),
                 f"{took.seconds // 3600}:{took.seconds // 60 % 60:02d}:{took.seconds % 60:02d}",
                 "0 GB" if failed else f"{size:.2f} GB", "失败" if failed else "成功",
                 "介质服务器连接超时" if failed else "", ""]
            )  # fmt: skip
        path = DROP / "backup" / f"备份任务报表_{d.strftime('%Y%m%d')}.csv"
        write_csv(path, rows, "utf-8-sig")
        deliver(path, datetime.combine(d, time(23, 58)))


DRILL_HEADER = ["序号", "演练日期", "演练系统", "演练类型", "演练场景", "演练结果", "恢复时长(分钟)",
                "数据丢失(分钟)", "参演人员", "佐证材料"]  # fmt: skip
DRILLS = [
    ["2026/6/20", "治安管理系统", "应急演练", "数据库主机宕机应急处置", "成功", "48", "", "陈立、刘洋、科信科张科长", "治安系统应急演练报告-202606.pdf"],
    ["2026/7/15", "出入境业务系统", "切换演练", "主备数据库切换", "成功", "35", "5", "陈立、赵敏、出入境大队李警官", "出入境切换演练记录-202607.pdf"],
    ["2026/7/20", "出入境业务系统", "备份恢复演练", "误删表恢复", "成功", "62", "15", "刘洋、赵敏", "出入境恢复演练-202607.docx"],
    ["2026/8/12", "视频联网平台", "备份恢复演练", "配置库恢复", "成功", "41", "10", "陈立、孙浩", "视频平台恢复演练-202608.pdf"],
    ["2026/8/28", "执法办案系统", "应急演练", "机房断电应急", "成功", "75", "", "陈立、刘洋、吴刚、科信科张科长", "执法办案应急演练报告.pdf"],
    ["2026/9/3", "治安管理系统", "备份恢复演练", "Oracle 全库恢复", "成功", "55", "20", "陈立、刘洋", "治安系统恢复演练-202609.pdf"],
    ["2026/9/15", "执法办案系统", "备份恢复演练", "数据库时间点恢复", "成功", "50", "12", "刘洋、赵敏", "执法办案恢复演练-202609.pdf"],
    ["2026/9/25", "视频联网平台", "应急演练", "核心交换机故障", "成功", "38", "", "陈立、孙浩、周婷", "视频平台应急演练-202609.pdf"],
    ["2026/10/8", "出入境业务系统", "备份恢复演练", "全量恢复", "成功", "58", "18", "刘洋、赵敏", "出入境恢复演练-202610.pdf"],
]  # fmt: skip
DRILLS_NOVEMBER = [
    # the failover drill's record lacks its supporting material (planted)
    ["2026/11/6", "出入境业务系统", "切换演练", "主备数据库切换", "成功", "40", "3", "陈立、赵敏、出入境大队李警官", ""],
    # the restore passed but lost 90 minutes of data: over the 60-minute drill RPO (planted)
    ["2026/11/19", "治安管理系统", "备份恢复演练", "Oracle 全库恢复（异机）", "成功", "70", "90", "陈立、刘洋、科信科张科长", "治安系统恢复演练-202611.pdf"],
]  # fmt: skip


def write_drills() -> None:
    def ledger(path: Path, rows: list[list[str]], as_of: date) -> None:
        wb = Workbook()
        ws = wb.active
        ws.title = "演练台账"
        ws.append([f"2026年度应急演练台账（截至{as_of.month}月{as_of.day}日）"])
        ws.merge_cells("A1:J1")
        ws.append(DRILL_HEADER)
        for i, row in enumerate(rows, 1):
            y, m, d = (int(x) for x in row[0].split("/"))
            ws.append([i, datetime(y, m, d), *row[1:]])
            ws.cell(ws.max_row, 2).number_format = "yyyy年m月d日"
        save_workbook(wb, path)

    first = DROP / "drill" / "演练记录台账_2026-10-31.xlsx"
    ledger(first, DRILLS, date(2026, 10, 31))
    deliver(first, datetime(2026, 10, 31, 16, 0))
    second = DROP / "drill" / "演练记录台账_2026-11-20.xlsx"
    ledger(second, DRILLS + DRILLS_NOVEMBER, date(2026, 11, 20))
    deliver(second, datetime(2026, 11, 20, 10, 30))


def write_delivered() -> None:
    lines = [
        "# When each file of drop/ reached the site's drop folder (site time). Written by make_site.py; the",
        "# score test sets each copied file's modification time from it (git keeps none).",
        "",
    ]
    for name, moment in sorted(DELIVERED.items()):
        lines.append(f'"{name}" = {moment.replace(tzinfo=ZONE).isoformat()}')
    (HERE / "delivered.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    if DROP.exists():
        shutil.rmtree(DROP)
    rnd = random.Random(20261101)
    events = month_events(rnd)
    write_staff()
    write_entrance(events, rnd)
    write_machine_room(events)
    write_handover()
    write_inventory()
    write_utilization(rnd)
    write_volumes(rnd)
    write_backups(rnd)
    write_drills()
    write_delivered()
    print(f"wrote {len(DELIVERED)} files under {DROP}")


if __name__ == "__main__":
    main()
