"""Entry point on the keypad: ``import firmware.app.main as m; m.main()`` from ``main.py``.

Called by the guarded boot (:mod:`firmware.app.boot`).  Loads the
configuration (defaults + the provisioned local file), builds the
board (the ESP32 adapter unless one is passed in, e.g. the simulated board),
the keypad and its MQTT client, and runs the loop forever.
"""

import asyncio

from . import config, runner
from .keypad import Keypad

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from firmware.hal.port import Board

__all__ = ["build", "main"]


def build(board: "Board | None" = None, cfg: "dict[str, Any] | None" = None) -> runner.Runner:
    if cfg is None:
        cfg = config.load()
    if board is None:
        from firmware.hal import esp32  # the only hardware module; absent under CPython

        board = esp32.board(cfg)
    kp = Keypad(board, cfg)
    return runner.Runner(kp, runner.make_client(kp))


def main(board: "Board | None" = None, cfg: "dict[str, Any] | None" = None) -> None:
    """Build, then run forever; any error is for the guarded boot (:mod:`firmware.app.boot`)."""
    runner = build(board, cfg)
    asyncio.run(runner.run())
