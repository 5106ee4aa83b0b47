"""Drive headless Chromium through the console's pages, for the console's browser tests.

    with Browser(tmp_path) as b:
        b.goto(f"{base}/login")                # waits for the load event; the origin becomes the allowed one
        b.fill("input[name=name]", "alice")    # focus, clear, type (a <select> gets the option's value)
        b.click("button[type=submit]")         # a real mouse click; waits for the navigation it starts, if any
        b.hover("#chart", 0.5, 0.5)            # the mouse moved over a point of an element (a chart's tooltip)
        b.text("h1"), b.exists(".flash"), b.eval("document.title"), b.wait_for("#chart canvas", 10)
        b.url                                  # where the page is now
        b.requests                             # every request: Request(url, method, status, error), in order
        b.blocked                              # URLs outside the allowed origin: aborted before they were sent
        b.console_errors                       # console.error, uncaught exceptions, CSP and load errors

Only the console's own origin (http://127.0.0.1:<port>, the first goto's unless given) is let through;
every other request is aborted through the DevTools protocol's Fetch domain and recorded in `blocked`,
so a test asserts `b.blocked == []`. Behind that, browser.py's launcher resolves no name and points
every connection at a closed loopback proxy. Chromium is the one tests/browser.py finds and launches
(--remote-debugging-pipe, no port, no extra package); JavaScript dialogs are accepted and recorded.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from browser import _Devtools, _stop, find_chromium, launch_chromium

# How long click() and fill() wait for a navigation to start, when the page did not say one was coming, before
# deciding there is none (a script may still set location).
NAVIGATION_GRACE = 0.5
# Put into every document before its own scripts: marks a followed link, a form submitted (by a button, by
# requestSubmit or by form.submit()), so click() and fill() know a page is coming however slow the machine.
_NAVIGATION_WATCH = """(() => {
  window.__opsWatchNavigating = false;
  const mark = () => { window.__opsWatchNavigating = true; };
  addEventListener('click', (e) => {
    const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
    if (!a || e.defaultPrevented || a.hasAttribute('download') || (a.target && a.target !== '_self')) return;
    const href = a.getAttribute('href');
    if (!href.startsWith('#') && !href.toLowerCase().startsWith('javascript:')) mark();
  });
  addEventListener('submit', (e) => { if (!e.defaultPrevented) mark(); });
  const submit = HTMLFormElement.prototype.submit;
  HTMLFormElement.prototype.submit = function () { mark(); return submit.call(this); };
})();"""


@dataclass
class Request:
    url: str
    method: str
    # The HTTP status of the response (a redirect's own status for a redirected request), None when no
    # response came: blocked, refused, or still in flight.
    status: int | None = None
    # Chromium's error text when the request failed (net::ERR_BLOCKED_BY_CLIENT for the blocked ones).
    error: str = ""


def origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class _Driver(_Devtools):
    """The DevTools pipe, with the console's request policy and the page's events kept as they come."""

    def __init__(self, browser: Browser, *args: Any) -> None:
        super().__init__(*args)
        self.browser = browser

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message or message.get("method") == "Fetch.requestPaused":
            super()._dispatch(message)
            return
        if not self.browser._observe(message):
            self.events.append(message)

    def _on_request(self, params: dict[str, Any], session: str | None) -> None:
        url = params["request"]["url"]
        if self.browser._allowed(url):
            self.send("Fetch.continueRequest", {"requestId": params["requestId"]}, session)
            return
        self.browser.blocked.append(url)
        self.send(
            "Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"}, session
        )


class Browser:
    """One headless Chromium with one tab; its profile (cookies) lives and dies with the `with` block."""

    def __init__(
        self,
        tmp_path: Path,
        origin: str | None = None,
        timeout: float = 30.0,
        width: int = 1280,
        height: int = 900,
        chromium: str | None = None,
    ) -> None:
        self.tmp_path = Path(tmp_path)
        self.origin = origin.rstrip("/") if origin else None
        self.timeout = timeout
        self.width = width
        self.height = height
        self.chromium = chromium or find_chromium()
        self.requests: list[Request] = []
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        self._by_id: dict[str, Request] = {}
        self._workdir: Path | None = None
        self._proc: Any = None
        self._fds: tuple[int, int] = (-1, -1)
        self._devtools: _Driver | None = None
        self._session = ""
        self._frame = ""
        # Documents the main frame started loading, and how many had started when the last load event
        # fired: a load event counts for a navigation only when it comes after that navigation started.
        self._started = 0
        self._loaded_at = 0

    # ---- lifetime ---------------------------------------------------------------------------------

    def __enter__(self) -> Browser:
        if self.chromium is None:
            raise RuntimeError(
                "no Chromium found: run scripts/install-test-deps.sh (or apt-get install chromium)"
            )
        self._workdir = Path(tempfile.mkdtemp(prefix="ops-watch-webdriver-", dir=self.tmp_path))
        try:
            self._proc, to_w, from_r = launch_chromium(
                self.chromium,
                self._workdir,
                [f"--user-data-dir={self._workdir / 'profile'}", f"--window-size={self.width},{self.height}"],
            )
            self._fds = (to_w, from_r)
            # _Devtools' allowed_dir is for file pages: none is allowed here (the directory never exists).
            self._devtools = _Driver(self, self._proc, to_w, from_r, self._workdir / "no-files")
            self._open_tab()
        except BaseException as exc:
            log = self._log_tail()
            self.__exit__(None, None, None)
            if isinstance(exc, (RuntimeError, TimeoutError, OSError)):
                raise RuntimeError(
                    f"starting {self.chromium} failed: {exc}\n--- Chromium's output:\n{log}"
                ) from exc
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        closed = False
        if self._devtools is not None and self._proc is not None and self._proc.poll() is None:
            try:
                self._devtools.send("Browser.close")
                closed = True
            except OSError:
                pass
        for fd in self._fds:
            if fd >= 0:
                os.close(fd)
        self._fds = (-1, -1)
        if self._proc is not None:
            _stop(self._proc, grace=10 if closed else 2)
            self._proc = None
        self._devtools = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _log_tail(self) -> str:
        if self._workdir is None:
            return ""
        try:
            return (self._workdir / "chromium.log").read_text(encoding="utf-8", errors="replace")[-3000:]
        except OSError:
            return ""

    def _open_tab(self) -> None:
        target = self._call("Target.createTarget", {"url": "about:blank"}, session=None)["targetId"]
        self._session = self._call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}, session=None
        )["sessionId"]
        self._call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        self._call("Network.enable")
        self._call("Page.enable")
        self._call("Runtime.enable")
        self._call("Log.enable")
        self._call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )
        self._call("Page.addScriptToEvaluateOnNewDocument", {"source": _NAVIGATION_WATCH})
        self._frame = self._call("Page.getFrameTree")["frameTree"]["frame"]["id"]

    # ---- the protocol -----------------------------------------------------------------------------

    def _deadline(self, timeout: float | None = None) -> float:
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def _call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = ""
    ) -> dict[str, Any]:
        if self._devtools is None:
            raise RuntimeError("the browser is not running: use `with Browser(tmp_path) as b:`")
        return self._devtools.call(
            method, params, self._session if session == "" else session, self._deadline()
        )

    def _pump_until(self, done: Any, deadline: float, what: str) -> None:
        """Read events until done() holds; TimeoutError naming `what` at the deadline."""
        assert self._devtools is not None
        while not done():
            try:
                self._devtools._pump(deadline)
            except TimeoutError:
                raise TimeoutError(f"{what}: not done within the time allowed") from None

    def _pump_for(self, seconds: float, stop: Any) -> None:
        """Read events for up to `seconds`, or until stop() holds."""
        assert self._devtools is not None
        deadline = time.monotonic() + seconds
        while not stop():
            try:
                self._devtools._pump(deadline)
            except TimeoutError:
                return

    def _allowed(self, url: str) -> bool:
        if url.startswith(("data:", "blob:", "about:")):
            return True
        return self.origin is not None and origin_of(url) == self.origin

    def _observe(self, message: dict[str, Any]) -> bool:
        """Keep what a test asks about; True when the event is consumed."""
        method = message.get("method", "")
        params = message.get("params", {})
        if method == "Network.requestWillBeSent":
            rid = params["requestId"]
            redirect = params.get("redirectResponse")
            if redirect and rid in self._by_id:
                self._by_id[rid].status = int(redirect["status"])
            request = Request(url=params["request"]["url"], method=params["request"]["method"])
            self._by_id[rid] = request
            self.requests.append(request)
        elif method == "Network.responseReceived":
            request = self._by_id.get(params["requestId"])
            if request is not None:
                request.status = int(params["response"]["status"])
        elif method == "Network.loadingFailed":
            request = self._by_id.get(params["requestId"])
            if request is not None:
                request.error = params.get("errorText", "") or params.get("blockedReason", "")
        elif method == "Runtime.consoleAPICalled":
            if params.get("type") in ("error", "assert"):
                args = params.get("args", [])
                self.console_errors.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in args)
                )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exception = details.get("exception", {})
            self.console_errors.append(exception.get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                self.console_errors.append(f"{entry.get('text', '')} {entry.get('url', '')}".strip())
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("message", ""))
            assert self._devtools is not None
            self._devtools.send("Page.handleJavaScriptDialog", {"accept": True}, self._session)
        elif method == "Page.frameStartedLoading":
            if params.get("frameId") == self._frame:
                self._started += 1
        elif method == "Page.loadEventFired":
            self._loaded_at = self._started
        else:
            return method.startswith(("Network.", "Page.", "Runtime.", "Log.", "Target.", "Inspector."))
        return True

    # ---- what a test does -------------------------------------------------------------------------

    def goto(self, url: str, timeout: float | None = None) -> None:
        """Open `url` and wait for its load event. The first goto's origin becomes the allowed one."""
        if self.origin is None:
            self.origin = origin_of(url)
        started = self._started
        navigated = self._call("Page.navigate", {"url": url})
        if navigated.get("errorText"):
            raise RuntimeError(f"Chromium could not open {url}: {navigated['errorText']}")
        self._pump_until(lambda: self._loaded_at > started, self._deadline(timeout), f"loading {url}")

    @property
    def url(self) -> str:
        return str(self.eval("location.href"))

    def eval(self, js: str) -> Any:
        """The value of the expression `js` in the page (promises awaited); RuntimeError if it throws."""
        reply = self._call(
            "Runtime.evaluate",
            {"expression": js, "returnByValue": True, "awaitPromise": True, "userGesture": True},
        )
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            raise RuntimeError(f"the page's script failed: {text}\n--- script:\n{js}")
        return reply.get("result", {}).get("value")

    def exists(self, css: str) -> bool:
        return bool(self.eval(f"document.querySelector({json.dumps(css)}) !== null"))

    def text(self, css: str) -> str:
        """The visible text of the first element matching `css`; LookupError when none matches."""
        got = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(css)}); return e && e.innerText; }})()"
        )
        if got is None:
            raise LookupError(f"no element matches {css!r} on {self.url}")
        return str(got)

    def wait_for(self, css: str, timeout: float = 10.0) -> None:
        """Wait until an element matches `css`; TimeoutError naming the selector after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self.exists(css):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no element matched {css!r} within {timeout} s on {self.url}")
            self._pump_for(0.1, lambda: False)

    def fill(self, css: str, text: str, timeout: float | None = None) -> None:
        """Type `text` into the field `css` (its previous value cleared); a <select> gets the option `text`
        (input and change events fired) and, if the page navigates on that change, its next page is waited for."""
        started = self._started
        self.eval("window.__opsWatchNavigating = false")
        kind = self.eval(
            f"""(() => {{
  const e = document.querySelector({json.dumps(css)});
  if (!e) return null;
  if (e.tagName === 'SELECT') {{
    e.value = {json.dumps(text)};
    e.dispatchEvent(new Event('input', {{bubbles: true}}));
    e.dispatchEvent(new Event('change', {{bubbles: true}}));
    return e.value === {json.dumps(text)} ? 'select' : 'no-option';
  }}
  e.focus();
  e.value = '';
  return 'field';
}})()"""
        )
        if kind is None:
            raise LookupError(f"no element matches {css!r} on {self.url}")
        if kind == "no-option":
            raise LookupError(f"the select {css!r} has no option {text!r}")
        if kind == "select":
            # A page may submit its form when a select changes: wait for that page, if it comes.
            self._wait_navigation(started, timeout, f"the page after choosing {text!r} in {css!r}")
        if kind == "field" and text:
            self._call("Input.insertText", {"text": text})

    def _point(self, css: str, fx: float = 0.5, fy: float = 0.5) -> tuple[float, float]:
        """The viewport point at fractions (fx, fy) of the element `css`'s box, scrolled into view."""
        box = self.eval(
            f"""(() => {{
  const e = document.querySelector({json.dumps(css)});
  if (!e) return null;
  e.scrollIntoView({{block: 'center', inline: 'center'}});
  const r = e.getBoundingClientRect();
  return {{x: r.left + r.width * {float(fx)}, y: r.top + r.height * {float(fy)}, w: r.width, h: r.height}};
}})()"""
        )
        if box is None:
            raise LookupError(f"no element matches {css!r} on {self.url}")
        if box["w"] <= 0 or box["h"] <= 0:
            raise LookupError(f"the element {css!r} is not visible on {self.url}")
        return box["x"], box["y"]

    def click(self, css: str, timeout: float | None = None) -> None:
        """A mouse click in the middle of the element `css`; waits for the page it navigates to, if any."""
        x, y = self._point(css)
        started = self._started
        self.eval("window.__opsWatchNavigating = false")
        for kind in ("mousePressed", "mouseReleased"):
            self._call(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )
        self._wait_navigation(started, timeout, f"the page after clicking {css!r}")

    def hover(self, css: str, fx: float = 0.5, fy: float = 0.5) -> None:
        """Move the mouse to fractions (fx, fy) of the element `css`'s box (the middle by default), as a
        person pointing at a chart does."""
        x, y = self._point(css, fx, fy)
        self._call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def _wait_navigation(self, started: int, timeout: float | None, what: str) -> None:
        """Wait for the page the last action started: for certain when the page marked a link followed or a
        form submitted, else if the main frame starts loading within NAVIGATION_GRACE."""
        deadline = self._deadline(timeout)
        if self._started == started:
            try:
                coming = bool(self.eval("window.__opsWatchNavigating === true"))
            except RuntimeError:  # the document went away while asked: it is being replaced
                coming = True
            if coming:
                self._pump_until(lambda: self._started > started, deadline, what)
            else:
                self._pump_for(NAVIGATION_GRACE, lambda: self._started > started)
        if self._started > started:
            self._pump_until(lambda: self._loaded_at > started, deadline, what)
