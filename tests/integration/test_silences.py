"""Silences by matcher: what they match, that findings opening during them are silenced too, that they end,
and the commands that make and list them. On SQLite and PostgreSQL (`store`) where the store is involved."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from listed_check import listed_check, statuses
from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.findings import engine, silences
from ops_watch.store import Store
from ops_watch.store.schema import Finding, FindingEvent

ZONE = UTC
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SUBJECTS, ruleset = listed_check("test_listed_subjects")  # SUBJECTS: what the check reports this evaluation

plugins.load()


def test_a_matcher_silences_what_matches_now_and_what_opens_during_it(store: Store) -> None:
    rules = ruleset()
    SUBJECTS[:] = ["JWY-VM-0001", "XYD-VM-0001"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    silence, count = silences.create(
        store,
        silences.Matchers(rule="idle", subject="JWY-*"),
        T0 + timedelta(days=7),
        "张科长",
        "迁移中",
        at=T0,
    )
    assert count == 1 and statuses(store) == {"JWY-VM-0001": "silenced", "XYD-VM-0001": "open"}
    SUBJECTS.append("JWY-VM-0002")  # opens during the silence
    result = engine.evaluate(store, rules, T0 + timedelta(hours=1), zone=ZONE)
    assert result.silenced == 1 and statuses(store)["JWY-VM-0002"] == "silenced"
    with store.session() as s:
        event = s.scalars(select(FindingEvent).where(FindingEvent.action == "silenced")).first()
        assert event.actor == "张科长" and event.reason == f"silence #{silence.id}: 迁移中"
    # The silence ends: what still holds opens again (and is news for the notifier).
    engine.evaluate(store, rules, T0 + timedelta(days=7, hours=1), zone=ZONE)
    assert statuses(store) == {"JWY-VM-0001": "open", "XYD-VM-0001": "open", "JWY-VM-0002": "open"}


def test_matchers_match_every_given_field() -> None:
    f = Finding(
        rule_id="unknown-entry",
        check="unknown_entry",
        area="staffing",
        severity="critical",
        subject="card:9 2026-11-12",
    )
    assert silences.Matchers(area="staffing", severity="critical").matches(f)
    assert silences.Matchers(subject="card:* 2026-11-1?").matches(f)
    assert not silences.Matchers(area="staffing", severity="warning").matches(f)
    assert not silences.Matchers(subject="card:*", check="ghost_on_duty").matches(f)


@pytest.mark.parametrize(
    "m, message",
    [
        (silences.Matchers(), "give at least one of"),
        (silences.Matchers(area="finance"), "not an area"),
        (silences.Matchers(severity="urgent"), "not a severity"),
        (silences.Matchers(rule="nope"), "no such rule"),
    ],
)
def test_bad_matchers_are_refused(m: silences.Matchers, message: str) -> None:
    with pytest.raises(silences.SilenceError, match=message):
        silences.validate(m, {"idle"})


def test_a_silence_must_end_in_the_future(store: Store) -> None:
    with pytest.raises(silences.SilenceError, match="must end in the future"):
        silences.create(store, silences.Matchers(area="resources"), T0, "a", "b", at=T0)


def _ops(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_silence_and_silences_commands(config_file, tmp_path: Path) -> None:
    cfg = config_file()
    made = _ops(
        cfg,
        "findings",
        "silence",
        "--area",
        "staffing",
        "--subject",
        "YW-*",
        "--for",
        "7d",
        "--by",
        "张科长",
        "--why",
        "核查中",
    )
    assert made.returncode == 0, made.stderr
    assert "静默 #1（area=staffing, subject=YW-*）" in made.stdout
    listed = json.loads(_ops(cfg, "findings", "silences", "--format", "json").stdout)
    assert listed[0]["matchers"] == {"area": "staffing", "subject": "YW-*"} and listed[0]["by"] == "张科长"
    both = _ops(cfg, "findings", "silence", "3", "--rule", "x", "--for", "1d", "--by", "a", "--why", "b")
    assert both.returncode == 2 and "not both" in both.stderr
    unknown = _ops(
        cfg, "findings", "silence", "--rule", "no-such-rule", "--for", "1d", "--by", "a", "--why", "b"
    )
    assert unknown.returncode == 2 and "no such rule" in unknown.stderr
