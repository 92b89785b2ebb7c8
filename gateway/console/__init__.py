"""The console, served by the gateway's FastAPI app: chair console, big screen, technician page, records.

:func:`install_console` adds the pages, their static files, the offline
``/docs`` and the console's error pages to an app made by
:func:`gateway.api.create_app`.  The pages are server-rendered (Jinja2) and
their live parts follow ``/api/v1/ws/live``, which accepts the console's
session cookie as well as a bearer token.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.api.deps import User
from gateway.config.settings import GatewaySettings

from . import chair, display, prepare, records, signin, tech
from .assets import install_assets
from .auth import COOKIE, CsrfInvalid, Forbidden, NotSignedIn, session_user
from .web import render

__all__ = ["install_console", "websocket_user"]


def websocket_user(app: FastAPI, cookie: str | None) -> User | None:
    """The person behind a console session cookie (for ``/api/v1/ws/live``), or None."""
    settings: GatewaySettings = app.state.settings
    try:
        return session_user(app.state.gateway.engine, settings, cookie).user
    except NotSignedIn:
        return None


def install_console(app: FastAPI) -> None:
    install_assets(app)
    for module in (signin, chair, display, records, tech, prepare):
        app.include_router(module.router)
    app.state.cookie_user = lambda cookies: websocket_user(app, cookies.get(COOKIE))

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return signin.login_redirect(request, exc.reason)

    @app.exception_handler(CsrfInvalid)
    async def csrf_invalid(request: Request, exc: CsrfInvalid) -> Response:
        return render(
            request,
            "error.html",
            {
                "code": "CSRF_INVALID",
                "message": (
                    "表单已失效或来源不明，未执行任何操作；请刷新页面后重试",
                    "the form is stale or forged; nothing was done. Reload the page and try again",
                ),
            },
            status_code=403,
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return render(
            request,
            "error.html",
            {
                "code": "FORBIDDEN",
                "message": (
                    f"您的角色（{exc.user.role}）不能进行此操作",
                    f"your role ({exc.user.role}) may not do this",
                ),
            },
            status_code=403,
        )
