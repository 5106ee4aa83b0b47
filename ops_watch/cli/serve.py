"""`ops-watch serve`: the web console (docs/console.md)."""

from __future__ import annotations

import click

from ops_watch.cli.common import EXIT_CONFIG, command, fail, runtime
from ops_watch.core.log import setup_logging


@command
@click.command()
@click.option(
    "--listen",
    help="监听的 host:port，代替 [web] listen / host:port to listen on, instead of [web] listen (e.g. 127.0.0.1:8080).",
)
@click.pass_context
def serve(ctx: click.Context, listen: str | None) -> None:
    """启动 Web 控制台 / Serve the web console on [web] listen (users: `ops-watch users add`)."""

    if listen is not None:
        host, sep, port = listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            fail(f"--listen {listen!r} is not host:port (e.g. 127.0.0.1:8080, or [::1]:8080)", EXIT_CONFIG)
    # The console (FastAPI, uvicorn, its pages and their writers) loads only for this command, never in the
    # daemon, which shares this CLI's import of every command.
    from ops_watch.web.serve import serve as run_console  # start-up: only for `serve`

    with runtime(ctx) as rt:
        setup_logging(ctx.obj["log_level"] or rt.config.log.level, rt.config.log.format)
        run_console(rt, listen=listen)
