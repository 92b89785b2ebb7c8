"""Pruning ``accepted_frame``: a keypad's frames below its replay window are never consulted again.

A counter at or below ``highest - 256`` is refused ``STALE_COUNTER`` before the store is asked, so
its row only grows the table.  :class:`FramePruner` deletes them a slice of keypads at a time, once a
keypad's window has moved on by :data:`PRUNE_STEP` counters since its last pruning, so the table
holds at most the last 256 + 64 counters per keypad instead of a day of heartbeats.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, bindparam, delete

from gateway.store import tables as t

__all__ = ["PRUNE_DEVICES", "PRUNE_STEP", "FramePruner"]

PRUNE_DEVICES = 500
"""Keypads whose frames below the replay window are pruned per tick."""
PRUNE_STEP = 64
"""A keypad's old frames are pruned once its window has moved on by this many counters."""

_DELETE = delete(t.accepted).where(
    t.accepted.c.device_id == bindparam("dev"), t.accepted.c.counter <= bindparam("floor")
)


class FramePruner:
    def __init__(self) -> None:
        self._pruned: dict[str, int] = {}  # device -> counter floor its old frames were pruned to

    def due(self, floors: Mapping[str, int], devices: int = PRUNE_DEVICES) -> list[tuple[str, int]]:
        """Of each keypad's window floor (``highest - 256``), up to ``devices`` that moved on enough."""
        ready = [(d, f) for d, f in floors.items() if f >= self._pruned.get(d, 0) + PRUNE_STEP]
        return sorted(ready)[:devices]

    def prune(self, conn: Connection, chunk: list[tuple[str, int]]) -> int:
        """Delete the frames of ``chunk`` at or below their floors (in the caller's transaction)."""
        deleted = conn.execute(_DELETE, [{"dev": d, "floor": f} for d, f in chunk]).rowcount
        return max(deleted, 0)

    def done(self, chunk: list[tuple[str, int]]) -> None:
        """The caller committed the deletion of ``chunk``."""
        self._pruned.update(chunk)
