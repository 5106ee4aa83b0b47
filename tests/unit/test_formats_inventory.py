"""The inventory kind, the registry, and header matching: data-file cases plus the rules they rest on.

Each tests/data/formats/inventory/<case>.csv has a <case>.expected.json beside it: the records, the faults
as [row, column as the file names it, value], or the columns a rejected file is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import format_cases
import pytest

from ops_watch.formats import KINDS, UnknownKindError, get_kind
from ops_watch.formats.records import FileRejected, read_records
from ops_watch.formats.spec import (
    Column,
    ParseContext,
    RecordKind,
    build_record,
    match_header,
    normalize_header,
    parse_row,
)
from ops_watch.formats.tabular import open_table
from ops_watch.store.schema import InventoryResource, StaffMember

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
CTX = ParseContext()
INVENTORY = get_kind("inventory")


def run_case(kind: str, path: Path) -> dict[str, Any]:
    return format_cases.run_case(kind, path, CTX)


CASES = sorted((DATA / "inventory").glob("*.csv"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_inventory_data_file_cases(case: Path) -> None:
    expected = json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert run_case("inventory", case) == expected


def test_every_fault_says_why_in_both_languages() -> None:
    with open_table(DATA / "inventory" / "bad_values.csv") as table:
        rows = list(read_records(INVENTORY, table.rows(), CTX).rows)
    reasons = {(r.number, f.label): f.problem for r in rows for f in r.faults}
    assert reasons[(2, "vCPU")].zh == "不能为负数"
    assert "whole number" in reasons[(4, "vCPU")].en
    assert "vm" in reasons[(3, "类型")].en and "虚拟机" in reasons[(3, "类型")].zh
    assert "before allocated_from" in reasons[(8, "回收日期")].en
    assert reasons[(9, "资源ID")].en == "required: the cell is empty"


def test_a_missing_required_column_is_named_with_every_accepted_alias() -> None:
    with open_table(DATA / "inventory" / "missing_columns.csv") as table, pytest.raises(FileRejected) as err:
        read_records(INVENTORY, table.rows(), CTX)
    by_column = {f.column: f.problem for f in err.value.faults}
    assert "资源类型" in by_column["type"].zh and "类型" in by_column["type"].zh
    assert "accepted names: storage_gb, 存储(GB), 存储" in by_column["storage_gb"].en


@pytest.mark.parametrize(
    ("written", "column"),
    [
        ("资源ID", "resource_id"),
        ("  Resource_ID ", "resource_id"),
        ("RESOURCE ID", "resource_id"),
        ("内存（GB）", "memory_gb"),
        ("内存 (GB)", "memory_gb"),
        ("ＶＣＰＵ", "vcpu"),
        ("vCPU(核)", "vcpu"),
        ("是否备份", "backup_required"),
    ],
)
def test_header_names_match_across_case_width_spaces_and_units(written: str, column: str) -> None:
    header_map, matched = match_header(INVENTORY, [written])
    assert matched == 1 and header_map.positions == {column: 0}


def test_unknown_headers_are_ignored_and_reported() -> None:
    header_map, matched = match_header(INVENTORY, ["资源ID", "备注", "", "负责人"])
    assert matched == 1
    assert header_map.ignored == ("备注", "负责人")


def _parse(**cells: object) -> tuple[Any, list[Any]]:
    """One row with sensible cells, some replaced."""
    row: dict[str, object] = {
        "resource_id": "r1",
        "platform": "警务云",
        "tenant_unit": "刑侦支队",
        "type": "vm",
        "vcpu": "2",
        "memory_gb": "4",
        "storage_gb": "40",
        "backup_required": "否",
    }
    row.update(cells)
    header_map, _ = match_header(INVENTORY, list(row))
    return parse_row(INVENTORY, header_map, list(row.values()), CTX)


@pytest.mark.parametrize(
    ("cells", "field", "value"),
    [
        ({"type": "物理机"}, "type", "host"),
        ({"type": "Volume"}, "type", "volume"),
        ({"vcpu": 8.0}, "vcpu", 8),  # an XLSX number cell
        ({"vcpu": "8核"}, "vcpu", 8),
        ({"memory_gb": "1,024"}, "memory_gb", 1024.0),
        ({"storage_gb": "500G"}, "storage_gb", 500.0),
        ({"backup_required": True}, "backup_required", True),
        ({"backup_required": "Y"}, "backup_required", True),
        ({"backup_required": "0"}, "backup_required", False),
        ({"resource_id": 1001.0}, "resource_id", "1001"),
        ({"vcpu": ""}, "vcpu", 0),
    ],
)
def test_cells_as_people_write_them(cells: dict[str, object], field: str, value: object) -> None:
    record, faults = _parse(**cells)
    assert faults == []
    assert getattr(record, field) == value


@pytest.mark.parametrize(
    "cells",
    [
        {"vcpu": "-1"},
        {"vcpu": "1.5"},
        {"vcpu": True},
        {"memory_gb": "-0.5"},
        {"storage_gb": "nan"},
        {"type": "容器"},
    ],
)
def test_values_that_are_refused(cells: dict[str, object]) -> None:
    record, faults = _parse(**cells)
    assert record is None
    assert [f.column for f in faults] == list(cells)


def test_registry_lists_the_kinds_of_this_release_and_names_them_on_a_typo() -> None:
    assert set(KINDS) >= {"inventory", "staff"}
    assert KINDS["inventory"].table is InventoryResource and KINDS["staff"].table is StaffMember
    assert all(k.time_column is None for k in (KINDS["inventory"], KINDS["staff"]))
    with pytest.raises(UnknownKindError) as err:
        get_kind("inventroy")
    assert "inventory" in str(err.value) and "staff" in str(err.value)


@dataclass(frozen=True)
class _Thing:
    resource_id: str
    colour: str


def test_a_kind_declared_wrong_is_refused_at_import() -> None:
    col = Column("resource_id", ("资源ID",), lambda v, c: str(v))
    with pytest.raises(TypeError) as err:
        RecordKind(
            name="broken",
            title_zh="坏",
            title_en="broken",
            columns=(col, Column("other", ("资源ID",), lambda v, c: v)),
            record_type=_Thing,
            build=build_record(_Thing),
            table=InventoryResource,
            write_mode="upsert",
            key=("resource_id",),
            time_column="no_such_column",
        )
    message = str(err.value)
    assert "alias '资源ID' of other also names resource_id" in message
    assert "record field colour is not a column" in message
    assert "time_column no_such_column" in message


def test_every_kind_is_documented_column_by_column() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text(encoding="utf-8")
    for kind in KINDS.values():
        assert f"`{kind.name}`" in doc
        for col in kind.columns:
            for name in col.accepted_names:
                assert name in doc, f"docs/formats.md does not mention {kind.name}.{col.name} alias {name!r}"


def test_normalize_header() -> None:
    assert (
        normalize_header(" 存储（GB） ")
        == normalize_header("存储(gb)")
        == normalize_header("存储GB")
        == "存储gb"
    )
    assert normalize_header(None) == ""
