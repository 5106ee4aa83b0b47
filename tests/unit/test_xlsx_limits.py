"""XLSX bombs (issue 17 #7): a workbook is refused, with the limit named, before it costs more than its caps.

The bombs are built by hand with zipfile: a tiny sheet stating a row index of 900,000,000 (openpyxl's
read-only reader pads every missing row up to it: minutes), a column far to the right, a row of countless
cells, a huge shared string, a huge cell, a zip member that inflates a thousandfold, too many members.
"""

from __future__ import annotations

import io
import random
import string
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from ops_watch.config import load_config
from ops_watch.formats.spec import Problem
from ops_watch.formats.tabular import TableError, XlsxLimits, open_table
from ops_watch.formats.vendor import open_evidence

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
SHEET = "xl/worksheets/sheet1.xml"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _base() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "数据"
    wb.active.append(["a"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _bomb(
    tmp_path: Path,
    sheet_data: str,
    *,
    before: str = "",
    shared: list[str] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A workbook made by openpyxl whose first sheet holds `sheet_data` as written (and shared strings)."""
    src = zipfile.ZipFile(io.BytesIO(_base()))
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == SHEET:
                data = f'<worksheet xmlns="{NS}">{before}<sheetData>{sheet_data}</sheetData></worksheet>'.encode()
            elif info.filename == "[Content_Types].xml" and shared is not None:
                override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/>'
                data = data.replace(b"</Types>", override.encode() + b"</Types>")
            out.writestr(info.filename, data)
        if shared is not None:
            items = "".join(f"<si><t>{s}</t></si>" for s in shared)
            out.writestr("xl/sharedStrings.xml", f'<sst xmlns="{NS}" count="{len(shared)}">{items}</sst>')
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return path


def _read(path: Path, limits: XlsxLimits | None = None) -> list[tuple[int, list[object]]]:
    with open_table(path, limits=limits) as table:
        return [(r.number, r.cells) for r in table.rows()]


def _refusal(path: Path, limits: XlsxLimits | None = None) -> tuple[Problem, int]:
    """The refusal and how many rows came out before it."""
    seen = 0
    with pytest.raises(TableError) as err:  # noqa: PT012 - the rows are read lazily
        with open_table(path, limits=limits) as table:
            for _ in table.rows():
                seen += 1
    return err.value.problem, seen


def test_a_stated_row_index_far_beyond_the_cap_is_refused_without_padding(tmp_path: Path) -> None:
    # A few KB: openpyxl would yield 899,999,998 empty rows before the stated one (minutes).
    path = _bomb(
        tmp_path,
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="900000000"><c r="A900000000"><v>2</v></c></row>',
    )
    problem, seen = _refusal(path)
    assert seen <= 1  # refused at the jump, not after padding up to it
    for text in (problem.en, problem.zh):
        assert "900000000" in text and "1048576" in text and "xlsx_max_rows" in text and "数据" in text


def test_a_row_beyond_a_lowered_row_cap_is_refused_naming_the_row(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 101))
    path = _bomb(tmp_path, rows)
    assert len(_read(path, XlsxLimits(max_rows=100))) == 100
    problem, seen = _refusal(path, XlsxLimits(max_rows=60))
    assert seen == 60  # the rows under the cap come out, the reading stops at the first one beyond
    assert "row 61" in problem.en and "第 61 行" in problem.zh and "60 rows" in problem.en
    # Within the first rows (read once ahead for their number formats) the refusal comes before any row.
    assert _refusal(path, XlsxLimits(max_rows=10))[1] == 0


def test_a_stated_dimension_makes_no_work(tmp_path: Path) -> None:
    path = _bomb(
        tmp_path,
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="3"><c r="B3"><v>3</v></c></row>',
        before='<dimension ref="A1:XFD1048576"/>',
    )
    assert _read(path) == [(1, [1]), (2, []), (3, [None, 3])]


def test_a_column_beyond_the_cap_is_refused_naming_the_cell(tmp_path: Path) -> None:
    path = _bomb(tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="ZZZ2"><v>1</v></c></row>')
    problem, seen = _refusal(path)
    assert seen <= 1
    for text in (problem.en, problem.zh):
        assert "ZZZ2" in text and "1024" in text and "xlsx_max_columns" in text


def test_a_row_of_countless_cells_is_refused_at_the_cap(tmp_path: Path) -> None:
    # Cells without coordinates count from the left: 300,000 of them in one row, a few hundred bytes zipped.
    path = _bomb(tmp_path, '<row r="1">' + "<c><v>1</v></c>" * 300_000 + "</row>")
    problem, _ = _refusal(path)
    assert "xlsx_max_columns" in problem.en and "1024" in problem.en and "row 1" in problem.en
    # The same cell written again and again is as many cells.
    path = _bomb(tmp_path, '<row r="1">' + '<c r="A1"><v>1</v></c>' * 5000 + "</row>")
    assert "xlsx_max_columns" in _refusal(path)[0].en


def test_a_huge_shared_string_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    path = _bomb(tmp_path, '<row r="1"><c r="A1" t="s"><v>1</v></c></row>', shared=["ok", "x" * 5_000_000])
    problem, seen = _refusal(path)
    assert seen == 0
    for text in (problem.en, problem.zh):
        assert "32767" in text and "xlsx_max_cell_chars" in text and "2" in text  # the second shared string
    assert "shared string" in problem.en
    # Under the cap the same table reads.
    path = _bomb(tmp_path, '<row r="1"><c r="A1" t="s"><v>1</v></c></row>', shared=["ok", "x" * 300])
    assert _read(path) == [(1, ["x" * 300])]


@pytest.mark.parametrize(
    "cell",
    [
        '<c r="B2" t="inlineStr"><is><t>{}</t></is></c>',
        '<c r="B2" t="str"><v>{}</v></c>',
    ],
)
def test_a_huge_cell_is_refused_naming_the_cell(tmp_path: Path, cell: str) -> None:
    path = _bomb(
        tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row><row r="2">' + cell.format("y" * 40_000) + "</row>"
    )
    problem, seen = _refusal(path)
    assert seen <= 1
    for text in (problem.en, problem.zh):
        assert "B2" in text and "32767" in text and "xlsx_max_cell_chars" in text
    # Far bigger: refused while it is being read, the cell is never held whole.
    path = _bomb(
        tmp_path,
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="2">' + cell.format("y" * 8_000_000) + "</row>",
    )
    problem, seen = _refusal(path)
    assert seen <= 1 and "xlsx_max_cell_chars" in problem.en and "row 2" in problem.en


def test_a_zip_ratio_bomb_is_refused_naming_the_part(tmp_path: Path) -> None:
    # 40 MB of blank rows inflate from about 40 KB: refused from the zip directory, nothing parsed.
    path = _bomb(tmp_path, "<row/>" * 7_000_000)
    problem, seen = _refusal(path)
    assert seen == 0
    for text in (problem.en, problem.zh):
        assert SHEET in text and "200" in text


def test_the_total_unzipped_size_is_capped(tmp_path: Path) -> None:
    rng = random.Random(17)
    noise = "".join(rng.choice(string.ascii_letters) for _ in range(1_500_000))  # does not compress much
    path = _bomb(
        tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row>', extra={"xl/media/noise.txt": noise.encode()}
    )
    assert _read(path) == [(1, [1])]
    problem, seen = _refusal(path, XlsxLimits(max_unzipped_mb=1))
    assert seen == 0
    for text in (problem.en, problem.zh):
        assert "xlsx_max_unzipped_mb" in text and "1 MB" in text


def test_a_zip_of_too_many_members_is_refused(tmp_path: Path) -> None:
    extra = {f"xl/media/m{i}.bin": b"" for i in range(10_001)}
    path = _bomb(tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row>', extra=extra)
    problem, seen = _refusal(path)
    assert seen == 0 and "10000" in problem.en and "10000" in problem.zh


def test_a_normal_workbook_is_still_read(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "清单"
    ws.append(["工号", "入职日期", "比例", "备注"])
    ws.append([])
    ws.append(["YW-1", datetime(2025, 3, 1), 0.35, "长" * 32767])
    ws["C3"].number_format = "0%"
    ws.append([None, None, None, True])
    path = tmp_path / "ok.xlsx"
    wb.save(path)
    with open_table(path) as table:
        rows = [(r.number, r.cells) for r in table.rows()]
        assert table.detail == {"format": "xlsx", "sheet": "清单"}
    assert rows == [
        (1, ["工号", "入职日期", "比例", "备注"]),
        (2, []),
        (3, ["YW-1", datetime(2025, 3, 1), "35%", "长" * 32767]),
        (4, [None, None, None, True]),
    ]


def test_the_ingest_config_keys_reach_the_reader(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    assert (config.ingest.xlsx_max_rows, config.ingest.xlsx_max_columns) == (1048576, 1024)
    assert (config.ingest.xlsx_max_cell_chars, config.ingest.xlsx_max_unzipped_mb) == (32767, 512)
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 6))
    path = _bomb(tmp_path, rows)
    with open_evidence(path, "inventory", config) as table:
        assert len(list(table.rows())) == 5
    tight = config.model_copy(update={"ingest": config.ingest.model_copy(update={"xlsx_max_rows": 3})})
    with pytest.raises(TableError) as err, open_evidence(path, "inventory", tight) as table:
        list(table.rows())
    assert "xlsx_max_rows" in err.value.problem.en
