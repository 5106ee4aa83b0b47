"""Chat robots and webhooks (placeholder: being written)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ops_watch.config import Receiver
from ops_watch.notify.email import DeliveryError
from ops_watch.store.schema import OutboxMessage


def webhook_transport(channel: str, receiver: Receiver, base: Path) -> Callable[[OutboxMessage], str]:
    def send(msg: OutboxMessage) -> str:
        raise DeliveryError(f"{channel} is not implemented yet")

    return send
