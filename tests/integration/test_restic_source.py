"""restic repositories as backup evidence, with the real restic (0.14, from .cache/tools or PATH): snapshot
lists dropped as files, and polled by the `backups` job locally and over SSH (OpenSSH's sshd on 127.0.0.1,
tests/integration/sshd.py, running the same restic binary as the "remote" one), on SQLite and PostgreSQL
(`store` from tests/conftest.py).

Each test makes its own repository in tmp_path (`restic init`, then `restic backup --time … --host …
--tag …` of a small directory, so every snapshot has a known time, host and tags). The SSH tests need root
(sshd logs in as the current user) and also test ops_watch.sources.ssh.run_command, which the poll uses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import dump_toml, require_component
from sqlalchemy import select
from sshd import SSHD, Sshd, free_port, generate_key

from ops_watch.areas.continuity.backups import poll_backups
from ops_watch.config import Config, load_config
from ops_watch.core.timeutil import from_store
from ops_watch.ingest import ingest_file
from ops_watch.sources.ssh import SshError, SshSettings, run_command
from ops_watch.store import Store
from ops_watch.store.schema import BackupJob, CollectionStatus, EvidenceBatch, RowError

PASSWORD = "Restic-pass-7f3a91"
WRONG = "Wrong-pass-5531c"
REPO = "jzpt-db"
SYSTEM = "警务综合平台"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
# The backups' times, in the zone restic runs in (TZ below): "2026-11-02 01:00:00" is 2026-11-01 17:00 UTC.
ZONE = "Asia/Shanghai"


def utc(local: str) -> datetime:
    """A time restic was given in Asia/Shanghai, as the store keeps it."""
    return datetime.fromisoformat(local).replace(tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture(scope="module")
def restic() -> str:
    return require_component("restic", "scripts/install-test-deps.sh unpacks it into .cache/tools")


@dataclass
class Repository:
    """A restic repository in tmp_path, and the directory its backups read."""

    restic: str
    path: Path
    data: Path
    env: dict[str, str]

    def run(self, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "RESTIC_PASSWORD": password}
        return subprocess.run(
            [self.restic, "-r", str(self.path), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def backup(self, at: str, host: str = "jzpt-db01", tags: tuple[str, ...] = ("nightly",)) -> None:
        """One backup run, started at `at` (Asia/Shanghai) as restic records it (--time)."""
        (self.data / "db.dump").write_text(f"dump of {at}\n" * 50, encoding="utf-8")
        tag_args = [a for t in tags for a in ("--tag", t)]
        self.run("backup", "--quiet", "--time", at, "--host", host, *tag_args, str(self.data))

    def snapshots_json(self) -> str:
        return self.run("snapshots", "--json", "--quiet").stdout


RUNS = ("2026-11-01 01:00:00", "2026-11-02 01:00:00", "2026-11-02 03:30:15")


def new_repository(restic: str, where: Path) -> Repository:
    # restic's cache and the times it prints stay inside the test: its own cache dir, a fixed zone.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(where),
        "RESTIC_CACHE_DIR": str(where / "restic-cache"),
        "TZ": ZONE,
    }
    return Repository(restic, where / "repo", where / "jzpt", env)


def copy_of(template: Repository, where: Path) -> Repository:
    """A copy of a template repository: `restic init` derives its key for seconds, once per module."""
    repo = new_repository(template.restic, where)
    shutil.copytree(template.path, repo.path)
    shutil.copytree(template.data, repo.data)
    return repo


@pytest.fixture(scope="module")
def empty_template(restic: str, tmp_path_factory: pytest.TempPathFactory) -> Repository:
    repo = new_repository(restic, tmp_path_factory.mktemp("empty-template"))
    repo.data.mkdir()
    repo.run("init")
    return repo


@pytest.fixture(scope="module")
def runs_template(empty_template: Repository, tmp_path_factory: pytest.TempPathFactory) -> Repository:
    repo = copy_of(empty_template, tmp_path_factory.mktemp("runs-template"))
    for at in RUNS:
        repo.backup(at)
    return repo


@pytest.fixture
def empty_repository(empty_template: Repository, tmp_path: Path) -> Repository:
    """A repository without snapshots."""
    return copy_of(empty_template, tmp_path)


@pytest.fixture
def repository(runs_template: Repository, tmp_path: Path) -> Repository:
    """A repository with the three runs of RUNS (host jzpt-db01, tag nightly)."""
    return copy_of(runs_template, tmp_path)


@pytest.fixture(autouse=True)
def no_restic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's own environment says nothing to restic unless a test sets it."""
    for name in list(os.environ):
        if name.startswith("RESTIC_"):
            monkeypatch.delenv(name)


def make_config(
    config_file: Callable[..., Path],
    tmp_path: Path,
    repo: Repository,
    *,
    secret: str | None = PASSWORD,
    ssh: dict[str, Any] | None = None,
    extra: list[dict[str, Any]] | None = None,
    **entry: Any,
) -> Config:
    if secret is not None:
        (tmp_path / "restic-password").write_text(secret + "\n", encoding="utf-8")
    base: dict[str, Any] = {
        "name": REPO,
        "system": SYSTEM,
        "repository": str(repo.path),
        "command": repo.restic,
        "timeout": "30s",
    }
    if secret is not None:
        base["password_file"] = "restic-password"
    base.update(entry)
    base = {k: v for k, v in base.items() if v is not None}  # None: leave the setting out
    data: dict[str, Any] = {"backups": {"restic": [base, *(extra or [])]}}
    if ssh is not None:
        data["collect"] = {"ssh": ssh}
    return load_config(config_file(dump_toml(data)))


def runs(store: Store) -> list[tuple[str, str, datetime, datetime | None, str, float | None]]:
    with store.session() as s:
        rows = s.execute(
            select(
                BackupJob.system,
                BackupJob.job,
                BackupJob.started,
                BackupJob.finished,
                BackupJob.status,
                BackupJob.size_gb,
            ).order_by(BackupJob.started)
        ).all()
    return [(r[0], r[1], from_store(r[2]), r[3] and from_store(r[3]), r[4], r[5]) for r in rows]


def started(store: Store) -> list[datetime]:
    return [r[2] for r in runs(store)]


def status(store: Store, target: str = REPO) -> CollectionStatus:
    with store.session() as s:
        row = s.get(CollectionStatus, ("restic", target))
        assert row is not None
        s.expunge(row)
        return row


def batches(store: Store) -> list[EvidenceBatch]:
    with store.session() as s:
        found = list(s.scalars(select(EvidenceBatch).order_by(EvidenceBatch.id)))
        for b in found:
            s.expunge(b)
        return found


EXPECTED = [utc(at) for at in RUNS]


# ---- dropped files ----------------------------------------------------------------------------


def test_a_dropped_snapshot_list_stores_one_successful_run_per_snapshot(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, repository, poll=False)
    path = tmp_path / f"{REPO}_snapshots_2026-11-02.json"
    path.write_text(repository.snapshots_json(), encoding="utf-8")
    result = ingest_file(store, config, "backup", path)
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 3, 0)
    assert runs(store) == [(SYSTEM, "restic:jzpt-db", when, None, "success", None) for when in EXPECTED]
    [batch] = batches(store)
    detail = json.loads(batch.detail)
    assert detail["format"] == "restic-snapshots" and detail["repository"] == REPO
    assert detail["snapshots"] == 3


def test_a_file_named_after_no_repository_is_rejected(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, repository)
    path = tmp_path / "snapshots.json"
    path.write_text(repository.snapshots_json(), encoding="utf-8")
    result = ingest_file(store, config, "backup", path)
    assert result.status == "rejected" and result.problem is not None
    assert "'snapshots'" in result.problem.en and repr(REPO) in result.problem.en
    assert runs(store) == []


# ---- local polls ------------------------------------------------------------------------------


def test_a_poll_stores_every_run_then_only_the_new_one(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, repository, job="每日全量")
    counts = poll_backups(store, config, NOW)
    assert counts == {"repositories": 1, "runs": 3, "duplicate": 0, "bad": 0, "failed": 0}
    assert runs(store) == [(SYSTEM, "每日全量", when, None, "success", None) for when in EXPECTED]
    row = status(store)
    assert (row.error_kind, row.consecutive_failures, row.last_error) == ("", 0, "")
    assert row.last_success is not None
    [batch] = batches(store)
    assert (batch.kind, batch.source, batch.rows_ok, batch.status) == (
        "backup",
        f"restic:{REPO}",
        3,
        "accepted",
    )
    detail = json.loads(batch.detail)
    assert detail["format"] == "restic-snapshots" and detail["where"] == "local"
    assert detail["location"] == str(repository.path) and detail["snapshots"] == 3

    repository.backup("2026-11-03 01:00:00")
    again = poll_backups(store, config, NOW + timedelta(hours=1))
    assert (again["runs"], again["duplicate"], again["failed"]) == (1, 3, 0)
    assert started(store) == [*EXPECTED, utc("2026-11-03 01:00:00")]
    last = batches(store)[-1]
    assert (last.rows_total, last.rows_ok, last.rows_duplicate) == (4, 1, 3)


def test_runs_polled_and_dropped_as_a_file_are_stored_once(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, repository)
    path = tmp_path / f"{REPO}-export.json"
    path.write_text(repository.snapshots_json(), encoding="utf-8")
    assert poll_backups(store, config, NOW)["runs"] == 3
    result = ingest_file(store, config, "backup", path)
    assert (result.status, result.rows_ok, result.rows_duplicate) == ("accepted", 0, 3)
    assert len(runs(store)) == 3


def test_a_file_dropped_first_then_a_poll_stores_only_what_the_file_lacked(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, repository)
    path = tmp_path / f"{REPO}.json"
    path.write_text(repository.snapshots_json(), encoding="utf-8")
    assert ingest_file(store, config, "backup", path).rows_ok == 3
    repository.backup("2026-11-02 11:00:00")
    counts = poll_backups(store, config, NOW)
    assert (counts["runs"], counts["duplicate"]) == (1, 3)


def test_the_host_and_tag_filters_are_restics(
    store: Store, config_file: Any, tmp_path: Path, empty_repository: Repository
) -> None:
    empty_repository.backup("2026-11-01 01:00:00", host="jzpt-db01", tags=("nightly",))
    empty_repository.backup("2026-11-01 02:00:00", host="jzpt-db02", tags=("nightly",))
    empty_repository.backup("2026-11-01 03:00:00", host="jzpt-db01", tags=())
    empty_repository.backup("2026-11-01 04:00:00", host="jzpt-db01", tags=("nightly", "full"))
    empty_repository.backup("2026-11-01 05:00:00", host="jzpt-db01", tags=("full",))
    config = make_config(config_file, tmp_path, empty_repository, snapshot_host="jzpt-db01", tags=["nightly"])
    assert poll_backups(store, config, NOW)["runs"] == 2
    assert started(store) == [utc("2026-11-01 01:00:00"), utc("2026-11-01 04:00:00")]
    detail = json.loads(batches(store)[-1].detail)
    # restic filtered: only the matching snapshots came back, none was left out here
    assert detail["snapshots"] == 2 and "ignored_events" not in detail

    both = make_config(config_file, tmp_path, empty_repository, tags=["nightly", "full"])
    assert poll_backups(store, both, NOW)["runs"] == 0  # the one with both tags is stored already
    assert json.loads(batches(store)[-1].detail)["snapshots"] == 1  # all tags, not any of them


def test_a_wrong_password_is_an_auth_failure_that_never_shows_the_password(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, repository, secret=WRONG)
    counts = poll_backups(store, config, NOW)
    assert (counts["failed"], counts["runs"]) == (1, 0)
    row = status(store)
    assert (row.error_kind, row.consecutive_failures) == ("auth", 1)
    assert "wrong password or no key found" in row.last_error and REPO in row.last_error
    assert "password_file" in row.last_error
    assert WRONG not in row.last_error and PASSWORD not in row.last_error
    assert runs(store) == [] and batches(store) == []

    poll_backups(store, config, NOW + timedelta(hours=1))
    assert status(store).consecutive_failures == 2


def test_the_configured_password_wins_over_one_in_the_daemons_environment(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESTIC_PASSWORD", WRONG)
    # restic refuses -r together with RESTIC_REPOSITORY_FILE ("mutually exclusive"): not inherited either
    (tmp_path / "repository-file").write_text(str(tmp_path / "elsewhere") + "\n", encoding="utf-8")
    monkeypatch.setenv("RESTIC_REPOSITORY_FILE", str(tmp_path / "repository-file"))
    config = make_config(config_file, tmp_path, repository)
    assert poll_backups(store, config, NOW)["runs"] == 3


def test_without_a_configured_password_restic_uses_its_environment_or_says_what_to_set(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(config_file, tmp_path, repository, secret=None)
    assert poll_backups(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "config" and "set password_file or password_env" in row.last_error

    (tmp_path / "env-password").write_text(PASSWORD + "\n", encoding="utf-8")
    monkeypatch.setenv("RESTIC_PASSWORD_FILE", str(tmp_path / "env-password"))
    assert poll_backups(store, config, NOW)["runs"] == 3
    assert status(store).error_kind == ""


def test_a_missing_repository_is_a_config_failure_naming_it(
    store: Store, config_file: Any, tmp_path: Path, empty_repository: Repository
) -> None:
    missing = tmp_path / "no-such-repo"
    config = make_config(config_file, tmp_path, empty_repository, repository=str(missing))
    assert poll_backups(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "config"
    assert f"there is no restic repository at {missing}" in row.last_error
    assert "check repository" in row.last_error and PASSWORD not in row.last_error


def test_restic_not_installed_is_a_config_failure(
    store: Store, config_file: Any, tmp_path: Path, empty_repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, empty_repository, command="/nonexistent/restic")
    assert poll_backups(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "config" and "/nonexistent/restic not found" in row.last_error


def test_an_unreadable_password_file_is_a_config_failure(
    store: Store, config_file: Any, tmp_path: Path, empty_repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, empty_repository)
    (tmp_path / "restic-password").unlink()  # after the config was loaded: a secret rotated away
    assert poll_backups(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "config" and "cannot read the repository password" in row.last_error
    assert "restic-password" in row.last_error


def test_a_restic_that_hangs_is_a_timeout_and_is_killed_with_its_children(
    store: Store, config_file: Any, tmp_path: Path, empty_repository: Repository
) -> None:
    pid_file = tmp_path / "child.pid"
    hanging = tmp_path / "hanging-restic"
    hanging.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pid_file}\nwait\n", encoding="utf-8")
    hanging.chmod(0o755)
    config = make_config(config_file, tmp_path, empty_repository, command=str(hanging), timeout="1s")
    assert poll_backups(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "timeout" and "within 1s" in row.last_error
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # killed; reaped by whoever adopts it
        try:
            if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the hanging restic's child process is still running")


def fake_restic(tmp_path: Path, stdout: str, status: int = 0) -> str:
    """A stand-in for restic that prints `stdout` (read from a file) and exits with `status`."""
    (tmp_path / "fake-output").write_text(stdout, encoding="utf-8")
    script = tmp_path / "fake-restic"
    script.write_text(f"#!/bin/sh\ncat {tmp_path / 'fake-output'}\nexit {status}\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def test_a_snapshot_that_cannot_be_a_run_is_a_row_error_and_the_others_are_stored(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    snapshots = json.loads(repository.snapshots_json())
    snapshots[1].pop("time")
    command = fake_restic(tmp_path, json.dumps(snapshots))
    config = make_config(config_file, tmp_path, repository, command=command)
    counts = poll_backups(store, config, NOW)
    assert (counts["runs"], counts["bad"], counts["failed"]) == (2, 1, 0)
    assert started(store) == [EXPECTED[0], EXPECTED[2]]
    batch = batches(store)[-1]
    assert (batch.status, batch.rows_ok, batch.rows_bad) == ("partial", 2, 1)
    with store.session() as s:
        [error] = s.execute(select(RowError.row, RowError.reason).where(RowError.batch_id == batch.id)).all()
    # in the site's language (Chinese by default), naming the repository and the snapshot
    assert error.row == 2 and snapshots[1]["short_id"] in error.reason and f"「{REPO}」" in error.reason
    assert status(store).error_kind == ""  # restic answered: the repository is fine, one snapshot is not


@pytest.mark.parametrize(
    ("stdout", "words"),
    [("", "printed nothing"), ("<html>login</html>", "not JSON"), ('{"message": "hi"}', "not a list")],
)
def test_output_that_is_not_a_snapshot_list_is_a_parse_failure(
    store: Store, config_file: Any, tmp_path: Path, empty_repository: Repository, stdout: str, words: str
) -> None:
    command = fake_restic(tmp_path, stdout)
    config = make_config(config_file, tmp_path, empty_repository, command=command)
    assert poll_backups(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "parse" and words in row.last_error
    assert batches(store) == []


def test_one_failing_repository_does_not_stop_the_others(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    broken = {
        "name": "xzxt-files",
        "system": "刑侦系统",
        "repository": str(tmp_path / "none"),
        "command": repository.restic,
    }
    config = make_config(config_file, tmp_path, repository, extra=[broken])
    counts = poll_backups(store, config, NOW)
    assert (counts["repositories"], counts["runs"], counts["failed"]) == (2, 3, 1)
    assert status(store, "xzxt-files").error_kind == "config"
    assert status(store).error_kind == ""


def test_a_repository_with_poll_false_is_not_read(
    store: Store, config_file: Any, tmp_path: Path, repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, repository, poll=False)
    assert poll_backups(store, config, NOW) == {
        "repositories": 0,
        "runs": 0,
        "duplicate": 0,
        "bad": 0,
        "failed": 0,
    }
    assert batches(store) == []


def test_an_empty_repository_is_a_successful_poll_with_no_runs(
    store: Store, config_file: Any, tmp_path: Path, empty_repository: Repository
) -> None:
    config = make_config(config_file, tmp_path, empty_repository)
    assert poll_backups(store, config, NOW)["runs"] == 0
    assert status(store).error_kind == ""
    assert batches(store)[-1].rows_total == 0


# ---- over SSH -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sshd_ok() -> None:
    if os.geteuid() != 0:
        pytest.skip("sshd tests need root: sshd switches to the logged-in user (run make test as root)")
    require_component(SSHD, "apt-get install openssh-server")


@pytest.fixture(scope="module")
def client_key(tmp_path_factory: pytest.TempPathFactory, sshd_ok: None) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("client") / "id_ed25519"
    return path, generate_key(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, client_key: tuple[Path, str]) -> Iterator[Sshd]:
    sshd = Sshd(tmp_path_factory.mktemp("sshd"), [("127.0.0.1", free_port())], [client_key[1]])
    sshd.start()
    try:
        yield sshd
    finally:
        sshd.stop()


def port_of(server: Sshd) -> int:
    return server.listen[0][1]


def ssh_settings(
    server: Sshd, client_key: tuple[Path, str], tmp_path: Path, known: bool = True, policy: str = "strict"
) -> dict[str, Any]:
    (tmp_path / "known_hosts").write_text(server.known_hosts_line() + "\n" if known else "", encoding="ascii")
    return {
        "user": "root",
        "key_file": str(client_key[0]),
        "known_hosts": "known_hosts",
        "host_key_policy": policy,
        "connect_timeout": "5s",
    }


def test_a_poll_over_ssh_stores_the_runs_with_the_password_on_stdin(
    store: Store,
    config_file: Any,
    tmp_path: Path,
    repository: Repository,
    server: Sshd,
    client_key: tuple[Path, str],
) -> None:
    address = f"127.0.0.1:{port_of(server)}"
    config = make_config(
        config_file,
        tmp_path,
        repository,
        host=address,
        ssh=ssh_settings(server, client_key, tmp_path),
    )
    counts = poll_backups(store, config, NOW)
    assert (counts["runs"], counts["failed"]) == (3, 0), status(store).last_error
    assert started(store) == EXPECTED
    assert json.loads(batches(store)[-1].detail)["where"] == f"root@{address}"
    assert status(store).error_kind == ""


def test_over_ssh_an_unknown_host_key_reads_nothing_and_accept_new_records_it(
    store: Store,
    config_file: Any,
    tmp_path: Path,
    repository: Repository,
    server: Sshd,
    client_key: tuple[Path, str],
) -> None:
    address = f"127.0.0.1:{port_of(server)}"
    strict = make_config(
        config_file,
        tmp_path,
        repository,
        host=address,
        ssh=ssh_settings(server, client_key, tmp_path, known=False),
    )
    assert poll_backups(store, strict, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "host_key_unknown" and address in row.last_error
    assert runs(store) == []

    accept = make_config(
        config_file,
        tmp_path,
        repository,
        host=address,
        ssh=ssh_settings(server, client_key, tmp_path, known=False, policy="accept-new"),
    )
    assert poll_backups(store, accept, NOW)["runs"] == 3
    assert f"[127.0.0.1]:{port_of(server)}" in (tmp_path / "known_hosts").read_text(encoding="ascii")


def test_over_ssh_a_wrong_password_is_auth_and_a_missing_restic_is_config(
    store: Store,
    config_file: Any,
    tmp_path: Path,
    repository: Repository,
    server: Sshd,
    client_key: tuple[Path, str],
) -> None:
    address = f"127.0.0.1:{port_of(server)}"
    ssh = ssh_settings(server, client_key, tmp_path)
    wrong = make_config(config_file, tmp_path, repository, host=address, ssh=ssh, secret=WRONG)
    assert poll_backups(store, wrong, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "auth" and "wrong password" in row.last_error
    assert WRONG not in row.last_error and PASSWORD not in row.last_error

    missing = make_config(
        config_file, tmp_path, repository, host=address, ssh=ssh, command="restic-not-installed-here"
    )
    assert poll_backups(store, missing, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "config" and "not found on that host" in row.last_error


def test_over_ssh_a_host_that_is_down_is_unreachable(
    store: Store,
    config_file: Any,
    tmp_path: Path,
    repository: Repository,
    server: Sshd,
    client_key: tuple[Path, str],
) -> None:
    port = free_port()  # nothing listens there
    config = make_config(
        config_file,
        tmp_path,
        repository,
        host=f"127.0.0.1:{port}",
        ssh=ssh_settings(server, client_key, tmp_path),
    )
    assert poll_backups(store, config, NOW)["failed"] == 1
    row = status(store)
    assert row.error_kind == "unreachable" and f"127.0.0.1:{port}" in row.last_error


# ---- ops_watch.sources.ssh.run_command ------------------------------------------------------------


@pytest.fixture
def settings(server: Sshd, client_key: tuple[Path, str], tmp_path: Path) -> SshSettings:
    (tmp_path / "known_hosts").write_text(server.known_hosts_line() + "\n", encoding="ascii")
    return SshSettings(
        user="root",
        key_file=client_key[0],
        known_hosts=tmp_path / "known_hosts",
        connect_timeout=5,
        command_timeout=5,
    )


def test_run_command_gives_stdin_to_the_command_and_keeps_stdout_stderr_and_the_status_apart(
    settings: SshSettings, server: Sshd
) -> None:
    address = f"127.0.0.1:{port_of(server)}"
    done = run_command(
        settings, address, "", 'read line; echo "got $line"; echo oops >&2; exit 3', b"s3cret\n"
    )
    assert (done.exit_status, done.stdout, done.stderr) == (3, b"got s3cret\n", b"oops\n")
    big = run_command(settings, address, "root", "head -c 300000 /dev/zero")
    assert (big.exit_status, len(big.stdout), big.stderr) == (0, 300000, b"")


def test_run_command_failures_are_ssh_errors_of_their_kind(
    settings: SshSettings, server: Sshd, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{port_of(server)}"
    with pytest.raises(SshError) as slow:
        run_command(settings, address, "", "sleep 10", timeout=0.5)
    assert slow.value.kind == "timeout" and "0.5s" in slow.value.reason
    with pytest.raises(SshError) as loud:
        run_command(settings, address, "", "head -c 100000 /dev/zero", output_limit=1000)
    assert loud.value.kind == "parse"
    with pytest.raises(SshError) as nobody:
        run_command(settings, address, "nosuchuser", "true")
    assert nobody.value.kind == "auth"
    (tmp_path / "known_hosts").write_text("", encoding="ascii")
    with pytest.raises(SshError) as unknown:
        run_command(settings, address, "", "true")
    assert unknown.value.kind == "host_key_unknown"
    with pytest.raises(SshError) as bad:
        run_command(settings, "127.0.0.1:99999", "", "true")
    assert bad.value.kind == "config"
