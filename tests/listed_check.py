"""A check for tests whose findings are whatever the test lists: the subjects it reports this evaluation are a
list the test fills, so a test opens, keeps and resolves findings by editing that list."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator

from sqlalchemy import select

from ops_watch.findings.registry import CheckContext, FindingDraft, Params, check
from ops_watch.findings.rules import RuleSet, parse_rules
from ops_watch.store import Store
from ops_watch.store.schema import Finding


class _P(Params):
    pass


def listed_check(name: str) -> tuple[list[str], Callable[[], RuleSet]]:
    """Register the check `name` (once per test process: the registry refuses a second registration) and
    return (the subjects it reports, a function giving the one rule "idle" on it)."""
    subjects: list[str] = []

    def _listed(ctx: CheckContext, params: _P) -> Iterator[FindingDraft]:
        for s in subjects:
            yield FindingDraft(subject=s, summary=f"{s} is idle")

    check(
        name,
        params=_P,
        area="resources",
        example=f'[[rule]]\nid = "x"\ncheck = "{name}"\nseverity = "warning"\n',
    )(_listed)

    def ruleset() -> RuleSet:
        problems: list[str] = []
        rules = parse_rules(
            tomllib.loads(f'[[rule]]\nid = "idle"\ncheck = "{name}"\nseverity = "warning"\n'),
            "t.toml",
            problems,
        )
        assert problems == []
        return RuleSet(rules=rules)

    return subjects, ruleset


def statuses(store: Store) -> dict[str, str]:
    """Each finding's status by its subject."""
    with store.session() as s:
        return {f.subject: f.status for f in s.scalars(select(Finding))}
