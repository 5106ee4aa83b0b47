"""The command line. `ops_watch.cli:main` is the console script; the app itself is in app.py, loaded on first
use so that an area's commands module can import cli.common without loading every area first."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "main":
        # start-up time: an area's commands import cli.common, which must not load the app and every area.
        from ops_watch.cli.app import main

        return main
    raise AttributeError(name)
