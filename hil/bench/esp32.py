"""The signer's timing on an ESP32, estimated from MicroPython's own benchmark scores.

    python -m hil.bench.esp32 [--nonces N] [--json-file PATH]

No ESP32 is attached here, so device times are scaled from the MicroPython
WebAssembly port, with a factor measured, not guessed: the same big-integer
workload as MicroPython's ``tests/perf_bench/bm_pidigits.py`` (the unbounded
spigot for the digits of pi, 65 digits, one loop: the parameters
``run-perfbench.py`` picks for ``N=100 M=100``), written out again below,
is timed here and compared with the score published for an ESP32.

The published figure: MicroPython commit 549448e8 ("esp32: Enable
optimisations and move code to iRAM", 2021, the build options the ESP32
port still uses) gives ``bm_pidigits.py`` a score of 664.40 at N=100 M=100
on a TinyPICO (ESP32, 160 MHz), and states that this test scales with the
CPU clock (+50 % at 240 MHz).  A score is ``1e6 * 65 / time_us``, so an
ESP32 at 240 MHz takes 65e6 / (664.40 * 1.5) = 65.2 ms for the workload.
``scale = 65.2 ms / (time here)`` multiplies every signer figure measured
here.  Big-integer arithmetic is what the signer's slices spend their time
in, so this is the matching workload; the instruction-count estimate in
docs/performance.md is kept beside it for comparison.

Measured on the WebAssembly port (mpy-cross output, as shipped): every
precompute step alone (``steps_per_slice=1``) by kind, the slice the
signer's default does, one whole nonce, a sign with a pooled nonce, and the
public key computed in slices.  No ``gc.collect()`` between steps: on
this port a requested collection runs at the next call into JavaScript
(the random source), which would land inside a step.  Medians are the
estimate; p99 and max on a shared host include preemption.  Reported,
never asserted: it is a measuring tool.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hil import micropython as mp

ESP32_PIDIGITS_SCORE = 664.40  # N=100 M=100, 160 MHz (MicroPython commit 549448e8)
ESP32_SCORE_MHZ = 160
ESP32_MHZ = 240
PIDIGITS = 65  # digits for N=100 M=100
ESP32_PIDIGITS_MS = 1e3 * PIDIGITS / (ESP32_PIDIGITS_SCORE * ESP32_MHZ / ESP32_SCORE_MHZ)
TARGET_SLICE_MS = 5.0

BODY = r"""
import gc, hashlib, hvhost
import firmware
from firmware import signer

now = hvhost.perf_us


def pi_digits(count):
    # Gibbons' unbounded spigot: a 2x2 integer matrix (q r; s t) folded with
    # (k, 4k+2; 0, 2k+1) until floor((3q+r)/(3s+t)) == floor((4q+r)/(4s+t)).
    q, r, s, t = 1, 0, 0, 1
    k = 1
    out = []
    while len(out) < count:
        d = (q * 3 + r) // (s * 3 + t)
        if d == (q * 4 + r) // (s * 4 + t):
            out.append(d)
            q, r, s, t = 10 * q, 10 * (r - d * t), s, t
        else:
            q, r, s, t = q * k, q * (4 * k + 2) + r * (2 * k + 1), s * k, s * (4 * k + 2) + t * (2 * k + 1)
            k += 1
    return out


inp = hvhost.load_input()
out = {}
runs = []
for _ in range(7):
    gc.collect()
    a = now()
    digits = pi_digits(inp["digits"])
    runs.append(now() - a)
out["pidigits_us"] = runs
out["pidigits_ok"] = "".join(str(d) for d in digits[:10]) == "3141592653"


secret = bytes(range(1, 33))
_ctr = [0]


def local_rng(n):
    # Distinct bytes without calling into JavaScript (where this port runs its pending
    # garbage collection, which would land inside the step being timed).
    _ctr[0] += 1
    return hashlib.sha256(b"bench%d" % _ctr[0]).digest()[:n]


# The signer's overlay (firmware.refill and firmware.p256): loaded by the first slice of every
# refill once the keypad's pool was full and it was unloaded; timed alone, from the .mpy files.
# Left loaded, so the first step timed below is a step; sg2's first slice loads it again.
overlay = []
for _ in range(7):
    for name in ("firmware.refill", "firmware.p256"):
        firmware.unload(name)
    gc.collect()
    a = now()
    from firmware import refill  # noqa: E402,F401
    overlay.append(now() - a)
    del refill
out["overlay_load_us"] = overlay

sg = signer.Signer(secret, local_rng, pool_size=inp["nonces"], steps_per_slice=1)
kinds = {}
order = []
nonce_us = 0
while sg.pending:
    job = sg._job
    phase = job._phase if job is not None else 0
    a = now()
    sg.precompute_slice()
    dt = now() - a
    nonce_us += dt
    kinds.setdefault(phase, []).append(dt)
    order.append([phase, dt, sg.last_slice_work])
out["step_us_by_phase"] = kinds
out["nonce_us"] = nonce_us / inp["nonces"]

sg2 = signer.Signer(secret, local_rng, pool_size=inp["nonces"])
slices = []
while sg2.pending:
    a = now()
    sg2.precompute_slice()
    slices.append(now() - a)
out["default_steps"] = sg2.steps_per_slice
out["default_slice_us"] = slices
signs = []
for i in range(inp["nonces"]):
    a = now()
    sg2.sign(b"frame %d" % i)
    signs.append(now() - a)
out["sign_us"] = signs

job = signer.PublicKeyJob(secret)
pk = []
while job.pending:
    a = now()
    job.step()
    pk.append(now() - a)
out["public_key_slices_us"] = pk
out["public_key_ok"] = job.result() == signer.public_key_sec1(secret)
a = now()
signer.public_key_sec1(secret)
out["public_key_whole_us"] = now() - a
hvhost.result(out)
"""


def measure(nonces: int) -> dict[str, Any]:
    raw: dict[str, Any] = mp.run_json(
        BODY,
        input_data={"digits": PIDIGITS, "nonces": nonces},
        compiled=True,
        name="bench_esp32.py",
        timeout=1800,
    )
    raw["nonces"] = nonces
    return raw


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return float(ordered[int(rank) - 1])


PHASES = {
    "0": "derive k (2 x SHA-256, 512-bit reduction)",
    "1": "comb column (doubling + mixed addition)",
    "2": "start field inversion",
    "3": "field-inversion step",
    "4": "r, start scalar inversion",
    "5": "scalar-inversion step",
    "6": "finish (r*d mod n)",
}


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    here_ms = min(raw["pidigits_us"]) / 1000
    scale = ESP32_PIDIGITS_MS / here_ms
    steps = {}
    nonce_median = 0.0
    for phase, values in sorted(raw["step_us_by_phase"].items()):
        med = _pct(values, 50) / 1000
        p99 = _pct(values, 99) / 1000
        steps[phase] = {
            "what": PHASES.get(phase, phase),
            "count": len(values),
            "median_ms": med,
            "p99_ms": p99,
            "max_ms": max(values) / 1000,
            "esp32_median_ms": med * scale,
            "esp32_p99_ms": p99 * scale,
        }
        nonce_median += med * len(values)
    nonce_median /= raw["nonces"]
    heaviest_step = max(s["median_ms"] for s in steps.values())  # the work; p99/max carry host preemption
    default = raw["default_slice_us"]
    report = {
        "pidigits_ms_here": here_ms,
        "pidigits_ms_esp32": ESP32_PIDIGITS_MS,
        "scale": scale,
        "pidigits_ok": raw["pidigits_ok"],
        "steps": steps,
        "heaviest_step_ms": heaviest_step,
        "heaviest_step_esp32_ms": heaviest_step * scale,
        "default_steps_per_slice": raw["default_steps"],
        "nonce_median_sum_ms": nonce_median,
        "nonce_median_sum_esp32_ms": nonce_median * scale,
        "default_slice_median_ms": _pct(default, 50) / 1000,
        "default_slice_p99_ms": _pct(default, 99) / 1000,
        "default_slice_esp32_p99_ms": _pct(default, 99) / 1000 * scale,
        "default_slice_max_ms": max(default) / 1000,
        "default_slice_esp32_max_ms": max(default) / 1000 * scale,
        "nonce_ms": raw["nonce_us"] / 1000,
        "nonce_esp32_ms": raw["nonce_us"] / 1000 * scale,
        "sign_median_ms": _pct(raw["sign_us"], 50) / 1000,
        "sign_esp32_median_ms": _pct(raw["sign_us"], 50) / 1000 * scale,
        "sign_max_ms": max(raw["sign_us"]) / 1000,
        "sign_esp32_max_ms": max(raw["sign_us"]) / 1000 * scale,
        "public_key_whole_ms": raw["public_key_whole_us"] / 1000,
        "public_key_whole_esp32_ms": raw["public_key_whole_us"] / 1000 * scale,
        "public_key_slices": len(raw["public_key_slices_us"]),
        "public_key_slice_median_esp32_ms": _pct(raw["public_key_slices_us"], 50) / 1000 * scale,
        "public_key_slice_max_esp32_ms": max(raw["public_key_slices_us"]) / 1000 * scale,
        "public_key_ok": raw["public_key_ok"],
        "overlay_load_median_ms": _pct(raw["overlay_load_us"], 50) / 1000,
        "overlay_load_esp32_median_ms": _pct(raw["overlay_load_us"], 50) / 1000 * scale,
        "overlay_load_max_ms": max(raw["overlay_load_us"]) / 1000,
    }
    return report


def print_report(r: dict[str, Any]) -> None:
    print(f"pi digits (65, bm_pidigits N=100 M=100): {r['pidigits_ms_here']:.2f} ms here, "
          f"{r['pidigits_ms_esp32']:.1f} ms on an ESP32 at 240 MHz: scale x{r['scale']:.1f}")  # fmt: skip
    print(
        f"{'step':44} {'n':>5} {'median':>8} {'p99':>7} {'max':>7}   {'ESP32 median':>12} {'ESP32 p99':>9}  (ms)"
    )
    for phase, s in r["steps"].items():
        print(f"{phase} {s['what']:42} {s['count']:5d} {s['median_ms']:8.3f} {s['p99_ms']:7.3f} {s['max_ms']:7.3f}"
              f"   {s['esp32_median_ms']:12.2f} {s['esp32_p99_ms']:9.2f}")  # fmt: skip
    print(f"heaviest step kind (median): {r['heaviest_step_ms']:.3f} ms here, {r['heaviest_step_esp32_ms']:.2f} ms ESP32 "
          f"(target <= {TARGET_SLICE_MS} ms)")  # fmt: skip
    print(f"default slice ({r['default_steps_per_slice']} step(s)): median {r['default_slice_median_ms']:.3f} / "
          f"p99 {r['default_slice_p99_ms']:.3f} / max {r['default_slice_max_ms']:.3f} ms here; "
          f"p99 {r['default_slice_esp32_p99_ms']:.2f} ms ESP32")  # fmt: skip
    print(f"one nonce (sum of step medians): {r['nonce_median_sum_ms']:.2f} ms here, "
          f"{r['nonce_median_sum_esp32_ms']:.0f} ms ESP32; measured with host noise {r['nonce_ms']:.2f} ms here")  # fmt: skip
    print(f"sign (pooled nonce): median {r['sign_median_ms']:.3f} ms here = {r['sign_esp32_median_ms']:.2f} ms ESP32; "
          f"max {r['sign_max_ms']:.3f} ms here")  # fmt: skip
    print(f"public key: whole {r['public_key_whole_ms']:.2f} ms here = {r['public_key_whole_esp32_ms']:.0f} ms ESP32; "
          f"sliced: {r['public_key_slices']} slices, median {r['public_key_slice_median_esp32_ms']:.2f} ms ESP32")  # fmt: skip
    print(f"signer overlay load (firmware.refill + firmware.p256, once per refill): median "
          f"{r['overlay_load_median_ms']:.2f} ms here (max {r['overlay_load_max_ms']:.2f}) = "
          f"{r['overlay_load_esp32_median_ms']:.1f} ms ESP32 by the same scale (an import is also flash reads "
          f"and allocation, not big-integer work: a rough figure)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nonces", type=int, default=8)
    ap.add_argument("--json-file")
    args = ap.parse_args(argv)
    reason = mp.node_available()
    if reason is not None:
        print(f"MicroPython WebAssembly port unavailable: {reason}", file=sys.stderr)
        return 2
    report = summarise(measure(args.nonces))
    print_report(report)
    if args.json_file:
        with open(args.json_file, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
