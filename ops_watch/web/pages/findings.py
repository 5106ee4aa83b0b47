"""问题: the findings list (filters, sort, pages, CSV/XLSX export) and a finding's page (evidence, history,
acknowledge / un-acknowledge / silence with a reason)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from ops_watch.core.labels import header_label
from ops_watch.core.output import render as render_rows
from ops_watch.core.timeutil import from_store, parse_datetime, utcnow
from ops_watch.core.vocabulary import AREAS, SEVERITIES, SEVERITY_RANK
from ops_watch.findings import engine
from ops_watch.findings.listing import FINDING_COLUMNS, finding_row
from ops_watch.report.model import Column, Table
from ops_watch.store.schema import EvidenceBatch, Finding, FindingEvent
from ops_watch.web.frame import Console, OperatorForm, Refused, Viewer, console, record, render
from ops_watch.web.sessions import WebSession

router = APIRouter()
PAGE_SIZE = 50
# What the list's table shows (templates/_macros.html finding_rows).
LISTED = (
    Finding.id,
    Finding.severity,
    Finding.status,
    Finding.area,
    Finding.subject,
    Finding.summary,
    Finding.first_seen,
)
MAX_ID = 2**63  # an id the databases can hold; larger ones are unknown, not an overflow
EXPORT_MAX = 100_000  # rows in one export (a sheet holds about a million; a browser download should not)
STATUSES = ("active", "open", "acknowledged", "silenced", "resolved", "all")
SORTS = ("first_seen", "last_seen", "severity")
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$")
TIME_COLUMNS = ("period_start", "period_end", "first_seen", "last_seen", "resolved_at")


@dataclass(frozen=True)
class Filters:
    area: str = ""
    severity: str = ""
    status: str = "active"
    rule: str = ""
    subject: str = ""
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "first_seen"
    order: str = "desc"
    raw: tuple[tuple[str, str], ...] = ()  # the filters as given, for links (sort, page, export)

    def link(self, **change: Any) -> str:
        params = dict(self.raw)
        params.update({k: str(v) for k, v in change.items() if v not in (None, "")})
        for k, v in change.items():
            if v in (None, ""):
                params.pop(k, None)
        return "/findings?" + urlencode(params) if params else "/findings"


def _filters(c: Console, request: Request) -> Filters:
    q = request.query_params
    zone = c.runtime.config.site.zone

    def one_of(name: str, allowed: tuple[str, ...], default: str = "") -> str:
        value = q.get(name, default).strip() or default
        if value and value not in allowed:
            raise Refused(
                400,
                f"参数 {name}={value!r} 无效：可选 {', '.join(allowed)}。",
                f"{name}={value!r} is not valid: choose one of {', '.join(allowed)}.",
            )
        return value

    def when(name: str, end: bool) -> datetime | None:
        value = q.get(name, "").strip()
        if not value:
            return None
        try:
            at = parse_datetime(value, zone)
        except ValueError as exc:
            raise Refused(
                400,
                f"参数 {name}={value!r} 不是时间：请写成 2026-11-02 或 2026-11-02 08:30。",
                f"{name}: {exc}",
            ) from None
        return at + timedelta(days=1) if end and _DATE_ONLY.match(value) else at  # a day "to" is inclusive

    raw = tuple(
        (k, v)
        for k, v in q.multi_items()
        if k in ("area", "severity", "status", "rule", "subject", "from", "to", "sort", "order") and v
    )
    return Filters(
        area=one_of("area", AREAS),
        severity=one_of("severity", SEVERITIES),
        status=one_of("status", STATUSES, "active"),
        rule=q.get("rule", "").strip()[:128],
        subject=q.get("subject", "").strip()[:512],
        since=when("from", False),
        until=when("to", True),
        sort=one_of("sort", SORTS, "first_seen"),
        order=one_of("order", ("desc", "asc"), "desc"),
        raw=raw,
    )


def _where(query: Select[Any], f: Filters) -> Select[Any]:
    if f.status == "active":
        query = query.where(Finding.status.in_(engine.ACTIVE))
    elif f.status != "all":
        query = query.where(Finding.status == f.status)
    if f.area:
        query = query.where(Finding.area == f.area)
    if f.severity:
        query = query.where(Finding.severity == f.severity)
    if f.rule:
        query = query.where(Finding.rule_id == f.rule)
    if f.subject:
        query = query.where(func.lower(Finding.subject).contains(f.subject.lower(), autoescape=True))
    if f.since is not None:
        query = query.where(Finding.first_seen >= f.since)
    if f.until is not None:
        query = query.where(Finding.first_seen < f.until)
    return query


def _ordered(query: Select[Any], f: Filters) -> Select[Any]:
    if f.sort == "severity":
        key: Any = case(SEVERITY_RANK, value=Finding.severity, else_=-1)
    else:
        key = getattr(Finding, f.sort)
    direction = (lambda e: e.desc()) if f.order == "desc" else (lambda e: e.asc())
    return query.order_by(direction(key), direction(Finding.id))


def _page_rows(s: Session, f: Filters, offset: int) -> list[Any]:
    """One page of the list, the columns the table shows (not the evidence: it can be large).

    Sorted by severity, the page is read severity by severity, each in id order on its index: an ORDER BY
    on the severity's rank would sort the whole table for every page (40 ms at 100,000 findings)."""
    if f.sort != "severity":
        return list(s.execute(_ordered(_where(select(*LISTED), f), f).offset(offset).limit(PAGE_SIZE)))
    counts: Counter[str | None] = Counter()
    for sev, n in s.execute(_where(select(Finding.severity, func.count()), f).group_by(Finding.severity)):
        counts[sev if sev in SEVERITY_RANK else None] += n  # unknown severities rank together, below info
    ranked = sorted(counts, key=lambda sev: SEVERITY_RANK.get(sev or "", -1), reverse=f.order == "desc")
    by_id = Finding.id.desc() if f.order == "desc" else Finding.id.asc()
    rows: list[Any] = []
    for sev in ranked:
        if offset >= counts[sev]:
            offset -= counts[sev]
            continue
        want = PAGE_SIZE - len(rows)
        same = Finding.severity == sev if sev else Finding.severity.notin_(SEVERITY_RANK)
        query = _where(select(*LISTED), f).where(same).order_by(by_id)
        rows += s.execute(query.offset(offset).limit(want)).all()
        offset = 0
        if len(rows) >= PAGE_SIZE:
            break
    return rows


def _page_number(request: Request) -> int:
    value = request.query_params.get("page", "1")
    if not value.isdigit() or int(value) < 1:
        raise Refused(
            400, f"页码 {value!r} 无效：请用 1、2、3…", f"page {value!r} is not valid: use 1, 2, 3…"
        )
    return int(value)


@router.get("/findings")
def findings_list(request: Request, session: Viewer) -> Response:
    c = console(request)
    f = _filters(c, request)
    fmt = request.query_params.get("format", "html")
    if fmt not in ("html", "csv", "xlsx"):
        raise Refused(400, f"导出格式 {fmt!r} 无效：可选 csv、xlsx。", f"format {fmt!r}: choose csv or xlsx.")
    if fmt != "html":
        return _export(c, f, fmt)
    page = _page_number(request)
    with c.runtime.store.session() as s:
        total = s.scalar(_where(select(func.count()).select_from(Finding), f)) or 0
        rows = _page_rows(s, f, (page - 1) * PAGE_SIZE)
        rules = sorted(s.scalars(select(Finding.rule_id).distinct()))
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(
        request,
        "findings.html",
        {
            "rows": rows,
            "f": f,
            "q": dict(request.query_params),
            "total": total,
            "page": page,
            "pages": pages,
            "areas": AREAS,
            "severities": SEVERITIES,
            "statuses": STATUSES,
            "rules": rules,
            "sorts": SORTS,
        },
    )


def _export(c: Console, f: Filters, fmt: str) -> Response:
    cfg = c.runtime.config
    with c.runtime.store.session() as s:
        found = list(s.scalars(_ordered(_where(select(Finding), f), f).limit(EXPORT_MAX)))
        rows = [finding_row(x, cfg, local_times=False) for x in found]
        if fmt == "xlsx":
            zone = cfg.site.zone
            for row, x in zip(rows, found, strict=True):
                for key in TIME_COLUMNS:
                    value = from_store(getattr(x, "resolved_at" if key == "resolved_at" else key))
                    row[key] = value.astimezone(zone) if value is not None else None
                row["evidence"] = json.dumps(x.evidence, ensure_ascii=False) if x.evidence else ""
    stamp = utcnow().astimezone(cfg.site.zone).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        body = render_rows(rows, FINDING_COLUMNS, "csv") + "\n"
        return Response(
            body.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="findings-{stamp}.csv"'},
        )
    zh = c.language == "zh"
    columns = [
        Column(k, header_label(k, "zh" if zh else "en"), "datetime" if k in TIME_COLUMNS else "text")
        for k in FINDING_COLUMNS
    ]
    title = c.t("问题清单", "Findings")
    table = Table(key="findings", title=title, sheet=title, columns=columns, rows=rows)
    from ops_watch.report.xlsx import write_workbook  # start-up: openpyxl only when a workbook is asked for

    data = write_workbook([table], title, "", c.language, utcnow())
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": f'attachment; filename="findings-{stamp}.xlsx"'},
    )


def _batch_ids(value: Any, key: str = "") -> set[int]:
    """The batch ids an evidence value names (keys batch_id / batch_ids / batch, at any depth)."""
    found: set[int] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            found |= _batch_ids(v, str(k))
    elif isinstance(value, list):
        for v in value:
            found |= _batch_ids(v, key)
    elif key in ("batch_id", "batch_ids", "batch") and isinstance(value, int) and not isinstance(value, bool):
        found.add(value)
    return found


def _finding_page(
    request: Request,
    finding_id: int,
    message: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    c = console(request)
    with c.runtime.store.session() as s:
        finding = s.get(Finding, finding_id) if 0 < finding_id < MAX_ID else None
        if finding is None:
            raise Refused(404, f"没有编号为 {finding_id} 的问题。", f"No finding with id {finding_id}.")
        events = list(
            s.scalars(
                select(FindingEvent).where(FindingEvent.finding_id == finding_id).order_by(FindingEvent.id)
            )
        )
        ids = _batch_ids(finding.evidence or {})
        batches = (
            {b.id: b for b in s.scalars(select(EvidenceBatch).where(EvidenceBatch.id.in_(sorted(ids)[:500])))}
            if ids
            else {}
        )
        s.expunge_all()
    built = console(request).paths
    return render(
        request,
        "finding.html",
        {
            "finding": finding,
            "events": events,
            "batches": batches,
            "batch_link": "/evidence/batches/{batch_id}" in built,
            "message": message,
            "form": form or {},
            "default_until": (utcnow() + timedelta(days=7))
            .astimezone(c.runtime.config.site.zone)
            .strftime("%Y-%m-%dT%H:%M"),
        },
        status=status,
    )


@router.get("/findings/{finding_id}")
def finding_page(request: Request, finding_id: int, session: Viewer) -> Response:
    return _finding_page(request, finding_id)


@router.get("/findings/{finding_id}/receipt")
def finding_receipt(request: Request, finding_id: int, session: Viewer) -> Response:
    """The finding's receipt (docs/trail.md, "Receipts"), as `ops-watch findings receipt ID` writes it. Building
    it may index the batches the trail job has not reached yet: that is written to the chain."""
    # start-up: the trail's tables load with the one page that needs them
    from ops_watch.trail import receipt

    if not 0 < finding_id < MAX_ID:
        raise Refused(404, f"没有编号为 {finding_id} 的问题。", f"No finding with id {finding_id}.")
    with console(request).runtime.store.session() as s:
        try:
            built = receipt.build(s, finding_id)
        except receipt.ReceiptError as exc:
            raise Refused(404, str(exc), str(exc)) from exc
    data = (json.dumps(built, ensure_ascii=False, indent=1) + "\n").encode()
    name = quote(f"收据-{finding_id}.json")
    return Response(
        data,
        media_type="application/json",
        headers={
            "content-disposition": f"attachment; filename=\"receipt-{finding_id}.json\"; filename*=UTF-8''{name}"
        },
    )


def _act(
    request: Request,
    session: WebSession,
    finding_id: int,
    action: str,
    reason: str,
    until_text: str = "",
) -> Response:
    c = console(request)
    if not 0 < finding_id < MAX_ID:
        raise Refused(404, f"没有编号为 {finding_id} 的问题。", f"No finding with id {finding_id}.")
    reason = reason.strip()
    form = {"action": action, "reason": reason, "until": until_text}
    if not reason:
        message = c.t(
            "请填写原因：记录需要说明谁、为什么。", "Give a reason: the record says who decided and why."
        )
        return _finding_page(request, finding_id, message, form, status=400)
    by = session.account.name
    try:
        if action == "ack":
            engine.acknowledge(c.runtime.store, finding_id, by, reason)
        elif action == "unack":
            engine.unacknowledge(c.runtime.store, finding_id, by, reason)
        else:
            if not until_text.strip():
                message = c.t("请填写静默截止时间。", "Give the time the silence ends.")
                return _finding_page(request, finding_id, message, form, status=400)
            try:
                until = parse_datetime(until_text, c.runtime.config.site.zone)
            except ValueError:
                message = c.t(
                    f"截止时间 {until_text!r} 无效：请写成 2026-11-09 18:00。",
                    f"End time {until_text!r} is not a time: write e.g. 2026-11-09 18:00.",
                )
                return _finding_page(request, finding_id, message, form, status=400)
            engine.silence(c.runtime.store, finding_id, until, by, reason)
    except engine.FindingError as exc:
        with c.runtime.store.session() as s:
            exists = s.get(Finding, finding_id) is not None
        if not exists:
            raise Refused(
                404, f"没有编号为 {finding_id} 的问题。", f"No finding with id {finding_id}."
            ) from None
        record(request, f"finding.{action}", ok=False, detail=f"finding {finding_id}: {exc}")
        return _finding_page(request, finding_id, c.t(f"未执行：{exc}", f"Not done: {exc}"), form, status=409)
    detail = f"finding {finding_id}: {reason}" + (f" (until {until_text})" if action == "silence" else "")
    record(request, f"finding.{action}", ok=True, detail=detail)
    return RedirectResponse(f"/findings/{finding_id}", status_code=303)


@router.post("/findings/{finding_id}/ack")
def finding_ack(
    request: Request,
    session: OperatorForm,
    finding_id: int,
    reason: str = Form(""),
) -> Response:
    return _act(request, session, finding_id, "ack", reason)


@router.post("/findings/{finding_id}/unack")
def finding_unack(
    request: Request,
    session: OperatorForm,
    finding_id: int,
    reason: str = Form(""),
) -> Response:
    return _act(request, session, finding_id, "unack", reason)


@router.post("/findings/{finding_id}/silence")
def finding_silence(
    request: Request,
    session: OperatorForm,
    finding_id: int,
    reason: str = Form(""),
    until: str = Form(""),
) -> Response:
    return _act(request, session, finding_id, "silence", reason, until)
