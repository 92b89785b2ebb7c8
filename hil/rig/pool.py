"""The rig's keypads split over worker processes: :class:`FleetPool`, the same verbs as a :class:`Fleet`.

``FleetPool(k, host, port, seed)`` starts ``k`` worker processes
(:mod:`hil.rig.worker`, multiprocessing with the spawn method), each with
its own asyncio loop, impairment proxy and share of the keypads (dealt in
turn as they are added; a swapped-in spare joins its failed keypad's
worker).  ``keypads`` maps each device to its :class:`KeypadMirror`, kept
up to date by one reader thread per worker from the snapshots it pushes.

Verbs that return at once on a Fleet (``press``, ``cut_wifi``,
``partition``, ``stall``) return once sent; the others wait for every
worker involved.  A worker that dies, a verb that fails in a worker, or an
answer that does not come in time is a :class:`RigError` naming the
worker (its pid and exit code): raised by the verb waiting, else by the
next :meth:`check` (which :meth:`hil.rig.base.HallRig.wait` calls while it
waits), never a hang.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.process import BaseProcess
from typing import Any

from hil.rig.base import RigError
from hil.rig.keypads import KeypadSpec
from hil.rig.mirror import KeypadMirror
from hil.rig.worker import main as worker_main

__all__ = ["FleetPool"]

START_S = 60.0  # a worker process ready (Python started, modules imported)
CALL_S = 120.0  # a verb answered (booting keypads waits longer: ADD_S)
ADD_S = 900.0


class _Worker:
    def __init__(self, pool: FleetPool, index: int, host: str, port: int, seed: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.index = index
        self.pool = pool
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc: BaseProcess = ctx.Process(
            target=worker_main, args=(child, index, host, port, seed), name=f"hil-keypads-{index}", daemon=True
        )
        self.proc.start()
        child.close()
        self.send_lock = threading.Lock()
        self.pending: dict[int, Future[Any]] = {}
        self.ready: Future[int] = Future()
        self.dead: str | None = None
        self.devices: list[str] = []
        self.reader = threading.Thread(target=self._read, name=f"hil-pool-{index}", daemon=True)
        self.reader.start()

    def name(self) -> str:
        first = f", keypads {self.devices[0]}..{self.devices[-1]}" if self.devices else ""
        return f"keypad worker {self.index} (pid {self.proc.pid}{first})"

    def _read(self) -> None:
        mirrors = self.pool.keypads
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                break
            kind = msg[0]
            if kind == "snap":
                for dev, (snap, sent) in msg[1].items():
                    m = mirrors.get(dev)
                    if m is not None:
                        m.update(snap, sent)
            elif kind == "reply":
                _, cid, ok, result = msg
                fut = self.pending.pop(cid, None)
                if fut is not None:
                    if ok:
                        fut.set_result(result)
                    else:
                        fut.set_exception(RigError(f"{self.name()}: {result}"))
            elif kind == "failed":
                _, cid, verb, reason = msg
                self.pool.failures.append(f"{self.name()}: {verb} failed: {reason}")
            elif kind == "ready":
                self.ready.set_result(int(msg[1]))
        self.proc.join(2)
        error = RigError(f"{self.name()} exited (exit code {self.proc.exitcode})")
        if not self.pool.closing:
            self.dead = str(error)
        for fut in list(self.pending.values()):
            if not fut.done():
                fut.set_exception(error)
        self.pending.clear()
        if not self.ready.done():
            self.ready.set_exception(error)

    def send(self, kind: str, verb: str, args: tuple[Any, ...]) -> Future[Any]:
        fut: Future[Any] = Future()
        if self.dead is not None:
            raise RigError(self.dead)
        cid = next(self.pool.ids)
        if kind == "call":
            self.pending[cid] = fut
        try:
            with self.send_lock:
                self.conn.send((kind, cid, verb, args))
        except (OSError, ValueError) as e:
            self.pending.pop(cid, None)
            raise RigError(f"{self.name()}: cannot reach it ({e})") from e
        if kind != "call":
            fut.set_result(None)
        return fut


class FleetPool:
    """K keypad worker processes behind the verbs of one :class:`hil.rig.keypads.Fleet`."""

    def __init__(self, processes: int, host: str, port: int, seed: int) -> None:
        self.keypads: dict[str, KeypadMirror] = {}
        self.failures: list[str] = []  # cast verbs that failed in a worker
        self.closing = False
        self.ids = itertools.count(1)
        self.workers: list[_Worker] = []
        try:
            for i in range(processes):
                self.workers.append(_Worker(self, i, host, port, seed + i))
            for w in self.workers:
                self._result(w, w.ready, "start", START_S)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ plumbing

    def _result(self, w: _Worker, fut: Future[Any], verb: str, timeout: float) -> Any:
        try:
            return fut.result(timeout)
        except FutureTimeout:
            raise RigError(f"{w.name()}: no answer to {verb} within {timeout:.0f} s") from None

    def _call(self, verb: str, per_worker: dict[int, tuple[Any, ...]], timeout: float = CALL_S) -> list[Any]:
        self.check()
        sent = [(self.workers[i], self.workers[i].send("call", verb, args)) for i, args in per_worker.items()]
        return [self._result(w, fut, verb, timeout) for w, fut in sent]

    def _by_worker(self, devs: Iterable[str]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for d in devs:
            out.setdefault(self.keypads[d].worker, []).append(d)
        return out

    def check(self) -> None:
        """RigError if a worker died or a verb sent without waiting failed there."""
        for w in self.workers:
            if w.dead is not None:
                raise RigError(w.dead)
        if self.failures:
            raise RigError("; ".join(self.failures[:5]))

    # ------------------------------------------------------------ the Fleet verbs

    def add(self, specs: Iterable[KeypadSpec], near: str | None = None) -> None:
        """Boot keypads: dealt over the workers in turn (``near``: all on that keypad's worker)."""
        shares: dict[int, list[KeypadSpec]] = {}
        for spec in specs:
            i = self.keypads[near].worker if near is not None else len(self.keypads) % len(self.workers)
            self.keypads[spec.device_id] = KeypadMirror(spec.device_id, i)
            self.workers[i].devices.append(spec.device_id)
            shares.setdefault(i, []).append(spec)
        self._call("add", {i: (share,) for i, share in shares.items()}, ADD_S)

    def _cast(self, i: int, verb: str, args: tuple[Any, ...]) -> None:
        self.check()
        self.workers[i].send("cast", verb, args)

    def press(self, dev: str, keys: Iterable[str]) -> None:
        m = self.keypads[dev]
        self._cast(m.worker, "press", (dev, list(keys), m.pressed + 1, False))
        m.pressed += 1

    def power_cycle(self, devs: Iterable[str], off_s: float) -> None:
        self._call("power_cycle", {i: (ds, off_s) for i, ds in self._by_worker(devs).items()})

    def cut_wifi(self, devs: Iterable[str], seconds: float) -> None:
        for i, ds in self._by_worker(devs).items():
            self._cast(i, "cut_wifi", (ds, seconds))

    def partition(self, devs: Iterable[str], seconds: float) -> None:
        for i, ds in self._by_worker(devs).items():
            self._cast(i, "partition", (ds, seconds))

    def stall(self, devs: Iterable[str], seconds: float) -> None:
        for i, ds in self._by_worker(devs).items():
            self._cast(i, "stall", (ds, seconds))

    def impair(self, devs: Iterable[str], latency_ms: float, jitter_ms: float) -> None:
        self._call("impair", {i: (ds, latency_ms, jitter_ms) for i, ds in self._by_worker(devs).items()})

    def halt(self, dev: str) -> None:
        self._call("halt", {self.keypads[dev].worker: (dev,)})

    def link(self, dev: str) -> dict[str, int]:
        out: dict[str, int] = self._call("link", {self.keypads[dev].worker: (dev,)})[0]
        return out

    def sync(self) -> None:
        """Returns once every worker has pushed the snapshots of everything it did before."""
        self._call("sync", {i: () for i in range(len(self.workers))})

    def pids(self) -> list[int]:
        return [int(w.proc.pid or 0) for w in self.workers]

    def close(self) -> None:
        self.closing = True
        for w in self.workers:
            if w.dead is None:
                with contextlib.suppress(RigError):
                    self._result(w, w.send("call", "close", ()), "close", 60)
        for w in self.workers:
            w.proc.join(10)
            if w.proc.is_alive():
                w.proc.terminate()
                w.proc.join(5)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(5)
            w.conn.close()
