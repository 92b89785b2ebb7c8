"""SerialRig: keypads on serial ports, driven through the firmware's bench test channel; the same hall as SimRig.

The hall (database, broker, gateway process) is :class:`hil.rig.base.HallRig`'s,
so the gateway and broker verbs are SimRig's.  Each keypad is a *board*
with a serial ``port``; the rig provisions it (its key and configuration:
``board.prepare``), powers it on (``board.boot``), opens the port with
pyserial and reads the test channel's report lines
(:mod:`firmware.app.testchan`: ``S`` state, ``L`` LEDs, ``D`` display,
``E`` a refused line) into :class:`SerialKeypad`.  Deputies press keys by
``K <key>`` lines.  Boards: :class:`hil.rig.serialsim.SimSerialBoard` (the
real firmware behind a pty, for tests without hardware),
:class:`hil.rig.esp32board.Esp32SerialBoard` (a physical keypad on USB; the
rig then needs ``keypad_host``, the bench's LAN address, so the keypads
reach its broker) or anything with the same methods.

:func:`pulse_reset` resets an ESP32 dev board through the USB-serial
bridge's DTR/RTS lines (RTS drives EN low, DTR keeps GPIO0 high: a normal
boot, not the bootloader).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from firmware.app import states as S
from hil.rig.base import HallRig, RigError

__all__ = ["Board", "RigError", "SerialKeypad", "SerialRig", "pulse_reset"]

BAUD = 115200


class Board(Protocol):
    port: str

    def prepare(self, device_id: str, secret: bytes, override: dict[str, Any]) -> None: ...
    def boot(self) -> None: ...
    def reset(self, off_s: float = 0.3) -> None: ...
    def close(self) -> None: ...


def pulse_reset(serial_port: Any, off_s: float = 0.1) -> None:
    """Reset an ESP32 dev board through its USB-serial bridge: EN low for ``off_s`` via RTS, GPIO0 high."""
    serial_port.dtr = False
    serial_port.rts = True
    time.sleep(off_s)
    serial_port.rts = False


class SerialKeypad:
    """What one keypad's test channel last reported, updated by the rig's reader thread."""

    def __init__(self, device_id: str, port: str) -> None:
        self.device_id = device_id
        self.port = port
        self.hello: str | None = None  # the H line: the test channel is built in
        self.state = "off"
        self.leds: dict[str, str] = {}
        self.lines: list[str] = []
        self.errors: list[str] = []  # E lines: lines the keypad refused
        self.heard: list[str] = []  # every line, in order (other output of the board too)
        self.changed = threading.Condition()

    def take(self, line: str) -> None:
        with self.changed:
            self.heard.append(line)
            tag, _, rest = line.partition(" ")
            if tag == "H":
                self.hello = rest
            elif tag == "S":
                self.state = rest
            elif tag == "L":
                self.leds = dict(p.split("=", 1) for p in rest.split() if "=" in p)
            elif tag == "D":
                self.lines = rest.split("|") if rest else []
            elif tag == "E":
                self.errors.append(rest)
            self.changed.notify_all()


class _Link:
    """The open serial port of one keypad and the thread reading its lines."""

    def __init__(self, board: Board, keypad: SerialKeypad) -> None:
        import serial

        self.board = board
        self.keypad = keypad
        self.serial = serial.Serial(board.port, BAUD, timeout=0.1)
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._read, name=f"serial-{keypad.device_id}", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buf = b""
        while not self.stopping:
            try:
                chunk = self.serial.read(256)
            except Exception:
                if self.stopping:
                    return
                time.sleep(0.1)
                continue
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                self.keypad.take(raw.rstrip(b"\r").decode("utf-8", "replace"))

    def send(self, line: str) -> None:
        with self.lock:
            self.serial.write(line.encode() + b"\n")
            self.serial.flush()

    def close(self) -> None:
        self.stopping = True
        self.thread.join(5)
        self.serial.close()


class SerialRig(HallRig):
    """Keypads on serial ports (``boards``), the real broker and gateway; see the module docstring."""

    def __init__(self, workdir: Path, boards: Sequence[Board], **options: Any) -> None:
        super().__init__(workdir, len(boards), **options)
        self.boards = list(boards)
        self.links: dict[str, _Link] = {}
        self.keypads: dict[str, SerialKeypad] = {}

    def start(self, wait_online: bool = True) -> SerialRig:
        ids = self.start_hall()
        assert self.hall is not None and self.broker is not None
        for dev, board in zip(ids, self.boards, strict=False):
            board.prepare(dev, self.hall.secrets[dev], self.keypad_config(dev, self.broker.port))
            kp = SerialKeypad(dev, board.port)
            self.keypads[dev] = kp
            self.links[dev] = _Link(board, kp)  # open before power-on: the H line is not missed
            board.boot()
        if wait_online:
            self.wait(lambda: all(k.state in S.ONLINE for k in self.keypads.values()), "every keypad online", 120)
        return self

    def close(self) -> None:
        for link in self.links.values():
            link.close()
        for board in self.boards:
            board.close()
        self.close_hall()

    def __enter__(self) -> SerialRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return "keypads " + ", ".join(f"{d}: {k.state} {k.lines}" for d, k in self.keypads.items())

    def ids(self) -> list[str]:
        return list(self.keypads)

    # ------------------------------------------------------------ deputies

    def press(self, dev: str, *keys: str, hold_ms: int = 0) -> None:
        """Presses on one keypad, in order, through its test channel (``K <key>`` lines)."""
        for key in keys:
            self.links[dev].send(f"K {key} {hold_ms}" if hold_ms else f"K {key}")

    def ask(self, dev: str) -> None:
        """Ask the keypad to report everything again (``?``)."""
        self.links[dev].send("?")

    def wait_state(self, dev: str, *states: str, timeout: float = 30.0) -> None:
        kp = self.keypads[dev]
        self.wait(lambda: kp.state in states, f"{dev} in {states}", timeout)

    def wait_led(self, dev: str, led: str, mode: str, timeout: float = 30.0) -> None:
        kp = self.keypads[dev]
        self.wait(lambda: kp.leds.get(led) == mode, f"{dev} LED {led} {mode}", timeout)

    def wait_display(self, dev: str, text: str, timeout: float = 30.0) -> None:
        kp = self.keypads[dev]
        self.wait(lambda: any(text in line for line in kp.lines), f"{dev} showing {text!r}", timeout)

    # ------------------------------------------------------------ faults

    def power_cycle(self, devs: Iterable[str], off_s: float = 0.3) -> None:
        """Reset the keypads (RAM lost, NVS kept): ``board.reset``."""
        devs = list(devs)
        self._fault("power_cycle", keypads=len(devs), off_s=off_s)
        by_dev = dict(zip(self.keypads, self.boards, strict=False))
        for d in devs:
            by_dev[d].reset(off_s)
