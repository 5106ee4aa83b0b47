"""The contract's terms: contract.toml holds one table per section, each validated by the model its contract
area registered in CONTRACT_SECTIONS. Every area reads its section with `section_of`."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ops_watch.core.errors import ConfigError, key_path, reason
from ops_watch.core.models import Strict
from ops_watch.core.registry import Registry

M = TypeVar("M", bound=BaseModel)


class ContractMeta(Strict):
    name: str = ""
    number: str = ""
    client: str = ""
    contractor: str = ""
    start: date | None = None
    end: date | None = None


# Sections of contract.toml: name -> model. Each contract area registers its own section.
CONTRACT_SECTIONS: Registry[type[BaseModel]] = Registry("contract section")
CONTRACT_SECTIONS.add("contract", ContractMeta)


def section_of(contract: Mapping[str, Any], name: str, model: type[M]) -> M:
    """The contract's section `name` as `model`: as loaded, built from a plain mapping (a contract written by
    hand in tests and tools), or the model's defaults when the contract has no such section."""
    section = contract.get(name)
    if isinstance(section, model):
        return section
    if isinstance(section, Mapping):
        return model.model_validate(dict(section))
    return model()


def read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """A TOML file's tables, or None with the problem appended (naming the file)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.append(f"{path.name}: not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path.name}: not valid TOML: {exc}")
    except OSError as exc:
        problems.append(f"{path.name}: cannot read: {exc.strerror}")
    return None


def validation_problems(prefix: str, exc: ValidationError) -> list[str]:
    return [f"{prefix}{key_path(e['loc']) or '(top level)'}: {reason(e)}" for e in exc.errors()]


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
            problems.extend(validation_problems(f"{file}: {section}.", exc))
    for section, model in CONTRACT_SECTIONS.items():
        if section not in contract:
            try:
                contract[section] = model()
            except ValidationError:
                problems.append(f"{file}: {section}: this section is required")
    return contract


def read_contract(rules_dir: Path, problems: list[str], written: set[str] | None = None) -> dict[str, Any]:
    """The validated sections of rules_dir/contract.toml (defaults where it has none); problems appended.
    Sections with paths (e.g. [archive] dir) take relative ones from the rules directory. `written`, when
    given, receives the names of the sections the file itself has: a term the contract never wrote is not
    judged, whatever defaults its model has."""
    contract_path = rules_dir / "contract.toml"
    contract_data = read_toml(contract_path, problems) if contract_path.exists() else {}
    if written is not None:
        written.update(name for name in contract_data or {} if name in CONTRACT_SECTIONS)
    contract = parse_contract(contract_data or {}, "contract.toml", problems)
    for name, section in list(contract.items()):
        if hasattr(section, "with_base"):
            contract[name] = section.with_base(rules_dir)
    return contract


def load_contract(rules_dir: Path) -> dict[str, Any]:
    """The contract's sections; raise ConfigError listing every problem of contract.toml."""
    problems: list[str] = []
    if not rules_dir.is_dir():
        raise ConfigError([f"{rules_dir}: the rules directory does not exist (paths.rules_dir)"])
    contract = read_contract(rules_dir, problems)
    if problems:
        raise ConfigError(problems)
    return contract


__all__ = [
    "CONTRACT_SECTIONS",
    "ContractMeta",
    "load_contract",
    "parse_contract",
    "read_contract",
    "read_toml",
    "section_of",
    "validation_problems",
]
