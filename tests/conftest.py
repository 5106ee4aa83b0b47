"""Shared fixtures: a real PostgreSQL on loopback, a store on each backend, config files.

Components the tests start (PostgreSQL, sshd, systemd-analyze, ...) may be missing on a developer's
machine: the test then skips with the reason. In CI (the CI environment variable set, as `.ci/run`
does) a missing component is a failure instead, so nothing silently skips there.

Helpers for test modules (tests/ is on sys.path, so `from conftest import require_component`):

- require_component(name, reason) -> str: the path of executable `name`, or skip (fail in CI).
- component_missing(reason): skip (fail in CI) for a component that is not an executable.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import glob
import json
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import tomllib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ops_watch import plugins

# Every plug-in (areas, transports, vendor formats), as the CLI and the daemon load them at start.
plugins.load()

REPO = Path(__file__).resolve().parent.parent
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")
# Tools scripts/install-test-deps.sh unpacks without installing them into the system (restic).
TOOLS_BIN = REPO / ".cache" / "tools" / "usr" / "bin"


# ---- logging: a test that runs the CLI in-process configures structlog (level, output) for the process;
# put back what was there, so a later test's capture_logs sees info events again.


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    import structlog

    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


# ---- components: skip locally, fail in CI ------------------------------------------------------


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def component_missing(reason: str) -> NoReturn:
    """Skip the test because a component it needs is missing; in CI, fail it instead."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so a missing component is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def require_component(name: str, reason: str) -> str:
    """Path of the executable `name` (searched on PATH and in the sbin directories); else skip/fail.

    `reason` says how to get it, e.g. "apt-get install openssh-server".
    """
    if os.path.isabs(name):
        if os.access(name, os.X_OK):
            return name
    else:
        search = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS, str(TOOLS_BIN)])
        found = shutil.which(name, path=search)
        if found:
            return found
    component_missing(f"{name} not found: {reason}")


# ---- PostgreSQL ---------------------------------------------------------------------------------

PG_MISSING = "PostgreSQL not installed: run make test as root or apt-get install postgresql"


def _pg_bindir() -> Path | None:
    candidates: list[str] = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            candidates.append(out.stdout.strip())

    def version(path: str) -> tuple[int, ...]:
        m = re.search(r"/postgresql/([\d.]+)/", path)
        return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for cand in candidates:
        d = Path(cand)
        if all(os.access(d / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A PostgreSQL server the tests may create databases on; `url` is a database of its own."""

    admin_url: str  # SQLAlchemy URL of a database to connect to for CREATE/DROP DATABASE
    url: str  # SQLAlchemy URL of a database created for the session
    _created: list[str] = field(default_factory=list)

    def url_for(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def _connect(self) -> Any:
        import psycopg
        from sqlalchemy.engine import make_url

        libpq = make_url(self.admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(libpq, autocommit=True, connect_timeout=10)

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        name = name or f"test_{uuid.uuid4().hex}"
        with self._connect() as conn:
            conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        self._created.append(name)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        # WITH (FORCE): a connection a test forgot to close does not keep the database alive.
        with self._connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self._created:
            self._created.remove(name)


class _LocalCluster:
    """initdb + pg_ctl in a temporary directory; as root, run as the postgres (or nobody) OS user."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = 0
        self.user: str | None = None
        self.dir = Path(tempfile.mkdtemp(prefix="ops-watch-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.started = False
        self.opts = ""
        if os.geteuid() == 0:
            for candidate in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    pw = pwd.getpwnam(candidate)
                    self.user = candidate
                    os.chown(self.dir, pw.pw_uid, pw.pw_gid)
                    break
            if self.user is None:
                raise RuntimeError("running as root and neither a postgres nor a nobody user exists")
        # /tmp is world-traversable; the cluster's own directory belongs to the server's user.
        os.chmod(self.dir, 0o700)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            runuser = shutil.which("runuser", path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS]))
            if runuser:
                cmd = [runuser, "-u", self.user, "--", *cmd]
            else:
                cmd = ["su", "-s", "/bin/sh", self.user, "-c", shlex.join(cmd)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.dir)

    def start(self) -> None:
        initdb = ["initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"]
        out = self._run(*initdb, "--no-sync")
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{out.stdout}\n{out.stderr}")
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.dir),
            # A throwaway cluster: durability off, small footprint.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            "shared_buffers": "32MB",
        }
        last_error = ""
        for _attempt in range(3):  # the free port may be taken between choosing and binding it
            self.port = _free_port()
            opts = " ".join(f"-c {k}={v}" for k, v in {**settings, "port": str(self.port)}.items())
            out = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start"
            )
            if out.returncode == 0:
                self.started = True
                self.opts = opts
                return
            last_error = out.stdout + out.stderr
            if self.log.exists():
                last_error += self.log.read_text(errors="replace")
        raise RuntimeError(f"pg_ctl start failed:\n{last_error}")

    def restart(self) -> None:
        """Stop (fast: every session ended) and start again with the same settings and port: a database restart."""
        out = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-m",
            "fast",
            "-w",
            "-t",
            "60",
            "-o",
            self.opts,
            "restart",
        )
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed:\n{out.stdout}{out.stderr}")

    def stop(self) -> None:
        if self.started:
            out = self._run(
                "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop", timeout=60
            )
            if out.returncode != 0:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the session: $OPS_WATCH_TEST_PG_URL, or one started in a temp dir."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        component_missing("psycopg is not installed: pip install -e '.[test]'")
    external = os.environ.get("OPS_WATCH_TEST_PG_URL")
    if external:
        server = PgServer(admin_url=external, url=external)
        server.url = server.create_database(f"ops_watch_test_{uuid.uuid4().hex[:12]}")
        try:
            yield server
        finally:
            for name in list(server._created):
                server.drop_database(name)
        return
    bindir = _pg_bindir()
    if bindir is None:
        component_missing(PG_MISSING)
    cluster = _LocalCluster(bindir)
    atexit.register(cluster.stop)  # even if the session is interrupted before fixture teardown
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        pytest.fail(f"cannot start PostgreSQL from {bindir}: {exc}", pytrace=False)
    admin = f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
    server = PgServer(admin_url=admin, url=admin)
    server.url = server.create_database("ops_watch_test")
    try:
        yield server
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


# ---- the store on each backend ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"test_{uuid.uuid4().hex}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def store(store_url: str) -> Iterator[Any]:
    """An open Store (migrated to the newest schema) on each backend; disposed after the test."""
    from ops_watch.store import open_store

    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.dispose()


# ---- config files -------------------------------------------------------------------------------


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dump_toml(data: dict[str, Any], _prefix: str = "") -> str:
    """Write a mapping (as tomllib reads it) back as TOML text."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in data.items():
        name = f"{_prefix}.{_toml_key(key)}" if _prefix else _toml_key(key)
        if isinstance(value, dict):
            tables.append((name, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((name, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    out = "".join(f"{line}\n" for line in lines)
    for name, table in tables:
        only_tables = bool(table) and all(isinstance(v, dict) for v in table.values())
        out += ("" if only_tables else f"\n[{name}]\n") + dump_toml(table, name)
    for name, items in arrays:
        for item in items:  # each item's values inline, so nested tables stay inside the item
            out += f"\n[[{name}]]\n" + "".join(
                f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in item.items()
            )
    return out


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[..., Path]:
    """Factory: config_file(toml_text="", name="config.toml") -> Path of a working config.

    The text is merged over a minimal base whose state_dir, rules_dir (a copy of the repo's rules/),
    drop_dir and outbox_dir all lie inside tmp_path. raw=True writes the text as it is, unmerged.
    """

    def make(toml_text: str = "", name: str = "config.toml", raw: bool = False) -> Path:
        path = tmp_path / name
        if raw:
            path.write_text(toml_text, encoding="utf-8")
            return path
        rules = tmp_path / "rules"
        if not rules.exists():
            if (REPO / "rules").is_dir():
                shutil.copytree(REPO / "rules", rules)
                # The copy keeps the repository's layout: contract.toml's [archive] dir is ../samples/archive.
                if (REPO / "samples").is_dir() and not (tmp_path / "samples").exists():
                    (tmp_path / "samples").symlink_to(REPO / "samples", target_is_directory=True)
            else:
                rules.mkdir()
        state = tmp_path / "var"
        base: dict[str, Any] = {
            "paths": {"state_dir": str(state), "rules_dir": str(rules)},
            "ingest": {"drop_dir": str(state / "drop")},
            "notify": {"email": {"transport": "file", "outbox_dir": str(state / "outbox")}},
        }
        merged = _deep_merge(base, tomllib.loads(toml_text))
        path.write_text(dump_toml(merged), encoding="utf-8")
        return path

    return make
