"""`ops-watch ingest --explain` (nothing stored, nothing moved), `ingest --drop` (the drop folder once, no
evaluation), a refused file's report explaining its header, and when a batch "arrived" (known_from)."""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from ops_watch.cli import main
from ops_watch.cli.common import EXIT_FAILURE
from ops_watch.config import load_config
from ops_watch.ingest import ingest_file
from ops_watch.store import open_store
from ops_watch.store.schema import EvidenceBatch, Finding, InventoryResource

ROOT = Path(__file__).resolve().parents[2]
MAPPING = '[ingest.columns.inventory]\n"云主机UUID" = "resource_id"\n'
TITLE = "2026年11月 云资源分配清单\n导出时间：2026-12-01 09:00\n\n"
HEADER = "云主机UUID,所属平台,租户,资源类型,CPU(个),内存大小(GB),磁盘容量(GB),是否需要备份,备注\n"
ROWS = "u-1,警务云,刑侦支队,云主机,4,16,200,是,x\nu-2,警务云,交警支队,物理机,abc,64,2000,否,\n"


def _ops(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def _batches(config: Path) -> int:
    cfg = load_config(config)
    store = open_store(cfg.store_url)
    try:
        with store.session() as s:
            return s.scalar(select(func.count()).select_from(EvidenceBatch)) or 0
    finally:
        store.dispose()


def test_explain_reads_a_gbk_export_with_title_rows_and_the_sites_mapping(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    cfg = config_file(MAPPING)
    path = tmp_path / "inventory" / "分配清单_2026-11.csv"
    path.parent.mkdir()
    path.write_bytes((TITLE + HEADER + ROWS).encode("gb18030"))
    out = _ops(cfg, "ingest", "--explain", str(path), "--rows", "2")
    assert out.exit_code == 0, out.output
    text = out.output
    assert "inventory 资源清单 (所在目录「inventory」)" in text
    assert "encoding=gb18030" in text and "表头（第4行）" in text
    assert "云主机UUID → resource_id（config 映射）" in text and "租户 → tenant_unit（别名）" in text
    assert "备注 未使用（不是本类证据的列）" in text
    assert "第5行: ok  " in text and "第6行: CPU(个) 'abc':" in text
    assert "resource_id=u-1" in text and "vcpu=4" in text and "tenant_unit=刑侦支队" in text  # as parsed
    assert "共 2 行：有效 1，错误 1" in text and "会被部分接收" in text
    assert path.exists() and _batches(cfg) == 0  # nothing moved, nothing stored

    as_json = json.loads(_ops(cfg, "ingest", "--explain", str(path), "--format", "json").stdout)
    assert as_json["kind"] == "inventory" and as_json["verdict"] == "partial"
    assert {h["column"]: h["field"] for h in as_json["header"]}["备注"] is None
    [bad] = [r for r in as_json["rows"] if not r["ok"]]
    assert bad["row"] == 6 and bad["faults"][0]["column"] == "CPU(个)" and bad["faults"][0]["value"] == "abc"
    [good] = [r for r in as_json["rows"] if r["ok"]]
    assert (
        good["parsed"]["resource_id"] == "u-1"
        and good["parsed"]["storage_gb"] == "200.0"
        and bad["parsed"] == {}
    )


def test_explain_of_a_refused_file_names_the_missing_columns_and_exits_non_zero(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    cfg = config_file()  # no mapping: 云主机UUID is nothing
    path = tmp_path / "export.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8-sig")
    out = _ops(cfg, "ingest", "--explain", str(path), "--kind", "inventory")
    assert out.exit_code == EXIT_FAILURE, out.output
    assert "(--kind 指定)" in out.output and "缺少的必需列" in out.output
    assert "resource_id: 缺少必需的列 resource_id（可用列名：resource_id、资源ID" in out.output
    assert '[ingest.columns.inventory] "文件中的列名" = "resource_id"' in out.output
    assert "结论: 会被拒收" in out.output
    lines = list(
        csv.DictReader(
            _ops(cfg, "ingest", "--explain", str(path), "--kind", "inventory", "--format", "csv")
            .stdout.lstrip("\ufeff")
            .splitlines()
        )
    )
    assert {"section": "missing", "field": "resource_id"}.items() <= next(
        r for r in lines if r["section"] == "missing"
    ).items()


def test_explain_guesses_the_kind_from_an_xlsx_header_and_says_so(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    cfg = config_file()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["备份作业导出"])
    ws.append(["系统名称", "任务名称", "开始时间", "完成时间", "备份状态", "备份数据量(GB)"])
    ws.append(
        ["警务综合平台", "每日全量", datetime(2026, 11, 2, 1, 0), datetime(2026, 11, 2, 1, 40), "成功", 182.5]
    )
    path = tmp_path / "jobs.xlsx"
    wb.save(path)
    out = _ops(cfg, "ingest", "--explain", str(path))
    assert out.exit_code == 0, out.output
    assert "backup 备份作业记录 (按表头推断（6 列对得上）)" in out.output
    assert "完成时间 → finished（别名）" in out.output and "会被接收" in out.output


def test_explain_says_what_a_document_and_an_unreadable_file_are(
    config_file: Callable[..., Path], tmp_path: Path
) -> None:
    cfg = config_file()
    doc = _ops(cfg, "ingest", "--explain", str(ROOT / "examples" / "contract" / "运维服务合同.docx"))
    assert doc.exit_code == 0, doc.output
    assert "contract" in doc.output and "文档类证据" in doc.output
    old = tmp_path / "inventory.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    refused = _ops(cfg, "ingest", "--explain", str(old), "--kind", "inventory")
    assert refused.exit_code == EXIT_FAILURE and "Excel 97-2003" in refused.output
    unknown = _ops(cfg, "ingest", "--explain", str(old), "--kind", "nosuch")
    assert unknown.exit_code == 2 and "unknown evidence kind" in unknown.output


def test_a_refused_files_report_explains_its_header(config_file: Callable[..., Path], tmp_path: Path) -> None:
    cfg = config_file()
    config = load_config(cfg)
    store = open_store(config.store_url)
    try:
        path = tmp_path / "export.csv"
        path.write_text(TITLE + HEADER + ROWS, encoding="utf-8")
        result = ingest_file(store, config, "inventory", path)
        all_bad = tmp_path / "all-bad.csv"
        all_bad.write_text(
            HEADER.replace("云主机UUID", "实例ID") + "u-9,警务云,刑侦支队,云主机,-4,16,200,是,\n"
        )
        refused_by_rows = ingest_file(store, config, "inventory", all_bad)
    finally:
        store.dispose()
    assert refused_by_rows.status == "rejected" and refused_by_rows.report_path is not None
    report = refused_by_rows.report_path.read_text(encoding="utf-8-sig")
    assert "没有可用的行" in report and "表头：→ resource_id（别名）" in report
    assert result.status == "rejected" and result.report_path is not None
    lines = list(csv.reader(result.report_path.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[1][2] == "resource_id" and "[ingest.columns.inventory]" in lines[1][4]
    header = {line[2]: line[4] for line in lines[1:] if line[1] == "4"}
    assert header["租户"] == "表头：→ tenant_unit（别名）"
    assert header["云主机UUID"] == "表头：未使用（不是本类证据的列）"
    assert len(result.errors) == 1  # the header lines are explanations, not row errors


def test_ingest_drop_ingests_the_folder_once_without_evaluating(config_file: Callable[..., Path]) -> None:
    cfg = config_file(MAPPING)
    config = load_config(cfg)
    drop = config.drop_dir / "inventory"
    drop.mkdir(parents=True)
    good, dated = drop / "clean.csv", drop / "分配清单_2026-11.csv"
    good.write_text(HEADER + ROWS.splitlines()[0] + "\n", encoding="utf-8")
    dated.write_text(TITLE + HEADER + ROWS.replace("u-1", "u-3").replace("u-2", "u-4"), encoding="utf-8")
    then = time.time() - 3600
    for p in (good, dated):
        os.utime(p, (then, then))
    out = _ops(cfg, "ingest", "--drop", "--format", "json")
    assert out.exit_code == 0, out.output
    rows = {Path(r["file"]).name: r for r in json.loads(out.stdout)}
    assert rows["clean.csv"]["status"] == "accepted" and rows["分配清单_2026-11.csv"]["status"] == "partial"
    assert not good.exists() and not dated.exists()  # moved to processed/
    store = open_store(config.store_url)
    try:
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(InventoryResource)) == 2
            assert s.scalar(select(func.count()).select_from(Finding)) == 0  # nothing was evaluated
            batches = {b.source: b for b in s.scalars(select(EvidenceBatch))}
    finally:
        store.dispose()
    # Arrived: the month the name states, from its first day in site time; evidence_time stays the file's own.
    assert batches["分配清单_2026-11.csv"].known_from == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert batches["clean.csv"].known_from is None
    assert abs(batches["clean.csv"].evidence_time.timestamp() - then) < 2
    again = _ops(cfg, "ingest", "--drop")
    assert again.exit_code == 0 and "没有待处理的文件" in again.output


def test_the_ingest_command_refuses_mixed_modes(config_file: Callable[..., Path]) -> None:
    cfg = config_file()
    assert _ops(cfg, "ingest", "--drop", "--explain", "x.csv").exit_code == 2
    assert _ops(cfg, "ingest", "inventory").exit_code == 2
    assert _ops(cfg, "ingest", "--kind", "inventory").exit_code == 2
