"""The console's ASGI application: `create_app(runtime)` wires the pages, the static files, the security
headers and the refusals (400/401/403/404, "store busy") that are pages, never tracebacks."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ops_watch.core.log import get_logger
from ops_watch.runtime import Runtime
from ops_watch.store import store_locked
from ops_watch.web import api, sessions
from ops_watch.web.accounts import StoreBusy
from ops_watch.web.frame import STATIC, Console, LoginNeeded, Refused, login_redirect_target, render
from ops_watch.web.pages import (
    continuity,
    door_push,
    evidence,
    findings,
    governance,
    login,
    metrics,
    money,
    overview,
    reports,
    resources,
    silences,
    staffing,
)

log = get_logger(__name__)

# The page modules, each an APIRouter; a new page group adds its module here.
PAGE_MODULES = (
    login,
    overview,
    findings,
    silences,
    resources,
    staffing,
    evidence,
    reports,
    api,
    governance,
    money,
    continuity,
    metrics,
    door_push,
)

SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """Every response (pages, static files, errors) carries the security headers; pages are not cached. It
    also says how long the server took to have it ready (Server-Timing `app`, ms: bench/web.py reads it, a
    browser's developer tools show it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")
        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                took = (time.perf_counter() - started) * 1000
                headers.append((b"server-timing", f"app;dur={took:.1f}".encode("ascii")))
                # A response with a policy of its own (a weekly report's body, for the report page's
                # <iframe sandbox>) keeps it, and may be framed by the console's own pages only.
                own = any(k.lower() == b"content-security-policy" for k, _ in headers)
                skip = (b"content-security-policy", b"x-frame-options") if own else ()
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in skip]
                if own:
                    headers.append((b"x-frame-options", b"SAMEORIGIN"))
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                new = scope.get("state", {}).get("new_cookie")
                if new is not None:  # a session a trusted proxy's user header opened (frame.current_session)
                    headers.append((b"set-cookie", session_cookie(*new).encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def session_cookie(value: str, secure: bool) -> str:
    """The Set-Cookie value of a session: HttpOnly, SameSite=Strict, Secure over TLS, the whole site."""
    return f"{sessions.COOKIE}={value}; HttpOnly; Path=/; SameSite=Strict" + ("; Secure" if secure else "")


def _locked(exc: BaseException) -> bool:
    return store_locked(exc) or isinstance(exc, StoreBusy)


# Pages run in worker threads; under the GIL more of them do not serve faster, and each keeps its own memory
# (the default is 40): 20 people at once wait their turn in a few threads (bench/web.py).
PAGE_THREADS = 4


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = PAGE_THREADS
    # What the imports made (about 120,000 objects) lives as long as the process: out of the cyclic
    # collector's way, or each full collection walks it again, every page waiting (100 ms and more on a
    # loaded machine: bench/web.py).
    gc.collect()
    gc.freeze()
    yield


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="ops-watch",
        lifespan=_lifespan,
        docs_url=None,  # the API (/api/v1) brings its own OpenAPI page
        redoc_url=None,
        openapi_url=None,
    )
    app.state.console = Console(runtime)
    for module in PAGE_MODULES:
        app.include_router(module.router)
    app.state.console.paths = frozenset(
        path
        for module in PAGE_MODULES
        for route in module.router.routes
        if (path := getattr(route, "path", None))
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(LoginNeeded)
    async def login_needed(request: Request, exc: LoginNeeded) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "authentication required"}, status_code=401)
        if request.method == "GET":
            return RedirectResponse(login_redirect_target(request), status_code=303)
        return render(
            request,
            "error.html",
            {
                "status": 401,
                "message": app.state.console.t(
                    "会话已结束：请重新登录后再提交。", "Your session has ended: log in again, then submit."
                ),
            },
            status=401,
        )

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        message = exc.zh if runtime.config.language == "zh" else exc.en
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.en}, status_code=exc.status)
        return render(request, "error.html", {"status": exc.status, "message": message}, status=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        zh = runtime.config.language == "zh"
        if exc.status_code == 404:
            message = (
                "没有这个页面或对象：请从导航重新进入。"
                if zh
                else "No such page or item: start again from the menu."
            )
        elif exc.status_code == 405:
            message = "不支持这种请求方式。" if zh else "This method is not allowed here."
        else:
            message = str(exc.detail)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=exc.status_code)
        return render(
            request, "error.html", {"status": exc.status_code, "message": message}, status=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        zh = runtime.config.language == "zh"
        message = (
            f"请求参数有误：{fields}。请检查后重试。"
            if zh
            else f"Bad value for: {fields}. Check it and try again."
        )
        return render(request, "error.html", {"status": 400, "message": message}, status=400)

    # The store's errors are handled inside the app (a busy store is an answer, not a crash the server logs
    # with its traceback); anything else reaches the last handler, which Starlette calls after logging.
    @app.exception_handler(OperationalError)
    @app.exception_handler(StoreBusy)
    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        zh = runtime.config.language == "zh"
        if _locked(exc):
            log.warning("console: the store is busy / 存储正忙", path=request.url.path)
            message = (
                "数据库正忙（守护进程正在写入）：请稍后刷新重试。"
                if zh
                else "The store is busy (the daemon is writing): try again in a moment."
            )
            response = render(request, "error.html", {"status": 503, "message": message}, status=503)
            response.headers["retry-after"] = "5"
            response.headers.update({k.decode(): v.decode() for k, v in SECURITY_HEADERS})
            return response
        log.error("console request failed", path=request.url.path, error=str(exc), exc_info=exc)
        message = (
            "内部错误，已记录在日志中；请稍后重试或联系管理员。"
            if zh
            else "Internal error, written to the log; try again or tell an administrator."
        )
        response = render(request, "error.html", {"status": 500, "message": message}, status=500)
        response.headers.update({k.decode(): v.decode() for k, v in SECURITY_HEADERS})
        return response

    app.add_middleware(SecurityHeaders)
    return app


__all__ = ["PAGE_MODULES", "SECURITY_HEADERS", "SecurityHeaders", "create_app"]
