"""Sittings: created and seated by the clerk; activated, checked in, started and closed by the chair (or clerk).

A sitting of this hall is *active* when the gateway runs it (the keypads
see it).  Check-in, start and close name the sitting in the path and are
refused with 409 ``SITTING_NOT_ACTIVE`` for any other than the active one,
so a console showing a stale sitting cannot act on the wrong one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import col, select

from gateway.core.states import SittingState
from gateway.db import crud
from gateway.db.models import (
    Attendance,
    AttendancePublic,
    SeatAssignment,
    SeatAssignmentCreate,
    SeatAssignmentPublic,
    Sitting,
    SittingCreate,
    SittingPublic,
)
from gateway.service import Gateway

from .deps import API_PREFIX, Clerk, CurrentUser, GatewayDep, Operator, SessionDep, reload_hall
from .errors import ERROR_RESPONSES, ApiError, ErrorOut
from .live import snapshot_for
from .schemas import LiveSnapshot
from .setup import CSV_BODY, CSV_RESPONSES, csv_importer, read_csv

__all__ = ["active_sitting", "router"]

router = APIRouter(prefix=API_PREFIX, tags=["sittings"], responses=ERROR_RESPONSES)

_REFUSED: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut, "description": "不存在 / not found"},
    409: {
        "model": ErrorOut,
        "description": "当前状态不允许 / refused in the current state ({code, message})",
    },
}


def active_sitting(gateway: Gateway, sitting_id: int) -> None:
    """409 SITTING_NOT_ACTIVE unless ``sitting_id`` is the sitting the gateway runs."""
    current = gateway.sitting
    if current is None or current.sitting_id != sitting_id:
        shown = current.sitting_id if current is not None else "无 / none"
        raise ApiError(
            409,
            "SITTING_NOT_ACTIVE",
            f"会议 {sitting_id} 不是当前会议（当前: {shown}）/ sitting {sitting_id} is not the active one "
            f"(active: {shown})",
        )


@router.get("/sittings", summary="会议列表 / List sittings", response_model=list[SittingPublic])
def list_sittings(session: SessionDep, _user: CurrentUser, hall_id: str | None = None) -> list[Sitting]:
    """最新的在前 / newest first."""
    query = select(Sitting).order_by(col(Sitting.id).desc())
    if hall_id is not None:
        query = query.where(Sitting.hall_id == hall_id)
    return list(session.exec(query))


@router.post(
    "/sittings",
    status_code=201,
    summary="新建会议 / Create a sitting",
    response_model=SittingPublic,
    responses=_REFUSED,
)
def create_sitting(sitting_in: SittingCreate, session: SessionDep, _user: Clerk) -> Sitting:
    """一次会议属于一个机构、在一个会场召开 / one sitting of one body, in one hall."""
    return crud.create_sitting(session=session, sitting_in=sitting_in)


@router.get(
    "/sittings/{sitting_id}",
    summary="会议详情 / Get a sitting",
    response_model=SittingPublic,
    responses=_REFUSED,
)
def get_sitting(sitting_id: int, session: SessionDep, _user: CurrentUser) -> Sitting:
    """state: 0 筹备 setup, 1 签到 check-in open, 2 进行中 in session, 3 已结束 closed."""
    return crud.get(Sitting, sitting_id, session=session)


@router.get(
    "/sittings/{sitting_id}/seats",
    summary="座位安排 / Get a sitting's seat map",
    response_model=list[SeatAssignmentPublic],
    responses=_REFUSED,
)
def list_seat_map(sitting_id: int, session: SessionDep, _user: CurrentUser) -> list[SeatAssignment]:
    """每个座位一名代表 / one member per seat, one seat per member."""
    crud.get(Sitting, sitting_id, session=session)
    return crud.list_seat_assignments(session=session, sitting_id=sitting_id)


@router.post(
    "/sittings/{sitting_id}/seats",
    status_code=201,
    summary="安排座位 / Assign seats",
    response_model=list[SeatAssignmentPublic],
    responses=_REFUSED,
)
def assign_seats(
    sitting_id: int,
    assignments: list[SeatAssignmentCreate],
    session: SessionDep,
    gateway: GatewayDep,
    _user: Clerk,
) -> list[SeatAssignment]:
    """全部生效或全部不生效 / all or none."""
    rows = crud.assign_seats(session=session, sitting_id=sitting_id, assignments=assignments)
    reload_hall(gateway)
    return rows


@router.post(
    "/sittings/{sitting_id}/seats/import",
    status_code=201,
    summary="从 CSV 导入座位安排 / Import a seat map from CSV",
    response_model=list[SeatAssignmentPublic],
    responses={**_REFUSED, **CSV_RESPONSES},
    openapi_extra=CSV_BODY,
)
async def import_seat_map(
    sitting_id: int, request: Request, session: SessionDep, gateway: GatewayDep, _user: Clerk
) -> list[SeatAssignment]:
    """列 / columns: ``seat`` 座位号, ``member`` 代表, ``delegation`` 代表团 (optional)."""
    data = await read_csv(request)
    importer = csv_importer()
    rows: list[SeatAssignment] = await run_in_threadpool(
        lambda: importer.import_seat_map(session=session, sitting_id=sitting_id, data=data)
    )
    await run_in_threadpool(reload_hall, gateway)
    return rows


@router.get(
    "/sittings/{sitting_id}/attendance",
    summary="签到情况 / Get attendance",
    response_model=list[AttendancePublic],
    responses=_REFUSED,
)
def list_attendance(sitting_id: int, session: SessionDep, _user: CurrentUser) -> list[Attendance]:
    """已签到的代表（late = 补签）/ members checked in (late = after the session started)."""
    crud.get(Sitting, sitting_id, session=session)
    query = select(Attendance).where(Attendance.sitting_id == sitting_id)
    return list(session.exec(query.order_by(col(Attendance.checked_in_at))))


# --------------------------------------------------------------------------- running the sitting


@router.post(
    "/sittings/{sitting_id}/activate",
    summary="设为当前会议 / Activate a sitting",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def activate(sitting_id: int, session: SessionDep, gateway: GatewayDep, user: Operator) -> dict[str, object]:
    """表决器随即显示此会议；有表决进行中时拒绝 / the keypads follow this sitting; refused while a round is live."""
    sitting = crud.get(Sitting, sitting_id, session=session)
    if sitting.hall_id != gateway.hall_id:
        raise ApiError(
            409,
            "WRONG_HALL",
            f"会议不在本会场（{sitting.hall_id}）/ the sitting is in another hall ({sitting.hall_id})",
        )
    if sitting.state == int(SittingState.CLOSED):
        raise ApiError(409, "SITTING_CLOSED", "会议已结束 / the sitting is closed")
    current = gateway.sitting
    if current is not None and current.current is not None and current.sitting_id != sitting_id:
        raise ApiError(409, "ROUND_LIVE", "当前会议有表决正在进行 / a round of the active sitting is live")
    session.commit()  # end this request's transaction (it holds SQLite's write lock) before the gateway's
    gateway.activate_sitting(sitting_id)
    return snapshot_for(gateway, user.role)


@router.post(
    "/sittings/{sitting_id}/checkin/open",
    summary="开始签到 / Open check-in",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def open_checkin(sitting_id: int, gateway: GatewayDep, user: Operator) -> dict[str, object]:
    """代表按签到键 / members press the check-in key at their seats."""
    active_sitting(gateway, sitting_id)
    gateway.open_checkin(user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/sittings/{sitting_id}/start",
    summary="宣布开会 / Start the session",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def start_session(sitting_id: int, gateway: GatewayDep, user: Operator) -> dict[str, object]:
    """此后签到为补签（如允许）/ later check-ins are late (补签), if the sitting allows them."""
    active_sitting(gateway, sitting_id)
    gateway.start_session(user.name)
    return snapshot_for(gateway, user.role)


@router.post(
    "/sittings/{sitting_id}/close",
    summary="结束会议 / Close the sitting",
    response_model=LiveSnapshot,
    responses=_REFUSED,
)
def close_sitting(sitting_id: int, gateway: GatewayDep, user: Operator) -> dict[str, object]:
    """须先结束正在进行的表决 / close the live round first (409 ROUND_LIVE)."""
    active_sitting(gateway, sitting_id)
    gateway.close_sitting(user.name)
    return snapshot_for(gateway, user.role)
