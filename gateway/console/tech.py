"""The technician's page: the seat map coloured by keypad state, device detail, swap, event tail, health.

Seat states (one colour each, in this order of precedence): 无表决器 no
keypad, 固件不一致 firmware differs from the version most of the hall's
keypads run, 离线 offline, 电量低 battery below 20 %, 信号弱 RSSI below
-75 dBm, 已按键 pressed in the open round (named rounds only: a secret
round's participation is not shown while it is open), 已签到 checked in,
在线 online.  A swap goes through the audited swap flow (the old keypad
revoked, the new one bound, the member's check-in kept) and only the
technician may do it.
"""

from __future__ import annotations

import collections
import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import text
from sqlmodel import Session, col, select

from gateway.db.engine import reader
from gateway.db.models import Device, Member, Seat, SeatAssignment
from gateway.provision import store as provision_store
from gateway.provision.errors import ProvisionError
from gateway.service import Gateway

from .auth import ConsoleUser, check_csrf, require_page
from .web import render, to_hall_time

__all__ = ["LOW_BATTERY", "WEAK_RSSI", "router", "seat_map"]

router = APIRouter(include_in_schema=False)

LOW_BATTERY = 20
WEAK_RSSI = -75
STATES = {
    "empty": ("无表决器", "no keypad"),
    "firmware": ("固件不一致", "firmware mismatch"),
    "offline": ("离线", "offline"),
    "battery": ("电量低", "low battery"),
    "signal": ("信号弱", "weak signal"),
    "pressed": ("已按键", "pressed"),
    "checked_in": ("已签到", "checked in"),
    "online": ("在线", "online"),
}
_HIDDEN_PAYLOAD = ("vote.", "checkin.")
Viewer = require_page("technician", "chair", "clerk")
TechnicianOnly = require_page("technician")


def seat_map(gateway: Gateway, session: Session) -> dict[str, Any]:
    seats = list(
        session.exec(
            select(Seat).where(Seat.hall_id == gateway.hall_id).order_by(col(Seat.row), col(Seat.col))
        )
    )
    devices = {
        d.seat_id: d
        for d in session.exec(
            select(Device).where(Device.hall_id == gateway.hall_id, col(Device.revoked).is_(False))
        )
        if d.seat_id is not None
    }
    spares = list(
        session.exec(
            select(Device).where(
                Device.hall_id == gateway.hall_id,
                col(Device.revoked).is_(False),
                col(Device.seat_id).is_(None),
            )
        )
    )
    versions = collections.Counter(d.firmware_version for d in devices.values() if d.firmware_version)
    expected_fw = versions.most_common(1)[0][0] if versions else None
    with gateway.locked():  # a consistent read of the live state
        sitting = gateway.sitting
        present_members = set(sitting.attendance) if sitting else set()
        pressed: set[int] = set()
        sitting_id = sitting.sitting_id if sitting else None
        if sitting is not None and sitting.current is not None:
            run = sitting.rounds[sitting.current]
            if not sitting.motions[run.motion_id].secret:
                pressed = {m for m, b in run.ballots.items() if b.pressed}
    members: dict[int, tuple[int, str]] = {}
    if sitting_id is not None:
        for a, m in session.exec(
            select(SeatAssignment, Member)
            .where(SeatAssignment.sitting_id == sitting_id)
            .where(col(SeatAssignment.member_id) == col(Member.id))
        ):
            members[a.seat_id] = (m.id or 0, m.name)
    cells: list[dict[str, Any]] = []
    counts: collections.Counter[str] = collections.Counter()
    for seat in seats:
        d = devices.get(seat.id or 0)
        member = members.get(seat.id or 0)
        if d is None:
            state = "empty"
        elif expected_fw and d.firmware_version and d.firmware_version != expected_fw:
            state = "firmware"
        elif not d.online:
            state = "offline"
        elif d.battery is not None and d.battery < LOW_BATTERY:
            state = "battery"
        elif d.rssi is not None and d.rssi < WEAK_RSSI:
            state = "signal"
        elif member and member[0] in pressed:
            state = "pressed"
        elif member and member[0] in present_members:
            state = "checked_in"
        else:
            state = "online"
        counts[state] += 1
        cells.append({"seat": seat, "device": d, "member": member[1] if member else "", "state": state})
    rows: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for cell in cells:
        rows[cell["seat"].row].append(cell)
    return {
        "rows": [rows[k] for k in sorted(rows)],
        "counts": counts,
        "states": STATES,
        "spares": spares,
        "expected_fw": expected_fw,
    }


def health(gateway: Gateway) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with reader(gateway.engine).connect() as conn:
            conn.execute(text("SELECT 1"))
        db: dict[str, Any] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    except Exception as exc:
        db = {"ok": False, "error": str(exc)[:200]}
    with Session(reader(gateway.engine)) as session:
        online = len(
            list(
                session.exec(
                    select(Device.device_id).where(
                        Device.hall_id == gateway.hall_id, col(Device.online).is_(True)
                    )
                )
            )
        )
    return {"db": db, "backend": gateway.engine.dialect.name, "keypads_online": online}


def event_tail(gateway: Gateway, zone: str, limit: int = 25) -> list[dict[str, str]]:
    audit = getattr(gateway, "audit_log", None)
    if audit is None:
        return []
    out = []
    for rec in reversed(audit.tail(limit)):
        payload = "" if rec.kind.startswith(_HIDDEN_PAYLOAD) else rec.payload
        out.append(
            {
                "seq": str(rec.seq),
                "at": to_hall_time(rec.at, zone),
                "kind": rec.kind,
                "actor": rec.actor,
                "payload": payload,
            }
        )
    return out


def tech_context(request: Request) -> dict[str, Any]:
    gateway: Gateway = request.app.state.gateway
    zone = request.app.state.settings.time_zone
    with Session(reader(gateway.engine)) as session:
        ctx = seat_map(gateway, session)
    ctx["health"] = health(gateway)
    link_fn = getattr(request.app.state, "broker_link", None)  # the bridge's link, when one runs
    if link_fn is not None:
        link = link_fn()
        ctx["health"]["broker"] = {
            "connected": link.connected,
            "since": to_hall_time(link.since, zone) if link.since else "",
            "last_error": link.last_error or "",
        }
    ctx["events"] = event_tail(gateway, zone)
    ctx["version"] = gateway.version
    return ctx


@router.get("/console/tech")
async def tech_page(request: Request, user: ConsoleUser = Viewer) -> Response:
    ctx = await run_in_threadpool(tech_context, request)
    return render(request, "tech.html", ctx, user=user)


@router.get("/console/tech/live")
async def tech_live(request: Request, user: ConsoleUser = Viewer) -> Response:
    ctx = await run_in_threadpool(tech_context, request)
    return render(request, "tech_live.html", ctx, user=user)


@router.get("/console/tech/devices/{device_id}")
async def device_detail(request: Request, device_id: str, user: ConsoleUser = Viewer) -> Response:
    gateway: Gateway = request.app.state.gateway

    def load() -> dict[str, Any]:
        with Session(reader(gateway.engine)) as session:
            device = session.get(Device, device_id)
            seat = session.get(Seat, device.seat_id) if device is not None and device.seat_id else None
            spares = list(
                session.exec(
                    select(Device).where(
                        Device.hall_id == gateway.hall_id,
                        col(Device.revoked).is_(False),
                        col(Device.seat_id).is_(None),
                    )
                )
            )
            return {"device": device, "seat": seat, "spares": spares}

    ctx = await run_in_threadpool(load)
    if ctx["device"] is None or ctx["device"].hall_id != gateway.hall_id:
        return render(
            request,
            "error.html",
            {"code": "NOT_FOUND", "message": ("没有此表决器", "no such keypad")},
            user=user,
            status_code=404,
        )
    return render(request, "device.html", ctx, user=user)


@router.post("/console/tech/swap")
async def swap(
    request: Request,
    seat: Annotated[str, Form(max_length=32)],
    to: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    user: ConsoleUser = TechnicianOnly,
) -> Response:
    check_csrf(user.csrf, csrf)
    gateway: Gateway = request.app.state.gateway
    why = reason.strip() or "故障更换 / failed"

    def act() -> provision_store.Swapped:
        done = provision_store.swap(
            gateway.engine,
            hall_id=gateway.hall_id,
            seat_label=seat,
            new_device=to,
            actor=user.name,
            reason=why,
        )
        gateway.reload()
        return done

    try:
        done = await run_in_threadpool(act)
    except ProvisionError as exc:
        return render(
            request,
            "error.html",
            {"code": exc.code, "message": (exc.zh, exc.en)},
            user=user,
            status_code=409,
        )
    return RedirectResponse(f"/console/tech?swapped={quote(done.seat)}", status_code=303)
