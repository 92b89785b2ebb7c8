"""What every rig shares: the hall seeded into a database, a broker, the gateway process, waits and faults.

:class:`HallRig` is the base of :class:`hil.rig.sim.SimRig` (simulated
keypads in this process) and :class:`hil.rig.serial.SerialRig` (keypads on
serial ports); a subclass boots its keypads after :meth:`HallRig.start_hall`.
Both share the gateway and broker verbs (:meth:`kill_gateway`,
:meth:`restart_broker`) and :meth:`wait`.

``keypad_host`` / ``listen_host`` place the broker's TLS listener for
keypads (:class:`hil.rig.broker.KeypadListener`): by default it binds
127.0.0.1; a bench of physical keypads gives this machine's LAN address
(``keypad_host="192.168.1.10"``, and ``listen_host="0.0.0.0"`` to bind
every address), which the server certificate then covers.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.db import init_db, make_engine
from hil.rig.broker import HOST, AnyBroker, KeypadListener, free_port, open_broker
from hil.rig.gateway import Credentials, GatewayProcess, write_hall_toml
from hil.rig.hall import SeededHall, device_id, seed

__all__ = ["HallRig", "RigError"]


class RigError(AssertionError):
    """A rig wait ran out of time, or a rig step failed; the message says what and shows the state."""


class HallRig:
    def __init__(
        self,
        workdir: Path,
        keypads: int,
        *,
        hall: str = "hil-hall",
        database_url: str | None = None,
        spares: int = 0,
        seed_value: int = 0,
        broker: str = "mosquitto",
        broker_control: bool = False,
        keypad_host: str = HOST,
        listen_host: str | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.size = keypads
        self.hall_id = hall
        self.database_url = database_url or f"sqlite:///{self.workdir / 'hallvote.db'}"
        self.spares = spares
        self.rng = random.Random(seed_value)
        self.broker_kind = broker  # mosquitto | embedded | auto
        self.broker_control = broker_control  # the gateway disables revoked keypads on the broker
        self.listener = KeypadListener(keypad_host, listen_host or "")  # checked before anything starts
        self.creds = Credentials()
        self.faults: list[dict[str, Any]] = []  # every fault injected, in order
        self.hall: SeededHall | None = None
        self.broker: AnyBroker | None = None
        self.gateway: GatewayProcess | None = None
        self.gateway_url = self.database_url  # what the gateway connects to (a subclass may put a proxy between)
        self.seats: dict[str, str] = {}  # device -> seat label, for the keypads bound to a seat

    # ------------------------------------------------------------ set-up

    def start_hall(self) -> list[str]:
        """Seed the database, start the broker (an account per keypad) and the gateway; the device ids."""
        engine = make_engine(self.database_url)
        try:
            init_db(engine)
            self.hall = seed(engine, self.hall_id, self.size, self.spares)
        finally:
            engine.dispose()
        ids = [device_id(i) for i in range(1, self.size + self.spares + 1)]
        self.seats = dict(zip(ids, self.hall.seats, strict=False))
        self.broker = open_broker(self.broker_kind, self.workdir, self.hall_id, ids, self.listener)
        if self.broker_control and self.broker.kind != "mosquitto":
            raise RigError("broker_control needs Mosquitto's dynamic security, not the embedded broker")
        self.broker.start()
        api_port = free_port()
        toml = write_hall_toml(
            self.workdir / "hall.toml",
            hall=self.hall_id,
            database_url=self.gateway_url,
            broker=self.broker,
            api_port=api_port,
            creds=self.creds,
            control=self.broker_control,
        )
        self.gateway = GatewayProcess(toml, api_port, self.workdir / "gateway.log", self.creds)
        self.gateway.start()
        return ids

    def keypad_config(self, dev: str, port: int, host: str | None = None) -> dict[str, Any]:
        """The firmware configuration override of keypad ``dev`` reaching the broker's TLS port at
        ``host``:``port`` (``host`` default: the broker's keypad address; a proxy in between gives its own)."""
        assert self.broker is not None
        return {
            "hall": self.hall_id,
            "device_id": dev,
            "broker_host": host or self.broker.host,
            "broker_port": port,
            "server_hostname": self.broker.server_hostname,
            "mqtt_password": self.broker.password(dev),
            "ca_file": str(self.broker.ca_path),
            "keepalive": 10,
            "heartbeat_s": 60,
            "offline_reset_s": 0,
        }

    def close_hall(self) -> None:
        if self.gateway is not None:
            self.gateway.close()
        if self.broker is not None:
            self.broker.stop()

    # ------------------------------------------------------------ access

    @property
    def sitting_id(self) -> int:
        assert self.hall is not None
        return self.hall.sitting_id

    def describe(self) -> str:
        """The keypads' states for a wait's failure message (a subclass says more)."""
        return ""

    def check(self) -> None:
        """Raise RigError if a part the rig runs has failed (a subclass's keypad processes); else nothing."""

    def wait(self, pred: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            if pred():
                return
            if time.monotonic() > deadline:
                raise RigError(f"timed out after {timeout:.0f} s waiting for {what}; {self.describe()}")
            time.sleep(0.05)

    # ------------------------------------------------------------ faults

    def _fault(self, verb: str, **detail: Any) -> None:
        self.faults.append({"fault": verb, "at": time.time(), **detail})

    def kill_gateway(self, down_s: float = 0.0) -> None:
        """SIGKILL the gateway process, then start it again after ``down_s``."""
        assert self.gateway is not None
        self._fault("gateway_sigkill", down_s=down_s)
        self.gateway.kill()
        time.sleep(down_s)
        self.gateway.start()

    def restart_broker(self, down_s: float = 0.0) -> None:
        assert self.broker is not None
        self._fault("broker_restart", down_s=down_s)
        self.broker.stop()
        time.sleep(down_s)
        self.broker.start()
