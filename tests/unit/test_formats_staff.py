"""The staff kind: data-file cases, card numbers and certificates as people write them, an XLSX registry."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import format_cases
import openpyxl
import pytest

from ops_watch.areas.staffing.kind_staff import certificates
from ops_watch.formats import get_kind
from ops_watch.formats.records import read_records
from ops_watch.formats.spec import CellError, ParseContext
from ops_watch.formats.tabular import open_table

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"
CTX = ParseContext()
STAFF = get_kind("staff")


def run_case(path: Path) -> dict[str, Any]:
    return format_cases.run_case("staff", path, CTX)


CASES = sorted((DATA / "staff").glob("*.csv"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_staff_data_file_cases(case: Path) -> None:
    expected = json.loads(case.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert run_case(case) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("CISP:2027-06-30; 等保测评师:2026-12-31", [("CISP", "2027-06-30"), ("等保测评师", "2026-12-31")]),
        ("CISP：2027/06/30；PMP", [("CISP", "2027-06-30"), ("PMP", None)]),
        (
            "华为 HCIE-Cloud:20270331\n信息系统项目管理师:",
            [("华为 HCIE-Cloud", "2027-03-31"), ("信息系统项目管理师", None)],
        ),
        ("  ", []),
    ],
)
def test_certificates_with_and_without_expiry(cell: str, expected: list[tuple[str, str | None]]) -> None:
    assert certificates(cell, CTX) == [{"name": n, "expires": e} for n, e in expected]


@pytest.mark.parametrize("cell", ["CISP:明年", ":2027-01-01", "CISP:2027-02-30"])
def test_certificates_that_are_refused_name_the_entry(cell: str) -> None:
    with pytest.raises(CellError) as err:
        certificates(cell, CTX)
    assert err.value.problem.zh and err.value.problem.en


def test_an_xlsx_registry_with_a_title_row_real_dates_and_numeric_cards(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某运维公司驻场人员花名册（2026年11月）"])
    ws.append(["工号", "姓名", "门禁卡号", "岗位", "公司", "入职日期", "离职日期", "证书"])
    ws.append(
        ["YW-001", "王建国", 3005120401, "值班长", "安澜云", datetime(2021, 3, 1), None, "CISP:2027-06-30"]
    )
    ws.append(
        [
            1002,
            "李娜",
            "3005120402 3005120413",
            "驻场工程师",
            "安澜云",
            "2021-03-01",
            datetime(2026, 10, 15),
            None,
        ]
    )
    path = tmp_path / "staff.xlsx"
    wb.save(path)
    with open_table(path) as table:
        stream = read_records(STAFF, table.rows(), CTX)
        rows = list(stream.rows)
    assert stream.header_row == 2
    assert [r.faults for r in rows] == [[], []]
    first, second = (r.record for r in rows)
    assert first.card_numbers == ["3005120401"] and first.active_from == date(2021, 3, 1)
    assert first.certificates == [{"name": "CISP", "expires": "2027-06-30"}]
    assert second.person_id == "1002" and second.card_numbers == ["3005120402", "3005120413"]
    assert second.active_to == date(2026, 10, 15) and second.certificates == []


def test_records_do_not_share_list_defaults() -> None:
    with open_table(DATA / "staff" / "registry_utf8_bom.csv") as table:
        records = [r.record for r in read_records(STAFF, table.rows(), CTX).rows]
    empty = records[2]
    assert empty.card_numbers == [] and empty.certificates == []
    empty.card_numbers.append("x")
    with open_table(DATA / "staff" / "registry_utf8_bom.csv") as table:
        again = [r.record for r in read_records(STAFF, table.rows(), CTX).rows]
    assert again[2].card_numbers == []


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("CISP/电工证", [("CISP", None), ("电工证", None)]),  # a / between names, not inside a date
        ("CISP:2027/06/30/电工证:长期", [("CISP", "2027-06-30"), ("电工证", None)]),
        ("电工证（有效期至 2028-03-31）", [("电工证", "2028-03-31")]),
        ("高压电工证(2027年6月30日到期)、PMP", [("高压电工证", "2027-06-30"), ("PMP", None)]),
        ("无", []),
    ],
)
def test_certificates_as_other_registries_write_them(
    cell: str, expected: list[tuple[str, str | None]]
) -> None:
    assert certificates(cell, CTX) == [{"name": n, "expires": e} for n, e in expected]


def records_of(tmp_path: Path, text: str) -> tuple[list[Any], list[Any]]:
    path = tmp_path / "registry.csv"
    path.write_text(text, encoding="utf-8")
    with open_table(path) as table:
        rows = list(read_records(STAFF, table.rows(), CTX).rows)
    return [r.record for r in rows if r.record], [(r.number, f.column) for r in rows for f in r.faults]


def test_other_header_spellings_and_missing_optional_columns(tmp_path: Path) -> None:
    """人员编号/人员姓名/角色/入场日期/离场日期 are known; a registry without cards, employer, role, dates or
    certificates is read, not refused."""
    records, faults = records_of(
        tmp_path, "人员编号,人员姓名,角色,入场日期,离场日期\nS01,王建国,值班长,2025-03-01,2026-12-31\n"
    )
    assert faults == []
    (r,) = records
    assert (r.person_id, r.name, r.role, r.active_from, r.active_to) == (
        "S01",
        "王建国",
        "值班长",
        date(2025, 3, 1),
        date(2026, 12, 31),
    )
    records, faults = records_of(tmp_path, "工号,姓名\nS02,李娜\n")
    assert faults == [] and records[0].active_from is None and records[0].certificates == []


def test_expiry_beside_the_names_and_numbered_certificate_columns(tmp_path: Path) -> None:
    records, faults = records_of(
        tmp_path,
        "工号,姓名,资质证书1,证书有效期1,资质证书2,证书有效期2,资质证书3,证书有效期3\n"
        "S01,王建国,CISP,2027-06-30,电工证,2026/10/31,,\n"
        "S02,李娜,PMP,长期,,,等保测评师:2026-12-31,\n",
    )
    assert faults == []
    assert [c for r in records for c in r.certificates] == [
        {"name": "CISP", "expires": "2027-06-30"},
        {"name": "电工证", "expires": "2026-10-31"},
        {"name": "PMP", "expires": None},
        {"name": "等保测评师", "expires": "2026-12-31"},
    ]
    # An expiry with no certificate, a count that differs, two different dates for one: each names its column.
    _, faults = records_of(
        tmp_path,
        "工号,姓名,资质证书,有效期至,资质证书2,证书有效期2\n"
        "S01,王建国,,2027-06-30,,\n"
        "S02,李娜,CISP、PMP,2027-06-30,,\n"
        "S03,张伟,CISP:2027-06-30,2028-01-01,,\n"
        "S04,刘洋,,,电工证,明年\n",
    )
    assert faults == [
        (2, "certificates"),
        (3, "certificate_expiry"),
        (4, "certificate_expiry"),
        (5, "certificate_expiry_2"),
    ]
