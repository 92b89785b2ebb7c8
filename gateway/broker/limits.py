"""The broker's limits for a hall of a given size, computed in one place.

Mosquitto 2.0 applies these globally (to keypads and the gateway alike),
so each value fits both:

``max_packet_size``
    just above the largest packet anyone legitimately sends: a gateway
    control message to the dynamic-security plugin (at most
    :data:`CONTROL_MAX` bytes of JSON, which the control client never
    exceeds) plus topic and MQTT header.  Frames are far smaller
    (:data:`protocol.consts.BROADCAST_MAX`).  A client sending a larger
    packet is disconnected by the broker.
``max_queued_messages``
    per client, the QoS 1 messages the broker keeps while the client is
    offline or its inflight window is full.  While the gateway is briefly
    disconnected every keypad of the hall may send a vote, a status and a
    presence change: :data:`PER_SEAT` x seats, never below Mosquitto's
    default of 1000.
``max_inflight_messages``
    QoS 1 messages sent to a client and not yet acknowledged.  The gateway
    acks a whole batch after its commit, so the window is at least one
    batch (:data:`GATEWAY_BATCH`) and grows with the hall.
``set_tcp_nodelay``
    acks and broadcasts are small and latency-bound: no Nagle delay.

The same numbers serve the performance work (a later benchmark sizes the
hall the same way): call :func:`limits_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import consts

__all__ = [
    "CONTROL_MAX",
    "DEFAULT_SEATS",
    "GATEWAY_BATCH",
    "MAX_SEATS",
    "PACKET_OVERHEAD",
    "PER_SEAT",
    "BrokerLimits",
    "limits_for",
]

DEFAULT_SEATS = 200
"""The hall size ``hallvote init`` and ``hallvote broker config`` assume without ``--seats``."""
MAX_SEATS = 20000
CONTROL_MAX = 32 * 1024
"""Largest JSON payload the gateway's dynamic-security client sends in one message."""
PACKET_OVERHEAD = 512
"""Fixed header, topic and slack above the largest payload."""
PER_SEAT = 4
"""Messages one keypad may leave queued for the gateway: vote, status, presence, one retransmission."""
GATEWAY_BATCH = 256
"""The gateway bridge's largest batch; the inflight window is never smaller."""
MOSQUITTO_DEFAULT_QUEUE = 1000


@dataclass(frozen=True)
class BrokerLimits:
    seats: int
    max_packet_size: int
    max_queued_messages: int
    max_inflight_messages: int
    set_tcp_nodelay: bool = True

    def conf_lines(self) -> list[str]:
        """The lines of ``mosquitto.conf`` (global options)."""
        return [
            f"# Limits for a hall of {self.seats} seats (gateway.broker.limits).",
            f"max_packet_size {self.max_packet_size}",
            f"max_queued_messages {self.max_queued_messages}",
            f"max_inflight_messages {self.max_inflight_messages}",
            f"set_tcp_nodelay {'true' if self.set_tcp_nodelay else 'false'}",
        ]


def limits_for(seats: int) -> BrokerLimits:
    """The limits for a hall of ``seats`` keypads (1..MAX_SEATS); ValueError otherwise."""
    if isinstance(seats, bool) or not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS:
        raise ValueError(f"seats must be 1..{MAX_SEATS}, not {seats!r}")
    largest = max(CONTROL_MAX, consts.BROADCAST_MAX, consts.UPLINK_MAX, consts.DOWNLINK_MAX)
    return BrokerLimits(
        seats=seats,
        max_packet_size=largest + PACKET_OVERHEAD,
        max_queued_messages=max(MOSQUITTO_DEFAULT_QUEUE, PER_SEAT * seats),
        max_inflight_messages=max(GATEWAY_BATCH, seats // 4),
    )
