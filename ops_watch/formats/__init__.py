"""The registry of evidence kinds. A new kind is one module declaring `KIND = RecordKind(...)`, listed here."""

from __future__ import annotations

from ops_watch.formats import (
    audit,
    backup,
    budget,
    contract,
    door,
    drill,
    drill_plan,
    explanation,
    handover,
    inspection,
    inventory,
    staff,
    statement,
    survey,
    utilization,
)
from ops_watch.formats.spec import RecordKind


class UnknownKindError(LookupError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"unknown evidence kind {name!r} (known: {', '.join(sorted(KINDS))})")


KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (
        inventory.KIND,
        staff.KIND,
        utilization.KIND,
        door.KIND,
        handover.KIND,
        backup.KIND,
        drill.KIND,
        drill_plan.KIND,
        statement.KIND,
        budget.KIND,
        explanation.KIND,
        audit.KIND,
        audit.DOC_KIND,
        contract.KIND,
        inspection.KIND,
        survey.KIND,
    )
}


def get_kind(name: str) -> RecordKind:
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKindError(name) from None


__all__ = ["KINDS", "RecordKind", "UnknownKindError", "get_kind"]
