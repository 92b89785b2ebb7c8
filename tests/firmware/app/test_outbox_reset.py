"""Signed frames survive a reset (the outbox in NVS), and a keypad offline with Wi-Fi up resets
itself after ``offline_reset_s`` without losing a press."""

from __future__ import annotations

import asyncio

import pytest
from kpcontexts import DEV, HALL, MOTION, SITTING, in_state

from firmware.app import config
from firmware.app import states as S
from firmware.app.keypad import Keypad
from firmware.app.outbox import CHECKIN, VOTE, Entry, dump, load
from firmware.app.runner import Runner
from firmware.hal.sim import SimBoard
from protocol import codec, frames, topics

UP = topics.device(HALL, DEV, "up")


def test_dump_and_load_give_the_same_entries_and_bad_bytes_are_refused() -> None:
    entries = [
        Entry(7, CHECKIN, b"\x01signed-checkin", 7, "checkin"),
        Entry(9, VOTE, b"\x02" * 190, (3, 2), "yes", (0, 1, 0, 3)),
    ]
    raw = dump(entries)
    back = load(raw)
    assert [(e.counter, e.kind, e.frame, e.ref, e.key, e.choices, e.items) for e in back] == [
        (e.counter, e.kind, e.frame, e.ref, e.key, e.choices, e.items) for e in entries
    ]
    for bad in (b"", b"\x09\x00", raw[:-1], raw + b"\x00"):
        with pytest.raises(ValueError):
            load(bad)


def _reboot(rig: object, cfg: dict[str, object] | None = None) -> Keypad:
    """A new Keypad on the same board (same NVS), as after a reset (``cfg``: the config, if a
    Runner has since trimmed the keypad's to what it reads after the build)."""
    kp = Keypad(rig.board, cfg or rig.kp.cfg)  # type: ignore[attr-defined]
    kp.start()
    return kp


def test_an_unanswered_vote_is_resent_unchanged_after_a_reset_and_then_recorded() -> None:
    rig = in_state(S.MOTION_OPEN)
    rig.press("yes")
    signed = rig.kp.outbox.entries[0].frame
    assert rig.board.nvs.get(config.NVS_OUTBOX) == dump(rig.kp.outbox.entries)

    kp = _reboot(rig)  # the reset: no ack ever came
    assert [e.frame for e in kp.outbox.entries] == [signed]
    clock = rig.clock
    kp.step(clock.advance(10), True, 1)
    kp.on_message(topics.broadcast(HALL, "sitting"), codec.encode(SITTING))  # retained
    kp.on_message(topics.broadcast(HALL, "motion"), codec.encode(MOTION))  # retained: still open
    kp.step(clock.advance(10), True, 1)
    kp.step(clock.advance(kp.cfg["settle_ms"]), True, 1)
    ups = [p for t, p in kp.tx if t == UP]
    assert ups[-1] == signed  # the same signed bytes, not a new signature
    vote = codec.decode(signed)
    ack = frames.Ack(vote.counter, 0, vote.TYPE, vote.motion_id, vote.round, vote.choices, "")
    kp.on_message(topics.device(HALL, DEV, "down"), codec.encode(ack))
    kp.step(clock.advance(10), True, 1)
    assert kp.state == S.RECORDED and len(kp.outbox) == 0
    assert load(rig.board.nvs.get(config.NVS_OUTBOX) or b"") == []


def test_a_saved_vote_whose_round_closed_during_the_reset_is_dropped_unsent() -> None:
    rig = in_state(S.MOTION_OPEN)
    rig.press("no")
    kp = _reboot(rig)
    kp.step(rig.clock.advance(10), True, 1)
    kp.on_message(topics.broadcast(HALL, "motion"), codec.encode(frames.MotionClosed(3, 1, b"round-31", 2000)))
    kp.step(rig.clock.advance(kp.cfg["settle_ms"] * 2), True, 1)
    assert len(kp.outbox) == 0 and not [p for t, p in kp.tx if t == UP]


def test_an_unreadable_saved_outbox_is_counted_not_a_crash() -> None:
    rig = in_state(S.IDLE)
    rig.board.nvs.set(config.NVS_OUTBOX, b"\x01\x05garbage")
    kp = _reboot(rig)
    assert kp.outbox_lost == 1 and len(kp.outbox) == 0


class StuckClient:
    """A client whose broker never answers: Wi-Fi is up, no session ever starts."""

    connected = opening = False
    connects = 0

    def __init__(self) -> None:
        self.posted: list[tuple[str, bytes]] = []

    def start(self) -> object:
        class Task:
            def done(self) -> bool:
                return False

        return Task()

    def post(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.posted.append((topic, payload))

    async def close(self) -> None:
        pass


def test_offline_with_wifi_up_resets_after_the_limit_and_keeps_the_press() -> None:
    rig = in_state(S.OFFLINE)  # checked in, a round open, then the broker went away
    rig.press("abstain")  # signed while offline, kept in the outbox
    board: SimBoard = rig.board
    limit_ms = rig.kp.cfg["offline_reset_s"] * 1000
    cfg = rig.kp.cfg
    runner = Runner(rig.kp, StuckClient())  # type: ignore[arg-type]
    runner.task = runner.client.start()

    async def go() -> None:
        for _ in range(limit_ms // 10_000 + 1):
            rig.clock.advance(9_999)
            await runner.iteration()
        assert board.resets == 0, "not before the limit"
        rig.clock.advance(10_000)
        await runner.iteration()
        assert board.resets == 1 and runner.offline_resets == 1 and runner.stopping

    asyncio.run(go())
    kp = _reboot(rig, cfg)
    assert [e.key for e in kp.outbox.entries] == ["abstain"]


def test_no_offline_reset_while_wifi_is_down_or_when_disabled() -> None:
    rig = in_state(S.OFFLINE)
    rig.board.wifi.drop()
    runner = Runner(rig.kp, StuckClient())  # type: ignore[arg-type]

    async def go() -> None:
        for _ in range(5):
            rig.clock.advance(rig.kp.cfg["offline_reset_s"] * 1000)
            await runner.iteration()

    rig.board.wifi.refuse = True
    asyncio.run(go())
    assert rig.board.resets == 0
    rig2 = in_state(S.OFFLINE, offline_reset_s=0)
    runner = Runner(rig2.kp, StuckClient())  # type: ignore[arg-type]
    rig = rig2
    asyncio.run(go())
    assert rig2.board.resets == 0


def test_an_outbox_too_large_for_its_nvs_blob_is_refused_at_boot() -> None:
    from firmware.hal.sim import SimBoard

    with pytest.raises(ValueError, match=r"outbox_max must be 1\.\.16"):
        Keypad(SimBoard(), config.load(None, {"outbox_max": 17}))
