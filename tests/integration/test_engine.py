"""The findings lifecycle, on SQLite and PostgreSQL from the same tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.findings import engine
from ops_watch.findings.registry import CHECKS, CheckContext, FindingDraft, Params, check
from ops_watch.findings.rules import Rule, RuleSet
from ops_watch.store.schema import EvidenceBatch, Finding, FindingEvent

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)

# A check the test steers: it yields one draft per subject listed in `failing`, or raises when asked.
STATE: dict[str, object] = {"failing": [], "raise": False}


class ToggleParams(Params):
    pass


if "test_toggle" not in CHECKS:

    @check(
        "test_toggle",
        params=ToggleParams,
        area="governance",
        example='[[rule]]\nid = "toggle"\ncheck = "test_toggle"\nseverity = "info"\n',
    )
    def _toggle(ctx: CheckContext, params: ToggleParams) -> Iterator[FindingDraft]:
        if STATE["raise"]:
            raise RuntimeError("evidence table unreadable")
        for subject in STATE["failing"]:  # type: ignore[attr-defined]
            yield FindingDraft(
                subject=subject, summary=f"{subject} fails", evidence={"seen_at": ctx.at.isoformat()}
            )


@pytest.fixture(autouse=True)
def _reset() -> None:
    STATE["failing"], STATE["raise"] = [], False


def _rules(*rules: tuple[str, str, Params]) -> RuleSet:
    plugins.load()
    return RuleSet(
        rules=[Rule(rid, CHECKS[name], "warning", "", True, params, "t.toml") for rid, name, params in rules]
    )


def _toggle_rules() -> RuleSet:
    return _rules(("toggle", "test_toggle", ToggleParams()))


def _findings(store) -> list[Finding]:
    with store.session() as s:
        return list(s.scalars(select(Finding).order_by(Finding.id)))


def _actions(store, finding_id: int) -> list[str]:
    with store.session() as s:
        return [
            e.action
            for e in s.scalars(
                select(FindingEvent).where(FindingEvent.finding_id == finding_id).order_by(FindingEvent.id)
            )
        ]


def test_open_update_resolve_reopen(store):
    rules = _toggle_rules()
    STATE["failing"] = ["vm-1"]
    r1 = engine.evaluate(store, rules, T0, zone=ZONE)
    assert len(r1.opened) == 1
    STATE["failing"] = ["vm-1"]
    r2 = engine.evaluate(store, rules, T0 + timedelta(hours=1), zone=ZONE)
    assert r2.opened == [] and r2.still_open == 1
    [f] = _findings(store)
    assert f.status == "open" and f.first_seen == T0 and f.last_seen == T0 + timedelta(hours=1)
    assert f.evidence == {"seen_at": (T0 + timedelta(hours=1)).isoformat()}
    STATE["failing"] = []
    r3 = engine.evaluate(store, rules, T0 + timedelta(hours=2), zone=ZONE)
    assert r3.resolved == [f.id]
    [f] = _findings(store)
    assert f.status == "resolved" and f.resolved_at == T0 + timedelta(hours=2)
    STATE["failing"] = ["vm-1"]
    r4 = engine.evaluate(store, rules, T0 + timedelta(hours=3), zone=ZONE)
    assert r4.reopened == [f.id] and r4.opened == []
    [f] = _findings(store)
    assert f.status == "open" and f.resolved_at is None
    assert _actions(store, f.id) == ["opened", "resolved", "reopened"]


def test_acknowledged_stays_until_resolved_and_records_who_and_why(store):
    rules = _toggle_rules()
    STATE["failing"] = ["vm-2"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    [f] = _findings(store)
    engine.acknowledge(store, f.id, "王工", "已通知运维单位整改", at=T0 + timedelta(minutes=5))
    engine.evaluate(store, rules, T0 + timedelta(hours=1), zone=ZONE)
    assert _findings(store)[0].status == "acknowledged"
    STATE["failing"] = []
    engine.evaluate(store, rules, T0 + timedelta(hours=2), zone=ZONE)
    assert _findings(store)[0].status == "resolved"
    with store.session() as s:
        ack = s.scalars(select(FindingEvent).where(FindingEvent.action == "acknowledged")).one()
        assert (ack.actor, ack.reason) == ("王工", "已通知运维单位整改")
    with pytest.raises(engine.FindingError, match="already resolved"):
        engine.acknowledge(store, f.id, "王工", "again")
    with pytest.raises(engine.FindingError, match="no finding with id 999"):
        engine.acknowledge(store, 999, "王工", "x")


def test_silence_ends_at_its_time(store):
    rules = _toggle_rules()
    STATE["failing"] = ["vm-3"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    [f] = _findings(store)
    engine.silence(store, f.id, T0 + timedelta(hours=6), "李工", "计划内维护", at=T0)
    engine.evaluate(store, rules, T0 + timedelta(hours=5), zone=ZONE)
    assert _findings(store)[0].status == "silenced"
    engine.evaluate(store, rules, T0 + timedelta(hours=7), zone=ZONE)
    f = _findings(store)[0]
    assert f.status == "open" and f.silenced_until is None
    assert _actions(store, f.id) == ["opened", "silenced", "unsilenced"]
    with pytest.raises(engine.FindingError, match="future"):
        engine.silence(store, f.id, T0, "李工", "x", at=T0 + timedelta(hours=8))


def test_a_failing_check_leaves_its_findings_as_they_were(store):
    rules = _toggle_rules()
    STATE["failing"] = ["vm-4"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    STATE["raise"] = True
    result = engine.evaluate(store, rules, T0 + timedelta(hours=1), zone=ZONE)
    assert result.failed_rules == {"toggle": "RuntimeError: evidence table unreadable"}
    assert result.resolved == []
    assert _findings(store)[0].status == "open"


def test_findings_of_a_removed_rule_are_resolved_with_the_reason(store):
    STATE["failing"] = ["vm-5"]
    engine.evaluate(store, _toggle_rules(), T0, zone=ZONE)
    engine.evaluate(store, RuleSet(), T0 + timedelta(hours=1), zone=ZONE)
    f = _findings(store)[0]
    assert f.status == "resolved"
    with store.session() as s:
        last = s.scalars(
            select(FindingEvent).where(FindingEvent.finding_id == f.id).order_by(FindingEvent.id.desc())
        ).first()
        assert last.reason == "rule removed or disabled"


def test_an_episode_over_when_judged_is_recorded_about_its_period_and_resolved(store):
    """An `ended` draft: opened and resolved at once; judged again it stays resolved; an open one is closed."""
    spec = CHECKS["test_toggle"]

    def episodes(ctx: CheckContext, params: ToggleParams) -> Iterator[FindingDraft]:
        for subject, ended in STATE["failing"]:  # type: ignore[misc]
            yield FindingDraft(
                subject=subject, summary=f"{subject} failed", period_start=T0, period_end=T0, ended=ended
            )

    rules = _rules(("episodes", "test_toggle", ToggleParams()))
    rules.rules = [Rule("episodes", replace(spec, fn=episodes), "warning", "", True, ToggleParams(), "t")]
    STATE["failing"] = [("streak-a", True), ("streak-b", False)]
    first = engine.evaluate(store, rules, T0 + timedelta(hours=1), zone=ZONE)
    a, b = _findings(store)
    assert (a.subject, a.status, b.subject, b.status) == ("streak-a", "resolved", "streak-b", "open")
    assert first.opened == [a.id, b.id] and first.resolved == [a.id]
    assert _actions(store, a.id) == ["opened", "resolved"]
    STATE["failing"] = [("streak-a", True), ("streak-b", True)]
    second = engine.evaluate(store, rules, T0 + timedelta(hours=2), zone=ZONE)
    assert second.reopened == [] and second.resolved == [b.id]
    assert [f.status for f in _findings(store)] == ["resolved", "resolved"]
    assert _actions(store, a.id) == ["opened", "resolved"]  # never reopened by being judged again
    with store.session() as s:
        reason = s.scalars(
            select(FindingEvent.reason).where(
                FindingEvent.finding_id == b.id, FindingEvent.action == "resolved"
            )
        ).one()
    assert reason == engine.ENDED_REASON


def test_freshness_finds_every_silent_spell_of_the_look_back_judged_once_or_day_by_day(store_url, tmp_path):
    """Spells the evidence later broke are findings about their period, whether the days are judged one by one
    or all at once at the end; a silence going on is open."""
    from ops_watch.areas.evidence.checks import FreshnessParams
    from ops_watch.store.db import open_store

    rules = _rules(("inv-fresh", "evidence_freshness", FreshnessParams(kind="inventory", max_age="24h")))
    day = datetime(2026, 11, 1, 10, 0, tzinfo=ZONE).astimezone(UTC)
    produced = [day, day + timedelta(days=3), day + timedelta(days=3, hours=5), day + timedelta(days=6)]
    stores = []
    for name in ("once", "daily"):
        url = store_url if name == "once" else f"sqlite:///{tmp_path / 'daily.db'}"
        store = open_store(url)
        for at in produced:
            _batch(store, "inventory", at)
        stores.append(store)
    once, daily = stores
    engine.evaluate(once, rules, datetime(2026, 11, 8, 23, 0, tzinfo=ZONE), zone=ZONE)
    engine.replay(daily, rules, date(2026, 11, 1), date(2026, 11, 8), zone=ZONE)

    def spells(store) -> list[tuple[datetime | None, str, str | None]]:
        return [(f.period_start, f.status, f.evidence.get("resumed")) for f in _findings(store)]

    expected = [
        (produced[0], "resolved", produced[1].isoformat()),  # Nov 1 10:00 to Nov 4 10:00
        (produced[2], "resolved", produced[3].isoformat()),  # Nov 4 15:00 to Nov 7 10:00
        (produced[3], "open", None),  # since Nov 7 10:00, still silent at the end of Nov 8
    ]
    assert spells(once) == expected
    assert spells(daily) == expected
    assert "曾 72.0 小时没有新证据" in _findings(once)[0].summary


def test_dry_run_changes_nothing(store):
    STATE["failing"] = ["vm-6"]
    result = engine.evaluate(store, _toggle_rules(), T0, zone=ZONE, dry_run=True)
    assert len(result.opened) == 1
    assert _findings(store) == []


def _batch(
    store, kind: str, at: datetime, ok: int = 10, bad: int = 0, status: str = "accepted", name: str = "f.csv"
):
    with store.session() as s:
        s.add(
            EvidenceBatch(
                kind=kind,
                source=name,
                sha256=None,
                received_at=at,
                status=status,
                rows_total=ok + bad,
                rows_ok=ok,
                rows_bad=bad,
                rows_duplicate=0,
                detail="",
                stored_path="",
            )
        )


def test_freshness_opens_resolves_and_a_new_silent_spell_is_a_new_finding(store):
    from ops_watch.areas.evidence.checks import FreshnessParams

    rules = _rules(("inv-fresh", "evidence_freshness", FreshnessParams(kind="inventory", max_age="24h")))
    engine.evaluate(store, rules, T0, zone=ZONE)
    [never] = _findings(store)
    assert never.subject == "inventory" and "尚未收到" in never.summary
    _batch(store, "inventory", T0 + timedelta(hours=1))
    _batch(
        store, "inventory", T0 + timedelta(hours=2), ok=0, bad=5, status="rejected"
    )  # no usable rows: not fresh
    engine.evaluate(store, rules, T0 + timedelta(hours=3), zone=ZONE)
    assert _findings(store)[0].status == "resolved"
    engine.evaluate(store, rules, T0 + timedelta(hours=26), zone=ZONE)
    stale = _findings(store)[1]
    assert stale.status == "open" and stale.period_start == T0 + timedelta(hours=1)
    assert stale.evidence["age_hours"] == 25.0 and stale.evidence["max_age_hours"] == 24.0
    assert "25.0 小时" in stale.summary and "2026-11-02 09:00" in stale.summary  # shown in site time
    _batch(store, "inventory", T0 + timedelta(hours=27))
    engine.evaluate(store, rules, T0 + timedelta(hours=28), zone=ZONE)
    assert [f.status for f in _findings(store)] == ["resolved", "resolved"]


def test_freshness_sees_only_evidence_up_to_the_evaluation_time(store):
    from ops_watch.areas.evidence.checks import FreshnessParams

    rules = _rules(("inv-fresh", "evidence_freshness", FreshnessParams(kind="inventory", max_age="24h")))
    _batch(store, "inventory", T0 + timedelta(days=10))  # arrives later than the evaluation below
    engine.evaluate(store, rules, T0, zone=ZONE)
    assert _findings(store)[0].status == "open"


def test_refused_rows_open_one_finding_per_file_for_the_window(store):
    from ops_watch.areas.evidence.checks import RefusedParams

    rules = _rules(("refused", "evidence_refused", RefusedParams(within="7d")))
    _batch(store, "inventory", T0, ok=20, bad=2, status="partial", name="inv.csv")
    _batch(store, "staff", T0, ok=0, bad=0, status="rejected", name="staff.xlsx")
    _batch(store, "staff", T0, ok=5, name="ok.csv")
    engine.evaluate(store, rules, T0 + timedelta(hours=1), zone=ZONE)
    subjects = sorted(f.subject.split("#")[0] for f in _findings(store))
    assert subjects == ["inventory/inv.csv", "staff/staff.xlsx"]
    engine.evaluate(store, rules, T0 + timedelta(days=8), zone=ZONE)
    assert {f.status for f in _findings(store)} == {"resolved"}


def test_replay_evaluates_each_site_day_as_it_would_have_live(store):
    from ops_watch.areas.evidence.checks import FreshnessParams

    rules = _rules(("inv-fresh", "evidence_freshness", FreshnessParams(kind="inventory", max_age="48h")))
    # Evidence on Nov 1 10:00 (site time) only: 38 h old at the end of Nov 2, 62 h at the end of Nov 3.
    _batch(store, "inventory", datetime(2026, 11, 1, 10, 0, tzinfo=ZONE).astimezone(UTC))
    results = engine.replay(store, rules, date(2026, 11, 1), date(2026, 11, 5), zone=ZONE)
    assert len(results) == 5
    opened_on = [r.at.astimezone(ZONE).date() for r in results if r.opened]
    assert opened_on == [date(2026, 11, 3)]
    [f] = _findings(store)
    assert f.first_seen.astimezone(ZONE).date() == date(2026, 11, 3)
    assert f.last_seen.astimezone(ZONE).date() == date(2026, 11, 5)
    with pytest.raises(ValueError, match="before"):
        engine.replay(store, rules, date(2026, 11, 5), date(2026, 11, 1), zone=ZONE)


def test_a_rejected_file_is_a_finding_with_its_reason_in_the_users_language(store, config_file, tmp_path):
    from ops_watch.areas.evidence.checks import RefusedParams
    from ops_watch.config import load_config
    from ops_watch.ingest import ingest_file

    cfg = load_config(config_file())
    bad = tmp_path / "inventory.csv"
    bad.write_text("资源ID,云平台\nJWY-1,警务云\n", encoding="utf-8")  # required columns missing
    result = ingest_file(store, cfg, "inventory", bad)
    assert result.status == "rejected"
    rules = _rules(("refused", "evidence_refused", RefusedParams()))
    at = datetime.now(UTC)
    engine.evaluate(store, rules, at, zone=ZONE)
    engine.evaluate(store, rules, at, zone=ZONE, language="en")
    [f] = _findings(store)
    assert f.evidence["reason"] and "{" not in f.evidence["reason"]  # the reason, not the batch's JSON detail
    assert f.evidence["status"] == "rejected" and "rejected:" in f.summary
    engine.evaluate(store, rules, at, zone=ZONE, language="zh")
    [f] = _findings(store)
    assert "被拒收：" in f.summary and "{" not in f.summary and "缺少" in f.summary
