"""The ESP32 adapter's display wiring: an SSD1306 on ``machine.I2C``, for boards that have one.

Part of :mod:`firmware.hal.esp32`, split out so that a keypad without a
display never loads it.  The adapter passes its ``machine`` module in:
:mod:`firmware.hal.esp32` stays the only module that imports it.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

    from . import ssd1306
    from .esp32 import Esp32Board

__all__ = ("open_display",)


def open_display(
    board: "Esp32Board", machine: "Any", cfg: "dict[str, Any]", bus: "dict[str, Any]"
) -> "ssd1306.Ssd1306 | None":
    """The display ``cfg`` names on I2C ``bus``; None (and a line in ``board.faults``) if it is not there.

    Later I2C write errors are counted in ``board.display_errors``.
    """
    from . import glyphs, ssd1306

    # The table the build writes next to glyphs.mpy, checked here, at boot; in a frozen image
    # (firmware/manifest.py) the modules are in flash and the table a file at its usual place.
    here = glyphs.__file__
    for path in (here[: here.rfind("/") + 1] + glyphs.FILE, "/firmware/hal/" + glyphs.FILE):
        try:
            font = glyphs.Font(path)
            break
        except OSError:
            continue
        except ValueError as exc:
            board.faults.append("display: %s" % exc)
            return None
    else:
        board.faults.append("display: no glyph table (flash a `hallvote firmware build` output)")
        return None

    i2c = machine.I2C(
        bus["id"], scl=machine.Pin(bus["scl"]), sda=machine.Pin(bus["sda"]), freq=bus.get("freq", 400000)
    )
    addr = cfg.get("addr", 0x3C)
    if addr not in i2c.scan():
        board.faults.append("display: nothing answers at I2C 0x%02x" % addr)
        return None

    def write(data: "bytes | bytearray") -> None:
        try:
            i2c.writeto(addr, data)
        except OSError:
            board.display_errors += 1

    return ssd1306.Ssd1306(
        write,
        font,
        cfg.get("width", 128),
        cfg.get("height", 64),
        external_vcc=cfg.get("external_vcc", False),
        flip=cfg.get("flip", False),
        align=cfg.get("align", "left"),
    )
