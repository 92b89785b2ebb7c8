"""Provisioning one keypad, step by step.

1. the seat exists in the hall (before the board is touched);
2. the running gateway, if any, can be told afterwards (a token is given);
3. the board answers on its port (raw REPL) and says what it has
   (firmware version, device id, public key);
4. the device id: ``--device-id``, else the one the board already has,
   else the next device account of ``credentials.csv`` not registered
   yet, else a new ``<prefix>NNN`` account (the broker files are then
   updated and Mosquitto must be sent SIGHUP);
5. the seat is free (or already this keypad's), the device id is not
   registered with another key, nor revoked;
6. the build is copied (files whose SHA-256 on the board already matches
   are skipped; each copied file is hashed on the board; ``manifest.json``
   last) and the board soft-reset; or, with ``copy=False``, the board's
   firmware version must be the build's;
7. the configuration is written (hall, device id, Wi-Fi, broker, MQTT
   password, hall CA);
8. the key is generated on the board (unless it has one; ``rekey``
   replaces it, for a keypad not registered yet) and the public key read
   back with ``info``;
9. register + bind + audit in one transaction; the running gateway reloads;
10. the label: seat, device id, key fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from gateway.config.settings import GatewaySettings

from . import store
from .build import Build
from .credentials import Credentials
from .errors import DeviceRefused, FirmwareMismatch, KeyMismatch, NoFirmware, SeatTaken
from .gateway_api import GatewayApi
from .install import copy_build, keypad_settings, write_settings
from .link import BoardLink
from .settings import KeypadSettings

__all__ = ["STEPS", "Label", "Provisioner"]

STEPS = 10
Progress = Callable[[str, int], None]
"""``progress(what, step)``: the step (1..STEPS) that starts now."""

_KEYGEN_TIMEOUT = 120.0  # Wi-Fi join + key generation in pure Python on an ESP32


@dataclass(frozen=True)
class Label:
    seat: str | None
    device_id: str
    fingerprint: str  # short form, 3f2a-9c1e-77d0-b4a8
    firmware: str
    registered: bool = False
    bound: bool = False
    notes: tuple[str, ...] = field(default=())

    def line(self) -> str:
        seat = self.seat or "备用/spare"
        return f"{seat}  {self.device_id}  {self.fingerprint}  fw {self.firmware}"

    def csv_row(self) -> list[str]:
        return [self.seat or "", self.device_id, self.fingerprint, self.firmware]


@dataclass
class Provisioner:
    hall: GatewaySettings
    keypad: KeypadSettings
    build: Build
    engine: Engine
    credentials: Credentials
    gateway: GatewayApi
    actor: str
    timeout: float = 10.0
    copy: bool = True
    rekey: bool = False
    wifi_timeout_ms: int = 20000
    handed_out: set[str] = field(default_factory=set)  # device ids given to boards in this run

    def provision(
        self, port: str, seat: str | None, device_id: str | None = None, progress: Progress | None = None
    ) -> Label:
        say = progress or (lambda _what, _step: None)
        hall_id = self.hall.hall_id
        say("座位 / seat", 1)
        if seat is not None:
            store.seat_state(self.engine, hall_id, seat)
        say("网关 / gateway", 2)
        if self.gateway.running is None:
            self.gateway.probe()
            self.gateway.authorize(self.hall)  # the token's role before anything changes
        say("连接 / connect", 3)
        with BoardLink(port, timeout=self.timeout) as link:
            try:
                before: dict[str, object] | None = link.call("info")
            except (NoFirmware, DeviceRefused):  # nothing (usable) on it yet
                before = None
            say("编号 / device id", 4)
            had_key = before is not None and isinstance(before.get("public_key"), str)
            device_id = device_id or self._known_id(before) or self._next_id()
            self.handed_out.add(device_id)
            say("检查 / checks", 5)
            if seat is not None:
                state = store.seat_state(self.engine, hall_id, seat)
                if state.device is not None and state.device != device_id:
                    raise SeatTaken(seat, state.device)
            board_key = (
                bytes.fromhex(str(before["public_key"])) if before and had_key and not self.rekey else None
            )
            store.check_device(self.engine, device_id, board_key, rekey=self.rekey or board_key is None)
            say("固件 / firmware", 6)
            if self.copy:
                self._copy(link, progress)
                link.enter()  # soft reset: the new modules load from now on
            else:
                found = str(before.get("firmware")) if before is not None else None
                if found is None:
                    raise NoFirmware(
                        "表决器上没有 hallvote 固件；请去掉 --no-copy 写入固件",
                        "no hallvote firmware on the keypad; provision without --no-copy",
                    )
                if found != self.build.version:
                    raise FirmwareMismatch(found, self.build.version)
            say("配置 / config", 7)
            write_settings(link, self._config(device_id))
            say("密钥 / key", 8)
            if not had_key or self.rekey:
                link.call(
                    "generate_key",
                    force=self.rekey,
                    wifi_timeout_ms=self.wifi_timeout_ms,
                    timeout=max(self.timeout, _KEYGEN_TIMEOUT),
                )
            after = link.call("info")
        public_hex = after.get("public_key")
        if not isinstance(public_hex, str) or after.get("device_id") != device_id:
            raise DeviceRefused("READBACK", f"the keypad reads back {after!r}")
        if after.get("firmware") != self.build.version:
            raise FirmwareMismatch(str(after.get("firmware")), self.build.version)
        public_key = bytes.fromhex(public_hex)
        if board_key is not None and public_key != board_key:
            raise KeyMismatch(device_id)
        say("登记 / register", 9)
        registered, bound = store.register_and_bind(
            self.engine,
            hall_id=hall_id,
            device_id=device_id,
            public_key=public_key,
            firmware=self.build.version,
            seat_label=seat,
            actor=self.actor,
        )
        seat_id = store.seat_state(self.engine, hall_id, seat).seat_id if seat is not None else None
        notes = [self.gateway.reload(device_id, seat_id)]
        say("标签 / label", 10)
        return Label(
            seat,
            device_id,
            store.short_fingerprint(public_key),
            self.build.version,
            registered,
            bound,
            tuple(notes),
        )

    # ------------------------------------------------------------ the steps' parts

    def _known_id(self, before: dict[str, object] | None) -> str | None:
        if before is None or before.get("hall") != self.hall.hall_id:
            return None
        known = before.get("device_id")
        return known if isinstance(known, str) and known else None

    def _next_id(self) -> str:
        """The first device account of credentials.csv not registered yet, else a new account."""
        from sqlmodel import Session

        from gateway.db import crud

        with Session(self.engine) as session:
            taken = {d.device_id for d in crud.list_devices(session=session)} | self.handed_out
        for device_id in self.credentials.device_ids():
            if device_id not in taken:
                return device_id
        return self.credentials.new_device_id(self.keypad.device_prefix, taken)

    def _config(self, device_id: str) -> dict[str, object]:
        password = self.credentials.password(device_id)
        if password is None:
            password = self.credentials.add_device(device_id)
        return keypad_settings(
            hall=self.hall.hall_id,
            device_id=device_id,
            wifi_ssid=self.keypad.wifi_ssid,
            wifi_password=self.keypad.wifi_secret(),
            broker_host=self.keypad.broker_host,
            broker_port=self.keypad.broker_port,
            mqtt_password=password,
            ca_pem=self.keypad.ca_pem(),
            server_hostname=self.keypad.server_hostname,
        )

    def _copy(self, link: BoardLink, progress: Progress | None) -> None:
        say = None if progress is None else (lambda what: progress(what, 6))
        copy_build(link, self.build, say)
