"""door: access-control events (门禁记录) exported from a door system, appended; one event is stored once.

Times without an offset are site time. A granted row must name the person (person_id) or the card (card_no), or
both; a denied one may name neither (a stranger a face terminal refused).
The same event exported twice (by two files, or by overlapping exports) is one row: `dedupe_key` is
`dev:<device>#<serial_no>` when the export carries the device and its serial number, else
`evt:<person_id or card_no>|<door>|<time as ISO UTC>`.

Direction: the `direction` column, else an attendance terminal's `attendance_status` (考勤状态: 签到/上班/
checkIn/breakIn = in, 签退/下班/checkOut/breakOut = out). Device: a row whose device cell names a configured
`[[doors.devices]]` entry (its `name` or one of its `match` values), or a file dropped in
drop/door/<device name or match>/, is that device's: stored under the device's name (so a polled event and
an exported one have one dedupe key), and a row without a door takes the device's `door`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from ops_watch.core.timeutil import as_utc
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, ParseContext, RecordKind
from ops_watch.store.schema import DoorEvent

DIRECTIONS = {
    "进": "in",
    "入": "in",
    "进门": "in",
    "进入": "in",
    "入口": "in",
    "进场": "in",
    "in": "in",
    "entry": "in",
    "enter": "in",
    "出": "out",
    "出门": "out",
    "离开": "out",
    "出口": "out",
    "出场": "out",
    "out": "out",
    "exit": "out",
    "leave": "out",
    "入场": "in",
    "进站": "in",
    "ingress": "in",
    "离场": "out",
    "出站": "out",
    "egress": "out",
}
# Attendance terminals (Hikvision face terminals' attendanceStatus, ZKBioTime punch states, the 考勤状态 of an
# export): what the person pressed says whether they came or went.
ATTENDANCE = {
    "checkIn": "in",
    "breakIn": "in",
    "overtimeIn": "in",
    "签到": "in",
    "上班": "in",
    "上班签到": "in",
    "外出返回": "in",
    "加班签到": "in",
    "checkOut": "out",
    "breakOut": "out",
    "overtimeOut": "out",
    "签退": "out",
    "下班": "out",
    "下班签退": "out",
    "外出": "out",
    "加班签退": "out",
    "上班打卡": "in",
    "下班打卡": "out",
    "undefined": "",
    "未定义": "",
    "无": "",
}
RESULTS = {
    "成功": "granted",
    "通过": "granted",
    "允许": "granted",
    "正常": "granted",
    "认证通过": "granted",
    "验证通过": "granted",
    "认证成功": "granted",
    "验证成功": "granted",
    "开门成功": "granted",
    "granted": "granted",
    "success": "granted",
    "合法卡": "granted",
    "合法卡比对通过": "granted",
    "刷卡通过": "granted",
    "人脸认证通过": "granted",
    "人脸识别通过": "granted",
    "正常开门": "granted",
    "已通过": "granted",
    "allowed": "granted",
    "allow": "granted",
    "passed": "granted",
    "pass": "granted",
    "失败": "denied",
    "拒绝": "denied",
    "禁止": "denied",
    "认证失败": "denied",
    "验证失败": "denied",
    "无权限": "denied",
    "denied": "denied",
    "failed": "denied",
    "未通过": "denied",
    "不通过": "denied",
    "非法卡": "denied",
    "未授权": "denied",
    "无效卡": "denied",
    "无此卡号": "denied",
    "卡号不存在": "denied",
    "卡已过期": "denied",
    "人脸认证失败": "denied",
    "人脸识别失败": "denied",
    "开门失败": "denied",
    "拒绝通行": "denied",
    "认证不通过": "denied",
    "验证不通过": "denied",
    "deny": "denied",
    "rejected": "denied",
    "refused": "denied",
    "fail": "denied",
}

COLUMNS = (
    Column(
        "at",
        (
            "时间",
            "time",
            "事件时间",
            "刷卡时间",
            "通行时间",
            "打卡时间",
            "认证时间",
            "考勤时间",
            "发生时间",
            "记录时间",
            "日期时间",
            "进出时间",
            "通过时间",
            "识别时间",
            "开门时间",
            "出入时间",
            "event time",
            "事件发生时间",
        ),
        fields.moment(),
        type_doc="time; without an offset it is site time. A time of day alone (`08:31:05`) takes its date "
        "from the `day` column",
        example="2026-11-02 08:31:05",
    ),
    Column(
        "day",
        ("日期", "刷卡日期", "通行日期", "考勤日期", "事件日期", "打卡日期", "date"),
        fields.date_value(),
        required=False,
        type_doc="date, for an export that splits date and time into two columns: the date of `at` when "
        "that is a time of day alone; unused when `at` has its date",
        example="2026-11-02",
    ),
    Column(
        "person_id",
        (
            "工号",
            "person id",
            "人员编号",
            "员工编号",
            "员工号",
            "人员工号",
            "人员ID",
            "员工ID",
            "用户编号",
            "工作证号",
            "员工工号",
            "职工号",
            "人员编码",
            "employee id",
        ),
        fields.text(128),
        required=False,
        default="",
        type_doc="text; person_id or card_no (or both) must be given",
        example="YW-0007",
    ),
    Column(
        "name",
        (
            "姓名",
            "人员姓名",
            "员工姓名",
            "人员名称",
            "用户名",
            "人员",
            "持卡人",
            "持卡人姓名",
            "用户姓名",
            "person name",
        ),
        fields.text(128),
        required=False,
        default="",
        example="张伟",
    ),
    Column(
        "card_no",
        (
            "卡号",
            "card number",
            "card",
            "门禁卡号",
            "卡片号",
            "卡片编号",
            "IC卡号",
            "物理卡号",
            "卡片号码",
            "逻辑卡号",
        ),
        fields.text(128),
        required=False,
        default="",
        type_doc="text; person_id or card_no (or both) must be given",
        example="3005120417",
    ),
    Column(
        "door",
        (
            "门禁点",
            "门",
            "门名称",
            "门禁点名称",
            "门禁名称",
            "门点",
            "通道",
            "通道名称",
            "门禁位置",
            "门名",
            "出入口",
            "door name",
            "门点名称",
        ),
        fields.text(256),
        required=False,
        default="",
        type_doc="text; empty or absent: the configured device's `door` (docs/doors.md)",
        example="机房A门",
    ),
    Column(
        "direction",
        (
            "方向",
            "进出方向",
            "进出类型",
            "出入方向",
            "通行方向",
            "进出",
            "进出标识",
            "出入类型",
            "in/out",
            "进/出",
        ),
        fields.choice(DIRECTIONS),
        required=False,
        default="",
        type_doc="进/入 or in, 出 or out; empty = the reader has no direction",
        example="进",
    ),
    Column(
        "attendance_status",
        (
            "考勤状态",
            "attendanceStatus",
            "考勤类型",
            "打卡类型",
            "打卡状态",
            "签到类型",
            "签到状态",
        ),
        fields.choice(ATTENDANCE),
        required=False,
        default="",
        type_doc="签到/上班/checkIn/breakIn = in, 签退/下班/checkOut/breakOut = out; used when direction is empty",
        example="签到",
    ),
    Column(
        "result",
        (
            "结果",
            "验证结果",
            "认证结果",
            "通行结果",
            "事件结果",
            "开门结果",
            "验证状态",
            "认证状态",
            "通行状态",
            "核验结果",
            "access result",
        ),
        fields.choice(RESULTS),
        required=False,
        default="granted",
        type_doc="成功/通过/granted or 失败/拒绝/denied; absent: every row is a passage (an export of passages)",
        example="成功",
    ),
    Column(
        "device",
        (
            "设备",
            "设备名称",
            "设备序列号",
            "门禁设备",
            "设备名",
            "设备编号",
            "控制器",
            "控制器名称",
            "终端名称",
            "读卡器",
            "读卡器名称",
            "device name",
        ),
        fields.text(256),
        required=False,
        default="",
        type_doc="text, optional: the reader or controller; a configured device's name or match value ties "
        "the row to it",
        example="DS-K1T671-01",
    ),
    Column(
        "serial_no",
        (
            "流水号",
            "serial",
            "事件流水号",
            "事件编号",
            "事件ID",
            "记录ID",
            "event id",
        ),
        fields.text(128),
        required=False,
        default="",
        type_doc="text, optional: the device's event serial number",
        example="10234",
    ),
)


@dataclass(slots=True)
class DoorRecord:
    at: datetime
    person_id: str
    name: str
    card_no: str
    door: str
    direction: str
    result: str
    device: str
    serial_no: str
    dedupe_key: str


def dedupe_key(at: datetime, person_id: str, card_no: str, door: str, device: str, serial_no: str) -> str:
    """The identity of an event: the device's serial number when known, else who, where and when."""
    if device and serial_no:
        return f"dev:{device}#{serial_no}"
    when = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"evt:{person_id or card_no}|{door}|{when}"


_DEVICES: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(DoorsConfig) -> (it, {casefolded name: device})


def _devices(ctx: ParseContext) -> dict[str, Any]:
    """The configured door devices by every name an export may give them (built once per config)."""
    doors = getattr(ctx.config, "doors", None)
    if doors is None or not doors.devices:
        return {}
    cached = _DEVICES.get(id(doors))
    if cached is None or cached[0] is not doors:
        names = {m.strip().casefold(): d for d in doors.devices for m in (d.name, *d.match)}
        _DEVICES.clear()
        cached = _DEVICES[id(doors)] = (doors, names)
    return cached[1]


def build(values: dict[str, Any], ctx: ParseContext) -> DoorRecord:
    # A refused stranger (a face terminal's "face not recognised") names nobody and is still evidence: it counts
    # for access_denied_burst. A granted event must say who went through.
    if not values["person_id"] and not values["card_no"] and values["result"] != "denied":
        raise CellError(
            "工号和卡号都为空：通行记录至少填一项（只有被拒绝的记录可以都为空）",
            "neither person_id nor card_no is given: a passage needs at least one (only a denied event may lack both)",
            column="person_id",
        )
    # Positional: this runs for every event, and keyword arguments cost more.
    at, person_id, card_no = values["at"], values["person_id"], values["card_no"]
    if at.__class__ is time:  # an export with the date and the time in two columns
        if values["day"] is None:
            raise CellError(
                "只有时刻没有日期：请在同一行给出日期列（日期、刷卡日期）或写完整时间 2026-11-02 08:31:05",
                "a time of day without a date: give a date column (日期, 刷卡日期) or the full time "
                "2026-11-02 08:31:05",
                column="at",
            )
        at = as_utc(datetime.combine(values["day"], at), ctx.zone)
    door, device, serial_no = values["door"], values["device"], values["serial_no"]
    direction = values["direction"] or values["attendance_status"]
    if ctx.config is not None:
        devices = _devices(ctx)
        if devices:
            known = devices.get(device.casefold()) if device else None
            if known is None and not device and ctx.folders:
                known = devices.get(ctx.folders[0].strip().casefold())
            if known is not None:
                device = known.name
                door = door or known.door
    if not door:
        raise CellError(
            "门禁点为空：请在文件中填写门禁点，或把文件放在 drop/door/<设备名称>/ 下并在配置 [[doors.devices]] 中"
            '为该设备写 door = "…"',
            "no door: give the door in the file, or drop the file in drop/door/<device name>/ and give that "
            '[[doors.devices]] entry door = "…"',
            column="door",
        )
    return DoorRecord(
        at,
        person_id,
        values["name"],
        card_no,
        door,
        direction,
        values["result"],
        device,
        serial_no,
        dedupe_key(at, person_id, card_no, door, device, serial_no),
    )


KIND = RecordKind(
    name="door",
    title_zh="门禁记录",
    title_en="door events",
    columns=COLUMNS,
    record_type=DoorRecord,
    build=build,
    table=DoorEvent,
    write_mode="append",
    key=("dedupe_key",),
    time_column="at",
)

KINDS.add(KIND.name, KIND)
