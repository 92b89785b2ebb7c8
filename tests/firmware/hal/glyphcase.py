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


A_ROWS = [".##.", "#..#", "####", "#..#", "#..#", "....", "....", "...."]
ZH_ROWS = ["...#....", "#######.", "#..#..#.", "#######.", "...#....", "...#....", "...#....", "........"]


def render(canvas):
    """The canvas as rows of '#'/'.'."""
    return [
        "".join("#" if canvas.pixel(x, y) else "." for x in range(canvas.width)) for y in range(canvas.height)
    ]
