"""SSD1306 OLED display over I2C: pure driver over one ``write(bytes)`` function.

Implements :class:`firmware.hal.port.Display`.  ``write`` sends one I2C
transaction to the panel's address (the ESP32 adapter passes
``lambda b: i2c.writeto(addr, b)``); every transaction starts with the
SSD1306 control byte: ``0x00`` for a command stream, ``0x40`` for display RAM.
The panel's command codes are ``const()`` numbers here, not module names.

Text is drawn with the firmware's glyph table (:mod:`firmware.hal.glyphs`),
one text row at a time, into a MONO_VLSB framebuffer whose layout is the
panel's RAM (8-row pages); the panel's RAM is the only copy of the screen.
``show`` sends only the pages of the text rows whose line changed, so
updating one 16-pixel text row moves 2 x 128 bytes (about 6 ms at 400 kHz)
instead of the whole 1 KiB.
"""

import sys

from . import glyphs

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any, Callable

    from .esp32 import Esp32Board

__all__ = ["Ssd1306", "open_display"]

_CONTROL_CMD = const(0x00)  # the first byte of a command stream
_CONTROL_DATA = const(0x40)  # the first byte of display RAM data
_DISPLAY_OFF = const(0xAE)
_DISPLAY_ON = const(0xAF)
_SET_CONTRAST = const(0x81)
_SET_COL_ADDR = const(0x21)
_SET_PAGE_ADDR = const(0x22)


class Ssd1306:
    """The panel; ``font`` is a :class:`glyphs.Font`; ``align`` ``"left"`` or ``"center"``.

    Powering up sends the command sequence for a ``width`` x ``height`` panel
    (``external_vcc``: no charge pump; ``flip``: rotated 180 degrees), then a
    blank screen.
    """

    def __init__(
        self,
        write: "Callable[[bytes | bytearray], object]",
        font: "glyphs.Font",
        width: int = 128,
        height: int = 64,
        external_vcc: bool = False,
        flip: bool = False,
        align: str = "left",
        accel: bool = True,
    ) -> None:
        self._write = write
        self.font = font
        self.width = width
        self.height = height
        self.align = align
        self.rows = height // font.height
        # One text row (width x font height): rows are drawn one at a time and sent, the panel's
        # RAM holds the screen, so no 1 KiB copy of it is kept here.
        self.canvas = glyphs.Canvas(width, font.height, accel=accel)
        self._lines = None  # type: list[str] | None  # what the panel shows (None: unknown)
        write(
            bytes(
                (
                    _CONTROL_CMD,
                    _DISPLAY_OFF,
                    0x20, 0x00,  # horizontal addressing: column, then page, wraps
                    0x40,  # display start line 0
                    0xA0 if flip else 0xA1,  # segment remap (column 127 is SEG0 unless flipped)
                    0xA8, height - 1,  # multiplex ratio
                    0xC0 if flip else 0xC8,  # COM scan direction
                    0xD3, 0x00,  # display offset
                    0xDA, 0x02 if width > 2 * height else 0x12,  # COM pins configuration
                    0xD5, 0x80,  # clock divide ratio / oscillator
                    0xD9, 0x22 if external_vcc else 0xF1,  # pre-charge period
                    0xDB, 0x30,  # VCOMH deselect level
                    _SET_CONTRAST, 0xFF,
                    0xA4,  # display follows RAM
                    0xA6,  # not inverted
                    0x8D, 0x10 if external_vcc else 0x14,  # charge pump
                    _DISPLAY_ON,
                )
            )
        )  # fmt: skip
        self.show([])

    def show(self, lines: "list[str]") -> None:
        """Show ``lines``, sending the pages of the text rows that changed (the same text sends nothing)."""
        old = self._lines
        self._lines = list(lines)
        try:
            self.refresh(old)
        except (OSError, ValueError):
            # The glyph table file could not be read (checked at boot, so a flash fault): never an
            # OSError into the app, which means link loss.  What the panel shows is unknown now,
            # so the next show sends every page.
            self._lines = None

    def refresh(self, old: "list[str] | None" = None) -> int:
        """Draw and send the text rows whose line differs from ``old``, the lines the panel shows
        (None: every page); return how many pages were sent.

        A row's pixels follow from its line alone, so comparing lines finds the changed pages.
        Each page is one transaction: the data control byte + ``width`` bytes of RAM.
        """
        canvas = self.canvas
        w = self.width
        per = self.font.height >> 3  # pages per text row (glyph heights are multiples of 8)
        new = self._lines or []
        sent = 0
        for page in range(self.height >> 3):
            row = page // per
            if old is not None and old[row : row + 1] == new[row : row + 1]:
                continue
            if page % per == 0:  # a row's first page: draw the row (a blank one below the last row)
                glyphs.draw_lines(canvas, self.font, new[row : row + 1] if row < self.rows else [], self.align)
            lo = (page % per) * w
            self._write(bytes((_CONTROL_CMD, _SET_COL_ADDR, 0, w - 1, _SET_PAGE_ADDR, page, page)))
            self._write(bytes((_CONTROL_DATA,)) + canvas.buf[lo : lo + w])
            sent += 1
        return sent


def open_display(
    board: "Esp32Board", machine: "Any", cfg: "dict[str, Any]", bus: "dict[str, Any]"
) -> "Ssd1306 | None":
    """The ESP32 adapter's display wiring: the display ``cfg`` names on I2C ``bus``; None (and a line
    in ``board.faults``) if it is not there or its glyph table is missing or damaged.

    Later I2C write errors are counted in ``board.display_errors``.  The
    adapter passes its ``machine`` module in: :mod:`firmware.hal.esp32` stays
    the only module that imports it, and a keypad without a display never
    loads this one.
    """
    # The table the build writes next to glyphs.mpy, checked here, at boot; in a frozen image
    # (firmware/manifest.py) the modules are in flash (a frozen module's __file__ is relative, or
    # absent on a port built without it) and the table a file at its usual place.
    here = getattr(glyphs, "__file__", "")
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

    return Ssd1306(
        write,
        font,
        cfg.get("width", 128),
        cfg.get("height", 64),
        external_vcc=cfg.get("external_vcc", False),
        flip=cfg.get("flip", False),
        align=cfg.get("align", "left"),
    )
