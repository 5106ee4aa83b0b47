"""What every command shares: exit codes, --format, opening the runtime, failing with a message, and the
registry of top-level commands (COMMANDS), which the app adds to `ops-watch` once the areas are loaded."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from ops_watch.config import Config, ConfigError
from ops_watch.core.log import setup_logging
from ops_watch.core.output import FORMATS
from ops_watch.core.registry import Registry
from ops_watch.core.timeutil import format_local, parse_datetime, utcnow
from ops_watch.runtime import Runtime, open_runtime
from ops_watch.store import StoreError

EXIT_FAILURE, EXIT_CONFIG = 1, 2
FINDING_COLUMNS = [
    "id",
    "rule",
    "check",
    "severity",
    "status",
    "subject",
    "period_start",
    "period_end",
    "summary",
    "evidence",
    "first_seen",
    "last_seen",
    "resolved_at",
]
FINDING_TABLE = ["id", "severity", "status", "rule", "subject", "summary", "first_seen"]

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


@contextmanager
def runtime(ctx: click.Context) -> Iterator[Runtime]:
    path: Path = ctx.obj["config_path"]
    try:
        rt = open_runtime(path, check_secrets=False)  # commands by hand need no SMTP secret
    except ConfigError as exc:
        config_problems(exc)
    except StoreError as exc:
        fail(str(exc))
    setup_logging(ctx.obj["log_level"] or "warning", rt.config.log.format)
    try:
        yield rt
    finally:
        rt.close()


def local_time(cfg: Config) -> Callable[[datetime | None], str]:
    return lambda value: format_local(value, cfg.site.zone)


def finding_row(f: Any, cfg: Config, *, local_times: bool) -> dict[str, Any]:
    show = local_time(cfg) if local_times else (lambda v: v.isoformat() if v else None)
    return {
        "id": f.id,
        "rule": f.rule_id,
        "check": f.check,
        "area": f.area,
        "severity": f.severity,
        "status": f.status,
        "subject": f.subject,
        "period_start": show(f.period_start),
        "period_end": show(f.period_end),
        "summary": f.summary,
        "evidence": f.evidence,
        "first_seen": show(f.first_seen),
        "last_seen": show(f.last_seen),
        "resolved_at": show(f.resolved_at),
        "silenced_until": show(f.silenced_until),
    }


def at_time(at_text: str | None, config: Config) -> datetime:
    try:
        return parse_datetime(at_text, config.site.zone) if at_text else utcnow()
    except ValueError as exc:
        fail(f"--at: {exc}", EXIT_CONFIG)


COMMANDS: Registry[click.Command] = Registry("command")


def command(cmd: click.Command) -> click.Command:
    """Register a top-level command or group of `ops-watch` (put it above @click.command/@click.group)."""
    return COMMANDS.add(cmd.name or "", cmd)
