"""SimRig: N virtual keypads, real Mosquitto (generated config), the real gateway process, a database.

Set up with :meth:`SimRig.start`; drive the sitting through the gateway's
API (:attr:`SimRig.gateway`) and the deputies through :meth:`press`;
faults are verbs: :meth:`kill_gateway` (SIGKILL and restart),
:meth:`restart_broker`, :meth:`power_cycle`, :meth:`cut_wifi`,
:meth:`partition` (the network drops a keypad's traffic, its Wi-Fi stays
up), :meth:`stall`, :meth:`impair` (latency and jitter), :meth:`swap` (a
keypad swapped for a spare by the technician's ``hallvote device swap``),
:meth:`db_unreachable` and :meth:`disk_full`.

``store`` picks the database: ``"sqlite"`` (a file in the work folder, the
default), ``"sqlite-disk"`` (the file on a small tmpfs of its own, which
:meth:`disk_full` fills) or ``"postgres"`` (a private cluster, see
:mod:`hil.rig.store`, reached by the gateway through a TCP proxy that
:meth:`db_unreachable` cuts; its disk is a small tmpfs too).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from firmware.app import config
from firmware.app import states as S
from hil.rig.base import HallRig, RigError
from hil.rig.hall import device_id
from hil.rig.keypads import Fleet, VirtualKeypad
from hil.rig.netem import LISTEN_HOST, Proxy
from hil.rig.store import PrivatePostgres, SmallDisk

__all__ = ["STORES", "RigError", "SimRig"]

STORES = ("sqlite", "sqlite-disk", "postgres")
HALLVOTE = str(Path(sys.executable).with_name("hallvote"))


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
        store: str = "sqlite",
        disk_size: str = "48m",
    ) -> None:
        if store not in STORES:
            raise RigError(f"store: one of {', '.join(STORES)}, not {store!r}")
        self.store = store
        self.disk: SmallDisk | None = None  # the database's own small disk (sqlite-disk, postgres)
        self.postgres: PrivatePostgres | None = None
        self.db_proxy: Proxy | None = None  # between the gateway and PostgreSQL
        self._timers: list[threading.Timer] = []
        if store == "sqlite-disk":
            self.disk = SmallDisk(Path(workdir) / "disk", disk_size)
            database_url = database_url or f"sqlite:///{self.disk.where / 'hallvote.db'}"
        elif store == "postgres":
            self.postgres = PrivatePostgres()
            self.disk = self.postgres.disk
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
        self.fleet = Fleet()
        if self.store == "sqlite-disk":
            assert self.disk is not None
            self.disk.mount()
        elif self.postgres is not None:
            self.postgres.start()
            self.database_url = self.postgres.create_database("hallvote")
            self.db_proxy = Proxy("127.0.0.1", self.postgres.port, self.rng.randrange(1 << 30))
            port = self.fleet.run(self.db_proxy.add("database"))
            self.gateway_url = self.postgres.url("hallvote", port)
        ids = self.start_hall()
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
                **self.keypad_config(dev, port, LISTEN_HOST),
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
        for timer in self._timers:
            timer.cancel()
        try:
            if self.gateway is not None:
                self.gateway.close()
            if self.fleet is not None:
                if self.db_proxy is not None:
                    self.fleet.run(self.db_proxy.close(), 30)
                self.fleet.close()
            self.close_hall()
        finally:
            if self.postgres is not None:
                self.postgres.stop()
                if self.postgres.saved_log:
                    (self.workdir / "postgres.log").write_text(self.postgres.saved_log)
            elif self.disk is not None:
                self.disk.close()

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

    # ------------------------------------------------------------ store and swap faults

    def _later(self, seconds: float, fn: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, fn)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def db_unreachable(self, seconds: float) -> None:
        """The gateway's connections to PostgreSQL are reset and new ones refused for ``seconds``; returns at once.

        Needs ``store="postgres"`` (a SQLite file cannot be out of reach of the process that holds it)."""
        if self.db_proxy is None or self.fleet is None:
            raise RigError("db_unreachable needs the rig on PostgreSQL (SimRig(..., store='postgres'))")
        self._fault("db_unreachable", seconds=seconds)
        proxy = self.db_proxy
        self.fleet.loop.call_soon_threadsafe(lambda: proxy.blackout("database", seconds))

    def disk_full(self, seconds: float) -> None:
        """The database's disk is filled to the last byte now and given its space back after ``seconds``;
        returns at once.  Needs ``store="sqlite-disk"`` or ``"postgres"`` (the database on its own tmpfs).
        PostgreSQL may shut itself down when it cannot write its WAL: the rig then starts it again once the
        space is back, as an operator would (counted in ``postgres.restarts``)."""
        if self.disk is None or not self.disk.mounted:
            raise RigError(
                "disk_full needs the database on its own disk (SimRig(..., store='sqlite-disk' or 'postgres'))"
            )
        disk, pg = self.disk, self.postgres
        written = disk.fill()
        self._fault("disk_full", seconds=seconds, filled=written)

        def restore() -> None:
            disk.free()
            if pg is not None:
                pg.ensure_running()

        self._later(seconds, restore)

    def swap(self, dev: str, reason: str = "故障更换 / failed (rig)") -> str:
        """The keypad ``dev`` fails (powered off for good) and the technician swaps in the next spare with
        ``hallvote device swap`` against the running gateway; the spare boots, and the deputy presses 签到 on
        it once (answered 已签到: the check-in is kept).  Returns the new keypad's id once it shows 已签到.
        Needs spares (``SimRig(..., spares=N)``)."""
        assert self.fleet is not None and self.gateway is not None and self.hall is not None
        used = set(self.keypads)
        spare = next((d for d in self.hall.spares if d not in used), None)
        if spare is None:
            raise RigError("swap: no spare keypad left (SimRig(..., spares=N))")
        seat = self.seats[dev]
        self._fault("swap", old=dev, new=spare, seat=seat)
        self.fleet.run(self.keypads[dev].halt())
        done = subprocess.run(
            [HALLVOTE, "device", "swap", "--seat", seat, "--to", spare, "--config", str(self.gateway.config),
             "--reason", reason, "--by", "rig"],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "HALLVOTE_TOKEN": self.gateway.creds.tokens["technician"]},
        )  # fmt: skip
        if done.returncode != 0:
            raise RigError(f"hallvote device swap --seat {seat} --to {spare}: exit {done.returncode}: "
                           f"{(done.stdout + done.stderr).strip()[-800:]}")  # fmt: skip
        self.seats[spare] = self.seats.pop(dev)
        kp = self.fleet.run(self._add_keypad(spare, self.workdir / "nvs"))
        self.wait(lambda: kp.state in S.ONLINE and kp.app is not None and kp.app.sitting is not None,
                  f"{spare} online after the swap", 60)  # fmt: skip
        # The new keypad shows 未签到: the deputy presses 签到 once and hears 已签到 (the check-in is kept).
        self.press(spare, "checkin")
        self.wait(
            lambda: kp.app is not None and kp.app.checked_in, f"{spare} shows 已签到 after the swap", 60
        )
        return spare
