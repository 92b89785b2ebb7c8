"""A simulated keypad on a serial line for :class:`hil.rig.serial.SerialRig`: the real firmware behind a pty.

:class:`SimSerialBoard` opens a pseudo-terminal pair; the keypad app
(``firmware.app``, the same code as on the ESP32) runs under CPython on the
simulated board (:mod:`firmware.hal.sim`) on a thread of its own, with the
bench test channel (:mod:`firmware.app.testchan`) attached to the pty's
master side, exactly as an image built with ``--test-channel`` attaches it
to the USB serial port.  The rig opens the other side (``board.port``,
``/dev/pts/N``) with pyserial as it would ``/dev/ttyUSB0``.  The keypad
connects to the rig's broker over TLS with its own account.

A pty has no DTR/RTS lines, so :meth:`SimSerialBoard.reset` power-cycles the
simulated board (RAM lost, NVS file kept) where a real board is reset by
its EN line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
import tty
from pathlib import Path
from typing import Any

from firmware.app import config
from firmware.app.keypad import Keypad
from firmware.app.testchan import TestChannel
from hil.rig.keypads import Fleet, VirtualKeypad

__all__ = ["FdStream", "SimSerialBoard"]


class FdStream:
    """The test channel's stream over a non-blocking file descriptor (the pty's master side)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)

    def read(self) -> bytes:
        try:
            return os.read(self.fd, 256)
        except BlockingIOError:
            return b""
        except OSError as e:  # EIO: nobody has the other side open
            if e.errno == errno.EIO:
                return b""
            raise

    def write(self, data: bytes) -> None:
        deadline = time.monotonic() + 2.0
        while data:
            try:
                data = data[os.write(self.fd, data) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return  # nobody reads: a report is dropped, as a UART's would be
                time.sleep(0.001)


class SimSerialBoard:
    """One simulated keypad behind a pty; :attr:`port` is the side the rig opens."""

    def __init__(self, workdir: Path, loop_ms: int = 20) -> None:
        self.workdir = Path(workdir)
        self.loop_ms = loop_ms
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        self.port = os.ttyname(self.slave)
        self.stream = FdStream(self.master)
        self.fleet: Fleet | None = None
        self.keypad: VirtualKeypad | None = None
        self.resets = 0

    def prepare(self, device_id: str, secret: bytes, override: dict[str, Any]) -> None:
        """Provision: the keypad's key in its NVS and its configuration (as ``hallvote provision`` does)."""
        nvs = self.workdir / "nvs"
        nvs.mkdir(parents=True, exist_ok=True)
        cfg = config.load(None, {**override, "loop_ms": self.loop_ms, "retransmit_ms": 500})

        def channel(app: Keypad) -> Any:
            return TestChannel(app, self.stream).service

        self.keypad = VirtualKeypad(device_id, secret, cfg, nvs / f"{device_id}.json", None, hook=channel)

    def boot(self) -> None:
        """Power on: the firmware starts and the test channel says ``H`` on the line."""
        assert self.keypad is not None, "prepare() first"
        self.fleet = Fleet()
        kp = self.keypad
        self.fleet.keypads[kp.device_id] = kp

        async def on() -> None:
            kp.boot()

        self.fleet.run(on())

    def reset(self, off_s: float = 0.3) -> None:
        """A power cycle (RAM lost, NVS kept), then the firmware boots again."""
        assert self.fleet is not None and self.keypad is not None
        self.resets += 1
        self.fleet.run(self.keypad.power_cycle(off_s))

    def close(self) -> None:
        if self.fleet is not None:
            self.fleet.close()
            self.fleet = None
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> SimSerialBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
