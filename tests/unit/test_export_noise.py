"""What real exports put around their data: notes under the table, "--" where a console had no value."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_watch import plugins
from ops_watch.formats import get_kind
from ops_watch.formats.records import is_note_row, read_records
from ops_watch.formats.spec import ParseContext
from ops_watch.formats.tabular import open_table

plugins.load()


def _read(tmp_path: Path, kind: str, text: str, encoding: str = "utf-8") -> tuple[list, list]:
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(text.encode(encoding))
    with open_table(path) as table:
        stream = read_records(get_kind(kind), table.rows(), ParseContext())
        rows = list(stream.rows)
    return [r.record for r in rows if r.record], [
        (r.number, f.label, f.value) for r in rows for f in r.faults
    ]


@pytest.mark.parametrize(
    "cells",
    [
        ["注：证书以原件核验为准。", "", ""],
        ["", "制表人：王芳", None],
        ["合计", None, ""],
        ["Note: exported from the console", ""],
        ["＊以上数据截至月底", ""],
    ],
)
def test_a_single_cell_starting_like_a_note_is_a_note(cells: list) -> None:
    assert is_note_row(cells)


@pytest.mark.parametrize(
    "cells",
    [["注：a", "HX-101"], ["张伟", "", ""], [42, "", ""], ["", "", ""], ["注册中心", ""]],
)
def test_data_rows_and_two_filled_cells_are_not_notes(cells: list) -> None:
    # "注册中心" starts with 注 too: one filled cell only makes it a note when the row is refused anyway.
    assert is_note_row(cells) is (cells == ["注册中心", ""])


def test_a_note_under_the_table_is_not_a_refused_row(tmp_path: Path) -> None:
    records, faults = _read(
        tmp_path,
        "utilization",
        "资源ID,时间,CPU使用率(%)\nVM-1,2026-11-02 08:00,5\nVM-1,2026-11-02 09:00,6\n注：数据来自云管平台导出,,\n",
    )
    assert [r.cpu_pct for r in records] == [5.0, 6.0] and faults == []


def test_a_note_row_that_is_real_data_still_gets_its_fault(tmp_path: Path) -> None:
    # Two filled cells: a row the clerk got wrong, not a note; it is refused and named.
    _, faults = _read(tmp_path, "utilization", "资源ID,时间,CPU使用率(%)\n注：VM-1,not a time,\n")
    assert faults and faults[0][0] == 2


def test_a_consoles_no_value_mark_is_an_empty_optional_cell(tmp_path: Path) -> None:
    records, faults = _read(
        tmp_path,
        "utilization",
        "资源ID,时间,CPU使用率(%),内存使用率(%)\nVM-1,2026-11-02 08:00,5,--\nVM-1,2026-11-02 09:00,N/A,40\nVM-1,2026-11-02 10:00,—,41\n",
        "gb18030",
    )
    assert faults == []
    assert [(r.cpu_pct, r.mem_pct) for r in records] == [(5.0, None), (None, 40.0), (None, 41.0)]


def test_a_no_value_mark_in_a_required_cell_is_refused_as_empty(tmp_path: Path) -> None:
    _, faults = _read(tmp_path, "utilization", "资源ID,时间,CPU使用率(%)\nVM-1,--,5\n")
    assert faults == [(2, "时间", "--")]
