"""Signed check-ins and votes awaiting the gateway's answer (the offline queue too).

Each entry holds the exact signed bytes; they are resent unchanged until an
ack or nack with the entry's counter arrives, or its round (or sitting)
closes.  While the link is down the entries simply wait; when it returns
they are all due at once.  The outbox is bounded: adding to a full outbox
drops the oldest entry and counts it in ``dropped``.

Retransmission backs off per entry (``interval``, doubled per try up to
``cap``), so a hall of keypads waiting for a stopped gateway does not flood
the broker, and completes within ``cap`` once the gateway is back.

The entries survive a reset: the keypad writes :func:`dump` to NVS (key
``ob``) whenever the set of entries changes (``changed``), before the new
frame is handed to the MQTT client, and :func:`load` brings them back at
boot, due as after a reconnect.  Format 1: ``01 | count`` then per entry
``kind (0 check-in, 1 vote) | counter u32 | ref (u32 sitting id, or u32
motion id + u32 round) | key (u8 length + ASCII) | choices (u8 length + one
byte each) | frame (u16 length + bytes)``, big-endian.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

if sys.implementation.name != "micropython":
    __all__ = ["CHECKIN", "FORMAT", "VOTE", "Entry", "Outbox", "dump", "load"]

FORMAT = 1

CHECKIN = "checkin"
VOTE = "vote"


class Entry:
    """One signed uplink frame awaiting its answer.

    ``ref``: the sitting id (check-in) or ``(motion_id, round)`` (vote);
    ``items``: the item indexes the vote presses; ``choices``: the full
    choices tuple; ``key``: the key whose LED shows the press.
    """

    def __init__(
        self,
        counter: int,
        kind: str,
        frame: bytes,
        ref: object,
        key: str,
        choices: "tuple[int, ...]" = (),
    ) -> None:
        self.counter = counter
        self.kind = kind
        self.frame = frame
        self.ref = ref
        self.key = key
        self.choices = choices
        self.items = tuple(i for i, c in enumerate(choices) if c)
        self.tries = 0
        self.last: int | None = None  # tick of the last transmission; None: due now
        self.wait = 0  # ms from ``last`` to the next transmission

    if sys.implementation.name != "micropython":  # for tests and tools

        def __repr__(self) -> str:
            return "Entry%r" % ((self.counter, self.kind, self.ref, self.choices),)


class Outbox:
    """Bounded list of entries, oldest first."""

    def __init__(self, limit: int = 8, interval: int = 2000, cap: int = 15000) -> None:
        if limit < 1:
            raise ValueError("limit < 1")
        self.limit = limit
        self.interval = interval
        self.cap = cap
        self.entries: list[Entry] = []
        self.dropped = 0  # entries pushed out of a full outbox, unanswered
        self.sent = 0  # transmissions, first sends included
        self.changed = False  # entries added or removed since the last save

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry) -> "Entry | None":
        """Append; returns the oldest entry if it had to be dropped to make room."""
        dropped = None
        if len(self.entries) >= self.limit:
            dropped = self.entries.pop(0)
            self.dropped += 1
        self.entries.append(entry)
        self.changed = True
        return dropped

    def find(self, counter: int) -> "Entry | None":
        for e in self.entries:
            if e.counter == counter:
                return e
        return None

    def remove(self, counter: int) -> "Entry | None":
        e = self.find(counter)
        if e is not None:
            self.entries.remove(e)
            self.changed = True
        return e

    def drop_where(self, pred: "Callable[[Entry], bool]") -> "list[Entry]":
        """Remove (without counting as dropped) every entry ``pred`` selects; returns them."""
        gone = [e for e in self.entries if pred(e)]
        if gone:
            self.entries = [e for e in self.entries if not pred(e)]
            self.changed = True
        return gone

    def all_due(self, now: int = 0, after: int = 0) -> None:
        """Make every entry due ``after`` ms from ``now`` (after a reconnect); at once if 0."""
        for e in self.entries:
            e.last = now if after else None
            e.wait = after

    def due(self, now: int, diff: "Callable[[int, int], int]") -> "list[Entry]":
        """Entries to transmit now; ``diff`` is the wrap-safe ``ticks_diff``."""
        return [e for e in self.entries if e.last is None or diff(now, e.last) >= e.wait]

    def sending(self, entry: Entry, now: int) -> None:
        """Note a transmission of ``entry`` at ``now`` and schedule the next one."""
        delay = self.interval << min(entry.tries, 8)
        entry.tries += 1
        entry.last = now
        entry.wait = delay if delay < self.cap else self.cap
        self.sent += 1


def dump(entries: "list[Entry]") -> bytes:
    """The entries as bytes for NVS (format above)."""
    out = bytearray((FORMAT, len(entries)))
    for e in entries:
        out.append(0 if e.kind == CHECKIN else 1)
        ref: Any = e.ref
        for n in (e.counter, ref) if e.kind == CHECKIN else (e.counter, ref[0], ref[1]):
            out += int(n).to_bytes(4, "big")
        key = e.key.encode()
        out.append(len(key))
        out += key
        out.append(len(e.choices))
        out += bytes(e.choices)
        out += len(e.frame).to_bytes(2, "big")
        out += e.frame
    return bytes(out)


def load(raw: bytes) -> "list[Entry]":
    """Entries from :func:`dump` output; ValueError if it is not that."""
    if len(raw) < 2 or raw[0] != FORMAT:
        raise ValueError("bad format")
    pos = 2
    entries = []

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(raw):
            raise ValueError("truncated")
        pos += n
        return raw[pos - n : pos]

    for _ in range(raw[1]):
        kind = CHECKIN if take(1)[0] == 0 else VOTE
        counter = int.from_bytes(take(4), "big")
        ref = int.from_bytes(take(4), "big")  # type: object
        if kind == VOTE:
            ref = (ref, int.from_bytes(take(4), "big"))
        key = take(take(1)[0]).decode()
        choices = tuple(take(take(1)[0]))
        frame = bytes(take(int.from_bytes(take(2), "big")))
        entries.append(Entry(counter, kind, frame, ref, key, choices))
    if pos != len(raw):
        raise ValueError("trailing")
    return entries
