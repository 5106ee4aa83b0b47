"""The web console served for real: uvicorn on a free loopback port, over a real store (SQLite and PostgreSQL),
driven with `requests` like a browser without JavaScript: login, the pages, the forms and their refusals.
"""

from __future__ import annotations

import csv
import http.client
import io
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests
from alert_helpers import add_finding, add_findings
from sqlalchemy import select

from ops_watch.core.timeutil import utcnow
from ops_watch.runtime import Runtime, load_settings
from ops_watch.store import open_store
from ops_watch.store.schema import Finding, FindingEvent, Silence
from ops_watch.web import accounts, sessions
from ops_watch.web.app import PAGE_MODULES
from ops_watch.web.frame import SECTIONS
from ops_watch.web.serve import server

PASSWORD = "Correct-Horse-42"
XSS = "<script>alert('x')</script>"
XSS_IMG = '<img src=x onerror="alert(1)">'


@dataclass
class Console:
    base: str
    rt: Runtime
    config_path: Path

    @property
    def store(self) -> Any:
        return self.rt.store

    def url(self, path: str) -> str:
        return self.base + path

    def login(self, name: str, password: str = PASSWORD, next_: str = "/") -> tuple[requests.Session, Any]:
        http_ = requests.Session()
        form = http_.get(self.url("/login"), allow_redirects=False)
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        answer = http_.post(
            self.url("/login"),
            data={"name": name, "password": password, "login_token": token.group(1), "next": next_},
            allow_redirects=False,
        )
        return http_, answer

    def session(self, name: str) -> requests.Session:
        http_, answer = self.login(name)
        assert answer.status_code == 303, answer.text
        return http_

    def csrf(self, http_: requests.Session, path: str = "/") -> str:
        page = http_.get(self.url(path))
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)


def _serve(rt: Runtime) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = server(rt, listen=f"127.0.0.1:{port}")
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if srv.started:
            break
        if not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def make_console(config_file: Callable[..., Path]) -> Iterator[Callable[..., Console]]:
    """make_console(store, web_toml="") -> a running console over that store, with users viewer, operator."""
    stops: list[Iterator[str]] = []

    def make(store: Any, web_toml: str = "") -> Console:
        path = config_file(web_toml)
        config, rules = load_settings(path, check_secrets=False)
        rt = Runtime(config=config, rules=rules, store=store)
        for name, role in (("viewer1", "viewer"), ("operator1", "operator")):
            accounts.add_user(store, config.web, name, PASSWORD, role)
        serving = _serve(rt)
        base = next(serving)
        stops.append(serving)
        return Console(base, rt, path)

    yield make
    for serving in stops:
        next(serving, None)


@pytest.fixture
def web(store: Any, make_console: Callable[..., Console]) -> Console:
    return make_console(store)


def _status(store: Any, finding_id: int) -> str:
    with store.session() as s:
        f = s.get(Finding, finding_id)
        assert f is not None
        return f.status


def _events(store: Any, action: str) -> list[dict[str, Any]]:
    return [e for e in sessions.events(store, limit=1000) if e["action"] == action]


# ---- login, sessions, cookies ------------------------------------------------------------------------


def test_login_logout_and_redirect_to_login(web: Console) -> None:
    bare = requests.get(web.url("/findings?area=staffing"), allow_redirects=False)
    assert bare.status_code == 303
    assert bare.headers["location"] == "/login?next=%2Ffindings%3Farea%3Dstaffing"

    http_, answer = web.login("operator1", next_="/findings?area=staffing")
    assert answer.status_code == 303 and answer.headers["location"] == "/findings?area=staffing"
    cookie = next(c for c in answer.headers["set-cookie"].split(", ") if "ops_watch_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain HTTP without a trusted proxy saying https
    overview = http_.get(web.url("/"))
    assert overview.status_code == 200 and "概览" in overview.text and "operator1" in overview.text

    csrf = web.csrf(http_)
    out = http_.post(web.url("/logout"), data={"csrf": csrf}, allow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert http_.get(web.url("/"), allow_redirects=False).status_code == 303
    assert [e["user"] for e in _events(web.store, "logout")] == ["operator1"]
    assert any(e["ok"] and e["user"] == "operator1" for e in _events(web.store, "login"))


def test_a_stolen_cookie_is_worthless_after_logout(web: Console) -> None:
    http_ = web.session("viewer1")
    cookie = http_.cookies.get(sessions.COOKIE)
    http_.post(web.url("/logout"), data={"csrf": web.csrf(http_)}, allow_redirects=False)
    replay = requests.get(web.url("/"), cookies={sessions.COOKIE: cookie}, allow_redirects=False)
    assert replay.status_code == 303


def test_wrong_password_and_lockout(store: Any, make_console: Callable[..., Console]) -> None:
    web = make_console(store, '[web]\nlogin_failures = 3\nlockout = "15m"\n')
    _, wrong = web.login("viewer1", "Wrong-Password-1")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    _, unknown = web.login("nobody", "Wrong-Password-1")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text  # never says who exists
    web.login("viewer1", "Wrong-Password-2")
    _, locked = web.login("viewer1", PASSWORD)  # the right password, too late
    assert locked.status_code == 401
    assert "锁定" in locked.text and sessions.COOKIE not in locked.headers.get("set-cookie", "")


def test_login_form_without_its_token_is_refused(web: Console) -> None:
    answer = requests.post(
        web.url("/login"), data={"name": "viewer1", "password": PASSWORD}, allow_redirects=False
    )
    assert answer.status_code == 403 and "登录表单已失效" in answer.text
    assert any(not e["ok"] and "login form token" in e["detail"] for e in _events(web.store, "refused"))


def test_login_next_never_leaves_the_site(web: Console) -> None:
    _, answer = web.login("viewer1", next_="//evil.example/x")
    assert answer.headers["location"] == "/"


def test_secure_cookie_behind_a_trusted_https_proxy(store: Any, make_console: Callable[..., Console]) -> None:
    web = make_console(store, '[web]\ntrusted_proxies = ["127.0.0.1"]\n')
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    form = requests.get(web.url("/login"), headers=headers)
    assert "Secure" in form.headers["set-cookie"]  # the login form's token cookie too
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    assert token
    answer = requests.post(  # the Secure cookie sent by hand: the test speaks plain HTTP to the "proxy"
        web.url("/login"),
        data={"name": "viewer1", "password": PASSWORD, "login_token": token.group(1)},
        headers=headers | {"Cookie": f"ops_watch_login={form.cookies['ops_watch_login']}"},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]
    assert [e["address"] for e in _events(store, "login") if e["ok"]] == ["203.0.113.9"]


def test_single_sign_on_by_a_trusted_proxy_header(store: Any, make_console: Callable[..., Console]) -> None:
    web = make_console(store, '[web]\ntrusted_proxies = ["127.0.0.1"]\nproxy_user_header = "X-Remote-User"\n')
    http_ = requests.Session()
    page = http_.get(web.url("/"), headers={"X-Remote-User": "operator1"}, allow_redirects=False)
    assert page.status_code == 200 and "operator1" in page.text
    cookie = page.headers["set-cookie"]
    assert "ops_watch_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    again = http_.get(web.url("/findings"), allow_redirects=False)  # the cookie alone now
    assert again.status_code == 200
    nobody = requests.get(web.url("/"), headers={"X-Remote-User": "nobody"}, allow_redirects=False)
    assert nobody.status_code == 303


def test_proxy_user_header_ignored_from_an_untrusted_peer(
    store: Any, make_console: Callable[..., Console]
) -> None:
    web = make_console(store, '[web]\ntrusted_proxies = ["10.9.9.9"]\nproxy_user_header = "X-Remote-User"\n')
    page = requests.get(web.url("/"), headers={"X-Remote-User": "operator1"}, allow_redirects=False)
    assert page.status_code == 303 and "set-cookie" not in page.headers


def test_security_headers_everywhere(web: Console) -> None:
    http_ = web.session("viewer1")
    for response in (
        http_.get(web.url("/")),
        http_.get(web.url("/findings/999999")),
        requests.get(web.url("/login")),
        requests.get(web.url("/static/console.css")),
    ):
        h = response.headers
        assert h["content-security-policy"].startswith("default-src 'self'"), response.url
        assert "unsafe-inline" not in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-content-type-options"] == "nosniff"
        assert "server" not in h
    page = http_.get(web.url("/")).text
    assert "<script>" not in page and "onclick" not in page  # no inline script: the CSP would block it


# ---- refusals ---------------------------------------------------------------------------------------------


def test_viewer_cannot_acknowledge(web: Console) -> None:
    fid = add_finding(web.store)
    http_ = web.session("viewer1")
    csrf = web.csrf(http_, f"/findings/{fid}")
    answer = http_.post(
        web.url(f"/findings/{fid}/ack"), data={"csrf": csrf, "reason": "看过了"}, allow_redirects=False
    )
    assert answer.status_code == 403 and "operator" in answer.text
    assert _status(web.store, fid) == "open"
    refused = _events(web.store, "refused")
    assert any(e["user"] == "viewer1" and f"/findings/{fid}/ack" in e["detail"] for e in refused)


@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_post_without_the_right_csrf_token_is_refused(web: Console, csrf: str | None) -> None:
    fid = add_finding(web.store)
    http_ = web.session("operator1")
    data = {"reason": "整改已约定"} | ({} if csrf is None else {"csrf": csrf})
    answer = http_.post(web.url(f"/findings/{fid}/ack"), data=data, allow_redirects=False)
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert _status(web.store, fid) == "open"
    assert any(
        e["user"] == "operator1" and "CSRF" in e["detail"] and not e["ok"]
        for e in _events(web.store, "refused")
    )


def test_post_without_a_session_is_refused_and_recorded(web: Console) -> None:
    fid = add_finding(web.store)
    answer = requests.post(
        web.url(f"/findings/{fid}/ack"), data={"csrf": "x", "reason": "r"}, allow_redirects=False
    )
    assert answer.status_code == 401
    assert _status(web.store, fid) == "open"
    assert any("no valid session" in e["detail"] for e in _events(web.store, "refused"))


def test_unknown_and_malformed_ids_are_pages_not_tracebacks(web: Console) -> None:
    http_ = web.session("viewer1")
    missing = http_.get(web.url("/findings/999999"))
    assert missing.status_code == 404 and "999999" in missing.text and "<html" in missing.text
    for path in (
        "/findings/abc",
        "/findings/99999999999999999999999",
        "/findings?severity=urgent",
        "/findings?from=soon",
    ):
        answer = http_.get(web.url(path))
        assert answer.status_code in (400, 404), path
        assert "Traceback" not in answer.text and "<html" in answer.text
    assert http_.get(web.url("/findings?severity=urgent")).status_code == 400
    assert "urgent" in http_.get(web.url("/findings?severity=urgent")).text
    assert http_.get(web.url("/no/such/page")).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/static/../config.toml",
        "/static/%2e%2e/config.toml",
        "/static/..%2fconfig.toml",
        "/static/%2e%2e%2f%2e%2e%2fconfig.example.toml",
        "/static/../../../../etc/passwd",
    ],
)
def test_static_refuses_path_traversal(web: Console, path: str) -> None:
    host, port = web.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path)  # sent as written: requests would normalise the dots away
    answer = conn.getresponse()
    body = answer.read().decode("utf-8", "replace")
    conn.close()
    assert answer.status in (400, 404), (path, answer.status)
    assert "[paths]" not in body and "root:" not in body


# ---- findings: list, page, actions ------------------------------------------------------------------------


def test_ack_with_reason_shows_in_history_then_unack(web: Console) -> None:
    fid = add_finding(web.store, subject="JWY-VM-07", summary="CPU 空闲 30 天")
    http_ = web.session("operator1")
    csrf = web.csrf(http_, f"/findings/{fid}")
    empty = http_.post(web.url(f"/findings/{fid}/ack"), data={"csrf": csrf, "reason": "  "})
    assert empty.status_code == 400 and "请填写原因" in empty.text
    assert _status(web.store, fid) == "open"

    done = http_.post(
        web.url(f"/findings/{fid}/ack"),
        data={"csrf": csrf, "reason": "已约定 11-30 前整改"},
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/findings/{fid}"
    assert _status(web.store, fid) == "acknowledged"
    page = http_.get(web.url(f"/findings/{fid}")).text
    assert "已约定 11-30 前整改" in page and "operator1" in page and "确认" in page
    with web.store.session() as s:
        last = s.scalars(
            select(FindingEvent).where(FindingEvent.finding_id == fid).order_by(FindingEvent.id)
        ).all()[-1]
        assert (last.action, last.actor, last.reason) == ("acknowledged", "operator1", "已约定 11-30 前整改")
    assert any(e["action"] == "finding.ack" and e["ok"] for e in sessions.events(web.store))

    http_.post(web.url(f"/findings/{fid}/unack"), data={"csrf": csrf, "reason": "整改未落实"})
    assert _status(web.store, fid) == "open"
    assert "整改未落实" in http_.get(web.url(f"/findings/{fid}")).text


def test_silence_one_finding_needs_reason_and_until(web: Console) -> None:
    fid = add_finding(web.store)
    http_ = web.session("operator1")
    csrf = web.csrf(http_, f"/findings/{fid}")
    no_until = http_.post(web.url(f"/findings/{fid}/silence"), data={"csrf": csrf, "reason": "变更窗口"})
    assert no_until.status_code == 400 and _status(web.store, fid) == "open"
    until = (utcnow() + timedelta(days=2)).astimezone(web.rt.config.site.zone).strftime("%Y-%m-%dT%H:%M")
    ok = http_.post(
        web.url(f"/findings/{fid}/silence"),
        data={"csrf": csrf, "reason": "变更窗口", "until": until},
        allow_redirects=False,
    )
    assert ok.status_code == 303 and _status(web.store, fid) == "silenced"


def test_findings_list_filters_sort_and_pages(web: Console) -> None:
    add_findings(web.store, 55, area="resources", severity="warning", rule="cpu-idle", check="vm_idle")
    critical = add_finding(
        web.store, area="staffing", severity="critical", subject="夜班 2026-11-02", rule="shift"
    )
    add_finding(web.store, area="staffing", severity="info", status="resolved", rule="shift")
    http_ = web.session("viewer1")
    first = http_.get(web.url("/findings")).text
    assert "第 1 / 2 页" in first or "1 / 2" in first
    assert len(re.findall(r'<tr>\s*<td><a href="/findings/\d+">', first)) == 50
    second = http_.get(web.url("/findings?page=2")).text
    assert len(re.findall(r'<tr>\s*<td><a href="/findings/\d+">', second)) == 6

    staffing = http_.get(web.url("/findings?area=staffing")).text
    assert f'href="/findings/{critical}"' in staffing and "resources" not in re.sub(
        r"<select.*?</select>|<nav>.*?</nav>", "", staffing, flags=re.S
    )
    subject = http_.get(web.url("/findings?subject=夜班")).text
    assert len(re.findall(r'<tr>\s*<td><a href="/findings/\d+">', subject)) == 1
    by_severity = http_.get(web.url("/findings?sort=severity")).text
    rows = re.findall(r'<tr>\s*<td><a href="/findings/(\d+)">', by_severity)
    assert int(rows[0]) == critical
    everything = http_.get(web.url("/findings?status=all&area=staffing")).text
    assert len(re.findall(r'<tr>\s*<td><a href="/findings/\d+">', everything)) == 2
    future = http_.get(web.url("/findings?from=2030-01-01")).text
    assert len(re.findall(r'<tr>\s*<td><a href="/findings/\d+">', future)) == 0


def test_evidence_payloads_are_escaped(web: Console) -> None:
    fid = add_finding(web.store, subject=XSS, summary=XSS_IMG)
    with web.store.session() as s:
        f = s.get(Finding, fid)
        assert f is not None
        f.evidence = {"note": XSS, "rows": [{"name": XSS_IMG, "file": "<b>x.csv</b>"}], XSS: 1}
    http_ = web.session("viewer1")
    for path in ("/findings", f"/findings/{fid}", "/findings?status=all&subject=script", "/"):
        page = http_.get(web.url(path)).text
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>x.csv" not in page, path
    detail = http_.get(web.url(f"/findings/{fid}")).text
    assert (
        "&lt;script&gt;alert(" in detail and "&lt;img src=x onerror=" in detail and "&lt;b&gt;x.csv" in detail
    )


def test_csv_and_xlsx_export_neutralise_formulas(web: Console) -> None:
    add_finding(web.store, subject='=HYPERLINK("http://evil","x")', summary="+cmd|' /C calc'!A0")
    add_finding(web.store, subject="@SUM(1)", area="staffing")
    http_ = web.session("viewer1")
    answer = http_.get(web.url("/findings?format=csv&area=evidence"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(rows) == 1  # the filter applies to the export
    assert rows[0]["subject"].startswith("'=") and rows[0]["summary"].startswith("'+")

    book = http_.get(web.url("/findings?format=xlsx"))
    assert book.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(book.content)).active
    values = [c.value for row in ws.iter_rows() for c in row]
    formulas = [c for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert not formulas
    assert any(isinstance(v, str) and v.startswith("=HYPERLINK") for v in values)


def test_overview_counts(web: Console) -> None:
    add_findings(web.store, 2, area="staffing", severity="critical", at=utcnow() - timedelta(hours=2))
    add_findings(
        web.store, 1, area="evidence", severity="warning", check="evidence_freshness", subject="门禁导出"
    )
    http_ = web.session("viewer1")
    page = http_.get(web.url("/")).text
    assert re.search(r'sev-critical"[^>]*>\s*<span class="n">2</span>', page)
    assert "rag-red" in page  # staffing has an active critical finding
    assert "门禁导出" in page  # the silent source is listed


# ---- silences ---------------------------------------------------------------------------------------------


def test_silence_by_matcher_created_listed_and_expired(web: Console) -> None:
    fid = add_finding(web.store, area="resources", subject="JWY-VM-01")
    other = add_finding(web.store, area="resources", subject="DB-01")
    http_ = web.session("operator1")
    csrf = web.csrf(http_, "/silences")
    until = (utcnow() + timedelta(days=3)).astimezone(web.rt.config.site.zone).strftime("%Y-%m-%dT%H:%M")

    bad = http_.post(web.url("/silences"), data={"csrf": csrf, "until": until, "reason": "r"})
    assert bad.status_code == 400 and "匹配条件" in bad.text
    past = http_.post(
        web.url("/silences"),
        data={"csrf": csrf, "subject": "JWY-*", "until": "2020-01-01 00:00", "reason": "r"},
    )
    assert past.status_code == 400 and "晚于现在" in past.text
    ok = http_.post(
        web.url("/silences"),
        data={"csrf": csrf, "subject": "JWY-VM-*", "area": "resources", "until": until, "reason": "扩容窗口"},
        allow_redirects=False,
    )
    assert ok.status_code == 303
    assert (_status(web.store, fid), _status(web.store, other)) == ("silenced", "open")
    listing = http_.get(web.url("/silences")).text
    assert "扩容窗口" in listing and "subject=JWY-VM-*" in listing

    with web.store.session() as s:
        silence_id = s.scalars(select(Silence.id)).one()
    viewer = web.session("viewer1")
    refused = viewer.post(
        web.url(f"/silences/{silence_id}/expire"), data={"csrf": web.csrf(viewer, "/silences"), "reason": "x"}
    )
    assert refused.status_code == 403
    ended = http_.post(
        web.url(f"/silences/{silence_id}/expire"),
        data={"csrf": csrf, "reason": "提前完成"},
        allow_redirects=False,
    )
    assert ended.status_code == 303
    assert _status(web.store, fid) == "open"
    assert any(e["action"] == "silence.expire" and e["ok"] for e in sessions.events(web.store))


# ---- a busy store -------------------------------------------------------------------------------------------


def test_locked_store_gives_a_busy_page(tmp_path: Path, make_console: Callable[..., Console]) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    store = open_store(url, busy_timeout_ms=200)
    try:
        web = make_console(store)
        fid = add_finding(store)
        http_ = web.session("operator1")
        csrf = web.csrf(http_, f"/findings/{fid}")
        locker = open_store(url)
        with locker.engine.connect() as conn:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
            page = http_.get(web.url("/findings"))  # reading goes on (WAL)
            answer = http_.post(web.url(f"/findings/{fid}/ack"), data={"csrf": csrf, "reason": "r"})
            conn.exec_driver_sql("ROLLBACK")
        locker.dispose()
        assert page.status_code == 200
        assert answer.status_code == 503 and "数据库正忙" in answer.text and "Traceback" not in answer.text
        assert answer.headers["retry-after"] == "5"
        assert _status(store, fid) == "open"
    finally:
        store.dispose()


def test_the_nav_links_every_section_that_has_a_page_and_only_those(web: Console) -> None:
    page = web.session("viewer1").get(web.url("/findings")).text
    nav = re.findall(r"<nav>.*?</nav>", page, re.S)[0]
    linked_paths = set(re.findall(r'href="([^"]+)"', nav))
    served = {route.path for module in PAGE_MODULES for route in module.router.routes}
    assert {"/", "/findings", "/silences"} <= linked_paths
    assert linked_paths == {path for path, _, _ in SECTIONS if path in served}
    assert '<a href="/findings" class="active" aria-current="page">' in page
