"""Every mutating API call goes into the audit log as ``api.call``: who, which route, what came of it.

A pure ASGI middleware (it must see refusals too: 403, 404, 409, 422).
For ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` of a signed-in user (bearer
token, or a console session) it appends, when the response starts and
*before* the client sees it::

    api.call  actor=<user name>   (the token's user even when no route ran)
              {method, path: the route template ("/api/v1/motions/{motion_id}/rounds/{number}/open"),
               role: <role | "none">, status}

A request with no user behind it is not recorded (an unauthenticated
flood must not grow the audit log; :mod:`gateway.api.edge` refuses and
logs it).  The path is the route template, never the concrete URL, a query string or a
body (:mod:`gateway.audit.kinds`).  A request that matched no route is
recorded with the path ``/{unmatched}``.  If the audit log cannot be
written the failure is logged and the response still goes out (the call
itself has already been committed, or refused).
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.audit import AuditLog
from gateway.config.settings import GatewaySettings

from .deps import USER_SCOPE_KEY, User, authenticate

__all__ = ["MUTATING", "UNMATCHED", "AuditCallsMiddleware", "call_payload"]

log = logging.getLogger("hallvote.api")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNMATCHED = "/{unmatched}"
ANONYMOUS = "anonymous"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def call_payload(
    scope: Scope, status: int, settings: GatewaySettings | None = None
) -> tuple[str, dict[str, Any]]:
    """``(actor, payload)`` of the ``api.call`` record for a request that ended with ``status``.

    The user is the one the route authenticated; when no route ran (404,
    405) it is looked up from the bearer token, so a probe is still named.
    """
    route: BaseRoute | None = scope.get("route")
    path = getattr(route, "path", None) or UNMATCHED
    user: User | None = scope.get(USER_SCOPE_KEY)
    if user is None and settings is not None:
        user = authenticate(settings, _bearer(scope))
    actor = user.name if user is not None else ANONYMOUS
    role = user.role if user is not None else "none"
    return actor, {"method": scope["method"], "path": path, "role": role, "status": status}


class AuditCallsMiddleware:
    def __init__(
        self, app: ASGIApp, *, audit: AuditLog | None, settings: GatewaySettings | None = None
    ) -> None:
        self.app = app
        self.audit = audit
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING or self.audit is None:
            await self.app(scope, receive, send)
            return
        recorded = False

        async def record(status: int) -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            actor, payload = call_payload(scope, status, self.settings)
            if actor == ANONYMOUS:
                # Nobody signed in: a probe must not grow the audit log (the edge logs it instead).
                return
            try:
                await anyio.to_thread.run_sync(self._append, actor, payload)
            except Exception:
                log.exception("could not record %s %s in the audit log", payload["method"], payload["path"])

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                await record(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await record(500)
            raise

    def _append(self, actor: str, payload: dict[str, Any]) -> None:
        assert self.audit is not None
        self.audit.append("api.call", actor, payload)
