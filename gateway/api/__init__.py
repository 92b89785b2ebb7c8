"""The gateway's HTTP API (FastAPI): setup, sittings, motions, rounds, results, and the live stream.

=====================  ====================================================
module                 what
=====================  ====================================================
:mod:`.app`            :func:`create_app`, OpenAPI tags and description
:mod:`.deps`           ``Annotated`` dependencies: session, gateway, user, roles
:mod:`.errors`         refusals as ``{code, message}`` with their HTTP status
:mod:`.audit_calls`    every mutating call into the audit log (``api.call``)
:mod:`.setup`          bodies, members, halls, seats, keypads, CSV imports
:mod:`.sittings`       sittings, seat maps, attendance, check-in, start, close
:mod:`.motions`        motions, rounds, results
:mod:`.live`           GET /live, WebSocket /ws/live, /me
:mod:`.health`         GET /health: broker, database, sitting (no token; 503 when degraded)
:mod:`.edge`           before any route: body limit, authentication, docs, text
=====================  ====================================================

Served by ``hallvote gateway run --config hall.toml`` (:mod:`gateway.cli.gateway`).
"""

from .app import create_app
from .deps import API_PREFIX

__all__ = ["API_PREFIX", "create_app"]
