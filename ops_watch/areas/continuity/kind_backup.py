"""backup: runs of backup jobs (备份作业记录), appended; one run is stored once.

A run is identified by its system, job and start time (`dedupe_key`): a console export dropped twice, or
overlapping exports, store each run once; a run reported again with another status (a re-export after the
job finished) keeps the first. Times without an offset are site time. A run that finished before it started
is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, ParseContext, RecordKind
from ops_watch.store.schema import BackupJob

STATUSES = {
    "成功": "success",
    "完成": "success",
    "success": "success",
    "succeeded": "success",
    "ok": "success",
    "失败": "failed",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
    "部分成功": "partial",
    "部分失败": "partial",
    "警告": "partial",
    "partial": "partial",
    "warning": "partial",
}

COLUMNS = (
    Column(
        "system",
        (
            "系统",
            "业务系统",
            "system name",
            "系统名称",
            "业务系统名称",
            "应用系统",
            "备份对象",
            "保护对象",
            "备份源",
            "客户端",
            "client",
        ),
        fields.text(256),
        example="警务综合平台",
    ),
    Column(
        "job",
        (
            "作业",
            "作业名称",
            "备份作业",
            "job name",
            "任务名称",
            "备份任务",
            "任务",
            "备份策略",
            "策略",
            "policy",
            "job",
            "task",
        ),
        fields.text(256),
        required=False,
        default="",
        example="每日全量",
    ),
    Column(
        "started",
        (
            "开始时间",
            "start",
            "start time",
            "备份开始时间",
            "起始时间",
            "任务开始时间",
            "作业开始时间",
            "开始",
            "started at",
        ),
        fields.datetime_value(),
        type_doc="time; without an offset it is site time",
        example="2026-11-02 01:00:00",
    ),
    Column(
        "finished",
        (
            "结束时间",
            "end",
            "end time",
            "备份结束时间",
            "完成时间",
            "任务结束时间",
            "作业结束时间",
            "结束",
            "finished at",
        ),
        fields.datetime_value(),
        required=False,
        type_doc="time, not before started; empty = not recorded",
        example="2026-11-02 01:42:10",
    ),
    Column(
        "status",
        ("状态", "结果", "备份结果", "备份状态", "任务状态", "作业状态", "执行结果", "执行状态", "result"),
        fields.choice(STATUSES),
        type_doc="成功/完成/success, 失败/failed, 部分成功/警告/partial",
        example="成功",
    ),
    Column(
        "size_gb",
        (
            "数据量(GB)",
            "数据量",
            "大小(GB)",
            "size",
            "size (GB)",
            "备份数据量(GB)",
            "备份大小(GB)",
            "备份量(GB)",
            "数据大小(GB)",
            "传输量(GB)",
            "备份数据量",
        ),
        fields.number(0, suffixes=("GB", "G")),
        required=False,
        type_doc="number of GB ≥ 0; empty = not recorded",
        example="182.5",
    ),
)


@dataclass(slots=True)
class BackupRecord:
    system: str
    job: str
    started: datetime
    finished: datetime | None
    status: str
    size_gb: float | None
    dedupe_key: str


def dedupe_key(system: str, job: str, started: datetime) -> str:
    """The identity of a run: which system, which job, when it started (UTC, to the second)."""
    return f"{system}|{job}|{started.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def build(values: dict[str, Any], _ctx: ParseContext) -> BackupRecord:
    started, finished = values["started"], values["finished"]
    if finished is not None and finished < started:
        raise CellError(
            "结束时间早于开始时间",
            "finished before it started",
            column="finished",
        )
    return BackupRecord(**values, dedupe_key=dedupe_key(values["system"], values["job"], started))


KIND = RecordKind(
    name="backup",
    title_zh="备份作业记录",
    title_en="backup jobs",
    columns=COLUMNS,
    record_type=BackupRecord,
    build=build,
    table=BackupJob,
    write_mode="append",
    key=("dedupe_key",),
    time_column="started",
)

KINDS.add(KIND.name, KIND)
