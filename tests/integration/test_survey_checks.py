"""Survey coverage (R8) on a real store (SQLite and PostgreSQL, `store`): answers ingested from a file with
their row errors, survey_coverage_low through the engine (judged from judge_from, one stable finding per round,
resolved when late answers arrive), the satisfaction indicator in the contractor score, the demo's answers in
examples/survey, and `ops-watch survey coverage` in table, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from ops_watch import plugins  # noqa: E402
from ops_watch.areas.money.score.model import contractor_score
from ops_watch.cli import main
from ops_watch.config import Config
from ops_watch.core.contract import parse_contract
from ops_watch.findings import engine
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.ingest import ingest_file
from ops_watch.store import Store
from ops_watch.store.schema import Finding, InventoryResource, SurveyResponse

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
UNITS = ("刑侦支队", "交警支队", "治安支队", "网安支队", "指挥中心")
plugins.load()

RULES = tomllib.loads((REPO / "rules" / "survey.toml").read_text(encoding="utf-8"))
HEADER = "单位,填表人,填写日期,得分,意见\n"


def contract_text(survey: str = "") -> str:
    return f"[contract]\nstart = 2026-01-01\nend = 2027-12-31\n\n[survey]\n{survey}"


def ruleset(survey: str = "") -> RuleSet:
    problems: list[str] = []
    contract = parse_contract(tomllib.loads(contract_text(survey)), "contract.toml", problems)
    rules = parse_rules(RULES, "survey.toml", problems)
    assert problems == [], problems
    return RuleSet(rules=rules, contract=contract)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def active(store: Store) -> dict[str, Finding]:
    with store.session() as s:
        found = s.scalars(select(Finding).where(Finding.status == "open")).all()
        for f in found:
            s.expunge(f)
    return {f.subject: f for f in found}


def inventory(store: Store, units: tuple[str, ...] = UNITS) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as s:
        for unit in units:
            s.add(
                InventoryResource(
                    resource_id=f"VM-{unit}",
                    platform="警务云",
                    tenant_unit=unit,
                    type="vm",
                    allocated_from=date(2024, 1, 1),
                    updated_at=now,
                )
            )
        s.commit()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "contract.toml").write_text(contract_text("scale_max = 5\n"), encoding="utf-8")
    return Config.model_validate(
        {
            "paths": {"state_dir": str(tmp_path / "var"), "rules_dir": str(rules)},
            "ingest": {"drop_dir": str(tmp_path / "drop")},
        }
    )


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8-sig")
    return path


# --- ingest ----------------------------------------------------------------------------------------------


def test_ingest_keeps_good_rows_and_names_each_bad_one(store: Store, config: Config, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "满意度调查.csv",
        "刑侦支队,王伟,2026-11-03,5,\n"  # row 2
        ",李娜,2026-11-03,4,匿名单位\n"  # row 3: no unit
        "刑侦支队,,2026-11-03,4,\n"  # row 4: no respondent
        "交警支队,陈明,2026-11-06,6,\n"  # row 5: above the 5-point scale
        "交警支队,赵六,2026-11-06,满意,\n"  # row 6: not a number
        "交警支队,钱七,2026-11-06,4.5,扩容审批周期偏长\n"  # row 7
        "刑侦支队,王伟,2026-11-03,4,改了主意\n",  # row 8: the same person and day: replaces row 2
    )
    result = ingest_file(store, config, "survey", path)
    assert (result.status, result.rows_total, result.rows_bad) == ("partial", 7, 4)
    assert (result.rows_ok, result.rows_duplicate) == (2, 1)
    errors = {(e.row, e.column): e for e in result.errors}
    assert set(errors) == {(3, "单位"), (4, "填表人"), (5, "得分"), (6, "得分")}
    assert "匿名问卷" in errors[(3, "单位")].reason and "匿名问卷" in errors[(4, "填表人")].reason
    assert errors[(5, "得分")].value == "6" and "高于问卷满分 5" in errors[(5, "得分")].reason
    assert "scale_max = 5" in errors[(5, "得分")].reason
    assert errors[(6, "得分")].value == "满意" and errors[(6, "得分")].reason == "应为数字"
    with store.session() as s:
        stored = {
            (r.unit, r.respondent): (r.day, r.score, r.comments) for r in s.scalars(select(SurveyResponse))
        }
    assert stored == {
        ("刑侦支队", "王伟"): (date(2026, 11, 3), 4.0, "改了主意"),
        ("交警支队", "钱七"): (date(2026, 11, 6), 4.5, "扩容审批周期偏长"),
    }

    # A corrected file later: the same keys are replaced, not doubled.
    again = write(tmp_path, "满意度调查_更正.csv", "刑侦支队,王伟,2026-11-03,5,\n")
    assert ingest_file(store, config, "survey", again).status == "accepted"
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 2
        assert s.scalar(select(SurveyResponse.score).where(SurveyResponse.respondent == "王伟")) == 5.0


def test_a_header_without_the_unit_column_is_refused(store: Store, config: Config, tmp_path: Path) -> None:
    path = tmp_path / "no_unit.csv"
    path.write_text("填表人,日期,得分\n王伟,2026-11-03,5\n", encoding="utf-8")
    result = ingest_file(store, config, "survey", path)
    assert result.status == "rejected" and "unit" in result.reason and "租户单位" in result.reason


# --- the check -------------------------------------------------------------------------------------------


def answers(store: Store, *rows: tuple[str, str, str, float]) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with store.session() as s:
        for unit, person, day, score in rows:
            s.add(
                SurveyResponse(
                    unit=unit, respondent=person, day=date.fromisoformat(day), score=score, updated_at=now
                )
            )
        s.commit()


def test_coverage_low_from_judge_from_then_resolved_by_late_answers(store: Store) -> None:
    inventory(store)
    answers(
        store,
        ("刑侦支队", "王伟", "2026-09-20", 92),
        ("刑侦支队", "李娜", "2026-09-21", 88),
        ("交警支队", "陈明", "2026-09-22", 78),
    )
    rules = ruleset("min_respondents = 6\n")
    # Before judge_from (10-01) the round is still open: nothing.
    result = engine.evaluate(store, rules, local("2026-09-30 18:00"), zone=ZONE)
    assert result.failed_rules == {} and active(store) == {}

    engine.evaluate(store, rules, local("2026-10-01 09:00"), zone=ZONE)
    found = active(store)
    assert list(found) == ["满意度调查 2026"]
    f = found["满意度调查 2026"]
    assert (f.severity, f.area, f.rule_id) == ("warning", "governance", "survey-coverage-low")
    # Dated from the judge day (10-01), not from the round's first day.
    assert f.period_start == local("2026-10-01 00:00") and f.period_end is None
    assert "5 个租户单位中 2 个作答（覆盖率 40.00%" in f.summary
    assert "答卷人 3 名（要求 ≥ 6）" in f.summary
    assert "作答不足 2 人：交警支队（1 人）" in f.summary
    assert "一份问卷不能代表整个单位（局）的满意度" in f.summary
    assert "截至 2026-10-01，本轮至 2026-12-31" in f.summary
    assert sorted(f.evidence["units_missing"]) == sorted(["治安支队", "网安支队", "指挥中心"])
    assert f.evidence["shortfalls"] == ["coverage", "respondents", "thin_units"]
    assert f.evidence["mean"] == "86.00"  # (92 + 88 + 78) / 3

    # The same finding next time; answers dated after the evaluation day are not seen yet.
    answers(
        store,
        ("交警支队", "赵六", "2026-10-20", 80),
        ("治安支队", "孙七", "2026-10-20", 85),
        ("治安支队", "周八", "2026-10-20", 90),
        ("网安支队", "吴九", "2026-10-21", 70),
        ("网安支队", "郑十", "2026-10-21", 75),
    )
    again = engine.evaluate(store, rules, local("2026-10-02 09:00"), zone=ZONE)
    assert again.opened == [] and again.still_open == 1

    # With the late answers: 4 of 5 units (80 %), 8 people, every unit at least 2: resolved.
    done = engine.evaluate(store, rules, local("2026-10-22 09:00"), zone=ZONE)
    assert len(done.resolved) == 1 and active(store) == {}


def test_the_ended_round_is_judged_in_the_next_and_older_findings_left(store: Store) -> None:
    inventory(store)
    answers(store, ("刑侦支队", "王伟", "2026-05-01", 90))
    rules = ruleset('period = "quarter"\nmin_respondents = 1\nmin_respondents_per_unit = 1\n')
    # Q2 is judged from its third month; Q1, ended, had no answer at all.
    engine.evaluate(store, rules, local("2026-06-10 09:00"), zone=ZONE)
    assert sorted(active(store)) == ["满意度调查 2026-Q1", "满意度调查 2026-Q2"]
    assert "5 个租户单位中 0 个作答" in active(store)["满意度调查 2026-Q1"].summary
    # In Q3 before its judge day: Q2 (ended) is still judged, Q3 not yet; Q1 is outside what the check
    # judges now: its finding is left as it is, not resolved.
    result = engine.evaluate(store, rules, local("2026-08-10 09:00"), zone=ZONE)
    assert result.resolved == [] and sorted(active(store)) == ["满意度调查 2026-Q1", "满意度调查 2026-Q2"]
    # A late answer for Q2 (one unit of five is still 20 %): the finding stays.
    engine.evaluate(store, rules, local("2026-10-10 09:00"), zone=ZONE)
    assert sorted(active(store)) == ["满意度调查 2026-Q1", "满意度调查 2026-Q2", "满意度调查 2026-Q3"]


def test_nothing_without_tenant_units_or_before_the_contract(store: Store) -> None:
    rules = ruleset()
    engine.evaluate(store, rules, local("2026-11-16 09:00"), zone=ZONE)
    assert active(store) == {}  # no inventory, no units, no answers: nothing to judge
    answers(store, ("刑侦支队", "王伟", "2026-11-01", 90))
    engine.evaluate(store, rules, local("2026-11-16 09:00"), zone=ZONE)
    f = active(store)["满意度调查 2026"]
    assert "不知道有哪些租户单位" in f.summary and f.evidence["shortfalls"][-1] == "units_unknown"
    # 2025 ended before the contract started: not judged, even in January 2026.
    result = engine.evaluate(store, rules, local("2026-01-10 09:00"), zone=ZONE)
    assert result.failed_rules == {}


def test_the_check_in_english(store: Store) -> None:
    inventory(store, ("刑侦支队", "交警支队"))
    answers(store, ("刑侦支队", "王伟", "2026-11-01", 90))
    rules = ruleset()
    engine.evaluate(store, rules, local("2026-11-16 09:00"), zone=ZONE, language="en")
    f = active(store)["survey 2026"]
    assert f.summary.startswith(
        "survey 2026 (as of 2026-11-16, the round ends 2026-12-31): 1 of 2 tenant units"
    )
    assert "A single questionnaire cannot stand for a whole bureau." in f.summary


# --- the score -------------------------------------------------------------------------------------------


def test_satisfaction_in_the_contractor_score(store: Store) -> None:
    inventory(store)
    answers(store, ("刑侦支队", "王伟", "2026-11-03", 9), ("交警支队", "陈明", "2026-11-06", 8))
    contract = ruleset("scale_max = 10\n").contract
    with store.session() as s:
        result = contractor_score(s, contract, ZONE, local("2026-11-16 09:00"))
    row = next(r for r in result.indicators if r.key == "satisfaction")
    # (90 + 80) / 2 = 85 out of 100; 5 points × 85 / 90 = 4.72
    assert (row.value, row.points, row.result.denominator) == (Decimal("85.00"), Decimal("4.72"), 2)
    assert row.result.evidence[0].startswith("覆盖不足：5 个租户单位中仅 2 个作答（40%")
    assert "（5 个租户单位中 2 个作答）" in row.result.inputs_text


# --- the demo --------------------------------------------------------------------------------------------


def test_demo_answers_show_low_coverage(store: Store, config: Config) -> None:
    (Path(config.rules_dir) / "contract.toml").write_text(contract_text(), encoding="utf-8")
    inv = ingest_file(store, config, "inventory", REPO / "examples" / "inventory" / "inventory-2026-11.csv")
    assert inv.rows_ok == 24
    (path,) = (REPO / "examples" / "survey").glob("*.csv")
    result = ingest_file(store, config, "survey", path)
    assert (result.status, result.rows_ok, result.rows_bad) == ("accepted", 5, 0)
    engine.evaluate(store, ruleset(), local("2026-11-16 09:00"), zone=ZONE)
    f = active(store)["满意度调查 2026"]
    assert "5 个租户单位中 2 个作答（覆盖率 40.00%" in f.summary and "答卷人 4 名" in f.summary
    assert "作答不足 2 人：交警支队（1 人）" in f.summary and "市局办公室" in f.summary
    assert f.evidence["mean"] == "88.25"  # (92 + 88 + 95 + 78) / 4; 市局办公室's 96 not counted


# --- the command -----------------------------------------------------------------------------------------


def test_survey_coverage_command(config_file: Any, tmp_path: Path, store_url: str) -> None:
    cfg = config_file(f'[store]\nurl = "{store_url}"\n')
    (tmp_path / "rules" / "contract.toml").write_text(
        contract_text('scale_max = 5\nunit_aliases = { "刑侦" = "刑侦支队" }\n'), encoding="utf-8"
    )
    shutil.copy(REPO / "examples" / "inventory" / "inventory-2026-11.csv", tmp_path / "inventory.csv")
    answers_file = write(
        tmp_path,
        "answers.csv",
        "刑侦支队,王伟,2026-11-03,5,\n刑侦,李娜,2026-11-03,4,\n交警支队,陈明,2026-11-06,3,\n"
        "市局办公室,刘洋,2026-11-10,5,\n刑侦支队,张强,2027-01-05,1,\n",
    )

    def cli(*args: str) -> Any:
        return CliRunner().invoke(main, ["--config", str(cfg), *args], catch_exceptions=False)

    assert cli("ingest", "inventory", str(tmp_path / "inventory.csv")).exit_code == 0
    assert cli("ingest", "survey", str(answers_file)).exit_code == 0

    def coverage(*args: str) -> Any:
        return cli("survey", "coverage", "--at", "2026-11-16", *args)

    table = coverage()
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["单位", "答卷数", "作答人数", "平均分", "备注"]
    row = next(x for x in lines if x.startswith("刑侦支队"))
    assert row.split()[1:4] == ["2", "2", "90.00"] and "写作：刑侦" in row  # (100 + 80) / 2
    assert next(x for x in lines if x.startswith("交警支队")).split()[1:4] == ["1", "1", "60.00"]
    for unit in ("治安支队", "网安支队", "指挥中心"):
        assert next(x for x in lines if x.startswith(unit)).split()[1:4] == ["0", "0", "未作答"]
    assert "非租户单位" in next(x for x in lines if x.startswith("市局办公室"))
    assert next(x for x in lines if x.startswith("合计")).split()[1:] == ["3", "3", "80.00"]
    assert lines[-1].startswith("2026（2026-01-01～2026-11-16）：5 个租户单位中 2 个作答（覆盖率 40%")
    assert "租户单位取自资源清单" in lines[-1]

    data = json.loads(coverage("--format", "json", "--period", "2026").output)
    assert (data["period"], data["coverage_pct"], data["respondents"], data["mean"]) == (
        "2026",
        "40.00",
        3,
        "80.00",
    )
    assert sorted(data["units_missing"]) == sorted(["治安支队", "网安支队", "指挥中心"])
    assert data["not_tenant_units"][0]["unit"] == "市局办公室" and data["thin_units"] == ["交警支队"]

    rows = list(csv.DictReader(io.StringIO(coverage("--format", "csv").output.lstrip("\ufeff"))))
    assert len(rows) == 7 and rows[-1]["unit"] == "合计（租户单位）" and rows[-1]["respondents"] == "3"

    # A range, and a later as-of day that sees the 2027 answer.
    ranged = json.loads(
        cli(
            "survey",
            "coverage",
            "--from",
            "2026-11-04",
            "--to",
            "2027-01-31",
            "--at",
            "2027-02-01",
            "--format",
            "json",
        ).output
    )
    assert ranged["respondents"] == 2 and ranged["period"] == ""  # 陈明 and 张强

    bad = coverage("--period", "2026-13")
    assert bad.exit_code == 2 and "not a survey round" in bad.output
    both = coverage("--period", "2026", "--from", "2026-01-01", "--to", "2026-02-01")
    assert both.exit_code == 2 and "not both" in both.output
    future = coverage("--period", "2027")
    assert future.exit_code == 2 and "after the as-of day" in future.output
