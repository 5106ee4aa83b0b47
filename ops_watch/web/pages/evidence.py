"""证据: the evidence batches (newest first, by kind and status), a batch's page with its refused rows, the
refused file's `.errors.csv` report, and each kind's last evidence as the evidence_freshness check sees it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import func, select

from ops_watch.areas.evidence.checks import FreshnessParams, batch_detail, latest_evidence_time
from ops_watch.core.timeutil import from_store, utcnow
from ops_watch.findings.registry import CheckContext
from ops_watch.formats import KINDS
from ops_watch.ingest import REPORT_SUFFIX
from ops_watch.store.schema import EvidenceBatch, RowError
from ops_watch.web.frame import Console, Refused, Viewer, console, render

router = APIRouter()
PAGE_SIZE = 50
ROW_ERRORS_SHOWN = 200  # a batch's page lists its first refused rows; the .errors.csv report has them all
MAX_ID = 2**63
STATUSES = ("accepted", "partial", "rejected")
STATUS_ZH = {"accepted": "已接收", "partial": "部分接收", "rejected": "已拒收"}


def _kind_title(c: Console, kind: str) -> str:
    spec = KINDS.get(kind)
    return c.t(spec.title_zh, kind) if spec is not None else kind


def _reason(c: Console, batch: EvidenceBatch) -> str:
    detail = batch_detail(batch.detail or "")
    zh, en = detail.get("reason_zh"), detail.get("reason")
    return str(c.t(zh or en or "", en or zh or ""))


def _page_number(request: Request) -> int:
    value = request.query_params.get("page", "1")
    if not value.isdigit() or int(value) < 1:
        raise Refused(
            400, f"页码 {value[:20]!r} 无效：请用 1、2、3…", f"page {value[:20]!r} is not valid: use 1, 2, 3…"
        )
    return int(value)


def _freshness(c: Console) -> list[dict[str, Any]]:
    """Per evidence kind: its newest evidence as evidence_freshness judges it (latest_evidence_time: by the
    records' own time where they carry one), the rule's max_age, and the last batch with usable rows."""
    rt = c.runtime
    now = utcnow()
    limits: dict[str, tuple[str, timedelta]] = {}
    for rule in rt.rules.enabled:
        if rule.check.name == "evidence_freshness" and isinstance(rule.params, FreshnessParams):
            kind = rule.params.kind
            if kind not in limits or rule.params.max_age < limits[kind][1]:
                limits[kind] = (rule.id, rule.params.max_age)
    with rt.store.session() as s:
        last_ok = dict(
            s.execute(
                select(EvidenceBatch.kind, func.max(EvidenceBatch.received_at))
                .where(EvidenceBatch.rows_ok > 0)
                .group_by(EvidenceBatch.kind)
            ).all()
        )
        kinds = sorted(set(limits) | set(last_ok))
        ctx = CheckContext(
            session=s, at=now, zone=rt.config.site.zone, contract=rt.rules.contract, language=c.language
        )
        rows = []
        for kind in kinds:
            latest = from_store(latest_evidence_time(ctx, kind))
            rule_id, max_age = limits.get(kind, ("", None))
            age = now - latest if latest is not None else None
            if max_age is None:
                state = "unwatched"
            elif latest is None:
                state = "never"
            else:
                state = "silent" if age is not None and age > max_age else "fresh"
            rows.append(
                {
                    "kind": kind,
                    "title": _kind_title(c, kind),
                    "latest": latest,
                    "age_hours": None if age is None else round(age.total_seconds() / 3600, 1),
                    "max_age_hours": None if max_age is None else round(max_age.total_seconds() / 3600, 1),
                    "rule": rule_id,
                    "last_batch": from_store(last_ok.get(kind)),
                    "state": state,
                }
            )
    return rows


@router.get("/evidence")
def evidence_page(request: Request, session: Viewer) -> Response:
    c = console(request)
    q = request.query_params
    kind = q.get("kind", "").strip()[:64]
    status = q.get("status", "").strip()
    if status and status not in STATUSES:
        raise Refused(
            400,
            f"参数 status={status[:40]!r} 无效：可选 {', '.join(STATUSES)}。",
            f"status={status[:40]!r} is not valid: choose one of {', '.join(STATUSES)}.",
        )
    page = _page_number(request)
    query = select(EvidenceBatch)
    counted = select(func.count()).select_from(EvidenceBatch)
    if kind:
        query, counted = query.where(EvidenceBatch.kind == kind), counted.where(EvidenceBatch.kind == kind)
    if status:
        query = query.where(EvidenceBatch.status == status)
        counted = counted.where(EvidenceBatch.status == status)
    with c.runtime.store.session() as s:
        total = s.scalar(counted) or 0
        batches = list(
            s.scalars(
                query.order_by(EvidenceBatch.received_at.desc(), EvidenceBatch.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
        )
        kinds = sorted(set(s.scalars(select(EvidenceBatch.kind).distinct())) | ({kind} - {""}))
        s.expunge_all()
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    raw = {k: v for k, v in (("kind", kind), ("status", status)) if v}

    def link(n: int) -> str:
        return "/evidence?" + urlencode({**raw, "page": n})

    return render(
        request,
        "evidence.html",
        {
            "batches": batches,
            "reasons": {b.id: _reason(c, b) for b in batches},
            "kind": kind,
            "status": status,
            "kinds": [(k, _kind_title(c, k)) for k in kinds],
            "statuses": [(x, c.t(STATUS_ZH[x], x)) for x in STATUSES],
            "status_title": lambda x: c.t(STATUS_ZH.get(x, x), x),
            "total": total,
            "page": page,
            "pages": pages,
            "link": link,
            "freshness": _freshness(c),
        },
    )


def _batch(c: Console, batch_id: int) -> EvidenceBatch:
    with c.runtime.store.session() as s:
        batch = s.get(EvidenceBatch, batch_id) if 0 < batch_id < MAX_ID else None
        if batch is None:
            raise Refused(
                404, f"没有编号为 {batch_id} 的证据批次。", f"No evidence batch with id {batch_id}."
            )
        s.expunge(batch)
    return batch


def _report_path(c: Console, batch: EvidenceBatch) -> Path | None:
    """The batch's `.errors.csv` report: where the ingest recorded it (a file ingested by hand: under the
    state directory's ingest-reports), else beside its stored file (the drop folder's processed/ and
    rejected/); only if it lies under one of those two (resolved: no `..`, no symlink out of them) and exists."""
    recorded = batch_detail(batch.detail or "").get("report_path")
    if isinstance(recorded, str) and recorded:
        candidate = recorded
    elif batch.stored_path:
        candidate = batch.stored_path + REPORT_SUFFIX
    else:
        return None
    cfg = c.runtime.config
    roots = [cfg.drop_dir.resolve(), (cfg.state_dir / "ingest-reports").resolve()]
    try:
        path = Path(candidate).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    if not any(path.is_relative_to(root) for root in roots):
        return None
    return path if path.is_file() else None


@router.get("/evidence/batches/{batch_id}")
def batch_page(request: Request, batch_id: int, session: Viewer) -> Response:
    c = console(request)
    batch = _batch(c, batch_id)
    with c.runtime.store.session() as s:
        errors = list(
            s.scalars(
                select(RowError)
                .where(RowError.batch_id == batch_id)
                .order_by(RowError.row, RowError.id)
                .limit(ROW_ERRORS_SHOWN)
            )
        )
        kept = s.scalar(select(func.count()).select_from(RowError).where(RowError.batch_id == batch_id)) or 0
        s.expunge_all()
    return render(
        request,
        "batch.html",
        {
            "batch": batch,
            "kind_title": _kind_title(c, batch.kind),
            "status_title": c.t(STATUS_ZH.get(batch.status, batch.status), batch.status),
            "reason": _reason(c, batch),
            "errors": errors,
            "errors_kept": kept,
            "shown": ROW_ERRORS_SHOWN,
            "report": _report_path(c, batch) is not None,
            "file_name": Path(batch.stored_path).name if batch.stored_path else "",
        },
    )


@router.get("/evidence/batches/{batch_id}/errors.csv")
def batch_errors_csv(request: Request, batch_id: int, session: Viewer) -> Response:
    c = console(request)
    batch = _batch(c, batch_id)
    path = _report_path(c, batch)
    if path is None:
        raise Refused(
            404,
            f"批次 {batch_id} 没有可下载的错误报告（.errors.csv）。",
            f"Batch {batch_id} has no error report (.errors.csv) to download.",
        )
    name = path.name
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
        },
    )
