"""`ops-watch notify`: the outbox, retrying a message, a test message to a receiver."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from ops_watch.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    command,
    config_problems,
    fail,
    format_option,
    local_time,
    runtime,
    say,
    show,
    use_site_language,
)
from ops_watch.cli.ranges import range_options, site_day_range
from ops_watch.config import ConfigError
from ops_watch.core.log import setup_logging
from ops_watch.core.process import owner_gone
from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.notify.email import DeliveryError, message_id
from ops_watch.notify.outbox import transports
from ops_watch.runtime import load_settings
from ops_watch.store.schema import OutboxMessage


@command
@click.group("notify")
def notify_group() -> None:
    """告警：测试、发件箱、重发 / Alerts: test a receiver, look at the outbox, retry a message."""


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
    type=click.Choice(["all", "pending", "sending", "sent", "dead"]),
    default="all",
    show_default=True,
    help="只看此状态的消息 / Only messages in this state.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 100000),
    default=100,
    show_default=True,
    help="最新的 N 条 / The newest N.",
)
@range_options("messages created")
@format_option
@click.pass_context
def notify_outbox(
    ctx: click.Context, status: str, limit: int, from_text: str | None, to_text: str | None, fmt: str
) -> None:
    """发件箱：全部消息（最新在前） / The outbox: every message, pending, sending (claimed by a process now), sent or dead, newest first."""

    with runtime(ctx) as rt:
        local = local_time(rt.config)
        start, end = site_day_range(from_text, to_text, rt.config.site.zone)
        with rt.store.session() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
            if status != "all":
                query = query.where(OutboxMessage.status == status)
            if start is not None:
                query = query.where(OutboxMessage.created_at >= start)
            if end is not None:
                query = query.where(OutboxMessage.created_at < end)
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
        show(
            rows,
            OUTBOX_COLUMNS if fmt == "table" else [*OUTBOX_COLUMNS, "sent", "message_id"],
            fmt,
            titles={"subject": "主题"},
        )


@notify_group.command("retry")
@click.argument("message_id", type=int)
@click.pass_context
def notify_retry(ctx: click.Context, message_id: int) -> None:
    """重新发送失败或待发的消息 / Send a dead (or waiting) message again at the next notify pass, with a fresh count of attempts."""

    with runtime(ctx) as rt:
        with rt.store.session() as session:
            msg = session.get(OutboxMessage, message_id)
            if msg is None:
                fail(f"no message with id {message_id} (ops-watch notify outbox lists them)")
            if msg.status == "sent":
                fail(
                    f"message {message_id} was already sent at {format_local(msg.sent_at, rt.config.site.zone)}"
                )
            if msg.status == "sending" and owner_gone(msg.claimed_by) is False:
                fail(f"message {message_id} is being sent right now by process {msg.claimed_by}: wait for it")
            msg.status, msg.attempts, msg.next_attempt_at = "pending", 0, utcnow()
            msg.claimed_by, msg.claimed_at = "", None
        say(
            f"邮件 {message_id} 将在下一次通知时发送（或运行 ops-watch run --once）",
            f"message {message_id} will be sent at the next notify pass (or: ops-watch run --once)",
        )


@notify_group.command("test")
@click.argument("receiver")
@click.pass_context
def notify_test(ctx: click.Context, receiver: str) -> None:
    """向收件组发送测试消息 / Send a test message to RECEIVER now, through each of its channels, and say what happened."""

    path: Path = ctx.obj["config_path"]
    try:
        config, _ = load_settings(path)  # secrets are needed here: check them
    except ConfigError as exc:
        config_problems(exc)
    use_site_language(config)
    try:
        target = config.notify.receiver(receiver)
    except KeyError:
        names = sorted({r.name for r in config.notify.receivers} | {"default"})
        fail(f"no receiver named {receiver!r} (known: {', '.join(names)})", EXIT_CONFIG)
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
            say(f"{channel}：发送失败：{exc}", f"{channel}: FAILED: {exc}")
            continue
        where = ", ".join(target.email) if channel == "email" else target.name
        say(
            f"{channel}：已发送至 {where}" + (f"（{note}）" if note else ""),
            f"{channel}: sent to {where}" + (f" ({note})" if note else ""),
        )
    if failed:
        sys.exit(EXIT_FAILURE)
