"""SQLite's secure_delete leaves copies of moved cells in a page's free space: the secret purge rewrites the file.

Found by ``hallvote evidence`` (one secret vote frame's SHA-256 in the
database file after its round closed and the WAL was checkpointed): when
SQLite balances a b-tree page it writes the cells anew and leaves the
bytes of cells that were there before in the page's unallocated space;
``secure_delete`` zeroes only what a delete frees.  A row whose digest was
cleared later (the close clears a secret round's frame digests) can thus
keep an older copy of its digest in such a gap.  This test runs the
gateway's own writes on ``accepted_frame`` (check-ins, votes, health
frames in batches, a secret round's digests cleared), shows that a
checkpoint alone leaves a digest behind, and that the purge
(:func:`vacuum_sqlite`) leaves none and keeps every row.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from hvtest.databases import sqlite_engine  # noqa: F401  (fixture)
from hvtest.seed import seed_hall
from sqlalchemy import Engine, func, insert, select, update

from gateway.store import tables as t
from gateway.store.purge import checkpoint_sqlite, vacuum_sqlite
from protocol import consts

MEMBERS = 300


def _files(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def _sitting(engine: Engine, devices: list[str], seed: int) -> list[bytes]:
    """One sitting's accepted frames, written as the gateway writes them; the secret rounds' digests."""
    rng = random.Random(seed)
    counters = dict.fromkeys(devices, 0)
    secret: list[bytes] = []

    def batch(frame_type: int, ref: int, k: int) -> None:
        rows = []
        for dev in rng.sample(devices, k):
            counters[dev] += 1
            digest = hashlib.sha256(f"{seed} {dev} {counters[dev]}".encode()).digest()
            rows.append(
                {"device_id": dev, "counter": counters[dev], "frame_type": frame_type, "reason": 0,
                 "ref_id": ref, "round": 1 if frame_type == consts.VOTE else 0, "digest": digest}
            )  # fmt: skip
            if frame_type == consts.VOTE and ref % 2 == 0:
                secret.append(digest)
        with engine.begin() as conn:
            conn.execute(insert(t.accepted), rows)

    for _ in range(10):
        batch(consts.CHECK_IN, 1, 30)
    for motion in range(1, 5):  # even motions are secret
        for _ in range(rng.randint(10, 40)):
            batch(consts.VOTE, motion, rng.randint(1, 30))
            if rng.random() < 0.2:
                batch(consts.STATUS, 0, rng.randint(1, 50))
        if motion % 2 == 0:  # the close clears the round's frame digests (gateway.store.writer)
            with engine.begin() as conn:
                conn.execute(
                    update(t.accepted)
                    .where(t.accepted.c.frame_type == consts.VOTE, t.accepted.c.ref_id == motion,
                           t.accepted.c.round == 1)
                    .values(digest=None)
                )  # fmt: skip
    return secret


def test_a_cleared_digest_left_in_page_free_space_is_gone_after_the_purge(sqlite_engine: Engine) -> None:  # noqa: F811
    engine = sqlite_engine
    db = Path(str(engine.url.database))
    hall = seed_hall(engine, members=MEMBERS)
    devices = sorted(hall.keypads)
    secret: list[bytes] = []
    for seed in range(7, 47):  # sittings until SQLite has left one behind (seed 7 does with this schema)
        with engine.begin() as conn:
            conn.execute(t.accepted.delete())
        secret = _sitting(engine, devices, seed)
        assert checkpoint_sqlite(engine)
        if any(d in _files(db) for d in secret):
            print(f"seed {seed}: a cleared digest left in free space after the checkpoint")
            break
    left = [d for d in secret if d in _files(db)]
    assert left, "no workload left a cleared digest in free space: the test cannot show the purge works"
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(t.accepted)).scalar_one()
        assert not conn.execute(select(t.accepted).where(t.accepted.c.digest.in_(left))).first()
    assert vacuum_sqlite(engine)
    blob = _files(db)
    assert [d for d in secret if d in blob] == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.accepted)).scalar_one() == rows
