"""The registry of evidence kinds. A new kind is one module declaring `KIND = RecordKind(...)`, listed here."""

from __future__ import annotations

from ops_watch.areas.continuity import kind_backup as backup
from ops_watch.areas.continuity import kind_drill as drill
from ops_watch.areas.continuity import kind_drill_plan as drill_plan
from ops_watch.areas.governance.audit import kinds as audit
from ops_watch.areas.governance.contract_text import kind as contract
from ops_watch.areas.governance.inspections import kind as inspection
from ops_watch.areas.governance.survey import kind as survey
from ops_watch.areas.money.billing import kind as statement
from ops_watch.areas.money.budget import kind as budget
from ops_watch.areas.money.budget import kind_explanation as explanation
from ops_watch.areas.resources import kind_inventory as inventory
from ops_watch.areas.resources import kind_utilization as utilization
from ops_watch.areas.staffing import kind_door as door
from ops_watch.areas.staffing import kind_handover as handover
from ops_watch.areas.staffing import kind_staff as staff
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
