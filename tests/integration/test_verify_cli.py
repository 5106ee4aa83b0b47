"""`ops-watch verify` through the CLI app on a small store (the staff registry and a handover sheet): exit 0 and
a summary when intact; exit 1 naming the break, first one first, when a row was changed outside ops-watch."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from ops_watch.cli.app import main
from ops_watch.config import load_config
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import open_store
from ops_watch.store.schema import HandoverShift
from ops_watch.trail import index

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ops(config_file: Callable[..., Path], store_url: str) -> Callable[..., Result]:
    config = config_file(f'[store]\nurl = "{store_url}"\n[ingest]\nsettle = "0s"\n')
    cfg = load_config(config, check_secrets=False)
    for kind in ("staff", "handover"):
        shutil.copytree(REPO / "examples" / kind, cfg.drop_dir / kind)
    store = open_store(cfg.store_url)
    try:
        assert {r.status for r in ingest_drop_folder(store, cfg)} == {"accepted"}
        with store.session() as s:  # the trail job's first step: each batch's rows named in its index
            assert index.index_new(s) == (2, [])
    finally:
        store.dispose()

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(config), "verify", *args])

    run.store_url = cfg.store_url  # type: ignore[attr-defined]
    return run


def _tamper(store_url: str) -> tuple[int, str]:
    store = open_store(store_url)
    table = HandoverShift.__table__
    try:
        with store.engine.begin() as conn:
            row = conn.execute(
                select(table.c.id, table.c.date, table.c.shift).order_by(table.c.id).limit(1)
            ).one()
            conn.execute(update(table).where(table.c.id == row.id).values(notes="补写的交接说明"))
    finally:
        store.dispose()
    return row.id, f"{row.date}\t{row.shift}"


def test_intact_exits_0_with_a_summary(ops: Callable[..., Result]) -> None:
    result = ops()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("证据链完整。已校验：封印 4、批次 2、证据行 ")  # 2 batches, 2 indexes
    english = ops(
        "--lang", "en", "--since-last"
    )  # the first run was intact: nothing new since (the last seal re-hashed)
    assert english.exit_code == 0, english.output
    assert english.output.startswith("the trail is intact; checked: 1 seals, 0 batches, 0 rows")


def test_a_changed_row_exits_1_and_is_named(ops: Callable[..., Result]) -> None:
    row_id, key = _tamper(ops.store_url)  # type: ignore[attr-defined]
    result = ops("--wide")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["链", "序号", "问题", "对象", "表", "行键", "文件", "详情"]
    assert "证据行被改动" in lines[2] and "handover_shifts" in lines[2] and key.replace("\t", " ") in lines[2]
    assert lines[-1].startswith("发现 1 处断裂，第一处：证据行被改动")
    assert f"id {row_id}" in lines[-1]


def test_json_gives_the_whole_report(ops: Callable[..., Result]) -> None:
    intact = json.loads(ops("--format", "json", "--no-files").output)
    assert intact["ok"] is True and intact["breaks"] == [] and intact["first"] is None
    assert intact["checked"]["files"] == 0 and intact["checked"]["batches"] == 2
    row_id, key = _tamper(ops.store_url)  # type: ignore[attr-defined]
    result = ops("--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert set(doc) == {"ok", "checked", "verified", "first", "breaks", "scope"}
    assert doc["ok"] is False and len(doc["breaks"]) == 1
    assert doc["first"] == doc["breaks"][0]
    assert {k: doc["first"][k] for k in ("what", "chain", "table", "key")} == {
        "what": "row_changed",
        "chain": "evidence",
        "table": "handover_shifts",
        "key": key,
    }
    assert doc["first"]["detail"].startswith(f"id {row_id};")
    assert doc["first"]["problem"] == "证据行被改动"
    assert set(doc["checked"]) == {"seals", "batches", "rows", "files", "decisions", "heads"}


def test_a_wrong_day_is_a_usage_error(ops: Callable[..., Result]) -> None:
    result = ops("--from", "2026-11-31")
    assert result.exit_code == 2 and "--from" in result.output
    assert ops("--from", "2026-11-10", "--to", "2026-11-01").exit_code == 2
