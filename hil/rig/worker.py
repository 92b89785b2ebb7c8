"""A keypad worker process: one :class:`hil.rig.keypads.Fleet` for its share of the rig's keypads.

Started by :class:`hil.rig.pool.FleetPool` (multiprocessing, spawn) with
one end of a pipe.  Messages from the rig: ``("call", id, verb, args)``
(answered ``("reply", id, ok, result)`` after the snapshots of every
keypad that changed) and ``("cast", id, verb, args)`` (no answer unless it
fails: ``("failed", id, verb, reason)``; presses are cast).  Every
``PUSH_S`` the worker sends ``("snap", {device: (Snapshot, new sent
frames)})`` for the keypads whose view changed.  ``close`` stops the
fleet and ends the process; so does the rig's end of the pipe closing
(the rig process is gone), so a worker never outlives its rig.
"""

from __future__ import annotations

import os
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from hil.rig.keypads import Fleet
from hil.rig.mirror import Snapshot

__all__ = ["PUSH_S", "VERBS", "main"]

PUSH_S = 0.1  # how often changed keypads' snapshots are pushed to the rig
VERBS = ("add", "press", "power_cycle", "cut_wifi", "partition", "stall", "impair", "halt", "link", "sync")


def main(conn: Connection, index: int, host: str, port: int, seed: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the rig's to handle: it closes the workers
    fleet = Fleet()
    fleet.listen(host, port, seed)
    lock = threading.Lock()  # one message at a time on the pipe; snapshots before the reply they precede
    since: dict[str, tuple[Snapshot, int]] = {}
    stop = threading.Event()

    def push() -> None:
        with lock:
            changed = fleet.snapshots(since)
            if changed:
                conn.send(("snap", changed))

    def pusher() -> None:
        while not stop.wait(PUSH_S):
            try:
                push()
            except (OSError, ValueError, RuntimeError):  # the pipe or the loop is closing
                return

    threading.Thread(target=pusher, name=f"hil-worker-{index}-push", daemon=True).start()
    conn.send(("ready", os.getpid()))
    try:
        while True:
            try:
                kind, cid, verb, args = conn.recv()
            except (EOFError, OSError):  # the rig is gone
                return
            if verb == "close":
                stop.set()
                with lock:
                    fleet.close()
                    conn.send(("reply", cid, True, None))
                return
            try:
                if verb not in VERBS:
                    raise ValueError(f"unknown verb {verb!r}")
                result: Any = None if verb == "sync" else getattr(fleet, verb)(*args)
                ok = True
            except Exception as e:  # reported to the rig, which raises RigError
                result, ok = f"{type(e).__name__}: {e}", False
            if kind == "call":
                push()
                with lock:
                    conn.send(("reply", cid, ok, result))
            elif not ok:
                with lock:
                    conn.send(("failed", cid, verb, result))
    finally:
        stop.set()
