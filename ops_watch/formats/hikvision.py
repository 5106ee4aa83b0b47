"""Hikvision ISAPI access-control events (`POST /ISAPI/AccessControl/AcsEvent?format=json`) as door rows.

`acs_rows` maps the items of an AcsEvent search answer (`AcsEvent.InfoList`) to rows under DOOR_HEADER. The
dropped-file format below and the live poller (ops_watch.sources.hikvision) both use it, so an event read
either way has the same cells and the same dedupe key (`dev:<device name>#<serialNo>`).

- Which events are passages: `major` must be config doors.hikvision.major (5, MAJOR_EVENT) and `minor` one
  of its `granted` or `denied` codes; any other event (door opened/closed, alarms, ...) is no row and is
  counted in the batch detail as "major M minor N". docs/doors.md names every default code.
- Door and direction: an event says only (doorNo, cardReaderNo). The device's `readers` map each pair to a
  door name and direction; an event from a pair the list does not name is a row error. A device with no
  readers gets the documented default: door "<device name>门<doorNo>", reader 1 in, reader 2 out, any other
  reader no direction.
- Face terminals used for attendance say the direction themselves: an item's `attendanceStatus` checkIn /
  breakIn (in) or checkOut / breakOut (out) wins over the reader's direction ("undefined" or absent: the
  reader's). A device with `door` set and no readers (a single-door terminal) names its events' door.
- A dropped file is tied to its device by configuration, because nothing in an AcsEvent answer says which
  device answered: the subfolder it was dropped in (drop/door/<device name or match value>/…), else its file
  name starting with a configured Hikvision device's name (the longest such name wins).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ops_watch.formats.tabular import SourceRow, TableError
from ops_watch.formats.vendor import DOOR_HEADER, VendorContext, VendorFormat, fault_row, vendor_format

if TYPE_CHECKING:
    from ops_watch.config import Config, DoorDevice, HikvisionCodes

FORMAT_NAME = "hikvision-acsevent"
DEVICES_KEY = "doors.devices"
# Without `readers`, the reader numbers mean the common wiring: reader 1 outside the door (entry), reader 2
# inside (exit). Any other reader gives no direction.
DEFAULT_DIRECTIONS = {1: "in", 2: "out"}
# ISAPI attendanceStatus (face terminals used for attendance): what the person pressed. "undefined": none.
ATTENDANCE_DIRECTIONS = {
    "checkin": "in",
    "breakin": "in",
    "overtimein": "in",
    "checkout": "out",
    "breakout": "out",
    "overtimeout": "out",
}


def default_door(device_name: str, door_no: int) -> str:
    """The door's name when the device lists no readers."""
    return f"{device_name}门{door_no}"


@dataclass(frozen=True)
class ReaderDoor:
    door: str
    direction: str  # "in", "out" or ""


def reader_doors(device: DoorDevice) -> dict[tuple[int, int], ReaderDoor]:
    """(door_no, reader_no) -> its door, from the device's `readers`; empty when it lists none."""
    return {(r.door_no, r.reader_no): ReaderDoor(r.door, r.direction) for r in device.readers}


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list | bool):
        return ""
    return str(value).strip()


def _int(value: Any) -> int | None:
    """An ISAPI number (an int, or a string of one in some firmware); None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _where(device_name: str, door_no: Any, reader_no: Any) -> tuple[str, str]:
    """How a fault names the event's origin, in Chinese and English."""
    door = _text(door_no) or "（无）"
    reader = _text(reader_no) or "（无）"
    door_en = _text(door_no) or "(none)"
    reader_en = _text(reader_no) or "(none)"
    return (
        f"门禁设备「{device_name}」的事件（doorNo={door}, cardReaderNo={reader}）",
        f"device {device_name!r}, event doorNo={door_en}, cardReaderNo={reader_en}",
    )


def acs_row(
    item: Any,
    number: int,
    device: DoorDevice,
    codes: HikvisionCodes,
    doors: dict[tuple[int, int], ReaderDoor],
    ctx: VendorContext,
) -> SourceRow | None:
    """One InfoList item as a row, a fault row, or None for an event that is not a passage (counted in ctx)."""
    name = device.name
    if not isinstance(item, dict):
        shown = repr(item)[:80]
        return fault_row(
            number,
            f"门禁设备「{name}」的事件应为 JSON 对象，实际为：{shown}",
            f"device {name!r}: an AcsEvent InfoList item must be a JSON object, got: {shown}",
            [shown],
        )
    door_raw, reader_raw = item.get("doorNo"), item.get("cardReaderNo")
    where_zh, where_en = _where(name, door_raw, reader_raw)
    major, minor = _int(item.get("major")), _int(item.get("minor"))
    time_text = _text(item.get("time"))
    serial = _int(item.get("serialNo"))
    person = _text(item.get("employeeNoString")) or _text(item.get("employeeNo"))
    card = _text(item.get("cardNo"))
    known = [time_text, person, _text(item.get("name")), card, "", "", "", name, _text(item.get("serialNo"))]
    if major is None or minor is None:
        return fault_row(
            number,
            f"{where_zh}缺少 major/minor 事件类型，无法判断是否为通行：请确认配置 {DEVICES_KEY} 中的"
            f"「{name}」是海康门禁设备",
            f"{where_en}: no major/minor event type, so it cannot be told whether it is a passage: check that "
            f"config {DEVICES_KEY} {name!r} is a Hikvision access controller",
            known,
        )
    if major != codes.major:
        ctx.ignore(f"major {major} minor {minor}")
        return None
    if minor in codes.granted:
        result = "granted"
    elif minor in codes.denied:
        result = "denied"
    else:
        ctx.ignore(f"major {major} minor {minor}")
        return None
    known[6] = result
    door_no, reader_no = _int(door_raw), _int(reader_raw)
    missing = [
        key
        for key, ok in (
            ("time", bool(time_text)),
            ("doorNo", door_no is not None),
            ("serialNo", serial is not None),
        )
        if not ok
    ]
    if missing:
        keys = ", ".join(missing)
        return fault_row(
            number,
            f"{where_zh}缺少 {keys}（海康 AcsEvent 的每条通行事件都应有 time、doorNo、serialNo）：请确认配置"
            f" {DEVICES_KEY} 中的「{name}」是海康门禁设备，或重新导出",
            f"{where_en}: no {keys} (every Hikvision AcsEvent passage has time, doorNo and serialNo): check "
            f"that config {DEVICES_KEY} {name!r} is a Hikvision access controller, or export again",
            known,
        )
    assert door_no is not None and serial is not None
    if doors:
        mapped = doors.get((door_no, reader_no)) if reader_no is not None else None
        if mapped is None:
            example = f'{{ door_no = {door_no}, reader_no = {_text(reader_raw) or "?"}, door = "…", direction = "in" }}'
            return fault_row(
                number,
                f'{where_zh}来自未配置的读卡器：请在配置 {DEVICES_KEY}（name = "{name}"）的 readers 中添加 '
                f"{example}",
                f"{where_en}: the reader is not in the device's readers: add {example} to the readers of "
                f'config {DEVICES_KEY} name = "{name}"',
                known,
            )
        door, direction = mapped.door, mapped.direction
    else:  # the device's own door (a single-door terminal), else the documented default
        door = device.door or default_door(name, door_no)
        direction = DEFAULT_DIRECTIONS.get(reader_no, "") if reader_no is not None else ""
    direction = ATTENDANCE_DIRECTIONS.get(_text(item.get("attendanceStatus")).casefold(), direction)
    cells = [time_text, person, _text(item.get("name")), card, door, direction, result, name, str(serial)]
    return SourceRow(number, cells)


def acs_rows(
    items: Iterable[Any],
    device: DoorDevice,
    codes: HikvisionCodes,
    ctx: VendorContext,
    first_number: int = 1,
) -> Iterator[SourceRow]:
    """Rows for InfoList items. An item's row number is its position (from `first_number`), so "row 5" of a
    file is its fifth event even when events before it were not passages and made no row."""
    doors = reader_doors(device)
    for offset, item in enumerate(items):
        row = acs_row(item, first_number + offset, device, codes, doors, ctx)
        if row is not None:
            yield row


# ---- the file format ------------------------------------------------------------------------------


def is_page(document: Any) -> bool:
    """One AcsEvent search answer: {"AcsEvent": {...}}."""
    return isinstance(document, dict) and isinstance(document.get("AcsEvent"), dict)


def detect(document: Any) -> bool:
    if is_page(document):
        return True
    return isinstance(document, list) and bool(document) and all(is_page(p) for p in document)


def items_of(document: Any) -> list[Any]:
    """Every InfoList item of the document's pages, in order; TableError for an InfoList that is not a list.

    A page without InfoList ("NO MATCH") has no items."""
    pages = [document] if isinstance(document, dict) else list(document)
    items: list[Any] = []
    for n, page in enumerate(pages, start=1):
        info = page["AcsEvent"].get("InfoList")
        if info is None:
            continue
        if not isinstance(info, list):
            where_zh = f"第 {n} 页" if len(pages) > 1 else "该文件"
            where_en = f"page {n}" if len(pages) > 1 else "the file"
            raise TableError(
                f"{where_zh}的 AcsEvent.InfoList 不是列表：请重新导出",
                f"the AcsEvent.InfoList of {where_en} is not a list: export it again",
            )
        items.extend(info)
    return items


def device_for_file(config: Config, file_stem: str, folders: tuple[str, ...] = ()) -> DoorDevice:
    """The configured Hikvision device of a dropped file: the subfolder it was dropped in names it (by name or
    a `match` value), else the file name starts with its name (the longest such name)."""
    hikvision = [d for d in config.doors.devices if d.vendor == "hikvision"]
    for folder in folders:
        named = config.doors.named(folder)
        if named is not None and named.vendor == "hikvision":
            return named
    stem = file_stem.strip().casefold()
    matches = [d for d in hikvision if stem.startswith(d.name.strip().casefold())]
    if matches:
        return max(matches, key=lambda d: len(d.name.strip()))
    names_zh = "、".join(f"「{d.name}」" for d in hikvision) or "（无）"
    names_en = ", ".join(repr(d.name) for d in hikvision) or "(none)"
    raise TableError(
        f"文件名「{file_stem}」不以任何已配置的海康门禁设备名称开头，所在子目录也不是设备名称（已配置：{names_zh}）："
        f"海康导出的事件不含设备名称，请把文件放在 drop/door/<设备名称>/ 下或命名为「<设备名称>…json」，"
        f'或在配置中添加 [[{DEVICES_KEY}]]（vendor = "hikvision"）',
        f"the file name {file_stem!r} does not start with the name of a configured Hikvision device, nor is it "
        f"in a subfolder named after one (configured: {names_en}): a Hikvision export does not name its "
        f'device, so drop it in drop/door/<device name>/ or name it "<device name>…json", or add a '
        f'[[{DEVICES_KEY}]] entry with vendor = "hikvision"',
    )


def rows(document: Any, ctx: VendorContext) -> Iterator[SourceRow]:
    # Both checks run before the first row: a file of no known device, or a broken page, is refused whole.
    device = device_for_file(ctx.config, ctx.file_stem, ctx.folders)
    items = items_of(document)
    ctx.detail["device"] = device.name
    return acs_rows(items, device, ctx.config.doors.hikvision, ctx)


FORMAT = vendor_format(
    VendorFormat(
        name=FORMAT_NAME,
        kind="door",
        header=DOOR_HEADER,
        detect=detect,
        rows=rows,
        shape_zh='海康门禁事件查询结果（{"AcsEvent": {"InfoList": [{"major", "minor", "time", "doorNo", …}]}}，'
        "或多页组成的列表；放在 drop/door/<设备名称>/ 下或文件名以设备名称开头）",
        shape_en='a Hikvision AcsEvent search answer ({"AcsEvent": {"InfoList": [{"major", "minor", "time", '
        '"doorNo", …}]}}, or a list of such pages; in drop/door/<device name>/ or named after the device)',
    )
)

__all__ = [
    "ATTENDANCE_DIRECTIONS",
    "DEFAULT_DIRECTIONS",
    "FORMAT_NAME",
    "ReaderDoor",
    "acs_row",
    "acs_rows",
    "default_door",
    "detect",
    "device_for_file",
    "items_of",
    "reader_doors",
]
