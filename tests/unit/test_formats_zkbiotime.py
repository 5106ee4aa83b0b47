"""ZKBioTime transactions as door rows: the pure mapping (punch_state, terminals, faults) and the file shapes.

Data-file cases: each tests/data/zkbiotime/<case>.json has a <case>.expected.json beside it, read with no
terminals configured (the documented default: door = terminal alias): the rows as [number, *cells], the
faults as [number, words of the English reason], or the whole-file error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ops_watch.config import Config
from ops_watch.formats.tabular import TableError
from ops_watch.formats.vendor import DOOR_HEADER, VendorContext, formats_for, open_vendor_json
from ops_watch.formats.zkbiotime import (
    FORMAT_NAME,
    detect,
    punch_direction,
    records_of,
    terminal_doors,
    transaction_rows,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "zkbiotime"
CASES = sorted(p for p in DATA.glob("*.json") if not p.name.endswith(".expected.json"))

SN_DUTY, SN_ROOM, SN_OTHER = "CJDE193560303", "CJDE193560304", "CJDE193569999"


def config(*devices: dict[str, Any]) -> Config:
    return Config.model_validate({"doors": {"devices": list(devices)}})


def zk(name: str, *terminals: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "vendor": "zkbiotime", "terminals": list(terminals)}


def record(**over: Any) -> dict[str, Any]:
    base = {
        "id": 501,
        "emp_code": "YW-0007",
        "first_name": "张伟",
        "last_name": "",
        "punch_time": "2026-11-02 08:31:05",
        "punch_state": "0",
        "verify_type": 1,
        "terminal_sn": SN_DUTY,
        "terminal_alias": "值班室考勤机",
        "area_alias": "总部",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def cells(records: list[Any], cfg: Config, first_number: int = 1) -> list[tuple[int, list[Any], str]]:
    ctx = VendorContext(config=cfg)
    return [
        (r.number, r.cells, r.fault.en if r.fault else "")
        for r in transaction_rows(records, cfg, ctx, first_number=first_number)
    ]


@pytest.mark.parametrize(
    ("state", "direction"),
    [
        (0, "in"),
        ("0", "in"),
        ("3", "in"),
        (4, "in"),
        (1, "out"),
        ("1", "out"),
        (2, "out"),
        (" 5 ", "out"),
        (255, ""),
        ("255", ""),
        (None, ""),
        ("", ""),
        ("check-in", ""),
        (True, ""),
    ],
)
def test_punch_state_gives_the_direction(state: Any, direction: str) -> None:
    assert punch_direction(state) == direction


def test_a_punch_becomes_a_granted_row_keyed_by_terminal_and_id() -> None:
    [(number, row, fault)] = cells([record(card_no="3005120417")], config())
    assert (number, fault) == (1, "")
    assert dict(zip(DOOR_HEADER, row, strict=True)) == {
        "time": "2026-11-02 08:31:05",  # kept as the server gives it: naive site time
        "person_id": "YW-0007",
        "name": "张伟",
        "card_no": "3005120417",
        "door": "值班室考勤机",
        "direction": "in",
        "result": "granted",
        "device": SN_DUTY,
        "serial_no": "501",
    }


def test_without_terminals_the_door_is_the_alias_else_the_area_else_the_serial() -> None:
    rows = cells(
        [
            record(id=1),
            record(id=2, terminal_alias=""),
            record(id=3, terminal_alias=None, area_alias=None),
            record(id=4, punch_state=1),
        ],
        config(zk("考勤服务器")),  # a zkbiotime device without terminals: the default applies
    )
    assert [(r[4], r[5]) for _, r, _ in rows] == [
        ("值班室考勤机", "in"),
        ("总部", "in"),
        (SN_DUTY, "in"),
        ("值班室考勤机", "out"),
    ]


def test_configured_terminals_give_the_door_and_the_direction() -> None:
    cfg = config(
        zk(
            "考勤服务器",
            {"terminal_sn": SN_DUTY, "door": "运维值班室", "direction": "punch_state"},
            {"terminal_sn": SN_ROOM, "door": "机房A区门", "direction": "in"},
        ),
        zk("二号楼", {"terminal_sn": SN_OTHER, "door": "二号楼机房", "direction": ""}),
        {"name": "海康门禁", "vendor": "hikvision"},
    )
    rows = cells(
        [
            record(id=1, punch_state="1"),
            record(id=2, punch_state="255"),
            record(id=3, terminal_sn=SN_ROOM, punch_state="1"),  # fixed "in" wins over the punch's check-out
            record(id=4, terminal_sn=SN_OTHER, punch_state="0"),
        ],
        cfg,
    )
    assert [(r[4], r[5], f) for _, r, f in rows] == [
        ("运维值班室", "out", ""),
        ("运维值班室", "", ""),
        ("机房A区门", "in", ""),
        ("二号楼机房", "", ""),
    ]
    assert set(terminal_doors(cfg)) == {SN_DUTY, SN_ROOM, SN_OTHER}


def test_an_unlisted_terminal_is_a_fault_naming_it_and_the_config_key() -> None:
    cfg = config(zk("考勤服务器", {"terminal_sn": SN_DUTY, "door": "运维值班室"}))
    rows = list(
        transaction_rows([record(id=1), record(id=2, terminal_sn=SN_OTHER, terminal_alias="后门")], cfg)
    )
    assert rows[0].fault is None
    fault = rows[1].fault
    assert fault is not None
    for text in (fault.en, fault.zh):
        assert SN_OTHER in text and "后门" in text and "doors.devices[].terminals" in text
    assert rows[1].cells[0] == "2026-11-02 08:31:05"  # the known cells go with the error


@pytest.mark.parametrize("missing", ["id", "emp_code", "punch_time", "terminal_sn"])
def test_a_record_without_a_key_field_is_a_fault_naming_it(missing: str) -> None:
    [(_, _, fault)] = cells([record(**{missing: None})], config())
    assert f"has no {missing}" in fault
    [(_, _, fault)] = cells([record(**{missing: "  "})], config())
    assert f"has no {missing}" in fault


def test_a_record_that_is_not_an_object_is_a_fault_and_numbering_goes_on() -> None:
    rows = cells([record(id=1), ["not", "a", "record"], record(id=3)], config(), first_number=7)
    assert [(n, f != "") for n, _, f in rows] == [(7, False), (8, True), (9, False)]
    assert "must be a JSON object" in rows[1][2]


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"first_name": "John", "last_name": "Smith"}, "John Smith"),
        ({"first_name": "张", "last_name": "伟"}, "张伟"),
        ({"first_name": "", "last_name": "Smith"}, "Smith"),
        ({"first_name": None, "last_name": None, "name": "王芳"}, "王芳"),
        ({"first_name": None, "last_name": None}, ""),
    ],
)
def test_the_name_is_first_and_last_name(fields: dict[str, Any], name: str) -> None:
    [(_, row, _)] = cells([record(**fields)], config())
    assert row[2] == name


def _page(data: Any, **over: Any) -> dict[str, Any]:
    return {
        "count": len(data) if isinstance(data, list) else 0,
        "next": None,
        "previous": None,
        "data": data,
    } | over


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (_page([record()]), True),
        (_page([], code=0, msg=""), True),
        (
            {"code": 401, "msg": "Token 已失效"},
            True,
        ),  # an error answer saved as a file: detected, then refused
        ([_page([record(id=1)]), _page([record(id=2)])], True),
        ([record(), {"emp_code": "x"}], True),
        ([], False),
        ({"data": [record()]}, False),  # no DRF envelope keys: not evidently ZKBioTime
        ({"AcsEvent": {"InfoList": []}}, False),
        ([{"time": "2026-11-02 08:00:00", "person_id": "YW-1"}], False),
        ("text", False),
    ],
)
def test_detect(document: Any, expected: bool) -> None:
    assert detect(document) is expected


def test_an_error_page_or_a_page_without_a_data_list_is_refused() -> None:
    with pytest.raises(TableError) as err:
        records_of([_page([record()]), _page([], code=1, msg="start_time: 时间格式错误")])
    assert "page 2" in err.value.problem.en and "start_time: 时间格式错误" in err.value.problem.en
    assert "第 2 页" in err.value.problem.zh
    with pytest.raises(TableError, match="not a list"):
        records_of(_page("oops", code=0))


def test_the_format_is_registered_for_door_files() -> None:
    assert FORMAT_NAME in [f.name for f in formats_for("door")]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_data_file_case(case: Path) -> None:
    expected = json.loads(case.with_name(case.stem + ".expected.json").read_text(encoding="utf-8"))
    if "error" in expected:
        with pytest.raises(TableError) as err:
            list(open_vendor_json(case, "door", config()).rows())
        assert expected["error"] in err.value.problem.en
        return
    table = open_vendor_json(case, "door", config())
    header, *rows = list(table.rows())
    assert header.cells == list(DOOR_HEADER)
    assert table.detail["format"] == FORMAT_NAME
    assert [[r.number, *r.cells] for r in rows if r.fault is None] == expected["rows"]
    faults = [(r.number, r.fault.en) for r in rows if r.fault is not None]
    assert [n for n, _ in faults] == [n for n, _ in expected["faults"]]
    for (_, reason), (_, words) in zip(faults, expected["faults"], strict=True):
        assert words in reason
