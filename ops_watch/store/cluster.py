"""The instances of `ops-watch run` on one store, which one leads, and the work they claim (docs/install.md,
"Two nodes"). The lock that decides the leader is in store/leader.py; this module holds what the tables say.

The fencing token: a new leader raises `cluster_leadership.epoch` while it holds the lock. Work that must never
be done twice (an outbox claim) is claimed only `WHERE` the row still names the claimer's instance and epoch, so
a leader that was frozen and resumes cannot claim anything once another has taken over, whatever its clock says.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from ops_watch.core.process import owner_gone
from ops_watch.core.timeutil import utcnow
from ops_watch.store.db import Store
from ops_watch.store.schema import ClusterInstance, ClusterLeadership, WorkClaim

# Instances stopped (or silent) for longer than this are forgotten when another starts.
FORGET_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class Fence:
    """The leadership a piece of work is done under: valid while the leadership row names this instance and
    epoch."""

    instance: str
    epoch: int

    def clause(self) -> ColumnElement[bool]:
        """SQL true while this fence holds (for a WHERE of an UPDATE that claims work)."""
        return exists(
            select(ClusterLeadership.id).where(
                ClusterLeadership.id == 1,
                ClusterLeadership.epoch == self.epoch,
                ClusterLeadership.instance == self.instance,
            )
        )

    def text(self) -> str:
        """For a child process's argument list (jobs.in_child)."""
        return f"{self.epoch}@{self.instance}"

    @classmethod
    def parse(cls, text: str) -> Fence | None:
        epoch, sep, instance = text.partition("@")
        return cls(instance, int(epoch)) if sep and epoch.isdigit() and instance else None


def register(store: Store, instance: str, pid: int, version: str) -> None:
    """This instance's row (standby until it leads); instances gone for a week are forgotten."""
    now = utcnow()
    with store.session() as s:
        s.execute(
            delete(ClusterInstance).where(
                ClusterInstance.instance != instance,
                or_(
                    ClusterInstance.stopped_at < now - FORGET_AFTER,
                    ClusterInstance.heartbeat_at < now - FORGET_AFTER,
                ),
            )
        )
        row = s.get(ClusterInstance, instance)
        if row is None:
            row = ClusterInstance(instance=instance, started_at=now)
            s.add(row)
        row.node, row.pid, row.version = socket.gethostname(), pid, version
        row.started_at, row.heartbeat_at, row.role = now, now, "standby"
        row.leading_since, row.stopped_at = None, None


def mark_stopped(store: Store, instance: str, forget: bool = False) -> None:
    """The instance stopped; `forget` (a `run --once`, not a daemon): its row goes."""
    with store.session() as s:
        row = s.get(ClusterInstance, instance)
        if row is None:
            return
        if forget:
            s.delete(row)
        else:
            row.role, row.stopped_at, row.leading_since = "stopped", utcnow(), None


def take_lead(store: Store, instance: str) -> Fence:
    """Raise the epoch and name this instance the leader; only under the lock (store/leader.py)."""
    now = utcnow()
    with store.session() as s:
        row = s.get(ClusterLeadership, 1, with_for_update=True)
        if row is None:
            row = ClusterLeadership(id=1, epoch=0)
            s.add(row)
        row.epoch, row.instance, row.since = (row.epoch or 0) + 1, instance, now
        epoch = row.epoch
        s.execute(
            update(ClusterInstance)
            .where(ClusterInstance.instance == instance)
            .values(role="leader", leading_since=now, heartbeat_at=now)
        )
    return Fence(instance, epoch)


def holds(store: Store, fence: Fence) -> bool:
    """Whether the fence holds now, read in a transaction of its own: work claimed in a transaction that
    committed after this instance was overtaken (frozen between the claim's UPDATE and its COMMIT) shows here."""
    with store.session() as s:
        return bool(s.scalar(select(fence.clause())))


def beat(store: Store, instance: str, role: str) -> None:
    """This instance is alive (and in `role`): for `ops-watch status` and the others' judgement of it."""
    with store.session() as s:
        values: dict[str, object] = {"heartbeat_at": utcnow(), "role": role}
        if role != "leader":
            values["leading_since"] = None
        s.execute(update(ClusterInstance).where(ClusterInstance.instance == instance).values(**values))


# ---- what `ops-watch status` shows -----------------------------------------------------------------


@dataclass(frozen=True)
class InstanceView:
    instance: str
    node: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    role: str
    leading_since: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True)
class ClusterView:
    leader: str  # "" when none has led yet
    epoch: int
    since: datetime | None
    instances: list[InstanceView]


def cluster_view(store: Store) -> ClusterView:
    with store.session() as s:
        lead = s.get(ClusterLeadership, 1)
        rows = s.scalars(select(ClusterInstance).order_by(ClusterInstance.started_at.desc())).all()
        instances = [
            InstanceView(
                r.instance,
                r.node,
                r.pid,
                r.version,
                r.started_at,
                r.heartbeat_at,
                r.role,
                r.leading_since,
                r.stopped_at,
            )
            for r in rows
        ]
    if lead is None:
        return ClusterView("", 0, None, instances)
    return ClusterView(lead.instance, lead.epoch, lead.since, instances)


# ---- claims of work that one node must do alone ----------------------------------------------------


def claim(store: Store, key: str, owner: str, lease: timedelta) -> bool:
    """Take `key` for `owner`; False if another live owner holds it. A claim of a process of this host that is
    gone, or older than `lease` (another host's, presumed dead), is taken over."""
    now = utcnow()
    try:
        with store.session() as s:
            s.add(WorkClaim(key=key, owner=owner, claimed_at=now))
        return True
    except IntegrityError:
        pass
    with store.session() as s:
        row = s.get(WorkClaim, key, with_for_update=True)
        if row is None:
            s.add(WorkClaim(key=key, owner=owner, claimed_at=now))
            return True
        if row.owner == owner:
            row.claimed_at = now
            return True
        gone = owner_gone(row.owner)
        if gone is False or (gone is None and now - row.claimed_at < lease):
            return False
        row.owner, row.claimed_at = owner, now
        return True


def release(store: Store, key: str, owner: str) -> None:
    with store.session() as s:
        s.execute(delete(WorkClaim).where(WorkClaim.key == key, WorkClaim.owner == owner))


__all__ = [
    "ClusterView",
    "Fence",
    "InstanceView",
    "beat",
    "claim",
    "cluster_view",
    "holds",
    "mark_stopped",
    "register",
    "release",
    "take_lead",
]
