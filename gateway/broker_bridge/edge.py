"""Small helpers of the bridge's edge: the socket option it sets, and reading a broken frame's header."""

from __future__ import annotations

import logging
import socket
from typing import Any

from protocol import codec, consts

__all__ = ["no_delay", "peek"]

log = logging.getLogger("hallvote.broker_bridge")


def no_delay(client: Any, userdata: Any, sock: Any) -> None:
    """TCP_NODELAY on the gateway's socket: acks are small and latency-bound (no Nagle delay)."""
    raw = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
    if isinstance(raw, socket.socket) and raw.family in (socket.AF_INET, socket.AF_INET6):
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            log.warning("could not set TCP_NODELAY on the broker connection: %s", exc)


def peek(payload: bytes) -> tuple[int, int]:
    """Best-effort (counter, type) of an unreadable uplink frame, for its nack; (0, 0) if unknown."""
    if len(payload) >= 3 and consts.is_uplink(payload[1]) and payload[1] in codec.LAYOUTS:
        end = 3 + payload[2]
        if len(payload) >= end + 4:
            return int.from_bytes(payload[end : end + 4], "big"), payload[1]
    return 0, 0
