"""Preparation (the clerk): rosters, seats and seat maps by CSV upload; motions by preset, edited until voted.

CSV files go through :mod:`gateway.db.csv_import` (the API's importers):
all rows or none, every problem listed with its row number, Chinese first.
Motions are created and edited through the API's own functions (the same
presets, checks and refusals); a sitting's agenda can be prepared before the
sitting is active.  Every form carries the session's CSRF token.
Seats are the technician's (their CSV form is on this page for them).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from gateway.api import motions as api_motions
from gateway.api.errors import ApiError
from gateway.api.schemas import MotionIn
from gateway.core.errors import CommandError
from gateway.db import crud
from gateway.db.csv_import import CsvImportError, import_roster, import_seat_map, import_seats
from gateway.db.engine import reader
from gateway.db.models import Body, Motion, Sitting
from gateway.db.presets import PRESET_LABELS
from gateway.service import Gateway

from .auth import ConsoleUser, Forbidden, check_csrf, require_page
from .views import agenda
from .web import render

__all__ = ["motion_form_to_input", "router"]

router = APIRouter(include_in_schema=False)

Clerk = require_page("clerk")
Preparer = require_page("clerk", "technician", "chair")
CSV_MAX = 2 * 1024 * 1024


def motion_form_to_input(form: dict[str, Any]) -> MotionIn:
    """The motion form's fields as the API's MotionIn (a bad field is a 422 like the API's)."""
    items = [line.strip() for line in str(form.get("items", "")).splitlines() if line.strip()]

    def opt_int(name: str) -> int | None:
        value = str(form.get(name, "")).strip()
        return int(value) if value.isdigit() else None

    data: dict[str, Any] = {
        "title": str(form.get("title", "")).strip(),
        "preset": str(form.get("preset")) or None,
        "items": items,
        "select_k": opt_int("select_k"),
        "countdown_s": opt_int("countdown_s"),
        "secret": form.get("secret") == "on",
        "press_policy": str(form.get("press_policy") or "first_press"),
        "interim": str(form.get("interim") or "totals"),
    }
    try:
        return MotionIn.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def _context(gateway: Gateway, sitting_id: int | None) -> dict[str, Any]:
    with Session(reader(gateway.engine)) as session:
        sittings = [
            s
            for s in session.exec(
                select(Sitting).where(Sitting.hall_id == gateway.hall_id).order_by(col(Sitting.id).desc())
            )
            if s.state != 3
        ]
        current = gateway.sitting
        if sitting_id is None:
            sitting_id = current.sitting_id if current is not None else (sittings[0].id if sittings else None)
        chosen = next((s for s in sittings if s.id == sitting_id), None)
        items = agenda(session, chosen.id) if chosen is not None and chosen.id is not None else []
        body = session.get(Body, chosen.body_id) if chosen is not None else None
        for entry in items:
            session.expunge(entry["motion"])
    return {
        "sittings": sittings,
        "sitting": chosen,
        "body": body,
        "agenda": items,
        "presets": PRESET_LABELS,
        "active_id": current.sitting_id if current is not None else None,
    }


def _errors(exc: Exception) -> list[dict[str, Any]]:
    if isinstance(exc, CsvImportError):
        return [{"row": e.row, "column": e.column, "message": e.message} for e in exc.errors]
    if isinstance(exc, RequestValidationError):
        return [
            {
                "row": None,
                "column": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": e.get("msg", ""),
            }
            for e in exc.errors()
        ]
    message = getattr(exc, "message", str(exc))
    return [{"row": None, "column": getattr(exc, "code", None), "message": message}]


@router.get("/console/prepare")
async def prepare_page(
    request: Request, user: ConsoleUser = Preparer, sitting: int | None = None
) -> Response:
    ctx = await run_in_threadpool(_context, request.app.state.gateway, sitting)
    return render(request, "prepare.html", {**ctx, "edit": None}, user=user)


@router.get("/console/prepare/motions/{motion_id}")
async def edit_page(request: Request, motion_id: int, user: ConsoleUser = Clerk) -> Response:
    gateway: Gateway = request.app.state.gateway

    def load() -> tuple[Motion, dict[str, Any]]:
        with Session(reader(gateway.engine)) as session:
            motion = crud.get(Motion, motion_id, session=session)
            session.expunge(motion)
        return motion, _context(gateway, motion.sitting_id)

    motion, ctx = await run_in_threadpool(load)
    return render(request, "prepare.html", {**ctx, "edit": motion}, user=user)


@router.post("/console/prepare/motion")
async def save_motion(request: Request, user: ConsoleUser = Clerk) -> Response:
    form = dict(await request.form())
    check_csrf(user.csrf, str(form.get("csrf", "")))
    gateway: Gateway = request.app.state.gateway
    sitting_id = int(str(form.get("sitting", "0")) or 0)
    edit_id = str(form.get("motion", "")).strip()

    def act() -> None:
        motion_in = motion_form_to_input(form)
        with Session(gateway.engine) as session:
            if edit_id.isdigit():
                api_motions.edit_motion(int(edit_id), motion_in, session, gateway, user.user)
            else:
                api_motions.create_motion(sitting_id, motion_in, session, gateway, user.user)

    try:
        await run_in_threadpool(act)
    except (ApiError, CommandError, RequestValidationError) as exc:
        ctx = await run_in_threadpool(_context, gateway, sitting_id)
        return render(
            request,
            "prepare.html",
            {**ctx, "edit": None, "errors": _errors(exc), "form": form},
            user=user,
            status_code=getattr(exc, "status", 422 if isinstance(exc, RequestValidationError) else 409),
        )
    return RedirectResponse(f"/console/prepare?sitting={sitting_id}&saved=1", status_code=303)


@router.post("/console/prepare/import/{what}")
async def import_csv(request: Request, what: str, user: ConsoleUser = Preparer) -> Response:
    form = await request.form()
    check_csrf(user.csrf, str(form.get("csrf", "")))
    if what not in ("roster", "seats", "seat_map"):
        raise ApiError(404, "NOT_FOUND", "not found")
    needed = "technician" if what == "seats" else "clerk"
    if user.role != needed:
        raise Forbidden(user.user, (needed,))
    upload = form.get("file")
    data = await upload.read(CSV_MAX + 1) if upload is not None and hasattr(upload, "read") else b""
    gateway: Gateway = request.app.state.gateway
    sitting_id = int(str(form.get("sitting", "0")) or 0)

    def act() -> int:
        rows: list[Any]
        if len(data) > CSV_MAX:
            raise ApiError(413, "CSV_TOO_LARGE", "CSV 文件过大 / the CSV file is too large")
        with Session(gateway.engine) as session:
            if what == "roster":
                rows = import_roster(session=session, body_id=int(str(form.get("body", "0"))), data=data)
            elif what == "seats":
                rows = import_seats(session=session, hall_id=gateway.hall_id, data=data)
            else:
                rows = import_seat_map(session=session, sitting_id=sitting_id, data=data)
        gateway.reload()
        return len(rows)

    try:
        count = await run_in_threadpool(act)
    except (CsvImportError, ApiError) as exc:
        ctx = await run_in_threadpool(_context, gateway, sitting_id or None)
        return render(
            request,
            "prepare.html",
            {**ctx, "edit": None, "errors": _errors(exc), "import_failed": what},
            user=user,
            status_code=422,
        )
    return RedirectResponse(f"/console/prepare?sitting={sitting_id}&imported={what}:{count}", status_code=303)
