"""The bridge's link to the broker as health sees it, and the reason a connection attempt failed."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

__all__ = ["LinkState", "failure_reason"]


@dataclass(frozen=True)
class LinkState:
    """The bridge's link to the broker, for health: up since when, or why not."""

    connected: bool
    since: float | None  # when the current connection (or the current outage) began
    failures: int  # failed attempts since the last success
    last_error: str | None  # "<reason>: <detail>" of the last failure


def failure_reason(exc: BaseException) -> str:
    """``refused``, ``unreachable`` or ``tls`` for an exception of a connection attempt."""
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, socket.gaierror | TimeoutError | OSError):
        return "unreachable"
    return "error"
