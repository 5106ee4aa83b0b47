"""staff: the contractor's staff registry (驻场人员花名册). Upsert by person_id: the latest file wins.

Certificates are read where the registry puts them (docs/formats.md, "staff"):
- one cell with several entries: `CISP:2027-06-30; 电工证（有效期至 2028-03-31）、PMP` (separated by ; ； , ，
  、 / or line breaks; an entry is NAME, NAME:EXPIRY or NAME（有效期至 EXPIRY）);
- the expiry in a column of its own beside the names (证书有效期 / 有效期至): one date per name, in order;
- numbered pairs of columns (资质证书1 / 证书有效期1, 资质证书2 / 证书有效期2, … up to NUMBERED);
- one row per certificate: rows of one file naming the same person merge their certificates and cards
  (`merge`) instead of the later row replacing the earlier one; the later row gives the other fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, ParseContext, RecordKind
from ops_watch.store.schema import StaffMember

# Card numbers: 、 , ， ; ； / or spaces between them.
CARD_SEPARATORS = r"、,，;；/\s"
# Certificates: entries split at 、 , ， ; ； or line breaks, and at a / that is not inside a date (2027/06/30).
_CERT_ENTRIES = re.compile(r"[、,，;；\n\r]+|(?<!\d)/|/(?!\d)")
_CERT_NAME_DATE = re.compile(r"^(?P<name>.*?)\s*[:：]\s*(?P<expires>[^:：]*)$")
# NAME（有效期至 2027-06-30） / NAME(有效期：2027.06.30) / NAME（2027年6月30日到期）
_CERT_BRACKETED = re.compile(
    r"^(?P<name>.*?)\s*[（(]\s*(?:证书)?(?:有效期至|有效期|有效至|到期日期|到期日|到期|至|expires?|valid until)?"
    r"\s*[:：]?\s*(?P<expires>\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?)\s*(?:到期|止|前)?\s*[)）]$",
    re.IGNORECASE,
)
# Cells and expiries that mean "none" / "no expiry".
_NO_CERTIFICATE = frozenset({"无", "暂无", "无证", "未持证", "-", "—", "/", "none", "n/a"})
_NO_EXPIRY = frozenset({"长期", "长期有效", "永久", "永久有效", "无期限", "无", "-", "—"})
# Numbered certificate columns: 资质证书1 … 资质证书NUMBERED, each with its 证书有效期N.
NUMBERED = 6
_CERT_NAMES = ("资质证书", "证书", "资质", "证书名称", "持证情况", "certificate")
_EXPIRY_NAMES = (
    "证书有效期",
    "有效期至",
    "证书有效期至",
    "有效期",
    "证书到期日",
    "证书到期日期",
    "到期日期",
    "expiry",
)


def _expiry(name: str, text: str) -> str | None:
    """An expiry as written -> ISO date, None for 长期/永久 (no expiry); CellError naming the certificate."""
    text = text.strip()
    if not text or text.casefold() in _NO_EXPIRY:
        return None
    try:
        return fields.read_date(text).isoformat()  # 2027-06-30, 2027.6.30, 2027年6月30日, 20270630, ２０２７…
    except ValueError:
        raise CellError(
            f"证书「{name}」的有效期「{text}」不是日期（写法如 CISP:2027-06-30）",
            f"certificate {name!r}: expiry {text!r} is not a date (write e.g. CISP:2027-06-30)",
        ) from None


def certificates(value: Any, _ctx: ParseContext) -> list[dict[str, Any]]:
    """`CISP:2027-06-30; 等保测评师（有效期至 2026-12-31）/ PMP` -> [{name, expires (ISO date or None)}]."""
    out: list[dict[str, Any]] = []
    text = str(value).strip()
    if text.casefold() in _NO_CERTIFICATE:
        return out
    for entry in _CERT_ENTRIES.split(text):
        entry = entry.strip()
        if not entry or entry.casefold() in _NO_CERTIFICATE:
            continue
        m = _CERT_BRACKETED.match(entry) or _CERT_NAME_DATE.match(entry)
        name, expires_text = (m.group("name").strip(), m.group("expires").strip()) if m else (entry, "")
        if not name:
            raise CellError(f"证书「{entry}」缺少名称", f"certificate {entry!r} has no name")
        if len(name) > 128:
            raise CellError(f"证书名称「{name[:20]}…」过长", f"certificate name {name[:20]!r}… is too long")
        out.append({"name": name, "expires": _expiry(name, expires_text)})
    return out


def expiries(value: Any, _ctx: ParseContext) -> list[str | None]:
    """A column of expiry dates beside the names: one per certificate, in the same order (长期 = no expiry)."""
    if isinstance(value, date):  # an XLSX date cell (a datetime at midnight)
        return [value.date().isoformat() if isinstance(value, datetime) else value.isoformat()]
    return [_expiry("", part) for part in _CERT_ENTRIES.split(str(value)) if part.strip()]


def _with_expiries(
    certs: list[dict[str, Any]], dates: list[str | None], cert_column: str, expiry_column: str
) -> list[dict[str, Any]]:
    """Pair the names with the expiry column's dates, in order; an entry's own NAME:EXPIRY must agree."""
    if not dates:
        return certs
    if not certs:
        raise CellError(
            "填写了证书有效期，但没有证书名称",
            "an expiry is given but no certificate name",
            column=cert_column,
        )
    if len(dates) != len(certs):
        raise CellError(
            f"证书有 {len(certs)} 个，有效期有 {len(dates)} 个：请按证书顺序逐一填写有效期（或写成 名称:有效期）",
            f"{len(certs)} certificates but {len(dates)} expiry dates: give one per certificate, in order "
            "(or write NAME:EXPIRY)",
            column=expiry_column,
        )
    out = []
    for cert, expires in zip(certs, dates, strict=True):
        own = cert["expires"]
        if own is not None and expires is not None and own != expires:
            raise CellError(
                f"证书「{cert['name']}」的有效期写了两个不同的日期：{own} 和 {expires}",
                f"certificate {cert['name']!r} has two different expiry dates: {own} and {expires}",
                column=expiry_column,
            )
        out.append({"name": cert["name"], "expires": own or expires})
    return out


def _numbered(names: tuple[str, ...], n: int) -> tuple[str, ...]:
    return tuple(f"{name}{n}" for name in names)


COLUMNS = (
    Column(
        "person_id",
        (
            "工号",
            "人员编号",
            "person id",
            "员工编号",
            "编号",
            "员工号",
            "职工编号",
            "人员工号",
            "人员ID",
            "员工ID",
            "工作证号",
            "员工工号",
            "职工号",
            "人员编码",
            "employee id",
        ),
        fields.text(128),
        example="YW-0007",
    ),
    Column(
        "name",
        (
            "姓名",
            "人员姓名",
            "员工姓名",
            "名字",
            "人员名称",
            "员工名称",
            "用户姓名",
            "person name",
        ),
        fields.text(128),
        example="张伟",
    ),
    Column(
        "card_numbers",
        (
            "卡号",
            "门禁卡号",
            "card number",
            "cards",
            "门禁卡",
            "卡片号",
            "卡片编号",
            "IC卡号",
            "工卡号",
            "物理卡号",
            "卡片号码",
            "card no",
            "门禁卡号码",
        ),
        fields.text_list(CARD_SEPARATORS),
        required=False,
        default=(),
        type_doc="list: several separated by 、 , ， ; ； / or spaces (empty = none)",
        example="3005120417、3005120418",
    ),
    Column(
        "role",
        (
            "岗位",
            "角色",
            "职务",
            "岗位名称",
            "职位",
            "驻场岗位",
            "工作岗位",
            "职务名称",
            "position",
            "title",
        ),
        fields.text(128),
        required=False,
        default="",
        example="驻场工程师",
    ),
    Column(
        "employer",
        (
            "单位",
            "所属单位",
            "公司",
            "所属公司",
            "工作单位",
            "用人单位",
            "所在单位",
            "外包单位",
            "供应商",
            "服务单位",
            "company",
        ),
        fields.text(256),
        required=False,
        default="",
        example="某某信息技术有限公司",
    ),
    Column(
        "active_from",
        (
            "入职日期",
            "在岗开始",
            "入场日期",
            "到岗日期",
            "生效日期",
            "进场日期",
            "入职时间",
            "入场时间",
            "到岗时间",
            "进场时间",
            "上岗日期",
            "开始日期",
            "报到日期",
            "入岗日期",
        ),
        fields.date_value(),
        required=False,
        type_doc="date (empty = on site since before the records)",
        example="2025-03-01",
    ),
    Column(
        "active_to",
        (
            "离职日期",
            "在岗结束",
            "离场日期",
            "离岗日期",
            "失效日期",
            "退场日期",
            "离职时间",
            "离场时间",
            "离岗时间",
            "退场时间",
            "撤场日期",
            "结束日期",
            "离开日期",
            "下岗日期",
        ),
        fields.date_value(),
        required=False,
        type_doc="date, on or after active_from (empty = still on site)",
        example="",
    ),
    Column(
        "certificates",
        (*_CERT_NAMES[:4], "资质证书名称", "持证情况", "certificates", *_numbered(_CERT_NAMES, 1)),
        certificates,
        required=False,
        default=(),
        type_doc="list: NAME, NAME:EXPIRY or NAME（有效期至 EXPIRY） entries separated by ; ； 、 , ， / or "
        "line breaks (empty or 无 = none)",
        example="CISP:2027-06-30; 等保测评师:2026-12-31",
    ),
    Column(
        "certificate_expiry",
        (
            *_EXPIRY_NAMES[:-1],
            "证书有效期限",
            "资质有效期",
            "certificate expiry",
            *_numbered(_EXPIRY_NAMES, 1),
        ),
        expiries,
        required=False,
        default=(),
        type_doc="dates, one per certificate of the row in the same order (长期/永久 = no expiry)",
        example="2027-06-30",
    ),
    *(
        column
        for n in range(2, NUMBERED + 1)
        for column in (
            Column(
                f"certificates_{n}",
                _numbered(_CERT_NAMES, n),
                certificates,
                required=False,
                default=(),
                type_doc=f"like certificates: the registry's certificate column number {n}",
                example="",
            ),
            Column(
                f"certificate_expiry_{n}",
                _numbered(_EXPIRY_NAMES, n),
                expiries,
                required=False,
                default=(),
                type_doc=f"like certificate_expiry, for certificates_{n}",
                example="",
            ),
        )
    ),
)


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~3 µs a row
class StaffRecord:
    person_id: str
    name: str
    card_numbers: list[str]
    role: str
    employer: str
    active_from: date | None
    active_to: date | None
    certificates: list[dict[str, Any]]


def build(values: dict[str, Any], _ctx: ParseContext) -> StaffRecord:
    start, end = values["active_from"], values["active_to"]
    if start is not None and end is not None and end < start:
        raise CellError(
            f"离职日期 {end} 早于入职日期 {start}",
            f"active_to {end} is before active_from {start}",
            column="active_to",
        )
    certs = _with_expiries(
        list(values["certificates"]), list(values["certificate_expiry"]), "certificates", "certificate_expiry"
    )
    for n in range(2, NUMBERED + 1):
        certs += _with_expiries(
            list(values[f"certificates_{n}"]),
            list(values[f"certificate_expiry_{n}"]),
            f"certificates_{n}",
            f"certificate_expiry_{n}",
        )
    return StaffRecord(
        person_id=values["person_id"],
        name=values["name"],
        card_numbers=list(values["card_numbers"]),
        role=values["role"],
        employer=values["employer"],
        active_from=start,
        active_to=end,
        certificates=_distinct(certs),
    )


def _distinct(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def merge(earlier: StaffRecord, later: StaffRecord) -> StaffRecord:
    """Two rows of one file for the same person (a registry listing one certificate per row): the later row
    gives the person's fields, the certificates and cards of both are kept."""
    later.certificates = _distinct(earlier.certificates + later.certificates)
    later.card_numbers = _distinct(earlier.card_numbers + later.card_numbers)
    return later


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
    merge=merge,
)

KINDS.add(KIND.name, KIND)
