"""The same flags for the same things (issue 21) at the command line: `check --from/--to` with --since/--until
as aliases, `billing reconcile --at`, and `--from/--to` (site days, both inclusive) on `findings list`,
`users events` and `notify outbox`. On SQLite and PostgreSQL (`store`)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ops_watch.areas.money.billing.commands import month_over
from ops_watch.cli import main
from ops_watch.store import Store
from ops_watch.store.schema import AuthEvent, Finding, OutboxMessage

ZONE = ZoneInfo("Asia/Shanghai")
# Both on 1 November in UTC; the second is already 2 November at the site.
LATE_ON_THE_1ST = datetime(2026, 11, 1, 23, 30, tzinfo=ZONE)
EARLY_ON_THE_2ND = datetime(2026, 11, 2, 0, 30, tzinfo=ZONE)
ON_THE_5TH = datetime(2026, 11, 5, 12, 0, tzinfo=ZONE)
TIMES = (LATE_ON_THE_1ST, EARLY_ON_THE_2ND, ON_THE_5TH)


@pytest.fixture
def config(store: Store, store_url: str, config_file: Any) -> Path:
    return config_file(f'[store]\nurl = "{store_url}"\n')


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def ok_json(config: Path, *args: str) -> Any:
    out = cli(config, *args, "--format", "json")
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


# --- check --------------------------------------------------------------------------------------------


def test_check_replays_with_from_to_and_the_old_names_alike(config: Path) -> None:
    new = ok_json(config, "check", "--from", "2026-11-01", "--to", "2026-11-02")
    old = ok_json(config, "check", "--since", "2026-11-01", "--until", "2026-11-02")
    assert [r["at"][:10] for r in new] == ["2026-11-01", "2026-11-02"]
    assert [r["at"] for r in old] == [r["at"] for r in new]


def test_check_range_mistakes_name_from_and_to(config: Path) -> None:
    alone = cli(config, "check", "--from", "2026-11-01")
    assert alone.exit_code == 2 and "--from and --to (or --since and --until) go together" in alone.output
    backwards = cli(config, "check", "--from", "2026-11-05", "--until", "2026-11-01")
    assert backwards.exit_code == 2 and "--to 2026-11-01 is before --from 2026-11-05" in backwards.output
    wrong = cli(config, "check", "--from", "2026-11-01", "--to", "someday")
    assert wrong.exit_code == 2 and "--from/--to:" in wrong.output and "someday" in wrong.output
    help_text = cli(config, "check", "--help").output
    assert "--from, --since" in help_text and "--to, --until" in help_text


# --- billing reconcile --at ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "today", "over"),
    [
        ("2026-10", date(2026, 10, 31), False),  # its last day: not over yet
        ("2026-10", date(2026, 11, 1), True),
        ("2026-12", date(2026, 11, 15), False),  # not begun
        ("2026-02", date(2026, 3, 1), True),
    ],
)
def test_a_month_is_over_from_the_first_of_the_next(month: str, today: date, over: bool) -> None:
    assert month_over(month, today) is over


def test_reconcile_judges_the_month_as_of_at(config: Path) -> None:
    during = ok_json(config, "billing", "reconcile", "--month", "2026-10", "--at", "2026-10-20 09:00")
    assert during["complete"] is False and during["as_of"] == "2026-10-20T09:00:00+08:00"
    after = ok_json(config, "billing", "reconcile", "--month", "2026-10", "--at", "2026-11-01 00:00")
    assert after["complete"] is True and after["lines"] == during["lines"]

    table = cli(config, "billing", "reconcile", "--month", "2026-10", "--at", "2026-10-20 09:00")
    assert table.exit_code == 0 and "2026-10 截至 2026-10-20 09:00 尚未结束" in table.stderr
    done = cli(config, "billing", "reconcile", "--month", "2026-10", "--at", "2026-11-01 00:00")
    assert done.exit_code == 0 and "尚未结束" not in done.stderr

    wrong = cli(config, "billing", "reconcile", "--month", "2026-10", "--at", "soon")
    assert wrong.exit_code == 2 and "--at:" in wrong.output


# --- --from/--to on the listings ----------------------------------------------------------------------


def _findings(store: Store) -> None:
    with store.session() as s:
        for n, seen in enumerate(TIMES):
            s.add(
                Finding(
                    fingerprint=f"fp{n}",
                    rule_id="demo-rule",
                    check="demo",
                    area="staffing",
                    severity="warning",
                    status="open",
                    subject=f"subject {n}",
                    summary="s",
                    evidence={},
                    first_seen=seen.astimezone(UTC),
                    last_seen=seen.astimezone(UTC),
                )
            )


def test_findings_list_keeps_those_first_seen_on_these_site_days(config: Path, store: Store) -> None:
    _findings(store)

    def subjects(*args: str) -> list[str]:
        return sorted(r["subject"] for r in ok_json(config, "findings", "list", *args))

    assert subjects() == ["subject 0", "subject 1", "subject 2"]
    assert subjects("--from", "2026-11-02", "--to", "2026-11-02") == ["subject 1"]
    assert subjects("--to", "2026-11-01") == ["subject 0"]
    assert subjects("--from", "2026-11-02") == ["subject 1", "subject 2"]
    backwards = cli(config, "findings", "list", "--from", "2026-11-05", "--to", "2026-11-01")
    assert backwards.exit_code == 2 and "--to 2026-11-01 is before --from 2026-11-05" in backwards.output
    wrong = cli(config, "findings", "list", "--from", "2026-11-31")
    assert wrong.exit_code == 2 and wrong.output.startswith("--from:")


def test_users_events_keeps_those_on_these_site_days(config: Path, store: Store) -> None:
    with store.session() as s:
        for n, at in enumerate(TIMES):
            s.add(AuthEvent(at=at.astimezone(UTC), user_name=f"u{n}", action="login", ok=True))
    rows = ok_json(config, "users", "events", "--from", "2026-11-02", "--to", "2026-11-05")
    assert [r["user"] for r in rows] == ["u2", "u1"]  # newest first
    assert [r["user"] for r in ok_json(config, "users", "events", "--to", "2026-11-01")] == ["u0"]


def test_notify_outbox_keeps_messages_created_on_these_site_days(config: Path, store: Store) -> None:
    with store.session() as s:
        for n, at in enumerate(TIMES):
            s.add(
                OutboxMessage(
                    channel="email",
                    created_at=at.astimezone(UTC),
                    subject=f"message {n}",
                    body_text="",
                    message_id=f"<m{n}@test>",
                    next_attempt_at=at.astimezone(UTC),
                )
            )
    rows = ok_json(config, "notify", "outbox", "--from", "2026-11-01", "--to", "2026-11-01")
    assert [r["subject"] for r in rows] == ["message 0"]
    assert len(ok_json(config, "notify", "outbox", "--from", "2026-11-02")) == 2


def test_the_listings_take_days_as_people_write_them(config: Path, store: Store) -> None:
    _findings(store)
    rows = ok_json(config, "findings", "list", "--from", "2026年11月2日", "--to", "2026/11/2")
    assert [r["subject"] for r in rows] == ["subject 1"]
