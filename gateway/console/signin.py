"""The console's sign-in and sign-out pages, the role's home page, and the language switch."""

from __future__ import annotations

import logging
import math
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from gateway.config.settings import GatewaySettings

from .auth import COOKIE, LOGIN_COOKIE, PageUser, check_csrf, check_password, end_session, start_session
from .throttle import SignInThrottle
from .web import LANG_COOKIE, render

__all__ = ["HOME", "router"]

log = logging.getLogger("hallvote.console")

router = APIRouter(include_in_schema=False)

HOME = {
    "chair": "/console/chair",
    "clerk": "/console/chair",
    "technician": "/console/tech",
    "display": "/display",
}


def _safe_next(value: str | None) -> str:
    """Only a path on this gateway (no scheme, no host): an open redirect would help a phisher."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console"


def _throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle | None = getattr(request.app.state, "signin_throttle", None)
    if throttle is None:
        throttle = request.app.state.signin_throttle = SignInThrottle()
    return throttle


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _audit(request: Request, kind: str, actor: str, payload: dict[str, str | int]) -> None:
    audit = request.app.state.audit
    if audit is not None:
        try:
            audit.append(kind, actor, payload)
        except Exception:
            log.exception("could not record %s", kind)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=303)


@router.get("/console")
def home(user: PageUser) -> RedirectResponse:
    return RedirectResponse(HOME[user.role], status_code=303)


@router.get("/console/lang")
def switch_lang(request: Request, to: str = "zh", next: str = "/console") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, "en" if to == "en" else "zh", samesite="strict", httponly=True)
    return response


@router.get("/console/login")
def login_form(request: Request, next: str = "/console", why: str = "") -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", {"next": _safe_next(next), "why": why, "login_csrf": token})
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.post("/console/login")
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/console",
) -> Response:
    check_csrf(request.cookies.get(LOGIN_COOKIE) or "", csrf)
    throttle, address = _throttle(request), _address(request)
    wait = throttle.retry_after(address)
    if wait > 0:  # paused: no password check, no audit record
        return _throttled(request, next, csrf, name, wait)
    settings: GatewaySettings = request.app.state.settings
    entry = await run_in_threadpool(check_password, settings, name, password)
    if entry is None:
        await run_in_threadpool(_audit, request, "console.signin_refused", "anonymous", {"name": name[:64]})
        if throttle.refused(address):
            await run_in_threadpool(
                _audit,
                request,
                "console.signin_throttled",
                "anonymous",
                {"address": address[:64], "refused": throttle.limit},
            )
            return _throttled(request, next, csrf, name, throttle.retry_after(address))
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "why": "bad", "login_csrf": csrf, "name": name},
            status_code=401,
        )
    throttle.succeeded(address)
    token, _row = await run_in_threadpool(start_session, request.app.state.gateway.engine, entry)
    await run_in_threadpool(_audit, request, "console.signed_in", entry.name, {"role": entry.role})
    target = _safe_next(next)
    if target.startswith("/console/login"):
        target = "/console"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


def _throttled(request: Request, next: str, csrf: str, name: str, wait: float) -> Response:
    seconds = max(1, math.ceil(wait))
    response = render(
        request,
        "login.html",
        {"next": _safe_next(next), "why": "throttled", "login_csrf": csrf, "name": name, "wait_s": seconds},
        status_code=429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


@router.post("/console/logout")
async def logout(
    request: Request, user: PageUser, csrf: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    check_csrf(user.csrf, csrf)
    await run_in_threadpool(end_session, request.app.state.gateway.engine, request.cookies.get(COOKIE))
    await run_in_threadpool(_audit, request, "console.signed_out", user.name, {"role": user.role})
    response = RedirectResponse("/console/login?why=out", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def login_redirect(request: Request, reason: str) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?why={reason}&next={quote(target, safe='')}", status_code=303)
