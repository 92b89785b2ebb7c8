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

``processes`` picks where the keypads run: on one asyncio loop in this
process (1, the default: ``rig.keypads`` are the VirtualKeypads
themselves) or dealt over that many worker processes
(:mod:`hil.rig.pool`: ``rig.keypads`` are mirrors updated from their
snapshots).  The verbs and the view the runner reads
(:class:`hil.rig.mirror.KeypadView`) are the same either way.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from firmware.app import config
from firmware.app import states as S
from hil.rig.base import HallRig, RigError
from hil.rig.hall import device_id
from hil.rig.keypads import Fleet, KeypadSpec
from hil.rig.mirror import KeypadView
from hil.rig.netem import LISTEN_HOST, Proxy
from hil.rig.pool import FleetPool
from hil.rig.store import PrivatePostgres, SmallDisk

__all__ = ["STORES", "RigError", "SimRig", "default_loop_ms", "default_processes", "default_retransmit_ms"]

STORES = ("sqlite", "sqlite-disk", "postgres")
HALLVOTE = str(Path(sys.executable).with_name("hallvote"))
LOOP_RATE = 15_000  # keypad loop iterations a second across the fleet, at most (see default_loop_ms)


def default_loop_ms(keypads: int) -> int:
    """The keypads' loop period: 20 ms up to 300 keypads, then longer so the whole fleet's loops stay at
    ``LOOP_RATE`` iterations a second (an idle iteration costs ~30-40 us of CPU under CPython)."""
    return max(20, round(keypads * 1000 / LOOP_RATE))


def default_retransmit_ms(keypads: int) -> int:
    """A keypad's first retransmission: 500 ms up to 300 keypads (quick tests), then the firmware's own 2 s, so a
    large hall's burst is not answered by a storm of retransmissions while the gateway works through it."""
    return 500 if keypads <= 300 else int(config.DEFAULTS["retransmit_ms"])


def default_processes(keypads: int) -> int:
    """Keypad processes for a hall of this size: 1 up to 300 keypads, then one per 750 keypads but at least 2,
    at most the machine's CPUs (measured in docs/hil.md: 1000 keypads 113 s in one process, 68 s in two)."""
    if keypads <= 300:
        return 1
    return max(1, min(os.cpu_count() or 1, max(2, math.ceil(keypads / 750))))


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
        loop_ms: int | None = None,
        retransmit_ms: int | None = None,
        broker: str = "mosquitto",
        broker_control: bool = False,
        store: str = "sqlite",
        disk_size: str = "48m",
        processes: int = 1,
    ) -> None:
        if store not in STORES:
            raise RigError(f"store: one of {', '.join(STORES)}, not {store!r}")
        if processes < 1:
            raise RigError(f"processes: at least 1, not {processes}")
        self.store = store
        self.processes = processes
        self.disk: SmallDisk | None = None  # the database's own small disk (sqlite-disk, postgres)
        self.postgres: PrivatePostgres | None = None
        self.db_proxy: Proxy | None = None  # between the gateway and PostgreSQL
        self._timers: list[threading.Timer] = []
        self._closed = False
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
        self.loop_ms = default_loop_ms(keypads) if loop_ms is None else loop_ms
        self.retransmit_ms = default_retransmit_ms(keypads) if retransmit_ms is None else retransmit_ms
        self.fleet: Fleet | None = None  # this process's loop: the keypads when processes=1; the db proxy
        self.pool: FleetPool | None = None  # the keypads' worker processes when processes > 1

    # ------------------------------------------------------------ set-up

    def start(self, wait_online: bool = True) -> SimRig:
        """Start everything and boot every keypad; a failure on the way closes what was started, then raises."""
        try:
            return self._start(wait_online)
        except BaseException:
            self.close()
            raise

    def _start(self, wait_online: bool) -> SimRig:
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
        assert self.broker is not None
        seed = self.rng.randrange(1 << 30)
        if self.processes > 1:
            self.pool = FleetPool(self.processes, self.broker.host, self.broker.port, seed)
        else:
            self.fleet.listen(self.broker.host, self.broker.port, seed)
        (self.workdir / "nvs").mkdir(exist_ok=True)
        self.keypad_fleet.add(self._spec(dev) for dev in ids[: self.size])
        if wait_online:
            self.wait(lambda: all(kp.state in S.ONLINE for kp in self.keypads.values()), "every keypad online",
                      max(120, self.size / 10))  # fmt: skip
        return self

    def _spec(self, dev: str) -> KeypadSpec:
        """Keypad ``dev``'s secret, firmware configuration (the proxy's port is added where it runs), NVS."""
        assert self.hall is not None
        cfg = {
            **self.keypad_config(dev, 0, LISTEN_HOST),
            "loop_ms": self.loop_ms,
            # a large hall keeps the firmware's own keepalive (30 s: a PINGRESP may take 15 s) so a burst that
            # slows the broker or the keypads' loops is not taken for link loss by thousands of keypads at once
            "keepalive": 10 if self.size <= 300 else int(config.DEFAULTS["keepalive"]),
            # the nonce pool refills as fast (per second) as at a 20 ms loop, however long the loop period
            "steps_per_slice": max(1, self.loop_ms // 20),
            "retransmit_ms": self.retransmit_ms,
            "retransmit_max_ms": max(2000, self.retransmit_ms * 4),
        }
        del cfg["broker_port"]
        return KeypadSpec(dev, self.hall.secrets[dev], cfg, str(self.workdir / "nvs" / f"{dev}.json"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        try:
            if self.gateway is not None:
                self.gateway.close()
            if self.pool is not None:
                self.pool.close()
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
    def keypad_fleet(self) -> Fleet | FleetPool:
        """What runs the keypads: this process's Fleet (processes=1) or the worker pool; the same verbs."""
        if self.pool is not None:
            return self.pool
        assert self.fleet is not None, "start() first"
        return self.fleet

    @property
    def keypads(self) -> Mapping[str, KeypadView]:
        """Each keypad's view: the VirtualKeypad itself (processes=1) or its KeypadMirror (see hil.rig.mirror)."""
        if self.pool is not None:
            return self.pool.keypads
        assert self.fleet is not None
        return self.fleet.keypads

    def ids(self) -> list[str]:
        return list(self.keypads)

    def keypad(self, n: int | str) -> KeypadView:
        return self.keypads[n if isinstance(n, str) else device_id(n)]

    def describe(self) -> str:
        states: dict[str, int] = {}
        for kp in self.keypads.values():
            states[kp.state] = states.get(kp.state, 0) + 1
        return f"keypad states {states}"

    def check(self) -> None:
        """RigError if a keypad worker process died or a verb failed in one (see hil.rig.pool)."""
        if self.pool is not None:
            self.pool.check()

    def sync(self) -> None:
        """Returns once every keypad's view shows at least what its keypad did before this call."""
        if self.pool is not None:
            self.pool.sync()

    def link(self, dev: str) -> dict[str, int]:
        """The impairment proxy's counters for keypad ``dev``: connections, refused, resets, bytes up/down."""
        return self.keypad_fleet.link(dev)

    # ------------------------------------------------------------ deputies

    def press(self, dev: str, *keys: str) -> None:
        """Presses on one keypad, in order (through its key driver, as fingers would)."""
        self.keypad_fleet.press(dev, keys)

    # ------------------------------------------------------------ faults

    def power_cycle(self, devs: Iterable[str], off_s: float = 0.5) -> None:
        """Power off (RAM lost, NVS kept) and on again."""
        devs = list(devs)
        self._fault("power_cycle", keypads=len(devs), off_s=off_s)
        self.keypad_fleet.power_cycle(devs, off_s)

    def cut_wifi(self, devs: Iterable[str], seconds: float) -> None:
        """The keypads lose Wi-Fi (and cannot rejoin) for ``seconds``; returns at once."""
        devs = list(devs)
        self._fault("wifi_cut", keypads=len(devs), seconds=seconds)
        self.keypad_fleet.cut_wifi(devs, seconds)

    def partition(self, devs: Iterable[str], seconds: float) -> None:
        """The network drops the keypads' traffic for ``seconds`` (their Wi-Fi stays up); returns at once."""
        devs = list(devs)
        self._fault("partition", keypads=len(devs), seconds=seconds)
        self.keypad_fleet.partition(devs, seconds)

    def stall(self, devs: Iterable[str], seconds: float) -> None:
        devs = list(devs)
        self._fault("stall", keypads=len(devs), seconds=seconds)
        self.keypad_fleet.stall(devs, seconds)

    def impair(self, devs: Iterable[str], latency_ms: float, jitter_ms: float = 0.0) -> None:
        self.keypad_fleet.impair(list(devs), latency_ms, jitter_ms)

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
        assert self.gateway is not None and self.hall is not None
        used = set(self.keypads)
        spare = next((d for d in self.hall.spares if d not in used), None)
        if spare is None:
            raise RigError("swap: no spare keypad left (SimRig(..., spares=N))")
        seat = self.seats[dev]
        self._fault("swap", old=dev, new=spare, seat=seat)
        fleet = self.keypad_fleet
        fleet.halt(dev)
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
        if isinstance(fleet, FleetPool):
            fleet.add([self._spec(spare)], near=dev)  # on the failed keypad's worker
        else:
            fleet.add([self._spec(spare)])
        kp = self.keypads[spare]
        self.wait(lambda: kp.state in S.ONLINE and kp.sitting_state is not None, f"{spare} online after the swap", 60)
        # The new keypad shows 未签到: the deputy presses 签到 once and hears 已签到 (the check-in is kept).
        self.press(spare, "checkin")
        self.wait(lambda: kp.checked_in, f"{spare} shows 已签到 after the swap", 60)
        return spare
