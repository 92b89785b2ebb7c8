"""A simulated keypad on a serial line, for trying provisioning without hardware.

    python -m hil.simboard            # prints the serial port (/dev/pts/N), runs until killed
    PORT=$(python -m hil.simboard --detach)   # the same, in the background

The real MicroPython interpreter (the WebAssembly port from npm, under
Node) runs behind the master side of a pseudo-terminal, with its own
friendly and raw REPL, raw-paste mode and soft reset, exactly as the
provisioning tests use it (``tests/gateway/provision/replboard.mjs``), so
``hallvote provision --port /dev/pts/N`` talks to it as to an ESP32 on
USB.  Its filesystem lives in memory and ends with it; it has no network,
so a keypad provisioned this way never connects to the broker.

``--detach`` prints the port once the interpreter listens and returns,
leaving the board running in this process group (stop it with ``kill``:
the pid is printed to standard error).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tty
from pathlib import Path

__all__ = ["BOARD_SCRIPT", "main", "start"]

REPO = Path(__file__).resolve().parent.parent
BOARD_SCRIPT = REPO / "tests" / "gateway" / "provision" / "replboard.mjs"


def start() -> tuple[subprocess.Popen[bytes], str]:
    """Start a board; (its process, its serial port) once it listens."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is needed (apt-get install nodejs npm; then npm ci in the repository)")
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    proc = subprocess.Popen(
        [node, str(BOARD_SCRIPT), "--fd", str(master)],
        pass_fds=(master,),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if b"ready" not in line:
        proc.kill()
        raise SystemExit(f"the simulated keypad did not start: {line.decode(errors='replace').strip()}")
    os.close(master)  # the board holds it; the slave stays open here so the line never hangs up
    return proc, port


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="A simulated keypad (MicroPython) on a pseudo-terminal.")
    ap.add_argument(
        "--detach", action="store_true", help="print the port and return; the board keeps running"
    )
    args = ap.parse_args(argv)
    if args.detach:
        read, write = os.pipe()
        if os.fork():  # the parent: wait for the port, print it, return
            os.close(write)
            with os.fdopen(read) as f:
                port = f.readline().strip()
            if not port:
                return 1
            print(port)
            return 0
        os.close(read)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        proc, port = start()
        signal.signal(
            signal.SIGTERM, lambda *_: proc.kill()
        )  # `kill PID` stops the board (it keeps no state)
        print(f"simulated keypad on {port}: pid {os.getpid()}", file=sys.stderr)
        os.write(write, (port + "\n").encode())
        os.close(write)
        os.dup2(devnull, 2)
        return proc.wait()
    proc, port = start()
    print(port, flush=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.kill()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
