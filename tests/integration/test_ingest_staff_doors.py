"""A registry and door exports as other sites write them, through the ingest (SQLite and PostgreSQL): a person's
certificates on several rows, in several columns and with the expiry beside the name; a door export tied to its
device by its subfolder or by its own 设备序列号 column, with attendance terminals' 考勤状态 as the direction.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from ops_watch.config import Config
from ops_watch.ingest import ingest_drop_folder, ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import DoorEvent, StaffMember


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var")},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
            "doors": {
                "devices": [
                    {
                        "name": "入口人脸机",
                        "vendor": "hikvision",
                        "door": "大楼入口",
                        "match": ["DS-K1T671MF001"],
                    },
                    {"name": "机房门禁", "vendor": "hikvision", "door": "机房B区门"},
                ]
            },
        }
    )


def certificates(store: Store) -> dict[str, list[tuple[str, str | None]]]:
    with store.session() as s:
        return {
            m.person_id: [(c["name"], c["expires"]) for c in m.certificates]
            for m in s.scalars(select(StaffMember))
        }


def test_one_row_per_certificate_merges_and_expiry_columns_pair_with_names(
    store: Store, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "花名册.csv"
    path.write_bytes(
        (
            "员工编号,人员姓名,职务,到岗日期,离岗日期,资质证书,有效期至,资质证书2,证书有效期2\n"
            "S01,王建国,值班长,2025-03-01,,CISP,2027-06-30,电工证,2026-10-31\n"
            "S02,李娜,运维工程师,2025-03-01,,CISP；PMP,2027-01-01；长期,,\n"
            "S03,张伟,运维工程师,2025-03-01,,电工证,2028-03-31,,\n"
            "S03,张伟,运维工程师,2025-03-01,,高压电工证（有效期至 2026-12-31）,,,\n"
            "S04,刘洋,运维工程师,2025-03-01,,无,,,\n"
        ).encode("gb18030")
    )
    result = ingest_file(store, config, "staff", path)
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 4, 0)
    assert certificates(store) == {
        "S01": [("CISP", "2027-06-30"), ("电工证", "2026-10-31")],
        "S02": [("CISP", "2027-01-01"), ("PMP", None)],
        "S03": [("电工证", "2028-03-31"), ("高压电工证", "2026-12-31")],  # two rows, one person
        "S04": [],
    }
    # A later registry replaces a person's certificates (the latest file wins), within it rows still merge.
    later = tmp_path / "花名册-12月.csv"
    later.write_text("工号,姓名,证书,证书有效期\nS03,张伟,电工证,2029-03-31\n", encoding="utf-8")
    assert ingest_file(store, config, "staff", later).status == "accepted"
    assert certificates(store)["S03"] == [("电工证", "2029-03-31")]


def test_an_expiry_count_that_does_not_match_the_names_is_a_row_error_naming_the_column(
    store: Store, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "花名册.csv"
    path.write_text("工号,姓名,资质证书,证书有效期\nS01,王建国,CISP、电工证,2027-06-30\n", encoding="utf-8")
    result = ingest_file(store, config, "staff", path)
    assert result.rows_bad == 1
    (issue,) = [i for i in result.errors if i.row == 2]
    assert issue.column == "证书有效期" and "2" in issue.reason and "1" in issue.reason


def _drop(config: Config, relative: str, data: bytes) -> Path:
    path = config.drop_dir / "door" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    old = path.stat().st_mtime - 60  # settled: the scan leaves files changed in the last seconds
    os.utime(path, (old, old))
    return path


def _events(store: Store) -> list[tuple[str, str, str, str, str]]:
    with store.session() as s:
        rows = s.execute(
            select(
                DoorEvent.person_id,
                DoorEvent.door,
                DoorEvent.direction,
                DoorEvent.device,
                DoorEvent.dedupe_key,
            ).order_by(DoorEvent.at, DoorEvent.id)
        ).all()
    return [tuple(r) for r in rows]


def test_door_exports_are_tied_to_their_device_by_subfolder_and_by_their_own_device_column(
    store: Store, config: Config
) -> None:
    # An attendance terminal's CSV export in the device's subfolder: no door column, 考勤状态 for direction.
    _drop(
        config,
        "机房门禁/导出记录.csv",
        "工号,姓名,考勤时间,考勤状态,流水号\nS01,王建国,2026-11-02 08:10:00,签到,901\nS01,王建国,2026-11-02 11:30:00,签退,902\n".encode(
            "gb18030"
        ),
    )
    # An export naming the device by its serial number (a match value) in a 设备序列号 column.
    _drop(
        config,
        "2026-11/全部设备.csv",
        "人员编号,时间,设备序列号,考勤状态,方向,事件流水号\n"
        "S02,2026-11-02 07:52:00,DS-K1T671MF001,checkIn,,77\n"
        "S02,2026-11-02 20:03:00,ds-k1t671mf001,checkOut,,78\n"
        # A device no entry names, and no door column: this row says how to give its door.
        "S02,2026-11-02 20:04:00,OTHER-DEV,,出,79\n".encode(),
    )
    # A Hikvision AcsEvent JSON export in a subfolder named by the device's match value: no name needed.
    item = {
        "major": 5,
        "minor": 75,
        "time": "2026-11-02T19:40:00+08:00",
        "doorNo": 1,
        "cardReaderNo": 1,
        "employeeNoString": "S03",
        "serialNo": 5001,
        "attendanceStatus": "checkOut",
    }
    _drop(config, "DS-K1T671MF001/page1.json", json.dumps({"AcsEvent": {"InfoList": [item]}}).encode())
    results = ingest_drop_folder(store, config)
    by_name = {r.path.name: r for r in results}
    assert {name: (r.status, r.rows_bad) for name, r in by_name.items()} == {
        "导出记录.csv": ("accepted", 0),
        "全部设备.csv": ("partial", 1),
        "page1.json": ("accepted", 0),
    }
    (issue,) = [i for i in by_name["全部设备.csv"].errors if i.row == 4]
    assert issue.column == "door" and "[[doors.devices]]" in issue.reason
    # Stored under the configured names, with the device's door and the terminals' 考勤状态 as direction.
    assert _events(store) == [
        ("S02", "大楼入口", "in", "入口人脸机", "dev:入口人脸机#77"),
        ("S01", "机房B区门", "in", "机房门禁", "dev:机房门禁#901"),
        ("S01", "机房B区门", "out", "机房门禁", "dev:机房门禁#902"),
        ("S03", "大楼入口", "out", "入口人脸机", "dev:入口人脸机#5001"),
        ("S02", "大楼入口", "out", "入口人脸机", "dev:入口人脸机#78"),
    ]
