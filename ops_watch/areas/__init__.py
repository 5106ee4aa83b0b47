"""The contract areas, one package each: its contract terms, model, evidence kinds, checks, score indicators,
report section and commands live together, so one feature lives in one folder.

This module is the one explicit list of the areas and of the modules in each that register plug-ins (contract
sections, evidence kinds, checks, indicators, report sections, commands). `load()` imports them; the
application calls it once (ops_watch.plugins.load, from the CLI and the daemon), never a registry itself.
Loading is explicit rather than on import of the package: importing one area's terms (the staffing calendar
the inspection plan uses) must not load every area.
"""

from __future__ import annotations

import importlib

# Area -> its plug-in modules, in the order they register (the score lists its indicators in this order:
# staffing, continuity, the findings' own, audit, survey).
AREA_MODULES: dict[str, tuple[str, ...]] = {
    "resources": ("kind_inventory", "kind_utilization", "steps", "checks", "report", "commands"),
    "staffing": (
        "shifts",
        "kind_staff",
        "kind_handover",
        "kind_door",
        "checks",
        "indicators",
        "report",
        "commands",
    ),
    "continuity": (
        "model",
        "kind_backup",
        "kind_drill",
        "kind_drill_plan",
        "checks",
        "indicators",
        "report",
        "commands",
    ),
    "money": (
        "pricing",
        "billing.model",
        "billing.kind",
        "billing.checks",
        "billing.commands",
        "budget.model",
        "budget.kind",
        "budget.kind_explanation",
        "budget.checks",
        "budget.commands",
        "score.model",
        "score.checks",
        "score.commands",
        "report",
    ),
    "governance": (
        "audit.model",
        "audit.kinds",
        "audit.checks",
        "audit.commands",
        "survey.model",
        "survey.kind",
        "survey.checks",
        "survey.commands",
        "inspections.model",
        "inspections.kind",
        "inspections.checks",
        "inspections.commands",
        "archive.model",
        "archive.checks",
        "archive.commands",
        "contract_text.model",
        "contract_text.kind",
        "contract_text.checks",
        "contract_text.commands",
        "report",
    ),
    "evidence": ("checks", "collection", "report"),
}


def load() -> tuple[str, ...]:
    """Import every area's plug-in modules (each registers itself on import); return the areas' names."""
    for area, modules in AREA_MODULES.items():
        for module in modules:
            importlib.import_module(f"{__name__}.{area}.{module}")
    return tuple(AREA_MODULES)


__all__ = ["AREA_MODULES", "load"]
