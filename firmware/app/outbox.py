"""Signed check-ins and votes awaiting the gateway's answer (the offline queue too).

Each entry holds the exact signed bytes; they are resent unchanged until an
ack or nack with the entry's counter arrives, or its round (or sitting)
closes.  While the link is down the entries simply wait; when it returns
they are all due at once.  The outbox is bounded: adding to a full outbox
drops the oldest entry and counts it in ``dropped``.

Retransmission backs off per entry (``interval``, doubled per try up to
``cap``), so a hall of keypads waiting for a stopped gateway does not flood
the broker, and completes within ``cap`` once the gateway is back.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CHECKIN", "VOTE", "Entry", "Outbox"]

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

    def __repr__(self) -> str:
        return "Entry(%d, %s, %r, %r)" % (self.counter, self.kind, self.ref, self.choices)


class Outbox:
    """Bounded list of entries, oldest first."""

    def __init__(self, limit: int = 8, interval: int = 2000, cap: int = 15000) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self.interval = interval
        self.cap = cap
        self.entries: list[Entry] = []
        self.dropped = 0  # entries pushed out of a full outbox, unanswered
        self.sent = 0  # transmissions, first sends included

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry) -> "Entry | None":
        """Append; returns the oldest entry if it had to be dropped to make room."""
        dropped = None
        if len(self.entries) >= self.limit:
            dropped = self.entries.pop(0)
            self.dropped += 1
        self.entries.append(entry)
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
        return e

    def drop_where(self, pred: "Callable[[Entry], bool]") -> "list[Entry]":
        """Remove (without counting as dropped) every entry ``pred`` selects; returns them."""
        gone = [e for e in self.entries if pred(e)]
        self.entries = [e for e in self.entries if not pred(e)]
        return gone

    def any(self, pred: "Callable[[Entry], bool]") -> bool:
        return any(pred(e) for e in self.entries)

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
