"""Door events and handover sheets through the ingest, on SQLite and PostgreSQL (`store` from tests/conftest.py):
Chinese headers in GB18030, UTF-8 with BOM and XLSX; duplicates stored once; a corrected sheet replaces its row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from ops_watch.config import Config
from ops_watch.ingest import ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import DoorEvent, HandoverShift, RowError

DOOR_HEADER = "时间,工号,姓名,卡号,门禁点,方向,结果,设备,流水号\n"
DOOR_ROWS = (
    "2026-11-02 08:31:05,YW-0007,张伟,3005120417,机房A门,进,成功,DS-K1T671-01,10234\n"
    "2026-11-02 17:45:00,YW-0007,张伟,3005120417,机房A门,出,成功,,\n"
    "2026-11-02 21:02:00,,,3005129999,机房A门,,失败,,\n"
)
SHEET_HEADER = "日期,班次,值班人员,交接时间,交班人,接班人,备注\n"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {"paths": {"state_dir": str(tmp_path / "var")}, "ingest": {"drop_dir": str(tmp_path / "drop")}}
    )


def _write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _door_events(store: Store) -> list[tuple[datetime, str, str, str, str, str]]:
    with store.session() as s:
        rows = s.execute(
            select(
                DoorEvent.at,
                DoorEvent.person_id,
                DoorEvent.card_no,
                DoorEvent.direction,
                DoorEvent.result,
                DoorEvent.dedupe_key,
            ).order_by(DoorEvent.at)
        ).all()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_door_csv_in_chinese_encodings_is_stored_in_utc(
    store: Store, config: Config, tmp_path: Path, encoding: str
) -> None:
    result = ingest_file(
        store, config, "door", _write(tmp_path / "door.csv", DOOR_HEADER + DOOR_ROWS, encoding)
    )
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 3, 0)
    events = _door_events(store)
    assert [e[0] for e in events] == [
        datetime(2026, 11, 2, 0, 31, 5, tzinfo=UTC),
        datetime(2026, 11, 2, 9, 45, tzinfo=UTC),
        datetime(2026, 11, 2, 13, 2, tzinfo=UTC),
    ]
    assert [(e[3], e[4]) for e in events] == [("in", "granted"), ("out", "granted"), ("", "denied")]
    assert events[0][5] == "dev:DS-K1T671-01#10234"
    assert events[2][5] == "evt:3005129999|机房A门|2026-11-02T13:02:00Z"
    with store.session() as s:
        batch_ids = set(s.scalars(select(DoorEvent.batch_id)))
    assert batch_ids == {result.batch_id}


def test_the_same_door_file_twice_is_a_duplicate(store: Store, config: Config, tmp_path: Path) -> None:
    path = _write(tmp_path / "door.csv", DOOR_HEADER + DOOR_ROWS, "utf-8")
    assert ingest_file(store, config, "door", path).status == "accepted"
    again = ingest_file(store, config, "door", path)
    assert again.status == "duplicate"
    assert len(_door_events(store)) == 3


def test_the_same_events_in_two_files_are_stored_once(store: Store, config: Config, tmp_path: Path) -> None:
    first = _write(tmp_path / "a.csv", DOOR_HEADER + DOOR_ROWS, "utf-8")
    # an overlapping export as a spreadsheet: the same three events (English direction/result), one new
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["time", "person_id", "name", "card_no", "door", "direction", "result", "device", "serial_no"])
    ws.append(
        [
            datetime(2026, 11, 2, 8, 31, 5),
            "YW-0007",
            "张伟",
            3005120417,
            "机房A门",
            "in",
            "granted",
            "DS-K1T671-01",
            10234,
        ]
    )
    ws.append(
        [
            "2026-11-02T09:45:00+00:00",
            "YW-0007",
            "张伟",
            "3005120417",
            "机房A门",
            "out",
            "granted",
            None,
            None,
        ]
    )
    ws.append([datetime(2026, 11, 2, 21, 2), None, None, 3005129999, "机房A门", None, "denied", None, None])
    ws.append([datetime(2026, 11, 2, 22, 0), "YW-0008", "李强", None, "机房A门", "进", "通过", None, None])
    second = tmp_path / "b.xlsx"
    wb.save(second)

    a = ingest_file(store, config, "door", first)
    b = ingest_file(store, config, "door", second)
    assert (a.rows_ok, a.rows_duplicate) == (3, 0)
    assert (b.status, b.rows_total, b.rows_ok, b.rows_duplicate) == ("accepted", 4, 1, 3)
    events = _door_events(store)
    assert len(events) == 4
    assert events[-1][1] == "YW-0008"


def test_bad_door_rows_are_row_errors_naming_row_column_and_value(
    store: Store, config: Config, tmp_path: Path
) -> None:
    text = (
        "时间,工号,姓名,卡号,门禁点,方向,结果\n"
        "2026-11-02 08:00:00,YW-0007,张伟,3005120417,机房A门,进,成功\n"
        "昨天早上,YW-0007,张伟,3005120417,机房A门,进,成功\n"
        "2026-11-02 09:00:00,YW-0007,张伟,,机房A门,上楼,成功\n"
        "2026-11-02 09:10:00,YW-0007,张伟,,机房A门,出,也许\n"
        "2026-11-02 09:20:00,,王五,,机房A门,出,成功\n"
    )
    result = ingest_file(store, config, "door", _write(tmp_path / "bad.csv", text, "gb18030"))
    assert (result.status, result.rows_ok, result.rows_bad) == ("partial", 1, 4)
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (3, "时间", "昨天早上"),
        (4, "方向", "上楼"),
        (5, "结果", "也许"),
        (6, "工号", ""),
    ]
    neither = result.errors[-1].reason
    assert "工号" in neither and "卡号" in neither
    with store.session() as s:
        stored = s.execute(
            select(RowError.row, RowError.column, RowError.value).where(RowError.batch_id == result.batch_id)
        ).all()
    assert sorted(tuple(r) for r in stored) == [
        (3, "时间", "昨天早上"),
        (4, "方向", "上楼"),
        (5, "结果", "也许"),
        (6, "工号", ""),
    ]
    assert len(_door_events(store)) == 1


def _shifts(store: Store) -> list[tuple[date, str, list[str], datetime | None, str]]:
    with store.session() as s:
        rows = s.execute(
            select(
                HandoverShift.date,
                HandoverShift.shift,
                HandoverShift.on_duty,
                HandoverShift.handover_at,
                HandoverShift.taken_over_by,
            ).order_by(HandoverShift.date, HandoverShift.shift)
        ).all()
    return [tuple(r) for r in rows]


def test_handover_sheet_in_gb18030_and_a_corrected_xlsx_replaces_the_row(
    store: Store, config: Config, tmp_path: Path
) -> None:
    text = SHEET_HEADER + (
        "2026-11-02,白班,张伟、YW-0008，王芳,08:00,李强,张伟,\n"
        "2026-11-02,夜班,赵六 / 孙七,2026-11-03 08:00,张伟,赵六,\n"
        "2026-11-03,白班,,,,,无人值守\n"
    )
    first = ingest_file(store, config, "handover", _write(tmp_path / "sheet.csv", text, "gb18030"))
    assert (first.status, first.rows_ok, first.rows_bad) == ("accepted", 3, 0)
    assert _shifts(store) == [
        (date(2026, 11, 2), "夜班", ["赵六", "孙七"], datetime(2026, 11, 3, 0, 0, tzinfo=UTC), "赵六"),
        (
            date(2026, 11, 2),
            "白班",
            ["张伟", "YW-0008", "王芳"],
            datetime(2026, 11, 2, 0, 0, tzinfo=UTC),
            "张伟",
        ),
        (date(2026, 11, 3), "白班", [], None, ""),
    ]

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["交接班表（更正）"])
    ws.append(["日期", "班次", "值班人员", "交接时间", "交班人", "接班人", "备注"])
    ws.append([datetime(2026, 11, 3), "白班", "周八;吴九", time(8, 10), "赵六", "周八", "已补登"])
    corrected = tmp_path / "sheet-corrected.xlsx"
    wb.save(corrected)
    second = ingest_file(store, config, "handover", corrected)
    assert (second.status, second.rows_ok) == ("accepted", 1)
    shifts = _shifts(store)
    assert len(shifts) == 3
    assert shifts[2] == (
        date(2026, 11, 3),
        "白班",
        ["周八", "吴九"],
        datetime(2026, 11, 3, 0, 10, tzinfo=UTC),
        "周八",
    )
    with store.session() as s:
        replaced = s.scalar(select(HandoverShift.batch_id).where(HandoverShift.date == date(2026, 11, 3)))
        kept = s.scalar(
            select(func.count()).select_from(HandoverShift).where(HandoverShift.batch_id == first.batch_id)
        )
    assert replaced == second.batch_id
    assert kept == 2


def test_bad_handover_rows_are_row_errors(store: Store, config: Config, tmp_path: Path) -> None:
    text = SHEET_HEADER + (
        "2026-11-02,白班,张伟,08:00,李强,张伟,\n"
        "11月2日左右,白班,张伟,08:00,李强,张伟,\n"
        "2026-11-04,,张伟,08:00,李强,张伟,\n"
        "2026-11-05,白班,张伟,25:00,李强,张伟,\n"
    )
    result = ingest_file(store, config, "handover", _write(tmp_path / "bad.csv", text, "utf-8-sig"))
    assert (result.status, result.rows_ok, result.rows_bad) == ("partial", 1, 3)
    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (3, "日期", "11月2日左右"),
        (4, "班次", ""),
        (5, "交接时间", "25:00"),
    ]
    assert len(_shifts(store)) == 1
