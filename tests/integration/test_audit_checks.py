"""Audit materials (R6) on a real store (SQLite and PostgreSQL, `store`): the example register and dropped
documents through ops_watch.ingest, the three checks through the engine (opened, resolved when handed in,
late, no time recorded), bad register rows, a document naming no material, the arrival time of a dropped
file (its ctime, not a modification time set back), the timeliness indicator and `ops-watch audit status`."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.governance.audit.model import audit_terms, deadline, period_for, rate_of, timeliness
from ops_watch.cli import main
from ops_watch.config import Config
from ops_watch.core.timeutil import utcnow
from ops_watch.findings import engine
from ops_watch.findings.indicators import INDICATORS, IndicatorInputs
from ops_watch.findings.registry import CHECKS, CheckContext
from ops_watch.findings.rules import load_rules
from ops_watch.ingest import file_sha256, ingest_drop_folder, ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import AuditSubmission, Finding

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 11, 16, 9, 0, tzinfo=ZONE)
REGISTER = REPO / "examples" / "audit" / "审计材料报送登记_2026.csv"
plugins.load()

# The [audit] terms proposed for rules/contract.toml (the demo's materials).
DEMO_AUDIT = """
[audit]
grace = "0h"

[[audit.materials]]
key = "security_audit_monthly"
name_zh = "月度安全审计报告"
name_en = "monthly security audit report"
aliases = ["安全审计月报", "安全审计报告"]
cadence = "monthly"
due_day = 5

[[audit.materials]]
key = "ops_report_monthly"
name_zh = "运维月报"
name_en = "monthly operations report"
aliases = ["月度运维报告", "运维服务月报"]
cadence = "monthly"
due_day = 5

[[audit.materials]]
key = "vuln_scan_quarterly"
name_zh = "季度漏洞扫描报告"
name_en = "quarterly vulnerability scan"
aliases = ["漏洞扫描报告", "漏扫报告"]
cadence = "quarterly"
due_days = 10
"""
DEMO_CONTRACT = "[contract]\nstart = 2026-01-01\nend = 2026-12-31\n" + DEMO_AUDIT
PLANTED = {
    ("audit_missing", "月度安全审计报告 2026-10"),
    ("audit_late", "季度漏洞扫描报告 2026-Q3"),
    ("audit_time_unrecorded", "月度安全审计报告 2026-08"),
}


def make_config(tmp_path: Path, contract: str) -> Config:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "contract.toml").write_text(contract, encoding="utf-8")
    shutil.copy(REPO / "rules" / "audit.toml", rules / "audit.toml")
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var"), "rules_dir": str(rules)},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
        }
    )


def write_register(path: Path, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "材料,期间,报送时间,报送人,文件\n" + "".join(r + "\n" for r in rows)
    path.write_bytes("\ufeff".encode() + text.encode("utf-8"))
    return path


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def active(store: Store) -> dict[tuple[str, str], Finding]:
    with store.session() as s:
        found = s.scalars(select(Finding).where(Finding.status == "open")).all()
        for f in found:
            s.expunge(f)
    return {(f.check, f.subject): f for f in found}


def evaluate(store: Store, config: Config, at: datetime) -> engine.Evaluation:
    result = engine.evaluate(store, load_rules(config.rules_dir), at, zone=ZONE)
    assert result.failed_rules == {}
    return result


def test_the_example_register_gives_the_planted_findings_and_rate(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path, DEMO_CONTRACT)
    result = ingest_file(store, config, "audit", REGISTER)
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 22, 0)
    evaluate(store, config, AS_OF)
    found = active(store)
    assert set(found) == PLANTED
    missing = found[("audit_missing", "月度安全审计报告 2026-10")]
    assert (
        missing.severity == "warning" and missing.area == "governance" and missing.rule_id == "audit-missing"
    )
    # Dated from its deadline (the end of 2026-11-05), not from the month it is about.
    assert missing.period_start == local("2026-11-06 00:00") and missing.period_end is None
    assert missing.evidence["due"] == "2026-11-05" and "已过 11 天" in missing.summary
    late = found[("audit_late", "季度漏洞扫描报告 2026-Q3")]
    assert late.severity == "info" and "迟交 3 天 15 小时" in late.summary
    assert late.evidence["submitted_at"] == "2026-10-14 15:30" and late.evidence["late_by"] == "3 days 15 h"
    assert late.evidence["submitted_by"] == "赵工" and late.evidence["document"] == "2026Q3漏洞扫描报告.pdf"
    assert late.period_start == local("2026-10-11 00:00") and late.period_end is None
    unrecorded = found[("audit_time_unrecorded", "月度安全审计报告 2026-08")]
    assert unrecorded.severity == "warning" and "未记录报送时间" in unrecorded.summary
    assert unrecorded.evidence["document"] == "2026年8月安全审计报告.pdf"

    # The same evidence again: the same findings (stable subjects and periods), nothing new.
    again = evaluate(store, config, AS_OF + timedelta(hours=1))
    assert again.opened == [] and again.resolved == [] and again.still_open == 3

    contract = load_rules(config.rules_dir).contract
    start = local("2026-01-01 00:00")
    with store.session() as s:
        rows = timeliness(s, contract, ZONE, start, AS_OF)
        value = INDICATORS["audit_timeliness_rate"].fn(IndicatorInputs(s, contract, ZONE, start, AS_OF, "zh"))
    rate = rate_of(rows)
    assert (rate.due, rate.on_time, rate.late, rate.missing, rate.unrecorded, rate.date_only) == (
        23,
        20,
        1,
        1,
        1,
        1,
    )
    date_only = next(r for r in rows if r.date_only)
    assert (date_only.material.key, date_only.period.key, date_only.status) == (
        "ops_report_monthly",
        "2026-03",
        "on_time",
    )
    assert value.value == Decimal("86.96") and (value.numerator, value.denominator) == (20, 23)
    assert "未记录报送时间的计为未按期" in value.formula and value.missing == ""
    assert value.evidence[0] == "逐项明细：ops-watch audit status --from 2026-01-01 --to 2026-11-16"
    assert any("2026-Q3" in line and "迟交 3 天 15 小时" in line for line in value.evidence)
    assert any("2026-08" in line and "未记录报送时间" in line for line in value.evidence)
    assert any("2026-10" in line and "未报送" in line for line in value.evidence)


def test_missing_then_late_then_unrecorded_then_timed(store: Store, tmp_path: Path) -> None:
    contract = """
[audit]
grace = "2h"
[[audit.materials]]
key = "sec"
name_zh = "月度安全审计报告"
cadence = "monthly"
due_day = 5
start = 2026-10-01
"""
    config = make_config(tmp_path, contract)
    # Due 2026-11-05, end of day, plus two hours of grace.
    assert evaluate(store, config, local("2026-11-06 01:30")).opened == []
    evaluate(store, config, local("2026-11-06 02:30"))
    assert list(active(store)) == [("audit_missing", "月度安全审计报告 2026-10")]

    write_register(tmp_path / "in" / "r1.csv", "sec,2026-10,2026-11-07 09:00,王工,10月.pdf")
    assert ingest_file(store, config, "audit", tmp_path / "in" / "r1.csv").status == "accepted"
    # Checks see evidence up to their time only: the day before the submission it is still missing.
    rules = load_rules(config.rules_dir)
    with store.session() as s:
        ctx = CheckContext(session=s, at=local("2026-11-07 08:00"), zone=ZONE, contract=rules.contract)
        before = list(CHECKS["audit_missing"].fn(ctx, CHECKS["audit_missing"].params()))
    assert [d.subject for d in before] == ["月度安全审计报告 2026-10"]
    result = evaluate(store, config, local("2026-11-07 10:00"))
    assert len(result.resolved) == 1
    late = active(store)[("audit_late", "月度安全审计报告 2026-10")]
    # Late is counted from the deadline itself (grace only decides whether it is late).
    assert late.evidence["late_by"] == "1 day 9 h" and late.evidence["grace"] == "2:00:00"

    # November handed in, but the register has no time: the evaluators' gap, until the time is filled in.
    write_register(tmp_path / "in" / "r2.csv", "月度安全审计报告,2026年11月,,王工,11月.pdf")
    ingest_file(store, config, "audit", tmp_path / "in" / "r2.csv")
    evaluate(store, config, local("2026-12-06 03:00"))
    assert ("audit_time_unrecorded", "月度安全审计报告 2026-11") in active(store)
    write_register(tmp_path / "in" / "r3.csv", "sec,2026-11,2026-12-04,王工,11月.pdf")  # same row, now dated
    ingest_file(store, config, "audit", tmp_path / "in" / "r3.csv")
    result = evaluate(store, config, local("2026-12-06 04:00"))
    assert set(active(store)) == {("audit_late", "月度安全审计报告 2026-10")}
    with store.session() as s:
        stored = s.scalars(select(AuditSubmission).where(AuditSubmission.period == "2026-11")).all()
        assert len(stored) == 1 and stored[0].source == "register"
        nov = [
            r
            for r in timeliness(s, rules.contract, ZONE, local("2026-12-01 00:00"), local("2026-12-06 04:00"))
        ]
    assert [(r.period.key, r.status, r.date_only) for r in nov] == [("2026-11", "on_time", True)]


def _two_months_before(today: date) -> str:
    last_month_end = today.replace(day=1) - timedelta(days=1)
    return period_for("monthly", last_month_end.replace(day=1) - timedelta(days=1)).key


def test_dropped_documents_arrival_and_refusals(store: Store, tmp_path: Path) -> None:
    today = utcnow().astimezone(ZONE).date()
    period = _two_months_before(today)  # whatever today is: a month whose deadline has passed
    first = period_for("monthly", date.fromisoformat(period + "-01")).first
    config = make_config(
        tmp_path,
        DEMO_AUDIT.replace("due_day = 5\n", f"due_day = 5\nstart = {first.isoformat()}\n", 1),
    )
    folder = config.drop_dir / "audit_doc" / "月度安全审计报告"
    folder.mkdir(parents=True)
    report = folder / f"{period.replace('-', '年', 1)}月安全审计报告.pdf"
    report.write_bytes(b"%PDF-1.4\n% not read by ops-watch\n")
    stray = config.drop_dir / "audit_doc" / "其他" / "会议纪要.docx"
    stray.parent.mkdir()
    stray.write_bytes(b"PK\x03\x04 not a material")
    # A copy that keeps the sender's modification time: it must not set the arrival back.
    sent = datetime(2020, 1, 2, 8, 0, tzinfo=UTC).timestamp()
    for path in (report, stray):
        os.utime(path, (sent, sent))
    arrived = datetime.fromtimestamp(report.stat().st_ctime, tz=UTC)
    digest = file_sha256(report)

    # The deadline passed before the file came: missing until then.
    limit = deadline(
        audit_terms(load_rules(config.rules_dir).contract).materials[0], period_for("monthly", first), ZONE
    )
    evaluate(store, config, limit + timedelta(hours=1))
    assert ("audit_missing", f"月度安全审计报告 {period}") in active(store)

    results = {r.path.name: r for r in ingest_drop_folder(store, config)}
    ok = results[report.name]
    assert ok.status == "accepted" and ok.stored_path is not None and "processed" in ok.stored_path.parts
    refused = results["会议纪要.docx"]
    assert (
        refused.status == "rejected"
        and refused.stored_path is not None
        and "rejected" in refused.stored_path.parts
    )
    assert (
        "月度安全审计报告（security_audit_monthly）" in refused.reason and "drop/audit_doc/" in refused.reason
    )
    assert "其他" in refused.reason

    with store.session() as s:
        (row,) = s.scalars(select(AuditSubmission)).all()
        assert (row.item, row.period, row.source, row.document, row.sha256) == (
            "security_audit_monthly",
            period,
            "drop",
            report.name,
            digest,
        )
        assert row.submitted_at == arrived and row.submitted_at > datetime(2021, 1, 1, tzinfo=UTC)

    result = evaluate(store, config, arrived + timedelta(minutes=1))
    found = active(store)
    assert ("audit_missing", f"月度安全审计报告 {period}") not in found and result.resolved
    late = found[("audit_late", f"月度安全审计报告 {period}")]
    assert late.evidence["source"] == "drop" and late.evidence["document"] == report.name

    # The same material, period and name dropped again (new bytes): the first arrival stays.
    again = config.drop_dir / "audit_doc" / "security_audit_monthly" / report.name
    again.parent.mkdir()
    again.write_bytes(b"%PDF-1.4\n% revised\n")
    os.utime(again, (sent, sent))
    (second,) = ingest_drop_folder(store, config)
    assert second.status == "accepted" and second.rows_duplicate == 1
    with store.session() as s:
        (row,) = s.scalars(select(AuditSubmission)).all()
        assert row.submitted_at == arrived and row.sha256 == digest


def test_bad_register_rows_are_named_by_row_and_column(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path, DEMO_CONTRACT)
    path = write_register(
        tmp_path / "in" / "登记.csv",
        "月度安全审计报告,2026-10,2026-11-04 16:30,王工,a.pdf",
        "安全评估报告,2026-10,2026-11-04 16:30,王工,b.pdf",
        "运维月报,2026-13,2026-11-04 16:30,李工,c.pdf",
        "运维月报,2026-10,下周一,李工,d.pdf",
        "漏扫报告,2026-10,2026-11-04 16:30,赵工,e.pdf",
    )
    result = ingest_file(store, config, "audit", path)
    assert (result.status, result.rows_ok, result.rows_bad) == ("partial", 1, 4)
    by_row = {(e.row, e.column): e for e in result.errors}
    assert set(by_row) == {(3, "材料"), (4, "期间"), (5, "报送时间"), (6, "期间")}
    assert by_row[(3, "材料")].value == "安全评估报告"
    assert "月度安全审计报告（security_audit_monthly）" in by_row[(3, "材料")].reason
    assert "不是期间" in by_row[(4, "期间")].reason and "不是时间" in by_row[(5, "报送时间")].reason
    assert "季度" in by_row[(6, "期间")].reason and by_row[(6, "期间")].value == "2026-10"
    assert result.report_path is not None and result.report_path.exists()


def test_without_materials_nothing_is_judged_and_the_register_is_refused(
    store: Store, tmp_path: Path
) -> None:
    config = make_config(tmp_path, "[contract]\nstart = 2026-01-01\n")
    result = ingest_file(store, config, "audit", REGISTER)
    assert result.status == "rejected" and result.rows_bad == 22
    assert "合同未列出审计材料" in result.errors[0].reason
    assert evaluate(store, config, AS_OF).opened == [] and active(store) == {}
    contract = load_rules(config.rules_dir).contract
    with store.session() as s:
        value = INDICATORS["audit_timeliness_rate"].fn(
            IndicatorInputs(s, contract, ZONE, local("2026-01-01 00:00"), AS_OF, "en")
        )
    assert value.value is None and "lists no audit materials" in value.missing


def test_an_old_finding_outside_the_look_back_is_left_as_it_is(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path, DEMO_CONTRACT)
    evaluate(store, config, local("2026-02-06 09:00"))
    assert ("audit_missing", "月度安全审计报告 2026-01") in active(store)
    # Over a year later January 2026's deadline is out of the 400-day window, but the report was never handed
    # in: the finding is not resolved because the window moved on.
    result = evaluate(store, config, local("2027-06-01 09:00"))
    assert result.resolved == [] and ("audit_missing", "月度安全审计报告 2026-01") in active(store)


def test_repo_rules_load_with_the_audit_rules() -> None:
    rules = load_rules(REPO / "rules")
    assert rules.get("audit-missing").check.name == "audit_missing"
    assert rules.get("audit-late").severity == "info"
    assert rules.get("audit-time-unrecorded").params.lookback_days == 400


def test_audit_status_command(config_file: Any, tmp_path: Path, store_url: str) -> None:
    config = config_file(f'[store]\nurl = "{store_url}"\n')
    contract = tmp_path / "rules" / "contract.toml"
    text = contract.read_text(encoding="utf-8")
    if "\n[audit]" not in text:  # the repository's contract may already carry the demo's materials
        contract.write_text(text + DEMO_AUDIT, encoding="utf-8")

    def cli(*args: str) -> Any:
        return CliRunner().invoke(main, ["--config", str(config), *args])

    assert cli("ingest", "audit", str(REGISTER)).exit_code == 0
    table = cli("audit", "status", "--at", "2026-11-16 09:00")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    line = next(x for x in lines if x.split()[:2] == ["季度漏洞扫描报告", "2026-Q3"])
    assert "迟交" in line and "3 天 15 小时" in line and "2026-10-14 15:30" in line and "赵工" in line
    line = next(x for x in lines if x.split()[:2] == ["月度安全审计报告", "2026-10"])
    assert "未报送" in line and "2026-11-05" in line
    assert any(x.split()[:2] == ["月度安全审计报告", "2026-08"] and "未记录时间" in x for x in lines)
    assert any(x.split()[:2] == ["运维月报", "2026-03"] and "2026-04-03（仅日期）" in x for x in lines)
    assert lines[-1].startswith("报送及时率：86.96%（按期 20 / 应报送 23")

    data = json.loads(cli("audit", "status", "--at", "2026-11-16 09:00", "--format", "json").stdout)
    assert data["rate"] | {"value": None} == {
        "value": None,
        "due": 23,
        "on_time": 20,
        "late": 1,
        "missing": 1,
        "unrecorded": 1,
        "date_only": 1,
    }
    assert data["rate"]["value"] == "86.96" and len(data["rows"]) == 23
    q3 = next(r for r in data["rows"] if r["period"] == "2026-Q3")
    assert (q3["status"], q3["late_seconds"], q3["deadline"]) == (
        "late",
        3 * 86400 + 15 * 3600 + 30 * 60,
        "2026-10-11T00:00:00+08:00",
    )

    csv_run = cli("audit", "status", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(csv_run.stdout.lstrip("\ufeff"))))
    assert [(r["material"], r["period"], r["status"]) for r in rows if r["status"] != "未到期"] == [
        ("月度安全审计报告", "2026-09", "按期"),
        ("运维月报", "2026-09", "按期"),
        ("季度漏洞扫描报告", "2026-Q3", "迟交"),
    ]
    assert "报送及时率：66.67%" in csv_run.stderr

    # A document dropped by hand: its folder names the material, its name the period; its arrival is now.
    copy = tmp_path / "月度安全审计报告" / "2026年11月安全审计报告.pdf"
    copy.parent.mkdir()
    shutil.copy(REPO / "examples" / "audit_doc" / "月度安全审计报告" / copy.name, copy)
    assert cli("ingest", "audit_doc", str(copy)).exit_code == 0
    data = json.loads(cli("audit", "status", "--format", "json").stdout)
    nov = next(
        r for r in data["rows"] if r["material"] == "security_audit_monthly" and r["period"] == "2026-11"
    )
    assert nov["source"] == "drop" and nov["submitted_at"] is not None and nov["document"] == copy.name

    bad = cli("audit", "status", "--from", "2026-13-01")
    assert bad.exit_code == 2 and "--from/--to" in bad.output
    contract.write_text("[contract]\nstart = 2026-01-01\n", encoding="utf-8")
    none = cli("audit", "status")
    assert none.exit_code == 2 and "[audit] lists no materials" in none.output
