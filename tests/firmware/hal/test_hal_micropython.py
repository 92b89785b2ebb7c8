"""The pure HAL parts on the real MicroPython interpreter (WebAssembly port), from source and as
mpy-cross output: the same pixels, panel traffic, debounce edges and card reads as CPython, with
``framebuf`` blits (what the ESP32 uses) and the pure-Python path agreeing byte for byte."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

import fakehw
import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

from firmware.hal import debounce, glyphs, rc522, ssd1306

pytestmark = pytest.mark.micropython

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("glyphcase", HERE / "glyphcase.py")
assert _spec is not None and _spec.loader is not None
glyphcase = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("glyphcase", glyphcase)
_spec.loader.exec_module(glyphcase)

LINES = ["A中", "签A", "中中中"]
PATTERN = "0001010111111111111111111111111111110100000000000000000000000000000001" * 3
UIDS = ["04a1b2c3", "04112233445566", "0811223344556677889a"]

# The body runs on both interpreters: `impl` and the modules are passed in.
BODY = r"""
def exercise(glyphs, ssd1306, debounce, rc522, fakehw, glyphcase, accel):
    out = {}
    font = glyphs.Font(TABLE)  # glyphcase.Tiny as the table file the build writes
    canvas = glyphs.Canvas(24, 24, accel=accel)
    glyphs.draw_lines(canvas, font, LINES)
    out["canvas"] = bytes(canvas.buf).hex()
    out["rows"] = glyphcase.render(canvas)
    sent = []
    disp = ssd1306.Ssd1306(lambda b: sent.append(bytes(b).hex()), font, 32, 16, accel=accel)
    disp.show(["A中"])
    disp.show(["A中", "中"])
    disp.show(["A中", "中"])
    out["panel"] = sent
    deb = debounce.DebouncedKeys({"yes": lambda: False})
    edges = []
    for t, c in enumerate(PATTERN):
        e = deb.update(0, c == "1", t)
        if e is not None:
            edges.append([t, e])
    out["edges"] = edges
    from firmware.hal import rc522_setup

    reads = []
    for uid in UIDS:
        chip = fakehw.FakeRc522()
        chip.cards = [bytes.fromhex(uid)]
        drv = rc522.Rc522Reader(chip, chip, None, None)
        rc522_setup.init(drv)
        reads.append(drv.read_uid().hex())
    out["uids"] = reads
    out["crc"] = rc522.crc_a(b"\x12\x34").hex()
    out["find"] = [font.glyph(c) for c in "A中签 "]
    return out
"""

SCRIPT = r"""
import sys
sys.path.append("/data")
import hvhost
import fakehw, glyphcase
from firmware.hal import glyphs, ssd1306, debounce, rc522
LINES = {lines!r}
TABLE = "/data/glyph_data.bin"
PATTERN = {pattern!r}
UIDS = {uids!r}
{body}
def norm(o):
    o["find"] = [list(g) if g else None for g in o["find"]]
    return o
hvhost.result({{
    "framebuf": glyphs.framebuf is not None,
    "accel": norm(exercise(glyphs, ssd1306, debounce, rc522, fakehw, glyphcase, True)),
    "pure": norm(exercise(glyphs, ssd1306, debounce, rc522, fakehw, glyphcase, False)),
    "file": glyphs.__file__,
}})
"""


def cpython_result() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        table = glyphcase.write_table(str(Path(tmp) / "glyph_data.bin"))
        scope: dict[str, Any] = {"LINES": LINES, "PATTERN": PATTERN, "UIDS": UIDS, "TABLE": table}
        exec(BODY, scope)
        out = scope["exercise"](glyphs, ssd1306, debounce, rc522, fakehw, glyphcase, False)
    out["find"] = [list(g) if g else None for g in out["find"]]
    return out  # type: ignore[no-any-return]


@pytest.mark.parametrize("compiled", [True, False], ids=["mpy", "source"])
def test_pure_hal_behaves_the_same_on_micropython(micropython, compiled: bool) -> None:  # type: ignore[no-untyped-def]
    if compiled:
        need_mpy_cross()
    script = SCRIPT.format(lines=LINES, pattern=PATTERN, uids=UIDS, body=BODY)
    data = {name: (HERE / name).read_bytes() for name in ("fakehw.py", "glyphcase.py")}
    data["glyph_data.bin"] = glyphcase.table_file()
    out = micropython.run_json(script, folders=("firmware",), data=data, compiled=compiled)
    assert out["framebuf"] is True  # the port has framebuf, so "accel" really used it
    assert out["file"].endswith(".mpy" if compiled else ".py")
    expected = cpython_result()
    assert out["pure"] == expected
    assert out["accel"] == expected
    # and the picture is the one the table describes
    assert expected["rows"][0][:12] == glyphcase.A_ROWS[0] + glyphcase.ZH_ROWS[0]
    assert expected["uids"] == UIDS
    assert expected["find"] == [[4, 8], [8, 16], None, [4, 0]]
