"""The bridge end to end with the pure core: keypads on the TLS listener, the gateway on loopback.

Every keypad press goes keypad -> Mosquitto -> bridge -> core -> bridge ->
Mosquitto -> the keypad's ``down`` topic, signed and checked for real.
"""

from __future__ import annotations

from typing import Any

import pytest
from hvtest.halls import SITTING_NONCE, Hall
from hvtest.keypads import TestKeypad
from hvtest.mosquitto import MosquittoBroker

from gateway.core import commands
from gateway.core.events import VoteRecorded
from gateway.core.tally import count
from protocol import consts, reasons, topics
from protocol.frames import Ack, Nack

pytestmark = pytest.mark.mosquitto


def test_check_in_and_vote_through_the_broker(hall: Hall, core: Any, bridges: Any, device: Any) -> None:
    bridge = bridges(core)
    devices = {i: device(hall.kp(i)) for i in range(1, 5)}
    core.run(hall.open_checkin)

    # A vote before check-in is refused, with the frame's counter echoed.
    devices[4].send(hall.kp(4).vote(7, 1, b"\x00" * 8, (1,)))
    nack = devices[4].reply_for(hall.kp(4).counter)
    assert isinstance(nack, Nack)
    assert (nack.reason, nack.nacked_type) == (reasons.NOT_CHECKED_IN, consts.VOTE)

    # Check-ins: each keypad hears an ack for its own counter and seat.
    for i in (1, 2, 3):
        devices[i].send(hall.kp(i).check_in(42, SITTING_NONCE))
        ack = devices[i].reply_for(hall.kp(i).counter)
        assert isinstance(ack, Ack), ack
        assert (ack.reason, ack.acked_type, ack.ref_id, ack.seat) == (
            reasons.ACCEPTED,
            consts.CHECK_IN,
            42,
            f"A-{i}",
        )

    def open_motion() -> tuple[int, int]:
        hall.run(commands.start_session(hall.state, at=hall.now()))
        key = hall.add_motion(7)
        hall.open(key)
        return key

    key = core.run(open_motion)
    nonce = hall.sitting.rounds[key].nonce

    # Votes: acked with the counter, motion, round and (named) choice.
    sent = {}
    for i, choice in ((1, 1), (2, 2), (3, 3)):
        sent[i] = devices[i].send(hall.kp(i).vote(7, 1, nonce, (choice,)))
        ack = devices[i].reply_for(hall.kp(i).counter)
        assert isinstance(ack, Ack), ack
        assert (ack.reason, ack.acked_type, ack.ref_id, ack.round, ack.choices) == (
            reasons.ACCEPTED,
            consts.VOTE,
            7,
            1,
            (choice,),
        )

    # Keypad 4 never checked in: its vote in the open round is refused.
    devices[4].send(hall.kp(4).vote(7, 1, nonce, (1,)))
    nack = devices[4].reply_for(hall.kp(4).counter)
    assert isinstance(nack, Nack) and nack.reason == reasons.NOT_CHECKED_IN

    # A retransmission (same bytes) is acked again as ALREADY_RECORDED and counted once.
    devices[1].send(sent[1])
    counter_1 = hall.kp(1).counter
    ack = devices[1].reply_for(counter_1)
    assert isinstance(ack, Ack) and ack.reason == reasons.ALREADY_RECORDED

    # A frame signed with another key is refused BAD_SIGNATURE.
    forger = TestKeypad("kp-2", counter=hall.kp(2).counter)
    devices[2].send(forger.vote(7, 1, nonce, (1,)))
    nack = devices[2].reply_for(forger.counter)
    assert isinstance(nack, Nack)
    assert (nack.reason, nack.nacked_type) == (reasons.BAD_SIGNATURE, consts.VOTE)

    # A truncated frame is refused MALFORMED (its counter is still readable for the nack).
    cut = hall.kp(3).vote(7, 1, nonce, (1,))[:-10]
    devices[3].send(cut)
    nack = devices[3].reply_for(hall.kp(3).counter)
    assert isinstance(nack, Nack) and nack.reason == reasons.MALFORMED

    # Health frames on the status channel are acked too.
    devices[3].send(hall.kp(3).status(), channel="status")
    ack = devices[3].reply_for(hall.kp(3).counter)
    assert isinstance(ack, Ack) and ack.acked_type == consts.STATUS

    # The tally: one ballot each, kp-1's counted once despite the retransmission.
    run = hall.sitting.rounds[key]
    assert count(run.ballots.values(), consts.YES_NO_ABSTAIN, 1) == ((0, 1, 1, 1),)
    recorded = [e for e in hall.log if isinstance(e, VoteRecorded) and e.ballot.device_id == "kp-1"]
    assert len(recorded) == 1

    stats = bridge.stats()
    assert stats.received == stats.handled == len(core.decisions) == 12
    assert (stats.skipped, stats.refused, stats.dropped, stats.handler_errors) == (0, 0, 0, 0)
    assert stats.published == 12  # one reply each


def test_subscribes_exactly_the_halls_uplinks(broker: MosquittoBroker, core: Any, bridges: Any) -> None:
    bridge = bridges(core, start=False)
    assert bridge.client_id == f"hallvote-gw-{broker.hall}"
    assert bridge.filters == tuple(topics.device_filter(broker.hall, c) for c in ("up", "status", "presence"))
