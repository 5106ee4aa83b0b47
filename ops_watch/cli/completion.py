"""`ops-watch completion bash|zsh`: the shell's completion script, printed.

Click's own: the script calls `ops-watch` back with `_OPS_WATCH_COMPLETE=bash_complete` (or zsh_complete) and
the words typed, and click answers from the commands, options and choices themselves, so what completes is
always what the installed version takes (no list to keep in step).
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from ops_watch.cli.common import command

PROG_NAME = "ops-watch"
COMPLETE_VAR = "_OPS_WATCH_COMPLETE"  # click derives it from the program name; named here for the docs
SHELLS = ("bash", "zsh")


@command
@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """输出 shell 补全脚本 / Print the shell completion script for bash or zsh.

    \b
    bash:  ops-watch completion bash > /etc/bash_completion.d/ops-watch
           (or, for one user: eval "$(ops-watch completion bash)" in ~/.bashrc)
    zsh:   eval "$(ops-watch completion zsh)" in ~/.zshrc, after compinit
           (or write it as _ops-watch into a directory of $fpath)
    """
    cls = get_completion_class(shell)
    assert cls is not None, shell  # bash and zsh are click's own
    script = cls(ctx.find_root().command, {}, PROG_NAME, COMPLETE_VAR).source()
    click.echo(script)
