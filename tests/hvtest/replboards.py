"""Simulated keypads on serial lines: the real MicroPython REPL behind a pty, for mpremote to drive.

``replboard.mjs`` (beside the provisioning tests) runs the MicroPython
WebAssembly port's own REPL behind the master side of a pty; mpremote
opens the slave side, ``/dev/pts/N``, as it would ``/dev/ttyUSB0``.
:class:`Boards` starts them for one test and stops them all at its end;
``boards.silent()`` is a pty with nothing behind it.  Shared by
tests/gateway/provision and tests/hil/rig (the rig's physical-keypad board).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tty
from dataclasses import dataclass
from pathlib import Path

from hvtest.micropython import need_micropython
from hvtest.tools import REPO

__all__ = ["BOARD_SCRIPT", "Board", "Boards"]

BOARD_SCRIPT = REPO / "tests" / "gateway" / "provision" / "replboard.mjs"


@dataclass
class Board:
    port: str
    proc: subprocess.Popen[bytes] | None
    master: int
    slave: int


class Boards:
    """Simulated keypads for one test; all stopped at its end (:meth:`stop`)."""

    def __init__(self) -> None:
        self.started: list[Board] = []

    def _pty(self) -> tuple[int, int, str]:
        master, slave = os.openpty()
        tty.setraw(slave)  # as pyserial will; no echo or CR/LF mangling before it opens the port
        return master, slave, os.ttyname(slave)

    def start(self, *put: Path) -> Board:
        """A board whose filesystem starts with the trees of ``put`` (copied to its root)."""
        need_micropython()
        master, slave, name = self._pty()
        args = ["node", str(BOARD_SCRIPT), "--fd", str(master)]
        for folder in put:
            args += ["--put", str(folder)]
        proc = subprocess.Popen(args, pass_fds=(master,), stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        board = Board(name, proc, master, slave)
        self.started.append(board)
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "replboard: ready" once the interpreter listens
        if b"ready" not in line:
            raise AssertionError(f"simulated keypad did not start: {line!r}")
        return board

    def silent(self) -> Board:
        """A serial line with no keypad answering on it."""
        master, slave, name = self._pty()
        board = Board(name, None, master, slave)
        self.started.append(board)
        return board

    def stop(self) -> None:
        for b in self.started:
            if b.proc is not None:
                b.proc.kill()  # nothing to save: the board's filesystem dies with it
                b.proc.wait()
                if b.proc.stderr is not None:
                    b.proc.stderr.close()
            for fd in (b.master, b.slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
