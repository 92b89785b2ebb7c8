"""Freeze manifest: the keypad firmware frozen into a MicroPython 1.27 ESP32 image.

Frozen bytecode stays in flash instead of the GC heap (the glyph table is
a file in flash anyway).  Build the keypad folder first, then the image with the official
toolchain (ESP-IDF as the MicroPython 1.27 ESP32 port documents), from a
MicroPython v1.27.0 checkout::

    hallvote firmware build --out /path/to/build/fw --profile keypad4
    cd micropython/ports/esp32
    make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/hallvote/firmware/manifest.py \\
         HALLVOTE_BUILD=/path/to/build/fw

It includes the port's own manifest (asyncio and the rest), then, with
``HALLVOTE_BUILD`` set, every ``.mpy`` that build lists in its
``manifest.json`` (the same bytecode a filesystem install ships,
build_info included: mpy-cross 1.27 output, which the 1.27 image loads).  Without ``HALLVOTE_BUILD`` it freezes the sources of ``protocol/``
and ``firmware/`` instead (no glyph table, no build profile: the image boots
the default profile and a display shows no text).  Never frozen:
``firmware/hal/sim.py`` (CPython only), the bench test channel
(``firmware/app/testchan.py``, frozen only from a ``--test-channel`` build),
this file, and ``main.py``, which
stays on the keypad's filesystem as ``/main.py`` (copy it from the build),
as does the glyph table, a data file: copy ``firmware/hal/glyph_data.bin``
from the build to ``/firmware/hal/glyph_data.bin``.

This file is read by MicroPython's ``makemanifest.py`` (which provides
``include`` and ``module``); it never runs on the keypad.
"""

import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOT_FROZEN = ("firmware/hal/sim.py", "firmware/manifest.py", "firmware/main.py", "main.py")
TEST_CHANNEL = "firmware/app/testchan.py"  # frozen only when a --test-channel build lists it


def source_modules(root: str = ROOT) -> "list[str]":
    """Paths (repo-relative, "/"-separated) of the sources frozen without a build."""
    found = []
    for package in ("protocol", "firmware"):
        for folder, dirs, files in os.walk(os.path.join(root, package)):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
            for name in sorted(files):
                if name.endswith(".py"):
                    rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
                    if rel not in NOT_FROZEN and rel != TEST_CHANNEL:
                        found.append(rel)
    return found


def build_modules(build: str) -> "list[str]":
    """The ``.mpy`` files a ``hallvote firmware build`` folder lists in its manifest.json."""
    with open(os.path.join(build, "manifest.json")) as f:
        files = json.load(f)["files"]
    return [e["path"] for e in files if e["path"].endswith(".mpy") and e["path"] not in NOT_FROZEN]


def freeze(tool: "dict[str, object]") -> None:
    """What makemanifest.py runs (``tool``: its globals, with ``include`` and ``module``)."""
    include, module = tool["include"], tool["module"]
    include("$(PORT_DIR)/boards/manifest.py")  # type: ignore[operator]
    build = os.environ.get("HALLVOTE_BUILD")
    if build:
        for rel in build_modules(build):
            module(rel, base_path=build)  # type: ignore[operator]
    else:
        for rel in source_modules():
            module(rel, base_path=ROOT)  # type: ignore[operator]


if "include" in globals():  # run by makemanifest.py, not imported
    freeze(globals())
