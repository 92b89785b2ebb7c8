"""apply on a fork never changes the state it was forked from (the gateway's committed state)."""

from __future__ import annotations

import copy
import dataclasses

from hvtest.halls import Hall

from gateway.core import commands
from gateway.core.apply import apply_all
from gateway.core.decide import Inbound, decide
from protocol import consts


def test_a_fork_takes_every_kind_of_event_and_the_origin_stays_as_it_was() -> None:
    hall = Hall(members=4)
    hall.in_session(present=3)
    named = hall.add_motion(7, policy=consts.LAST_PRESS)
    hall.open(named)
    hall.vote(1, named, consts.YES)
    secret = hall.add_motion(8, policy=consts.LAST_PRESS, secret=True)
    origin = hall.state
    frozen = copy.deepcopy(origin)

    fork = origin.fork()
    nonce = fork.sitting.rounds[named].nonce  # type: ignore[union-attr]
    for i, choice in [(1, consts.NO), (2, consts.YES)]:
        frame = hall.kp(i).vote(7, 1, nonce, (choice,))
        decision = decide(fork, Inbound(f"kp-{i}", "up", frame, hall.now()))
        assert decision.accepted, decision
        apply_all(fork, decision.events)
    late = hall.kp(4).check_in(42, fork.sitting.nonce)  # type: ignore[union-attr]
    apply_all(fork, decide(fork, Inbound("kp-4", "up", late, hall.now())).events)
    apply_all(fork, commands.close_round(fork, named, at=hall.now()))
    spec = dataclasses.replace(fork.sitting.motions[7], motion_id=9)  # type: ignore[union-attr]
    apply_all(fork, commands.add_motion(fork, spec, nonce=b"\0" * 8, at=hall.now()))
    events, _ = commands.open_round(fork, secret, at=hall.now())
    apply_all(fork, events)
    secret_nonce = fork.sitting.rounds[secret].nonce  # type: ignore[union-attr]
    frame = hall.kp(3).vote(8, 1, secret_nonce, (consts.ABSTAIN,))
    apply_all(fork, decide(fork, Inbound("kp-3", "up", frame, hall.now())).events)
    apply_all(fork, commands.close_round(fork, secret, at=hall.now()))
    apply_all(fork, commands.rerun(fork, 7, nonce=b"\1" * 8, at=hall.now()))

    assert origin == frozen  # nothing of the fork leaked into the committed state
    run = fork.sitting.rounds[named]  # type: ignore[union-attr]
    assert run.state.value == "closed" and run.totals[0][1:] == (1, 1, 0)
    assert fork.sitting.present == 4 and origin.sitting.present == 3  # type: ignore[union-attr]
    assert fork.sitting.rounds[secret].ballots == {}  # type: ignore[union-attr]
    assert 9 in fork.sitting.motions and 9 not in origin.sitting.motions  # type: ignore[union-attr]
    assert (7, 2) in fork.sitting.rounds and (7, 2) not in origin.sitting.rounds  # type: ignore[union-attr]
    assert fork.replay["kp-3"].accepted() != origin.replay["kp-3"].accepted()


def test_a_fork_of_a_large_hall_copies_nothing_a_vote_batch_does_not_change() -> None:
    """Per batch the fork copies no map of the hall's size that the batch does not write: keypads are
    shared (apply never writes them), attendance and motions are copied on the first check-in or motion."""
    hall = Hall(members=4)
    hall.in_session(present=3)
    key = hall.add_motion(7, policy=consts.LAST_PRESS)
    hall.open(key)
    origin = hall.state
    fork = origin.fork()
    nonce = fork.sitting.rounds[key].nonce  # type: ignore[union-attr]
    vote = decide(fork, Inbound("kp-1", "up", hall.kp(1).vote(7, 1, nonce, (consts.YES,)), hall.now()))
    apply_all(fork, vote.events)
    assert fork.devices is origin.devices
    assert fork.sitting.attendance is origin.sitting.attendance  # type: ignore[union-attr]
    assert fork.sitting.motions is origin.sitting.motions  # type: ignore[union-attr]
    late = hall.kp(4).check_in(42, fork.sitting.nonce)  # type: ignore[union-attr]
    apply_all(fork, decide(fork, Inbound("kp-4", "up", late, hall.now())).events)
    assert fork.sitting.attendance is not origin.sitting.attendance  # type: ignore[union-attr]
    assert 4 in fork.sitting.attendance and 4 not in origin.sitting.attendance  # type: ignore[union-attr]
    again = fork.fork()  # the committed fork's own map is shared again, then copied on write
    assert again.sitting.attendance is fork.sitting.attendance  # type: ignore[union-attr]
