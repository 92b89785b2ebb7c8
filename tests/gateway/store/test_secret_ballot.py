"""After a secret round closes, nothing stored links a member, seat or device to a choice.

The test runs a secret round through the real gateway service on SQLite and
PostgreSQL, then dumps every table, the audit log and every log line, and
checks each for a link between a voter and what they chose.  On SQLite it
also scans the database file and its WAL for the bytes that would make the
link (the frames' digests and the pending rows' choice bytes).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hvtest.databases import engine  # noqa: F401  (fixture, SQLite and PostgreSQL)
from hvtest.seed import add_motion, seed_hall
from sqlalchemy import Engine, MetaData, select

from gateway.audit import AuditLog
from gateway.core.decide import Inbound
from gateway.service import Gateway
from protocol import consts

Y, N_, A = consts.YES, consts.NO, consts.ABSTAIN
IDENTITY_COLUMNS = {"member_id", "seat_id", "device_id", "member", "seat", "device"}
CHOICE_COLUMNS = {"choices", "choice", "item_counters", "digest"}


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:  # noqa: F811
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            name: [dict(r._mapping) for r in conn.execute(select(table))]
            for name, table in meta.tables.items()
        }


def test_secret_round_leaves_no_link_between_voter_and_choice(
    engine: Engine,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hall = seed_hall(engine, members=6)
    nonces = itertools.count(1)
    audit = AuditLog(engine)
    gw = Gateway(engine, hall.hall_id, audit_log=audit, nonce=lambda: next(nonces).to_bytes(8, "big"))
    gw.open_checkin("chair")
    gw.handle_batch(
        [
            Inbound(f"kp-{i}", "up", hall.kp(i).check_in(hall.sitting_id, gw.sitting.nonce), 1.0)
            for i in range(1, 7)
        ]
    )
    gw.start_session("chair")

    motion = add_motion(engine, hall.sitting_id, secret=True, press_policy=consts.LAST_PRESS)
    key = gw.add_motion(motion, "clerk")
    gw.open_round(key, "chair")
    nonce = gw.sitting.rounds[key].nonce
    presses = [(1, Y), (2, N_), (3, A), (4, Y), (2, Y), (5, N_)]  # member 2 changes their vote
    frames_sent = []
    for member, choice in presses:
        data = hall.kp(member).vote(key[0], 1, nonce, (choice,))
        frames_sent.append(data)
        gw.handle_batch([Inbound(f"kp-{member}", "up", data, 2.0)])
    final = {1: Y, 2: Y, 3: A, 4: Y, 5: N_}
    gw.close_round(key, "chair")
    gw.announce_round(key, "chair")

    tables = dump(engine)
    member_ids = {hall.members[m - 1]: c for m, c in final.items()}
    motion_row = key[0]
    round_ids = {r["id"] for r in tables["round"] if r["motion_id"] == motion_row}

    # 1. No table row about this round holds both an identity and a choice-like value.
    for name, rows in tables.items():
        for row in rows:
            about_round = row.get("round_id") in round_ids or (
                row.get("frame_type") == consts.VOTE and row.get("ref_id") == motion_row
            )
            if not about_round:
                continue
            identities = {c for c in IDENTITY_COLUMNS if row.get(c) is not None}
            choices = {c for c in CHOICE_COLUMNS if row.get(c) is not None}
            if name == "secret_tally":
                assert not identities, row
                continue
            assert not (identities and choices), f"{name} links a voter to a choice: {row}"
    assert tables["secret_pending"] == []
    assert {r["member_id"] for r in tables["secret_participation"]} == set(member_ids)
    assert {(r["choice"], r["count"]) for r in tables["secret_tally"]} == {(Y, 3), (N_, 1), (A, 1)}

    # 2. The audit log verifies, and names participation only.
    assert audit.verify().ok
    for rec in audit.records():
        assert rec.kind != "vote.recorded_named"
        if rec.kind == "vote.participation_secret":
            assert set(json.loads(rec.payload) if isinstance(rec.payload, str) else rec.payload) == {
                "motion",
                "round",
                "member",
            }
    kinds = [rec.kind for rec in audit.records()]
    assert kinds.count("vote.participation_secret") == 5 and "result.frozen" in kinds

    # 3. No log line carries a frame, a digest or a choice.
    digests = [hashlib.sha256(f).hexdigest() for f in frames_sent]
    for record in caplog.records:
        line = record.getMessage()
        assert not any(d in line for d in digests) and not any(f.hex() in line for f in frames_sent), line

    # 4. SQLite: the bytes are gone from the file and the WAL too (secure_delete + checkpoint).
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        blobs = [path.read_bytes()] + [p.read_bytes() for p in path.parent.glob(path.name + "-wal")]
        for f in frames_sent:
            digest = hashlib.sha256(f).digest()
            assert not any(digest in blob for blob in blobs), (
                "a vote frame's digest survived in the database file"
            )
