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
