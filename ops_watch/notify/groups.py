"""Grouping and pacing: findings' changes become grouped messages in the outbox (Alertmanager's semantics).

Every pass (the notify job) looks at the findings and the groups in the store, so a restart loses nothing:
- A finding that is open ("firing") joins a group on every route that takes it (ops_watch.notify.routing),
  keyed by the route's `group_by` labels.
- A group with news waits: `group_wait` from its first news (when the evaluation opened or resolved the
  finding) when it has told nothing yet (or only resolved things), so siblings arriving in the same minutes go
  out together; `group_interval` after its last message otherwise. A group with open findings and no news is told again every `repeat_interval` (0: never).
- A message lists what is new, what is still open, and (with `send_resolved`) what was resolved since the last
  message. Acknowledged and silenced findings are not sent again ("muted"); when they open again they are news.
- Each message is written to the outbox, one per channel of the receiver (email, DingTalk, WeCom, webhook),
  before anything is sent; the members are marked told in the same transaction. Email messages of a group
  thread together (References to the group's first message).

`force=True` (used by `run --once`) sends what has news now without waiting: there is no later pass to wait for.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ops_watch.config import Config
from ops_watch.core.log import get_logger
from ops_watch.core.timeutil import from_store, utcnow
from ops_watch.notify.email import message_id
from ops_watch.notify.render import render_group
from ops_watch.notify.routing import RouteNode, compile_routes, finding_labels, group_key, routes_for
from ops_watch.store import Store
from ops_watch.store.schema import AlertGroup, AlertGroupMember, Finding, FindingEvent, OutboxMessage

log = get_logger(__name__)
STATE = {"open": "firing", "acknowledged": "muted", "silenced": "muted", "resolved": "resolved"}


@dataclass
class PlanResult:
    queued: int = 0  # outbox messages written
    groups_told: int = 0
    waiting: int = 0  # groups with news still inside their wait
    by_receiver: dict[str, int] = field(default_factory=dict)


def _nodes(root: RouteNode) -> dict[str, RouteNode]:
    out = {}
    stack = [root]
    while stack:
        node = stack.pop()
        out[node.path] = node
        stack.extend(node.children)
    return out


def _join_groups(session: Session, root: RouteNode, at: datetime) -> None:
    """Every open finding that is in no group yet on a route that takes it joins one."""
    groups = {(g.route, g.receiver, g.key): g for g in session.scalars(select(AlertGroup))}
    member_of: dict[int, set[int]] = defaultdict(set)
    for m in session.scalars(select(AlertGroupMember)):
        member_of[m.finding_id].add(m.group_id)
    open_findings = session.execute(
        select(
            Finding.id, Finding.area, Finding.severity, Finding.rule_id, Finding.check, Finding.subject
        ).where(Finding.status == "open")
    ).all()
    for finding in open_findings:
        labels = finding_labels(finding)
        for node in routes_for(root, labels):
            key, chosen = group_key(node, labels)
            group = groups.get((node.path, node.receiver, key))
            if group is None:
                group = AlertGroup(
                    route=node.path,
                    receiver=node.receiver,
                    key=key,
                    labels=chosen,
                    created_at=at,
                    pending_since=None,
                    last_notified_at=None,
                    firing=False,
                    thread_message_id="",
                )
                session.add(group)
                session.flush()
                groups[(node.path, node.receiver, key)] = group
            if group.id not in member_of[finding.id]:
                session.add(AlertGroupMember(group_id=group.id, finding_id=finding.id, told=""))
                member_of[finding.id].add(group.id)


def _due(
    group: AlertGroup, node: RouteNode, news_at: datetime | None, firing: bool, at: datetime, force: bool
) -> bool:
    """`news_at`: when the group's oldest untold change happened (None: no news)."""
    last = from_store(group.last_notified_at)
    news = news_at is not None
    if news:
        if group.pending_since is None:
            group.pending_since = min(news_at, at)  # type: ignore[type-var]
        if force:
            return True
        if last is None or not group.firing:  # a group's first news: wait for siblings
            return at >= from_store(group.pending_since) + node.group_wait  # type: ignore[operator]
        return at >= last + node.group_interval
    group.pending_since = None  # the news went away untold (resolved, muted): the next news waits afresh
    if firing and last is not None and node.repeat_interval.total_seconds() > 0:
        return at >= last + node.repeat_interval
    return False


def plan(store: Store, config: Config, at: datetime | None = None, *, force: bool = False) -> PlanResult:
    """One pass: join open findings to groups, and write a message for every group that is due."""
    at = at or utcnow()
    root = compile_routes(config.notify)
    nodes = _nodes(root)
    result = PlanResult()
    with store.session() as session:
        _join_groups(session, root, at)
        findings: dict[int, Finding] = {}
        members_by_group: dict[int, list[AlertGroupMember]] = defaultdict(list)
        rows = session.execute(
            select(AlertGroupMember, Finding).join(Finding, Finding.id == AlertGroupMember.finding_id)
        ).all()
        for member, finding in rows:
            members_by_group[member.group_id].append(member)
            findings[finding.id] = finding
        # When each finding last became open (opened, reopened, its silence ended): its news dates from then.
        opened_at = dict(
            session.execute(
                select(FindingEvent.finding_id, func.max(FindingEvent.at))
                .where(FindingEvent.action.in_(("opened", "reopened", "unsilenced")))
                .group_by(FindingEvent.finding_id)
            ).all()
        )
        for group in session.scalars(select(AlertGroup).order_by(AlertGroup.id)):
            node = nodes.get(group.route)
            members = members_by_group.get(group.id, [])
            if node is None or node.receiver != group.receiver:
                # The route changed in the config: its old groups are closed without a word.
                for m in members:
                    session.delete(m)
                continue
            kept = []
            for m in members:
                labels = finding_labels(findings[m.finding_id])
                taken = {n.path for n in routes_for(root, labels)}
                if group.route not in taken or group_key(node, labels)[0] != group.key:
                    session.delete(m)  # the route changed and no longer takes it: closed without a word
                else:
                    kept.append(m)
            members = kept
            news_new, still, resolved, muted = [], [], [], []
            for m in members:
                state = STATE.get(findings[m.finding_id].status, "firing")
                if state == "firing":
                    (still if m.told == "firing" else news_new).append(m)
                elif state == "resolved" and m.told == "firing":
                    resolved.append(m)
                elif state != m.told:
                    muted.append(m)  # muted, or resolved before anyone was told: nothing to say
            news = bool(news_new) or (bool(resolved) and node.send_resolved)
            firing = bool(news_new or still)
            # The wait counts from when the change happened (the evaluation that opened or resolved it), so
            # a notifier that was down, or a replay of the past, does not add its own delay.
            times = [
                from_store(opened_at.get(m.finding_id) or findings[m.finding_id].first_seen) for m in news_new
            ]
            if node.send_resolved:
                times += [from_store(findings[m.finding_id].resolved_at or at) for m in resolved]
            news_at = min((t for t in times if t is not None), default=at) if news else None
            if not _due(group, node, news_at, firing, at, force):
                if news:
                    result.waiting += 1
                _settle(session, muted, findings)
                if resolved and not node.send_resolved:
                    for m in resolved:
                        session.delete(m)
                    if not firing:
                        group.firing = False  # all resolved, quietly: the next news waits group_wait
                continue
            if news_new or still or (resolved and node.send_resolved):
                result.queued += _write(
                    session,
                    config,
                    group,
                    node,
                    [findings[m.finding_id] for m in news_new],
                    [findings[m.finding_id] for m in still],
                    [findings[m.finding_id] for m in resolved] if node.send_resolved else [],
                    repeat=not news,
                    at=at,
                )
                result.groups_told += 1
                result.by_receiver[group.receiver] = result.by_receiver.get(group.receiver, 0) + 1
                group.last_notified_at = at
            group.pending_since = None
            group.firing = firing
            for m in news_new + still:
                m.told = "firing"
            _settle(session, muted, findings)
            for m in resolved:
                session.delete(m)  # told it resolved (or not to be told): it leaves the group
        # The per-finding marker of what the center knows (reports read it): a finding waiting in a group for
        # its first message is not known yet.
        waiting = {m.finding_id for ms in members_by_group.values() for m in ms if m.told == ""}
        for fid, status in session.execute(
            select(Finding.id, Finding.status).where(Finding.status != Finding.notified_status)
        ).all():
            if fid not in waiting:
                # No in-session synchronisation: by default every UPDATE is evaluated against each Finding loaded
                # above, which made a storm of 10,000 findings quadratic (minutes); the session ends right here.
                session.execute(
                    update(Finding)
                    .where(Finding.id == fid)
                    .values(notified_status=status)
                    .execution_options(synchronize_session=False)
                )
    return result


def _settle(session: Session, muted: list[AlertGroupMember], findings: dict[int, Finding]) -> None:
    """Members whose change needs no message: muted ones remember it; resolved ones leave the group."""
    for m in muted:
        state = STATE.get(findings[m.finding_id].status, "muted")
        if state == "resolved":
            session.delete(m)
        else:
            m.told = state


def _write(
    session: Session,
    config: Config,
    group: AlertGroup,
    node: RouteNode,
    new: list[Finding],
    still: list[Finding],
    resolved: list[Finding],
    *,
    repeat: bool,
    at: datetime,
) -> int:
    receiver = config.notify.receiver(group.receiver)
    rendered = render_group(config, group.labels, new, still, resolved, repeat=repeat)
    key = f"g{group.id}"
    written = 0
    first_id = next((f.id for f in new + still + resolved), None)
    if receiver.email and config.notify.email.enabled:
        mid = message_id("group", key, at)
        references = group.thread_message_id
        if not group.thread_message_id:
            group.thread_message_id = mid
        session.add(
            OutboxMessage(
                channel="email",
                receiver=receiver.name,
                created_at=at,
                recipients=list(receiver.email),
                subject=rendered.subject,
                body_text=rendered.text,
                body_html=rendered.html,
                message_id=mid,
                references=references,
                finding_id=first_id,
                group_id=group.id,
                payload={},
                status="pending",
                attempts=0,
                next_attempt_at=at,
                last_error="",
            )
        )
        written += 1
    for channel in ("dingtalk", "wecom", "webhook"):
        if getattr(receiver, channel) is None:
            continue
        session.add(
            OutboxMessage(
                channel=channel,
                receiver=receiver.name,
                created_at=at,
                recipients=[],
                subject=rendered.subject,
                body_text=rendered.markdown if channel != "webhook" else rendered.text,
                body_html="",
                message_id=message_id(channel, key, at),
                references="",
                finding_id=first_id,
                group_id=group.id,
                payload=rendered.payload,
                status="pending",
                attempts=0,
                next_attempt_at=at,
                last_error="",
            )
        )
        written += 1
    log.info(
        "group notified",
        receiver=receiver.name,
        group=group.labels,
        new=len(new),
        still_open=len(still),
        resolved=len(resolved),
        repeat=repeat,
        messages=written,
    )
    return written


__all__ = ["PlanResult", "plan"]
