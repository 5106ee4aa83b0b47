"""The staffing indicators of the score: the staffing rate (人员到位率) and handovers verified."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ops_watch.areas.staffing.presence import build_view, data_version
from ops_watch.areas.staffing.shifts import shift_instances, staffing_terms
from ops_watch.core.timeutil import local_day_bounds
from ops_watch.core.vocabulary import text as _t
from ops_watch.findings.indicators import IndicatorInputs, IndicatorValue, indicator, percent
from ops_watch.findings.indicators import listed as _listed
from ops_watch.findings.indicators import local_days as _days


@dataclass(frozen=True)
class StaffingSummary:
    """What the two staffing indicators need from a staffing view (kept instead of the view: a year of
    badges is large)."""

    has_shifts: bool
    judged_from: date | None
    ended: int
    required: int
    evidenced: int
    verified: int
    evidence_rows: int  # door events and sheet rows in the window
    short: tuple[tuple[str, str, int, int], ...]  # (day, shift, required, evidenced) of understaffed shifts
    unverified: tuple[tuple[str, str, str, tuple[str, ...]], ...]  # (day, shift, reason, names)


_STAFFING_CACHE: dict[str, StaffingSummary] = {}


def staffing_summary(
    session: Session, contract: Mapping[str, Any], zone: ZoneInfo, start: datetime, end: datetime
) -> StaffingSummary:
    """The shifts of [start, end) as the staffing checks see them. A year's view is seconds of work and the
    score is evaluated every few minutes: the summary is kept until its evidence or the set of ended shifts
    changes (a shift's verdict depends on nothing else)."""

    terms = staffing_terms(contract)
    first, last = _days(zone, start, end)
    if not terms.shifts:
        return StaffingSummary(False, None, 0, 0, 0, 0, 0, (), ())
    judged = max(first, terms.judge_from) if terms.judge_from else first
    ended = sum(1 for i in shift_instances(terms, judged, last, zone) if i.end + terms.grace <= end)
    key = json.dumps(
        [
            terms.model_dump(mode="json"),
            str(zone),
            first.isoformat(),
            last.isoformat(),
            repr(data_version(session)),  # any door event stored, late ones too, changes it
            ended,
        ],
        default=str,
    )
    cached = _STAFFING_CACHE.get(key)
    if cached is not None:
        return cached
    # Month by month: a shift's evidence is its own day's and the next's badges (the view of a month reads a
    # day either side), so the months' sums are the year's, and a year of badges is never in memory at once
    # (about 300 MB at 50 people). Bench: bench/web.py, the console's score.
    done_count = required = evidenced = verified = rows = 0
    short: list[tuple[str, str, int, int]] = []
    unverified: list[tuple[str, str, str, tuple[str, ...]]] = []
    chunks = _months(judged, last)
    for k, (chunk_first, chunk_last) in enumerate(chunks):
        view = build_view(session, contract, zone, end, chunk_first, chunk_last)
        done = [s for s in view.shifts if s.ended]
        done_count += len(done)
        required += sum(s.required for s in done)
        evidenced += sum(s.evidenced for s in done)
        for s in done:
            day, shift = s.instance.day.isoformat(), s.instance.shift
            if s.evidenced < s.required:
                short.append((day, shift, s.required, s.evidenced))
            if s.handover_verified:
                verified += 1
            elif s.sheet is None:
                unverified.append((day, shift, "no_sheet", ()))
            elif s.handover_at is None:
                unverified.append((day, shift, "no_time", ()))
            elif not s.givers or not s.takers:
                unverified.append((day, shift, "no_names", ()))
            else:
                names = tuple(n.person.name if n.person else n.text for n in s.handover_missing)
                unverified.append((day, shift, "absent", names))
        # The badges of the chunk's own days; its view reads a day either side, which the neighbouring chunk
        # counts, except before the first and after the last (as one view of the whole period would).
        own_start = local_day_bounds(chunk_first, zone)[0] - timedelta(days=k == 0)
        own_end = local_day_bounds(chunk_last, zone)[1] + timedelta(days=k == len(chunks) - 1)
        rows += sum(1 for b in view.badges if own_start <= b.at < own_end)
        rows += sum(1 for s in view.shifts if s.sheet is not None)
        del view, done
    summary = StaffingSummary(
        True,
        judged,
        done_count,
        required,
        evidenced,
        verified,
        rows,
        tuple(short),
        tuple(unverified),
    )
    _STAFFING_CACHE.clear()
    _STAFFING_CACHE[key] = summary
    return summary


def _months(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] cut at the months' ends."""
    chunks = []
    day = first
    while day <= last:
        next_month = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        chunks.append((day, min(last, next_month - timedelta(days=1))))
        day = next_month
    return chunks


def _staffing_missing(summary: StaffingSummary, language: str, what_zh: str, what_en: str) -> str:
    if not summary.has_shifts:
        return _t(
            language,
            "合同未约定班次（contract.toml 没有 [staffing]）",
            "the contract names no shifts ([staffing])",
        )
    if summary.ended == 0:
        since = summary.judged_from.isoformat() if summary.judged_from else ""
        return _t(
            language,
            f"考核期内没有已结束、需评判的班次（自 {since} 起评判）",
            f"no ended shift to judge in the period (shifts are judged from {since})",
        )
    if summary.evidence_rows == 0:
        return _t(
            language, "考核期内没有门禁记录和交接班表", "no door records and no handover sheets in the period"
        )
    return _t(language, what_zh, what_en)


def _shifts_hint(summary: StaffingSummary, zone: ZoneInfo, end: datetime, language: str) -> str:
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    first = summary.judged_from
    return _t(
        language,
        f"逐班明细：ops-watch staffing shifts --from {first} --to {last}",
        f"shift by shift: ops-watch staffing shifts --from {first} --to {last}",
    )


@indicator("staffing_rate", name_zh="人员到位率", name_en="staffing rate")
def staffing_rate(inputs: IndicatorInputs) -> IndicatorValue:
    session, contract, zone, start, end, language = inputs
    s = staffing_summary(session, contract, zone, start, end)
    formula = _t(
        language,
        "门禁证实在岗人次 ÷ 合同要求人次 × 100%（已结束的班次，每班以最低人数为上限）",
        "person-shifts evidenced at the doors ÷ person-shifts required × 100% (ended shifts, each capped at "
        "its minimum)",
    )
    if not s.has_shifts or s.evidence_rows == 0 or s.required == 0:
        return IndicatorValue(None, formula=formula, missing=_staffing_missing(s, language, "", ""))
    inputs = {
        "required": s.required,
        "evidenced": s.evidenced,
        "shifts": s.ended,
        "judged_from": s.judged_from,
    }
    lines = [
        _t(language, f"{day} {shift}：要求 {req} 人，证实 {ev} 人", f"{day} {shift}: {ev} of {req} evidenced")
        for day, shift, req, ev in s.short
    ]
    return IndicatorValue(
        percent(s.evidenced, s.required),
        s.evidenced,
        s.required,
        formula,
        inputs,
        _t(
            language,
            f"证实 {s.evidenced} 人次 / 要求 {s.required} 人次（{s.ended} 个班次，自 {s.judged_from} 起）",
            f"{s.evidenced} of {s.required} person-shifts evidenced ({s.ended} shifts, from {s.judged_from})",
        ),
        [_shifts_hint(s, zone, end, language), *_listed(lines, language)],
    )


@indicator("handover_verified_rate", name_zh="交接班核实率", name_en="handovers verified")
def handover_verified_rate(inputs: IndicatorInputs) -> IndicatorValue:
    session, contract, zone, start, end, language = inputs
    s = staffing_summary(session, contract, zone, start, end)
    formula = _t(
        language,
        "交接经门禁核实的班次 ÷ 已结束的合同班次 × 100%（无交接记录的班次计为未核实）",
        "shifts whose handover the doors verify ÷ ended contracted shifts × 100% (a shift without a sheet row "
        "counts as not verified)",
    )
    if not s.has_shifts or s.evidence_rows == 0 or s.ended == 0:
        return IndicatorValue(None, formula=formula, missing=_staffing_missing(s, language, "", ""))
    reasons_zh = {
        "no_sheet": "无交接记录",
        "no_time": "交接表未填交接时间",
        "no_names": "交接表未填交班人或接班人",
    }
    reasons_en = {"no_sheet": "no sheet row", "no_time": "no handover time", "no_names": "no giver or taker"}
    lines = []
    for day, shift, reason, names in s.unverified:
        if reason == "absent":
            why = _t(
                language,
                "交接时不在场：" + "、".join(names),
                "not on site at the handover: " + ", ".join(names),
            )
        else:
            why = _t(language, reasons_zh[reason], reasons_en[reason])
        lines.append(f"{day} {shift}：{why}" if language == "zh" else f"{day} {shift}: {why}")
    no_sheet = sum(1 for u in s.unverified if u[2] == "no_sheet")
    return IndicatorValue(
        percent(s.verified, s.ended),
        s.verified,
        s.ended,
        formula,
        {"verified": s.verified, "shifts": s.ended, "without_sheet": no_sheet, "judged_from": s.judged_from},
        _t(
            language,
            f"核实 {s.verified} 班 / 已结束 {s.ended} 班（其中 {no_sheet} 班无交接记录）",
            f"{s.verified} of {s.ended} shifts verified ({no_sheet} without a sheet row)",
        ),
        [_shifts_hint(s, zone, end, language), *_listed(lines, language)],
    )
