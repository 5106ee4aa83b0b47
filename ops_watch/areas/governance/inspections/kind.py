"""inspection: the center's own inspection records (检查记录, R7); upsert by (date, area): a corrected sheet
dropped later wins.

The area is checked against the contract's `[inspections] areas` (its key, Chinese or English name, or an
alias), so the kind needs the contract. A result of 合格 with problems written down, or 发现问题 without a
description, is refused with what to fix. With problems and no deadline, the deadline is the inspection day +
`rectify_days`. "无", "/" and the like in 发现问题 or a date column mean empty: forms are filled in that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from ops_watch.areas.governance.inspections.model import inspection_terms
from ops_watch.core.timeutil import utcnow
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, CellParser, Column, ParseContext, RecordKind, normalize_header
from ops_watch.polled import store_records
from ops_watch.store import Store
from ops_watch.store.schema import InspectionRecord

RESULTS = {
    "pass": "pass",
    "passed": "pass",
    "ok": "pass",
    "合格": "pass",
    "通过": "pass",
    "正常": "pass",
    "符合": "pass",
    "problems": "problems",
    "problem": "problems",
    "发现问题": "problems",
    "不合格": "problems",
    "问题": "problems",
    "有问题": "problems",
    "存在问题": "problems",
    "不符合": "problems",
    "无异常": "pass",
    "未见异常": "pass",
    "良好": "pass",
    "异常": "problems",
    "需整改": "problems",
    "待整改": "problems",
}
# What people write in a form's cell to say "nothing": the same as leaving it empty.
NOTHING = frozenset(
    normalize_header(t)
    for t in ("无", "没有", "无问题", "未发现问题", "/", "／", "-", "—", "——", "none", "n/a", "na")
)


def _nothing(value: Any) -> bool:
    return isinstance(value, str) and normalize_header(value) in NOTHING


def area_value() -> CellParser:
    def parse(value: Any, ctx: ParseContext) -> str:
        terms = inspection_terms(ctx.contract)
        area = terms.area(value)
        if area is None:
            raise CellError(
                f"未知的检查区域，可用：{terms.known('zh')}（或其别名，见 contract.toml [inspections] areas）",
                f"unknown area; use one of: {terms.known('en')} (or an alias from [inspections] areas in "
                "contract.toml)",
            )
        return area.key

    return parse


def problems_value() -> CellParser:
    text = fields.text(4000)

    def parse(value: Any, ctx: ParseContext) -> str:
        return "" if _nothing(value) else text(value, ctx)

    return parse


def optional_date() -> CellParser:
    parse_date = fields.date_value()

    def parse(value: Any, ctx: ParseContext) -> date | None:
        return None if _nothing(value) else parse_date(value, ctx)

    return parse


COLUMNS = (
    Column(
        "day",
        (
            "date",
            "检查日期",
            "日期",
            "检查时间",
            "巡查日期",
            "抽查日期",
            "巡检日期",
            "巡检时间",
            "检查日期时间",
        ),
        fields.date_value(),
        type_doc="date",
        example="2026-11-05",
    ),
    Column(
        "area",
        (
            "检查区域",
            "检查内容",
            "检查项目",
            "检查范围",
            "检查对象",
            "巡检区域",
            "检查部位",
            "巡检内容",
        ),
        area_value(),
        type_doc="an area of [inspections] areas: its key (site, records, continuity), Chinese name "
        "(机房现场, 运维记录, 备份与演练证据) or an alias",
        example="机房现场",
    ),
    Column(
        "inspector",
        (
            "检查人",
            "检查人员",
            "巡查人",
            "检查人姓名",
            "巡检人",
            "巡检人员",
            "检查负责人",
        ),
        fields.text(128),
        example="李科长",
    ),
    Column(
        "result",
        (
            "检查结果",
            "结果",
            "检查结论",
            "结论",
            "巡检结果",
            "巡检结论",
        ),
        fields.choice(RESULTS),
        type_doc="`pass` (合格, 通过, 正常, 符合), `problems` (发现问题, 不合格, 问题, 有问题, 存在问题)",
        example="发现问题",
    ),
    Column(
        "problems",
        (
            "发现问题",
            "问题描述",
            "存在的问题",
            "存在问题",
            "问题",
            "问题说明",
            "问题清单",
            "发现的问题",
            "巡检发现问题",
        ),
        problems_value(),
        required=False,
        default="",
        type_doc="text, up to 4000; required with problems, empty with pass (无 and / count as empty)",
        example="11-04 夜班交接班表无接班人签字",
    ),
    Column(
        "rectify_by",
        (
            "整改期限",
            "整改时限",
            "rectify by",
            "整改截止日期",
            "要求整改日期",
            "整改截止时间",
            "限期整改日期",
            "要求完成日期",
        ),
        optional_date(),
        required=False,
        type_doc="date; empty with problems: the inspection day + rectify_days (default 7)",
        example="2026-11-12",
    ),
    Column(
        "rectified_on",
        (
            "整改完成日期",
            "整改日期",
            "rectified on",
            "完成整改日期",
            "整改完成时间",
            "实际整改日期",
            "实际完成日期",
            "整改完成时间点",
        ),
        optional_date(),
        required=False,
        type_doc="date; empty = not rectified yet",
        example="",
    ),
    Column(
        "note",
        (
            "备注",
            "说明",
            "备注说明",
            "其他",
        ),
        fields.text(2000),
        required=False,
        default="",
        example="",
    ),
)


@dataclass(slots=True)
class InspectionRow:
    day: date
    area: str
    inspector: str
    result: str
    problems: str
    rectify_by: date | None
    rectified_on: date | None
    note: str


def build(values: dict[str, Any], ctx: ParseContext) -> InspectionRow:
    row = InspectionRow(**values)
    if row.result == "pass":
        if row.problems:
            raise CellError(
                "检查结果为合格，却写了发现问题：有问题请把检查结果改为「发现问题」，没有问题请清空这一格",
                "the result is pass but problems are written: make the result problems, or empty this cell",
                column="problems",
            )
        if row.rectify_by is not None or row.rectified_on is not None:
            raise CellError(
                "检查结果为合格，却写了整改期限或整改完成日期：有问题请把检查结果改为「发现问题」并写明问题，否则清空",
                "the result is pass but a rectification date is given: make the result problems and describe "
                "them, or empty the dates",
                column="rectify_by" if row.rectify_by is not None else "rectified_on",
            )
        return row
    if not row.problems:
        raise CellError(
            "检查结果为发现问题，但没有写发现了什么问题：请在「发现问题」一栏写明",
            "the result is problems but no problem is described: describe it in the problems column",
            column="problems",
        )
    if row.rectify_by is None:
        row.rectify_by = row.day + timedelta(days=inspection_terms(ctx.contract).rectify_days)
    elif row.rectify_by < row.day:
        raise CellError(
            f"整改期限早于检查日期 {row.day.isoformat()}",
            f"the deadline is before the inspection ({row.day})",
            column="rectify_by",
        )
    if row.rectified_on is not None and row.rectified_on < row.day:
        raise CellError(
            f"整改完成日期早于检查日期 {row.day.isoformat()}",
            f"the rectification is dated before the inspection ({row.day})",
            column="rectified_on",
        )
    return row


KIND = RecordKind(
    name="inspection",
    title_zh="检查记录",
    title_en="inspection records",
    columns=COLUMNS,
    record_type=InspectionRow,
    build=build,
    table=InspectionRecord,
    write_mode="upsert",
    key=("day", "area"),
    time_column=None,
    needs_contract=True,
)

KINDS.add(KIND.name, KIND)


def save_record(store: Store, row: Any, source: str) -> bool:
    """Keep an inspection's result (an `InspectionRow` of kind.build), replacing the record of the same day and
    area; True when one was replaced. `ops-watch inspections record` and the console's form both use it. The
    record is a batch of its own (`source`: who entered it, and where), sealed in the evidence chain like a file
    of records; the record it replaces is taken over from its batch (trail/evidence.py, "superseded")."""
    now = utcnow()
    with store.session() as session:
        replaced = (
            session.scalar(
                select(InspectionRecord.id).where(
                    InspectionRecord.day == row.day, InspectionRecord.area == row.area
                )
            )
            is not None
        )
        store_records(session, KIND, source, [row], now, {"entered": source})
    return replaced
