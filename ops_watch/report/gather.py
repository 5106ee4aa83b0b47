"""The weekly report from the store alone: findings per area as of the week's end, the areas' own figures,
the evidence gaps and the findings trend. The same store and week give the same report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ops_watch.config import Config
from ops_watch.core.timeutil import from_store
from ops_watch.core.vocabulary import SEVERITY_RANK, SEVERITY_ZH
from ops_watch.findings.rectification import deadline, rectification_terms
from ops_watch.report.fonts import find_cjk_font
from ops_watch.report.model import (
    AreaReport,
    Column,
    FindingLine,
    Gap,
    Status,
    Table,
    Trend,
    Week,
    WeeklyReport,
)
from ops_watch.report.sections import SECTIONS, AreaContext, AreaData, spec_for
from ops_watch.store.schema import EvidenceBatch, Finding, OutboxMessage

OPEN = ("open", "acknowledged", "silenced")
# Checks whose findings say that evidence stopped arriving (the gaps list names them as silent sources).
SILENT_CHECKS = ("collection_failed", "evidence_freshness", "door_poll_failed", "backup_source_failed")


def opened_at(first_seen: datetime, period_start: datetime | None) -> datetime:
    """When a finding's problem began: its period's start when earlier than when it was first seen."""
    first = from_store(first_seen)
    start = from_store(period_start)
    assert first is not None
    return first if start is None or start >= first else start


# What a line is made of (not the evidence, which can be large): rows of these columns are read, not objects.
LINE_COLUMNS = (
    Finding.id,
    Finding.area,
    Finding.check,
    Finding.severity,
    Finding.subject,
    Finding.summary,
    Finding.status,
    Finding.first_seen,
    Finding.period_start,
    Finding.resolved_at,
)


def _line(f: Any, week: Week, terms: Any) -> FindingLine:
    """`f`: a row of LINE_COLUMNS (or a Finding)."""
    first = from_store(f.first_seen)
    resolved = from_store(f.resolved_at)
    assert first is not None
    began = opened_at(first, f.period_start)
    end = week.end
    if resolved is not None and resolved < end:
        status, until = "resolved", resolved
    else:
        # Resolved after the week (or not at all): at the week's end it was still open.
        status, until = (f.status if f.status in OPEN else "open"), end
        resolved = None
    due = deadline(first, f.severity, terms)
    return FindingLine(
        id=f.id,
        area=f.area or "",
        check=f.check,
        severity=f.severity,
        subject=f.subject,
        summary=f.summary,
        opened_at=began,
        first_seen=first,
        resolved_at=resolved,
        status=status,
        age_days=max(0.0, (until - began).total_seconds() / 86400),
        deadline=due,
        overdue=status != "resolved" and due < end,
    )


def findings_of_week(session: Session, week: Week, contract: Mapping[str, Any]) -> list[FindingLine]:
    """Every finding whose problem was there at some time in the week (begun before its end, not resolved
    before its start), as of the week's end."""
    terms = rectification_terms(contract)
    stmt = (
        select(*LINE_COLUMNS)
        .where(
            or_(Finding.first_seen < week.end, Finding.period_start < week.end),
            or_(Finding.resolved_at.is_(None), Finding.resolved_at >= week.start),
        )
        .order_by(Finding.first_seen, Finding.id)
    )
    lines = [_line(f, week, terms) for f in session.execute(stmt)]
    return sorted((x for x in lines if x.opened_at < week.end), key=lambda x: (x.opened_at, x.id))


def area_status(still_open: list[FindingLine], has_anything: bool) -> Status:
    """An area's colour: red for an active critical finding, amber for a warning or an overdue one (the
    weekly report and the console's overview both use it)."""
    active = [f for f in still_open if f.status != "silenced"]
    if any(f.severity == "critical" for f in active):
        return "red"
    if any(f.severity == "warning" for f in active) or any(f.overdue for f in active):
        return "amber"
    return "green" if has_anything else "none"


def gather_gaps(session: Session, week: Week, lines: list[FindingLine], language: str) -> list[Gap]:
    """Sources that went silent, files rejected, rows refused and alerts that never reached anyone."""
    zh = language == "zh"
    gaps: list[Gap] = []
    for f in lines:
        if f.check in SILENT_CHECKS:
            gaps.append(Gap("silent_source", f.subject, f.summary, f.opened_at))
    batches = session.scalars(
        select(EvidenceBatch)
        .where(
            EvidenceBatch.received_at >= week.start,
            EvidenceBatch.received_at < week.end,
            or_(EvidenceBatch.status == "rejected", EvidenceBatch.rows_bad > 0),
        )
        .order_by(EvidenceBatch.received_at, EvidenceBatch.id)
    )
    for b in batches:
        at = from_store(b.received_at)
        if b.status == "rejected":
            detail = (
                f"{b.kind}：整个文件被拒收（{b.rows_bad} 行有错）"
                if zh
                else f"{b.kind}: the whole file was refused ({b.rows_bad} bad rows)"
            )
            gaps.append(Gap("rejected_file", b.source, detail, at))
        else:
            detail = (
                f"{b.kind}：{b.rows_total} 行中 {b.rows_bad} 行被拒"
                if zh
                else f"{b.kind}: {b.rows_bad} of {b.rows_total} rows refused"
            )
            gaps.append(Gap("refused_rows", b.source, detail, at))
    dead = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "dead",
            OutboxMessage.created_at >= week.start,
            OutboxMessage.created_at < week.end,
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    for m in dead:
        to = m.receiver or ", ".join(m.recipients)
        detail = (
            f"{m.channel} 发送 {m.attempts} 次均失败：{m.last_error}"
            if zh
            else f"{m.channel}: {m.attempts} attempts failed: {m.last_error}"
        )
        gaps.append(Gap("dead_message", f"{m.subject} → {to}", detail, from_store(m.created_at)))
    return gaps


def _trend(
    session: Session, week: Week, weeks: int, areas: list[str], titles: dict[str, str], language: str
) -> Trend:
    first = week.shifted(-(weeks - 1))
    labels = [week.shifted(-i).iso for i in range(weeks - 1, -1, -1)]
    index = {label: i for i, label in enumerate(labels)}
    opened: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    resolved: dict[str, list[int]] = defaultdict(lambda: [0] * weeks)
    rows = session.execute(
        select(Finding.area, Finding.first_seen, Finding.period_start, Finding.resolved_at).where(
            or_(
                (Finding.first_seen >= first.start) & (Finding.first_seen < week.end),
                (Finding.period_start >= first.start) & (Finding.period_start < week.end),
                (Finding.resolved_at >= first.start) & (Finding.resolved_at < week.end),
            )
        )
    ).all()
    zone = week.zone

    def slot(at: datetime | None) -> int | None:
        if at is None:
            return None
        at = from_store(at)
        assert at is not None
        if not first.start <= at < week.end:
            return None
        return index.get(Week.containing(at.astimezone(zone).date(), zone).iso)

    for area, first_seen, period_start, resolved_at in rows:
        key = area or ""
        if (i := slot(opened_at(first_seen, period_start))) is not None:
            opened[key][i] += 1
        if (i := slot(resolved_at)) is not None:
            resolved[key][i] += 1
    keys = list(areas) + sorted(k for k in set(opened) | set(resolved) if k not in areas)
    return Trend(
        weeks=labels,
        areas=keys,
        area_titles={k: titles.get(k) or spec_for(k).title(language) for k in keys},
        opened={k: list(opened[k]) for k in keys},
        resolved={k: list(resolved[k]) for k in keys},
    )


FINDING_COLUMNS_ZH = {
    "id": "编号",
    "area": "领域",
    "severity": "级别",
    "check": "检查项",
    "subject": "对象",
    "summary": "说明",
    "opened_at": "开始时间",
    "first_seen": "发现时间",
    "resolved_at": "解决时间",
    "status": "状态",
    "age_days": "已持续（天）",
    "deadline": "整改期限",
    "overdue": "逾期",
}


def findings_table(lines: list[FindingLine], week: Week, language: str, titles: dict[str, str]) -> Table:
    zh = language == "zh"
    keys = list(FINDING_COLUMNS_ZH)
    kinds = dict.fromkeys(("opened_at", "first_seen", "resolved_at", "deadline"), "datetime")
    kinds.update(id="int", age_days="float")
    columns = [Column(k, FINDING_COLUMNS_ZH[k] if zh else k, kinds.get(k, "text")) for k in keys]  # type: ignore[arg-type]

    status_zh = {"open": "未解决", "acknowledged": "已确认", "silenced": "已静默", "resolved": "已解决"}
    rows = []
    for f in sorted(
        lines, key=lambda f: (f.status == "resolved", -SEVERITY_RANK.get(f.severity, -9), f.opened_at)
    ):
        rows.append(
            {
                "id": f.id,
                "area": titles.get(f.area, f.area),
                "severity": SEVERITY_ZH.get(f.severity, f.severity) if zh else f.severity,
                "check": f.check,
                "subject": f.subject,
                "summary": f.summary,
                "opened_at": f.opened_at.astimezone(week.zone),
                "first_seen": f.first_seen.astimezone(week.zone),
                "resolved_at": f.resolved_at.astimezone(week.zone) if f.resolved_at else None,
                "status": status_zh.get(f.status, f.status) if zh else f.status,
                "age_days": round(f.age_days, 1),
                "deadline": f.deadline.astimezone(week.zone) if f.deadline else None,
                "overdue": ("是" if zh else "yes") if f.overdue else "",
            }
        )
    return Table(
        key="findings",
        title=f"{week.iso} 问题清单" if zh else f"Findings of {week.iso}",
        sheet="问题清单" if zh else "Findings",
        columns=columns,
        rows=rows,
    )


GAP_KIND_ZH = {
    "silent_source": "数据源中断",
    "rejected_file": "文件被拒收",
    "refused_rows": "行被拒",
    "dead_message": "告警未送达",
}


def gaps_table(gaps: list[Gap], week: Week, language: str) -> Table:
    zh = language == "zh"
    columns = [
        Column("kind", "类型" if zh else "kind"),
        Column("subject", "对象" if zh else "subject"),
        Column("detail", "说明" if zh else "detail"),
        Column("at", "时间" if zh else "time", "datetime"),
    ]
    rows = [
        {
            "kind": GAP_KIND_ZH[g.kind] if zh else g.kind.replace("_", " "),
            "subject": g.subject,
            "detail": g.detail,
            "at": g.at.astimezone(week.zone) if g.at else None,
        }
        for g in gaps
    ]
    return Table(
        key="gaps",
        title=f"{week.iso} 证据缺口" if zh else f"Evidence gaps of {week.iso}",
        sheet="证据缺口" if zh else "Evidence gaps",
        columns=columns,
        rows=rows,
    )


def build_report(
    session: Session, config: Config, contract: Mapping[str, Any], week: Week, language: str
) -> WeeklyReport:
    from ops_watch.report import charts  # start-up time: matplotlib loads only when a chart is drawn

    specs = SECTIONS
    font = find_cjk_font(tuple(config.resolve(p) for p in config.report.font_dirs))
    lines = findings_of_week(session, week, contract)
    gaps = gather_gaps(session, week, lines, language)
    ctx = AreaContext(session, config, contract, week, language, font, gaps, lines)
    by_area: dict[str, list[FindingLine]] = defaultdict(list)
    for line in lines:
        by_area[line.area].append(line)
    keys = sorted(set(specs) | set(by_area), key=lambda k: (spec_for(k).order, k))
    areas: list[AreaReport] = []
    for key in keys:
        spec = spec_for(key)
        data = spec.build(ctx) if spec.build is not None else AreaData(has_evidence=False)
        mine = by_area.get(key, [])
        still_open = sorted(
            (f for f in mine if f.status != "resolved"),
            key=lambda f: (f.opened_at, -SEVERITY_RANK.get(f.severity, -9)),
        )
        if spec.build is None and not mine:
            continue
        area = AreaReport(
            key=key,
            title=spec.title(language),
            status=area_status(still_open, data.has_evidence or bool(mine)),
            figures=data.figures,
            opened=[f for f in mine if f.opened_at >= week.start],
            resolved=[f for f in mine if f.resolved_at is not None],
            still_open=still_open,
            tables=data.tables,
            charts=data.charts,
            notes=list(data.notes),
        )
        if area.status == "none":
            area.notes.insert(0, ctx.t("本周没有该领域的证据。", "No evidence for this area this week."))
        areas.append(area)
    titles = {a.key: a.title for a in areas}
    trend = _trend(session, week, config.report.trend_weeks, [a.key for a in areas], titles, language)
    report = WeeklyReport(
        week=week,
        language=language,
        site=config.site.name,
        areas=areas,
        gaps=gaps,
        trend=trend,
    )
    note = charts.missing_font_note(language, font)
    if note and report.all_charts():
        report.notes.append(note)
    chart = charts.findings_trend_chart(trend, language, font)
    if chart is not None:
        report.charts.append(chart)
    report.tables.append(findings_table(lines, week, language, titles))
    report.tables.append(gaps_table(gaps, week, language))
    return report
