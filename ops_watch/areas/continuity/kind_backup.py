"""backup: runs of backup jobs (备份作业记录), appended; one run is stored once.

A run is identified by its system, job and start time (`dedupe_key`): a console export dropped twice, or
overlapping exports, store each run once; a run reported again with another status (a re-export after the
job finished) keeps the first. Times without an offset are site time. A run that finished before it started
is refused.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import (
    FAST_CHOICE,
    CellError,
    CellParser,
    Column,
    ParseContext,
    RecordKind,
    fast_path,
    normalize_header,
)
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
    # Consoles' other words (Veeam, NetBackup, Commvault, 爱数, 鼎甲 in Chinese and English). A run cancelled or
    # timed out made no backup: it ran and did not succeed, as a failure does.
    "已完成": "success",
    "成功完成": "success",
    "正常": "success",
    "completed": "success",
    "complete": "success",
    "successful": "success",
    "异常": "failed",
    "错误": "failed",
    "出错": "failed",
    "超时": "failed",
    "已超时": "failed",
    "timeout": "failed",
    "timed out": "failed",
    "取消": "failed",
    "已取消": "failed",
    "中止": "failed",
    "已中止": "failed",
    "中断": "failed",
    "cancelled": "failed",
    "canceled": "failed",
    "aborted": "failed",
    "fail": "failed",
    "部分完成": "partial",
    "完成(有警告)": "partial",
    "成功(有警告)": "partial",
    "completed with warnings": "partial",
    "success with warnings": "partial",
    "warn": "partial",
}
# A run still going has no result yet: its row is refused with that reason, and a later export records it.
RUNNING = frozenset(
    normalize_header(w)
    for w in (
        "运行中",
        "进行中",
        "执行中",
        "备份中",
        "排队中",
        "等待中",
        "等待",
        "running",
        "in progress",
        "queued",
    )
)


def status() -> CellParser:
    """STATUSES' words (case, width and spaces ignored); a run still going is refused saying so."""
    known = fields.choice(STATUSES)

    def parse(value: Any, ctx: ParseContext) -> str:
        try:
            return str(known(value, ctx))
        except CellError as exc:
            if normalize_header(value) in RUNNING:
                raise CellError(
                    f"作业「{value}」尚未结束，没有结果：结束后的导出会记下它。{exc.problem.zh}",
                    f"the run is still going ({value!r}), it has no result yet: a later export records it. "
                    f"{exc.problem.en}",
                ) from None
            raise

    return fast_path(parse, FAST_CHOICE, dict(STATUSES))


@dataclass(frozen=True)
class Unitless:
    """A duration cell holding a bare number: its unit is unknown."""

    written: str
    number: float


_MINUTES = fields.minutes()


def duration(value: Any, ctx: ParseContext) -> float | Unitless:
    """Minutes (fields.read_minutes); a bare number from a text cell has no unit: seconds or minutes?"""
    if isinstance(value, str):
        text = "".join(unicodedata.normalize("NFKC", value).split())
        try:
            return Unitless(text, float(text))
        except ValueError:
            pass
    return float(_MINUTES(value, ctx))


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
            "主机名",
            "主机名称",
            "服务器",
            "服务器名称",
            "备份主机",
            "数据源",
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
            "作业名",
            "任务名",
            "备份任务名称",
            "备份计划",
            "计划名称",
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
            "启动时间",
            "备份时间",
            "执行时间",
            "开始日期时间",
            "start date",
            "start at",
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
            "结束日期时间",
            "终止时间",
            "完结时间",
            "end date",
            "completed at",
            "finish time",
        ),
        fields.datetime_value(),
        required=False,
        type_doc="time, not before started; empty = not recorded",
        example="2026-11-02 01:42:10",
    ),
    Column(
        "status",
        (
            "状态",
            "结果",
            "备份结果",
            "备份状态",
            "任务状态",
            "作业状态",
            "执行结果",
            "执行状态",
            "result",
            "job status",
            "运行结果",
            "作业结果",
            "任务结果",
            "任务执行结果",
        ),
        status(),
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
            "备份大小",
            "数据大小",
            "传输量",
            "backup size",
            "data size",
            "容量(GB)",
        ),
        fields.gigabytes(),
        required=False,
        type_doc="number of GB ≥ 0 (`182.5`, `1,024`, `182.5GB`, `2TB` = 2048, `512MB` = 0.5); empty = not recorded",
        example="182.5",
    ),
    Column(
        "duration",
        ("耗时", "用时", "持续时间", "执行时长", "运行时长", "备份耗时", "时长", "elapsed", "elapsed time"),
        duration,
        required=False,
        type_doc="how long the run took: `01:30:00`, `1:30`, `1小时30分`, `90分钟`, `1.5h`, `5400秒`; "
        "gives finished when that is empty (a bare number, with no unit, is refused then)",
        example="00:42:10",
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
    took = values.pop("duration")
    started, finished = values["started"], values["finished"]
    if finished is None and took is not None:
        if isinstance(took, Unitless):
            raise CellError(
                f"耗时「{took.written}」没有单位（秒？分钟？），且没有结束时间：请写成 01:30:00、90分钟 或 5400秒",
                f"duration {took.written!r} has no unit (seconds? minutes?) and there is no end time: "
                "write 01:30:00, 90分钟 or 5400秒",
                column="duration",
            )
        finished = values["finished"] = started + timedelta(minutes=took)
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
