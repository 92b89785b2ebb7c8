"""No ack without durability, through the real gateway process, a real Mosquitto and a store that goes away.

* PostgreSQL behind a TCP proxy that is cut in the middle of a burst of
  presses (every connection reset, new ones refused) and restored a few
  seconds later; three runs in a row.
* SQLite on a small tmpfs that is filled up in the middle of a burst
  (SQLITE_FULL), then given space again.

While the store is away every frame is answered BUSY and the chair's close
gets HTTP 503 ``STORE_UNAVAILABLE`` and closes nothing (memory and store
agree).  Afterwards: every press the gateway acked has its row, the
gateway's live picture equals a fresh load of the store, and the tally of
the round closed afterwards equals the stored ballots.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import itertools
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hvtest.databases import postgres_database, sqlite_url
from hvtest.gatewayproc import GatewayProcess, SimKeypad, free_port, wait_for, write_config
from hvtest.mosquitto import running_broker
from hvtest.seed import SeededHall, seed_hall
from hvtest.tcpproxy import TcpProxy, tcp_proxy
from hvtest.tools import missing
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from gateway.audit import AuditLog
from gateway.db import init_db, make_engine
from gateway.service import Gateway
from gateway.store import tables as t
from protocol import codec, consts, frames, reasons

HALL = "county-hall"
MEMBERS = 30
PRESSES = 6
Y, N_, A = consts.YES, consts.NO, consts.ABSTAIN
MOTION = {
    "title": "关于本县2027年民生实事项目的决议",
    "ballot_kind": consts.YES_NO_ABSTAIN,
    "secret": False,
    "press_policy": consts.LAST_PRESS,
    "passing_rule": {"base": "all", "numerator": 1, "denominator": 2, "strict": True},
}


@dataclass
class Outage:
    """How to take the store away and bring it back."""

    cut: Callable[[], None]
    restore: Callable[[], None]


@dataclass
class Env:
    engine: Engine
    hall: SeededHall
    gateway: GatewayProcess
    keypads: dict[str, SimKeypad]
    outage: Outage


@contextlib.contextmanager
def _running(tmp_path: Path, url: str, gateway_url: str, outage: Outage) -> Iterator[Env]:
    devices = [f"kp-{i}" for i in range(1, MEMBERS + 1)]
    with running_broker(tmp_path, hall=HALL, devices=devices) as broker:
        engine = make_engine(url)
        init_db(engine)
        hall = seed_hall(engine, hall_id=HALL, members=MEMBERS)
        api_port = free_port()
        config = write_config(
            tmp_path / "hall.toml", hall=HALL, database_url=gateway_url, broker=broker, api_port=api_port
        )
        proc = GatewayProcess(config, api_port, tmp_path / "gateway.log")
        keypads = {dev: SimKeypad(broker, hall.keypads[dev]) for dev in devices}
        try:
            proc.start()
            for kp in keypads.values():
                kp.connect()
            yield Env(engine, hall, proc, keypads, outage)
        finally:
            outage.restore()
            for kp in keypads.values():
                kp.close()
            proc.stop()
            engine.dispose()


@pytest.fixture
def pg_env(tmp_path: Path) -> Iterator[Env]:
    for url in postgres_database():
        parsed = make_url(url)
        with tcp_proxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            via_proxy = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            with _running(tmp_path, url, via_proxy, Outage(proxy.cut, proxy.restore)) as env:
                yield env
            _assert_proxy_was_used(proxy)


def _assert_proxy_was_used(proxy: TcpProxy) -> None:
    assert proxy.connections > 0 and proxy.refused > 0, "the gateway never met the outage"


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        missing(f"cannot mount a tmpfs to fill up (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the filesystem has no byte left."""
    chunk = b"\0" * 65536
    with path.open("wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    f.write(chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        os.fsync(f.fileno())


@pytest.fixture
def sqlite_env(tmp_path: Path) -> Iterator[Env]:
    with small_tmpfs(tmp_path / "disk", "24m") as disk:
        url = sqlite_url(disk)
        filler = disk / "filler"
        outage = Outage(lambda: fill(filler), lambda: filler.unlink(missing_ok=True))
        with _running(tmp_path, url, url, outage) as env:
            yield env


def _acked(env: Env) -> int:
    return sum(sum(isinstance(r, frames.Ack) for r in kp.replies.values()) for kp in env.keypads.values())


def _busy(env: Env) -> int:
    return sum(
        sum(getattr(r, "reason", None) == reasons.BUSY for r in list(kp.history))
        for kp in env.keypads.values()
    )


def _comparable(snapshot: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in snapshot.items() if k != "version"}


def _burst_through_an_outage(env: Env) -> None:
    hall, gw = env.hall, env.gateway
    sid = hall.sitting_id
    kps = list(env.keypads.values())
    gw.api("POST", f"/sittings/{sid}/checkin/open").raise_for_status()
    wait_for(lambda: any(codec.decode(b).TYPE == consts.SITTING_STATE for b in kps[0].broadcasts))
    nonce = next(
        f.sitting_nonce for f in map(codec.decode, kps[0].broadcasts) if isinstance(f, frames.SittingState)
    )
    for kp in kps:
        kp.send(kp.keypad.check_in(sid, nonce))
    wait_for(lambda: all(not kp.pending for kp in kps), retransmit=kps)
    gw.api("POST", f"/sittings/{sid}/start").raise_for_status()
    motion_id = gw.api("POST", f"/sittings/{sid}/motions", role="clerk", json=MOTION).json()["id"]
    gw.api("POST", f"/motions/{motion_id}/rounds/1/open").raise_for_status()
    wait_for(lambda: any(codec.decode(b).TYPE == consts.MOTION_OPEN for b in kps[0].broadcasts))
    round_nonce = next(
        f.round_nonce for f in map(codec.decode, kps[0].broadcasts) if isinstance(f, frames.MotionOpen)
    )

    presses: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    cycle = itertools.cycle([Y, N_, A, Y, Y, N_, A])
    for _ in range(PRESSES):
        for kp in kps:
            choice = next(cycle)
            frame = kp.keypad.vote(motion_id, 1, round_nonce, (choice,))
            presses[kp.keypad.device_id].append((kp.send(frame), choice))
    total = sum(len(p) for p in presses.values())
    before = _acked(env)
    wait_for(lambda: _acked(env) >= before + 10, every=0.001)
    env.outage.cut()
    at_cut = _acked(env) - before
    # One more press per keypad after the cut: the gateway must write to answer them.
    for kp in kps:
        choice = next(cycle)
        presses[kp.keypad.device_id].append((kp.send(kp.keypad.vote(motion_id, 1, round_nonce, (choice,))), choice))
    total += len(kps)
    assert at_cut < total

    # The outage: keypads keep retransmitting and get BUSY; the chair's close is refused whole.
    wait_for(lambda: _busy(env) > 0, timeout=30, retransmit=kps)
    closing = gw.api("POST", f"/motions/{motion_id}/rounds/1/close")
    assert closing.status_code == 503, closing.text
    assert closing.json()["code"] == "STORE_UNAVAILABLE"
    live = gw.api("GET", "/live").json()
    assert live["round"]["state"] == "open"  # not closed in memory ...
    time.sleep(1.5)
    for kp in kps:
        kp.retransmit()
    time.sleep(0.5)
    env.outage.restore()
    with env.engine.connect() as conn:  # ... nor in the store
        state = conn.execute(select(t.round_.c.state).where(t.round_.c.motion_id == motion_id)).scalar()
    assert state == "open"

    wait_for(lambda: all(not kp.pending for kp in kps), timeout=90, retransmit=kps)
    print(f"{at_cut} of {total} presses acked at the cut; {_busy(env)} BUSY answers during the outage")

    # Every press was answered with an ack in the end, and every ack has its row.
    with env.engine.connect() as conn:
        rows = {
            (r.device_id, r.counter)
            for r in conn.execute(
                select(t.accepted.c.device_id, t.accepted.c.counter).where(
                    t.accepted.c.frame_type == consts.VOTE
                )
            )
        }
        ballots = {r.device_id: tuple(bytes(r.choices)) for r in conn.execute(select(t.named))}
    for dev, kp_presses in presses.items():
        for counter, _choice in kp_presses:
            reply = env.keypads[dev].replies[counter]
            assert isinstance(reply, frames.Ack), (dev, counter, reply)
            assert (dev, counter) in rows, f"{dev} counter {counter} acked without a row"
    assert ballots == {dev: (max(p)[1],) for dev, p in presses.items()}

    # The running gateway's memory equals a fresh load of the store.
    fresh = Gateway(env.engine, HALL)
    assert _comparable(gw.api("GET", "/live").json()) == _comparable(fresh.snapshot())

    # Closed now, in memory and store; the tally equals the stored ballots.
    gw.api("POST", f"/motions/{motion_id}/rounds/1/close").raise_for_status()
    result = gw.api("GET", f"/motions/{motion_id}/results").json()["rounds"][0]["result"]
    stored = collections.Counter(choice for (choice,) in ballots.values())
    assert result["items"][0]["counts"] == [stored[Y], stored[N_], stored[A]]
    assert result["voted"] == MEMBERS and result["not_pressed"] == 0
    assert _comparable(gw.api("GET", "/live").json()) == _comparable(Gateway(env.engine, HALL).snapshot())
    assert AuditLog(env.engine).verify().ok


@pytest.mark.mosquitto
@pytest.mark.slow
@pytest.mark.parametrize("run", [1, 2, 3])
def test_postgresql_cut_mid_burst(pg_env: Env, run: int) -> None:
    _burst_through_an_outage(pg_env)


@pytest.mark.mosquitto
@pytest.mark.slow
def test_sqlite_disk_full_mid_burst(sqlite_env: Env) -> None:
    _burst_through_an_outage(sqlite_env)
