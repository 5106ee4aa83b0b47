"""A file swapped after the scan never leaks another file's content (issue 17 #11).

A listed file replaced by a symlink after the scan was opened following the link, and the first line of the
link's target landed in rejected/…/*.errors.csv and row_errors; a hard link to /etc/shadow (as root) did the
same. Now the ingest opens the file once without following links, checks what it opened (a regular file, one
link, the inode scanned, an expected owner) and reads only a private copy of those bytes.

The "system file" here is a file in tmp holding a unique marker: the tests look for the marker in everything
ops-watch wrote (the store, processed/, rejected/, the reports) and the marker must be nowhere.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from ops_watch.config import Config
from ops_watch.ingest import FileRefused, _look, _pin, ingest_drop_folder, ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import EvidenceBatch, RowError

BACKUP_HEADER = "system,job,started,finished,status,size_gb\n"
GOOD = BACKUP_HEADER + "db01,nightly,2026-11-02 01:00,2026-11-02 01:30,success,12\n"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {"paths": {"state_dir": str(tmp_path / "var")}, "ingest": {"drop_dir": str(tmp_path / "drop")}}
    )


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, str]:
    """A stand-in for /etc/shadow: a file the sender must never get ops-watch to read."""
    marker = f"SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "system" / "shadow"
    path.parent.mkdir()
    path.write_text(f"root:{marker}:19000:0:99999:7:::\n", encoding="utf-8")
    return path, marker


def _age(path: Path, seconds: float = 60) -> None:
    """Old enough to be taken at the first look (a file untouched for a while is finished)."""
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def _drop_path(config: Config, name: str = "runs.csv") -> Path:
    folder = config.drop_dir / "backup"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def _written_anywhere(store: Store, config: Config, marker: str) -> list[str]:
    """Where the marker appears: every text column of the store, every file under the drop and state folders."""
    found = []
    with store.engine.connect() as conn:
        for table in ("evidence_batches", "row_errors", "backup_jobs"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed names
                if marker in " ".join(str(v) for v in row):
                    found.append(table)
    for root in (config.drop_dir, config.state_dir):
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink() or path.stat().st_nlink > 1:
                continue  # the link the sender made, moved to rejected/ as it is: not a copy ops-watch wrote
            if marker.encode() in path.read_bytes():
                found.append(str(path))
    return found


def _the_batch(store: Store) -> EvidenceBatch:
    with store.session() as s:
        (batch,) = s.scalars(select(EvidenceBatch))
        return batch


def test_a_file_swapped_for_a_symlink_after_the_scan_is_refused_unread(store, config, secret):
    secret_path, marker = secret
    path = _drop_path(config)
    # What the drop folder does once its scan listed the file: ingest_file(move=True). By then the sender
    # has replaced the file with a link to the secret.
    path.symlink_to(secret_path)
    result = ingest_file(store, config, "backup", path, move=True)

    assert result.status == "rejected"
    assert "symbolic link" in result.problem.en and "符号链接" in result.problem.zh
    assert _the_batch(store).status == "rejected"
    assert _written_anywhere(store, config, marker) == []
    assert secret_path.read_text().count(marker) == 1  # untouched


def test_a_hard_link_to_another_file_is_refused_unread(store, config, secret):
    secret_path, marker = secret
    path = _drop_path(config)
    os.link(secret_path, path)
    _age(path)
    (result,) = ingest_drop_folder(store, config)

    assert result.status == "rejected"
    assert "hard links" in result.problem.en and "硬链接" in result.problem.zh
    with store.session() as s:
        reasons = s.scalars(select(RowError.reason)).all()
    assert any("hard links" in r or "硬链接" in r for r in reasons)
    assert _written_anywhere(store, config, marker) == []


def test_a_file_replaced_between_the_check_and_the_open_is_refused(config, tmp_path):
    path = _drop_path(config)
    path.write_text(GOOD, encoding="utf-8")
    scanned = _look(path)
    replacement = tmp_path / "other.csv"
    replacement.write_text(GOOD.replace("db01", "db99"), encoding="utf-8")
    os.replace(replacement, path)  # same name, another inode

    with pytest.raises(FileRefused) as refused:
        _pin(config, path, scanned, strict=True)
    assert "replaced" in refused.value.problem.en
    assert not list((config.state_dir / "tmp").glob("ops-watch-read-*"))  # no copy was made


def test_a_fifo_in_place_of_the_file_is_refused_without_hanging(store, config):
    path = _drop_path(config)
    os.mkfifo(path)  # no writer: a blocking open would wait for ever
    result = ingest_file(store, config, "backup", path, move=True)
    assert result.status == "rejected"
    assert "not a regular file" in result.problem.en


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root (CI runs as root)")
def test_a_file_of_another_user_is_refused_unless_that_user_is_a_listed_sender(store, config, tmp_path):
    path = _drop_path(config)
    path.write_text(GOOD, encoding="utf-8")
    os.chown(path, 54321, 54321)
    _age(path)
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "rejected"
    assert "uid 54321" in result.problem.en and "[ingest] owners" in result.problem.en

    listed = Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var")},
            "ingest": {"drop_dir": str(tmp_path / "drop"), "owners": ["54321"]},
        }
    )
    again = _drop_path(listed, "runs-again.csv")
    again.write_text(GOOD, encoding="utf-8")
    os.chown(again, 54321, 54321)
    _age(again)
    (result,) = ingest_drop_folder(store, listed)
    assert result.status == "accepted", result.summary("en")


def test_the_bytes_read_are_a_private_copy_removed_afterwards(store, config):
    path = _drop_path(config)
    path.write_text(GOOD, encoding="utf-8")
    _age(path)
    (result,) = ingest_drop_folder(store, config)
    assert result.status == "accepted" and result.rows_ok == 1
    assert not list((config.state_dir / "tmp").glob("ops-watch-read-*"))


def test_by_hand_a_link_the_operator_names_is_read(store, config, tmp_path):
    """`ops-watch ingest FILE` reads what the operator points at, a link included: only the drop folder,
    where anyone with an upload account can put anything, is strict."""
    real = tmp_path / "exports" / "runs.csv"
    real.parent.mkdir()
    real.write_text(GOOD, encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    result = ingest_file(store, config, "backup", link)
    assert result.status == "accepted" and result.rows_ok == 1
