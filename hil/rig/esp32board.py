"""A physical keypad (ESP32) on a USB serial port, as a board of :class:`hil.rig.serial.SerialRig`.

BENCH KEYPADS ONLY.  :meth:`Esp32SerialBoard.prepare` provisions the keypad
into the rig's hall over its raw REPL, through the provisioning code
(:mod:`gateway.provision`: :class:`~gateway.provision.link.BoardLink`,
:func:`~gateway.provision.install.copy_build`,
:func:`~gateway.provision.install.write_settings`) and the keypad's own
:mod:`firmware.provision`:

1. enter the raw REPL (Ctrl-C stops a running app; soft reset) and hold
   the watchdog a running app armed (it cannot be stopped; 8 s would cut
   the copy short) at ``watchdog_ms``;
2. copy the build, which must have the bench test channel (``hallvote
   firmware build --test-channel``; a build without it is refused when the
   board is made): files already identical are skipped, every file written
   is hashed on the keypad; then a soft reset so the new modules load;
3. write the settings for the rig's hall (hall, device id, Wi-Fi, the
   rig's broker as keypads reach it, the keypad's MQTT password, the hall
   CA, the host's clock as the time floor): the files the firmware reads at
   boot (``hallvote_local.json``, ``hall-ca.pem``);
4. store the rig's secret key in the keypad's NVS
   (:func:`firmware.provision.install_key`, which only a ``--test-channel``
   image accepts: a hall keypad makes its own key and it never crosses the
   cable) and read back ``info``: device id, hall, firmware and the public
   key must be the rig's.

The rig's timing overrides for simulated keypads (``keepalive``,
``heartbeat_s``, ``offline_reset_s``) are not provisioning settings: a
physical keypad keeps its firmware's defaults.  A broker on loopback is
refused (``LOOPBACK_BROKER``): the keypad is on the bench's Wi-Fi, so the
rig must be started with ``keypad_host`` = this machine's LAN address.

:meth:`boot` leaves the raw REPL and soft-resets, so ``main.py`` starts the
keypad app (the test channel's ``H`` line follows).  :meth:`reset` pulses
EN through the USB-serial bridge (:func:`hil.rig.serial.pulse_reset`,
RTS to EN, DTR to GPIO0); a port without modem lines (a pty) is refused
(``NO_RESET_LINES``).

Tested against the simulated REPL board (the MicroPython WebAssembly port
behind a pty), not against physical keypads.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.provision.build import Build, load_build
from gateway.provision.errors import DeviceRefused, NoTestChannel
from gateway.provision.install import copy_build, keypad_settings, write_settings
from gateway.provision.link import BoardLink
from hil.rig.base import RigError
from hil.rig.broker import SERVER_NAME
from hil.rig.hall import public_key_of
from hil.rig.serial import BAUD, pulse_reset

__all__ = ["WATCHDOG_MS", "BoardSetupError", "Esp32SerialBoard", "settings_for"]

WATCHDOG_MS = 600_000  # held while provisioning; the keypad's boot sets its own again


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == SERVER_NAME


class BoardSetupError(RigError):
    """A physical board cannot be set up for the rig; ``code`` says why (Chinese / English message)."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        self.code = code
        super().__init__(f"[{code}] {zh} / {en}")


class Esp32SerialBoard:
    """One physical keypad on ``port`` (``/dev/ttyUSB0``, ``/dev/serial/by-id/...``); see the module docstring."""

    def __init__(
        self,
        port: str,
        build_dir: str | Path,
        wifi_ssid: str,
        wifi_password: str,
        *,
        timeout: float = 10.0,
        watchdog_ms: int = WATCHDOG_MS,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.port = port
        self.build: Build = load_build(build_dir)
        if not self.build.test_channel:
            raise NoTestChannel(self.build.root)
        self.wifi_ssid = wifi_ssid
        self.wifi_password = wifi_password
        self.timeout = timeout
        self.watchdog_ms = watchdog_ms
        self.progress = progress
        self.link: BoardLink | None = None  # open in the raw REPL between prepare and boot
        self.copied = 0  # files written by the last prepare (the others were identical)
        self.written: dict[str, object] = {}  # the settings the keypad wrote (no secrets)
        self.public_key: bytes | None = None  # read back from the keypad

    # ------------------------------------------------------------ the board protocol

    def prepare(self, device_id: str, secret: bytes, override: dict[str, Any]) -> None:
        """Provision the keypad into the rig's hall (steps in the module docstring); stays in the raw REPL."""
        settings = self.settings(device_id, override)
        expected = public_key_of(secret)
        self.close()
        link = BoardLink(self.port, timeout=self.timeout)
        try:
            link.enter()
            link.hold_watchdog(self.watchdog_ms)
            self.copied = copy_build(link, self.build, self.progress)
            link.enter()  # soft reset: the new modules load from now on
            link.hold_watchdog(self.watchdog_ms)
            self.written = write_settings(link, settings)
            installed = link.call("install_key", secret.hex())
            info = link.call("info")
            self._check(info, installed, device_id, settings["hall"], expected)
        except BaseException:
            link.close()
            raise
        self.public_key = expected
        self.link = link

    def boot(self) -> None:
        """Leave the raw REPL and soft-reset: the keypad app starts (``main.py``)."""
        if self.link is None:
            raise BoardSetupError("NOT_PREPARED", "请先 prepare", "prepare() the board first")
        link, self.link = self.link, None
        try:
            link.run_firmware()
        finally:
            link.close()

    def reset(self, off_s: float = 0.3) -> None:
        """A hardware reset: EN low for ``off_s`` through the bridge's RTS, GPIO0 kept high (DTR)."""
        import serial

        line = serial.Serial()
        line.port = self.port
        line.baudrate = BAUD
        line.dtr = True  # both asserted at open: no reset yet on the usual auto-reset wiring
        line.rts = True
        try:
            line.open()
        except (OSError, serial.SerialException) as exc:
            raise BoardSetupError(
                "PORT_UNAVAILABLE", f"无法打开串口 {self.port}", f"cannot open serial port {self.port}: {exc}"
            ) from None
        try:
            pulse_reset(line, off_s)
        except (OSError, serial.SerialException) as exc:
            raise BoardSetupError(
                "NO_RESET_LINES",
                f"串口 {self.port} 没有 DTR/RTS 线，无法复位表决器",
                f"{self.port} has no DTR/RTS lines to reset the keypad with: {exc}",
            ) from None
        finally:
            line.close()

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None

    def __enter__(self) -> Esp32SerialBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ parts

    def settings(self, device_id: str, override: dict[str, Any]) -> dict[str, object]:
        """The keypad's provisioning settings from the rig's configuration ``override``."""
        return settings_for(device_id, override, self.wifi_ssid, self.wifi_password)

    def _check(self, info: Any, installed: Any, device_id: str, hall: object, expected: bytes) -> None:
        want = {
            "device_id": device_id,
            "hall": hall,
            "firmware": self.build.version,
            "public_key": expected.hex(),
        }
        got = {k: info.get(k) for k in want} if isinstance(info, dict) else {}
        if installed != expected.hex() or got != want:
            raise DeviceRefused("READBACK", f"the keypad reads back {got!r}, expected {want!r}")


def settings_for(
    device_id: str, override: dict[str, Any], wifi_ssid: str, wifi_password: str
) -> dict[str, object]:
    """The settings :func:`firmware.provision.write_config` gets for keypad ``device_id`` from the rig's
    configuration ``override`` (:meth:`hil.rig.base.HallRig.keypad_config`) and the bench's Wi-Fi."""
    missing = [
        k for k in ("hall", "broker_host", "broker_port", "mqtt_password", "ca_file") if not override.get(k)
    ]
    if missing:
        raise BoardSetupError(
            "BAD_OVERRIDE",
            f"测试台配置缺少 {', '.join(missing)}",
            f"the rig's configuration lacks {', '.join(missing)}",
        )
    host = str(override["broker_host"])
    if _loopback(host):
        raise BoardSetupError(
            "LOOPBACK_BROKER",
            f"测试台代理地址为 {host}，表决器无法从局域网连接；请以 keypad_host=<本机局域网地址> 启动测试台",
            f"the rig's broker is at {host}, which a keypad on the bench's Wi-Fi cannot reach; "
            "start the rig with keypad_host=<this machine's LAN address>",
        )
    ca_file = Path(str(override["ca_file"]))
    try:
        ca_pem = ca_file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise BoardSetupError(
            "BAD_OVERRIDE", f"无法读取会场 CA {ca_file}", f"cannot read the hall CA {ca_file}: {exc}"
        ) from None
    return keypad_settings(
        hall=str(override["hall"]),
        device_id=device_id,
        wifi_ssid=wifi_ssid,
        wifi_password=wifi_password,
        broker_host=host,
        broker_port=int(override["broker_port"]),
        mqtt_password=str(override["mqtt_password"]),
        ca_pem=ca_pem,
        server_hostname=override.get("server_hostname"),
    )
