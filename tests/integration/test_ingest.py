"""Evidence ingest against a real store: the drop folder, duplicates, bad files, both write modes, streaming.

`store` (tests/conftest.py) runs each test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, func, select
from sqlalchemy.orm import DeclarativeBase

from ops_watch import ingest
from ops_watch.config import Config
from ops_watch.formats import KINDS, fields
from ops_watch.formats.spec import Column as KindColumn
from ops_watch.formats.spec import RecordKind, build_record
from ops_watch.formats.tabular import TableError
from ops_watch.ingest import IngestResult, ingest_drop_folder, ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import EvidenceBatch, InventoryResource, RowError, StaffMember

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
INVENTORY_HEADER = "资源ID,云平台,租户单位,类型,vCPU,内存(GB),存储(GB),需备份\n"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {"paths": {"state_dir": str(tmp_path / "var")}, "ingest": {"drop_dir": str(tmp_path / "drop")}}
    )


def _age(path: Path, seconds: float = 60) -> None:
    """Make a dropped file look settled (not still being written)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _drop(config: Config, kind: str, name: str, data: str | bytes, encoding: str = "utf-8") -> Path:
    path = config.drop_dir / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    _age(path)
    return path


def _report(result: IngestResult) -> list[list[str]]:
    assert result.report_path is not None
    raw = result.report_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the report must be UTF-8 with BOM for Excel"
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def _count(store: Store, table: Any, *where: Any) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(table).where(*where)) or 0


def _today(config: Config) -> str:
    from ops_watch.core.timeutil import utcnow

    return utcnow().astimezone(config.site.zone).date().isoformat()


# --- the demo's examples through the drop folder -----------------------------------------------------


def test_examples_through_the_drop_folder(store: Store, config: Config) -> None:
    shutil.copytree(EXAMPLES / "inventory", config.drop_dir / "inventory")
    shutil.copytree(EXAMPLES / "staff", config.drop_dir / "staff")
    for p in config.drop_dir.rglob("*"):
        _age(p)

    results = {r.kind: r for r in ingest_drop_folder(store, config)}

    inv, staff = results["inventory"], results["staff"]
    assert (inv.status, inv.rows_total, inv.rows_ok, inv.rows_bad) == ("partial", 26, 24, 2)
    assert (staff.status, staff.rows_total, staff.rows_ok, staff.rows_bad) == ("accepted", 12, 12, 0)
    day = _today(config)
    assert inv.stored_path == config.drop_dir / "processed" / "inventory" / day / "inventory-2026-11.csv"
    assert inv.stored_path.exists() and not (config.drop_dir / "inventory" / "inventory-2026-11.csv").exists()
    assert staff.stored_path == config.drop_dir / "processed" / "staff" / day / "staff.xlsx"
    assert staff.report_path is None

    report = _report(inv)
    assert report[0] == ["file", "row", "column", "value", "reason"]
    assert [(r[1], r[2], r[3]) for r in report[1:]] == [("11", "CPU核数", "-4"), ("22", "资源类型", "容器")]
    assert inv.report_path == inv.stored_path.with_name("inventory-2026-11.csv.errors.csv")
    assert inv.report_path.stat().st_mode & 0o777 == inv.stored_path.stat().st_mode & 0o666

    assert _count(store, InventoryResource) == 24
    assert _count(store, StaffMember) == 12
    assert _count(store, RowError, RowError.batch_id == inv.batch_id) == 2
    with store.session() as s:
        left = s.get(StaffMember, "YW-007")
        assert left is not None and left.active_to is not None and left.active_to.isoformat() == "2026-10-15"
        batch = s.get(EvidenceBatch, inv.batch_id)
        assert batch is not None
        assert (batch.kind, batch.source, batch.status) == ("inventory", "inventory-2026-11.csv", "partial")
        assert (batch.rows_total, batch.rows_ok, batch.rows_bad, batch.rows_duplicate) == (26, 24, 2, 0)
        assert batch.sha256 == ingest.file_sha256(inv.stored_path)
        assert batch.stored_path == str(inv.stored_path)
        assert '"encoding": "utf-8-sig"' in batch.detail

    # Dropped again: a duplicate that changes nothing and goes to rejected/ with a note.
    again = _drop(
        config,
        "inventory",
        "inventory-2026-11.csv",
        (EXAMPLES / "inventory" / "inventory-2026-11.csv").read_bytes(),
    )
    (dup,) = ingest_drop_folder(store, config)
    assert dup.status == "duplicate" and dup.batch_id == inv.batch_id
    assert "批次" in dup.reason and "inventory-2026-11.csv" in dup.reason
    assert not again.exists()
    assert dup.stored_path == config.drop_dir / "rejected" / "inventory" / day / "inventory-2026-11.csv"
    assert "批次" in _report(dup)[1][4]
    assert _count(store, EvidenceBatch) == 2
    assert _count(store, RowError) == 2


# --- by hand -----------------------------------------------------------------------------------------


def test_by_hand_the_file_stays_and_the_report_goes_to_the_state_dir(
    store: Store, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "inv.csv"
    path.write_text(
        INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,4,8,100,是\nr2,警务云,刑侦支队,vm,x,8,100,是\n",
        encoding="gb18030",
    )
    result = ingest_file(store, config, "inventory", path)
    assert (result.status, result.rows_ok, result.rows_bad) == ("partial", 1, 1)
    assert path.exists() and result.stored_path == path.resolve()
    assert result.report_path == config.state_dir / "ingest-reports" / _today(config) / "inv.csv.errors.csv"
    assert not list(tmp_path.glob("*.errors.csv"))  # nothing left beside the user's file
    assert result.report_path.stat().st_mode & 0o777 == 0o644
    assert _report(result)[1][:4] == ["inv.csv", "3", "vCPU", "x"]
    assert result.errors[0].row == 3 and result.errors[0].reason == "应为整数"
    assert "部分接收" in result.summary("zh") and "1 ok" in result.summary("en")

    again = ingest_file(store, config, "inventory", path)
    assert again.status == "duplicate" and again.rows_ok == 0

    path.write_text(INVENTORY_HEADER + "r3,警务云,刑侦支队,vm,-1,8,100,是\n", encoding="utf-8")
    third = ingest_file(store, config, "inventory", path)
    assert third.report_path == result.report_path.with_name("inv-1.csv.errors.csv")  # never overwritten


def test_an_unreadable_path_raises_ingest_error(store: Store, config: Config, tmp_path: Path) -> None:
    with pytest.raises(ingest.IngestError) as err:
        ingest_file(store, config, "inventory", tmp_path / "missing.csv")
    assert "missing.csv" in str(err.value)
    assert _count(store, EvidenceBatch) == 0


def test_an_unknown_kind_by_hand_is_a_rejection_listing_the_kinds(
    store: Store, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = ingest_file(store, config, "inventroy", path)
    assert result.status == "rejected"
    assert "inventory" in result.reason and "staff" in result.reason


# --- upsert: the latest file wins --------------------------------------------------------------------


@pytest.mark.parametrize("chunk_rows", [5000, 1])
def test_upsert_latest_file_and_latest_row_win(
    store: Store, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    monkeypatch.setattr(ingest, "CHUNK_ROWS", chunk_rows)  # 1: every row its own statement
    first = tmp_path / "a.csv"
    first.write_text(
        INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,4,8,100,是\nr2,警务云,交警支队,vm,2,4,50,否\n",
        encoding="utf-8",
    )
    second = tmp_path / "b.csv"
    second.write_text(
        INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,8,8,100,是\nr1,警务云,刑侦支队,vm,16,8,100,是\n",
        encoding="utf-8",
    )

    a = ingest_file(store, config, "inventory", first)
    b = ingest_file(store, config, "inventory", second)

    assert (a.rows_ok, a.rows_duplicate) == (2, 0)
    assert (b.status, b.rows_total, b.rows_ok, b.rows_duplicate) == ("accepted", 2, 1, 1)
    with store.session() as s:
        r1 = s.get(InventoryResource, "r1")
        r2 = s.get(InventoryResource, "r2")
        assert r1 is not None and r2 is not None
        assert (r1.vcpu, r1.batch_id) == (16, b.batch_id)  # the later row of the later file
        assert (r2.vcpu, r2.batch_id) == (2, a.batch_id)  # not in the later file: kept


# --- append: a generic kind over a table of its own --------------------------------------------------


class _TestBase(DeclarativeBase):
    metadata = MetaData()


class _Reading(_TestBase):
    __tablename__ = "test_readings"
    __table_args__ = (UniqueConstraint("meter", "day", name="uq_test_readings_meter_day"),)
    id = Column(Integer, primary_key=True)
    meter = Column(String(32), nullable=False)
    day = Column(String(10), nullable=False)
    value = Column(Integer, nullable=False)
    batch_id = Column(Integer)


@dataclass(slots=True)
class _ReadingRecord:
    meter: str
    day: str
    value: int


@pytest.fixture
def readings_kind(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordKind]:
    table: Table = _Reading.__table__  # type: ignore[assignment]
    table.create(store.engine)
    kind = RecordKind(
        name="readings",
        title_zh="读数",
        title_en="readings",
        columns=(
            KindColumn("meter", ("表号",), fields.text(32)),
            KindColumn("day", ("日期",), fields.text(10)),
            KindColumn("value", ("读数",), fields.integer()),
        ),
        record_type=_ReadingRecord,
        build=build_record(_ReadingRecord),
        table=_Reading,
        write_mode="append",
        key=("meter", "day"),
        time_column=None,
    )
    with KINDS.registered("readings", kind):
        yield kind
    table.drop(store.engine)


def test_append_ignores_records_already_stored_and_exact_repeats(
    store: Store, config: Config, tmp_path: Path, readings_kind: RecordKind
) -> None:
    first = tmp_path / "r1.csv"
    first.write_text("表号,日期,读数\nm1,2026-11-01,5\nm1,2026-11-02,7\nm1,2026-11-02,7\n", encoding="utf-8")
    second = tmp_path / "r2.csv"
    second.write_text("meter,day,value\nm1,2026-11-02,9\nm1,2026-11-03,4\n", encoding="utf-8")

    a = ingest_file(store, config, "readings", first)
    b = ingest_file(store, config, "readings", second)

    assert (a.status, a.rows_total, a.rows_ok, a.rows_duplicate) == ("accepted", 3, 2, 1)
    assert (b.status, b.rows_total, b.rows_ok, b.rows_duplicate) == ("accepted", 2, 1, 1)
    with store.session() as s:
        stored = s.execute(
            select(_Reading.day, _Reading.value, _Reading.batch_id).order_by(_Reading.day)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("2026-11-01", 5, a.batch_id),
        ("2026-11-02", 7, a.batch_id),  # the first value stays: append never rewrites
        ("2026-11-03", 4, b.batch_id),
    ]

    only_repeats = tmp_path / "r3.csv"
    only_repeats.write_text("meter,day,value\nm1,2026-11-01,5\n", encoding="utf-8")
    c = ingest_file(store, config, "readings", only_repeats)
    assert (c.status, c.rows_ok, c.rows_duplicate) == ("accepted", 0, 1)  # usable, just nothing new


# --- whole-file problems -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("wrong-encoding.csv", b"id,name\ncaf\xe9,1\nna\xefve,\xe9\n\xe9t\xe9,2\n", "cannot decode"),
        ("missing.csv", "资源ID,云平台,vCPU\nr1,警务云,4\n".encode(), "tenant_unit"),
        ("garbage.csv", bytes(range(256)) * 40, "binary"),
        ("empty.csv", b"", "empty file"),
        ("header-only.csv", INVENTORY_HEADER.encode(), "no data rows"),
        ("no-header.csv", "r1,警务云,刑侦支队,vm,4,8,100,是\n".encode(), "no header"),
        ("all-bad.csv", (INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,-4,8,100,是\n").encode(), "no usable row"),
        ("photo.jpg", b"\xff\xd8\xff\xe0 JFIF", "unsupported file type"),
    ],
)
def test_whole_file_problems_reject_the_file_with_a_reason(
    store: Store, config: Config, name: str, data: bytes, words: str
) -> None:
    path = _drop(config, "inventory", name, data)
    (result,) = ingest_drop_folder(store, config)

    assert result.status == "rejected"
    assert result.problem is not None and words in result.problem.en
    assert result.reason == result.problem.zh  # people read Chinese by default
    assert not path.exists()
    assert result.stored_path == config.drop_dir / "rejected" / "inventory" / _today(config) / name
    assert result.stored_path.read_bytes() == data  # never lose the file
    report = _report(result)
    assert any(line[1] == "" and line[4] == result.reason.split("；")[0] for line in report[1:])
    assert _count(store, InventoryResource) == 0
    with store.session() as s:
        batch = s.get(EvidenceBatch, result.batch_id)
        assert batch is not None and batch.status == "rejected" and batch.sha256 is None
        assert s.scalar(select(func.count()).select_from(RowError).where(RowError.row == 0)) >= 1


def test_missing_columns_are_all_listed_with_their_aliases(
    store: Store, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("资源ID,云平台,vCPU\nr1,警务云,4\n", encoding="utf-8")
    result = ingest_file(store, config, "inventory", path)
    missing = [line for line in _report(result)[1:] if line[1] == ""]  # then the header, cell by cell
    assert [m[2] for m in missing] == ["tenant_unit", "type", "memory_gb", "storage_gb", "backup_required"]
    assert "租户单位、使用单位" in missing[0][4]


def test_a_rejected_file_can_be_dropped_again_into_the_right_folder(store: Store, config: Config) -> None:
    data = "工号,姓名,卡号,岗位,单位,入职日期,资质\nYW-1,王建国,1,值班长,安澜云,2025-01-01,\n".encode()
    _drop(config, "inventory", "staff.csv", data)
    (first,) = ingest_drop_folder(store, config)
    assert first.status == "rejected"
    _drop(config, "staff", "staff.csv", data)
    (second,) = ingest_drop_folder(store, config)
    assert second.status == "accepted" and second.rows_ok == 1


def test_a_failure_half_way_leaves_nothing_of_the_file(
    store: Store, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction per file: rows already written are rolled back when the file breaks off."""
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 1)
    real_read_records = ingest.read_records

    def breaking(kind: Any, rows: Any, ctx: Any, columns: Any = None) -> Any:
        stream = real_read_records(kind, rows, ctx, columns)
        parsed = stream.rows

        def rows_then_break() -> Iterator[Any]:
            for i, row in enumerate(parsed):
                if i == 2:
                    raise TableError("文件中途损坏", "the file broke off")
                yield row

        stream.rows = rows_then_break()
        return stream

    monkeypatch.setattr(ingest, "read_records", breaking)
    path = tmp_path / "inv.csv"
    path.write_text(
        INVENTORY_HEADER + "".join(f"r{i},警务云,刑侦支队,vm,4,8,100,是\n" for i in range(5)),
        encoding="utf-8",
    )
    result = ingest_file(store, config, "inventory", path)
    assert result.status == "rejected" and result.rows_ok == 0 and "broke off" in result.problem.en  # type: ignore[union-attr]
    assert _count(store, InventoryResource) == 0
    assert _count(store, EvidenceBatch) == 1


# --- the drop folder's rules -------------------------------------------------------------------------


def test_files_still_being_written_are_left_for_the_next_scan(store: Store, config: Config) -> None:
    fresh = config.drop_dir / "inventory" / "fresh.csv"
    fresh.parent.mkdir(parents=True)
    fresh.write_text(INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,4,8,100,是\n", encoding="utf-8")  # just now
    leftovers = [
        _drop(config, "inventory", n, b"x") for n in (".hidden.csv", "~$inv.xlsx", "a.csv.tmp", "b.csv.part")
    ]
    assert ingest_drop_folder(store, config) == []
    assert fresh.exists() and all(p.exists() for p in leftovers)
    _age(fresh)
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "accepted"


def test_unknown_subfolder_and_top_level_files_are_rejected_not_lost(store: Store, config: Config) -> None:
    unknown = _drop(config, "parking", "d.csv", "a,b\n1,2\n")
    top = config.drop_dir / "loose.csv"
    top.write_text("a,b\n", encoding="utf-8")
    _age(top)
    results = {r.path.name: r for r in ingest_drop_folder(store, config)}
    day = _today(config)
    assert results["d.csv"].status == "rejected" and "parking" in results["d.csv"].reason
    assert results["d.csv"].stored_path == config.drop_dir / "rejected" / "parking" / day / "d.csv"
    assert results["loose.csv"].stored_path == config.drop_dir / "rejected" / "unsorted" / day / "loose.csv"
    assert not unknown.exists() and not top.exists()
    with store.session() as s:
        kinds = sorted(s.scalars(select(EvidenceBatch.kind)))
    assert kinds == ["parking", "unsorted"]


def test_a_name_taken_in_processed_gets_a_suffix(store: Store, config: Config) -> None:
    row = "r{},警务云,刑侦支队,vm,4,8,100,是\n"
    _drop(config, "inventory", "inv.csv", INVENTORY_HEADER + row.format(1))
    (first,) = ingest_drop_folder(store, config)
    _drop(config, "inventory", "inv.csv", INVENTORY_HEADER + row.format(2))
    (second,) = ingest_drop_folder(store, config)
    assert first.stored_path is not None and second.stored_path is not None
    assert second.stored_path == first.stored_path.with_name("inv-1.csv")
    assert first.stored_path.read_text(encoding="utf-8").endswith(row.format(1))


def test_one_failing_file_does_not_stop_the_scan(
    store: Store, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _drop(config, "inventory", "a.csv", INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,4,8,100,是\n")
    good = _drop(config, "inventory", "b.csv", INVENTORY_HEADER + "r2,警务云,刑侦支队,vm,4,8,100,是\n")
    real = ingest.ingest_file

    def flaky(store: Store, config: Config, kind: str, path: Path, **kw: Any) -> IngestResult:
        if path.name == "a.csv":
            raise RuntimeError("database went away")
        return real(store, config, kind, path, **kw)

    monkeypatch.setattr(ingest, "ingest_file", flaky)
    results = ingest_drop_folder(store, config)
    assert [r.path.name for r in results] == ["b.csv"]
    assert bad.exists() and not good.exists()  # the failed one waits for the next scan


def test_the_oldest_file_goes_first_so_the_newest_wins(store: Store, config: Config) -> None:
    newer = _drop(
        config, "inventory", "a-newer.csv", INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,16,8,100,是\n"
    )
    older = _drop(config, "inventory", "z-older.csv", INVENTORY_HEADER + "r1,警务云,刑侦支队,vm,4,8,100,是\n")
    _age(newer, 30)
    _age(older, 90)
    assert [r.path.name for r in ingest_drop_folder(store, config)] == ["z-older.csv", "a-newer.csv"]
    with store.session() as s:
        assert s.get(InventoryResource, "r1").vcpu == 16  # type: ignore[union-attr]


def test_row_errors_in_the_store_are_capped_the_report_has_all(
    store: Store, config: Config, tmp_path: Path
) -> None:
    capped = config.model_copy(
        update={"ingest": config.ingest.model_copy(update={"max_bad_rows_reported": 3})}
    )
    path = tmp_path / "many-bad.csv"
    bad_rows = "".join(f"r{i},警务云,刑侦支队,vm,-{i + 1},8,100,是\n" for i in range(10))
    path.write_text(INVENTORY_HEADER + bad_rows + "ok,警务云,刑侦支队,vm,4,8,100,是\n", encoding="utf-8")
    result = ingest_file(store, capped, "inventory", path)
    assert (result.status, result.rows_bad, result.rows_ok) == ("partial", 10, 1)
    assert len(result.errors) == 3
    assert _count(store, RowError, RowError.batch_id == result.batch_id) == 3
    assert len(_report(result)) == 1 + 10


def test_report_values_cannot_run_as_excel_formulas(store: Store, config: Config, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(
        INVENTORY_HEADER + 'r1,警务云,刑侦支队,"=HYPERLINK(""http://x"")",4,8,100,是\n', encoding="utf-8"
    )
    result = ingest_file(store, config, "inventory", path)
    assert _report(result)[1][3] == '\'=HYPERLINK("http://x")'


# --- a 200 MB file is streamed -----------------------------------------------------------------------

_STREAM_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from ops_watch import plugins
    from ops_watch.config import Config
    from ops_watch.ingest import ingest_file
    from ops_watch.store import open_store

    plugins.load()
    path, db = Path(sys.argv[1]), sys.argv[2]
    store = open_store(f"sqlite:///{db}")
    config = Config.model_validate({"paths": {"state_dir": str(path.parent / "var")}})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = ingest_file(store, config, "inventory", path)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(result.status, result.rows_total, result.rows_ok, result.rows_bad, (after - before) // 1024)
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_a_200_mb_file_is_streamed_not_loaded_whole(tmp_path: Path) -> None:
    """Peak memory grows far less than the file: it was never read whole (rows carry a long remark, so
    the file is big in bytes while the row count, and so the test's time, stays modest)."""
    path = tmp_path / "big.csv"
    remark = "机房巡检记录" * 700  # ~12 KB of GB18030 per row in a column the kind ignores
    target = 200 * 1024 * 1024
    rows = 0
    with open(path, "w", encoding="gb18030", newline="") as f:
        f.write("资源ID,云平台,租户单位,类型,vCPU,内存(GB),存储(GB),需备份,备注\r\n")
        while f.tell() < target:
            block = "".join(
                f"R{rows + i:07d},警务云,刑侦支队,虚拟机,{-1 if (rows + i) % 997 == 0 else 4},8,100,是,{remark}\r\n"
                for i in range(500)
            )
            f.write(block)
            rows += 500
    assert path.stat().st_size >= target
    out = subprocess.run(
        [sys.executable, "-c", _STREAM_SCRIPT, str(path), str(tmp_path / "big.db")],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    status, total, ok, bad, grew_mib = out.stdout.split()
    assert (status, int(total)) == ("partial", rows)
    assert int(bad) == len([i for i in range(rows) if i % 997 == 0]) and int(ok) == rows - int(bad)
    assert int(grew_mib) < 64, f"peak RSS grew {grew_mib} MiB while ingesting a 200 MiB file"
