"""The keypad's live heap per profile, on the real MicroPython interpreter (WebAssembly port), from
the firmware as built and shipped (mpy-cross output, glyph table): boot -> connect -> hello ->
check-in -> vote -> ack over an in-memory broker and gateway (hil/bench/heap.py).

The flow must complete for every profile and the figures are printed.  Each profile's live heap
after boot must be within its module's budget (docs/firmware.md, "Memory budget": 64 KB on a
WROOM-32, 80 KB with PSRAM; the firmware built as shipped, mpy-cross -O3, bytecode loaded from .mpy
files into the heap), and the keypad must not load what it does not run (the MQTT codec's packet
classes and the host's MQTT client, the connect path once online, the other profiles' pin tables, the
gateway's protocol codec, frames and topics, the reason texts, the unsliced P-256 helpers of
firmware/reference.py, the signer's refill overlay when idle, and the tables of protocol/tables.py).
"""

from __future__ import annotations

import pytest
from hvtest.micropython import need_micropython, need_mpy_cross

from firmware.hal import profiles

pytestmark = pytest.mark.micropython

_cache: dict[str, dict] = {}


def flow(name: str) -> dict:
    need_micropython()
    need_mpy_cross()
    if name not in _cache:
        from hil.bench import heap

        _cache[name] = heap.measure(name)
        r = _cache[name]
        print(f"{name}: live after boot {r['after_boot']:,} B (budget {r['budget']:,}), after vote "
              f"{r['after_vote']:,}, built {r['built']:,}, peak sign {r['peak_sign']:,}, "
              f"peak slice {r['peak_slice']:,}, refill {r['refill_live']:,}")  # fmt: skip
    return _cache[name]


@pytest.mark.parametrize("name", profiles.names())
def test_keypad_flow_runs_and_loads_only_what_it_runs(name: str) -> None:
    r = flow(name)
    # check-in and vote signed, sent and acknowledged (a retransmission before its ack is acked again)
    assert r["state"] == "recorded" and r["log"]["up"] >= 2 and r["log"]["acks"] == r["log"]["up"]
    assert r["faults"] == []
    assert r["after_boot"] > 0
    # A precompute slice stays small: the heaviest is the refill's first, which loads the signer's
    # overlay (firmware.refill and firmware.p256, ~15 KB allocated with the GC held off, ~10 KB of it
    # live until the pool is full); every later slice allocates one step's temporaries.  The peak is
    # the higher of the live heap after boot plus that load and the live heap with the overlay loaded
    # plus the heaviest later slice; the latter carries the noise of the "refill" sample (the keypad's
    # own loop, refilling too, may leave a slice's garbage in it), hence 20 KB, not the 16 KB that
    # bounded a slice when the signer kept the overlay loaded.
    assert r["load_alloc"] < 16 * 1024 and r["later_alloc"] < 6 * 1024
    assert r["peak_slice"] - r["after_boot"] < 20 * 1024
    # the overlay (nonce and public-key jobs, P-256) is not held by an idle keypad, loaded for a refill,
    # unloaded again when the pool is full
    overlay = ["firmware.refill", "firmware.p256"]
    assert not set(overlay) & set(r["boot_modules"]) and r["idle_modules"] == []
    assert r["refill_modules"] == overlay and r["refilled_modules"] == []
    assert r["after_boot"] < r["refill_live"] <= r["peak_slice"]
    assert r["peak_sign"] - r["after_boot"] < 2 * 1024
    # only what the keypad runs is loaded: the client's side of MQTT, the selected profile;
    # the client's connect path is loaded with the client and unloaded once it is online
    assert "firmware.mqtt.client" in r["boot_modules"] and "firmware.mqtt.connect" in r["boot_loaded"]
    assert "firmware.mqtt.connect" not in r["boot_modules"]
    for host_side in ("firmware.mqtt.codec", "firmware.mqtt.host"):  # the host's packet classes and client
        assert host_side not in r["boot_modules"] and host_side not in r["modules"]
    assert "firmware.hal.profile_table" not in r["boot_modules"]
    assert "firmware.provision" not in r["boot_modules"]
    # the unsliced P-256 / ECDSA helpers are never loaded
    assert "firmware.reference" not in r["modules"]
    # the keypad's side of the protocol codec and topics, no reason texts (loaded only when shown)
    assert "protocol.device" in r["boot_modules"]
    for gateway_side in ("protocol.codec", "protocol.topics", "protocol.reason_texts"):
        assert gateway_side not in r["boot_modules"] and gateway_side not in r["modules"]
    # what only boot needs is loaded while the keypad is built, then unloaded
    boot_only = {"firmware.hal.profiles", "firmware.app.config", "firmware.hal.build_info", "firmware.version"}
    assert boot_only <= set(r["boot_loaded"]) and boot_only <= set(r["unloaded"])
    assert not boot_only & set(r["boot_modules"])
    # firmware.app.main unloads itself once it has built the keypad (main.start)
    assert "firmware.app.main" in r["boot_loaded"] and "firmware.app.main" not in r["boot_modules"]
    # the gateway's frame classes are never loaded; the protocol's numbers and reason table only
    # for the display's texts (the app and protocol.device use const() numbers)
    assert "protocol.frames" not in r["modules"]
    for numbers in ("protocol.consts", "protocol.reasons"):
        assert (numbers in r["modules"]) == bool(profiles.PROFILES[name]["display"]), numbers
    # the display's texts only on a keypad with a display
    assert ("firmware.app.screen" in r["modules"]) == bool(profiles.PROFILES[name]["display"])
    # the consts' outcomes and tables: never loaded (the screen carries its labels and outcome texts)
    assert "protocol.tables" not in r["modules"]


@pytest.mark.parametrize("name", profiles.names())
def test_live_heap_after_boot_is_within_the_module_budget(name: str) -> None:
    r = flow(name)
    assert r["after_boot"] <= r["budget"], (
        f"{name} on {r['module']}: {r['after_boot']:,} B live after boot, over the budget of {r['budget']:,} B"
    )
