"""The contractor score (R12) on hand-made evidence: shifts and door events under the contract's [staffing],
backup runs, drills against their cadence, findings against their rectification deadlines. Every figure is
worked out by hand in the comments. Inputs that are missing are listed, never counted as zero; the at-risk
check opens, turns critical, and resolves; `ops-watch score` prints the same score; the weekly report's money
section shows it. On SQLite and PostgreSQL (`store`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.continuity.kind_backup import dedupe_key as backup_key
from ops_watch.areas.money.score import checks as score_check
from ops_watch.areas.money.score.model import contractor_score, score_json
from ops_watch.areas.staffing.kind_door import dedupe_key as door_key
from ops_watch.config import Config
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.report.model import Week
from ops_watch.store import Store
from ops_watch.store.schema import (
    BackupJob,
    DoorEvent,
    Drill,
    Finding,
    FindingEvent,
    HandoverShift,
    StaffMember,
)

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
CONTRACT = """
[contract]
start = 2026-01-01
end = 2026-12-31

[staffing]
grace_minutes = 15
onsite_doors = ["机房门"]
judge_from = 2026-11-02

[[staffing.shifts]]
name = "白班"
start = "08:00"
end = "20:00"
days = "all"
min_headcount = { workday = 2, rest_day = 1, holiday = 1 }

[[staffing.shifts]]
name = "夜班"
start = "20:00"
end = "08:00"
days = "all"
min_headcount = 1

[continuity]

[[continuity.systems]]
name = "警综"
drill_every_days = { restore = 90 }

[rectification]
critical = "1d"
warning = "7d"
info = "30d"

[score]
fee_per_quarter = 300000
"""
# Only backup runs as evidence: no shifts, no drill cadence, no findings.
BACKUPS_ONLY = """
[contract]
start = 2026-01-01
"""
AT = "2026-11-04 12:00"
SCORE_RULE = (REPO / "rules" / "score.toml").read_text(encoding="utf-8")

plugins.load()


def contract(text: str = CONTRACT) -> dict[str, Any]:
    problems: list[str] = []
    out = parse_contract(tomllib.loads(text), "contract.toml", problems)
    assert problems == [], problems
    return out


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def score(store: Store, at: str = AT, text: str = CONTRACT, language: str = "zh") -> Any:
    with store.session() as s:
        return contractor_score(s, contract(text), ZONE, local(at).astimezone(UTC), language)


# --- evidence ------------------------------------------------------------------------------------------

_serial = iter(range(1, 10**6))


def person(store: Store, pid: str, name: str) -> None:
    with store.session() as s:
        s.add(
            StaffMember(
                person_id=pid,
                name=name,
                card_numbers=[f"C{pid}"],
                role="工程师",
                employer="运维公司",
                active_from=date(2020, 1, 1),
                active_to=None,
                certificates=[],
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def badge(store: Store, when: str, pid: str, direction: str) -> None:
    at = local(when).astimezone(UTC)
    serial = str(next(_serial))
    with store.session() as s:
        s.add(
            DoorEvent(
                at=at,
                person_id=pid,
                name="",
                card_no=f"C{pid}",
                door="机房门",
                direction=direction,
                result="granted",
                device="dev",
                serial_no=serial,
                dedupe_key=door_key(at, pid, f"C{pid}", "机房门", "dev", serial),
            )
        )


def work(store: Store, pid: str, start: str, end: str) -> None:
    badge(store, start, pid, "in")
    badge(store, end, pid, "out")


def sheet(
    store: Store, day: str, shift: str, on_duty: list[str], handover: str, giver: str, taker: str
) -> None:
    with store.session() as s:
        s.add(
            HandoverShift(
                date=date.fromisoformat(day),
                shift=shift,
                on_duty=on_duty,
                handover_at=local(handover).astimezone(UTC),
                handed_over_by=giver,
                taken_over_by=taker,
                notes="",
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def backup(store: Store, started: str, status: str = "success", system: str = "警综") -> None:
    start = local(started).astimezone(UTC)
    with store.session() as s:
        s.add(
            BackupJob(
                system=system,
                job="全量",
                started=start,
                finished=start + timedelta(minutes=30),
                status=status,
                size_gb=1.0,
                dedupe_key=backup_key(system, "全量", start),
            )
        )


def drill(store: Store, day: str) -> None:
    with store.session() as s:
        s.add(
            Drill(
                date=date.fromisoformat(day),
                system="警综",
                type="restore",
                scenario="",
                result="pass",
                rto_minutes=30,
                rpo_minutes=5,
                participants=["王建国"],
                evidence="报告.pdf",
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


def finding(
    store: Store, fid: int, severity: str, first_seen: str, *events: tuple[str, str], check: str = "x"
) -> None:
    """A finding first seen at `first_seen` with its later lifecycle events (action, local time)."""
    seen = local(first_seen).astimezone(UTC)
    status, resolved_at = "open", None
    for action, when in events:
        status = "resolved" if action == "resolved" else "open"
        resolved_at = local(when).astimezone(UTC) if action == "resolved" else None
    with store.session() as s:
        s.add(
            Finding(
                fingerprint=f"fp{fid}",
                rule_id="r",
                check=check,
                area="staffing",
                severity=severity,
                status=status,
                subject=f"问题{fid}",
                summary="",
                evidence={},
                first_seen=seen,
                last_seen=seen,
                resolved_at=resolved_at,
            )
        )
    with store.session() as s:  # ids from the store: the engine adds findings after these
        row = s.scalar(select(Finding).where(Finding.fingerprint == f"fp{fid}"))
        s.add(FindingEvent(finding_id=row.id, at=seen, action="opened"))
        for action, when in events:
            s.add(FindingEvent(finding_id=row.id, at=local(when).astimezone(UTC), action=action))


def the_evidence(store: Store) -> None:
    """The scenario every figure below is worked out from (as of 2026-11-04 12:00)."""
    for pid, name in (("A", "王建国"), ("B", "李娜"), ("C", "张伟"), ("D", "刘洋")):
        person(store, pid, name)
    # Staffing, judged from Monday 11-02: four ended shifts need 2 + 1 + 2 + 1 = 6 person-shifts.
    work(store, "A", "2026-11-02 07:48", "2026-11-02 20:06")
    work(store, "B", "2026-11-02 07:52", "2026-11-02 20:03")
    work(store, "C", "2026-11-02 19:41", "2026-11-03 08:09")
    work(store, "D", "2026-11-03 07:50", "2026-11-03 20:05")
    work(store, "C", "2026-11-03 19:45", "2026-11-04 08:05")
    sheet(store, "2026-11-02", "白班", ["王建国", "李娜"], "2026-11-02 20:00", "王建国", "张伟")
    sheet(store, "2026-11-02", "夜班", ["张伟"], "2026-11-02 08:00", "张伟", "刘洋")
    # 11-03's day shift lists 李娜, who never came: 1 of 2. 11-03's night has no sheet row (C was there).
    sheet(store, "2026-11-03", "白班", ["刘洋", "李娜"], "2026-11-03 20:00", "刘洋", "张伟")
    # Backups: 9 of 10 runs succeeded.
    for day in range(1, 10):
        backup(store, f"2026-10-{day:02d} 01:00")
    backup(store, "2026-10-10 01:00", "failed")
    # Drills, restore every 90 days from 01-01: due 04-01 (met 03-20), 06-18 (missed: done late on 07-01),
    # 09-29 (met 09-20); the next, 12-28, is not due yet.
    for day in ("2026-03-20", "2026-07-01", "2026-09-20"):
        drill(store, day)
    # Findings (warning 7 days, critical 1 day, info 30 days to rectify).
    finding(store, 1, "warning", "2026-10-01 09:00", ("resolved", "2026-10-05 09:00"))  # on time
    finding(store, 2, "warning", "2026-10-10 09:00", ("resolved", "2026-10-20 09:00"))  # late
    finding(store, 3, "critical", "2026-11-03 10:00")  # due 11-04 10:00, still open: late
    finding(store, 4, "info", "2026-11-01 09:00")  # due 12-01: not yet due
    # Resolved, reopened before its deadline, open at it: late.
    finding(
        store,
        5,
        "warning",
        "2026-10-20 09:00",
        ("resolved", "2026-10-22 09:00"),
        ("reopened", "2026-10-24 09:00"),
    )
    finding(
        store, 6, "warning", "2026-10-01 09:00", check="budget_execution_risk"
    )  # the center's: not counted
    # Resolved by its deadline, reopened after it: it was rectified on time.
    finding(
        store,
        7,
        "warning",
        "2026-10-01 09:00",
        ("resolved", "2026-10-03 09:00"),
        ("reopened", "2026-10-20 09:00"),
    )


# --- the score -----------------------------------------------------------------------------------------


def test_a_score_computed_from_the_evidence(store: Store) -> None:
    the_evidence(store)
    result = score(store)
    rows = {r.key: r for r in result.indicators}
    got = {k: (r.result.numerator, r.result.denominator, r.value, r.points) for k, r in rows.items()}
    assert got == {
        # 5 of 6 person-shifts → 83.33 %; 25 × 83.33 / 95 = 21.93
        "staffing_rate": (5, 6, Decimal("83.33"), Decimal("21.93")),
        # 3 of 4 shifts verified (11-03's night has no sheet row) → 75 %; 15 × 75 / 95 = 11.84
        "handover_verified_rate": (3, 4, Decimal("75.00"), Decimal("11.84")),
        # 2 of 3 due dates met → 66.67 %; 20 × 0.6667 = 13.33
        "drill_completion_rate": (2, 3, Decimal("66.67"), Decimal("13.33")),
        # 9 of 10 runs → 90 %; 20 × 90 / 99 = 18.18
        "backup_success_rate": (9, 10, Decimal("90.00"), Decimal("18.18")),
        # findings 1 and 7 of 1, 2, 3, 5, 7 → 40 %; 10 × 40 / 90 = 4.44
        "findings_on_time_rate": (2, 5, Decimal("40.00"), Decimal("4.44")),
        "audit_timeliness_rate": (None, None, None, None),
        "satisfaction": (None, None, None, None),
    }
    # 69.72 points of the 90 measured → 77.47 rescaled: 中, rectification and 5 % of 300,000 deducted.
    assert (result.points, result.measured_weight, result.missing_weight) == (
        Decimal("69.72"),
        Decimal(90),
        Decimal(10),
    )
    assert result.score == Decimal("77.47") and result.band == "中"
    assert result.rectification and not result.ineligible and result.deduction == Decimal("15000.00")
    assert result.consequences == [
        "低于 80 分：须整改，并扣当季度服务费的 5%（季度服务费 300,000.00 元 × 5% = 15,000.00 元）"
    ]
    assert result.incomplete.startswith("不完整：10 分权重无证据（审计材料及时率 5、满意度 5）")
    # The evidence says which shifts, drills and findings cost points, so the contractor can check them.
    assert "2026-11-03 白班：要求 2 人，证实 1 人" in rows["staffing_rate"].result.evidence
    assert "2026-11-03 夜班：无交接记录" in rows["handover_verified_rate"].result.evidence
    assert (
        rows["drill_completion_rate"].result.evidence[0]
        == "警综 备份恢复演练 应于 2026-06-18 前完成：未按期完成"
    )
    late = rows["findings_on_time_rate"].result.evidence
    assert [line.split("（")[0].split(" ")[-1] for line in late] == ["问题2", "问题3", "问题5"]
    assert "至今未解决" in late[1] and "2026-10-20 09:00 解决" in late[0]
    assert rows["backup_success_rate"].result.evidence == ["警综：成功 9 / 10 次"]


def test_the_score_in_english_and_as_json(store: Store) -> None:
    the_evidence(store)
    result = score(store, language="en")
    assert result.indicators[0].name == "staffing rate"
    assert result.consequences == [
        "below 80: rectification, and 5% of the quarter's fee deducted (300,000.00 CNY × 5% = 15,000.00 CNY)"
    ]
    data = score_json(result, ZONE)
    assert json.loads(json.dumps(data)) == data  # plain JSON: decimals are strings, exact
    assert data["score"] == "77.47" and data["points"] == "69.72" and data["band"] == "中"
    assert data["period"] == {
        "kind": "year",
        "label": "2026",
        "first_day": "2026-01-01",
        "last_day": "2026-12-31",
        "until": "2026-11-04T12:00:00+08:00",
    }
    assert data["missing"] == [
        {
            "key": "audit_timeliness_rate",
            "name": "audit material on time",
            "weight": "5",
            "reason": "the contract lists no audit materials ([audit] materials in contract.toml)",
        },
        {
            "key": "satisfaction",
            "name": "satisfaction",
            "weight": "5",
            "reason": "no satisfaction-survey answer in the period",
        },
    ]
    staffing = data["indicators"][0]
    assert staffing["inputs"] == {"required": 6, "evidenced": 5, "shifts": 4, "judged_from": "2026-11-02"}
    assert (staffing["value"], staffing["target"], staffing["weight"], staffing["points"]) == (
        "83.33",
        "95",
        "25",
        "21.93",
    )


def test_missing_inputs_are_listed_and_the_rest_rescaled_not_counted_as_zero(store: Store) -> None:
    for day in range(1, 11):
        backup(store, f"2026-10-{day:02d} 01:00", "success" if day <= 5 else "failed")
    result = score(store, text=BACKUPS_ONLY)
    measured = [r.key for r in result.indicators if r.measured]
    assert measured == ["backup_success_rate"]
    # 5 of 10 → 50 %: 20 × 50 / 99 = 10.10 points of 20 measured → 50.50, not 10.10 out of 100.
    assert (result.points, result.measured_weight, result.missing_weight, result.score) == (
        Decimal("10.10"),
        Decimal(20),
        Decimal(80),
        Decimal("50.50"),
    )
    assert result.band == "差" and result.rectification and result.ineligible
    reasons = {r.key: r.result.missing for r in result.missing}
    assert reasons == {
        "staffing_rate": "合同未约定班次（contract.toml 没有 [staffing]）",
        "handover_verified_rate": "合同未约定班次（contract.toml 没有 [staffing]）",
        "drill_completion_rate": "合同未约定演练周期（contract.toml 的 [continuity]）",
        "findings_on_time_rate": "考核期内没有到整改期限的问题",
        "audit_timeliness_rate": "合同未列出审计材料（contract.toml 的 [audit] materials）",
        "satisfaction": "考核期内没有满意度调查答卷",
    }
    assert all(r.points is None for r in result.missing)  # missing, not zero
    assert "80 分权重无证据" in result.incomplete
    # Fees unknown: the deduction is stated as a rate, with what to fill in.
    assert (
        result.deduction is None
        and "在 contract.toml 的 [score] 填写 fee_per_quarter" in result.consequences[0]
    )


def test_shifts_without_door_records_and_drills_without_a_register_are_missing(store: Store) -> None:
    # The contract owes shifts and drills, but no door record, sheet or drill record ever arrived.
    backup(store, "2026-10-01 01:00")
    result = score(store)
    reasons = {r.key: r.result.missing for r in result.missing}
    assert reasons["staffing_rate"] == "考核期内没有门禁记录和交接班表"
    assert reasons["handover_verified_rate"] == "考核期内没有门禁记录和交接班表"
    # Due 04-01, 06-30, 09-28 with no drill at all.
    assert reasons["drill_completion_rate"] == "ops-watch 没有任何演练记录（考核期内应完成 3 次）"
    assert [r.key for r in result.indicators if r.measured] == ["backup_success_rate"]
    assert result.score == Decimal("100.00") and result.band == "优" and result.consequences == []


def test_before_the_contract_starts_nothing_is_scored(store: Store) -> None:
    the_evidence(store)
    result = score(store, at="2025-12-31 12:00")
    assert result.score is None and result.band is None and result.consequences == []
    assert {r.result.missing for r in result.indicators} == {"合同 2026-01-01 才开始"}


def test_a_quarterly_score_covers_the_quarter(store: Store) -> None:
    the_evidence(store)
    text = CONTRACT.replace("[score]\n", '[score]\nperiod = "quarter"\n')
    result = score(store, text=text)
    assert result.period.label == "2026-Q4" and result.period.first_day == date(2026, 10, 1)
    rows = {r.key: r for r in result.indicators}
    # Q4: no drill fell due (the next is 12-28); findings 1, 2, 5, 7 and 3 all fall due in it.
    assert rows["drill_completion_rate"].result.missing == "考核期内没有到期的演练"
    assert rows["findings_on_time_rate"].result.denominator == 5


# --- the check -----------------------------------------------------------------------------------------


def ruleset(text: str) -> RuleSet:
    problems: list[str] = []
    rules = parse_rules(tomllib.loads(SCORE_RULE), "score.toml", problems)
    assert problems == []
    return RuleSet(rules=rules, contract=contract(text))


def active(store: Store) -> list[Finding]:
    with store.session() as s:
        return list(s.scalars(select(Finding).where(Finding.rule_id == "contractor-score-at-risk")))


def test_the_at_risk_check_warns_turns_critical_and_resolves(store: Store) -> None:
    the_evidence(store)
    at = local(AT).astimezone(UTC)
    # 77.47: under 85 and under 80 → critical.
    engine.evaluate(store, ruleset(CONTRACT), at, zone=ZONE)
    (f,) = active(store)
    assert (f.status, f.severity, f.subject, f.area) == (
        "open",
        "critical",
        "承包商考核 2026",
        score_check.AREA,
    )
    assert f.period_start == local("2026-01-01 00:00") and f.period_end == local("2027-01-01 00:00")
    assert f.summary.startswith(
        "承包商考核 2026 截至 2026-11-04 得分 77.47（中），低于预警线 85 分；低于 80 分：须整改"
    )
    assert f.evidence["score"] == "77.47" and len(f.evidence["indicators"]) == 7
    assert f.evidence["indicators"][0]["points"] == "21.93"
    # Rectification starts at 75 instead: 77.47 is only at risk → the same finding, a warning.
    lower = CONTRACT.replace("[score]\n", "[score]\nrectify_below = 75\nineligible_at_or_below = 50\n")
    engine.evaluate(store, ruleset(lower), at + timedelta(minutes=5), zone=ZONE)
    (f,) = active(store)
    assert (f.status, f.severity) == ("open", "warning") and "须整改" not in f.summary
    # An alert line at 77.47 itself: not under it → resolved.
    edge = CONTRACT.replace("[score]\n", "[score]\nat_risk_below = 77.47\nrectify_below = 75\n")
    engine.evaluate(store, ruleset(edge), at + timedelta(minutes=10), zone=ZONE)
    (f,) = active(store)
    assert f.status == "resolved"


def test_a_thinly_measured_score_does_not_alert(store: Store) -> None:
    for day in range(1, 11):
        backup(store, f"2026-10-{day:02d} 01:00", "success" if day <= 5 else "failed")
    at = local(AT).astimezone(UTC)
    engine.evaluate(store, ruleset(BACKUPS_ONLY), at, zone=ZONE)  # 20 points measured, under 50
    assert active(store) == []
    problems: list[str] = []
    rules = parse_rules(
        tomllib.loads(SCORE_RULE.replace("min_measured_weight = 50", "min_measured_weight = 20")),
        "score.toml",
        problems,
    )
    engine.evaluate(store, RuleSet(rules=rules, contract=contract(BACKUPS_ONLY)), at, zone=ZONE)
    (f,) = active(store)
    assert f.severity == "critical" and "59 分及以下：不得参与下一年度合同" in f.summary
    assert "80 分权重无证据" in f.summary


# --- the command and the report ------------------------------------------------------------------------


def test_the_score_command(store: Store, store_url: str, config_file, tmp_path: Path) -> None:
    the_evidence(store)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "contract.toml").write_text(CONTRACT, encoding="utf-8")
    (rules / "score.toml").write_text(SCORE_RULE, encoding="utf-8")
    cfg = config_file(f'[store]\nurl = "{store_url}"\n[collect.local]\nenabled = false\n')

    def ops(*args: str) -> str:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ops_watch",
                "--config",
                str(cfg),
                "score",
                "--at",
                "2026-11-04 12:00",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    data = json.loads(ops("--format", "json"))
    with store.session() as s:
        expected = score_json(contractor_score(s, contract(), ZONE, local(AT).astimezone(UTC)), ZONE)
    assert data == expected and data["score"] == "77.47"
    table = ops()
    assert "得分：77.47（中）；已计量指标得 69.72 / 90 分" in table
    assert (
        "后果：低于 80 分：须整改，并扣当季度服务费的 5%（季度服务费 300,000.00 元 × 5% = 15,000.00 元）"
        in table
    )
    assert "缺证据：满意度（5 分）：考核期内没有满意度调查答卷" in table
    assert "【人员到位率】依据：" in table and "  2026-11-03 白班：要求 2 人，证实 1 人" in table
    lines = ops("--format", "csv").lstrip("\ufeff").splitlines()
    assert lines[0] == "key,indicator,formula,inputs,value,target,weight,points,missing,evidence"
    assert lines[1].startswith("staffing_rate,人员到位率,") and ",83.33,95,25,21.93,," in lines[1]
    assert lines[-1].startswith("total,总分（折算百分制）,") and ",77.47,,90,69.72," in lines[-1]


def test_the_weekly_report_money_section(store: Store, tmp_path: Path) -> None:
    from ops_watch.areas.money import report as area_money  # noqa: F401  (registers the area until load_areas lists it)
    from ops_watch.report.weekly import build, files_of

    the_evidence(store)
    config = Config.model_validate({"paths": {"state_dir": str(tmp_path / "var")}})
    week = Week(2026, 45, ZONE)  # 11-02 to 11-08
    report = build(store, config, contract(), week, "zh")
    (money,) = [a for a in report.areas if a.key == "money"]
    assert money.title == "经费与考核"
    figures = {f.key: f for f in money.figures}
    with store.session() as s:
        now = contractor_score(s, contract(), ZONE, week.end)
        before = contractor_score(s, contract(), ZONE, week.shifted(-1).end)
    assert figures["contractor_score"].value == float(now.score)
    assert figures["contractor_score"].previous == float(before.score)
    assert figures["contractor_score"].note.startswith(f"{now.band}；2026 年度至今；10 分权重无证据")
    (table,) = [t for t in money.tables if t.key == "score_indicators"]
    assert table.sheet == "考核指标" and len(table.rows) == 8
    assert table.rows[-1]["points"] == now.score and table.rows[3]["value"] == float(now.indicators[3].value)
    book = openpyxl.load_workbook(
        __import__("io").BytesIO(files_of(report, config).files["运维合规周报-2026-W45.xlsx"]), read_only=True
    )
    sheet = list(book["考核指标"].iter_rows(values_only=True))
    header = sheet[1]
    assert header[:3] == ("指标", "计算方法", "数据")
    backup_row = next(r for r in sheet if r[0] == "备份成功率")
    assert backup_row[3] == pytest.approx(0.9) and float(backup_row[6]) == pytest.approx(18.18)


def test_a_period_across_months_is_judged_as_one_view_would(store: Store) -> None:
    """The staffing summary is built month by month (a year of badges is never in memory at once): a night
    shift from 31 October into 1 November, a stay begun before the period and sheets on both sides give the
    counts, shortages and handover verdicts one view of the whole period gives."""
    from ops_watch.areas.staffing.indicators import staffing_summary
    from ops_watch.areas.staffing.presence import build_view

    text = CONTRACT.replace("judge_from = 2026-11-02", "judge_from = 2026-10-20")
    for pid, name in (("P1", "王伟"), ("P2", "李娜"), ("P3", "张敏")):
        person(store, pid, name)
    work(store, "P1", "2026-10-27 19:40", "2026-10-28 08:10")  # before the period: a day either side
    work(store, "P1", "2026-10-31 19:50", "2026-11-01 08:05")  # the night across the month's end
    work(store, "P2", "2026-10-31 07:55", "2026-10-31 20:10")
    work(store, "P3", "2026-11-01 07:50", "2026-11-01 20:05")
    badge(store, "2026-11-01 19:58", "P2", "in")  # no way out seen: until the shift's end
    work(store, "P3", "2026-10-30 08:30", "2026-10-30 12:00")  # late and short
    sheet(store, "2026-10-31", "夜班", ["王伟"], "2026-11-01 08:00", "王伟", "张敏")
    sheet(store, "2026-11-01", "白班", ["张敏", "李娜"], "2026-11-01 20:00", "张敏", "李娜")
    sheet(store, "2026-10-30", "白班", ["张敏"], "2026-10-30 20:00", "张敏", "王伟")
    terms = contract(text)
    start, end = local("2026-10-28 00:00").astimezone(UTC), local("2026-11-03 00:00").astimezone(UTC)
    with store.session() as s:
        summary = staffing_summary(s, terms, ZONE, start, end)
        one = build_view(s, terms, ZONE, end, date(2026, 10, 28), date(2026, 11, 2))
    done = [x for x in one.shifts if x.ended]
    assert (summary.ended, summary.required, summary.evidenced, summary.verified) == (
        len(done),
        sum(x.required for x in done),
        sum(x.evidenced for x in done),
        sum(1 for x in done if x.handover_verified),
    )
    assert summary.short == tuple(
        (x.instance.day.isoformat(), x.instance.shift, x.required, x.evidenced)
        for x in done
        if x.evidenced < x.required
    )
    assert summary.evidence_rows == len(one.badges) + sum(1 for x in one.shifts if x.sheet is not None)
    assert [u[:3] for u in summary.unverified] == [
        (x.instance.day.isoformat(), x.instance.shift)
        + ("no_sheet" if x.sheet is None else "absent" if x.handover_missing else "no_time",)
        for x in done
        if not x.handover_verified
    ]
    assert summary.evidenced > 0 and summary.short  # the evidence was read, and it is not all full
    assert 0 < summary.verified < summary.ended
