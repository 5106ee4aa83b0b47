"""The weekly report's 管理资料 (paperwork) section, on the paperwork examples as the demo judges them: the audit
timeliness rate, the month's inspections and their plan, survey coverage, the contracts reviewed, the archive.

Each figure is checked against what the example files plant (20 of 23 audit periods on time; November's seeded
plan with 11-04 done, 11-10 missed, 11-23 to come; 2 of 5 tenant units answered; 2025's 资源需求清单 missing),
not against the functions the section calls."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ops_watch.areas.governance.inspections.model import plan_month
from ops_watch.jobs import run_once
from ops_watch.report.model import Week
from ops_watch.report.weekly import build, files_of
from ops_watch.runtime import Runtime, open_runtime

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
SUNDAY = datetime(2026, 11, 15, 22, 0, tzinfo=ZONE)
W46 = Week(2026, 46, ZONE)
KINDS = ("inventory", "audit", "audit_doc", "inspection", "survey", "contract")
DEMO_SEED = "0123456789abcdef"  # scripts/demo.sh: November as drawn on the 1st


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    tmp = tmp_path_factory.mktemp("governance")
    state = tmp / "var"
    config = tmp / "config.toml"
    config.write_text(
        f'[paths]\nstate_dir = "{state}"\nrules_dir = "{REPO / "rules"}"\n'
        f'[ingest]\ndrop_dir = "{state / "drop"}"\n[collect.local]\nenabled = false\n'
        f'[notify.email]\ntransport = "file"\noutbox_dir = "{state / "outbox"}"\n',
        encoding="utf-8",
    )
    produced = datetime(2026, 11, 16, 8, 0, tzinfo=ZONE).timestamp()
    for kind in KINDS:
        shutil.copytree(REPO / "examples" / kind, state / "drop" / kind)
    for p in (state / "drop").rglob("*"):
        os.utime(p, (produced, produced))
    rt = open_runtime(config)
    plan = plan_month(
        rt.store,
        rt.rules.contract,
        ZONE,
        "2026-11",
        "test",
        now=datetime(2026, 11, 1, tzinfo=ZONE),
        count=3,
        seed=DEMO_SEED,
    )
    assert [(r.day.isoformat(), r.area) for r in plan.rows] == [
        ("2026-11-04", "records"),
        ("2026-11-10", "continuity"),
        ("2026-11-23", "site"),
    ]
    run_once(rt, SUNDAY)
    yield rt
    rt.store.dispose()


def _section(rt: Runtime, language: str = "zh"):  # type: ignore[no-untyped-def]
    report = build(rt.store, rt.config, rt.rules.contract, W46, language)
    return report, next(a for a in report.areas if a.key == "governance")


def test_the_figures_are_what_the_examples_plant(site: Runtime) -> None:
    _, area = _section(site)
    figures = {f.key: f for f in area.figures}
    audit = figures["audit_timeliness_rate"]
    # 23 periods fell due in 2026 by W46's end: 20 on time, the Q3 scan late, October's report missing,
    # August's handed in without a time. Shown with two decimals, as the score shows it.
    assert (audit.value, audit.decimals) == (pytest.approx(86.96), 2)
    assert "按期 20/23" in audit.note and "未记录时间 1" in audit.note
    done = figures["inspections_done"]
    # As of Sunday 11-15: 11-04 done, 11-10 missed (its two days of grace ended 11-12); a week earlier only
    # 11-04 was due, and done.
    assert (done.value, done.previous) == (50.0, 100.0)
    assert "待整改问题 1 项" in done.note
    assert figures["survey_coverage"].value == 40.0  # 2 of the inventory's 5 tenant units answered
    assert figures["archive_complete"].value == 87.5  # 7 of 2025's 8 documents (its 资源需求清单 is missing)
    assert area.status == "amber"


def test_the_tables_list_the_plan_the_audit_periods_contracts_and_the_archive(site: Runtime) -> None:
    _, area = _section(site)
    tables = {t.key: t for t in area.tables}
    plan = tables["inspection_plan"]
    assert [(r["day"].isoformat(), r["area"], r["status"]) for r in plan.rows] == [
        ("2026-11-04", "运维记录", "已完成"),
        ("2026-11-10", "备份与演练证据", "未检查"),
        ("2026-11-23", "机房现场", "待检查"),
    ]
    assert "请勿转发" in plan.note  # the inspections are unannounced
    problems = tables["inspection_problems"].rows
    assert [(r["day"].isoformat(), r["rectify_by"].isoformat()) for r in problems] == [
        ("2026-11-04", "2026-11-12")
    ]
    audit = {(r["material"], r["period"]): r["status"] for r in tables["audit"].rows}
    assert audit[("月度安全审计报告", "2026-10")] == "未报送"
    assert audit[("季度漏洞扫描报告", "2026-Q3")] == "迟交"
    assert audit[("月度安全审计报告", "2026-11")] == "未到期"  # the dropped November report, not yet due
    (contract,) = tables["contracts"].rows
    assert (contract["document"], contract["repealed"], contract["missing"]) == ("运维服务合同.docx", 1, 1)
    assert tables["archive_missing"].rows == [
        {"year": "2025", "document": "资源需求清单", "due": datetime(2026, 3, 31).date()}
    ]
    # The findings behind them are the section's.
    checks = {f.check for f in area.still_open}
    assert {"audit_missing", "inspection_missed", "rectification_overdue", "survey_coverage_low"} <= checks
    assert {"contract_repealed_law", "contract_clause_missing", "archive_document_missing"} <= checks


def test_the_section_in_english_and_in_the_files(site: Runtime) -> None:
    report, area = _section(site, "en")
    assert area.title == "Paperwork"
    plan = next(t for t in area.tables if t.key == "inspection_plan")
    assert [r["status"] for r in plan.rows] == ["done", "missed", "to come"]
    files = files_of(report, site.config)
    text = files.files["report.txt"].decode("utf-8")
    assert "audit material on time (year to date)" in text and "86.96%" in text
