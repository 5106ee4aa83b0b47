"""The console's morning round in a real headless Chromium against the real server on loopback.

A supervisor logs in, sees the overview, filters the findings by area, opens one, acknowledges it with a
reason (the form's CSRF token sent by the browser, as any form is) and sees that in its history, then logs
out. No request leaves the console's own origin (tests/webdriver.py aborts and records any that tries) and
the page logs no error: a script, style or font the pages needed from elsewhere, a CSP violation or a 404
would show here. A finding carrying an HTML payload is shown as text, and nothing it names is fetched.

The server is the one `ops-watch serve` runs (web.serve.server: uvicorn on 127.0.0.1, a free port) over a real
SQLite store, in a thread.
Needs Chromium (scripts/install-test-deps.sh): skips without it, fails in CI.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alert_helpers import add_findings
from browser import find_chromium
from conftest import component_missing
from sqlalchemy import select
from webdriver import Browser

from ops_watch.core.timeutil import utcnow
from ops_watch.runtime import Runtime, open_runtime
from ops_watch.store.schema import FindingEvent
from ops_watch.web import sessions
from ops_watch.web.accounts import add_user
from ops_watch.web.serve import server as console_server

pytestmark = pytest.mark.e2e

CHROMIUM_MISSING = "chromium not found: run scripts/install-test-deps.sh (or apt-get install chromium)"
USER = "zhangwei"
PASSWORD = "Duty-officer-2026!"
REASON = "已与运维方约定 11 月 30 日前回收 <b>VM-00017</b>"
# Were this summary put into a page unescaped, the browser would fetch /xss-probe.png and set the title.
PAYLOAD = '<img src="/xss-probe.png" onerror="document.title=\'pwned\'">机房门禁记录缺失'


@dataclass
class Console:
    base: str
    runtime: Runtime
    ids: dict[str, list[int]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chromium() -> str:
    found = find_chromium()
    if found is None:
        component_missing(CHROMIUM_MISSING)
    return found


@pytest.fixture
def console(config_file: Callable[..., Path]) -> Iterator[Console]:
    runtime = open_runtime(config_file('[site]\nlanguage = "zh"\n'))
    at = utcnow() - timedelta(days=1)
    ids = {
        "resources": add_findings(
            runtime.store, 2, area="resources", severity="warning", rule="idle-cpu", check="idle_cpu", at=at
        )
        + add_findings(
            runtime.store,
            1,
            area="resources",
            severity="critical",
            rule="idle-cpu",
            check="idle_cpu",
            subject="VM-00017",
            summary="VM-00017（警务云／刑侦支队）近 14 天 CPU 闲置：可回收 8 vCPU、16 GB 内存",
            at=at,
        ),
        "staffing": add_findings(
            runtime.store,
            1,
            area="staffing",
            severity="warning",
            rule="shift-headcount",
            check="shift_headcount",
            at=at,
        )
        + add_findings(
            runtime.store,
            1,
            area="staffing",
            severity="warning",
            rule="door-evidence",
            check="evidence_freshness",
            summary=PAYLOAD,
            at=at,
        ),
    }
    add_user(runtime.store, runtime.config.web, USER, PASSWORD, "operator")
    port = _free_port()
    # The server `ops-watch serve` runs (its uvicorn settings), in a thread.
    server = console_server(runtime, listen=f"127.0.0.1:{port}")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the console's server stopped while starting"
        assert time.monotonic() < deadline, "the console's server did not start within 30 s"
        time.sleep(0.05)
    try:
        yield Console(f"http://127.0.0.1:{port}", runtime, ids)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        runtime.close()


def _column(b: Browser, table: str, index: int) -> list[str]:
    """The text of column `index` (1-based) of each row of the first `table` on the page."""
    got: Any = b.eval(
        f"Array.from(document.querySelectorAll('{table} tbody tr td:nth-child({index})'))"
        ".map(td => td.innerText.trim())"
    )
    return list(got)


def test_morning_round_in_the_browser(chromium: str, console: Console, tmp_path: Path) -> None:
    base = console.base
    target = console.ids["resources"][2]  # VM-00017, the critical one

    with Browser(tmp_path) as b:
        # No session: the console sends the browser to its login page, remembering where it was going.
        b.goto(f"{base}/")
        assert b.url.startswith(f"{base}/login")
        b.fill("input[name=name]", USER)
        b.fill("input[name=password]", PASSWORD)
        b.click("section.login button[type=submit]")

        # 概览: the active findings by severity, and what opened in the last 7 days (the payload as text).
        assert b.url == f"{base}/"
        assert "概览" in b.text("h1")
        assert b.text(".sev-card.sev-critical .n") == "1"
        assert b.text(".sev-card.sev-warning .n") == "4"
        page = b.text("main")
        assert '<img src="/xss-probe.png"' in page
        assert b.eval("document.title") != "pwned"

        # 问题: the list, then filtered by area (the select submits the filter form when it changes).
        b.click("nav a[href='/findings']")
        assert b.url == f"{base}/findings"
        assert len(_column(b, "table.list", 1)) == 5
        b.fill("form.filters select[name=area]", "resources")
        if "area=resources" not in b.url:  # a page without the script: the filter button does it
            b.click("form.filters button[type=submit]")
        assert "area=resources" in b.url
        shown = sorted(int(x) for x in _column(b, "table.list", 1))
        assert shown == sorted(console.ids["resources"])
        assert set(_column(b, "table.list", 4)) == {"资源使用"}

        # A finding's page, then acknowledge it with a reason.
        b.click(f"table.list a[href='/findings/{target}']")
        assert b.url == f"{base}/findings/{target}"
        assert "VM-00017" in b.text("h1")
        assert b.exists(f"a[href='/findings/{target}/receipt'][download]")  # its receipt, offered
        assert b.eval("document.querySelector(\"form[action$='/ack'] input[name=csrf]\").value") != ""
        b.fill("form[action$='/ack'] input[name=reason]", REASON)
        b.click("form[action$='/ack'] button[type=submit]")

        assert b.url == f"{base}/findings/{target}"
        assert "已确认" in b.text("table.summary")
        history = b.eval(
            "Array.from(document.querySelectorAll('table.history tbody tr'))"
            ".map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))"
        )
        acknowledged = [row for row in history if row[1] == "确认"]
        assert acknowledged, f"no acknowledgement in the history: {history}"
        assert acknowledged[0][2:4] == [USER, REASON]
        # Now it offers to take the acknowledgement back instead.
        assert b.exists("form[action$='/unack']") and not b.exists("form[action$='/ack']")

        # Log out: back at the login page, and the console no longer lets the browser in.
        b.click("form.who button[type=submit]")
        assert b.url.startswith(f"{base}/login")
        b.goto(f"{base}/findings/{target}")
        assert b.url.startswith(f"{base}/login")

    assert b.blocked == [], f"requests left the console: {b.blocked}"
    # data: URLs are what Chromium draws its own controls with (the date picker's icon): not a request.
    outside = [r.url for r in b.requests if not r.url.startswith((f"{base}/", "data:"))]
    assert outside == []
    failed = [
        (r.method, r.url, r.status, r.error)
        for r in b.requests
        if not r.url.startswith("data:") and (r.status is None or r.status >= 400)
    ]
    assert failed == []
    assert not any("xss-probe" in r.url for r in b.requests)
    errors = list(b.console_errors)
    assert errors == [], "\n".join(errors)
    # The page's own files came from the console itself.
    assert {r.url for r in b.requests if r.url.endswith((".css", ".js"))} >= {
        f"{base}/static/console.css",
        f"{base}/static/console.js",
    }

    with console.runtime.store.session() as s:
        events = list(
            s.scalars(
                select(FindingEvent).where(
                    FindingEvent.finding_id == target, FindingEvent.action == "acknowledged"
                )
            )
        )
    assert [(e.actor, e.reason) for e in events] == [(USER, REASON)]
    trail = sessions.events(console.runtime.store, user=USER)
    actions = [e["action"] for e in reversed(trail)]
    assert actions[0] == "login" and actions[-1] == "logout", actions
    assert any(e["action"] == "finding.ack" and e["ok"] and REASON in e["detail"] for e in trail), trail


ECHARTS = "/static/vendor/echarts/echarts.min.js"
# A bar chart of open findings by area, as the charts pages will draw one. Its tooltip is drawn on the canvas
# (renderMode "richText"): ECharts' default HTML tooltip sets style attributes, which the console's CSP
# (no 'unsafe-inline') refuses, one console error per hover.
_CHART_JS = """new Promise((resolve, reject) => {
  const script = document.createElement('script');
  script.src = %(src)s;
  script.onload = () => {
    const box = document.createElement('div');
    box.id = 'chart';
    box.style.width = '480px';
    box.style.height = '300px';
    document.querySelector('main').append(box);
    const chart = echarts.init(box, null, {renderer: 'canvas'});
    const option = %(option)s;
    // What the tooltip shows for the point under the mouse, kept where the test can read it.
    option.tooltip.formatter = (points) => {
      box.dataset.tip = points.map((p) => p.seriesName + ' ' + p.name + ' ' + p.value).join('; ');
      return box.dataset.tip;
    };
    chart.setOption(option);
    resolve(echarts.version);
  };
  script.onerror = () => reject(new Error('echarts.min.js did not load'));
  document.head.append(script);
})"""
_OPTION = {
    "animation": False,
    "tooltip": {"trigger": "axis", "renderMode": "richText"},
    "xAxis": {"type": "category", "data": ["资源使用", "人员与门禁"]},
    "yAxis": {"type": "value"},
    "series": [{"type": "bar", "name": "未解决", "data": [3, 2]}],
}


def test_vendored_echarts_draws_and_hovers_under_the_console_csp(
    chromium: str, console: Console, tmp_path: Path
) -> None:
    """The vendored ECharts loads from the console itself and draws a chart people can hover, within the
    console's Content-Security-Policy (no inline script or style it would refuse)."""
    base = console.base
    with Browser(tmp_path) as b:
        b.goto(f"{base}/login")
        version = b.eval(
            _CHART_JS % {"src": json.dumps(ECHARTS), "option": json.dumps(_OPTION, ensure_ascii=False)}
        )
        b.wait_for("#chart canvas", timeout=10)
        b.hover("#chart", 0.3, 0.6)
        b.wait_for("#chart[data-tip]", timeout=10)
        tip = b.eval("document.getElementById('chart').dataset.tip")

    assert version == "6.1.0"
    assert tip == "未解决 资源使用 3"
    assert b.blocked == []
    script = next(r for r in b.requests if r.url == f"{base}{ECHARTS}")
    assert script.status == 200
    errors = list(b.console_errors)
    assert errors == [], "\n".join(errors)


def _logged_in(b: Browser, base: str) -> None:
    b.goto(f"{base}/login")
    b.fill("input[name=name]", USER)
    b.fill("input[name=password]", PASSWORD)
    b.click("section.login button[type=submit]")
    assert b.url == f"{base}/"


def test_the_browser_finds_the_console_icon(chromium: str, console: Console, tmp_path: Path) -> None:
    with Browser(tmp_path) as b:
        _logged_in(b, console.base)
        # The icon the page names, else the one a browser asks for by default.
        icon = b.eval(
            "(() => { const l = document.querySelector('link[rel~=icon]');"
            " return l ? l.href : location.origin + '/favicon.ico'; })()"
        )
        # An inline data: icon asks the server for nothing; any other must be the console's own and answer.
        if not icon.startswith("data:"):
            assert icon.startswith(f"{console.base}/")
            assert b.eval(f"fetch({json.dumps(icon)}).then((r) => r.status)") == 200
