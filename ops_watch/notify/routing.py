"""Routes: which receivers hear about a finding, and how its group is formed (after Prometheus Alertmanager).

The config's route tree is compiled once: every node gets its inherited settings. A finding walks the tree
from the top: at each node, the children are tried in order; a matching child takes the finding (and its own
children are tried in turn), and the walk stops there unless that child says `continue`. A node none of whose
children took the finding for good (none matched, or each one that matched said `continue`) takes it itself.
So the top route is the default that catches the rest, and "critical to the duty chat at once, `continue`"
sends a critical finding to the chat and to the default receiver as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ops_watch.config import NotifyConfig, Route

LABELS = ("area", "severity", "rule", "check", "subject")


@dataclass(frozen=True)
class RouteNode:
    path: str  # "0" for the top route, "0.1" for its second child, …
    receiver: str
    match: dict[str, tuple[str, ...]]
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta  # 0: never re-send
    send_resolved: bool
    continue_: bool
    children: tuple[RouteNode, ...]

    def matches(self, labels: dict[str, str]) -> bool:
        return all(not values or labels.get(name) in values for name, values in self.match.items())


def compile_routes(cfg: NotifyConfig) -> RouteNode:
    def build(route: Route, parent: RouteNode | None, path: str) -> RouteNode:
        def pick(value: Any, inherited: Any) -> Any:
            return inherited if value is None else value

        node = RouteNode(
            path=path,
            receiver=route.receiver or (parent.receiver if parent else "default"),
            match={
                "severity": tuple(route.match.severity),
                "area": tuple(route.match.area),
                "rule": tuple(route.match.rule),
                "check": tuple(route.match.check),
            },
            group_by=tuple(pick(route.group_by, parent.group_by if parent else ("area", "severity"))),
            group_wait=pick(route.group_wait, parent.group_wait if parent else timedelta(seconds=30)),
            group_interval=pick(
                route.group_interval, parent.group_interval if parent else timedelta(minutes=5)
            ),
            repeat_interval=pick(
                route.repeat_interval, parent.repeat_interval if parent else timedelta(hours=24)
            ),
            send_resolved=pick(route.send_resolved, parent.send_resolved if parent else True),
            continue_=route.continue_,
            children=(),
        )
        children = tuple(build(child, node, f"{path}.{i}") for i, child in enumerate(route.routes))
        return RouteNode(**{**node.__dict__, "children": children})

    return build(cfg.route, None, "0")


def finding_labels(finding: Any) -> dict[str, str]:
    return {
        "area": finding.area or "",
        "severity": finding.severity,
        "rule": finding.rule_id,
        "check": finding.check,
        "subject": finding.subject,
    }


def routes_for(root: RouteNode, labels: dict[str, str]) -> list[RouteNode]:
    """The routes that take a finding with these labels (at least the top route)."""

    def walk(node: RouteNode) -> list[RouteNode]:
        taken: list[RouteNode] = []
        for child in node.children:
            if child.matches(labels):
                taken += walk(child)
                if not child.continue_:
                    return taken  # taken for good: the walk stops here
        # No child took it for good (none matched, or each match said `continue`): this node takes it too.
        return [*taken, node]

    return walk(root)


def group_key(node: RouteNode, labels: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The group a finding joins on a route: its values of the route's group_by labels."""
    chosen = {name: labels.get(name, "") for name in node.group_by}
    return json.dumps(chosen, ensure_ascii=False, sort_keys=True)[:700], chosen


__all__ = ["LABELS", "RouteNode", "compile_routes", "finding_labels", "group_key", "routes_for"]
