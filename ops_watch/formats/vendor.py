"""Vendors' JSON exports read as tables: a door system's event export becomes rows under the canonical header.

A vendor format (Hikvision AcsEvent search responses, ZKBioTime transaction pages) registers a
`VendorFormat`: `detect(document)` says whether a parsed JSON document is its shape, `rows(document, ctx)`
yields one `SourceRow` per event, numbered from 1 in the file's order (the report's "row 5" is the fifth
event), whose cells follow the kind's canonical header (`DOOR_HEADER` for door events). The cells then go
through the same column parsers as a CSV, so a vendor file and a CSV are held to the same rules.

An event a format cannot map (an unknown reader, a missing field) is a SourceRow with `fault` set: a row
error, never a silent drop. An event that is not a passage (Hikvision "door closed", say) is no row at all
and is counted in `ctx.detail["ignored_events"]` by reason, which the batch record keeps.

The live door sources use the same `rows` functions, so a polled event and an exported one are the same
record with the same dedupe key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ops_watch.core.registry import Registry
from ops_watch.formats.spec import Problem
from ops_watch.formats.tabular import SourceRow, Table, TableError, XlsxLimits, open_table

if TYPE_CHECKING:
    from ops_watch.config import Config

JSON_SUFFIXES = (".json",)
MAX_JSON_BYTES = 512 * 1024 * 1024  # a vendor export is read whole; more than this is refused, not swapped

# The canonical door-event header, in the names of ops_watch.areas.staffing.kind_door's columns.
DOOR_HEADER: tuple[str, ...] = (
    "time",
    "person_id",
    "name",
    "card_no",
    "door",
    "direction",
    "result",
    "device",
    "serial_no",
)

# The canonical backup-run header, in the names of ops_watch.areas.continuity.kind_backup's columns.
BACKUP_HEADER: tuple[str, ...] = ("system", "job", "started", "finished", "status", "size_gb")


@dataclass
class VendorContext:
    """What an adapter may need: the config (device mappings, site zone), the file's stem and the subfolders it
    was dropped in (drop/door/<device name>/…: either may name the device), and `detail`, where it counts what
    it ignored (kept in the batch record)."""

    config: Config
    file_stem: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    folders: tuple[str, ...] = ()

    def ignore(self, reason: str, n: int = 1) -> None:
        ignored = self.detail.setdefault("ignored_events", {})
        ignored[reason] = ignored.get(reason, 0) + n


@dataclass(frozen=True)
class VendorFormat:
    name: str  # e.g. "hikvision-acsevent"; kept in the batch detail as "format"
    kind: str  # the evidence kind its rows are, e.g. "door"
    header: tuple[str, ...]
    detect: Callable[[Any], bool]
    rows: Callable[[Any, VendorContext], Iterator[SourceRow]]
    shape_zh: str  # one line saying what the file looks like, for "no format matched" errors
    shape_en: str


VENDOR_FORMATS: Registry[VendorFormat] = Registry("vendor format")


def vendor_format(fmt: VendorFormat) -> VendorFormat:
    return VENDOR_FORMATS.add(fmt.name, fmt)


def formats_for(kind: str) -> list[VendorFormat]:
    return [f for f in VENDOR_FORMATS.values() if f.kind == kind]


def fault_row(number: int, zh: str, en: str, cells: list[Any] | None = None) -> SourceRow:
    """An event that cannot become a row: a row error with the reason (and whatever cells are known)."""
    return SourceRow(number, cells if cells is not None else [], Problem(zh, en))


def read_json(path: Path) -> Any:
    """The parsed document; TableError naming the problem (size, encoding, the line and column of bad JSON)."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise TableError(
                f"JSON 文件过大（{size / 2**20:.0f} MiB，上限 {MAX_JSON_BYTES // 2**20} MiB）：请分成多个文件",
                f"JSON file too large ({size / 2**20:.0f} MiB, limit {MAX_JSON_BYTES // 2**20} MiB): split it",
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise TableError(f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc.strerror}") from None
    if not raw.strip():
        raise TableError("空文件", "empty file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(
            f"JSON 文件不是 UTF-8 编码（第 {exc.start} 字节）",
            f"the JSON file is not UTF-8 (byte {exc.start})",
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TableError(
            f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列，{exc.msg}",
            f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from None


def open_vendor_json(path: Path, kind: str, config: Config, folders: tuple[str, ...] = ()) -> Table:
    """A vendor's JSON export as a table of the kind's canonical columns; TableError when no format fits."""
    document = read_json(path)
    candidates = formats_for(kind)
    fmt = next((f for f in candidates if f.detect(document)), None)
    if fmt is None:
        if not candidates:
            raise TableError(
                "此类证据不接受 JSON 文件：请提交 CSV 或 XLSX 文件",
                "this kind of evidence takes no JSON files: drop CSV or XLSX files",
            )
        raise TableError(
            "无法识别的 JSON 内容，应为：" + "；".join(f.shape_zh for f in candidates),
            "JSON of an unknown shape; expected " + "; or ".join(f.shape_en for f in candidates),
        )
    ctx = VendorContext(config=config, file_stem=path.stem, detail={"format": fmt.name}, folders=folders)

    def rows() -> Iterator[SourceRow]:
        yield SourceRow(0, list(fmt.header))  # the header: row 0, so the first event is row 1
        yield from fmt.rows(document, ctx)

    return Table(path, ctx.detail, rows())


def open_evidence(path: Path, kind: str, config: Config, folders: tuple[str, ...] = ()) -> Table:
    """Open a dropped file of `kind`: a vendor JSON export, or a CSV/XLSX table. `folders`: the subfolders
    between the kind's folder and the file (they may name the device of a door export)."""
    if path.suffix.lower() in JSON_SUFFIXES:
        return open_vendor_json(path, kind, config, folders)
    return open_table(path, config.ingest.sheet, XlsxLimits.of(config.ingest))


__all__ = [
    "BACKUP_HEADER",
    "DOOR_HEADER",
    "VENDOR_FORMATS",
    "VendorContext",
    "VendorFormat",
    "fault_row",
    "formats_for",
    "open_evidence",
    "open_vendor_json",
    "read_json",
    "vendor_format",
]
