"""Rule files: data that chooses checks and gives their params; contract.toml holds the contract's terms.

Layout of the rules directory:
- contract.toml: the contract's terms, one table per section (later areas add sections);
- any other *.toml: `[[rule]]` entries with id, check, severity, title, enabled and `[rule.params]`.
Every problem is reported at load with file, rule id and key; nothing in a rule file can run code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from ops_watch.core.contract import read_contract, read_toml, validation_problems
from ops_watch.core.errors import ConfigError
from ops_watch.core.models import Strict
from ops_watch.findings.registry import CHECKS, CheckSpec, Params


class RuleEntry(Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    check: str
    severity: Literal["info", "warning", "critical"]
    title: str = ""
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: str
    check: CheckSpec
    severity: str
    title: str
    enabled: bool
    params: Params
    file: str


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    contract: dict[str, Any] = field(default_factory=dict)  # section name -> validated model
    files: list[str] = field(default_factory=list)
    # The sections contract.toml itself has; None (a rule set built by hand): every section of `contract`.
    written: frozenset[str] | None = None

    @property
    def enabled(self) -> list[Rule]:
        """The rules that run: enabled in their file, and judging terms the contract has."""
        return [r for r in self.rules if r.enabled and self.off_reason(r) is None]

    def off_reason(self, rule: Rule) -> str | None:
        """Why an enabled rule does not run (its terms are not in the contract), or None."""
        terms = rule.check.terms
        if terms is None:
            return None
        written = self.written if self.written is not None else frozenset(self.contract)
        if terms in written:
            return None
        return f"contract.toml has no [{terms}] section: the contract does not have these terms"

    def terms_off(self) -> dict[str, list[str]]:
        """Contract sections some rule would judge but the contract does not have -> those rules' ids."""
        off: dict[str, list[str]] = {}
        for rule in self.rules:
            if rule.enabled and rule.check.terms and self.off_reason(rule):
                off.setdefault(rule.check.terms, []).append(rule.id)
        return off

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def parse_rules(data: dict[str, Any], file: str, problems: list[str]) -> list[Rule]:
    extra = sorted(set(data) - {"rule"})
    for key in extra:
        problems.append(f"{file}: {key}: unknown table (a rule file holds [[rule]] entries only)")
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        problems.append(f"{file}: rule: write each rule as a [[rule]] table")
        return []
    rules: list[Rule] = []
    for index, raw in enumerate(entries):
        label = (
            raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"rule[{index}]"
        )
        prefix = f"{file}: rule {label}: "
        try:
            entry = RuleEntry.model_validate(raw)
        except ValidationError as exc:
            problems.extend(validation_problems(prefix, exc))
            continue
        spec = CHECKS.get(entry.check)
        if spec is None:
            problems.append(
                f"{prefix}check: unknown check {entry.check!r} (known: {', '.join(sorted(CHECKS))})"
            )
            continue
        try:
            params = spec.params.model_validate(entry.params)
        except ValidationError as exc:
            problems.extend(validation_problems(f"{prefix}params.", exc))
            continue
        rules.append(Rule(entry.id, spec, entry.severity, entry.title, entry.enabled, params, file))
    return rules


def load_rules(rules_dir: Path) -> RuleSet:
    """Read contract.toml and every other *.toml; raise ConfigError listing every problem."""
    problems: list[str] = []
    if not rules_dir.is_dir():
        raise ConfigError([f"{rules_dir}: the rules directory does not exist (paths.rules_dir)"])
    written: set[str] = set()
    ruleset = RuleSet(contract=read_contract(rules_dir, problems, written))
    ruleset.written = frozenset(written)
    seen: dict[str, str] = {}
    for path in sorted(rules_dir.glob("*.toml")):
        if path.name == "contract.toml":
            continue
        ruleset.files.append(path.name)
        data = read_toml(path, problems)
        if data is None:
            continue
        for rule in parse_rules(data, path.name, problems):
            if rule.id in seen:
                problems.append(f"{path.name}: rule {rule.id}: id: already used in {seen[rule.id]}")
                continue
            seen[rule.id] = path.name
            ruleset.rules.append(rule)
    if problems:
        raise ConfigError(problems)
    return ruleset


__all__ = ["Rule", "RuleSet", "load_rules", "parse_rules"]
