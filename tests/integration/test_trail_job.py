"""Issue 22: the `trail` job publishes each day's chain heads once the day is over (the store, and a mail to the
archive mailbox through the outbox), verifies the chains (the new seals each run, everything every
full_verify_days), and a break it finds becomes the critical finding `evidence_tampered`; an intact run leaves
nothing to find. `run --once` runs it before judging."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from ops_watch import jobs
from ops_watch.core.timeutil import utcnow
from ops_watch.findings import engine
from ops_watch.ingest import ingest_drop_folder
from ops_watch.runtime import Runtime, load_settings
from ops_watch.store.schema import Finding, OutboxMessage, TrailHead
from ops_watch.trail import outcome

ROOT = Path(__file__).resolve().parents[2]


def _runtime(store: Any, config_file: Callable[..., Path]) -> Runtime:
    toml = '[trail]\narchive_mailbox = ["archive@center.example"]\nfull_verify_days = 7\n'
    config, rules = load_settings(config_file(toml), check_secrets=False)
    return Runtime(config=config, rules=rules, store=store)


def test_the_job_publishes_mails_verifies_and_a_break_becomes_a_critical_finding(
    store: Any, config_file: Callable[..., Path]
) -> None:
    rt = _runtime(store, config_file)
    shutil.copytree(ROOT / "examples" / "door", rt.config.drop_dir / "door")
    shutil.copytree(ROOT / "examples" / "handover", rt.config.drop_dir / "handover")
    ingest_drop_folder(store, rt.config)
    now = utcnow()
    first = jobs.trail(rt, at=now)
    assert first["breaks"] == 0 and first["verified"] == "full" and first["heads_published"] == 0
    # Two days later the day the seals were made is over: its heads are published and mailed.
    later = now + timedelta(days=2)
    second = jobs.trail(rt, at=later)
    assert second["heads_published"] >= 2 and second["verified"] == "since last"
    with store.session() as s:
        days = set(s.scalars(select(TrailHead.day)))
        (mail,) = s.scalars(select(OutboxMessage).where(OutboxMessage.receiver == "trail.archive_mailbox"))
    assert mail.recipients == ["archive@center.example"] and "证据链" in mail.subject
    assert all(day.isoformat() in mail.body_text for day in days)
    assert jobs.trail(rt, at=later)["heads_published"] == 0  # once a day

    # A handover row deleted in SQL: the next full verify finds it, the check makes it a critical finding.
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM handover_shifts WHERE id = (SELECT MIN(id) FROM handover_shifts)"))
    week_later = later + timedelta(days=8)
    found = jobs.trail(rt, at=week_later)
    assert found["verified"] == "full" and found["breaks"] >= 1
    engine.evaluate(store, rt.rules, at=week_later + timedelta(minutes=1), zone=rt.config.site.zone)
    with store.session() as s:
        (finding,) = s.scalars(select(Finding).where(Finding.check == "evidence_tampered"))
        last = outcome.last(s)
    assert finding.severity == "critical" and finding.status == "open"
    assert last is not None and not last.ok and last.breaks[0].what == "row_removed"
    assert "handover_shifts" in finding.evidence["first_break"]
    # A break is not remembered as verified: the next (incremental) run still starts before it and finds it.
    assert jobs.trail(rt, at=week_later + timedelta(hours=1))["breaks"] >= 1
