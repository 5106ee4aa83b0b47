"""The resources area's step before judging: new utilization samples rolled up into hours, so that no check
ever takes samples stored but not yet rolled up for missing ones (live, `check --at`, and each replayed day)."""

from __future__ import annotations

from ops_watch.areas.resources.utilization import rollup
from ops_watch.findings.registry import BEFORE_JUDGING

BEFORE_JUDGING.add("utilization_rollup", rollup)
