"""The chair console (chair and clerk): the sitting, check-in, quorum, the agenda, rounds and results.

Every action is a form POST to ``/console/chair/do`` carrying the session's
CSRF token; it calls the same functions as the JSON API (so the same rules,
refusals and audit records apply, with the signed-in person as the actor)
and redirects back (303).  A refusal re-renders the page with the reason
and, for quorum, the numbers (409).  Closing a round, closing the sitting and
every keyboard shortcut go through a confirmation page first.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from gateway.api import motions as api_motions
from gateway.api import sittings as api_sittings
from gateway.api.errors import ApiError
from gateway.api.schemas import ManualIn, ManualRejectIn, OpenRoundIn
from gateway.core.errors import CommandError
from gateway.db.engine import reader
from gateway.db.models import Motion, Sitting
from gateway.service import Gateway, StoreError

from .auth import ConsoleUser, check_csrf, require_page
from .views import agenda, live_view
from .web import lang_of, render

__all__ = ["ACTIONS", "ALWAYS_CONFIRM", "CONFIRM", "router"]

log = logging.getLogger("hallvote.console")

router = APIRouter(include_in_schema=False)

Operator = require_page("chair", "clerk")

CONFIRM = {
    "close": ("确认结束本轮表决？结束后不再接受按键。", "Close this round? No press counts after it closes."),
    "close_sitting": ("确认结束本次会议？", "Close this sitting?"),
    "open": ("确认开始表决？", "Open the vote?"),
    "announce": ("确认宣布结果并在大屏显示？", "Announce the result on the big screen?"),
}
"""Actions that ask again before they run when given by a keyboard shortcut."""
ALWAYS_CONFIRM = frozenset({"close", "close_sitting"})
"""Actions that ask again however they are given (no accidental close)."""

ACTIONS = (
    "activate",
    "checkin_open",
    "start",
    "close_sitting",
    "open",
    "pause",
    "resume",
    "close",
    "announce",
    "rerun",
    "manual_enter",
    "manual_confirm",
    "manual_reject",
)


def _int(form: dict[str, Any], name: str) -> int:
    try:
        return int(form.get(name, ""))
    except ValueError:
        raise ApiError(422, "VALIDATION", f"缺少或无效的字段 {name} / missing or bad field {name}") from None


def _text(form: dict[str, Any], name: str) -> str | None:
    value = str(form.get(name, "")).strip()
    return value[:500] or None


def _counts(form: dict[str, Any]) -> list[list[int]]:
    """The manual counts grid: fields ``c_{item}_{choice}`` (0-based item, choice code 1..4); empty is 0."""
    cells: dict[tuple[int, int], int] = {}
    for name, value in form.items():
        parts = name.split("_")
        if len(parts) == 3 and parts[0] == "c" and parts[1].isdigit() and parts[2].isdigit():
            text = str(value).strip() or "0"
            try:
                cells[(int(parts[1]), int(parts[2]))] = int(text)
            except ValueError:
                raise ApiError(
                    422, "VALIDATION", f"计数须为整数 / counts must be whole numbers ({name}={text!r})"
                ) from None
    items = 1 + max((i for i, _ in cells), default=-1)
    width = max((c for _, c in cells), default=0)
    return [[cells.get((i, c), 0) for c in range(1, width + 1)] for i in range(items)]


def run_action(gateway: Gateway, session: Session, user: ConsoleUser, form: dict[str, Any]) -> None:
    """Do one console action as ``user`` (the API's own functions: same checks, same audit)."""
    action = form.get("action")
    who = user.user
    if action == "activate":
        api_sittings.activate(_int(form, "sitting"), session, gateway, who)
    elif action == "checkin_open":
        api_sittings.open_checkin(_int(form, "sitting"), gateway, who)
    elif action == "start":
        api_sittings.start_session(_int(form, "sitting"), gateway, who)
    elif action == "close_sitting":
        api_sittings.close_sitting(_int(form, "sitting"), gateway, who)
    elif action == "open":
        reason = _text(form, "override_reason")
        api_motions.open_round(
            _int(form, "motion"), _int(form, "number"), gateway, who, OpenRoundIn(override_reason=reason)
        )
    elif action in ("pause", "resume", "close", "announce"):
        fn = getattr(api_motions, f"{action}_round")
        fn(_int(form, "motion"), _int(form, "number"), gateway, who)
    elif action == "rerun":
        reason = _text(form, "reason")
        if reason is None:
            raise ApiError(422, "REASON_REQUIRED", "重新表决须说明理由 / a re-run needs a reason")
        motion_id = _int(form, "motion")
        api_motions.rerun(motion_id, gateway, who)
        sitting = gateway.sitting
        number = max((k[1] for k in sitting.rounds if k[0] == motion_id), default=0) if sitting else 0
        audit = gateway.audit_log
        if audit is not None:
            audit.append("round.rerun", user.name, {"motion": motion_id, "round": number, "reason": reason})
    elif action == "manual_enter":
        motion_id, number = _int(form, "motion"), _int(form, "number")
        try:
            body = ManualIn(
                method=form.get("method", ""), reason=str(form.get("reason", "")), counts=_counts(form)
            )
        except ValidationError:
            raise ApiError(422, "VALIDATION", "计票方式或原因无效 / bad method or reason") from None
        api_motions.enter_manual(motion_id, number, body, gateway, who)
    elif action == "manual_confirm":
        api_motions.confirm_manual(_int(form, "motion"), _int(form, "number"), gateway, who)
    elif action == "manual_reject":
        body_r = ManualRejectIn(reason=str(form.get("reason", ""))[:500])
        api_motions.reject_manual(_int(form, "motion"), _int(form, "number"), body_r, gateway, who)
    else:
        raise ApiError(422, "UNKNOWN_ACTION", f"未知操作 / unknown action {action!r}")


def chair_context(request: Request, user: ConsoleUser) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    with Session(reader(gateway.engine)) as session:
        view = live_view(gateway, session, user.user, lang_of(request))
        sittings = list(
            session.exec(
                select(Sitting).where(Sitting.hall_id == gateway.hall_id).order_by(col(Sitting.id).desc())
            )
        )
        items = agenda(session, view["sitting"]["id"]) if view["sitting"] else []
        for entry in items:
            session.expunge(entry["motion"])
    return {"view": view, "sittings": sittings, "agenda": items}


@router.get("/console/chair")
async def chair_page(request: Request, user: ConsoleUser = Operator) -> Response:
    ctx = await run_in_threadpool(chair_context, request, user)
    return render(request, "chair.html", ctx, user=user)


@router.get("/console/chair/live")
async def chair_live(request: Request, user: ConsoleUser = Operator) -> Response:
    """The live part of the chair page (the page's script swaps it in on every WebSocket snapshot)."""
    ctx = await run_in_threadpool(chair_context, request, user)
    return render(request, "chair_live.html", ctx, user=user)


@router.get("/console/chair/manual/{motion_id}/{number}")
async def manual_page(
    request: Request, motion_id: int, number: int, user: ConsoleUser = Operator
) -> Response:
    """Enter a round's counts by hand (keypads failed), or confirm / reject the pending entry."""
    gateway: Gateway = request.app.state.gateway

    def load() -> dict[str, Any]:
        with Session(reader(gateway.engine)) as session:
            results = api_motions.results(motion_id, session, gateway, user.user)
            row = session.get(Motion, motion_id)
            items = list(row.items) if row is not None else []
        this = next((r for r in results.rounds if r.number == number), None)
        if this is None:
            raise ApiError(404, "NOT_FOUND", f"没有第 {number} 轮 / no round {number}")
        motion = gateway.sitting.motions.get(motion_id) if gateway.sitting else None
        options = motion.options if motion is not None else 0b1110
        titles = [results.title] if results.ballot_kind == 1 else items
        return {
            "results": results,
            "rnd": this,
            "choices": [c for c in results.choices if options >> c.code & 1],
            "titles": titles,
        }

    ctx = await run_in_threadpool(load)
    return render(request, "manual.html", ctx, user=user)


@router.post("/console/chair/do")
async def chair_do(request: Request, user: ConsoleUser = Operator) -> Response:
    form = dict(await request.form())
    check_csrf(user.csrf, str(form.get("csrf", "")))
    action = str(form.get("action", ""))
    ask = action in ALWAYS_CONFIRM or (action in CONFIRM and form.get("shortcut") == "1")
    if ask and form.get("confirmed") != "yes":
        fields = {k: str(v) for k, v in form.items() if k not in ("csrf", "confirmed")}
        return render(
            request,
            "confirm.html",
            {"question": CONFIRM[action], "fields": fields, "action": action},
            user=user,
        )
    gateway: Gateway = request.app.state.gateway

    def act() -> None:
        with Session(reader(gateway.engine)) as session:
            run_action(gateway, session, user, form)

    try:
        await run_in_threadpool(act)
    except (ApiError, CommandError, StoreError) as exc:
        code = getattr(exc, "code", "STORE_FAILED")
        message = getattr(exc, "message", str(exc))
        status = getattr(exc, "status", 503 if isinstance(exc, StoreError) else 409)
        ctx = await run_in_threadpool(chair_context, request, user)
        ctx["error"] = {"code": code, "message": message, "action": action}
        return render(request, "chair.html", ctx, user=user, status_code=status)
    return RedirectResponse(f"/console/chair?done={action}", status_code=303)
