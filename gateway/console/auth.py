"""Console sign-in: passwords (argon2), session cookies, CSRF tokens, idle timeout, sign-out.

Rules:

* a person signs in with the name and password of a ``[[users]]`` entry that
  has a ``password_argon2`` (``hallvote user passwd``); a wrong name and a
  wrong password get the same answer, and both cost one argon2 verify;
* the session cookie (``hv_session``) is a random token: HttpOnly,
  SameSite=Strict, Secure when the request came over TLS; only its SHA-256
  is stored (table ``console_session``), so sessions outlive a restart;
* every console form carries the session's CSRF token (field ``csrf``); a
  POST with a missing or wrong one is refused with 403 ``CSRF_INVALID`` and
  changes nothing; the sign-in form has its own (cookie ``hv_login``);
* people are signed out after ``[console] idle_timeout_min`` without a
  request; the display role's screen session never times out;
* a user removed from hall.toml, or whose role changed, is signed out at
  the next request (the session is checked against the settings each time);
* the user is left in the request scope for the audit middleware, so the
  audit log names the person behind every console action.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Depends, Request
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col

from gateway.api.deps import USER_SCOPE_KEY, User
from gateway.config.settings import GatewaySettings, Role, UserEntry
from gateway.db.engine import reader
from gateway.db.models import ConsoleSession
from gateway.db.types import utcnow

__all__ = [
    "COOKIE",
    "LOGIN_COOKIE",
    "ConsoleUser",
    "NotSignedIn",
    "PageUser",
    "check_csrf",
    "check_password",
    "end_session",
    "hash_password",
    "page_user",
    "require_page",
    "session_user",
    "start_session",
]

COOKIE = "hv_session"
LOGIN_COOKIE = "hv_login"
TOUCH_EVERY = dt.timedelta(seconds=30)
"""``last_seen`` is written at most this often per session."""

_hasher = PasswordHasher()
# What an unknown name is verified against, so it costs one argon2 verify like a known one.  Written out
# (the hash of "hallvote: no such user" with the hasher's parameters) rather than hashed at import, which
# cost every gateway and CLI process start an argon2 hash; tests/gateway/console/test_auth.py checks
# that its parameters are the hasher's.
_DUMMY = "$argon2id$v=19$m=65536,t=3,p=4$AlOAhHACYNxKV7KN9LFmfw$fNRUq3+De0FfC9ODiDaLfNx3cK3g1CUP9DYcd5jZpFI"


class NotSignedIn(Exception):
    """No valid session: the page redirects to the sign-in form (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CsrfInvalid(Exception):
    """A console POST without the session's CSRF token."""


class Forbidden(Exception):
    """The signed-in person's role may not do this."""

    def __init__(self, user: User, roles: tuple[str, ...]) -> None:
        super().__init__(user.role)
        self.user = user
        self.roles = roles


@dataclass(frozen=True)
class ConsoleUser:
    user: User
    csrf: str

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> Role:
        return self.user.role


def hash_password(password: str) -> str:
    """The argon2id hash stored as ``password_argon2``."""
    return _hasher.hash(password)


def check_password(settings: GatewaySettings, name: str, password: str) -> UserEntry | None:
    """The user entry when ``password`` is right; one argon2 verify whatever the name."""
    entry = next((u for u in settings.users if u.name == name.strip()), None)
    stored = entry.password_argon2 if entry is not None else None
    ok: bool
    try:
        ok = _hasher.verify(stored or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    return entry if ok and entry is not None and stored is not None else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(engine: Engine, entry: UserEntry) -> tuple[str, ConsoleSession]:
    """A new session for ``entry``: the cookie token (returned once) and its row."""
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id=_digest(token), user_name=entry.name, role=entry.role, csrf=secrets.token_urlsafe(32)
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return token, row


def end_session(engine: Engine, token: str | None) -> None:
    if not token:
        return
    with Session(engine) as session:
        session.execute(delete(ConsoleSession).where(col(ConsoleSession.id) == _digest(token)))
        session.commit()


def session_user(engine: Engine, settings: GatewaySettings, token: str | None) -> ConsoleUser:
    """The person behind a session cookie, or :class:`NotSignedIn`; touches ``last_seen``.

    Reads without a write lock; writes (touch, or ending an idle session) only when needed.
    """
    if not token:
        raise NotSignedIn("none")
    now = utcnow()
    digest = _digest(token)
    with Session(reader(engine)) as session:
        row = session.get(ConsoleSession, digest)
        if row is not None:
            session.expunge(row)
    if row is None:
        raise NotSignedIn("unknown")
    entry = next((u for u in settings.users if u.name == row.user_name), None)
    idle = dt.timedelta(minutes=settings.console.idle_timeout_min)
    ended = None
    if entry is None or entry.role != row.role:
        ended = "user-changed"
    elif row.role != "display" and now - row.last_seen > idle:
        ended = "idle"
    if ended is not None:
        end_session(engine, token)
        raise NotSignedIn(ended)
    assert entry is not None
    if now - row.last_seen > TOUCH_EVERY:
        with Session(engine) as session:
            session.execute(
                update(ConsoleSession).where(col(ConsoleSession.id) == digest).values(last_seen=now)
            )
            session.commit()
    return ConsoleUser(User(row.user_name, entry.role), row.csrf)


def page_user(request: Request) -> ConsoleUser:
    """Dependency: the signed-in person (else :class:`NotSignedIn`), left in scope for the audit log."""
    gateway = request.app.state.gateway
    settings: GatewaySettings = request.app.state.settings
    found = session_user(gateway.engine, settings, request.cookies.get(COOKIE))
    request.scope[USER_SCOPE_KEY] = found.user
    return found


PageUser = Annotated[ConsoleUser, Depends(page_user)]


def require_page(*roles: Role) -> Any:
    """A dependency admitting only signed-in people of ``roles`` (others get the 403 page)."""

    def check(user: PageUser) -> ConsoleUser:
        if user.role not in roles:
            raise Forbidden(user.user, tuple(roles))
        return user

    return Depends(check)


def check_csrf(expected: str, given: str | None) -> None:
    """:class:`CsrfInvalid` unless ``given`` is the token (constant-time)."""
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfInvalid()
