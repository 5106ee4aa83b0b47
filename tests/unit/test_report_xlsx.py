"""The weekly report's XLSX: written by ops_watch.report.xlsx, read back with openpyxl as Excel would see it."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from ops_watch.report import xlsx
from ops_watch.report.model import Column, Table
from ops_watch.report.xlsx import sheet_names, write_workbook

FIXED = datetime(2024, 3, 4, 5, 6, 8, tzinfo=UTC)  # far from the clock, so a "now" stamp would show


def _table(rows: list[dict[str, Any]], columns: list[Column] | None = None, **kw: Any) -> Table:
    return Table(
        key=kw.pop("key", "t"),
        title=kw.pop("title", "表"),
        sheet=kw.pop("sheet", "表"),
        columns=columns if columns is not None else [Column("v", "值")],
        rows=rows,
        **kw,
    )


def _write(tables: list[Table], language: str = "zh", when: datetime = FIXED) -> bytes:
    return write_workbook(tables, "运维监管周报 2026-W47", "2026-W47", language, when)


def _open(data: bytes) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any openpyxl complaint about the file fails the test
        return openpyxl.load_workbook(io.BytesIO(data))


def _column(tables: list[Table], kind: str, values: list[Any]) -> list[openpyxl.cell.Cell]:
    """Write `values` in one column of `kind`; the data cells as read back."""
    table = _table([{"v": v} for v in values], [Column("v", "值", kind)])  # type: ignore[arg-type]
    ws = _open(_write([table])).worksheets[0]
    return [ws.cell(row=3 + i, column=1) for i in range(len(values))]


def test_one_sheet_per_table_in_order_named_as_excel_allows():
    wanted = ["资源", "CPU/内存: [峰值]*?", "x" * 40, "gaps", "GAPS", "", "'引号'", "History", "资源"]
    data = _write([_table([], sheet=name, title=f"第{i}个") for i, name in enumerate(wanted)])
    wb = _open(data)
    assert wb.sheetnames == [
        "资源",
        "CPU_内存_ _峰值___",
        "x" * 31,
        "gaps",
        "GAPS (2)",
        "Sheet6",
        "引号",
        "History_",
        "资源 (2)",
    ]
    assert [ws["A1"].value for ws in wb.worksheets] == [f"第{i}个" for i in range(len(wanted))]


def test_sheet_names_stay_within_31_characters_when_deduplicated():
    long = "资源回收清单（闲置超过三十天的云主机与云硬盘）"
    names = sheet_names([long, long, long.upper()])
    assert all(len(n) <= 31 for n in names)
    assert len({n.casefold() for n in names}) == 3
    assert names[1].endswith(" (2)") and names[2].endswith(" (3)")
    # a character outside the BMP counts twice in Excel's 31
    assert sheet_names(["😀" * 20]) == ["😀" * 15]


def test_title_header_frozen_pane_and_autofilter():
    columns = [Column("name", "名称"), Column("cpu", "vCPU", "int"), Column("util", "利用率", "pct")]
    rows = [{"name": "ecs-1", "cpu": 8, "util": 12.5}, {"name": "ecs-2", "cpu": 4, "util": 3.0}]
    data = _write([_table(rows, columns, title="资源回收清单", note="前 50 条，全部见附件")])
    ws = _open(data).worksheets[0]

    assert ws["A1"].value == "资源回收清单" and ws["A1"].font.b
    header = [ws.cell(row=2, column=i) for i in (1, 2, 3)]
    assert [c.value for c in header] == ["名称", "vCPU", "利用率"]
    assert all(c.font.b and c.fill.fill_type == "solid" for c in header)
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:C4"
    assert [ws.cell(row=r, column=1).value for r in (3, 4)] == ["ecs-1", "ecs-2"]
    note = ws["A5"]
    assert note.value == "前 50 条，全部见附件" and note.font.i
    assert ws.max_row == 5
    # Excel keeps the filter range in a hidden defined name as well
    workbook_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
    assert "_xlnm._FilterDatabase" in workbook_xml and "$A$2:$C$4" in workbook_xml


def test_cells_are_typed_by_column_kind():
    shanghai = timezone(timedelta(hours=8))
    columns = [
        Column("n", "n", "int"),
        Column("f", "f", "float"),
        Column("p", "p", "pct"),
        Column("m", "m", "money"),
        Column("d", "d", "date"),
        Column("t", "t", "datetime"),
        Column("naive", "naive", "datetime"),
        Column("s", "s", "text"),
        Column("empty", "empty", "int"),
    ]
    row = {
        "n": 1234,
        "f": 1234.56,
        "p": 93.3,
        "m": Decimal("98765.43"),
        "d": date(2026, 11, 23),
        "t": datetime(2026, 11, 23, 9, 30, tzinfo=shanghai),
        "naive": datetime(2026, 11, 24, 18, 5),
        "s": "张伟",
        "empty": None,
    }
    ws = _open(_write([_table([row], columns)])).worksheets[0]
    n, f, p, m, d, t, naive, s, empty = (ws.cell(row=3, column=i) for i in range(1, 10))

    assert (n.value, n.data_type) == (1234, "n") and isinstance(n.value, int)
    assert (f.value, f.number_format) == (1234.56, "#,##0.0")
    assert (p.value, p.number_format) == (0.933, "0.0%")
    assert (m.value, m.number_format) == (98765.43, "#,##0.00")
    assert (d.value, d.number_format) == (datetime(2026, 11, 23), "yyyy-mm-dd")
    # Excel has no zones: the wall time in the datetime's own zone, not UTC (which would be 01:30)
    assert (t.value, t.number_format) == (datetime(2026, 11, 23, 9, 30), "yyyy-mm-dd hh:mm")
    assert naive.value == datetime(2026, 11, 24, 18, 5)
    assert (s.value, s.data_type) == ("张伟", "s")
    assert empty.value is None


def test_percentages_are_stored_as_fractions():
    cells = _column([], "pct", [93.3, 100, 0, Decimal("12.5"), 7])
    assert [c.value for c in cells] == [0.933, 1, 0, 0.125, 0.07]
    assert all(c.number_format == "0.0%" for c in cells)


def test_text_that_looks_like_a_formula_stays_text():
    dangerous = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x","y")', "#N/A"]
    data = _write([_table([{"v": v} for v in dangerous])])
    ws = _open(data).worksheets[0]
    cells = [ws.cell(row=3 + i, column=1) for i in range(len(dangerous))]

    assert [c.value for c in cells] == dangerous
    assert [c.data_type for c in cells] == ["s"] * len(dangerous)
    # quotePrefix: Excel and WPS keep it text even when someone edits the cell
    assert all(c.quotePrefix for c in cells[:5])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


def test_plain_text_gets_no_quote_prefix():
    (cell,) = _column([], "text", ["张伟 2026-11-02"])
    assert cell.value == "张伟 2026-11-02" and not cell.quotePrefix


def test_characters_xml_forbids_are_removed_everywhere():
    bad = "a\x00b\x07c\x1b\ud800d\ufffe"
    table = _table(
        [{"v": f"{bad}\tok\n"}],
        [Column("v", f"列{bad}")],
        title=f"标题{bad}",
        sheet=f"页{bad}",
        note=f"注{bad}",
    )
    ws = _open(_write([table])).worksheets[0]
    assert ws.title == "页abcd"
    assert ws["A1"].value == "标题abcd"
    assert ws["A2"].value == "列abcd"
    assert ws["A3"].value == "abcd\tok\n"  # tab and newline are allowed
    assert ws["A4"].value == "注abcd"


def test_cells_longer_than_excel_allows_are_cut_with_an_ellipsis():
    cells = _column([], "text", ["长" * 40_000, "x" * 32_767, "😀" * 20_000])
    assert len(cells[0].value) == 32_767 and cells[0].value.endswith("长…")
    assert cells[1].value == "x" * 32_767  # exactly the limit: kept whole
    # Excel counts UTF-16 units: an emoji takes two
    assert len(cells[2].value.encode("utf-16-le")) // 2 <= 32_767 and cells[2].value.endswith("😀…")


def test_values_of_the_wrong_type_are_written_as_text():
    ints = _column([], "int", ["n/a", True, 12.0, 2.5, 10**20, float("nan")])
    assert [(c.value, c.data_type) for c in ints] == [
        ("n/a", "s"),
        ("True", "s"),
        (12, "n"),
        (2.5, "n"),
        ("100000000000000000000", "s"),  # beyond Excel's 15 digits: kept exact as text
        ("nan", "s"),
    ]
    floats = _column([], "float", [float("inf"), Decimal("NaN"), 10**400, "1.5"])
    assert [c.data_type for c in floats] == ["s"] * 4
    assert floats[3].value == "1.5"
    dates = _column([], "date", ["下周", 20261123, date(1899, 12, 31), datetime(2026, 11, 23, 23, 59)])
    assert [c.value for c in dates] == ["下周", "20261123", "1899-12-31", datetime(2026, 11, 23)]
    texts = _column([], "text", [42, {"主机": "ecs-1"}, date(2026, 11, 23), Decimal("1.50")])
    assert [c.value for c in texts] == ["42", '{"主机": "ecs-1"}', "2026-11-23", "1.50"]
    assert all(c.data_type == "s" for c in texts)


def test_rows_beyond_the_sheet_limit_are_cut_and_the_note_says_so(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 10)  # writing a million rows to show the cap takes minutes
    table = _table([{"v": i} for i in range(20)], [Column("v", "序号", "int")], note="全部资源")
    ws = _open(_write([table])).worksheets[0]
    assert ws.max_row == 10
    assert [ws.cell(row=r, column=1).value for r in range(3, 10)] == list(range(7))
    assert ws.auto_filter.ref == "A2:A9"
    assert ws["A10"].value.startswith("全部资源") and "7" in ws["A10"].value and "20" in ws["A10"].value


def test_column_widths_follow_the_content():
    columns = [
        Column("cn", "单位"),
        Column("en", "unit"),
        Column("long", "说明"),
        Column("fixed", "固定", width=25),
        Column("d", "日期", "date"),
    ]
    row = {"cn": "公安局交警支队", "en": "traffic", "long": "很长" * 100, "fixed": "x", "d": date(2026, 1, 1)}
    ws = _open(_write([_table([row], columns)])).worksheets[0]
    widths = {k: ws.column_dimensions[k].width for k in "ABCDE"}
    assert widths["A"] == 16  # seven CJK characters count double, plus a margin
    assert widths["B"] == 9
    assert widths["C"] == 60  # capped
    assert widths["D"] == 25
    assert widths["E"] == 12


def test_no_tables_still_gives_a_workbook_that_says_so():
    zh = _open(_write([], "zh"))
    assert zh.sheetnames == ["无数据"]
    assert zh.worksheets[0]["A1"].value == "运维监管周报 2026-W47"
    assert "本周无数据" in zh.worksheets[0]["A2"].value
    en = _open(_write([], "en"))
    assert "No data this week" in en.worksheets[0]["A2"].value


def test_empty_and_columnless_tables_are_written():
    wb = _open(
        _write([_table([], title="本周无回收", note="无"), _table([], [], title="只有标题", sheet="b")])
    )
    first, second = wb.worksheets
    assert first.auto_filter.ref == "A2:A2" and first["A3"].value == "无"
    assert second["A1"].value == "只有标题" and second.max_row == 1 and not second.freeze_panes


def test_same_tables_give_the_same_bytes_stamped_with_the_fixed_time():
    columns = [Column("n", "名称"), Column("t", "时间", "datetime"), Column("p", "利用率", "pct")]
    tables = [
        _table(
            [{"n": f"ecs-{i}", "t": datetime(2026, 11, 23, i % 24), "p": i / 7} for i in range(50)], columns
        )
    ]
    first, second = _write(tables), _write(tables)
    assert first == second

    archive = zipfile.ZipFile(io.BytesIO(first))
    assert {info.date_time for info in archive.infolist()} == {(2024, 3, 4, 5, 6, 8)}
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    props = _open(first).properties
    assert props.created == props.modified == datetime(2024, 3, 4, 5, 6, 8)
    assert (props.creator, props.title, props.subject) == ("ops-watch", "运维监管周报 2026-W47", "2026-W47")
    # the stamp is the fixed time's, whatever its zone
    assert _write(tables, when=FIXED.astimezone(timezone(timedelta(hours=8)))) == first
    assert _write(tables, when=FIXED + timedelta(days=1)) != first


def test_the_file_is_a_valid_zip_that_openpyxl_opens_without_warnings():
    data = _write([_table([{"v": "=1+1"}, {"v": "张伟"}]), _table([], sheet="b")])
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert "[Content_Types].xml" in archive.namelist()
    for name in archive.namelist():
        if name.endswith(".xml"):
            assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", archive.read(name).decode("utf-8")), name
    _open(data)  # warnings are errors there


def test_a_reclaim_list_of_thousands_of_resources():
    columns = [
        Column("id", "资源ID"),
        Column("unit", "所属单位"),
        Column("cpu", "vCPU", "int"),
        Column("util", "平均利用率", "pct"),
        Column("cost", "月费", "money"),
        Column("seen", "最后活跃", "datetime"),
    ]
    rows = [
        {
            "id": f"ecs-{i:06d}",
            "unit": "市公安局交警支队",
            "cpu": i % 64,
            "util": (i % 1000) / 10,
            "cost": Decimal(i) / 4,
            "seen": datetime(2026, 11, 1, i % 24),
        }
        for i in range(5000)
    ]
    data = _write([_table(rows, columns, title="资源回收清单")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    values = list(wb.worksheets[0].iter_rows(min_row=3, values_only=True))
    wb.close()
    assert len(values) == 5000
    assert values[4999] == (
        "ecs-004999",
        "市公安局交警支队",
        4999 % 64,
        0.999,
        1249.75,
        datetime(2026, 11, 1, 7),
    )
