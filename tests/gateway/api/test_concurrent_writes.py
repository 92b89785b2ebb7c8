"""Parallel API writes never fail on SQLite (nor PostgreSQL), even during a burst of keypad presses.

SQLite allows one writer.  A transaction that began deferred and then
writes cannot wait for the lock (upgrading a read snapshot answers
``database is locked`` at once), so the store begins every write
transaction with ``BEGIN IMMEDIATE``: it waits its turn for the lock
instead.  100 seats are added by 100 parallel requests while the gateway
takes a 3000-press burst; every request succeeds and every press is acked.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from hvtest.databases import engine  # noqa: F401  (fixture, SQLite and PostgreSQL)
from hvtest.seed import add_motion, seed_hall
from sqlalchemy import Engine, func, select

from gateway.api import create_app
from gateway.audit import AuditLog
from gateway.core.decide import Inbound
from gateway.service import Gateway
from gateway.store import tables as t
from protocol import codec, consts, frames

MEMBERS = 300
PRESSES = 10  # per member: 3000 presses, last press counts
WRITERS = 100
BATCH = 64


def test_parallel_api_writes_during_a_burst_all_succeed(engine: Engine) -> None:  # noqa: F811
    import importlib

    conftest = importlib.import_module("tests.gateway.api.conftest")
    hall = seed_hall(engine, members=MEMBERS)
    audit = AuditLog(engine)
    gw = Gateway(engine, hall.hall_id, audit_log=audit)
    app = create_app(gw, conftest.settings_for(hall.hall_id), audit=audit, heartbeat_s=0.5)

    gw.open_checkin("chair")
    nonce = gw.sitting.nonce
    checkins = [
        Inbound(f"kp-{i}", "up", hall.kp(i).check_in(hall.sitting_id, nonce), 1.0)
        for i in range(1, MEMBERS + 1)
    ]
    for i in range(0, len(checkins), BATCH):
        gw.handle_batch(checkins[i : i + BATCH])
    gw.start_session("chair")
    key = gw.add_motion(
        add_motion(engine, hall.sitting_id, secret=False, press_policy=consts.LAST_PRESS), "clerk"
    )
    gw.open_round(key, "chair")
    round_nonce = gw.sitting.rounds[key].nonce
    presses = [
        Inbound(f"kp-{i}", "up", hall.kp(i).vote(key[0], 1, round_nonce, ((p % 3) + 1,)), 2.0)
        for p in range(PRESSES)
        for i in range(1, MEMBERS + 1)
    ]

    acks: list[frames.Frame] = []
    start = threading.Barrier(WRITERS + 1)

    def burst() -> None:
        start.wait()
        for i in range(0, len(presses), BATCH):
            out = gw.handle_batch(presses[i : i + BATCH])
            acks.extend(codec.decode(o.payload) for o in out if o.topic.endswith("/down"))

    headers = {"Authorization": f"Bearer {conftest.TOKENS['technician']}"}
    with TestClient(app) as client:

        def add_seat(n: int) -> int:
            start.wait()
            body = {"label": f"Z-{n}", "row": 90 + n // 50, "col": n % 50 + 1}
            return client.post(f"/api/v1/halls/{hall.hall_id}/seats", json=body, headers=headers).status_code

        keypads = threading.Thread(target=burst)
        keypads.start()
        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = list(pool.map(add_seat, range(WRITERS)))
        keypads.join(120)
        assert not keypads.is_alive()

    assert statuses == [201] * WRITERS
    assert len(acks) == len(presses) and all(isinstance(a, frames.Ack) for a in acks)
    with engine.connect() as conn:
        seats = conn.execute(
            select(func.count()).select_from(t.seat).where(t.seat.c.label.like("Z-%"))
        ).scalar()
        votes = conn.execute(
            select(func.count()).select_from(t.accepted).where(t.accepted.c.frame_type == consts.VOTE)
        ).scalar()
    assert seats == WRITERS and votes == len(presses)
    _ = time
