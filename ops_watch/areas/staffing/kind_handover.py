"""handover: the handover sheet (交接班表), one row per shift; upsert by (date, shift): a corrected sheet wins.

`on_duty` lists names or staff ids separated by 、 , ， ; ； or /. `handover_time` is a time of day (08:00,
8:00, 08:00:00), taken on the row's date in the site zone, or a full date-time: a night shift handed over on
the next morning is written with the full date-time (2026-11-03 08:00), since a time of day alone would be
read on the shift's own date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, CellParser, Column, ParseContext, RecordKind
from ops_watch.store.schema import HandoverShift

ON_DUTY_SEPARATORS = r"、,，;；/"


def time_or_datetime() -> CellParser:
    """`08:00` / `8:00` / `08:00:00` -> a time of day; anything else must be a full date-time (aware UTC)."""

    def parse(value: Any, ctx: ParseContext) -> time | datetime:
        try:
            # 08:00, 8点, １７：３０, 下午5:30, 5:30 PM, an Excel time cell
            of_day = fields.read_time_of_day(value)
        except ValueError:
            of_day = None
        if of_day is not None:
            return of_day
        try:
            return fields.datetime_value()(value, ctx)
        except CellError:
            raise CellError(
                "不是时间（应为 08:00 或 2026-11-03 08:00 这样的写法）",
                "not a time (write e.g. 08:00 or 2026-11-03 08:00)",
            ) from None

    return parse


COLUMNS = (
    Column(
        "date",
        (
            "日期",
            "值班日期",
            "交接日期",
            "排班日期",
            "班次日期",
            "交班日期",
            "接班日期",
            "值班日",
        ),
        fields.date_value(),
        type_doc="date",
        example="2026-11-02",
    ),
    Column(
        "shift",
        (
            "班次",
            "班别",
            "班次名称",
            "值班班次",
            "班次类型",
            "值班类型",
        ),
        fields.text(64),
        example="白班",
    ),
    Column(
        "on_duty",
        (
            "值班人员",
            "值班人",
            "on duty",
            "当班人员",
            "在岗人员",
            "上班人员",
            "值班人员名单",
            "值班人员姓名",
            "当班人",
            "值守人员",
            "在岗人",
        ),
        fields.text_list(ON_DUTY_SEPARATORS),
        required=False,
        default=(),
        type_doc="list: names or staff ids separated by 、 , ， ; ； or / (empty = nobody listed)",
        example="张伟、YW-0008",
    ),
    Column(
        "handover_time",
        (
            "交接时间",
            "handover at",
            "交接班时间",
            "交班时间",
            "交接班时刻",
            "交班时刻",
            "接班时间",
            "交接时刻",
        ),
        time_or_datetime(),
        required=False,
        type_doc="time of day (08:00) on the row's date, site time, or a full date-time; empty = not recorded",
        example="08:00",
    ),
    Column(
        "handed_over_by",
        (
            "交班人",
            "handed over by",
            "交班人员",
            "交班人姓名",
            "交班者",
            "移交人",
        ),
        fields.text(128),
        required=False,
        default="",
        example="李强",
    ),
    Column(
        "taken_over_by",
        (
            "接班人",
            "taken over by",
            "接班人员",
            "接班人姓名",
            "接班者",
            "接收人",
        ),
        fields.text(128),
        required=False,
        default="",
        example="张伟",
    ),
    Column(
        "notes",
        (
            "备注",
            "说明",
            "交接事项",
            "交接内容",
            "情况说明",
            "交接说明",
            "remark",
        ),
        fields.text(4000),
        required=False,
        default="",
        example="UPS 巡检正常",
    ),
)


@dataclass(slots=True)
class HandoverRecord:
    date: date
    shift: str
    on_duty: list[str]
    handover_at: datetime | None
    handed_over_by: str
    taken_over_by: str
    notes: str


def build(values: dict[str, Any], ctx: ParseContext) -> HandoverRecord:
    when = values["handover_time"]
    if isinstance(when, time):
        when = datetime.combine(values["date"], when, tzinfo=ctx.zone).astimezone(UTC)
    return HandoverRecord(
        date=values["date"],
        shift=values["shift"],
        on_duty=list(values["on_duty"]),
        handover_at=when,
        handed_over_by=values["handed_over_by"],
        taken_over_by=values["taken_over_by"],
        notes=values["notes"],
    )


KIND = RecordKind(
    name="handover",
    title_zh="交接班表",
    title_en="handover sheets",
    columns=COLUMNS,
    record_type=HandoverRecord,
    build=build,
    table=HandoverShift,
    write_mode="upsert",
    key=("date", "shift"),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
