"""The API's edge: what every HTTP request meets before a route, a body parser or the audit log.

A pure ASGI middleware, outermost.  In order:

1. **Body size.**  A ``Content-Length`` above ``[api] max_body_bytes`` is
   refused with 413 ``TOO_LARGE`` before anything is read; a body sent
   without a length is counted as it arrives and refused the same way when
   it passes the limit.
2. **Authenticate before reading.**  A request to ``/api/`` (except
   ``/api/v1/health``; the WebSocket authenticates itself) must carry a
   valid bearer token; without one it is refused with 401
   ``UNAUTHENTICATED`` at once: its body is never read, nothing is written
   to the audit log, no lock is taken.  The refusal is one log line
   (method, path, client address; never the token).
3. **API docs.**  ``/docs`` and ``/openapi.json`` are served only to a
   signed-in user (bearer token, or the console's session cookie) unless
   ``[api] docs = true``; otherwise 401.
4. **Text.**  A JSON body holding a string that is not valid Unicode text
   (a lone surrogate such as ``"\\ud800"``, which no database can store) is
   refused with 422 ``INVALID_TEXT`` before the route runs.

Refusals are JSON ``{code, message}`` like every other API error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config.settings import GatewaySettings

from .deps import API_PREFIX, authenticate

__all__ = ["DOC_PATHS", "OPEN_PATHS", "EdgeMiddleware", "bad_text"]

log = logging.getLogger("hallvote.api")

OPEN_PATHS = frozenset({f"{API_PREFIX}/health"})
DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json"})
SESSION_COOKIE = "hv_session"


class _TooLarge(Exception):
    pass


def bad_text(value: Any) -> bool:
    """True if any string in a parsed JSON value cannot be encoded as UTF-8 (lone surrogates)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _refuse(
    send: Send, status: int, code: str, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    body = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: GatewaySettings,
        session_user: Callable[[str], bool] | None = None,
    ) -> None:
        """``session_user(cookie)`` says whether a console session cookie is a signed-in person."""
        self.app = app
        self.settings = settings
        self.limit = settings.api.max_body_bytes
        self.session_user = session_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._too_large(send)
            return
        if path.startswith("/api/") and path not in OPEN_PATHS:
            if authenticate(self.settings, _bearer(scope)) is None:
                client = scope.get("client") or ("?", 0)
                log.warning("refused unauthenticated %s %s from %s", scope["method"], path, client[0])
                await _refuse(
                    send,
                    401,
                    "UNAUTHENTICATED",
                    "需要有效的令牌 / a valid bearer token is required",
                    ((b"www-authenticate", b"Bearer"),),
                )
                return
        elif path in DOC_PATHS and not self.settings.api.docs and not await self._signed_in(scope):
            await _refuse(
                send,
                401,
                "UNAUTHENTICATED",
                "接口文档仅对已登录用户开放 / the API documentation is for signed-in users "
                "(sign in to the console, or send a bearer token)",
            )
            return
        try:
            checked = await self._checked(scope, receive, send)
        except _TooLarge:
            await self._too_large(send)
            return
        if checked is None:
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, checked, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        await _refuse(
            send,
            413,
            "TOO_LARGE",
            f"请求体超过 {self.limit} 字节 / the request body exceeds {self.limit} bytes",
        )

    async def _signed_in(self, scope: Scope) -> bool:
        if authenticate(self.settings, _bearer(scope)) is not None:
            return True
        cookie = _cookie(scope, SESSION_COOKIE)
        if cookie and self.session_user is not None:
            return bool(await anyio.to_thread.run_sync(self.session_user, cookie))
        return False

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """A receive that enforces the limit; JSON bodies are read here and checked for bad text.

        None when the request was refused here.
        """
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if scope["method"] in ("GET", "HEAD") or content_type != "application/json":
            return self._limited(receive)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return receive  # the client went away; let the app see it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None  # the route's own parser says what is wrong
        if parsed is not None and bad_text(parsed):
            await _refuse(
                send,
                422,
                "INVALID_TEXT",
                "文本含有无效字符（孤立代理项）/ a text field holds invalid characters (a lone surrogate)",
            )
            return None
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _limited(self, receive: Receive) -> Receive:
        size = 0

        async def limited() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.limit:
                    raise _TooLarge
            return message

        return limited
