"""The gateway's tables as SQLAlchemy Core ``Table`` objects, for the hot path."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table

from gateway.db import models as m

__all__ = [
    "accepted",
    "attendance",
    "body",
    "device",
    "manual",
    "member",
    "motion",
    "named",
    "participation",
    "pending",
    "result",
    "round_",
    "seat",
    "seat_assignment",
    "secret_tally",
    "sitting",
]


def _t(model: Any) -> Table:
    return cast(Table, model.__table__)


seat = _t(m.Seat)
device = _t(m.Device)
accepted = _t(m.AcceptedFrame)
sitting = _t(m.Sitting)
body = _t(m.Body)
member = _t(m.Member)
seat_assignment = _t(m.SeatAssignment)
attendance = _t(m.Attendance)
motion = _t(m.Motion)
round_ = _t(m.Round)
named = _t(m.NamedBallot)
pending = _t(m.SecretPending)
participation = _t(m.SecretParticipation)
secret_tally = _t(m.SecretTally)
result = _t(m.Result)
manual = _t(m.ManualCount)
