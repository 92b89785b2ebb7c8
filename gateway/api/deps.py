"""Dependencies of the API routes: the gateway, a database session, the authenticated user, roles.

Rules:

* a request authenticates with ``Authorization: Bearer <token>``; the user
  is the settings entry whose ``token_sha256`` is SHA-256 of the token,
  compared in constant time against every entry (no early exit);
* no or an unknown token is 401; a known user whose role may not call the
  route is 403 (:func:`require`); the user is left in the request scope
  (:data:`USER_SCOPE_KEY`) for the audit middleware, also when refused;
* routes read the gateway and the settings from ``app.state`` (set by
  :func:`gateway.api.create_app`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import event
from sqlmodel import Session
from starlette.requests import HTTPConnection, Request

from gateway.audit import AuditLog
from gateway.config.settings import ROLES, GatewaySettings, Role
from gateway.db.engine import reader, writer
from gateway.service import Gateway

from .errors import ApiError

__all__ = [
    "API_PREFIX",
    "ROLE_ATTR",
    "USER_SCOPE_KEY",
    "AuditDep",
    "Clerk",
    "CurrentUser",
    "GatewayDep",
    "Operator",
    "SessionDep",
    "SettingsDep",
    "Technician",
    "User",
    "authenticate",
    "get_current_user",
    "reload_hall",
    "require",
    "roles_of",
    "token_digest",
]

log = logging.getLogger("hallvote.api")

API_PREFIX = "/api/v1"
"""Every route's path starts with it (routers carry it, so route templates are full paths)."""

USER_SCOPE_KEY = "hallvote.user"
"""Where the authenticated :class:`User` is left in the ASGI scope (read by the audit middleware)."""
ROLE_ATTR = "__hallvote_roles__"
"""Attribute of a :func:`require` dependency naming the roles it admits (OpenAPI, tests)."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role


def token_digest(token: str) -> str:
    """Lower-case hex SHA-256 of a bearer token, as ``token_sha256`` in the settings."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(settings: GatewaySettings, token: str | None) -> User | None:
    """The user whose token this is, or None; every entry is compared, in constant time."""
    if not token:
        return None
    digest = token_digest(token).encode("ascii")
    found: User | None = None
    for entry in settings.users:
        if hmac.compare_digest(digest, entry.token_sha256.encode("ascii")):
            found = User(entry.name, entry.role)
    return found


# --------------------------------------------------------------------------- app state


def get_gateway(conn: HTTPConnection) -> Gateway:
    gateway: Gateway = conn.app.state.gateway
    return gateway


def get_settings(conn: HTTPConnection) -> GatewaySettings:
    settings: GatewaySettings = conn.app.state.settings
    return settings


def get_audit(conn: HTTPConnection) -> AuditLog | None:
    audit: AuditLog | None = conn.app.state.audit
    return audit


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
AuditDep = Annotated[AuditLog | None, Depends(get_audit)]


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request, gateway: GatewayDep) -> Iterator[Session]:
    """A session per request.  A GET only reads (never takes SQLite's write lock); any other
    request's first transaction takes the write lock up front, so parallel writes queue instead
    of failing; what the request reads after its commit is read without the lock again."""
    if request.method in _READS:
        with Session(reader(gateway.engine)) as session:
            yield session
        return
    with Session(writer(gateway.engine)) as session:

        def _then_read(s: Session) -> None:
            s.bind = reader(gateway.engine)

        event.listen(session, "after_commit", _then_read)
        event.listen(session, "after_rollback", _then_read)
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


# --------------------------------------------------------------------------- authentication

_bearer = HTTPBearer(
    auto_error=False,
    description="令牌 / bearer token of a user in the gateway's settings (chair, clerk, technician, display)",
)


def get_current_user(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    user = authenticate(settings, credentials.credentials if credentials is not None else None)
    if user is None:
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            "需要有效的令牌 / a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.scope[USER_SCOPE_KEY] = user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
"""Any authenticated user (every role may read)."""

_ROLE_ZH = {"chair": "主持人", "clerk": "工作人员", "technician": "技术人员", "display": "显示屏"}


def require(*roles: Role) -> Any:
    """A dependency admitting only users of ``roles`` (403 for the others, 401 without a token)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            zh = "、".join(_ROLE_ZH[r] for r in roles)
            raise ApiError(
                403,
                "FORBIDDEN",
                f"此操作仅限{zh} / only {', '.join(roles)} may do this (you are {user.role})",
            )
        return user

    setattr(check, ROLE_ATTR, tuple(roles))
    return Depends(check)


Clerk = Annotated[User, require("clerk")]
"""Bodies, members, sittings and their seat maps, motions."""
Technician = Annotated[User, require("technician")]
"""Halls, seats, keypads."""
Operator = Annotated[User, require("chair", "clerk")]
"""Running the sitting: activate, check-in, start, close, rounds (the chair, and the clerk beside them)."""


# --------------------------------------------------------------------------- the hall after setup changes


def reload_hall(gateway: Gateway) -> None:
    """Rebuild the gateway's state after a setup change (roster, seat map, keypads), keeping its sitting.

    ``Gateway.reload`` keeps the sitting that was current.
    """
    gateway.reload()


def roles_of(dependant: Any) -> tuple[str, ...] | None:
    """The roles a route admits, found in its dependency tree; None when it needs none."""
    call: Callable[..., Any] | None = getattr(dependant, "call", None)
    roles = getattr(call, ROLE_ATTR, None)
    if roles is not None:
        return tuple(roles)
    found: tuple[str, ...] | None = None
    for sub in getattr(dependant, "dependencies", ()):
        inner = roles_of(sub)
        if inner is not None:
            found = inner
        elif found is None and getattr(sub, "call", None) is get_current_user:
            found = ROLES
    return found
