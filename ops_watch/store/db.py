"""Engine and sessions; SQLite with WAL, foreign keys and a busy timeout; PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ops_watch.core.log import get_logger
from ops_watch.core.process import working_for
from ops_watch.store.loading import hide_loading
from ops_watch.trail.hooks import install as seal_on_commit

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = get_logger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def _newest_migration() -> str:
    """The newest revision, from the migrations' file names without Alembic: `NNNN_what.py` declares revision
    "NNNN" (tests/unit/test_lazy_imports.py holds every migration to that)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


# A store already at the newest revision opens with one plain SELECT: Alembic (11 MiB with its templates and the
# migration scripts) loads only to create or migrate a store, so the daemon does not keep it for good after a
# one-off look at start (issue 17: its steady RSS).
HEAD_REVISION = _newest_migration()


class StoreError(Exception):
    """The store cannot be used as it is; the message says what to do."""


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # start-up: Alembic only to migrate (HEAD_REVISION)

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory  # start-up: Alembic only to migrate (HEAD_REVISION)

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def store_locked(exc: BaseException) -> bool:
    """Is this the store answering "locked"/"busy" (SQLite gave up after its busy_timeout_ms)?"""
    return isinstance(exc, OperationalError) and any(
        word in str(exc.orig).lower() for word in ("database is locked", "database table is locked", "busy")
    )


def session_name(instance: str) -> str:
    """The application_name of a daemon instance's PostgreSQL sessions (core/process.working_for): by it a new
    leader finds the sessions of the instance it replaced, and ends them (store/leader.py)."""
    return f"ops-watch {instance}"[:63]


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
        kwargs["connect_args"] = {"application_name": session_name(working_for())}
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
        hide_loading(self._sessions)
        seal_on_commit(self._sessions)

    @contextmanager
    def session(self, *, see_loading: bool = False) -> Iterator[Session]:
        """A session; its ORM queries skip the rows of batches still loading unless `see_loading` (the ingest)."""
        with self._sessions() as s:
            if see_loading:
                s.info["see_loading"] = True
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext  # start-up: Alembic only to migrate

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def check_revision(self) -> None:
        """Refuse a database written by a newer ops-watch: its schema is not ours to guess at."""
        current = self.current_revision()
        if current is None:
            return
        from alembic.script import ScriptDirectory  # start-up: Alembic only to migrate (HEAD_REVISION)

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
        from alembic import command  # start-up: Alembic only to migrate (HEAD_REVISION)

        command.upgrade(_alembic_config(self.engine), "head")
        return before, head_revision()

    def at_head(self) -> bool:
        """The schema is at HEAD_REVISION, read without Alembic (its alembic_version table); False for a new
        database, an older or newer one (Alembic then migrates or judges it)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            stored = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return list(stored) == [HEAD_REVISION]

    def dispose(self) -> None:
        self.engine.dispose()


def _child_upgrade(url: str, busy_timeout_ms: int, password: str, conn: Any) -> None:
    """In the spawned child: migrate the store, send back (before, after) or what went wrong, exit."""
    try:
        store = Store(make_engine(url, busy_timeout_ms, password))
        try:
            conn.send(("ok", store.upgrade()))
        finally:
            store.dispose()
    except StoreError as exc:
        conn.send(("store", str(exc)))
    except OperationalError as exc:
        conn.send(("database", str(exc.orig)))
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def upgrade_in_child(url: str, busy_timeout_ms: int = 5000, password: str = "") -> tuple[str | None, str]:
    """Store.upgrade in a spawned child process: Alembic and the migration scripts load there and go with it,
    never into a process that keeps running (issue 17: the daemon kept them for good after its first start).
    Returns (before, after); raises StoreError with the words open_store would have used."""
    shown = make_url(url).render_as_string(hide_password=True)
    import multiprocessing  # start-up: only to migrate, and a command that reads never does

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of this one's threads
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_upgrade,
        args=(url, busy_timeout_ms, password, send),
        name="ops-watch-migrate",
        daemon=True,
    )
    child.start()
    send.close()
    try:
        try:
            status, value = receive.recv()
        except EOFError:
            child.join(timeout=30)
            status, value = "failed", f"its child process ended (exit code {child.exitcode}) without a result"
    finally:
        child.join(timeout=30)
        receive.close()
    if status == "ok":
        before, after = value
        log.info("store migrated in a child process", store=shown, before=before, after=after)
        return before, after
    if status == "store":
        raise StoreError(value)
    if status == "database":
        raise StoreError(f"cannot open the store at {shown}: {value}")
    raise StoreError(f"migrating the store at {shown} failed: {value}")


def open_store(
    url: str,
    busy_timeout_ms: int = 5000,
    password: str = "",
    upgrade: bool = True,
    migrate_in_child: bool = False,
) -> Store:
    """Open the store; a new or older database is migrated to the newest schema, a newer one refused.

    A store at the newest schema opens without Alembic. `migrate_in_child` (the daemon, which runs for months):
    the migration runs in a child process (upgrade_in_child), so Alembic never loads in this one."""
    store = Store(make_engine(url, busy_timeout_ms, password))
    try:
        if store.at_head():
            pass  # nothing to migrate or judge, and Alembic stays unloaded
        elif migrate_in_child and upgrade:
            upgrade_in_child(url, busy_timeout_ms, password)
        elif upgrade:
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
