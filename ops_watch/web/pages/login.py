"""Login and logout. The login form carries its own CSRF token (a cookie and a hidden field that must
match), since there is no session yet to hold one."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ops_watch.core.timeutil import format_local, utcnow
from ops_watch.web import accounts, sessions
from ops_watch.web.frame import (
    ViewerForm,
    client_address,
    console,
    current_session,
    over_tls,
    record,
    render,
    safe_next,
)

router = APIRouter()
LOGIN_COOKIE = "ops_watch_login"  # the login form's CSRF token (double submit)


def _login_page(
    request: Request, next_: str, message: str = "", name: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"next": safe_next(next_), "message": message, "name": name, "login_token": token},
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=over_tls(request), path="/login"
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002  (the query's name)
    if current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next)


@router.post("/login")
def login_submit(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    login_token: str = Form(""),
    next: str = Form("/"),  # noqa: A002
) -> Response:
    c = console(request)
    cookie_token = request.cookies.get(LOGIN_COOKIE, "")
    if not login_token or not cookie_token or not hmac.compare_digest(login_token, cookie_token):
        record(
            request,
            "refused",
            ok=False,
            user=name[:128],
            detail="POST /login: login form token missing or wrong",
        )
        message = c.t(
            "登录表单已失效：请刷新页面后重新登录（需要允许 Cookie）。",
            "The login form has expired: reload the page and log in again (cookies must be allowed).",
        )
        return _login_page(request, next, message, name, status=403)
    if not name.strip() or not password:
        message = c.t("请输入用户名和密码。", "Enter your user name and password.")
        return _login_page(request, next, message, name, status=400)
    at = utcnow()
    address = client_address(request)
    result = accounts.login(c.runtime.store, c.runtime.config.web, name, password, address=address, at=at)
    if isinstance(result, accounts.LoginRefused):
        message = c.t(result.reason_zh, result.reason_en)
        if result.locked_until is not None:
            until = format_local(result.locked_until, c.runtime.config.site.zone)
            message += c.t(f"（锁定至 {until}）", f" (locked until {until})")
        return _login_page(request, next, message, name, status=401)
    cookie, _session = sessions.open_session(
        c.runtime.store,
        result,
        address=address,
        user_agent=request.headers.get("user-agent", "")[:512],
        at=at,
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=over_tls(request),
        path="/",
        max_age=int(c.runtime.config.web.session_lifetime.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: ViewerForm) -> Response:
    c = console(request)
    cookie = request.cookies.get(sessions.COOKIE, "")
    sessions.close_session(c.runtime.store, cookie, utcnow(), address=client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        sessions.COOKIE, path="/", httponly=True, samesite="strict", secure=over_tls(request)
    )
    return response
