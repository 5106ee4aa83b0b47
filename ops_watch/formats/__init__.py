"""The registry of evidence kinds. A kind is one module of its contract area declaring `KIND = RecordKind(...)`
and registering it with `KINDS.add`; the application loads the areas (`ops_watch.plugins.load`)."""

from __future__ import annotations

from ops_watch.core.registry import Registry, UnknownName
from ops_watch.formats.spec import RecordKind

KINDS: Registry[RecordKind] = Registry("evidence kind")
UnknownKindError = UnknownName


def get_kind(name: str) -> RecordKind:
    return KINDS.lookup(name)


__all__ = ["KINDS", "RecordKind", "UnknownKindError", "get_kind"]
