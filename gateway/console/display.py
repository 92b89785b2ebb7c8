"""The hall's big screen (``/display``): 应到 / 实到 / 赞成 / 反对 / 弃权 / 未按 / 结果, charts, idle screen.

Shown to any signed-in person (the display role's session never times out).
The screen sees a round's totals and result only once the chair has
announced it, and never a live count: while a round is open it shows how
many have pressed.  Its script follows ``/api/v1/ws/live`` and reloads the
live part on every change; when the gateway goes away it retries on its own.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlmodel import Session

from gateway.api.deps import User
from gateway.db.engine import reader
from gateway.service import Gateway

from .auth import PageUser
from .views import live_view
from .web import lang_of, render

__all__ = ["display_context", "router"]

router = APIRouter(include_in_schema=False)


def display_context(request: Request) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    # Every viewer sees the screen as the display role sees it: what the hall may see.
    screen = User("display", "display")
    with Session(reader(gateway.engine)) as session:
        view = live_view(gateway, session, screen, lang_of(request))
    chart: dict[str, Any] | None = None
    current = view["round"]
    if current is not None and current["result"] is not None and current["state"] == "announced":
        result = current["result"]
        chart = {
            "labels": [item.title for item in result.items],
            "series": [c.zh if lang_of(request) == "zh" else c.en for c in current["choices_out"]],
            "counts": [[item.counts[c.code - 1] for c in current["choices_out"]] for item in result.items],
        }
    return {"view": view, "chart": chart}


@router.get("/display")
async def display_page(request: Request, user: PageUser) -> Response:
    ctx = await run_in_threadpool(display_context, request)
    return render(request, "display.html", ctx, user=user)


@router.get("/display/live")
async def display_live(request: Request, user: PageUser) -> Response:
    ctx = await run_in_threadpool(display_context, request)
    return render(request, "display_live.html", ctx, user=user)
