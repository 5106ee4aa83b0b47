"""Files mixing UTF-8 and GB18030 lines: each foreign line is a bad row naming its line, never mojibake, and
the good rows are all kept (issue 17 #2). Real files written in tmp_path with real bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ops_watch.formats import tabular
from ops_watch.formats.tabular import SourceRow, open_table


def _read(path: Path) -> tuple[list[SourceRow], dict[str, str]]:
    with open_table(path) as table:
        rows = list(table.rows())
        return rows, dict(table.detail)


def _gb(text: str) -> bytes:
    return text.encode("gb18030")


def _u8(text: str) -> bytes:
    return text.encode("utf-8")


def test_utf8_lines_in_a_gb18030_file_are_bad_rows_not_mojibake(tmp_path: Path) -> None:
    # "机房,运维" in UTF-8 is also valid GB18030 ("鏈烘埧,杩愮淮"): it must not be stored so.
    assert _u8("机房,运维\n").decode("gb18030") == "鏈烘埧,杩愮淮\n"
    data = (
        _gb("资源编号,平台\n")
        + _gb("甲,警务云\n")
        + _u8("机房,运维\n")  # line 3: decodes as GB18030 mojibake too
        + _gb("乙,政务云\n")
        + _u8("警务云平台,3\n")  # line 5: not valid GB18030
        + _gb("丙,视频云\n")
    )
    path = tmp_path / "gb_with_utf8.csv"
    path.write_bytes(data)
    rows, detail = _read(path)
    assert detail["encoding"] == "gb18030"
    assert [(r.number, r.cells) for r in rows if r.fault is None] == [
        (1, ["资源编号", "平台"]),
        (2, ["甲", "警务云"]),
        (4, ["乙", "政务云"]),
        (6, ["丙", "视频云"]),
    ]
    bad = [r for r in rows if r.fault is not None]
    assert [r.number for r in bad] == [3, 5]
    assert bad[0].cells == ["机房", "运维"]  # shown as its sender wrote it
    assert bad[1].cells == ["警务云平台", "3"]
    assert all(r.fault_cell == 0 for r in bad)
    assert "line 3 " in bad[0].fault.en and "utf-8" in bad[0].fault.en
    assert "第 3 行" in bad[0].fault.zh
    assert "line 5 " in bad[1].fault.en
    assert not any("鏈" in str(c) for r in rows for c in r.cells)


def test_gb18030_lines_in_a_utf8_file_cost_only_their_rows(tmp_path: Path) -> None:
    # The UTF-8 lines happen to be valid GB18030 too: the whole start decodes as GB18030 mojibake.
    data = (
        _u8("资源编号,平台\n")
        + _u8("中文,机房\n")
        + _gb("甲,警务云\n")  # line 3
        + _u8("资源,平台\n")
        + _gb("乙,政务云\n")  # line 5
        + _u8("机房,运维\n")
    )
    data.decode("gb18030")  # the trap: the whole file is "valid" GB18030
    path = tmp_path / "utf8_with_gb.csv"
    path.write_bytes(data)
    rows, detail = _read(path)
    assert detail["encoding"] == "utf-8"
    assert [(r.number, r.cells) for r in rows if r.fault is None] == [
        (1, ["资源编号", "平台"]),
        (2, ["中文", "机房"]),
        (4, ["资源", "平台"]),
        (6, ["机房", "运维"]),
    ]
    bad = [r for r in rows if r.fault is not None]
    assert [(r.number, r.cells, r.fault_cell) for r in bad] == [
        (3, ["甲", "警务云"], 0),
        (5, ["乙", "政务云"], 0),
    ]
    assert "line 5 " in bad[1].fault.en and "gb18030" in bad[1].fault.en
    assert "第 5 行" in bad[1].fault.zh


def test_utf8_lines_far_into_a_large_gb18030_file_are_found(tmp_path: Path, monkeypatch) -> None:
    # Beyond the detector's sample and in later blocks: the streaming reader judges every line.
    monkeypatch.setattr(tabular, "BLOCK", 4096)
    good = b"".join(_gb(f"设备{i:05d},警务云\n") for i in range(5_000))
    data = _gb("资源编号,平台\n") + good + _u8("机房,运维\n") + good + _u8("中文,12")  # last: no newline
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    rows, detail = _read(path)
    assert detail["encoding"] == "gb18030"
    bad = [(r.number, r.cells) for r in rows if r.fault is not None]
    assert bad == [(5_002, ["机房", "运维"]), (10_003, ["中文", "12"])]
    assert sum(r.fault is None for r in rows) == 10_001
    assert rows[5_002].cells == ["设备00000", "警务云"]


def test_a_quoted_line_break_does_not_shift_the_line_named(tmp_path: Path) -> None:
    data = _gb('资源编号,备注\n甲,"两\n行"\n') + _u8("机房,运维\n") + _gb("乙,好\n")
    path = tmp_path / "quoted.csv"
    path.write_bytes(data)
    rows, _ = _read(path)
    bad = [r for r in rows if r.fault is not None]
    assert [r.number for r in bad] == [3]  # the third row, on the file's fourth line
    assert "line 4 " in bad[0].fault.en
    assert rows[-1].cells == ["乙", "好"] and rows[-1].fault is None


def test_a_plain_gb18030_file_has_no_false_alarms(tmp_path: Path) -> None:
    names = ["警务云", "政务云", "视频专网", "中文", "联通", "机房", "运维", "值班", "平台", "资源"]
    data = _gb("资源编号,平台\n") + b"".join(_gb(f"{a}{b},{b}\n") for a in names for b in names)
    path = tmp_path / "plain.csv"
    path.write_bytes(data)
    rows, detail = _read(path)
    assert detail["encoding"] == "gb18030"
    assert all(r.fault is None for r in rows)
    assert len(rows) == 101


HEADER = "资源ID,云平台,租户单位,类型,vCPU,内存(GB),存储(GB),需备份\n"


def test_through_ingest_the_good_rows_are_stored_and_the_foreign_line_is_a_row_error(
    store: Any, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from ops_watch.config import Config
    from ops_watch.ingest import ingest_file
    from ops_watch.store.schema import InventoryResource

    config = Config.model_validate(
        {"paths": {"state_dir": str(tmp_path / "var")}, "ingest": {"drop_dir": str(tmp_path / "drop")}}
    )
    utf8_row = "r2,机房,资源,vm,4,8,100,Y\n"
    utf8_row.encode().decode("gb18030")  # it would pass as GB18030 mojibake
    path = tmp_path / "inv.csv"
    path.write_bytes(
        _gb(HEADER + "r1,警务云,刑侦支队,vm,4,8,100,是\n")
        + _u8(utf8_row)
        + _gb("r3,政务云,交警支队,vm,2,4,50,否\n")
    )
    result = ingest_file(store, config, "inventory", path)
    assert (result.status, result.rows_ok, result.rows_bad) == ("partial", 2, 1)
    assert [e.row for e in result.errors] == [3]
    assert "第 3 行" in result.errors[0].reason and "utf-8" in result.errors[0].reason
    with store.session() as s:
        stored = {r.resource_id: r.platform for r in s.scalars(select(InventoryResource))}
    assert stored == {"r1": "警务云", "r3": "政务云"}
