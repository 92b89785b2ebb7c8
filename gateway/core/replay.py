"""Per-keypad replay windows: which counters a keypad used, in about 4 KB per keypad.

Rules (protocol/SPEC.md section 4, Replay):

* ``highest`` is the highest accepted counter; a counter at or below
  ``highest - WINDOW`` is stale.
* Every counter accepted inside the window has its bit in ``seen`` (slot
  ``counter % WINDOW``) and the first ``DIGEST`` bytes of the SHA-256 of its
  wire frame in ``digests`` at that slot, so an exact retransmission is told
  from another frame with the same counter.  A slot's bit in ``blind`` means
  its digest was erased (a secret round's vote): any frame with that counter
  is a repeat.
* The first answer (:class:`Accepted`) is kept whole only for the ``KEEP``
  most recent check-ins and votes, the most a keypad's outbox holds and so
  the most it can still retransmit; a hello or status re-ack needs only the
  frame's own type and counter.  A check-in or vote whose whole answer was
  dropped is re-acked from the frame itself, as after a restart.  A secret
  round's vote leaves its digest with its whole answer (``secret``: blind at
  once when dropped).

Copy on write: :meth:`ReplayWindow.copy` is one 4 KB byte copy plus at most
``KEEP`` dict entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol import consts

__all__ = ["DIGEST", "FRESH", "KEEP", "REPEAT", "STALE", "WINDOW", "Accepted", "ReplayWindow"]

# How many counters below the highest are remembered per device.  Frames may
# arrive out of order (a vote retransmitted after a heartbeat); a counter inside
# the window that was never accepted is still fresh.
WINDOW = 256
KEEP = 16  # the firmware's outbox_max is at most 16 (docs/firmware.md)
DIGEST = 16  # bytes of SHA-256 kept per counter

FRESH, STALE, REPEAT = 0, 1, 2

_FULL = (1 << WINDOW) - 1
_HELD = (consts.CHECK_IN, consts.VOTE)
_ZERO = bytes(DIGEST)


@dataclass(frozen=True, slots=True)
class Accepted:
    """What the gateway answered to an accepted uplink frame, to re-ack a retransmission.

    ``digest`` is SHA-256 of the whole wire frame (signature included); it is
    None for frames of a secret round once the round has closed.
    """

    counter: int
    frame_type: int
    digest: bytes | None
    reason: int
    ref_id: int = 0
    round: int = 0
    choices: tuple[int, ...] = ()
    seat: str = ""


def _new_ring() -> bytearray:
    return bytearray(WINDOW * DIGEST)


@dataclass(slots=True)
class ReplayWindow:
    highest: int = 0
    seen: int = 0
    blind: int = 0
    secret: int = 0
    digests: bytearray = field(default_factory=_new_ring, repr=False)
    records: dict[int, Accepted] = field(default_factory=dict)

    def copy(self) -> ReplayWindow:
        return ReplayWindow(
            self.highest, self.seen, self.blind, self.secret, self.digests[:], dict(self.records)
        )

    def check(self, counter: int, digest: bytes) -> int:
        """FRESH, STALE (too old, or its counter used by another frame) or REPEAT (re-ack)."""
        if counter > self.highest:
            return FRESH
        if counter <= self.highest - WINDOW:
            return STALE
        slot = counter % WINDOW
        bit = 1 << slot
        if not self.seen & bit:
            return FRESH
        if self.blind & bit:
            return REPEAT
        at = slot * DIGEST
        return REPEAT if self.digests[at : at + DIGEST] == digest[:DIGEST] else STALE

    def exact(self, counter: int, digest: bytes) -> bool:
        """True when ``counter`` was accepted with these very bytes and its digest is still held."""
        if counter > self.highest or counter <= self.highest - WINDOW:
            return False
        slot = counter % WINDOW
        bit = 1 << slot
        if not self.seen & bit or self.blind & bit:
            return False
        at = slot * DIGEST
        return self.digests[at : at + DIGEST] == digest[:DIGEST]

    def accepted(self) -> list[int]:
        """The accepted counters inside the window, ascending."""
        floor = self.highest - WINDOW
        return [c for c in range(max(floor + 1, 0), self.highest + 1) if self.seen >> (c % WINDOW) & 1]

    def record(self, accepted: Accepted, *, secret: bool = False) -> None:
        """Remember an accepted frame (``secret``: a vote of a secret motion)."""
        counter = accepted.counter
        if counter > self.highest:
            self._advance(counter)
        slot = counter % WINDOW
        bit = 1 << slot
        self.seen |= bit
        at = slot * DIGEST
        if accepted.digest is None:
            self.digests[at : at + DIGEST] = _ZERO
            self.blind |= bit
        else:
            self.digests[at : at + DIGEST] = accepted.digest[:DIGEST]
            self.blind &= ~bit
        self.secret = self.secret | bit if secret else self.secret & ~bit
        if accepted.frame_type in _HELD:
            records = self.records
            records[counter] = accepted
            while len(records) > KEEP:
                self._drop(min(records))

    def erase(self, counter: int) -> None:
        """Forget the digest and choices of an accepted frame (a closed secret round's vote)."""
        bit = 1 << (counter % WINDOW)
        if not self.seen & bit or counter <= self.highest - WINDOW or counter > self.highest:
            return
        at = (counter % WINDOW) * DIGEST
        self.digests[at : at + DIGEST] = _ZERO
        self.blind |= bit
        old = self.records.get(counter)
        if old is not None:
            self.records[counter] = Accepted(
                old.counter, old.frame_type, None, old.reason, old.ref_id, old.round, (), old.seat
            )

    def _drop(self, counter: int) -> None:
        del self.records[counter]
        bit = 1 << (counter % WINDOW)
        if self.secret & bit and counter > self.highest - WINDOW:
            self.erase(counter)

    def _advance(self, counter: int) -> None:
        step = counter - self.highest
        if step >= WINDOW:
            self.seen = self.blind = self.secret = 0
        else:
            mask = ((1 << step) - 1) << ((self.highest + 1) % WINDOW)
            mask = (mask | (mask >> WINDOW)) & _FULL
            keep = ~mask
            self.seen &= keep
            self.blind &= keep
            self.secret &= keep
        self.highest = counter
        floor = counter - WINDOW
        for old in [c for c in self.records if c <= floor]:
            del self.records[old]
