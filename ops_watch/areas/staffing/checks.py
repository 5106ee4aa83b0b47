"""Staffing and access checks (R4, R5): the handover sheets against the door evidence, shift by shift.

Every check reads the same `StaffingView` (ops_watch.areas.staffing.presence) of the last `lookback` days, so they agree
with each other and with `ops-watch staffing shifts`. A check judges only its window: findings about older
shifts are left as they are (`ctx.scope_start`), not resolved because the window moved on. A finding about a
shift is resolved when corrected evidence (a corrected sheet, a late door export) clears it.

Findings carry the events that justify them: the sheet row, and each person's door events nearest the shift.
Every check judges the contract's [staffing] terms (`terms="staffing"`): a contract without the section is
not judged for staffing at all, door events included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy import select

from ops_watch.areas.staffing.presence import (
    Badge,
    Person,
    SheetName,
    ShiftEvidence,
    StaffingView,
    first_judged_day,
    utc_day_start,
    view_for,
)
from ops_watch.areas.staffing.shifts import calendar_version
from ops_watch.config import Duration
from ops_watch.core.timeutil import format_local, from_store
from ops_watch.findings.registry import CheckContext, FindingDraft, Params, check
from ops_watch.store.schema import DoorEvent, HandoverShift, StaffMember

_DAY_TYPE_ZH = {"workday": "工作日", "rest_day": "休息日", "holiday": "法定节假日"}
_PROBLEM = {
    "unknown": ("不在人员名册中", "not in the staff registry"),
    "ambiguous": ("名册中有多人同名，无法确定是谁", "matches several people in the registry"),
    "inactive": ("当日不在岗（已离职或未入职）", "not active on that day (left or not yet started)"),
}
MAX_LISTED_EVENTS = 20


class StaffingParams(Params):
    # How far back each evaluation judges shifts and entries. Older shifts keep their findings as they are.
    lookback: Duration = timedelta(days=35)


def _scope(ctx: CheckContext, params: StaffingParams) -> datetime:
    """Set and return the start of what the check judges (findings about earlier periods stay as they are)."""
    ctx.scope_start = utc_day_start(
        first_judged_day(ctx.contract, ctx.zone, ctx.at, params.lookback), ctx.zone
    )
    return ctx.scope_start


def _view(ctx: CheckContext, params: StaffingParams) -> StaffingView:
    # The view is kept for the whole evaluation (view_for's cache): only the check that builds it goes through
    # ctx.arrived. Every check using it judges the sheets against the door events and the registry: each
    # declares the three, so its finding names their seals however the view came.
    ctx.reads(DoorEvent, HandoverShift, StaffMember)
    _scope(ctx, params)
    return view_for(ctx.session, ctx.contract, ctx.zone, ctx.at, params.lookback, ctx.arrived)


def _t(ctx: CheckContext, value: datetime | None) -> str:
    return format_local(value, ctx.zone) if value else "-"


def _shift_label(ctx: CheckContext, s: ShiftEvidence) -> str:
    inst = s.instance
    kind = ctx.t(_DAY_TYPE_ZH.get(inst.day_type, inst.day_type), inst.day_type.replace("_", " "))
    return (
        f"{inst.day.isoformat()} {inst.shift}（{kind}）"
        if ctx.language == "zh"
        else f"{inst.day} {inst.shift} ({kind})"
    )


def _shift_evidence(ctx: CheckContext, s: ShiftEvidence) -> dict[str, Any]:
    inst = s.instance
    out: dict[str, Any] = {
        "day": inst.day.isoformat(),
        "shift": inst.shift,
        "day_type": inst.day_type,
        "start": _t(ctx, inst.start),
        "end": _t(ctx, inst.end),
        "required": inst.min_headcount,
        "onsite": [p.label for p in s.onsite],
    }
    if s.sheet is not None:
        out["sheet"] = {
            "on_duty": list(s.sheet.on_duty or []),
            "handover_time": _t(ctx, s.handover_at),
            "handed_over_by": s.sheet.handed_over_by,
            "taken_over_by": s.sheet.taken_over_by,
            "notes": s.sheet.notes,
            "batch_id": s.sheet.batch_id,
        }
    return out


def _nearby(
    ctx: CheckContext, view: StaffingView, person: Person, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The person's badges from a day before to a day after the span, to show what the doors did see."""
    lo, hi = start - timedelta(days=1), end + timedelta(days=1)
    badges = [b for stay in view.stays.get(person.person_id, []) for b in stay.badges if lo <= b.at <= hi]
    return [b.shown(ctx.zone) for b in sorted(set(badges), key=lambda b: b.at)[:MAX_LISTED_EVENTS]]


def _names(ctx: CheckContext, names: list[SheetName]) -> str:
    sep = "、" if ctx.language == "zh" else ", "
    return sep.join(n.person.label if n.person else n.text for n in names)


# --- ghost_on_duty -------------------------------------------------------------------------------------


@check(
    "ghost_on_duty",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "ghost-on-duty"
check = "ghost_on_duty"
severity = "warning"
title = "交接班表上有人，门禁无在岗记录"
[rule.params]
lookback = "35d"
""",
)
def ghost_on_duty(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    view = _view(ctx, params)
    for s in view.shifts:
        if not s.ended:
            continue
        for person in s.ghosts:
            inst = s.instance
            yield FindingDraft(
                subject=f"{inst.day.isoformat()} {inst.shift} {person.person_id}",
                period_start=inst.start,
                period_end=inst.end,
                summary=ctx.t(
                    f"{_shift_label(ctx, s)}：交接班表列出 {person.label} 值班，但门禁没有其在岗记录",
                    f"{_shift_label(ctx, s)}: the sheet lists {person.label} on duty, but no door event shows "
                    "them on site",
                ),
                evidence={
                    **_shift_evidence(ctx, s),
                    "person": person.label,
                    "events_nearby": _nearby(ctx, view, person, inst.start, inst.end),
                },
            )


# --- handover_unverified -------------------------------------------------------------------------------


@check(
    "handover_unverified",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "handover-unverified"
check = "handover_unverified"
severity = "warning"
title = "交接班无法用门禁记录核实"
""",
)
def handover_unverified(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    view = _view(ctx, params)
    grace = view.terms.grace_minutes
    for s in view.shifts:
        if not s.ended or s.sheet is None or s.handover_verified:
            continue
        reasons_zh, reasons_en = [], []
        if s.handover_at is None:
            reasons_zh.append("未填写交接时间")
            reasons_en.append("no handover time written")
        if not s.givers:
            reasons_zh.append("未填写交班人")
            reasons_en.append("no giver written")
        if not s.takers:
            reasons_zh.append("未填写接班人")
            reasons_en.append("no taker written")
        if s.handover_missing:
            who = _names(ctx, s.handover_missing)
            reasons_zh.append(f"{who} 在交接时间 {_t(ctx, s.handover_at)} ±{grace} 分钟内无在场门禁记录")
            reasons_en.append(f"{who} not on site at the handover time {_t(ctx, s.handover_at)} ±{grace} min")
        inst = s.instance
        nearby = {
            n.person.label: _nearby(ctx, view, n.person, s.handover_at, s.handover_at)
            for n in s.handover_missing
            if n.person is not None and s.handover_at is not None
        }
        yield FindingDraft(
            subject=f"{inst.day.isoformat()} {inst.shift}",
            period_start=inst.start,
            period_end=inst.end,
            summary=ctx.t(
                f"{_shift_label(ctx, s)} 的交接班无法核实：" + "；".join(reasons_zh),
                f"{_shift_label(ctx, s)}: handover not verified: " + "; ".join(reasons_en),
            ),
            evidence={
                **_shift_evidence(ctx, s),
                "not_on_site": [n.person.label if n.person else n.text for n in s.handover_missing],
                "events_nearby": nearby,
            },
        )


# --- missing_handover and sheet rows for shifts the contract does not have ------------------------------


class MissingHandoverParams(StaffingParams):
    # How long after a shift ends its sheet row may still arrive before it counts as missing.
    due: Duration = timedelta(hours=12)


@check(
    "missing_handover",
    params=MissingHandoverParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "missing-handover"
check = "missing_handover"
severity = "warning"
title = "合同班次没有交接班记录"
[rule.params]
due = "12h"
""",
)
def missing_handover(ctx: CheckContext, params: MissingHandoverParams) -> Iterator[FindingDraft]:
    view = _view(ctx, params)
    for s in view.shifts:
        inst = s.instance
        if s.sheet is not None or inst.end + params.due > ctx.at:
            continue
        yield FindingDraft(
            subject=f"{inst.day.isoformat()} {inst.shift}",
            period_start=inst.start,
            period_end=inst.end,
            summary=ctx.t(
                f"{_shift_label(ctx, s)} 是合同约定的班次，但没有交接班记录",
                f"{_shift_label(ctx, s)} is a contracted shift with no handover sheet row",
            ),
            evidence=_shift_evidence(ctx, s),
        )


@check(
    "handover_unknown_shift",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "handover-unknown-shift"
check = "handover_unknown_shift"
severity = "info"
title = "交接班表中的班次不在合同中"
""",
)
def handover_unknown_shift(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    """A sheet row for a shift the contract does not have on that day: typed wrong, or work nobody pays for."""
    view = _view(ctx, params)
    names = [s.name for s in view.terms.shifts]
    for row in view.sheets_unmatched:
        known = view.terms.shift(row.shift)
        if known is None:
            why_zh = f"合同没有名为「{row.shift}」的班次（合同班次：{'、'.join(names)}）"
            why_en = f"the contract has no shift named {row.shift!r} (its shifts: {', '.join(names)})"
        else:
            why_zh = f"合同的「{row.shift}」班次不在这一天（{row.date.isoformat()}）安排"
            why_en = f"the contract's {row.shift!r} shift does not run on {row.date.isoformat()}"
        yield FindingDraft(
            subject=f"{row.date.isoformat()} {row.shift}",
            period_start=utc_day_start(row.date, ctx.zone),
            summary=ctx.t(
                f"交接班表 {row.date.isoformat()} 的行：{why_zh}", f"handover sheet row {row.date}: {why_en}"
            ),
            evidence={
                "day": row.date.isoformat(),
                "shift": row.shift,
                "on_duty": list(row.on_duty or []),
                "batch_id": row.batch_id,
            },
        )


# --- understaffed_shift --------------------------------------------------------------------------------


@check(
    "understaffed_shift",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "understaffed-shift"
check = "understaffed_shift"
severity = "warning"
title = "班次在岗人数低于合同要求"
""",
)
def understaffed_shift(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    """Fewer people evidenced on site than the contract's minimum, fewer listed on the sheet, or a required
    role missing. Headcount is headcount: a certificate nobody on duty holds valid is expired_qualification's."""
    view = _view(ctx, params)
    for s in view.shifts:
        if not s.ended:
            continue
        inst = s.instance
        zh, en = [], []
        if len(s.onsite) < s.required:
            zh.append(f"门禁证实在岗 {len(s.onsite)} 人，合同要求至少 {s.required} 人")
            en.append(f"{len(s.onsite)} evidenced on site, the contract requires at least {s.required}")
        if s.sheet is not None and len(s.listed) < s.required:
            zh.append(f"交接班表只列出 {len(s.listed)} 人")
            en.append(f"the sheet lists only {len(s.listed)}")
        for role in inst.required_roles:
            if not any(p.role == role for p in s.onsite):
                zh.append(f"在岗人员中没有「{role}」")
                en.append(f"nobody on site holds the role {role!r}")
        if not zh:
            continue
        yield FindingDraft(
            subject=f"{inst.day.isoformat()} {inst.shift}",
            period_start=inst.start,
            period_end=inst.end,
            summary=ctx.t(
                f"{_shift_label(ctx, s)} 人员不足：" + "；".join(zh),
                f"{_shift_label(ctx, s)} understaffed: " + "; ".join(en),
            ),
            evidence=_shift_evidence(ctx, s),
        )


# --- expired_qualification -----------------------------------------------------------------------------


@check(
    "expired_qualification",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "expired-qualification"
check = "expired_qualification"
severity = "warning"
title = "值班人员的必备证书已过期或未持有"
""",
)
def expired_qualification(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    """Both readings of a qualification clause, per shift term:

    - `required_certificates` ("at least one valid holder of X on each shift"): a finding for each person on
      duty whose every copy of X has expired, and one for each ended shift with people on duty of whom none
      holds a valid X (expired or never held);
    - `every_on_duty_certificates` ("every person on duty holds a valid X"): a finding for each person on duty
      without a valid X (expired or never held), and one for each ended shift with such a person.

    A person's finding is per person and certificate (subject "<id> <certificate>"), listing their shifts; a
    shift's is per shift (subject "<day> <shift>"), naming each certificate and person. Headcount is
    understaffed_shift's: a missing qualification never makes a shift understaffed.
    """
    view = _view(ctx, params)
    shifts_of: dict[tuple[str, str], list[ShiftEvidence]] = defaultdict(list)
    people: dict[str, Person] = {}
    for s in view.shifts:
        day, on_duty = s.instance.day, _on_duty(s)
        problems_zh: list[str] = []
        problems_en: list[str] = []
        for cert in s.instance.required_certificates:
            for p in on_duty:
                if p.certificate(cert) and not p.holds_valid(cert, day):
                    shifts_of[(p.person_id, cert)].append(s)
                    people[p.person_id] = p
            # Nobody on duty at all is headcount (understaffed_shift), not a qualification.
            if on_duty and not any(p.holds_valid(cert, day) for p in on_duty):
                expired = [p for p in on_duty if p.certificate(cert)]
                problems_zh.append(
                    f"值班人员中没有持有效「{cert}」证书的人"
                    + (f"（{'、'.join(p.label for p in expired)} 的已过期）" if expired else "")
                )
                problems_en.append(
                    f"nobody on duty holds a valid {cert} certificate"
                    + (f" ({', '.join(p.label for p in expired)}: expired)" if expired else "")
                )
        for cert in s.instance.every_on_duty_certificates:
            lacking = [p for p in on_duty if not p.holds_valid(cert, day)]
            for p in lacking:
                shifts_of[(p.person_id, cert)].append(s)
                people[p.person_id] = p
            if lacking:
                names_zh = "、".join(p.label for p in lacking)
                names_en = ", ".join(p.label for p in lacking)
                problems_zh.append(f"合同要求每名值班人员持有效「{cert}」证书，{names_zh} 没有")
                problems_en.append(f"every person on duty must hold a valid {cert}; {names_en} does not")
        if problems_zh and s.ended:
            inst = s.instance
            yield FindingDraft(
                subject=f"{inst.day.isoformat()} {inst.shift}",
                period_start=inst.start,
                period_end=inst.end,
                summary=ctx.t(
                    f"{_shift_label(ctx, s)} 资质不符合合同：" + "；".join(problems_zh),
                    f"{_shift_label(ctx, s)} qualifications short of the contract: " + "; ".join(problems_en),
                ),
                evidence={
                    **_shift_evidence(ctx, s),
                    "on_duty": [_qualified(p, s) for p in on_duty],
                },
            )
    for (pid, cert), shifts in sorted(shifts_of.items()):
        yield _person_finding(ctx, people[pid], cert, shifts)


def _on_duty(s: ShiftEvidence) -> list[Person]:
    """Who was on duty: the registered people the sheet lists, but for those the doors never saw (ghosts);
    without a sheet row, the registered people on site (the headcount)."""
    if s.sheet is None:
        return list(s.onsite)
    ghosts = {p.person_id for p in s.ghosts}
    out: dict[str, Person] = {}
    for n in s.listed:
        if n.person is not None and n.person.person_id not in ghosts:
            out.setdefault(n.person.person_id, n.person)
    return list(out.values())


def _qualified(person: Person, s: ShiftEvidence) -> dict[str, Any]:
    """A person on duty with the certificates the shift's terms name, as the registry has them."""
    inst = s.instance
    names = dict.fromkeys([*inst.required_certificates, *inst.every_on_duty_certificates])
    return {
        "person": person.label,
        "registry_batch": person.batch_id,
        "certificates": {
            cert: [e.isoformat() if e else "无期限" for e in person.certificate(cert)] for cert in names
        },
    }


def _person_finding(
    ctx: CheckContext, person: Person, cert: str, shifts: list[ShiftEvidence]
) -> FindingDraft:
    copies = person.certificate(cert)
    expired = max((e for e in copies if e is not None), default=None) if copies else None
    first = shifts[0].instance
    labels = [_shift_label(ctx, s) for s in shifts]
    evidence: dict[str, Any] = {
        "person": person.label,
        "certificate": cert,
        "registry_batch": person.batch_id,
        "shifts": labels[:MAX_LISTED_EVENTS],
        "shift_count": len(shifts),
        "sheet_batches": sorted(
            {s.sheet.batch_id for s in shifts if s.sheet is not None and s.sheet.batch_id}
        ),
    }
    if expired is not None:
        evidence["expired_on"] = expired.isoformat()
        return FindingDraft(
            subject=f"{person.person_id} {cert}",
            period_start=utc_day_start(expired + timedelta(days=1), ctx.zone),
            summary=ctx.t(
                f"{person.label} 的「{cert}」证书已于 {expired.isoformat()} 过期，仍在需要该证书的班次值班 "
                f"{len(shifts)} 次（首次 {first.day.isoformat()} {first.shift}）",
                f"{person.label}'s {cert} certificate expired on {expired}, yet they were on duty on "
                f"{len(shifts)} shifts requiring it (first {first.day} {first.shift})",
            ),
            evidence=evidence,
        )
    return FindingDraft(
        subject=f"{person.person_id} {cert}",
        summary=ctx.t(
            f"{person.label} 没有「{cert}」证书（人员名册未登记），却在要求每名值班人员持证的班次值班 "
            f"{len(shifts)} 次（首次 {first.day.isoformat()} {first.shift}）",
            f"{person.label} holds no {cert} certificate (none in the staff registry), yet was on duty on "
            f"{len(shifts)} shifts requiring every person on duty to hold one (first {first.day} {first.shift})",
        ),
        evidence=evidence,
    )


# --- unregistered_signer -------------------------------------------------------------------------------


@check(
    "unregistered_signer",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "unregistered-signer"
check = "unregistered_signer"
severity = "warning"
title = "交接班表上的人员不在名册中"
""",
)
def unregistered_signer(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    view = _view(ctx, params)
    for s in view.shifts:
        if s.sheet is None:
            continue
        bad: list[tuple[str, SheetName]] = []
        for role, names in (("on_duty", s.listed), ("handed_over_by", s.givers), ("taken_over_by", s.takers)):
            bad += [(role, n) for n in names if n.problem]
        if not bad:
            continue
        role_zh = {"on_duty": "值班人员", "handed_over_by": "交班人", "taken_over_by": "接班人"}
        zh = "；".join(f"{role_zh[r]}「{n.text}」{_PROBLEM[n.problem][0]}" for r, n in bad)
        en = "; ".join(f"{r} {n.text!r} {_PROBLEM[n.problem][1]}" for r, n in bad)
        inst = s.instance
        yield FindingDraft(
            subject=f"{inst.day.isoformat()} {inst.shift}",
            period_start=inst.start,
            period_end=inst.end,
            summary=ctx.t(f"{_shift_label(ctx, s)} 交接班表：{zh}", f"{_shift_label(ctx, s)} sheet: {en}"),
            evidence={
                **_shift_evidence(ctx, s),
                "names": [
                    {"column": r, "text": n.text, "problem": n.problem, "candidates": list(n.candidates)}
                    for r, n in bad
                ],
            },
        )


# --- unknown_entry -------------------------------------------------------------------------------------


def _in_window(ctx: CheckContext, b: Badge) -> bool:
    assert ctx.scope_start is not None
    return ctx.scope_start <= b.at <= ctx.at


@check(
    "unknown_entry",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "unknown-entry"
check = "unknown_entry"
severity = "critical"
title = "未登记人员进入机房"
""",
)
def unknown_entry(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    """A granted entry at an on-site door by a card or person not in the registry (or not active that day).
    One finding per card or person and day."""
    view = _view(ctx, params)
    groups: dict[tuple[str, date], list[Badge]] = defaultdict(list)
    for b in view.unmatched:
        if _in_window(ctx, b):
            identity = b.person_id or f"card:{b.card_no}"
            groups[(identity, b.at.astimezone(ctx.zone).date())].append(b)
    for (identity, day), badges in sorted(groups.items()):
        first = badges[0]
        person = view.registry.for_event(first.person_id, first.card_no)
        if person is not None:
            left = person.active_to.isoformat() if person.active_to else "-"
            who_zh, who_en = (
                f"已离职人员 {person.label}（名册离职日期 {left}）",
                f"{person.label}, who left on {left},",
            )
        else:
            who_zh = f"未登记人员 {first.name}" if first.name else "未登记人员"
            who_en = f"unregistered person {first.name}" if first.name else "an unregistered person"
        doors = "、".join(sorted({b.door for b in badges}))
        card_zh = f"卡号 {first.card_no}" if first.card_no else f"工号 {first.person_id}"
        card_en = f"card {first.card_no}" if first.card_no else f"staff id {first.person_id}"
        yield FindingDraft(
            subject=f"{identity} {day.isoformat()}",
            period_start=utc_day_start(day, ctx.zone),
            summary=ctx.t(
                f"{who_zh}（{card_zh}）于 {_t(ctx, first.at)} 获准进入 {doors}"
                + (f"，当日共 {len(badges)} 次" if len(badges) > 1 else ""),
                f"{who_en} ({card_en}) was let in at {doors} at {_t(ctx, first.at)}"
                + (f", {len(badges)} times that day" if len(badges) > 1 else ""),
            ),
            evidence={
                "card_no": first.card_no,
                "person_id": first.person_id,
                "events": [b.shown(ctx.zone) for b in badges[:MAX_LISTED_EVENTS]],
            },
        )


# --- off_shift_entry -----------------------------------------------------------------------------------


class OffShiftParams(StaffingParams):
    # An entry this close to a shift the person is on counts as on shift (arriving early, leaving late).
    margin: Duration = timedelta(minutes=60)
    # Roles that come and go outside shifts by their job (e.g. 项目经理); their entries are not judged.
    exempt_roles: list[str] = Field(default_factory=list)


@check(
    "off_shift_entry",
    params=OffShiftParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "off-shift-entry"
check = "off_shift_entry"
severity = "warning"
title = "非值班时间进入机房"
[rule.params]
margin = "60m"
exempt_roles = ["项目经理"]
""",
)
def off_shift_entry(ctx: CheckContext, params: OffShiftParams) -> Iterator[FindingDraft]:
    """A registered person entering an on-site door while on no shift. Entries during a shift whose sheet has
    not arrived are not judged (who was on duty is not known yet); one finding per person and day."""
    view = _view(ctx, params)
    groups: dict[tuple[str, date], list[Badge]] = defaultdict(list)
    for pid, person_stays in view.stays.items():
        person = view.registry.people[pid]
        if person.role in params.exempt_roles:
            continue
        for stay in person_stays:
            for b in stay.badges:
                if b.direction == "out" or not _in_window(ctx, b):
                    continue
                if not person.active_on(b.at.astimezone(ctx.zone).date()):
                    continue  # unknown_entry's
                if view.on_duty(pid, b.at, params.margin):
                    continue
                if any(s.sheet is None for s in view.shift_at(b.at, params.margin)):
                    continue
                groups[(pid, b.at.astimezone(ctx.zone).date())].append(b)
    for (pid, day), badges in sorted(groups.items()):
        person = view.registry.people[pid]
        doors = "、".join(sorted({b.door for b in badges}))
        yield FindingDraft(
            subject=f"{pid} {day.isoformat()}",
            period_start=utc_day_start(day, ctx.zone),
            summary=ctx.t(
                f"{person.label} 于 {_t(ctx, badges[0].at)} 进入 {doors}，当时不在任何值班班次"
                + (f"（当日共 {len(badges)} 次）" if len(badges) > 1 else ""),
                f"{person.label} entered {doors} at {_t(ctx, badges[0].at)} while on no shift"
                + (f" ({len(badges)} entries that day)" if len(badges) > 1 else ""),
            ),
            evidence={
                "person": person.label,
                "events": [b.shown(ctx.zone) for b in badges[:MAX_LISTED_EVENTS]],
            },
        )


# --- access_denied_burst -------------------------------------------------------------------------------


class DeniedBurstParams(StaffingParams):
    count: int = Field(default=5, ge=2)
    within: Duration = timedelta(minutes=10)


@check(
    "access_denied_burst",
    params=DeniedBurstParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "access-denied-burst"
check = "access_denied_burst"
severity = "warning"
title = "门禁短时间内多次拒绝"
[rule.params]
count = 5
within = "10m"
""",
)
def access_denied_burst(ctx: CheckContext, params: DeniedBurstParams) -> Iterator[FindingDraft]:
    """`count` or more denied events within `within` at one door (any door: a probe of a side door matters
    too); overlapping windows are one burst."""
    # The refusals are read below without ctx.arrived: a burst rests on the door events' seals.
    ctx.reads(DoorEvent)
    scope_start = _scope(ctx, params)  # denied events are all it reads: no staffing view needed
    rows = ctx.session.execute(
        select(
            DoorEvent.id, DoorEvent.at, DoorEvent.door, DoorEvent.card_no, DoorEvent.person_id, DoorEvent.name
        )
        .where(DoorEvent.result == "denied", DoorEvent.at >= scope_start, DoorEvent.at <= ctx.at)
        .order_by(DoorEvent.door, DoorEvent.at, DoorEvent.id)
    ).all()
    by_door: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_door[r.door].append(r)
    for door, events in sorted(by_door.items()):
        times = [from_store(r.at) for r in events]
        i, n = 0, len(events)
        while i < n:
            j = i
            while j + 1 < n and times[j + 1] - times[i] <= params.within:  # type: ignore[operator]
                j += 1
            if j - i + 1 < params.count:
                i += 1
                continue
            # Extend while the next event is within `within` of the burst's last `count` events.
            while j + 1 < n and times[j + 1] - times[j + 2 - params.count] <= params.within:  # type: ignore[operator]
                j += 1
            burst = events[i : j + 1]
            start, end = times[i], times[j]
            # A stranger a face terminal refused names no card or person.
            cards = sorted({r.card_no or r.person_id or ctx.t("未识别人员", "unrecognised") for r in burst})
            yield FindingDraft(
                subject=f"{door} {_t(ctx, start)}",
                period_start=start,
                period_end=end,
                summary=ctx.t(
                    f"{door} 在 {_t(ctx, start)} 起 {len(burst)} 次拒绝通行（{params.count} 次/"
                    f"{int(params.within.total_seconds() // 60)} 分钟为阈值），涉及卡号 {'、'.join(cards)}",
                    f"{door}: {len(burst)} denied from {_t(ctx, start)} (threshold {params.count} in "
                    f"{int(params.within.total_seconds() // 60)} min), cards {', '.join(cards)}",
                ),
                evidence={
                    "door": door,
                    "events": [
                        {
                            "id": r.id,
                            "time": _t(ctx, from_store(r.at)),
                            "card_no": r.card_no,
                            "person_id": r.person_id,
                        }
                        for r in burst[:MAX_LISTED_EVENTS]
                    ],
                    "count": len(burst),
                },
            )
            i = j + 1


# --- the calendar --------------------------------------------------------------------------------------


@check(
    "calendar_uncovered",
    params=StaffingParams,
    area="staffing",
    terms="staffing",
    example="""
[[rule]]
id = "calendar-uncovered"
check = "calendar_uncovered"
severity = "warning"
title = "节假日日历未覆盖"
""",
)
def calendar_uncovered(ctx: CheckContext, params: StaffingParams) -> Iterator[FindingDraft]:
    """Days judged with the Monday–Friday fallback: one warning per year, until the package is upgraded or the
    year's holidays are given as calendar_overrides."""
    view = _view(ctx, params)
    if not view.terms.shifts:
        return
    by_year: dict[int, list[date]] = defaultdict(list)
    for d in view.uncovered:
        by_year[d.year].append(d)

    for year, days in sorted(by_year.items()):
        yield FindingDraft(
            subject=f"calendar {year}",
            summary=ctx.t(
                f"节假日日历（chinesecalendar {calendar_version()}）不含 {year} 年："
                f"{days[0].isoformat()} 起 {len(days)} 天按周一至周五工作日判断。请升级 chinesecalendar，"
                "或在 contract.toml 的 [staffing.calendar_overrides] 中写明当年的节假日",
                f"the holiday calendar (chinesecalendar {calendar_version()}) does not cover {year}: "
                f"{len(days)} days from {days[0]} typed Monday-Friday. Upgrade chinesecalendar or give the "
                "year's holidays in [staffing.calendar_overrides]",
            ),
            evidence={
                "year": year,
                "days": len(days),
                "first": days[0].isoformat(),
                "package": calendar_version(),
            },
        )
