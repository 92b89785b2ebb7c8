"""Host helpers for scripts run by ``hil/micropython/runner.mjs``.

This module runs *inside* MicroPython (the WebAssembly port); the runner
copies it to ``/lib/hvhost.py``.  It is not importable on CPython.

- ``urandom(n)``: ``n`` random bytes from the host (Node's crypto.randomBytes).
  The port has no ``os.urandom``; device code takes ``rng`` as a parameter,
  so pass ``hvhost.urandom`` where the ESP32 would pass ``os.urandom``.
- ``result(obj)``: print the one ``@@RESULT <json>`` line that
  ``hil.micropython.run_json`` parses.
- ``load_input()`` / ``data(name)``: what the caller passed as ``input=`` /
  ``data=`` (files under ``/data``).
- ``perf_us()``: a microsecond clock with sub-millisecond resolution
  (``time.ticks_us`` in this port only advances in whole milliseconds).
- ``await collect()``: a real garbage collection.  This port only collects
  when control returns to JavaScript, so ``gc.collect()`` alone is a request;
  awaiting this yields to the host once so the collection actually happens,
  after JavaScript's own collector has let go of the Python objects it held
  (the runner starts Node with ``--expose-gc``).
"""

import gc
import json

import js

DATA_DIR = "/data"
RESULT_MARK = "@@RESULT "

_now = js.performance.now


def urandom(n):
    if n < 0:
        raise ValueError("negative length")
    if n == 0:
        return b""
    return bytes(js.hvEntropy(n))


def result(obj):
    print(RESULT_MARK + json.dumps(obj))


def data(name):
    with open(DATA_DIR + "/" + name, "rb") as f:
        return f.read()


def load_input():
    with open(DATA_DIR + "/input.json") as f:
        return json.load(f)


def perf_us():
    return _now() * 1000.0


async def collect():
    gc.collect()
    await js.hvYield()
