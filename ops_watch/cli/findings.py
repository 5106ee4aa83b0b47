"""`ops-watch findings`: list, show, acknowledge and silence findings, and take those back.

Each decision by hand is undone by naming what it was made on: `unack ID` undoes `ack ID`, `unsilence ID`
ends the silence of one finding (`silence ID`), `silence --expire N` ends the silence by matcher #N (the id
`silence` printed and `silences` lists). Every one records who and why in the finding's history."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy import select

from ops_watch.cli.common import (
    EXIT_CONFIG,
    FINDING_COLUMNS,
    FINDING_TABLE,
    command,
    emit,
    fail,
    finding_row,
    format_option,
    local_time,
    output_language,
    runtime,
    say,
    show,
)
from ops_watch.cli.ranges import range_options, site_day_range
from ops_watch.core.labels import evidence_label, header_label, value_label
from ops_watch.core.output import current_style, display_width, render_table
from ops_watch.core.timeutil import format_local, parse_duration, utcnow
from ops_watch.core.vocabulary import AREAS, SEVERITIES
from ops_watch.core.when import parse_datetime
from ops_watch.findings import engine, silences
from ops_watch.findings.listing import history_query, history_rows, list_query
from ops_watch.store.schema import Finding, Silence


@command
@click.group()
def findings() -> None:
    """问题：列出、查看、确认、静默 / List, show, acknowledge and silence findings."""


@findings.command("list")
@click.option(
    "--status",
    type=click.Choice(["active", "open", "acknowledged", "silenced", "resolved", "all"]),
    default="active",
    show_default=True,
    help="active = 未解决、已确认或已静默 / active = open, acknowledged or silenced.",
)
@click.option("--rule", "rule_id", help="只看此规则 / Only this rule.")
@click.option("--severity", type=click.Choice(SEVERITIES), help="只看此级别 / Only this severity.")
@click.option("--area", type=click.Choice(AREAS), help="只看此合同领域 / Only this contract area.")
@range_options("findings first seen")
@format_option
@click.pass_context
def findings_list(
    ctx: click.Context,
    status: str,
    rule_id: str | None,
    severity: str | None,
    area: str | None,
    from_text: str | None,
    to_text: str | None,
    fmt: str,
) -> None:
    """问题列表（最新在前） / List findings (newest first)."""

    with runtime(ctx, rules=False) as rt:
        start, end = site_day_range(from_text, to_text, rt.config.site.zone)
        query = list_query(status, rule_id, severity, area, first_seen_from=start, first_seen_before=end)
        with rt.store.session() as session:
            rows = [finding_row(f, rt.config, local_times=fmt != "json") for f in session.scalars(query)]
        show(rows, FINDING_TABLE if fmt == "table" else FINDING_COLUMNS, fmt)


SHOW_FIELDS = [
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
]
HISTORY_COLUMNS = ["at", "action", "by", "why", "until"]


@findings.command("show")
@click.argument("finding_id", type=int)
@format_option
@click.pass_context
def findings_show(ctx: click.Context, finding_id: int, fmt: str) -> None:
    """查看一个问题及其证据与历史 / One finding with its evidence and history (csv/xlsx: the finding as one row, its evidence as JSON)."""

    with runtime(ctx, rules=False) as rt:
        with rt.store.session() as session:
            f = session.get(Finding, finding_id)
            if f is None:
                fail(f"没有编号为 {finding_id} 的问题 / no finding with id {finding_id}")
            row = finding_row(f, rt.config, local_times=fmt != "json")
            events = session.scalars(history_query(f.id)).all()
            history = history_rows(events, rt.config, local_times=fmt != "json")
        if fmt == "json":
            click.echo(json.dumps({**row, "history": history}, ensure_ascii=False, indent=2))
            return
        if fmt in ("csv", "xlsx"):
            show([row], FINDING_COLUMNS, fmt)
            return
        lang = output_language()
        shown = [
            (header_label(k, lang), value_label(k, row[k], lang))
            for k in SHOW_FIELDS
            if row.get(k) not in (None, "")
        ]
        pad = max(display_width(k) for k, _ in shown)
        for key, value in shown:
            click.echo(f"{key}{' ' * (pad - display_width(key))}  {value}")
        click.echo("证据：" if lang == "zh" else "evidence:")
        for line in evidence_lines(row["evidence"] or {}, lang=lang):
            click.echo(line)
        click.echo("历史：" if lang == "zh" else "history:")
        click.echo(render_table(history, HISTORY_COLUMNS))


def evidence_lines(evidence: dict[str, object], indent: str = "  ", lang: str = "en") -> list[str]:
    """A finding's evidence for a reader: a value on its key's line, a list of values one per line, a list of
    records (door events, rows of a file) as a table, a nested record indented under its key.

    In Chinese (`lang` "zh") the keys take their titles from labels (a key that is data, a month or a person,
    stays as it is) and yes/no and status words read in Chinese; in English the evidence's own keys and values."""
    zh = lang == "zh"
    style = replace(current_style(), lang=lang)  # the tables follow `lang`, whatever the command's style

    def shown(key: str, value: object) -> str:
        if value is None:
            return ""
        return value_label(key, value, lang) if zh else str(value)

    lines: list[str] = []
    for key, value in evidence.items():
        title = evidence_label(key, lang)
        if isinstance(value, dict):
            lines.append(f"{indent}{title}:")
            lines.extend(evidence_lines(value, indent + "  ", lang))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            lines.append(f"{indent}{title} ({len(value)}):")
            table = render_table(value, columns, style=style)
            lines.extend(indent + "  " + line for line in table.splitlines())
        elif isinstance(value, list):
            none = "（无）" if zh else "(none)"
            lines.append(f"{indent}{title} ({len(value)}):" if value else f"{indent}{title}: {none}")
            lines.extend(f"{indent}  - {shown(key, v)}" for v in value)
        else:
            lines.append(f"{indent}{title}: {shown(key, value)}")
    return lines


def _who_why(by: str, why: str) -> None:
    if not by.strip() or not why.strip():
        fail(
            "--by 和 --why 不能为空：记录要写明谁决定、为什么 / "
            "--by and --why must not be empty: the record says who decided and why",
            EXIT_CONFIG,
        )


@findings.command("ack")
@click.argument("finding_id", type=int)
@click.option("--by", required=True, help="确认人 / Who acknowledges.")
@click.option("--why", required=True, help="原因（如已商定的整改） / Why (e.g. the rectification agreed).")
@click.pass_context
def findings_ack(ctx: click.Context, finding_id: int, by: str, why: str) -> None:
    """确认问题：保留至解决，但不再发送 / Acknowledge a finding: it stays until resolved, but is not re-sent."""

    _who_why(by, why)
    with runtime(ctx) as rt:
        try:
            engine.acknowledge(rt.store, finding_id, by, why)
        except engine.FindingError as exc:
            fail(str(exc))
        say(f"问题 {finding_id} 已由 {by} 确认", f"finding {finding_id} acknowledged by {by}")


@findings.command("unack")
@click.argument("finding_id", type=int)
@click.option("--by", required=True, help="撤销确认的人 / Who takes the acknowledgement back.")
@click.option(
    "--why", required=True, help="原因（如整改未落实） / Why (e.g. the rectification did not happen)."
)
@click.pass_context
def findings_unack(ctx: click.Context, finding_id: int, by: str, why: str) -> None:
    """撤销确认：问题重新打开 / Take an acknowledgement back: the finding is open again, and news again to the notifier."""

    _who_why(by, why)
    with runtime(ctx) as rt:
        try:
            engine.unacknowledge(rt.store, finding_id, by, why)
        except engine.FindingError as exc:
            fail(str(exc))
        say(
            f"问题 {finding_id} 已重新打开（{by} 撤回了确认）",
            f"finding {finding_id} open again (acknowledgement taken back by {by})",
        )


@findings.command("unsilence")
@click.argument("finding_id", type=int)
@click.option("--by", required=True, help="结束静默的人 / Who ends the silence.")
@click.option("--why", required=True, help="提前结束的原因 / Why it ends early.")
@click.pass_context
def findings_unsilence(ctx: click.Context, finding_id: int, by: str, why: str) -> None:
    """立即结束一个问题的静默 / End the silence of one finding (made with `findings silence ID`) now: it is open again.

    A finding silenced by a silence by matcher is refused, naming it: end that one with
    `findings silence --expire N`, or the next evaluation would silence the finding again."""

    _who_why(by, why)
    with runtime(ctx) as rt:
        try:
            silences.unsilence(rt.store, finding_id, by, why)
        except silences.SilenceError as exc:
            fail(str(exc))
        say(
            f"问题 {finding_id} 已重新打开（{by} 结束了静默）",
            f"finding {finding_id} open again (silence ended by {by})",
        )


@findings.command("silence")
@click.argument("finding_id", type=int, required=False)
@click.option(
    "--rule", help="此规则的全部问题（按匹配条件静默） / Every finding of this rule id (a matcher silence)."
)
@click.option("--check", "check_name", help="此检查项的全部问题 / Every finding of this check.")
@click.option("--area", type=click.Choice(AREAS), help="此领域的全部问题 / Every finding of this area.")
@click.option(
    "--severity", type=click.Choice(SEVERITIES), help="此级别的全部问题 / Every finding of this severity."
)
@click.option(
    "--subject",
    help="对象匹配此模式（* 与 ?） / Subjects matching this pattern, e.g. 'JWY-VM-*' (shell-style * and ?).",
)
@click.option("--for", "duration", help="静默时长，如 8h、7d / How long, e.g. 8h, 7d.")
@click.option("--until", "until_text", help="静默至此时间（站点时间） / Until this time (site time).")
@click.option(
    "--expire",
    "expire_id",
    type=int,
    metavar="SILENCE_ID",
    help="立即结束按匹配条件的静默 SILENCE_ID / End the silence by matcher SILENCE_ID now (ids: `findings silences`); its findings open again.",
)
@click.option("--by", required=True, help="静默（或结束静默）的人 / Who silences (or ends the silence).")
@click.option("--why", required=True, help="原因 / Why.")
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
    expire_id: int | None,
    by: str,
    why: str,
) -> None:
    """静默问题（单个或按条件）至指定时间 / Silence one finding (FINDING_ID), or every finding a matcher selects, now and as they open, until a time.

    Silenced findings are not sent again; when the silence ends they open again if they still hold.
    `--expire SILENCE_ID` ends a silence by matcher early (a silence of one finding: `findings unsilence ID`).
    """

    _who_why(by, why)
    if expire_id is not None:
        given = [
            name
            for name, value in (
                ("FINDING_ID", finding_id),
                ("--rule", rule),
                ("--check", check_name),
                ("--area", area),
                ("--severity", severity),
                ("--subject", subject),
                ("--for", duration),
                ("--until", until_text),
            )
            if value is not None
        ]
        if given:
            fail(f"--expire takes only --by and --why, not {', '.join(given)}", EXIT_CONFIG)
        _expire(ctx, expire_id, by, why)
        return
    if (duration is None) == (until_text is None):
        fail("--for 和 --until 只能给一个 / give exactly one of --for or --until", EXIT_CONFIG)
    matchers = silences.Matchers(
        rule=rule or "",
        check=check_name or "",
        area=area or "",
        severity=severity or "",
        subject=subject or "",
    )
    if finding_id is not None and matchers.as_dict():
        fail(
            "给出问题编号或匹配条件（--rule、--subject 等），不能同时给 / "
            "give a FINDING_ID or matchers (--rule, --subject, …), not both",
            EXIT_CONFIG,
        )
    with runtime(ctx) as rt:
        try:
            until = (
                utcnow() + parse_duration(duration)
                if duration
                else parse_datetime(until_text, rt.config.site.zone)
            )
            if until <= utcnow():  # e.g. `--for 0s`, tried to end a silence: say how that is done
                raise ValueError(
                    "a silence must end in the future; to end one early: "
                    "`findings silence --expire SILENCE_ID` or `findings unsilence FINDING_ID`"
                )
            if finding_id is not None:
                engine.silence(rt.store, finding_id, until, by, why)
                shown_until = format_local(until, rt.config.site.zone)
                say(
                    f"问题 {finding_id} 已由 {by} 静默至 {shown_until}",
                    f"finding {finding_id} silenced until {shown_until} by {by}",
                )
                return
            silences.validate(matchers, {r.id for r in rt.rules.rules})
            silence, count = silences.create(rt.store, matchers, until, by, why)
        except ValueError as exc:
            fail(str(exc), EXIT_CONFIG)
        except engine.FindingError as exc:
            fail(str(exc))
        shown = ", ".join(f"{k}={v}" for k, v in matchers.as_dict().items())
        shown_until = format_local(until, rt.config.site.zone)
        say(
            f"静默 #{silence.id}（{shown}）由 {by} 设至 {shown_until}：现有 {count} 个问题已静默，期间新出现的也会静默",
            f"silence #{silence.id} ({shown}) until {shown_until} by {by}: "
            f"{count} finding(s) silenced now, and any that open meanwhile",
        )


def _expire(ctx: click.Context, silence_id: int, by: str, why: str) -> None:
    with runtime(ctx) as rt:
        try:
            count = silences.expire(rt.store, silence_id, by, why)
        except silences.SilenceError as exc:
            fail(str(exc))
        say(
            f"静默 #{silence_id} 已由 {by} 结束：{count} 个问题重新打开",
            f"silence #{silence_id} ended by {by}: {count} finding(s) open again",
        )


@findings.command("silences")
@click.option("--all", "show_all", is_flag=True, help="也列出已结束的静默 / Also silences that have ended.")
@format_option
@click.pass_context
def findings_silences(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """按匹配条件的静默列表 / The silences by matcher: what they match, until when, who and why."""

    with runtime(ctx) as rt:
        local = local_time(rt.config)
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
        show(rows, ["id", "matchers", "starts", "ends", "by", "why"], fmt)


@findings.command("receipt")
@click.argument("finding_id", type=int)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="写入此文件，而不显示在屏幕上 / Write to this file instead of the screen.",
)
@click.pass_context
def findings_receipt(ctx: click.Context, finding_id: int, output: Path | None) -> None:
    """问题的证据收据：证据行、封印与到已公布链头的链路，无需数据库即可核验 / A finding's receipt: its evidence rows, their seals and the chain path to a published head, checkable without the store (`ops-watch verify --receipt FILE`)."""

    # start-up: the trail's tables load with the one command that needs them (`findings list` stays quick)
    from ops_watch.trail import receipt

    with runtime(ctx, rules=False) as rt:
        with rt.store.session() as session:
            try:
                built = receipt.build(session, finding_id)
            except receipt.ReceiptError as exc:
                fail(str(exc))
    data = (json.dumps(built, ensure_ascii=False, indent=1) + "\n").encode()
    if output is None:
        emit(data)
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"{output}: 无法写入（{exc.strerror}） / cannot write ({exc.strerror}): choose a writable path")
    batches = len(built["evidence"]["batches"])
    say(
        f"收据已写入 {output}（{len(data):,} 字节，{batches} 个证据批次）",
        f"receipt written to {output} ({len(data):,} bytes, {batches} evidence batches)",
        err=True,
    )
    heads = [h for h in (built["evidence"]["head"], built["decisions"]["head"]) if h]
    unpublished = [h["chain"] for h in heads if not h["published"]]
    if unpublished:
        say(
            f"注意：{'、'.join(unpublished)} 链头尚未公布（公布后重新生成收据即可由公布的链头钉住）",
            f"note: the {', '.join(unpublished)} head is not yet published (build the receipt again once it is)",
            err=True,
        )


# --- rules, config, db ---------------------------------------------------------------------------------------
