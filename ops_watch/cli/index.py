"""Every top-level command: the module that defines it and its one-line help, read without importing it.

`ops-watch --help` lists them from here, and a command's module (with the plug-ins, unless the command shows
stored results only) is imported when that command runs: the whole app with every area took 1.5 s to import,
for a help text. tests/unit/test_cli_index.py holds this table to the real commands; after adding or renaming a
command, or changing its help's first line, write it again with `python scripts/cli_index.py`.
"""

from __future__ import annotations

from ops_watch.cli.commands_index import COMMAND_INDEX

# Commands that read what is stored (or print a script) and need no plug-in: no check, format or source.
WITHOUT_PLUGINS = frozenset({"findings", "status", "completion", "verify"})


__all__ = ["COMMAND_INDEX", "WITHOUT_PLUGINS"]
