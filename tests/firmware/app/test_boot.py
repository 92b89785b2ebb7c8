"""The guarded boot (firmware/app/boot.py): a crash at boot never leaves a dead keypad, the long
watchdog is armed before the app, maintenance mode starts neither; and the time floor that lets
TLS work from a cold boot (firmware/app/timefloor.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kpcontexts import HALL, SITTING, in_state

from firmware.app import boot, bootfault, config, timefloor
from firmware.app.keypad import Keypad
from firmware.app.runner import Runner
from firmware.hal.sim import SimBoard, SimClock, SimNvs, seeded_rng
from protocol import codec, topics


class FakeBootHw:
    """Records what the guarded boot does with the hardware."""

    def __init__(self, held: bool = False, nvs: SimNvs | None = None) -> None:
        self.held = held
        self.store = nvs if nvs is not None else SimNvs()
        self.log: list[Any] = []
        self.slept = 0

    def key_held(self, name: str) -> bool:
        self.log.append(("held?", name))
        return self.held

    def maintenance(self) -> None:
        self.log.append("maintenance")

    def arm_watchdog(self, ms: int) -> None:
        self.log.append(("wdt", ms))

    def feed(self) -> None:
        self.log.append("feed")

    def nvs(self) -> SimNvs:
        return self.store

    def show_fault(self, lines: list[str]) -> None:
        self.log.append(("show", lines))

    def sleep_ms(self, ms: int) -> None:
        self.slept += ms

    def reset(self) -> None:
        self.log.append("reset")


def crash(exc: BaseException) -> Any:
    def app() -> None:
        raise exc

    return app


@pytest.mark.parametrize(
    "exc",
    [MemoryError("memory allocation failed, allocating 4096 bytes"), RuntimeError("NVS get sk: ESP_ERR_NVS"),
     OSError(2, "ENOENT hall-ca.pem"), ValueError("profile keypad4: pin 6 is a flash pin")],
)  # fmt: skip
def test_a_crash_at_boot_is_logged_shown_and_reset_after_a_delay(exc: BaseException) -> None:
    hw = FakeBootHw()
    assert boot.main(hw, crash(exc)) == "fault"
    assert hw.log[0] == ("held?", boot.MAINTENANCE_KEY)
    assert hw.log[1] == ("wdt", boot.BOOT_WATCHDOG_MS)  # armed before the app ran
    assert ("show", ["启动故障", type(exc).__name__[:16]]) in hw.log  # 16 chars: one display row
    assert hw.log[-1] == "reset"
    assert hw.slept == bootfault.FAULT_DELAY_MS and hw.log.count("feed") == bootfault.FAULT_DELAY_MS // 1000
    text = (hw.store.get(boot.NVS_FAULT) or b"").decode()
    assert text.startswith("1 " + type(exc).__name__ + ": ") and len(text) <= 2 + bootfault._FAULT_TEXT
    assert hw.store.get(boot.NVS_FAULTS) == (1).to_bytes(4, "big")


def test_repeated_faulty_boots_wait_longer_up_to_a_cap() -> None:
    nvs = SimNvs()
    delays = []
    for _ in range(8):
        hw = FakeBootHw(nvs=nvs)
        boot.main(hw, crash(RuntimeError("bad")))
        delays.append(hw.slept)
    assert delays[:3] == [10000, 20000, 40000] and delays[-1] == bootfault.FAULT_DELAY_MAX_MS
    assert delays == sorted(delays)
    assert (nvs.get(boot.NVS_FAULT) or b"").startswith(b"8 RuntimeError")


def test_a_broken_nvs_still_shows_and_resets() -> None:
    class BadNvs(SimNvs):
        def set(self, key: str, value: bytes) -> None:
            raise RuntimeError("NVS set: ESP_ERR_NVS_NOT_ENOUGH_SPACE")

    hw = FakeBootHw(nvs=BadNvs())
    assert boot.main(hw, crash(MemoryError())) == "fault"
    assert hw.log[-1] == "reset" and hw.slept == bootfault.FAULT_DELAY_MS


def test_maintenance_mode_starts_no_app_and_no_watchdog() -> None:
    hw = FakeBootHw(held=True)
    ran = []
    assert boot.main(hw, lambda: ran.append(1)) == "maintenance"
    assert ran == [] and "maintenance" in hw.log
    assert not [e for e in hw.log if isinstance(e, tuple) and e[0] == "wdt"] and "reset" not in hw.log


def test_a_healthy_boot_arms_the_long_watchdog_before_the_app() -> None:
    hw = FakeBootHw()
    seen: list[Any] = []
    assert boot.main(hw, lambda: seen.extend(hw.log)) == "stopped"
    assert ("wdt", boot.BOOT_WATCHDOG_MS) in seen


def test_a_stable_run_clears_the_faulty_boot_count() -> None:
    clock = SimClock(manual=True)
    board = SimBoard(clock=clock, rng=seeded_rng(b"stable"))
    board.nvs.set(boot.NVS_FAULTS, (3).to_bytes(4, "big"))
    kp = Keypad(board, config.load(None, {"hall": HALL, "device_id": "kp-1"}))

    class Client:
        connected = opening = False
        connects = 0

        def start(self) -> Any:
            return asyncio.get_running_loop().create_future()  # a task that never ends

        def post(self, *a: Any) -> None:
            pass

    runner = Runner(kp, Client())  # type: ignore[arg-type]

    async def go() -> None:
        kp.start()
        for _ in range(boot.STABLE_MS // 1000 + 2):
            clock.advance(1000)
            await runner.iteration()
            clock.advance(1)  # keep each iteration under stall_ms

    asyncio.run(go())
    assert runner.stable and board.nvs.get(boot.NVS_FAULTS) == bytes(4)


# --------------------------------------------------------------- the time floor

Y2000 = 946684800  # where an ESP32's RTC starts


def test_a_cold_boot_clock_at_2000_is_set_to_the_floor_before_any_tls() -> None:
    clock = SimClock(manual=True, unix=Y2000)
    board = SimBoard(clock=clock, rng=seeded_rng(b"tf"))
    assert clock.time() is None  # 2000-01-01 counts as never set
    kp = Keypad(board, config.load(None, {"hall": HALL, "device_id": "kp-1"}))
    assert clock.time() == timefloor.RELEASED and not kp.want_mqtt
    provisioned = timefloor.RELEASED + 40 * 86400
    board.nvs.set(timefloor.NVS_KEY, provisioned.to_bytes(4, "big"))
    clock.unix = Y2000  # power cycle
    Keypad(board, kp.cfg)
    assert clock.time() == provisioned


def test_a_set_clock_ahead_of_the_floor_is_left_alone() -> None:
    now = timefloor.RELEASED + 5000
    clock = SimClock(manual=True, unix=now)
    Keypad(SimBoard(clock=clock, rng=seeded_rng(b"tf")), config.load(None, {"hall": HALL, "device_id": "kp-1"}))
    assert clock.time() == now


def test_broadcast_time_advances_the_floor_and_is_saved_once_a_day() -> None:
    rig = in_state("idle")
    kp = rig.kp
    base = timefloor.RELEASED + 10 * 86400
    writes = rig.board.nvs.writes
    sitting = SITTING.replace(issued_at=base)  # type: ignore[attr-defined]
    rig.broadcast("sitting", sitting)
    assert rig.clock.time() == base and kp.time_floor == base
    assert rig.board.nvs.get(timefloor.NVS_KEY) == base.to_bytes(4, "big") and rig.board.nvs.writes == writes + 1
    rig.broadcast("sitting", SITTING.replace(issued_at=base + 3600))  # type: ignore[attr-defined]
    assert kp.time_floor == base + 3600 and rig.board.nvs.writes == writes + 1  # not saved: under a day
    rig.broadcast("sitting", SITTING.replace(issued_at=base - 86400 * 30))  # type: ignore[attr-defined]
    assert kp.time_floor == base + 3600  # never backwards


def test_time_on_a_device_topic_is_not_taken() -> None:
    rig = in_state("idle")
    before = rig.kp.time_floor
    far = SITTING.replace(issued_at=before + 10 * 86400)  # type: ignore[attr-defined]
    rig.kp.on_message(topics.device(HALL, "kp-1", "down"), codec.encode(far))
    rig.step()
    assert rig.kp.time_floor == before


def test_the_guard_runs_the_loop_the_app_returns_and_catches_its_crash() -> None:
    """firmware.app.main.start builds the keypad and returns its loop for the guard to run (so
    that the guard's frame, not the app module's, is under it)."""
    ran: list[str] = []

    async def loop() -> None:
        ran.append("loop")

    hw = FakeBootHw()
    assert boot.main(hw, loop) == "stopped" and ran == ["loop"]

    async def crashing() -> None:
        raise RuntimeError("in the loop")

    hw = FakeBootHw()
    assert boot.main(hw, crashing) == "fault" and hw.log[-1] == "reset"
    assert (hw.store.get(boot.NVS_FAULT) or b"").startswith(b"1 RuntimeError: in the loop")
