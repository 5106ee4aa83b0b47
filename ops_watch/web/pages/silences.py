"""静默: the silences by matcher, active and ended; create one (matchers, end time, reason); end one early."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from ops_watch.core.timeutil import from_store, parse_datetime, utcnow
from ops_watch.core.vocabulary import AREAS, SEVERITIES
from ops_watch.findings import silences
from ops_watch.store.schema import Silence
from ops_watch.web.frame import OperatorForm, Viewer, console, record, render

router = APIRouter()
ENDED_SHOWN = 100  # ended silences listed (newest first)


def _page(
    request: Request, message: str = "", form: dict[str, str] | None = None, status: int = 200
) -> Response:
    c = console(request)
    now = utcnow()
    with c.runtime.store.session() as s:
        active = list(s.scalars(select(Silence).where(Silence.ends_at > now).order_by(Silence.ends_at)))
        ended = list(
            s.scalars(
                select(Silence)
                .where(Silence.ends_at <= now)
                .order_by(Silence.ends_at.desc())
                .limit(ENDED_SHOWN)
            )
        )
        s.expunge_all()
    zone = c.runtime.config.site.zone
    return render(
        request,
        "silences.html",
        {
            "active": [x for x in active if from_store(x.starts_at) <= now]
            + [x for x in active if from_store(x.starts_at) > now],
            "ended": ended,
            "message": message,
            "form": form or {},
            "areas": AREAS,
            "severities": SEVERITIES,
            "rules": sorted(r.id for r in c.runtime.rules.rules),
            "default_until": (now + timedelta(days=7)).astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        },
        status=status,
    )


@router.get("/silences")
def silences_page(request: Request, session: Viewer) -> Response:
    return _page(request)


@router.post("/silences")
def silence_create(
    request: Request,
    session: OperatorForm,
    rule: str = Form(""),
    check: str = Form(""),
    area: str = Form(""),
    severity: str = Form(""),
    subject: str = Form(""),
    until: str = Form(""),
    reason: str = Form(""),
) -> Response:
    c = console(request)
    form = {
        "rule": rule.strip(),
        "check": check.strip(),
        "area": area.strip(),
        "severity": severity.strip(),
        "subject": subject.strip(),
        "until": until.strip(),
        "reason": reason.strip(),
    }
    problems: list[str] = []
    matchers = silences.Matchers(
        rule=form["rule"],
        check=form["check"],
        area=form["area"],
        severity=form["severity"],
        subject=form["subject"],
    )
    try:
        silences.validate(matchers, {r.id for r in c.runtime.rules.rules})
    except silences.SilenceError as exc:
        problems.append(
            c.t("至少填写一个匹配条件（规则、检查、领域、级别或对象）", "give at least one matcher")
            if not matchers.as_dict()
            else str(exc).replace("--", "")
        )
    ends = None
    if not form["until"]:
        problems.append(c.t("请填写截止时间", "give the end time"))
    else:
        try:
            ends = parse_datetime(form["until"], c.runtime.config.site.zone)
        except ValueError:
            problems.append(
                c.t(
                    f"截止时间 {form['until']!r} 无效（例：2026-11-09 18:00）",
                    f"end time {form['until']!r} is not a time (e.g. 2026-11-09 18:00)",
                )
            )
    if not form["reason"]:
        problems.append(c.t("请填写原因", "give a reason"))
    if not problems and ends is not None:
        try:
            silence, count = silences.create(
                c.runtime.store, matchers, ends, session.account.name, form["reason"]
            )
        except silences.SilenceError as exc:
            problems.append(c.t("截止时间必须晚于现在", str(exc)))
        else:
            shown = ", ".join(f"{k}={v}" for k, v in matchers.as_dict().items())
            record(
                request,
                "silence.create",
                ok=True,
                detail=f"silence #{silence.id} ({shown}) until {form['until']}: {form['reason']} ({count} silenced)",
            )
            return RedirectResponse("/silences", status_code=303)
    message = c.t("未创建静默：", "Silence not created: ") + "；".join(problems)
    return _page(request, message, form, status=400)


@router.post("/silences/{silence_id}/expire")
def silence_expire(
    request: Request,
    session: OperatorForm,
    silence_id: int,
    reason: str = Form(""),
) -> Response:
    c = console(request)
    if not reason.strip():
        return _page(
            request, c.t("提前结束静默需要填写原因。", "Give a reason to end a silence early."), status=400
        )
    if not 0 < silence_id < 2**63:
        return _page(request, c.t(f"没有静默 #{silence_id}。", f"No silence #{silence_id}."), status=404)
    try:
        count = silences.expire(c.runtime.store, silence_id, session.account.name, reason.strip())
    except silences.SilenceError as exc:
        record(request, "silence.expire", ok=False, detail=f"silence #{silence_id}: {exc}")
        status = 404 if "no silence" in str(exc) else 409
        return _page(request, c.t(f"未执行：{exc}", f"Not done: {exc}"), status=status)
    record(
        request,
        "silence.expire",
        ok=True,
        detail=f"silence #{silence_id}: {reason.strip()} ({count} reopened)",
    )
    return RedirectResponse("/silences", status_code=303)
