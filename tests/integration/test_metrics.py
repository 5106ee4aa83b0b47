"""/metrics for Prometheus, served for real: the console's route with a viewer token, the daemon's own
listener, the values beside the CLI's, a real Prometheus scraping it, the alerting rules through promtool,
and every Grafana panel's query answered by that Prometheus."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import test_web_console
from alert_helpers import add_findings, set_status
from click.testing import CliRunner
from conftest import require_component
from prometheus_client.parser import text_string_to_metric_families

from ops_watch import metrics
from ops_watch.areas.evidence.checks import latest_evidence_time
from ops_watch.areas.staffing.kind_door import dedupe_key
from ops_watch.cli import main
from ops_watch.collect import collect_cycle
from ops_watch.core.timeutil import from_store, utcnow
from ops_watch.findings.registry import CheckContext
from ops_watch.runtime import Runtime
from ops_watch.sources.local import LocalCollector
from ops_watch.store.job_runs import record_run
from ops_watch.store.schema import BudgetEvent, CollectionStatus, DoorEvent, EvidenceBatch, OutboxMessage
from ops_watch.web import accounts

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
Console = test_web_console.Console
make_console = test_web_console.make_console  # the fixture, shared


@pytest.fixture
def web(store: Any, make_console: Callable[..., Console]) -> Console:  # noqa: F811
    """A console whose config names the same store, so the CLI reads what /metrics reads."""
    url = store.engine.url.render_as_string(hide_password=False)
    console = make_console(store, f'[store]\nurl = "{url}"\n')
    _evidence(console.store, console.rt.config)
    return console


def _evidence(store: Any, config: Any) -> None:
    """Findings of several areas and states, an outbox with a pending and a dead message, door events, a
    refused file, a collection target, and job runs: something for every metric."""
    now = utcnow()
    add_findings(store, 3, area="staffing", severity="critical", at=now - timedelta(days=3))
    add_findings(store, 2, area="resources", severity="warning", at=now - timedelta(hours=2))
    done = add_findings(store, 2, area="continuity", severity="info", at=now - timedelta(days=2))
    set_status(store, done, "resolved", at=now - timedelta(days=1))
    with store.session() as s:
        for status, receiver, age in (
            ("pending", "default", 900),
            ("dead", "duty-chat", 5000),
            ("sent", "default", 60),
        ):
            s.add(
                OutboxMessage(
                    channel="email",
                    receiver=receiver,
                    created_at=now - timedelta(seconds=age),
                    recipients=["center@example.org"],
                    subject="s",
                    body_text="b",
                    message_id=f"<{status}@ops-watch>",
                    status=status,
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        door = EvidenceBatch(
            kind="door_events",
            source="门禁.csv",
            sha256="a" * 64,
            received_at=now,
            status="accepted",
            rows_ok=1,
        )
        refused = EvidenceBatch(
            kind="inventory", source="坏.csv", sha256="b" * 64, received_at=now, status="rejected", rows_bad=4
        )
        s.add_all([door, refused])
        s.flush()
        at = now - timedelta(minutes=20)
        s.add(
            DoorEvent(
                at=at, person_id="P1", name="王伟", card_no="C1", door="机房A区门", direction="in", result="granted",
                device="dev", serial_no="1", dedupe_key=dedupe_key(at, "P1", "C1", "机房A区门", "dev", "1"),
                batch_id=door.id,
            )
        )  # fmt: skip
        s.add(
            CollectionStatus(
                source="ssh", target="db-01", last_attempt=now, last_success=None, consecutive_failures=3
            )
        )
        this_year = now.date().replace(month=1, day=1)
        s.add(
            BudgetEvent(
                date=this_year, kind="initial", amount=Decimal("1000000"), note="年初预算", batch_id=door.id
            )
        )
        s.add(
            BudgetEvent(
                date=now.date(), kind="payment", amount=Decimal("250000"), note="一季度", batch_id=door.id
            )
        )
        s.add(CollectionStatus(source="ssh", target="web-01", last_attempt=now, last_success=now))
    collect_cycle(store, config, {"local": LocalCollector("ops-watch-host")})  # a real round, timed
    record_run(store, "collect", now - timedelta(seconds=12), now - timedelta(seconds=2), True)
    record_run(store, "notify", now - timedelta(seconds=5), now - timedelta(seconds=4), False, "SMTP refused")
    record_run(store, "notify", now - timedelta(seconds=3), now - timedelta(seconds=2), False, "SMTP refused")


def _token(web: Console, name: str = "prometheus") -> str:
    return accounts.create_token(web.store, name, "viewer")


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(families: dict[str, Any], name: str, **labels: str) -> float:
    family = families[name]
    found = [
        s.value
        for s in family.samples
        if s.name in (name, name + "_total") and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (name, labels, [s for s in family.samples])
    return float(found[0])


def _cli(web: Console, *args: str) -> Any:
    out = CliRunner().invoke(main, ["--config", str(web.config_path), *args], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_metrics_need_a_token_and_agree_with_the_cli(web: Console) -> None:
    assert requests.get(web.url("/metrics")).status_code == 401
    assert requests.get(web.url("/metrics"), headers={"Authorization": "Bearer ow_nope"}).status_code == 401
    answer = requests.get(web.url("/metrics"), headers={"Authorization": f"Bearer {_token(web)}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    families = _families(answer.text)

    listed = _cli(web, "findings", "list", "--status", "all", "--format", "json")
    items = listed["items"] if isinstance(listed, dict) else listed
    counts: dict[tuple[str, str], int] = {}
    for f in items:  # the CLI's list has no area column: compare by severity and status, and the total
        counts[(f["severity"], f["status"])] = counts.get((f["severity"], f["status"]), 0) + 1
    served: dict[tuple[str, str], float] = {}
    for sample in families["ops_watch_findings"].samples:
        key = (sample.labels["severity"], sample.labels["status"])
        served[key] = served.get(key, 0) + sample.value
    assert served == counts and sum(counts.values()) == 7
    assert _value(families, "ops_watch_findings", area="staffing", severity="critical", status="open") == 3
    assert _value(families, "ops_watch_findings", area="continuity", severity="info", status="resolved") == 2
    assert (
        _value(families, "ops_watch_findings_overdue", area="staffing") == 3
    )  # critical, 3 days old, 1-day term
    assert _value(families, "ops_watch_findings_overdue", area="resources") == 0

    assert _value(families, "ops_watch_job_runs", job="notify") == 2
    assert _value(families, "ops_watch_job_failures", job="notify") == 2
    assert _value(families, "ops_watch_job_succeeded", job="collect") == 1
    assert _value(families, "ops_watch_job_succeeded", job="notify") == 0
    assert _value(families, "ops_watch_job_duration_seconds", job="collect") == pytest.approx(10, abs=0.01)
    assert _value(families, "ops_watch_job_interval_seconds", job="collect") == 300
    assert _value(families, "ops_watch_job_interval_seconds", job="report_weekly") == 7 * 86400
    assert _value(families, "ops_watch_job_runs", job="evaluate") == 0  # never run: zero, not missing

    assert _value(families, "ops_watch_outbox_messages", status="dead", receiver="duty-chat") == 1
    assert _value(families, "ops_watch_outbox_oldest_unsent_age_seconds") == pytest.approx(900, abs=60)
    assert _value(families, "ops_watch_evidence_files_refused", kind="inventory") == 1
    assert _value(families, "ops_watch_evidence_rows_refused", kind="inventory") == 4
    newest = _value(families, "ops_watch_evidence_newest_timestamp_seconds", kind="door_events")
    with web.store.session() as s:  # as the evidence_freshness check (and the 证据 page) judge it
        ctx = CheckContext(session=s, at=utcnow(), zone=web.rt.config.site.zone, contract={}, language="en")
        judged = from_store(latest_evidence_time(ctx, "door_events"))
    assert judged is not None and newest == pytest.approx(judged.timestamp(), abs=0.001)
    assert _value(families, "ops_watch_collection_targets", source="ssh", state="never") == 1
    assert _value(families, "ops_watch_collection_targets", source="ssh", state="ok") == 1
    assert 0 <= _value(families, "ops_watch_collection_round_duration_seconds", source="local") < 30
    assert _value(families, "ops_watch_collection_targets", source="local", state="ok") == 1

    month = utcnow().astimezone(web.rt.config.site.zone).strftime("%Y-%m")
    rate = _cli(web, "staffing", "rate", "--month", month, "--by", "month", "--format", "json")
    rows = rate["rows"] if isinstance(rate, dict) else rate
    monthly = [x for x in families["ops_watch_staffing_rate_ratio"].samples if x.labels["period"] == "month"]
    if rows[-1]["rate"] is None:  # the month's first hours: no shift ended yet, none served either
        assert monthly == []
    else:
        assert len(monthly) == 1 and monthly[0].value * 100 == pytest.approx(rows[-1]["rate"], abs=0.05)
    budget = _cli(web, "budget", "status", "--format", "json")
    execution = budget.get("execution_rate")
    assert execution is not None
    assert _value(families, "ops_watch_budget_rate_ratio", kind="execution") == pytest.approx(
        float(execution) / 100
    )
    score = _cli(web, "score", "--format", "json")
    if score.get("score") is not None:
        assert _value(families, "ops_watch_contractor_score") == pytest.approx(float(score["score"]))
        assert _value(families, "ops_watch_contractor_score_band", band=score["band"]) == 1
    idle = _cli(web, "resources", "idle", "--format", "json")
    assert _value(families, "ops_watch_reclaimable_vcpus") == idle["totals"]["reclaim_vcpu"]
    assert _value(
        families, "ops_watch_reclaimable_monthly_cost", basis="saving", currency=idle["totals"]["currency"]
    ) == (pytest.approx(idle["totals"]["monthly_saving"]))
    for family in families.values():  # bounded labels: never a finding, a person or a resource
        for sample in family.samples:
            assert not {"id", "finding", "person", "person_id", "resource_id", "subject"} & set(sample.labels)


def test_the_daemons_own_listener_serves_the_same(web: Console) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = metrics.serve(lambda: web.rt, f"127.0.0.1:{port}")
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    finally:
        server.shutdown()
    own = _families(text)
    console = _families(
        requests.get(web.url("/metrics"), headers={"Authorization": f"Bearer {_token(web)}"}).text
    )
    assert [s.value for s in own["ops_watch_findings"].samples] == [
        s.value for s in console["ops_watch_findings"].samples
    ]
    assert "python_gc_objects_collected" not in own  # ops-watch's metrics only, not the serving process's


def test_a_broken_part_is_left_out_and_said(web: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(rt: Runtime, now: Any) -> Any:
        raise RuntimeError("store went away")

    monkeypatch.setattr(metrics, "_outbox", broken)
    families = _families(
        requests.get(web.url("/metrics"), headers={"Authorization": f"Bearer {_token(web)}"}).text
    )
    assert _value(families, "ops_watch_metrics_part_failed", part="outbox") == 1
    assert _value(families, "ops_watch_metrics_part_failed", part="findings") == 0
    assert "ops_watch_outbox_messages" not in families and "ops_watch_findings" in families


# ---- Prometheus, promtool and the Grafana board ---------------------------------------------------------


def _promtool() -> str:
    return require_component("promtool", "apt-get install prometheus (scripts/install-test-deps.sh)")


def test_the_shipped_rules_pass_promtool_and_fire_as_their_tests_say() -> None:
    promtool = _promtool()
    rules = DEPLOY / "prometheus" / "ops-watch-rules.yml"
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "ops-watch-rules.test.yml"],
        capture_output=True,
        text=True,
        cwd=DEPLOY / "prometheus",
    )
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


@pytest.fixture
def scraped(web: Console, tmp_path: Path) -> Iterator[tuple[Console, str]]:
    """A real Prometheus with the shipped scrape config (target and token file pointed here), scraping the
    console every second with its rules loaded; yields its URL once it has ops-watch's metrics."""
    prometheus = require_component("prometheus", "apt-get install prometheus (scripts/install-test-deps.sh)")
    promtool = _promtool()
    token = tmp_path / "ops-watch.token"
    token.write_text(_token(web, "scraper"), encoding="utf-8")
    shutil.copy(DEPLOY / "prometheus" / "ops-watch-rules.yml", tmp_path / "ops-watch-rules.yml")
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    config = config.replace("/etc/prometheus/ops-watch.token", str(token))
    config = config.replace('"127.0.0.1:8080"', '"' + web.base.removeprefix("http://") + '"')
    config = re.sub(r"scrape_interval: 60s", "scrape_interval: 1s", config)
    config = re.sub(r"evaluation_interval: 60s", "evaluation_interval: 1s", config)
    config = re.sub(r"scrape_timeout: 30s", "scrape_timeout: 1s", config)
    (tmp_path / "prometheus.yml").write_text(config, encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                found = requests.get(
                    f"{url}/api/v1/query", params={"query": "ops_watch_info"}, timeout=5
                ).json()
                if found["data"]["result"]:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text(errors="replace")[
                -3000:
            ]
            time.sleep(0.5)
        time.sleep(2)  # a few scrapes for the range queries
        yield web, url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _query(url: str, expr: str, range_: bool) -> list[Any]:
    if range_:
        end = time.time()
        params = {"query": expr, "start": end - 120, "end": end, "step": 1}
        answer = requests.get(f"{url}/api/v1/query_range", params=params, timeout=30).json()
    else:
        answer = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=30).json()
    assert answer.get("status") == "success", (expr, answer)
    return answer["data"]["result"]  # type: ignore[no-any-return]


def test_prometheus_scrapes_ops_watch_and_every_grafana_panel_has_data(scraped: tuple[Console, str]) -> None:
    web, url = scraped
    up = _query(url, 'up{job="ops-watch"}', False)
    assert up and up[0]["value"][1] == "1"
    rules = requests.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert {r["name"] for g in rules for r in g["rules"]} >= {"OpsWatchDown", "OpsWatchJobNotSucceeding"}
    assert all(r["health"] == "ok" for g in rules for r in g["rules"]), rules

    board = json.loads((DEPLOY / "grafana" / "ops-watch.json").read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    assert "uid" not in json.dumps(variables["datasource"].get("current", {}))  # no data source fixed by id
    jobs = _query(url, "ops_watch_info", False)
    assert {r["metric"]["job"] for r in jobs} == {
        "ops-watch"
    }  # what label_values(ops_watch_info, job) offers
    queried = 0
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            expr = target["expr"].replace("$job", "ops-watch")
            result = _query(url, expr, panel["type"] == "timeseries")
            assert result, f"{panel['title']}: {expr} returned nothing"
            queried += 1
    assert queried >= 15


def test_the_grafana_board_is_a_well_formed_dashboard_model() -> None:
    """What Grafana's import checks first: a title and uid, the schema version, panels with unique ids placed
    on the 24-column grid without overlapping, unique refIds, the data source only through the variable."""
    board = json.loads((DEPLOY / "grafana" / "ops-watch.json").read_text(encoding="utf-8"))
    assert board["title"] and board["uid"] == "ops-watch" and board["schemaVersion"] >= 36
    assert "__inputs" not in board and "id" not in board  # importable anywhere, not tied to one Grafana
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        g = panel["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, panel["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] != "row":
            refs = [t["refId"] for t in panel["targets"]]
            assert refs and len(refs) == len(set(refs)), panel["title"]
    text = json.dumps(board)
    assert '"uid": "${datasource}"' in text and not re.search(
        r'"uid": "(?!\$\{datasource\}|ops-watch")', text
    )
