"""The live picture for the chair console and the big screen: GET /live and the WebSocket /ws/live.

WebSocket protocol (JSON text messages, server to client)::

    {"type": "snapshot", "data": <LiveSnapshot>}     on connect, then whenever the hall changed
    {"type": "heartbeat", "version": N, "at": T}     after 2 s without a snapshot

* authentication: ``?token=<bearer token>``; or a console session cookie
  (the console's pages); or, without either, the first message the client
  sends (the token as text, or ``{"token": "..."}``) within 5 s; otherwise
  the socket is closed with 1008 (policy violation);
* the gateway's ``version`` is polled every 100 ms and a snapshot is sent
  when it moved: updates are coalesced to at most 10 a second, and while
  anything changes (a vote is open and presses arrive) at least 5 a second;
* the display role (the big screen) sees a closed round's totals and
  result only once the chair has announced it; the secret-ballot rule
  (no live counts of a secret round) is the gateway's snapshot's own;
* the connection ends cleanly when the client goes away.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette import status

from gateway.config.settings import GatewaySettings
from gateway.service import Gateway

from .deps import API_PREFIX, CurrentUser, GatewayDep, User, authenticate
from .errors import ERROR_RESPONSES
from .schemas import LiveSnapshot, MeOut

__all__ = ["AUTH_TIMEOUT_S", "HEARTBEAT_S", "POLL_S", "router", "snapshot_for", "view_for"]

log = logging.getLogger("hallvote.api")

router = APIRouter(prefix=API_PREFIX, tags=["live"])

POLL_S = 0.1
HEARTBEAT_S = 2.0
AUTH_TIMEOUT_S = 5.0


def view_for(snapshot: dict[str, Any], role: str) -> dict[str, Any]:
    """The snapshot as ``role`` may see it: the display sees a round's result only once announced."""
    current = snapshot.get("round")
    if role == "display":
        snapshot = {**snapshot, "notices": []}
    if role == "display" and isinstance(current, dict) and current.get("state") in ("closed", "manual"):
        return {**snapshot, "round": {**current, "totals": None, "result": None}}
    return snapshot


def snapshot_for(gateway: Gateway, role: str) -> dict[str, Any]:
    return view_for(gateway.snapshot(), role)


@router.get("/me", summary="当前用户 / Who am I", response_model=MeOut, responses=ERROR_RESPONSES)
def me(user: CurrentUser) -> MeOut:
    """令牌对应的用户和角色 / the user and role the token belongs to."""
    return MeOut(name=user.name, role=user.role)


@router.get(
    "/live",
    summary="实时状态 / Live picture",
    response_model=LiveSnapshot,
    responses=ERROR_RESPONSES,
)
def live(gateway: GatewayDep, user: CurrentUser) -> dict[str, Any]:
    """会议状态、应到/实到，当前（或最近）一轮表决 / the sitting with 应到/实到 and the current
    (or latest) round.  Streamed by the WebSocket ``/ws/live``."""
    return snapshot_for(gateway, user.role)


# --------------------------------------------------------------------------- WebSocket


def _token_of(message: str) -> str | None:
    text = message.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        token = data.get("token") if isinstance(data, dict) else None
        return token if isinstance(token, str) else None
    return text.removeprefix("Bearer ").strip() or None


def _same_origin(websocket: WebSocket) -> bool:
    """A cookie counts only from a page of this gateway (no cross-site WebSocket hijacking)."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    return origin is not None and host is not None and origin.split("://", 1)[-1] == host


async def _first_message_user(websocket: WebSocket, settings: GatewaySettings, timeout: float) -> User | None:
    with anyio.move_on_after(timeout):
        message = await websocket.receive()
        if message["type"] != "websocket.receive":
            return None
        text = message.get("text")
        if text is None and message.get("bytes") is not None:
            text = message["bytes"].decode("utf-8", "replace")
        return authenticate(settings, _token_of(text or ""))
    return None


@router.websocket("/ws/live")
async def live_ws(websocket: WebSocket, token: Annotated[str | None, Query()] = None) -> None:
    app_state = websocket.app.state
    gateway: Gateway = app_state.gateway
    settings: GatewaySettings = app_state.settings
    poll_s: float = getattr(app_state, "live_poll_s", POLL_S)
    heartbeat_s: float = getattr(app_state, "live_heartbeat_s", HEARTBEAT_S)

    if token is not None:
        user = authenticate(settings, token)
        if user is None:
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthenticated")
            return
        await websocket.accept()
    else:
        cookie_user = getattr(app_state, "cookie_user", None)
        user = (
            await anyio.to_thread.run_sync(cookie_user, websocket.cookies)
            if cookie_user is not None and _same_origin(websocket)
            else None
        )
        await websocket.accept()
        if user is None:
            user = await _first_message_user(websocket, settings, AUTH_TIMEOUT_S)
        if user is None:
            await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="unauthenticated")
            return

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drain, websocket, tg.cancel_scope)
            await _push(websocket, gateway, user.role, poll_s, heartbeat_s)
            tg.cancel_scope.cancel()
    except* WebSocketDisconnect:
        pass  # the client went away while a message was being sent


async def _drain(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Read (and ignore) what the client sends; end everything when it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            scope.cancel()
            return


async def _push(websocket: WebSocket, gateway: Gateway, role: str, poll_s: float, heartbeat_s: float) -> None:
    async def send_snapshot() -> int:
        data = await anyio.to_thread.run_sync(snapshot_for, gateway, role)
        await websocket.send_json({"type": "snapshot", "data": data})
        version: int = data["version"]
        return version

    sent_version = await send_snapshot()
    last_sent = time.monotonic()
    while True:
        await anyio.sleep(poll_s)
        if gateway.version != sent_version:
            sent_version = await send_snapshot()
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent >= heartbeat_s:
            await websocket.send_json({"type": "heartbeat", "version": sent_version, "at": time.time()})
            last_sent = time.monotonic()
