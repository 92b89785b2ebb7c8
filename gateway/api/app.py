"""The FastAPI application of one hall's gateway."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from gateway.audit import AuditLog
from gateway.broker_bridge.bridge import LinkState
from gateway.config.settings import GatewaySettings
from gateway.db.engine import reader
from gateway.service import Gateway

from . import health, live, motions, setup, sittings
from .audit_calls import AuditCallsMiddleware
from .deps import API_PREFIX, roles_of
from .edge import EdgeMiddleware
from .errors import install_handlers
from .health import DatabaseProbe
from .live import HEARTBEAT_S, POLL_S
from .writes import OneWriterMiddleware

__all__ = ["API_PREFIX", "TAGS", "create_app"]

_ROLE_NAMES = {
    "chair": "主持人 chair",
    "clerk": "工作人员 clerk",
    "technician": "技术人员 technician",
    "display": "显示屏 display",
}

TAGS = [
    {
        "name": "setup",
        "description": "机构、代表、会场、座位 / bodies, members, halls, seats (clerk; technician for halls and seats)",
    },
    {
        "name": "devices",
        "description": "表决器：登记、绑定座位、停用、状态 / keypads: register, bind to a seat, revoke, health (technician)",
    },
    {
        "name": "sittings",
        "description": "会议：新建、座位安排、设为当前、签到、开会、结束 / sittings: create, seat map, activate, check-in, start, close",
    },
    {"name": "motions", "description": "议题 / motions put to a vote (clerk)"},
    {
        "name": "rounds",
        "description": "表决轮次：开始、暂停、继续、结束、宣布、指定事项、重新表决 / rounds: open, pause, resume, close, announce, focus, re-run (chair, clerk)",
    },
    {
        "name": "results",
        "description": "表决结果：应到、实到、各项计数、未按、适用规则 / results: expected, present, counts, not pressed, the rule applied",
    },
    {
        "name": "live",
        "description": "实时状态（另有 WebSocket /api/v1/ws/live）/ the live picture (also streamed by the WebSocket /api/v1/ws/live)",
    },
]

DESCRIPTION = """\
人大会场电子表决系统网关 / the hall gateway of hallvote.

**认证 / authentication**: `Authorization: Bearer <token>`; the gateway's settings list each user's
name, role and the SHA-256 of its token (`hallvote gateway hash-token`).

**角色 / roles**: `display` (大屏) only reads; `technician` manages halls, seats and keypads; `clerk`
manages bodies, members, sittings, seat maps and motions, and may run the sitting beside the chair;
`chair` runs check-in, the sitting and its rounds, and alone may open a vote without quorum.
Every mutating call of a signed-in user is recorded in the audit log (`api.call`), refused ones
included. A request to `/api/` without a valid token is refused with 401 before its body is read, and
is not recorded; a body larger than the settings' `[api] max_body_bytes` is refused with 413
`TOO_LARGE`; text that is not valid Unicode (a lone surrogate) with 422 `INVALID_TEXT`. `/docs` and
`/openapi.json` are for signed-in users unless the settings say `[api] docs = true`.

**错误 / errors**: a JSON body `{code, message}` (message Chinese first, then English); a command the
rules refuse is 409 with the core's code, e.g. `QUORUM_NOT_MET`.

**控制台 / console**: the pages at `/console` (chair, clerk, technician) and `/display` (big screen) sign
people in with a password and a session cookie; `/api/v1/ws/live` accepts that cookie too.

**实时 / live**: WebSocket `/api/v1/ws/live?token=...` sends `{"type": "snapshot", "data": ...}` on
connect and whenever the hall changes (at most 10/s), and `{"type": "heartbeat"}` every 2 s otherwise.
"""


def create_app(
    gateway: Gateway,
    settings: GatewaySettings,
    *,
    audit: AuditLog | None,
    poll_s: float = POLL_S,
    heartbeat_s: float = HEARTBEAT_S,
    broker_link: Callable[[], LinkState] | None = None,
) -> FastAPI:
    """The API of ``gateway``; users from ``settings``; mutating calls recorded in ``audit`` (if given)."""
    app = FastAPI(
        title="hallvote gateway",
        summary="人大会场电子表决 / electronic voting for People's Congress halls",
        description=DESCRIPTION,
        version="1",
        openapi_tags=TAGS,
        docs_url=None,  # gateway.console serves /docs from local files (an offline hall has no CDN)
        redoc_url=None,
    )
    app.state.gateway = gateway
    app.state.settings = settings
    app.state.audit = audit
    app.state.live_poll_s = poll_s
    app.state.live_heartbeat_s = heartbeat_s
    app.state.broker_link = broker_link  # the bridge's link, for /health (None: no broker here)
    app.state.db_probe = DatabaseProbe(reader(gateway.engine))  # read-only: never the write lock
    install_handlers(app)
    for module in (setup, sittings, motions, live, health):
        _document_roles(module.router)
        app.include_router(module.router)
    from gateway.console import install_console  # the pages use this package's routes

    install_console(app)
    app.add_middleware(AuditCallsMiddleware, audit=audit, settings=settings)
    app.add_middleware(OneWriterMiddleware)  # outside the audit record: it is written under the lock
    # Outermost: a request without a token is refused before it is read, audited or takes the lock.
    app.add_middleware(EdgeMiddleware, settings=settings, session_user=_session_checker(gateway, settings))
    return app


def _session_checker(gateway: Gateway, settings: GatewaySettings) -> Callable[[str], bool]:
    """Is a console session cookie a signed-in person (for /docs and /openapi.json)?"""

    def signed_in(cookie: str) -> bool:
        from gateway.console.auth import NotSignedIn, session_user

        try:
            session_user(gateway.engine, settings, cookie)
        except NotSignedIn:
            return False
        return True

    return signed_in


def _document_roles(router: APIRouter) -> None:
    """Add "角色 / roles: ..." to every route's description and ``x-roles`` to its OpenAPI operation."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        roles = roles_of(route.dependant)
        if roles is None or "x-roles" in (route.openapi_extra or {}):
            continue
        names = ", ".join(_ROLE_NAMES[r] for r in roles)
        route.description = f"{route.description}\n\n角色 / roles: {names}".strip()
        route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": list(roles)}
