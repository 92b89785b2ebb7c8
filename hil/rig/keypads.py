"""Virtual keypads: the real firmware app (``firmware.app``) on the simulated board, many on one asyncio loop.

Each keypad has its own NVS file (it survives a power cycle), its own
broker account, and its own connection through the impairment proxy.  The
loop runs on a thread of its own; :class:`Fleet`'s verbs (``add``,
``press``, ``power_cycle``, ``cut_wifi``, ``partition``, ``stall``,
``impair``, ``halt``) are called from any other thread and scheduled onto
it.  The rig drives one Fleet in its own process (``processes=1``) or one
per worker process (:mod:`hil.rig.pool`) through the same verbs.  A board
that resets itself (the firmware's offline reset) boots again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from firmware.app import config
from firmware.app import states as S
from firmware.app.keypad import Keypad
from firmware.app.runner import Runner, make_client
from firmware.hal.sim import SimBoard, SimWifi
from hil.rig.mirror import Snapshot
from hil.rig.netem import Proxy

__all__ = ["Fleet", "KeypadSpec", "VirtualKeypad"]

T = TypeVar("T")
CONNECTING = 100  # keypads booted but not yet online, at most, while a fleet boots more


@dataclass(frozen=True)
class KeypadSpec:
    """What a fleet needs to boot one keypad: its id, key, firmware configuration (without the broker port,
    which is its impairment-proxy listener's) and NVS file.  Plain data: it crosses to a worker process."""

    device_id: str
    secret: bytes
    overrides: dict[str, Any] = field(default_factory=dict)
    nvs_path: str = ""


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
        self.press_seq = 0  # the rig's sequence number of the last press queued on the keys

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
        return self.board.wifi

    def keys_pending(self) -> bool:
        """Presses queued on the keys that the app has not read yet."""
        return bool(self.board.keys._edges)

    # ------------------------------------------------------------ the view the runner reads (hil.rig.mirror)

    def _on(self) -> Keypad | None:
        """The running app; None while the keypad is switched off (before boot, halted, mid power cycle)."""
        return self.app if self.runner is not None else None

    @property
    def state(self) -> str:
        """The app's state (firmware/app/states.py), or ``off`` while the keypad is switched off."""
        app = self._on()
        return app.state if app is not None else "off"

    @property
    def sitting_state(self) -> int | None:
        """The state of the sitting the keypad shows (``None``: none yet, or switched off)."""
        app = self._on()
        return app.sitting.state if app is not None and app.sitting is not None else None

    @property
    def sitting_id(self) -> int | None:
        app = self._on()
        return app.sitting.sitting_id if app is not None and app.sitting is not None else None

    @property
    def motion_id(self) -> int | None:
        """The motion open on the keypad (``None``: none, or switched off)."""
        app = self._on()
        return app.motion.motion_id if app is not None and app.motion is not None else None

    @property
    def outbox_size(self) -> int:
        """Signed frames awaiting the gateway's answer (0 while switched off: they wait in NVS)."""
        app = self._on()
        return len(app.outbox.entries) if app is not None else 0

    @property
    def checked_in(self) -> bool:
        app = self._on()
        return app is not None and app.checked_in

    def snapshot(self) -> Snapshot:
        return Snapshot(self.state, self.sitting_id, self.sitting_state, self.motion_id, self.outbox_size,
                        self.checked_in, self.keys_pending(), self.boots, self.press_seq)  # fmt: skip


class Fleet:
    """The keypads' event loop on its own thread, with the impairment proxy; verbs callable from other threads."""

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

    def soon(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    # ------------------------------------------------------------ verbs

    def listen(self, host: str, port: int, seed: int) -> None:
        """The impairment proxy in front of the broker's TLS port (keypads' listeners are added with them)."""
        self.proxy = Proxy(host, port, seed)

    def add(self, specs: Iterable[KeypadSpec], timeout: float = 600.0) -> None:
        """Boot these keypads, each behind its own proxy listener; at most ``CONNECTING`` at a time are still
        on their way online (Wi-Fi, TLS, MQTT session) before the next one is switched on."""
        specs = list(specs)

        async def boot_all() -> None:
            coming: list[VirtualKeypad] = []
            for spec in specs:
                coming.append(await self._add(spec))
                while len(coming) >= CONNECTING:
                    coming = [kp for kp in coming if kp.state not in S.ONLINE]
                    if len(coming) >= CONNECTING:
                        await asyncio.sleep(0.05)
                await asyncio.sleep(0)

        self.run(boot_all(), timeout)

    async def _add(self, spec: KeypadSpec) -> VirtualKeypad:
        assert self.proxy is not None, "listen() first"
        port = await self.proxy.add(spec.device_id)
        cfg = config.load(None, {**spec.overrides, "broker_port": port})
        kp = VirtualKeypad(spec.device_id, spec.secret, cfg, Path(spec.nvs_path), None)
        self.keypads[spec.device_id] = kp
        kp.boot()
        return kp

    def press(self, dev: str, keys: Iterable[str], seq: int = 0, wait: bool = True) -> None:
        """Presses on one keypad, in order, queued on its board before this returns (``wait=False``: queued
        by the loop after whatever was scheduled before; a worker's presses, which the rig does not wait for)."""
        kp, keys = self.keypads[dev], list(keys)
        unknown = [k for k in keys if k not in kp.board.keys.names]
        if unknown:
            raise ValueError(f"{dev} has no key {unknown[0]!r}")

        def go() -> None:
            for key in keys:
                kp.board.press(key)
            kp.press_seq = max(kp.press_seq, seq)

        if wait:
            self.call(go)
        else:
            self.soon(go)

    def power_cycle(self, devs: Iterable[str], off_s: float) -> None:
        """Power off (RAM lost, NVS kept) and on again; returns once they are booting again."""
        kps = [self.keypads[d] for d in devs]

        async def cycle() -> None:
            await asyncio.gather(*(kp.power_cycle(off_s) for kp in kps))

        self.run(cycle())

    def cut_wifi(self, devs: Iterable[str], seconds: float) -> None:
        """Wi-Fi lost (and refused) for ``seconds``, the TCP connections dying with it; returns at once."""
        kps = [self.keypads[d] for d in devs]
        proxy = self.proxy

        def cut() -> None:
            for kp in kps:
                kp.wifi_refused = True
                kp.wifi.refuse = True
                kp.wifi.drop()
                if proxy is not None:
                    proxy.drop(kp.device_id)
            self.loop.call_later(seconds, restore)

        def restore() -> None:
            for kp in kps:
                kp.wifi_refused = False
                kp.wifi.refuse = False

        self.soon(cut)

    def _each_link(self, devs: Iterable[str], act: Callable[[Proxy, str], None]) -> None:
        """``act(proxy, dev)`` for each keypad, on the fleet's loop; returns at once."""
        devs, proxy = list(devs), self.proxy
        assert proxy is not None

        def each() -> None:
            for d in devs:
                act(proxy, d)

        self.soon(each)

    def partition(self, devs: Iterable[str], seconds: float) -> None:
        """Connections reset and refused for ``seconds`` (Wi-Fi stays up); returns at once."""
        self._each_link(devs, lambda proxy, d: proxy.blackout(d, seconds))

    def stall(self, devs: Iterable[str], seconds: float) -> None:
        """Bytes to and from the keypads held for ``seconds`` (connections kept); returns at once."""
        self._each_link(devs, lambda proxy, d: proxy.stall(d, seconds))

    def impair(self, devs: Iterable[str], latency_ms: float, jitter_ms: float) -> None:
        devs, proxy = list(devs), self.proxy
        assert proxy is not None

        def set_delay() -> None:
            for d in devs:
                link = proxy.links[d]
                link.latency_ms, link.jitter_ms = latency_ms, jitter_ms

        self.call(set_delay)

    def halt(self, dev: str) -> None:
        """The keypad stops for good (its app and MQTT session end; the board stays off)."""
        self.run(self.keypads[dev].halt(), 30)

    def link(self, dev: str) -> dict[str, int]:
        """The impairment proxy's counters for one keypad (connections, refused, resets, bytes)."""
        assert self.proxy is not None
        ln = self.proxy.links[dev]
        return {"connections": ln.connections, "refused": ln.refused, "resets": ln.resets,
                "bytes_up": ln.bytes_up, "bytes_down": ln.bytes_down}  # fmt: skip

    def snapshots(self, since: dict[str, tuple[Snapshot, int]]) -> dict[str, tuple[Snapshot, list[bytes]]]:
        """Keypads whose view changed since ``since`` (updated in place), with the frames sent meanwhile.

        ``since`` maps a device to its last snapshot pushed and how many of its sent frames went with it."""

        def collect() -> dict[str, tuple[Snapshot, list[bytes]]]:
            out: dict[str, tuple[Snapshot, list[bytes]]] = {}
            for dev, kp in self.keypads.items():
                snap = kp.snapshot()
                last, n = since.get(dev, (None, 0))
                if snap != last or len(kp.sent) != n:
                    out[dev] = (snap, kp.sent[n:])
                    since[dev] = (snap, len(kp.sent))
            return out

        return self.call(collect)

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
