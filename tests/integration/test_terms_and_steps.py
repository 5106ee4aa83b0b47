"""Terms the contract never wrote are not judged; the steps before judging run on every evaluation path."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import func, select

from ops_watch import plugins
from ops_watch.cli import main
from ops_watch.findings import engine
from ops_watch.findings.registry import BEFORE_JUDGING, CHECKS, CheckContext, FindingDraft, Params, check
from ops_watch.findings.rules import Rule, load_rules
from ops_watch.store.schema import Finding, FindingEvent, UtilizationHourly, UtilizationSample

plugins.load()
ROOT = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def _rules_dir(tmp_path: Path, drop: tuple[str, ...]) -> Path:
    """The project's rules with the contract's sections in `drop` removed."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    kept, skipping = [], False
    for line in (rules / "contract.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            head = line.strip("[] ").split(".")[0].strip('"')
            skipping = head in drop
        if not skipping:
            kept.append(line)
    (rules / "contract.toml").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return rules


def test_a_section_the_contract_lacks_turns_its_rules_off(tmp_path: Path) -> None:
    full = load_rules(ROOT / "rules")
    assert {"survey", "score"} <= full.written
    survey_rules = [r.id for r in full.rules if r.check.terms == "survey" and r.enabled]
    assert survey_rules and all(r in full.enabled for r in full.rules if r.id in survey_rules)

    cut = load_rules(_rules_dir(tmp_path, ("survey", "score")))
    assert "survey" not in cut.written and "score" not in cut.written
    # The model's defaults still exist for code that reads the section; no rule judges them.
    assert "survey" in cut.contract
    off = cut.terms_off()
    assert set(off) == {"survey", "score"}
    assert sorted(off["survey"]) == sorted(survey_rules)
    assert not [r for r in cut.enabled if r.check.terms in ("survey", "score")]
    # Rules judging evidence alone, and terms that are written, still run.
    assert any(r.check.terms is None for r in cut.enabled)
    assert any(r.check.terms == "audit" for r in cut.enabled)


def test_rules_list_and_config_check_say_which_terms_are_off(tmp_path: Path, config_file) -> None:
    rules = _rules_dir(tmp_path, ("survey",))
    cfg = config_file(f'[paths]\nrules_dir = "{rules}"\nstate_dir = "{tmp_path / "var"}"\n')
    runner = CliRunner()
    checked = runner.invoke(main, ["--config", str(cfg), "config", "check"])
    assert checked.exit_code == 0, checked.output
    assert "不评判：contract.toml 没有 [survey] 节" in checked.output
    assert "survey-coverage" in checked.output or "survey" in checked.output.split("rules do not run")[1]
    listed = runner.invoke(main, ["--config", str(cfg), "rules", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output

    rows = {r["id"]: r for r in json.loads(listed.output)}
    survey = [r for r in rows.values() if r["check"] == "survey_coverage_low"]
    assert survey and all("no [survey] section" in r["judged"] for r in survey)
    assert all(r["judged"] == "yes" for r in rows.values() if r["check"] == "audit_late" and r["enabled"])


class _Nothing(Params):
    pass


if "test_survey_term" not in CHECKS:

    @check(
        "test_survey_term",
        params=_Nothing,
        area="governance",
        terms="survey",
        example='[[rule]]\nid = "t"\ncheck = "test_survey_term"\nseverity = "info"\n',
    )
    def _survey_term(ctx: CheckContext, params: _Nothing) -> Iterator[FindingDraft]:
        yield FindingDraft(subject="2026", summary="survey below target")


def test_findings_of_terms_that_left_the_contract_are_resolved_saying_why(tmp_path: Path, store) -> None:
    full = load_rules(ROOT / "rules")
    rule = Rule("survey-term", CHECKS["test_survey_term"], "warning", "", True, _Nothing(), "t.toml")
    full.rules = [rule]
    assert engine.evaluate(store, full, T0, zone=ZONE).opened
    cut = load_rules(_rules_dir(tmp_path, ("survey",)))
    cut.rules = [rule]
    result = engine.evaluate(store, cut, T0 + timedelta(hours=1), zone=ZONE)
    assert len(result.resolved) == 1
    with store.session() as s:
        finding = s.scalars(select(Finding)).one()
        assert finding.status == "resolved"
        reasons = [e.reason for e in s.scalars(select(FindingEvent).where(FindingEvent.action == "resolved"))]
    assert reasons == ["contract.toml has no [survey] section: the contract does not have these terms"]


def test_every_evaluation_rolls_new_samples_up_first(store) -> None:
    """Samples stored but not rolled up are rolled up by the evaluation itself (live, --at or replay)."""
    assert "utilization_rollup" in BEFORE_JUDGING
    with store.session() as s:
        for minute in range(0, 120, 5):
            s.add(
                UtilizationSample(
                    resource_id="vm-steps",
                    at=T0 - timedelta(hours=3) + timedelta(minutes=minute),
                    cpu_pct=3.0,
                    mem_pct=10.0,
                    source="test",
                )
            )
    empty = load_rules(ROOT / "rules")
    empty.rules = []
    result = engine.evaluate(store, empty, T0, zone=ZONE)
    assert result.prepared["utilization_rollup"] >= 2
    assert result.counts()["utilization_rollup"] == result.prepared["utilization_rollup"]
    with store.session() as s:
        hours = s.scalar(select(func.count()).select_from(UtilizationHourly))
    assert hours >= 2


def test_a_failing_step_is_reported_and_the_checks_still_run(store) -> None:
    def broken(session, at):
        raise RuntimeError("roll-up table locked")

    full = load_rules(ROOT / "rules")
    full.rules = [Rule("survey-term", CHECKS["test_survey_term"], "warning", "", True, _Nothing(), "t")]
    with BEFORE_JUDGING.registered("test_broken_step", broken):
        result = engine.evaluate(store, full, T0, zone=ZONE)
    assert result.failed_steps == {"test_broken_step": "RuntimeError: roll-up table locked"}
    assert len(result.opened) == 1
