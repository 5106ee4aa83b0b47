"""What every page of the console shares: the templates, the signed-in session, the role and CSRF checks,
the client's address behind a trusted proxy, and the refusals that become pages (never tracebacks).

A page module is an `APIRouter` whose routes are plain `def`s (FastAPI runs them in its thread pool, so a
store that waits on SQLite's busy_timeout never blocks the event loop) and use:

    session: Viewer          # a page: no session -> redirect to /login (Operator, Admin: that role too)
    session: OperatorForm    # a form POST: session, CSRF token (field "csrf") and role checked, every
                             # refusal recorded (sessions.record); ViewerForm, AdminForm likewise
    return render(request, "page.html", {...})                # base.html's nav, language, csrf in the context
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ops_watch.core.labels import FINDING_ACTION_ZH, FINDING_STATUS_ZH
from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.core.vocabulary import AREA_ZH, SEVERITY_COLOUR, SEVERITY_ZH, text
from ops_watch.runtime import Runtime
from ops_watch.store.shared import ViewCache
from ops_watch.web import accounts, sessions
from ops_watch.web.sessions import WebSession

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# The console's sections, in the nav's order: (path, 中文, English). A section whose path has no route yet is
# shown greyed out; a page module adds its route and the nav lights it up.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("/", "概览", "Overview"),
    ("/findings", "问题", "Findings"),
    ("/silences", "静默", "Silences"),
    ("/staffing", "人员", "Staffing"),
    ("/resources", "资源", "Resources"),
    ("/continuity", "连续性", "Continuity"),
    ("/money", "经费与考核", "Money and score"),
    ("/governance", "管理资料", "Governance"),
    ("/evidence", "证据", "Evidence"),
    ("/reports", "周报", "Reports"),
)
STATUS_ZH, ACTION_ZH = FINDING_STATUS_ZH, FINDING_ACTION_ZH  # the CLI's tables say the same (core/labels.py)


@dataclass
class Console:
    """What the app holds for its pages: the runtime (config, rules, store) and the templates."""

    runtime: Runtime
    env: Environment = field(init=False)
    # The paths the pages serve (create_app fills it from the page modules' routers): the nav lights a section
    # and a page links to another only when it exists. FastAPI's app.routes hides included routers' paths.
    paths: frozenset[str] = frozenset()
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(init=False)
    views: ViewCache = field(
        init=False
    )  # a month's shift proof, the score: shared by the pages (store/shared.py)

    def __post_init__(self) -> None:
        self.views = ViewCache(self.runtime.store)
        self.env = Environment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        zone = self.runtime.config.site.zone
        self.env.globals.update(
            lang=self.language,
            t=self.t,
            site=self.runtime.config.site.name,
            local=lambda value: format_local(value, zone),
            severity_name=lambda s: self.t(SEVERITY_ZH.get(s, s), s),
            severity_colour=SEVERITY_COLOUR,
            status_name=lambda s: self.t(STATUS_ZH.get(s, s), s),
            area_name=lambda a: self.t(AREA_ZH.get(a, a), a) if a else "",
            action_name=lambda a: self.t(ACTION_ZH.get(a, a), a),
        )
        self.proxies = [
            ipaddress.ip_network(p, strict=False) for p in self.runtime.config.web.trusted_proxies
        ]

    @property
    def language(self) -> str:
        return self.runtime.config.language

    def t(self, zh: str, en: str) -> str:
        return text(self.language, zh, en)


class LoginNeeded(Exception):
    """No valid session: a page redirects to /login, a form POST says the session has ended."""


class Refused(Exception):
    """A request refused with a page: 400 (bad input), 403 (role, CSRF), 404 (no such thing)."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


def console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def _trusted(console_: Console, host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in console_.proxies)


def client_address(request: Request) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the last address in
    X-Forwarded-For that is not itself a trusted proxy."""
    c = console(request)
    peer = request.client.host if request.client else ""
    if not _trusted(c, peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(c, hop):
            return hop
    return peer


def over_tls(request: Request) -> bool:
    """Served over HTTPS: our own certificate, or a trusted proxy saying so (X-Forwarded-Proto)."""
    c = console(request)
    if c.runtime.config.web.tls_cert is not None or request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else ""
    return _trusted(c, peer) and request.headers.get("x-forwarded-proto", "").lower() == "https"


def current_session(request: Request) -> WebSession | None:
    """The session of the request's cookie (looked up once per request), or None.

    Single sign-on: when `[web] proxy_user_header` is set and the peer is a trusted proxy naming a user in that
    header, the session is that user's: the cookie's if it is theirs, else a new one (its cookie is set on the
    response by app.SecurityHeaders from `request.state.new_cookie`). An unknown or disabled user gets none.
    """
    if hasattr(request.state, "session"):
        return request.state.session  # type: ignore[no-any-return]
    c = console(request)
    web = c.runtime.config.web
    cookie = request.cookies.get(sessions.COOKIE)
    now = utcnow()
    session = sessions.session_of(c.runtime.store, web, cookie, now) if cookie else None
    peer = request.client.host if request.client else ""
    sso_name = request.headers.get(web.proxy_user_header, "").strip() if web.proxy_user_header else ""
    if sso_name and _trusted(c, peer) and (session is None or session.account.name != sso_name):
        account = accounts.account_named(c.runtime.store, sso_name)
        session = None
        if account is not None:
            new_cookie, session = sessions.open_session(
                c.runtime.store,
                account,
                address=client_address(request),
                user_agent=request.headers.get("user-agent", "")[:512],
                at=now,
            )
            request.state.new_cookie = (new_cookie, over_tls(request))
    request.state.session = session
    return session


def record(request: Request, action: str, *, ok: bool, detail: str = "", user: str | None = None) -> None:
    """One line of the audit trail for this request (who, when, from where)."""
    c = console(request)
    if user is None:
        session = getattr(request.state, "session", None)
        user = session.account.name if session is not None else ""
    sessions.record(
        c.runtime.store,
        action,
        user=user,
        address=client_address(request),
        ok=ok,
        detail=detail[:500],
        at=utcnow(),
    )


def _check_role(request: Request, session: WebSession, role: str) -> None:
    """Refused (403, recorded) unless the session's role allows `role` (viewer < operator < admin)."""
    if not accounts.role_allows(session.account.role, role):
        record(request, "refused", ok=False, detail=f"{request.method} {request.url.path}: needs {role}")
        raise Refused(
            403,
            f"需要「{role}」角色才能这样做；请联系管理员。",
            f"This needs the {role} role; ask an administrator.",
        )


def require(role: str) -> Callable[[Request], WebSession]:
    """A dependency: the session, which must hold `role` (viewer < operator < admin)."""

    def dependency(request: Request) -> WebSession:
        session = current_session(request)
        if session is None:
            raise LoginNeeded()
        _check_role(request, session, role)
        return session

    return dependency


def require_write(role: str) -> Callable[..., WebSession]:
    """A dependency for a form POST: a live session, the form's CSRF token, then the role. Every refusal is
    recorded with who (if known), where and why."""

    def dependency(request: Request, csrf: str = Form("")) -> WebSession:
        where = f"{request.method} {request.url.path}"
        session = current_session(request)
        if session is None:
            record(request, "refused", ok=False, detail=f"{where}: no valid session")
            raise LoginNeeded()
        if not sessions.csrf_ok(session, csrf or None):
            record(request, "refused", ok=False, detail=f"{where}: CSRF token missing or wrong")
            raise Refused(
                403,
                "表单已失效（CSRF 校验未通过）：请刷新页面后重新提交。",
                "The form is no longer valid (CSRF check failed): reload the page and submit again.",
            )
        _check_role(request, session, role)
        return session

    return dependency


# The dependencies as annotations, for a route's signature: `session: Viewer`, `session: OperatorForm`.
Viewer = Annotated[WebSession, Depends(require("viewer"))]
Operator = Annotated[WebSession, Depends(require("operator"))]
Admin = Annotated[WebSession, Depends(require("admin"))]
ViewerForm = Annotated[WebSession, Depends(require_write("viewer"))]
OperatorForm = Annotated[WebSession, Depends(require_write("operator"))]
AdminForm = Annotated[WebSession, Depends(require_write("admin"))]


def nav(request: Request) -> list[dict[str, Any]]:
    c = console(request)
    built = c.paths
    here = request.url.path
    items = []
    for path, zh, en in SECTIONS:
        active = here == path if path == "/" else here == path or here.startswith(path + "/")
        items.append({"path": path, "title": c.t(zh, en), "built": path in built, "active": active})
    return items


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page from templates/, with what base.html needs: nav, language, t(), the user and CSRF token."""
    c = console(request)
    session = getattr(request.state, "session", None)
    page = c.env.get_template(template).render(
        request=request,
        nav=nav(request),
        session=session,
        csrf=session.csrf if session is not None else "",
        **(context or {}),
    )
    return HTMLResponse(page, status_code=status)


def login_redirect_target(request: Request) -> str:
    """/login?next=<this page> (a local path only)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


def safe_next(value: str | None) -> str:
    """Where to go after login: a path on this server only (no //host, no scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


__all__ = [
    "Admin",
    "AdminForm",
    "Console",
    "LoginNeeded",
    "Operator",
    "OperatorForm",
    "Refused",
    "SECTIONS",
    "Viewer",
    "ViewerForm",
    "client_address",
    "console",
    "current_session",
    "over_tls",
    "record",
    "render",
    "require",
    "require_write",
    "safe_next",
]
