"""Loading every plug-in once: the transports, the vendor formats and the contract areas.

Registries (core.registry.Registry) never import their plug-ins; the application does, here: the CLI app at
start, the tests' conftest, the benchmarks. Loading twice is harmless (Python imports a module once).
"""

from __future__ import annotations

import importlib

from ops_watch import areas
from ops_watch.core.contract import CONTRACT_SECTIONS
from ops_watch.core.registry import Registry
from ops_watch.findings.indicators import INDICATORS
from ops_watch.findings.registry import BEFORE_JUDGING, CHECKS
from ops_watch.formats import KINDS
from ops_watch.formats.vendor import VENDOR_FORMATS
from ops_watch.report.sections import SECTIONS
from ops_watch.sources import SOURCES
from ops_watch.sources.doorpoll import DOOR_POLLERS

# The transports and the vendor exports, each registering itself on import (the areas list their own).
TRANSPORT_MODULES = (
    "ops_watch.sources.local",
    "ops_watch.sources.ssh",
    "ops_watch.sources.prometheus",
    "ops_watch.sources.hikvision",
    "ops_watch.sources.zkbiotime",
)
VENDOR_MODULES = ("ops_watch.formats.hikvision", "ops_watch.formats.zkbiotime", "ops_watch.formats.restic")


def load() -> None:
    """Import every plug-in module so each registers itself."""
    for module in (*VENDOR_MODULES, *TRANSPORT_MODULES):
        importlib.import_module(module)
    areas.load()


def registries() -> dict[str, Registry]:
    """Every plug-in point by name (for `rules list`, the docs and the tests)."""
    return {
        "contract sections": CONTRACT_SECTIONS,
        "evidence kinds": KINDS,
        "vendor formats": VENDOR_FORMATS,
        "sources": SOURCES,
        "door pollers": DOOR_POLLERS,
        "checks": CHECKS,
        "steps before judging": BEFORE_JUDGING,
        "score indicators": INDICATORS,
        "report sections": SECTIONS,
    }


__all__ = ["TRANSPORT_MODULES", "VENDOR_MODULES", "load", "registries"]
