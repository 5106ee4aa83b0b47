"""Loading every plug-in once: the transports, the vendor formats and the contract areas.

Registries (core.registry.Registry) never import their plug-ins; the application does, here: the CLI app at
start, the tests' conftest, the benchmarks. Loading twice is harmless (Python imports a module once).
"""

from __future__ import annotations

from ops_watch import areas
from ops_watch.core.contract import CONTRACT_SECTIONS
from ops_watch.core.registry import Registry
from ops_watch.findings.indicators import INDICATORS
from ops_watch.findings.registry import CHECKS
from ops_watch.formats import KINDS
from ops_watch.formats.vendor import VENDOR_FORMATS
from ops_watch.report.sections import SECTIONS
from ops_watch.sources import SOURCES
from ops_watch.sources.doorpoll import DOOR_POLLERS


def load() -> None:
    """Import every plug-in module so each registers itself."""
    # Imported here, not at the top: a module that only needs a registry's type never pays for every plug-in.
    from ops_watch.formats import hikvision, restic, zkbiotime  # noqa: F401  (vendor exports)
    from ops_watch.sources import hikvision as _hik  # noqa: F401

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
        "score indicators": INDICATORS,
        "report sections": SECTIONS,
    }


__all__ = ["load", "registries"]
