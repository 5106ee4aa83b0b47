"""The staffing checks on hand-made sheets and door events: the presence model (paired and entry-only readers,
night shifts across midnight, late arrivals), day types (a public holiday, a make-up workday), every check's
finding and its boundaries, and the lifecycle of shift findings. On SQLite and PostgreSQL (`store`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.staffing import checks
from ops_watch.areas.staffing.kind_door import dedupe_key
from ops_watch.areas.staffing.presence import build_view, shift_rows
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.registry import CheckContext, FindingDraft, Params
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.store import Store
from ops_watch.store.schema import DoorEvent, HandoverShift, StaffMember

ZONE = ZoneInfo("Asia/Shanghai")
CONTRACT_TOML = """
[staffing]
grace_minutes = 15
onsite_doors = ["机房门", "值班室"]

[[staffing.shifts]]
name = "白班"
start = "08:00"
end = "20:00"
days = "all"
min_headcount = { workday = 2, rest_day = 1, holiday = 1 }
required_roles = ["值班长"]
required_certificates = ["CISP"]

[[staffing.shifts]]
name = "夜班"
start = "20:00"
end = "08:00"
days = "all"
min_headcount = 1
"""

plugins.load()


def contract(text: str = CONTRACT_TOML) -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == []
    return out


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def person(
    store: Store,
    pid: str,
    name: str,
    *,
    role: str = "工程师",
    certs: Iterable[tuple[str, str | None]] = (),
    active_from: date = date(2020, 1, 1),
    active_to: date | None = None,
) -> None:
    with store.session() as s:
        s.add(
            StaffMember(
                person_id=pid,
                name=name,
                card_numbers=[f"C{pid}"],
                role=role,
                employer="运维公司",
                active_from=active_from,
                active_to=active_to,
                certificates=[{"name": n, "expires": e} for n, e in certs],
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def team(store: Store) -> None:
    person(store, "A", "王建国", role="值班长", certs=[("CISP", "2027-06-30")])
    person(store, "B", "李娜")
    person(store, "C", "张伟")
    person(store, "D", "刘洋")


_serial = iter(range(1, 10**6))


def badge(
    store: Store,
    when: str,
    pid: str = "",
    *,
    direction: str = "in",
    door: str = "机房门",
    result: str = "granted",
    card: str | None = None,
) -> None:
    at = local(when).astimezone(UTC)
    card_no = card if card is not None else (f"C{pid}" if pid else "")
    serial = str(next(_serial))
    with store.session() as s:
        s.add(
            DoorEvent(
                at=at,
                person_id=pid,
                name="",
                card_no=card_no,
                door=door,
                direction=direction,
                result=result,
                device="dev",
                serial_no=serial,
                dedupe_key=dedupe_key(at, pid, card_no, door, "dev", serial),
            )
        )


def work(store: Store, pid: str, start: str, end: str) -> None:
    """In at the paired reader before `start`, out after `end`."""
    badge(store, start, pid, direction="in")
    badge(store, end, pid, direction="out")


def sheet(
    store: Store,
    day: str,
    shift: str,
    on_duty: list[str],
    handover: str | None = None,
    giver: str = "",
    taker: str = "",
) -> None:
    with store.session() as s:
        s.add(
            HandoverShift(
                date=date.fromisoformat(day),
                shift=shift,
                on_duty=on_duty,
                handover_at=local(handover).astimezone(UTC) if handover else None,
                handed_over_by=giver,
                taken_over_by=taker,
                notes="",
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def run(
    store: Store,
    fn: Callable[..., Iterable[FindingDraft]],
    at: str,
    params: Params | None = None,
    text: str = CONTRACT_TOML,
) -> dict[str, FindingDraft]:
    spec = next(c for c in checks.__dict__.values() if c is fn)
    from ops_watch.findings.registry import CHECKS

    name = next(n for n, c in CHECKS.items() if c.fn is spec)
    params = params or CHECKS[name].params()
    with store.session() as s:
        ctx = CheckContext(session=s, at=local(at).astimezone(UTC), zone=ZONE, contract=contract(text))
        return {d.subject: d for d in fn(ctx, params)}


def view(store: Store, first: str, last: str, at: str, text: str = CONTRACT_TOML) -> Any:
    with store.session() as s:
        return build_view(
            s,
            contract(text),
            ZONE,
            local(at).astimezone(UTC),
            date.fromisoformat(first),
            date.fromisoformat(last),
        )


def a_normal_day(store: Store, day: str = "2026-11-02", next_day: str = "2026-11-03") -> None:
    """Monday 2026-11-02: A and B on the day shift, C on the night; handovers in order."""
    work(store, "A", f"{day} 07:48", f"{day} 20:06")
    work(store, "B", f"{day} 07:52", f"{day} 20:03")
    work(store, "C", f"{day} 19:41", f"{next_day} 08:09")
    work(store, "D", f"{next_day} 07:50", f"{next_day} 20:05")
    sheet(store, day, "白班", ["王建国", "李娜"], f"{day} 20:00", "王建国", "张伟")
    sheet(store, day, "夜班", ["张伟"], f"{day} 08:00", "张伟", "刘洋")  # "08:00": read as the next morning


# --- the presence model --------------------------------------------------------------------------------


def test_a_normal_day_and_night_raise_nothing_and_night_handover_reads_next_morning(store: Store) -> None:
    team(store)
    a_normal_day(store)
    at = "2026-11-03 12:00"
    for fn in (
        checks.ghost_on_duty,
        checks.handover_unverified,
        checks.unregistered_signer,
        checks.unknown_entry,
        checks.off_shift_entry,
        checks.expired_qualification,
    ):
        assert run(store, fn, at) == {}, fn.__name__
    v = view(store, "2026-11-02", "2026-11-02", at)
    night = next(s for s in v.shifts if s.instance.shift == "夜班")
    assert night.instance.start == local("2026-11-02 20:00") and night.instance.end == local(
        "2026-11-03 08:00"
    )
    assert [p.person_id for p in night.onsite] == ["C"] and night.handover_verified
    assert night.handover_at == local("2026-11-03 08:00")
    day = next(s for s in v.shifts if s.instance.shift == "白班")
    assert sorted(p.person_id for p in day.onsite) == ["A", "B"]  # C arriving at 19:41 is the night's


def test_a_night_worker_leaving_at_8_counts_for_the_night_not_the_next_day(store: Store) -> None:
    team(store)
    a_normal_day(store)
    sheet(store, "2026-11-03", "白班", ["刘洋", "张伟"], "2026-11-03 20:00", "刘洋", "李娜")
    v = view(store, "2026-11-03", "2026-11-03", "2026-11-04 12:00")
    day = next(s for s in v.shifts if s.instance.shift == "白班")
    # C is listed but only leaves the night at 08:09: seen (not a ghost), yet not on site for the day.
    assert [p.person_id for p in day.onsite] == ["D"] and day.ghosts == []
    found = run(store, checks.understaffed_shift, "2026-11-04 12:00")
    assert "门禁证实在岗 1 人，合同要求至少 2 人" in found["2026-11-03 白班"].summary


def test_a_late_arrival_is_on_site_and_shown_late_not_a_ghost(store: Store) -> None:
    team(store)
    a_normal_day(store)
    with store.session() as s:
        s.execute(delete(DoorEvent).where(DoorEvent.person_id == "B"))
    work(store, "B", "2026-11-02 09:41", "2026-11-02 20:03")
    assert run(store, checks.ghost_on_duty, "2026-11-03 12:00") == {}
    v = view(store, "2026-11-02", "2026-11-02", "2026-11-03 12:00")
    day = next(s for s in v.shifts if s.instance.shift == "白班")
    assert day.late == {"B": local("2026-11-02 09:41")}
    assert sorted(p.person_id for p in day.onsite) == ["A", "B"]
    row = next(r for r in shift_rows(v) if r["shift"] == "白班")
    assert row["late"] == "李娜 09:41" and row["status"] == "OK"


def test_an_entry_only_reader_proves_presence_to_the_end_of_the_shift(store: Store) -> None:
    team(store)
    badge(store, "2026-11-02 07:55", "A", direction="", door="值班室")
    badge(store, "2026-11-02 08:02", "B", direction="", door="值班室")
    badge(store, "2026-11-02 19:50", "C", direction="", door="值班室")
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜"], "2026-11-02 20:00", "王建国", "张伟")
    at = "2026-11-03 12:00"
    assert run(store, checks.ghost_on_duty, at) == {}
    assert run(store, checks.handover_unverified, at) == {}  # A present until 20:00, C from 19:50
    v = view(store, "2026-11-02", "2026-11-02", at)
    day = next(s for s in v.shifts if s.instance.shift == "白班")
    assert sorted(p.person_id for p in day.onsite) == ["A", "B"]
    assert [s.how for s in v.stays["A"]] == ["until_shift_end"]
    assert v.stays["A"][0].end == local("2026-11-02 20:00")


def test_an_exit_ends_the_stay_before_the_shift_does(store: Store) -> None:
    team(store)
    work(store, "A", "2026-11-02 07:50", "2026-11-02 11:00")  # left at 11:00: 3 h of 12
    work(store, "B", "2026-11-02 07:50", "2026-11-02 20:05")
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜"], "2026-11-02 20:00", "王建国", "李娜")
    found = run(store, checks.understaffed_shift, "2026-11-03 12:00")
    summary = found["2026-11-02 白班"].summary
    assert "门禁证实在岗 1 人" in summary and "没有「值班长」" in summary
    assert "CISP" not in summary  # headcount is headcount: certificates are expired_qualification's
    unverified = run(store, checks.handover_unverified, "2026-11-03 12:00")["2026-11-02 白班"]
    assert "王建国（A）" in unverified.summary and unverified.evidence["not_on_site"] == ["王建国（A）"]
    assert unverified.evidence["events_nearby"]["王建国（A）"]  # the exit at 11:00 is shown


# --- day types -------------------------------------------------------------------------------------------


WORKDAY_ONLY = CONTRACT_TOML.replace(
    'days = "all"\nmin_headcount = { workday = 2', 'days = "workdays"\nmin_headcount = { workday = 2', 1
)


def test_holiday_and_make_up_workday(store: Store) -> None:
    """2026-10-01 is National Day (holiday), 2026-10-10 a Saturday make-up workday (调休), 10-11 a Sunday."""
    team(store)
    found = run(store, checks.missing_handover, "2026-10-12 12:00", text=WORKDAY_ONLY)
    day_shifts = {k for k in found if k.endswith("白班")}
    assert "2026-10-10 白班" in day_shifts  # a Saturday, but a workday
    assert not {"2026-10-01 白班", "2026-10-07 白班", "2026-10-11 白班"} & day_shifts
    assert "2026-10-01 夜班" in found and "（法定节假日）" in found["2026-10-01 夜班"].summary
    assert "（工作日）" in found["2026-10-10 白班"].summary
    # The make-up Saturday needs the workday minimum (2), a holiday 1.
    work(store, "A", "2026-10-10 07:50", "2026-10-10 20:05")
    sheet(store, "2026-10-10", "白班", ["王建国"], "2026-10-10 20:00", "王建国", "王建国")
    assert (
        "合同要求至少 2 人"
        in run(store, checks.understaffed_shift, "2026-10-12 12:00", text=WORKDAY_ONLY)[
            "2026-10-10 白班"
        ].summary
    )


def test_an_uncovered_year_falls_back_to_weekdays_with_one_warning(store: Store) -> None:
    found = run(store, checks.calendar_uncovered, "2031-03-20 12:00")  # judged: 2031-02-13 to 03-20
    assert list(found) == ["calendar 2031"] and found["calendar 2031"].evidence["days"] == 36
    assert "chinesecalendar" in found["calendar 2031"].summary
    v = view(store, "2031-03-16", "2031-03-16", "2031-03-17 12:00")  # a Sunday, typed by the fallback
    assert {s.instance.day_type for s in v.shifts} == {"rest_day"} and not v.shifts[0].instance.covered
    # The contract gives the days itself: covered, no warning.
    start = date(2031, 2, 13)
    overrides = "\n".join(f'{start + timedelta(days=k)} = "workday"' for k in range(36))
    overridden = CONTRACT_TOML.replace(
        "[[staffing.shifts]]", f"[staffing.calendar_overrides]\n{overrides}\n\n[[staffing.shifts]]", 1
    )
    assert run(store, checks.calendar_uncovered, "2031-03-20 12:00", text=overridden) == {}


# --- each check --------------------------------------------------------------------------------------------


def test_a_ghost_is_found_with_the_sheet_and_resolved_by_a_late_door_export(store: Store) -> None:
    team(store)
    a_normal_day(store)
    sheet(store, "2026-11-03", "白班", ["刘洋", "李娜"], "2026-11-03 20:00", "刘洋", "刘洋")
    found = run(store, checks.ghost_on_duty, "2026-11-04 12:00")
    ghost = found["2026-11-03 白班 B"]
    assert "李娜（B）" in ghost.summary and ghost.evidence["sheet"]["on_duty"] == ["刘洋", "李娜"]
    assert ghost.period_start == local("2026-11-03 08:00") and ghost.period_end == local("2026-11-03 20:00")
    assert run(store, checks.ghost_on_duty, "2026-11-03 12:00") == {}  # the shift is still running

    rules = ruleset("ghost_on_duty")
    first = engine.evaluate(store, rules, local("2026-11-04 12:00"), zone=ZONE)
    assert len(first.opened) == 1
    badge(store, "2026-11-03 13:10", "B", direction="", door="值班室")  # the duty room's export comes late
    second = engine.evaluate(store, rules, local("2026-11-04 13:00"), zone=ZONE)
    assert second.resolved == first.opened


def test_old_shift_findings_stay_when_the_window_moves_past_them(store: Store) -> None:
    team(store)
    sheet(store, "2026-11-03", "白班", ["李娜"], "2026-11-03 20:00", "李娜", "李娜")
    rules = ruleset("ghost_on_duty", 'lookback = "3d"')
    first = engine.evaluate(store, rules, local("2026-11-04 12:00"), zone=ZONE)
    later = engine.evaluate(store, rules, local("2026-11-20 12:00"), zone=ZONE)
    assert len(first.opened) == 1 and later.resolved == [] and later.opened == []


def test_missing_handover_waits_for_the_due_time(store: Store) -> None:
    team(store)
    params = checks.MissingHandoverParams(due=timedelta(hours=12))
    assert "2026-11-02 白班" not in run(store, checks.missing_handover, "2026-11-03 07:59", params)
    assert "2026-11-02 白班" in run(store, checks.missing_handover, "2026-11-03 08:00", params)


def test_a_sheet_row_for_a_shift_the_contract_does_not_have(store: Store) -> None:
    team(store)
    sheet(store, "2026-11-02", "中班", ["李娜"])
    found = run(store, checks.handover_unknown_shift, "2026-11-03 12:00")
    assert "合同没有名为「中班」的班次（合同班次：白班、夜班）" in found["2026-11-02 中班"].summary
    found = run(store, checks.handover_unknown_shift, "2026-10-12 12:00", text=WORKDAY_ONLY)
    assert found == {}
    sheet(store, "2026-10-11", "白班", ["李娜"])  # a Sunday: the workday-only shift does not run
    found = run(store, checks.handover_unknown_shift, "2026-10-12 12:00", text=WORKDAY_ONLY)
    assert "不在这一天（2026-10-11）安排" in found["2026-10-11 白班"].summary


def test_unknown_entry_is_per_card_and_day_and_covers_people_who_left(store: Store) -> None:
    team(store)
    person(store, "E", "赵磊", active_to=date(2026, 10, 15))
    badge(store, "2026-11-02 02:13", card="9999", door="值班室", direction="")
    badge(store, "2026-11-02 02:40", card="9999", door="机房门")
    badge(store, "2026-11-02 03:00", card="9999", door="机房门", direction="out")  # an exit is no entry
    badge(store, "2026-11-02 04:00", card="8888", result="denied")  # refused: not an entry
    badge(store, "2026-11-02 05:00", card="7777", door="大厅")  # not an on-site door
    badge(store, "2026-11-02 14:20", "E")
    found = run(store, checks.unknown_entry, "2026-11-03 12:00")
    assert set(found) == {"card:9999 2026-11-02", "E 2026-11-02"}
    assert len(found["card:9999 2026-11-02"].evidence["events"]) == 2
    assert "已离职人员 赵磊（E）（名册离职日期 2026-10-15）" in found["E 2026-11-02"].summary
    assert run(store, checks.off_shift_entry, "2026-11-03 12:00") == {}  # never both


def test_off_shift_entry(store: Store) -> None:
    team(store)
    person(store, "M", "徐刚", role="项目经理")
    a_normal_day(store)
    badge(store, "2026-11-02 22:40", "D")  # on no shift that night (C is)
    badge(store, "2026-11-02 07:05", "B")  # 55 minutes before the shift: within the margin
    badge(store, "2026-11-02 23:00", "M")  # exempt role
    badge(store, "2026-11-04 23:00", "D")  # a night whose sheet has not arrived: not judged
    params = checks.OffShiftParams(exempt_roles=["项目经理"])
    found = run(store, checks.off_shift_entry, "2026-11-05 12:00", params)
    assert list(found) == ["D 2026-11-02"] and "22:40" in found["D 2026-11-02"].summary


@pytest.mark.parametrize("n, spacing, bursts", [(5, 120, 1), (4, 60, 0), (5, 160, 0), (12, 60, 1)])
def test_access_denied_burst_boundaries(store: Store, n: int, spacing: int, bursts: int) -> None:
    start = local("2026-11-05 23:10")
    for k in range(n):
        badge(
            store,
            (start + timedelta(seconds=spacing * k)).replace(tzinfo=None).isoformat(),
            card="1",
            result="denied",
        )
    found = run(
        store,
        checks.access_denied_burst,
        "2026-11-06 12:00",
        checks.DeniedBurstParams(count=5, within=timedelta(minutes=10)),
    )
    assert len(found) == bursts
    if bursts:
        assert next(iter(found.values())).evidence["count"] == n


def test_two_bursts_at_one_door_are_two_findings(store: Store) -> None:
    for base in ("2026-11-05 23:10", "2026-11-06 01:00"):
        for k in range(5):
            badge(
                store,
                (local(base) + timedelta(minutes=k)).replace(tzinfo=None).isoformat(),
                card="1",
                result="denied",
            )
    found = run(store, checks.access_denied_burst, "2026-11-06 12:00")
    assert set(found) == {"机房门 2026-11-05 23:10", "机房门 2026-11-06 01:00"}


def test_expired_qualification_is_one_finding_per_person_and_certificate(store: Store) -> None:
    team(store)
    person(store, "H", "黄敏", certs=[("CISP", "2026-10-31")])
    for day in ("2026-11-02", "2026-11-03"):
        work(store, "A", f"{day} 07:50", f"{day} 20:05")
        work(store, "H", f"{day} 07:50", f"{day} 20:05")
        sheet(store, day, "白班", ["王建国", "黄敏"], f"{day} 20:00", "王建国", "王建国")
    sheet(
        store, "2026-10-30", "白班", ["王建国", "黄敏"], "2026-10-30 20:00", "王建国", "王建国"
    )  # still valid
    found = run(store, checks.expired_qualification, "2026-11-04 12:00")
    assert list(found) == ["H CISP"]
    assert found["H CISP"].evidence["shift_count"] == 2 and "2026-10-31" in found["H CISP"].summary
    assert "2026-11-02 白班" not in run(store, checks.understaffed_shift, "2026-11-04 12:00")  # A holds it


def test_unregistered_ambiguous_and_inactive_signers(store: Store) -> None:
    team(store)
    person(store, "C2", "张伟")  # a second 张伟
    person(store, "E", "赵磊", active_to=date(2026, 10, 15))
    sheet(store, "2026-11-02", "白班", ["王建国", "李明", "张伟", "赵磊"], "2026-11-02 20:00", "王建国", "C2")
    found = run(store, checks.unregistered_signer, "2026-11-03 12:00")
    names = {n["text"]: n for n in found["2026-11-02 白班"].evidence["names"]}
    assert names["李明"]["problem"] == "unknown" and names["赵磊"]["problem"] == "inactive"
    assert names["张伟"]["problem"] == "ambiguous" and set(names["张伟"]["candidates"]) == {"C", "C2"}
    assert "C2" not in names  # an id is never ambiguous


def test_the_staffing_rate_caps_each_shift_at_its_minimum(store: Store) -> None:
    team(store)
    a_normal_day(store)
    work(store, "D", "2026-11-02 07:50", "2026-11-02 20:05")  # a third person on the day: no credit
    with store.session() as s:
        s.execute(delete(HandoverShift).where(HandoverShift.shift == "白班"))
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜", "刘洋"], "2026-11-02 20:00", "王建国", "张伟")
    from ops_watch.areas.staffing.presence import rates

    v = view(store, "2026-11-02", "2026-11-03", "2026-11-03 21:00")
    (total,) = rates(v, "all")
    # 11-02 day 2/2 (3 on site, capped), 11-02 night 1/1, 11-03 day: D only (not listed: no sheet row,
    # counted) 1/2; 11-03 night not ended.
    assert (total.required, total.evidenced) == (5, 4)
    by_shift = {r.label: (r.required, r.evidenced) for r in rates(v, "shift")}
    assert by_shift["2026-11-03 白班"] == (2, 1)


def ruleset(check_name: str, params: str = "") -> RuleSet:
    problems: list[str] = []
    text = f'[[rule]]\nid = "r"\ncheck = "{check_name}"\nseverity = "warning"\n'
    if params:
        text += f"[rule.params]\n{params}\n"
    rules = parse_rules(tomllib.loads(text), "staffing.toml", problems)
    assert problems == []
    return RuleSet(rules=rules, contract=contract())


# --- presence through a building: [staffing.zones] -------------------------------------------------------

ZONED = CONTRACT_TOML.replace(
    'onsite_doors = ["机房门", "值班室"]',
    '[staffing.zones]\nperimeter = ["大楼入口"]\ninner = ["机房门", "值班室"]',
)


def a_day_through_the_building(store: Store) -> None:
    """A and B enter the building in the morning, go in and out of the machine room all day (B leaves it at
    noon and never badges back in), and leave by the entrance in the evening; C works the night."""
    for pid, arrive, leave in (("A", "07:48", "20:06"), ("B", "07:52", "20:03")):
        badge(store, f"2026-11-02 {arrive}", pid, door="大楼入口", direction="in")
        badge(store, f"2026-11-02 {leave}", pid, door="大楼入口", direction="out")
    badge(store, "2026-11-02 08:10", "A", door="机房门", direction="in")
    badge(store, "2026-11-02 11:30", "A", door="机房门", direction="out")
    badge(store, "2026-11-02 14:00", "A", door="机房门", direction="in")
    badge(store, "2026-11-02 17:40", "A", door="机房门", direction="out")
    badge(store, "2026-11-02 08:20", "B", door="机房门", direction="in")
    badge(store, "2026-11-02 12:00", "B", door="机房门", direction="out")
    badge(store, "2026-11-02 19:40", "C", door="大楼入口", direction="in")
    badge(store, "2026-11-03 08:09", "C", door="大楼入口", direction="out")
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜"], "2026-11-02 20:00", "王建国", "张伟")
    badge(store, "2026-11-03 07:50", "D", door="大楼入口", direction="in")
    sheet(store, "2026-11-02", "夜班", ["张伟"], "2026-11-03 08:00", "张伟", "刘洋")


def test_zones_an_inner_door_never_ends_the_stay_a_correct_day_is_not_understaffed(store: Store) -> None:
    team(store)
    a_day_through_the_building(store)
    at = "2026-11-03 12:00"
    for fn in (
        checks.understaffed_shift,
        checks.handover_unverified,
        checks.ghost_on_duty,
        checks.off_shift_entry,
    ):
        assert {k: v for k, v in run(store, fn, at, text=ZONED).items() if k.startswith("2026-11-02")} == {}
    v = view(store, "2026-11-02", "2026-11-02", at, text=ZONED)
    assert [(s.how, s.start, s.end) for s in v.stays["B"]] == [
        ("paired", local("2026-11-02 07:52"), local("2026-11-02 20:03"))
    ]
    assert len(v.stays["A"][0].badges) == 6  # the machine room's events are evidence of the one stay
    # The same events judged door by door (no zones, every door on site): B's noon exit from the machine room
    # ends the stay; the evening exit at the entrance is a moment; the day is understaffed.
    no_zones = CONTRACT_TOML.replace('onsite_doors = ["机房门", "值班室"]', "onsite_doors = []")
    v = view(store, "2026-11-02", "2026-11-02", at, text=no_zones)
    assert v.stays["B"][0].end == local("2026-11-02 12:00")
    assert "2026-11-02 白班" in run(store, checks.understaffed_shift, at, text=no_zones)


def test_zones_entry_only_entrance_lasts_to_the_shift_end_and_inner_entries_are_judged(store: Store) -> None:
    team(store)
    badge(store, "2026-11-02 07:55", "A", door="大楼入口", direction="")  # an entry-only reader
    badge(store, "2026-11-02 07:58", "B", door="大楼入口", direction="")
    badge(store, "2026-11-02 13:00", "B", door="机房门", direction="out")
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜"], "2026-11-02 20:00", "王建国", "王建国")
    badge(store, "2026-11-02 22:40", "D", door="机房门", direction="in")  # D is on no shift tonight
    badge(store, "2026-11-02 23:05", card="9999", door="值班室", direction="in")  # an unregistered card
    sheet(store, "2026-11-02", "夜班", ["张伟"], "2026-11-03 08:00", "张伟", "张伟")
    at = "2026-11-03 12:00"
    v = view(store, "2026-11-02", "2026-11-02", at, text=ZONED)
    assert [(s.how, s.end) for s in v.stays["A"]] == [("until_shift_end", local("2026-11-02 20:00"))]
    assert v.stays["B"][0].end == local("2026-11-02 20:00")  # the machine room's "out" is no exit
    assert "2026-11-02 白班" not in run(store, checks.understaffed_shift, at, text=ZONED)
    assert list(run(store, checks.off_shift_entry, at, text=ZONED)) == ["D 2026-11-02"]
    assert list(run(store, checks.unknown_entry, at, text=ZONED)) == ["card:9999 2026-11-02"]


def test_zones_a_door_in_both_lists_is_refused_naming_the_key() -> None:
    problems: list[str] = []
    text = ZONED.replace('inner = ["机房门", "值班室"]', 'inner = ["机房门", "大楼入口"]')
    parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems and "staffing.zones" in problems[0] and "大楼入口" in problems[0]


# --- qualifications: both readings of the clause -------------------------------------------------------------

QUALIFIED = CONTRACT_TOML.replace(
    'required_certificates = ["CISP"]',
    'required_certificates = ["CISP"]\nevery_on_duty_certificates = ["电工证"]',
)


def test_every_on_duty_certificates_and_required_certificates(store: Store) -> None:
    person(store, "A", "王建国", role="值班长", certs=[("CISP", "2026-10-31"), ("电工证", "2028-01-01")])
    person(store, "B", "李娜", certs=[("电工证", "2026-10-15")])
    person(store, "C", "张伟")
    for day in ("2026-11-02", "2026-11-03"):
        work(store, "A", f"{day} 07:50", f"{day} 20:05")
        work(store, "B", f"{day} 07:50", f"{day} 20:05")
        sheet(store, day, "白班", ["王建国", "李娜"], f"{day} 20:00", "王建国", "王建国")
    at = "2026-11-04 12:00"
    found = run(store, checks.expired_qualification, at, text=QUALIFIED)
    assert set(found) == {"A CISP", "B 电工证", "2026-11-02 白班", "2026-11-03 白班"}
    shift = found["2026-11-02 白班"]
    assert "没有持有效「CISP」证书" in shift.summary and "李娜（B） 没有" in shift.summary
    assert shift.period_start == local("2026-11-02 08:00")
    assert {e["person"] for e in shift.evidence["on_duty"]} == {"王建国（A）", "李娜（B）"}
    assert found["B 电工证"].evidence["shift_count"] == 2 and "2026-10-15" in found["B 电工证"].summary
    assert found["A CISP"].period_start == local("2026-11-01 00:00")
    # Headcount is headcount: two people with a role holder, whatever their certificates.
    understaffed = run(store, checks.understaffed_shift, at, text=QUALIFIED)
    assert not {k for k in understaffed if k.startswith(("2026-11-02 白班", "2026-11-03 白班"))}
    # A person who never held the certificate at all, on a shift requiring it of everyone.
    sheet(store, "2026-11-01", "白班", ["王建国", "张伟"], "2026-11-01 20:00", "王建国", "王建国")
    work(store, "C", "2026-11-01 07:50", "2026-11-01 20:05")
    work(store, "A", "2026-11-01 07:50", "2026-11-01 20:05")
    found = run(store, checks.expired_qualification, at, text=QUALIFIED)
    assert "没有「电工证」证书" in found["C 电工证"].summary and found["C 电工证"].period_start is None
    # The "at least one" reading alone: nobody else holds CISP, so each shift lacks a valid holder; nobody is
    # asked for 电工证.
    found = run(store, checks.expired_qualification, at)
    assert set(found) == {"A CISP", "2026-11-01 白班", "2026-11-02 白班", "2026-11-03 白班"}
    assert "电工证" not in found["2026-11-02 白班"].summary
    # A valid holder on the shift: only the expired person's finding remains for that shift.
    person(store, "E", "黄敏", certs=[("CISP", "2027-06-30")])
    work(store, "E", "2026-11-02 07:50", "2026-11-02 20:05")
    with store.session() as s:
        s.execute(delete(HandoverShift).where(HandoverShift.date == date(2026, 11, 2)))
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜", "黄敏"], "2026-11-02 20:00", "王建国", "王建国")
    found = run(store, checks.expired_qualification, at)
    assert "2026-11-02 白班" not in found and found["A CISP"].evidence["shift_count"] == 3
