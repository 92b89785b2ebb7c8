"""Glyph rendering (firmware/hal/glyphs.py) and the SSD1306 driver (firmware/hal/ssd1306.py) under
CPython, with a hand-made table whose pixels are known: exact pixels at any y (page crossing),
the missing-glyph box, clipping, centring, and the bytes the panel receives."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

import pytest

from firmware.hal import glyphs, port, ssd1306
from gateway.firmware_image import glyphs as fg

_spec = importlib.util.spec_from_file_location("glyphcase", Path(__file__).with_name("glyphcase.py"))
assert _spec is not None and _spec.loader is not None
glyphcase = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("glyphcase", glyphcase)
_spec.loader.exec_module(glyphcase)

_TABLES = tempfile.TemporaryDirectory(prefix="hallvote-glyphs-")  # removed when the module goes
FONT = glyphs.Font(glyphcase.write_table(str(Path(_TABLES.name) / glyphs.FILE)))


def test_font_lookup() -> None:
    assert len(FONT) == 3 and "中" in FONT and "B" not in FONT and "AB" not in FONT
    assert FONT.glyph("中") == (8, 16)
    assert FONT.glyph("B") is None
    assert FONT.width("B") == 4 and FONT.width("签") == 8  # missing glyphs keep their width class
    assert FONT.width("A中 B") == 4 + 8 + 4 + 4 and FONT.width("") == 0
    assert fg.missing(FONT, "A签B签") == "签B"


def test_the_table_file_is_the_one_the_build_writes() -> None:
    t = glyphcase.Tiny
    table = fg.GlyphTable(t.HEIGHT, t.CHARS, t.WIDTHS, t.OFFSETS, t.DATA, "tiny", "")
    assert fg.glyph_file(table) == glyphcase.table_file() and table.size == len(glyphcase.table_file())


@pytest.mark.parametrize("damage", ["short", "long", "foreign", "empty"])
def test_font_refuses_a_damaged_table(tmp_path: Path, damage: str) -> None:
    blob = glyphcase.table_file()
    bad = {"short": blob[:-1], "long": blob + b"\0", "foreign": b"HVG2" + blob[4:], "empty": b""}[damage]
    (tmp_path / "t.bin").write_bytes(bad)
    with pytest.raises(ValueError):
        glyphs.Font(str(tmp_path / "t.bin"))
    with pytest.raises(OSError):
        glyphs.Font(str(tmp_path / "absent.bin"))


@pytest.mark.parametrize("y", [0, 3, 8])
def test_text_pixels_are_the_table_bitmaps_at_any_row(y: int) -> None:
    canvas = glyphs.Canvas(16, 16, accel=False)
    end = glyphs.draw_text(canvas, FONT, 1, y, "A中")
    assert end == 1 + 4 + 8
    rows = glyphcase.render(canvas)
    blank = "." * 16
    expected = [blank] * 16
    for r in range(8):
        expected[y + r] = "." + glyphcase.A_ROWS[r] + glyphcase.ZH_ROWS[r] + "..."
    assert rows == expected[:16]


def test_vlsb_layout_matches_the_ssd1306_ram() -> None:
    canvas = glyphs.Canvas(16, 16, accel=False)
    glyphs.draw_text(canvas, FONT, 0, 0, "A")
    # column 0 of "A" is rows 1..4 lit: bits 1..4 of byte 0 (page 0, column 0)
    assert canvas.buf[0] == 0b00011110
    assert canvas.buf[1] == 0b00000101  # column 1: rows 0 and 2
    glyphs.draw_text(canvas, FONT, 0, 8, "A")
    assert canvas.buf[16] == 0b00011110  # page 1 starts at byte `width`


def test_missing_glyph_is_a_box_of_its_width_and_never_raises() -> None:
    canvas = glyphs.Canvas(16, 8, accel=False)
    end = glyphs.draw_text(canvas, FONT, 0, 0, "签")
    assert end == 8
    assert glyphcase.render(canvas) == [
        "................",
        ".######.........",
        ".#....#.........",
        ".#....#.........",
        ".#....#.........",
        ".#....#.........",
        ".######.........",
        "................",
    ]


def test_text_is_clipped_at_whole_glyphs() -> None:
    canvas = glyphs.Canvas(16, 8, accel=False)
    end = glyphs.draw_text(canvas, FONT, 0, 0, "中中中")
    assert end == 16
    canvas = glyphs.Canvas(16, 8, accel=False)
    end = glyphs.draw_text(canvas, FONT, 4, 0, "中中")
    assert end == 12  # the second glyph would overflow: not drawn at all
    assert all(row[12:] == "...." for row in glyphcase.render(canvas))


def test_draw_lines_rows_alignment_and_overflow() -> None:
    canvas = glyphs.Canvas(16, 16, accel=False)
    canvas.fill(1)
    assert glyphs.draw_lines(canvas, FONT, ["A", "中", "A"], align="center") == 2
    rows = glyphcase.render(canvas)
    assert rows[0] == "......" + glyphcase.A_ROWS[0] + "......"
    assert rows[8] == "...." + glyphcase.ZH_ROWS[0] + "...."


class Panel:
    """An SSD1306 model: follows the column/page address commands and stores RAM writes."""

    def __init__(self, width: int = 16, height: int = 16) -> None:
        self.width, self.pages = width, height // 8
        self.ram = bytearray(width * self.pages)
        self.commands: list[int] = []
        self.col = (0, width - 1)
        self.page = (0, self.pages - 1)
        self.data_writes = 0

    def write(self, tx: bytes) -> None:
        tx = bytes(tx)
        if tx[0] == 0x00:  # the SSD1306's control byte for a command stream
            cmds = list(tx[1:])
            self.commands += cmds
            if cmds[:1] == [0x21]:
                self.col = (cmds[1], cmds[2])
                assert cmds[3] == 0x22
                self.page = (cmds[4], cmds[5])
            return
        assert tx[0] == 0x40  # the control byte for display RAM
        self.data_writes += 1
        col, page = self.col[0], self.page[0]
        for b in tx[1:]:
            self.ram[page * self.width + col] = b
            col += 1
            if col > self.col[1]:
                col, page = self.col[0], page + 1


def screen(lines: list[str]) -> bytes:
    """What a 16x16 panel must show for ``lines``: drawn on a whole-screen canvas."""
    canvas = glyphs.Canvas(16, 16, accel=False)
    glyphs.draw_lines(canvas, FONT, lines)
    return bytes(canvas.buf)


def test_ssd1306_initialises_clears_and_sends_only_changed_pages() -> None:
    panel = Panel()
    panel.ram[:] = b"\xa5" * len(panel.ram)  # power-up garbage
    disp = ssd1306.Ssd1306(panel.write, FONT, 16, 16, accel=False)
    assert isinstance(disp, port.Display) and disp.rows == 2
    assert panel.commands[:1] == [0xAE] and 0xAF in panel.commands
    assert panel.commands[panel.commands.index(0xA8) + 1] == 15  # multiplex = height - 1
    assert panel.commands[panel.commands.index(0x8D) + 1] == 0x14  # charge pump on
    assert bytes(panel.ram) == bytes(len(panel.ram))  # cleared
    panel.data_writes = 0
    disp.show(["A中"])
    assert panel.data_writes == 1  # only page 0 changed
    assert bytes(panel.ram) == screen(["A中"])
    disp.show(["A中"])
    assert panel.data_writes == 1  # unchanged text: no traffic
    disp.show(["A中", "中"])
    assert panel.data_writes == 2
    assert bytes(panel.ram) == screen(["A中", "中"])
    assert disp.refresh() == 2  # every page
    panel.data_writes = 0
    disp.show(["中", "中"])  # row 0 changed, row 1 the same
    assert panel.data_writes == 1 and bytes(panel.ram) == screen(["中", "中"])


def test_ssd1306_flip_and_external_vcc() -> None:
    panel = Panel(128, 32)
    ssd1306.Ssd1306(panel.write, FONT, 128, 32, external_vcc=True, flip=True, accel=False)
    cmds = panel.commands[: panel.commands.index(0xAF) + 1]  # the power-up sequence
    assert cmds[0] == 0xAE and cmds.count(0xAF) == 1
    assert 0xA0 in cmds and 0xC0 in cmds
    assert cmds[cmds.index(0xDA) + 1] == 0x02  # 128x32 COM pins
    assert cmds[cmds.index(0x8D) + 1] == 0x10  # no charge pump


def test_ssd1306_survives_an_unreadable_table_and_recovers(tmp_path: Path) -> None:
    path = glyphcase.write_table(str(tmp_path / glyphs.FILE))
    panel = Panel()
    disp = ssd1306.Ssd1306(panel.write, glyphs.Font(path), 16, 16, accel=False)
    (tmp_path / glyphs.FILE).unlink()
    disp.show(["A中"])  # no exception into the app
    glyphcase.write_table(path)
    panel.data_writes = 0
    disp.show(["A中"])
    assert panel.data_writes == 2 and bytes(panel.ram) == screen(["A中"])  # every page again
