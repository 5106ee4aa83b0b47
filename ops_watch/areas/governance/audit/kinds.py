"""audit and audit_doc: audit materials handed in (审计材料报送, R6), from a register or as the document itself.

`audit` is the submission register (审计材料报送登记): one row per material handed in, with the material as
the contract's [audit] names it (key, Chinese or English name, or an alias; width and case do not matter), its
period (2026-10, 2026年10月, 2026-Q3, 2026年第三季度, 2026) and the submission time. An empty time is kept: it is
the gap the evaluators hit, and audit_time_unrecorded reports it. A time given as a date only (2026-11-04, or
an Excel date cell whose time is 00:00) is the end of that day, kept as date-only (ops_watch.areas.governance.audit.model). A row
replaces the stored one with the same material, period and document: a corrected register wins.

`audit_doc` takes the material's file itself, of any type (pdf, docx, xlsx...; it is not read): the
submission time is its arrival in the drop folder. The material is the first subfolder's name
(drop/audit_doc/月度安全审计报告/x.pdf), or else a material name in the file name; the period is the one the
file name gives (2026-10, 2026年10月, 202610, 2026Q3, 2026年第三季度, 2026年度), or else the latest period that
ended before the file arrived. A file whose material cannot be told is refused, saying how to name the folder.
The same material, period and file name twice keeps the first arrival: the first submission is what counts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from ops_watch.areas.governance.audit.model import (
    CADENCE_ZH,
    AuditMaterial,
    AuditSection,
    audit_terms,
    date_only_time,
    materials_named_in,
    parse_period,
    period_for,
    resolve_material,
)
from ops_watch.areas.money.budget.kind_explanation import period_of
from ops_watch.core.timeutil import as_utc, parse_date, parse_datetime
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, Document, ParseContext, RecordKind, build_record
from ops_watch.store.schema import AuditSubmission


@dataclass(slots=True)
class AuditSubmissionRecord:
    item: str  # the material's key
    period: str  # 2026-10 | 2026-Q3 | 2026
    submitted_at: datetime | None
    submitted_by: str
    document: str
    source: str  # register | drop
    sha256: str


def _terms(ctx: ParseContext) -> AuditSection:
    try:
        return audit_terms(ctx.contract)
    except ValidationError as exc:  # the rules loader validates the section; this is a second line
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise CellError(
            f"contract.toml 的 [audit] 有错误（修正后重新投递）：{detail}",
            f"[audit] in contract.toml is invalid (fix it and drop the file again): {detail}",
        ) from None


def _unknown(terms: AuditSection, text: str) -> CellError:
    if not terms.materials:
        return CellError(
            f"无法核对「{text}」：{terms.known_text('zh')}",
            f"cannot check {text!r}: {terms.known_text('en')}",
        )
    return CellError(
        f"未知的审计材料「{text}」；合同列出的材料：{terms.known_text('zh')}（可写编号、中文名、英文名或别名）",
        f"unknown audit material {text!r}; the contract lists: {terms.known_text('en')} (write the key, "
        f"the Chinese or English name, or an alias)",
    )


# --- the register ------------------------------------------------------------------------------------


def material_item(value: Any, ctx: ParseContext) -> str:
    text = unicodedata.normalize(
        "NFKC", str(int(value) if isinstance(value, float) and value.is_integer() else value)
    ).strip()
    terms = _terms(ctx)
    material = resolve_material(terms, text)
    if material is None:
        raise _unknown(terms, text)
    return material.key


_DATE_ONLY = (
    re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$"),
    re.compile(r"^\d{8}$"),
    re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$"),
)
_NOT_A_TIME = (
    "不是时间（应为 2026-11-04 16:30 这样的写法；只写日期按当天结束计，并标注为“仅日期”）",
    "not a time (write e.g. 2026-11-04 16:30; a date alone counts as the end of that day, marked date-only)",
)


def submission_time(value: Any, ctx: ParseContext) -> datetime:
    """A submission time; a date without a time is the end of that day (marked date-only)."""
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == time():  # an Excel date cell
            return date_only_time(value.date(), ctx.zone)
        return as_utc(value, ctx.zone)
    if isinstance(value, date):
        return date_only_time(value, ctx.zone)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 20261104 typed into a number cell
    text = unicodedata.normalize("NFKC", str(value)).strip()
    compact = "".join(text.split())
    try:
        if any(p.match(compact) for p in _DATE_ONLY):
            return date_only_time(parse_date(compact), ctx.zone)
        return parse_datetime(text, ctx.zone)
    except ValueError:
        pass
    try:  # 2026年11月4日 16时30分, 2026/11/4 下午4:30, 2026.11.04, an Excel serial (fields.read_datetime)
        written, timed = fields.read_datetime(value)
    except fields.Ambiguous:
        raise fields.ambiguous_date(text) from None
    except ValueError:
        raise CellError(*_NOT_A_TIME) from None
    return as_utc(written, ctx.zone) if timed else date_only_time(written.date(), ctx.zone)


def _period(value: Any, ctx: ParseContext) -> str:
    return period_of(value)


COLUMNS = (
    Column(
        "item",
        (
            "材料",
            "报送事项",
            "材料名称",
            "审计材料",
            "报送材料",
            "资料名称",
            "材料类型",
            "材料名",
            "报送内容",
        ),
        material_item,
        type_doc="a material of the contract's [audit]: its key, Chinese or English name, or an alias",
        example="月度安全审计报告",
    ),
    Column(
        "period",
        (
            "期间",
            "所属期间",
            "报送期间",
            "材料期间",
            "统计期间",
            "报送周期",
            "所属周期",
        ),
        _period,
        type_doc="the material's period: a month 2026-10 (2026年10月), a quarter 2026-Q3 (2026年第三季度) or "
        "a year 2026; it must fit the material's cadence",
        example="2026-10",
    ),
    Column(
        "submitted_at",
        (
            "报送时间",
            "提交时间",
            "submitted at",
            "上报时间",
            "报送日期",
            "提交日期",
            "上报日期",
            "报送日期时间",
            "提交日期时间",
            "上传时间",
            "上传日期",
        ),
        submission_time,
        required=False,
        type_doc="time (site time unless it has a zone); empty = no time recorded (a finding); a date "
        "alone = the end of that day, marked date-only",
        example="2026-11-04 16:30",
    ),
    Column(
        "submitted_by",
        (
            "报送人",
            "提交人",
            "submitted by",
            "上报人",
            "经办人",
            "填报人",
            "上传人",
            "报送人员",
        ),
        fields.text(128),
        required=False,
        default="",
        example="王工",
    ),
    Column(
        "document",
        (
            "文件",
            "文件名",
            "材料文件",
            "文件名称",
            "附件",
            "附件名称",
            "附件文件",
            "上传文件",
        ),
        fields.text(512),
        required=False,
        default="",
        example="2026年10月安全审计报告.pdf",
    ),
)


def build(values: dict[str, Any], ctx: ParseContext) -> AuditSubmissionRecord:
    terms = _terms(ctx)
    material = terms.get(values["item"])
    assert material is not None  # material_item resolved it against the same terms
    period = parse_period(values["period"])
    if period.cadence != material.cadence:
        raise CellError(
            f"期间 {period.key} 不符合「{material.name_zh}」的报送周期（{CADENCE_ZH[material.cadence]}，"
            f"例如 {_sample(material)}）",
            f"period {period.key} does not fit {material.key}, which is {material.cadence} "
            f"(e.g. {_sample(material)})",
            column="period",
        )
    return AuditSubmissionRecord(
        item=material.key,
        period=period.key,
        submitted_at=values["submitted_at"],
        submitted_by=values["submitted_by"],
        document=values["document"],
        source="register",
        sha256="",
    )


def _sample(material: AuditMaterial) -> str:
    return {"monthly": "2026-10", "quarterly": "2026-Q3", "yearly": "2026"}[material.cadence]


KIND = RecordKind(
    name="audit",
    title_zh="审计材料报送登记",
    title_en="audit material submissions",
    columns=COLUMNS,
    record_type=AuditSubmissionRecord,
    build=build,
    table=AuditSubmission,
    write_mode="upsert",
    key=("item", "period", "document"),
    time_column=None,
    needs_contract=True,
)


# --- the document itself -----------------------------------------------------------------------------

# Full dates in a file name are submission or version dates, not periods: taken out first.
_DATES = (
    re.compile(r"(?<!\d)20\d{2}[-_.]\d{1,2}[-_.]\d{1,2}(?!\d)"),
    re.compile(r"(?<!\d)20\d{6}(?!\d)"),
    re.compile(r"(?<!\d)20\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"),
)
_MONTHS = (
    re.compile(r"(?<!\d)(20\d{2})\s*年\s*(0?[1-9]|1[0-2])\s*月"),  # 2026年10月
    re.compile(r"(?<!\d)(20\d{2})[-_.](0?[1-9]|1[0-2])(?![-_.]?\d)"),  # 2026-10, 2026_10, 2026.10
    re.compile(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(?!\d)"),  # 202610
)
_CHINESE_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4}
_QUARTERS = (
    re.compile(r"(?<!\d)(20\d{2})\s*[-_.]?\s*q([1-4])(?!\d)", re.IGNORECASE),  # 2026Q3, 2026-Q3
    re.compile(r"(?<!\d)(20\d{2})\s*年?\s*度?\s*第?\s*([1-4一二三四])\s*季"),  # 2026年第三季度, 2026年3季度
)
_YEARS = (re.compile(r"(?<!\d)(20\d{2})\s*年\s*度?"),)  # 2026年度, 2026年 (what is left after the above)
_BARE_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def _take(text: str, patterns: tuple[re.Pattern[str], ...], key: Any) -> tuple[str, set[str]]:
    """The period keys `patterns` find in `text`, and the text with what they matched blanked out."""
    found: set[str] = set()
    for pattern in patterns:
        for m in pattern.finditer(text):
            found.add(key(m))
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text, found


def periods_in_name(name: str) -> dict[str, set[str]]:
    """The periods a file name gives, by cadence: {"monthly": {"2026-10"}, ...}. "bare" holds four-digit years
    written without 年 (2026), which only a yearly material takes as its period."""
    text = unicodedata.normalize("NFKC", name)
    for pattern in _DATES:
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    text, months = _take(text, _MONTHS, lambda m: f"{m[1]}-{int(m[2]):02d}")
    text, quarters = _take(text, _QUARTERS, lambda m: f"{m[1]}-Q{_CHINESE_QUARTER.get(m[2]) or int(m[2])}")
    text, years = _take(text, _YEARS, lambda m: m[1])
    bare = {m[1] for m in _BARE_YEAR.finditer(text)}
    return {"monthly": months, "quarterly": quarters, "yearly": years, "bare": bare}


def period_from_name(name: str, material: AuditMaterial) -> str | None:
    """The period of `material` the file name gives; None when it gives none; CellError when it gives several
    or one of another cadence."""
    found = periods_in_name(name)
    own = set(found[material.cadence])
    if material.cadence == "yearly" and not own and not (found["monthly"] or found["quarterly"]):
        own = found["bare"]
    if len(own) == 1:
        return own.pop()
    if len(own) > 1:
        listed = "、".join(sorted(own))
        raise CellError(
            f"文件名「{name}」含多个期间（{listed}），无法判断属于哪一期：每期材料单独一个文件，文件名只写一个期间",
            f"the file name {name!r} gives several periods ({', '.join(sorted(own))}): one file per period, "
            f"naming one period",
        )
    others = sorted(found["monthly"] | found["quarterly"] | found["yearly"])
    if others:
        raise CellError(
            f"文件名「{name}」中的期间 {'、'.join(others)} 不符合「{material.name_zh}」的报送周期"
            f"（{CADENCE_ZH[material.cadence]}，例如 {_sample(material)}）：请在文件名中写明正确的期间",
            f"the period {', '.join(others)} in the file name {name!r} does not fit {material.key}, which is "
            f"{material.cadence} (e.g. {_sample(material)}): name the right period in the file name",
        )
    return None


def _material_of(doc: Document, terms: AuditSection) -> AuditMaterial:
    folder = doc.folders[0] if doc.folders else ""
    material = resolve_material(terms, folder) if folder else None
    if material is not None:
        return material
    named = materials_named_in(terms, doc.path.name)
    if len(named) == 1:
        return named[0]
    how_zh = (
        "请把文件放进以材料命名的文件夹，例如 drop/audit_doc/"
        f"{terms.materials[0].name_zh if terms.materials else '月度安全审计报告'}/，或在文件名中写明材料名称"
    )
    how_en = (
        "put the file in a folder named after the material, e.g. drop/audit_doc/"
        f"{terms.materials[0].key if terms.materials else 'security_audit_monthly'}/, or name the material "
        f"in the file name"
    )
    if len(named) > 1:
        listed_zh = "、".join(m.name_zh for m in named)
        raise CellError(
            f"文件名「{doc.path.name}」同时含多种材料的名称（{listed_zh}），无法判断是哪一种：{how_zh}",
            f"the file name {doc.path.name!r} names several materials ({', '.join(m.key for m in named)}): "
            f"{how_en}",
        )
    where_zh = f"文件夹「{folder}」和文件名" if folder else "文件名"
    where_en = f"neither the folder {folder!r} nor the file name" if folder else "the file name does not"
    if not terms.materials:
        raise CellError(
            f"无法确定「{doc.path.name}」是哪种审计材料：{terms.known_text('zh')}",
            f"cannot tell which audit material {doc.path.name!r} is: {terms.known_text('en')}",
        )
    raise CellError(
        f"{where_zh}都没有写明是哪种审计材料；合同列出的材料：{terms.known_text('zh')}。{how_zh}",
        f"{where_en} name{'s' if folder else ''} an audit material; the contract lists: "
        f"{terms.known_text('en')}. To fix: {how_en}",
    )


def read_document(doc: Document, ctx: ParseContext) -> list[AuditSubmissionRecord]:
    terms = _terms(ctx)
    material = _material_of(doc, terms)
    period = period_from_name(doc.path.name, material)
    if period is None:
        # The latest period that ended before the file arrived (site days).
        arrived = doc.arrived_at.astimezone(ctx.zone).date()
        current = period_for(material.cadence, arrived)
        period = period_for(material.cadence, current.first - timedelta(days=1)).key
    return [
        AuditSubmissionRecord(
            item=material.key,
            period=period,
            submitted_at=doc.arrived_at,
            submitted_by="",
            document=doc.path.name[:512],
            source="drop",
            sha256=doc.sha256,
        )
    ]


DOC_KIND = RecordKind(
    name="audit_doc",
    title_zh="审计材料文件",
    title_en="audit material documents",
    columns=(),
    record_type=AuditSubmissionRecord,
    build=build_record(AuditSubmissionRecord),
    table=AuditSubmission,
    # The first arrival of a file is its submission: the same material, period and name again is ignored.
    write_mode="append",
    key=("item", "period", "document"),
    time_column=None,
    read_document=read_document,
    needs_contract=True,
)

KINDS.add(KIND.name, KIND)
KINDS.add(DOC_KIND.name, DOC_KIND)
