"""Every (state, event) pair of the sitting and round state machines."""

from __future__ import annotations

import itertools

import pytest

from gateway.core.errors import TransitionError
from gateway.core.states import (
    ROUND_TRANSITIONS,
    SITTING_TRANSITIONS,
    RoundEvent,
    RoundState,
    SittingEvent,
    SittingState,
    next_round_state,
    next_sitting_state,
)

S, SE = SittingState, SittingEvent
R, RE = RoundState, RoundEvent

# The rules, restated independently of the table: (state, event) -> target.
EXPECTED_SITTING = {
    (S.SETUP, SE.OPEN_CHECKIN): S.CHECKIN_OPEN,
    (S.SETUP, SE.CLOSE): S.CLOSED,
    (S.CHECKIN_OPEN, SE.START_SESSION): S.IN_SESSION,
    (S.CHECKIN_OPEN, SE.CLOSE): S.CLOSED,
    (S.IN_SESSION, SE.CLOSE): S.CLOSED,
}
EXPECTED_ROUND = {
    (R.READY, RE.OPEN): R.OPEN,
    (R.OPEN, RE.PAUSE): R.PAUSED,
    (R.PAUSED, RE.RESUME): R.OPEN,
    (R.OPEN, RE.CLOSE): R.CLOSED,
    (R.PAUSED, RE.CLOSE): R.CLOSED,
    (R.CLOSED, RE.ANNOUNCE): R.ANNOUNCED,
    # Manual fallback: entered on a ready or closed round, confirmed by the other person.
    (R.READY, RE.ENTER_MANUAL): R.MANUAL,
    (R.CLOSED, RE.ENTER_MANUAL): R.MANUAL,
    (R.MANUAL, RE.ENTER_MANUAL): R.MANUAL,
    (R.MANUAL, RE.REJECT_MANUAL): R.MANUAL,
    (R.MANUAL, RE.CONFIRM_MANUAL): R.CLOSED,
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(SittingState, SittingEvent)))
def test_every_sitting_pair(state: SittingState, event: SittingEvent) -> None:
    target = EXPECTED_SITTING.get((state, event))
    if target is None:
        with pytest.raises(TransitionError) as err:
            next_sitting_state(state, event)
        assert err.value.code == "SITTING_TRANSITION"
        assert state.name in err.value.message
    else:
        assert next_sitting_state(state, event) is target


@pytest.mark.parametrize(("state", "event"), list(itertools.product(RoundState, RoundEvent)))
def test_every_round_pair(state: RoundState, event: RoundEvent) -> None:
    target = EXPECTED_ROUND.get((state, event))
    if target is None:
        with pytest.raises(TransitionError) as err:
            next_round_state(state, event)
        assert err.value.code == "ROUND_TRANSITION"
    else:
        assert next_round_state(state, event) is target


def test_tables_are_exactly_the_rules() -> None:
    assert SITTING_TRANSITIONS == EXPECTED_SITTING
    assert ROUND_TRANSITIONS == EXPECTED_ROUND


def test_closed_and_announced_are_terminal_and_every_state_reachable() -> None:
    assert not any(s is S.CLOSED for s, _ in SITTING_TRANSITIONS)
    assert not any(s is R.ANNOUNCED for s, _ in ROUND_TRANSITIONS)
    reach_s = {S.SETUP} | set(SITTING_TRANSITIONS.values())
    reach_r = {R.READY} | set(ROUND_TRANSITIONS.values())
    assert reach_s == set(SittingState) and reach_r == set(RoundState)
