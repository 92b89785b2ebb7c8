"""``hallvote firmware build`` (gateway/firmware_image/build.py, gateway/firmware_image/glyphs.py, cli_firmware.py).

What these tests establish:

* The glyph table holds every character the keypad can be asked to show:
  all reason texts, choice labels, status words, every CJK string literal
  in the device sources (a new literal is picked up), ASCII; rendered
  glyphs sit in their cells (a horizontal and a vertical stroke, a blank
  space); a font lacking a character, or no font at all, is a clear error
  naming the package to install.
* The build output has a ``.mpy`` for every device source file and nothing
  unlisted; the manifest's hashes and sizes are the files'; versions come
  from firmware/version.py, protocol/consts.py and the tool; two builds are
  byte-identical; ``verify`` catches a changed, missing or extra file.
* The output runs on the real MicroPython interpreter: every module
  imports from its .mpy, the protocol vectors pass on the built protocol/,
  the built glyph table draws a reason text exactly as CPython draws it
  from the same table, and the ESP32 adapter (stub hardware) shows it on
  the SSD1306 with the build's default profile.
* A source file mpy-cross refuses fails the build naming the file, and the
  previous build is left intact; the CLI reports the same with exit codes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)
from hvtest.tools import missing
from typer.testing import CliRunner

from firmware import version
from firmware.hal import glyphs, profiles, words
from gateway.cli import app
from gateway.firmware_image import build as fb
from gateway.firmware_image import glyphs as fg
from protocol import consts, reasons

REPO = Path(__file__).resolve().parents[3]
HAL_TESTS = REPO / "tests" / "firmware" / "hal"


def need_font() -> Path:
    try:
        return fg.find_font()
    except fg.FontMissing as exc:
        missing(str(exc))
        raise AssertionError("unreachable") from None


@pytest.fixture(scope="module")
def table() -> fg.GlyphTable:
    return fg.render_glyphs(fg.needed_chars(), need_font())


@pytest.fixture(scope="module")
def table_file(table: fg.GlyphTable, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The rendered table as the file the build ships (``firmware/hal/glyph_data.bin``)."""
    path = tmp_path_factory.mktemp("glyphs") / glyphs.FILE
    path.write_bytes(fg.glyph_file(table))
    return str(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, fb.Manifest]:
    need_mpy_cross()
    need_font()
    out = tmp_path_factory.mktemp("fw") / "build"
    return out, fb.build(out, "oled-nav-card")


# --- the characters -------------------------------------------------------------


def test_needed_chars_cover_reasons_labels_status_words_and_ascii() -> None:
    chars = set(fg.needed_chars())
    for row in reasons.TABLE:
        assert set(row[2]) <= chars, row[1]
    for labels in consts.CHOICE_LABELS.values():
        for _code, label, _en in labels:
            assert set(label) <= chars, label
    for word in words.STATUS_WORDS:
        assert set(word) <= chars, word
    assert set(fg.ASCII) <= chars
    assert set("未知原因") <= chars  # reasons.text() of an unknown code: a literal, found by the scan


def test_literals_are_scanned_but_docstrings_and_comments_are_not(tmp_path: Path) -> None:
    (tmp_path / "protocol").mkdir()
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware" / "extra.py").write_text(
        '"""模块说明."""\n\n# 注释\n\ndef f():\n    """函数说明."""\n    return "新消息：%d" % 1\n',
        encoding="utf-8",
    )
    chars = set(fg.needed_chars(tmp_path))
    assert set("新消息：") <= chars
    only_in_docs = set("模块说明函数注释") - set(fg.needed_chars())
    assert only_in_docs and not (only_in_docs & chars)


def test_every_needed_character_is_in_the_rendered_table(table: fg.GlyphTable, table_file: str) -> None:
    font = glyphs.Font(table_file)
    assert fg.missing(font, fg.needed_chars()) == ""
    for row in reasons.TABLE:
        assert fg.missing(font, row[2]) == ""
        assert font.width(row[2]) <= 128  # one line of a 128-px display
    assert table.chars == "".join(sorted(table.chars))
    assert len(table.widths) == len(table.chars) and len(table.offsets) == 2 * len(table.chars)
    expected = sum(table.height * ((w + 7) // 8) for w in table.widths)
    assert len(table.data) == expected
    assert table.size < 12 * 1024


def test_app_texts_fit_one_display_line(table_file: str) -> None:
    from firmware.app import screen

    font = glyphs.Font(table_file)
    for key, text in enumerate(screen.TEXTS.split("|")):
        widest = text.replace("%d", "999").replace("%s", "A-12")
        assert fg.missing(font, widest) == "", key
        assert font.width(widest) <= 128, (key, widest)


def test_glyphs_sit_in_their_cells(table: fg.GlyphTable) -> None:
    one, bar, space, zhong = (table.bitmap(c) for c in "一| 中")
    assert len(one) == table.height and len(one[0]) == table.height  # CJK: full width
    assert len(bar[0]) == table.height // 2  # ASCII: half width
    assert all(row == "." * (table.height // 2) for row in space)
    lit = [row.count("#") for row in one]
    inked = [y for y, n in enumerate(lit) if n]
    assert max(lit) >= 10 and len(inked) <= 2  # one horizontal stroke, at most 2 px thick
    assert 4 <= inked[0] <= table.height - 5  # near the middle of the cell
    columns = ["".join(row[x] for row in bar) for x in range(len(bar[0]))]
    assert max(c.count("#") for c in columns) >= table.height - 4  # one vertical stroke
    assert sum(row.count("#") for row in zhong) > 20


def test_font_lacking_a_character_is_refused_naming_it() -> None:
    font = need_font()
    with pytest.raises(fg.FontMissing, match="has no glyph for") as caught:
        fg.render_glyphs("A已\ufdd0", font)  # U+FDD0 is a noncharacter: no font maps it
    assert f"has no glyph for {chr(0xFDD0)!r};" in str(caught.value)


def test_missing_font_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fg, "KNOWN_FONTS", ())
    monkeypatch.setenv("PATH", str(tmp_path))  # no fc-list
    monkeypatch.delenv("HALLVOTE_CJK_FONT", raising=False)
    with pytest.raises(fg.FontMissing, match="apt-get install -y fonts-wqy-microhei"):
        fg.find_font()
    monkeypatch.setenv("HALLVOTE_CJK_FONT", str(tmp_path / "none.ttc"))
    with pytest.raises(fg.FontMissing, match=r"font file not found: .*none\.ttc"):
        fg.find_font()


# --- the build output --------------------------------------------------------------


def test_every_source_has_its_mpy_and_the_manifest_matches(built: tuple[Path, fb.Manifest]) -> None:
    out, manifest = built
    listed = {f.path: f for f in manifest.files}
    for src in fg.device_sources():
        rel = src.relative_to(REPO)
        if rel.name in fb.STUBS and rel.parent.as_posix() == "firmware":
            assert rel.name in listed
        else:
            assert rel.with_suffix(".mpy").as_posix() in listed, rel
    assert "firmware/hal/sim.mpy" not in listed
    assert {"firmware/hal/glyph_data.bin", "firmware/hal/build_info.mpy", "main.py"} <= set(listed)
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert on_disk == sorted([*listed, fb.MANIFEST])
    for entry in manifest.files:
        blob = (out / entry.path).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == entry.sha256 and len(blob) == entry.size
        if entry.path.endswith(".mpy"):
            assert blob[:2] == b"M\x06", entry.path
    assert manifest.total_size == sum(f.size for f in manifest.files)
    assert fb.load_manifest(out) == manifest
    raw = json.loads((out / fb.MANIFEST).read_text(encoding="utf-8"))
    assert raw["format"] == 1 and raw["firmware_version"] == version.string() == manifest.firmware_version
    assert raw["protocol_version"] == consts.VERSION
    assert raw["profile"] == "oled-nav-card"
    assert raw["mpy_cross"].startswith("MicroPython v1.27")
    assert raw["glyphs"]["chars"] == len(fg.needed_chars()) and raw["glyphs"]["height"] == 16
    assert fb.verify(out) == []


def test_builds_are_reproducible_and_verify_catches_tampering(
    built: tuple[Path, fb.Manifest], tmp_path: Path
) -> None:
    out, manifest = built
    again = fb.build(tmp_path / "again", "oled-nav-card")
    assert again == manifest
    assert (tmp_path / "again" / fb.MANIFEST).read_bytes() == (out / fb.MANIFEST).read_bytes()
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "firmware" / "signer.mpy").write_bytes(b"M\x06tampered")
    (copy / "protocol" / "codec.mpy").unlink()
    (copy / "firmware" / "extra.py").write_text("x = 1\n")
    assert fb.verify(copy) == [
        "firmware/signer.mpy: SHA-256 differs from the manifest",
        "protocol/codec.mpy: missing",
        "firmware/extra.py: not in the manifest",
    ]


def test_profile_without_display_ships_no_glyph_table(tmp_path: Path) -> None:
    need_mpy_cross()
    manifest = fb.build(tmp_path / "k4", "keypad4")
    paths = {f.path for f in manifest.files}
    assert manifest.glyphs is None and not any("glyph_data" in p for p in paths)
    assert manifest.profile == "keypad4"


def copy_tree(dest: Path) -> Path:
    for package in fg.PACKAGES:
        shutil.copytree(REPO / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_broken_source_fails_the_build_naming_it_and_keeps_the_old_build(tmp_path: Path) -> None:
    need_mpy_cross()
    root = copy_tree(tmp_path / "src")
    out = tmp_path / "out"
    fb.build(out, "keypad4", root=root)
    before = (out / fb.MANIFEST).read_bytes()
    (root / "firmware" / "hal" / "broken.py").write_text("def f(:\n    pass\n")
    with pytest.raises(fb.FirmwareBuildError, match=r"mpy-cross refused firmware/hal/broken\.py") as caught:
        fb.build(out, "keypad4", root=root)
    assert "SyntaxError" in str(caught.value)
    assert (out / fb.MANIFEST).read_bytes() == before and fb.verify(out) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no stage left behind


def test_refuses_to_overwrite_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(fb.FirmwareBuildError, match="not a firmware build folder"):
        fb.build(tmp_path, "keypad4")
    with pytest.raises(fb.FirmwareBuildError, match="unknown profile 'nope'"):
        fb.build(tmp_path / "x", "nope")


# --- on the real MicroPython interpreter ---------------------------------------


def folders_of(out: Path) -> tuple[Path, ...]:
    return (out / "protocol", out / "firmware")


@pytest.mark.micropython
def test_built_modules_import_and_protocol_vectors_pass(micropython, built: tuple[Path, fb.Manifest]) -> None:  # type: ignore[no-untyped-def]
    out, manifest = built
    modules = [
        f.path[: -len(".mpy")].replace("/", ".").removesuffix(".__init__")
        for f in manifest.files
        if f.path.endswith(".mpy") and f.path != "firmware/hal/esp32.mpy"
    ]
    script = (
        (REPO / "tests" / "protocol" / "vectorcheck.py").read_text(encoding="utf-8")
        + r"""
import gc, hvhost
from firmware.signer import sign_with_nonce
inp = hvhost.load_input()
files = {}
for name in inp["modules"]:
    mod = __import__(name)
    for part in name.split(".")[1:]:
        mod = getattr(mod, part)
    files[name] = mod.__file__
checked, failures = check(inp["vectors"], sign_with_nonce)
await hvhost.collect()
hvhost.result({"files": files, "checked": checked, "failures": failures, "heap_used": gc.mem_alloc()})
"""
    )
    vectors = json.loads((REPO / "protocol" / "vectors.json").read_text(encoding="utf-8"))
    res = micropython.run_json(
        script, folders=folders_of(out), input_data={"modules": modules, "vectors": vectors}
    )
    assert {n: f for n, f in res["files"].items() if not f.endswith(".mpy")} == {}
    assert set(res["files"]) == set(modules)
    assert res["failures"] == [] and res["checked"] > 50


DRAW = r"""
import sys
sys.path.insert(0, "/lib/mpstubs")
import gc, hvhost, fakehw
gc.collect()
before = gc.mem_alloc()
from firmware.hal import glyphs
here = glyphs.__file__
font = glyphs.Font(here[: here.rfind("/") + 1] + glyphs.FILE)
after = gc.mem_alloc()
lines = hvhost.load_input()
canvas = glyphs.Canvas(128, 64)
glyphs.draw_lines(canvas, font, lines)
from firmware.hal import esp32
b = esp32.board()
n = len(fakehw.I2C_WRITES)
b.display.show(lines)
panel, page = bytearray(1024), 0  # the panel's RAM, from the page address commands and data writes
for addr, tx in fakehw.I2C_WRITES[n:]:
    if tx[0] == 0x00 and tx[1] == 0x21:
        page = tx[5]
    elif tx[0] == 0x40:
        panel[page * 128 : page * 128 + 128] = tx[1:]
hvhost.result({"canvas": bytes(canvas.buf).hex(), "panel": bytes(panel).hex(),
               "faults": b.faults, "profile": b.profile_name, "rows": b.display.rows,
               "missing": "".join(c for c in "".join(lines) if c not in font), "table_heap": after - before})
"""


@pytest.mark.micropython
def test_built_glyph_table_draws_like_cpython_and_the_adapter_shows_it(  # type: ignore[no-untyped-def]
    micropython, built: tuple[Path, fb.Manifest], table_file: str, tmp_path: Path
) -> None:
    out, manifest = built
    stubs = tmp_path / "mpstubs"
    shutil.copytree(HAL_TESTS / "mpstubs", stubs)
    shutil.copyfile(HAL_TESTS / "fakehw.py", stubs / "fakehw.py")
    lines = [
        reasons.text(reasons.NOT_CHECKED_IN),
        "赞成 已记录",
        "座位 A-12 kp-07",
        reasons.text(reasons.BUSY),
    ]
    res: dict[str, Any] = micropython.run_json(DRAW, folders=(*folders_of(out), stubs), input_data=lines)
    assert res["missing"] == ""
    assert res["faults"] == [] and res["profile"] == "oled-nav-card" and res["rows"] == 4
    canvas = glyphs.Canvas(128, 64)
    glyphs.draw_lines(canvas, glyphs.Font(table_file), lines)
    assert res["canvas"] == bytes(canvas.buf).hex() == res["panel"]
    assert bytes(canvas.buf).count(0) < len(canvas.buf)  # something was drawn
    print(f"glyph table on MicroPython: {res['table_heap']} bytes of heap after import", file=sys.stderr)
    assert res["table_heap"] < 4 * manifest.glyphs["bytes"]  # type: ignore[index]


# --- the command line -------------------------------------------------------------


def test_cli_build_verify_profiles(tmp_path: Path) -> None:
    need_mpy_cross()
    need_font()
    runner = CliRunner()
    res = runner.invoke(
        app, ["firmware", "build", "--out", str(tmp_path / "fw"), "--profile", "oled-nav-card"]
    )
    assert res.exit_code == 0, res.output
    assert f"firmware {version.string()}" in res.output and "glyphs:" in res.output
    res = runner.invoke(app, ["firmware", "verify", str(tmp_path / "fw")])
    assert res.exit_code == 0 and "intact" in res.output
    (tmp_path / "fw" / "main.py").write_text("tampered\n")
    res = runner.invoke(app, ["firmware", "verify", str(tmp_path / "fw")])
    assert res.exit_code == 1 and "main.py: SHA-256 differs" in res.output
    res = runner.invoke(app, ["firmware", "build", "--out", str(tmp_path / "x"), "--profile", "nope"])
    assert res.exit_code == 2 and "unknown profile" in res.output
    res = runner.invoke(app, ["firmware", "profiles"])
    assert res.exit_code == 0 and all(name in res.output for name in profiles.names())


def test_cli_names_the_broken_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_mpy_cross()
    root = copy_tree(tmp_path / "src")
    (root / "protocol" / "oops.py").write_text("x = = 1\n")
    real_build = fb.build
    monkeypatch.setattr(
        fb, "build", lambda out, profile=None, **kw: real_build(out, profile, root=root, **kw)
    )
    res = CliRunner().invoke(app, ["firmware", "build", "--out", str(tmp_path / "fw"), "--no-glyphs"])
    assert res.exit_code == 1
    assert "protocol/oops.py" in res.output and not (tmp_path / "fw").exists()


TC_PROBE = r"""
import hvhost
from firmware.hal import build_info
try:
    import firmware.app.testchan as tc
    shipped = tc.__file__
except ImportError:
    shipped = None
hvhost.result({"flag": getattr(build_info, "TEST_CHANNEL", False), "shipped": shipped})
"""


@pytest.mark.micropython
def test_test_channel_only_in_a_test_channel_build_and_labelled(  # type: ignore[no-untyped-def]
    micropython, built: tuple[Path, fb.Manifest], tmp_path: Path
) -> None:
    out, manifest = built
    assert "firmware/app/testchan.mpy" not in {f.path for f in manifest.files} and not manifest.test_channel
    assert json.loads((out / fb.MANIFEST).read_text(encoding="utf-8"))["test_channel"] is False
    assert micropython.run_json(TC_PROBE, folders=folders_of(out)) == {"flag": False, "shipped": None}
    res = CliRunner().invoke(
        app, ["firmware", "build", "--out", str(tmp_path / "tc"), "--profile", "oled-nav-card", "--test-channel"]
    )
    assert res.exit_code == 0, res.output
    assert "TEST CHANNEL BUILT IN" in res.output and "测试通道已编入" in res.output
    tc = fb.load_manifest(tmp_path / "tc")
    assert tc.test_channel and "firmware/app/testchan.mpy" in {f.path for f in tc.files}
    assert fb.verify(tmp_path / "tc") == []
    probe = micropython.run_json(TC_PROBE, folders=folders_of(tmp_path / "tc"))
    assert probe["flag"] is True and probe["shipped"].endswith("testchan.mpy")
    assert set("测试通道") <= set(fg.needed_chars(test_channel=True))
    assert tc.glyphs is not None and manifest.glyphs is not None
    assert tc.glyphs["chars"] == len(fg.needed_chars(test_channel=True)) >= manifest.glyphs["chars"]
    res = CliRunner().invoke(app, ["firmware", "build", "--out", str(tmp_path / "plain"), "--profile", "keypad4"])
    assert res.exit_code == 0 and "TEST CHANNEL" not in res.output
