"""The read-only JSON API (/api/v1/): what the CLI prints with `--format json`, from the same functions, for
Zabbix, Grafana or a script. A bearer token (`ops-watch tokens create NAME --role viewer`, sent as
`Authorization: Bearer ow_…`) or a console session's cookie. Errors are JSON: {"error": 中文, "error_en": English}.
The schema is at /api/v1/openapi.json."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import select

from ops_watch import __version__
from ops_watch.areas.continuity.model import STATUS_COLUMNS, continuity_terms, status_rows
from ops_watch.areas.money.score.model import contractor_score, score_json
from ops_watch.areas.resources.utilization import reclaim_list, reclaim_totals
from ops_watch.areas.staffing.presence import (
    SHIFT_COLUMNS,
    build_view,
    month_bounds,
    rate_rows,
    shift_rows,
    staffing_terms,
)
from ops_watch.core.output import render
from ops_watch.core.timeutil import parse_date, parse_datetime, utcnow
from ops_watch.core.vocabulary import SEVERITIES
from ops_watch.findings.listing import FINDING_COLUMNS, finding_row, history_query, history_rows, list_query
from ops_watch.report.archive import list_reports
from ops_watch.store.schema import ApiToken, Finding
from ops_watch.web import accounts
from ops_watch.web.frame import console, current_session

STATUSES = ("active", "open", "acknowledged", "silenced", "resolved", "all")
REPORT_COLUMNS = ["week", "status", "language", "built_at", "files", "bytes", "check", "path"]
MAX_ID = 2**63
LIMIT_MAX = 100_000


class ApiError(Exception):
    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


class ApiRoute(APIRoute):
    """A route whose ApiError (from the route or its dependencies) is answered as JSON in both languages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                headers = {"www-authenticate": "Bearer"} if exc.status == 401 else None
                return JSONResponse(
                    {"error": exc.zh, "error_en": exc.en}, status_code=exc.status, headers=headers
                )

        return answer


router = APIRouter(prefix="/api/v1", route_class=ApiRoute, tags=["api"])
bearer = HTTPBearer(auto_error=False, description="ops-watch tokens create NAME --role viewer")


def caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str:
    """Who asks: a valid token ("token:NAME") or a console session's user. 401 without, 403 revoked."""
    c = console(request)
    header = request.headers.get("authorization")
    if header is not None:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(401, "请用 Authorization: Bearer <令牌>。", "Send Authorization: Bearer <token>.")
        account = accounts.token_account(c.runtime.store, credentials.credentials, utcnow())
        if account is not None:
            return account.name
        digest = hashlib.sha256(credentials.credentials.encode("utf-8")).hexdigest()
        with c.runtime.store.session() as s:
            revoked = s.scalar(select(ApiToken.revoked).where(ApiToken.token_sha256 == digest))
        if revoked:
            raise ApiError(403, "此令牌已被吊销。", "This token has been revoked.")
        raise ApiError(401, "令牌无效。", "The token is not valid.")
    session = current_session(request)
    if session is None:
        raise ApiError(
            401,
            "需要登录：请用 Authorization: Bearer <令牌>（ops-watch tokens create）。",
            "Authentication required: send Authorization: Bearer <token> (ops-watch tokens create).",
        )
    return session.account.name


Caller = Annotated[str, Depends(caller)]


def _json(text: str) -> Response:
    return Response(text, media_type="application/json")


def _at(request: Request, value: str) -> datetime:
    if not value:
        return utcnow()
    try:
        return parse_datetime(value, console(request).runtime.config.site.zone)
    except ValueError as exc:
        raise ApiError(
            400, f"at={value!r} 不是时间：请写成 2026-11-02T08:30。", f"at={value!r}: {exc}"
        ) from None


# The response models: what /api/v1/openapi.json documents (the fields are the CLI's --format json keys).


class FindingOut(BaseModel):
    id: int
    rule: str
    check: str
    severity: str
    status: str
    subject: str
    period_start: str | None
    period_end: str | None
    summary: str
    evidence: dict[str, Any] | None
    first_seen: str | None
    last_seen: str | None
    resolved_at: str | None


class HistoryOut(BaseModel):
    at: str
    action: str
    by: str | None
    why: str | None
    until: str | None


class FindingDetail(FindingOut):
    area: str | None
    silenced_until: str | None
    history: list[HistoryOut]


class RateOut(BaseModel):
    period: str
    required: int
    evidenced: int
    rate: float | None


class ReclaimOut(BaseModel):
    at: str
    items: list[dict[str, Any]]
    totals: dict[str, Any]


class ReportOut(BaseModel):
    week: str
    status: str
    language: str
    built_at: str
    files: int
    bytes: int
    check: str
    path: str


class ErrorOut(BaseModel):
    error: str
    error_en: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut},
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
}


@router.get("/findings", response_model=list[FindingOut], responses=ERRORS)
def api_findings(
    request: Request,
    who: Caller,
    status: str = "active",
    rule: str = "",
    severity: str = "",
    limit: str = "",
    offset: str = "0",
) -> Response:
    """`ops-watch findings list --format json`: status (active = not resolved), rule, severity; newest first.
    `limit` / `offset` page a long list (all rows without limit, at most 100,000)."""
    if status not in STATUSES:
        raise ApiError(400, f"status 可选 {', '.join(STATUSES)}。", f"status: one of {', '.join(STATUSES)}.")
    if severity and severity not in SEVERITIES:
        raise ApiError(
            400, f"severity 可选 {', '.join(SEVERITIES)}。", f"severity: one of {', '.join(SEVERITIES)}."
        )
    if not (limit == "" or limit.isdigit() and 0 < int(limit) <= LIMIT_MAX) or not offset.isdigit():
        raise ApiError(
            400, f"limit 为 1–{LIMIT_MAX}，offset ≥ 0。", f"limit: 1 to {LIMIT_MAX}; offset: 0 or more."
        )
    c = console(request)
    query = list_query(status, rule or None, severity or None)
    query = query.offset(int(offset)).limit(int(limit or LIMIT_MAX))
    with c.runtime.store.session() as s:
        rows = [finding_row(f, c.runtime.config, local_times=False) for f in s.scalars(query)]
    return _json(render(rows, FINDING_COLUMNS, "json"))


@router.get(
    "/findings/{finding_id}", response_model=FindingDetail, responses={**ERRORS, 404: {"model": ErrorOut}}
)
def api_finding(request: Request, who: Caller, finding_id: str) -> Response:
    """`ops-watch findings show ID --format json`: the finding, its evidence and its history."""
    c = console(request)
    with c.runtime.store.session() as s:
        number = (
            int(finding_id) if finding_id.isascii() and finding_id.isdigit() and len(finding_id) < 20 else 0
        )
        f = s.get(Finding, number) if 0 < number < MAX_ID else None
        if f is None:
            raise ApiError(404, f"没有编号为 {finding_id} 的问题。", f"No finding with id {finding_id}.")
        row = finding_row(f, c.runtime.config, local_times=False)
        history = history_rows(s.scalars(history_query(f.id)).all(), c.runtime.config, local_times=False)
    return _json(json.dumps({**row, "history": history}, ensure_ascii=False, indent=2))


def _staffing_view(request: Request, first: Any, last: Any, at: datetime) -> Any:
    rt = console(request).runtime
    if not staffing_terms(rt.rules.contract).shifts:
        raise ApiError(
            409,
            "contract.toml 没有 [staffing] 部分：没有班次。",
            "contract.toml has no [staffing] section: no shifts to show.",
        )
    with rt.store.session() as s:
        return build_view(s, rt.rules.contract, rt.config.site.zone, at, first, last)


@router.get("/staffing/shifts", response_model=list[dict[str, Any]], responses=ERRORS)
def api_shifts(
    request: Request,
    who: Caller,
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    at: str = "",
) -> Response:
    """`ops-watch staffing shifts --from DAY --to DAY --format json`: shift by shift."""
    try:
        first, last = parse_date(from_), parse_date(to)
    except ValueError:
        raise ApiError(
            400, "请给出 from 和 to，如 2026-11-01。", "Give from and to as days, e.g. 2026-11-01."
        ) from None
    if last < first or (last - first).days > 366:
        raise ApiError(400, "to 须不早于 from，且不超过一年。", "to must be after from, within a year.")
    view = _staffing_view(request, first, last, _at(request, at))
    rows = shift_rows(view, console(request).runtime.config.language)
    return _json(render(rows, list(rows[0]) if rows else SHIFT_COLUMNS, "json"))


@router.get("/staffing/rate", response_model=list[RateOut], responses=ERRORS)
def api_rate(request: Request, who: Caller, month: str = "", by: str = "week", at: str = "") -> Response:
    """`ops-watch staffing rate --month M --by B --format json`: the month's total always last."""
    try:
        first, last = month_bounds(month)
    except ValueError:
        raise ApiError(400, "请给出 month，如 2026-11。", "Give month, e.g. 2026-11.") from None
    choices = ("month", "week", "day", "shift", "shift_name")
    if by not in choices:
        raise ApiError(400, f"by 可选 {', '.join(choices)}。", f"by: one of {', '.join(choices)}.")
    view = _staffing_view(request, first, last, _at(request, at))
    rows = rate_rows(view, by, month, console(request).runtime.config.language)
    return _json(render(rows, ["period", "required", "evidenced", "rate"], "json"))


@router.get("/resources/reclaim", response_model=ReclaimOut, responses=ERRORS)
def api_reclaim(request: Request, who: Caller, at: str = "") -> Response:
    """`ops-watch resources idle --format json`: the reclaim list and its totals."""
    rt = console(request).runtime
    when = _at(request, at)
    with rt.store.session() as s:
        rows = reclaim_list(s, when)
    body = {"at": when.isoformat(), "items": rows, "totals": reclaim_totals(rows)}
    return _json(json.dumps(body, ensure_ascii=False, indent=2, default=str))


@router.get("/continuity", response_model=list[dict[str, Any]], responses=ERRORS)
def api_continuity(request: Request, who: Caller, at: str = "") -> Response:
    """`ops-watch continuity status --format json`: one row per protected system."""
    rt = console(request).runtime
    terms = continuity_terms(rt.rules.contract)
    if not terms.systems and not terms.inventory_class:
        raise ApiError(
            409,
            "contract.toml 没有 [continuity] 系统。",
            "contract.toml has no [continuity] systems: nothing to show.",
        )
    when = _at(request, at)
    with rt.store.session() as s:
        rows = status_rows(s, rt.rules.contract, when, rt.config.site.zone, rt.config.language)
    return _json(render(rows, STATUS_COLUMNS, "json"))


@router.get("/score", response_model=dict[str, Any], responses=ERRORS)
def api_score(request: Request, who: Caller, at: str = "") -> Response:
    """`ops-watch score --format json`: every indicator with formula, inputs, evidence; the total and band."""
    rt = console(request).runtime
    zone = rt.config.site.zone
    when = _at(request, at)
    with rt.store.session() as s:
        score = contractor_score(s, rt.rules.contract, zone, when, rt.config.language)
    return _json(json.dumps(score_json(score, zone), ensure_ascii=False, indent=2))


@router.get("/reports", response_model=list[ReportOut], responses=ERRORS)
def api_reports(request: Request, who: Caller) -> Response:
    """`ops-watch report list --format json`: the archived weeks, each checked against its manifest."""
    rows = list_reports(console(request).runtime.config.reports_dir)
    return _json(render(rows, REPORT_COLUMNS, "json"))


@router.get("/openapi.json", include_in_schema=False)
def api_schema(request: Request, who: Caller) -> Response:
    schema = get_openapi(
        title="ops-watch API",
        version=__version__,
        description=__doc__ or "",
        routes=router.routes,
    )
    return JSONResponse(schema)
