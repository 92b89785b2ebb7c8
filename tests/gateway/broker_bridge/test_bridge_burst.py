"""A burst: 500 votes from 50 keypads at once, every one acked exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from hvtest.halls import Hall

from gateway.core.tally import count
from protocol import codec, consts
from protocol.frames import Ack, Nack

pytestmark = pytest.mark.mosquitto

KEYPADS = 50
VOTES_EACH = 10


@pytest.fixture
def hall() -> Hall:
    return Hall(members=KEYPADS)


def _is_reply_to(payload: bytes, counter: int) -> bool:
    frame = codec.decode(payload)
    return isinstance(frame, (Ack, Nack)) and frame.counter == counter


def test_burst_of_500_votes_from_50_keypads_each_acked_once(
    hall: Hall, core: Any, bridges: Any, device: Any, wait_until: Any
) -> None:
    hall.in_session()
    key = hall.add_motion(7, policy=consts.LAST_PRESS)
    nonce = hall.open(key)
    bridge = bridges(core)
    # Keypads on the loopback listener: 50 TLS handshakes add nothing this test is about.
    devices = [device(hall.kp(i), tls=False) for i in range(1, KEYPADS + 1)]
    frames: dict[str, list[tuple[int, bytes]]] = {}
    for d in devices:
        frames[d.id] = []
        for n in range(VOTES_EACH):
            payload = d.kp.vote(7, 1, nonce, (1 + n % 3,))
            frames[d.id].append((d.kp.counter, payload))

    # Everyone at once, round-robin, without waiting for the broker's PUBACKs.
    for n in range(VOTES_EACH):
        for d in devices:
            d.client.client.publish(d.topic(), frames[d.id][n][1], qos=1)

    for d in devices:
        acks: dict[int, int] = {}
        while len(acks) < VOTES_EACH:
            frame = d.reply(timeout=30)
            assert isinstance(frame, Ack), (d.id, frame)
            acks[frame.counter] = acks.get(frame.counter, 0) + 1
            assert acks[frame.counter] == 1, f"{d.id}: counter {frame.counter} acked twice"
        assert set(acks) == {c for c, _ in frames[d.id]}
        # A sentinel after the burst: no second ack of anything arrives before its answer.
        d.send(d.kp.status(), channel="status")
        counter = d.kp.counter
        _, before = d.client.expect_where(lambda m, c=counter: _is_reply_to(m.payload, c))
        assert before == [], f"{d.id}: extra replies {[codec.decode(m.payload) for m in before]}"

    total = KEYPADS * (VOTES_EACH + 1)
    wait_until(lambda: bridge.stats().handled == total, "every frame handled")
    stats = bridge.stats()
    assert stats.received == stats.handled == total
    assert stats.handler_errors == stats.dropped == stats.skipped == stats.refused == 0
    assert sum(len(b) for b in core.batches) == total
    assert max(len(b) for b in core.batches) > 1  # batched, not one call per frame

    run = hall.sitting.rounds[key]
    assert len(run.ballots) == KEYPADS
    # Last press counts: the highest counter's choice, 1 + 9 % 3 == 1, for everyone.
    assert count(run.ballots.values(), consts.YES_NO_ABSTAIN, 1) == ((0, KEYPADS, 0, 0),)
