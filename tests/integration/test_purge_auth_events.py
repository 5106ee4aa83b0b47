"""The daily purge keeps the console's audit trail (logins, failures, writes) as long as `[retention] days`,
and no longer: an event older than that goes, the rest stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ops_watch import jobs
from ops_watch.core.timeutil import utcnow
from ops_watch.runtime import Runtime, load_settings
from ops_watch.store.schema import AuthEvent


def test_purge_drops_auth_events_older_than_the_retention(
    store: Any, config_file: Callable[..., Path]
) -> None:
    config, rules = load_settings(config_file("[retention]\ndays = 200\n"), check_secrets=False)
    rt = Runtime(config=config, rules=rules, store=store)
    now = utcnow()
    with store.session() as s:
        for days, name in ((201, "old"), (199, "recent"), (0, "today")):
            s.add(
                AuthEvent(
                    at=now - timedelta(days=days),
                    user_name=name,
                    action="login",
                    address="127.0.0.1",
                    ok=True,
                )
            )
    done = jobs.purge(rt)
    assert done["auth_events"] == 1
    with store.session() as s:
        assert sorted(s.scalars(select(AuthEvent.user_name))) == ["recent", "today"]
