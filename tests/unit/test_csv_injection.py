"""Issue 17 #12: no cell of a CSV ops-watch writes can start a formula (OWASP CSV injection rules), and
numbers stay numbers."""

from __future__ import annotations

import csv
import io

import pytest

from ops_watch.core.output import excel_safe, render

HOSTILE = [
    "-1+1",
    "-2+3+cmd|' /C calc'!A0",
    "-1-1",
    "=1+1",
    "+1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "＝1+1",  # full-width sign, taken as a formula by Excel with a CJK input method
    "－1+1",
    "＋1",
    "＠SUM(A1)",
    "-",
    "-.5+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_formula_trigger_is_quoted(text):
    assert excel_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["-3", "-0.5", "-.5", "12", "3.25", "-1e5", "2026-11-02", "张伟", "", "a=b"])
def test_plain_numbers_and_text_are_kept(text):
    assert excel_safe(text) == text


def test_render_csv_quotes_hostile_cells_and_keeps_numbers():
    rows = [{"a": "-2+3+cmd|' /C calc'!A0", "b": -3, "c": 1.5, "d": "\t@x"}]
    out = render(rows, ["a", "b", "c", "d"], "csv")
    (row,) = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert row == {"a": "'-2+3+cmd|' /C calc'!A0", "b": "-3", "c": "1.5", "d": "'\t@x"}


def test_the_ingest_error_report_quotes_every_hostile_cell(tmp_path):
    """The `.errors.csv` of a file: its name, the value and every other text cell are formula-safe."""
    from ops_watch.config import Config
    from ops_watch.ingest import ingest_file
    from ops_watch.store import open_store

    config = Config.model_validate({"paths": {"state_dir": str(tmp_path / "var")}})
    path = tmp_path / "-2+3+cmd.csv"
    path.write_text(
        "资源ID,云平台,租户单位,类型,vCPU,内存(GB),存储(GB),需备份\n"
        "r1,警务云,刑侦支队,vm,4,8,100,是\nr2,警务云,刑侦支队,vm,-1+1,8,100,是\n",
        encoding="utf-8",
    )
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        result = ingest_file(store, config, "inventory", path)
    finally:
        store.dispose()
    assert result.report_path is not None
    rows = list(csv.reader(result.report_path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1][:4] == ["'-2+3+cmd.csv", "3", "vCPU", "'-1+1"]
    assert all(excel_safe(cell) == cell for row in rows for cell in row if not cell.startswith("'"))
