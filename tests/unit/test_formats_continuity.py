"""The continuity kinds: backup runs, drill records and drill plans.

Data-file cases of the three kinds (tests/data/formats/<kind>/<case>.csv beside <case>.expected.json), then
the rules they rest on: the identity of a backup run, spellings of statuses, drill types and results, units
people write after numbers, a run that finished before it started, site time, and XLSX cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import format_cases
import openpyxl
import pytest

from ops_watch.areas.continuity.kind_backup import STATUSES, dedupe_key
from ops_watch.areas.continuity.kind_drill import DRILL_TYPES, RESULTS
from ops_watch.formats import get_kind
from ops_watch.formats.spec import CellError, Column, Fault, ParseContext, RecordKind, match_header, parse_row

CTX = ParseContext()  # site zone Asia/Shanghai (+08:00, no daylight saving)
BACKUP = get_kind("backup")
DRILL = get_kind("drill")
DRILL_PLAN = get_kind("drill_plan")

CASES = [(kind, case) for kind in ("backup", "drill", "drill_plan") for case in format_cases.cases(kind)]


@pytest.mark.parametrize(("kind", "case"), CASES, ids=[f"{k}-{c.stem}" for k, c in CASES])
def test_continuity_data_file_cases(kind: str, case: Path) -> None:
    assert format_cases.run_case(kind, case, CTX) == format_cases.expected(case)


@pytest.mark.parametrize("kind", ["backup", "drill", "drill_plan"])
def test_each_kind_has_a_good_file_a_file_with_bad_rows_and_a_rejected_file(kind: str) -> None:
    outcomes = [format_cases.expected(case) for case in format_cases.cases(kind)]
    assert any("records" in o and o["records"] and not o["faults"] for o in outcomes)
    assert any("faults" in o and o["faults"] for o in outcomes)
    assert any("rejected" in o for o in outcomes)


def parse_one(
    kind: RecordKind, header: Sequence[str], cells: Sequence[object], ctx: ParseContext = CTX
) -> tuple[Any | None, list[Fault]]:
    header_map, _ = match_header(kind, header)
    return parse_row(kind, header_map, cells, ctx)


BACKUP_HEADER = ("系统", "作业名称", "开始时间", "结束时间", "状态", "数据量(GB)")


def backup_row(
    started: object, finished: object = "", *, system: str = "警务综合平台", job: str = "每日全量"
) -> tuple[Any | None, list[Fault]]:
    return parse_one(BACKUP, BACKUP_HEADER, [system, job, started, finished, "成功", ""])


# --- backup: the identity of a run


@pytest.mark.parametrize(
    "started",
    [
        "2026-11-02 01:00:00",  # site time, +08:00
        "2026-11-02T01:00:00+08:00",
        "2026-11-01T17:00:00Z",
        "2026-11-01 17:00:00+00:00",
        "2026-11-02T02:00:00+09:00",
        "2026-11-01T12:00:00-05:00",
        "2026-11-02T01:00:00.750+08:00",  # keyed to the second
        datetime(2026, 11, 2, 1, 0),  # an Excel cell: site time
    ],
)
def test_a_run_written_in_any_zone_has_the_key_of_its_instant(started: object) -> None:
    record, faults = backup_row(started)
    assert faults == []
    assert record.dedupe_key == "警务综合平台|每日全量|2026-11-01T17:00:00Z"


def test_the_dedupe_key_is_system_job_and_the_start_in_utc() -> None:
    shanghai = datetime(2026, 11, 2, 1, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    tokyo = datetime(2026, 11, 2, 2, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert dedupe_key("警务综合平台", "每日全量", shanghai) == dedupe_key("警务综合平台", "每日全量", tokyo)
    assert dedupe_key("警务综合平台", "每日全量", tokyo) == "警务综合平台|每日全量|2026-11-01T17:00:00Z"
    # another system, job or second is another run
    assert dedupe_key("视频云", "每日全量", shanghai) != dedupe_key("警务综合平台", "每日全量", shanghai)
    assert dedupe_key("警务综合平台", "每日增量", shanghai) != dedupe_key(
        "警务综合平台", "每日全量", shanghai
    )
    later = shanghai.replace(second=1)
    assert dedupe_key("警务综合平台", "每日全量", later) != dedupe_key("警务综合平台", "每日全量", shanghai)
    assert dedupe_key("视频云", "", shanghai.astimezone(UTC)) == "视频云||2026-11-01T17:00:00Z"


def test_the_same_wall_clock_in_two_zones_is_two_runs() -> None:
    site, _ = backup_row("2026-11-02 01:00:00")
    utc, _ = backup_row("2026-11-02T01:00:00Z")
    assert site.dedupe_key != utc.dedupe_key
    assert utc.dedupe_key == "警务综合平台|每日全量|2026-11-02T01:00:00Z"


# --- backup: finished before started, site time


def test_a_run_that_finished_before_it_started_is_refused_naming_the_finished_column() -> None:
    record, faults = backup_row("2026-11-02 01:00:00", "2026-11-02 00:59:59")
    assert record is None
    (fault,) = faults
    assert (fault.column, fault.label) == ("finished", "结束时间")
    assert "结束时间早于开始时间" in fault.problem.zh
    assert "finished before it started" in fault.problem.en


def test_finished_and_started_are_compared_as_instants() -> None:
    # earlier on the wall clock, but 30 minutes later in fact: the finish is written in UTC
    record, faults = backup_row("2026-11-02 01:00:00", "2026-11-01T17:30:00Z")
    assert faults == []
    assert record.finished - record.started == timedelta(minutes=30)
    # later on the wall clock, but before the start in fact
    record, faults = backup_row("2026-11-02T01:00:00Z", "2026-11-02 08:30:00")
    assert record is None and [f.column for f in faults] == ["finished"]


def test_a_run_that_finished_when_it_started_and_one_without_a_finish_are_kept() -> None:
    record, faults = backup_row("2026-11-02 01:00:00", "2026-11-02 01:00:00")
    assert faults == [] and record.finished == record.started
    record, faults = backup_row("2026-11-02 01:00:00", "")
    assert faults == [] and record.finished is None


def test_backup_times_without_an_offset_are_site_time() -> None:
    runs = format_cases.DATA / "backup" / "runs_utf8_bom.csv"
    utc_site = format_cases.run_case("backup", runs, ParseContext(ZoneInfo("UTC")))["records"]
    shanghai = format_cases.run_case("backup", runs, CTX)["records"]
    urumqi = format_cases.run_case("backup", runs, ParseContext(ZoneInfo("Asia/Urumqi")))["records"]
    # "2026-11-02 01:00:00" without an offset
    assert utc_site[0]["started"] == "2026-11-02 01:00:00+00:00"
    assert shanghai[0]["started"] == "2026-11-01 17:00:00+00:00"
    assert urumqi[0]["started"] == "2026-11-01 19:00:00+00:00"
    assert utc_site[0]["dedupe_key"] == "警务综合平台|每日全量|2026-11-02T01:00:00Z"
    # "2026-11-02T13:00:00+08:00" and "2026-11-01T18:30:00Z" keep their offsets whatever the site zone
    for i, started in ((1, "2026-11-02 05:00:00+00:00"), (3, "2026-11-01 18:30:00+00:00")):
        assert utc_site[i]["started"] == shanghai[i]["started"] == urumqi[i]["started"] == started
        assert utc_site[i]["dedupe_key"] == shanghai[i]["dedupe_key"]


# --- backup: an XLSX export


def test_a_backup_xlsx_with_a_title_row_excel_datetime_cells_and_number_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["备份作业报表（2026-11-02）"])
    ws.append(["业务系统", "备份作业", "备份开始时间", "备份结束时间", "备份结果", "大小(GB)"])
    ws.append(
        [
            "警务综合平台",
            "每日全量",
            datetime(2026, 11, 2, 1, 0),
            datetime(2026, 11, 2, 1, 42, 10),
            "成功",
            182.5,
        ]
    )
    ws.append(["视频云", None, datetime(2026, 11, 2, 2, 0), None, "Failed", 0])
    ws.append(["人口库", "每日全量", datetime(2026, 11, 2, 3, 0), datetime(2026, 11, 2, 2, 0), "成功", 10])
    path = tmp_path / "backup.xlsx"
    wb.save(path)
    out = format_cases.run_case("backup", path, CTX)
    assert out["header_row"] == 2
    first, second = out["records"]
    assert first == {
        "dedupe_key": "警务综合平台|每日全量|2026-11-01T17:00:00Z",
        "finished": "2026-11-01 17:42:10+00:00",
        "job": "每日全量",
        "size_gb": 182.5,
        "started": "2026-11-01 17:00:00+00:00",
        "status": "success",
        "system": "警务综合平台",
    }
    assert (second["job"], second["finished"], second["status"], second["size_gb"]) == (
        "",
        None,
        "failed",
        0.0,
    )
    assert second["dedupe_key"] == "视频云||2026-11-01T18:00:00Z"
    # the third run finished an hour before it started
    assert [(row, label) for row, label, _ in out["faults"]] == [(5, "备份结束时间")]


# --- spellings


def fullwidth(text: str) -> str:
    """ASCII letters and digits as a Chinese input method writes them in full-width mode (ｏｋ, ＯＫ)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def spellings(key: str) -> list[str]:
    return [key, key.upper(), key.title(), fullwidth(key), fullwidth(key.upper()), f"  {key}  "]


def column(kind: RecordKind, name: str) -> Column:
    return next(c for c in kind.columns if c.name == name)


@pytest.mark.parametrize(("written", "stored"), sorted(STATUSES.items()))
def test_every_backup_status_spelling(written: str, stored: str) -> None:
    parse = column(BACKUP, "status").parse
    for cell in spellings(written):
        assert parse(cell, CTX) == stored, cell
        # through the row parser too (a declared spelling takes its shortcut, the others the parser)
        record, faults = parse_one(
            BACKUP, BACKUP_HEADER, ["警务综合平台", "", "2026-11-02 01:00", "", cell, ""]
        )
        assert faults == [] and record.status == stored, cell


@pytest.mark.parametrize(("written", "stored"), sorted(DRILL_TYPES.items()))
def test_every_drill_type_spelling_in_drills_and_plans(written: str, stored: str) -> None:
    for kind in (DRILL, DRILL_PLAN):
        parse = column(kind, "type").parse
        for cell in spellings(written):
            assert parse(cell, CTX) == stored, (kind.name, cell)
    record, faults = parse_one(
        DRILL_PLAN, ("日期", "系统", "类型"), ["2026-12-10", "警务综合平台", written.upper()]
    )
    assert faults == [] and record.type == stored


@pytest.mark.parametrize(("written", "stored"), sorted(RESULTS.items()))
def test_every_drill_result_spelling(written: str, stored: str) -> None:
    parse = column(DRILL, "result").parse
    for cell in spellings(written):
        assert parse(cell, CTX) == stored, cell


def test_the_stored_values_are_the_ones_the_tables_and_checks_expect() -> None:
    assert set(STATUSES.values()) == {"success", "failed", "partial"}
    assert set(DRILL_TYPES.values()) == {"restore", "emergency", "failover"}
    assert set(RESULTS.values()) == {"pass", "fail"}
    # a stored value read back (a re-exported file, a corrected sheet) is accepted as itself
    for table in (STATUSES, DRILL_TYPES, RESULTS):
        assert all(table[value] == value for value in table.values())


@pytest.mark.parametrize(
    ("kind", "name", "cell"),
    [
        (BACKUP, "status", "进行中"),
        (BACKUP, "status", "成 功 了"),
        (DRILL, "type", "桌面推演"),
        (DRILL_PLAN, "type", "攻防演练"),
        (DRILL, "result", "基本通过"),
        (DRILL, "result", "1"),
    ],
)
def test_unknown_spellings_are_refused_listing_the_accepted_ones(
    kind: RecordKind, name: str, cell: str
) -> None:
    with pytest.raises(CellError) as err:
        column(kind, name).parse(cell, CTX)
    first_spelling = next(iter({"status": STATUSES, "type": DRILL_TYPES, "result": RESULTS}[name]))
    assert first_spelling in err.value.problem.zh
    assert "unknown value" in err.value.problem.en


# --- numbers with units


@pytest.mark.parametrize(
    ("cell", "gb"),
    [
        ("182.5GB", 182.5),
        ("182.5 GB", 182.5),
        ("182.5gb", 182.5),
        ("182.5G", 182.5),
        ("1,024", 1024.0),
        (7, 7.0),
        ("1.2TB", 1228.8),  # the cell's own unit wins over the column's GB: binary, 1 TB = 1024 GB
        ("500MB", 500 / 1024),
    ],
)
def test_backup_sizes_as_people_write_them(cell: object, gb: float) -> None:
    assert column(BACKUP, "size_gb").parse(cell, CTX) == gb


@pytest.mark.parametrize("cell", ["1.2XB", "500 MHz", "-1", "大约200G", "nan"])
def test_backup_sizes_that_are_refused(cell: str) -> None:
    with pytest.raises(CellError):
        column(BACKUP, "size_gb").parse(cell, CTX)


@pytest.mark.parametrize(
    ("cell", "minutes"),
    [
        ("45分钟", 45.0),
        ("45分", 45.0),
        ("45 min", 45.0),
        ("45mins", 45.0),
        ("45 minutes", 45.0),
        ("1.5", 1.5),
        (90, 90.0),
        ("2小时", 120.0),
        ("1h", 60.0),
        ("1小时30分", 90.0),
        ("01:30:00", 90.0),
    ],
)
def test_drill_minutes_as_people_write_them(cell: object, minutes: float) -> None:
    assert column(DRILL, "rto_minutes").parse(cell, CTX) == minutes
    assert column(DRILL, "rpo_minutes").parse(cell, CTX) == minutes


@pytest.mark.parametrize("cell", ["约两小时", "两小时", "1h半", "-5", "半小时"])
def test_drill_minutes_that_are_refused(cell: str) -> None:
    with pytest.raises(CellError):
        column(DRILL, "rto_minutes").parse(cell, CTX)


# --- drill records


DRILL_HEADER = ("日期", "系统", "类型", "结果", "参与人员", "佐证材料", "恢复时间", "数据丢失")


def test_a_drill_without_participants_or_measurements_keeps_empty_values() -> None:
    record, faults = parse_one(
        DRILL, DRILL_HEADER, ["2026-09-18", "警务综合平台", "恢复演练", "通过", "", "", "", ""]
    )
    assert faults == []
    assert record.participants == [] and isinstance(record.participants, list)
    assert (record.rto_minutes, record.rpo_minutes, record.evidence, record.scenario) == (None, None, "", "")


def test_drill_participants_split_at_every_separator_of_a_handover_sheet() -> None:
    cells = [
        "2026-09-18",
        "警务综合平台",
        "切换",
        "未通过",
        "王建国、张伟/李强，赵六;孙七； 周八 , 吴九",
        "",
        "",
        "",
    ]
    record, faults = parse_one(DRILL, DRILL_HEADER, cells)
    assert faults == []
    assert record.participants == ["王建国", "张伟", "李强", "赵六", "孙七", "周八", "吴九"]
    assert (record.type, record.result) == ("failover", "fail")


def test_a_drill_xlsx_with_date_and_number_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["演练日期", "演练系统", "演练类型", "演练结果", "RTO", "RPO", "参演人员", "附件"])
    ws.append([datetime(2026, 9, 18), "警务综合平台", "备份恢复", "成功", 95, 15.5, "王建国、张伟", None])
    ws.append([date(2026, 9, 25), "视频云", "应急演练", "失败", None, 0, None, 20260925])
    path = tmp_path / "drill.xlsx"
    wb.save(path)
    out = format_cases.run_case("drill", path, CTX)
    assert out["faults"] == []
    first, second = out["records"]
    assert (first["date"], first["rto_minutes"], first["rpo_minutes"]) == ("2026-09-18", 95.0, 15.5)
    assert (first["participants"], first["evidence"]) == (["王建国", "张伟"], "")
    assert (second["date"], second["type"], second["result"]) == ("2026-09-25", "emergency", "fail")
    assert (second["rto_minutes"], second["rpo_minutes"], second["participants"]) == (None, 0.0, [])
    assert second["evidence"] == "20260925"  # an archive number typed as a number is kept as its digits


def test_a_drill_record_keeps_its_date_as_a_date() -> None:
    record, _ = parse_one(
        DRILL, DRILL_HEADER, ["2026/9/18", "警务综合平台", "恢复演练", "通过", "", "", "", ""]
    )
    assert record.date == date(2026, 9, 18)
    plan, _ = parse_one(DRILL_PLAN, ("计划日期", "系统", "类型"), [datetime(2026, 12, 10), "视频云", "切换"])
    assert plan.date == date(2026, 12, 10)


def test_the_kinds_are_written_as_documented() -> None:
    assert (BACKUP.write_mode, BACKUP.key, BACKUP.time_column) == ("append", ("dedupe_key",), "started")
    for kind in (DRILL, DRILL_PLAN):
        assert (kind.write_mode, kind.key, kind.time_column) == ("upsert", ("date", "system", "type"), None)
