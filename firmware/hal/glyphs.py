"""Text on a monochrome framebuffer from the firmware's glyph table: pure, no hardware.

The keypad carries no font file.  ``hallvote firmware build`` renders the few
characters the firmware can show (status words, reason texts, choice labels,
digits, ASCII) into a generated data file ``firmware/hal/glyph_data.bin``
(:data:`FILE`, next to this module) that stays in flash: :class:`Font`
checks it once when it is opened (a missing, foreign or short file is an
error then, at boot, never mid-sitting) and reads a character's index entry
and bitmap from the file when it draws it; ``draw_lines`` opens the file
once per draw.  Nothing of the table is kept on the heap.  The layout
(integers big-endian):

* 10-byte head: ``b"HVG1"``, the cell height in pixels (1 byte, every glyph
  has it), the number of characters ``n`` (2 bytes), the length of the
  bitmaps (3 bytes);
* ``n`` index entries of 6 bytes, sorted by code point: the code point
  (3 bytes), the cell width (1 byte: full-width CJK ``height``, ASCII half),
  where its bitmap starts in the bitmaps (2 bytes);
* the bitmaps: MONO_HLSB (row after row, each row ``(width+7)//8`` bytes,
  most significant bit = leftmost pixel, 1 = lit), which is what
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

__all__ = ["FILE", "Canvas", "Font", "draw_lines", "draw_text"]


FILE = "glyph_data.bin"  # the table's file name, in this module's folder
_HEAD = const(10)  # magic, height, count, bitmap length
_ENTRY = const(6)  # code point, width, offset


class Font:
    """The glyph table in the file at ``path`` (format above).

    Raises OSError when there is no such file and ValueError when it is not a
    glyph table or its length is not the one its head announces.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.file = None  # type: Any  # the open table while draw_lines draws; else each read opens it
        with open(path, "rb") as f:
            head = f.read(_HEAD)
            if len(head) != _HEAD or head[:4] != b"HVG1":
                raise ValueError("%s is not a glyph table" % path)
            self.height = head[4]
            self._count = (head[5] << 8) | head[6]
            if f.seek(0, 2) != _HEAD + _ENTRY * self._count + ((head[7] << 16) | (head[8] << 8) | head[9]):
                raise ValueError("glyph table %s is short or too long" % path)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, ch: str) -> bool:
        return self.glyph(ch) is not None

    def read(self, pos: int, n: int) -> bytes:
        """``n`` bytes of the table file from ``pos`` (a bounded read of an index entry or a bitmap)."""
        f = self.file
        if f is not None:
            f.seek(pos)
            return f.read(n)  # type: ignore[no-any-return]
        with open(self.path, "rb") as f:
            f.seek(pos)
            return f.read(n)

    def glyph(self, ch: str) -> "tuple[int, int] | None":
        """``(width, offset into the bitmaps)`` for ``ch``, or None if the table lacks it.

        A binary search over the file's sorted index: about 8 reads of 6 bytes for 256 characters.
        """
        if len(ch) != 1:
            return None
        o = ord(ch)
        lo = 0
        hi = self._count
        while lo < hi:
            mid = (lo + hi) >> 1
            e = self.read(_HEAD + _ENTRY * mid, _ENTRY)
            c = (e[0] << 16) | (e[1] << 8) | e[2]
            if c == o:
                return e[3], (e[4] << 8) | e[5]
            if c < o:
                lo = mid + 1
            else:
                hi = mid
        return None

    def width(self, text: str) -> int:
        """Advance of ``text`` in pixels; a missing character keeps its box's width: full for
        East Asian wide ones (CJK, Hangul, fullwidth forms), else half."""
        w = 0
        for i in range(len(text)):  # slices: see draw_text
            ch = text[i : i + 1]
            g = self.glyph(ch)
            if g is not None:
                w += g[0]
                continue
            o = ord(ch)
            wide = (
                0x1100 <= o <= 0x115F
                or 0x2E80 <= o <= 0xA4CF
                or 0xAC00 <= o <= 0xD7A3
                or 0xF900 <= o <= 0xFAFF
                or 0xFE30 <= o <= 0xFE4F
                or 0xFF00 <= o <= 0xFF60
                or 0xFFE0 <= o <= 0xFFE6
            )
            w += self.height if wide else self.height // 2
        return w


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


def draw_text(canvas: Canvas, font: Font, x: int, y: int, text: str) -> int:
    """Draw ``text`` with its top-left corner at (x, y); return the x after the last drawn character.

    Drawing stops before the first character that would not fit entirely
    (no half glyphs at the right edge).  A character the table lacks is a
    hollow box of its width.  A glyph's MONO_HLSB bitmap is ORed onto the
    canvas (unlit pixels leave it alone), by ``framebuf`` when the canvas has
    it, else in Python: both give the same bytes.
    """
    h = font.height
    buf = canvas.buf
    width = canvas.width
    # Characters by slicing, not `for ch in text`: MicroPython interns every character a str
    # iterator yields, so each distinct character ever drawn would stay in the qstr pool for good.
    for i in range(len(text)):
        ch = text[i : i + 1]
        g = font.glyph(ch)
        w = g[0] if g is not None else font.width(ch)
        if x + w > width:
            break
        if g is None:  # the missing-glyph box, one pixel inside the cell
            for xx in range(x + 1, x + w - 1):
                canvas.pixel(xx, y + 1, 1)
                canvas.pixel(xx, y + h - 2, 1)
            for yy in range(y + 1, y + h - 1):
                canvas.pixel(x + 1, yy, 1)
                canvas.pixel(x + w - 2, yy, 1)
            x += w
            continue
        rb = (w + 7) >> 3
        data = font.read(_HEAD + _ENTRY * len(font) + g[1], rb * h)  # the bitmaps follow the index
        if canvas._fb is not None:
            src = framebuf.FrameBuffer(bytearray(data), w, h, framebuf.MONO_HLSB)
            canvas._fb.blit(src, x, y, 0)  # key 0: unlit source pixels leave the canvas alone
            x += w
            continue
        for row in range(h):
            yy = y + row
            if yy < 0 or yy >= canvas.height:
                continue
            page = (yy >> 3) * width
            bit = 1 << (yy & 7)
            for bx in range(rb):
                b = data[row * rb + bx]
                if not b:
                    continue
                x0 = bx * 8
                for j in range(8):
                    if b & (0x80 >> j) and x0 + j < w:
                        xx = x + x0 + j
                        if 0 <= xx < width:
                            buf[page + xx] |= bit
        x += w
    return x


def draw_lines(canvas: Canvas, font: Font, lines: "list[str]", align: str = "left") -> int:
    """Clear the canvas and draw ``lines`` one per text row; return how many rows were drawn.

    ``align`` is ``"left"`` or ``"center"``; lines beyond the canvas are dropped.
    """
    canvas.fill(0)
    rows = canvas.height // font.height
    n = 0
    with open(font.path, "rb") as f:  # once for the whole draw
        font.file = f
        try:
            for text in lines[:rows]:
                x = 0
                if align == "center":
                    x = max(0, (canvas.width - font.width(text)) // 2)
                draw_text(canvas, font, x, n * font.height, text)
                n += 1
        finally:
            font.file = None
    return n
