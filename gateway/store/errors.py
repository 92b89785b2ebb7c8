"""The store's typed errors: a failed commit, and one that failed because the store cannot be reached.

:func:`store_error` turns a driver exception into one of them; its text is the
exception's type and first line only, never SQL parameters or row values.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

__all__ = ["StoreError", "StoreUnavailable", "store_error", "unavailable"]


class StoreError(RuntimeError):
    """The store refused a commit; nothing of the batch or command is durable, nothing changed."""

    code = "STORE_FAILED"


class StoreUnavailable(StoreError):
    """The store cannot be reached (connection refused or lost, disk full): nothing changed; retry later."""

    code = "STORE_UNAVAILABLE"


def unavailable(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
    )


def store_error(exc: Exception) -> StoreError:
    """The typed error for a failed store operation; its text never carries SQL parameters."""
    kind = StoreUnavailable if unavailable(exc) else StoreError
    return kind(f"{type(exc).__name__}: {first_line(exc)}")


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig) if orig is not None else str(exc)).splitlines()[0][:200] if str(exc) else ""
