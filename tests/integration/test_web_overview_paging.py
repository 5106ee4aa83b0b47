"""The console's faster paths give the same answers as the plain ones: the findings list sorted by severity
(read severity by severity), the overview's overdue list and its figures beside last week's, the figures
shared between viewers until new evidence arrives (store/shared.py), and the time each response took."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import test_web_console
from alert_helpers import add_findings, set_status
from sqlalchemy import case, select

from ops_watch.core.timeutil import utcnow
from ops_watch.core.vocabulary import SEVERITY_RANK
from ops_watch.store.schema import EvidenceBatch, Finding

Console = test_web_console.Console
make_console = test_web_console.make_console  # the fixture, shared
ROW = re.compile(r'<tr>\s*<td><a href="/findings/(\d+)">')


@pytest.fixture
def web(store: Any, make_console: Callable[..., Console]) -> Console:  # noqa: F811
    return make_console(store)


def _expected(store: Any, where: Any, descending: bool) -> list[int]:
    """The order ORDER BY (rank of severity, id) gives: what the list promised before it paged by severity."""
    rank = case(SEVERITY_RANK, value=Finding.severity, else_=-1)
    order = (rank.desc(), Finding.id.desc()) if descending else (rank.asc(), Finding.id.asc())
    with store.session() as s:
        query = select(Finding.id).order_by(*order)
        if where is not None:
            query = query.where(where)
        return list(s.scalars(query))


def _all_pages(http_: Any, web: Console, query: str) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        text = http_.get(web.url(f"/findings?{query}&page={page}")).text
        found = [int(x) for x in ROW.findall(text)]
        if not found:
            return ids
        ids += found
        page += 1


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_severity_sort_pages_like_one_ordered_query(web: Console, order: str) -> None:
    # Interleaved ids, bucket sizes that end mid-page, a severity no rule uses (ranked below info), and
    # resolved ones (status=all takes them, the default does not).
    for sev, n in (
        ("warning", 37),
        ("critical", 23),
        ("info", 41),
        ("warning", 12),
        ("bogus", 3),
        ("critical", 9),
    ):
        add_findings(web.store, n, severity=sev)
    ids = add_findings(web.store, 8, severity="critical")
    set_status(web.store, ids[:5], "resolved")
    http_ = web.session("viewer1")
    everything = _all_pages(http_, web, f"status=all&sort=severity&order={order}")
    assert everything == _expected(web.store, None, order == "desc")
    assert len(everything) == 133
    active = _all_pages(http_, web, f"sort=severity&order={order}")
    assert active == _expected(web.store, Finding.status != "resolved", order == "desc")
    warnings = _all_pages(http_, web, f"status=all&severity=warning&sort=severity&order={order}")
    assert warnings == _expected(web.store, Finding.severity == "warning", order == "desc")
    beyond = http_.get(web.url(f"/findings?status=all&sort=severity&order={order}&page=9"))
    assert beyond.status_code == 200 and not ROW.findall(beyond.text)


def test_overview_lists_overdue_rectifications_not_silenced_ones(web: Console) -> None:
    now = utcnow()
    # rules/contract.toml [rectification]: critical 24 h, warning 72 h
    late = add_findings(
        web.store, 1, area="resources", severity="critical", subject="VM-逾期", at=now - timedelta(days=3)
    )
    fresh = add_findings(
        web.store, 1, area="resources", severity="critical", subject="VM-新", at=now - timedelta(hours=2)
    )
    quiet = add_findings(
        web.store, 1, area="staffing", severity="warning", subject="静默的", at=now - timedelta(days=9)
    )
    set_status(web.store, quiet, "silenced", at=now - timedelta(days=1))
    gone = add_findings(
        web.store, 1, area="staffing", severity="warning", subject="已解决", at=now - timedelta(days=9)
    )
    set_status(web.store, gone, "resolved", at=now - timedelta(hours=1))
    page = web.session("viewer1").get(web.url("/")).text
    overdue = page.split("逾期未整改", 1)[1].split("</table>", 1)[0]
    assert f'href="/findings/{late[0]}"' in overdue and "VM-逾期" in overdue
    assert re.search(r"<small>1</small>", page.split("逾期未整改", 1)[1][:40])
    for other in (fresh, quiet, gone):
        assert f'href="/findings/{other[0]}"' not in overdue
    days_late = re.search(r'<td class="time">[^<]+</td>\s*<td>([\d.]+)</td>', overdue)
    assert days_late and 1.9 < float(days_late.group(1)) < 2.1  # three days old, due after one


def test_overview_shows_the_staffing_rate_and_score_beside_last_week(web: Console) -> None:
    page = web.session("viewer1").get(web.url("/")).text
    cards = page.split('class="cards"', 1)[1].split("</section>", 1)[0]
    assert "本周人员到位率" in cards and 'href="/staffing"' in cards and "上周" in cards
    assert "承包商考核得分" in cards and 'href="/money"' in cards and "上周末" in cards


def test_shared_figures_are_computed_once_then_again_when_evidence_arrives(
    web: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ops_watch.web.pages import staffing

    built: list[tuple[Any, Any]] = []
    real = staffing.build_view

    def counting(session: Any, contract: Any, zone: Any, at: Any, first: Any, last: Any) -> Any:
        built.append((first, last))
        return real(session, contract, zone, at, first, last)

    monkeypatch.setattr(staffing, "build_view", counting)  # the server runs in this process (a thread)
    http_ = web.session("viewer1")
    for _ in range(3):
        assert http_.get(web.url("/staffing")).status_code == 200
    assert len(built) == 2 and built[0] != built[1]  # this month and last month, once each
    for _ in range(2):
        assert http_.get(web.url("/staffing/shifts.xlsx")).status_code == 200
    assert len(built) == 3  # the workbook is made once from a view of its own, then shared
    with web.store.session() as s:
        s.add(
            EvidenceBatch(
                kind="door_events",
                source="门禁-新.csv",
                sha256="d" * 64,
                received_at=utcnow(),
                status="accepted",
            )
        )
    page = http_.get(web.url("/staffing"))
    assert page.status_code == 200 and "按截至" in page.text  # at once, saying when it was computed
    deadline = time.monotonic() + 20
    while len(built) < 5:  # new evidence: both months again, in the background
        assert time.monotonic() < deadline, built
        time.sleep(0.05)
    time.sleep(0.3)
    assert len(built) == 5


def test_every_response_says_how_long_the_server_took(web: Console) -> None:
    http_ = web.session("viewer1")
    for path in ("/", "/findings", "/login", "/static/console.css", "/findings/999999"):
        answer = http_.get(web.url(path), allow_redirects=False)
        timing = answer.headers.get("server-timing", "")
        assert re.fullmatch(r"app;dur=\d+\.\d", timing), (path, timing)


def test_overview_colours_each_area_as_the_weekly_report_would(web: Console) -> None:
    """The overview counts the active findings in the database; the colours must be the weekly report's,
    computed from its lines of the week so far."""
    from ops_watch.report.gather import area_status, findings_of_week
    from ops_watch.report.model import Week

    now = utcnow()
    day = timedelta(days=1)
    # resources: only a silenced critical -> green; staffing: a warning -> amber; continuity: an info past
    # its 30-day term -> amber; evidence: an open critical -> red; money: an info still in time -> green
    quiet = add_findings(web.store, 1, area="resources", severity="critical", at=now - 2 * day)
    set_status(web.store, quiet, "silenced", at=now - day)
    add_findings(web.store, 2, area="staffing", severity="warning", at=now - day)
    add_findings(web.store, 1, area="continuity", severity="info", at=now - 40 * day)
    add_findings(web.store, 1, area="evidence", severity="critical", at=now - 3 * day)
    add_findings(web.store, 3, area="money", severity="info", at=now - 2 * day)
    gone = add_findings(web.store, 1, area="money", severity="critical", at=now - 9 * day)
    set_status(web.store, gone, "resolved", at=now - 8 * day)
    zone = web.rt.config.site.zone
    week = Week.containing(now.astimezone(zone).date(), zone)
    with web.store.session() as s:
        lines = findings_of_week(s, week, web.rt.rules.contract)
    page = web.session("viewer1").get(web.url("/")).text
    table = page.split('class="list areas"', 1)[1].split("</table>", 1)[0]
    shown = dict(re.findall(r'href="/findings\?area=(\w+)">.*?rag rag-(\w+)', table, re.S))
    active = dict(re.findall(r'href="/findings\?area=(\w+)">.*?</span></td>\s*<td>(\d+)</td>', table, re.S))
    for area in ("resources", "staffing", "continuity", "evidence", "money"):
        still_open = [x for x in lines if x.area == area and x.status != "resolved"]
        assert shown[area] == area_status(still_open, True), area
        assert int(active[area]) == len(still_open), area
    assert shown == {
        **shown,
        "resources": "green",
        "staffing": "amber",
        "continuity": "amber",
        "evidence": "red",
        "money": "green",
    }
