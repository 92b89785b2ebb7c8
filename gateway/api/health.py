"""``GET /api/v1/health``: the truth about the gateway's dependencies, without a token.

::

    {"status": "ok" | "degraded",
     "hall": "county-hall", "version": 12,
     "broker":   {"connected": true, "since": "2026-...Z", "failures": 0, "last_error": null},
     "database": {"reachable": true, "checked_at": "...Z", "error": null,
                  "last_commit_at": "...Z", "last_commit_ms": 3.1},
     "sitting":  {"id": 1, "state": "in_session"} | null}

503 with ``status: degraded`` when the broker is not connected or the
database does not answer; 200 otherwise.  ``since`` is when the current
connection (or, when down, the current outage) began.  The database is
tried with ``SELECT 1`` at most every :data:`DB_CHECK_S` seconds (a
health poller cannot pile up connections), bounded by
:data:`DB_TIMEOUT_S`.  An app without a broker bridge (a read-only API, a
test) reports ``broker: null`` and is judged on the database alone.  The
answer holds no secret and no vote.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from .deps import API_PREFIX

__all__ = ["DB_CHECK_S", "DB_TIMEOUT_S", "DatabaseProbe", "router"]

DB_CHECK_S = 2.0
DB_TIMEOUT_S = 3.0

router = APIRouter(prefix=API_PREFIX)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


class DatabaseProbe:
    """``SELECT 1`` at most every DB_CHECK_S seconds, one at a time; the last answer is kept."""

    def __init__(self, engine: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._at = -1e9
        self.reachable: bool | None = None
        self.error: str | None = None
        self.checked_at: float | None = None

    def check(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # one probe at a time; the others use its answer
        try:
            if self._clock() - self._at < DB_CHECK_S:
                return
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                self.reachable, self.error = True, None
            except Exception as exc:
                self.reachable, self.error = False, str(exc).splitlines()[0][:200]
            self._at = self._clock()
            self.checked_at = time.time()
        finally:
            self._lock.release()


@router.get("/health", summary="健康检查 / Health", tags=["live"])
async def health(request: Request) -> JSONResponse:
    """无需令牌 / no token needed: broker connected (since when), database reachable with the last
    commit's latency, the active sitting; 503 when the broker or the database is down."""
    state = request.app.state
    gateway = state.gateway
    probe: DatabaseProbe = state.db_probe
    with anyio.move_on_after(DB_TIMEOUT_S):
        await anyio.to_thread.run_sync(probe.check, abandon_on_cancel=True)
    link_fn = getattr(state, "broker_link", None)
    broker = None
    if link_fn is not None:
        link = link_fn()
        broker = {
            "connected": link.connected,
            "since": _iso(link.since),
            "failures": link.failures,
            "last_error": link.last_error,
        }
    last = gateway.last_commit
    database = {
        "reachable": probe.reachable,
        "checked_at": _iso(probe.checked_at),
        "error": probe.error,
        "last_commit_at": _iso(last[0]) if last else None,
        "last_commit_ms": round(last[1] * 1000, 2) if last else None,
    }
    sitting = gateway.sitting
    healthy = probe.reachable is True and (broker is None or broker["connected"])
    body = {
        "status": "ok" if healthy else "degraded",
        "hall": gateway.hall_id,
        "version": gateway.version,
        "broker": broker,
        "database": database,
        "sitting": None
        if sitting is None
        else {"id": sitting.sitting_id, "state": sitting.state.name.lower()},
    }
    return JSONResponse(body, status_code=200 if healthy else 503)
