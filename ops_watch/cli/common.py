"""What every command shares: exit codes, --format, opening the runtime, failing with a message, and the
registry of top-level commands (COMMANDS), which the app adds to `ops-watch` once the areas are loaded."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import OperationalError

from ops_watch.config import Config, ConfigError
from ops_watch.core.log import setup_logging
from ops_watch.core.output import FORMATS
from ops_watch.core.registry import Registry
from ops_watch.core.timeutil import parse_datetime, utcnow
from ops_watch.findings.listing import (  # noqa: F401  (moved below both the CLI and the console; kept here for the commands)
    FINDING_COLUMNS,
    FINDING_TABLE,
    finding_row,
    local_time,
)
from ops_watch.runtime import Runtime, open_runtime
from ops_watch.store import StoreError, store_locked

EXIT_FAILURE, EXIT_CONFIG = 1, 2

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def config_problems(exc: ConfigError) -> NoReturn:
    for problem in exc.problems:
        click.echo(problem, err=True)
    fail(f"{len(exc.problems)} problem(s); nothing was started.", EXIT_CONFIG)


def _holders(db: Path) -> list[str]:
    """The other processes that have the SQLite file (or its -wal) open: "pid N (command line)". Only the
    processes this user may inspect are seen (Linux /proc); [] elsewhere."""
    names = {str(db), f"{db}-wal", f"{db}-shm"}
    found: list[str] = []
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if not any(os.readlink(f"/proc/{pid}/fd/{fd}") in names for fd in fds):
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = " ".join(fh.read().replace(b"\0", b" ").decode(errors="replace").split())
        except OSError:
            continue
        found.append(f"pid {pid} ({cmd[:120]})")
    return found


def locked_message(db: str | None, timeout_ms: int | None) -> str:
    """One line, zh/en: the store was locked; which file, how long we waited, who has it open if seen."""
    waited = f"{timeout_ms / 1000:g} s" if timeout_ms is not None else "busy_timeout_ms"
    where = f"：{db}" if db else ""
    where_en = f": {db}" if db else ""
    holders = _holders(Path(db)) if db else []
    held = "; ".join(holders)
    zh = f"存储被锁定{where}（已等待 {waited}），占用者：{held or '未知'}"
    en = (
        f"the store is locked{where_en} (waited {waited}, store.busy_timeout_ms); held by "
        f"{held or 'a process not seen from here (e.g. the daemon ingesting a large file)'}: try again when it is done"
    )
    return f"{zh} / {en}"


@contextmanager
def runtime(ctx: click.Context, rules: bool = True) -> Iterator[Runtime]:
    """The config, the rules and the open store for a command. `rules=False`: a command that only shows what is
    stored (no rules read, no plug-in loaded: it answers in a fraction of the time)."""
    path: Path = ctx.obj["config_path"]
    if rules:
        ctx.obj.get("load_plugins", lambda: None)()  # the rules name checks and kinds: their plug-ins first
    try:
        rt = open_runtime(path, check_secrets=False, with_rules=rules)  # commands by hand need no SMTP secret
    except ConfigError as exc:
        config_problems(exc)
    except StoreError as exc:
        fail(str(exc))
    except OperationalError as exc:
        if not store_locked(exc):
            raise
        fail(locked_message(None, None))
    setup_logging(ctx.obj["log_level"] or "warning", rt.config.log.format)
    try:
        yield rt
    except OperationalError as exc:
        if not store_locked(exc):
            raise
        db = rt.store.engine.url.database if rt.store.engine.dialect.name == "sqlite" else None
        fail(locked_message(db, rt.config.store.busy_timeout_ms))
    finally:
        rt.close()


def at_time(at_text: str | None, config: Config) -> datetime:
    try:
        return parse_datetime(at_text, config.site.zone) if at_text else utcnow()
    except ValueError as exc:
        fail(f"--at: {exc}", EXIT_CONFIG)


COMMANDS: Registry[click.Command] = Registry("command")


def command(cmd: click.Command) -> click.Command:
    """Register a top-level command or group of `ops-watch` (put it above @click.command/@click.group)."""
    return COMMANDS.add(cmd.name or "", cmd)
