"""The area pages of the console (资源, 连续性, 经费与考核, 管理资料), served for real on loopback: the same
figures as the CLI (the same functions), escaped evidence, 404 for unknown ids, role checks, CSRF."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests
import test_web_console
from alert_helpers import add_finding
from browser import find_chromium
from click.testing import CliRunner
from conftest import component_missing
from webdriver import Browser

from ops_watch.areas.governance.inspections.model import plan_month
from ops_watch.areas.resources.utilization import floor_hour, reclaim_list, reclaim_totals
from ops_watch.cli import main
from ops_watch.core.timeutil import utcnow
from ops_watch.store.schema import (
    BackupJob,
    Finding,
    FindingEvent,
    InspectionRecord,
    InventoryResource,
    UtilizationHourly,
)
from ops_watch.web import sessions

Console = test_web_console.Console
XSS = test_web_console.XSS
make_console = test_web_console.make_console  # the fixture, shared


@pytest.fixture
def web(store: Any, make_console: Callable[..., Console]) -> Console:  # noqa: F811
    return make_console(store)


def _no_raw(text: str) -> None:
    assert XSS not in text
    assert "<script>alert" not in text


# ---- 资源 -------------------------------------------------------------------------------------------------


def _resource(store: Any, rid: str, hours: int = 48) -> None:
    now = floor_hour(utcnow())
    with store.session() as s:
        s.add(
            InventoryResource(
                resource_id=rid,
                platform="政务云",
                tenant_unit=XSS,
                type="vm",
                vcpu=8,
                memory_gb=16.0,
                storage_gb=100.0,
                updated_at=utcnow(),
            )
        )
        for h in range(1, hours + 1):
            s.add(
                UtilizationHourly(
                    resource_id=rid,
                    hour=now - timedelta(hours=h),
                    samples=12,
                    cpu_mean=1.0 + h % 3,
                    cpu_max=5.0,
                    cpu_p95=2.5 + h % 3,
                    mem_mean=30.0,
                    mem_max=40.0,
                    mem_p95=35.5,
                )
            )


def _reclaim_finding(store: Any, rid: str, cost: float) -> int:
    at = utcnow() - timedelta(days=1)
    with store.session() as s:
        f = Finding(
            fingerprint=uuid.uuid4().hex[:40],
            rule_id="idle-vm",
            check="idle_cpu",
            area="resources",
            severity="warning",
            status="open",
            subject=rid,
            summary=f"idle {XSS}",
            evidence={
                "resource_id": rid,
                "platform": "政务云",
                "tenant_unit": XSS,
                "action": "reclaim",
                "reclaim_vcpu": 8,
                "reclaim_memory_gb": 16.0,
                "reclaim_storage_gb": 0.0,
                "monthly_cost": cost,
                "currency": "CNY",
                "cost_basis": "unit_price",
            },
            first_seen=at,
            last_seen=at,
            notified_status="",
            thread_message_id="",
        )
        s.add(f)
        s.flush()
        s.add(FindingEvent(finding_id=f.id, at=at, action="opened", reason=f.summary))
        return f.id


def test_resources_reclaim_list_same_figures_as_cli(web: Console) -> None:
    _resource(web.store, "VM-1")
    _reclaim_finding(web.store, "VM-1", 1234.5)
    _reclaim_finding(web.store, "VM-<b>2</b>", 100.25)
    with web.store.session() as s:
        totals = reclaim_totals(reclaim_list(s, utcnow()))
    http_ = web.session("viewer1")
    page = http_.get(web.url("/resources"))
    assert page.status_code == 200, page.text
    _no_raw(page.text)
    assert "VM-&lt;b&gt;2&lt;/b&gt;" in page.text
    assert f"{totals['monthly_saving']:,.2f}" in page.text
    assert "1,334.75" in page.text  # 1234.5 + 100.25, as `resources idle` sums it
    assert 'href="/resources/VM-1"' in page.text
    assert 'href="/resources" class="active"' in page.text  # the nav lights its section
    assert http_.get(web.url("/resources?days=30")).status_code == 200
    assert http_.get(web.url("/resources?days=7")).status_code == 400


def test_resource_chart_data_and_404(web: Console) -> None:
    _resource(web.store, "VM-1", hours=30)
    http_ = web.session("viewer1")
    page = http_.get(web.url("/resources/VM-1"))
    assert page.status_code == 200, page.text
    _no_raw(page.text)
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer></script>' in page.text
    assert '<script src="/static/charts.js" defer></script>' in page.text
    found = re.search(
        r'<script type="application/json" id="utilization-data">(.*?)</script>', page.text, re.S
    )
    assert found
    chart = json.loads(found.group(1))
    assert len(chart["x"]) == 30
    assert chart["series"][1]["data"][0] == 35.5  # memory p95
    mean = json.loads(
        re.search(
            r'id="utilization-data">(.*?)</script>',
            http_.get(web.url("/resources/VM-1?stat=mean")).text,
            re.S,
        ).group(1)  # type: ignore[union-attr]
    )
    assert mean["series"][1]["data"][0] == 30.0
    assert http_.get(web.url("/resources/VM-1?stat=max")).status_code == 400
    missing = http_.get(web.url("/resources/NO-SUCH"))
    assert missing.status_code == 404
    assert "Traceback" not in missing.text
    assert http_.get(web.url("/static/charts.js")).status_code == 200
    assert requests.get(web.url("/resources/VM-1"), allow_redirects=False).status_code == 303


# ---- 管理资料 ---------------------------------------------------------------------------------------------


def _csrf_post(web: Console, http_: requests.Session, path: str, data: dict[str, str]) -> requests.Response:
    token = web.csrf(http_, path)
    return http_.post(web.url(path), data={"csrf": token, **data}, allow_redirects=False)


def test_governance_page_for_a_viewer_without_the_plan(web: Console) -> None:
    http_ = web.session("viewer1")
    page = http_.get(web.url("/governance"))
    assert page.status_code == 200, page.text
    assert "月度安全审计报告" in page.text  # [[audit.materials]] of the contract
    assert "报送及时率" in page.text  # the rate line of `audit status`
    assert "/governance/inspections" not in page.text
    assert http_.get(web.url("/governance/inspections")).status_code == 403
    refused = _csrf_post(web, http_, "/governance", {"date": "2026-01-05", "area": "site"})
    assert refused.status_code == 405
    token = web.csrf(http_, "/governance")
    denied = http_.post(
        web.url("/governance/inspections"),
        data={"csrf": token, "date": "2026-01-05", "area": "site", "inspector": "x", "result": "pass"},
        allow_redirects=False,
    )
    assert denied.status_code == 403
    with web.store.session() as s:
        assert s.query(InspectionRecord).count() == 0
    assert any(
        e["action"] == "refused" and "governance/inspections" in e["detail"]
        for e in sessions.events(web.store, limit=100)
    )


def test_inspections_plan_and_record_form(web: Console) -> None:
    zone = web.rt.config.site.zone
    today = utcnow().astimezone(zone).date()
    month = f"{today:%Y-%m}"
    plan_month(web.store, web.rt.rules.contract, zone, month, "tester<b>", count=1)
    http_ = web.session("operator1")
    assert 'href="/governance/inspections"' in http_.get(web.url("/governance")).text
    page = http_.get(web.url("/governance/inspections"))
    assert page.status_code == 200, page.text
    assert "tester&lt;b&gt;" in page.text
    assert "seed" not in page.text.lower()
    assert http_.get(web.url("/governance/inspections?month=2026-13")).status_code == 400
    # without the CSRF token: refused, nothing kept
    bare = http_.post(
        web.url("/governance/inspections"),
        data={"date": today.isoformat(), "area": "site", "inspector": "x", "result": "pass"},
        allow_redirects=False,
    )
    assert bare.status_code == 403
    # a future day, an unknown area, problems without a description: 400 with the form kept
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert (
        _csrf_post(
            web,
            http_,
            "/governance/inspections",
            {"date": tomorrow, "area": "site", "inspector": "x", "result": "pass"},
        ).status_code
        == 400
    )
    bad_area = _csrf_post(
        web,
        http_,
        "/governance/inspections",
        {"date": today.isoformat(), "area": "nowhere", "inspector": XSS, "result": "pass"},
    )
    assert bad_area.status_code == 400
    _no_raw(bad_area.text)
    assert (
        _csrf_post(
            web,
            http_,
            "/governance/inspections",
            {"date": today.isoformat(), "area": "site", "inspector": "x", "result": "problems"},
        ).status_code
        == 400
    )
    with web.store.session() as s:
        assert s.query(InspectionRecord).count() == 0
    ok = _csrf_post(
        web,
        http_,
        "/governance/inspections",
        {"date": today.isoformat(), "area": "site", "inspector": XSS, "result": "problems", "problems": XSS},
    )
    assert ok.status_code == 303, ok.text
    with web.store.session() as s:
        rec = s.query(InspectionRecord).one()
        assert (rec.area, rec.result, rec.inspector) == ("site", "problems", XSS)
        assert rec.rectify_by == today + timedelta(days=7)  # the contract's rectify_days, as the CLI sets it
    after = http_.get(web.url(ok.headers["location"]))
    assert after.status_code == 200
    _no_raw(after.text)
    assert "&lt;script&gt;" in after.text
    assert any(e["action"] == "inspection" and e["ok"] for e in sessions.events(web.store, limit=100))


def test_governance_missing_sections_are_notes(
    store: Any, config_file: Callable[..., Any], make_console: Callable[..., Console]
) -> None:  # noqa: F811
    contract = config_file("").parent / "rules" / "contract.toml"
    text = contract.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[archive\].*?(?=^\[inspections\])", "", text)
    text = re.sub(r"(?ms)^\[audit\].*?(?=^\[survey\])", "", text)
    text = re.sub(r"(?ms)^\[survey\].*", "", text)
    contract.write_text(text, encoding="utf-8")
    web = make_console(store)
    page = web.session("viewer1").get(web.url("/governance"))
    assert page.status_code == 200, page.text
    assert "合同中没有 [audit] 部分" in page.text
    assert "合同中没有 [archive] 部分" in page.text
    assert "合同中没有 [survey] 部分" in page.text


# ---- 经费与考核 -------------------------------------------------------------------------------------------


def _cli(web: Console, *args: str) -> str:
    out = CliRunner().invoke(main, ["--config", str(web.config_path), *args], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return out.stdout


@pytest.fixture
def web_cli(store: Any, make_console: Callable[..., Console]) -> Console:  # noqa: F811
    """A console whose config names the same store, so the CLI reads what the pages read."""
    url = store.engine.url.render_as_string(hide_password=False)
    return make_console(store, f'[store]\nurl = "{url}"\n')


def test_money_page_shows_the_cli_figures(web_cli: Console) -> None:
    web = web_cli
    _resource(web.store, "VM-<i>1</i>")
    http_ = web.session("viewer1")
    page = http_.get(web.url("/money?month=2026-10&year=2026"))
    assert page.status_code == 200, page.text
    _no_raw(page.text)
    text = html.unescape(page.text)
    billing = _cli(web, "billing", "reconcile", "--month", "2026-10")
    for line in billing.strip().splitlines()[-2:]:  # the totals lines under the table
        assert line.strip() in text, line
    score = _cli(web, "score")
    summary = [ln for ln in score.splitlines() if ln.startswith(("总分", "得分"))]
    for line in summary:
        assert line.strip() in text, line
    for formula_word in ("公式", "得分", "权重"):
        assert formula_word in text
    assert "预算执行" in text
    assert http_.get(web.url("/money?month=2026-13")).status_code == 400
    assert http_.get(web.url("/money?year=1999")).status_code == 400
    assert http_.get(web.url("/money?year=abc")).status_code == 400


def test_money_missing_sections_are_notes(
    store: Any,
    config_file: Callable[..., Any],
    make_console: Callable[..., Console],  # noqa: F811
) -> None:
    contract = config_file("").parent / "rules" / "contract.toml"
    text = contract.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[billing\].*?(?=^\[score\])", "", text)
    text = re.sub(r"(?ms)^\[score\].*?(?=^\[archive\])", "", text)
    contract.write_text(text, encoding="utf-8")
    web = make_console(store)
    page = web.session("viewer1").get(web.url("/money"))
    assert page.status_code == 200, page.text
    for section in ("billing", "budget", "score"):
        assert f"合同中没有 [{section}] 部分" in page.text


# ---- 连续性 -----------------------------------------------------------------------------------------------


def test_continuity_page_as_the_cli_shows_it(web_cli: Console) -> None:
    web = web_cli
    now = utcnow()
    with web.store.session() as s:
        for i, status in enumerate(("success", "failed", "success")):
            s.add(
                BackupJob(
                    system="警务综合平台",
                    job="nightly",
                    started=now - timedelta(days=3 - i),
                    finished=now - timedelta(days=3 - i) + timedelta(hours=1),
                    status=status,
                    dedupe_key=f"k{i}",
                )
            )
    add_finding(
        web.store,
        area="continuity",
        rule="backup-rpo",
        check="backup_gap",
        subject=f"警务综合平台 {XSS}",
        summary=XSS,
    )
    http_ = web.session("viewer1")
    page = http_.get(web.url("/continuity"))
    assert page.status_code == 200, page.text
    _no_raw(page.text)
    text = html.unescape(page.text)
    table = _cli(web, "continuity", "status")
    line = next(ln for ln in table.splitlines() if ln.startswith("警务综合平台"))
    for cell in ("RPO 12h", "66.7%"):  # the CLI's row of the system, the page's the same
        assert cell in line
        assert cell in text
    assert 'href="/findings?area=continuity"' in page.text
    for system in ("视频图像平台", "人口信息库", "案件管理系统"):
        assert system in text
    assert "&lt;script&gt;" in page.text


def test_continuity_missing_section_is_a_note(
    store: Any,
    config_file: Callable[..., Any],
    make_console: Callable[..., Console],  # noqa: F811
) -> None:
    contract = config_file("").parent / "rules" / "contract.toml"
    text = contract.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[continuity\].*?(?=^# How long the contractor)", "", text)
    contract.write_text(text, encoding="utf-8")
    web = make_console(store)
    page = web.session("viewer1").get(web.url("/continuity"))
    assert page.status_code == 200, page.text
    assert "合同中没有 [continuity] 部分" in page.text


# ---- the chart in a real browser ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_resource_chart_draws_and_hovers_in_chromium(web: Console, tmp_path: Any) -> None:
    """The utilization chart is drawn by /static/charts.js with the vendored ECharts, within the console's
    CSP (no console error), from the console's own origin only, and shows the figures under the mouse."""
    if find_chromium() is None:
        component_missing("chromium not found: run scripts/install-test-deps.sh")
    _resource(web.store, "VM-1", hours=30)
    with Browser(tmp_path) as b:
        b.goto(web.url("/login?next=%2Fresources%2FVM-1"))
        b.fill("input[name=name]", "viewer1")
        b.fill("input[name=password]", test_web_console.PASSWORD)
        b.click("section.login button[type=submit]")
        assert b.url == web.url("/resources/VM-1")
        b.wait_for("div.chart canvas", timeout=15)
        b.hover("div.chart", 0.5, 0.5)
        b.wait_for("div.chart[data-tip]", timeout=10)
        tip = b.eval("document.querySelector('div.chart').dataset.tip")
    assert "CPU: " in tip and "%" in tip and "内存: 35.5%" in tip
    assert b.blocked == []
    errors = [
        e for e in b.console_errors if "/favicon.ico" not in e
    ]  # the browser's own guess, not the page's
    assert errors == [], "\n".join(errors)
    assert {r.url for r in b.requests if r.url.endswith(".js")} >= {
        web.url("/static/charts.js"),
        web.url("/static/vendor/echarts/echarts.min.js"),
    }


def test_resource_ids_with_slashes_and_spaces_have_their_page(web: Console) -> None:
    """Cloud platforms name resources by path (tenant/project/vm): each has its page (the id is one path
    parameter, slashes included; what a URL cannot hold is quoted, as the list's links quote it)."""
    http_ = web.session("viewer1")
    for rid in ("公安局/刑侦支队/vm-01", "tenant a/vm 02?x#y"):
        _resource(web.store, rid, hours=5)
        page = http_.get(web.url("/resources/" + quote(rid, safe="/")))
        assert page.status_code == 200, (rid, page.text[:300])
        assert html.escape(rid) in page.text
    assert http_.get(web.url("/resources/公安局/刑侦支队/nope")).status_code == 404
