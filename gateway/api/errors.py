"""Errors of the API and how refusals map to HTTP: always a JSON body ``{code, message}``.

=====================================  ======  ==============================
refusal                                status  code
=====================================  ======  ==============================
no or unknown bearer token             401     ``UNAUTHENTICATED``
role may not do this                   403     ``FORBIDDEN``
no such row (gateway.db.crud)          404     ``NOT_FOUND``
command refused by the core            409     the core's code (``QUORUM_NOT_MET``, ...)
store conflict (gateway.db.crud)       409     ``CONFLICT``
request body or parameters invalid     422     ``VALIDATION`` (+ ``detail``)
CSV rejected (gateway.db.csv_import)   422     ``CSV_INVALID`` (+ ``errors``)
the store refused a commit             503     ``STORE_FAILED``
the store cannot be reached            503     ``STORE_UNAVAILABLE`` (+ ``Retry-After``)
=====================================  ======  ==============================

A 503 means nothing of the request took effect, in the gateway's memory or
in the store; the same request may be sent again.

Messages are Chinese first, then English.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError

from gateway.core.errors import CommandError
from gateway.db import crud
from gateway.service import StoreError, StoreUnavailable

__all__ = ["ERROR_RESPONSES", "ApiError", "CsvRowError", "ErrorOut", "command_message", "install_handlers"]

log = logging.getLogger("hallvote.api")


class ApiError(Exception):
    """A refusal with an HTTP status, a stable ``code`` and a message (Chinese / English)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(code, message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class ErrorOut(BaseModel):
    code: str
    message: str


class CsvRowError(BaseModel):
    row: int | None
    column: str | None
    message: str


class CsvErrorOut(ErrorOut):
    errors: list[CsvRowError]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "未认证 / no or unknown bearer token"},
    403: {"model": ErrorOut, "description": "无权限 / this role may not do this"},
}
"""Documented on every authenticated route."""


_ZH = {
    "QUORUM_NOT_MET": "未达到法定人数，不能开始表决",
    "QUORUM_OVERRIDE_NOT_ALLOWED": "本机构不允许在不足法定人数时开始表决",
    "INVALID_OVERRIDE": "主持人的决定无效",
    "CANDIDATE_MARGIN": "候选项目数不足（差额比例不低于20%）",
    "INVALID_RULE": "规则无效",
    "COUNTS_INCONSISTENT": "计数不一致",
}
"""Chinese for refusals whose message comes from gateway.rules in English only."""


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def command_message(exc: CommandError) -> str:
    """The refusal's message, Chinese first: the rules' English-only messages get their Chinese."""
    message = exc.message.removeprefix(f"{exc.code}: ").strip() or exc.code
    if _has_chinese(message):
        return message
    return f"{_ZH.get(exc.code, '操作被拒绝')} / {message}"


def _json(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, **jsonable_encoder(extra)}, status_code=status)


def _unavailable() -> JSONResponse:
    response = _json(
        503,
        "STORE_UNAVAILABLE",
        "数据库暂时无法访问，操作未生效，请稍后重试 / the store cannot be reached; nothing changed, retry shortly",
    )
    response.headers["Retry-After"] = "2"
    return response


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_request: Request, exc: ApiError) -> JSONResponse:
        response = _json(exc.status, exc.code, exc.message)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(CommandError)
    async def _command(_request: Request, exc: CommandError) -> JSONResponse:
        return _json(409, exc.code, command_message(exc))

    @app.exception_handler(crud.NotFound)
    async def _not_found(_request: Request, exc: crud.NotFound) -> JSONResponse:
        return _json(404, "NOT_FOUND", str(exc))

    @app.exception_handler(crud.Conflict)
    async def _conflict(_request: Request, exc: crud.Conflict) -> JSONResponse:
        return _json(409, exc.code, str(exc))

    @app.exception_handler(StoreError)
    async def _store(_request: Request, exc: StoreError) -> JSONResponse:
        log.error("store refused a command: %s", exc)
        if isinstance(exc, StoreUnavailable):
            return _unavailable()
        return _json(
            503,
            "STORE_FAILED",
            "数据库写入失败，未生效，请重试 / the store refused the write; nothing changed, retry",
        )

    @app.exception_handler(OperationalError)
    async def _db_down(_request: Request, exc: OperationalError) -> JSONResponse:
        log.error("store unavailable: %s", type(exc.orig).__name__ if exc.orig is not None else exc)
        return _unavailable()

    @app.exception_handler(DBAPIError)
    async def _db_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            log.error("store connection lost: %s", type(exc.orig).__name__)
            return _unavailable()
        raise exc

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _json(422, "VALIDATION", "请求数据无效 / the request is not valid", detail=list(exc.errors()))

    try:
        from gateway.db.csv_import import CsvImportError
    except ImportError:  # pragma: no cover - csv_import is optional
        return

    @app.exception_handler(CsvImportError)
    async def _csv(_request: Request, exc: CsvImportError) -> JSONResponse:
        rows = [{"row": e.row, "column": e.column, "message": e.message} for e in exc.errors]
        return _json(
            422,
            "CSV_INVALID",
            "CSV 文件有误，未导入任何数据 / the CSV was rejected; nothing was imported",
            errors=rows,
        )
