"""door: access-control events (门禁记录) exported from a door system, appended; one event is stored once.

Times without an offset are site time. A row must name the person (person_id) or the card (card_no), or both.
The same event exported twice (by two files, or by overlapping exports) is one row: `dedupe_key` is
`dev:<device>#<serial_no>` when the export carries the device and its serial number, else
`evt:<person_id or card_no>|<door>|<time as ISO UTC>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, ParseContext, RecordKind
from ops_watch.store.schema import DoorEvent

DIRECTIONS = {
    "进": "in",
    "入": "in",
    "进门": "in",
    "in": "in",
    "entry": "in",
    "出": "out",
    "出门": "out",
    "out": "out",
    "exit": "out",
}
RESULTS = {
    "成功": "granted",
    "通过": "granted",
    "granted": "granted",
    "失败": "denied",
    "拒绝": "denied",
    "denied": "denied",
}

COLUMNS = (
    Column(
        "at",
        ("时间", "time", "事件时间", "刷卡时间"),
        fields.datetime_value(),
        type_doc="time; without an offset it is site time",
        example="2026-11-02 08:31:05",
    ),
    Column(
        "person_id",
        ("工号", "person id", "人员编号"),
        fields.text(128),
        required=False,
        default="",
        type_doc="text; person_id or card_no (or both) must be given",
        example="YW-0007",
    ),
    Column("name", ("姓名",), fields.text(128), required=False, default="", example="张伟"),
    Column(
        "card_no",
        ("卡号", "card number", "card"),
        fields.text(128),
        required=False,
        default="",
        type_doc="text; person_id or card_no (or both) must be given",
        example="3005120417",
    ),
    Column("door", ("门禁点", "门", "门名称"), fields.text(256), example="机房A门"),
    Column(
        "direction",
        ("方向", "进出方向"),
        fields.choice(DIRECTIONS),
        required=False,
        default="",
        type_doc="进/入 or in, 出 or out; empty = the reader has no direction",
        example="进",
    ),
    Column(
        "result",
        ("结果", "验证结果"),
        fields.choice(RESULTS),
        type_doc="成功/通过/granted or 失败/拒绝/denied",
        example="成功",
    ),
    Column(
        "device",
        ("设备", "设备名称", "设备序列号"),
        fields.text(256),
        required=False,
        default="",
        type_doc="text, optional: the reader or controller",
        example="DS-K1T671-01",
    ),
    Column(
        "serial_no",
        ("流水号", "serial", "事件流水号"),
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


def build(values: dict[str, Any], _ctx: ParseContext) -> DoorRecord:
    if not values["person_id"] and not values["card_no"]:
        raise CellError(
            "工号和卡号都为空：至少填一项",
            "neither person_id nor card_no is given: give at least one",
            column="person_id",
        )
    # Positional: this runs for every event, and keyword arguments cost more.
    at, person_id, card_no = values["at"], values["person_id"], values["card_no"]
    door, device, serial_no = values["door"], values["device"], values["serial_no"]
    return DoorRecord(
        at,
        person_id,
        values["name"],
        card_no,
        door,
        values["direction"],
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
