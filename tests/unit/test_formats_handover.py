"""The handover kind: data-file cases, on-duty lists, handover times of day and full date-times, an XLSX."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import format_cases
import openpyxl
import pytest

from ops_watch.areas.staffing.kind_handover import time_or_datetime
from ops_watch.formats import get_kind
from ops_watch.formats.records import FileRejected, read_records
from ops_watch.formats.spec import CellError, ParseContext
from ops_watch.formats.tabular import open_table

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
CTX = ParseContext()
HANDOVER = get_kind("handover")


def run_case(path: Path) -> dict[str, Any]:
    return format_cases.run_case("handover", path, CTX)


CASES = sorted((DATA / "handover").glob("*.csv"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_handover_data_file_cases(case: Path) -> None:
    expected = json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert run_case(case) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("08:00", time(8, 0)),
        ("8:00", time(8, 0)),
        ("08:00:30", time(8, 0, 30)),
        ("8点", time(8, 0)),
        (time(20, 15), time(20, 15)),
        ("2026-11-03 08:00", datetime(2026, 11, 3, 0, 0, tzinfo=ZoneInfo("UTC"))),
        (datetime(2026, 11, 3, 8, 0), datetime(2026, 11, 3, 0, 0, tzinfo=ZoneInfo("UTC"))),
    ],
)
def test_handover_time_is_a_time_of_day_or_a_full_datetime(cell: Any, expected: time | datetime) -> None:
    assert time_or_datetime()(cell, CTX) == expected


@pytest.mark.parametrize("cell", ["25:00", "8点钟左右", "08:61", "明早"])
def test_handover_times_that_are_refused(cell: str) -> None:
    with pytest.raises(CellError) as err:
        time_or_datetime()(cell, CTX)
    assert err.value.problem.zh and err.value.problem.en


def test_an_xlsx_sheet_with_time_cells_and_a_night_shift_handed_over_next_morning(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["日期", "班次", "值班人员", "交接时间", "交班人", "接班人", "备注"])
    ws.append([datetime(2026, 11, 2), "白班", "张伟/李强", time(8, 0), "赵六", "张伟", None])
    ws.append(
        [datetime(2026, 11, 2), "夜班", "赵六；孙七", datetime(2026, 11, 3, 8, 0), "赵六", "王芳", "正常"]
    )
    path = tmp_path / "handover.xlsx"
    wb.save(path)
    out = run_case(path)
    assert out["faults"] == []
    day, night = out["records"]
    assert (day["date"], day["shift"], day["on_duty"]) == ("2026-11-02", "白班", ["张伟", "李强"])
    assert day["handover_at"] == "2026-11-02 00:00:00+00:00"
    assert night["on_duty"] == ["赵六", "孙七"]
    assert night["handover_at"] == "2026-11-03 00:00:00+00:00"
    assert night["notes"] == "正常"


def test_a_sheet_without_date_and_shift_is_rejected_naming_them() -> None:
    with pytest.raises(FileRejected) as err:
        with open_table(DATA / "handover" / "missing_columns.csv") as table:
            read_records(HANDOVER, table.rows(), CTX)
    assert {f.column for f in err.value.faults} == {"date", "shift"}


def test_the_record_keeps_the_date_as_a_date() -> None:
    with open_table(DATA / "handover" / "sheet_utf8_bom.csv") as table:
        first = next(iter(read_records(HANDOVER, table.rows(), CTX).rows))
    assert first.record.date == date(2026, 11, 2)


def test_a_full_width_colon_and_other_header_spellings(tmp_path: Path) -> None:
    assert time_or_datetime()("17：30", CTX) == time(17, 30)
    path = tmp_path / "sheet.csv"
    path.write_text(
        "交接日期,班别,当班人员,交接班时间,交班人员,接班人员,交接事项\n2026-11-02,白班,张伟,20：00,张伟,李娜,正常\n",
        encoding="utf-8",
    )
    with open_table(path) as table:
        (row,) = list(read_records(get_kind("handover"), table.rows(), CTX).rows)
    assert row.faults == [] and row.record.on_duty == ["张伟"] and row.record.notes == "正常"
