"""The ESP32 adapter's card-reader wiring: an RC522 on ``machine.SPI`` with CS and RST pins.

Part of :mod:`firmware.hal.esp32`, split out so that a keypad without a
card reader never loads it.  The adapter passes its ``machine`` and
``time`` modules in: :mod:`firmware.hal.esp32` stays the only module that
imports the port's hardware modules.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

    from . import rc522
    from .esp32 import Esp32Board

__all__ = ("open_card",)


def open_card(
    board: "Esp32Board", machine: "Any", clock: "Any", cfg: "dict[str, Any]", bus: "dict[str, Any]"
) -> "rc522.Rc522Reader | None":
    """The reader ``cfg`` names on SPI ``bus``; None (and a line in ``board.faults``) if no RC522
    answers.  ``clock``: MicroPython's ``time`` (``sleep_ms``, ``ticks_ms``, ``ticks_diff``)."""
    from . import rc522

    spi = machine.SPI(
        bus["id"],
        baudrate=bus.get("baudrate", 1000000),
        polarity=0,
        phase=0,
        sck=machine.Pin(bus["sck"]),
        mosi=machine.Pin(bus["mosi"]),
        miso=machine.Pin(bus["miso"]),
    )
    cs = machine.Pin(cfg["cs"], machine.Pin.OUT, value=1)
    rst = machine.Pin(cfg["rst"], machine.Pin.OUT, value=0)  # hard reset pulse
    clock.sleep_ms(1)
    rst.value(1)
    clock.sleep_ms(50)  # oscillator start-up

    def xfer(tx: bytes) -> bytearray:
        rx = bytearray(len(tx))
        cs.value(0)
        try:
            spi.write_readinto(tx, rx)
        finally:
            cs.value(1)
        return rx

    reader = rc522.Rc522Reader(rc522.Rc522(xfer), clock.ticks_ms, clock.ticks_diff, cfg.get("interval_ms", 250))
    if not reader.ok:
        board.faults.append("card: no RC522 answers (VersionReg 0x%02x)" % reader.chip.version)
        return None
    return reader
