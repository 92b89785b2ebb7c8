"""Audit tests run on SQLite and PostgreSQL (hvtest.databases), with a small sitting's events to log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hvtest.databases import engine
from sqlalchemy import Engine

from gateway.audit.log import AuditLog, Event

__all__ = ["audit", "engine", "sitting_events"]


def _sitting(secret: bool = True) -> list[Event]:
    """A sitting as the gateway would log it: check-in, a round, its result, a device swap."""
    chair = "user:chair-li"
    ev = [
        Event("config.loaded", "system", {"source": "/etc/hallvote/hall.toml", "digest": "ab" * 32}),
        Event("sitting.opened", chair, {"sitting": 1, "body": "县人大常委会", "title": "第十二次会议"}),
        Event("sitting.checkin_opened", chair, {"sitting": 1}),
    ]
    for i, seat in enumerate(("A-01", "A-02", "A-03"), start=1):
        ev.append(
            Event(
                "checkin.recorded",
                f"device:kp-{i}",
                {"sitting": 1, "member": 100 + i, "seat": seat, "device": f"kp-{i}", "late": i == 3},
            )
        )
    ev.append(
        Event(
            "round.opened",
            chair,
            {
                "sitting": 1,
                "motion": "m-1",
                "round": 1,
                "secret": secret,
                "quorum_expected": 3,
                "quorum_present": 3,
                "override": False,
            },
        )
    )
    for i in (1, 2, 3):
        if secret:
            ev.append(
                Event(
                    "vote.participation_secret",
                    f"device:kp-{i}",
                    {"motion": "m-1", "round": 1, "member": 100 + i},
                )
            )
        else:
            ev.append(
                Event(
                    "vote.recorded_named",
                    f"device:kp-{i}",
                    {"motion": "m-1", "round": 1, "member": 100 + i, "seat": f"A-0{i}", "choices": [i]},
                )
            )
    ev += [
        Event("round.closed", chair, {"motion": "m-1", "round": 1}),
        Event(
            "result.frozen",
            "system",
            {
                "motion": "m-1",
                "round": 1,
                "rule": "到会代表半数以上",
                "totals": {"yes": 2, "no": 1, "abstain": 0},
                "outcome": "passed",
                "ballot_kind": 1,
                "expected": 3,
                "present": 3,
                "voted": 3,
                "item_outcomes": {"1": 1},
            },
        ),
        Event("round.announced", chair, {"motion": "m-1", "round": 1}),
        Event(
            "device.swapped",
            "user:tech-wang",
            {
                "seat": "A-02",
                "member": 2,
                "from": "kp-2",
                "to": "kp-9",
                "from_key_fingerprint": "ab" * 32,
                "to_key_fingerprint": "cd" * 32,
            },
        ),
        Event(
            "api.call",
            "user:tech-wang",
            {"method": "POST", "path": "/seats/{seat_id}/swap", "role": "technician", "status": 200},
        ),
        Event("sitting.closed", chair, {"sitting": 1}),
    ]
    return ev


@pytest.fixture
def sitting_events() -> Callable[..., list[Event]]:
    return _sitting


@pytest.fixture
def audit(engine: Engine) -> AuditLog:
    """An empty audit log on a fresh, migrated database (SQLite, then PostgreSQL)."""
    return AuditLog(engine)
