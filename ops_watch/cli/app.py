"""The `ops-watch` app: the click group, its global options, and every command added once the plug-ins are
loaded. With daemon.py and jobs.py, the only place that wires the parts together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ops_watch import __version__, plugins
from ops_watch.cli import admin, findings, ingest, notify, report, run, serve, status, users  # noqa: F401  (each registers its commands)
from ops_watch.cli.common import COMMANDS, fail, locked_message, store_locked
from ops_watch.config import default_config_path
from ops_watch.core.log import setup_logging


class _App(click.Group):
    """The group that turns a store still locked after busy_timeout_ms into one line and exit 1, for the
    commands that open the store without `runtime()` (those with it name the file and its holders)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not store_locked(exc):
                raise
            fail(locked_message(None, None))


@click.group(cls=_App, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file [default: $OPS_WATCH_CONFIG, ./config.toml, /etc/ops-watch/config.toml].",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Override log.level for this command.",
)
@click.version_option(__version__, prog_name="ops-watch")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, log_level: str | None) -> None:
    """ops-watch: supervise the cloud-operations contractor against the contract."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path or default_config_path()
    ctx.obj["log_level"] = log_level
    setup_logging(log_level or "warning", "auto")


plugins.load()
for _command in COMMANDS.values():
    main.add_command(_command)
