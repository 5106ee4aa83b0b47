"""Render an HTML email the way a mail client shows it, in headless Chromium, for the report tests.

    path = find_chromium()                    # PATH's chromium, else .cache/tools/bin/chromium, else None
    result = render_email_html(html, {"chart-resources": png_bytes}, tmp_path / "email.png")
    result.images_loaded == result.images_total
    result.requests                           # URLs the page tried to fetch: all blocked, none fetched
    result.not_blank                          # the screenshot shows something

What a mail client does and this does too: every `cid:<id>` reference (in `src="..."` or CSS `url(...)`)
becomes the attached image, scripts do not run, and nothing leaves the machine. Every request the page
makes other than data: URLs and the page's own files is recorded and aborted through the DevTools
protocol's Fetch domain before it is sent; a proxy on a closed loopback port and a host resolver that
resolves nothing but 127.0.0.1 stand behind that, so a request that slipped past would not leave the machine.

Chromium is driven over --remote-debugging-pipe (file descriptors 3 and 4, messages ended by NUL): no
port, no extra Python package. Pillow (a dependency of matplotlib) judges whether the screenshot is blank.

The Chromium and CJK font scripts/install-test-deps.sh unpacks under .cache/tools are found here; the
font directory is handed to Chromium through a fontconfig file, as the wrapper does.

tests/ is on sys.path (see conftest.py), so any test module can `from browser import ...`.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / ".cache" / "tools"
FONT_SUFFIXES = {".ttf", ".ttc", ".otf", ".otc", ".pfb", ".pcf"}
# A screenshot is "not blank" when at least this share of its pixels differ from its commonest colour.
NOT_BLANK_SHARE = 0.001
# Screenshots stop here: a runaway page must not make a gigapixel PNG.
MAX_HEIGHT = 16384

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    # Second line of defence behind the Fetch interception: no name (nor IP literal) resolves and every
    # connection goes to a proxy on a loopback port where nothing listens. 127.0.0.1 is left alone so
    # that a test can prove the interception itself with a server there (loopback bypasses the proxy).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--remote-debugging-pipe",
]


@dataclass
class RenderResult:
    png: bytes
    # Every URL the page asked for other than data: and its own files, in order; none was fetched.
    requests: list[str]
    images_total: int
    # <img> elements that are complete with a natural width: the cid images that resolved.
    images_loaded: int
    not_blank: bool
    # Font families Chromium drew the page's text with (from the platform, not the CSS asked for).
    fonts: list[str] = field(default_factory=list)
    # cid: references the html makes that `images` has no entry for.
    unresolved_cids: list[str] = field(default_factory=list)


def find_chromium() -> str | None:
    """The Chromium to use: `chromium`/`chromium-browser` on PATH, else the one install-test-deps.sh unpacked."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    wrapper = TOOLS / "bin" / "chromium"
    return str(wrapper) if os.access(wrapper, os.X_OK) else None


def cjk_font_dirs() -> list[Path]:
    """The repository's unpacked font directory, when it holds fonts (install-test-deps.sh puts a CJK one there)."""
    fonts = TOOLS / "usr" / "share" / "fonts"
    if fonts.is_dir() and any(p.suffix.lower() in FONT_SUFFIXES for p in fonts.rglob("*") if p.is_file()):
        return [fonts]
    return []


# ---- cid: references --------------------------------------------------------------------------------

# src="cid:x", src='cid:x', src=cid:x, and CSS url(cid:x) / url("cid:x").
_CID_RE = re.compile(
    r"""(?P<pre>\bsrc\s*=\s*(?P<q>["']?)|\burl\(\s*(?P<uq>["']?))cid:(?P<id>[^"'\s>)]+)""",
    re.IGNORECASE,
)


def _mime_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.lstrip()[:5] in (b"<?xml", b"<svg ") or data.lstrip().startswith(b"<svg"):
        return "image/svg+xml"
    return "application/octet-stream"


def _replace_cids(html: str, images: dict[str, bytes]) -> tuple[str, list[str]]:
    """Each cid: reference replaced by a data: URI of its image, as a mail client resolves them.

    Content-IDs are compared without their angle brackets, and the URL form is %-decoded (RFC 2392).
    """
    by_id = {key.strip().strip("<>"): data for key, data in images.items()}
    unresolved: list[str] = []

    def sub(match: re.Match[str]) -> str:
        cid = urllib.parse.unquote(match.group("id"))
        data = by_id.get(cid)
        if data is None:
            if cid not in unresolved:
                unresolved.append(cid)
            return match.group(0)
        uri = f"data:{_mime_of(data)};base64,{base64.b64encode(data).decode('ascii')}"
        return match.group("pre") + uri

    return _CID_RE.sub(sub, html), unresolved


# ---- the DevTools protocol over a pipe --------------------------------------------------------------


class _Devtools:
    """One Chromium, spoken to over --remote-debugging-pipe. Fetch.requestPaused is answered as it comes."""

    def __init__(self, proc: subprocess.Popen[bytes], to_browser: int, from_browser: int, allowed_dir: Path):
        self.proc = proc
        self.to_browser = to_browser
        self.from_browser = from_browser
        self.allowed_prefix = allowed_dir.as_uri() + "/"
        self.buffer = b""
        self.next_id = 0
        self.responses: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[str] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.to_browser, data) :]
        return self.next_id

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        deadline: float = 0,
    ) -> dict[str, Any]:
        sent = self.send(method, params, session)
        while sent not in self.responses:
            self._pump(deadline)
        reply = self.responses.pop(sent)
        if "error" in reply:
            raise RuntimeError(f"Chromium refused {method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str, deadline: float) -> dict[str, Any]:
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            self._pump(deadline)

    def _pump(self, deadline: float) -> None:
        """Read until at least one whole message has arrived and been dispatched."""
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed the DevTools pipe (exit code {self.proc.poll()})")
            self.buffer += chunk
        while b"\0" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\0", 1)
            self._dispatch(json.loads(raw))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            self.responses[message["id"]] = message
        elif message.get("method") == "Fetch.requestPaused":
            self._on_request(message["params"], message.get("sessionId"))
        else:
            self.events.append(message)

    def _on_request(self, params: dict[str, Any], session: str | None) -> None:
        url = params["request"]["url"]
        if url.startswith(("data:", "about:")) or url.startswith(self.allowed_prefix):
            self.send("Fetch.continueRequest", {"requestId": params["requestId"]}, session)
            return
        # A mail client fetches nothing remote by default, and nothing local beside the message either.
        self.requests.append(url)
        self.send(
            "Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"}, session
        )


def _high_fd(fd: int) -> int:
    """`fd` moved to a number >= 10, so bash's 3<& and 4>& below cannot overwrite one another."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


def _fonts_conf(workdir: Path, font_dirs: list[Path]) -> Path:
    dirs = "".join(f"  <dir>{d}</dir>\n" for d in font_dirs)
    conf = workdir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"{dirs}</fontconfig>\n",
        encoding="utf-8",
    )
    return conf


def _is_not_blank(png: bytes) -> bool:
    from PIL import Image  # Pillow comes with matplotlib; only this needs it

    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        total = rgb.width * rgb.height
        colours = rgb.getcolors(maxcolors=total) or []
    if total == 0 or not colours:
        return False
    commonest = max(count for count, _ in colours)
    return (total - commonest) / total >= NOT_BLANK_SHARE


_IMAGES_JS = """(() => {
  const imgs = Array.from(document.images);
  const root = document.documentElement;
  return {
    total: imgs.length,
    loaded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
    height: Math.ceil(Math.max(root.scrollHeight, document.body ? document.body.scrollHeight : 0)),
  };
})()"""


def _text_fonts(devtools: _Devtools, session: str, deadline: float) -> list[str]:
    """Families of the platform fonts the text of each element with visible text was drawn with."""
    devtools.call("DOM.enable", {}, session, deadline)
    devtools.call("CSS.enable", {}, session, deadline)
    root = devtools.call("DOM.getDocument", {"depth": -1}, session, deadline)["root"]
    families: list[str] = []
    stack = [root]
    checked = 0
    while stack and checked < 500:
        node = stack.pop()
        children = node.get("children", [])
        if node.get("nodeName") in ("HEAD", "SCRIPT", "STYLE", "TITLE"):
            continue
        stack.extend(reversed(children))
        if node.get("nodeType") == 1 and any(
            c.get("nodeType") == 3 and c.get("nodeValue", "").strip() for c in children
        ):
            checked += 1
            got = devtools.call("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]}, session, deadline)
            for font in got.get("fonts", []):
                if font.get("glyphCount", 0) > 0 and font["familyName"] not in families:
                    families.append(font["familyName"])
    return families


def launch_chromium(
    chromium: str, workdir: Path, flags: list[str]
) -> tuple[subprocess.Popen[bytes], int, int]:
    """Start `chromium` headless with CHROMIUM_FLAGS + `flags`, its DevTools protocol on a pipe.

    Returns the process (in its own session; end it with _stop) and the two descriptors to keep: the
    one to write the protocol to and the one to read it from (the caller closes them). Chromium's output
    goes to `workdir`/chromium.log; the unpacked CJK fonts are handed to it through a fontconfig file.
    """
    env = dict(os.environ)
    font_dirs = cjk_font_dirs()
    if font_dirs and "FONTCONFIG_FILE" not in env:
        env["FONTCONFIG_FILE"] = str(_fonts_conf(workdir, font_dirs))
    to_r, to_w = (_high_fd(fd) for fd in os.pipe())
    from_r, from_w = (_high_fd(fd) for fd in os.pipe())
    # Chromium reads the protocol from fd 3 and writes it to fd 4: bash puts the pipes there (dash's
    # redirections take single-digit descriptors only; preexec_fn is unsafe beside threads).
    script = f'exec "$0" "$@" 3<&{to_r} 4>&{from_w} {to_r}<&- {from_w}>&-'
    try:
        with open(workdir / "chromium.log", "wb") as log:
            proc = subprocess.Popen(
                [
                    shutil.which("bash") or "/bin/bash",
                    "-c",
                    script,
                    chromium,
                    *CHROMIUM_FLAGS,
                    *flags,
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(to_r, from_w),
                env=env,
                start_new_session=True,
            )
    except BaseException:
        for fd in (to_w, from_r):
            os.close(fd)
        raise
    finally:
        os.close(to_r)
        os.close(from_w)
    return proc, to_w, from_r


def render_email_html(
    html: str,
    images: dict[str, bytes],
    out_png: Path,
    width: int = 600,
    timeout: float = 60.0,
    chromium: str | None = None,
) -> RenderResult:
    """Show `html` as a mail client would, `width` CSS pixels wide; the full-page screenshot goes to `out_png`.

    `images` maps Content-ID (with or without <>) to the image bytes. Raises RuntimeError, with the tail
    of Chromium's output, when no Chromium is found, it fails, or the page is not done within `timeout`
    seconds. `chromium` overrides find_chromium().
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError(
            "no Chromium found: run scripts/install-test-deps.sh (or apt-get install chromium)"
        )
    deadline = time.monotonic() + timeout
    page_html, unresolved = _replace_cids(html, images)

    workdir = Path(tempfile.mkdtemp(prefix="ops-watch-render-"))
    page_dir = workdir / "page"
    page_dir.mkdir()
    page = page_dir / "email.html"
    # The BOM fixes the encoding the way the MIME part's charset does for a mail client.
    page.write_text("\ufeff" + page_html, encoding="utf-8")

    to_w = from_r = -1
    proc = None
    closed = False
    try:
        proc, to_w, from_r = launch_chromium(
            chromium, workdir, [f"--user-data-dir={workdir / 'profile'}", f"--window-size={width},800"]
        )
        log_path = workdir / "chromium.log"
        devtools = _Devtools(proc, to_w, from_r, page_dir)
        try:
            result = _render(devtools, page, width, deadline)
        except (RuntimeError, TimeoutError, OSError) as exc:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(
                f"rendering in {chromium} failed: {exc}\n--- Chromium's output:\n{tail}"
            ) from exc
        closed = True
        png, total, loaded, fonts = result
        out_png.write_bytes(png)
        return RenderResult(
            png=png,
            requests=list(devtools.requests),
            images_total=total,
            images_loaded=loaded,
            not_blank=_is_not_blank(png),
            fonts=fonts,
            unresolved_cids=unresolved,
        )
    finally:
        for fd in (to_w, from_r):
            if fd >= 0:
                os.close(fd)
        if proc is not None:
            # Closing the pipe or Browser.close ends Chromium at once; after a failure, do not wait long.
            _stop(proc, grace=10 if closed else 2)
        shutil.rmtree(workdir, ignore_errors=True)


def _render(
    devtools: _Devtools, page: Path, width: int, deadline: float
) -> tuple[bytes, int, int, list[str]]:
    target = devtools.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)["targetId"]
    session = devtools.call(
        "Target.attachToTarget", {"targetId": target, "flatten": True}, deadline=deadline
    )["sessionId"]

    def call(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return devtools.call(method, params, session, deadline)

    call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
    call("Page.enable")
    # Mail clients run no script; DevTools' own Runtime.evaluate below still works.
    call("Emulation.setScriptExecutionDisabled", {"value": True})
    call(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    navigated = call("Page.navigate", {"url": page.as_uri()})
    if navigated.get("errorText"):
        raise RuntimeError(f"Chromium could not open {page}: {navigated['errorText']}")
    devtools.wait_event("Page.loadEventFired", session, deadline)

    stats = call("Runtime.evaluate", {"expression": _IMAGES_JS, "returnByValue": True})["result"]["value"]
    fonts = _text_fonts(devtools, session, deadline)
    height = min(max(int(stats["height"]), 1), MAX_HEIGHT)
    shot = call(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    # Chromium may exit before it answers: _stop waits for it.
    devtools.send("Browser.close")
    return base64.b64decode(shot["data"]), int(stats["total"]), int(stats["loaded"]), fonts


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        # Its own session (start_new_session): the renderer and GPU processes go with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
