"""tests/webdriver.py: headless Chromium driven through pages a tiny loopback HTTP server serves.

Needs Chromium (scripts/install-test-deps.sh unpacks one under .cache/tools when the system has none):
skips without it, fails in CI.
"""

from __future__ import annotations

import html
import threading
import urllib.parse
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from browser import find_chromium
from conftest import component_missing
from webdriver import Browser

CHROMIUM_MISSING = "chromium not found: run scripts/install-test-deps.sh (or apt-get install chromium)"

PAGES = {
    "index.html": """<!DOCTYPE html><html><head><meta charset="utf-8"><title>首页</title>
<link rel="stylesheet" href="/style.css"></head>
<body><h1>运维 <b>console</b></h1><a id="next" href="/form.html">表单</a>
<button id="count" type="button">+1</button><span id="n">0</span>
<script src="/count.js"></script></body></html>""",
    "style.css": "h1 { color: #123456; }",
    # Chromium asks every origin for one; a 404 would be a console error.
    "favicon.ico": "",
    "count.js": """document.getElementById('count').addEventListener('click', () => {
  const n = document.getElementById('n'); n.textContent = String(Number(n.textContent) + 1);
});""",
    "form.html": """<!DOCTYPE html><html><head><meta charset="utf-8"><title>form</title></head><body>
<form method="post" action="/submit">
<input name="reason" value="old text"><select name="area"><option value="">-</option>
<option value="staffing">人员</option><option value="resources">资源</option></select>
<button id="send" type="submit">提交</button></form></body></html>""",
    "auto.html": """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<form method="get" action="/done"><select name="area"><option value="">-</option>
<option value="staffing">人员</option></select></form><script src="/auto.js"></script></body></html>""",
    "auto.js": """document.querySelector('select').addEventListener('change', (e) => e.target.form.submit());""",
    "hover.html": """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<div id="box" style="width:200px;height:100px;background:#eee"></div><p id="at">-</p>
<script src="/hover.js"></script></body></html>""",
    "hover.js": """document.getElementById('box').addEventListener('mousemove', (e) => {
  document.getElementById('at').textContent = e.offsetX + ',' + e.offsetY;
});""",
    "late.html": """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<script src="/late.js"></script></body></html>""",
    "late.js": """setTimeout(() => {
  const p = document.createElement('p'); p.id = 'late'; p.textContent = 'arrived'; document.body.append(p);
}, 300);""",
    "errors.html": """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<img src="/missing.png" alt="x"><script src="/errors.js"></script></body></html>""",
    "errors.js": "console.error('boom from the page'); throw new Error('kaput');",
}


class _Site:
    """A loopback HTTP server: the files above, POST /submit answering 303 to a page echoing the form."""

    def __init__(self, root: Path) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hits.append(self.path)
                if self.path.startswith("/done"):
                    query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                    body = (
                        f"<!DOCTYPE html><html><body><p id='got'>{html.escape(repr(query))}</p></body></html>"
                    )
                    data = body.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                super().do_GET()

            def do_POST(self) -> None:  # noqa: N802
                hits.append(f"POST {self.path}")
                length = int(self.headers.get("Content-Length", "0"))
                form = self.rfile.read(length).decode()
                self.send_response(303)
                self.send_header("Location", "/done?" + form)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def chromium() -> str:
    found = find_chromium()
    if found is None:
        component_missing(CHROMIUM_MISSING)
    return found


def _serve(root: Path) -> Iterator[_Site]:
    root.mkdir()
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    site = _Site(root)
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[_Site]:
    yield from _serve(tmp_path / "site")


@pytest.fixture
def other(tmp_path: Path) -> Iterator[_Site]:
    """A second loopback server: another origin, which the browser must never reach."""
    yield from _serve(tmp_path / "other")


def test_goto_text_click_link_and_requests_with_status(chromium: str, site: _Site, tmp_path: Path) -> None:
    with Browser(tmp_path) as b:
        b.goto(f"{site.base}/index.html")

        assert b.eval("document.title") == "首页"
        assert b.text("h1") == "运维 console"
        assert b.exists("#next") and not b.exists("#nothing-here")
        # The stylesheet was applied: the page really loaded it.
        assert b.eval("getComputedStyle(document.querySelector('h1')).color") == "rgb(18, 52, 86)"

        b.click("#count")  # a script's button: no navigation, click returns on the same page
        b.click("#count")
        assert b.text("#n") == "2"
        assert b.url == f"{site.base}/index.html"

        b.click("#next")
        assert b.url == f"{site.base}/form.html"
        assert b.exists("form")

    statuses = {(r.method, r.url.removeprefix(site.base)): r.status for r in b.requests}
    assert statuses[("GET", "/index.html")] == 200
    assert statuses[("GET", "/style.css")] == 200
    assert statuses[("GET", "/count.js")] == 200
    assert statuses[("GET", "/form.html")] == 200
    assert b.blocked == [] and b.console_errors == []


def test_fill_and_submit_a_form_follows_the_redirect(chromium: str, site: _Site, tmp_path: Path) -> None:
    with Browser(tmp_path) as b:
        b.goto(f"{site.base}/form.html")
        b.fill("input[name=reason]", "值班 <ok> & done")
        b.fill("select[name=area]", "resources")
        b.click("#send")

        assert b.url.startswith(f"{site.base}/done?")
        got = b.text("#got")
        with pytest.raises(LookupError, match="no option"):
            b.goto(f"{site.base}/form.html")
            b.fill("select[name=area]", "nowhere")

    # The old value was cleared, the typed text sent as typed, the option chosen.
    assert got == repr({"reason": ["值班 <ok> & done"], "area": ["resources"]})
    assert "POST /submit" in site.hits
    post = next(r for r in b.requests if r.method == "POST")
    assert (post.url, post.status) == (f"{site.base}/submit", 303)
    done = next(r for r in b.requests if r.url.startswith(f"{site.base}/done?"))
    assert (done.method, done.status) == ("GET", 200)


def test_choosing_an_option_waits_for_the_page_the_change_submits(
    chromium: str, site: _Site, tmp_path: Path
) -> None:
    with Browser(tmp_path) as b:
        b.goto(f"{site.base}/auto.html")
        b.fill("select[name=area]", "staffing")

        assert b.url == f"{site.base}/done?area=staffing"
        assert b.text("#got") == repr({"area": ["staffing"]})


def test_hover_moves_the_mouse_over_a_point_of_an_element(chromium: str, site: _Site, tmp_path: Path) -> None:
    with Browser(tmp_path) as b:
        b.goto(f"{site.base}/hover.html")
        b.hover("#box", 0.25, 0.5)
        first = b.text("#at")
        b.hover("#box")
        second = b.text("#at")

    assert (first, second) == ("50,50", "100,50")


def test_wait_for_an_element_a_script_adds(chromium: str, site: _Site, tmp_path: Path) -> None:
    with Browser(tmp_path) as b:
        b.goto(f"{site.base}/late.html")
        b.wait_for("#late", timeout=10)
        assert b.text("#late") == "arrived"
        with pytest.raises(TimeoutError, match="#never"):
            b.wait_for("#never", timeout=0.3)
        with pytest.raises(LookupError, match="#never"):
            b.text("#never")
        with pytest.raises(LookupError, match="#never"):
            b.click("#never")
        with pytest.raises(RuntimeError, match="nope is not defined"):
            b.eval("nope.x")


def test_console_errors_and_a_missing_file_are_recorded(chromium: str, site: _Site, tmp_path: Path) -> None:
    with Browser(tmp_path) as b:
        b.goto(f"{site.base}/errors.html")

    errors = "\n".join(b.console_errors)
    assert "boom from the page" in errors
    assert "kaput" in errors
    assert "404" in errors
    missing = next(r for r in b.requests if r.url == f"{site.base}/missing.png")
    assert missing.status == 404


def test_requests_to_another_origin_are_aborted_and_recorded(
    chromium: str, site: _Site, other: _Site, tmp_path: Path
) -> None:
    leak = tmp_path / "site" / "leak.html"
    leak.write_text(
        f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="https://cdn.example.invalid/x.css"></head><body>
<img src="{other.base}/index.html" alt="other origin"><img src="http://example.invalid/t.png" alt="remote">
<script src="/leak.js"></script></body></html>""",
        encoding="utf-8",
    )
    (tmp_path / "site" / "leak.js").write_text(
        f"fetch('{other.base}/style.css').catch(() => {{ document.body.dataset.fetch = 'refused'; }});",
        encoding="utf-8",
    )

    with Browser(tmp_path) as b:
        b.goto(f"{site.base}/leak.html")
        # The script's fetch may end after the load event: wait until it has been refused.
        b.wait_for("body[data-fetch=refused]", timeout=10)

    assert other.hits == [], "the browser reached another origin: requests are not blocked"
    assert set(b.blocked) == {
        "https://cdn.example.invalid/x.css",
        f"{other.base}/index.html",
        "http://example.invalid/t.png",
        f"{other.base}/style.css",
    }
    assert f"{site.base}/leak.js" in {r.url for r in b.requests if r.status == 200}


def test_origin_given_up_front_blocks_even_the_first_page(chromium: str, site: _Site, tmp_path: Path) -> None:
    with Browser(tmp_path, origin="http://127.0.0.1:9") as b:
        with pytest.raises(RuntimeError, match="ERR_BLOCKED_BY_CLIENT"):
            b.goto(f"{site.base}/index.html")

    assert site.hits == []
    assert b.blocked == [f"{site.base}/index.html"]
