"""The live tally kept by apply (delta per ballot) always equals a recount of the ballots.

Checked for every sequence hypothesis finds of ballots, reads (the first read
counts the tally from the ballots, later ones get the kept one), forks that
are committed or dropped (copy on write), and a close.
"""

from __future__ import annotations

from hvtest.halls import Hall
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core import commands
from gateway.core.apply import apply, apply_all
from gateway.core.events import VoteRecorded
from gateway.core.picture import live_picture
from gateway.core.state import Ballot, HallState, RoundKey
from gateway.core.tally import LiveTally, count, live_tally
from protocol import consts

MEMBERS = 5
ITEMS = 3
KEY: RoundKey = (7, 1)

_choices = st.tuples(*[st.integers(0, 4)] * ITEMS)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("vote"), st.integers(1, MEMBERS), _choices),
        st.tuples(st.just("read"), st.sampled_from(["fork", "committed"]), st.none()),
        st.tuples(st.sampled_from(["commit", "drop"]), st.none(), st.none()),
    ),
    max_size=40,
)


def _hall() -> Hall:
    hall = Hall(members=MEMBERS)
    hall.in_session(present=MEMBERS)
    hall.add_motion(7, kind=consts.RATING, items=ITEMS, options=0b11110, policy=consts.LAST_PRESS)
    hall.open(KEY)
    return hall


def _assert_equal_to_recount(state: HallState) -> None:
    run = state.sitting.rounds[KEY]  # type: ignore[union-attr]
    if run.tally is None:
        return
    ballots = list(run.ballots.values())
    assert run.tally.totals() == count(ballots, consts.RATING, ITEMS)
    assert run.tally.voted == sum(1 for b in ballots if b.pressed)


@settings(max_examples=300, deadline=None)
@given(_ops)
def test_the_kept_tally_equals_a_recount_after_every_step(ops: list[tuple[str, object, object]]) -> None:
    hall = _hall()
    committed = hall.state
    fork = committed.fork()
    counter = 0
    for op, arg, choices in ops:
        if op == "vote":
            assert isinstance(arg, int) and isinstance(choices, tuple)
            counter += 1
            ballot = Ballot(arg, f"S{arg}", f"kp-{arg}", choices, (counter,) * ITEMS)
            apply(fork, VoteRecorded(KEY, ballot, counter, False, False, 0.0))
        elif op == "read":
            live_tally((fork if arg == "fork" else committed).sitting.rounds[KEY], consts.RATING, ITEMS)  # type: ignore[union-attr]
        elif op == "commit":
            committed, fork = fork, fork.fork()
        else:
            fork = committed.fork()
        _assert_equal_to_recount(fork)
        _assert_equal_to_recount(committed)
    for state in (fork, committed):
        run = state.sitting.rounds[KEY]  # type: ignore[union-attr]
        tally = live_tally(run, consts.RATING, ITEMS)
        assert tally.totals() == count(run.ballots.values(), consts.RATING, ITEMS)


def test_a_ballot_replaced_moves_its_counts_and_an_empty_one_is_not_voted() -> None:
    tally = LiveTally.of([], consts.YES_NO_ABSTAIN, 1)
    first = Ballot(1, "S1", "kp-1", (consts.YES,), (1,))
    tally.replace(None, first)
    assert tally.totals() == ((0, 1, 0, 0),) and tally.voted == 1
    second = Ballot(1, "S1", "kp-1", (consts.NO,), (2,))
    tally.replace(first, second)
    assert tally.totals() == ((0, 0, 1, 0),) and tally.voted == 1
    tally.replace(None, Ballot(2, "S2", "kp-2", (0,), (0,)))
    assert tally.voted == 1


def test_the_live_picture_counts_from_the_kept_tally_and_a_close_freezes_the_recount() -> None:
    hall = Hall(members=4)
    hall.in_session(present=4)
    key = hall.add_motion(7, policy=consts.LAST_PRESS)
    hall.open(key)
    hall.vote(1, key, consts.YES)
    picture = live_picture("h", 1, hall.state, ())
    assert picture["round"]["totals"] == [[1, 0, 0]] and picture["round"]["voted"] == 1
    assert hall.sitting.rounds[key].tally is not None  # counted once, kept from now on
    hall.vote(2, key, consts.NO)
    hall.vote(1, key, consts.ABSTAIN)  # last press counts: the YES moves to ABSTAIN
    picture = live_picture("h", 2, hall.state, ())
    assert picture["round"]["totals"] == [[0, 1, 1]] and picture["round"]["voted"] == 2
    apply_all(hall.state, commands.close_round(hall.state, key, at=hall.now()))
    run = hall.sitting.rounds[key]
    assert run.tally is None and run.totals[0][1:] == (0, 1, 1)
    assert live_picture("h", 3, hall.state, ())["round"]["totals"] == [[0, 1, 1]]
