"""tests/browser.py: an HTML email rendered in headless Chromium as a mail client shows it.

Needs Chromium (scripts/install-test-deps.sh unpacks one under .cache/tools when the system has none):
skips without it, fails in CI.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from browser import _replace_cids, cjk_font_dirs, find_chromium, render_email_html
from conftest import component_missing
from PIL import Image

CHROMIUM_MISSING = "chromium not found: run scripts/install-test-deps.sh (or apt-get install chromium)"


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def chromium() -> str:
    found = find_chromium()
    if found is None:
        component_missing(CHROMIUM_MISSING)
    return found


class _ImageServer:
    """A loopback HTTP server that serves a PNG for any path and counts the requests it gets."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        png = _png(10, 10, (255, 0, 0))
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tracking.png"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def image_server() -> Iterator[_ImageServer]:
    server = _ImageServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _email_html(remote_urls: list[str]) -> str:
    remote = "".join(f'<img src="{url}" width="10" height="10" alt="remote">' for url in remote_urls)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>周报</title></head>
<body style="margin:0;padding:16px;background:#ffffff;font-family:sans-serif">
<h1 id="title">运维监管周报 2026年第47周</h1>
<p>资源、人员、连续性、治理、证据：本周新增问题 12 项，已整改 9 项。</p>
<img src="cid:chart-resources" alt="资源图表">
{remote}
</body></html>"""


def test_cid_image_loads_and_remote_images_are_recorded_not_fetched(
    chromium: str, image_server: _ImageServer, tmp_path: Path
) -> None:
    invalid = "http://example.invalid/x.png"
    html = _email_html([invalid, image_server.url])
    out = tmp_path / "email.png"

    result = render_email_html(html, {"<chart-resources>": _png(240, 120, (31, 119, 180))}, out)

    assert result.images_total == 3
    # Only the cid image: the two remote ones were blocked.
    assert result.images_loaded == 1
    assert sorted(result.requests) == sorted([invalid, image_server.url])
    assert image_server.hits == [], "the page reached the loopback server: requests are not blocked"
    assert result.unresolved_cids == []
    assert result.not_blank
    assert out.read_bytes() == result.png
    with Image.open(out) as shot:
        assert shot.width == 600
        # The chart's colour is on the screenshot, so the image was drawn, not just counted.
        colours = {colour for _, colour in shot.convert("RGB").getcolors(maxcolors=shot.width * shot.height)}
    assert (31, 119, 180) in colours


def test_unresolved_cid_does_not_load_and_is_reported(chromium: str, tmp_path: Path) -> None:
    result = render_email_html(_email_html([]), {"other": _png(4, 4, (0, 0, 0))}, tmp_path / "e.png")

    assert (result.images_total, result.images_loaded) == (1, 0)
    assert result.unresolved_cids == ["chart-resources"]


def test_blank_page_is_blank(chromium: str, tmp_path: Path) -> None:
    result = render_email_html("<html><body style='background:#fff'></body></html>", {}, tmp_path / "b.png")

    assert result.not_blank is False
    assert (result.images_total, result.images_loaded, result.requests) == (0, 0, [])


def _cjk_families(font_dirs: list[Path], tmp_path: Path) -> set[str]:
    """Families fontconfig says cover Chinese, with the unpacked font directories added as the helper does."""
    env = dict(os.environ)
    if font_dirs and "FONTCONFIG_FILE" not in env:
        conf = tmp_path / "fonts.conf"
        dirs = "".join(f"<dir>{d}</dir>" for d in font_dirs)
        conf.write_text(
            f'<?xml version="1.0"?><fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>{dirs}</fontconfig>'
        )
        env["FONTCONFIG_FILE"] = str(conf)
    out = subprocess.run(
        ["fc-list", ":lang=zh", "family"], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


def test_chinese_text_is_drawn_with_a_cjk_font(chromium: str, tmp_path: Path) -> None:
    if shutil.which("fc-list") is None:
        component_missing("fc-list not found: apt-get install fontconfig")
    families = _cjk_families(cjk_font_dirs(), tmp_path)
    if not families:
        component_missing("no CJK font: run scripts/install-test-deps.sh (or apt-get install fonts-noto-cjk)")

    result = render_email_html(_email_html([]), {}, tmp_path / "zh.png")

    assert families & set(result.fonts), f"Chinese text drawn with {result.fonts}, none of {sorted(families)}"


def test_cid_references_are_replaced_like_a_mail_client_does() -> None:
    png = _png(2, 2, (0, 0, 0))
    html = (
        "<img src=\"cid:a%40b\"><img src='CID:plain'><img src=cid:bare>"
        '<td style="background:url(cid:plain)"></td><img src="cid:gone"><img src="https://x/y.png">'
    )

    out, unresolved = _replace_cids(html, {"<a@b>": png, "plain": png, "bare": png})

    assert out.count("data:image/png;base64,") == 4
    assert "cid:a" not in out and "CID:plain" not in out and "cid:bare" not in out
    assert 'src="cid:gone"' in out and 'src="https://x/y.png"' in out
    assert unresolved == ["gone"]
