"""firmware/manifest.py, the freeze manifest for a MicroPython image: it freezes exactly what a
`hallvote firmware build` ships (every .mpy, glyph table and build_info included, not main.py), or
without a build every device source; never the simulator or itself."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from gateway.firmware_image import build as fwbuild
from gateway.firmware_image.glyphs import device_sources

REPO = Path(__file__).resolve().parents[2]


def frozen(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[tuple[str, str]]]:
    included: list[str] = []
    modules: list[tuple[str, str]] = []
    for key in ("HALLVOTE_BUILD",):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runpy.run_path(
        str(REPO / "firmware" / "manifest.py"),
        init_globals={
            "include": included.append,
            "module": lambda path, base_path=".": modules.append((path, base_path)),
        },
    )
    return included, modules


def test_a_build_is_frozen_as_shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = fwbuild.build(tmp_path / "fw", "oled-nav-card")
    included, modules = frozen({"HALLVOTE_BUILD": str(tmp_path / "fw")}, monkeypatch)
    assert included == ["$(PORT_DIR)/boards/manifest.py"]
    shipped = {f.path for f in manifest.files if f.path.endswith(".mpy")}
    assert {p for p, _ in modules} == shipped
    assert "firmware/hal/build_info.mpy" in shipped
    # the glyph table is a data file: not frozen, it stays on the filesystem (copied with main.py)
    assert "firmware/hal/glyph_data.bin" in {f.path for f in manifest.files}
    assert all(base == str(tmp_path / "fw") for _, base in modules)
    assert not any(p.endswith(("sim.mpy", "manifest.mpy")) for p in shipped)  # not shipped, not frozen


def test_without_a_build_the_sources_are_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    _, modules = frozen({}, monkeypatch)
    expected = {p.relative_to(REPO).as_posix() for p in device_sources(REPO)} - {"firmware/main.py"}
    assert {p for p, _ in modules} == expected
    assert "firmware/hal/sim.py" not in expected and "firmware/manifest.py" not in expected
