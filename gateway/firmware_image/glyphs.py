"""The keypad's glyph table: which characters, from which font, rendered how.

The keypad carries no font file.  :func:`render_glyphs` draws the characters
the firmware can show from an installed CJK font (WenQuanYi Micro Hei from
``fonts-wqy-microhei`` by default) into 1-bit bitmaps, and
:func:`glyph_file` writes them as the data file
``firmware/hal/glyph_data.bin`` that ``hallvote firmware build`` ships with
the rest and the keypad reads from flash as it draws (format:
:mod:`firmware.hal.glyphs`).  Cells are 16 px high, 16 px
wide for CJK (East Asian wide/fullwidth) characters and 8 px for the rest;
the font is drawn at 15 px, anti-aliased, then thresholded.

The characters come from the sources, never a hand list
(:func:`needed_chars`): every reason text (:data:`protocol.reasons.TABLE`),
every choice label (:data:`protocol.consts.CHOICE_LABELS`), the status words
(:data:`firmware.hal.words.STATUS_WORDS`), every CJK character in a string
literal under ``firmware/`` and ``protocol/`` (docstrings excepted), a few
CJK punctuation marks and printable ASCII.  So a new reason text or app
message cannot be missing from the keypad's table.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ASCII",
    "FONT_PACKAGE",
    "FirmwareBuildError",
    "FontMissing",
    "GlyphTable",
    "device_sources",
    "find_font",
    "glyph_file",
    "missing",
    "needed_chars",
    "render_glyphs",
]

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("protocol", "firmware")
# CPython-only modules that never go onto a keypad.
EXCLUDE = ("firmware/hal/sim.py", "firmware/manifest.py")  # manifest.py: read by the image build only
TEST_CHANNEL = "firmware/app/testchan.py"  # shipped only by `hallvote firmware build --test-channel`
FONT_PACKAGE = "fonts-wqy-microhei"
KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
EXTRA_CHARS = "，。：；！？、（）·"
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
GLYPH_HEIGHT = 16


class FirmwareBuildError(RuntimeError):
    """The build cannot go on; the message says what to fix."""


class FontMissing(FirmwareBuildError):
    """No CJK font (or no Pillow) to render the glyph table with."""


# --- which characters ---------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and not ch.isspace()


def _literal_chars(path: Path) -> set[str]:
    """CJK characters in the string literals of one source file (docstrings excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.add(id(value))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.update(ch for ch in node.value if _is_cjk(ch))
    return found


def device_sources(root: Path = REPO, test_channel: bool = False) -> list[Path]:
    """The device's source files: every ``.py`` under ``protocol/`` and ``firmware/`` but :data:`EXCLUDE`.

    The bench test channel (:data:`TEST_CHANNEL`) only with ``test_channel``.
    """
    files = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                continue
            if rel.as_posix() in EXCLUDE or (rel.as_posix() == TEST_CHANNEL and not test_channel):
                continue
            files.append(path)
    return files


def needed_chars(root: Path = REPO, test_channel: bool = False) -> str:
    """Every character the keypad may have to draw, sorted by code point."""
    from firmware.hal import words
    from protocol import consts, reasons

    chars = set(ASCII) | set(EXTRA_CHARS)
    for row in reasons.TABLE:
        chars.update(row[2])
    for labels in consts.CHOICE_LABELS.values():
        for label in labels:
            chars.update(label[1])
    for word in words.STATUS_WORDS:
        chars.update(word)
    for path in device_sources(root, test_channel):
        chars |= _literal_chars(path)
    return "".join(sorted(chars))


# --- the font -----------------------------------------------------------------


def find_font(explicit: str | Path | None = None) -> Path:
    """The CJK font to render with: ``explicit``, ``$HALLVOTE_CJK_FONT``, a known path, then fontconfig."""
    choice = explicit or os.environ.get("HALLVOTE_CJK_FONT")
    if choice:
        path = Path(choice)
        if not path.is_file():
            raise FontMissing(f"font file not found: {path}")
        return path
    for known in KNOWN_FONTS:
        if Path(known).is_file():
            return Path(known)
    if shutil.which("fc-list"):
        proc = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=30, check=False
        )
        files = sorted(line.strip().rstrip(":") for line in proc.stdout.splitlines() if line.strip())
        for name in files:
            if name.lower().endswith((".ttf", ".ttc", ".otf", ".otc")) and Path(name).is_file():
                return Path(name)
    raise FontMissing(
        f"no CJK font found: install one, e.g. `apt-get install -y {FONT_PACKAGE}`, "
        "or name a .ttf/.ttc/.otf with --font or HALLVOTE_CJK_FONT"
    )


@dataclass(frozen=True)
class GlyphTable:
    """The rendered table (the fields of the generated module) and where it came from."""

    height: int
    chars: str
    widths: bytes
    offsets: bytes
    data: bytes
    font_name: str
    font_sha256: str

    @property
    def size(self) -> int:
        """Bytes of the table's file on the device (:func:`glyph_file`): head, index and bitmaps."""
        return 10 + 6 * len(self.chars) + len(self.data)

    def bitmap(self, ch: str) -> list[str]:
        """The glyph of ``ch`` as rows of ``#``/``.`` (for tests and eyes)."""
        i = self.chars.index(ch)
        w = self.widths[i]
        off = (self.offsets[2 * i] << 8) | self.offsets[2 * i + 1]
        rb = (w + 7) // 8
        return [
            "".join("#" if self.data[off + y * rb + x // 8] & (0x80 >> (x % 8)) else "." for x in range(w))
            for y in range(self.height)
        ]


def render_glyphs(
    chars: str, font_path: Path, height: int = GLYPH_HEIGHT, size: int | None = None, threshold: int = 128
) -> GlyphTable:
    """Render ``chars`` into a 1-bit table: wide characters ``height`` px wide, others half.

    ``size`` is the font's pixel size (default ``height - 1``, leaving a line
    of space between text rows).  Raises FontMissing when Pillow is absent
    or the font lacks a character.
    """
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:
        raise FontMissing(
            "Pillow is needed to render glyphs: pip install Pillow (a hallvote dependency)"
        ) from exc
    if height % 8 or not 8 <= height <= 32:
        raise FirmwareBuildError(f"glyph height must be 8, 16, 24 or 32, not {height}")
    font = ImageFont.truetype(str(font_path), size or height - 1)
    chars = "".join(sorted(set(chars)))

    def ink(ch: str) -> bytes:
        image = Image.new("L", (2 * height, 2 * height), 0)
        ImageDraw.Draw(image).text((0, height), ch, font=font, fill=255, anchor="ls")
        return image.tobytes()

    notdef, blank = ink("\U0010fffd"), bytes(4 * height * height)
    missing = [ch for ch in chars if not ch.isspace() and ink(ch) in (notdef, blank)]
    if missing:
        raise FontMissing(
            f"font {font_path} has no glyph for {''.join(missing)!r}; "
            f"use a full CJK font (e.g. {FONT_PACKAGE}) via --font or HALLVOTE_CJK_FONT"
        )
    wide = [ch for ch in chars if _is_cjk(ch)] or list(chars)
    boxes = [font.getbbox(ch, anchor="ls") for ch in wide]
    top = min(int(b[1]) for b in boxes)
    bottom = max(int(b[3]) for b in boxes)
    baseline = max(0, (height - (bottom - top)) // 2) - top
    widths, offsets, data = bytearray(), bytearray(), bytearray()
    for ch in chars:
        w = height if _is_cjk(ch) else height // 2
        image = Image.new("L", (w, height), 0)
        x = (w - font.getlength(ch)) / 2
        ImageDraw.Draw(image).text((x, baseline), ch, font=font, fill=255, anchor="ls")
        if len(data) > 0xFFFF:
            raise FirmwareBuildError("glyph table exceeds 64 KiB: too many characters")
        offsets += len(data).to_bytes(2, "big")
        widths.append(w)
        pixels = image.tobytes()  # one byte per pixel, row after row
        for y in range(height):
            for bx in range(0, w, 8):
                byte = 0
                for i in range(8):
                    if bx + i < w and pixels[y * w + bx + i] >= threshold:
                        byte |= 0x80 >> i
                data.append(byte)
    family, style = font.getname()
    return GlyphTable(
        height=height,
        chars=chars,
        widths=bytes(widths),
        offsets=bytes(offsets),
        data=bytes(data),
        font_name=f"{family} {style}".strip(),
        font_sha256=hashlib.sha256(font_path.read_bytes()).hexdigest(),
    )


def missing(font: Any, text: str) -> str:
    """The characters of ``text`` that ``font`` (a :class:`firmware.hal.glyphs.Font`) lacks, in order,
    without repeats (the keypad draws them as boxes; the build's tests want none)."""
    out = ""
    for ch in text:
        if ch not in font and ch not in out:
            out += ch
    return out


def glyph_file(table: GlyphTable) -> bytes:
    """The bytes of ``firmware/hal/glyph_data.bin`` for ``table`` (layout: :mod:`firmware.hal.glyphs`)."""
    if len(table.chars) > 0xFFFF or len(table.data) > 0xFFFFFF:
        raise FirmwareBuildError("glyph table too large for its file format")
    out = bytearray(b"HVG1")
    out.append(table.height)
    out += len(table.chars).to_bytes(2, "big") + len(table.data).to_bytes(3, "big")
    for i, ch in enumerate(table.chars):
        out += ord(ch).to_bytes(3, "big") + bytes((table.widths[i],)) + table.offsets[2 * i : 2 * i + 2]
    return bytes(out + table.data)
