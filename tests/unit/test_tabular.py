"""The streaming row reader: encodings, row numbers as Excel shows them, damaged lines, whole-file refusals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from ops_watch.formats import tabular
from ops_watch.formats.tabular import TableError, open_table

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"


def _rows(path: Path, sheet: str | None = None) -> tuple[list[tuple[int, list[object]]], dict[str, str]]:
    with open_table(path, sheet) as table:
        rows = [(r.number, r.cells) for r in table.rows()]
        return rows, dict(table.detail)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("inventory/english_utf8.csv", "utf-8"),
        ("inventory/chinese_utf8_bom.csv", "utf-8-sig"),
        ("inventory/chinese_gb18030.csv", "gb18030"),
    ],
)
def test_detects_the_encoding_and_decodes_chinese(name: str, encoding: str) -> None:
    rows, detail = _rows(DATA / name)
    assert detail["encoding"] == encoding
    text = "".join(str(c) for _, cells in rows for c in cells)
    assert "警务云" in text or "新一代公安信息网云平台" in text
    assert not rows[0][1][0].startswith("\ufeff")  # the BOM is not part of the first header


def test_row_numbers_count_blank_lines_and_quoted_line_breaks_as_excel_does(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", b'h1,h2\r\n\r\na,"two\r\nlines"\r\nb,c\r\n')
    rows, _ = _rows(path)
    assert [(n, cells) for n, cells in rows if cells] == [
        (1, ["h1", "h2"]),
        (3, ["a", "two\r\nlines"]),
        (4, ["b", "c"]),
    ]


def test_tab_and_semicolon_delimiters_are_detected(tmp_path: Path) -> None:
    assert _rows(_write(tmp_path, "t.txt", b"a\tb\n1\t2\n"))[0][1] == (2, ["1", "2"])
    assert _rows(_write(tmp_path, "s.csv", b"a;b\n1;2\n"))[0][1] == (2, ["1", "2"])


def test_a_later_line_in_another_encoding_is_a_bad_row_naming_the_cell(tmp_path: Path) -> None:
    data = "名称,值\n甲,1\n".encode() + "乙,2\n".encode("gb18030") + "丙,3\n".encode()
    with open_table(_write(tmp_path, "mixed.csv", data)) as table:
        rows = list(table.rows())
    assert [r.fault is None for r in rows] == [True, True, False, True]
    bad = rows[2]
    assert bad.number == 3
    assert bad.fault_cell == 0
    assert "utf-8" in bad.fault.en
    assert rows[3].cells == ["丙", "3"]


@pytest.mark.parametrize("beyond_detection", [False, True])
def test_an_ascii_start_then_gbk_is_read_as_gb18030(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, beyond_detection: bool
) -> None:
    if beyond_detection:  # the GBK line comes after all the detector looks at: the reader switches on it
        monkeypatch.setattr(tabular, "DETECT_LIMIT", tabular.DETECT_CHUNK)
    ascii_rows = b"".join(b"vm-%05d,x\n" % i for i in range(10_000))  # ~100 KB, more than one chunk
    path = _write(
        tmp_path, "late.csv", b"resource_id,platform\n" + ascii_rows + "vm-z,警务云\n".encode("gb18030")
    )
    with open_table(path) as table:
        rows = list(table.rows())
        detail = dict(table.detail)
    assert rows[-1].fault is None
    assert rows[-1].cells == ["vm-z", "警务云"]
    assert rows[-1].number == 10_002
    assert detail["encoding"] == "gb18030"


def test_an_overlong_line_is_skipped_as_a_bad_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "MAX_LINE", 64)
    path = _write(tmp_path, "long.csv", b"a,b\n" + b"x" * 500 + b"\n1,2\n")
    with open_table(path) as table:
        rows = list(table.rows())
    assert rows[1].number == 2
    assert rows[1].fault is not None and "longer than" in rows[1].fault.en
    assert (rows[2].number, rows[2].cells, rows[2].fault) == (3, ["1", "2"], None)


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("empty.csv", b"", "empty file"),
        ("spaces.csv", b"  \r\n\r\n", "empty file"),
        ("utf16.csv", "a,b\r\n1,2\r\n".encode("utf-16"), "UTF-16"),
        ("garbage.csv", bytes(range(256)) * 64, "binary"),
        ("latin1.csv", b"name,value\ncaf\xe9,1\nna\xefve,\xe9\n\xe9t\xe9,2\n", "cannot decode"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Excel 97-2003"),
        ("broken.xlsx", b"PK\x03\x04 this is not really a zip", "XLSX"),
        ("text.xlsx", b"a,b\n1,2\n", "not a valid XLSX"),
        ("scan.pdf", b"%PDF-1.4\n", "unsupported file type"),
    ],
)
def test_whole_file_problems_raise_a_clear_table_error(
    tmp_path: Path, name: str, data: bytes, words: str
) -> None:
    with pytest.raises(TableError) as err:
        _rows(_write(tmp_path, name, data))
    assert words in err.value.problem.en
    assert err.value.problem.zh  # people see Chinese by default


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(100_000))
    with pytest.raises(TableError):
        _rows(_write(tmp_path, "noise.csv", data))


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_xlsx_first_sheet_keeps_types_and_excel_row_numbers(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "w.xlsx",
        {"清单": [["工号", "入职日期", "数量"], [], ["YW-1", datetime(2025, 3, 1), 3]], "其他": [["x"]]},
    )
    rows, detail = _rows(path)
    assert detail == {"format": "xlsx", "sheet": "清单"}
    assert rows[0] == (1, ["工号", "入职日期", "数量"])
    assert rows[2] == (3, ["YW-1", datetime(2025, 3, 1), 3])


def test_xlsx_named_sheet_and_a_missing_one(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "w.xlsx", {"封面": [["说明"]], "数据": [["a"], ["b"]]})
    assert _rows(path, "数据")[0] == [(1, ["a"]), (2, ["b"])]
    with pytest.raises(TableError) as err:
        _rows(path, "无此表")
    assert "封面" in err.value.problem.zh and "数据" in err.value.problem.zh


def test_content_decides_over_the_name(tmp_path: Path) -> None:
    xlsx = _workbook(tmp_path / "w.xlsx", {"S": [["a"], [1]]})
    renamed = tmp_path / "actually-a-workbook.csv"
    renamed.write_bytes(xlsx.read_bytes())
    assert _rows(renamed)[1]["format"] == "xlsx"
