"""The keypad's live heap, per profile, measured on the real MicroPython interpreter.

    python -m hil.bench.heap [--profile NAME ...] [--modules] [--json-file PATH]

For each profile the firmware is built as it ships (``hallvote firmware
build``: mpy-cross output, the generated glyph table and build_info) and
run on the WebAssembly port with stand-in ``machine``/``network``/``esp32``
modules (tests/firmware/hal/mpstubs): the real ESP32 adapter, keypad,
runner and MQTT client go through boot -> connect -> hello -> check-in ->
vote -> ack against an in-memory broker and gateway in the same
interpreter (that port has no sockets or TLS).  Figures are
``gc.mem_alloc()`` after a real collection, above a baseline taken after
the script was compiled and the stand-in hardware modules were imported
and their state set up (the ESP32 port has those built in; the stand-ins
allocate at run time what that port allocates, see mpstubs/machine.py); the in-memory broker and gateway add
a few hundred bytes of state (they speak MQTT and write their acks by hand
in a few lines of the script, since the keypad loads only the client's side
of the MQTT codec and only its own side of the protocol codec; the
broadcasts are encoded beforehand by the gateway's codec, on the host).

Reported: live heap after boot (online, idle, nonce pool full; the median
of three samples 0.1 s apart, since MicroPython's conservative collector can
keep something just dropped alive for one sample through a stale pointer on
the stack), after the
vote was acknowledged, once built (the live heap when
``firmware.app.main.build`` has built the keypad, before the modules needed
only at boot are unloaded: boot's high point unless the figure after boot is
higher), the peak during a sign (live heap after boot plus what it allocates
with the GC held off) and during a precompute slice (the slices of the
refill after that sign: the first loads the signer's overlay,
``firmware.refill`` and ``firmware.p256``, unloaded while the keypad idles,
so the peak is the higher of the live heap after boot plus that first slice
and the live heap with the overlay loaded plus the heaviest later slice,
each slice's allocation measured with the GC held off),
``refill``: the live heap while that overlay is loaded (a nonce in
progress), and the per-module budget
(docs/firmware.md).  Reported, not asserted: the budget
test is tests/firmware/test_heap_budget.py.

Where the heap goes (``--modules``): a second run in a fresh interpreter
imports, one at a time and dependencies first, exactly the modules the flow
had loaded after boot, and records what each import added to the live heap
(its bytecode and constants loaded from the ``.mpy``, new qstrs, the module's
dict, functions, classes and the tables it builds at import; a module it
imports that the keypad unloads after boot is unloaded there too, leaving
only the names it interned).  The rest of
the live heap after boot is the objects the running keypad made (``objects
at run time``).  ``qstrs``: how much of the imports is the interpreter's
pool of interned names and short strings (``micropython.qstr_info()``
before and after them), which every import adds to and nothing frees.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hil import micropython as mp
from protocol import codec, consts, frames

REPO = Path(__file__).resolve().parents[2]
STUBS = REPO / "tests" / "firmware" / "hal"
# The budget per module: live heap after boot (docs/firmware.md).
BUDGET = {"esp32-wroom-32": 64 * 1024, "esp32-wrover": 80 * 1024, "esp32-s3-psram": 80 * 1024}

FLOW = r'''
import sys
sys.path.insert(0, "/lib/mpstubs")
import gc, hvhost, asyncio, time
import fakehw, machine, network, esp32  # stand-ins for what the ESP32 port has built in (no heap there)
inp = hvhost.load_input()
fakehw.reset()  # the stand-ins' state, set up before the baseline (on the ESP32 it is in the chip)
fakehw.CHIP[0] = inp["chip"]
fakehw.SPI_CS[0] = inp["cs"]
fakehw.RECORD[0] = False  # no record of I2C writes and RC522 frames: the ESP32 keeps none
await hvhost.collect()
BASE = gc.mem_alloc()
import firmware
from firmware.app import main as app_main
from firmware.app import states as S
from firmware.hal import esp32 as adapter

HALL, DEV = "h1", "kp-1"
out = {}


async def live():
    await hvhost.collect()
    return gc.mem_alloc() - BASE


class Pipe:
    def __init__(self):
        self.buf = b""
        self.ev = asyncio.Event()

    def feed(self, data):
        self.buf += data
        self.ev.set()

    async def read(self, n):
        while not self.buf:
            self.ev.clear()
            await self.ev.wait()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


class End:
    def __init__(self, inp_, out_):
        self.inp, self.out = inp_, out_

    async def read(self, n):
        return await self.inp.read(n)

    def write(self, data):
        self.out.feed(bytes(data))

    async def drain(self):
        await asyncio.sleep(0)

    def close(self):
        pass


SITTING = bytes.fromhex(inp["sitting"])  # the broadcasts, encoded by the gateway's codec on the host
MOTION = bytes.fromhex(inp["motion"])
PREFIX = "hallvote/v2/" + HALL
log = {"up": 0, "acks": 0}


def mqtt(first, body):  # one packet: fixed header, remaining length, body
    n, head = len(body), bytearray((first,))
    while True:
        head.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(head) + body


def mstr(s):
    b = s.encode()
    return bytes((len(b) >> 8, len(b) & 0xFF)) + b


def split(buf):  # the whole packets at the front of buf as (type, flags, body), and the rest
    out = []
    while len(buf) >= 2:
        n, shift, i = 0, 0, 1
        while i < len(buf) and buf[i] & 0x80:
            n |= (buf[i] & 0x7F) << shift
            shift += 7
            i += 1
        if i >= len(buf):
            break
        n |= (buf[i] & 0x7F) << shift
        if len(buf) < i + 1 + n:
            break
        out.append((buf[0] >> 4, buf[0] & 0x0F, buf[i + 1:i + 1 + n]))
        buf = buf[i + 1 + n:]
    return out, buf


async def broker(end):
    # The broker and the gateway in one, speaking MQTT here by hand (the keypad's own codec
    # has only the client's side): CONNACK, SUBACK, retained broadcasts, PUBACK, PINGRESP,
    # and an Ack for every signed check-in or vote on the keypad's up topic.
    pid = [100]

    def down(topic, frame, retain=False):
        pid[0] += 1
        body = mstr(topic) + bytes((pid[0] >> 8, pid[0] & 0xFF)) + frame
        end.write(mqtt(0x32 | (1 if retain else 0), body))

    def ack(up):  # the Ack for a signed check-in or vote, by hand (protocol/SPEC.md's layouts)
        kind, i = up[1], 3 + up[2]  # type; after the device id
        counter = up[i:i + 4]
        if kind == 3:  # check-in: ref = sitting id, seat "A-1"
            tail = up[i + 4:i + 8] + b"\x00\x00" + b"\x03A-1"
        else:  # vote: ref = motion id, its round and choices
            n = up[i + 18]
            tail = up[i + 4:i + 9] + up[i + 18:i + 19 + (n + 1) // 2] + b"\x00"
        return bytes((2, 0x41)) + counter + bytes((0, kind)) + tail

    buf = b""
    while True:
        got, buf = split(buf + await end.read(256))
        for kind, flags, body in got:
            if kind == 1:  # CONNECT
                end.write(b"\x20\x02\x00\x00")
            elif kind == 8:  # SUBSCRIBE: grant QoS 1 to each filter
                i, granted = 2, b""
                while i < len(body):
                    i += 2 + (body[i] << 8 | body[i + 1]) + 1
                    granted += b"\x01"
                end.write(mqtt(0x90, body[:2] + granted))
                down(PREFIX + "/hall/sitting", SITTING, True)
            elif kind == 12:  # PINGREQ
                end.write(b"\xd0\x00")
            elif kind == 3:  # PUBLISH
                n = body[0] << 8 | body[1]
                topic, rest = body[2:2 + n].decode(), body[2 + n:]
                if flags & 0x06:
                    end.write(mqtt(0x40, rest[:2]))
                    rest = rest[2:]
                if topic == PREFIX + "/dev/" + DEV + "/up":
                    log["up"] += 1
                    log["acks"] += 1
                    down(PREFIX + "/dev/" + DEV + "/down", ack(rest))


async def opener(host, port, ssl, server_hostname):
    a, b = Pipe(), Pipe()
    asyncio.create_task(broker(End(b, a)))
    e = End(a, b)
    return e, e


async def until(pred, limit_ms=20000):
    t0 = time.ticks_ms()
    while not pred():
        if time.ticks_diff(time.ticks_ms(), t0) > limit_ms:
            raise AssertionError("timed out in state " + kp.state)
        await asyncio.sleep_ms(10)


async def press(name):  # the profile's pins, from the host (the board keeps only the profile's name)
    pin = inp["keys"][name]
    level = 0 if inp["key_active_low"] else 1
    fakehw.edge(pin, level)
    await asyncio.sleep_ms(60)
    fakehw.edge(pin, 1 - level)
    await asyncio.sleep_ms(40)


def settings():  # the config module is for boot only (main.build unloads it): no reference kept here
    from firmware.app import config
    return config.load(None, {"hall": HALL, "device_id": DEV, "ca_file": None, "profile": inp["profile"],
                              "wifi_ssid": "hall", "wifi_password": "secret", "loop_ms": 1})


async def flow():
    global kp, board, app_main
    # built as firmware/app/main.py builds it on the keypad (the ESP32 adapter's board for the
    # config), with the in-memory broker as the MQTT client's connection
    # The boot-only modules are held until the live heap of the built keypad is measured with them
    # still loaded (boot's other high point); then unloaded as main.build and the adapter do.
    held = []
    app_main.unload = adapter.unload = held.append
    r = app_main.build(None, settings(), open_connection=opener, backoff_base=0.05, backoff_cap=0.1)
    kp, board = r.kp, r.kp.board
    out["boot_loaded"] = sorted(k for k in sys.modules if k.startswith("firmware") or k.startswith("protocol"))
    out["built"] = await live()
    app_main.unload = adapter.unload = firmware.unload
    for name in held:
        firmware.unload(name)
    out["unloaded"] = held
    del held
    del app_main  # and firmware.app.main itself, as main.start does on the keypad once built
    firmware.unload("firmware.app.main")
    board.rng = hvhost.urandom  # this port's os.urandom is the host's, through hvhost
    wlan = board.wifi._wlan
    connect = wlan.connect

    def join(ssid, key=None):  # the access point accepts at once
        connect(ssid, key)
        fakehw.WIFI["connected"] = True

    wlan.connect = join
    task = asyncio.create_task(r.run())
    await until(lambda: kp.state == S.IDLE and kp.signer is not None and not kp.signer.pending)
    await until(lambda: kp.signer.public is not None)
    # the median of three samples 0.1 s apart (the keypad's loop running between them): MicroPython's
    # collector is conservative, and a stale pointer left on the stack can keep something just
    # dropped (e.g. the refill overlay, ~10 KB) alive for one sample
    samples = []
    for _ in range(3):
        samples.append(await live())
        await asyncio.sleep_ms(100)
    samples.sort()
    out["after_boot"], out["after_boot_samples"] = samples[1], samples
    out["boot_modules"] = sorted(k for k in sys.modules if k.startswith("firmware") or k.startswith("protocol"))
    # peaks: what one sign and one precompute slice allocate on top of the live heap
    sg = kp.signer
    gc.disable()
    m0 = gc.mem_alloc()
    sg.sign(b"x" * 120)
    out["sign_alloc"] = gc.mem_alloc() - m0
    gc.enable()
    # The refill after that sign, as the keypad's loop does it: the first slice loads the signer's
    # overlay (firmware.refill and firmware.p256, unloaded after boot); "refill" is the live heap
    # while it is loaded (a nonce in progress).  The slice peak is the higher of the live heap after
    # boot plus that first slice (the load) and "refill" plus the heaviest later slice.
    out["idle_modules"] = [k for k in ("firmware.refill", "firmware.p256") if k in sys.modules]
    worst = later = 0
    for i in range(140):
        gc.disable()
        m0 = gc.mem_alloc()
        sg.precompute_slice()
        grew = gc.mem_alloc() - m0
        gc.enable()
        worst = max(worst, grew)
        if i:
            later = max(later, grew)
        else:
            out["refill_modules"] = [k for k in ("firmware.refill", "firmware.p256") if k in sys.modules]
            out["load_alloc"] = grew
        if i < 16:  # the least of several: the keypad's own loop (refilling too) may have left a slice's garbage
            now = await live()
            out["refill_live"] = min(out.get("refill_live", now), now)
        else:
            await hvhost.collect()
    out["slice_alloc"] = worst
    out["later_alloc"] = later
    out["slice_peak"] = max(out["after_boot"] + out["load_alloc"], out["refill_live"] + later)
    out["refilled_modules"] = [k for k in ("firmware.refill", "firmware.p256") if k in sys.modules]
    await press("checkin")
    await until(lambda: kp.checked_in and kp.state == S.CHECKED_IN)
    kp.on_message(PREFIX + "/hall/motion", MOTION)
    await until(lambda: kp.state == S.MOTION_OPEN)
    await press("yes")
    await until(lambda: kp.state == S.RECORDED)
    out["after_vote"] = await live()
    out["state"] = kp.state
    out["log"] = log
    out["faults"] = board.faults
    r.request_stop()
    await asyncio.sleep_ms(50)


await asyncio.create_task(flow())
out["modules"] = sorted(k for k in sys.modules if k.startswith("firmware") or k.startswith("protocol"))
hvhost.result(out)
'''


IMPORTS = r'''
import sys
sys.path.insert(0, "/lib/mpstubs")
import gc, hvhost, asyncio, time, micropython
import fakehw, machine, network, esp32
await hvhost.collect()
micropython.qstr_info()  # prints "qstr pool: ... n_total_bytes=N": interned names before the imports
out = []
prev = gc.mem_alloc()
order = hvhost.load_input()["order"]
for name in order:
    __import__(name)
    for other in list(sys.modules):  # a boot-only module it imports is unloaded, as on the keypad
        if other.split(".")[0] in ("firmware", "protocol") and other not in order:
            sys.modules["firmware"].unload(other)
    await hvhost.collect()
    now = gc.mem_alloc()
    out.append([name, now - prev])
    prev = now
micropython.qstr_info()  # and after them
hvhost.result(out)
'''


# The broadcasts the in-memory gateway sends (encoded here, by the gateway's codec).
SITTING = frames.SittingState(7, consts.SITTING_CHECKIN_OPEN, b"sit-0007", 5, 0, 1795200000)
MOTION = frames.MotionOpen(
    3, 1, b"round-31", consts.YES_NO_ABSTAIN, 1, 0x0E, consts.LAST_PRESS, 0, consts.ALL_ITEMS, 1795200100, 0
)


def _source(module: str) -> Path | None:
    base = REPO / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(module: str, known: set[str]) -> list[str]:
    """The modules of ``known`` that ``module`` imports at its top level (its package first)."""
    found = [module.rpartition(".")[0]] if "." in module else []
    path = _source(module)
    if path is None:
        return [m for m in found if m in known]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package
                for _ in range(node.level - 1):
                    parent = parent.rpartition(".")[0]
                base = parent + ("." + base if base else "")
            found.append(base)
            found += [base + "." + a.name for a in node.names]
    return [m for m in found if m in known and m != module]


def import_order(modules: list[str]) -> list[str]:
    """``modules`` ordered so that each comes after what it imports (generated modules last)."""
    known = set(modules)
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in _imports(name, known):
            visit(dep)
        order.append(name)

    for name in sorted(modules):
        visit(name)
    return order


def _stub_folder(tmp: Path) -> Path:
    folder = tmp / "mpstubs"
    shutil.copytree(STUBS / "mpstubs", folder)
    shutil.copyfile(STUBS / "fakehw.py", folder / "fakehw.py")
    return folder


def measure(profile: str, *, modules: bool = False) -> dict[str, Any]:
    """Build ``profile`` as shipped and run the flow; the figures in bytes.

    With ``modules``, also ``per_module``: ``[name, bytes]`` for each module
    loaded after boot, in import order (see the module docstring).
    """
    from firmware.hal import profiles
    from gateway.firmware_image import build

    p = profiles.PROFILES[profile]
    module = p["module"]
    with tempfile.TemporaryDirectory(prefix="hv-heap-") as tmp_name:
        tmp = Path(tmp_name)
        manifest = build.build(tmp / "fw", profile)
        folders = (tmp / "fw" / "firmware", tmp / "fw" / "protocol", _stub_folder(tmp))
        raw: dict[str, Any] = mp.run_json(
            FLOW,
            folders=folders,
            compiled=True,
            input_data={
                "profile": profile,
                "keys": p["keys"],
                "key_active_low": p.get("key_active_low", True),
                "chip": profiles.MODULES[module]["chip"],
                "cs": (p.get("card") or {}).get("cs", 5),
                "sitting": codec.encode(SITTING).hex(),
                "motion": codec.encode(MOTION).hex(),
            },
            name="heap_flow.py",
            timeout=600,
        )
        if modules:
            run = mp.run(
                IMPORTS,
                folders=folders,
                compiled=True,
                input_data={"order": import_order(raw["boot_modules"])},
                name="heap_imports.py",
                timeout=600,
            )
            raw["per_module"] = run.json()
            pools = [int(m) for m in re.findall(r"qstr pool:.*n_total_bytes=(\d+)", run.stdout)]
            raw["qstr_bytes"] = pools[-1] - pools[0]
    raw["profile"] = profile
    raw["module"] = module
    raw["budget"] = BUDGET[module]
    raw["flash_bytes"] = manifest.total_size
    raw["peak_sign"] = raw["after_boot"] + raw["sign_alloc"]
    raw["peak_slice"] = raw["slice_peak"]
    return raw


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'profile':18} {'module':15} {'after boot':>10} {'budget':>7} {'after vote':>10} "
          f"{'built':>9} {'peak sign':>9} {'peak slice':>10} {'refill':>8} {'flash':>7}")  # fmt: skip
    for r in rows:
        verdict = "meets" if r["after_boot"] <= r["budget"] else "OVER"
        print(f"{r['profile']:18} {r['module']:15} {r['after_boot']:10,} {r['budget']:7,} {r['after_vote']:10,} "
              f"{r['built']:9,} {r['peak_sign']:9,} {r['peak_slice']:10,} {r['refill_live']:8,} "
              f"{r['flash_bytes']:7,}  {verdict}")  # fmt: skip


def print_modules(rows: list[dict[str, Any]]) -> None:
    """Per module, what its import added to the live heap, one column per profile."""
    names: list[str] = []
    for r in rows:
        names += [n for n, _ in r["per_module"] if n not in names]
    cells = [dict(r["per_module"]) for r in rows]
    print(f"{'module':28}" + "".join(f" {r['profile']:>16}" for r in rows))
    for name in names:
        print(f"{name:28}" + "".join(f" {c[name]:16,}" if name in c else f" {'-':>16}" for c in cells))
    print(f"{'all imports':28}" + "".join(f" {sum(c.values()):16,}" for c in cells))
    print(f"{'objects at run time':28}" + "".join(
        f" {r['after_boot'] - sum(c.values()):16,}" for r, c in zip(rows, cells, strict=True)))  # fmt: skip
    print(f"{'live after boot':28}" + "".join(f" {r['after_boot']:16,}" for r in rows))
    print(f"{'  of the imports: qstrs':28}" + "".join(f" {r['qstr_bytes']:16,}" for r in rows))


def main(argv: list[str] | None = None) -> int:
    from firmware.hal import profiles

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", action="append", choices=profiles.names())
    ap.add_argument("--json-file")
    ap.add_argument("--modules", action="store_true", help="also what each module's import adds to the heap")
    args = ap.parse_args(argv)
    reason = mp.node_available()
    if reason is not None:
        print(f"MicroPython WebAssembly port unavailable: {reason}", file=sys.stderr)
        return 2
    rows = [measure(name, modules=args.modules) for name in (args.profile or profiles.names())]
    print_table(rows)
    if args.modules:
        print()
        print_modules(rows)
    if args.json_file:
        with open(args.json_file, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
