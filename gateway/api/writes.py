"""One API write at a time: requests that change something queue here instead of failing in the store.

SQLite has one writer, and a pool has so many connections: a hundred
parallel writes would each hold a pooled connection while waiting for the
write lock (and the audit middleware needs a second one per request), so
the pool runs dry.  This pure ASGI middleware (inside :mod:`.edge`, which refuses a request
without a token before it gets here) lets one
``POST``/``PUT``/``PATCH``/``DELETE`` through at a time (including its
``api.call`` audit record); the others wait their turn without holding a
connection.  Reads (``GET``) and the WebSocket are never held up, and the
gateway's own commits (keypad frames) use their own connections, so API
writes do not make them wait for more than one write transaction.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from .audit_calls import MUTATING

__all__ = ["OneWriterMiddleware"]


class OneWriterMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lock: anyio.Lock | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            await self.app(scope, receive, send)
