"""The `backups` job: read each restic repository's snapshots (placeholder: being written)."""

from __future__ import annotations

from typing import Any

from ops_watch.config import Config
from ops_watch.store import Store


def poll_backups(store: Store, config: Config) -> dict[str, Any]:
    return {"repositories": 0}
