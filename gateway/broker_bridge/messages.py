"""What the bridge makes of MQTT messages at the edge: frozen values, and the bridge's counters."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.decide import Inbound

__all__ = ["BridgeStats", "Received"]


@dataclass(frozen=True)
class Received:
    """One MQTT message exactly as it arrived, frozen at the edge.

    ``connection`` numbers the connection it came on: its PUBACK (``mid``)
    is only meaningful on that connection.  ``topic`` is "" if the topic was
    not UTF-8.
    """

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    dup: bool
    received_at: float
    connection: int


@dataclass(frozen=True)
class BridgeStats:
    """Counters for health and metrics (monotonic since ``start()``)."""

    received: int = 0  # messages paho delivered
    handled: int = 0  # messages the handler returned for (uplink frames and presence changes)
    skipped: int = 0  # bad topic or presence payload: logged, acked, not handled
    refused: int = 0  # frames that failed the handler even alone: nacked by the bridge and acked
    dropped: int = 0  # messages of an earlier connection: left to the broker's redelivery
    published: int = 0  # messages handed to paho for publishing
    handler_errors: int = 0  # exceptions from the handler (each failed attempt)
    connects: int = 0  # successful CONNACKs


@dataclass(frozen=True)
class _Presence:
    received: Received
    device_id: str
    online: bool


@dataclass(frozen=True)
class _Uplink:
    received: Received
    inbound: Inbound
