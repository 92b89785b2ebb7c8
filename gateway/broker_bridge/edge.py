"""Small helpers of the bridge's edge: the socket option it sets, paho's per-topic callback matcher
left out while unused, and reading a broken frame's header."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

from paho.mqtt.matcher import MQTTMatcher

from protocol import codec, consts

__all__ = ["FilterMatcher", "no_delay", "peek", "skip_unused_filters"]

log = logging.getLogger("hallvote.broker_bridge")


def no_delay(client: Any, userdata: Any, sock: Any) -> None:
    """TCP_NODELAY on the gateway's socket: acks are small and latency-bound (no Nagle delay)."""
    raw = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
    if isinstance(raw, socket.socket) and raw.family in (socket.AF_INET, socket.AF_INET6):
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            log.warning("could not set TCP_NODELAY on the broker connection: %s", exc)


class FilterMatcher(MQTTMatcher):
    """paho's matcher of ``message_callback_add`` filters, not walked while no filter was added.

    paho walks it for every message received, even empty: a recursive generator over the topic's
    levels, several microseconds per message.  The bridge adds no filter (``on_message`` takes all).
    """

    _used = False

    def __setitem__(self, key: str, value: Any) -> None:
        self._used = True
        super().__setitem__(key, value)  # type: ignore[no-untyped-call]

    def iter_match(self, topic: str) -> Iterator[Any]:
        return super().iter_match(topic) if self._used else iter(())  # type: ignore[no-untyped-call]


def skip_unused_filters(client: Any) -> bool:
    """Give a new ``client`` a :class:`FilterMatcher` in place of paho's empty matcher; whether it did
    (not on a paho whose client keeps its filters otherwise, nor once a filter was added)."""
    current = getattr(client, "_on_message_filtered", None)
    if type(current) is not MQTTMatcher or getattr(getattr(current, "_root", None), "_children", True):
        return False
    client._on_message_filtered = FilterMatcher()  # type: ignore[no-untyped-call]
    return True


def peek(payload: bytes) -> tuple[int, int]:
    """Best-effort (counter, type) of an unreadable uplink frame, for its nack; (0, 0) if unknown."""
    if len(payload) >= 3 and consts.is_uplink(payload[1]) and payload[1] in codec.LAYOUTS:
        end = 3 + payload[2]
        if len(payload) >= end + 4:
            return int.from_bytes(payload[end : end + 4], "big"), payload[1]
    return 0, 0
