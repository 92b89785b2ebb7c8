"""decide/apply under random sittings and frames (hil.fuzz): nothing escapes, refusals change nothing, tally = ballots."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from gateway.core import decide as decide_module
from gateway.core.decide import Decision
from hil import fuzz
from protocol import consts, reasons
from protocol.frames import Ack

FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def test_random_sittings_keep_every_invariant() -> None:
    FAST(fuzz.decide_property)()
    assert fuzz.COUNTS["votes_recorded"] > 0 and fuzz.COUNTS["refused"] > 0  # both paths were exercised


def test_a_refused_frame_with_events_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property fails when a refusal carries a change (the check can fail)."""
    real = decide_module.decide

    def leaky(state, inbound, **kw):  # type: ignore[no-untyped-def]
        d = real(state, inbound, **kw)
        if not d.accepted and d.reason == reasons.BAD_SIGNATURE:
            return Decision(d.device_id, Ack(1, reasons.ACCEPTED, consts.CHECK_IN), ())
        return d

    monkeypatch.setattr(fuzz, "decide", leaky)
    p = fuzz.DecideProgram()
    good = p.holders[0].check_in(fuzz.SITTING, fuzz.NONCE, fuzz.CARDS[1], counter=1)
    with pytest.raises(AssertionError, match="mutated"):
        p.feed("kp-1", "up", good[:-1] + bytes([good[-1] ^ 1]), mutated=True)


def test_rebuild_from_events_equals_live_state_after_a_sitting() -> None:
    p = fuzz.DecideProgram()
    from gateway.core import commands

    p.command(commands.open_checkin(p.state, at=p.now()))
    for h, card in zip(p.holders, [fuzz.CARDS[1], b"", b"", b""], strict=True):
        p.feed(h.device_id, "up", h.check_in(fuzz.SITTING, fuzz.NONCE, card, counter=1))
    p.command(commands.start_session(p.state, at=p.now()))
    spec = fuzz.MotionSpec(
        7, "m", consts.YES_NO_ABSTAIN, 1, 0b1110, consts.LAST_PRESS, False, fuzz.CONGRESS_RESOLUTION
    )
    p.command(commands.add_motion(p.state, spec, nonce=b"\x01" * 8, at=p.now()))
    p.command(commands.open_round(p.state, (7, 1), at=p.now())[0])
    for i, h in enumerate(p.holders):
        p.feed(h.device_id, "up", h.vote(7, 1, b"\x01" * 8, (1 + i % 3,), counter=2))
    p.feed(
        "kp-1", "up", p.holders[0].vote(7, 1, b"\x01" * 8, (consts.NO,), counter=3)
    )  # last press: replaced
    p.check(rebuild=True)
    assert p.state.sitting is not None
    assert {b.choices for b in p.state.sitting.rounds[(7, 1)].ballots.values()} == {(2,), (3,), (1,)}


def test_a_same_choice_repress_under_last_press_moves_only_its_counter() -> None:
    """Found by hil.fuzz: ALREADY_RECORDED may carry a VoteRecorded (the item's counter moves up, so a late
    older frame cannot override the newer press); the tally does not move."""
    from gateway.core import commands

    p = fuzz.DecideProgram()
    p.command(commands.open_checkin(p.state, at=p.now()))
    for h, card in zip(p.holders, [fuzz.CARDS[1], b"", b"", b""], strict=True):
        p.feed(h.device_id, "up", h.check_in(fuzz.SITTING, fuzz.NONCE, card, counter=1))
    p.command(commands.start_session(p.state, at=p.now()))
    spec = fuzz.MotionSpec(
        7, "m", consts.YES_NO_ABSTAIN, 1, 0b1110, consts.LAST_PRESS, False, fuzz.CONGRESS_RESOLUTION
    )
    nonce = b"\x02" * 8
    p.command(commands.add_motion(p.state, spec, nonce=nonce, at=p.now()))
    p.command(commands.open_round(p.state, (7, 1), at=p.now())[0])
    h = p.holders[0]
    p.feed(h.device_id, "up", h.vote(7, 1, nonce, (consts.YES,), counter=5))
    late_no = h.vote(7, 1, nonce, (consts.NO,), counter=6)  # pressed before the next one, arrives after it
    p.feed(h.device_id, "up", h.vote(7, 1, nonce, (consts.YES,), counter=7))  # ALREADY_RECORDED, counter -> 7
    p.feed(h.device_id, "up", late_no)
    p.check(rebuild=True)
    assert p.state.sitting is not None
    ballot = p.state.sitting.rounds[(7, 1)].ballots[1]
    assert ballot.choices == (consts.YES,) and ballot.item_counters == (7,)
