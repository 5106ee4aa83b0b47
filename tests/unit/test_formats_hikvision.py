"""Hikvision AcsEvent items as door rows: the pure mapping (readers, defaults, event codes, faults) and the
file shapes.

Data-file cases: each tests/data/hikvision/<case>.json has a <case>.expected.json beside it, read as a file
of the device "机房A区门禁" with no readers configured (the documented default: door "<device>门<doorNo>",
reader 1 in, reader 2 out): the rows as [number, *cells], the faults as [number, words of the English
reason], the ignored events by reason, or the whole-file error.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from ops_watch.config import Config
from ops_watch.formats import zkbiotime
from ops_watch.formats.hikvision import (
    FORMAT_NAME,
    acs_rows,
    default_door,
    detect,
    device_for_file,
    rows,
)
from ops_watch.formats.tabular import TableError
from ops_watch.formats.vendor import DOOR_HEADER, VendorContext, formats_for, open_vendor_json

DATA = Path(__file__).resolve().parent.parent / "data" / "hikvision"
CASES = sorted(p for p in DATA.glob("*.json") if not p.name.endswith(".expected.json"))
DEVICE = "机房A区门禁"


def config(*devices: dict[str, Any], **hikvision: Any) -> Config:
    doors: dict[str, Any] = {"devices": list(devices)}
    if hikvision:
        doors["hikvision"] = hikvision
    return Config.model_validate({"doors": doors})


def hik(name: str = DEVICE, *readers: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "vendor": "hikvision", "readers": list(readers)}


READERS = (
    {"door_no": 1, "reader_no": 1, "door": "机房A区门", "direction": "in"},
    {"door_no": 1, "reader_no": 2, "door": "机房A区门", "direction": "out"},
    {"door_no": 2, "reader_no": 1, "door": "运维值班室", "direction": ""},
)


def event(**over: Any) -> dict[str, Any]:
    base = {
        "major": 5,
        "minor": 1,
        "time": "2026-11-02T08:31:05+08:00",
        "cardNo": "3005120417",
        "name": "张伟",
        "cardReaderNo": 1,
        "doorNo": 1,
        "employeeNoString": "YW-0007",
        "serialNo": 42970,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def mapped(items: list[Any], cfg: Config, first_number: int = 1) -> tuple[list[Any], VendorContext]:
    ctx = VendorContext(config=cfg)
    device = cfg.doors.devices[0]
    out = [
        (r.number, r.cells, r.fault.en if r.fault else "", r.fault.zh if r.fault else "")
        for r in acs_rows(items, device, cfg.doors.hikvision, ctx, first_number=first_number)
    ]
    return out, ctx


# ---- the mapping ----------------------------------------------------------------------------------


def test_cells_follow_the_door_header_with_the_readers_door_and_direction() -> None:
    cfg = config(hik(DEVICE, *READERS))
    out, ctx = mapped(
        [
            event(),
            event(cardReaderNo=2, serialNo=42971, time="2026-11-02T17:45:00+08:00"),
            event(doorNo=2, cardReaderNo=1, minor=75, cardNo=None, serialNo=42972),
        ],
        cfg,
    )
    assert [o[1] for o in out] == [
        [
            "2026-11-02T08:31:05+08:00",
            "YW-0007",
            "张伟",
            "3005120417",
            "机房A区门",
            "in",
            "granted",
            DEVICE,
            "42970",
        ],
        [
            "2026-11-02T17:45:00+08:00",
            "YW-0007",
            "张伟",
            "3005120417",
            "机房A区门",
            "out",
            "granted",
            DEVICE,
            "42971",
        ],
        ["2026-11-02T08:31:05+08:00", "YW-0007", "张伟", "", "运维值班室", "", "granted", DEVICE, "42972"],
    ]
    assert len(out[0][1]) == len(DOOR_HEADER)
    assert ctx.detail == {}


def test_without_readers_the_door_is_named_after_the_device_and_readers_1_2_are_in_out() -> None:
    cfg = config(hik())
    out, _ = mapped(
        [
            event(cardReaderNo=1),
            event(cardReaderNo=2),
            event(doorNo=4, cardReaderNo=3),
            event(cardReaderNo=None),
        ],
        cfg,
    )
    assert [(o[1][4], o[1][5]) for o in out] == [
        (f"{DEVICE}门1", "in"),
        (f"{DEVICE}门1", "out"),
        (f"{DEVICE}门4", ""),
        (f"{DEVICE}门1", ""),
    ]
    assert default_door("东门控制器", 2) == "东门控制器门2"


def test_granted_and_denied_come_from_the_minor_and_other_events_are_counted_not_rows() -> None:
    cfg = config(hik())
    out, ctx = mapped(
        [
            event(minor=1),  # MINOR_LEGAL_CARD_PASS
            event(minor=0x4B),  # MINOR_FACE_VERIFY_PASS
            event(minor=9),  # MINOR_INVALID_CARD
            event(minor=0x19),  # MINOR_DOOR_OPEN_NORMAL: not a passage
            event(minor=0x19, serialNo=2),
            event(minor=0x1A),  # MINOR_DOOR_CLOSE_NORMAL
            event(major=3, minor=0x70),  # an operation, whatever its minor
        ],
        cfg,
    )
    assert [(o[0], o[1][6]) for o in out] == [(1, "granted"), (2, "granted"), (3, "denied")]
    assert ctx.detail["ignored_events"] == {
        "major 5 minor 25": 2,
        "major 5 minor 26": 1,
        "major 3 minor 112": 1,
    }


def test_configured_codes_replace_the_defaults() -> None:
    cfg = config(hik(), major=5, granted=[0x19], denied=[0x4B])
    out, ctx = mapped([event(minor=0x19), event(minor=0x4B), event(minor=1)], cfg)
    assert [o[1][6] for o in out] == ["granted", "denied"]
    assert ctx.detail["ignored_events"] == {"major 5 minor 1": 1}


def test_person_id_is_employee_no_string_else_employee_no_and_numbers_follow_the_items() -> None:
    cfg = config(hik())
    out, _ = mapped(
        [
            event(employeeNoString="YW-0007", employeeNo=7),
            event(minor=0x1A),
            event(employeeNoString=None, employeeNo=8, serialNo="42980"),
        ],
        cfg,
        first_number=31,
    )
    assert [(o[0], o[1][1], o[1][8]) for o in out] == [(31, "YW-0007", "42970"), (33, "8", "42980")]


def test_an_unknown_reader_is_a_fault_naming_the_device_the_reader_and_the_config_key() -> None:
    cfg = config(hik(DEVICE, *READERS))
    out, _ = mapped(
        [event(), event(doorNo=2, cardReaderNo=2, serialNo=42971), event(doorNo=3, cardReaderNo=None)], cfg
    )
    assert out[0][2] == ""
    number, cells, en, zh = out[1]
    assert number == 2
    assert DEVICE in en and "doorNo=2, cardReaderNo=2" in en and "doors.devices" in en
    assert "door_no = 2, reader_no = 2" in en
    assert DEVICE in zh and "doorNo=2, cardReaderNo=2" in zh and "doors.devices" in zh
    assert cells[1] == "YW-0007" and cells[8] == "42971"  # what is known is kept for the report
    assert "doorNo=3, cardReaderNo=(none)" in out[2][2]


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (event(time=None), "no time"),
        (event(time="  "), "no time"),
        (event(serialNo=None), "no serialNo"),
        (event(doorNo=None), "no doorNo"),
        (event(doorNo="A"), "no doorNo"),
        (event(time=None, serialNo=None), "no time, serialNo"),
        (event(minor=None), "no major/minor"),
        (event(major="x"), "no major/minor"),
        (["not", "an", "object"], "must be a JSON object"),
        (None, "must be a JSON object"),
    ],
)
def test_an_event_that_cannot_be_mapped_is_a_fault_never_dropped(item: Any, words: str) -> None:
    out, _ = mapped([item], config(hik()))
    assert len(out) == 1
    number, _, en, zh = out[0]
    assert number == 1 and words in en, en
    assert DEVICE in en and DEVICE in zh


def test_a_non_passage_without_door_or_serial_is_only_counted() -> None:
    out, ctx = mapped([{"major": 5, "minor": 0x1B}], config(hik()))
    assert out == [] and ctx.detail["ignored_events"] == {"major 5 minor 27": 1}


# ---- the file format ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_data_file_cases(case: Path) -> None:
    expected = json.loads(case.with_name(case.stem + ".expected.json").read_text(encoding="utf-8"))
    document = json.loads(case.read_text(encoding="utf-8"))
    assert detect(document)
    ctx = VendorContext(config=config(hik()), file_stem=f"{DEVICE}_2026-11")
    if "error" in expected:
        with pytest.raises(TableError) as err:
            list(rows(document, ctx))
        assert expected["error"] in err.value.problem.en
        return
    got = list(rows(document, ctx))
    assert [[r.number, *r.cells] for r in got if r.fault is None] == expected["rows"]
    faults = [(r.number, r.fault.en) for r in got if r.fault is not None]
    assert [n for n, _ in faults] == [n for n, _ in expected["faults"]]
    for (_, en), (_, words) in zip(faults, expected["faults"], strict=True):
        assert words in en, en
    assert ctx.detail.get("ignored_events", {}) == expected["ignored"]
    assert ctx.detail["device"] == DEVICE


@pytest.mark.parametrize(
    ("document", "found"),
    [
        ({"AcsEvent": {"responseStatusStrg": "NO MATCH"}}, True),
        ([{"AcsEvent": {}}, {"AcsEvent": {"InfoList": []}}], True),
        ([], False),
        ([{"AcsEvent": {}}, {"count": 1, "data": []}], False),
        ({"AcsEvent": []}, False),
        ({"count": 1, "next": None, "data": []}, False),
        ({"statusCode": 4, "subStatusCode": "notSupport"}, False),
    ],
)
def test_detect(document: Any, found: bool) -> None:
    assert detect(document) is found
    if found:
        assert not zkbiotime.detect(document)  # the two door formats never claim the same file


def test_the_format_is_registered_for_door_files() -> None:
    assert FORMAT_NAME in [f.name for f in formats_for("door")]


def test_the_device_is_the_longest_configured_name_the_file_name_starts_with() -> None:
    cfg = config(
        hik("门禁"),
        hik("门禁2"),
        {"name": "门禁2号楼", "vendor": "zkbiotime"},  # not a Hikvision device: never matched
    )
    assert device_for_file(cfg, "门禁2号楼_2026-11").name == "门禁2"
    assert device_for_file(cfg, "门禁_2026-11").name == "门禁"


def test_a_file_of_no_configured_device_is_refused_naming_the_stem_and_the_devices() -> None:
    cfg = config(hik("机房A区门禁"), hik("东门控制器"))
    with pytest.raises(TableError) as err:
        device_for_file(cfg, "acs_export_2026-11")
    en, zh = err.value.problem.en, err.value.problem.zh
    assert "acs_export_2026-11" in en and "'机房A区门禁', '东门控制器'" in en
    assert "<device name>…json" in en and "[[doors.devices]]" in en
    assert "acs_export_2026-11" in zh and "「机房A区门禁」、「东门控制器」" in zh


def test_the_refusal_comes_when_the_rows_are_read(tmp_path: Path) -> None:
    path = tmp_path / "unnamed.json"
    shutil.copy(DATA / "acsevent_pages.json", path)
    table = open_vendor_json(path, "door", config(hik()))
    it = table.rows()
    assert next(it).cells == list(DOOR_HEADER)
    with pytest.raises(TableError) as err:
        next(it)
    assert "'unnamed'" in err.value.problem.en and repr(DEVICE) in err.value.problem.en


# --- attendance terminals and devices tied by configuration ----------------------------------------------


@pytest.mark.parametrize(
    ("status", "reader", "direction"),
    [
        ("checkIn", 2, "in"),  # what the person pressed wins over the reader's default (2 = out)
        ("breakIn", 2, "in"),
        ("checkOut", 1, "out"),
        ("breakOut", 1, "out"),
        ("undefined", 1, "in"),  # no status: the reader's direction
        (None, 2, "out"),
    ],
)
def test_attendance_status_gives_the_direction(status: str | None, reader: int, direction: str) -> None:
    out, _ = mapped([event(attendanceStatus=status, cardReaderNo=reader)], config(hik()))
    assert out[0][1][DOOR_HEADER.index("direction")] == direction


def test_a_single_door_terminal_names_its_events_door() -> None:
    cfg = config({"name": "入口人脸机", "vendor": "hikvision", "door": "大楼入口"})
    out, _ = mapped([event(attendanceStatus="checkOut")], cfg)
    cells = out[0][1]
    assert cells[DOOR_HEADER.index("door")] == "大楼入口" and cells[DOOR_HEADER.index("direction")] == "out"


def test_a_file_in_a_device_subfolder_is_that_devices_whatever_its_name(tmp_path: Path) -> None:
    cfg = config(
        hik(DEVICE),
        {"name": "入口人脸机", "vendor": "hikvision", "door": "大楼入口", "match": ["DS-K1T671MF001"]},
    )
    assert device_for_file(cfg, "export_20261102", ("入口人脸机",)).name == "入口人脸机"
    assert device_for_file(cfg, "export", ("ds-k1t671mf001",)).name == "入口人脸机"  # a match value
    # An unrelated subfolder: the file name still names the device; neither: refused naming both ways.
    assert device_for_file(cfg, f"{DEVICE}_11月", ("2026-11",)).name == DEVICE
    with pytest.raises(TableError) as err:
        device_for_file(cfg, "export", ("2026-11",))
    assert (
        "drop/door/<device name>/" in err.value.problem.en and "drop/door/<设备名称>/" in err.value.problem.zh
    )
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"AcsEvent": {"InfoList": [event()]}}), encoding="utf-8")
    with open_vendor_json(path, "door", cfg, ("入口人脸机",)) as table:
        rows_read = list(table.rows())
    assert rows_read[1].cells[DOOR_HEADER.index("device")] == "入口人脸机"
    assert rows_read[1].cells[DOOR_HEADER.index("door")] == "大楼入口"


def test_a_device_name_or_match_value_names_one_device() -> None:
    with pytest.raises(ValueError, match=r"match\[0\].*already names the device"):
        config(hik("A"), {"name": "B", "vendor": "hikvision", "match": ["a"]})
