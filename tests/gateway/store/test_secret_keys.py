"""PostgreSQL: a secret round's pending choices are sealed under a per-round key that never enters the database.

* the rows hold no choice (zero bytes, no item counters), the sealed bytes
  open only with the round's key file (mode 0600, beside the gateway);
* a restart mid-round (a crash) recovers every pending choice from the key
  file and the rows; without the key file the gateway refuses to start
  rather than lose them;
* the close destroys the key file and audits ``secret.purged``; the sealed
  bytes read before can no longer be opened;
* PostgreSQL's own WAL never held the choices: a scan of the server's
  newest WAL segments finds an unsealed control round's choices but not
  the sealed round's (needs the server's data directory readable, as on a
  hall gateway with a local server).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hvtest.databases import postgres_database
from hvtest.seed import SeededHall, add_motion, seed_hall
from hvtest.tools import missing
from sqlalchemy import Engine, select, text

from gateway.audit import AuditLog
from gateway.core.decide import Inbound
from gateway.core.state import RoundKey
from gateway.db import init_db, make_engine
from gateway.service import Gateway
from gateway.store import tables as t
from gateway.store.secretkeys import MissingRoundKey, RoundKeys
from protocol import codec, consts, frames

ITEMS = 12
MEMBERS = 5


@pytest.fixture
def pg() -> Iterator[Engine]:
    for url in postgres_database():
        engine = make_engine(url)
        init_db(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def _gateway(engine: Engine, keys: Path | None) -> Gateway:
    nonces = itertools.count(int.from_bytes(os.urandom(2), "big") * 1000)
    return Gateway(
        engine,
        "county-hall",
        audit_log=AuditLog(engine),
        secret_keys=keys,
        nonce=lambda: next(nonces).to_bytes(8, "big"),
    )


def _in_session(gw: Gateway, hall: SeededHall) -> None:
    gw.open_checkin("chair")
    gw.handle_batch(
        [
            Inbound(f"kp-{i}", "up", hall.kp(i).check_in(hall.sitting_id, gw.sitting.nonce), 1.0)
            for i in range(1, MEMBERS + 1)
        ]
    )
    gw.start_session("chair")


def _secret_round(gw: Gateway, engine: Engine, hall: SeededHall) -> RoundKey:
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
    return key


def _vote(gw: Gateway, hall: SeededHall, key: RoundKey, i: int, choices: tuple[int, ...]) -> None:
    frame = hall.kp(i).vote(key[0], key[1], gw.sitting.rounds[key].nonce, choices, kind=consts.ITEM_LIST)
    (reply,) = [codec.decode(o.payload) for o in gw.handle_batch([Inbound(f"kp-{i}", "up", frame, 2.0)])]
    assert isinstance(reply, frames.Ack), reply


def _choices(i: int, salt: int) -> tuple[int, ...]:
    """A distinct 12-item ballot per (member, salt); salt 1 and 2 never give the same one."""
    return tuple(((i * 7 + n * salt + (n * n if salt == 1 else 0)) % 3) + 1 for n in range(ITEMS))


def test_pending_choices_are_sealed_recovered_after_a_crash_and_unreadable_after_close(
    pg: Engine, tmp_path: Path
) -> None:
    hall = seed_hall(pg, members=MEMBERS)
    keys_dir = tmp_path / "secret-keys"
    gw = _gateway(pg, keys_dir)
    _in_session(gw, hall)
    key = _secret_round(gw, pg, hall)
    voted = {i: _choices(i, 1) for i in range(1, MEMBERS + 1)}
    for i, choices in voted.items():
        _vote(gw, hall, key, i, choices)

    key_file = RoundKeys(keys_dir).path(key)
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pg.connect() as conn:
        rows = list(conn.execute(select(t.pending)))
    assert len(rows) == MEMBERS
    for row in rows:
        assert bytes(row.choices) == bytes(ITEMS) and row.item_counters is None and row.sealed is not None
        assert not any(bytes(c) in bytes(row.sealed) for c in voted.values())

    # A crash: a new gateway on the same store and key directory has every pending choice back.
    members = {m: i for i, m in enumerate(hall.members, start=1)}
    recovered = _gateway(pg, keys_dir)
    run = recovered.sitting.rounds[key]
    assert {members[m]: b.choices for m, b in run.ballots.items()} == voted
    # Without the key file the pending choices cannot be read: refuse to start rather than lose them.
    with pytest.raises(MissingRoundKey):
        _gateway(pg, tmp_path / "empty")
    _vote(recovered, hall, key, 2, _choices(2, 2))  # last press counts, sealed again
    voted[2] = _choices(2, 2)

    recovered.close_round(key, "chair")
    assert not key_file.exists() and recovered.purge_pending == frozenset()
    purged = [json.loads(r.payload) for r in AuditLog(pg).records() if r.kind == "secret.purged"]
    assert purged == [{"motion": key[0], "round": key[1]}]
    with pytest.raises(MissingRoundKey):
        RoundKeys(keys_dir).open(key, 1, rows[0].member_id, bytes(rows[0].sealed))
    totals = recovered.sitting.rounds[key].totals
    for item in range(ITEMS):
        expected = [sum(1 for c in voted.values() if c[item] == code) for code in (1, 2, 3)]
        assert list(totals[item][1:4]) == expected
    with pg.connect() as conn:
        assert conn.execute(select(t.pending)).all() == []


def test_postgresql_wal_never_holds_a_sealed_rounds_choices(pg: Engine, tmp_path: Path) -> None:
    with pg.connect() as conn:
        try:
            data_dir = Path(conn.execute(text("SHOW data_directory")).scalar_one())
        except Exception as exc:  # not a superuser
            missing(f"cannot ask PostgreSQL for its data directory: {exc}")
    wal_dir = data_dir / "pg_wal"
    if not os.access(wal_dir, os.R_OK):
        missing(f"PostgreSQL's WAL directory {wal_dir} is not readable here (remote server or not root)")
    hall = seed_hall(pg, members=MEMBERS)
    # A control round without keys (choices in the clear) shows that the scan finds what is there.
    plain = _gateway(pg, None)
    _in_session(plain, hall)
    control = _secret_round(plain, pg, hall)
    control_votes = {i: _choices(i, 2) for i in range(1, MEMBERS + 1)}
    for i, choices in control_votes.items():
        _vote(plain, hall, control, i, choices)
    plain.close_round(control, "chair")
    plain.close()

    sealed_gw = _gateway(pg, tmp_path / "keys")
    key = _secret_round(sealed_gw, pg, hall)
    sealed_votes = {i: _choices(i, 1) for i in range(1, MEMBERS + 1)}
    assert not set(sealed_votes.values()) & set(control_votes.values())
    for i, choices in sealed_votes.items():
        _vote(sealed_gw, hall, key, i, choices)
    sealed_gw.close_round(key, "chair")
    with pg.connect() as conn:
        conn.execute(text("SELECT pg_switch_wal()"))

    newest = sorted(
        (p for p in wal_dir.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name)),
        key=lambda p: p.stat().st_mtime,
    )[-3:]
    blob = b"".join(p.read_bytes() for p in newest)
    assert any(bytes(c) in blob for c in control_votes.values()), "the scan did not find the control round"
    assert not any(bytes(c) in blob for c in sealed_votes.values())
