"""`ops-watch run`, `collect` and `check`: the main job, one collection, the rules as of a time."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from ops_watch import __version__, daemon
from ops_watch.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    FINDING_TABLE,
    command,
    config_problems,
    fail,
    finding_row,
    format_option,
    output_language,
    runtime,
    show,
    use_site_language,
)
from ops_watch.collect import collect_cycle
from ops_watch.config import ConfigError
from ops_watch.core.log import setup_logging
from ops_watch.core.output import render_table
from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.core.when import parse_date, parse_datetime
from ops_watch.findings import engine
from ops_watch.jobs import run_once
from ops_watch.runtime import Runtime, load_settings
from ops_watch.sources import build_collectors
from ops_watch.store.leader import AlreadyRunning, leading_once
from ops_watch.store.schema import CollectionStatus, EvidenceBatch, Finding, OutboxMessage, RowError


@command
@click.command()
@click.option(
    "--once",
    is_flag=True,
    help="导入、采集、评估、通知各执行一次，显示结果后退出 / Run ingest, collect, evaluate and notify once, print, and exit.",
)
@click.option(
    "--at",
    "at_text",
    help="与 --once 同用：按此时间评估（站点时间，除非带时区） / With --once: evaluate as of this time (site time unless it has a zone).",
)
@click.pass_context
def run(ctx: click.Context, once: bool, at_text: str | None) -> None:
    """运行守护进程（或 --once 一次） / Run the daemon (or one pass of its main jobs with --once)."""

    path: Path = ctx.obj["config_path"]
    try:
        config, _ = load_settings(path)
    except ConfigError as exc:
        config_problems(exc)
    use_site_language(config)
    setup_logging(ctx.obj["log_level"] or config.log.level, config.log.format)
    if at_text and not once:
        fail("--at goes with --once: the daemon always evaluates as of now", EXIT_CONFIG)
    try:
        at = parse_datetime(at_text, config.site.zone) if at_text else None
    except ValueError as exc:
        fail(f"--at: {exc}", EXIT_CONFIG)
    if not once:
        sys.exit(daemon.run_daemon(path, once=False, log_level=ctx.obj["log_level"]))
    with runtime(ctx) as rt:
        setup_logging(ctx.obj["log_level"] or config.log.level, config.log.format)
        ha = rt.config.ha
        try:
            with leading_once(
                rt.store, __version__, ha.lease.total_seconds(), ha.heartbeat.total_seconds()
            ) as lead:
                rt.lead = lead
                results = run_once(rt, at)
        except AlreadyRunning as exc:
            fail(str(exc))
        _print_once_summary(rt, results)
        if any("error" in r for r in results.values()):
            sys.exit(EXIT_FAILURE)


@command
@click.command("collect")
@click.option(
    "--source",
    "source_name",
    help="只采集此来源（local、ssh、prometheus） / Only this source (local, ssh, prometheus).",
)
@format_option
@click.pass_context
def collect_cmd(ctx: click.Context, source_name: str | None, fmt: str) -> None:
    """立即采集一次并列出结果 / Run one collection cycle now and print what each source measured or why it could not."""

    with runtime(ctx) as rt:
        try:
            collectors = build_collectors(rt.config, only=source_name)
        except KeyError as exc:
            fail(str(exc.args[0]), EXIT_CONFIG)
        if not collectors:
            fail(
                f"no enabled source{' ' + source_name if source_name else ''}: see [collect.*] in the config",
                EXIT_CONFIG,
            )
        try:
            counts = collect_cycle(rt.store, rt.config, collectors)
        finally:
            for collector in collectors.values():
                collector.close()
        with rt.store.session() as session:
            statuses = session.scalars(
                select(CollectionStatus)
                .where(CollectionStatus.source.in_(list(collectors)))
                .order_by(CollectionStatus.source, CollectionStatus.target)
            ).all()
            rows = [
                {
                    "source": s.source,
                    "target": s.target,
                    "ok": s.consecutive_failures == 0,
                    "error_kind": s.error_kind,
                    "error": s.last_error,
                    "last_success": format_local(s.last_success, rt.config.site.zone),
                }
                for s in statuses
            ]
        show(rows, ["source", "target", "ok", "error_kind", "error", "last_success"], fmt)
        if fmt == "table":
            click.echo(
                f"\n{len(collectors)} 个来源新增 {counts['samples']} 个样本；{counts['failed']} 个对象采集失败"
                if output_language() == "zh"
                else f"\n{counts['samples']} new sample(s) from {len(collectors)} source(s); "
                f"{counts['failed']} target(s) failed"
            )
        if counts["failed"]:
            sys.exit(EXIT_FAILURE)


def _print_once_summary(rt: Runtime, results: dict[str, dict[str, Any]]) -> None:
    cfg = rt.config
    with rt.store.session() as session:
        batches = session.scalars(
            select(EvidenceBatch).where(EvidenceBatch.stored_path != "").order_by(EvidenceBatch.id)
        ).all()
        active = session.scalars(
            select(Finding).where(Finding.status != "resolved").order_by(Finding.severity, Finding.id)
        ).all()
        messages = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        refused = session.execute(
            select(EvidenceBatch.source, RowError.row, RowError.column, RowError.value, RowError.reason)
            .join(RowError, RowError.batch_id == EvidenceBatch.id)
            .order_by(RowError.id)
            .limit(20)
        ).all()
    files = [
        {
            "kind": b.kind,
            "file": b.source,
            "status": b.status,
            "ok": b.rows_ok,
            "bad": b.rows_bad,
            "duplicate": b.rows_duplicate,
        }
        for b in batches
    ]
    zh = output_language() == "zh"
    click.echo("== 证据文件 ==" if zh else "== Evidence files ==")
    click.echo(render_table(files, ["kind", "file", "status", "ok", "bad", "duplicate"]))
    if refused:
        click.echo(
            "\n== 被拒的行（前 20 行；每一行都在 .errors.csv 报告中）=="
            if zh
            else "\n== Refused rows (first 20; every one is in the .errors.csv report) =="
        )
        click.echo(
            render_table([r._asdict() for r in refused], ["source", "row", "column", "value", "reason"])
        )
    click.echo("\n== 未解决的问题 ==" if zh else "\n== Findings (active) ==")
    click.echo(render_table([finding_row(f, cfg, local_times=True) for f in active], FINDING_TABLE))
    click.echo("\n== 任务 ==" if zh else "\n== Jobs ==")
    for name, counts in results.items():
        click.echo(f"{name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    store = cfg.store_url if cfg.store.url else cfg.state_dir / "ops-watch.db"
    if zh:
        click.echo("\n== 文件 ==")
        click.echo(f"存储：          {store}")
        click.echo(f"邮件（.eml）：  {cfg.outbox_dir}（发件箱中 {messages} 封）")
        click.echo(f"已处理：        {cfg.drop_dir / 'processed'}")
        click.echo(f"已拒收：        {cfg.drop_dir / 'rejected'}（每个附 .errors.csv 报告）")
        return
    click.echo("\n== Files ==")
    click.echo(f"store:          {store}")
    click.echo(f"emails (.eml):  {cfg.outbox_dir}  ({messages} message(s) in the outbox)")
    click.echo(f"processed:      {cfg.drop_dir / 'processed'}")
    click.echo(f"rejected:       {cfg.drop_dir / 'rejected'}  (each with a .errors.csv report)")


@command
@click.command("check")
@click.option(
    "--at",
    "at_text",
    help="按此时间评估（站点时间，除非带时区） / Evaluate as of this time (site time unless it has a zone).",
)
@click.option(
    "--from",
    "--since",
    "from_text",
    help="从此日起逐日回放（站点日期；需 --to） / Replay day by day from this day (site date; needs --to). --since is the same.",
)
@click.option(
    "--to",
    "--until",
    "to_text",
    help="回放的最后一天（站点日期） / Last day of the replay (site date). --until is the same.",
)
@click.option(
    "--dry-run", is_flag=True, help="评估并显示，但不改动任何问题 / Evaluate and show, but change no finding."
)
@format_option
@click.pass_context
def check_cmd(
    ctx: click.Context,
    at_text: str | None,
    from_text: str | None,
    to_text: str | None,
    dry_run: bool,
    fmt: str,
) -> None:
    """检查：评估规则一次，或逐日回放 / Evaluate the rules once, or replay a past period day by day."""

    with runtime(ctx) as rt:
        zone, lang = rt.config.site.zone, rt.config.language
        if from_text or to_text:
            if not (from_text and to_text) or at_text or dry_run:
                fail(
                    "--from and --to (or --since and --until) go together, without --at or --dry-run: "
                    "e.g. --from 2026-11-01 --to 2026-11-30",
                    EXIT_CONFIG,
                )
            try:
                first, last = parse_date(from_text), parse_date(to_text)
            except ValueError as exc:
                fail(f"--from/--to: {exc}", EXIT_CONFIG)
            if last < first:  # before engine.replay, whose own message names the old flags
                fail(f"--to {last} is before --from {first}", EXIT_CONFIG)
            try:
                evaluations = engine.replay(rt.store, rt.rules, first, last, zone=zone, language=lang)
            except ValueError as exc:
                fail(str(exc), EXIT_CONFIG)
        else:
            try:
                at = parse_datetime(at_text, zone) if at_text else utcnow()
            except ValueError as exc:
                fail(f"--at: {exc}", EXIT_CONFIG)
            evaluations = [engine.evaluate(rt.store, rt.rules, at, zone=zone, language=lang, dry_run=dry_run)]
        rows = [{"at": format_local(e.at, zone), **e.counts()} for e in evaluations]
        show(rows, ["at", "opened", "reopened", "resolved", "still_open", "failed_rules"], fmt)
        for e in evaluations:
            for rule_id, error in e.failed_rules.items():
                click.echo(f"rule {rule_id} failed: {error}", err=True)
        if any(e.failed_rules for e in evaluations):
            sys.exit(EXIT_FAILURE)
