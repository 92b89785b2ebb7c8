"""TLS from a cold boot: the keypad's RTC starts at 2000-01-01, the broker certificate is valid
from the hall's set-up; the time floor set before the first handshake makes it connect, and a
certificate error (``ValueError`` in MicroPython 1.27) is link loss with backoff, never the end of
the client task.  The link behaves like MicroPython 1.27's (tests/firmware/mqtt/mp127.py)."""

from __future__ import annotations

import asyncio

from kpcontexts import DEV, HALL

from firmware.app import config, timefloor
from firmware.app.keypad import Keypad
from firmware.app.runner import Runner, make_client
from firmware.hal.sim import SimBoard, SimClock, seeded_rng

from ..mqtt.mp127 import Broker127

Y2000 = 946684800


def keypad(clock: SimClock, floor: int | None) -> Keypad:
    board = SimBoard(clock=clock, rng=seeded_rng(b"cold"))
    if floor is not None:
        board.nvs.set(timefloor.NVS_KEY, floor.to_bytes(4, "big"))
    return Keypad(board, config.load(None, {"hall": HALL, "device_id": DEV, "ca_file": None}))


def broker_checking(clock: SimClock, not_before: int) -> Broker127:
    """The handshake fails as mbedTLS's validity check does when the keypad's clock is early."""

    def mode() -> str:
        now = clock.time()
        return "ok" if now is not None and now >= not_before else "cert"

    return Broker127(handshake=mode)


async def run_until(runner: Runner, clock: SimClock, pred: object, steps: int = 400) -> bool:
    """Run the keypad until ``pred()``; True if its MQTT task was still alive then."""
    task = asyncio.ensure_future(runner.run())
    for _ in range(steps):
        if pred():  # type: ignore[operator]
            break
        clock.advance(10)
        await asyncio.sleep(0.005)
    alive = runner.task is not None and not runner.task.done()
    await runner.stop()
    await task
    return alive


def test_cold_boot_connects_once_the_floor_is_set_before_tls() -> None:
    provisioned = timefloor.RELEASED + 30 * 86400
    clock = SimClock(manual=True, unix=Y2000)
    kp = keypad(clock, provisioned)
    broker = broker_checking(clock, not_before=provisioned - 3600)
    client = make_client(kp, open_connection=broker.open_connection, backoff_base=0.01, backoff_cap=0.02)
    runner = Runner(kp, client)
    asyncio.run(run_until(runner, clock, lambda: client.connects >= 1))
    assert client.connects >= 1 and client.tls_errors == 0


def test_a_certificate_refused_at_every_boot_backs_off_and_the_loop_keeps_its_watchdog() -> None:
    clock = SimClock(manual=True, unix=Y2000)
    kp = keypad(clock, None)  # no provisioning time: the floor is the release date only
    broker = broker_checking(clock, not_before=timefloor.RELEASED + 365 * 86400)
    client = make_client(kp, open_connection=broker.open_connection, backoff_base=0.01, backoff_cap=0.02)
    runner = Runner(kp, client)
    alive = asyncio.run(run_until(runner, clock, lambda: client.tls_errors >= 3))
    assert client.tls_errors >= 3 and client.attempts >= 3 and client.connects == 0
    assert alive, "the MQTT task must survive every TLS ValueError"
    assert runner.stalls == 0 and runner.feeds == runner.iterations  # the loop stayed healthy
