"""SimRig: N virtual keypads, real Mosquitto (generated config), the real gateway process, a database.

Set up with :meth:`SimRig.start`; drive the sitting through the gateway's
API (:attr:`SimRig.gateway`) and the deputies through :meth:`press`;
faults are verbs: :meth:`kill_gateway` (SIGKILL and restart),
:meth:`restart_broker`, :meth:`power_cycle`, :meth:`cut_wifi`,
:meth:`partition` (the network drops a keypad's traffic, its Wi-Fi stays
up), :meth:`stall`, :meth:`impair` (latency and jitter).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from firmware.app import config
from firmware.app import states as S
from hil.rig.base import HallRig, RigError
from hil.rig.hall import device_id
from hil.rig.keypads import Fleet, VirtualKeypad
from hil.rig.netem import Proxy

__all__ = ["RigError", "SimRig"]


class SimRig(HallRig):
    def __init__(
        self,
        workdir: Path,
        keypads: int,
        *,
        hall: str = "hil-hall",
        database_url: str | None = None,
        spares: int = 0,
        seed_value: int = 0,
        loop_ms: int = 20,
        retransmit_ms: int = 500,
        broker: str = "mosquitto",
        broker_control: bool = False,
    ) -> None:
        super().__init__(
            workdir,
            keypads,
            hall=hall,
            database_url=database_url,
            spares=spares,
            seed_value=seed_value,
            broker=broker,
            broker_control=broker_control,
        )
        self.loop_ms = loop_ms
        self.retransmit_ms = retransmit_ms
        self.fleet: Fleet | None = None

    # ------------------------------------------------------------ set-up

    def start(self, wait_online: bool = True) -> SimRig:
        ids = self.start_hall()
        self.fleet = Fleet()
        self.fleet.run(self._boot_all(ids[: self.size]))
        if wait_online:
            self.wait(
                lambda: all(kp.state in S.ONLINE for kp in self.keypads.values()), "every keypad online", 120
            )
        return self

    async def _boot_all(self, ids: list[str]) -> None:
        assert self.fleet is not None and self.broker is not None and self.hall is not None
        self.fleet.proxy = Proxy(self.broker.host, self.broker.port, self.rng.randrange(1 << 30))
        nvs = self.workdir / "nvs"
        nvs.mkdir(exist_ok=True)
        for dev in ids:
            await self._add_keypad(dev, nvs)
            await asyncio.sleep(0)

    async def _add_keypad(self, dev: str, nvs: Path) -> VirtualKeypad:
        assert (
            self.fleet is not None and self.fleet.proxy is not None and self.broker is not None and self.hall
        )
        port = await self.fleet.proxy.add(dev)
        cfg = config.load(
            None,
            {
                **self.keypad_config(dev, port),
                "loop_ms": self.loop_ms,
                "retransmit_ms": self.retransmit_ms,
                "retransmit_max_ms": max(2000, self.retransmit_ms * 4),
            },
        )
        kp = VirtualKeypad(dev, self.hall.secrets[dev], cfg, nvs / f"{dev}.json", None)
        self.fleet.keypads[dev] = kp
        kp.boot()
        return kp

    def close(self) -> None:
        if self.fleet is not None:
            self.fleet.close()
        self.close_hall()

    def __enter__(self) -> SimRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ access

    @property
    def keypads(self) -> dict[str, VirtualKeypad]:
        assert self.fleet is not None
        return self.fleet.keypads

    def ids(self) -> list[str]:
        return list(self.keypads)

    def keypad(self, n: int | str) -> VirtualKeypad:
        return self.keypads[n if isinstance(n, str) else device_id(n)]

    def describe(self) -> str:
        states: dict[str, int] = {}
        for kp in self.keypads.values():
            states[kp.state] = states.get(kp.state, 0) + 1
        return f"keypad states {states}"

    # ------------------------------------------------------------ deputies

    def press(self, dev: str, *keys: str) -> None:
        """Presses on one keypad, in order (through its key driver, as fingers would)."""
        kp = self.keypads[dev]

        def go() -> None:
            for key in keys:
                kp.board.press(key)

        assert self.fleet is not None
        self.fleet.call(go)  # queued on the board before this returns

    # ------------------------------------------------------------ faults

    def power_cycle(self, devs: Iterable[str], off_s: float = 0.5) -> None:
        """Power off (RAM lost, NVS kept) and on again."""
        devs = list(devs)
        self._fault("power_cycle", keypads=len(devs), off_s=off_s)
        assert self.fleet is not None
        fleet = self.fleet

        async def cycle() -> None:
            await asyncio.gather(*(fleet.keypads[d].power_cycle(off_s) for d in devs))

        fleet.run(cycle())

    def cut_wifi(self, devs: Iterable[str], seconds: float) -> None:
        """The keypads lose Wi-Fi (and cannot rejoin) for ``seconds``; returns at once."""
        devs = list(devs)
        self._fault("wifi_cut", keypads=len(devs), seconds=seconds)
        assert self.fleet is not None
        fleet = self.fleet

        def cut() -> None:
            for d in devs:
                kp = fleet.keypads[d]
                kp.wifi_refused = True
                kp.wifi.refuse = True
                kp.wifi.drop()
                assert fleet.proxy is not None
                fleet.proxy.drop(d)  # the TCP connection dies with the radio link

        def restore() -> None:
            for d in devs:
                kp = fleet.keypads[d]
                kp.wifi_refused = False
                kp.wifi.refuse = False

        fleet.loop.call_soon_threadsafe(cut)
        fleet.loop.call_soon_threadsafe(lambda: fleet.loop.call_later(seconds, restore))

    def partition(self, devs: Iterable[str], seconds: float) -> None:
        """The network drops the keypads' traffic for ``seconds`` (their Wi-Fi stays up); returns at once."""
        devs = list(devs)
        self._fault("partition", keypads=len(devs), seconds=seconds)
        assert self.fleet is not None and self.fleet.proxy is not None
        proxy = self.fleet.proxy

        def dark() -> None:
            for d in devs:
                proxy.blackout(d, seconds)

        self.fleet.loop.call_soon_threadsafe(dark)

    def stall(self, devs: Iterable[str], seconds: float) -> None:
        devs = list(devs)
        self._fault("stall", keypads=len(devs), seconds=seconds)
        assert self.fleet is not None and self.fleet.proxy is not None
        proxy = self.fleet.proxy

        def hold() -> None:
            for d in devs:
                proxy.stall(d, seconds)

        self.fleet.loop.call_soon_threadsafe(hold)

    def impair(self, devs: Iterable[str], latency_ms: float, jitter_ms: float = 0.0) -> None:
        assert self.fleet is not None and self.fleet.proxy is not None
        for d in devs:
            link = self.fleet.proxy.links[d]
            link.latency_ms, link.jitter_ms = latency_ms, jitter_ms
