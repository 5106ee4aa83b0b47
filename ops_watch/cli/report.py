"""`ops-watch report`: build, archive and send the weekly report; list the archive."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ops_watch.cli.common import (
    EXIT_CONFIG,
    command,
    fail,
    format_option,
    runtime,
    say,
    show,
)
from ops_watch.core.output import current_style
from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.jobs import queue_report
from ops_watch.notify.outbox import deliver_due
from ops_watch.report.archive import list_reports
from ops_watch.report.model import Week
from ops_watch.report.render import STATUS_EN, STATUS_ZH
from ops_watch.report.weekly import build_and_archive


@command
@click.group("report")
def report_group() -> None:
    """周报：生成、归档、发送、列出 / The weekly compliance summary: build, archive, send, list."""


@report_group.command("weekly")
@click.option(
    "--week",
    "week_text",
    help="ISO 周，如 2026-W47；默认上一个完整周 / ISO week, e.g. 2026-W47; default the last complete week.",
)
@click.option(
    "--send",
    is_flag=True,
    help="立即邮件发送给 report.receivers（经发件箱） / Email it to report.receivers now (through the outbox).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="另将周报文件复制到此文件夹 / Also copy the report's files into this folder.",
)
@format_option
@click.pass_context
def report_weekly(
    ctx: click.Context, week_text: str | None, send: bool, out_dir: Path | None, fmt: str
) -> None:
    """生成并归档周报（默认上一个完整周） / Build the week's report from the store, keep it under the state directory's reports/<week>/, and
    print where it is. Any past week can be rebuilt; the same store gives the same report. --lang: the
    report's language (default report.language). json/csv/xlsx: one row per area (the rest goes to stderr)."""
    import shutil  # start-up: only this command copies files

    style = current_style()
    lang = style.lang if style.lang_given else None
    with runtime(ctx) as rt:
        zone = rt.config.site.zone
        try:
            week = Week.parse(week_text, zone) if week_text else Week.last_complete(utcnow(), zone)
        except ValueError as exc:
            fail(f"--week: {exc}", EXIT_CONFIG)
        built = build_and_archive(rt.store, rt.config, rt.rules.contract, week, lang)
        zh = built.report.language == "zh"
        statuses = STATUS_ZH if zh else STATUS_EN
        rows_out = fmt != "table"  # the rows go to stdout; what is said about them to stderr
        if rows_out:
            rows = [
                {
                    "week": week.iso,
                    "area": area.key,
                    "title": area.title,
                    "status": area.status,
                    "opened": len(area.opened),
                    "resolved": len(area.resolved),
                    "still_open": len(area.still_open),
                    "overdue": len(area.overdue),
                }
                for area in built.report.areas
            ]
            show(
                rows, ["week", "area", "title", "status", "opened", "resolved", "still_open", "overdue"], fmt
            )
        else:
            click.echo(f"{built.files.subject}")
        for area in [] if rows_out else built.report.areas:
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
        click.echo(("归档：" if zh else "archived: ") + str(built.folder), err=rows_out)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            for name in [*built.files.files, "manifest.json"]:
                target = out_dir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(built.folder / name, target)
            click.echo(("已复制到：" if zh else "copied to: ") + str(out_dir), err=rows_out)
        if send:
            msg = queue_report(rt.store, rt.config, built, resend=True)
            if msg is None:
                fail(
                    "没有收件人：请设置 notify.email.recipients 或 report.receivers / "
                    "nobody to send to: set notify.email.recipients or report.receivers",
                    EXIT_CONFIG,
                )
            result = deliver_due(rt.store, rt.config)
            if result.errors:
                click.echo(
                    ("发送失败，稍后自动重试：" if zh else "not sent yet, retried later: ")
                    + "; ".join(result.errors.values()),
                    err=True,
                )
            else:
                click.echo(("已发送给：" if zh else "sent to: ") + ", ".join(msg.recipients), err=rows_out)


@report_group.command("list")
@format_option
@click.pass_context
def report_list(ctx: click.Context, fmt: str) -> None:
    """已归档的周报（最新在前） / The archived reports, newest first, each checked against its manifest's sha256 sums."""

    with runtime(ctx) as rt:
        rows = list_reports(rt.config.reports_dir)
        if not rows and fmt == "table":
            say(
                f"{rt.config.reports_dir} 中还没有周报（ops-watch report weekly 生成）",
                f"no reports in {rt.config.reports_dir} yet (ops-watch report weekly builds one)",
            )
            return
        if fmt == "table":  # a person reads the site's time; JSON and CSV keep the manifest's ISO UTC
            rows = [{**r, "built_at": _local(r.get("built_at"), rt.config.site.zone)} for r in rows]
        columns = ["week", "status", "language", "built_at", "files", "bytes", "check", "path"]
        show(rows, columns, fmt, titles={"check": "校验"})


def _local(iso: object, zone: ZoneInfo) -> object:
    """An ISO time as the site's local time; anything else (a manifest without it) as it is."""
    try:
        return format_local(datetime.fromisoformat(str(iso)), zone)
    except ValueError:
        return iso
