"""The interface between the broker bridge and the rest of the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.core.decide import Inbound

__all__ = ["Handler", "Inbound", "Outbound"]


@dataclass(frozen=True)
class Outbound:
    """Something to publish: a reply on a device's downlink, or a (retained) hall broadcast."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


class Handler(Protocol):
    def handle_batch(self, batch: Sequence[Inbound]) -> Sequence[Outbound]:
        """Decide every inbound frame, make the decisions durable, return replies and broadcasts.

        Raises on a storage failure: then nothing in the batch was made
        durable and nothing may be acked.
        """
        ...

    def presence(self, device_id: str, online: bool, at: float) -> Sequence[Outbound]:
        """A device's presence changed (``01`` online on connect, ``00`` from its last will)."""
        ...
