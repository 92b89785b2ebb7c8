"""Setting a hall up: bodies and their members (clerk), halls, seats and keypads (technician).

Thin routes over :mod:`gateway.db.crud` and :mod:`gateway.db.csv_import`.
A change the running hall depends on (a body's roster, keypads and their
seats) rebuilds the gateway's state (:func:`gateway.api.deps.reload_hall`),
so 应到 and the keypad bindings are right at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from gateway.db import crud
from gateway.db.models import (
    Body,
    BodyCreate,
    BodyPublic,
    Device,
    DeviceCreate,
    DevicePublic,
    Hall,
    HallCreate,
    HallPublic,
    Member,
    MemberCreate,
    MemberPublic,
    Seat,
    SeatCreate,
    SeatPublic,
)
from gateway.provision import changes
from gateway.provision import store as keypads
from gateway.provision.errors import ProvisionError

from .deps import API_PREFIX, Clerk, CurrentUser, GatewayDep, SessionDep, Technician, reload_hall
from .errors import ERROR_RESPONSES, ApiError, CsvErrorOut, ErrorOut
from .schemas import DeviceBindIn, SwapIn, SwapOut

__all__ = ["CSV_BODY", "CSV_MAX_BYTES", "CSV_RESPONSES", "csv_importer", "read_csv", "router"]

router = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)

CSV_MAX_BYTES = 4 * 1024 * 1024

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "不存在 / not found"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "与已有数据冲突 / conflicts with existing data"}
}
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "文件过大 / file too large"},
    422: {"model": CsvErrorOut, "description": "CSV 有误，未导入 / rejected, nothing imported"},
}
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}

T = TypeVar("T")


async def read_csv(request: Request) -> bytes:
    """The request body: a CSV file (UTF-8), at most CSV_MAX_BYTES."""
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > CSV_MAX_BYTES:
            raise ApiError(
                413, "TOO_LARGE", f"文件超过 {CSV_MAX_BYTES} 字节 / the file exceeds {CSV_MAX_BYTES} bytes"
            )
    return bytes(data)


def csv_importer() -> Any:
    """gateway.db.csv_import, or 501 when this build has none."""
    try:
        from gateway.db import csv_import
    except ImportError:  # pragma: no cover - csv_import ships with the gateway
        raise ApiError(501, "NOT_AVAILABLE", "此版本不支持 CSV 导入 / CSV import is not available") from None
    return csv_import


async def _in_thread(fn: Callable[..., T], **kwargs: Any) -> T:
    return await run_in_threadpool(lambda: fn(**kwargs))


# --------------------------------------------------------------------------- bodies and members


@router.get("/bodies", tags=["setup"], summary="机构列表 / List bodies", response_model=list[BodyPublic])
def list_bodies(session: SessionDep, _user: CurrentUser) -> list[Body]:
    """人大、主席团、常委会 / the congress, its presidium, its standing committee."""
    return crud.list_bodies(session=session)


@router.post(
    "/bodies",
    tags=["setup"],
    status_code=201,
    summary="新建机构 / Create a body",
    response_model=BodyPublic,
    responses=_CONFLICT,
)
def create_body(body_in: BodyCreate, session: SessionDep, _user: Clerk) -> Body:
    """法定人数按机构类型默认（人大 2/3 以上，常委会、主席团过半数）/ quorum defaults by kind
    (congress at least 2/3, 218 of 327 proceeds; standing committee and presidium more than half)."""
    return crud.create_body(session=session, body_in=body_in)


@router.get(
    "/bodies/{body_id}/members",
    tags=["setup"],
    summary="代表名单 / List a body's members",
    response_model=list[MemberPublic],
)
def list_members(
    body_id: int, session: SessionDep, _user: CurrentUser, active_only: bool = False
) -> list[Member]:
    """名单即应到人数的依据 / the roster: what 应到 counts."""
    crud.get(Body, body_id, session=session)
    return crud.list_members(session=session, body_id=body_id, active_only=active_only)


@router.post(
    "/bodies/{body_id}/members",
    tags=["setup"],
    status_code=201,
    summary="添加代表 / Add a member",
    response_model=MemberPublic,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def create_member(
    body_id: int, member_in: MemberCreate, session: SessionDep, gateway: GatewayDep, _user: Clerk
) -> Member:
    """卡号在机构内唯一 / a card UID is unique within the body."""
    member = crud.create_member(session=session, body_id=body_id, member_in=member_in)
    reload_hall(gateway)
    return member


@router.post(
    "/bodies/{body_id}/members/import",
    tags=["setup"],
    status_code=201,
    summary="从 CSV 导入名单 / Import a roster from CSV",
    response_model=list[MemberPublic],
    responses={**_NOT_FOUND, **CSV_RESPONSES},
    openapi_extra=CSV_BODY,
)
async def import_roster(
    body_id: int, request: Request, session: SessionDep, gateway: GatewayDep, _user: Clerk
) -> list[Member]:
    """列 / columns: ``name`` 姓名, ``name_pinyin`` 拼音, ``delegation`` 代表团, ``card_uid`` 卡号.
    全部导入或全部不导入 / all rows or none."""
    data = await read_csv(request)
    members: list[Member] = await _in_thread(
        csv_importer().import_roster, session=session, body_id=body_id, data=data
    )
    await run_in_threadpool(reload_hall, gateway)
    return members


# --------------------------------------------------------------------------- halls and seats


@router.get("/halls", tags=["setup"], summary="会场列表 / List halls", response_model=list[HallPublic])
def list_halls(session: SessionDep, _user: CurrentUser) -> list[Hall]:
    """会场编号即 MQTT 主题中的编号 / a hall's id is the one in its MQTT topics."""
    return crud.list_halls(session=session)


@router.post(
    "/halls",
    tags=["setup"],
    status_code=201,
    summary="登记会场 / Register a hall",
    response_model=HallPublic,
    responses=_CONFLICT,
)
def create_hall(hall_in: HallCreate, session: SessionDep, _user: Technician) -> Hall:
    """编号 1..16 位 a-z 0-9 - / id: 1..16 of a-z 0-9 -."""
    return crud.create_hall(session=session, hall_in=hall_in)


@router.get(
    "/halls/{hall_id}/seats",
    tags=["setup"],
    summary="座位列表 / List a hall's seats",
    response_model=list[SeatPublic],
)
def list_seats(hall_id: str, session: SessionDep, _user: CurrentUser) -> list[Seat]:
    """按排、列排序 / by row, then column (row 1 nearest the rostrum)."""
    crud.get(Hall, hall_id, session=session)
    return crud.list_seats(session=session, hall_id=hall_id)


@router.post(
    "/halls/{hall_id}/seats",
    tags=["setup"],
    status_code=201,
    summary="添加座位 / Add a seat",
    response_model=SeatPublic,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def create_seat(hall_id: str, seat_in: SeatCreate, session: SessionDep, _user: Technician) -> Seat:
    """座位号 1..8 个可打印 ASCII 字符，表决器上显示 / label: 1..8 printable ASCII, shown on the keypad."""
    return crud.create_seat(session=session, hall_id=hall_id, seat_in=seat_in)


@router.post(
    "/halls/{hall_id}/seats/import",
    tags=["setup"],
    status_code=201,
    summary="从 CSV 导入座位 / Import seats from CSV",
    response_model=list[SeatPublic],
    responses={**_NOT_FOUND, **CSV_RESPONSES},
    openapi_extra=CSV_BODY,
)
async def import_seats(hall_id: str, request: Request, session: SessionDep, _user: Technician) -> list[Seat]:
    """列 / columns: ``label`` 座位号, ``row`` 排, ``col`` 列. 全部导入或全部不导入 / all rows or none."""
    data = await read_csv(request)
    seats: list[Seat] = await _in_thread(
        csv_importer().import_seats, session=session, hall_id=hall_id, data=data
    )
    return seats


# --------------------------------------------------------------------------- keypads


@router.get(
    "/devices", tags=["devices"], summary="表决器列表 / List keypads", response_model=list[DevicePublic]
)
def list_devices(session: SessionDep, _user: CurrentUser, hall_id: str | None = None) -> list[Device]:
    """含在线、电量、信号、固件版本 / with health: online, battery, signal, firmware version."""
    return crud.list_devices(session=session, hall_id=hall_id)


@router.post(
    "/halls/{hall_id}/devices",
    tags=["devices"],
    status_code=201,
    summary="登记表决器 / Register a keypad",
    response_model=DevicePublic,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def register_device(hall_id: str, device_in: DeviceCreate, gateway: GatewayDep, user: Technician) -> Device:
    """公钥为 65 字节未压缩 P-256 点（十六进制）；审计 device.registered /
    public key: the 65-byte uncompressed P-256 point, hex; audited device.registered."""
    return gateway.setup_change(
        lambda: changes.register(gateway.engine, hall_id=hall_id, device_in=device_in, actor=user.name)
    )


@router.put(
    "/devices/{device_id}/seat",
    tags=["devices"],
    summary="绑定座位 / Bind a keypad to a seat",
    response_model=DevicePublic,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def bind_device(device_id: str, bind: DeviceBindIn, gateway: GatewayDep, user: Technician) -> Device:
    """一个座位只有一个在用表决器；null 解除绑定；会议进行中（签到开始至闭会）该会议座位只能更换（swap），
    否则 409 SEAT_IN_SITTING；审计 device.bound / device.unbound /
    one active keypad per seat; null unbinds; while a sitting is live (check-in open until it closes) a
    seat of its seat map changes keypads only by a swap (409 SEAT_IN_SITTING); audited device.bound /
    device.unbound.  Binding a keypad where it is already bound changes nothing (the gateway reloads)."""
    return gateway.setup_change(
        lambda: changes.bind(gateway.engine, device_id=device_id, seat_id=bind.seat_id, actor=user.name)
    )


@router.post(
    "/devices/{device_id}/revoke",
    tags=["devices"],
    summary="停用表决器 / Revoke a keypad",
    response_model=DevicePublic,
    responses=_NOT_FOUND,
)
def revoke_device(device_id: str, gateway: GatewayDep, user: Technician) -> Device:
    """丢失、更换或被盗的表决器；保留原座位记录；审计 device.revoked /
    lost, swapped or stolen; keeps its seat for the record; audited device.revoked."""
    return gateway.setup_change(
        lambda: changes.revoke(gateway.engine, device_id=device_id, actor=user.name, reason="API")
    )


@router.post(
    "/halls/{hall_id}/seats/{label}/swap",
    tags=["devices"],
    summary="更换表决器 / Swap a seat's keypad",
    response_model=SwapOut,
    responses={**_NOT_FOUND, **_CONFLICT},
)
def swap_device(hall_id: str, label: str, swap_in: SwapIn, gateway: GatewayDep, user: Technician) -> SwapOut:
    """座位 label 的表决器停用，已登记的备用表决器 to 绑定到该座位；签到保留；正在表决的一轮中，
    该代表已按的项目保留（不新建选票），新表决器之后的按键都排在旧表决器的按键之后；主持端实时提示。
    审计 device.revoked、device.bound、device.swapped /
    the keypad at seat ``label`` is revoked and the registered spare ``to`` bound to it; the check-in is
    kept; in a live round the member's pressed items carry over (no new ballot) and every press of the
    new keypad counts after the old one's; the chair's live feed announces it.  Audited device.revoked,
    device.bound, device.swapped."""
    if hall_id != gateway.hall_id:
        raise ApiError(404, "NOT_FOUND", f"会场不存在: {hall_id} / no such hall: {hall_id}")
    try:
        done = gateway.setup_change(
            lambda: keypads.swap(
                gateway.engine, hall_id=hall_id, seat_label=label, new_device=swap_in.to, actor=user.name,
                reason=swap_in.reason,
            )
        )  # fmt: skip
    except ProvisionError as exc:
        status = 404 if exc.code in ("UNKNOWN_SEAT", "UNKNOWN_DEVICE") else 409
        raise ApiError(status, exc.code, str(exc)) from None
    notice = gateway.announce_swap(done.seat, done.old, done.new, done.member)
    return SwapOut(
        seat=done.seat, old=done.old, new=done.new, member=done.member, checked_in=done.checked_in,
        carried_over=notice["carried_over"],
    )  # fmt: skip
