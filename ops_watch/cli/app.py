"""The `ops-watch` app: the click group, its global options, and its commands, each imported when it runs
(cli/index.py: `--help` lists them without importing any). With daemon.py and jobs.py, the only place that
wires the parts together: the plug-ins are loaded here, before any command that needs them."""

from __future__ import annotations

import importlib
import unicodedata
from pathlib import Path
from typing import Any

import click

from ops_watch import __version__
from ops_watch.cli.index import COMMAND_INDEX, WITHOUT_PLUGINS

# Start-up: `ops-watch --help` and `--version` import click and the index only. The store, the config's models
# and the logging are imported by the group's callback and the commands (each import below says so).

# The modules of cli/ that define commands (the areas' commands modules come with the plug-ins).
CLI_MODULES = (
    "admin",
    "completion",
    "findings",
    "ingest",
    "notify",
    "report",
    "run",
    "serve",
    "status",
    "users",
    "verify",
)


def load_plugins() -> None:
    from ops_watch import plugins  # start-up: every area and format, only for the commands that use them

    plugins.load()


def load_every_command() -> None:
    """Import every command's module (the index's generator, and a shell's completion of sub-commands)."""
    load_plugins()
    for name in CLI_MODULES:
        importlib.import_module(f"ops_watch.cli.{name}")


def generate_index() -> str:
    """The source of cli/commands_index.py: the commands as registered once every plug-in is loaded."""
    import inspect

    from ops_watch.cli.common import COMMANDS  # start-up: the generator only

    load_every_command()
    lines = [
        '"""Written by scripts/cli_index.py from the commands as registered (see cli/index.py); do not edit."""',
        "",
        "COMMAND_INDEX: dict[str, tuple[str, str]] = {",
    ]
    for name, cmd in sorted(COMMANDS.items()):
        module = inspect.getmodule(cmd.callback)
        assert module is not None, name
        lines.append(f"    {name!r}: ({module.__name__!r}, {cmd.get_short_help_str(limit=1000)!r}),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _columns(text: str) -> int:
    """Terminal columns: a Chinese character takes two (each help line starts with Chinese)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    """A help line within `width` terminal columns, cut at a word with "..." as click cuts its own."""
    if _columns(text) <= width:
        return text
    cut = ""
    for ch in text:
        if _columns(cut + ch) > max(width - 3, 1):
            break
        cut += ch
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "..."


class _App(click.Group):
    """The group of every command, imported on demand; it also turns a store still locked after
    busy_timeout_ms into one line and exit 1, for the commands that open the store without `runtime()` (those
    with it name the file and its holders)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_INDEX)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMAND_INDEX.get(cmd_name)
        if entry is None:
            return None
        if cmd_name not in WITHOUT_PLUGINS:
            load_plugins()
        importlib.import_module(entry[0])
        from ops_watch.cli.common import COMMANDS  # start-up: with the command

        return COMMANDS.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their help's first line, from the index: no command is imported for a help text."""
        width = formatter.width - 6 - max(len(name) for name in COMMAND_INDEX)
        rows = [(name, _clip(text, width)) for name, (_, text) in sorted(COMMAND_INDEX.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from ops_watch.cli.common import fail, locked_message, store_locked  # start-up: on a failure only

            if not store_locked(exc):
                raise
            fail(locked_message(None, None))


@click.group(cls=_App, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="配置文件（默认依次：$OPS_WATCH_CONFIG、./config.toml、/etc/ops-watch/config.toml） / Config file [default: $OPS_WATCH_CONFIG, ./config.toml, /etc/ops-watch/config.toml].",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="本命令的日志级别，代替 log.level / Override log.level for this command.",
)
@click.version_option(__version__, prog_name="ops-watch")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, log_level: str | None) -> None:
    """ops-watch：对照合同监管云运维服务商 / supervise the cloud-operations contractor against the contract.

    每个命令的 --help 先给中文，再给英文；使用指南见 docs/zh/。"""
    from ops_watch.config import default_config_path  # start-up: not for --help
    from ops_watch.core.log import setup_logging
    from ops_watch.core.output import begin_command  # start-up: with the command, not for --help

    ctx.call_on_close(begin_command())  # the output options of this command only
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path or default_config_path()
    ctx.obj["log_level"] = log_level
    ctx.obj["load_plugins"] = load_plugins  # cli.common.runtime(): before the rules are read
    setup_logging(log_level or "warning", "auto")
