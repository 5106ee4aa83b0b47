"""The center's inspections (R7) on a real store (SQLite and PostgreSQL, `store`): the plan stored once and
redrawn only forward; the morning reminder queued once and delivered to a real SMTP server (aiosmtpd on
loopback), kept for retry when the server is down; `inspection_missed` and `rectification_overdue` through the
engine; the `inspection` kind's bad rows through the real ingest; the demo records of examples/; the CLI."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from mailserver import MailServer, require_aiosmtpd
from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.governance.inspections.model import PlanError, draw, plan_month, stored_plan
from ops_watch.cli import main
from ops_watch.config import Config, load_config
from ops_watch.core.contract import parse_contract
from ops_watch.core.timeutil import utcnow
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, load_rules, parse_rules
from ops_watch.ingest import ingest_file
from ops_watch.jobs import run_reminders
from ops_watch.store import open_store
from ops_watch.store.schema import (
    EvidenceBatch,
    Finding,
    InspectionPlan,
    InspectionRecord,
    OutboxMessage,
    PlannedInspection,
)
from ops_watch.trail.verify import verify

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
plugins.load()
RULES = tomllib.loads((REPO / "rules" / "inspections.toml").read_text(encoding="utf-8"))
KEYS = ["site", "records", "continuity"]
# What the demo runs before judging the examples (scripts/demo.sh): November's plan, as drawn on the 1st.
DEMO_PLAN = ["--month", "2026-11", "--count", "3", "--seed", "0123456789abcdef", "--at", "2026-11-01 00:00"]


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def contract(text: str = "") -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(f"[contract]\nstart = 2026-01-01\n{text}"), "contract.toml", problems)
    assert problems == [], problems
    return out


def ruleset(text: str = "") -> RuleSet:
    problems: list[str] = []
    rules = parse_rules(RULES, "inspections.toml", problems)
    assert problems == [], problems
    return RuleSet(rules=rules, contract=contract(text))


def active(store: Any) -> dict[str, Finding]:
    with store.session() as s:
        found = s.scalars(select(Finding).where(Finding.status == "open")).all()
        for f in found:
            s.expunge(f)
    return {f"{f.rule_id} {f.subject}": f for f in found}


def add_plan(store: Any, month: str, rows: list[tuple[date, str]]) -> None:
    with store.session() as s:
        s.add(
            InspectionPlan(
                month=month, seed="test", count=len(rows), areas=KEYS, drawn_at=utcnow(), drawn_by="t"
            )
        )
        s.add_all(PlannedInspection(month=month, day=d, area=a) for d, a in rows)


def add_record(store: Any, day: date, area: str, result: str = "pass", **kw: Any) -> None:
    with store.session() as s:
        s.add(
            InspectionRecord(day=day, area=area, inspector="李科长", result=result, updated_at=utcnow(), **kw)
        )


def planned(store: Any, month: str) -> list[tuple[date, str, datetime | None]]:
    with store.session() as s:
        rows = s.scalars(select(PlannedInspection).where(PlannedInspection.month == month)).all()
        return sorted((r.day, r.area, r.reminded_at) for r in rows)


# --- the plan ----------------------------------------------------------------------------------------------


def test_a_plan_is_stored_with_its_seed_and_not_drawn_again(store):
    terms = contract("[inspections]\nper_month = 3\n")
    first = plan_month(store, terms, ZONE, "2026-12", "李科长", now=local("2026-11-20 10:00"))
    assert first.created and first.count == 3 and len(first.rows) == 3
    assert all(r.day.month == 12 for r in first.rows) and {r.area for r in first.rows} == set(KEYS)
    assert len(first.seed) == 32 and int(first.seed, 16) >= 0
    again = plan_month(store, terms, ZONE, "2026-12", "someone else", now=local("2026-11-21 10:00"))
    assert not again.created and again.seed == first.seed and again.rows == first.rows
    assert again.drawn_by == "李科长" and "沿用原计划" in again.notes("zh", ZONE)[0]
    with store.session() as s:
        assert len(s.scalars(select(InspectionPlan)).all()) == 1
    # The stored seed alone gives the same days again (how a lost plan is rebuilt).
    assert draw("2026-12", first.seed, 3, KEYS) == [(r.day, r.area) for r in first.rows]


def test_redraw_replaces_only_the_days_to_come_that_were_not_announced(store):
    terms = contract("[inspections]\nper_month = 6\n")
    first = plan_month(store, terms, ZONE, "2026-11", "李科长", now=local("2026-11-01 00:00"), seed="feed01")
    past = [r for r in first.rows if r.day < date(2026, 11, 16)]
    future = [r for r in first.rows if r.day >= date(2026, 11, 16)]
    assert past and future
    with store.session() as s:  # the first day to come was announced already: it stays
        row = s.scalar(select(PlannedInspection).where(PlannedInspection.day == future[0].day))
        row.reminded_at = local("2026-11-16 08:00")
    result = plan_month(store, terms, ZONE, "2026-11", "王主任", redraw=True, now=local("2026-11-16 10:00"))
    assert result.created and result.seed != first.seed and result.kept == len(past) + 1
    assert result.redrawn_from == date(2026, 11, 16) and len(result.rows) == 6
    days = [(r.day, r.area) for r in result.rows]
    assert all((r.day, r.area) in days for r in [*past, future[0]])
    assert all(d >= date(2026, 11, 16) for d, _ in set(days) - {(r.day, r.area) for r in first.rows})
    assert "重新抽取 2026-11-16 起" in result.notes("zh", ZONE)[0]


def test_a_begun_month_is_planned_from_today_pro_rata(store):
    terms = contract("[inspections]\nper_month = 4\n")
    result = plan_month(store, terms, ZONE, "2026-11", "ops-watch daemon", now=local("2026-11-20 00:10"))
    # 7 of November's 21 working days are left: ceil(4 × 7 / 21) = 2.
    assert len(result.rows) == 2 and all(r.day >= date(2026, 11, 20) for r in result.rows)


def test_plans_that_cannot_be_drawn_are_refused(store):
    with pytest.raises(PlanError, match="2026-10 is over"):
        plan_month(
            store,
            contract("[inspections]\nper_month = 2\n"),
            ZONE,
            "2026-10",
            "x",
            now=local("2026-11-16 09:00"),
        )
    with pytest.raises(PlanError, match="per_month is 0"):
        plan_month(store, contract(), ZONE, "2026-12", "x", now=local("2026-11-16 09:00"))
    with pytest.raises(PlanError, match="only 1 working days"):
        plan_month(
            store,
            contract("[inspections]\nper_month = 2\n"),
            ZONE,
            "2026-11",
            "x",
            count=2,
            now=local("2026-11-30 09:00"),
        )
    assert stored_plan(store, "2026-12") is None and stored_plan(store, "2026-11") is None


# --- reminders ---------------------------------------------------------------------------------------------


@pytest.fixture
def mail_server() -> Iterator[Callable[..., MailServer]]:
    require_aiosmtpd()
    started: list[MailServer] = []

    def start(**kw: object) -> MailServer:
        server = MailServer(**kw).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def smtp_config(config_file: Callable[..., Path], port: int) -> Config:
    return load_config(
        config_file(
            f"""
[notify]
max_attempts = 10
retry_base = "1m"
retry_cap = "4m"

[notify.email]
transport = "smtp"
host = "127.0.0.1"
port = {port}
timeout = "5s"
sender = "ops-watch@center.example"
recipients = ["supervision@center.example"]
"""
        )
    )


REMINDER_TERMS = '[inspections]\nper_month = 2\nremind_at = "08:00"\n'


def test_the_reminder_is_queued_once_at_the_remind_time_and_delivered(
    store, store_url, config_file, mail_server
):
    server = mail_server()
    cfg = smtp_config(config_file, server.port)
    terms = contract(REMINDER_TERMS)
    # The first run of the month draws its plan.
    drawn = run_reminders(store, cfg, terms, local("2026-12-01 00:05"))
    assert drawn["drawn"] == 2 and drawn["queued"] == 0
    day, area, _ = planned(store, "2026-12")[0]

    early = run_reminders(store, cfg, terms, local(f"{day} 07:59"))
    assert early["queued"] == 0 and server.messages() == []
    on_time = run_reminders(store, cfg, terms, local(f"{day} 08:00"))
    assert on_time == {"month": "2026-12", "drawn": 0, "queued": 1, "sent": 1, "failed": 0}
    [got] = server.messages()
    assert got.rcpt_tos == ["supervision@center.example"]
    mail = got.message
    assert mail["Message-ID"] == f"<inspection.{day}@ops-watch.local>"
    assert "不定期检查提醒" in mail["Subject"] and day.isoformat() in mail["Subject"]
    body = mail.get_content()
    assert f"--date {day} --area {area}" in body and "请勿提前告知运维单位" in body
    assert planned(store, "2026-12")[0][2] == local(f"{day} 08:00")

    # Later the same morning, and after a restart (a new store on the same database): nothing more.
    assert run_reminders(store, cfg, terms, local(f"{day} 08:15"))["queued"] == 0
    restarted = open_store(store_url)
    try:
        assert run_reminders(restarted, cfg, terms, local(f"{day} 09:00"))["queued"] == 0
    finally:
        restarted.dispose()
    assert len(server.messages()) == 1
    # A day without a planned inspection sends nothing.
    other = next(
        d
        for d in (date(2026, 12, n) for n in range(1, 32))
        if d not in {p[0] for p in planned(store, "2026-12")}
    )
    assert run_reminders(store, cfg, terms, local(f"{other} 10:00"))["queued"] == 0


def test_a_dead_mail_server_leaves_the_reminder_in_the_outbox(store, config_file):
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    try:
        cfg = smtp_config(config_file, s.getsockname()[1])
        terms = contract(REMINDER_TERMS)
        add_plan(store, "2026-12", [(date(2026, 12, 3), "site"), (date(2026, 12, 3), "records")])
        result = run_reminders(store, cfg, terms, local("2026-12-03 08:30"))
        assert result["queued"] == 1 and result["sent"] == 0 and result["failed"] == 1
        with store.session() as session:
            [msg] = session.scalars(select(OutboxMessage)).all()
            assert msg.status == "pending" and msg.attempts == 1 and msg.last_error
            assert msg.message_id == "<inspection.2026-12-03@ops-watch.local>"
            assert msg.payload["areas"] == ["records", "site"]  # one email for the day's two areas
        assert all(r[2] is not None for r in planned(store, "2026-12"))
        assert run_reminders(store, cfg, terms, local("2026-12-03 09:30"))["queued"] == 0
    finally:
        s.close()


# --- the checks --------------------------------------------------------------------------------------------


def test_inspection_missed_opens_after_the_grace_and_resolves_on_a_record_in_the_window(store):
    rules = ruleset("[inspections]\ngrace_days = 2\n")
    add_plan(
        store,
        "2026-11",
        [(date(2026, 11, 4), "records"), (date(2026, 11, 10), "continuity"), (date(2026, 11, 23), "site")],
    )
    result = engine.evaluate(store, rules, local("2026-11-06 23:00"), zone=ZONE)
    assert result.failed_rules == {} and active(store) == {}

    engine.evaluate(store, rules, local("2026-11-07 00:30"), zone=ZONE)
    found = active(store)
    assert list(found) == ["inspection-missed 2026-11-04 运维记录"]
    f = found["inspection-missed 2026-11-04 运维记录"]
    assert f.area == "governance" and f.severity == "warning"
    # Missed from the end of the last day it could be recorded (planned day + 2 days of grace).
    assert f.period_start == local("2026-11-07 00:00") and f.period_end is None
    assert f.evidence["record_by"] == "2026-11-06" and "--area records" in f.evidence["how_to_record"]
    assert "没有检查记录" in f.summary

    # Recorded late, dated inside the window: the inspection was made; the finding resolves.
    add_record(store, date(2026, 11, 5), "records")
    # The continuity inspection of 11-10 is recorded on 11-13, after its window: it stays missed.
    add_record(store, date(2026, 11, 13), "continuity")
    engine.evaluate(store, rules, local("2026-11-16 09:00"), zone=ZONE)
    assert list(active(store)) == ["inspection-missed 2026-11-10 备份与演练证据"]


def test_records_dated_after_the_evaluation_are_not_seen(store):
    rules = ruleset()
    add_plan(store, "2026-11", [(date(2026, 11, 4), "site")])
    add_record(store, date(2026, 11, 6), "site")  # in the window, but after the day judged
    engine.evaluate(store, rules, local("2026-11-05 12:00"), zone=ZONE)
    assert active(store) == {}  # still in its grace days
    engine.evaluate(store, rules, local("2026-11-07 09:00"), zone=ZONE)
    assert active(store) == {}


def test_rectification_overdue_counts_the_days_and_resolves_when_rectified(store):
    rules = ruleset("[inspections]\nrectify_days = 5\n")
    add_record(
        store,
        date(2026, 11, 4),
        "records",
        "problems",
        problems="交接班表无签字",
        rectify_by=date(2026, 11, 12),
    )
    add_record(store, date(2026, 11, 5), "site", "problems", problems="机房门未上锁")  # no deadline: + 5 days
    add_record(
        store,
        date(2026, 11, 6),
        "continuity",
        "problems",
        problems="无演练记录",
        rectify_by=date(2026, 11, 8),
        rectified_on=date(2026, 11, 8),
    )
    engine.evaluate(store, rules, local("2026-11-10 09:00"), zone=ZONE)
    assert active(store) == {}  # 11-10: the site deadline is today; the continuity one was met
    engine.evaluate(store, rules, local("2026-11-11 09:00"), zone=ZONE)
    found = active(store)
    assert list(found) == ["rectification-overdue 2026-11-05 机房现场"]
    f = found["rectification-overdue 2026-11-05 机房现场"]
    assert f.evidence["rectify_by"] == "2026-11-10" and f.evidence["deadline_from_contract"] is True
    assert f.evidence["days_overdue"] == 1

    with store.session() as s:
        row = s.scalar(select(InspectionRecord).where(InspectionRecord.area == "records"))
        row.rectified_on = date(2026, 11, 20)  # rectified late
    result = engine.evaluate(store, rules, local("2026-11-16 09:00"), zone=ZONE)
    found = active(store)
    assert set(found) == {
        "rectification-overdue 2026-11-05 机房现场",
        "rectification-overdue 2026-11-04 运维记录",
    }
    overdue = found["rectification-overdue 2026-11-04 运维记录"]
    assert overdue.evidence["days_overdue"] == 4 and "逾期 4 天未整改" in overdue.summary
    assert result.still_open == 1  # the site one, the same finding as before
    engine.evaluate(store, rules, local("2026-11-20 09:00"), zone=ZONE)
    assert list(active(store)) == ["rectification-overdue 2026-11-05 机房现场"]


def test_without_the_section_or_a_plan_nothing_is_found(store):
    result = engine.evaluate(store, ruleset(), local("2026-11-16 09:00"), zone=ZONE)
    assert result.failed_rules == {} and active(store) == {}


def test_the_repository_rules_load_with_the_inspection_rules():
    rules = load_rules(REPO / "rules")
    assert rules.get("inspection-missed").check.name == "inspection_missed"
    assert rules.get("rectification-overdue").check.area == "governance"


# --- the kind through the ingest, and the examples ---------------------------------------------------------


@pytest.fixture
def config(config_file, store_url, tmp_path) -> Config:
    path = config_file(f'[store]\nurl = "{store_url}"\n')
    # The repository's [inspections] replaced by this test's terms (up to the blank line that ends it).
    contract = tmp_path / "rules" / "contract.toml"
    text = re.sub(r"\n\[inspections\]\n(?:[^\n]+\n)*", "\n", contract.read_text(encoding="utf-8"))
    contract.write_text(text + "\n[inspections]\nper_month = 3\nrectify_days = 7\n", encoding="utf-8")
    return load_config(path)


def test_bad_rows_are_reported_and_good_ones_kept_then_corrected(store, config, tmp_path):
    path = tmp_path / "检查记录.csv"
    path.write_text(
        "检查日期,检查区域,检查人,检查结果,发现问题,整改期限\n"
        "2026-11-04,运维记录,李科长,发现问题,交接班表无签字,\n"
        "2026-11-05,食堂,李科长,合格,,\n"
        "2026-11-06,机房,李科长,合格,门未上锁,\n"
        "2026-11-07,备份,李科长,不合格,,\n",
        encoding="utf-8",
    )
    result = ingest_file(store, config, "inspection", path)
    assert result.status == "partial" and (result.rows_ok, result.rows_bad) == (1, 3)
    errors = {(e.row, e.column): e.reason for e in result.errors}
    assert "site（机房现场）" in errors[(3, "检查区域")]
    assert "改为「发现问题」" in errors[(4, "发现问题")]
    assert "没有写发现了什么问题" in errors[(5, "发现问题")]
    with store.session() as s:
        [row] = s.scalars(select(InspectionRecord)).all()
        assert (row.day, row.area, row.rectify_by, row.batch_id) == (
            date(2026, 11, 4),
            "records",
            date(2026, 11, 11),
            result.batch_id,
        )
    fixed = tmp_path / "检查记录_更正.csv"
    fixed.write_text(
        "检查日期,检查区域,检查人,检查结果,发现问题,整改期限,整改完成日期\n"
        "2026-11-04,records,李科长,发现问题,交接班表无签字,2026-11-12,2026-11-10\n",
        encoding="utf-8",
    )
    assert ingest_file(store, config, "inspection", fixed).status == "accepted"
    with store.session() as s:
        [row] = s.scalars(select(InspectionRecord)).all()
        assert (row.rectify_by, row.rectified_on) == (date(2026, 11, 12), date(2026, 11, 10))


def test_the_demo_records_and_plan_give_a_missed_inspection_and_an_overdue_rectification(
    store, config, config_file, tmp_path
):
    [example] = sorted((REPO / "examples" / "inspection").iterdir())
    copy = tmp_path / example.name
    shutil.copy(example, copy)
    result = ingest_file(store, config, "inspection", copy)
    assert result.status == "accepted" and result.rows_ok == 2, result.errors
    cli = CliRunner().invoke(main, ["--config", str(config.source_path), "inspections", "plan", *DEMO_PLAN])
    assert cli.exit_code == 0, cli.output
    rules = load_rules(tmp_path / "rules")
    for at in ("2026-11-15 22:00", "2026-11-16 09:00"):
        evaluation = engine.evaluate(store, rules, local(at), zone=ZONE)
        assert "inspection-missed" not in evaluation.failed_rules
    found = {
        k: f for k, f in active(store).items() if f.check in ("inspection_missed", "rectification_overdue")
    }
    assert sorted(found) == [
        "inspection-missed 2026-11-10 备份与演练证据",
        "rectification-overdue 2026-11-04 运维记录",
    ]
    assert found["rectification-overdue 2026-11-04 运维记录"].evidence["days_overdue"] == 4
    # It rests on the record that set its deadline: the finding names that record's batch seal (its period starts
    # only at the deadline's end).
    overdue = found["rectification-overdue 2026-11-04 运维记录"].evidence
    assert [x["batch"] for x in overdue["seals"]] == [result.batch_id]
    assert overdue["seals_from"].startswith("2026-11-04T00:00:00")


# --- the CLI -----------------------------------------------------------------------------------------------


def test_the_commands(store, config):
    def cli(*args: str):
        return CliRunner().invoke(main, ["--config", str(config.source_path), "inspections", *args])

    plan = cli("plan", *DEMO_PLAN)
    assert plan.exit_code == 0, plan.output
    assert "2026-11 不定期检查计划：3 次" in plan.output and "0123456789abcdef" not in plan.output
    lines = [x for x in plan.output.splitlines() if x.startswith("2026-11-")]
    assert [x.split()[:3] for x in lines] == [
        ["2026-11-04", "周三", "records"],
        ["2026-11-10", "周二", "continuity"],
        ["2026-11-23", "周一", "site"],
    ]
    again = cli("plan", "--month", "2026-11", "--format", "json", "--at", "2026-11-02 09:00")
    data = json.loads(again.output)
    assert data["created"] is False and "seed" not in data and len(data["inspections"]) == 3
    assert "沿用原计划" in data["notes"][0]
    shown = json.loads(cli("plan", "--month", "2026-11", "--format", "json", "--show-seed").output)
    assert shown["seed"] == "0123456789abcdef"

    ok = cli(
        "record",
        "--date",
        "2026-11-04",
        "--area",
        "运维记录",
        "--inspector",
        "李科长",
        "--result",
        "problems",
        "--problems",
        "交接班表无签字",
        "--at",
        "2026-11-04 17:00",
    )
    assert ok.exit_code == 0, ok.output
    assert "已记录：2026-11-04 records problems，整改期限 2026-11-11" in ok.output
    status = cli("show", "--month", "2026-11", "--at", "2026-11-16 09:00", "--format", "json")
    by_day = {r["day"]: r for r in json.loads(status.output)["inspections"]}
    assert by_day["2026-11-04"]["status"] == "已完成" and by_day["2026-11-04"]["inspector"] == "李科长"
    assert by_day["2026-11-10"]["status"] == "未按时检查" and by_day["2026-11-23"]["status"] == "待检查"
    table = cli("show", "--month", "2026-11", "--at", "2026-11-11 09:00")
    assert table.exit_code == 0 and "待记录" in table.output  # 11-10, within its grace days

    unknown = cli(
        "record", "--date", "2026-11-04", "--area", "食堂", "--inspector", "李科长", "--result", "pass"
    )
    assert unknown.exit_code == 2 and "site（机房现场）" in unknown.output
    future = cli(
        "record",
        "--date",
        "2026-11-20",
        "--area",
        "site",
        "--inspector",
        "李科长",
        "--result",
        "pass",
        "--at",
        "2026-11-16 09:00",
    )
    assert future.exit_code == 2 and "还没到" in future.output
    bare = cli(
        "record", "--date", "2026-11-06", "--area", "site", "--inspector", "李科长", "--result", "problems"
    )
    assert bare.exit_code == 2 and "--problems" in bare.output
    bad_result = cli(
        "record", "--date", "2026-11-06", "--area", "site", "--inspector", "李科长", "--result", "so-so"
    )
    assert bad_result.exit_code == 2 and "pass" in bad_result.output

    done = cli("rectified", "--date", "2026-11-04", "--area", "records", "--on", "2026-11-13")
    assert done.exit_code == 0 and "超过期限 2 天" in done.output
    # Each record and rectification entered is a sealed batch naming the command: the trail stays intact.
    with store.session() as s:
        sources = s.scalars(select(EvidenceBatch.source).where(EvidenceBatch.kind == "inspection")).all()
        assert [x.split(" (")[0] for x in sources] == [
            "ops-watch inspections record",  # `ok` above: the others were refused
            "ops-watch inspections rectified",
        ]
        report = verify(s)
    assert report.ok, [b.text("en") for b in report.breaks]
    missing = cli("rectified", "--date", "2026-11-05", "--area", "records", "--on", "2026-11-13")
    assert missing.exit_code == 1 and "没有 2026-11-05 records 的检查记录" in missing.output
    bad_month = cli("plan", "--month", "2026-13")
    assert bad_month.exit_code == 2 and "not a month" in bad_month.output
    empty = cli("show", "--month", "2027-01", "--at", "2026-11-16 09:00")
    assert empty.exit_code == 0 and "还没有检查计划" in empty.output
