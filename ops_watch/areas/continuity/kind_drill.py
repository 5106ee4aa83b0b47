"""drill: recovery and emergency drills (演练记录). Upsert by (date, system, type): a corrected record wins.

`rto_minutes` and `rpo_minutes` are what the drill measured (recovery time, data lost); empty = not measured,
which the contract may require. `participants` lists names separated like a handover sheet's; `evidence`
names the supporting material (a report's file name, an archive number).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ops_watch.areas.staffing.kind_handover import ON_DUTY_SEPARATORS
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import Column, ParseContext, RecordKind
from ops_watch.store.schema import Drill

DRILL_TYPES = {
    "备份恢复": "restore",
    "备份恢复演练": "restore",
    "恢复演练": "restore",
    "restore": "restore",
    "应急演练": "emergency",
    "应急": "emergency",
    "emergency": "emergency",
    "切换演练": "failover",
    "切换": "failover",
    "容灾切换": "failover",
    "failover": "failover",
    "数据恢复": "restore",
    "数据恢复演练": "restore",
    "恢复测试": "restore",
    "备份恢复测试": "restore",
    "应急预案演练": "emergency",
    "应急响应演练": "emergency",
    "应急处置演练": "emergency",
    "灾备切换": "failover",
    "灾备切换演练": "failover",
    "主备切换": "failover",
    "主备切换演练": "failover",
    "容灾切换演练": "failover",
    # 容灾演练 alone is refused: a DR drill may be a switch-over or a restore, and the contract counts them apart.
}
RESULTS = {
    "成功": "pass",
    "通过": "pass",
    "pass": "pass",
    "passed": "pass",
    "失败": "fail",
    "未通过": "fail",
    "不通过": "fail",
    "fail": "fail",
    "failed": "fail",
    "合格": "pass",
    "达标": "pass",
    "succeeded": "pass",
    "success": "pass",
    "不合格": "fail",
    "未达标": "fail",
    "failure": "fail",
    # 部分成功 and 完成 are refused: a drill that only partly worked, or merely took place, passed nothing.
}

# How drill ledgers and drill plans name the system drilled (the plan's kind reads the same).
SYSTEM_ALIASES = (
    "系统",
    "业务系统",
    "演练系统",
    "系统名称",
    "演练对象",
    "涉及系统",
    "应用系统",
    "所属系统",
    "业务系统名称",
)

COLUMNS = (
    Column(
        "date",
        (
            "日期",
            "演练日期",
            "演练时间",
            "实施日期",
            "开展日期",
            "实施时间",
            "执行日期",
            "组织日期",
            "演练开始时间",
        ),
        fields.date_value(),
        type_doc="date",
        example="2026-09-18",
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
        type_doc="备份恢复/恢复演练/restore, 应急演练/emergency, 切换演练/容灾切换/failover",
        example="备份恢复",
    ),
    Column(
        "scenario",
        (
            "场景",
            "演练场景",
            "演练内容",
            "演练科目",
            "演练项目",
            "演练名称",
            "演练主题",
            "演练内容描述",
        ),
        fields.text(2000),
        required=False,
        default="",
        example="数据库误删恢复",
    ),
    Column(
        "result",
        (
            "结果",
            "演练结果",
            "演练结论",
            "结论",
            "评估结果",
            "演练评估",
            "演练效果",
        ),
        fields.choice(RESULTS),
        type_doc="成功/通过/pass, 失败/未通过/fail",
        example="成功",
    ),
    Column(
        "rto_minutes",
        (
            "恢复时间(分钟)",
            "恢复时间",
            "RTO",
            "rto (minutes)",
            "RTO(分钟)",
            "实际RTO(分钟)",
            "实际RTO",
            "恢复耗时(分钟)",
            "恢复耗时",
            "恢复时长(分钟)",
            "恢复时长",
            "RTO(min)",
        ),
        fields.minutes(),
        required=False,
        type_doc="minutes ≥ 0: 45, 45分钟, 1小时30分, 1.5h, 01:30:00 or 1:30 (hours:minutes); empty = not measured",
        example="95",
    ),
    Column(
        "rpo_minutes",
        (
            "数据丢失(分钟)",
            "数据丢失",
            "RPO",
            "rpo (minutes)",
            "RPO(分钟)",
            "实际RPO(分钟)",
            "实际RPO",
            "数据丢失时间(分钟)",
            "数据丢失时长(分钟)",
            "RPO(min)",
        ),
        fields.minutes(),
        required=False,
        type_doc="minutes ≥ 0, written as for rto_minutes; empty = not measured",
        example="15",
    ),
    Column(
        "participants",
        (
            "参与人员",
            "参演人员",
            "参加人员",
            "参与人",
            "演练人员",
            "参演人",
            "演练参与人员",
            "参与者",
        ),
        fields.text_list(ON_DUTY_SEPARATORS),
        required=False,
        default=(),
        type_doc="list: names separated by 、 , ， ; ； or / (empty = none recorded)",
        example="王建国、张伟、市大数据中心李科长",
    ),
    Column(
        "evidence",
        (
            "佐证材料",
            "证明材料",
            "附件",
            "演练报告",
            "佐证",
            "证明文件",
            "附件名称",
            "佐证资料",
            "证明资料",
        ),
        fields.text(2000),
        required=False,
        default="",
        type_doc="text: the material's file name or archive number (empty = none)",
        example="2026Q3恢复演练报告.pdf",
    ),
)


@dataclass(slots=True)
class DrillRecord:
    date: date
    system: str
    type: str
    scenario: str
    result: str
    rto_minutes: float | None
    rpo_minutes: float | None
    participants: list[str]
    evidence: str


def build(values: dict[str, Any], _ctx: ParseContext) -> DrillRecord:
    return DrillRecord(**{**values, "participants": list(values["participants"])})


KIND = RecordKind(
    name="drill",
    title_zh="演练记录",
    title_en="drill records",
    columns=COLUMNS,
    record_type=DrillRecord,
    build=build,
    table=Drill,
    write_mode="upsert",
    key=("date", "system", "type"),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
