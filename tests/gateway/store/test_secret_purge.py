"""A secret close is complete only when its purge is: a reader holding the WAL delays it, never defeats it.

SQLite: a reader's transaction that began before the close pins the WAL
frames that still hold the round's choices, so the checkpoint cannot empty
the WAL.  The gateway then reports the purge as pending (snapshot
``purge_pending``), keeps deciding keypad frames, retries after each batch,
and audits ``secret.purged`` once the WAL is empty.  The test scans the
database, -wal and -shm files' bytes for a device id next to its choices
(and for the frames' digests): present while the reader holds on, gone
after.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sqlite3
from pathlib import Path

from hvtest.databases import sqlite_engine  # noqa: F401  (fixture)
from hvtest.seed import add_motion, seed_hall
from sqlalchemy import Engine

from gateway.audit import AuditLog
from gateway.core.decide import Inbound
from gateway.service import Gateway
from protocol import codec, consts, frames

ITEMS = 10


def _files(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def _links(blob: bytes, votes: dict[str, bytes]) -> list[str]:
    """Devices whose id is stored right before their choices (a secret_pending row image)."""
    return [
        dev
        for dev, choices in votes.items()
        if re.search(re.escape(dev.encode()) + rb".{1,12}" + re.escape(choices), blob, re.S)
    ]


def test_a_reader_delays_the_purge_which_completes_after_it_and_is_audited(sqlite_engine: Engine) -> None:  # noqa: F811
    engine = sqlite_engine
    db = Path(str(engine.url.database))
    hall = seed_hall(engine, members=6)
    audit = AuditLog(engine)
    nonces = itertools.count(1)
    gw = Gateway(engine, hall.hall_id, audit_log=audit, nonce=lambda: next(nonces).to_bytes(8, "big"))
    gw.open_checkin("chair")
    gw.handle_batch(
        [
            Inbound(f"kp-{i}", "up", hall.kp(i).check_in(hall.sitting_id, gw.sitting.nonce), 1.0)
            for i in range(1, 7)
        ]
    )
    gw.start_session("chair")
    motion = add_motion(
        engine,
        hall.sitting_id,
        ballot_kind=consts.ITEM_LIST,
        items=[f"项目{n}" for n in range(1, ITEMS + 1)],
        secret=True,
        press_policy=consts.LAST_PRESS,
        passing_rule={"base": "present", "numerator": 1, "denominator": 2, "strict": True},
    )
    key = gw.add_motion(motion, "clerk")
    gw.open_round(key, "chair")
    nonce = gw.sitting.rounds[key].nonce
    votes: dict[str, bytes] = {}
    digests = []
    for i in range(1, 7):
        choices = tuple(((i + n) % 3) + 1 for n in range(ITEMS))
        frame = hall.kp(i).vote(key[0], 1, nonce, choices, kind=consts.ITEM_LIST)
        (reply,) = [codec.decode(o.payload) for o in gw.handle_batch([Inbound(f"kp-{i}", "up", frame, 2.0)])]
        assert isinstance(reply, frames.Ack), reply
        votes[f"kp-{i}"] = bytes(choices)
        digests.append(hashlib.sha256(frame).digest())

    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM secret_pending").fetchone() == (6,)  # holds its snapshot
    try:
        gw.close_round(key, "chair")
        assert gw.purge_pending == {key}
        assert gw.snapshot()["round"]["purge_pending"] is True
        held = _files(db)
        assert sorted(_links(held, votes)) == sorted(votes)  # the scan finds the links while they are there
        assert any(d in held for d in digests)
        # Keypad frames are still decided (and the purge retried, in vain) while the reader holds on.
        (ack,) = [
            codec.decode(o.payload)
            for o in gw.handle_batch([Inbound("kp-1", "status", hall.kp(1).status(), 3.0)])
        ]
        assert isinstance(ack, frames.Ack)
        assert gw.purge_pending == {key}
        assert not [r for r in audit.records() if r.kind == "secret.purged"]
    finally:
        reader.execute("COMMIT")
        reader.close()

    gw.handle_batch([Inbound("kp-2", "status", hall.kp(2).status(), 4.0)])  # the next batch retries: done
    assert gw.purge_pending == frozenset()
    assert gw.snapshot()["round"]["purge_pending"] is False
    purged = [r for r in audit.records() if r.kind == "secret.purged"]
    assert [(json.loads(r.payload)["motion"], json.loads(r.payload)["round"]) for r in purged] == [key]
    after = _files(db)
    assert _links(after, votes) == []
    assert not any(d in after for d in digests)
    assert gw.sitting.rounds[key].result is not None
