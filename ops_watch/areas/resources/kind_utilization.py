"""utilization: samples exported from a cloud console (资源利用率), appended; (resource_id, at) twice is a duplicate.

The same table the collectors (local, SSH, Prometheus) write to: a console export dropped in the folder is
one more source of samples. CPU and memory in percent (0–100), storage in GB. A volume's row has no CPU or
memory; a row must carry at least one measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, CellParser, Column, ParseContext, RecordKind
from ops_watch.store.schema import UtilizationSample

SOURCE = "file"


def percent() -> CellParser:
    """A percentage 0–100; `12.5%` and `12.5` are the same. A fraction such as 0.125 is read as 0.125 %."""
    plain = fields.number(0, suffixes=("%", "％"))

    def parse(value: Any, ctx: ParseContext) -> float:
        out = plain(value, ctx)
        if out > 100:
            raise CellError("百分比应在 0 到 100 之间", "a percentage must be between 0 and 100")
        return out

    return parse


COLUMNS = (
    Column(
        "at",
        (
            "时间",
            "采集时间",
            "统计时间",
            "时间点",
            "time",
            "timestamp",
            "时间戳",
            "监控时间",
            "采样时间",
            "数据时间",
            "记录时间",
            "日期时间",
            "datetime",
            "日期",
            "统计日期",
            "采集时间点",
            "监控时间点",
            "date",
            "采样时间点",
        ),
        fields.datetime_value(),
        type_doc="time; without an offset it is site time",
        example="2026-11-02 08:00:00",
    ),
    Column(
        "resource_id",
        (
            "资源ID",
            "资源编号",
            "实例ID",
            "resource id",
            "instance id",
            "实例编号",
            "云主机ID",
            "虚拟机ID",
            "主机ID",
            "设备ID",
            "资源标识",
            "监控对象",
            "主机名",
            "主机名称",
            "hostname",
            "host",
            "IP地址",
            "IP",
            "实例",
            "instance",
            "设备编号",
            "资产编号",
            "资源",
        ),
        fields.text(256),
        example="JWY-VM-0001",
    ),
    Column(
        "cpu_pct",
        (
            "CPU使用率(%)",
            "CPU使用率",
            "CPU利用率(%)",
            "CPU利用率",
            "cpu",
            "cpu(%)",
            "cpu percent",
            "CPU平均使用率(%)",
            "CPU平均使用率",
            "CPU平均利用率(%)",
            "CPU平均利用率",
            "CPU占用率(%)",
            "CPU占用率",
            "cpu usage",
            "cpu usage(%)",
            "cpu util",
            "cpu utilization",
            "平均CPU使用率(%)",
            "平均CPU利用率(%)",
            "CPU使用率平均值",
            "CPU均值(%)",
            "CPU使用百分比",
        ),
        percent(),
        required=False,
        type_doc="number 0–100 (`%` allowed); empty = not measured",
        example="12.5",
    ),
    Column(
        "mem_pct",
        (
            "内存使用率(%)",
            "内存使用率",
            "内存利用率(%)",
            "内存利用率",
            "memory",
            "memory(%)",
            "mem",
            "memory percent",
            "内存平均使用率(%)",
            "内存平均使用率",
            "内存平均利用率(%)",
            "内存平均利用率",
            "内存占用率(%)",
            "内存占用率",
            "memory usage",
            "memory usage(%)",
            "mem usage",
            "memory utilization",
            "平均内存使用率(%)",
            "平均内存利用率(%)",
            "内存使用率平均值",
            "内存均值(%)",
            "内存使用百分比",
        ),
        percent(),
        required=False,
        type_doc="number 0–100 (`%` allowed); empty = not measured",
        example="41.0",
    ),
    Column(
        "storage_used_gb",
        (
            "存储已用(GB)",
            "存储已用",
            "存储使用量(GB)",
            "磁盘已用(GB)",
            "磁盘已用",
            "已用存储(GB)",
            "storage used",
            "storage used(GB)",
            "磁盘使用量(GB)",
            "磁盘使用量",
            "存储使用量",
            "已用容量(GB)",
            "已用容量",
            "已用空间(GB)",
            "已用空间",
            "硬盘已用(GB)",
            "disk used",
            "disk used(GB)",
            "已使用(GB)",
            "已使用容量(GB)",
            "使用量(GB)",
            "已用(GB)",
            "used(GB)",
        ),
        fields.gigabytes(),
        required=False,
        type_doc="number ≥ 0, GB (612.4, 612.4GB, 1.2TB = 1228.8, 512MB = 0.5); empty = not measured",
        example="612.4",
    ),
    Column(
        "storage_total_gb",
        (
            "存储总量(GB)",
            "存储总量",
            "存储容量总量(GB)",
            "磁盘总量(GB)",
            "磁盘总量",
            "storage total",
            "storage total(GB)",
            "磁盘容量(GB)",
            "磁盘总容量(GB)",
            "存储容量(GB)",
            "总容量(GB)",
            "总容量",
            "disk total",
            "disk total(GB)",
            "总大小(GB)",
            "容量(GB)",
            "总空间(GB)",
            "总量(GB)",
            "total(GB)",
        ),
        fields.gigabytes(),
        required=False,
        type_doc="number ≥ 0, GB (units as storage_used_gb), not below storage_used_gb; empty = not given",
        example="1024",
    ),
)


@dataclass(slots=True)
class UtilizationRecord:
    resource_id: str
    at: datetime
    cpu_pct: float | None
    mem_pct: float | None
    storage_used_gb: float | None
    storage_total_gb: float | None
    source: str


def build(values: dict[str, Any], _ctx: ParseContext) -> UtilizationRecord:
    cpu, mem, used, total = (
        values["cpu_pct"],
        values["mem_pct"],
        values["storage_used_gb"],
        values["storage_total_gb"],
    )
    if cpu is None and mem is None and used is None:
        raise CellError(
            "没有任何测量值：CPU使用率、内存使用率、存储已用(GB) 至少填一项",
            "no measurement: give at least one of cpu_pct, mem_pct, storage_used_gb",
        )
    if used is not None and total is not None and used > total * 1.001 + 1e-9:
        raise CellError(
            f"存储已用 {used:g} GB 大于存储总量 {total:g} GB",
            f"storage used {used:g} GB exceeds storage total {total:g} GB",
            column="storage_used_gb",
        )
    for value in (cpu, mem, used, total):
        if value is not None and not math.isfinite(value):  # pragma: no cover - the parsers refuse these
            raise CellError("不是有效数字", "not a finite number")
    return UtilizationRecord(values["resource_id"], values["at"], cpu, mem, used, total, SOURCE)


KIND = RecordKind(
    name="utilization",
    title_zh="资源利用率",
    title_en="utilization samples",
    columns=COLUMNS,
    record_type=UtilizationRecord,
    build=build,
    table=UtilizationSample,
    write_mode="append",
    key=("resource_id", "at"),
    time_column="at",
)

KINDS.add(KIND.name, KIND)
