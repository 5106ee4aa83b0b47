"""`ops-watch verify`: recompute the evidence and decisions chains from the store and the archived files and name
every break, the first one first (trail/verify.py). Exit 1 when one is found, as `check` and `ingest` do for
what they find; 2 on a wrong flag."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from ops_watch.cli.common import EXIT_FAILURE, command, format_option, output_language, runtime, say, show
from ops_watch.cli.ranges import range_options, site_day_range
from ops_watch.cli.receipts import cli_check_receipt
from ops_watch.trail.breaks import WHAT, Break
from ops_watch.trail.heads import HeadsError, published, typed_heads
from ops_watch.trail.verify import Report, last_verified, remember, verify

COLUMNS = ["chain", "seq", "problem", "subject", "table", "key", "file", "detail"]
EXPORT_COLUMNS = ["what", *COLUMNS]
TITLES_ZH = {
    "what": "断裂类型",
    "chain": "链",
    "seq": "序号",
    "problem": "问题",
    "table": "表",
    "key": "行键",
    "file": "文件",
    "detail": "详情",
}


@command
@click.command("verify")
@range_options("the seals sealed (their rows, records and files; the links are always checked whole)")
@click.option(
    "--since-last",
    is_flag=True,
    help="只校验上次完整校验之后的封印（链接仍从该处重算） / Only the seals after the last intact verify (its seal's hash re-checked first).",
)
@click.option(
    "--no-files",
    is_flag=True,
    help="不重算归档文件的 sha256 / Do not re-hash the archived files.",
)
@click.option(
    "--code",
    "codes",
    multiple=True,
    metavar="CODE",
    help='周报上印的证据链校验码，如 "E1234-7f3a9c21 D56-0b1c2d3e"（可多次） / An evidence chain code printed in a weekly report (repeatable): the chains must still lead to it.',
)
@click.option(
    "--receipt",
    "receipt_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="离线核验问题收据（ops-watch findings receipt 写出的文件），无需存储 / Check a finding's receipt (the file `ops-watch findings receipt` wrote) offline, without the store.",
)
@format_option
@click.pass_context
def verify_command(
    ctx: click.Context,
    from_text: str | None,
    to_text: str | None,
    since_last: bool,
    no_files: bool,
    codes: tuple[str, ...],
    receipt_file: Path | None,
    fmt: str,
) -> None:
    """证据链校验：重算哈希链并指出第一处断裂 / Recompute the evidence and decisions chains from the store and the archived files; name the first break (exit 1 when one is found)."""
    if receipt_file is not None:  # a receipt proves itself: no config, no store
        ctx.exit(cli_check_receipt(receipt_file))
    try:
        typed = [head for text in codes for head in typed_heads(text)]
    except HeadsError as exc:
        raise click.BadParameter(str(exc), param_hint="--code") from None
    with runtime(ctx, rules=False) as rt:
        zone = rt.config.site.zone
        start, end = site_day_range(from_text, to_text, zone)
        days = None
        if start is not None or end is not None:
            first = start.astimezone(zone).date() if start else None
            last = (end - timedelta(microseconds=1)).astimezone(zone).date() if end else None
            days = (first, last)
        with rt.store.session(see_loading=True) as session:
            since = last_verified(session) if since_last else None
            heads = [*published(session, rt.config.reports_dir), *typed]
            report = verify(session, heads=heads, files=not no_files, since=since, days=days, zone=zone)
            if days is None:
                remember(
                    session, report
                )  # an intact whole or incremental run: the next --since-last starts here
    _print(report, fmt, days, since)
    if not report.ok:
        ctx.exit(EXIT_FAILURE)


def _print(report: Report, fmt: str, days: tuple[date | None, date | None] | None, since: Any) -> None:
    lang = output_language()
    rows = [_row(b, lang) for b in report.breaks]
    if fmt == "json":
        doc = report.as_dict()
        doc["breaks"] = rows
        doc["first"] = rows[0] if rows else None
        doc["scope"] = {
            "since": since,
            "from": days[0].isoformat() if days and days[0] else None,
            "to": days[1].isoformat() if days and days[1] else None,
        }
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    if fmt in ("csv", "xlsx"):
        show(rows, EXPORT_COLUMNS, fmt, titles=TITLES_ZH, codes=["what"])
        return
    if rows:  # a key of several columns is tab-separated: spaced for reading
        show([{**r, "key": r["key"].replace("\t", " ")} for r in rows], COLUMNS, fmt, titles=TITLES_ZH)
        click.echo("")
    _summary(report)


def _row(found: Break, lang: str) -> dict[str, Any]:
    zh, en = WHAT[found.what]
    return {**found.as_dict(), "problem": zh if lang == "zh" else en}


def _summary(report: Report) -> None:
    c = report.counts()
    checked_zh = (
        f"已校验：封印 {c['seals']}、批次 {c['batches']}、证据行 {c['rows']}、文件 {c['files']}、"
        f"决定 {c['decisions']}、已公布链头 {c['heads']}"
    )
    checked_en = (
        f"checked: {c['seals']} seals, {c['batches']} batches, {c['rows']} rows, {c['files']} files, "
        f"{c['decisions']} decisions, {c['heads']} published heads"
    )
    if report.first is None:
        say(f"证据链完整。{checked_zh}", f"the trail is intact; {checked_en}")
        return
    first_zh, first_en = (report.first.text(lang).replace("\t", " ") for lang in ("zh", "en"))
    say(
        f"发现 {len(report.breaks)} 处断裂，第一处：{first_zh}。{checked_zh}",
        f"{len(report.breaks)} break(s); the first: {first_en}; {checked_en}",
    )
