"""The money kinds (statement, budget, explanation) ingested into a real store, on SQLite and PostgreSQL.

Amounts must come back as the exact Decimals written (whole fen in the store, never a float); a bad row of
each kind is reported naming its column, the other rows of the file are kept.
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from ops_watch.config import Config
from ops_watch.ingest import ingest_drop_folder, ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import BillingStatement, BudgetEvent, IndicatorExplanation, RowError


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {"paths": {"state_dir": str(tmp_path / "var")}, "ingest": {"drop_dir": str(tmp_path / "drop")}}
    )


def _write(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _rows(store: Store, table: Any, order: Any) -> list[Any]:
    with store.session() as s:
        rows = list(s.scalars(select(table).order_by(order)))
        s.expunge_all()
        return rows


def _row_errors(store: Store, batch_id: int | None) -> list[tuple[int, str, str, str]]:
    with store.session() as s:
        return [
            (e.row, e.column, e.value, e.reason)
            for e in s.scalars(select(RowError).where(RowError.batch_id == batch_id).order_by(RowError.row))
        ]


# --- statement ---------------------------------------------------------------------------------------

STATEMENT_CSV = """月份,云平台,项目,数量,单价,金额
2026年10月,警务云,vCPU,1280,35,"44,800.00"
2026-10,警务云,内存,2560,0.3333,853.25
2026/10,警务云,存储(GB),"51,200",0.35,"¥17,920.00"
2026-10,新一代平台,固定服务费,,,175万元
2026-10,警务云,GPU卡,2,,"3,000.10"
2026-10,警务云,安全服务,8,150,"1,234"
2026-10,视频云,vCPU,0.5,0.01,0.01
"""


def test_a_statement_lands_exact_with_its_bad_line_reported(
    store: Store, config: Config, tmp_path: Path
) -> None:
    result = ingest_file(store, config, "statement", _write(tmp_path / "对账单-2026-10.csv", STATEMENT_CSV))
    assert (result.status, result.rows_total, result.rows_ok, result.rows_bad) == ("partial", 7, 6, 1)
    # the line whose amount is not quantity × unit price, named by the file's header
    assert _row_errors(store, result.batch_id) == [
        (7, "金额", "1,234", "金额 1,234.00 与 数量×单价 1,200.00（8 × 150）不符")
    ]

    # sorted here: PostgreSQL's collation may order Chinese text unlike SQLite
    rows = sorted(_rows(store, BillingStatement, BillingStatement.id), key=lambda r: (r.platform, r.item))
    got = [(r.month, r.platform, r.item, r.quantity, r.unit_price, r.amount) for r in rows]
    assert got == [
        ("2026-10", "新一代平台", "fixed_fee", None, None, Decimal("1750000.00")),
        ("2026-10", "视频云", "vcpu", Decimal("0.5"), Decimal("0.01"), Decimal("0.01")),
        ("2026-10", "警务云", "GPU卡", Decimal(2), None, Decimal("3000.10")),
        ("2026-10", "警务云", "memory_gb", Decimal(2560), Decimal("0.3333"), Decimal("853.25")),
        ("2026-10", "警务云", "storage_gb", Decimal(51200), Decimal("0.35"), Decimal("17920.00")),
        ("2026-10", "警务云", "vcpu", Decimal(1280), Decimal(35), Decimal("44800.00")),
    ]
    for r in rows:  # exact Decimals back, never floats, two places for money
        assert isinstance(r.amount, Decimal) and r.amount.as_tuple().exponent == -2
        assert r.quantity is None or isinstance(r.quantity, Decimal)
    assert str(rows[3].unit_price) == "0.3333"
    assert sum((r.amount for r in rows), Decimal(0)) == Decimal("1816573.36")


def test_a_corrected_statement_replaces_its_lines(store: Store, config: Config, tmp_path: Path) -> None:
    ingest_file(store, config, "statement", _write(tmp_path / "a.csv", STATEMENT_CSV))
    corrected = _write(
        tmp_path / "b.csv",
        "month,platform,item,quantity,unit_price,amount\n"
        "2026-10,警务云,vcpu,1281,35,44835\n"
        "2026-10,警务云,安全服务,8,150,1200\n",
        encoding="utf-8",
    )
    result = ingest_file(store, config, "statement", corrected)
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 2, 0)
    rows = {(r.platform, r.item): r for r in _rows(store, BillingStatement, BillingStatement.id)}
    assert len(rows) == 7  # one line replaced, one added
    assert (rows["警务云", "vcpu"].quantity, rows["警务云", "vcpu"].amount) == (
        Decimal(1281),
        Decimal("44835.00"),
    )
    assert rows["警务云", "vcpu"].batch_id == result.batch_id
    assert rows["警务云", "安全服务"].amount == Decimal("1200.00")


# --- budget ------------------------------------------------------------------------------------------

# The evaluation's own figures: 30.17 M planned, 10.21 M taken back, 19.96 M final, 15.3803 M paid.
BUDGET_CSV = """日期,类型,金额,备注
2026-01-10,年初预算,"30,170,000.00",年初下达
2026-03-31,支付,"¥3,800,000.00",第一季度运维服务费
2026-06-30,支付,380.03万元,第二季度运维服务费
2026-07-15,收回,1021万,年中预算收回
2026-09-30,支付,"3,790,000",第三季度运维服务费
2026-10-20,支付,-50000,冲销
2026-12-20,拨付,"3,990,000",第四季度运维服务费
"""


def test_budget_events_land_with_their_signs_and_recompute_the_evaluation(
    store: Store, config: Config, tmp_path: Path
) -> None:
    result = ingest_file(store, config, "budget", _write(tmp_path / "预算.csv", BUDGET_CSV, "gb18030"))
    assert (result.status, result.rows_total, result.rows_ok, result.rows_bad) == ("partial", 7, 6, 1)
    assert _row_errors(store, result.batch_id) == [(7, "金额", "-50000", "支付的金额应为正数")]

    events = _rows(store, BudgetEvent, BudgetEvent.date)
    assert [(e.date, e.kind, e.amount) for e in events] == [
        (date(2026, 1, 10), "initial", Decimal("30170000.00")),
        (date(2026, 3, 31), "payment", Decimal("3800000.00")),
        (date(2026, 6, 30), "payment", Decimal("3800300.00")),
        (date(2026, 7, 15), "adjustment", Decimal("-10210000.00")),  # 收回 written positive
        (date(2026, 9, 30), "payment", Decimal("3790000.00")),
        (date(2026, 12, 20), "payment", Decimal("3990000.00")),
    ]
    final = sum((e.amount for e in events if e.kind != "payment"), Decimal(0))
    paid = sum((e.amount for e in events if e.kind == "payment"), Decimal(0))
    assert (final, paid) == (Decimal("19960000.00"), Decimal("15380300.00"))
    assert (paid / final * 100).quantize(Decimal("0.01")) == Decimal("77.06")
    assert final - paid == Decimal("4579700.00")


def test_the_same_budget_event_in_two_files_is_stored_once(
    store: Store, config: Config, tmp_path: Path
) -> None:
    first = ingest_file(store, config, "budget", _write(tmp_path / "a.csv", BUDGET_CSV))
    assert first.rows_ok == 6
    # The sheet kept up to date and dropped again: the old events (written another way), one new.
    again = _write(
        tmp_path / "b.csv",
        "date,kind,amount,note\n"
        "2026/1/10,initial,3017万元,年初下达\n"
        '2026-07-15,预算收回,"(10,210,000.00)",年中预算收回\n'
        "2026-09-30,付款,3790000.00,第三季度运维服务费\n"
        "2026-09-30,付款,3790000.00,第三季度运维服务费（补）\n",
        encoding="utf-8",
    )
    result = ingest_file(store, config, "budget", again)
    assert (result.status, result.rows_ok, result.rows_duplicate, result.rows_bad) == ("accepted", 1, 3, 0)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(BudgetEvent)) == 7
    notes = [e.note for e in _rows(store, BudgetEvent, BudgetEvent.id) if e.date == date(2026, 9, 30)]
    assert sorted(notes) == ["第三季度运维服务费", "第三季度运维服务费（补）"]


# --- explanation -------------------------------------------------------------------------------------


def _explanations_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["成本偏差说明登记表"])
    ws.append(["指标名称", "期间", "偏差原因", "记录人", "记录日期"])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_explanations_land_by_indicator_and_period_and_a_revision_wins(
    store: Store, config: Config, tmp_path: Path
) -> None:
    path = _explanations_xlsx(
        tmp_path / "偏差说明.xlsx",
        [
            ["运维服务费", 2026, "年中预算收回1021万元", "李科长", datetime(2026, 10, 12)],
            ["运维服务费", "2026年第三季度", "第三季度结算顺延", "李科长", None],
            ["云资源费", datetime(2026, 10, 1), "新增视频云存储", None, "2026/11/02"],
            ["云资源费", "上半年", "无法归到期间", "李科长", None],
        ],
    )
    result = ingest_file(store, config, "explanation", path)
    assert (result.status, result.rows_total, result.rows_ok, result.rows_bad) == ("partial", 4, 3, 1)
    ((row, column, value, reason),) = _row_errors(store, result.batch_id)
    assert (row, column, value) == (6, "期间", "上半年") and reason.startswith("不是期间")

    got = {(e.indicator, e.period): e for e in _rows(store, IndicatorExplanation, IndicatorExplanation.id)}
    assert sorted(got) == [("云资源费", "2026-10"), ("运维服务费", "2026"), ("运维服务费", "2026-Q3")]
    assert (got["运维服务费", "2026"].recorded_by, got["运维服务费", "2026"].recorded_on) == (
        "李科长",
        date(2026, 10, 12),
    )
    assert (got["云资源费", "2026-10"].recorded_by, got["云资源费", "2026-10"].recorded_on) == (
        "",
        date(2026, 11, 2),
    )

    revised = _write(
        tmp_path / "revised.csv", "指标,期间,说明\n运维服务费,2026-Q3,第三季度结算顺延至十二月\n", "utf-8"
    )
    result = ingest_file(store, config, "explanation", revised)
    assert (result.status, result.rows_ok) == ("accepted", 1)
    rows = _rows(store, IndicatorExplanation, IndicatorExplanation.id)
    assert len(rows) == 3
    q3 = next(e for e in rows if e.period == "2026-Q3")
    assert (q3.explanation, q3.recorded_by, q3.batch_id) == ("第三季度结算顺延至十二月", "", result.batch_id)


# --- the drop folder ---------------------------------------------------------------------------------


def test_the_three_kinds_through_the_drop_folder(store: Store, config: Config) -> None:
    files = {
        "statement": ("对账单.csv", STATEMENT_CSV),
        "budget": ("预算事件.csv", BUDGET_CSV),
        "explanation": ("偏差说明.csv", "指标,期间,说明\n运维服务费,2026,执行率偏低\n"),
    }
    then = time.time() - 60  # settled: not still being written
    for kind, (name, text) in files.items():
        path = config.drop_dir / kind / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, text)
        os.utime(path, (then, then))
    results = {r.kind: r for r in ingest_drop_folder(store, config)}
    assert {k: (r.status, r.rows_ok, r.rows_bad) for k, r in results.items()} == {
        "statement": ("partial", 6, 1),
        "budget": ("partial", 6, 1),
        "explanation": ("accepted", 1, 0),
    }
    for r in results.values():
        assert r.stored_path is not None and "processed" in r.stored_path.parts
    assert len(_rows(store, BillingStatement, BillingStatement.id)) == 6
    assert len(_rows(store, BudgetEvent, BudgetEvent.id)) == 6
    assert len(_rows(store, IndicatorExplanation, IndicatorExplanation.id)) == 1
