"""What every command shares: exit codes, the output options (--format and its company) and `show`, opening
the runtime, failing with a message, and the registry of top-level commands (COMMANDS), which the app adds to
`ops-watch` once the areas are loaded."""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import OperationalError

from ops_watch.config import Config, ConfigError
from ops_watch.core.log import setup_logging
from ops_watch.core.output import FORMATS, current_style, render, render_xlsx, use_style
from ops_watch.core.registry import Registry
from ops_watch.core.timeutil import utcnow
from ops_watch.core.when import parse_datetime
from ops_watch.findings.listing import (  # noqa: F401  (moved below both the CLI and the console; kept here for the commands)
    FINDING_COLUMNS,
    FINDING_TABLE,
    finding_row,
    local_time,
)
from ops_watch.runtime import Runtime, open_runtime
from ops_watch.store import StoreError, store_locked

EXIT_FAILURE, EXIT_CONFIG = 1, 2

OUTPUT_KEY = "ops_watch.output"  # ctx.meta: the --output path of this command


def _set_output(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """--output: everything the command prints to stdout (its rows, and the lines around a table) goes to the
    file instead; when the command ends, stderr says where and how much. A command that wrote nothing (it
    failed first), or broke on an error, leaves no file."""
    if value is None:
        return
    try:
        raw = value.open("wb")
    except OSError as exc:
        raise click.BadParameter(f"{value}: cannot write ({exc.strerror}): choose a writable path") from exc
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n", write_through=True)
    saved = sys.stdout
    sys.stdout = text
    ctx.meta[OUTPUT_KEY] = value

    def done() -> None:
        error = sys.exc_info()[0]  # set when the command ends by an exception; an exit code is not one
        sys.stdout = saved
        text.flush()
        size = raw.tell()
        text.close()
        if size == 0 or (error is not None and not issubclass(error, SystemExit)):
            value.unlink(missing_ok=True)
            return
        click.echo(f"{value} ({size:,} bytes)", err=True)

    ctx.call_on_close(done)


def _set_lang(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        use_style(lang=value, lang_given=True)


def _set_header(_ctx: click.Context, _param: click.Parameter, value: str) -> None:
    use_style(header=value)


def _set_width(_ctx: click.Context, _param: click.Parameter, wide: bool) -> None:
    """A terminal's width (COLUMNS, else the terminal's own), unless --wide: a table wider than the screen folds
    its widest text and then leaves out its last columns (a note under it says which). Output to a file or a
    pipe is never fitted: what a script or a spreadsheet reads keeps every column."""
    if wide or not sys.stdout.isatty():
        use_style(width=None)
    else:
        use_style(width=max(shutil.get_terminal_size().columns, 40))


_OUTPUT_OPTIONS = (
    click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="格式：table（阅读）、json、csv（Excel/WPS）或 xlsx（需 --output 或重定向） / table (for reading), json, csv (Excel/WPS) or xlsx (give --output, or redirect).",
    ),
    click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        expose_value=False,
        callback=_set_output,
        help="写入此文件，而不显示在屏幕上 / Write to this file instead of the screen.",
    ),
    click.option(
        "--lang",
        type=click.Choice(["zh", "en"]),
        expose_value=False,
        callback=_set_lang,
        help="表格标题与状态词的语言；默认为 [site] language / Language of the table's titles and status words; default [site] language.",
    ),
    click.option(
        "--header",
        type=click.Choice(["en", "zh"]),
        default="en",
        show_default=True,
        expose_value=False,
        callback=_set_header,
        help="csv/xlsx 列标题：en（固定字段名，供脚本）或 zh（供人阅读） / csv/xlsx column titles: en (stable field names, for scripts) or zh (for people).",
    ),
    click.option(
        "--wide",
        is_flag=True,
        expose_value=False,
        callback=_set_width,
        help="完整显示每一列，不论多宽（默认：适应终端宽度） / Show every column in full, however wide (default: fit the terminal).",
    ),
)


def format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """The output options every command that prints rows has: --format, --output, --lang, --header, --wide."""
    for option in reversed(_OUTPUT_OPTIONS):
        f = option(f)
    return f


def show(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    titles: dict[str, str] | None = None,
    codes: Sequence[str] = (),
) -> None:
    """Print rows in the chosen format (to --output's file when given). XLSX, being binary, goes to --output
    or to a redirected stdout, never to a terminal."""
    if fmt == "xlsx":
        emit(render_xlsx(rows, columns, titles=titles), binary=True)
    else:
        emit(f"{render(rows, columns, fmt, titles=titles, codes=codes)}\n".encode())


def emit(data: bytes, binary: bool = False) -> None:
    """`data` to stdout (which --output has made its file)."""
    if binary and sys.stdout.isatty():
        fail(
            "--format xlsx writes a spreadsheet: give --output FILE.xlsx (or redirect: > FILE.xlsx)",
            EXIT_CONFIG,
        )
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def use_site_language(config: Config) -> None:
    """The site's language for what this command prints, unless --lang chose."""
    if not current_style().lang_given:
        use_style(lang=config.site.language)


def say(zh: str, en: str, err: bool = False) -> None:
    """A message in the language of this command's output (--lang, else the site's)."""
    click.echo(zh if output_language() == "zh" else en, err=err)


def output_language() -> str:
    """The language of what a command prints: --lang, else the site's (`runtime()` has set it)."""
    return current_style().lang


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def config_problems(exc: ConfigError) -> NoReturn:
    for problem in exc.problems:
        click.echo(problem, err=True)
    fail(
        f"发现 {len(exc.problems)} 个问题，未启动任何任务 / {len(exc.problems)} problem(s); nothing was started.",
        EXIT_CONFIG,
    )


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
    use_site_language(rt.config)
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
