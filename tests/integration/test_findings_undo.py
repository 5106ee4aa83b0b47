"""Taking decisions back: a silence by matcher ended early, one finding's silence ended, an acknowledgement
taken back; and the area filter of the findings list. On SQLite and PostgreSQL (`store`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from listed_check import listed_check, statuses
from sqlalchemy import select

from ops_watch import plugins
from ops_watch.findings import engine, silences
from ops_watch.findings.listing import list_query
from ops_watch.store import Store
from ops_watch.store.schema import Finding, FindingEvent

ZONE = UTC
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
SUBJECTS, ruleset = listed_check("test_undo_subjects")  # SUBJECTS: what the check reports this evaluation

plugins.load()


def ids(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {f.subject: f.id for f in s.scalars(select(Finding))}


def last_event(store: Store, finding_id: int) -> FindingEvent:
    with store.session() as s:
        event = s.scalars(
            select(FindingEvent).where(FindingEvent.finding_id == finding_id).order_by(FindingEvent.id.desc())
        ).first()
        assert event is not None
        s.expunge(event)
        return event


def test_expire_opens_what_the_silence_held_at_once_and_only_that(store: Store) -> None:
    rules = ruleset()
    SUBJECTS[:] = ["JWY-VM-0001", "JWY-VM-0002", "XYD-VM-0001"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    own = ids(store)["JWY-VM-0002"]
    engine.silence(store, own, T0 + timedelta(days=2), "李工", "重启中", at=T0)  # its own silence: stays
    silence, count = silences.create(
        store, silences.Matchers(subject="JWY-*"), T0 + WEEK, "张科长", "迁移中", at=T0
    )
    assert count == 1  # the one under its own silence is not open, so not taken over
    assert statuses(store) == {"JWY-VM-0001": "silenced", "JWY-VM-0002": "silenced", "XYD-VM-0001": "open"}

    at = T0 + timedelta(hours=3)
    assert silences.expire(store, silence.id, "王处长", "迁移提前完成", at=at) == 1
    assert statuses(store) == {"JWY-VM-0001": "open", "JWY-VM-0002": "silenced", "XYD-VM-0001": "open"}
    event = last_event(store, ids(store)["JWY-VM-0001"])
    assert (event.action, event.actor) == ("unsilenced", "王处长")
    assert event.reason == f"silence #{silence.id} ended early: 迁移提前完成"
    # The next evaluation leaves it open (it still holds): the silence is over, not silencing again.
    engine.evaluate(store, rules, at + timedelta(hours=1), zone=ZONE)
    assert statuses(store)["JWY-VM-0001"] == "open"

    with pytest.raises(silences.SilenceError, match=rf"silence #{silence.id} has already ended"):
        silences.expire(store, silence.id, "王处长", "again", at=at + timedelta(hours=2))
    with pytest.raises(silences.SilenceError, match="no silence #999"):
        silences.expire(store, 999, "王处长", "x", at=at)


def test_expire_leaves_findings_another_silence_matches_silenced(store: Store) -> None:
    rules = ruleset()
    SUBJECTS[:] = ["JWY-VM-0001"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    first, _ = silences.create(store, silences.Matchers(rule="idle"), T0 + WEEK, "a", "一", at=T0)
    second, _ = silences.create(
        store, silences.Matchers(subject="JWY-*"), T0 + 2 * WEEK, "b", "二", at=T0 + timedelta(hours=1)
    )
    silences.expire(store, first.id, "c", "提前结束", at=T0 + timedelta(hours=2))
    assert statuses(store) == {"JWY-VM-0001": "silenced"}
    event = last_event(store, ids(store)["JWY-VM-0001"])
    assert (event.action, event.reason) == ("silenced", f"silence #{second.id}: 二")


def test_unsilence_ends_one_findings_own_silence(store: Store) -> None:
    rules = ruleset()
    SUBJECTS[:] = ["JWY-VM-0001", "XYD-VM-0001"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    one, other = ids(store)["JWY-VM-0001"], ids(store)["XYD-VM-0001"]
    engine.silence(store, one, T0 + WEEK, "李工", "维护窗口", at=T0)
    silences.unsilence(store, one, "张科长", "维护取消", at=T0 + timedelta(hours=1))
    assert statuses(store)["JWY-VM-0001"] == "open"
    event = last_event(store, one)
    assert (event.action, event.actor, event.reason) == ("unsilenced", "张科长", "维护取消")

    with pytest.raises(silences.SilenceError, match=f"finding {other} is open, not silenced"):
        silences.unsilence(store, other, "a", "b")
    with pytest.raises(silences.SilenceError, match="no finding with id 99999"):
        silences.unsilence(store, 99999, "a", "b")


def test_unsilence_of_a_finding_a_matcher_silence_holds_names_that_silence(store: Store) -> None:
    rules = ruleset()
    SUBJECTS[:] = ["JWY-VM-0001"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    silence, _ = silences.create(store, silences.Matchers(area="resources"), T0 + WEEK, "a", "b", at=T0)
    with pytest.raises(silences.SilenceError) as info:
        silences.unsilence(store, ids(store)["JWY-VM-0001"], "c", "d", at=T0 + timedelta(hours=1))
    assert f"silence #{silence.id} (area=resources)" in str(info.value)
    assert f"findings silence --expire {silence.id}" in str(info.value)
    assert statuses(store) == {"JWY-VM-0001": "silenced"}


def test_unacknowledge_opens_and_records_who_and_why(store: Store) -> None:
    rules = ruleset()
    SUBJECTS[:] = ["JWY-VM-0001"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    fid = ids(store)["JWY-VM-0001"]
    with pytest.raises(engine.FindingError, match=f"finding {fid} is open, not acknowledged"):
        engine.unacknowledge(store, fid, "a", "b")
    engine.acknowledge(store, fid, "李工", "已整改", at=T0)
    engine.unacknowledge(store, fid, "张科长", "整改未完成", at=T0 + timedelta(hours=1))
    assert statuses(store) == {"JWY-VM-0001": "open"}
    event = last_event(store, fid)
    assert (event.action, event.actor, event.reason) == ("unacknowledged", "张科长", "整改未完成")


def test_list_query_filters_by_area(store: Store) -> None:
    rules = ruleset()
    SUBJECTS[:] = ["JWY-VM-0001"]
    engine.evaluate(store, rules, T0, zone=ZONE)
    with store.session() as s:
        assert [f.subject for f in s.scalars(list_query("all", area="resources"))] == ["JWY-VM-0001"]
        assert list(s.scalars(list_query("all", area="staffing"))) == []
        assert len(list(s.scalars(list_query("all")))) == 1
