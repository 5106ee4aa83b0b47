"""The 周报 pages and the read-only JSON API, served for real on loopback.

Reports: the archived weeks checked against their manifests; a week's HTML with its `cid:` charts served by the
console, in a sandboxed frame with its own policy; the XLSX; a file changed since the build refused, never
served; path traversal impossible. API: bearer tokens (401 without, 403 revoked), the cookie session too, the
same JSON as the CLI's `--format json`, errors as JSON in both languages, the OpenAPI schema."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import test_web_console
from alert_helpers import add_finding
from click.testing import CliRunner

from ops_watch.cli.app import main
from ops_watch.findings import engine
from ops_watch.ingest import ingest_drop_folder
from ops_watch.report.archive import ReportFiles, write_archive
from ops_watch.web import accounts
from tests.integration.test_staffing_examples import drop, example_config

Console = test_web_console.Console
XSS = test_web_console.XSS
make_console = test_web_console.make_console  # the fixture, shared

WEEK = "2026-W47"
# a real 1×1 PNG: the browser test checks the chart is drawn
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d1a1b50000000049454e44ae426082"
)
XLSX_NAME = "运维合规周报-2026-W47.xlsx"
XLSX = b"PK\x03\x04 not really a workbook"
CID = "staffing.2026-W47@ops-watch"
HTML = (
    f'<html><body><h1 style="color:#333">周报 2026-W47</h1><img src="cid:{CID}" alt="到位率"></body></html>'
).encode()


def _archive(folder: Path, subject: str = "运维合规周报 2026-W47") -> Path:
    files = ReportFiles(
        WEEK,
        "zh",
        subject,
        {"report.html": HTML, "report.txt": "周报".encode(), XLSX_NAME: XLSX, "charts/staffing.png": PNG},
        {"charts/staffing.png": CID},
        XLSX_NAME,
        "amber",
    )
    return write_archive(folder, files, datetime(2026, 11, 23, 8, tzinfo=UTC))


@pytest.fixture
def web(store: Any, store_url: str, make_console: Callable[..., Console]) -> Console:  # noqa: F811
    return make_console(store, f'[store]\nurl = "{store_url}"\n')


def _cli(web: Console, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--config", str(web.config_path), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- 周报 ----------------------------------------------------------------------------------------------------


def test_reports_list_page_and_week(web: Console) -> None:
    _archive(web.rt.config.reports_dir, subject=f"周报 {XSS}")
    http = web.session("viewer1")
    page = http.get(web.url("/reports"))
    assert page.status_code == 200
    assert WEEK in page.text and "已核对" in page.text
    assert '<a href="/reports" class="active"' in page.text  # the nav lights 周报

    week = http.get(web.url(f"/reports/{WEEK}"))
    assert week.status_code == 200
    assert XSS not in week.text and "&lt;script&gt;" in week.text
    assert f'src="/reports/{WEEK}/body"' in week.text and 'sandbox="allow-same-origin"' in week.text
    assert "<script>alert" not in week.text

    body = http.get(web.url(f"/reports/{WEEK}/body"))
    assert body.status_code == 200
    policies = body.headers["content-security-policy"]
    assert "sandbox" in policies and "script-src" not in policies and "default-src 'none'" in policies
    assert "cid:" not in body.text
    src = f"/reports/{WEEK}/files/charts/staffing.png"
    assert f'src="{src}"' in body.text
    chart = http.get(web.url(src))
    assert chart.status_code == 200 and chart.content == PNG and chart.headers["content-type"] == "image/png"

    xlsx = http.get(web.url(f"/reports/{WEEK}/files/{XLSX_NAME}"))
    assert xlsx.status_code == 200 and xlsx.content == XLSX
    assert "attachment" in xlsx.headers["content-disposition"]


def test_reports_need_a_session(web: Console) -> None:
    _archive(web.rt.config.reports_dir)
    for path in (
        "/reports",
        f"/reports/{WEEK}",
        f"/reports/{WEEK}/body",
        f"/reports/{WEEK}/files/report.txt",
    ):
        answer = requests.get(web.url(path), allow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path


def test_a_changed_file_is_refused_never_served(web: Console) -> None:
    folder = _archive(web.rt.config.reports_dir)
    (folder / "charts" / "staffing.png").write_bytes(b"tampered")
    http = web.session("viewer1")
    listing = http.get(web.url("/reports"))
    assert "不符" in listing.text
    week = http.get(web.url(f"/reports/{WEEK}"))
    assert week.status_code == 200 and "sha256" in week.text
    chart = http.get(web.url(f"/reports/{WEEK}/files/charts/staffing.png"))
    assert chart.status_code == 409
    assert b"tampered" not in chart.content and "sha256" in chart.text
    assert http.get(web.url(f"/reports/{WEEK}/body")).status_code == 200  # the body itself is intact


def test_path_traversal_is_impossible(web: Console) -> None:
    _archive(web.rt.config.reports_dir)
    secret = web.rt.config.reports_dir.parent / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    (web.rt.config.reports_dir / WEEK / "extra.txt").write_text("NOT-IN-MANIFEST", encoding="utf-8")
    http = web.session("viewer1")
    for path in (
        f"/reports/{WEEK}/files/../../secret.txt",
        f"/reports/{WEEK}/files/%2e%2e/%2e%2e/secret.txt",
        f"/reports/{WEEK}/files/..%2f..%2fsecret.txt",
        f"/reports/{WEEK}/files/%2fetc%2fpasswd",
        f"/reports/{WEEK}/files//etc/passwd",
        f"/reports/{WEEK}/files/..%5c..%5csecret.txt",
        f"/reports/{WEEK}/files/charts%5c..%5c..%5c..%5csecret.txt",
        f"/reports/{WEEK}/files/extra.txt",
        f"/reports/{WEEK}/files/manifest.json",
        "/reports/%2e%2e/files/secret.txt",
        "/reports/..%2f..%2f/body",
        "/reports/2026-W99",
        "/reports/2026-W01",
        "/reports/%2e%2e%5csecret.txt/body",
    ):
        answer = http.get(web.url(path), allow_redirects=False)
        assert answer.status_code in (400, 404), (path, answer.status_code)
        assert "TOP-SECRET" not in answer.text and "NOT-IN-MANIFEST" not in answer.text, path
        assert "root:" not in answer.text


# --- the JSON API --------------------------------------------------------------------------------------------


def _token(web: Console, name: str = "zabbix") -> dict[str, str]:
    secret = accounts.create_token(web.store, name, "viewer")
    return {"authorization": f"Bearer {secret}"}


def test_api_tokens_and_errors(web: Console) -> None:
    fid = add_finding(web.store, subject=XSS)
    anonymous = requests.get(web.url("/api/v1/findings"))
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"error", "error_en"}
    assert (
        requests.get(web.url("/api/v1/findings"), headers={"authorization": "Bearer ow_nope"}).status_code
        == 401
    )
    assert (
        requests.get(web.url("/api/v1/findings"), headers={"authorization": "Basic eDp5"}).status_code == 401
    )

    headers = _token(web)
    assert requests.get(web.url("/api/v1/findings"), headers=headers).status_code == 200
    accounts.revoke_token(web.store, "zabbix")
    revoked = requests.get(web.url("/api/v1/findings"), headers=headers)
    assert revoked.status_code == 403 and revoked.json()["error_en"] == "This token has been revoked."

    http = web.session("viewer1")  # the console's session works too
    assert http.get(web.url(f"/api/v1/findings/{fid}")).json()["subject"] == XSS

    headers = _token(web, "grafana")
    missing = requests.get(web.url("/api/v1/findings/999999"), headers=headers)
    assert missing.status_code == 404 and "999999" in missing.json()["error"]
    assert requests.get(web.url("/api/v1/findings/x1"), headers=headers).status_code == 404
    bad = requests.get(web.url("/api/v1/findings?status=nope"), headers=headers)
    assert bad.status_code == 400 and bad.json()["error_en"].startswith("status")
    assert requests.get(web.url("/api/v1/findings?limit=x"), headers=headers).status_code == 400
    assert requests.get(web.url("/api/v1/staffing/rate"), headers=headers).status_code == 400
    assert requests.get(web.url("/api/v1/score?at=never"), headers=headers).status_code == 400

    schema = requests.get(web.url("/api/v1/openapi.json"), headers=headers).json()
    for path in (
        "/api/v1/findings",
        "/api/v1/findings/{finding_id}",
        "/api/v1/staffing/shifts",
        "/api/v1/staffing/rate",
        "/api/v1/resources/reclaim",
        "/api/v1/continuity",
        "/api/v1/score",
        "/api/v1/reports",
    ):
        assert path in schema["paths"], path
    assert "FindingOut" in schema["components"]["schemas"]
    assert requests.get(web.url("/api/v1/openapi.json")).status_code == 401


def test_api_answers_as_the_cli(web: Console) -> None:
    first = add_finding(web.store, subject="host-1", severity="critical")
    add_finding(web.store, subject="host-2", rule="backup-fresh", check="backup_age")
    engine.acknowledge(web.store, first, "zhang", "known, change ticket 42")
    _archive(web.rt.config.reports_dir)
    headers = _token(web)

    def api(path: str) -> Any:
        answer = requests.get(web.url(path), headers=headers)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    assert api("/api/v1/findings") == _cli(web, "findings", "list", "--format", "json")
    assert api("/api/v1/findings?status=all&severity=critical") == _cli(
        web, "findings", "list", "--status", "all", "--severity", "critical", "--format", "json"
    )
    assert api("/api/v1/findings?rule=backup-fresh") == _cli(
        web, "findings", "list", "--rule", "backup-fresh", "--format", "json"
    )
    assert len(api("/api/v1/findings?limit=1&offset=1")) == 1
    detail = api(f"/api/v1/findings/{first}")
    assert detail == _cli(web, "findings", "show", str(first), "--format", "json")
    assert [h["action"] for h in detail["history"]][-1] == "acknowledged"
    assert api("/api/v1/reports") == _cli(web, "report", "list", "--format", "json")
    at = "2026-11-20T12:00:00+08:00"
    assert api("/api/v1/score?at=2026-11-20T12:00:00%2B08:00") == _cli(
        web, "score", "--at", at, "--format", "json"
    )
    assert api("/api/v1/resources/reclaim?at=2026-11-20T12:00:00%2B08:00") == _cli(
        web, "resources", "idle", "--at", at, "--format", "json"
    )


def test_api_staffing_and_continuity_as_the_cli(
    store: Any,
    store_url: str,
    tmp_path: Path,
    make_console: Callable[..., Console],  # noqa: F811
) -> None:
    config = example_config(tmp_path / "examples")
    drop(config, "staff", "door", "handover")
    assert {r.status for r in ingest_drop_folder(store, config)} == {"accepted"}
    web = make_console(store, f'[store]\nurl = "{store_url}"\n')
    headers = _token(web)
    at = "2026-11-16T08:00:00+08:00"
    at_q = "2026-11-16T08:00:00%2B08:00"

    def api(path: str) -> Any:
        answer = requests.get(web.url(path), headers=headers)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    shifts = api(f"/api/v1/staffing/shifts?from=2026-11-02&to=2026-11-08&at={at_q}")
    assert shifts and shifts == _cli(
        web,
        "staffing",
        "shifts",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-08",
        "--at",
        at,
        "--format",
        "json",
    )
    for by in ("week", "day", "month"):
        assert api(f"/api/v1/staffing/rate?month=2026-11&by={by}&at={at_q}") == _cli(
            web, "staffing", "rate", "--month", "2026-11", "--by", by, "--at", at, "--format", "json"
        )
    continuity = requests.get(web.url(f"/api/v1/continuity?at={at_q}"), headers=headers)
    cli = CliRunner().invoke(
        main, ["--config", str(web.config_path), "continuity", "status", "--at", at, "--format", "json"]
    )
    if cli.exit_code == 0:
        assert continuity.json() == json.loads(cli.stdout)
    else:  # no [continuity] systems in this contract: the API says so, as JSON
        assert continuity.status_code == 409 and "continuity" in continuity.json()["error_en"]


def test_the_week_renders_with_its_chart_in_chromium(web: Console, tmp_path: Path) -> None:
    """The body in its sandboxed frame, its chart loaded from the console, nothing fetched elsewhere."""
    from browser import find_chromium
    from conftest import component_missing
    from webdriver import Browser

    if find_chromium() is None:
        component_missing(
            "chromium not found: run scripts/install-test-deps.sh (or apt-get install chromium)"
        )
    _archive(web.rt.config.reports_dir)
    body = web.session("viewer1").get(web.url(f"/reports/{WEEK}/body"))
    assert body.headers.get("x-frame-options") == "SAMEORIGIN"  # framed by the console's own page only
    with Browser(tmp_path) as b:
        b.goto(web.url("/login"))
        b.fill("input[name=name]", "viewer1")
        b.fill("input[name=password]", test_web_console.PASSWORD)
        b.click("button[type=submit]")
        b.goto(web.url(f"/reports/{WEEK}"))
        chart = f"/reports/{WEEK}/files/charts/staffing.png"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(r.url.endswith(chart) for r in b.requests):
            time.sleep(0.1)
        time.sleep(0.3)
        shown = b.eval(
            "(() => { const d = document.querySelector('iframe').contentDocument;"
            " return [d.body.innerText, Array.from(d.images).map(i => i.complete && i.naturalWidth > 0)]; })()"
        )
        assert "周报 2026-W47" in shown[0] and shown[1] == [True]
        assert [r.status for r in b.requests if r.url.endswith(chart)] == [200]
        assert b.blocked == []
