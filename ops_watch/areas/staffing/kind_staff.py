"""staff: the contractor's staff registry (驻场人员花名册). Upsert by person_id: the latest file wins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from ops_watch.core.timeutil import parse_date
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, ParseContext, RecordKind
from ops_watch.store.schema import StaffMember

# Card numbers: 、 , ， ; ； / or spaces between them.
CARD_SEPARATORS = r"、,，;；/\s"
# Certificates: entries split at 、 , ， ; ； or line breaks (not at / or spaces: dates and names use them).
_CERT_ENTRIES = re.compile(r"[、,，;；\n\r]+")
_CERT_NAME_DATE = re.compile(r"^(?P<name>.*?)\s*[:：]\s*(?P<expires>[^:：]*)$")


def certificates(value: Any, _ctx: ParseContext) -> list[dict[str, Any]]:
    """`CISP:2027-06-30; 等保测评师:2026-12-31; PMP` -> [{name, expires (ISO date or None)}]."""
    out: list[dict[str, Any]] = []
    for entry in _CERT_ENTRIES.split(str(value)):
        entry = entry.strip()
        if not entry:
            continue
        m = _CERT_NAME_DATE.match(entry)
        name, expires_text = (m.group("name").strip(), m.group("expires").strip()) if m else (entry, "")
        if not name:
            raise CellError(f"证书「{entry}」缺少名称", f"certificate {entry!r} has no name")
        if len(name) > 128:
            raise CellError(f"证书名称「{name[:20]}…」过长", f"certificate name {name[:20]!r}… is too long")
        expires: str | None = None
        if expires_text:
            try:
                expires = parse_date(expires_text).isoformat()
            except ValueError:
                raise CellError(
                    f"证书「{name}」的有效期「{expires_text}」不是日期（写法如 CISP:2027-06-30）",
                    f"certificate {name!r}: expiry {expires_text!r} is not a date (write e.g. CISP:2027-06-30)",
                ) from None
        out.append({"name": name, "expires": expires})
    return out


COLUMNS = (
    Column("person_id", ("工号", "人员编号", "person id", "员工编号"), fields.text(128), example="YW-0007"),
    Column("name", ("姓名",), fields.text(128), example="张伟"),
    Column(
        "card_numbers",
        ("卡号", "门禁卡号", "card number", "cards"),
        fields.text_list(CARD_SEPARATORS),
        default=(),
        type_doc="list: several separated by 、 , ， ; ； / or spaces (empty = none)",
        example="3005120417、3005120418",
    ),
    Column("role", ("岗位", "角色"), fields.text(128), example="驻场工程师"),
    Column("employer", ("单位", "所属单位", "公司"), fields.text(256), example="某某信息技术有限公司"),
    Column(
        "active_from", ("入职日期", "在岗开始"), fields.date_value(), type_doc="date", example="2025-03-01"
    ),
    Column(
        "active_to",
        ("离职日期", "在岗结束"),
        fields.date_value(),
        required=False,
        type_doc="date, on or after active_from (empty = still on site)",
        example="",
    ),
    Column(
        "certificates",
        ("资质", "证书", "资质证书"),
        certificates,
        default=(),
        type_doc="list: NAME:EXPIRY entries separated by ; ； 、 , ， (expiry optional; empty = none)",
        example="CISP:2027-06-30; 等保测评师:2026-12-31",
    ),
)


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~3 µs a row
class StaffRecord:
    person_id: str
    name: str
    card_numbers: list[str]
    role: str
    employer: str
    active_from: date
    active_to: date | None
    certificates: list[dict[str, Any]]


def build(values: dict[str, Any], _ctx: ParseContext) -> StaffRecord:
    start, end = values["active_from"], values["active_to"]
    if end is not None and end < start:
        raise CellError(
            f"离职日期 {end} 早于入职日期 {start}",
            f"active_to {end} is before active_from {start}",
            column="active_to",
        )
    return StaffRecord(
        **{
            **values,
            "card_numbers": list(values["card_numbers"]),
            "certificates": list(values["certificates"]),
        }
    )


KIND = RecordKind(
    name="staff",
    title_zh="驻场人员名册",
    title_en="staff registry",
    columns=COLUMNS,
    record_type=StaffRecord,
    build=build,
    table=StaffMember,
    write_mode="upsert",
    key=("person_id",),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
