"""A keypad on a serial port, driven through its raw REPL with mpremote's Python API.

:class:`BoardLink` wraps :class:`mpremote.transport_serial.SerialTransport`
(mpremote >= 1.24: ``enter_raw_repl``, ``exec_raw``, ``fs_writefile``,
``fs_hashfile``, ``fs_readfile``, ``fs_mkdir``) and turns its failures into
typed errors:

* the port cannot be opened -> :class:`PortUnavailable`;
* no raw-REPL prompt within ``timeout`` s, or the board falls silent in
  the middle of a command -> :class:`DeviceNotAnswering`;
* the keypad's provisioning code refuses (``@@HV {"error": ...}``) ->
  :class:`DeviceRefused`; no hallvote firmware on it -> :class:`NoFirmware`.

Entering the raw REPL soft-resets the board: in raw-REPL mode MicroPython
runs ``boot.py`` but not ``main.py``, so the keypad app is not running
while it is provisioned.  The serial timeout is also ``timeout``: on a pty
(simulated boards, QEMU) mpremote reads without polling, and a silent board
must not block the host for ever.
"""

from __future__ import annotations

import contextlib
import io
import json
import posixpath
from types import TracebackType
from typing import Any

from .errors import DeviceNotAnswering, DeviceRefused, NoFirmware, PortUnavailable

__all__ = ["MARK", "BoardLink"]

MARK = "@@HV "
"""The line prefix of a result printed by ``firmware.provision.call``."""
_CHUNK = 1024


def _transport_errors() -> tuple[type[BaseException], ...]:
    from mpremote.transport import TransportError

    try:
        from serial import SerialException
    except ImportError:  # pragma: no cover - pyserial comes with mpremote
        return (TransportError,)
    return (TransportError, SerialException)


class BoardLink:
    """One keypad on ``port``: open, enter the raw REPL, run calls, copy files, close."""

    def __init__(self, port: str, *, timeout: float = 10.0, baudrate: int = 115200) -> None:
        self.port = port
        self.timeout = timeout
        self._errors = _transport_errors()
        self._io_errors: tuple[type[BaseException], ...] = (*self._errors, OSError)
        from mpremote.transport import TransportExecError

        self._exec_error = TransportExecError
        from mpremote.transport_serial import SerialTransport

        quiet = io.StringIO()
        try:
            with contextlib.redirect_stdout(quiet):
                self._t: Any = SerialTransport(port, baudrate=baudrate, timeout=timeout)
        except self._io_errors as exc:
            raise PortUnavailable(
                f"无法打开串口 {port}（未连接、名称错误或被占用）",
                f"cannot open serial port {port} (unplugged, wrong name or in use): {exc}",
            ) from None
        self._dirs: set[str] = {"", "/"}

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> BoardLink:
        try:
            self.enter()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _silent(self, what: str, exc: BaseException | None = None) -> DeviceNotAnswering:
        detail = f": {exc}" if exc is not None and str(exc) else ""
        return DeviceNotAnswering(
            f"串口 {self.port} 上的表决器无应答（{what}）；请检查连线、供电，按复位键后重试",
            f"the keypad on {self.port} does not answer ({what}){detail}; check the cable and power, "
            "press reset and try again",
        )

    def enter(self) -> None:
        """Interrupt whatever runs, soft-reset into the raw REPL."""
        quiet = io.StringIO()
        try:
            with contextlib.redirect_stdout(quiet):
                self._t.enter_raw_repl(soft_reset=True, timeout_overall=self.timeout)
        except self._errors as exc:
            raise self._silent("no raw REPL prompt", exc) from None

    def run_firmware(self) -> None:
        """Leave the raw REPL and soft-reset from the friendly REPL: the board runs ``main.py``.

        Nothing is read afterwards, so whoever else has the port open sees
        everything the firmware prints; close the link next.
        """
        try:
            self._t.exit_raw_repl()  # Ctrl-B: the friendly REPL
            self._t.serial.write(b"\x04")  # Ctrl-D on an empty line: soft reset, boot.py and main.py run
            self._t.serial.flush()
        except self._io_errors as exc:
            raise self._silent("soft reset", exc) from None

    def hold_watchdog(self, timeout_ms: int) -> bool:
        """On an ESP32 whose app armed the watchdog (it cannot be stopped), set it to ``timeout_ms``
        and feed it, so a long REPL session is not cut by a reset.  False where the firmware's
        ESP32 adapter cannot load (no firmware yet, a simulator): no watchdog to hold there."""
        code = (
            "try:\n from firmware.hal import esp32 as _hve\nexcept ImportError:\n print(0)\n"
            f"else:\n _hve.EspWatchdog({int(timeout_ms)}).feed()\n print(1)\n"
        )
        return self._answer(code, "watchdog") == "1"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if getattr(self._t, "in_raw_repl", False):
                self._t.exit_raw_repl()
        with contextlib.suppress(Exception):
            self._t.close()

    # ------------------------------------------------------------ code

    def run(self, code: str, *, timeout: float | None = None) -> tuple[str, str]:
        """Execute ``code``; its (stdout, stderr).  A silent board raises DeviceNotAnswering."""
        try:
            out, err = self._t.exec_raw(code, timeout=timeout or self.timeout)
        except self._errors as exc:
            raise self._silent("no answer to a command", exc) from None
        return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def call(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``firmware.provision.call(name, ...)`` on the keypad and return its value."""
        code = (
            f"from firmware import provision as _hvp\n_hvp.call({name!r}, *{tuple(args)!r}, **{kwargs!r})\n"
        )
        out, err = self.run(code, timeout=timeout)
        if err:
            if "ImportError" in err and ("provision" in err or "firmware" in err):
                raise NoFirmware(
                    "表决器上没有 hallvote 固件（firmware.provision）；请去掉 --no-copy 写入固件",
                    "no hallvote firmware (firmware.provision) on the keypad; provision without --no-copy",
                )
            raise DeviceRefused("EXCEPTION", err.strip().splitlines()[-1] if err.strip() else err)
        for line in reversed(out.splitlines()):
            if line.startswith(MARK):
                reply = json.loads(line[len(MARK) :])
                if "error" in reply:
                    raise DeviceRefused(str(reply["error"]), str(reply.get("message", "")))
                return reply["ok"]
        raise DeviceRefused("NO_ANSWER", f"no result line from {name}: {out.strip()[-200:]!r}")

    # ------------------------------------------------------------ files
    # Existence and directories are checked with our own snippets: mpremote's
    # fs_exists/fs_isdir recognise ENOENT only as MicroPython numbers it, and
    # ports number errno differently (the WebAssembly port says OSError: 44).

    def _answer(self, code: str, what: str) -> str:
        out, err = self.run(code)
        if err:
            raise DeviceRefused("EXCEPTION", f"{what}: {err.strip().splitlines()[-1]}")
        return out.strip()

    def exists(self, remote: str) -> bool:
        code = f"import os\ntry:\n os.stat({remote!r})\n print(1)\nexcept OSError:\n print(0)\n"
        return self._answer(code, f"stat {remote}") == "1"

    def _mkdirs(self, directory: str) -> None:
        if directory in self._dirs:
            return
        parts = [p for p in directory.split("/") if p]
        paths = ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        code = f"import os\nfor d in {paths!r}:\n try:\n  os.mkdir(d)\n except OSError:\n  pass\n"
        self._answer(code, f"mkdir {directory}")
        self._dirs.update(paths)

    def put(self, data: bytes, remote: str) -> None:
        """Write ``data`` to the file ``remote`` (parents made as needed)."""
        self._mkdirs(posixpath.dirname(remote))
        try:
            self._t.fs_writefile(remote, data, chunk_size=_CHUNK)
        except self._exec_error as exc:
            raise DeviceRefused("WRITE", f"{remote}: {exc}") from None
        except self._io_errors as exc:
            raise self._silent(f"writing {remote}", exc) from None

    def sha256(self, remote: str) -> str | None:
        """SHA-256 (hex) of the file ``remote`` computed on the keypad, or None if it is missing."""
        if not self.exists(remote):
            return None
        try:
            digest: bytes = self._t.fs_hashfile(remote, "sha256")
        except self._exec_error as exc:
            raise DeviceRefused("HASH", f"{remote}: {exc}") from None
        except self._io_errors as exc:
            raise self._silent(f"hashing {remote}", exc) from None
        return digest.hex()

    def read(self, remote: str) -> bytes | None:
        """The contents of ``remote``, or None if it does not exist."""
        if not self.exists(remote):
            return None
        try:
            return bytes(self._t.fs_readfile(remote))
        except self._exec_error as exc:
            raise DeviceRefused("READ", f"{remote}: {exc}") from None
        except self._io_errors as exc:
            raise self._silent(f"reading {remote}", exc) from None
