"""The utilization kind (cloud-console exports): data-file cases plus the rules they rest on.

Each tests/data/formats/utilization/<case>.csv has a <case>.expected.json beside it: the records, the
faults as [row, column as the file names it, value], or the columns a rejected file is missing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import format_cases
import pytest

from ops_watch.formats import KINDS, get_kind
from ops_watch.formats.spec import ParseContext, match_header, parse_row
from ops_watch.store.schema import UtilizationSample

DATA = Path(__file__).resolve().parents[1] / "data" / "formats" / "utilization"
CTX = ParseContext()
KIND = get_kind("utilization")


def run_case(path: Path) -> dict[str, Any]:
    return format_cases.run_case("utilization", path, CTX)


CASES = sorted(DATA.glob("*.csv"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_utilization_data_file_cases(case: Path) -> None:
    expected = json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert run_case(case) == expected


def test_the_kind_appends_samples_keyed_by_resource_and_time() -> None:
    assert KINDS["utilization"] is KIND
    assert KIND.table is UtilizationSample
    assert (KIND.write_mode, KIND.key, KIND.time_column) == ("append", ("resource_id", "at"), "at")
    assert [c.name for c in KIND.columns if c.required] == ["at", "resource_id"]


def _parse(**cells: object) -> tuple[Any, list[Any]]:
    header = list(cells)
    header_map, _ = match_header(KIND, header)
    return parse_row(KIND, header_map, [cells[h] for h in header], CTX)


def test_times_without_an_offset_are_site_time_and_stored_as_utc() -> None:
    record, faults = _parse(时间="2026-11-02 08:00:00", 资源ID="JWY-VM-0001", **{"CPU使用率(%)": "5"})
    assert faults == []
    assert record.at == datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    assert (record.cpu_pct, record.mem_pct, record.storage_used_gb, record.source) == (
        5.0,
        None,
        None,
        "file",
    )


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"CPU使用率(%)": "100.1"}, "cpu_pct"),
        ({"内存使用率(%)": "-0.5"}, "mem_pct"),
        ({"存储已用(GB)": "-1"}, "storage_used_gb"),
        ({"存储已用(GB)": "11", "存储总量(GB)": "10"}, "storage_used_gb"),
        ({"存储总量(GB)": "10"}, ""),  # no measurement at all
    ],
)
def test_values_out_of_range_are_refused(cells: dict[str, str], column: str) -> None:
    record, faults = _parse(时间="2026-11-02 08:00:00", 资源ID="JWY-VM-0001", **cells)
    assert record is None
    assert [f.column for f in faults] == [column]
    assert all(f.problem.zh and f.problem.en for f in faults)


def test_boundaries_are_accepted() -> None:
    record, faults = _parse(
        时间="2026-11-02 08:00:00",
        资源ID="X",
        **{"CPU使用率(%)": "0", "内存使用率(%)": "100%", "存储已用(GB)": "10", "存储总量(GB)": "10"},
    )
    assert faults == []
    assert (record.cpu_pct, record.mem_pct, record.storage_used_gb, record.storage_total_gb) == (
        0.0,
        100.0,
        10.0,
        10.0,
    )
