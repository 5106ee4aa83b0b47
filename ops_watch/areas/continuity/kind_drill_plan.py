"""drill_plan: the drills the contractor announced (演练计划). Upsert by (date, system, type)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ops_watch.areas.continuity.kind_drill import DRILL_TYPES, SYSTEM_ALIASES
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import Column, ParseContext, RecordKind
from ops_watch.store.schema import DrillPlan

COLUMNS = (
    Column(
        "date",
        (
            "日期",
            "计划日期",
            "演练日期",
            "计划演练日期",
            "计划时间",
            "预计日期",
            "安排日期",
            "演练时间",
            "计划开始日期",
            "计划实施日期",
            "拟定日期",
            "planned date",
        ),
        fields.date_value(),
        type_doc="date",
        example="2026-12-10",
    ),
    Column(
        "system",
        SYSTEM_ALIASES,
        fields.text(256),
        example="警务综合平台",
    ),
    Column(
        "type",
        (
            "类型",
            "演练类型",
            "演练类别",
            "演练种类",
            "drill type",
        ),
        fields.choice(DRILL_TYPES),
        type_doc="as drill: restore, emergency, failover (or the Chinese names)",
        example="应急演练",
    ),
)


@dataclass(slots=True)
class DrillPlanRecord:
    date: date
    system: str
    type: str


def build(values: dict[str, Any], _ctx: ParseContext) -> DrillPlanRecord:
    return DrillPlanRecord(**values)


KIND = RecordKind(
    name="drill_plan",
    title_zh="演练计划",
    title_en="planned drills",
    columns=COLUMNS,
    record_type=DrillPlanRecord,
    build=build,
    table=DrillPlan,
    write_mode="upsert",
    key=("date", "system", "type"),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
