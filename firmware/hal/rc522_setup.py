"""The RC522 card reader's boot-time code: the chip's reset and set-up, and the ESP32 wiring.

:mod:`firmware.hal.esp32_build` loads this module while it builds a board
with a card reader and unloads it again, so its code leaves the keypad's heap
once the reader is built.  Nothing built here refers back to it: the reader
(:class:`firmware.hal.rc522.Rc522Reader`) drives the bus and the chip-select
pin itself (a closure made here would keep this module's globals, and so its
code, alive).
"""

import sys

from .rc522 import Rc522Reader

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

    from .esp32 import Esp32Board

__all__ = ["init", "open_card"]

# MFRC522 registers and commands (the rest are rc522's).
_COMMAND = const(0x01)
_COLL = const(0x0E)
_MODE = const(0x11)
_TX_CONTROL = const(0x14)
_TX_ASK = const(0x15)
_T_MODE = const(0x2A)
_T_PRESCALER = const(0x2B)
_T_RELOAD_H = const(0x2C)
_T_RELOAD_L = const(0x2D)
_VERSION = const(0x37)
_CMD_SOFT_RESET = const(0x0F)


def init(chip: Rc522Reader) -> bool:
    """Reset and configure ``chip``, antenna on, and read its ``version``; False if no known chip
    answers."""
    chip.write(_COMMAND, _CMD_SOFT_RESET)
    for _ in range(60):  # the reset takes ~40 us; PowerDown clears when done
        if not chip.read(_COMMAND) & 0x10:
            break
    chip.write(_T_MODE, 0x80)  # timer starts after each transmission
    chip.write(_T_PRESCALER, 0xA9)  # 13.56 MHz / (2 * 0xA9 + 1): 25 us per tick
    chip.write(_T_RELOAD_H, 0x00)
    chip.write(_T_RELOAD_L, 0x78)  # 120 ticks: 3 ms answer timeout (a card answers in < 0.1 ms)
    chip.write(_TX_ASK, 0x40)  # 100 % ASK modulation
    chip.write(_MODE, 0x3D)  # CRC preset 0x6363 (ISO 14443A)
    chip.write(_TX_CONTROL, chip.read(_TX_CONTROL) | 0x03)  # antenna drivers on
    chip.write(_COLL, chip.read(_COLL) & 0x7F)  # ValuesAfterColl = 0: bits after a collision read as 0
    chip.version = chip.read(_VERSION)
    # VersionReg values of genuine chips and common clones; 0x00/0xFF mean nothing answers.
    return chip.version in (0x88, 0x90, 0x91, 0x92, 0xB2, 0x12)


def open_card(
    board: "Esp32Board", machine: "Any", clock: "Any", cfg: "dict[str, Any]", bus: "dict[str, Any]"
) -> "Rc522Reader | None":
    """The ESP32 adapter's card-reader wiring: the reader ``cfg`` names on SPI ``bus``; None (and a
    line in ``board.faults``) if no RC522 answers.

    The adapter passes its ``machine`` module and ``clock``, MicroPython's
    ``time`` (``sleep_ms``, ``ticks_ms``, ``ticks_diff``), in:
    :mod:`firmware.hal.esp32` stays the only module that imports the port's
    hardware modules, and a keypad without a card reader never loads this one.
    """
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
    reader = Rc522Reader(spi, cs, clock.ticks_ms, clock.ticks_diff, cfg.get("interval_ms", 250))
    if not init(reader):
        board.faults.append("card: no RC522 answers (VersionReg 0x%02x)" % reader.version)
        return None
    return reader
