"""Hypothesis strategies producing valid protocol v1 frames of every type."""

from __future__ import annotations

from hypothesis import strategies as st

from protocol import consts, frames

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-"

device_ids = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=16).filter(lambda s: s[0] != "-")
counters = st.integers(1, 2**32 - 1)
u32_nonzero = st.integers(1, 2**32 - 1)
u32 = st.integers(0, 2**32 - 1)
rounds = st.integers(1, 255)
nonces = st.binary(min_size=8, max_size=8)
card_uids = st.sampled_from([b"", b"\x04\xa1\xb2\xc3", b"\x04" * 7, b"\x11" * 10]) | st.binary(max_size=10)
signatures = st.binary(min_size=64, max_size=64)
seats = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", max_size=8)


@st.composite
def ballots(draw: st.DrawFn) -> tuple[int, tuple[int, ...]]:
    kind = draw(st.sampled_from(consts.BALLOT_KINDS))
    top = consts.choice_max(kind)
    if kind == consts.YES_NO_ABSTAIN:
        return kind, (draw(st.integers(1, top)),)
    n = draw(st.integers(1, consts.ITEMS_MAX))
    choices = draw(st.lists(st.integers(0, top), min_size=n, max_size=n))
    if not any(choices):
        choices[draw(st.integers(0, n - 1))] = draw(st.integers(1, top))
    return kind, tuple(choices)


@st.composite
def health(draw: st.DrawFn, cls: type[frames.Health]) -> frames.Health:
    return cls(
        device_id=draw(device_ids),
        counter=draw(counters),
        firmware=(draw(st.integers(0, 255)), draw(st.integers(0, 255)), draw(st.integers(0, 255))),
        uptime_s=draw(u32),
        battery=draw(st.integers(0, 100) | st.just(255)),
        rssi=draw(st.integers(-128, 127)),
        free_heap=draw(u32),
        signature=draw(signatures),
    )


@st.composite
def check_ins(draw: st.DrawFn) -> frames.CheckIn:
    return frames.CheckIn(
        draw(device_ids), draw(counters), draw(u32_nonzero), draw(nonces), draw(card_uids), draw(signatures)
    )


@st.composite
def votes(draw: st.DrawFn) -> frames.Vote:
    kind, choices = draw(ballots())
    return frames.Vote(
        device_id=draw(device_ids),
        counter=draw(counters),
        motion_id=draw(u32_nonzero),
        round=draw(rounds),
        round_nonce=draw(nonces),
        ballot_kind=kind,
        choices=choices,
        card_uid=draw(card_uids),
        signature=draw(signatures),
    )


@st.composite
def acks(draw: st.DrawFn) -> frames.Ack:
    return frames.Ack(
        counter=draw(u32),
        reason=draw(st.sampled_from([0x00, 0x01, 0x02, 0x03])),
        acked_type=draw(st.sampled_from([consts.HELLO, consts.STATUS, consts.CHECK_IN, consts.VOTE])),
        ref_id=draw(u32),
        round=draw(st.integers(0, 255)),
        choices=tuple(draw(st.lists(st.integers(0, 4), max_size=32))),
        seat=draw(seats),
    )


@st.composite
def nacks(draw: st.DrawFn) -> frames.Nack:
    from protocol import reasons

    refusals = [row[0] for row in reasons.TABLE if reasons.is_refusal(row[0])]
    return frames.Nack(
        draw(u32),
        draw(st.sampled_from(refusals)),
        draw(st.sampled_from([0, consts.HELLO, consts.STATUS, consts.CHECK_IN, consts.VOTE])),
    )


@st.composite
def sitting_states(draw: st.DrawFn) -> frames.SittingState:
    expected = draw(st.integers(0, 65535))
    return frames.SittingState(
        draw(u32_nonzero),
        draw(st.sampled_from(consts.SITTING_STATES)),
        draw(nonces),
        expected,
        draw(st.integers(0, expected)),
        draw(u32),
    )


@st.composite
def motion_opens(draw: st.DrawFn) -> frames.MotionOpen:
    kind = draw(st.sampled_from(consts.BALLOT_KINDS))
    count = 1 if kind == consts.YES_NO_ABSTAIN else draw(st.integers(1, consts.ITEMS_MAX))
    top = consts.choice_max(kind)
    options = draw(st.integers(1, (1 << top) - 1)) << 1
    return frames.MotionOpen(
        motion_id=draw(u32_nonzero),
        round=draw(rounds),
        round_nonce=draw(nonces),
        ballot_kind=kind,
        item_count=count,
        options=options,
        press_policy=draw(st.sampled_from(consts.PRESS_POLICIES)),
        flags=draw(st.integers(0, 3)),
        focus=draw(st.just(consts.ALL_ITEMS) | st.integers(0, count - 1)),
        issued_at=draw(u32),
        deadline=draw(u32),
    )


@st.composite
def motion_closeds(draw: st.DrawFn) -> frames.MotionClosed:
    return frames.MotionClosed(draw(u32_nonzero), draw(rounds), draw(nonces), draw(u32))


@st.composite
def results(draw: st.DrawFn) -> frames.ResultSummary:
    kind = draw(st.sampled_from(consts.BALLOT_KINDS))
    count = 1 if kind == consts.YES_NO_ABSTAIN else draw(st.integers(1, consts.ITEMS_MAX))
    width = consts.options_per_item(kind)
    outcomes = st.integers(0, 4) if kind == consts.RATING else st.sampled_from(consts.OUTCOMES)
    items = tuple(
        (draw(outcomes), tuple(draw(st.lists(st.integers(0, 65535), min_size=width, max_size=width))))
        for _ in range(count)
    )
    expected = draw(st.integers(0, 65535))
    present = draw(st.integers(0, expected))
    return frames.ResultSummary(
        motion_id=draw(u32_nonzero),
        round=draw(rounds),
        ballot_kind=kind,
        expected=expected,
        present=present,
        not_pressed=draw(st.integers(0, present)),
        outcome=draw(st.sampled_from(consts.OUTCOMES)),
        items=items,
    )


uplinks = st.one_of(health(frames.Hello), health(frames.Status), check_ins(), votes())
any_frame = st.one_of(uplinks, acks(), nacks(), sitting_states(), motion_opens(), motion_closeds(), results())
