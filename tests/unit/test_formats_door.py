"""The door kind: data-file cases, directions and results as exports write them, the dedupe key, an XLSX."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import format_cases
import openpyxl
import pytest

from ops_watch.areas.staffing.kind_door import dedupe_key
from ops_watch.formats import get_kind
from ops_watch.formats.records import read_records
from ops_watch.formats.spec import ParseContext
from ops_watch.formats.tabular import open_table

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
CTX = ParseContext()
DOOR = get_kind("door")


def run_case(path: Path, ctx: ParseContext = CTX) -> dict[str, Any]:
    return format_cases.run_case("door", path, ctx)


CASES = sorted((DATA / "door").glob("*.csv"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_door_data_file_cases(case: Path) -> None:
    expected = json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert run_case(case) == expected


def test_times_without_an_offset_are_in_the_site_zone() -> None:
    utc_site = run_case(DATA / "door" / "events_utf8_bom.csv", ParseContext(ZoneInfo("UTC")))
    shanghai = run_case(DATA / "door" / "events_utf8_bom.csv")
    assert utc_site["records"][0]["at"] == "2026-11-02 08:31:05+00:00"
    assert shanghai["records"][0]["at"] == "2026-11-02 00:31:05+00:00"
    # an explicit offset is kept whatever the site zone
    assert utc_site["records"][3]["at"] == shanghai["records"][3]["at"] == "2026-11-02 23:10:00+00:00"


def test_dedupe_key_prefers_the_device_serial_and_else_who_where_when() -> None:
    at = datetime(2026, 11, 2, 8, 31, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert dedupe_key(at, "YW-1", "300", "A门", "DEV1", "77") == "dev:DEV1#77"
    assert dedupe_key(at, "YW-1", "300", "A门", "", "77") == "evt:YW-1|A门|2026-11-02T00:31:05Z"
    assert dedupe_key(at, "", "300", "A门", "DEV1", "") == "evt:300|A门|2026-11-02T00:31:05Z"
    # the same instant written in another zone is the same event
    assert dedupe_key(at.astimezone(UTC), "", "300", "A门", "", "") == dedupe_key(
        at, "", "300", "A门", "", ""
    )


def test_an_xlsx_export_with_a_title_row_real_datetimes_and_numeric_cards(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["门禁事件导出（2026-11-02）"])
    ws.append(["时间", "工号", "姓名", "卡号", "门禁点", "方向", "结果", "设备", "流水号"])
    ws.append(
        [datetime(2026, 11, 2, 8, 0), "YW-001", "王建国", 3005120401, "机房A门", "进", "成功", "D1", 1001]
    )
    ws.append([datetime(2026, 11, 2, 8, 5), None, None, 3005120402, "机房A门", "out", "失败", None, None])
    path = tmp_path / "door.xlsx"
    wb.save(path)
    out = run_case(path)
    assert out["header_row"] == 2
    assert out["faults"] == []
    first, second = out["records"]
    assert first["card_no"] == "3005120401" and first["serial_no"] == "1001"
    assert first["dedupe_key"] == "dev:D1#1001"
    assert first["at"] == "2026-11-02 00:00:00+00:00"
    assert (second["direction"], second["result"], second["person_id"]) == ("out", "denied", "")
    assert second["dedupe_key"] == "evt:3005120402|机房A门|2026-11-02T00:05:00Z"


def test_a_file_without_door_or_result_reads_passages_and_asks_for_the_door() -> None:
    """No result column: an export of passages (granted). No door column and no configured device: each row
    says how to give the door (in the file, or a [[doors.devices]] door for the file's folder)."""
    with open_table(DATA / "door" / "missing_columns.csv") as table:
        rows = list(read_records(DOOR, table.rows(), CTX).rows)
    (fault,) = rows[0].faults
    assert fault.column == "door" and "[[doors.devices]]" in fault.problem.zh
    assert "drop/door/<device name>/" in fault.problem.en


def test_a_refused_stranger_is_kept_a_granted_event_must_name_someone(tmp_path: Path) -> None:
    path = tmp_path / "door.csv"
    path.write_text(
        "时间,工号,卡号,门禁点,结果,考勤状态\n"
        "2026-11-02 23:10:00,,,机房B区门,失败,\n"  # a face the terminal did not recognise
        "2026-11-02 23:11:00,,,机房B区门,成功,签到\n",
        encoding="utf-8",
    )
    with open_table(path) as table:
        first, second = list(read_records(DOOR, table.rows(), CTX).rows)
    assert first.record is not None and first.record.result == "denied" and first.record.person_id == ""
    assert second.record is None and second.faults[0].column == "person_id"
