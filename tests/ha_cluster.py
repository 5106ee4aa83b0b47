"""Two (or more) `ops-watch run` on one PostgreSQL store, for the failover tests and bench/failover.py.

    config = ha_config(tmp_path / "a", store_url, smtp_port, lease=4, heartbeat=1)
    queue_messages(store, 1000)                  # pending outbox messages, each with its own Message-ID
    a = Daemon(config); wait_leading(a)          # test_daemon.Daemon: the process and its JSON log lines
    b = Daemon(config)                           # the standby
    leader_instance(store)                       # who the store says leads

tests/ is on sys.path (conftest.py); the bench puts it there itself.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ops_watch.core.timeutil import utcnow
from ops_watch.store.schema import ClusterLeadership, OutboxMessage

REPO = Path(__file__).resolve().parents[1]
JOBS_OFF = ("ingest", "collect", "doors", "backups", "evaluate", "report_weekly", "inspections", "purge")


def ha_config(directory: Path, store_url: str, smtp_port: int, *, lease: float, heartbeat: float) -> Path:
    """A node's config: only the notify job runs (every second) and sends to `smtp_port`; [ha] as given."""
    directory.mkdir(parents=True, exist_ok=True)
    rules = directory / "rules"
    if not rules.exists():
        shutil.copytree(REPO / "rules", rules)
    off = "".join(f"\n[schedule.{job}]\nenabled = false\n" for job in JOBS_OFF)
    config = directory / "config.toml"
    config.write_text(
        f"""\
[site]
timezone = "Asia/Shanghai"

[paths]
state_dir = "var"
rules_dir = "rules"

[ingest]
drop_dir = "var/drop"

[store]
url = "{store_url}"

[log]
level = "info"
format = "json"

[ha]
lease = "{lease}s"
heartbeat = "{heartbeat}s"
{off}
[schedule.notify]
every = "1s"

[notify]
retry_base = "1s"
retry_cap = "2s"

[notify.email]
transport = "smtp"
host = "127.0.0.1"
port = {smtp_port}
timeout = "60s"
sender = "ops-watch@center.example"

[[notify.receivers]]
name = "center"
email = ["duty@center.example"]

[notify.route]
receiver = "center"
""",
        encoding="utf-8",
    )
    return config


def queue_messages(store: Any, n: int) -> list[str]:
    """`n` pending email messages in the outbox, due now; their Message-IDs in order."""
    now = utcnow() - timedelta(seconds=1)
    tag = uuid.uuid4().hex[:8]
    ids = [f"<failover.{tag}.{i}@ops-watch.local>" for i in range(n)]
    with store.session() as s:
        s.add_all(
            OutboxMessage(
                channel="email",
                receiver="center",
                created_at=now,
                recipients=["duty@center.example"],
                subject=f"failover test {i}",
                body_text=f"message {i}",
                message_id=mid,
                status="pending",
                next_attempt_at=now,
            )
            for i, mid in enumerate(ids)
        )
    return ids


def sent_count(store: Any) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).where(OutboxMessage.status == "sent")) or 0)


def leader_instance(store: Any) -> str:
    with store.session() as s:
        return s.scalar(select(ClusterLeadership.instance).where(ClusterLeadership.id == 1)) or ""


def leading(daemon: Any, after: int = 0) -> bool:
    """Has this daemon logged that it leads (since event index `after`)?"""
    return any(e["event"].startswith("leading") for e in daemon.events()[after:])
