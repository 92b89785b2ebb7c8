"""A tiny hand-made glyph table and what text drawn with it must look like (CPython and MicroPython)."""


class Tiny:
    # 8 px cells: "A" half width (4), "中" full width (8); MONO_HLSB, MSB = leftmost pixel.
    HEIGHT = 8
    CHARS = " A中"
    WIDTHS = bytes((4, 4, 8))
    OFFSETS = bytes((0, 0, 0, 8, 0, 16))
    DATA = (
        bytes(8)
        + bytes((0x60, 0x90, 0xF0, 0x90, 0x90, 0, 0, 0))
        + bytes((0x10, 0xFE, 0x92, 0xFE, 0x10, 0x10, 0x10, 0))
    )


def table_file(table=Tiny):
    """``table`` as the glyph table file the build writes (firmware/hal/glyphs.py's layout; test_glyphs
    checks it is byte for byte what gateway/firmware_image/glyphs.py's glyph_file makes)."""
    n = len(table.CHARS)
    size = len(table.DATA)
    out = b"HVG1" + bytes((table.HEIGHT, n >> 8, n & 0xFF, size >> 16, (size >> 8) & 0xFF, size & 0xFF))
    for i, ch in enumerate(table.CHARS):
        o = ord(ch)
        out += bytes((o >> 16, (o >> 8) & 0xFF, o & 0xFF, table.WIDTHS[i])) + table.OFFSETS[2 * i : 2 * i + 2]
    return out + table.DATA


def write_table(path, table=Tiny):
    """Write ``table``'s file at ``path``; return ``path``."""
    with open(path, "wb") as f:
        f.write(table_file(table))
    return path


A_ROWS = [".##.", "#..#", "####", "#..#", "#..#", "....", "....", "...."]
ZH_ROWS = ["...#....", "#######.", "#..#..#.", "#######.", "...#....", "...#....", "...#....", "........"]


def render(canvas):
    """The canvas as rows of '#'/'.'."""
    return [
        "".join("#" if canvas.pixel(x, y) else "." for x in range(canvas.width)) for y in range(canvas.height)
    ]
