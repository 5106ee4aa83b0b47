"""Issue 17 #13: secrets inside URLs and query strings never reach a log line, at any level — including the
debug lines urllib3 writes through our logging set-up."""

from __future__ import annotations

import http.server
import io
import logging
import threading
from collections.abc import Iterator

import pytest
import requests

from ops_watch.core.log import get_logger, redact_text, setup_logging

SECRET = "c0ffee15bad5ecret"


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_urllib3_debug_line_has_no_access_token(server: str, fmt: str) -> None:
    stream = io.StringIO()
    setup_logging("debug", fmt, stream=stream)
    url = f"{server}/robot/send?access_token={SECRET}&sign={SECRET}2&timestamp=1700000000"
    assert requests.post(url, json={"msgtype": "text"}, timeout=5).status_code == 200
    get_logger("t").debug("webhook sent", url=url)
    get_logger("t").warning(f"webhook to {url} slow")
    out = stream.getvalue()
    assert "/robot/send?access_token=***" in out  # urllib3's own debug line went through our set-up
    assert "&sign=***" in out and "timestamp=1700000000" in out
    assert SECRET not in out


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /a?key=abc123&x=1", "GET /a?key=***&x=1"),
        ("POST /x?token=t0k&secret=s3c HTTP/1.1", "POST /x?token=***&secret=*** HTTP/1.1"),
        ("https://h/p?password=pw1;api_key=k2#frag", "https://h/p?password=***;api_key=***#frag"),
        ('{"url": "https://h/p?app_secret=zz9"}', '{"url": "https://h/p?app_secret=***"}'),
        (
            "body: client_id=1&client_secret=abc&grant_type=x",
            "body: client_id=1&client_secret=***&grant_type=x",
        ),
        ("https://admin:hunter22@db.example/x", "https://admin:***@db.example/x"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***"),
        ("monkey=banana signed_by=张伟 job=ingest", "monkey=banana signed_by=张伟 job=ingest"),
    ],
)
def test_secrets_in_query_strings_and_urls_are_masked(line: str, expected: str) -> None:
    assert redact_text(line) == expected
