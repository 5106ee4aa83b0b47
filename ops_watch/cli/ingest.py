"""`ops-watch ingest`: take evidence files in by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ops_watch.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    command,
    fail,
    format_option,
    runtime,
)
from ops_watch.core.output import render
from ops_watch.formats import KINDS
from ops_watch.ingest import IngestError, ingest_file


@command
@click.command("ingest")
@click.argument("kind")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option
@click.pass_context
def ingest_cmd(ctx: click.Context, kind: str, files: tuple[Path, ...], fmt: str) -> None:
    """Ingest evidence files of KIND by hand (they are not moved) and print the counts."""

    if kind not in KINDS:
        fail(f"unknown evidence kind {kind!r} (known: {', '.join(sorted(KINDS))})", EXIT_CONFIG)
    with runtime(ctx) as rt:
        rows, errors = [], []
        for path in files:
            if not path.is_file():
                rows.append({"file": str(path), "status": "rejected", "reason": "no such file"})
                continue
            try:
                r = ingest_file(rt.store, rt.config, kind, path, move=False, contract=rt.rules.contract)
            except IngestError as exc:
                rows.append({"file": str(path), "status": "rejected", "reason": str(exc)})
                continue
            rows.append(
                {
                    "file": str(path),
                    "status": r.status,
                    "total": r.rows_total,
                    "ok": r.rows_ok,
                    "bad": r.rows_bad,
                    "duplicate": r.rows_duplicate,
                    "reason": r.reason,
                    "report": str(r.report_path) if r.report_path else "",
                }
            )
            errors += [f"{path}: row {e.row}: {e.column}: {e.value!r}: {e.reason}" for e in r.errors[:20]]
        click.echo(
            render(rows, ["file", "status", "total", "ok", "bad", "duplicate", "reason", "report"], fmt)
        )
        for line in errors:
            click.echo(line, err=True)
        if any(r["status"] == "rejected" for r in rows):
            sys.exit(EXIT_FAILURE)
