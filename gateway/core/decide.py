"""decide(state, inbound) -> Decision: what the gateway does with one uplink frame.

Pure: no I/O, no clock (the time comes in the Inbound), no mutation.  The
checks run in this order and the first failure is the answer (a nack with
its protocol reason code):

1. well-formed frame of a known version, on the right channel, naming the
   topic's device (MALFORMED, BAD_VERSION, UNKNOWN_TYPE, TOO_LONG,
   DEVICE_MISMATCH);
2. the device is registered and not revoked, and the signature verifies
   with its public key (UNKNOWN_DEVICE, DEVICE_REVOKED, BAD_SIGNATURE);
3. replay: an exact retransmission of an accepted frame is acked again with
   the original answer (ALREADY_RECORDED), never counted twice (its bytes,
   signature included, were verified when it was accepted and a device's
   key never changes, so it is not verified again); a counter
   already used by another frame, or older than the replay window, is
   refused (STALE_COUNTER).  This check runs before the sitting and round
   checks so that a keypad whose ack was lost hears "recorded" even after
   the round has closed;
4. hello/status stop here (accepted: device health);
5. the device is bound to a seat (SEAT_UNBOUND); a sitting is on
   (NO_SITTING); the seat is assigned to a member of the sitting
   (NOT_MEMBER);
6. check-in: same sitting and nonce (WRONG_SITTING), check-in accepted in
   this sitting state (CHECKIN_CLOSED), the member's own card when one is on
   record (CARD_MISMATCH); a second check-in is acked as ALREADY_CHECKED_IN;
7. vote: the member is checked in (NOT_CHECKED_IN); a round is live and the
   frame carries its motion, round and nonce (MOTION_NOT_OPEN, WRONG_ROUND,
   ROUND_CLOSED, ROUND_PAUSED); the ballot fits the motion (WRONG_BALLOT,
   BAD_CHOICE); the press policy admits it (FIRST_PRESS_FINAL).

Ballot merging: a vote frame's non-zero items are the items pressed.
First press: a pressed item that already has a choice cannot change
(FIRST_PRESS_FINAL), re-pressing the same choice is ALREADY_RECORDED.
Last press: each item keeps the choice of the highest counter that pressed
it, so a frame that arrives late never overrides a newer press.  Presses
are ordered by binding first: after a keypad swap (the old keypad revoked,
the new one bound to the seat) every press of the new keypad comes after
every press of the old one, whatever their counters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from gateway.core import signatures as crypto
from protocol import codec, consts, reasons
from protocol.errors import ProtocolError
from protocol.frames import Ack, CheckIn, Health, Nack, Uplink, Vote

from . import replay, wire
from .events import CheckInRecorded, DeviceHealth, Event, FrameAccepted, VoteRecorded
from .replay import ReplayWindow
from .state import Accepted, Ballot, DeviceEntry, HallState, RoundRun, SittingRun
from .states import CHECKIN_STATES, RoundState, SittingState

__all__ = ["Decision", "Inbound", "Verifier", "decide"]

Verifier = Callable[[bytes, bytes, bytes], None]


@dataclass(frozen=True)
class Inbound:
    """One MQTT message on a device's uplink channel, as the broker bridge saw it."""

    device_id: str
    channel: str
    payload: bytes
    received_at: float


@dataclass(frozen=True)
class Decision:
    device_id: str
    reply: Ack | Nack
    events: tuple[Event, ...] = ()

    @property
    def accepted(self) -> bool:
        return isinstance(self.reply, Ack)

    @property
    def reason(self) -> int:
        return self.reply.reason


class _Refuse(Exception):
    def __init__(self, reason: int) -> None:
        super().__init__(reason)
        self.reason = reason


def _peek(payload: bytes) -> tuple[int, int]:
    """Best-effort (counter, type) of an unreadable uplink frame, for its nack; (0, 0) if unknown."""
    if len(payload) >= 3 and consts.is_uplink(payload[1]) and payload[1] in codec.LAYOUTS:
        end = 3 + payload[2]
        if len(payload) >= end + 4:
            return int.from_bytes(payload[end : end + 4], "big"), payload[1]
    return 0, 0


def decide(state: HallState, inbound: Inbound, *, verify: Verifier = crypto.verify) -> Decision:
    try:
        frame = wire.decode_uplink(inbound.channel, inbound.device_id, inbound.payload)
    except ProtocolError as exc:
        counter, frame_type = _peek(inbound.payload)
        return Decision(inbound.device_id, Nack(counter, exc.reason, frame_type))
    assert isinstance(frame, Uplink)
    try:
        return _decide(state, inbound, frame, verify)
    except _Refuse as refusal:
        return Decision(inbound.device_id, Nack(frame.counter, refusal.reason, frame.TYPE))


def _decide(state: HallState, inbound: Inbound, frame: Uplink, verify: Verifier) -> Decision:
    device = _registered(state, inbound)
    digest = hashlib.sha256(inbound.payload).digest()
    window = state.replay.get(device.device_id)
    seen = window.check(frame.counter, digest) if window is not None else replay.FRESH
    if not (seen == replay.REPEAT and window is not None and window.exact(frame.counter, digest)):
        _verify(device, inbound.payload, verify)
    # else: the very bytes of a frame verified and accepted before (a device's key never changes),
    # so a retransmission storm costs a hash per frame, not a signature verification.
    if window is not None:
        if seen == replay.STALE:
            raise _Refuse(reasons.STALE_COUNTER)
        if seen == replay.REPEAT:
            return Decision(device.device_id, _reack(window, device, frame))
    at = inbound.received_at
    if isinstance(frame, Health):
        accepted = Accepted(frame.counter, frame.TYPE, digest, reasons.ACCEPTED)
        health = DeviceHealth(
            device.device_id,
            frame.counter,
            (frame.firmware[0], frame.firmware[1], frame.firmware[2]),
            frame.uptime_s,
            frame.battery,
            frame.rssi,
            frame.free_heap,
            at,
        )
        return _accept(device, accepted, (health,))
    sitting, seat, member = _seat_and_member(state, device)
    if isinstance(frame, CheckIn):
        return _check_in(sitting, device, seat, member, frame, digest, at)
    assert isinstance(frame, Vote)
    return _vote(sitting, device, seat, member, frame, digest, at)


def _registered(state: HallState, inbound: Inbound) -> DeviceEntry:
    device = state.devices.get(inbound.device_id)
    if device is None:
        raise _Refuse(reasons.UNKNOWN_DEVICE)
    if device.revoked:
        raise _Refuse(reasons.DEVICE_REVOKED)
    return device


def _verify(device: DeviceEntry, payload: bytes, verify: Verifier) -> None:
    try:
        verify(device.public_key, payload[: -consts.SIGNATURE_LEN], payload[-consts.SIGNATURE_LEN :])
    except ProtocolError:
        raise _Refuse(reasons.BAD_SIGNATURE) from None


def _seat_and_member(state: HallState, device: DeviceEntry) -> tuple[SittingRun, str, int]:
    if device.seat is None:
        raise _Refuse(reasons.SEAT_UNBOUND)
    sitting = state.sitting
    if sitting is None or sitting.state in (SittingState.SETUP, SittingState.CLOSED):
        raise _Refuse(reasons.NO_SITTING)
    member = sitting.seat_map.get(device.seat)
    if member is None or member not in sitting.roster:
        raise _Refuse(reasons.NOT_MEMBER)
    return sitting, device.seat, member


def _check_in(
    sitting: SittingRun, device: DeviceEntry, seat: str, member: int, frame: CheckIn, digest: bytes, at: float
) -> Decision:
    if frame.sitting_id != sitting.sitting_id or frame.sitting_nonce != sitting.nonce:
        raise _Refuse(reasons.WRONG_SITTING)
    late = CHECKIN_STATES.get(sitting.state)
    if late is None:
        raise _Refuse(reasons.CHECKIN_CLOSED)
    if member in sitting.attendance:
        # Late check-in or not: a member already present who checks in again (a swapped-in keypad
        # that does not know it yet) is told so; nothing changes.
        _check_card(sitting, member, frame.card_uid)
        accepted = Accepted(
            frame.counter, frame.TYPE, digest, reasons.ALREADY_CHECKED_IN, sitting.sitting_id, 0, (), seat
        )
        return _accept(device, accepted, ())
    if late and not sitting.late_checkin:
        raise _Refuse(reasons.CHECKIN_CLOSED)
    _check_card(sitting, member, frame.card_uid)
    accepted = Accepted(frame.counter, frame.TYPE, digest, reasons.ACCEPTED, sitting.sitting_id, 0, (), seat)
    record = CheckInRecorded(
        sitting.sitting_id, member, seat, device.device_id, frame.counter, late, frame.card_uid, at
    )
    return _accept(device, accepted, (record,))


def _check_card(sitting: SittingRun, member: int, card: bytes) -> None:
    """代签到 guard: the card presented must be the member's own (CARD_MISMATCH).

    A member with a card on record checks in only with that card, or with no
    card at all when the body lets keypads without readers check in.  A card
    on record for another member is refused at any seat.
    """
    own = sitting.cards.get(member)
    if card:
        if own is not None and card != own:
            raise _Refuse(reasons.CARD_MISMATCH)
        if own is None and card in sitting.cards.values():
            raise _Refuse(reasons.CARD_MISMATCH)
    elif own is not None and not sitting.readerless_checkin:
        raise _Refuse(reasons.CARD_MISMATCH)


def _live_round(sitting: SittingRun, frame: Vote) -> RoundRun:
    current = sitting.rounds.get(sitting.current) if sitting.current else None
    if current is None or current.key != (frame.motion_id, frame.round) or current.nonce != frame.round_nonce:
        earlier = sitting.rounds.get((frame.motion_id, frame.round))
        if earlier is not None and earlier.nonce == frame.round_nonce:
            if earlier.state in (RoundState.CLOSED, RoundState.ANNOUNCED, RoundState.MANUAL):
                raise _Refuse(reasons.ROUND_CLOSED)
            if earlier.state is RoundState.READY:
                raise _Refuse(reasons.MOTION_NOT_OPEN)
        raise _Refuse(reasons.WRONG_ROUND if current is not None else reasons.MOTION_NOT_OPEN)
    if current.state is RoundState.PAUSED:
        raise _Refuse(reasons.ROUND_PAUSED)
    return current


def _vote(
    sitting: SittingRun, device: DeviceEntry, seat: str, member: int, frame: Vote, digest: bytes, at: float
) -> Decision:
    if member not in sitting.attendance:
        raise _Refuse(reasons.NOT_CHECKED_IN)
    run = _live_round(sitting, frame)
    motion = sitting.motions[run.motion_id]
    if frame.ballot_kind != motion.ballot_kind or len(frame.choices) != motion.item_count:
        raise _Refuse(reasons.WRONG_BALLOT)
    for index, choice in enumerate(frame.choices):
        if choice and not (motion.options >> choice) & 1:
            raise _Refuse(reasons.BAD_CHOICE)
        if choice and run.focus != consts.ALL_ITEMS and index != run.focus:
            raise _Refuse(reasons.WRONG_BALLOT)
    previous = run.ballots.get(member)
    if previous is not None and previous.device_id != device.device_id:
        # The member's keypad was swapped: the earlier presses came from the older
        # binding, so every press of this (newer) keypad comes after all of them.
        previous = replace(previous, item_counters=(0,) * len(previous.item_counters))
    choices, counters, outcome = _merge(previous, frame, motion.press_policy)
    shown = () if motion.secret else choices
    accepted = Accepted(frame.counter, frame.TYPE, digest, outcome, run.motion_id, run.number, shown, seat)
    if previous is not None and counters == previous.item_counters:
        return _accept(device, accepted, ())
    ballot = Ballot(member, seat, device.device_id, choices, counters)
    recorded = VoteRecorded(run.key, ballot, frame.counter, outcome == reasons.REPLACED, motion.secret, at)
    return _accept(device, accepted, (recorded,))


def _merge(previous: Ballot | None, frame: Vote, policy: int) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """The member's choices and per-item counters after this frame, and the ack reason it earns."""
    n = len(frame.choices)
    choices = list(previous.choices) if previous else [0] * n
    counters = list(previous.item_counters) if previous else [0] * n
    changed = added = False
    for i, choice in enumerate(frame.choices):
        if not choice:
            continue
        if choices[i] == 0:
            choices[i], counters[i] = choice, frame.counter
            added = True
        elif choices[i] == choice:
            if policy == consts.LAST_PRESS:
                counters[i] = max(counters[i], frame.counter)
        elif policy == consts.FIRST_PRESS:
            raise _Refuse(reasons.FIRST_PRESS_FINAL)
        elif frame.counter > counters[i]:
            choices[i], counters[i] = choice, frame.counter
            changed = True
    if changed:
        reason = reasons.REPLACED
    elif added:
        reason = reasons.ACCEPTED
    else:
        reason = reasons.ALREADY_RECORDED
    return tuple(choices), tuple(counters), reason


def _accept(device: DeviceEntry, accepted: Accepted, events: tuple[Event, ...]) -> Decision:
    return Decision(
        device.device_id,
        _ack_of(accepted, accepted.reason),
        (FrameAccepted(device.device_id, accepted), *events),
    )


def _reack(window: ReplayWindow, device: DeviceEntry, frame: Uplink) -> Ack:
    """The answer to a repeated counter: the first answer if still held, else built from the frame.

    Only the last few check-ins and votes keep their whole first answer
    (:data:`replay.KEEP`); an older one is re-acked as after a restart: the
    frame's own sitting or round, empty choices, a check-in the device's seat.
    A counter whose digest was erased (a secret round's vote) is a vote's.
    """
    earlier = window.records.get(frame.counter)
    if earlier is not None:
        return _ack_of(earlier, reasons.ALREADY_RECORDED)
    if isinstance(frame, CheckIn) and not window.blind >> (frame.counter % replay.WINDOW) & 1:
        return Ack(
            frame.counter, reasons.ALREADY_RECORDED, frame.TYPE, frame.sitting_id, 0, (), device.seat or ""
        )
    if isinstance(frame, Vote):
        return Ack(frame.counter, reasons.ALREADY_RECORDED, frame.TYPE, frame.motion_id, frame.round)
    if window.blind >> (frame.counter % replay.WINDOW) & 1:
        return Ack(frame.counter, reasons.ALREADY_RECORDED, consts.VOTE)
    return Ack(frame.counter, reasons.ALREADY_RECORDED, frame.TYPE)


def _ack_of(accepted: Accepted, reason: int) -> Ack:
    return Ack(
        accepted.counter,
        reason,
        accepted.frame_type,
        accepted.ref_id,
        accepted.round,
        accepted.choices,
        accepted.seat,
    )
