"""Column headers as real sites write them: folding, the site's own mapping ([ingest.columns.<kind>]), title rows,
which column wins when two name one field, what a missing column says; the period a file name states."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ops_watch.config import ConfigError, parse_config
from ops_watch.formats import KINDS, get_kind
from ops_watch.formats.fields import date_value, stated_start
from ops_watch.formats.records import FileRejected, read_records
from ops_watch.formats.spec import ParseContext, column_map_problems, match_header, normalize_header
from ops_watch.formats.tabular import SourceRow
from ops_watch.ingest import known_from
from ops_watch.runtime import load_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "formats.md"
INVENTORY = get_kind("inventory")
UTILIZATION = get_kind("utilization")
CTX = ParseContext()
FULL = ["资源ID", "云平台", "租户单位", "类型", "vCPU", "内存(GB)", "存储(GB)", "需备份"]
ROW = ["r1", "警务云", "刑侦支队", "vm", "2", "4", "40", "否"]


def _rows(*rows: list[object]) -> list[SourceRow]:
    return [SourceRow(i, list(cells)) for i, cells in enumerate(rows, start=1)]


# --- how a header cell is read ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "column"),
    [
        ("\ufeff资源ID", "resource_id"),  # a BOM left in the first cell
        ("资源\u200bID", "resource_id"),  # a zero-width space
        (" 内存（GB） ", "memory_gb"),
        ("内存GB", "memory_gb"),
        ("内存【GB】", "memory_gb"),
        ("*云平台", "platform"),  # a template's required marker
        ("租户单位（必填）", "tenant_unit"),
        ("需备份(选填)", "backup_required"),
        ("类型：", "type"),
    ],
)
def test_header_cells_as_exports_write_them(written: str, column: str) -> None:
    header_map, matched = match_header(INVENTORY, [written])
    assert matched == 1 and header_map.positions == {column: 0}


def test_a_unit_is_part_of_the_name_so_another_unit_is_never_taken_for_it() -> None:
    header_map, matched = match_header(INVENTORY, ["内存(MB)", "存储(TB)"])
    assert matched == 0 and header_map.ignored == ("内存(MB)", "存储(TB)")


def test_percent_in_brackets_or_not_is_the_same_utilization_header() -> None:
    for written in ("CPU使用率（%）", "CPU使用率%", "cpu使用率(%)"):
        assert match_header(UTILIZATION, [written])[0].positions == {"cpu_pct": 0}
    assert normalize_header("CPU使用率(%)") != normalize_header("CPU使用率")


def test_two_names_of_one_column_the_better_fills_it_and_the_other_says_why_it_is_unused() -> None:
    for header in (["资源编号", "资源ID"], ["资源ID", "资源编号"]):
        header_map, matched = match_header(INVENTORY, header)
        assert matched == 1 and header_map.labels == {"resource_id": "资源ID"}
        unused = next(c for c in header_map.cells if not c.column)
        assert unused.label == "资源编号" and unused.note is not None
        assert "resource_id" in unused.note.en and "资源ID" in unused.note.zh


def test_the_same_name_twice_is_refused_naming_both() -> None:
    with pytest.raises(FileRejected) as err:
        read_records(INVENTORY, _rows(["资源ID", "资源 id", *FULL[1:]], ROW), CTX)
    assert [f.column for f in err.value.faults] == ["resource_id"]
    assert "资源ID" in err.value.faults[0].problem.zh and "资源 id" in err.value.faults[0].problem.zh


# --- the site's mapping -----------------------------------------------------------------------------


def test_the_sites_mapping_fills_a_column_and_beats_a_builtin_alias() -> None:
    header = ["云主机UUID", "资源编号", *FULL[1:]]
    stream = read_records(
        INVENTORY, _rows(header, ["u-1", "7", *ROW[1:]]), CTX, {"云主机 uuid": "resource_id"}
    )
    [row] = list(stream.rows)
    assert row.record.resource_id == "u-1"
    via = {c.label: c.via for c in stream.header_map.cells}
    assert via["云主机UUID"] == "config" and via["云平台"] == "alias" and via["资源编号"] == ""


def test_without_the_mapping_the_same_file_is_refused_saying_how_to_map_it() -> None:
    with pytest.raises(FileRejected) as err:
        read_records(INVENTORY, _rows(["云主机UUID", *FULL[1:]], ROW), CTX)
    [fault] = err.value.faults
    assert fault.column == "resource_id"
    assert "资源ID、资源编号" in fault.problem.zh and "实例ID" in fault.problem.zh
    assert '[ingest.columns.inventory] "<header in the file>" = "resource_id"' in fault.problem.en
    assert err.value.header_map is not None and err.value.header_row == 1  # for the report and --explain


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ({"员工编号": "resource"}, "'resource' is not a column of inventory"),
        ({"资源编号": "platform"}, "'资源编号' already names the column resource_id of inventory"),
        ({"云主机UUID": "resource_id", "云主机 uuid": "resource_id"}, "reads the same as '云主机UUID'"),
    ],
)
def test_a_mapping_that_cannot_be_used_is_named(mapping: dict[str, str], expected: str) -> None:
    problems = column_map_problems(INVENTORY, mapping)
    assert len(problems) == 1 and expected in problems[0][1]


def test_a_mapping_naming_a_columns_own_alias_again_is_fine() -> None:
    assert column_map_problems(INVENTORY, {"资源编号": "resource_id", "主机UUID": "resource_id"}) == []


def test_config_check_names_each_bad_key_path(tmp_path: Path) -> None:
    rules = Path(__file__).resolve().parents[2] / "rules"
    path = tmp_path / "config.toml"
    path.write_text(
        f'[paths]\nstate_dir = "{tmp_path}"\nrules_dir = "{rules}"\n'
        '[ingest.columns.inventory]\n"资源编号" = "platform"\n"主机UUID" = "resource_id"\n'
        '[ingest.columns.staf]\n"x" = "person_id"\n'
        '[ingest.columns.contract]\n"x" = "y"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_settings(path, check_secrets=False)
    text = "\n".join(err.value.problems)
    assert 'config.toml: ingest.columns.inventory."资源编号": ' in text
    assert "ingest.columns.staf: unknown evidence kind" in text
    assert "ingest.columns.contract: contract is a document kind" in text
    assert "主机UUID" not in text and len(err.value.problems) == 3
    path.write_text(
        f'[paths]\nstate_dir = "{tmp_path}"\nrules_dir = "{rules}"\n'
        '[ingest.columns.inventory]\n"主机UUID" = "resource_id"\n',
        encoding="utf-8",
    )
    config, _ = load_settings(path, check_secrets=False)
    assert config.ingest.columns == {"inventory": {"主机UUID": "resource_id"}}


# --- where the header is, what it must have ---------------------------------------------------------


def test_title_rows_and_an_incomplete_look_alike_above_the_header_are_skipped() -> None:
    rows = _rows(
        ["2026年11月 资源清单", None, None],
        ["导出时间：2026-12-01 09:00"],
        [],
        ["类型", "说明"],  # names one column: not the header, the real one follows
        FULL,
        ROW,
    )
    stream = read_records(INVENTORY, rows, CTX)
    assert stream.header_row == 5 and [r.number for r in stream.rows] == [6]


def test_a_missing_optional_column_never_refuses_a_file() -> None:
    optional = [c.name for c in INVENTORY.columns if not c.required]
    assert "address" in optional
    stream = read_records(INVENTORY, _rows(FULL, ROW), CTX)
    [row] = list(stream.rows)
    assert row.faults == [] and row.record.address == "" and row.record.allocated_from is None


# --- the aliases, documented ------------------------------------------------------------------------


def _doc_rows() -> dict[tuple[str, str], str]:
    rows: dict[tuple[str, str], str] = {}
    kind = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^### `([a-z_]+)`", line):
            kind = m.group(1)
        elif line.startswith("## "):
            kind = ""
        elif kind and (m := re.match(r"^\| `([a-z_0-9]+)` \| (.*?) \|", line)):
            rows[(kind, m.group(1))] = m.group(2)
    return rows


def test_each_columns_row_in_the_doc_lists_every_alias_of_that_column() -> None:
    rows = _doc_rows()
    for kind in KINDS.values():
        for col in kind.columns:
            if (kind.name, col.name) not in rows:
                continue  # test_formats_inventory requires every alias on the page
            listed = [a.strip() for a in rows[(kind.name, col.name)].split(", ")]
            assert listed == list(col.aliases), f"docs/formats.md: {kind.name}.{col.name}"


def test_the_common_names_of_real_exports_are_known() -> None:
    expect = {
        "inventory": {
            "实例ID": "resource_id",
            "所属平台": "platform",
            "租户": "tenant_unit",
            "IP地址": "address",
        },
        "utilization": {
            "主机名": "resource_id",
            "IP地址": "resource_id",
            "CPU使用率": "cpu_pct",
            "CPU利用率(%)": "cpu_pct",
            "采集时间": "at",
            "时间戳": "at",
            "监控时间": "at",
        },
        "backup": {"开始时间": "started", "结束时间": "finished", "备份状态": "status"},
        "statement": {"所属平台": "platform", "结算金额(元)": "amount"},
    }
    for kind, names in expect.items():
        for name, column in names.items():
            assert match_header(get_kind(kind), [name])[0].positions == {column: 0}, (kind, name)
    # together, the more specific name is the resource: 主机名 before an IP address
    header_map, _ = match_header(UTILIZATION, ["IP地址", "主机名", "CPU使用率"])
    assert header_map.labels["resource_id"] == "主机名"


def test_a_date_written_with_a_time_is_its_date() -> None:
    parse = date_value()
    assert parse("2026/3/1 10:00", CTX) == date(2026, 3, 1)
    assert parse("2026年3月1日 10:00:00", CTX) == date(2026, 3, 1)


# --- the period a file name states ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("inventory-2026-11.csv", date(2026, 11, 1)),
        ("staff_20261115.xlsx", date(2026, 11, 15)),
        ("名册2026-11-15.xlsx", date(2026, 11, 15)),
        ("export_20261115083000.csv", date(2026, 11, 15)),
        ("2026年11月资源清单.xlsx", date(2026, 11, 1)),
        ("statement_202611.csv", date(2026, 11, 1)),
        ("plan-2026-Q3.csv", date(2026, 7, 1)),
        ("2026年第四季度演练计划.xlsx", date(2026, 10, 1)),
        ("演练记录_2026H2.xlsx", date(2026, 7, 1)),
        ("预算_2026年度.xlsx", date(2026, 1, 1)),
        ("备份作业_2026-10-17_11-16.csv", date(2026, 10, 17)),
        ("staff_2026-11-01_2026-11-30.xlsx", date(2026, 11, 1)),
        ("staff.xlsx", None),
        ("JWY20261115001.csv", None),  # a serial number, not a date
        ("host-192.168.1.20.csv", None),
        ("plan-202613.csv", None),
    ],
)
def test_the_period_a_file_name_states(name: str, start: date | None) -> None:
    assert stated_start(name) == start


def test_known_from_is_the_start_in_site_time_and_never_after_the_file() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    written = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert known_from(Path("inventory-2026-11.csv"), zone, written) == datetime(
        2026, 10, 31, 16, 0, tzinfo=UTC
    )
    assert known_from(Path("drill_plan_2027.csv"), zone, written) is None  # a bare year states nothing
    assert known_from(Path("drill_plan_2027年度.csv"), zone, written) is None  # later than the file
    assert known_from(Path("staff.xlsx"), zone, written) is None


def test_an_empty_header_or_column_is_refused_when_the_config_is_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"ingest": {"columns": {"inventory": {" ": "resource_id"}}}}, tmp_path / "config.toml")
    assert err.value.problems[0].startswith("config.toml: ingest.columns: ")
    assert "neither side may be empty" in err.value.problems[0]
