"""Fuzzing the frame decoder and the gateway's pure core with Hypothesis; a command for the big runs.

Two properties, shared by the test suite (a few hundred examples each) and
``python -m hil.fuzz --examples 20000`` (whose counts go in the evidence
report):

* **decode**: any bytes, and mutations of valid frames of every type,
  through ``codec.decode`` and ``codec.decode_for_topic``: nothing escapes
  but a typed ``DecodeError`` carrying a refusal code, and what decodes
  encodes back to the same bytes;
* **decide**: random sittings (the chair's commands in any order, motions
  of every ballot kind and press policy, revocations) interleaved with
  signed frames from registered, unknown and revoked keypads, with fresh,
  reused and stale counters, right and wrong nonces, retransmissions and
  mutated copies.  After every step: ``decide`` raised nothing and did not
  touch the state; a refused frame carries no event and changes nothing; a
  re-ack (``ALREADY_RECORDED``, ``ALREADY_CHECKED_IN``) records nothing; a
  mutated copy of a signed frame is refused; every round's tally equals
  its ballots as recorded by the events (what the store keeps); and the
  state rebuilt from the events alone equals the live state.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core import commands
from gateway.core.apply import apply_all
from gateway.core.decide import Inbound, decide
from gateway.core.errors import CommandError
from gateway.core.events import Event, VoteRecorded
from gateway.core.state import Ballot, DeviceEntry, HallState, MotionSpec, SittingRun
from gateway.core.tally import count, round_totals
from gateway.rules import CONGRESS_QUORUM, CONGRESS_RESOLUTION
from hil.attacks.client import Holder
from hil.rig.hall import public_key_of
from protocol import codec, consts, frames, reasons
from protocol.errors import DecodeError

__all__ = ["COUNTS", "DecideProgram", "check_decode", "decide_property", "decode_property", "main", "run"]

COUNTS: dict[str, int] = {
    "decode": 0,
    "decide": 0,
    "decide_steps": 0,
    "frames": 0,
    "refused": 0,
    "votes_recorded": 0,
}
SITTING, NONCE = 42, b"\x5a\x17\xc0\xde\x20\x26\x11\x24"
MEMBERS = 4
SECRETS = [bytes([i + 1]) * 32 for i in range(MEMBERS)]
PUBLIC = [public_key_of(s) for s in SECRETS]
CARDS = {1: b"\x04\x01\x01\x01"}  # member 1 has a card on record
RECORDS = (reasons.ALREADY_RECORDED, reasons.ALREADY_CHECKED_IN)
Draw = Callable[..., Any]  # a Hypothesis draw function

# ---------------------------------------------------------------- decode


def check_decode(data: bytes, channel: str | None) -> None:
    """The decode invariant for one input (AssertionError on a violation)."""
    try:
        frame = codec.decode(data) if channel is None else codec.decode_for_topic(channel, "kp-0001", data)
    except DecodeError as e:
        assert reasons.is_refusal(e.reason), f"DecodeError with acceptance code {e.reason}"
        return
    assert codec.encode(frame) == data, "decoded frame does not encode back to its bytes"


def _valid_frames() -> st.SearchStrategy[bytes]:
    from hypothesis import strategies as s

    kinds = [
        s.builds(
            lambda c: Holder("kp-0001", SECRETS[0], c).check_in(SITTING, NONCE), s.integers(1, 2**32 - 2)
        ),
        s.builds(
            lambda c, ch: Holder("kp-0001", SECRETS[0], c).vote(7, 1, NONCE, (ch,)),
            s.integers(1, 2**32 - 2),
            s.integers(1, 3),
        ),
        s.builds(lambda c: Holder("kp-0001", SECRETS[0], c).status(), s.integers(1, 2**32 - 2)),
        s.just(codec.encode(frames.Ack(5, reasons.ACCEPTED, consts.VOTE, 7, 1, (1,), "A-1"))),
        s.just(codec.encode(frames.Nack(5, reasons.BAD_SIGNATURE, consts.VOTE))),
    ]
    return s.one_of(kinds)


@st.composite
def _decode_inputs(draw: Draw) -> tuple[bytes, str | None]:
    channel = draw(st.sampled_from([None, "up", "status"]))
    if draw(st.booleans()):
        return draw(st.binary(max_size=600)), channel
    data = bytearray(draw(_valid_frames()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            data[at] = draw(st.integers(0, 255))
    return bytes(data), channel


@given(_decode_inputs())
def decode_property(case: tuple[bytes, str | None]) -> None:
    COUNTS["decode"] += 1
    check_decode(*case)


# ---------------------------------------------------------------- decide


def new_hall() -> HallState:
    state = HallState("fuzz-hall")
    for i in range(MEMBERS):
        state.devices[f"kp-{i + 1}"] = DeviceEntry(f"kp-{i + 1}", PUBLIC[i], seat=f"A-{i + 1}")
    state.sitting = SittingRun(
        sitting_id=SITTING,
        nonce=NONCE,
        quorum_rule=CONGRESS_QUORUM,
        roster=frozenset(range(1, MEMBERS + 1)),
        seat_map={f"A-{i}": i for i in range(1, MEMBERS + 1)},
        cards=dict(CARDS),
    )
    return state


def snapshot(state: HallState) -> HallState:
    """A copy equal to ``state`` that shares nothing mutable with it (frozen values are shared)."""
    s = state.sitting
    if s is not None:
        rounds = {k: replace(r, ballots=dict(r.ballots)) for k, r in s.rounds.items()}
        s = replace(s, roster=s.roster, seat_map=dict(s.seat_map), cards=dict(s.cards),
                    attendance=dict(s.attendance), motions=dict(s.motions), rounds=rounds)  # fmt: skip
    devices = {k: replace(d) for k, d in state.devices.items()}
    replay = {k: w.copy() for k, w in state.replay.items()}
    return HallState(state.hall_id, devices, replay, s)


@dataclass
class DecideProgram:
    """One run: the live state, the event log (the store), each keypad's counter, frames sent so far."""

    state: HallState = field(default_factory=new_hall)
    initial: HallState = field(default_factory=new_hall)
    log: list[Event] = field(default_factory=list)
    holders: list[Holder] = field(
        default_factory=lambda: [Holder(f"kp-{i + 1}", SECRETS[i], 0) for i in range(MEMBERS)]
    )
    sent: list[tuple[str, str, bytes]] = field(default_factory=list)
    clock: float = 1000.0
    nonces: int = 0

    def now(self) -> float:
        self.clock += 1.0
        return self.clock

    def nonce(self) -> bytes:
        self.nonces += 1
        return self.nonces.to_bytes(8, "big")

    def command(self, events: list[Event]) -> None:
        apply_all(self.state, events)
        self.log.extend(events)

    def feed(self, device: str, channel: str, payload: bytes, *, mutated: bool = False) -> None:
        COUNTS["frames"] += 1
        before = snapshot(self.state)
        decision = decide(self.state, Inbound(device, channel, payload, self.now()))
        assert self.state == before, "decide changed the state"
        if not decision.accepted:
            COUNTS["refused"] += 1
            assert not decision.events, f"a refused frame carries events: {decision}"
        else:
            assert not mutated, f"a mutated copy of a signed frame was accepted: {decision.reply}"
            if decision.reason in RECORDS:  # a re-ack may move a counter (last press), never a choice
                tally, present = self.tallies(), set(before.sitting.attendance) if before.sitting else set()
        apply_all(self.state, decision.events)
        self.log.extend(decision.events)
        COUNTS["votes_recorded"] += sum(isinstance(e, VoteRecorded) for e in decision.events)
        if not decision.accepted:
            assert self.state == before, "a refused frame changed the state"
        elif decision.reason in RECORDS:
            assert self.tallies() == tally, f"a re-ack changed a tally: {decision}"
            assert self.state.sitting is None or set(self.state.sitting.attendance) == present, decision
        self.sent.append((device, channel, payload))

    def tallies(self) -> dict[tuple[int, int], tuple[tuple[int, ...], ...]]:
        s = self.state.sitting
        if s is None:
            return {}
        return {
            k: round_totals(r, s.motions[k[0]].ballot_kind, s.motions[k[0]].item_count)
            for k, r in s.rounds.items()
        }

    def check(self, rebuild: bool = False) -> None:
        sitting = self.state.sitting
        assert sitting is not None
        stored: dict[tuple[int, int], dict[int, Ballot]] = {}
        for e in self.log:
            if isinstance(e, VoteRecorded):
                stored.setdefault(e.round, {})[e.ballot.member_id] = e.ballot
        for key, run in sitting.rounds.items():
            m = sitting.motions[key[0]]
            want = count(stored.get(key, {}).values(), m.ballot_kind, m.item_count)
            assert round_totals(run, m.ballot_kind, m.item_count) == want, (
                f"round {key}: tally != stored ballots"
            )
        if not rebuild:
            return
        rebuilt = copy.deepcopy(self.initial)
        apply_all(rebuilt, self.log)
        assert rebuilt == self.state, "the state rebuilt from the events differs from the live state"


def _motion(draw: Draw, motion_id: int) -> MotionSpec:
    kind = draw(st.sampled_from(consts.BALLOT_KINDS))
    items = 1 if kind == consts.YES_NO_ABSTAIN else draw(st.integers(1, 3))
    top = consts.choice_max(kind)
    options = draw(st.integers(1, (1 << top) - 1)) << 1
    policy = draw(st.sampled_from(consts.PRESS_POLICIES))
    rule = None if kind == consts.RATING else CONGRESS_RESOLUTION
    return MotionSpec(motion_id, f"m{motion_id}", kind, items, options, policy, draw(st.booleans()), rule)


def _command(draw: Draw, p: DecideProgram) -> None:
    s = p.state.sitting
    assert s is not None
    keys = sorted(s.rounds)
    name = draw(st.sampled_from(["open_checkin", "start", "close_sitting", "add", "open", "pause", "resume",
                                 "close", "rerun", "focus", "revoke"]))  # fmt: skip
    try:
        if name == "open_checkin":
            p.command(commands.open_checkin(p.state, at=p.now()))
        elif name == "start":
            p.command(commands.start_session(p.state, at=p.now()))
        elif name == "close_sitting":
            p.command(commands.close_sitting(p.state, at=p.now()))
        elif name == "add":
            p.command(
                commands.add_motion(p.state, _motion(draw, len(s.motions) + 7), nonce=p.nonce(), at=p.now())
            )
        elif name == "revoke":
            entry = p.state.devices[f"kp-{draw(st.integers(1, MEMBERS))}"]
            p.state = p.state.fork()
            p.state.devices[entry.device_id] = DeviceEntry(
                entry.device_id, entry.public_key, entry.seat, True
            )
            p.initial = _rebase(p)  # a revocation reloads the registry: the rebuild starts from it
        elif keys:
            key = draw(st.sampled_from(keys))
            if name == "open":
                p.command(commands.open_round(p.state, key, at=p.now())[0])
            elif name == "pause":
                p.command(commands.pause_round(p.state, key, at=p.now()))
            elif name == "resume":
                p.command(commands.resume_round(p.state, key, at=p.now()))
            elif name == "close":
                p.command(commands.close_round(p.state, key, at=p.now()))
            elif name == "rerun":
                p.command(commands.rerun(p.state, key[0], nonce=p.nonce(), at=p.now()))
            elif name == "focus":
                p.command(commands.focus_item(p.state, key, draw(st.integers(0, 3)), at=p.now()))
    except CommandError:
        pass  # a refused command is typed and changes nothing


def _rebase(p: DecideProgram) -> HallState:
    """After a registry change (a revocation reloads the keypads) the rebuild starts from the devices as they are."""
    base = copy.deepcopy(p.initial)
    for dev, entry in p.state.devices.items():
        base.devices[dev] = copy.deepcopy(entry)
    return base


def _frame(draw: Draw, p: DecideProgram) -> None:
    s = p.state.sitting
    assert s is not None
    i = draw(st.integers(0, MEMBERS))  # MEMBERS: a keypad the hall does not know
    h = p.holders[i] if i < MEMBERS else Holder("kp-9", b"\x09" * 32, 0)
    how = draw(st.sampled_from(["next"] * 6 + ["reuse", "stale", "far"]))
    counter = {"next": h.counter + 1, "reuse": max(h.counter, 1), "stale": max(h.counter - 300, 1),
               "far": h.counter + draw(st.integers(2, 1000))}[how]  # fmt: skip
    what = draw(st.sampled_from(["check_in", "vote", "vote", "vote", "status"]))
    channel = "status" if what == "status" else "up"
    if what == "check_in":
        nonce = NONCE if draw(st.booleans()) else p.nonce()
        card = draw(st.sampled_from([b"", CARDS[1], b"\x04\x09\x09\x09"]))
        payload = h.check_in(draw(st.sampled_from([SITTING, SITTING + 1])), nonce, card, counter=counter)
    elif what == "status":
        payload = h.status(counter=counter)
    else:
        keys = sorted(s.rounds) or [(7, 1)]
        key = draw(st.sampled_from(keys))
        run = s.rounds.get(key)
        motion = s.motions.get(key[0])
        nonce = run.nonce if run is not None and draw(st.integers(0, 4)) else p.nonce()
        kind = (
            motion.ballot_kind if motion is not None and draw(st.integers(0, 5)) else draw(st.integers(0, 4))
        )
        n = motion.item_count if motion is not None and draw(st.integers(0, 5)) else draw(st.integers(0, 4))
        allowed = [c for c in range(1, 5) if motion is not None and (motion.options >> c) & 1] or [1]
        if draw(st.integers(0, 3)):  # mostly what the keypad offers
            choices = tuple(draw(st.sampled_from([0, *allowed, *allowed])) for _ in range(n))
        else:
            choices = tuple(draw(st.integers(0, 5)) for _ in range(n))
        payload = h.vote(key[0], key[1], nonce, choices, kind=kind % 256, counter=counter)
    h.counter = max(h.counter, counter)
    p.feed(h.device_id, channel, payload)


def _replay(draw: Draw, p: DecideProgram) -> None:
    if not p.sent:
        return
    device, channel, payload = draw(st.sampled_from(p.sent))
    if draw(st.booleans()):
        p.feed(device, channel, payload)  # an exact retransmission (or a replay)
        return
    data = bytearray(payload)
    at = draw(st.integers(0, len(data) - 1))
    data[at] ^= 1 << draw(st.integers(0, 7))
    p.feed(device, channel, bytes(data), mutated=True)


@given(st.data())
def decide_property(data: st.DataObject) -> None:
    COUNTS["decide"] += 1
    p = DecideProgram()
    if data.draw(st.integers(0, 3), label="prelude"):  # mostly: a sitting in session with a round open
        _prelude(data.draw, p)
    for _ in range(data.draw(st.integers(1, 60), label="steps")):
        COUNTS["decide_steps"] += 1
        step = data.draw(st.sampled_from(["frame"] * 6 + ["command"] * 3 + ["replay"]))
        if step == "frame":
            _frame(data.draw, p)
        elif step == "command":
            _command(data.draw, p)
        else:
            _replay(data.draw, p)
        p.check()
    p.check(rebuild=True)


def _prelude(draw: Draw, p: DecideProgram) -> None:
    """Check-in open, some members checked in (member 1 with its card), in session, a motion's round open."""
    p.command(commands.open_checkin(p.state, at=p.now()))
    for i in range(draw(st.integers(3, MEMBERS))):
        h = p.holders[i]
        p.feed(h.device_id, "up", h.check_in(SITTING, NONCE, CARDS.get(i + 1, b""), counter=h.counter + 1))
        h.counter += 1
    p.command(commands.start_session(p.state, at=p.now()))
    p.command(commands.add_motion(p.state, _motion(draw, 7), nonce=p.nonce(), at=p.now()))
    with contextlib.suppress(CommandError):
        p.command(commands.open_round(p.state, (7, 1), at=p.now())[0])


# ---------------------------------------------------------------- the command


def run(examples: int, seed: int | None = None) -> dict[str, Any]:
    """Run both properties with ``examples`` each; the counts, and each property's violation (the first)."""
    for k in COUNTS:
        COUNTS[k] = 0
    opts = settings(max_examples=examples, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), derandomize=seed is not None)  # fmt: skip
    out: dict[str, Any] = {"examples": examples, "violations": 0}
    for name, prop in (("decode", decode_property), ("decide", decide_property)):
        t0 = time.monotonic()
        try:
            opts(prop)()
        except AssertionError as e:
            out["violations"] += 1
            out[f"{name}_error"] = str(e)[:2000]
        out[f"{name}_violations"] = int(f"{name}_error" in out)
        out[f"{name}_seconds"] = round(time.monotonic() - t0, 1)
    return {**COUNTS, **out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hil.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=2000, help="examples per property (default 2000)")
    ap.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = ap.parse_args(argv)
    out = run(args.examples)
    print(json.dumps(out) if args.json else " ".join(f"{k}={v}" for k, v in out.items()))
    for name in ("decode", "decide"):
        if out.get(f"{name}_error"):
            print(f"VIOLATION ({name}): {out[name + '_error']}", file=sys.stderr)
    return 1 if out["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
