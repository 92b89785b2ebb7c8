"""The MQTT client's link helpers: a millisecond clock, the reconnect backoff, the broker's
address, the TCP/TLS opener and the TLS context.  No session state (that is
:mod:`firmware.mqtt.client`, which re-exports the public names).

Runs on MicroPython and CPython alike, like the client.
"""

import asyncio
import time

from . import packets as codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["Backoff", "MQTTConnectError", "tls_context"]

_TICKS_MS = getattr(time, "ticks_ms", None)  # MicroPython
_TICKS_DIFF = getattr(time, "ticks_diff", None)


def _ticks() -> int:
    if _TICKS_MS is not None:
        return int(_TICKS_MS())
    return int(time.monotonic() * 1000)


def _elapsed(since: int) -> int:
    """Milliseconds from ``since`` (a ``_ticks()`` value) to now."""
    if _TICKS_DIFF is not None:
        return int(_TICKS_DIFF(_ticks(), since))
    return _ticks() - since


def _default_rand() -> float:
    """A float in [0, 1) from the hardware/OS RNG, so keypads booted together differ."""
    try:
        import os

        b = os.urandom(4)
        return ((b[0] << 16) | (b[1] << 8) | b[2]) / 16777216.0
    except (ImportError, AttributeError, OSError, NotImplementedError):
        import random

        return random.getrandbits(24) / 16777216.0


class MQTTConnectError(codec.MQTTError):
    """The broker refused the connection; ``code`` is the CONNACK return code (1..5)."""

    def __init__(self, code: int) -> None:
        codec.MQTTError.__init__(self, code)
        self.code = code

    def __str__(self) -> str:
        text = codec.CONNACK_MESSAGES[self.code] if 0 <= self.code <= 5 else "?"
        return "connection refused (%d: %s)" % (self.code, text)


class Backoff:
    """Full-jitter exponential backoff: ``delay = rand() * min(cap, base * 2**attempt)``.

    With full jitter the first retries of thousands of keypads that lost the
    broker at the same instant spread evenly over ``[0, base)`` instead of
    arriving together.  ``rand`` returns a float in ``[0, 1)``.
    """

    MAX_EXP = 30

    def __init__(
        self, base: float = 1.0, cap: float = 60.0, rand: "Callable[[], float] | None" = None
    ) -> None:
        if not base > 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.rand = rand if rand is not None else _default_rand
        self.attempt = 0

    def ceiling(self) -> float:
        return min(self.cap, self.base * (1 << self.attempt))

    def next(self) -> float:
        """The next delay in seconds; each call doubles the ceiling up to ``cap``."""
        delay = self.rand() * self.ceiling()
        if self.attempt < self.MAX_EXP:
            self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def _is_ip(host: str) -> bool:
    """A dotted IPv4 literal (no resolver needed)."""
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts)


def _default_resolver(host: str, port: int) -> str:
    """The first address of ``host`` (a blocking lookup: done once, then cached)."""
    import socket

    return str(socket.getaddrinfo(host, port)[0][-1][0])


async def _open_connection(
    host: str, port: int, ssl: "Any", server_hostname: "str | None"
) -> "tuple[Any, Any]":
    if ssl is None:
        return await asyncio.open_connection(host, port)
    return await asyncio.open_connection(host, port, ssl=ssl, server_hostname=server_hostname)


def tls_context(cafile: "str | None" = None, cadata: "Any" = None) -> "Any":
    """A client TLS context that trusts only the given CA (the hall CA) and checks the host.

    ``cafile`` is a path; ``cadata`` the CA certificate itself (PEM text on
    CPython; on MicroPython what its ``load_verify_locations`` accepts).
    """
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if hasattr(ctx, "check_hostname"):
        ctx.check_hostname = True
    if cafile is not None:
        ctx.load_verify_locations(cafile=cafile)
    if cadata is not None:
        ctx.load_verify_locations(cadata=cadata)
    return ctx
