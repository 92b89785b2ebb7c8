"""Rendering console pages: the Jinja2 environment, language (zh-CN first, English switch), hall time.

Templates live in ``console/templates`` and static files in ``console/static``
of the source tree (``HALLVOTE_CONSOLE_DIR`` points elsewhere).  Every
template gets ``_(zh, en)`` (the text in the reader's language), ``lang``,
``user`` (or None), ``csrf`` and the filter ``hall_time`` (a datetime or a
Unix time shown in the hall's time zone, ``[console]``'s ``time_zone``).
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gateway.config.settings import GatewaySettings

from .auth import ConsoleUser

__all__ = ["CONSOLE_DIR", "LANG_COOKIE", "lang_of", "render", "to_hall_time"]

CONSOLE_DIR = Path(os.environ.get("HALLVOTE_CONSOLE_DIR") or Path(__file__).resolve().parents[2] / "console")
LANG_COOKIE = "hv_lang"

_templates = Jinja2Templates(directory=str(CONSOLE_DIR / "templates"))
_templates.env.autoescape = True


def lang_of(request: Request) -> str:
    """``en`` when the reader switched to English (cookie, or ``?lang=en``), else ``zh``."""
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if wanted == "en" else "zh"


def to_hall_time(value: dt.datetime | float | None, zone: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None:
        return "—"
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zoneinfo.ZoneInfo(zone)).strftime(fmt)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: ConsoleUser | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings: GatewaySettings = request.app.state.settings
    lang = lang_of(request)
    zone = settings.time_zone

    def tr(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    ctx = {
        "_": tr,
        "lang": lang,
        "user": user,
        "csrf": user.csrf if user is not None else "",
        "hall_id": request.app.state.gateway.hall_id,
        "time_zone": zone,
        "hall_time": lambda value, fmt="%Y-%m-%d %H:%M:%S": to_hall_time(value, zone, fmt),
        **context,
    }
    response = _templates.TemplateResponse(request, template, ctx, status_code=status_code)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", httponly=True, max_age=365 * 86400)
    response.headers["Cache-Control"] = "no-store"
    return response
