"""Rule files: data that chooses checks and gives their params; contract.toml holds the contract's terms.

Layout of the rules directory:
- contract.toml: the contract's terms, one table per section (later areas add sections);
- any other *.toml: `[[rule]]` entries with id, check, severity, title, enabled and `[rule.params]`.
Every problem is reported at load with file, rule id and key; nothing in a rule file can run code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ops_watch.config import ConfigError, _key_path, _reason
from ops_watch.findings.registry import CHECKS, SEVERITIES, CheckSpec, Params, load_all

M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContractMeta(_Strict):
    name: str = ""
    number: str = ""
    client: str = ""
    contractor: str = ""
    start: date | None = None
    end: date | None = None


# Sections of contract.toml: name -> model. Each later area registers its own section here.
CONTRACT_SECTIONS: dict[str, type[BaseModel]] = {"contract": ContractMeta}


class RuleEntry(_Strict):
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

    @property
    def enabled(self) -> list[Rule]:
        return [r for r in self.rules if r.enabled]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def section_of(contract: Mapping[str, Any], name: str, model: type[M]) -> M:
    """The contract's section `name` as `model`: as loaded, built from a plain mapping (a contract written by
    hand in tests and tools), or the model's defaults when the contract has no such section."""
    section = contract.get(name)
    if isinstance(section, model):
        return section
    if isinstance(section, Mapping):
        return model.model_validate(dict(section))
    return model()


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.append(f"{path.name}: not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path.name}: not valid TOML: {exc}")
    except OSError as exc:
        problems.append(f"{path.name}: cannot read: {exc.strerror}")
    return None


def _errors(prefix: str, exc: ValidationError) -> list[str]:
    return [f"{prefix}{_key_path(e['loc']) or '(top level)'}: {_reason(e)}" for e in exc.errors()]


def parse_contract(data: dict[str, Any], file: str, problems: list[str]) -> dict[str, Any]:
    contract: dict[str, Any] = {}
    for section, body in data.items():
        model = CONTRACT_SECTIONS.get(section)
        if model is None:
            known = ", ".join(sorted(CONTRACT_SECTIONS))
            problems.append(f"{file}: {section}: unknown contract section (known: {known})")
            continue
        try:
            contract[section] = model.model_validate(body)
        except ValidationError as exc:
            problems.extend(_errors(f"{file}: {section}.", exc))
    for section, model in CONTRACT_SECTIONS.items():
        if section not in contract:
            try:
                contract[section] = model()
            except ValidationError:
                problems.append(f"{file}: {section}: this section is required")
    return contract


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
            problems.extend(_errors(prefix, exc))
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
            problems.extend(_errors(f"{prefix}params.", exc))
            continue
        rules.append(Rule(entry.id, spec, entry.severity, entry.title, entry.enabled, params, file))
    return rules


def load_rules(rules_dir: Path) -> RuleSet:
    """Read contract.toml and every other *.toml; raise ConfigError listing every problem."""
    load_all()
    problems: list[str] = []
    if not rules_dir.is_dir():
        raise ConfigError([f"{rules_dir}: the rules directory does not exist (paths.rules_dir)"])
    contract_path = rules_dir / "contract.toml"
    contract_data = _read_toml(contract_path, problems) if contract_path.exists() else {}
    ruleset = RuleSet(contract=parse_contract(contract_data or {}, "contract.toml", problems))
    # Sections with paths (e.g. [archive] dir) take relative ones from the rules directory.
    for name, section in list(ruleset.contract.items()):
        if hasattr(section, "with_base"):
            ruleset.contract[name] = section.with_base(rules_dir)
    seen: dict[str, str] = {}
    for path in sorted(rules_dir.glob("*.toml")):
        if path.name == "contract.toml":
            continue
        ruleset.files.append(path.name)
        data = _read_toml(path, problems)
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


__all__ = [
    "CONTRACT_SECTIONS",
    "section_of",
    "SEVERITIES",
    "Rule",
    "RuleSet",
    "load_rules",
    "parse_rules",
    "parse_contract",
]
