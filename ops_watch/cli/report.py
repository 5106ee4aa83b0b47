"""`ops-watch report`: build, archive and send the weekly report; list the archive."""

from __future__ import annotations

from pathlib import Path

import click

from ops_watch.cli.common import (
    EXIT_CONFIG,
    command,
    fail,
    format_option,
    runtime,
)
from ops_watch.core.output import render
from ops_watch.core.timeutil import utcnow
from ops_watch.jobs import queue_report
from ops_watch.notify.outbox import deliver_due
from ops_watch.report.archive import list_reports
from ops_watch.report.model import Week
from ops_watch.report.render import STATUS_EN, STATUS_ZH
from ops_watch.report.weekly import build_and_archive


@command
@click.group("report")
def report_group() -> None:
    """The weekly compliance summary: build, archive, send, list."""


@report_group.command("weekly")
@click.option("--week", "week_text", help="ISO week, e.g. 2026-W47; default the last complete week.")
@click.option("--send", is_flag=True, help="Email it to report.receivers now (through the outbox).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also copy the report's files into this folder.",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Language; default report.language.")
@click.pass_context
def report_weekly(
    ctx: click.Context, week_text: str | None, send: bool, out_dir: Path | None, lang: str | None
) -> None:
    """Build the week's report from the store, keep it under the state directory's reports/<week>/, and
    print where it is. Any past week can be rebuilt; the same store gives the same report."""
    import shutil

    with runtime(ctx) as rt:
        zone = rt.config.site.zone
        try:
            week = Week.parse(week_text, zone) if week_text else Week.last_complete(utcnow(), zone)
        except ValueError as exc:
            fail(f"--week: {exc}", EXIT_CONFIG)
        built = build_and_archive(rt.store, rt.config, rt.rules.contract, week, lang)
        zh = built.report.language == "zh"
        statuses = STATUS_ZH if zh else STATUS_EN
        click.echo(f"{built.files.subject}")
        for area in built.report.areas:
            click.echo(
                f"  {area.title}: {statuses[area.status]}  "
                + (
                    f"新增 {len(area.opened)}，解决 {len(area.resolved)}，未决 {len(area.still_open)}，"
                    f"逾期 {len(area.overdue)}"
                    if zh
                    else f"opened {len(area.opened)}, resolved {len(area.resolved)}, "
                    f"open {len(area.still_open)}, overdue {len(area.overdue)}"
                )
            )
        click.echo(("归档：" if zh else "archived: ") + str(built.folder))
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in [*built.files.files, "manifest.json"]:
                target = out_dir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(built.folder / name, target)
            click.echo(("已复制到：" if zh else "copied to: ") + str(out_dir))
        if send:
            msg = queue_report(rt.store, rt.config, built, resend=True)
            if msg is None:
                fail("nobody to send to: set notify.email.recipients or report.receivers", EXIT_CONFIG)
            result = deliver_due(rt.store, rt.config)
            if result.errors:
                click.echo(
                    ("发送失败，稍后自动重试：" if zh else "not sent yet, retried later: ")
                    + "; ".join(result.errors.values()),
                    err=True,
                )
            else:
                click.echo(("已发送给：" if zh else "sent to: ") + ", ".join(msg.recipients))


@report_group.command("list")
@format_option
@click.pass_context
def report_list(ctx: click.Context, fmt: str) -> None:
    """The archived reports, newest first, each checked against its manifest's sha256 sums."""

    with runtime(ctx) as rt:
        rows = list_reports(rt.config.reports_dir)
        if not rows and fmt == "table":
            click.echo(f"no reports in {rt.config.reports_dir} yet (ops-watch report weekly builds one)")
            return
        click.echo(
            render(rows, ["week", "status", "language", "built_at", "files", "bytes", "check", "path"], fmt)
        )
