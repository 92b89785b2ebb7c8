"""Virtual keypads: the real firmware app (``firmware.app``) on the simulated board, many on one asyncio loop.

Each keypad has its own NVS file (it survives a power cycle), its own
broker account, and its own connection through the impairment proxy.  The
loop runs on a thread of its own; the rig's verbs are scheduled onto it.
A board that resets itself (the firmware's offline reset) boots again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar, cast

from firmware.app import config
from firmware.app.keypad import Keypad
from firmware.app.runner import Runner, make_client
from firmware.hal.sim import SimBoard, SimKeys, SimWifi
from hil.rig.netem import Proxy

__all__ = ["Fleet", "VirtualKeypad"]

T = TypeVar("T")


class VirtualKeypad:
    """One keypad: board, app and MQTT client; ``power_cycle`` loses RAM and keeps NVS."""

    def __init__(
        self,
        device_id: str,
        secret: bytes,
        cfg: dict[str, Any],
        nvs_path: Path,
        card: bytes | None,
        hook: Callable[[Keypad], Callable[[int], None]] | None = None,
    ) -> None:
        self.device_id = device_id
        self.cfg = cfg
        self.nvs_path = nvs_path
        self.card = card
        self.boots = 0
        self.hook = hook  # per boot: the app -> a per-iteration hook (the serial test channel)
        self.board = SimBoard(display=True, card=card, nvs_path=str(nvs_path))
        if self.board.nvs.get(config.NVS_SECRET) is None:
            self.board.nvs.set(config.NVS_SECRET, secret)
        self.app: Keypad | None = None
        self.runner: Runner | None = None
        self.task: asyncio.Task[None] | None = None
        self.wifi_refused = False
        self.sent: list[bytes] = []  # every uplink frame the app handed to its MQTT client (for scans)

    def boot(self) -> None:
        """A new app on the same NVS file (a fresh board when this is a reboot)."""
        if self.boots:
            self.board = SimBoard(display=True, card=self.card, nvs_path=str(self.nvs_path))
            self.wifi.refuse = self.wifi_refused
        self.boots += 1
        self.app = Keypad(self.board, dict(self.cfg))
        client = make_client(self.app, backoff_base=0.2, backoff_cap=2.0)
        post = client.post

        def recording_post(topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int | None:
            if topic.endswith("/up"):
                self.sent.append(payload)
            return post(topic, payload, qos, retain)

        client.post = recording_post  # type: ignore[method-assign]
        self.runner = Runner(self.app, client, None if self.hook is None else self.hook(self.app))
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        assert self.runner is not None
        runner = self.runner
        await runner.run()
        if runner.offline_resets and self.runner is runner:  # the firmware reset its board: it boots again
            self.boot()

    async def halt(self) -> None:
        if self.runner is not None and self.task is not None:
            runner, task = self.runner, self.task
            self.runner = None
            await runner.stop()
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, Exception):
                task.cancel()

    async def power_cycle(self, off_s: float = 0.5) -> None:
        await self.halt()
        await asyncio.sleep(off_s)
        self.boot()

    @property
    def wifi(self) -> SimWifi:
        return cast(SimWifi, self.board.wifi)

    def keys_pending(self) -> bool:
        """Presses queued on the keys that the app has not read yet."""
        return bool(cast(SimKeys, self.board.keys)._edges)

    @property
    def state(self) -> str:
        return self.app.state if self.app is not None else "off"


class Fleet:
    """The keypads' event loop on its own thread, with the impairment proxy."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="hil-fleet", daemon=True)
        self.thread.start()
        self.keypads: dict[str, VirtualKeypad] = {}
        self.proxy: Proxy | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrap() -> T:
            return fn()

        return self.run(wrap())

    def close(self) -> None:
        async def shutdown() -> None:
            await asyncio.gather(*(kp.halt() for kp in self.keypads.values()), return_exceptions=True)
            if self.proxy is not None:
                await self.proxy.close()

        try:
            self.run(shutdown(), 60)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
