"""inventory: the allocated cloud resources (资源清单). Upsert by resource_id: the latest file wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import CellError, Column, ParseContext, RecordKind
from ops_watch.store.schema import InventoryResource

RESOURCE_TYPES = {
    "vm": "vm",
    "虚拟机": "vm",
    "云主机": "vm",
    "云服务器": "vm",
    "host": "host",
    "物理机": "host",
    "宿主机": "host",
    "裸金属": "host",
    "volume": "volume",
    "云硬盘": "volume",
    "存储卷": "volume",
    "块存储": "volume",
}

_GB = ("GB", "G")

# Which source measures a resource: with several enabled, each only tries the resources meant for it.
COLLECT_VIA = {
    "ssh": "ssh",
    "prometheus": "prometheus",
    "file": "file",
    "导入": "file",
    "none": "none",
    "不采集": "none",
    "无": "none",
}

COLUMNS = (
    Column("resource_id", ("资源ID", "资源编号", "resource id"), fields.text(256), example="JWY-VM-0001"),
    Column("platform", ("云平台", "平台"), fields.text(128), example="警务云"),
    Column("tenant_unit", ("租户单位", "使用单位"), fields.text(256), example="刑侦支队"),
    Column(
        "type",
        ("类型", "资源类型"),
        fields.choice(RESOURCE_TYPES),
        type_doc="vm | host | volume (虚拟机/云主机/云服务器, 物理机/宿主机/裸金属, 云硬盘/存储卷/块存储)",
        example="虚拟机",
    ),
    Column(
        "vcpu",
        ("vCPU", "CPU核数", "vCPU(核)", "CPU(核)"),
        fields.integer(0, suffixes=("核", "C", "vCPU")),
        default=0,
        type_doc="whole number ≥ 0 (empty = 0)",
        example="8",
    ),
    Column(
        "memory_gb",
        ("内存(GB)", "内存", "内存(G)", "memory", "memory(GB)"),
        fields.number(0, suffixes=_GB),
        default=0.0,
        type_doc="number ≥ 0, GB (empty = 0)",
        example="16",
    ),
    Column(
        "storage_gb",
        ("存储(GB)", "存储", "存储(G)", "存储容量(GB)", "storage", "storage(GB)"),
        fields.number(0, suffixes=_GB),
        default=0.0,
        type_doc="number ≥ 0, GB (empty = 0)",
        example="500",
    ),
    Column(
        "backup_required",
        ("需备份", "是否备份", "backup required", "backup"),
        fields.boolean(),
        type_doc="是/否, yes/no, true/false, 1/0, Y/N",
        example="是",
    ),
    Column(
        "address",
        ("地址", "SSH地址", "IP", "IP地址"),
        fields.text(256),
        required=False,
        default="",
        example="10.12.3.41",
    ),
    Column(
        "collect_via",
        ("采集方式", "collect via", "source"),
        fields.choice(COLLECT_VIA),
        required=False,
        default="",
        type_doc="empty (any enabled source that can reach it) | ssh | prometheus | file (only dropped exports) "
        "| none (not measured); 不采集 = none",
        example="ssh",
    ),
    Column(
        "allocated_from",
        ("分配日期", "启用日期"),
        fields.date_value(),
        required=False,
        type_doc="date",
        example="2026-03-01",
    ),
    Column(
        "allocated_to",
        ("回收日期", "停用日期"),
        fields.date_value(),
        required=False,
        type_doc="date, on or after allocated_from",
        example="",
    ),
)


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~3 µs a row
class InventoryRecord:
    resource_id: str
    platform: str
    tenant_unit: str
    type: str
    vcpu: int
    memory_gb: float
    storage_gb: float
    backup_required: bool
    address: str
    collect_via: str
    allocated_from: date | None
    allocated_to: date | None


def build(values: dict[str, Any], _ctx: ParseContext) -> InventoryRecord:
    start, end = values["allocated_from"], values["allocated_to"]
    if start is not None and end is not None and end < start:
        raise CellError(
            f"回收日期 {end} 早于分配日期 {start}",
            f"allocated_to {end} is before allocated_from {start}",
            column="allocated_to",
        )
    return InventoryRecord(**values)


KIND = RecordKind(
    name="inventory",
    title_zh="资源清单",
    title_en="resource inventory",
    columns=COLUMNS,
    record_type=InventoryRecord,
    build=build,
    table=InventoryResource,
    write_mode="upsert",
    key=("resource_id",),
    time_column=None,
)

KINDS.add(KIND.name, KIND)
