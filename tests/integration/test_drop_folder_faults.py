"""The drop folder under a clumsy or hostile sender (issue 17): long names, symlinks, rows from the future.

Real files in a real drop folder, a real store (`store`: SQLite and PostgreSQL).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ops_watch.config import Config
from ops_watch.ingest import ingest_drop_folder
from ops_watch.store import Store
from ops_watch.store.schema import EvidenceBatch, RowError

BACKUP_HEADER = "system,job,started,finished,status,size_gb\n"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {"paths": {"state_dir": str(tmp_path / "var")}, "ingest": {"drop_dir": str(tmp_path / "drop")}}
    )


def _age(path: Path, seconds: float = 60) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def _drop(config: Config, kind: str, name: str, data: str) -> Path:
    path = config.drop_dir / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode())
    _age(path)
    return path


def _batches(store: Store) -> list[EvidenceBatch]:
    with store.session() as s:
        return list(s.scalars(select(EvidenceBatch).order_by(EvidenceBatch.id)))


def _row_errors(store: Store) -> list[RowError]:
    with store.session() as s:
        return list(s.scalars(select(RowError).order_by(RowError.id)))


# --- #5: rows dated in the future --------------------------------------------------------------------


def test_a_row_dated_after_its_arrival_is_a_row_error_naming_the_row(store: Store, config: Config) -> None:
    _drop(
        config,
        "backup",
        "runs.csv",
        BACKUP_HEADER
        + "db01,nightly,2026-11-02 01:00,2026-11-02 01:30,success,12\n"
        + "db01,nightly,2099-11-02 01:00,2099-11-02 01:30,success,12\n",
    )
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "partial", result.summary("en")
    assert (result.rows_ok, result.rows_bad) == (1, 1)
    (error,) = _row_errors(store)
    assert error.row == 3
    assert error.column == "started"
    assert "2099" in error.value
    assert "future" in error.reason or "未来" in error.reason


def test_the_future_tolerance_is_configurable(store: Store, tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var")},
            "ingest": {"drop_dir": str(tmp_path / "drop"), "future_tolerance": "36500d"},
        }
    )
    _drop(config, "backup", "runs.csv", BACKUP_HEADER + "db01,nightly,2099-11-02 01:00,,success,12\n")
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "accepted", result.summary("en")


# --- #4: symlinks --------------------------------------------------------------------------------------


def test_a_symlink_in_the_drop_folder_is_refused_with_a_reason_and_its_target_never_read(
    store: Store, config: Config, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text(BACKUP_HEADER + "TOPSECRET,nightly,2026-11-02 01:00,,success,1\n")
    link = config.drop_dir / "backup" / "runs.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    _age(link)
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "rejected"
    assert "symbolic link" in (result.problem.en if result.problem else "")
    (batch,) = _batches(store)
    assert batch.status == "rejected" and batch.source == "runs.csv"
    assert "symbolic link" in batch.detail
    assert all("TOPSECRET" not in (e.value + e.reason) for e in _row_errors(store))
    assert not link.exists() and not link.is_symlink()  # out of the drop folder: refused once, not every scan
    assert result.stored_path is not None and result.stored_path.is_symlink()
    assert secret.read_text().startswith(BACKUP_HEADER)  # the target is untouched
    assert result.report_path is not None
    assert "TOPSECRET" not in result.report_path.read_text(encoding="utf-8-sig")
    assert ingest_drop_folder(store, config) == []


# --- #3: long names ------------------------------------------------------------------------------------


def test_a_file_with_a_250_byte_name_is_ingested_and_its_report_written(store: Store, config: Config) -> None:
    name = "备" * 82 + ".csv"
    assert len(name.encode()) == 250
    path = _drop(
        config,
        "backup",
        name,
        BACKUP_HEADER + "db01,nightly,2026-11-02 01:00,,success,12\ndb01,nightly,not a time,,success,1\n",
    )
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "partial", result.summary("en")
    assert not path.exists()
    assert result.stored_path is not None and result.stored_path.is_file()
    assert result.report_path is not None and result.report_path.is_file()
    assert len(result.report_path.name.encode()) <= 255
    assert name in result.report_path.read_text(encoding="utf-8-sig")  # the report names the original
    (batch,) = _batches(store)
    assert batch.source == name  # the store keeps the original name
    assert batch.stored_path == str(result.stored_path)
    # Dropped again under the same name: a free derived name again, never ENAMETOOLONG.
    _drop(config, "backup", name, BACKUP_HEADER + "db02,nightly,2026-11-02 01:00,,success,12\n")
    (again,) = ingest_drop_folder(store, config)
    assert again.status == "accepted", again.summary("en")
    assert again.stored_path is not None and again.stored_path != result.stored_path
    assert len(again.stored_path.name.encode()) <= 255


def test_a_name_that_is_not_utf8_is_ingested_under_a_readable_name(store: Store, config: Config) -> None:
    # A Windows share's GBK name: stored and reported with the undecodable bytes replaced, never a crash.
    folder = os.fsencode(config.drop_dir / "backup")
    os.makedirs(folder)
    raw = os.path.join(folder, "备份".encode("gbk") + b".csv")
    with open(raw, "wb") as f:
        f.write((BACKUP_HEADER + "db02,nightly,2026-11-02 01:00,,success,12\nx,y,bad,,success,1\n").encode())
    then = time.time() - 60
    os.utime(raw, (then, then))
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "partial", result.summary("en")
    (batch,) = _batches(store)
    assert batch.source.endswith(".csv") and "\ufffd" in batch.source
    assert not os.path.exists(raw)
    assert result.report_path is not None and result.report_path.is_file()
    assert ingest_drop_folder(store, config) == []


def test_a_fifo_the_drop_folder_cannot_take_becomes_a_rejected_batch(store: Store, config: Config) -> None:
    _drop(config, "backup", "runs.csv", BACKUP_HEADER + "db01,nightly,2026-11-02 01:00,,success,12\n")
    fifo = config.drop_dir / "backup" / "pipe.csv"
    os.mkfifo(fifo)
    _age(fifo)
    results = ingest_drop_folder(store, config)  # never blocks opening the pipe
    assert sorted((r.path.name, r.status) for r in results) == [
        ("pipe.csv", "rejected"),
        ("runs.csv", "accepted"),
    ]
    (refused,) = [b for b in _batches(store) if b.status == "rejected"]
    assert refused.source == "pipe.csv" and "not a regular file" in refused.detail
    assert not fifo.exists()  # out of the drop folder: reported once, not at every scan
    assert ingest_drop_folder(store, config) == []


# --- #1: a file still being written --------------------------------------------------------------------


def _settled_config(tmp_path: Path, settle: str) -> Config:
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var")},
            "ingest": {"drop_dir": str(tmp_path / "drop"), "settle": settle},
        }
    )


def _rows(first: int, last: int) -> str:
    return "".join(f"db{n:02},nightly,2026-11-02 01:{n:02},,success,{n}\n" for n in range(first, last))


def test_a_file_written_in_two_steps_is_taken_whole_once_it_stops_changing(
    store: Store, tmp_path: Path
) -> None:
    config = _settled_config(tmp_path, "1s")
    # The first half was written long enough ago to look settled by its modification time alone.
    path = _drop(config, "backup", "runs.csv", BACKUP_HEADER + _rows(0, 5))

    def resume() -> None:
        time.sleep(0.3)
        with open(path, "a") as f:
            f.write(_rows(5, 10))

    writer = threading.Thread(target=resume)
    writer.start()
    first = ingest_drop_folder(store, config)  # the writer resumes between the scan's two looks
    writer.join()
    assert first == [] and path.exists()
    assert _batches(store) == []
    _age(path)
    (result,) = ingest_drop_folder(store, config)
    assert (result.status, result.rows_ok) == ("accepted", 10), result.summary("en")
    assert result.stored_path is not None
    assert result.stored_path.read_bytes() == (BACKUP_HEADER + _rows(0, 10)).encode()


def test_names_of_uploads_in_flight_are_left_alone(store: Store, config: Config) -> None:
    for name in ("runs.csv.part", "runs.csv.tmp", "~$runs.xlsx", ".runs.csv"):
        _drop(config, "backup", name, BACKUP_HEADER + _rows(0, 2))
    assert ingest_drop_folder(store, config) == []
    assert _batches(store) == []
    # The sender's rename ends the upload: then the file is taken.
    os.rename(config.drop_dir / "backup" / "runs.csv.part", config.drop_dir / "backup" / "runs.csv")
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "accepted"
