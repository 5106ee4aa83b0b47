"""Engine and sessions; SQLite with WAL, foreign keys and a busy timeout; PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(Exception):
    """The store cannot be used as it is; the message says what to do."""


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def make_engine(url: str, busy_timeout_ms: int = 5000, password: str = "") -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"store.url {url!r} is not a database URL (e.g. postgresql+psycopg://user@host/db)"
        ) from None
    if password and parsed.password is None:
        parsed = parsed.set(password=password)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the database driver for {parsed.drivername} is not installed ({exc.name}): "
            "pip install 'ops-watch[postgres]'"
        ) from None
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


class Store:
    """The engine plus a session factory; `session()` commits on success and rolls back on error."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def check_revision(self) -> None:
        """Refuse a database written by a newer ops-watch: its schema is not ours to guess at."""
        current = self.current_revision()
        if current is None:
            return
        script = ScriptDirectory(str(MIGRATIONS))
        try:
            script.get_revision(current)
        except Exception:
            raise StoreError(
                f"the database is at schema revision {current}, which this ops-watch does not know "
                f"(its newest is {head_revision()}): it was written by a newer version. "
                "Install that version (or newer); do not downgrade the database by hand."
            ) from None

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; returns (before, after)."""
        self.check_revision()
        before = self.current_revision()
        command.upgrade(_alembic_config(self.engine), "head")
        return before, head_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str, busy_timeout_ms: int = 5000, password: str = "", upgrade: bool = True) -> Store:
    """Open the store; a new or older database is migrated to the newest schema, a newer one refused."""
    store = Store(make_engine(url, busy_timeout_ms, password))
    try:
        if upgrade:
            store.upgrade()
        else:
            store.check_revision()
    except OperationalError as exc:
        store.dispose()
        raise StoreError(
            f"cannot open the store at {make_url(url).render_as_string(hide_password=True)}: {exc.orig}"
        ) from None
    except BaseException:
        store.dispose()
        raise
    return store
