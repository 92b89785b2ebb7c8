"""The interface between the broker bridge and the rest of the gateway.

The bridge hands every batch of uplink frames to a :class:`Handler` and
publishes what it returns; it acks the MQTT messages of a batch only after
``handle_batch`` returned, i.e. after the decisions are durable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.core.decide import Inbound

__all__ = ["Handler", "Inbound", "Outbound"]


@dataclass(frozen=True)
class Outbound:
    """Something to publish: a reply on a device's ``down`` topic or a (retained) hall broadcast."""

    topic: str
    payload: bytes
    retain: bool = False
    qos: int = 1


class Handler(Protocol):
    def handle_batch(self, batch: Sequence[Inbound]) -> Sequence[Outbound]:
        """Decide every inbound frame, make the decisions durable, return replies (acks/nacks) and any broadcasts.

        Raises on a storage failure: then nothing in the batch was made durable and nothing may be acked.
        """
        ...

    def presence(self, device_id: str, online: bool, at: float) -> Sequence[Outbound]:
        """A device came online (``01``) or went offline (``00``, its last will) at ``at`` (Unix seconds).

        A handler may also offer ``presences(items)`` taking a list of
        ``(device_id, online, at)``: the bridge then hands it a run of
        presence changes in one call (the gateway stores them in one transaction).
        """
        ...
