"""explanation: the center's register of why a cost indicator deviated (偏差说明); upsert by (indicator,
period): a revised explanation wins.

`period` is a year (2026), a quarter (2026-Q3) or a month (2026-10), in whatever way the register writes it
(2026年, 2026年第三季度, 2026年10月, an Excel date cell); it is stored in that canonical form, the form
cost_deviation_unexplained looks it up by. `indicator` is kept as written: it must name the indicator as the
contract's cost indicators do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ops_watch.areas.money.billing.kind import month_of
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, CellParser, Column, ParseContext, RecordKind
from ops_watch.store.schema import IndicatorExplanation

_YEAR = re.compile(r"^(\d{4})(?:年度?)?$")
_QUARTER = re.compile(r"^(\d{4})[-/]?q([1-4])$")  # casefolded: 2026-Q3, 2026Q3, 2026/q3
_QUARTER_ZH = re.compile(r"^(\d{4})年?度?第?([1-4一二三四])季度?$")  # 2026年第三季度, 2026年3季度, 2026第3季
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
_NOT_A_PERIOD = (
    "不是期间（应为 2026、2026-Q3、2026年第三季度、2026-10 或 2026年10月 这样的写法）",
    "not a period (write a year 2026, a quarter 2026-Q3 or a month 2026-10)",
)


def period_of(value: Any) -> str:
    """A period cell -> "2026", "2026-Q3" or "2026-10"."""
    if isinstance(value, datetime | date):
        return month_of(value)
    if isinstance(value, bool):
        raise CellError(*_NOT_A_PERIOD)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value))  # 2026 typed into a number cell
    if not isinstance(value, str):
        return month_of(value)  # refuses 2026.1 with the reason
    text = "".join(unicodedata.normalize("NFKC", value).split()).casefold()
    m = _YEAR.match(text)
    if m:
        return m.group(1)
    m = _QUARTER.match(text) or _QUARTER_ZH.match(text)
    if m:
        quarter = _CHINESE_DIGITS.get(m.group(2)) or int(m.group(2))
        return f"{m.group(1)}-Q{quarter}"
    try:
        return month_of(text)
    except CellError:
        raise CellError(*_NOT_A_PERIOD) from None


def period_value() -> CellParser:
    def parse(value: Any, _ctx: ParseContext) -> str:
        return period_of(value)

    return parse


COLUMNS = (
    Column(
        "indicator",
        (
            "指标",
            "指标名称",
            "成本指标",
            "考核指标",
            "指标项",
            "指标名",
            "成本指标名称",
        ),
        fields.text(256),
        example="运维服务费",
    ),
    Column(
        "period",
        (
            "期间",
            "统计期间",
            "所属期间",
            "考核期间",
            "周期",
            "所属周期",
            "考核周期",
        ),
        period_value(),
        type_doc="a year 2026 (2026年), a quarter 2026-Q3 (2026Q3, 2026年第三季度) or a month 2026-10 "
        "(2026/10, 2026年10月, an Excel date cell)",
        example="2026-Q3",
    ),
    Column(
        "explanation",
        (
            "说明",
            "原因",
            "偏差原因",
            "偏差说明",
            "情况说明",
            "原因说明",
            "原因分析",
            "偏差分析",
            "偏差情况说明",
            "说明内容",
        ),
        fields.text(4000),
        example="年中预算收回1021万元，第三季度结算顺延",
    ),
    Column(
        "recorded_by",
        (
            "记录人",
            "填报人",
            "recorded by",
            "经办人",
            "登记人",
            "说明人",
            "填写人",
            "记录者",
        ),
        fields.text(128),
        required=False,
        default="",
        example="李科长",
    ),
    Column(
        "recorded_on",
        (
            "记录日期",
            "填报日期",
            "recorded on",
            "登记日期",
            "填写日期",
            "说明日期",
            "填写时间",
            "登记时间",
        ),
        fields.date_value(),
        required=False,
        type_doc="date; empty = not recorded",
        example="2026-10-12",
    ),
)


@dataclass(slots=True)
class ExplanationRecord:
    indicator: str
    period: str
    explanation: str
    recorded_by: str
    recorded_on: date | None


def build(values: dict[str, Any], _ctx: ParseContext) -> ExplanationRecord:
    return ExplanationRecord(**values)


KIND = RecordKind(
    name="explanation",
    title_zh="偏差说明",
    title_en="indicator explanations",
    columns=COLUMNS,
    record_type=ExplanationRecord,
    build=build,
    table=IndicatorExplanation,
    write_mode="upsert",
    key=("indicator", "period"),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
