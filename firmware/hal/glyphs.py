"""Text on a monochrome framebuffer from the firmware's glyph table: pure, no hardware.

The keypad carries no font file.  ``hallvote firmware build`` renders the few
characters the firmware can show (status words, reason texts, choice labels,
digits, ASCII) into a generated module ``firmware/hal/glyph_data.py``:

``HEIGHT``
    cell height in pixels (every glyph has it).
``CHARS``
    a str of every character in the table, sorted by code point.
``WIDTHS``
    bytes, one cell width per character (full-width CJK ``HEIGHT``, ASCII half).
``OFFSETS``
    bytes, two per character (big-endian): where its bitmap starts in ``DATA``.
``DATA``
    bytes, the bitmaps: MONO_HLSB (row after row, each row ``(width+7)//8``
    bytes, most significant bit = leftmost pixel, 1 = lit), which is what
    ``framebuf.MONO_HLSB`` blits natively.

:class:`Canvas` is a framebuffer in the SSD1306's MONO_VLSB layout (``width``
columns per 8-row page, bit 0 = top row of the page).  It draws glyphs in
pure Python, or with ``framebuf`` when the port has it (the ESP32 does), and
both give the same bytes.  A character missing from the table is drawn as a
hollow box of its width, never skipped silently and never an exception.
"""

try:
    import framebuf  # MicroPython; absent on CPython
except ImportError:
    framebuf = None

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Canvas", "Font", "draw_lines", "draw_text", "is_wide"]


def is_wide(ch: str) -> bool:
    """True for characters drawn full-width (CJK and other East Asian wide ranges)."""
    o = ord(ch)
    return (
        0x1100 <= o <= 0x115F
        or 0x2E80 <= o <= 0xA4CF
        or 0xAC00 <= o <= 0xD7A3
        or 0xF900 <= o <= 0xFAFF
        or 0xFE30 <= o <= 0xFE4F
        or 0xFF00 <= o <= 0xFF60
        or 0xFFE0 <= o <= 0xFFE6
    )


class Font:
    """Lookup over a glyph table (the generated module, or any object with its five names)."""

    def __init__(self, table: "Any") -> None:
        self.height = table.HEIGHT  # type: int
        self._chars = table.CHARS  # type: str
        self._widths = table.WIDTHS  # type: bytes
        self._offsets = table.OFFSETS  # type: bytes
        self.data = table.DATA  # type: bytes  # the glyphs' columns, read by draw_text
        if len(self._widths) != len(self._chars) or len(self._offsets) != 2 * len(self._chars):
            raise ValueError("glyph table is inconsistent: CHARS, WIDTHS and OFFSETS differ in length")

    def __len__(self) -> int:
        return len(self._chars)

    def __contains__(self, ch: str) -> bool:
        return len(ch) == 1 and self._chars.find(ch) >= 0

    def glyph(self, ch: str) -> "tuple[int, int] | None":
        """``(width, offset into data)`` for ``ch``, or None if the table lacks it."""
        i = self._chars.find(ch) if len(ch) == 1 else -1
        if i < 0:
            return None
        return self._widths[i], (self._offsets[2 * i] << 8) | self._offsets[2 * i + 1]

    def width(self, ch: str) -> int:
        """Advance of ``ch`` in pixels (a missing character keeps its box's width)."""
        g = self.glyph(ch)
        if g is not None:
            return g[0]
        return self.height if is_wide(ch) else self.height // 2

    def text_width(self, text: str) -> int:
        return sum(self.width(ch) for ch in text)

    def missing(self, text: str) -> str:
        """The characters of ``text`` the table lacks (in order, without repeats)."""
        out = ""
        for ch in text:
            if ch not in self and ch not in out:
                out += ch
        return out


class Canvas:
    """A ``width`` x ``height`` MONO_VLSB framebuffer over ``buf`` (allocated if None).

    ``accel`` uses ``framebuf`` for blits when the port has it.
    """

    def __init__(self, width: int, height: int, buf: "Any" = None, accel: bool = True) -> None:
        if height % 8:
            raise ValueError("height must be a multiple of 8")
        self.width = width
        self.height = height
        self.buf = bytearray(width * height // 8) if buf is None else buf
        if len(self.buf) != width * height // 8:
            raise ValueError("buffer size does not match %dx%d" % (width, height))
        self._fb = None
        if accel and framebuf is not None:
            self._fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_VLSB)

    def fill(self, c: int) -> None:
        v = 0xFF if c else 0
        for i in range(len(self.buf)):
            self.buf[i] = v

    def pixel(self, x: int, y: int, c: "int | None" = None) -> int:
        """Get (``c`` None) or set one pixel; outside the canvas reads 0 and ignores writes."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            return 0
        i = (y >> 3) * self.width + x
        bit = 1 << (y & 7)
        if c is None:
            return 1 if self.buf[i] & bit else 0
        if c:
            self.buf[i] |= bit
        else:
            self.buf[i] &= ~bit & 0xFF
        return c

    def box(self, x: int, y: int, w: int, h: int) -> None:
        """A hollow rectangle (the missing-glyph mark)."""
        for xx in range(x, x + w):
            self.pixel(xx, y, 1)
            self.pixel(xx, y + h - 1, 1)
        for yy in range(y, y + h):
            self.pixel(x, yy, 1)
            self.pixel(x + w - 1, yy, 1)

    def blit_glyph(self, data: bytes, offset: int, w: int, h: int, x: int, y: int) -> None:
        """OR a MONO_HLSB bitmap (``w`` x ``h`` at ``data[offset:]``) onto the canvas at (x, y)."""
        rb = (w + 7) >> 3
        if self._fb is not None:
            src = framebuf.FrameBuffer(bytearray(data[offset : offset + rb * h]), w, h, framebuf.MONO_HLSB)
            self._fb.blit(src, x, y, 0)  # key 0: unlit source pixels leave the canvas alone
            return
        buf = self.buf
        width = self.width
        for row in range(h):
            yy = y + row
            if yy < 0 or yy >= self.height:
                continue
            page = (yy >> 3) * width
            bit = 1 << (yy & 7)
            base = offset + row * rb
            for bx in range(rb):
                b = data[base + bx]
                if not b:
                    continue
                x0 = bx * 8
                for i in range(8):
                    if b & (0x80 >> i) and x0 + i < w:
                        xx = x + x0 + i
                        if 0 <= xx < width:
                            buf[page + xx] |= bit


def draw_text(canvas: Canvas, font: Font, x: int, y: int, text: str) -> int:
    """Draw ``text`` with its top-left corner at (x, y); return the x after the last drawn character.

    Drawing stops before the first character that would not fit entirely
    (no half glyphs at the right edge).
    """
    h = font.height
    data = font.data
    for ch in text:
        g = font.glyph(ch)
        w = g[0] if g is not None else font.width(ch)
        if x + w > canvas.width:
            break
        if g is not None:
            canvas.blit_glyph(data, g[1], w, h, x, y)
        else:
            canvas.box(x + 1, y + 1, w - 2, h - 2)
        x += w
    return x


def draw_lines(canvas: Canvas, font: Font, lines: "list[str]", align: str = "left") -> int:
    """Clear the canvas and draw ``lines`` one per text row; return how many rows were drawn.

    ``align`` is ``"left"`` or ``"center"``; lines beyond the canvas are dropped.
    """
    canvas.fill(0)
    rows = canvas.height // font.height
    n = 0
    for text in lines[:rows]:
        x = 0
        if align == "center":
            x = max(0, (canvas.width - font.text_width(text)) // 2)
        draw_text(canvas, font, x, n * font.height, text)
        n += 1
    return n
