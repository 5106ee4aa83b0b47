"""ZKTeco ZKBioTime 8.x: attendance transactions (punches) as door events, from a saved page or a live poll.

The REST API (`GET /iclock/api/transactions/`) answers in pages shaped as Django REST framework does:
`{"count": n, "next": url|null, "previous": url|null, "code": 0, "msg": "", "data": [record, …]}`. A record
carries `id, emp_code, first_name, last_name, punch_time, punch_state, terminal_sn, terminal_alias,
area_alias, …`; `punch_time` is the terminal's local time without a zone, which is taken as site time.

A dropped file may hold one such page, a list of pages saved together, or a bare list of records.
`transaction_rows` maps records to rows under DOOR_HEADER, for files and for ops_watch.sources.zkbiotime
alike, so a punch read both ways has the same dedupe key (`dev:<terminal_sn>#<id>`).

Which door a terminal guards comes from the config: the `terminals` of every zkbiotime device, gathered
together (a file does not say which server it came from). Without any, the door is the terminal's alias.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ops_watch.formats.tabular import SourceRow, TableError
from ops_watch.formats.vendor import DOOR_HEADER, VendorContext, VendorFormat, fault_row, vendor_format

if TYPE_CHECKING:
    from ops_watch.config import Config

FORMAT_NAME = "zkbiotime-transactions"
TERMINALS_KEY = "doors.devices[].terminals"

# ZKBioTime's punch states (its "punch_state" choices): 0 check-in, 1 check-out, 2 break-out, 3 break-in,
# 4 overtime-in, 5 overtime-out; 255 (and anything else) says nothing about the direction.
PUNCH_IN = frozenset({0, 3, 4})
PUNCH_OUT = frozenset({1, 2, 5})

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def punch_direction(punch_state: Any) -> str:
    """ "in", "out" or "" for a punch_state given as an int or a string ("0")."""
    if isinstance(punch_state, bool):
        return ""
    try:
        state = int(str(punch_state).strip())
    except ValueError:
        return ""
    if state in PUNCH_IN:
        return "in"
    if state in PUNCH_OUT:
        return "out"
    return ""


@dataclass(frozen=True)
class TerminalDoor:
    door: str
    direction: str  # "in", "out", "" or "punch_state"


def terminal_doors(config: Config) -> dict[str, TerminalDoor]:
    """terminal_sn -> its door, from every zkbiotime device's `terminals` (the first listing wins)."""
    doors: dict[str, TerminalDoor] = {}
    for device in config.doors.devices:
        if device.vendor != "zkbiotime":
            continue
        for t in device.terminals:
            doors.setdefault(t.terminal_sn.strip(), TerminalDoor(t.door, t.direction))
    return doors


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def person_name(record: dict[str, Any]) -> str:
    """first_name and last_name as ZKBioTime lists them; a Chinese install usually fills first_name only.

    Two Chinese parts are joined without a space, as Chinese names are written."""
    parts = [p for p in (_text(record.get("first_name")), _text(record.get("last_name"))) if p]
    if parts:
        joiner = "" if all(_CJK.search(p) for p in parts) else " "
        return joiner.join(parts)
    for key in ("name", "emp_name", "nickname"):
        if _text(record.get(key)):
            return _text(record.get(key))
    return ""


def _terminal_label(sn: str, alias: str) -> str:
    return f"{sn}（{alias}）" if alias else sn


def transaction_row(record: Any, number: int, doors: dict[str, TerminalDoor]) -> SourceRow:
    """One transaction record as a row under DOOR_HEADER, or a fault row saying what is wrong with it."""
    if not isinstance(record, dict):
        shown = repr(record)[:80]
        return fault_row(
            number,
            f"打卡记录应为 JSON 对象，实际为：{shown}",
            f"a transaction record must be a JSON object, got: {shown}",
            [shown],
        )
    emp_code = _text(record.get("emp_code"))
    punch_time = _text(record.get("punch_time"))
    sn = _text(record.get("terminal_sn"))
    alias = _text(record.get("terminal_alias"))
    tx_id = _text(record.get("id"))
    name = person_name(record)
    known = [punch_time, emp_code, name, _text(record.get("card_no")), alias or sn, "", "", sn, tx_id]
    missing = [
        key
        for key, value in (
            ("id", tx_id),
            ("emp_code", emp_code),
            ("punch_time", punch_time),
            ("terminal_sn", sn),
        )
        if not value
    ]
    if missing:
        keys = ", ".join(missing)
        return fault_row(
            number,
            f"打卡记录缺少 {keys}（ZKBioTime 的每条打卡记录都应有 id、emp_code、punch_time、terminal_sn）",
            f"the transaction record has no {keys} (every ZKBioTime punch has id, emp_code, punch_time, "
            "terminal_sn)",
            known,
        )
    punch = punch_direction(record.get("punch_state"))
    if doors:
        mapped = doors.get(sn)
        if mapped is None:
            label = _terminal_label(sn, alias)
            return fault_row(
                number,
                f'未知的考勤终端 {label}：请在配置 {TERMINALS_KEY} 中添加 terminal_sn = "{sn}" 及其门禁点',
                f'unknown terminal {label}: add terminal_sn = "{sn}" and its door to config {TERMINALS_KEY}',
                known,
            )
        door = mapped.door
        direction = punch if mapped.direction == "punch_state" else mapped.direction
    else:  # nothing configured: the documented default, the terminal's own name and the punch's direction
        door = alias or _text(record.get("area_alias")) or sn
        direction = punch
    cells = [punch_time, emp_code, name, _text(record.get("card_no")), door, direction, "granted", sn, tx_id]
    return SourceRow(number, cells)


def transaction_rows(
    records: Iterable[Any], config: Config, ctx: VendorContext | None = None, first_number: int = 1
) -> Iterator[SourceRow]:
    """Rows numbered from `first_number`, one per record (a live poll numbers on across its pages).

    A transaction is a verified punch, so every row is "granted"; ZKBioTime has no denied punches to skip,
    and `ctx` is taken for the same face as the other vendor adapters."""
    doors = terminal_doors(config)
    for offset, record in enumerate(records):
        yield transaction_row(record, first_number + offset, doors)


# ---- the file format ------------------------------------------------------------------------------


def is_page(document: Any) -> bool:
    """A page of /iclock/api/transactions/: a dict with a data list and DRF's count/next, or ZKBioTime's code."""
    if not isinstance(document, dict):
        return False
    if "data" in document and (isinstance(document["data"], list) or document["data"] is None):
        return any(k in document for k in ("count", "next", "previous", "code"))
    # an error answer saved as a page: {"code": 1, "msg": "…"} with no data
    return "code" in document and "msg" in document and len(document) <= 4


def _is_record(item: Any) -> bool:
    return isinstance(item, dict) and "emp_code" in item and "punch_time" in item


def detect(document: Any) -> bool:
    if is_page(document):
        return True
    if isinstance(document, list) and document:
        if all(is_page(item) for item in document):
            return True
        return any(_is_record(item) for item in document) and not any(is_page(i) for i in document)
    return False


def page_ok(page: dict[str, Any]) -> bool:
    return page.get("code") in (None, 0, "0", "")


def page_error(page: dict[str, Any]) -> str:
    return f"code {page.get('code')!r}: {_text(page.get('msg'))[:200] or '(no msg)'}"


def records_of(document: Any) -> list[Any]:
    """Every record of the document in order; TableError for an error page or a page without a data list."""
    if isinstance(document, dict):
        pages = [document]
    elif all(is_page(item) for item in document):
        pages = list(document)
    else:
        return list(document)  # a bare list of records
    records: list[Any] = []
    for n, page in enumerate(pages, start=1):
        where_zh = f"第 {n} 页" if len(pages) > 1 else "该页"
        where_en = f"page {n}" if len(pages) > 1 else "the page"
        if not page_ok(page):
            raise TableError(
                f"{where_zh}是 ZKBioTime 的错误应答（{page_error(page)}），不是打卡记录：请重新导出",
                f"{where_en} is a ZKBioTime error answer ({page_error(page)}), not punches: export it again",
            )
        data = page.get("data")
        if data is None:
            data = []
        if not isinstance(data, list):
            raise TableError(
                f"{where_zh}的 data 不是列表", f"the data of {where_en} is not a list of transactions"
            )
        records.extend(data)
    return records


def rows(document: Any, ctx: VendorContext) -> Iterator[SourceRow]:
    records = records_of(document)  # before the first row: an error page refuses the whole file
    return transaction_rows(records, ctx.config, ctx)


FORMAT = vendor_format(
    VendorFormat(
        name=FORMAT_NAME,
        kind="door",
        header=DOOR_HEADER,
        detect=detect,
        rows=rows,
        shape_zh='ZKBioTime 打卡记录导出（{"count": …, "next": …, "data": [{"emp_code", "punch_time", …}]}，'
        "或多页组成的列表，或记录列表）",
        shape_en='a ZKBioTime transactions export ({"count": …, "next": …, "data": [{"emp_code", '
        '"punch_time", …}]}, a list of such pages, or a list of records)',
    )
)

__all__ = [
    "FORMAT_NAME",
    "PUNCH_IN",
    "PUNCH_OUT",
    "TerminalDoor",
    "detect",
    "person_name",
    "punch_direction",
    "records_of",
    "terminal_doors",
    "transaction_row",
    "transaction_rows",
]
