"""Cells and headers as real Chinese exports write them, through the real readers (CSV in GB18030 and UTF-8
with BOM, XLSX through openpyxl): dates, times, durations, sizes, percentages, yes/no and the vendors' words."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from ops_watch import plugins
from ops_watch.formats import get_kind
from ops_watch.formats.fields import datetime_value, read_time_of_day
from ops_watch.formats.records import read_records
from ops_watch.formats.spec import ParseContext, match_header
from ops_watch.formats.tabular import open_table

plugins.load()
CTX = ParseContext()  # Asia/Shanghai


def _utc(*args: int) -> datetime:
    """A site time (UTC+8) as the store keeps it."""
    return (datetime(*args) - timedelta(hours=8)).replace(tzinfo=UTC)  # type: ignore[misc]


def _read(path: Path, kind: str) -> tuple[list[Any], list[tuple[int, str, str, str, str]]]:
    with open_table(path) as table:
        rows = list(read_records(get_kind(kind), table.rows(), CTX).rows)
    faults = [(r.number, f.label, f.value, f.problem.zh, f.problem.en) for r in rows for f in r.faults]
    return [r.record for r in rows if r.record is not None], faults


def _csv(tmp_path: Path, kind: str, rows: list[list[Any]], encoding: str = "gb18030") -> tuple[list, list]:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(out.getvalue().encode(encoding))
    return _read(path, kind)


def _xlsx(tmp_path: Path, kind: str, rows: list[list[Any]], formats: dict[str, str] | None = None) -> tuple:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    for ref, number_format in (formats or {}).items():
        ws[ref].number_format = number_format
    path = tmp_path / f"{kind}.xlsx"
    wb.save(path)
    return _read(path, kind)


ENCODINGS = ["gb18030", "utf-8-sig"]
DOOR_HEADER = ["刷卡时间", "工作证号", "员工姓名", "物理卡号", "门禁点名称", "进出标识", "验证状态"]


def _door(at: Any = "2026-11-03 08:05:00", direction: Any = "进", result: Any = "成功") -> list[Any]:
    return [at, "YW-0007", "张伟", "3005120417", "机房A门", direction, result]


# --- times ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026/11/3 8:05", _utc(2026, 11, 3, 8, 5)),
        ("2026-11-03T08:05:00+08:00", _utc(2026, 11, 3, 8, 5)),
        ("2026-11-03T00:05:00Z", _utc(2026, 11, 3, 8, 5)),
        ("2026-11-03 08:05:00 +0800", _utc(2026, 11, 3, 8, 5)),
        ("2026.11.03", _utc(2026, 11, 3)),
        ("2026.11.03 08:05", _utc(2026, 11, 3, 8, 5)),
        ("2026年11月3日", _utc(2026, 11, 3)),
        ("2026年11月3日 8时5分", _utc(2026, 11, 3, 8, 5)),
        ("2026年11月3日 8点05分30秒", _utc(2026, 11, 3, 8, 5, 30)),
        ("2026年11月3日 上午8点05分", _utc(2026, 11, 3, 8, 5)),
        ("20261103", _utc(2026, 11, 3)),
        ("20261103 080500", _utc(2026, 11, 3, 8, 5)),
        ("2026-11-03 08:05:00.000", _utc(2026, 11, 3, 8, 5)),
        ("2026-11-3 8:05:07", _utc(2026, 11, 3, 8, 5, 7)),
        ("11/23/2026 8:05", _utc(2026, 11, 23, 8, 5)),
        ("23/11/2026 17:30", _utc(2026, 11, 23, 17, 30)),
        ("03/03/2026 08:00", _utc(2026, 3, 3, 8)),
        ("２０２６／１１／３　１７：３０", _utc(2026, 11, 3, 17, 30)),
        ("2026/11/3 下午5:30", _utc(2026, 11, 3, 17, 30)),
        ("2026/11/3 下午17:30", _utc(2026, 11, 3, 17, 30)),
        ("2026/11/3 上午12:10", _utc(2026, 11, 3, 0, 10)),
        ("2026/11/3 中午12:30", _utc(2026, 11, 3, 12, 30)),
        ("2026/11/3 晚上8点", _utc(2026, 11, 3, 20)),
        ("2026/11/3 8:05 PM", _utc(2026, 11, 3, 20, 5)),
        ("2026/11/3 12:05 AM", _utc(2026, 11, 3, 0, 5)),
        ("46329.5", _utc(2026, 11, 3, 12)),
    ],
)
def test_a_door_time_as_exports_write_it(
    tmp_path: Path, encoding: str, written: str, expected: datetime
) -> None:
    records, faults = _csv(tmp_path, "door", [DOOR_HEADER, _door(written)], encoding)
    assert faults == []
    assert records[0].at == expected


@pytest.mark.parametrize("written", ["11/03/2026 08:05", "03/11/2026", "1.2.2026 8:00"])
def test_a_day_and_month_the_numbers_do_not_settle_are_refused_naming_the_value(
    tmp_path: Path, written: str
) -> None:
    records, faults = _csv(tmp_path, "door", [DOOR_HEADER, _door(written)])
    assert records == []
    [(row, label, value, zh, en)] = faults
    assert (row, label, value) == (2, "刷卡时间", written)
    assert written in zh and "日和月无法区分" in zh and "年-月-日" in zh
    assert repr(written) in en and "ambiguous" in en


@pytest.mark.parametrize("written", ["2026/11/3 上午17:00", "2026/13/45 08:00", "昨天", "2026-11-03 25:00"])
def test_a_cell_that_is_no_time_is_refused(tmp_path: Path, written: str) -> None:
    records, faults = _csv(tmp_path, "door", [DOOR_HEADER, _door(written)])
    assert records == [] and [f[1] for f in faults] == ["刷卡时间"]
    assert "不是时间" in faults[0][3] and "not a time" in faults[0][4]


def test_xlsx_time_cells_serials_and_number_dates(tmp_path: Path) -> None:
    rows = [
        DOOR_HEADER,
        _door(datetime(2026, 11, 3, 8, 5)),  # a date-time cell
        _door(46329.25),  # a serial in a number cell: 2026-11-03 06:00
        _door(20261103),  # a date typed as a number
        _door(date(2026, 11, 4)),  # a date cell: its midnight
    ]
    records, faults = _xlsx(tmp_path, "door", rows, {"A3": "General", "A4": "0"})
    assert faults == []
    assert [r.at for r in records] == [
        _utc(2026, 11, 3, 8, 5),
        _utc(2026, 11, 3, 6),
        _utc(2026, 11, 3),
        _utc(2026, 11, 4),
    ]


def test_a_plain_iso_time_keeps_its_fast_path_result() -> None:
    parse = datetime_value()
    assert parse("2026-11-03 08:05:00", CTX) == _utc(2026, 11, 3, 8, 5)
    assert parse(" 2026-11-03T08:05:00+08:00 ", CTX) == _utc(2026, 11, 3, 8, 5)


# --- times of day and durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("8:05", time(8, 5)),
        ("08:05:00", time(8, 5)),
        ("8点05分", time(8, 5)),
        ("8点", time(8)),
        ("１７：３０", time(17, 30)),
        ("上午8:05", time(8, 5)),
        ("下午5:30", time(17, 30)),
        ("8:05 PM", time(20, 5)),
        ("8:05 a.m.", time(8, 5)),
    ],
)
def test_a_handover_time_of_day_as_sheets_write_it(tmp_path: Path, written: str, expected: time) -> None:
    rows = [
        ["值班日期", "班次类型", "当班人", "交接班时刻"],
        ["2026年11月3日", "白班", "张伟、李强", written],
    ]
    records, faults = _csv(tmp_path, "handover", rows, "utf-8-sig")
    assert faults == []
    local = records[0].handover_at.astimezone(CTX.zone)
    assert (local.date(), local.time()) == (date(2026, 11, 3), expected)


def test_an_excel_time_cell_is_a_time_of_day(tmp_path: Path) -> None:
    rows = [["日期", "班次", "值班人员", "交接时间"], [date(2026, 11, 3), "夜班", "张伟", time(20, 0)]]
    records, faults = _xlsx(tmp_path, "handover", rows)
    assert faults == []
    assert records[0].handover_at == _utc(2026, 11, 3, 20)
    assert read_time_of_day(0.75) == time(18) and read_time_of_day("24:00") is None


DRILL_HEADER = ["演练日期", "演练系统", "演练类型", "演练结果", "实际RTO", "实际RPO"]


@pytest.mark.parametrize(
    ("written", "minutes"),
    [
        ("90", 90),
        ("90分钟", 90),
        ("1小时30分", 90),
        ("1.5h", 90),
        ("1h30m", 90),
        ("01:30:00", 90),
        ("1:30", 90),
    ],
)
def test_a_drill_duration_as_reports_write_it(tmp_path: Path, written: str, minutes: float) -> None:
    rows = [DRILL_HEADER, ["2026.9.18", "警务综合平台", "数据恢复演练", "合格", written, "15分钟"]]
    records, faults = _csv(tmp_path, "drill", rows)
    assert faults == []
    record = records[0]
    assert (record.date, record.type, record.result) == (date(2026, 9, 18), "restore", "pass")
    assert (record.rto_minutes, record.rpo_minutes) == (minutes, 15)


@pytest.mark.parametrize(("column", "written"), [(2, "容灾演练"), (3, "部分成功"), (4, "一个半小时")])
def test_a_drill_word_that_says_two_things_is_refused(tmp_path: Path, column: int, written: str) -> None:
    row = ["2026-09-18", "警务综合平台", "切换演练", "通过", "95", ""]
    row[column] = written
    records, faults = _csv(tmp_path, "drill", [DRILL_HEADER, row])
    assert records == [] and [(f[1], f[2]) for f in faults] == [(DRILL_HEADER[column], written)]


# --- backups ---------------------------------------------------------------------------------------------

BACKUP_HEADER = ["服务器名称", "任务名", "启动时间", "结束日期时间", "任务执行结果", "备份大小"]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("成功", "success"),
        ("已完成", "success"),
        ("Completed", "success"),
        ("Success", "success"),
        ("失败", "failed"),
        ("异常", "failed"),
        ("超时", "failed"),
        ("已取消", "failed"),
        ("Failed", "failed"),
        ("部分成功", "partial"),
        ("Warning", "partial"),
        ("完成（有警告）", "partial"),
    ],
)
def test_a_backup_status_as_consoles_write_it(tmp_path: Path, written: str, stored: str) -> None:
    row = ["警务综合平台", "每日全量", "2026/11/2 1:00", "2026/11/2 1:42", written, "1.5TB"]
    records, faults = _csv(tmp_path, "backup", [BACKUP_HEADER, row])
    assert faults == []
    assert (records[0].status, records[0].size_gb) == (stored, 1536.0)


def test_a_backup_still_running_is_refused_saying_so(tmp_path: Path) -> None:
    row = ["警务综合平台", "每日全量", "2026/11/2 1:00", "", "运行中", ""]
    records, faults = _csv(tmp_path, "backup", [BACKUP_HEADER, row])
    assert records == []
    [(_row, label, value, zh, en)] = faults
    assert (label, value) == ("任务执行结果", "运行中") and "尚未结束" in zh and "still going" in en


def test_a_backup_duration_gives_the_end_and_a_bare_number_is_refused_only_when_needed(
    tmp_path: Path,
) -> None:
    header = ["客户端", "作业名称", "开始时间", "结束时间", "状态", "耗时"]
    rows = [
        header,
        ["A", "j", "2026-11-02 01:00:00", "", "成功", "1小时30分"],
        ["B", "j", "2026-11-02 01:00:00", "", "成功", "00:42:10"],
        ["C", "j", "2026-11-02 01:00:00", "2026-11-02 01:10:00", "成功", "600"],
        ["D", "j", "2026-11-02 01:00:00", "", "成功", "600"],
    ]
    records, faults = _csv(tmp_path, "backup", rows)
    assert [r.finished for r in records] == [
        _utc(2026, 11, 2, 2, 30),
        _utc(2026, 11, 2, 1, 42, 10),
        _utc(2026, 11, 2, 1, 10),
    ]
    [(row, label, value, zh, en)] = faults
    assert (row, label, value) == (5, "耗时", "600") and "没有单位" in zh and "no unit" in en


# --- sizes, percentages, yes/no ---------------------------------------------------------------------------

INVENTORY_HEADER = [
    "实例ID",
    "资源池",
    "使用单位名称",
    "资源形态",
    "CPU核心数",
    "内存规格",
    "存储大小",
    "是否需备份",
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    ("memory", "storage", "backup", "expected"),
    [
        ("16GB", "2T", "是", (16.0, 2048.0, True)),
        ("16 G", "2 TB", "Y", (16.0, 2048.0, True)),
        ("16384MB", "1,024", "√", (16.0, 1024.0, True)),
        ("１６", "５００ＧＢ", "有", (16.0, 500.0, True)),
        ("0.5", "1,024.5 GB", "×", (0.5, 1024.5, False)),
        ("32", "500", "否", (32.0, 500.0, False)),
        ("32", "500", "N", (32.0, 500.0, False)),
        ("32", "500", "没有", (32.0, 500.0, False)),
        ("32", "500", "false", (32.0, 500.0, False)),
        ("32", "500", "0", (32.0, 500.0, False)),
    ],
)
def test_inventory_sizes_and_yes_no(
    tmp_path: Path, encoding: str, memory: str, storage: str, backup: str, expected: tuple
) -> None:
    row = ["JWY-VM-0001", "警务云", "刑侦支队", "云主机", "8核", memory, storage, backup]
    records, faults = _csv(tmp_path, "inventory", [INVENTORY_HEADER, row], encoding)
    assert faults == []
    r = records[0]
    assert (r.vcpu, r.memory_gb, r.storage_gb, r.backup_required) == (8, *expected)


@pytest.mark.parametrize(("column", "written"), [(5, "16 GHz"), (6, "2 PBX"), (7, "也许")])
def test_a_size_or_yes_no_it_cannot_read_is_refused(tmp_path: Path, column: int, written: str) -> None:
    row = ["JWY-VM-0001", "警务云", "刑侦支队", "云主机", "8", "16", "500", "是"]
    row[column] = written
    records, faults = _csv(tmp_path, "inventory", [INVENTORY_HEADER, row])
    assert records == [] and [(f[1], f[2]) for f in faults] == [(INVENTORY_HEADER[column], written)]


UTIL_HEADER = ["采集时间点", "实例", "平均CPU使用率(%)", "内存使用百分比", "已使用(GB)", "总大小(GB)"]


@pytest.mark.parametrize(
    ("cpu", "mem", "used", "total", "expected"),
    [
        ("35%", "41.5 %", "612.4", "1024", (35.0, 41.5, 612.4, 1024.0)),
        ("３５％", "0.35", "1.2TB", "2T", (35.0, 0.35, 1228.8, 2048.0)),
        ("0.35", "100%", "512MB", "1,024", (0.35, 100.0, 0.5, 1024.0)),
    ],
)
def test_utilization_percentages_and_sizes(
    tmp_path: Path, cpu: str, mem: str, used: str, total: str, expected: tuple
) -> None:
    rows = [UTIL_HEADER, ["2026/11/3 8:00", "JWY-VM-0001", cpu, mem, used, total]]
    records, faults = _csv(tmp_path, "utilization", rows, "utf-8-sig")
    assert faults == []
    r = records[0]
    assert r.at == _utc(2026, 11, 3, 8)
    assert (r.cpu_pct, r.mem_pct, r.storage_used_gb, r.storage_total_gb) == pytest.approx(expected)


def test_an_xlsx_percent_cell_is_read_as_excel_shows_it(tmp_path: Path) -> None:
    """A cell Excel shows as 35% holds 0.35: a percent-formatted column is read as shown (35 %), while an
    unformatted 0.35 in the same kind of column stays 0.35 %."""
    rows = [
        UTIL_HEADER,
        [datetime(2026, 11, 3, 8), "JWY-VM-0001", 0.35, 41, None, None],
        [datetime(2026, 11, 3, 9), "JWY-VM-0001", 0.072, 0.35, None, None],
    ]
    records, faults = _xlsx(tmp_path, "utilization", rows, {"C2": "0%", "C3": "0.0%"})
    assert faults == []
    assert [(r.cpu_pct, r.mem_pct) for r in records] == [(35.0, 41.0), (7.2, 0.35)]


# --- doors: directions and results ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("进", "in"),
        ("入", "in"),
        ("进门", "in"),
        ("进入", "in"),
        ("入场", "in"),
        ("In", "in"),
        ("Entry", "in"),
        ("ＩＮ", "in"),
        ("出", "out"),
        ("出门", "out"),
        ("离开", "out"),
        ("离场", "out"),
        ("Out", "out"),
        ("Exit", "out"),
    ],
)
def test_a_door_direction_as_door_systems_write_it(tmp_path: Path, written: str, stored: str) -> None:
    records, faults = _csv(tmp_path, "door", [DOOR_HEADER, _door(direction=written)])
    assert faults == [] and records[0].direction == stored


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("成功", "granted"),
        ("通过", "granted"),
        ("验证通过", "granted"),
        ("合法卡", "granted"),
        ("合法卡比对通过", "granted"),
        ("Success", "granted"),
        ("失败", "denied"),
        ("拒绝", "denied"),
        ("未授权", "denied"),
        ("无权限", "denied"),
        ("非法卡", "denied"),
        ("无此卡号", "denied"),
        ("Denied", "denied"),
    ],
)
def test_a_door_result_as_door_systems_write_it(tmp_path: Path, written: str, stored: str) -> None:
    records, faults = _csv(tmp_path, "door", [DOOR_HEADER, _door(result=written)])
    assert faults == [] and records[0].result == stored


# --- staff dates ----------------------------------------------------------------------------------------


def test_staff_dates_and_expiries_as_hr_sheets_write_them(tmp_path: Path) -> None:
    header = ["员工工号", "人员名称", "所在单位", "上岗日期", "撤场日期", "资质证书", "证书有效期"]
    rows = [
        header,
        ["YW-0007", "张伟", "安澜", "2025年3月1日", "", "CISP", "2027.6.30"],
        ["YW-0008", "李强", "安澜", "20250301", "2026/10/15", "电工证", "２０２８年３月３１日"],
        ["YW-0009", "王芳", "安澜", "15/03/2025", "", "", ""],
    ]
    records, faults = _csv(tmp_path, "staff", rows)
    assert faults == []
    by_id = {r.person_id: r for r in records}
    assert by_id["YW-0007"].active_from == date(2025, 3, 1)
    assert by_id["YW-0008"].active_to == date(2026, 10, 15)
    assert by_id["YW-0009"].active_from == date(2025, 3, 15)
    expiries = {r.person_id: [c["expires"] for c in r.certificates] for r in records}
    assert expiries["YW-0007"] == ["2027-06-30"] and expiries["YW-0008"] == ["2028-03-31"]


def test_staff_xlsx_date_cells_and_serials(tmp_path: Path) -> None:
    rows = [["工号", "姓名", "入场日期", "离场日期"], ["YW-1", "张伟", datetime(2025, 3, 1), 46310]]
    records, faults = _xlsx(tmp_path, "staff", rows)
    assert faults == []
    assert (records[0].active_from, records[0].active_to) == (date(2025, 3, 1), date(2026, 10, 15))


def test_an_ambiguous_staff_date_is_refused(tmp_path: Path) -> None:
    rows = [["工号", "姓名", "入场日期"], ["YW-1", "张伟", "03/01/2025"]]
    records, faults = _csv(tmp_path, "staff", rows)
    assert records == [] and faults[0][2] == "03/01/2025" and "日和月无法区分" in faults[0][3]


# --- headers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "header", "column"),
    [
        ("door", "工作证号", "person_id"),
        ("door", "人员", "name"),
        ("door", "物理卡号", "card_no"),
        ("door", "门禁点名称", "door"),
        ("door", "通行时间", "at"),
        ("door", "事件时间", "at"),
        ("door", "刷卡时间", "at"),
        ("door", "进出标识", "direction"),
        ("door", "验证状态", "result"),
        ("door", "控制器名称", "device"),
        ("staff", "员工工号", "person_id"),
        ("staff", "人员名称", "name"),
        ("staff", "物理卡号", "card_numbers"),
        ("staff", "上岗日期", "active_from"),
        ("staff", "撤场日期", "active_to"),
        ("backup", "开始时间", "started"),
        ("backup", "结束时间", "finished"),
        ("backup", "耗时", "duration"),
        ("backup", "任务状态", "status"),
        ("backup", "执行状态", "status"),
        ("backup", "结果", "status"),
        ("inventory", "资源池", "platform"),
        ("inventory", "内存规格", "memory_gb"),
        ("utilization", "采集时间点", "at"),
        ("handover", "交接班时刻", "handover_time"),
        ("drill", "评估结果", "result"),
        ("drill_plan", "计划实施日期", "date"),
    ],
)
def test_common_headers_name_their_column(kind: str, header: str, column: str) -> None:
    header_map, _ = match_header(get_kind(kind), [header])
    assert header_map.positions == {column: 0}


# --- doors with the date and the time in two columns ------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_door_export_with_date_and_time_in_two_columns(tmp_path: Path, encoding: str) -> None:
    header = ["日期", "时间", "工号", "姓名", "门禁点", "方向"]
    rows = [
        header,
        ["2026/11/3", "8:05:07", "YW-1", "张伟", "大门", "进"],
        ["2026年11月3日", "下午5:30", "YW-1", "张伟", "大门", "出"],
        ["2026-11-04", "2026-11-04 09:00:00", "YW-1", "张伟", "大门", "进"],  # a full time: its own date
    ]
    records, faults = _csv(tmp_path, "door", rows, encoding)
    assert faults == []
    assert [r.at for r in records] == [
        _utc(2026, 11, 3, 8, 5, 7),
        _utc(2026, 11, 3, 17, 30),
        _utc(2026, 11, 4, 9),
    ]


def test_a_door_xlsx_with_date_and_time_cells(tmp_path: Path) -> None:
    rows = [["刷卡日期", "刷卡时间", "工号", "门禁点"], [date(2026, 11, 3), time(8, 5), "YW-1", "大门"]]
    records, faults = _xlsx(tmp_path, "door", rows)
    assert faults == [] and records[0].at == _utc(2026, 11, 3, 8, 5)


def test_a_time_of_day_without_a_date_column_is_refused_saying_so(tmp_path: Path) -> None:
    records, faults = _csv(tmp_path, "door", [DOOR_HEADER, _door("08:05")])
    assert records == []
    [(_row, label, value, zh, en)] = faults
    assert (label, value) == ("刷卡时间", "08:05") and "没有日期" in zh and "without a date" in en


# --- audit submissions and inspection results -----------------------------------------------------------


def test_audit_submission_times_as_registers_write_them() -> None:
    from ops_watch.areas.governance.audit.kinds import submission_time
    from ops_watch.formats.spec import CellError

    assert submission_time("2026年11月4日 16时30分", CTX) == _utc(2026, 11, 4, 16, 30)
    assert submission_time("2026/11/4 下午4:30", CTX) == _utc(2026, 11, 4, 16, 30)
    assert submission_time("2026-11-04 16:30", CTX) == _utc(2026, 11, 4, 16, 30)
    # a date alone is the end of that day, as before, however it is written
    assert submission_time("2026.11.04", CTX) == submission_time("2026-11-04", CTX)
    assert submission_time("2026年11月4日", CTX) == submission_time("2026-11-04", CTX)
    with pytest.raises(CellError) as err:
        submission_time("04/11/2026 16:30", CTX)
    assert "04/11/2026 16:30" in err.value.problem.zh and "ambiguous" in err.value.problem.en


@pytest.mark.parametrize(
    ("written", "stored"), [("无异常", "pass"), ("良好", "pass"), ("需整改", "problems")]
)
def test_inspection_results_as_inspectors_write_them(written: str, stored: str) -> None:
    from ops_watch.areas.governance.inspections.kind import RESULTS
    from ops_watch.formats.fields import choice

    assert choice(RESULTS)(written, CTX) == stored
