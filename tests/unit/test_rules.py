"""Rule files: validated against the check registry, every problem with file, rule id and key."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from ops_watch import plugins  # noqa: E402
from ops_watch.config import ConfigError
from ops_watch.findings.registry import CHECKS
from ops_watch.findings.rules import load_rules, parse_rules

REPO = Path(__file__).resolve().parents[2]


def test_the_repository_rules_load():
    rules = load_rules(REPO / "rules")
    assert {r.check.name for r in rules.rules} >= {"evidence_freshness", "evidence_refused"}
    assert rules.contract["contract"].client == "市大数据中心"


@pytest.mark.parametrize("name", sorted(plugins.load() or CHECKS))
def test_every_check_documents_an_example_rule_that_loads(name):
    spec = CHECKS[name]
    problems: list[str] = []
    rules = parse_rules(tomllib.loads(spec.example), "example.toml", problems)
    assert problems == []
    assert [r.check.name for r in rules] == [name]


def _rules_dir(tmp_path: Path, text: str, contract: str = "") -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "contract.toml").write_text(contract, encoding="utf-8")
    (d / "mine.toml").write_text(text, encoding="utf-8")
    return d


def test_every_problem_names_file_rule_and_key(tmp_path):
    text = """
[[rule]]
id = "a"
check = "no_such_check"
severity = "warning"

[[rule]]
id = "b"
check = "evidence_freshness"
severity = "urgent"
[rule.params]
kind = "inventory"
max_age = "24h"

[[rule]]
id = "c"
check = "evidence_freshness"
severity = "info"
[rule.params]
kind = "door_events_of_mars"
max_age = "soon"
colour = "red"

[[rule]]
id = "d"
check = "evidence_freshness"
severity = "info"
[rule.params]
max_age = "1h"
"""
    with pytest.raises(ConfigError) as err:
        load_rules(_rules_dir(tmp_path, text))
    problems = err.value.problems
    joined = "\n".join(problems)
    assert "mine.toml: rule a: check: unknown check 'no_such_check' (known: " in joined
    assert "mine.toml: rule b: severity: input should be 'info', 'warning' or 'critical'" in joined
    assert "mine.toml: rule c: params.kind: unknown evidence kind 'door_events_of_mars'" in joined
    assert "mine.toml: rule c: params.max_age: 'soon' is not a duration" in joined
    assert "mine.toml: rule c: params.colour: unknown setting" in joined
    assert "mine.toml: rule d: params.kind: field required" in joined
    assert len(problems) == 6


def test_duplicate_ids_unknown_tables_and_contract_sections(tmp_path):
    text = """
[[rule]]
id = "x"
check = "evidence_refused"
severity = "info"

[[rule]]
id = "x"
check = "evidence_refused"
severity = "info"

[other]
a = 1
"""
    with pytest.raises(ConfigError) as err:
        load_rules(_rules_dir(tmp_path, text, contract='[shifts]\nday = 1\n[contract]\nstart = "soon"\n'))
    joined = "\n".join(err.value.problems)
    assert "mine.toml: rule x: id: already used in mine.toml" in joined
    assert "mine.toml: other: unknown table" in joined
    assert "contract.toml: shifts: unknown contract section" in joined
    assert "contract.toml: contract.start: input should be a valid date" in joined


def test_rules_cannot_smuggle_code(tmp_path):
    """A rule file is data: a param that looks like code is just a bad value."""
    text = '[[rule]]\nid = "e"\ncheck = "evidence_freshness"\nseverity = "info"\n[rule.params]\nkind = "__import__(\'os\')"\nmax_age = "1h"\n'
    with pytest.raises(ConfigError, match="unknown evidence kind"):
        load_rules(_rules_dir(tmp_path, text))


def test_missing_rules_directory_is_named(tmp_path):
    with pytest.raises(ConfigError, match="rules directory does not exist"):
        load_rules(tmp_path / "nowhere")


def test_disabled_rules_are_loaded_but_not_enabled(tmp_path):
    d = tmp_path / "r"
    shutil.copytree(REPO / "rules", d)
    (d / "evidence.toml").write_text(
        (d / "evidence.toml")
        .read_text(encoding="utf-8")
        .replace('id = "staff-fresh"', 'id = "staff-fresh"\nenabled = false'),
        encoding="utf-8",
    )
    rules = load_rules(d)
    assert rules.get("staff-fresh") is not None
    assert "staff-fresh" not in {r.id for r in rules.enabled}


def test_the_staffing_section_is_known_to_load_rules(tmp_path):
    """Contract sections register themselves when the checks load: no import by hand is needed."""
    d = tmp_path / "r"
    shutil.copytree(REPO / "rules", d)
    text = (d / "contract.toml").read_text(encoding="utf-8")
    (d / "contract.toml").write_text(
        text[: text.index("\n[staffing]\n")]
        + '\n[staffing]\nonsite_doors = ["机房A门"]\n\n[[staffing.shifts]]\nname = "白班"\n'
        'start = "08:00"\nend = "20:00"\ndays = "all"\nmin_headcount = 2\n',
        encoding="utf-8",
    )
    assert [s.name for s in load_rules(d).contract["staffing"].shifts] == ["白班"]
