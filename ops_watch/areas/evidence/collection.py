"""collection_failed: a source could not measure a host or resource (down, timed out, key refused)."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field
from sqlalchemy import select

from ops_watch.core.timeutil import format_local, from_store
from ops_watch.findings.registry import CheckContext, FindingDraft, Params, check
from ops_watch.store.schema import CollectionStatus, OutboxMessage

_KIND_ZH = {
    "unreachable": "无法连接",
    "timeout": "超时",
    "auth": "登录被拒",
    "host_key_unknown": "主机密钥未知（未采集数据）",
    "host_key_changed": "主机密钥已变更（未采集数据，请核实是否被冒充）",
    "parse": "返回内容无法解析",
    "http": "接口请求失败",
    "config": "采集配置或程序错误",
}


class CollectionFailedParams(Params):
    # Failures in a row before a finding opens: 1 tells at once; more rides out a single lost poll.
    min_failures: int = Field(default=1, ge=1)
    sources: list[str] = []  # empty: every source


@check(
    "collection_failed",
    params=CollectionFailedParams,
    area="evidence",
    example="""
[[rule]]
id = "collection-failed"
check = "collection_failed"
severity = "warning"
title = "资源利用率采集失败"
[rule.params]
min_failures = 2
""",
)
def collection_failed(ctx: CheckContext, params: CollectionFailedParams) -> Iterator[FindingDraft]:
    """One finding per source and target for each spell of failures; it resolves on the next success."""
    query = select(CollectionStatus).where(
        CollectionStatus.consecutive_failures >= params.min_failures,
        CollectionStatus.failing_since.is_not(None),
        CollectionStatus.failing_since <= ctx.at,
    )
    if params.sources:
        query = query.where(CollectionStatus.source.in_(params.sources))
    for row in ctx.session.scalars(query.order_by(CollectionStatus.source, CollectionStatus.target)):
        since = from_store(row.failing_since)
        shown = format_local(since, ctx.zone)
        what = _KIND_ZH.get(row.error_kind, row.error_kind)
        yield FindingDraft(
            subject=f"{row.source}/{row.target}",
            period_start=since,
            summary=ctx.t(
                f"{row.source} 采集 {row.target} 失败：{what}（自 {shown} 起连续 {row.consecutive_failures} 次）",
                f"{row.source} cannot collect {row.target}: {row.error_kind} "
                f"({row.consecutive_failures} times in a row since {shown})",
            ),
            evidence={
                "source": row.source,
                "target": row.target,
                "error_kind": row.error_kind,
                "error": row.last_error,
                "failing_since": since.isoformat() if since else None,
                "consecutive_failures": row.consecutive_failures,
                "last_success": row.last_success.isoformat() if row.last_success else None,
            },
        )


class DeadMessageParams(Params):
    pass


@check(
    "notification_dead",
    params=DeadMessageParams,
    area="evidence",
    example="""
[[rule]]
id = "notification-dead"
check = "notification_dead"
severity = "critical"
title = "告警消息多次发送失败"
""",
)
def notification_dead(ctx: CheckContext, params: DeadMessageParams) -> Iterator[FindingDraft]:
    """A message the outbox gave up on after its retries: the center missed news. One finding per message,
    resolved when it is retried (`ops-watch notify retry ID`) and sent."""

    for msg in ctx.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == "dead", OutboxMessage.created_at <= ctx.at)
    ):
        where = f"{msg.channel}:{msg.receiver or 'default'}"
        yield FindingDraft(
            subject=f"message {msg.id}",
            period_start=from_store(msg.created_at),
            summary=ctx.t(
                f"告警消息 #{msg.id}（{where}）发送 {msg.attempts} 次均失败，已停止重试：{msg.subject}",
                f"message #{msg.id} ({where}) failed {msg.attempts} times and is no longer retried: {msg.subject}",
            ),
            evidence={
                "message_id": msg.id,
                "channel": msg.channel,
                "receiver": msg.receiver,
                "subject": msg.subject,
                "attempts": msg.attempts,
                "last_error": msg.last_error,
                "created_at": format_local(from_store(msg.created_at), ctx.zone),
                "retry": f"ops-watch notify retry {msg.id}",
            },
        )
