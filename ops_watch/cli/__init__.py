"""The `ops-watch` command. With daemon.py, the only place that wires the parts together."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import func, select

from ops_watch import __version__
from ops_watch.config import Config, ConfigError, default_config_path
from ops_watch.core.log import setup_logging
from ops_watch.core.output import FORMATS, render
from ops_watch.core.timeutil import format_local, parse_date, parse_datetime, parse_duration, utcnow
from ops_watch.runtime import Runtime, load_settings, open_runtime
from ops_watch.store import StoreError

EXIT_FAILURE, EXIT_CONFIG = 1, 2
FINDING_COLUMNS = [
    "id",
    "rule",
    "check",
    "severity",
    "status",
    "subject",
    "period_start",
    "period_end",
    "summary",
    "evidence",
    "first_seen",
    "last_seen",
    "resolved_at",
]
FINDING_TABLE = ["id", "severity", "status", "rule", "subject", "summary", "first_seen"]

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
)


def _fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _config_problems(exc: ConfigError) -> NoReturn:
    for problem in exc.problems:
        click.echo(problem, err=True)
    _fail(f"{len(exc.problems)} problem(s); nothing was started.", EXIT_CONFIG)


@contextmanager
def _runtime(ctx: click.Context) -> Iterator[Runtime]:
    path: Path = ctx.obj["config_path"]
    try:
        rt = open_runtime(path, check_secrets=False)  # commands by hand need no SMTP secret
    except ConfigError as exc:
        _config_problems(exc)
    except StoreError as exc:
        _fail(str(exc))
    setup_logging(ctx.obj["log_level"] or "warning", rt.config.log.format)
    try:
        yield rt
    finally:
        rt.close()


def _local(cfg: Config) -> Callable[[datetime | None], str]:
    return lambda value: format_local(value, cfg.site.zone)


def finding_row(f: Any, cfg: Config, *, local_times: bool) -> dict[str, Any]:
    show = _local(cfg) if local_times else (lambda v: v.isoformat() if v else None)
    return {
        "id": f.id,
        "rule": f.rule_id,
        "check": f.check,
        "area": f.area,
        "severity": f.severity,
        "status": f.status,
        "subject": f.subject,
        "period_start": show(f.period_start),
        "period_end": show(f.period_end),
        "summary": f.summary,
        "evidence": f.evidence,
        "first_seen": show(f.first_seen),
        "last_seen": show(f.last_seen),
        "resolved_at": show(f.resolved_at),
        "silenced_until": show(f.silenced_until),
    }


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file [default: $OPS_WATCH_CONFIG, ./config.toml, /etc/ops-watch/config.toml].",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Override log.level for this command.",
)
@click.version_option(__version__, prog_name="ops-watch")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, log_level: str | None) -> None:
    """ops-watch: supervise the cloud-operations contractor against the contract."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path or default_config_path()
    ctx.obj["log_level"] = log_level
    setup_logging(log_level or "warning", "auto")


# --- run -----------------------------------------------------------------------------------------------------


@main.command()
@click.option("--once", is_flag=True, help="Run ingest, collect, evaluate and notify once, print, and exit.")
@click.option(
    "--at", "at_text", help="With --once: evaluate as of this time (site time unless it has a zone)."
)
@click.pass_context
def run(ctx: click.Context, once: bool, at_text: str | None) -> None:
    """Run the daemon (or one pass of its main jobs with --once)."""
    from ops_watch import daemon

    path: Path = ctx.obj["config_path"]
    try:
        config, _ = load_settings(path)
    except ConfigError as exc:
        _config_problems(exc)
    setup_logging(ctx.obj["log_level"] or config.log.level, config.log.format)
    if at_text and not once:
        _fail("--at goes with --once: the daemon always evaluates as of now", EXIT_CONFIG)
    try:
        at = parse_datetime(at_text, config.site.zone) if at_text else None
    except ValueError as exc:
        _fail(f"--at: {exc}", EXIT_CONFIG)
    if not once:
        sys.exit(daemon.run_daemon(path, once=False, log_level=ctx.obj["log_level"]))
    with _runtime(ctx) as rt:
        setup_logging(ctx.obj["log_level"] or config.log.level, config.log.format)
        from ops_watch.jobs import run_once

        results = run_once(rt, at)
        _print_once_summary(rt, results)
        if any("error" in r for r in results.values()):
            sys.exit(EXIT_FAILURE)


@main.command("collect")
@click.option("--source", "source_name", help="Only this source (local, ssh, prometheus).")
@format_option
@click.pass_context
def collect_cmd(ctx: click.Context, source_name: str | None, fmt: str) -> None:
    """Run one collection cycle now and print what each source measured or why it could not."""
    from ops_watch.collect import collect_cycle
    from ops_watch.sources import build_collectors
    from ops_watch.store.schema import CollectionStatus

    with _runtime(ctx) as rt:
        try:
            collectors = build_collectors(rt.config, only=source_name)
        except KeyError as exc:
            _fail(str(exc.args[0]), EXIT_CONFIG)
        if not collectors:
            _fail(
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
        click.echo(render(rows, ["source", "target", "ok", "error_kind", "error", "last_success"], fmt))
        if fmt == "table":
            click.echo(
                f"\n{counts['samples']} new sample(s) from {len(collectors)} source(s); "
                f"{counts['failed']} target(s) failed"
            )
        if counts["failed"]:
            sys.exit(EXIT_FAILURE)


def _print_once_summary(rt: Runtime, results: dict[str, dict[str, Any]]) -> None:
    from ops_watch.store.schema import EvidenceBatch, Finding, OutboxMessage, RowError

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
            "dup": b.rows_duplicate,
        }
        for b in batches
    ]
    click.echo("== Evidence files ==")
    click.echo(render(files, ["kind", "file", "status", "ok", "bad", "dup"], "table"))
    if refused:
        click.echo("\n== Refused rows (first 20; every one is in the .errors.csv report) ==")
        click.echo(
            render([r._asdict() for r in refused], ["source", "row", "column", "value", "reason"], "table")
        )
    click.echo("\n== Findings (active) ==")
    click.echo(render([finding_row(f, cfg, local_times=True) for f in active], FINDING_TABLE, "table"))
    click.echo("\n== Jobs ==")
    for name, counts in results.items():
        click.echo(f"{name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    click.echo("\n== Files ==")
    click.echo(f"store:          {cfg.store_url if cfg.store.url else cfg.state_dir / 'ops-watch.db'}")
    click.echo(f"emails (.eml):  {cfg.outbox_dir}  ({messages} message(s) in the outbox)")
    click.echo(f"processed:      {cfg.drop_dir / 'processed'}")
    click.echo(f"rejected:       {cfg.drop_dir / 'rejected'}  (each with a .errors.csv report)")


# --- check ---------------------------------------------------------------------------------------------------


@main.command("check")
@click.option("--at", "at_text", help="Evaluate as of this time (site time unless it has a zone).")
@click.option("--since", "since_text", help="Replay day by day from this date (needs --until).")
@click.option("--until", "until_text", help="Last day of the replay.")
@click.option("--dry-run", is_flag=True, help="Evaluate and show, but change no finding.")
@format_option
@click.pass_context
def check_cmd(
    ctx: click.Context,
    at_text: str | None,
    since_text: str | None,
    until_text: str | None,
    dry_run: bool,
    fmt: str,
) -> None:
    """Evaluate the rules once, or replay a past period day by day."""
    from ops_watch.findings import engine

    with _runtime(ctx) as rt:
        zone, lang = rt.config.site.zone, rt.config.language
        if since_text or until_text:
            if not (since_text and until_text) or at_text or dry_run:
                _fail("--since and --until go together, without --at or --dry-run", EXIT_CONFIG)
            try:
                since, until = parse_date(since_text), parse_date(until_text)
                evaluations = engine.replay(rt.store, rt.rules, since, until, zone=zone, language=lang)
            except ValueError as exc:
                _fail(str(exc), EXIT_CONFIG)
        else:
            try:
                at = parse_datetime(at_text, zone) if at_text else utcnow()
            except ValueError as exc:
                _fail(f"--at: {exc}", EXIT_CONFIG)
            evaluations = [engine.evaluate(rt.store, rt.rules, at, zone=zone, language=lang, dry_run=dry_run)]
        rows = [{"at": format_local(e.at, zone), **e.counts()} for e in evaluations]
        click.echo(render(rows, ["at", "opened", "reopened", "resolved", "still_open", "failed_rules"], fmt))
        for e in evaluations:
            for rule_id, error in e.failed_rules.items():
                click.echo(f"rule {rule_id} failed: {error}", err=True)
        if any(e.failed_rules for e in evaluations):
            sys.exit(EXIT_FAILURE)


# --- findings ------------------------------------------------------------------------------------------------


@main.group()
def findings() -> None:
    """List, show, acknowledge and silence findings."""


@findings.command("list")
@click.option(
    "--status",
    type=click.Choice(["active", "open", "acknowledged", "silenced", "resolved", "all"]),
    default="active",
    show_default=True,
    help="active = open, acknowledged or silenced.",
)
@click.option("--rule", "rule_id", help="Only this rule.")
@click.option("--severity", type=click.Choice(["info", "warning", "critical"]))
@format_option
@click.pass_context
def findings_list(
    ctx: click.Context, status: str, rule_id: str | None, severity: str | None, fmt: str
) -> None:
    """List findings (newest first)."""
    from ops_watch.store.schema import Finding

    with _runtime(ctx) as rt:
        query = select(Finding).order_by(Finding.first_seen.desc(), Finding.id.desc())
        if status == "active":
            query = query.where(Finding.status != "resolved")
        elif status != "all":
            query = query.where(Finding.status == status)
        if rule_id:
            query = query.where(Finding.rule_id == rule_id)
        if severity:
            query = query.where(Finding.severity == severity)
        with rt.store.session() as session:
            rows = [finding_row(f, rt.config, local_times=fmt == "table") for f in session.scalars(query)]
        click.echo(render(rows, FINDING_TABLE if fmt == "table" else FINDING_COLUMNS, fmt))


@findings.command("show")
@click.argument("finding_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def findings_show(ctx: click.Context, finding_id: int, fmt: str) -> None:
    """One finding with its evidence and history."""
    from ops_watch.store.schema import Finding, FindingEvent

    with _runtime(ctx) as rt:
        with rt.store.session() as session:
            f = session.get(Finding, finding_id)
            if f is None:
                _fail(f"no finding with id {finding_id}")
            row = finding_row(f, rt.config, local_times=fmt == "table")
            events = session.scalars(
                select(FindingEvent).where(FindingEvent.finding_id == f.id).order_by(FindingEvent.id)
            ).all()
            history = [
                {
                    "at": format_local(e.at, rt.config.site.zone) if fmt == "table" else e.at.isoformat(),
                    "action": e.action,
                    "by": e.actor,
                    "why": e.reason,
                    "until": e.until.isoformat() if e.until else None,
                }
                for e in events
            ]
        if fmt == "json":
            import json

            click.echo(json.dumps({**row, "history": history}, ensure_ascii=False, indent=2))
            return
        for key in [
            "id",
            "rule",
            "check",
            "area",
            "severity",
            "status",
            "subject",
            "summary",
            "period_start",
            "period_end",
            "first_seen",
            "last_seen",
            "resolved_at",
            "silenced_until",
        ]:
            if row.get(key) not in (None, ""):
                click.echo(f"{key:15} {row[key]}")
        click.echo("evidence:")
        for key, value in (row["evidence"] or {}).items():
            click.echo(f"  {key}: {value}")
        click.echo("history:")
        click.echo(render(history, ["at", "action", "by", "why", "until"], "table"))


def _who_why(by: str, why: str) -> None:
    if not by.strip() or not why.strip():
        _fail("--by and --why must not be empty: the record says who decided and why", EXIT_CONFIG)


@findings.command("ack")
@click.argument("finding_id", type=int)
@click.option("--by", required=True, help="Who acknowledges.")
@click.option("--why", required=True, help="Why (e.g. the rectification agreed).")
@click.pass_context
def findings_ack(ctx: click.Context, finding_id: int, by: str, why: str) -> None:
    """Acknowledge a finding: it stays until resolved, but is not re-sent."""
    from ops_watch.findings import engine

    _who_why(by, why)
    with _runtime(ctx) as rt:
        try:
            engine.acknowledge(rt.store, finding_id, by, why)
        except engine.FindingError as exc:
            _fail(str(exc))
        click.echo(f"finding {finding_id} acknowledged by {by}")


@findings.command("silence")
@click.argument("finding_id", type=int, required=False)
@click.option("--rule", help="Every finding of this rule id (a matcher silence).")
@click.option("--check", "check_name", help="Every finding of this check.")
@click.option(
    "--area", help="Every finding of this area (resources, staffing, continuity, governance, evidence)."
)
@click.option("--severity", help="Every finding of this severity.")
@click.option("--subject", help="Subjects matching this pattern, e.g. 'JWY-VM-*' (shell-style * and ?).")
@click.option("--for", "duration", help="How long, e.g. 8h, 7d.")
@click.option("--until", "until_text", help="Until this time (site time).")
@click.option("--by", required=True, help="Who silences.")
@click.option("--why", required=True, help="Why.")
@click.pass_context
def findings_silence(
    ctx: click.Context,
    finding_id: int | None,
    rule: str | None,
    check_name: str | None,
    area: str | None,
    severity: str | None,
    subject: str | None,
    duration: str | None,
    until_text: str | None,
    by: str,
    why: str,
) -> None:
    """Silence one finding (FINDING_ID), or every finding a matcher selects, now and as they open, until a time.

    Silenced findings are not sent again; when the silence ends they open again if they still hold.
    """
    from ops_watch.findings import engine, silences

    _who_why(by, why)
    if (duration is None) == (until_text is None):
        _fail("give exactly one of --for or --until", EXIT_CONFIG)
    matchers = silences.Matchers(
        rule=rule or "",
        check=check_name or "",
        area=area or "",
        severity=severity or "",
        subject=subject or "",
    )
    if finding_id is not None and matchers.as_dict():
        _fail("give a FINDING_ID or matchers (--rule, --subject, …), not both", EXIT_CONFIG)
    with _runtime(ctx) as rt:
        try:
            until = (
                utcnow() + parse_duration(duration)
                if duration
                else parse_datetime(until_text, rt.config.site.zone)
            )
            if finding_id is not None:
                engine.silence(rt.store, finding_id, until, by, why)
                click.echo(
                    f"finding {finding_id} silenced until {format_local(until, rt.config.site.zone)} by {by}"
                )
                return
            silences.validate(matchers, {r.id for r in rt.rules.rules})
            silence, count = silences.create(rt.store, matchers, until, by, why)
        except ValueError as exc:
            _fail(str(exc), EXIT_CONFIG)
        except engine.FindingError as exc:
            _fail(str(exc))
        shown = ", ".join(f"{k}={v}" for k, v in matchers.as_dict().items())
        click.echo(
            f"silence #{silence.id} ({shown}) until {format_local(until, rt.config.site.zone)} by {by}: "
            f"{count} finding(s) silenced now, and any that open meanwhile"
        )


@findings.command("silences")
@click.option("--all", "show_all", is_flag=True, help="Also silences that have ended.")
@format_option
@click.pass_context
def findings_silences(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """The silences by matcher: what they match, until when, who and why."""
    from ops_watch.store.schema import Silence

    with _runtime(ctx) as rt:
        local = _local(rt.config)
        with rt.store.session() as session:
            query = select(Silence).order_by(Silence.id)
            if not show_all:
                query = query.where(Silence.ends_at > utcnow())
            rows = [
                {
                    "id": s.id,
                    "matchers": s.matchers,
                    "starts": local(s.starts_at),
                    "ends": local(s.ends_at),
                    "by": s.created_by,
                    "why": s.reason,
                }
                for s in session.scalars(query)
            ]
        click.echo(render(rows, ["id", "matchers", "starts", "ends", "by", "why"], fmt))


# --- rules, config, db ---------------------------------------------------------------------------------------


@main.group("rules")
def rules_group() -> None:
    """The rules and the checks they use."""


@rules_group.command("list")
@format_option
@click.pass_context
def rules_list(ctx: click.Context, fmt: str) -> None:
    """Every rule with its check, severity and params."""
    try:
        _, rules = load_settings(ctx.obj["config_path"], check_secrets=False)
    except ConfigError as exc:
        _config_problems(exc)
    rows = [
        {
            "id": r.id,
            "check": r.check.name,
            "area": r.check.area,
            "severity": r.severity,
            "enabled": r.enabled,
            "title": r.title,
            "file": r.file,
            "params": r.params.model_dump(mode="json"),
        }
        for r in rules.rules
    ]
    click.echo(render(rows, ["id", "check", "area", "severity", "enabled", "title", "file", "params"], fmt))


@main.group("config")
def config_group() -> None:
    """The configuration file."""


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the config and the rules; list every problem (exit 2) or say they are fine."""
    path: Path = ctx.obj["config_path"]
    try:
        config, rules = load_settings(path)
    except ConfigError as exc:
        _config_problems(exc)
    click.echo(
        f"{path}: ok; rules in {config.rules_dir}: {len(rules.rules)} rule(s) "
        f"({len(rules.enabled)} enabled) in {len(rules.files)} file(s), contract sections: "
        f"{', '.join(sorted(rules.contract))}"
    )


@main.group("db")
def db_group() -> None:
    """The store."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Migrate the store to the newest schema (a new database is created)."""
    from ops_watch.store.db import Store, make_engine

    try:
        config, _ = load_settings(ctx.obj["config_path"])
    except ConfigError as exc:
        _config_problems(exc)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(make_engine(config.store_url, config.store.busy_timeout_ms, config.store_password()))
    try:
        before, after = store.upgrade()
    except StoreError as exc:
        _fail(str(exc))
    finally:
        store.dispose()
    click.echo(f"store schema: {before or '(new database)'} -> {after}")


# --- ingest --------------------------------------------------------------------------------------------------


@main.command("ingest")
@click.argument("kind")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option
@click.pass_context
def ingest_cmd(ctx: click.Context, kind: str, files: tuple[Path, ...], fmt: str) -> None:
    """Ingest evidence files of KIND by hand (they are not moved) and print the counts."""
    from ops_watch.formats import KINDS
    from ops_watch.ingest import IngestError, ingest_file

    if kind not in KINDS:
        _fail(f"unknown evidence kind {kind!r} (known: {', '.join(sorted(KINDS))})", EXIT_CONFIG)
    with _runtime(ctx) as rt:
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


# --- resources -----------------------------------------------------------------------------------------------


@main.group("resources")
def resources_group() -> None:
    """Utilization and what can be reclaimed (R1, R2)."""


RECLAIM_COLUMNS = [
    "resource_id",
    "platform",
    "tenant_unit",
    "check",
    "action",
    "reclaim_vcpu",
    "reclaim_memory_gb",
    "reclaim_storage_gb",
    "recommended_vcpu",
    "monthly_cost",
    "currency",
    "cost_basis",
    "status",
    "finding_id",
    "summary",
]


@resources_group.command("idle")
@click.option("--at", "at_text", help="As of this time (site time unless it has a zone); default now.")
@format_option
@click.pass_context
def resources_idle(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    """The reclaim list: idle and oversized resources with what they cost per month, and the total saving."""
    from ops_watch.areas.resources.utilization import reclaim_list, reclaim_totals

    with _runtime(ctx) as rt:
        at = _at(at_text, rt.config)
        with rt.store.session() as session:
            rows = reclaim_list(session, at)
        totals = reclaim_totals(rows)
        if fmt == "json":
            import json

            click.echo(
                json.dumps(
                    {"at": at.isoformat(), "items": rows, "totals": totals},
                    ensure_ascii=False,
                    indent=2,
                    default=str,
                )
            )
            return
        columns = RECLAIM_COLUMNS if fmt == "csv" else RECLAIM_COLUMNS[:12]
        click.echo(render(rows, columns, fmt))
        if fmt == "table":
            zh = rt.config.language == "zh"
            cur = totals["currency"]
            click.echo("")
            click.echo(
                ("可回收：" if zh else "reclaimable: ")
                + f"{totals['reclaim_vcpu']} vCPU, {totals['reclaim_memory_gb']:g} GB "
                + ("内存" if zh else "memory")
                + f", {totals['reclaim_storage_gb']:g} GB "
                + ("存储" if zh else "storage")
            )
            click.echo(
                ("每月可节省（按合同单价）：" if zh else "monthly saving at contract unit prices: ")
                + f"{totals['monthly_saving']:,.2f} {cur}"
            )
            if totals["notional_monthly"]:
                click.echo(
                    (
                        "固定费用平台闲置资源折算（不直接节省）："
                        if zh
                        else "idle capacity on fixed-fee platforms, notional (no direct saving): "
                    )
                    + f"{totals['notional_monthly']:,.2f} {cur}"
                )
            if totals["to_verify_monthly"]:
                click.echo(
                    ("待核实（无采样数据的资源）：" if zh else "to verify (resources without samples): ")
                    + f"{totals['to_verify_monthly']:,.2f} {cur}"
                )
            if totals["unpriced"]:
                click.echo(
                    ("无单价的条目：" if zh else "items without a unit price: ") + str(totals["unpriced"])
                )


USAGE_COLUMNS = [
    "platform",
    "tenant_unit",
    "resources",
    "measured",
    "vcpu",
    "used_vcpu_mean",
    "cpu_pct",
    "cpu_p95_pct",
    "memory_gb",
    "memory_pct",
    "storage_gb",
    "storage_pct",
]


@resources_group.command("usage")
@click.option("--platform", help="Only this platform.")
@click.option("--days", type=click.IntRange(1, 400), default=14, show_default=True, help="Look-back window.")
@click.option("--at", "at_text", help="As of this time (site time unless it has a zone); default now.")
@format_option
@click.pass_context
def resources_usage(
    ctx: click.Context, platform: str | None, days: int, at_text: str | None, fmt: str
) -> None:
    """Allocated and used capacity per platform and tenant unit over the window."""
    from datetime import timedelta

    from ops_watch.areas.resources.utilization import usage_summary

    with _runtime(ctx) as rt:
        at = _at(at_text, rt.config)
        with rt.store.session() as session:
            rows = usage_summary(session, at, timedelta(days=days), platform, zone=rt.config.site.zone)
        if fmt == "table":
            for r in rows:
                r["tenant_unit"] = r.get("tenant_unit") or (
                    "（全平台）" if rt.config.language == "zh" else "(all)"
                )
                for key in ("cpu_pct", "cpu_p95_pct", "memory_pct", "storage_pct", "used_vcpu_mean"):
                    if isinstance(r.get(key), float):
                        r[key] = f"{r[key]:.1f}"
        click.echo(
            render(rows, USAGE_COLUMNS if fmt == "table" else list(rows[0]) if rows else USAGE_COLUMNS, fmt)
        )


@main.group("staffing")
def staffing_group() -> None:
    """On-site staffing: shifts, door evidence and the staffing rate (人员到位率)."""


def _staffing_view(rt: Runtime, first: Any, last: Any, at: datetime) -> Any:
    from ops_watch.areas.staffing.presence import build_view, staffing_terms

    if not staffing_terms(rt.rules.contract).shifts:
        _fail("contract.toml has no [staffing] section: no shifts to show (docs/staffing.md)", EXIT_CONFIG)
    with rt.store.session() as session:
        return build_view(session, rt.rules.contract, rt.config.site.zone, at, first, last)


@staffing_group.command("shifts")
@click.option("--from", "from_text", required=True, help="First day (site date), e.g. 2026-11-01.")
@click.option("--to", "to_text", required=True, help="Last day.")
@click.option("--at", "at_text", help="As of this time (site time unless it has a zone); default now.")
@format_option
@click.pass_context
def staffing_shifts(ctx: click.Context, from_text: str, to_text: str, at_text: str | None, fmt: str) -> None:
    """Shift by shift: required, on the sheet, evidenced on site, late, ghosts, handover verified."""
    from ops_watch.areas.staffing.presence import SHIFT_COLUMNS, shift_rows

    try:
        first, last = parse_date(from_text), parse_date(to_text)
    except ValueError as exc:
        _fail(f"--from/--to: {exc}", EXIT_CONFIG)
    if last < first:
        _fail(f"--to {last} is before --from {first}", EXIT_CONFIG)
    with _runtime(ctx) as rt:
        view = _staffing_view(rt, first, last, _at(at_text, rt.config))
        rows = shift_rows(view, rt.config.language)
        click.echo(
            render(rows, SHIFT_COLUMNS if fmt == "table" else list(rows[0]) if rows else SHIFT_COLUMNS, fmt)
        )


@staffing_group.command("rate")
@click.option("--month", required=True, help="The month, e.g. 2026-11.")
@click.option(
    "--by",
    type=click.Choice(["month", "week", "day", "shift", "shift_name"]),
    default="week",
    show_default=True,
    help="Group the rate by week, day, each shift, or shift name; the month's total is always the last row.",
)
@click.option("--at", "at_text", help="As of this time; default now (shifts not yet ended are not counted).")
@format_option
@click.pass_context
def staffing_rate(ctx: click.Context, month: str, by: str, at_text: str | None, fmt: str) -> None:
    """The staffing rate: evidenced person-shifts ÷ contracted person-shifts (each shift capped at its minimum)."""
    from ops_watch.areas.staffing.presence import month_bounds, rates

    try:
        first, last = month_bounds(month)
    except ValueError as exc:
        _fail(f"--month: {exc}", EXIT_CONFIG)
    with _runtime(ctx) as rt:
        view = _staffing_view(rt, first, last, _at(at_text, rt.config))
        groups = [] if by == "month" else rates(view, by)
        total = rates(view, "all")
        zh = rt.config.language == "zh"
        rows = [
            {
                "period": r.label,
                "required": r.required,
                "evidenced": r.evidenced,
                "rate": None if r.rate is None else round(r.rate * 100, 1),
            }
            for r in groups
        ]
        for r in total:
            rows.append(
                {
                    "period": f"{month} {'合计' if zh else 'total'}",
                    "required": r.required,
                    "evidenced": r.evidenced,
                    "rate": None if r.rate is None else round(r.rate * 100, 1),
                }
            )
        if not rows:
            rows.append({"period": month, "required": 0, "evidenced": 0, "rate": None})
        if fmt == "table":
            for row in rows:
                row["rate"] = "-" if row["rate"] is None else f"{row['rate']:.1f}%"
        click.echo(render(rows, ["period", "required", "evidenced", "rate"], fmt))
        if fmt == "table" and view.first_day > first:
            click.echo(
                ("（" + f"{view.first_day} 之前的班次不评判：contract.toml staffing.judge_from" + "）")
                if zh
                else f"(shifts before {view.first_day} are not judged: contract.toml staffing.judge_from)"
            )


@main.group("notify")
def notify_group() -> None:
    """Alerts: test a receiver, look at the outbox, retry a message."""


OUTBOX_COLUMNS = [
    "id",
    "created",
    "channel",
    "receiver",
    "status",
    "attempts",
    "next_attempt",
    "subject",
    "last_error",
]


@notify_group.command("outbox")
@click.option(
    "--status",
    type=click.Choice(["all", "pending", "sent", "dead"]),
    default="all",
    show_default=True,
    help="Only messages in this state.",
)
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True, help="The newest N.")
@format_option
@click.pass_context
def notify_outbox(ctx: click.Context, status: str, limit: int, fmt: str) -> None:
    """The outbox: every message, pending, sent or dead, newest first."""
    from ops_watch.store.schema import OutboxMessage

    with _runtime(ctx) as rt:
        local = _local(rt.config)
        with rt.store.session() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
            if status != "all":
                query = query.where(OutboxMessage.status == status)
            rows = [
                {
                    "id": m.id,
                    "created": local(m.created_at),
                    "channel": m.channel,
                    "receiver": m.receiver or "default",
                    "status": m.status,
                    "attempts": m.attempts,
                    "next_attempt": local(m.next_attempt_at) if m.status == "pending" else "",
                    "sent": local(m.sent_at),
                    "subject": m.subject,
                    "last_error": m.last_error,
                    "message_id": m.message_id,
                }
                for m in session.scalars(query)
            ]
        click.echo(
            render(rows, OUTBOX_COLUMNS if fmt == "table" else [*OUTBOX_COLUMNS, "sent", "message_id"], fmt)
        )


@notify_group.command("retry")
@click.argument("message_id", type=int)
@click.pass_context
def notify_retry(ctx: click.Context, message_id: int) -> None:
    """Send a dead (or waiting) message again at the next notify pass, with a fresh count of attempts."""
    from ops_watch.store.schema import OutboxMessage

    with _runtime(ctx) as rt:
        with rt.store.session() as session:
            msg = session.get(OutboxMessage, message_id)
            if msg is None:
                _fail(f"no message with id {message_id} (ops-watch notify outbox lists them)")
            if msg.status == "sent":
                _fail(
                    f"message {message_id} was already sent at {format_local(msg.sent_at, rt.config.site.zone)}"
                )
            msg.status, msg.attempts, msg.next_attempt_at = "pending", 0, utcnow()
        click.echo(f"message {message_id} will be sent at the next notify pass (or: ops-watch run --once)")


@notify_group.command("test")
@click.argument("receiver")
@click.pass_context
def notify_test(ctx: click.Context, receiver: str) -> None:
    """Send a test message to RECEIVER now, through each of its channels, and say what happened."""
    from ops_watch.notify.email import DeliveryError, message_id
    from ops_watch.notify.outbox import transports
    from ops_watch.store.schema import OutboxMessage

    path: Path = ctx.obj["config_path"]
    try:
        config, _ = load_settings(path)  # secrets are needed here: check them
    except ConfigError as exc:
        _config_problems(exc)
    try:
        target = config.notify.receiver(receiver)
    except KeyError:
        names = sorted({r.name for r in config.notify.receivers} | {"default"})
        _fail(f"no receiver named {receiver!r} (known: {', '.join(names)})", EXIT_CONFIG)
    setup_logging(ctx.obj["log_level"] or "warning", config.log.format)
    zh = config.language == "zh"
    now = utcnow()
    subject = "[ops-watch] 测试消息" if zh else "[ops-watch] test message"
    text = (
        f"这是 ops-watch 的测试消息（{config.site.name}，{format_local(now, config.site.zone)}），收到即表示通道正常。"
        if zh
        else f"A test message from ops-watch ({config.site.name}, {format_local(now, config.site.zone)}): "
        "if you read this, the channel works."
    )
    pick = transports(config)
    failed = 0
    channels = (["email"] if target.email else []) + [
        c for c in ("dingtalk", "wecom", "webhook") if getattr(target, c)
    ]
    for channel in channels:
        msg = OutboxMessage(
            id=0,
            channel=channel,
            receiver=target.name,
            created_at=now,
            recipients=list(target.email) if channel == "email" else [],
            subject=subject,
            body_text=text,
            body_html="",
            message_id=message_id("test", channel, now),
            references="",
            payload={"source": "ops-watch", "test": True, "subject": subject, "text": text},
            status="pending",
            attempts=0,
            next_attempt_at=now,
            last_error="",
        )
        try:
            note = pick(msg)(msg)
        except DeliveryError as exc:
            failed += 1
            click.echo(f"{channel}: FAILED: {exc}")
            continue
        where = ", ".join(target.email) if channel == "email" else target.name
        click.echo(f"{channel}: sent to {where}" + (f" ({note})" if note else ""))
    if failed:
        sys.exit(EXIT_FAILURE)


@main.group("continuity")
def continuity_group() -> None:
    """Backups and drills of the protected systems (R3)."""


@continuity_group.command("status")
@click.option("--at", "at_text", help="As of this time (site time unless it has a zone); default now.")
@format_option
@click.pass_context
def continuity_status(ctx: click.Context, at_text: str | None, fmt: str) -> None:
    """One line per protected system: last backup, last drill per type, next due date, open findings."""
    from ops_watch.areas.continuity.model import STATUS_COLUMNS, continuity_terms, status_rows

    with _runtime(ctx) as rt:
        terms = continuity_terms(rt.rules.contract)
        if not terms.systems and not terms.inventory_class:
            _fail(
                "contract.toml has no [continuity] systems: nothing to show (docs/continuity.md)", EXIT_CONFIG
            )
        at = _at(at_text, rt.config)
        with rt.store.session() as session:
            rows = status_rows(session, rt.rules.contract, at, rt.config.site.zone, rt.config.language)
        if fmt == "table":
            for row in rows:
                rate = row["backup_rate_30d"]
                row["backup_rate_30d"] = "-" if rate is None else f"{rate:.1f}%"
        click.echo(render(rows, STATUS_COLUMNS, fmt))


def _at(at_text: str | None, config: Config) -> datetime:
    try:
        return parse_datetime(at_text, config.site.zone) if at_text else utcnow()
    except ValueError as exc:
        _fail(f"--at: {exc}", EXIT_CONFIG)


@main.group("report")
def report_group() -> None:
    """The weekly compliance summary (R14): build, archive, send, list."""


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

    from ops_watch.notify.outbox import deliver_due
    from ops_watch.report.model import Week
    from ops_watch.report.render import STATUS_EN, STATUS_ZH
    from ops_watch.report.weekly import build_and_archive, queue

    with _runtime(ctx) as rt:
        zone = rt.config.site.zone
        try:
            week = Week.parse(week_text, zone) if week_text else Week.last_complete(utcnow(), zone)
        except ValueError as exc:
            _fail(f"--week: {exc}", EXIT_CONFIG)
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
            msg = queue(rt.store, rt.config, built, resend=True)
            if msg is None:
                _fail("nobody to send to: set notify.email.recipients or report.receivers", EXIT_CONFIG)
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
    from ops_watch.report.archive import list_reports

    with _runtime(ctx) as rt:
        rows = list_reports(rt.config.reports_dir)
        if not rows and fmt == "table":
            click.echo(f"no reports in {rt.config.reports_dir} yet (ops-watch report weekly builds one)")
            return
        click.echo(
            render(rows, ["week", "status", "language", "built_at", "files", "bytes", "check", "path"], fmt)
        )


# Command groups kept in their own modules (each registers itself on `main` when imported).
from ops_watch.areas.governance.archive import commands as cli_archive
from ops_watch.areas.governance.audit import commands as cli_audit
from ops_watch.areas.governance.contract_text import commands as cli_contract
from ops_watch.areas.governance.inspections import commands as cli_inspections
from ops_watch.areas.governance.survey import commands as cli_survey
from ops_watch.areas.money.billing import commands as cli_billing
from ops_watch.areas.money.budget import commands as cli_budget
from ops_watch.areas.money.score import commands as cli_score
