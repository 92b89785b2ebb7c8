"""A small hall for core tests: members, seats, keypads, a sitting, driven through the pure core."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from gateway.core import commands
from gateway.core.apply import apply_all
from gateway.core.decide import Decision, Inbound, decide
from gateway.core.events import Event
from gateway.core.state import DeviceEntry, HallState, MotionSpec, RoundKey, SittingRun
from gateway.rules import CONGRESS_QUORUM, CONGRESS_RESOLUTION, PassingRule, QuorumRule
from protocol import consts

from .keypads import TestKeypad

SITTING_NONCE = b"\x5a\x17\xc0\xde\x20\x26\x11\x24"


@dataclass
class Hall:
    """HallState plus keypads; ``feed`` runs decide and applies what it decided."""

    members: int = 5
    quorum: QuorumRule = CONGRESS_QUORUM
    state: HallState = field(init=False)
    keypads: dict[str, TestKeypad] = field(init=False)
    clock: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000))
    nonces: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    log: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = HallState("test-hall")
        self.keypads = {}
        for i in range(1, self.members + 1):
            kp = TestKeypad(f"kp-{i}")
            self.keypads[kp.device_id] = kp
            self.state.devices[kp.device_id] = DeviceEntry(kp.device_id, kp.public_key, seat=f"A-{i}")
        self.state.sitting = SittingRun(
            sitting_id=42,
            nonce=SITTING_NONCE,
            quorum_rule=self.quorum,
            roster=frozenset(range(1, self.members + 1)),
            seat_map={f"A-{i}": i for i in range(1, self.members + 1)},
        )

    @property
    def sitting(self) -> SittingRun:
        assert self.state.sitting is not None
        return self.state.sitting

    def now(self) -> float:
        return float(next(self.clock))

    def nonce(self) -> bytes:
        return next(self.nonces).to_bytes(8, "big")

    def kp(self, i: int) -> TestKeypad:
        return self.keypads[f"kp-{i}"]

    def feed(self, device_id: str, payload: bytes, channel: str = "up") -> Decision:
        decision = decide(self.state, Inbound(device_id, channel, payload, self.now()))
        apply_all(self.state, decision.events)
        self.log.extend(decision.events)
        return decision

    def run(self, events: list[Event]) -> list[Event]:
        apply_all(self.state, events)
        self.log.extend(events)
        return events

    # -- scenario steps
    def open_checkin(self) -> None:
        self.run(commands.open_checkin(self.state, at=self.now()))

    def check_in(self, *members: int) -> None:
        for i in members:
            d = self.feed(f"kp-{i}", self.kp(i).check_in(42, SITTING_NONCE))
            assert d.accepted, d

    def in_session(self, present: int | None = None) -> None:
        self.open_checkin()
        self.check_in(*range(1, (self.members if present is None else present) + 1))
        self.run(commands.start_session(self.state, at=self.now()))

    def add_motion(
        self,
        motion_id: int = 7,
        *,
        kind: int = consts.YES_NO_ABSTAIN,
        items: int = 1,
        options: int = 0b1110,
        policy: int = consts.FIRST_PRESS,
        secret: bool = False,
        rule: PassingRule = CONGRESS_RESOLUTION,
        select_k: int | None = None,
        labels: tuple[str, ...] = (),
    ) -> RoundKey:
        spec = MotionSpec(
            motion_id,
            f"motion {motion_id}",
            kind,
            items,
            options,
            policy,
            secret,
            rule,
            select_k=select_k,
            item_labels=labels,
        )
        self.run(commands.add_motion(self.state, spec, nonce=self.nonce(), at=self.now()))
        return (motion_id, 1)

    def open(self, key: RoundKey) -> bytes:
        events, _ = commands.open_round(self.state, key, at=self.now())
        self.run(events)
        return self.sitting.rounds[key].nonce

    def vote(
        self,
        i: int,
        key: RoundKey,
        *choices: int,
        kind: int = consts.YES_NO_ABSTAIN,
        counter: int | None = None,
    ) -> Decision:
        nonce = self.sitting.rounds[key].nonce
        return self.feed(f"kp-{i}", self.kp(i).vote(key[0], key[1], nonce, tuple(choices), kind, counter))
